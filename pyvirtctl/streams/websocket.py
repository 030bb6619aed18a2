"""The websocket connection behind console, vnc and port-forward (streaming.md §1).

`open_subresource(session, path, query)` sends the upgrade request through the session's transport
(kube/transport.py: the same TLS context, proxy rule -- HTTP CONNECT, https and SOCKS5 proxies --,
credentials and impersonation headers as REST; subprotocol `plain.kubevirt.io`, no Origin, no
redirects), checks the 101 answer (Upgrade, Connection, Sec-WebSocket-Accept) and returns a `Conn`.
The handshake has a deadline (30 s, or a shorter --request-timeout); the stream has none.

`Conn` does its own framing on the upgraded socket: binary messages only (text frames are
skipped as virtctl does), pings answered, a close 1000 is a clean end, anything else — including
a TCP close without a close frame, which is how virt-handler ends a session — is
`StreamClosed("websocket: close 1006 (abnormal closure): unexpected EOF")`. Frames are checked as
gorilla/websocket checks them (reserved bits, opcodes, masking, control frames, fragmentation), and
frames or messages over MAX_MESSAGE are refused: a `ProtocolError` (`websocket: read limit exceeded`)
after a close frame to the server. Reads go through one large buffer so a console or a forwarded
port can move hundreds of MiB/s in pure Python. `close()` never sends a close frame: it shuts the
socket down, like virtctl.

Handshake failures become virtctl's texts (§1.4) as `WebsocketError` with the HTTP status
(0 when there was no HTTP answer), which the console's wait loop uses to decide on retries.

Other subprotocols (Kubernetes' `v5.channel.k8s.io` for pods/attach, see channel.py) pass
`protocols=` (offered in that order) and their own `HandshakeTexts`; the protocol the server chose
is `Conn.subprotocol`, and with `HandshakeTexts.require_protocol` an answer that chose none of them
fails like client-go's websocket round tripper.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pyvirtctl.errors import CLIError

SUBPROTOCOL = "plain.kubevirt.io"
HANDSHAKE_TIMEOUT = 30.0  # seconds; virtctl has none and can hang forever behind a dead proxy
_READ_CHUNK = 1 << 20  # initial receive buffer (grows for larger messages)
_MAX_BODY = 1024  # gorilla keeps at most this much of a failed handshake's body
MAX_MESSAGE = 16 << 20  # the largest frame or message accepted (virt-handler sends at most 32 KiB ones)
_OPCODES = (0x0, 0x1, 0x2, 0x8, 0x9, 0xA)
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

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


class ProtocolError(StreamClosed):
    """The server broke the framing rules or sent more than MAX_MESSAGE: gorilla's `websocket: <what>`."""

    def __init__(self, text: str, code: int = 1002) -> None:
        CLIError.__init__(self, f"websocket: {text}")
        self.code = code
        self.text = text


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


@dataclass(frozen=True)
class HandshakeTexts:
    """How a failed upgrade is worded: KubeVirt's async dialer (the default) or another client's."""

    bad_status: Callable[[int, dict[str, str] | None, bytes | None], WebsocketError] = handshake_error
    no_response: Callable[[str], WebsocketError] = no_response_error
    body_limit: int = _MAX_BODY  # how much of a refusal's body is kept
    require_protocol: bool = False  # the 101 must name one of the offered subprotocols


KUBEVIRT_TEXTS = HandshakeTexts()


def _protocol_error(offered: Sequence[str], got: str) -> WebsocketError:
    listed = " ".join(json.dumps(p) for p in offered)
    return WebsocketError(f"invalid protocol, expected one of [{listed}], got {json.dumps(got)}", 101)


# --------------------------------------------------------------------------- dialing


@dataclass
class DialTarget:
    """Everything needed to open one upgraded connection.

    With `transport` (a session's, normally), its TLS settings and proxy rule are used; otherwise a
    transport is made from `ssl_context`, `tls_server_name` and `proxy`.
    """

    url: str  # ws:// or wss://
    headers: list[tuple[str, str]] = field(default_factory=list)
    ssl_context: Any = None  # ssl.SSLContext for wss
    tls_server_name: str = ""
    proxy: str | None = None  # proxy URL (http, https, socks5, socks5h) or None
    transport: Any = None  # pyvirtctl.kube.transport.Transport

    @property
    def secure(self) -> bool:
        return self.url.startswith("wss://")

    def http_url(self) -> str:
        return ("https" if self.secure else "http") + self.url[self.url.index(":") :]

    def make_transport(self) -> Any:
        if self.transport is not None:
            return self.transport
        from pyvirtctl.kube.transport import Transport  # noqa: PLC0415

        proxy = self.proxy
        return Transport(self.ssl_context, server_hostname=self.tls_server_name or None,
                         proxy=(lambda _url: proxy) if proxy else None)


_HANDSHAKE_HEADERS = ("upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol")


def _tokens(value: str | None) -> set[str]:
    return {t.strip().lower() for t in (value or "").split(",")}


def connect(target: DialTarget, timeout: float | None = HANDSHAKE_TIMEOUT,
            protocols: Sequence[str] = (SUBPROTOCOL,), texts: HandshakeTexts = KUBEVIRT_TEXTS) -> Conn:
    """Dial (through the transport: TLS, proxy) and upgrade; WebsocketError with virtctl's text on failure.

    `timeout` bounds the whole handshake; the stream itself is never timed out. `protocols` are
    offered in order (Sec-WebSocket-Protocol); `texts` words the failures.
    """
    import base64
    import hashlib

    from pyvirtctl.kube.transport import TransportFailure

    transport = target.make_transport()
    key = base64.b64encode(os.urandom(16)).decode()
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
               ("Sec-WebSocket-Version", "13")]
    headers += [(k, v) for k, v in target.headers if k.lower() not in _HANDSHAKE_HEADERS]
    headers.append(("Sec-WebSocket-Protocol", ", ".join(protocols)))
    try:
        resp = transport.request("GET", target.http_url(), headers=headers, timeout=timeout, stream=True,
                                 read_timeout=timeout, upgrade=True)
    except TransportFailure as exc:
        # gorilla's dialer reports the socket's own error (`read tcp a->b: i/o timeout`), not http.Client's
        raise texts.no_response(exc.net_reason if exc.timed_out else exc.reason) from None
    if resp.status != 101:
        try:
            body = resp.read(limit=texts.body_limit)
        except CLIError:
            body = b""
        raise texts.bad_status(resp.status, dict(resp.headers.items()), body)
    expected = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()  # noqa: S324 - RFC 6455
    sock, leftover = resp.detach()
    if (
        "websocket" not in _tokens(resp.headers.get("Upgrade"))
        or "upgrade" not in _tokens(resp.headers.get("Connection"))
        or (resp.headers.get("Sec-WebSocket-Accept") or "").strip() != expected
    ):
        sock.close()
        raise handshake_error(101, None, None)
    chosen = (resp.headers.get("Sec-WebSocket-Protocol") or "").strip()
    if texts.require_protocol and chosen not in protocols:
        sock.close()
        raise _protocol_error(protocols, chosen)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    conn = Conn(sock, leftover)
    conn.subprotocol = chosen
    return conn


# --------------------------------------------------------------------------- session glue


def dial_target(session: Any, path: str, query: Iterable[tuple[str, str]] | None = None) -> DialTarget:
    """The DialTarget for a subresource path of the session's server: its transport (TLS, proxy rule)
    and its credentials and impersonation headers."""
    cfg = session.config
    url = websocket_url(cfg.server, path, query)
    http_url = ("https" if url.startswith("wss") else "http") + url[url.index(":") :]
    session.ensure_tls(http_url, "GET")
    return DialTarget(url=url, headers=list(session.auth_header_items(http_url, "GET")),
                      tls_server_name=cfg.tls_server_name or "", transport=session.transport)


def open_subresource(
    session: Any,
    path: str,
    query: Sequence[tuple[str, str]] | None = None,
    timeout: float | None = HANDSHAKE_TIMEOUT,
    protocols: Sequence[str] = (SUBPROTOCOL,),
    texts: HandshakeTexts = KUBEVIRT_TEXTS,
) -> Conn:
    """Open `path` (e.g. vmi_path(ns, name, "console") under subresources.kubevirt.io) as a websocket.

    A --request-timeout shorter than the handshake deadline also bounds the handshake (the stream
    itself, once open, is never timed out).
    """
    limit = getattr(getattr(session, "config", None), "timeout", None)
    if limit and (timeout is None or limit < timeout):
        timeout = float(limit)
    return connect(dial_target(session, path, query), timeout, protocols, texts)


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

    def __init__(self, sock: Any, initial: bytes = b"", max_message: int = MAX_MESSAGE) -> None:
        self.sock = sock
        self._buf = bytearray(max(_READ_CHUNK, len(initial) + 4096))
        self._buf[: len(initial)] = initial
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = len(initial)
        self._wlock = threading.Lock()
        self._closed = False  # ended on this side (wake/close): a failing read is not the server's doing
        self._released = False  # the socket is closed
        self._eof = False
        self.max_message = max(125, max_message)
        self.subprotocol = ""  # what the server chose (Sec-WebSocket-Protocol of the 101)

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

    def _frame_header(self) -> tuple[int, int, int]:
        """(fin|opcode byte, header length, payload length) of the frame at _start, checked as gorilla does."""
        self._fill(2)
        b0, b1 = self._buf[self._start], self._buf[self._start + 1]
        if b1 < 126:  # unmasked, short: the usual console frame
            ln, hl = b1, 2
        elif b1 == 126:
            self._fill(4)
            ln, hl = int.from_bytes(self._buf[self._start + 2 : self._start + 4], "big"), 4
        elif b1 == 127:
            self._fill(10)
            ln, hl = int.from_bytes(self._buf[self._start + 2 : self._start + 10], "big"), 10
        else:  # masked: a server must not mask
            self._violation(b0, b1, b1 & 0x7F)
        if b0 != 0x82 and (b0 & 0x70 or (b0 & 0x0F) not in _OPCODES or (b0 & 0x08 and (ln > 125 or b0 < 0x80))):
            self._violation(b0, b1, ln)
        if ln > self.max_message:
            self._violation(b0, b1, ln)
        return b0, hl, ln

    def _violation(self, b0: int, b1: int, ln: int) -> None:
        """Close the connection the way gorilla does (a close frame with the reason) and raise."""
        opcode = b0 & 0x0F
        if b0 & 0x70:
            err = ProtocolError(f"unexpected reserved bits 0x{b0 & 0x70:x}")
        elif opcode not in _OPCODES:
            err = ProtocolError(f"unknown opcode {opcode}")
        elif b1 & 0x80:
            err = ProtocolError("incorrect mask flag")
        elif opcode & 0x08 and ln > 125:
            err = ProtocolError("control frame length > 125")
        elif opcode & 0x08:
            err = ProtocolError("control frame not final")
        elif ln >= 1 << 63:
            err = ProtocolError("invalid frame length")
        else:
            err = ProtocolError("read limit exceeded", 1009)
        self._fail(err)

    def _fail(self, err: ProtocolError) -> None:
        try:
            reason = err.text.encode()[:120] if err.code == 1002 else b""
            self._write(_frame(0x8, err.code.to_bytes(2, "big") + reason))
        except (OSError, ValueError):
            pass
        self.close()
        raise err

    def _next_frame(self) -> tuple[int, bool, bytes]:
        b0, hl, ln = self._frame_header()
        self._fill(hl + ln)
        a = self._start + hl
        payload = bytes(self._view[a : a + ln])
        self._start = a + ln
        if self._start == self._end:
            self._start = self._end = 0
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
        size = 0
        while True:
            opcode, fin, payload = self._next_frame()
            if opcode >= 0x8:
                self._control(opcode, payload)
                continue
            if opcode in (0x1, 0x2):
                if kind:
                    self._fail(ProtocolError("message start before final message frame"))
                kind, parts, size = opcode, [payload], len(payload)
            else:  # continuation
                if not kind:
                    self._fail(ProtocolError("continuation after final message frame"))
                parts.append(payload)
                size += len(payload)
                if size > self.max_message:
                    self._fail(ProtocolError("read limit exceeded", 1009))
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

    def wake(self) -> None:
        """End the stream but keep the descriptor: a thread blocked in `recv()` returns (None).

        Call `close()` once that thread is done. Closing first is unsafe with TLS: a reader already inside
        OpenSSL keeps using the descriptor's number, which the next connection may get, and would eat
        that connection's bytes.
        """
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        """Hang up without a close frame (what virtctl does); safe to call twice and from any thread."""
        if self._released:
            return
        self._released = True
        self.wake()
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
