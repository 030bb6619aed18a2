"""Small servers on raw sockets (threads) for the transport's protocol tests.

Every byte a server sends is the test's own choice, so answers can be as odd as real servers and
proxies get: split into single bytes, trickled, chunked with extensions, closed without answering.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Peer:
    """One accepted connection with a read buffer."""

    def __init__(self, sock: socket.socket, server: RawServer) -> None:
        self.sock = sock
        self.server = server
        self.buf = b""

    def _more(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except OSError:
            return False
        self.buf += data
        return bool(data)

    def read_head(self) -> bytes | None:
        """The next request head (recorded on the server), None when the client closed."""
        while b"\r\n\r\n" not in self.buf:
            if not self._more():
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.server.heads.append(head)
        return head

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._more():
                raise EOFError(f"wanted {n} bytes, got {len(self.buf)}")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._more():
                raise EOFError
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_body(self, head: bytes) -> bytes:
        """The request body the head announces (Content-Length or chunked)."""
        fields = header_fields(head)
        if fields.get("transfer-encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.read_line().split(b";")[0], 16)
                if size == 0:
                    while self.read_line():
                        pass
                    self.server.bodies.append(out)
                    return out
                out += self.read_exact(size)
                self.read_exact(2)
        data = self.read_exact(int(fields.get("content-length", "0")))
        self.server.bodies.append(data)
        return data

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def trickle(self, data: bytes, gap: float) -> None:
        """One byte at a time with `gap` seconds between them (counted in server.trickled)."""
        for b in data:
            self.sock.sendall(bytes([b]))
            self.server.trickled += 1
            time.sleep(gap)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def header_fields(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.decode("utf-8", "surrogateescape").partition(":")
        out[k.strip().lower()] = v.strip()
    return out


class RawServer:
    """Accepts connections and runs `script(peer, index)` for each in its own thread."""

    def __init__(self, script: Callable[[Peer, int], None], *, host: str = "127.0.0.1",
                 tls: ssl.SSLContext | None = None) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.lsock = socket.socket(family, socket.SOCK_STREAM)
        self.lsock.bind((host, 0))
        self.lsock.listen(16)
        self.host = host
        self.port = self.lsock.getsockname()[1]
        self.script = script
        self.tls = tls
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.trickled = 0
        self.errors: list[BaseException] = []
        self.notes: dict[str, Any] = {}
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self.lsock.accept()
            except OSError:
                return
            index = self.connections
            self.connections += 1
            threading.Thread(target=self._run, args=(sock, index), daemon=True).start()

    def _run(self, sock: socket.socket, index: int) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                sock.close()
                return
        peer = Peer(sock, self)
        try:
            self.script(peer, index)
        except (OSError, EOFError):
            pass
        except BaseException as exc:  # surfaced by the test through server.errors
            self.errors.append(exc)
        finally:
            peer.close()

    def url(self, path: str = "/", scheme: str | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme or ('https' if self.tls else 'http')}://{host}:{self.port}{path}"

    def close(self) -> None:
        self._closed = True
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; the port stops listening
        except OSError:
            pass
        self.lsock.close()


def keep_alive(respond: Callable[[Peer, bytes, int], bytes | None]) -> Callable[[Peer, int], None]:
    """A script answering every request on the connection with respond(peer, head, n); None hangs up."""

    def script(peer: Peer, index: int) -> None:
        n = 0
        while True:
            head = peer.read_head()
            if head is None:
                return
            peer.read_body(head)
            answer = respond(peer, head, n)
            n += 1
            if answer is None:
                return
            peer.send(answer)

    return script


def ok(body: bytes = b'{"kind":"Status"}', extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            .encode() + body)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------- certificates


@dataclass
class Certs:
    dir: Path
    ca: Path
    cert: Path
    key: Path
    names: list[str] = field(default_factory=list)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.ca)
        return ctx


def make_certs(d: Path, names: list[str]) -> Certs:
    """A CA and a server certificate for `names` (DNS names and IP addresses)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def build(cn: str, key: Any, issuer: str, issuer_key: Any, ca: bool, sans: list[str]) -> Any:
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if sans:
            gn: list[x509.GeneralName] = []
            for s in sans:
                try:
                    gn.append(x509.IPAddress(ipaddress.ip_address(s)))
                except ValueError:
                    gn.append(x509.DNSName(s))
            b = b.add_extension(x509.SubjectAlternativeName(gn), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build("transport-test-ca", ca_key, "transport-test-ca", ca_key, True, [])
    cert = build("server", key, "transport-test-ca", ca_key, False, names)
    d.mkdir(parents=True, exist_ok=True)
    (d / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (d / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    return Certs(d, d / "ca.crt", d / "server.crt", d / "server.key", names)


# --------------------------------------------------------------------------- proxies


def relay(a: Any, b: Any) -> None:
    """Copy bytes both ways until either side closes."""

    def pipe(src: Any, dst: Any) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    t = threading.Thread(target=pipe, args=(b, a), daemon=True)
    t.start()
    pipe(a, b)
    t.join(5)


def connect_proxy(upstream: tuple[str, int] | None = None, answer: bytes | None = None) -> Callable[[Peer, int], None]:
    """An HTTP proxy script: CONNECT tunnels (to `upstream` whatever the target, if given) and
    absolute-form requests forwarded to it; `answer` replaces the 200 (a refusal)."""

    def script(peer: Peer, index: int) -> None:
        head = peer.read_head()
        if head is None:
            return
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        if answer is not None:
            peer.send(answer)
            return
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            dest = upstream or (host.strip("[]"), int(port))
            up = socket.create_connection(dest)
            peer.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:  # absolute form: pass the request on as it is
            up = socket.create_connection(upstream or ("127.0.0.1", 80))
            up.sendall(head + b"\r\n\r\n" + peer.buf)
            peer.buf = b""
        relay(peer.sock, up)

    return script


def socks5_proxy(upstream: tuple[str, int], user: str = "", password: str = "", reply: int = 0
                 ) -> Callable[[Peer, int], None]:
    """A SOCKS5 proxy script (RFC 1928/1929) recording the requested destination in notes['dest']."""

    def script(peer: Peer, index: int) -> None:
        ver, n = peer.read_exact(2)
        methods = peer.read_exact(n)
        want = 2 if user else 0
        if want not in methods:
            peer.send(b"\x05\xff")
            return
        peer.send(bytes([5, want]))
        if user:
            _, ulen = peer.read_exact(2)
            got_user = peer.read_exact(ulen).decode()
            (plen,) = peer.read_exact(1)
            got_pw = peer.read_exact(plen).decode()
            peer.server.notes["auth"] = (got_user, got_pw)
            if (got_user, got_pw) != (user, password):
                peer.send(b"\x01\x01")
                return
            peer.send(b"\x01\x00")
        _, cmd, _, atyp = peer.read_exact(4)
        if atyp == 3:
            (ln,) = peer.read_exact(1)
            host = peer.read_exact(ln).decode()
        elif atyp == 1:
            host = socket.inet_ntoa(peer.read_exact(4))
        else:
            host = socket.inet_ntop(socket.AF_INET6, peer.read_exact(16))
        port = struct.unpack(">H", peer.read_exact(2))[0]
        peer.server.notes["dest"] = f"{host}:{port}"
        if reply:
            peer.send(bytes([5, reply, 0, 1]) + b"\x00" * 6)
            return
        up = socket.create_connection(upstream)
        peer.send(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", 0))
        if peer.buf:
            up.sendall(peer.buf)
        relay(peer.sock, up)

    return script
