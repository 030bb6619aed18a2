"""Session against a real local HTTPS server (threads in this process): TLS, mTLS, auth headers,
proxies (HTTP CONNECT and SOCKS5), status and transport error texts, watch, websocket options."""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import json
import select
import socket
import socketserver
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pyvirtctl.errors import ApiError, ConfigError, TransportError
from pyvirtctl.kube.config import GlobalFlags, load_config
from pyvirtctl.kube.session import Session

pytestmark = pytest.mark.timeout(60)

# ------------------------------------------------------------------ certificates


@dataclass
class Certs:
    dir: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_ca: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject_cn: str, key, issuer_cn: str, issuer_key, *, ca: bool, sans: list[str] | None = None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        names: list[x509.GeneralName] = []
        for s in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                names.append(x509.DNSName(s))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, *objs) -> Path:
    from cryptography.hazmat.primitives import serialization

    out = b""
    for obj in objs:
        if hasattr(obj, "private_bytes"):
            out += obj.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        else:
            out += obj.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(out)
    return path


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    d = tmp_path_factory.mktemp("certs")
    ca_key, cca_key, other_key, srv_key, cli_key = _key(), _key(), _key(), _key(), _key()
    ca = _cert("test-ca", ca_key, "test-ca", ca_key, ca=True)
    cca = _cert("client-ca", cca_key, "client-ca", cca_key, ca=True)
    other = _cert("other-ca", other_key, "other-ca", other_key, ca=True)
    srv = _cert(
        "server", srv_key, "test-ca", ca_key, ca=False, sans=["localhost", "127.0.0.1", "api.example.test"]
    )
    cli = _cert("alice", cli_key, "client-ca", cca_key, ca=False)
    return Certs(
        dir=d,
        ca=_write(d / "ca.crt", ca),
        server_cert=_write(d / "server.crt", srv),
        server_key=_write(d / "server.key", srv_key),
        client_ca=_write(d / "client-ca.crt", cca),
        client_cert=_write(d / "client.crt", cli),
        client_key=_write(d / "client.key", cli_key),
        other_ca=_write(d / "other.crt", other),
    )


# ------------------------------------------------------------------ the API server double


@dataclass
class Seen:
    method: str
    path: str
    headers: Any
    body: bytes
    client_cn: str = ""


@dataclass
class ApiServer:
    url: str
    port: int
    seen: list[Seen] = field(default_factory=list)
    routes: dict[str, Callable[[Seen], tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)


def _serve_api(certs: Certs, *, require_client_cert: bool = False) -> Iterator[ApiServer]:
    state = ApiServer(url="", port=0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            cn = ""
            peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
            if peer:
                cn = dict(x[0] for x in peer["subject"]).get("commonName", "")
            seen = Seen(self.command, self.path, self.headers, body, cn)
            state.seen.append(seen)
            route = state.routes.get(self.path.split("?")[0])
            status, headers, payload = (
                route(seen) if route else (200, {"Content-Type": "application/json"}, b"{}")
            )
            if "gzip" in (self.headers.get("Accept-Encoding") or "") and headers.get("X-Gzip"):
                payload = gzip.compress(payload)
                headers = {**headers, "Content-Encoding": "gzip"}
            headers.pop("X-Gzip", None)
            if headers.get("X-Delay"):
                time.sleep(float(headers.pop("X-Delay")))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if "Transfer-Encoding" not in headers:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if isinstance(payload, bytes):
                self.wfile.write(payload)
            else:  # an iterator of chunks: stream them (watch)
                for chunk in payload:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_cert, certs.server_key)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(certs.client_ca)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            sock, addr = self.socket.accept()
            sock.settimeout(10)
            try:
                return ctx.wrap_socket(sock, server_side=True), addr
            except (ssl.SSLError, OSError):
                sock.close()
                raise

        def handle_error(self, request, client_address) -> None:
            pass

    httpd = Server(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    state.url = f"https://127.0.0.1:{state.port}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture()
def api(certs: Certs) -> Iterator[ApiServer]:
    yield from _serve_api(certs)


@pytest.fixture()
def mtls_api(certs: Certs) -> Iterator[ApiServer]:
    yield from _serve_api(certs, require_client_cert=True)


# ------------------------------------------------------------------ proxies (they always dial the API server)


def _relay(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], 10)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        a.close()
        b.close()


@dataclass
class Proxy:
    port: int
    requests: list[str] = field(default_factory=list)


def _serve_proxy(target_port: int, kind: str) -> Iterator[Proxy]:
    state = Proxy(port=0)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            conn.settimeout(10)
            if kind == "http":
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                line = data.split(b"\r\n", 1)[0].decode()
                state.requests.append(line)
                if not line.startswith("CONNECT "):
                    conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                    return
                upstream = socket.create_connection(("127.0.0.1", target_port))
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:  # SOCKS5, no authentication
                head = conn.recv(2)
                conn.recv(head[1])
                conn.sendall(b"\x05\x00")
                ver, cmd, _, atyp = conn.recv(4)
                if atyp == 3:
                    host = conn.recv(conn.recv(1)[0]).decode()
                elif atyp == 1:
                    host = socket.inet_ntoa(conn.recv(4))
                else:
                    host = socket.inet_ntop(socket.AF_INET6, conn.recv(16))
                port = struct.unpack(">H", conn.recv(2))[0]
                state.requests.append(f"{host}:{port}")
                upstream = socket.create_connection(("127.0.0.1", target_port))
                conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", 0))
            _relay(conn, upstream)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", 0), Handler)
    state.port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield state
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture()
def http_proxy(api: ApiServer) -> Iterator[Proxy]:
    yield from _serve_proxy(api.port, "http")


@pytest.fixture()
def socks_proxy(api: ApiServer) -> Iterator[Proxy]:
    yield from _serve_proxy(api.port, "socks")


# ------------------------------------------------------------------ helpers


def session(env: dict[str, str] | None = None, **flags: Any) -> Session:
    return Session(
        load_config(GlobalFlags(**flags), env or {"HOME": "/nonexistent"}),
        user_agent="virtctl/v1.9.0 (linux/amd64) kubernetes/$Format",
    )


def status(message: str, reason: str, code: int) -> tuple[int, dict[str, str], bytes]:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return code, {"Content-Type": "application/json"}, json.dumps(body).encode()


START = "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/vm1/start"

# ------------------------------------------------------------------ tests


def test_tls_is_verified_by_default(api: ApiServer) -> None:
    s = session(server=api.url, token="t")
    with pytest.raises(TransportError) as err:
        s.request("PUT", START)
    assert err.value.message.startswith(
        f'Put "{api.url}{START}": tls: failed to verify certificate: x509: certificate signed by unknown authority'
    )
    assert "--certificate-authority" in err.value.message
    assert api.seen == []


def test_wrong_ca_and_insecure(api: ApiServer, certs: Certs) -> None:
    with pytest.raises(TransportError) as err:
        session(server=api.url, certificate_authority=str(certs.other_ca)).request("GET", "/apis")
    assert "x509: certificate signed by unknown authority" in err.value.message
    r = session(server=api.url, insecure_skip_tls_verify=True).request("GET", "/apis")
    assert r.status == 200


def test_request_headers_and_body(api: ApiServer, certs: Certs) -> None:
    s = session(
        server=api.url,
        certificate_authority=str(certs.ca),
        token="secret-token",
        as_user="alice",
        as_group=["g1", "g2"],
        as_uid="7",
    )
    r = s.request("PUT", START, body={"paused": True, "html": "<&>"})
    assert r.status == 200
    got = api.seen[-1]
    assert (got.method, got.path) == ("PUT", START)
    assert got.headers["Accept"] == "application/json, */*"
    assert got.headers["User-Agent"] == "virtctl/v1.9.0 (linux/amd64) kubernetes/$Format"
    assert got.headers["Accept-Encoding"] == "gzip"
    assert got.headers["Authorization"] == "Bearer secret-token"
    assert got.headers["Impersonate-User"] == "alice"
    assert got.headers["Impersonate-Uid"] == "7"
    assert got.headers.get_all("Impersonate-Group") == ["g1", "g2"]
    assert "Content-Type" not in got.headers  # sub-resource PUTs carry no Content-Type
    assert got.body == b'{"paused":true,"html":"\\u003c\\u0026\\u003e"}'
    s.request(
        "POST",
        "/api/v1/namespaces/default/services",
        body={"kind": "Service"},
        content_type="application/json",
    )
    assert api.seen[-1].headers["Content-Type"] == "application/json"
    s.request("PUT", START)
    assert api.seen[-1].headers["Content-Length"] == "0" and api.seen[-1].body == b""


def test_server_path_prefix_and_timeout_query(api: ApiServer, certs: Certs) -> None:
    s = session(
        server=api.url + "/k8s/clusters/c-1/", certificate_authority=str(certs.ca), request_timeout="5"
    )
    s.request(
        "GET", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines", query={"labelSelector": "a=b"}
    )
    assert api.seen[-1].path == (
        "/k8s/clusters/c-1/apis/kubevirt.io/v1/namespaces/default/virtualmachines?labelSelector=a%3Db&timeout=5s"
    )


def test_tls_server_name(api: ApiServer, certs: Certs) -> None:
    ok = session(server=api.url, certificate_authority=str(certs.ca), tls_server_name="api.example.test")
    assert ok.request("GET", "/apis").status == 200
    bad = session(server=api.url, certificate_authority=str(certs.ca), tls_server_name="wrong.example")
    with pytest.raises(TransportError) as err:
        bad.request("GET", "/apis")
    assert (
        "tls: failed to verify certificate: x509: certificate is valid for localhost, api.example.test, 127.0.0.1, "
        "not wrong.example" in err.value.message
    )


def test_mutual_tls(mtls_api: ApiServer, certs: Certs, tmp_path: Path) -> None:
    with pytest.raises(TransportError) as err:
        session(server=mtls_api.url, certificate_authority=str(certs.ca)).request("GET", "/apis")
    assert err.value.message.startswith(f'Get "{mtls_api.url}/apis": ')
    s = session(
        server=mtls_api.url,
        certificate_authority=str(certs.ca),
        client_certificate=str(certs.client_cert),
        client_key=str(certs.client_key),
    )
    assert s.request("GET", "/apis").status == 200
    assert mtls_api.seen[-1].client_cn == "alice"
    assert "Authorization" not in mtls_api.seen[-1].headers
    # the same material as kubeconfig *-data fields
    import base64

    kc = tmp_path / "kc"
    kc.write_text(
        "current-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: '{mtls_api.url}', "
        f"certificate-authority-data: {base64.b64encode(certs.ca.read_bytes()).decode()}}}}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        f"users: [{{name: u, user: {{client-certificate-data: {base64.b64encode(certs.client_cert.read_bytes()).decode()}, "
        f"client-key-data: {base64.b64encode(certs.client_key.read_bytes()).decode()}}}}}]\n"
    )
    s2 = Session(load_config(GlobalFlags(kubeconfig=str(kc)), {"HOME": "/nonexistent"}))
    assert s2.request("GET", "/apis").status == 200
    assert mtls_api.seen[-1].client_cn == "alice"


def test_mismatched_client_key(certs: Certs, api: ApiServer) -> None:
    with pytest.raises(ConfigError) as err:
        session(
            server=api.url,
            certificate_authority=str(certs.ca),
            client_certificate=str(certs.client_cert),
            client_key=str(certs.server_key),
        )
    assert err.value.message == "tls: private key does not match public key"


def test_status_errors(api: ApiServer, certs: Certs) -> None:
    api.routes[START] = lambda seen: status('virtualmachines.kubevirt.io "vm1" not found', "NotFound", 404)
    s = session(server=api.url, certificate_authority=str(certs.ca))
    with pytest.raises(ApiError) as err:
        s.request("PUT", START)
    assert (err.value.message, err.value.status, err.value.reason) == (
        'virtualmachines.kubevirt.io "vm1" not found',
        404,
        "NotFound",
    )
    with pytest.raises(ApiError) as err:
        s.request("GET", START, decode_status=False, resource="virtualmachineinstances", name="vm1")
    assert (
        err.value.message
        == "the server could not find the requested resource (get virtualmachineinstances.kubevirt.io vm1)"
    )


def test_gzip_and_json(api: ApiServer, certs: Certs) -> None:
    api.routes["/apis"] = lambda seen: (
        200,
        {"Content-Type": "application/json", "X-Gzip": "1"},
        b'{"kind":"APIGroupList"}',
    )
    s = session(server=api.url, certificate_authority=str(certs.ca))
    assert s.request("GET", "/apis").json() == {"kind": "APIGroupList"}
    s2 = session(server=api.url, certificate_authority=str(certs.ca), disable_compression=True)
    assert s2.request("GET", "/apis").json() == {"kind": "APIGroupList"}
    assert api.seen[-1].headers["Accept-Encoding"] == "identity"


def test_server_version(api: ApiServer, certs: Certs) -> None:
    api.routes["/apis/subresources.kubevirt.io"] = lambda seen: (
        200,
        {"Content-Type": "application/json"},
        json.dumps(
            {"kind": "APIGroup", "preferredVersion": {"groupVersion": "subresources.kubevirt.io/v1"}}
        ).encode(),
    )
    api.routes["/apis/subresources.kubevirt.io/v1/version"] = lambda seen: (
        200,
        {"Content-Type": "application/json"},
        b'{"gitVersion":"v1.5.2","gitCommit":"abc"}',
    )
    s = session(server=api.url, certificate_authority=str(certs.ca))
    assert s.server_version()["gitVersion"] == "v1.5.2"
    assert [x.path for x in api.seen] == [
        "/apis/subresources.kubevirt.io",
        "/apis/subresources.kubevirt.io/v1/version",
    ]
    api.routes["/apis/subresources.kubevirt.io/v1/version"] = lambda seen: status("nope", "Conflict", 409)
    with pytest.raises(ApiError) as err:
        s.server_version()
    assert err.value.message == "the server reported a conflict"


def test_watch_streams_events(api: ApiServer, certs: Certs) -> None:
    def events(seen: Seen):
        lines = [
            {"type": "ADDED", "object": {"metadata": {"name": "a"}}},
            {"type": "MODIFIED", "object": {"metadata": {"name": "a"}, "status": {"phase": "Running"}}},
        ]
        return (
            200,
            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            iter([json.dumps(x).encode() + b"\n" for x in lines]),
        )

    api.routes["/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances"] = events
    s = session(server=api.url, certificate_authority=str(certs.ca))
    got = list(s.watch("/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances", timeout=10))
    assert [(t, o["metadata"]["name"]) for t, o in got] == [("ADDED", "a"), ("MODIFIED", "a")]
    assert api.seen[-1].path.endswith("?watch=true")


def test_connect_proxy_from_flag(api: ApiServer, certs: Certs, http_proxy: Proxy) -> None:
    s = session(
        server=api.url,
        certificate_authority=str(certs.ca),
        token="t",
        proxy_url=f"http://127.0.0.1:{http_proxy.port}",
    )
    assert s.request("GET", "/apis").status == 200
    assert [r.rsplit(" ", 1)[0] for r in http_proxy.requests] == [
        f"CONNECT 127.0.0.1:{api.port}"
    ]  # loopback too: an explicit proxy applies
    assert api.seen[-1].headers["Authorization"] == "Bearer t"  # end-to-end TLS carried the credentials


def test_https_proxy_environment(api: ApiServer, certs: Certs, http_proxy: Proxy) -> None:
    env = {"HOME": "/nonexistent", "HTTPS_PROXY": f"127.0.0.1:{http_proxy.port}"}
    # a name only the proxy can reach (it dials the test server whatever the name)
    s = session(env, server=f"https://api.example.test:{api.port}", certificate_authority=str(certs.ca))
    assert s.request("GET", "/apis").status == 200
    assert [r.rsplit(" ", 1)[0] for r in http_proxy.requests] == [f"CONNECT api.example.test:{api.port}"]
    # loopback is never proxied from the environment
    local = session(env, server=api.url, certificate_authority=str(certs.ca))
    assert local.request("GET", "/apis").status == 200
    assert len(http_proxy.requests) == 1
    env["NO_PROXY"] = ".example.test"
    bypass = session(env, server=f"https://api.example.test:{api.port}", certificate_authority=str(certs.ca))
    with pytest.raises(TransportError) as err:
        bypass.request("GET", "/apis")
    assert "lookup api.example.test: no such host" in err.value.message
    assert len(http_proxy.requests) == 1


def test_socks5_proxy(api: ApiServer, certs: Certs, socks_proxy: Proxy) -> None:
    s = session(
        server=f"https://api.example.test:{api.port}",
        certificate_authority=str(certs.ca),
        proxy_url=f"socks5://127.0.0.1:{socks_proxy.port}",
    )
    assert s.request("GET", "/apis").status == 200
    assert socks_proxy.requests == [f"api.example.test:{api.port}"]  # the proxy resolves the name


def test_transport_error_texts(api: ApiServer, certs: Certs) -> None:
    with pytest.raises(TransportError) as err:
        session(server="https://127.0.0.1:1").request("PUT", START)
    assert (
        err.value.message
        == f'Put "https://127.0.0.1:1{START}": dial tcp 127.0.0.1:1: connect: connection refused'
    )
    assert err.value.reason == "dial tcp 127.0.0.1:1: connect: connection refused"
    with pytest.raises(TransportError) as err:
        session(server="https://nosuch.invalid:6443").request("GET", "/apis")
    assert err.value.reason == "dial tcp: lookup nosuch.invalid: no such host"
    with pytest.raises(TransportError) as err:
        session(server=f"http://127.0.0.1:{api.port}").request("GET", "/apis")
    assert err.value.reason in ("EOF", "read: connection reset by peer")
    with pytest.raises(TransportError) as err:
        session(server="https://127.0.0.1:1", proxy_url="http://127.0.0.1:1").request("GET", "/apis")
    assert err.value.reason == "proxyconnect tcp: dial tcp 127.0.0.1:1: connect: connection refused"


def test_request_timeout(api: ApiServer, certs: Certs) -> None:
    api.routes["/slow"] = lambda seen: (200, {"Content-Type": "application/json", "X-Delay": "2"}, b"{}")
    s = session(server=api.url, certificate_authority=str(certs.ca), request_timeout="300ms")
    with pytest.raises(TransportError) as err:
        s.request("GET", "/slow")
    assert err.value.message == (
        f'Get "{api.url}/slow?timeout=300ms": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    )


def test_reset_connection(certs: Certs) -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def rst() -> None:
        conn, _ = srv.accept()
        conn.recv(1024)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    t = threading.Thread(target=rst, daemon=True)
    t.start()
    with pytest.raises(TransportError) as err:
        session(server=f"http://127.0.0.1:{port}").request("GET", "/apis")
    t.join(5)
    srv.close()
    assert err.value.reason == "read: connection reset by peer"


VNC = "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachineinstances/v/vnc"


def test_websocket_dial_goes_through_the_session_transport(api: ApiServer, certs: Certs, http_proxy: Proxy) -> None:
    """The upgrade request uses the session's TLS context, --tls-server-name, credentials, impersonation,
    CONNECT proxy and server path prefix; a refusal is virtctl's handshake text."""
    from pyvirtctl.streams.websocket import WebsocketError, open_subresource

    s = session(
        server=api.url + "/prefix",
        certificate_authority=str(certs.ca),
        token="ws-token",
        as_user="bob",
        as_group=["a", "b"],
        tls_server_name="localhost",
        proxy_url=f"http://127.0.0.1:{http_proxy.port}",
    )
    api.routes["/prefix" + VNC] = lambda seen: (403, {"Content-Type": "text/plain"}, b"no websockets here")
    with pytest.raises(WebsocketError) as err:
        open_subresource(s, VNC, [("preserveSession", "false")])
    assert err.value.status == 403
    assert str(err.value) == (
        "Can't connect to websocket (403): websocket: bad handshake: application info: no websockets here"
    )
    got = api.seen[-1]
    assert (got.method, got.path) == ("GET", "/prefix" + VNC + "?preserveSession=false")
    assert got.headers["Authorization"] == "Bearer ws-token"
    assert got.headers["Impersonate-User"] == "bob"
    assert got.headers.get_all("Impersonate-Group") == ["a", "b"]
    assert got.headers["Sec-WebSocket-Protocol"] == "plain.kubevirt.io"
    assert got.headers["Upgrade"] == "websocket" and got.headers["Sec-WebSocket-Version"] == "13"
    assert "Origin" not in got.headers
    assert [r.rsplit(" ", 1)[0] for r in http_proxy.requests] == [f"CONNECT 127.0.0.1:{api.port}"]


def test_websocket_dial_verifies_tls_like_rest(api: ApiServer, certs: Certs) -> None:
    from pyvirtctl.streams.websocket import WebsocketError, open_subresource

    s = session(server=api.url, certificate_authority=str(certs.other_ca))
    with pytest.raises(WebsocketError) as err:
        open_subresource(s, VNC)
    assert err.value.status == 0
    assert str(err.value).startswith(
        "Can't connect to websocket: tls: failed to verify certificate: x509: certificate signed by unknown authority"
    )
    assert api.seen == []
