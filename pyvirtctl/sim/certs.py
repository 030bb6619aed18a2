"""A throw-away CA and server certificate, made at every start (EC P-256: milliseconds).

The CA's key is kept (in memory only) so that other simulated servers - each VirtualMachineExport's
exporter "pod" - get certificates from the same CA (`issue`), as a cluster's export pods do.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
from dataclasses import dataclass
from typing import Any


@dataclass
class ServerCerts:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    ca_key_pem: bytes = b""


def make_certs(hosts: list[str]) -> ServerCerts:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = _dt.datetime.now(_dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyvirtctl-sim-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(hours=1))
        .not_valid_after(now + _dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_key_pem = ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    cert_pem, key_pem = _server_cert(ca_pem, ca_key_pem, ["127.0.0.1", "localhost", *hosts], "pyvirtctl-sim")
    return ServerCerts(ca_pem=ca_pem, cert_pem=cert_pem, key_pem=key_pem, ca_key_pem=ca_key_pem)


def issue(certs: ServerCerts, hosts: list[str], common_name: str) -> ServerCerts:
    """A server certificate for `hosts` (DNS names or IP addresses) signed by the same CA."""
    cert_pem, key_pem = _server_cert(certs.ca_pem, certs.ca_key_pem, hosts, common_name)
    return ServerCerts(ca_pem=certs.ca_pem, cert_pem=cert_pem, key_pem=key_pem, ca_key_pem=certs.ca_key_pem)


def _server_cert(ca_pem: bytes, ca_key_pem: bytes, hosts: list[str], common_name: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = _dt.datetime.now(_dt.UTC)
    ca_cert = x509.load_pem_x509_certificate(ca_pem)
    ca_key: Any = serialization.load_pem_private_key(ca_key_pem, None)
    ca_pub: Any = ca_cert.public_key()
    ca_name = ca_cert.subject
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in dict.fromkeys(hosts):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(hours=1))
        .not_valid_after(now + _dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_pub), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def ssl_context(certs: ServerCerts, workdir: str):  # -> ssl.SSLContext
    """A server SSLContext; the key is written to a private file only for the duration of loading."""
    import ssl
    import tempfile

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    fd, path = tempfile.mkstemp(prefix="sim-key-", suffix=".pem", dir=workdir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(certs.cert_pem + certs.key_pem)
        ctx.load_cert_chain(path)
    finally:
        os.unlink(path)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
