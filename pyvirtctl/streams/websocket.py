"""The websocket connection behind console, vnc and port-forward (streaming.md §1).

`open_subresource(session, path, query)` dials the API server the way client-go's REST transport
does (same TLS context, bearer/basic/exec credentials, impersonation headers, proxy from
`proxy-url` or `HTTPS_PROXY`/`NO_PROXY`, HTTP CONNECT, HTTPS and SOCKS5 proxies), performs the
upgrade with websocket-client (subprotocol `plain.kubevirt.io` sent as a plain header, no Origin,
no redirects) and returns a `Conn`.

`Conn` does its own framing on the upgraded socket: binary messages only (text frames are
skipped as virtctl does), pings answered, a close 1000 is a clean end, anything else — including
a TCP close without a close frame, which is how virt-handler ends a session — is
`StreamClosed("websocket: close 1006 (abnormal closure): unexpected EOF")`. Reads go through one
large buffer so a console or a forwarded port can move hundreds of MiB/s in pure Python.
`close()` never sends a close frame: it shuts the socket down, like virtctl.

Handshake failures become virtctl's texts (§1.4) as `WebsocketError` with the HTTP status
(0 when there was no HTTP answer), which the console's wait loop uses to decide on retries.

No heavy imports at module level: websocket-client and ssl are loaded when a connection is opened.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pyvirtctl.errors import CLIError

SUBPROTOCOL = "plain.kubevirt.io"
HANDSHAKE_TIMEOUT = 30.0  # seconds; virtctl has none and can hang forever behind a dead proxy
_READ_CHUNK = 1 << 20  # initial receive buffer (grows for larger messages)
_MAX_BODY = 1024  # gorilla keeps at most this much of a failed handshake's body

CLOSE_NAMES = {
    1000: "normal",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status",
    1006: "abnormal closure",
    1007: "invalid payload data",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "internal server error",
    1012: "service restart",
    1013: "try again later",
    1015: "TLS handshake",
}


class WebsocketError(CLIError):
    """The upgrade failed. `status` is the HTTP status of the answer, 0 when there was none."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class StreamClosed(CLIError):
    """The stream ended other than by a close 1000 (gorilla's CloseError text)."""

    def __init__(self, code: int = 1006, text: str = "unexpected EOF") -> None:
        name = CLOSE_NAMES.get(code, "")
        message = f"websocket: close {code}" + (f" ({name})" if name else "") + (f": {text}" if text else "")
        super().__init__(message)
        self.code = code
        self.text = text

    @property
    def abnormal(self) -> bool:
        return self.code == 1006


# --------------------------------------------------------------------------- URL (pure)


def websocket_url(server: str, path: str, query: Iterable[tuple[str, str]] | None = None) -> str:
    """`https://h/prefix` + an API path -> `wss://h/prefix/...?k=v` (keys sorted, as Go encodes)."""
    parts = urlsplit(server)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme.lower())
    if scheme is None:
        raise CLIError(f"unable to create request for remote execution: Unsupported Protocol {parts.scheme}")
    full = parts.path.rstrip("/") + "/" + path.lstrip("/")
    from pyvirtctl.kube.paths import encode_query  # the one query encoder (Go's url.Values.Encode)

    qs = encode_query(list(query or []))
    return f"{scheme}://{parts.netloc}{full}" + (f"?{qs}" if qs else "")


# --------------------------------------------------------------------------- handshake error texts (pure)


def handshake_error(status: int, headers: dict[str, str] | None, body: bytes | None) -> WebsocketError:
    """virtctl's text for a non-101 answer (streaming.md §1.4)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    body = (body or b"")[:_MAX_BODY]
    base = f"Can't connect to websocket ({status}): websocket: bad handshake"
    ctype = headers.get("content-type", "")
    if "application/json" in ctype:
        try:
            obj = json.loads(body.decode("utf-8", "replace")) if body else None
        except ValueError:
            # client-go reports the decoder's complaint itself; Go's words for a cut-off document
            return WebsocketError("unexpected end of JSON input", status)
        if isinstance(obj, dict) and obj.get("kind") == "Status" and obj.get("status") != "Success":
            return WebsocketError(str(obj.get("message", "")), status)
        return WebsocketError(base, status)
    if "text/plain" in ctype and body:
        return WebsocketError(f"{base}: application info: {body.decode('utf-8', 'replace')}", status)
    return WebsocketError(base, status)


def no_response_error(reason: str) -> WebsocketError:
    # the format string in client-go ends with a newline; kept for byte-for-byte parity
    return WebsocketError(f"Can't connect to websocket: {reason}\n", 0)


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def dial_error_text(exc: BaseException, host: str, port: int, addr: str = "") -> str:
    """Go's wording for a failed dial/TLS handshake (`dial tcp 127.0.0.1:1: connect: connection refused`)."""
    import ssl

    target = addr or _hostport(host, port)
    if isinstance(exc, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = getattr(exc, "verify_code", 0)
        if code in (18, 19, 20, 21, 2):
            return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
        if code == 10:
            return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
        if code == 62 or "hostname" in str(exc).lower() or "IP address mismatch" in str(exc):
            return f"tls: failed to verify certificate: x509: certificate is not valid for {host}"
        return f"tls: failed to verify certificate: {getattr(exc, 'verify_message', '') or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"remote error: tls: {exc.reason or exc}".lower() if exc.reason else f"tls: {exc}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"dial tcp {target}: i/o timeout"
    if isinstance(exc, OSError) and exc.errno is not None:
        words = {
            errno.ECONNREFUSED: "connect: connection refused",
            errno.ENETUNREACH: "connect: network is unreachable",
            errno.EHOSTUNREACH: "connect: no route to host",
            errno.ECONNRESET: "read: connection reset by peer",
            errno.EADDRNOTAVAIL: "connect: cannot assign requested address",
        }
        text = words.get(exc.errno, (exc.strerror or str(exc)).lower())
        return f"dial tcp {target}: {text}"
    return str(exc) or exc.__class__.__name__


# --------------------------------------------------------------------------- dialing


@dataclass
class DialTarget:
    """Everything needed to open one upgraded connection."""

    url: str  # ws:// or wss://
    headers: list[tuple[str, str]] = field(default_factory=list)
    ssl_context: Any = None  # ssl.SSLContext for wss
    tls_server_name: str = ""
    proxy: str | None = None  # proxy URL (http, https, socks5, socks5h) or None

    @property
    def secure(self) -> bool:
        return self.url.startswith("wss://")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        p = urlsplit(self.url).port
        return p or (443 if self.secure else 80)


def _connect_tcp(host: str, port: int, timeout: float | None) -> socket.socket:
    """TCP connect trying every address; the error names the last address tried (like Go)."""
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise _DialFailure(exc, host, port) from None
    last: tuple[BaseException, str] | None = None
    for family, socktype, proto, _, addr in infos:
        sock = socket.socket(family, socktype, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(addr)
        except OSError as exc:
            sock.close()
            last = (exc, _hostport(str(addr[0]), int(addr[1])))
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock
    assert last is not None
    raise _DialFailure(last[0], host, port, last[1])


class _DialFailure(Exception):
    def __init__(self, exc: BaseException, host: str, port: int, addr: str = "", text: str = "") -> None:
        super().__init__(text or dial_error_text(exc, host, port, addr))
        self.text = text or dial_error_text(exc, host, port, addr)


def _read_http_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)  # byte-wise: nothing after the head may be consumed
        if not chunk:
            raise _DialFailure(EOFError(), "", 0, text="proxyconnect tcp: unexpected EOF")
        data += chunk
        if len(data) > 65536:
            raise _DialFailure(EOFError(), "", 0, text="proxyconnect tcp: response head too large")
    return data


def _via_http_proxy(proxy: str, host: str, port: int, timeout: float | None) -> socket.socket:
    import base64
    import ssl

    p = urlsplit(proxy)
    phost = p.hostname or ""
    pport = p.port or (443 if p.scheme == "https" else 80)
    sock = _connect_tcp(phost, pport, timeout)
    try:
        if p.scheme == "https":
            ctx = ssl.create_default_context()
            try:
                sock = ctx.wrap_socket(sock, server_hostname=phost)
            except (OSError, ssl.SSLError) as exc:
                raise _DialFailure(exc, phost, pport) from None
        target = _hostport(host, port)
        head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if p.username:
            cred = f"{unquote(p.username)}:{unquote(p.password or '')}"
            head += f"Proxy-Authorization: Basic {base64.b64encode(cred.encode()).decode()}\r\n"
        sock.sendall((head + "\r\n").encode())
        status_line = _read_http_head(sock).split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or parts[1] != "200":
            reason = " ".join(parts[1:]) if len(parts) > 1 else status_line
            raise _DialFailure(OSError(), host, port, text=f"proxyconnect tcp: {reason}")
        return sock
    except BaseException:
        sock.close()
        raise


def _via_socks_proxy(proxy: str, host: str, port: int, timeout: float | None) -> socket.socket:
    try:
        from python_socks import ProxyError, ProxyType
        from python_socks.sync import Proxy
    except ImportError:
        raise _DialFailure(
            ImportError(),
            host,
            port,
            text="SOCKS5 proxies need the python-socks package (pip install python-socks)",
        ) from None
    p = urlsplit(proxy)
    pport = p.port or 1080
    px = Proxy.create(
        proxy_type=ProxyType.SOCKS5,
        host=p.hostname or "",
        port=pport,
        username=unquote(p.username) if p.username else None,
        password=unquote(p.password or "") if p.username else None,
        rdns=True,  # Go's SOCKS5 dialer sends the host name to the proxy
    )
    try:
        sock = px.connect(dest_host=host, dest_port=port, timeout=timeout)
    except ProxyError as exc:
        raise _DialFailure(
            exc,
            host,
            port,
            text=f"socks connect tcp {_hostport(p.hostname or '', pport)}->{_hostport(host, port)}: {exc}",
        ) from None
    except OSError as exc:
        raise _DialFailure(exc, p.hostname or "", pport) from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def dial(target: DialTarget, timeout: float | None = HANDSHAKE_TIMEOUT) -> socket.socket:
    """The connected (and, for wss, TLS-wrapped) socket to the API server, through any proxy."""
    import ssl

    host, port = target.host, target.port
    proxy = target.proxy
    if proxy:
        scheme = urlsplit(proxy).scheme.lower()
        if scheme in ("socks5", "socks5h"):
            sock = _via_socks_proxy(proxy, host, port, timeout)
        else:
            sock = _via_http_proxy(proxy, host, port, timeout)
    else:
        sock = _connect_tcp(host, port, timeout)
    if not target.secure:
        return sock
    ctx = target.ssl_context or ssl.create_default_context()
    try:
        return ctx.wrap_socket(sock, server_hostname=target.tls_server_name or host)
    except (OSError, ssl.SSLError) as exc:
        sock.close()
        raise _DialFailure(exc, host, port) from None


def connect(target: DialTarget, timeout: float | None = HANDSHAKE_TIMEOUT) -> Conn:
    """Dial and upgrade; raises WebsocketError with virtctl's text on any failure."""
    import websocket as wsc  # websocket-client

    try:
        sock = dial(target, timeout)
    except _DialFailure as exc:
        raise no_response_error(exc.text) from None
    headers = [f"{k}: {v}" for k, v in target.headers if k.lower() != "sec-websocket-protocol"]
    headers.append(f"Sec-WebSocket-Protocol: {SUBPROTOCOL}")
    ws = wsc.WebSocket(skip_utf8_validation=True)
    try:
        ws.connect(
            target.url, socket=sock, header=headers, suppress_origin=True, redirect_limit=0, timeout=timeout
        )
    except wsc.WebSocketBadStatusException as exc:
        sock.close()
        raise handshake_error(exc.status_code, exc.resp_headers, exc.resp_body) from None
    except wsc.WebSocketException as exc:
        sock.close()
        resp = getattr(ws, "handshake_response", None)
        status = getattr(resp, "status", 0) or 0
        if status:  # a redirect (not followed, like gorilla) or a 101 with bad upgrade headers
            raise handshake_error(status, None, None) from None
        if "Invalid WebSocket Header" in str(exc):
            raise handshake_error(101, None, None) from None
        raise no_response_error(str(exc) or "unexpected EOF") from None
    except (OSError, EOFError) as exc:
        sock.close()
        text = "EOF" if isinstance(exc, EOFError) else dial_error_text(exc, target.host, target.port)
        raise no_response_error(text) from None
    sock.settimeout(None)
    return Conn(sock)


# --------------------------------------------------------------------------- session glue


def dial_target(session: Any, path: str, query: Iterable[tuple[str, str]] | None = None) -> DialTarget:
    """The DialTarget for a subresource path of the session's server (TLS, auth and proxy of REST)."""
    cfg = getattr(session, "config", None)
    if cfg is not None and hasattr(cfg, "ssl_context") and hasattr(cfg, "auth_header_items"):
        url = websocket_url(cfg.server, path, query)
        http_url = ("https" if url.startswith("wss") else "http") + url[url.index(":") :]
        return DialTarget(
            url=url,
            headers=list(cfg.auth_header_items()),
            ssl_context=_session_ssl_context(session, cfg) if url.startswith("wss") else None,
            tls_server_name=getattr(cfg, "tls_server_name", "") or "",
            proxy=cfg.proxy_for(http_url),
        )
    # a session offering websocket-client keyword arguments instead
    url, kw = session.websocket_options(path, list(query or []))
    return target_from_ws_options(url, kw)


def _session_ssl_context(session: Any, cfg: Any) -> Any:
    """The session's TLS context, built once per run (reconnect loops dial every second)."""
    ctx = getattr(session, "_ssl_context", None)
    if ctx is None:
        ctx = cfg.ssl_context()
        try:
            session._ssl_context = ctx
        except AttributeError:
            pass
    return ctx


def target_from_ws_options(url: str, kw: dict[str, Any]) -> DialTarget:
    """Read websocket-client style options (header, sslopt, http_proxy_*, proxy_type) into a DialTarget."""
    raw = kw.get("header") or []
    items = raw.items() if isinstance(raw, dict) else (h.split(":", 1) for h in raw)
    headers = [(k.strip(), v.strip()) for k, v in items]
    sslopt = kw.get("sslopt") or {}
    proxy = None
    if kw.get("http_proxy_host"):
        scheme = kw.get("proxy_type") or "http"
        auth = kw.get("http_proxy_auth")
        cred = f"{quote(auth[0], safe='')}:{quote(auth[1] or '', safe='')}@" if auth and auth[0] else ""
        proxy = f"{scheme}://{cred}{_hostport(kw['http_proxy_host'], int(kw.get('http_proxy_port') or 0))}"
    return DialTarget(
        url=url,
        headers=headers,
        ssl_context=sslopt.get("context"),
        tls_server_name=sslopt.get("server_hostname", "") or "",
        proxy=proxy,
    )


def open_subresource(
    session: Any,
    path: str,
    query: Sequence[tuple[str, str]] | None = None,
    timeout: float | None = HANDSHAKE_TIMEOUT,
) -> Conn:
    """Open `path` (e.g. vmi_path(ns, name, "console") under subresources.kubevirt.io) as a websocket.

    A --request-timeout shorter than the handshake deadline also bounds the handshake (the stream
    itself, once open, is never timed out).
    """
    limit = getattr(getattr(session, "config", None), "timeout", None)
    if limit and (timeout is None or limit < timeout):
        timeout = float(limit)
    return connect(dial_target(session, path, query), timeout)


# --------------------------------------------------------------------------- the stream


def _mask(key: bytes, data: bytes) -> bytes:
    n = len(data)
    if not n:
        return b""
    k = int.from_bytes((key * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ k).to_bytes(n, "little")


def _frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    head = bytearray([0x80 | opcode])
    if n < 126:
        head.append(0x80 | n)
    elif n < 65536:
        head.append(0x80 | 126)
        head += n.to_bytes(2, "big")
    else:
        head.append(0x80 | 127)
        head += n.to_bytes(8, "big")
    key = os.urandom(4)
    return bytes(head) + key + _mask(key, payload)


class Conn:
    """An upgraded connection: `send(bytes)` one binary message, `recv()` the next one.

    One reader and any number of writers may use it from different threads. `recv()` returns None
    at a clean end (close 1000, or after `close()`), raises StreamClosed otherwise.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray(_READ_CHUNK)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self._wlock = threading.Lock()
        self._closed = False
        self._eof = False

    # ---- reading

    def _fill(self, need: int) -> None:
        """Make at least `need` bytes available from _start, reading from the socket."""
        while self._end - self._start < need:
            if len(self._buf) - self._start < need or len(self._buf) - self._end < 4096:
                avail = self._end - self._start
                if len(self._buf) < need + 4096:
                    self._view.release()
                    bigger = bytearray(max(need + 4096, 2 * len(self._buf)))
                    bigger[:avail] = self._buf[self._start : self._end]
                    self._buf = bigger
                    self._view = memoryview(self._buf)
                else:
                    self._buf[:avail] = self._buf[self._start : self._end]
                self._start, self._end = 0, avail
            try:
                n = self.sock.recv_into(self._view[self._end :])
            except (OSError, ValueError) as exc:
                if self._closed:
                    raise _LocalClose() from None
                if isinstance(exc, OSError) and exc.errno not in (errno.ECONNRESET, errno.EPIPE, None):
                    raise StreamClosed(1006, f"read: {(exc.strerror or str(exc)).lower()}") from None
                raise StreamClosed() from None
            if n == 0:
                if self._closed:
                    raise _LocalClose()
                raise StreamClosed()
            self._end += n

    def _frame_header(self) -> tuple[int, int, int, bytes | None]:
        """(fin|opcode byte, header length, payload length, mask key) of the frame at _start."""
        self._fill(2)
        b0, b1 = self._buf[self._start], self._buf[self._start + 1]
        ln = b1 & 0x7F
        hl = 2
        if ln == 126:
            self._fill(4)
            ln = int.from_bytes(self._buf[self._start + 2 : self._start + 4], "big")
            hl = 4
        elif ln == 127:
            self._fill(10)
            ln = int.from_bytes(self._buf[self._start + 2 : self._start + 10], "big")
            hl = 10
        key = None
        if b1 & 0x80:
            self._fill(hl + 4)
            key = bytes(self._buf[self._start + hl : self._start + hl + 4])
            hl += 4
        return b0, hl, ln, key

    def _next_frame(self) -> tuple[int, bool, bytes]:
        b0, hl, ln, key = self._frame_header()
        self._fill(hl + ln)
        a = self._start + hl
        payload = bytes(self._view[a : a + ln])
        self._start = a + ln
        if self._start == self._end:
            self._start = self._end = 0
        if key is not None:
            payload = _mask(key, payload)
        return b0 & 0x0F, bool(b0 & 0x80), payload

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == 0x9:  # ping -> pong
            self._write(_frame(0xA, payload[:125]))
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            text = payload[2:].decode("utf-8", "replace")
            try:  # answer the close like gorilla does, then hang up
                self._write(_frame(0x8, payload[:2]))
            except OSError:
                pass
            self._eof = True
            self.close()
            if code != 1000:
                raise StreamClosed(code, text)
            raise _LocalClose()

    def recv(self, merge: bool = False) -> bytes | None:
        """The next binary message; with merge=True also every further message already buffered."""
        if self._eof:
            return None
        try:
            out = self._recv_message()
            if merge and out is not None:
                parts = [out]
                while self._complete_frame_buffered():
                    more = self._recv_message()
                    if more is None:
                        break
                    parts.append(more)
                out = b"".join(parts) if len(parts) > 1 else out
            return out
        except _LocalClose:
            self._eof = True
            return None
        except StreamClosed:
            self._eof = True
            raise

    def _complete_frame_buffered(self) -> bool:
        avail = self._end - self._start
        if avail < 2:
            return False
        b1 = self._buf[self._start + 1]
        ln, hl = b1 & 0x7F, 2
        if ln == 126:
            if avail < 4:
                return False
            ln, hl = int.from_bytes(self._buf[self._start + 2 : self._start + 4], "big"), 4
        elif ln == 127:
            if avail < 10:
                return False
            ln, hl = int.from_bytes(self._buf[self._start + 2 : self._start + 10], "big"), 10
        if b1 & 0x80:
            hl += 4
        return avail >= hl + ln and (self._buf[self._start] & 0x0F) in (0x0, 0x1, 0x2)

    def _recv_message(self) -> bytes | None:
        parts: list[bytes] = []
        kind = 0
        while True:
            opcode, fin, payload = self._next_frame()
            if opcode >= 0x8:
                self._control(opcode, payload)
                continue
            if opcode in (0x1, 0x2):
                kind, parts = opcode, [payload]
            else:  # continuation
                parts.append(payload)
            if fin:
                if kind == 0x2:
                    return parts[0] if len(parts) == 1 else b"".join(parts)
                parts, kind = [], 0  # text messages are skipped, as virtctl and virt-handler do

    # ---- writing

    def _write(self, data: bytes) -> None:
        with self._wlock:
            self.sock.sendall(data)

    def send(self, data: bytes) -> None:
        """Send `data` as one binary message (raises StreamClosed when the connection is gone)."""
        try:
            self._write(_frame(0x2, bytes(data)))
        except (OSError, ValueError):
            if self._closed:
                raise StreamClosed(1006, "use of closed network connection") from None
            raise StreamClosed() from None

    # ---- ending

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        """Hang up without a close frame (what virtctl does); safe to call twice and from any thread."""
        if self._closed:
            return
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _LocalClose(Exception):
    """The read ended because this side closed the connection (or after a close 1000)."""
