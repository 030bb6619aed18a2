"""TLS for the transport: client-go's TLS settings as an SSLContext, Go's words for TLS failures,
and TLS carried inside an https proxy's tunnel.

* `client_context(ca_pem=..., insecure=..., client_cert=...)`: TLS 1.2+, the given CA (or the
  system roots), an optional client certificate loaded from memory, or no verification at all.
  The client key never touches the disk where the platform offers anonymous memory files (Linux
  memfd); elsewhere it goes through a private temporary directory that is removed at once.
* `verify_error_text` / `tls_error_text`: `tls: failed to verify certificate: x509: ...` and
  `remote error: tls: ...` as Go prints them, with a hint naming the flag that fixes it.
* `TLSInTLS`: a socket-like TLS session over another TLS socket (an https proxy's CONNECT tunnel
  to an https server); Python's ssl cannot wrap an SSLSocket a second time.

`ssl` is imported by the functions that need it: plain-http and --help paths never load it.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from pyvirtctl.errors import ConfigError

if TYPE_CHECKING:
    import ssl

PEM_ERROR = "unable to load root certificates: unable to parse bytes as PEM block"
TLS_HINT = "; use --certificate-authority to trust the cluster's CA (or --insecure-skip-tls-verify)"
NAME_HINT = (
    "; use --tls-server-name to check another name"
    " (or --certificate-authority for the right CA, or --insecure-skip-tls-verify)"
)


def client_context(
    *, ca_pem: bytes | None = None, insecure: bool = False, client_cert: tuple[bytes, bytes] | None = None,
    system_roots: bool = False,
) -> ssl.SSLContext:
    """client-go's TLS settings: the CA (else the system roots), a client certificate, or insecure.

    `system_roots=True` trusts the system's roots as well as `ca_pem` (a host that is not the API server).
    """
    import ssl  # noqa: PLC0415

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca_pem:
        if system_roots:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        try:
            ctx.load_verify_locations(cadata=pem_text(ca_pem))
        except (ssl.SSLError, ValueError):
            raise ConfigError(PEM_ERROR) from None
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if client_cert is not None:
        load_cert_chain_from_memory(ctx, *client_cert)
    return ctx


def pem_text(data: bytes) -> str:
    """The CA bundle as text; anything without a PEM block is client-go's `unable to parse` error."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(PEM_ERROR) from None
    if "-----BEGIN" not in text:
        raise ConfigError(PEM_ERROR)
    return text


def load_cert_chain_from_memory(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """Load a client certificate and key held in memory (ssl only loads them from paths)."""
    import ssl  # noqa: PLC0415

    if b"-----BEGIN" not in cert:
        raise ConfigError("tls: failed to find any PEM data in certificate input")
    if b"-----BEGIN" not in key:
        raise ConfigError("tls: failed to find any PEM data in key input")
    try:
        _load_chain(ctx, cert, key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise ConfigError("tls: private key does not match public key") from None
        raise ConfigError(f"tls: failed to load client certificate: {exc.reason or exc}") from None


def _load_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    memfd = getattr(os, "memfd_create", None)
    if memfd is not None and os.path.isdir("/proc/self/fd"):
        fds: list[int] = []
        try:
            try:
                for data in (cert, key):
                    fd = memfd("pyvirtctl-tls", getattr(os, "MFD_CLOEXEC", 0))
                    fds.append(fd)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
            except OSError:
                fds_ok = False  # no memfd here after all: a private directory below
            else:
                fds_ok = True
            if fds_ok:
                ctx.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
                return
        finally:
            for fd in fds:
                os.close(fd)
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="pyvirtctl-") as tmp:
        paths = []
        for name, data in (("client.crt", cert), ("client.key", key)):
            path = os.path.join(tmp, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            paths.append(path)
        ctx.load_cert_chain(paths[0], paths[1])


# --------------------------------------------------------------------------- Go's words for TLS failures


def is_name_mismatch(exc: BaseException) -> bool:
    text = str(exc)
    return getattr(exc, "verify_code", 0) == 62 or "Hostname mismatch" in text or "IP address mismatch" in text


def verify_error_text(exc: BaseException, host: str, names: list[str] | None = None) -> str:
    """`tls: failed to verify certificate: x509: ...` for a certificate the client refused."""
    code = getattr(exc, "verify_code", 0)
    if is_name_mismatch(exc):
        if names:
            text = f"x509: certificate is valid for {', '.join(names)}, not {host}"
        else:
            text = f"x509: certificate is not valid for {host}"
        return f"tls: failed to verify certificate: {text}{NAME_HINT}"
    if code in (9, 10) or "expired" in str(exc) or "not yet valid" in str(exc):
        return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid" + TLS_HINT
    return "tls: failed to verify certificate: x509: certificate signed by unknown authority" + TLS_HINT


def tls_error_text(exc: ssl.SSLError) -> str:
    """Go's text for a TLS handshake the server broke off (or that was never TLS)."""
    text = f"{exc.reason or ''} {exc}".upper()
    if "CERTIFICATE_REQUIRED" in text:
        return "remote error: tls: certificate required"
    if "BAD_CERTIFICATE" in text:
        return "remote error: tls: bad certificate"
    if "UNKNOWN_CA" in text:
        return "remote error: tls: unknown certificate authority"
    if "WRONG_VERSION_NUMBER" in text or "HTTP_REQUEST" in text or "RECORD_LAYER_FAILURE" in text:
        return "http: server gave HTTP response to HTTPS client"
    if "HANDSHAKE_FAILURE" in text:
        return "remote error: tls: handshake failure"
    if "UNEXPECTED_EOF" in text or "EOF" in text:
        return "EOF"
    return f"tls: {(exc.reason or str(exc)).lower().replace('_', ' ')}"


def certificate_names(der: bytes) -> list[str]:
    """DNS names then IP addresses of a DER certificate's subjectAltName ([] when unreadable)."""
    try:
        from cryptography import x509  # noqa: PLC0415

        cert = x509.load_der_x509_certificate(der)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)] + [
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    ]


def unverified_context() -> ssl.SSLContext:
    """For reading a refused server's certificate names (never for sending a request)."""
    import ssl  # noqa: PLC0415

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# --------------------------------------------------------------------------- TLS inside a TLS tunnel


class TLSInTLS:
    """A TLS session spoken through another socket-like object (e.g. an https proxy's tunnel).

    Offers what the transport and the websocket Conn use: recv, recv_into, sendall, settimeout,
    gettimeout, setsockopt, getpeercert, getsockname, getpeername, fileno, shutdown, close.
    One reader and any number of writers may use it from different threads.
    """

    def __init__(self, outer: Any, ctx: ssl.SSLContext, server_hostname: str | None) -> None:
        import ssl  # noqa: PLC0415

        self._ssl = ssl
        self._outer = outer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._lock = threading.Lock()  # the SSLObject and its BIOs
        self._wlock = threading.Lock()  # keeps records in order on the outer socket

    def do_handshake(self) -> None:
        while True:
            try:
                with self._lock:
                    self._obj.do_handshake()
                self._flush()
                return
            except self._ssl.SSLWantReadError:
                self._flush()
                if not self._feed():
                    with self._lock:
                        self._obj.do_handshake()  # raises the EOF error in ssl's words

    def _flush(self) -> None:
        with self._lock:
            if not self._outgoing.pending:
                return  # the usual case: never wait for a writer that may be blocked on a full socket
        with self._wlock:
            with self._lock:
                data = self._outgoing.read()
            if data:
                self._outer.sendall(data)

    def _feed(self) -> bool:
        data = self._outer.recv(65536)
        with self._lock:
            if data:
                self._incoming.write(data)
            else:
                self._incoming.write_eof()
        return bool(data)

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        n = nbytes or len(buffer)
        if n == 0:
            return 0
        while True:
            try:
                with self._lock:
                    return int(self._obj.read(n, buffer))
            except self._ssl.SSLWantReadError:
                self._flush()
                if not self._feed():
                    with self._lock:
                        try:
                            return int(self._obj.read(n, buffer))
                        except (self._ssl.SSLZeroReturnError, self._ssl.SSLEOFError, self._ssl.SSLWantReadError):
                            return 0
            except (self._ssl.SSLZeroReturnError, self._ssl.SSLEOFError):
                return 0

    def recv(self, n: int) -> bytes:
        buf = bytearray(n)
        got = self.recv_into(buf, n)
        return bytes(buf[:got])

    def sendall(self, data: Any) -> None:
        view = memoryview(data).cast("B")
        with self._wlock:
            while len(view):
                with self._lock:
                    written = self._obj.write(view)
                    out = self._outgoing.read()
                view = view[written:]
                if out:
                    self._outer.sendall(out)

    def send(self, data: Any) -> int:
        self.sendall(data)
        return len(data)

    def settimeout(self, value: float | None) -> None:
        self._outer.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._outer.gettimeout()

    def setsockopt(self, *args: Any) -> None:
        self._outer.setsockopt(*args)

    def getpeercert(self, binary_form: bool = False) -> Any:
        return self._obj.getpeercert(binary_form)

    def getsockname(self) -> Any:
        return self._outer.getsockname()

    def getpeername(self) -> Any:
        return self._outer.getpeername()

    def fileno(self) -> int:
        return self._outer.fileno()

    def shutdown(self, how: int) -> None:
        self._outer.shutdown(how)

    def close(self) -> None:
        self._outer.close()
