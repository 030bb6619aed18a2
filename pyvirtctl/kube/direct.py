"""Plain requests without a proxy, on the standard library's http.client (keep-alive, thread-safe).

urllib3 costs more to import than a whole `start` request takes (its URL module alone compiles a
dozen regular expressions), so a Session sends its ordinary REST calls through this small pool when
no proxy applies; proxies, SOCKS and watches keep using urllib3. Failures surface as the same
exception types urllib3 would wrap (OSError, ssl.SSLError, http.client errors, and urllib3's
ConnectTimeoutError for a dial that timed out), so session.transport_reason words them identically.
"""

from __future__ import annotations

import http.client
import socket
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl

DIAL_TIMEOUT = 30.0


class _TLSConnection(http.client.HTTPSConnection):
    """HTTPS with a fixed SNI/verification name (kubeconfig `tls-server-name`) and a dial timeout."""

    def __init__(self, host: str, port: int, *, context: ssl.SSLContext, server_hostname: str | None,
                 connect_timeout: float | None) -> None:
        super().__init__(host, port, context=context)
        self._server_hostname = server_hostname or host
        self._context = context
        self._connect_timeout = connect_timeout

    def connect(self) -> None:
        sock = _dial(self.host, self.port, self._connect_timeout)
        try:
            self.sock = self._context.wrap_socket(sock, server_hostname=self._server_hostname)
        except BaseException:
            sock.close()
            raise


class _PlainConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, connect_timeout: float | None) -> None:
        super().__init__(host, port)
        self._connect_timeout = connect_timeout

    def connect(self) -> None:
        self.sock = _dial(self.host, self.port, self._connect_timeout)


def _dial(host: str, port: int, timeout: float | None) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError as exc:
        from urllib3.exceptions import ConnectTimeoutError  # noqa: PLC0415 - error path only

        raise ConnectTimeoutError(None, f"Connection to {host} timed out. (connect timeout={timeout})") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True if an idle keep-alive connection was closed by the server (readable with no request out)."""
    sock = conn.sock
    if sock is None:
        return True
    import select  # noqa: PLC0415

    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class DirectResponse:
    """What Session needs from an answer: status, headers (case-insensitive .get), the decoded body."""

    def __init__(self, status: int, headers: Any, data: bytes) -> None:
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


class DirectPool:
    """Idle keep-alive connections to one origin (the API server), reused across requests and threads."""

    def __init__(self, server: str, ssl_context: ssl.SSLContext | None, server_hostname: str | None = None,
                 maxsize: int = 8) -> None:
        parts = urlsplit(server)
        self.scheme = parts.scheme.lower()
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.maxsize = maxsize
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _new(self, connect_timeout: float | None) -> http.client.HTTPConnection:
        if self.scheme == "https":
            assert self.ssl_context is not None
            return _TLSConnection(self.host, self.port, context=self.ssl_context,
                                  server_hostname=self.server_hostname, connect_timeout=connect_timeout)
        return _PlainConnection(self.host, self.port, connect_timeout=connect_timeout)

    def _get(self, connect_timeout: float | None) -> http.client.HTTPConnection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not _dropped(conn):
                    return conn
                conn.close()
        return self._new(connect_timeout)

    def _put(self, conn: http.client.HTTPConnection) -> None:
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
        conn = self._get(connect_timeout)
        try:
            if conn.sock is None:
                conn.connect()
            conn.sock.settimeout(read_timeout)
            conn.putrequest(method, target, skip_accept_encoding=True)
            for key, value in headers:
                conn.putheader(key, value)
            if body is not None or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body or b"")))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            conn.close()
            raise
        data = _decode(data, resp.getheader("Content-Encoding", "") or "")
        if resp.will_close:
            conn.close()
        else:
            self._put(conn)
        return DirectResponse(resp.status, resp.headers, data)

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
