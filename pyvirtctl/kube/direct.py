"""Plain requests without a proxy: a small HTTP/1.1 client over socket/ssl (keep-alive, thread-safe).

urllib3 costs more to import than a whole `start` request takes (its URL module alone compiles a
dozen regular expressions), so a Session sends its ordinary REST calls through this small pool when
no proxy applies; proxies, SOCKS and watches keep using urllib3. http.client is not used either:
it imports the email package to parse headers (another ~15 ms). Failures surface as the exception
types urllib3 would wrap (OSError, ssl.SSLError, RemoteDisconnected/IncompleteRead by the names
http.client uses, urllib3's ConnectTimeoutError for a dial that timed out), so
session.transport_reason words them identically.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl

DIAL_TIMEOUT = 30.0
_MAX_LINE = 65536
_MAX_HEADERS = 200


class RemoteDisconnected(ConnectionResetError):
    """The server closed the connection before answering (http.client's exception of the same name)."""


class IncompleteRead(Exception):
    """The body ended before its announced length (http.client's exception of the same name)."""


class BadStatusLine(Exception):
    """Not an HTTP/1.x answer (http.client's name; reported as EOF like a cut-off answer)."""


def _ascii(host: str) -> str | bytes:
    """An ASCII name as bytes: str names go through the `idna` codec (socket and ssl), a 15 ms import."""
    return host.encode("ascii") if host.isascii() else host


def _dial(host: str, port: int, timeout: float | None) -> socket.socket:
    try:
        sock = socket.create_connection((_ascii(host), port), timeout=timeout)  # type: ignore[arg-type]
    except TimeoutError as exc:
        from urllib3.exceptions import ConnectTimeoutError  # noqa: PLC0415 - error path only

        raise ConnectTimeoutError(None, f"Connection to {host} timed out. (connect timeout={timeout})") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class Headers:
    """Response headers: case-insensitive, repeated fields joined with ", " (as urllib3 does)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self._pairs if k.lower() == low]

    def get(self, name: str, default: Any = None) -> Any:
        values = self.get_all(name)
        return ", ".join(values) if values else default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def keys(self) -> list[str]:
        return [k for k, _ in self._pairs]

    def __iter__(self) -> Any:
        return iter(self.keys())

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"


class DirectResponse:
    """What Session needs from an answer: status, headers, the decoded body."""

    def __init__(self, status: int, headers: Headers, data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data


def _decode(data: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if not data or encoding in ("", "identity"):
        return data
    import zlib  # noqa: PLC0415

    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(data)
        except zlib.error:
            return zlib.decompress(data, -zlib.MAX_WBITS)
    return data


def _line(rfile: BinaryIO) -> bytes:
    line = rfile.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise BadStatusLine("header line too long")
    return line


def _read_exact(rfile: BinaryIO, n: int) -> bytes:
    data = rfile.read(n)
    if len(data) < n:
        raise IncompleteRead(f"IncompleteRead({len(data)} bytes read, {n - len(data)} more expected)")
    return data


def _read_chunked(rfile: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        line = _line(rfile)
        if not line:
            raise IncompleteRead("IncompleteRead(chunked body ended early)")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadStatusLine(f"bad chunk size {size_text!r}") from None
        if size == 0:
            while _line(rfile) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(_read_exact(rfile, size))
        _line(rfile)  # the CRLF after the chunk


class _Conn:
    """One HTTP/1.1 connection (plain or TLS) with its buffered reader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile: BinaryIO = sock.makefile("rb")

    def dropped(self) -> bool:
        """True if the idle connection was closed by the server (readable with no request out)."""
        import select  # noqa: PLC0415

        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        try:
            self.rfile.close()
        finally:
            self.sock.close()


class DirectPool:
    """Idle keep-alive connections to one origin (the API server), reused across requests and threads."""

    def __init__(self, server: str, ssl_context: ssl.SSLContext | None, server_hostname: str | None = None,
                 maxsize: int = 8) -> None:
        parts = urlsplit(server)
        self.scheme = parts.scheme.lower()
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        default_port = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if self.port == default_port else f"{host}:{self.port}"
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname or self.host
        self.maxsize = maxsize
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()

    def _new(self, connect_timeout: float | None) -> _Conn:
        sock = _dial(self.host, self.port, connect_timeout)
        if self.scheme == "https":
            assert self.ssl_context is not None
            try:
                sock = self.ssl_context.wrap_socket(sock, server_hostname=_ascii(self.server_hostname))
            except BaseException:
                sock.close()
                raise
        return _Conn(sock)

    def _get(self, connect_timeout: float | None) -> _Conn:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.dropped():
                    return conn
                conn.close()
        return self._new(connect_timeout)

    def _put(self, conn: _Conn) -> None:
        with self._lock:
            if len(self._idle) < self.maxsize:
                self._idle.append(conn)
                return
        conn.close()

    def request(self, method: str, url: str, body: bytes | None, headers: list[tuple[str, str]],
                connect_timeout: float | None, read_timeout: float | None) -> DirectResponse:
        """One request on a pooled connection; the body is read completely and decoded."""
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}"]
        for key, value in headers:
            if "\r" in value or "\n" in value or "\r" in key or "\n" in key or ":" in key:
                raise ValueError(f"invalid value for HTTP header {key.split(':')[0]!r}")
            lines.append(f"{key}: {value}")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        conn = self._get(connect_timeout)
        try:
            conn.sock.settimeout(read_timeout)
            conn.sock.sendall(head + body if body else head)
            status, pairs, data, keep = self._read_response(conn.rfile, method)
        except BaseException:
            conn.close()
            raise
        h = Headers(pairs)
        if keep:
            self._put(conn)
        else:
            conn.close()
        return DirectResponse(status, h, _decode(data, h.get("Content-Encoding", "") or ""))

    @staticmethod
    def _read_response(rfile: BinaryIO, method: str) -> tuple[int, list[tuple[str, str]], bytes, bool]:
        while True:
            line = _line(rfile)
            if not line:
                raise RemoteDisconnected("Remote end closed connection without response")
            try:
                version, code, *_ = line.decode("latin-1").split(None, 2)
                status = int(code)
            except ValueError:
                raise BadStatusLine(f"malformed status line {line[:40]!r}") from None
            if not version.startswith("HTTP/1."):
                raise BadStatusLine(f"malformed status line {line[:40]!r}")
            pairs: list[tuple[str, str]] = []
            while True:
                hl = _line(rfile)
                if hl in (b"\r\n", b"\n", b""):
                    break
                if len(pairs) >= _MAX_HEADERS:
                    raise BadStatusLine("too many headers")
                if hl[:1] in (b" ", b"\t") and pairs:  # obsolete line folding
                    k, v = pairs[-1]
                    pairs[-1] = (k, v + " " + hl.decode("latin-1").strip())
                    continue
                key, _, value = hl.decode("latin-1").partition(":")
                pairs.append((key.strip(), value.strip()))
            if 100 <= status < 200 and status != 101:
                continue  # an interim answer: the real one follows
            break
        h = Headers(pairs)
        conn_tokens = (h.get("Connection") or "").lower()
        keep = version == "HTTP/1.1" and "close" not in conn_tokens
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return status, pairs, b"", keep
        if "chunked" in (h.get("Transfer-Encoding") or "").lower():
            return status, pairs, _read_chunked(rfile), keep
        length = h.get("Content-Length")
        if length is not None:
            try:
                n = int(length.split(",")[0].strip())
            except ValueError:
                raise BadStatusLine(f"bad Content-Length {length!r}") from None
            return status, pairs, _read_exact(rfile, n), keep
        return status, pairs, rfile.read(), False  # delimited by the end of the connection

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
