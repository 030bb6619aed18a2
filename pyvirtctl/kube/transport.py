"""The one HTTP transport: REST calls, watches, completion, websocket dials, streamed uploads and downloads.

A small HTTP/1.1 client over `socket`/`ssl` (urllib3 and http.client cost more to import than a whole
`start` takes; http.client also pulls in the email package), with the rules of Go's http.Transport and
http.Client that virtctl users meet:

* **Deadline.** `timeout=` is a total deadline per request (`http.Client.Timeout`): dial, TLS, sending,
  the answer's head and -- unless `stream=True` -- its whole body. A server trickling a byte every
  half second fails at the deadline: `context deadline exceeded (Client.Timeout exceeded while awaiting
  headers)`, or client-go's `unexpected error when reading response body. Please retry. Original error:
  context deadline exceeded (Client.Timeout or context cancellation while reading body)`. With
  `stream=True` (watch, websocket, downloads) the deadline covers the handshake only; `read_timeout=`
  then bounds each wait for data. Dials give up after 30 s, TLS handshakes after 10 s, as in Go.
* **Keep-alive.** Idle connections are kept per origin (and proxy) and checked before reuse. A GET,
  HEAD or OPTIONS sent on a reused connection that the server closed without answering is sent once
  more on a new connection (Go's rule); PUT, POST, PATCH and DELETE never are.
* **Strict framing.** Conflicting Content-Length headers, a bad Content-Length, an unsupported
  Transfer-Encoding or a malformed status line are errors in Go's words (`net/http: HTTP/1.x transport
  connection broken: ...`); a status outside 100-599, bytes left over after a body (a 204 with a body,
  an extra CRLF), HTTP/1.0 without keep-alive or a body delimited by the end of the connection mean the
  connection is not reused. Chunked bodies may carry extensions and trailers; 1xx answers are skipped;
  `Expect: 100-continue` waits up to 1 s for the go-ahead. gzip bodies are decoded whole, every member.
* **Headers** are sent as UTF-8 (Go writes a string's bytes); a CR, LF or other control character in a
  value is Go's `net/http: invalid header field value for "Name"`, before anything is sent.
* **Proxies** for every caller from one rule (`proxy=` callable, normally `ClusterConfig.proxy_for`):
  http and https proxies (CONNECT for https targets and upgrades, absolute-form requests for plain
  http), and socks5 through the optional `python-socks` package (the proxy resolves the name).
* **Bodies** stream both ways: a request body may be bytes, a file object or an iterator of bytes (sent
  in slices with a progress callback, chunked when the length is unknown); `Response.iter_chunks()`
  yields the answer as it arrives, `Response.readinto(buf)` fills a caller's buffer (downloads).
  Nothing larger than a slice is held in memory.

Every failure is a `TransportFailure` (a TransportError) worded like Go's url.Error:
`Put "https://h/apis/...": dial tcp 10.0.0.1:6443: connect: connection refused`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from pyvirtctl.errors import ConfigError, TransportError

if TYPE_CHECKING:
    import ssl

DIAL_TIMEOUT = 30.0  # Go's net.Dialer in client-go's transport
TLS_HANDSHAKE_TIMEOUT = 10.0  # http.Transport.TLSHandshakeTimeout
EXPECT_CONTINUE_TIMEOUT = 1.0  # http.Transport.ExpectContinueTimeout
MAX_IDLE_PER_ORIGIN = 8
MAX_HEADER_BYTES = 1 << 20
SEND_SLICE = 256 * 1024
IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))

AWAITING_HEADERS = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
READING_BODY = "context deadline exceeded (Client.Timeout or context cancellation while reading body)"
BODY_ERROR = "unexpected error when reading response body. Please retry. Original error: "
BROKEN = "net/http: HTTP/1.x transport connection broken: "

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def go_method(method: str) -> str:
    """Go's url.Error operation name: `Get`, `Put`, `Post`, ..."""
    return method[:1].upper() + method[1:].lower()


class TransportFailure(TransportError):
    """No (complete) HTTP answer. `timed_out`: a deadline ran out; `phase`: dial, headers or body;
    `net_reason`: the socket-level text Go's net package would give (`read tcp a->b: i/o timeout`)."""

    def __init__(self, message: str, reason: str, *, timed_out: bool = False, phase: str = "headers",
                 net_reason: str = "") -> None:
        super().__init__(message, reason=reason)
        self.timed_out = timed_out
        self.phase = phase
        self.net_reason = net_reason or reason


class _Fail(Exception):
    """A failure inside the transport, before it is worded for the caller."""

    def __init__(self, reason: str, *, timed_out: bool = False, nothing: bool = False, phase: str = "headers",
                 net: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out
        self.nothing = nothing  # the server sent no byte of an answer: a replayable request may be retried
        self.phase = phase
        self.net = net


class _Clock:
    """A request's deadline (None: none) and the longest single wait (idle limit for streams)."""

    __slots__ = ("deadline", "idle", "text")

    def __init__(self, total: float | None, idle: float | None = None, text: str = AWAITING_HEADERS) -> None:
        self.deadline = time.monotonic() + total if total else None
        self.idle = idle
        self.text = text

    def left(self, cap: float | None = None) -> float | None:
        """Seconds the next wait may take (None: no limit); raises _Fail once the deadline has passed."""
        limit = cap if self.idle is None else (self.idle if cap is None else min(cap, self.idle))
        if self.deadline is None:
            return limit
        rem = self.deadline - time.monotonic()
        if rem <= 0:
            raise _Fail(self.text, timed_out=True)
        return rem if limit is None else min(rem, limit)

    def limited_by_deadline(self, cap: float | None) -> bool:
        return self.deadline is not None and (cap is None or self.deadline - time.monotonic() <= cap + 0.001)


def _ascii(host: str) -> str | bytes:
    """An ASCII name as bytes: str names go through the `idna` codec (socket and ssl), a 15 ms import."""
    return host.encode("ascii") if host.isascii() else host


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _quote(text: str) -> str:
    from pyvirtctl.gotext import go_quote  # noqa: PLC0415 - error paths only

    return go_quote(text)


def _record_reader(sock: Any) -> Callable[[int, memoryview], int] | None:
    """For a socket from ssl.wrap_socket: its TLS object's read(n, buffer), which decrypts one record
    into the buffer and waits as the socket's timeout says (what SSLSocket.recv_into ends in, without
    the two Python calls around it); None for anything else (plain, TLS in a tunnel)."""
    obj = getattr(sock, "_sslobj", None)
    read = getattr(obj, "read", None)
    return read if callable(read) else None


def _plain_reader(sock: Any) -> Callable[[int, memoryview], int]:
    """read(n, buffer) over recv_into, for sockets without a TLS object of their own."""
    recv_into = sock.recv_into
    return lambda n, buffer: recv_into(buffer, n)


def _os_text(op: str, exc: OSError) -> str:
    """`read: connection reset by peer`, `write: broken pipe`: Go's syscall wording."""
    import errno  # noqa: PLC0415

    words = {
        errno.ECONNRESET: "connection reset by peer",
        errno.EPIPE: "broken pipe",
        errno.ECONNREFUSED: "connection refused",
        errno.ETIMEDOUT: "connection timed out",
        errno.EHOSTUNREACH: "no route to host",
        errno.ENETUNREACH: "network is unreachable",
        errno.ECONNABORTED: "software caused connection abort",
    }
    return f"{op}: {words.get(exc.errno or 0) or (exc.strerror or str(exc) or type(exc).__name__).lower()}"


# --------------------------------------------------------------------------- connections


_UNSET = object()


class _Conn:
    """One connection (plain, TLS, or TLS inside a proxy tunnel) with its read buffer."""

    __slots__ = ("sock", "route", "buf", "reused", "received", "_timeout", "forward_auth", "closed", "spent")

    def __init__(self, sock: Any, route: _Route) -> None:
        self.sock = sock
        self.route = route
        self.buf = bytearray()
        self.reused = False
        self.received = 0  # bytes of the current answer read so far
        self._timeout: Any = _UNSET
        self.forward_auth = ""  # Proxy-Authorization for absolute-form requests via an http proxy
        self.closed = False
        self.spent = False  # the exchange went wrong in a way that forbids reusing the connection

    def _wait(self, clock: _Clock, cap: float | None = None) -> None:
        t = clock.left(cap)
        if t != self._timeout or self._timeout is _UNSET:
            self.sock.settimeout(t)
            self._timeout = t

    def _net(self, op: str, what: str) -> str:
        """Go's net.OpError text: `read tcp 127.0.0.1:50000->127.0.0.1:6443: i/o timeout`."""
        try:
            local, peer = self.sock.getsockname(), self.sock.getpeername()
            return f"{op} tcp {_host_port(str(local[0]), local[1])}->{_host_port(str(peer[0]), peer[1])}: {what}"
        except (OSError, IndexError, TypeError):
            return f"{op}: {what}"

    def recv(self, n: int, clock: _Clock) -> bytes:
        """At most `n` bytes from the socket (b"" at the end of the stream)."""
        self._wait_read(clock)
        try:
            data = self.sock.recv(n)
        except OSError as exc:
            self._read_failed(exc, clock)
            return b""
        self.received += len(data)
        return data

    def recv_into(self, view: memoryview, clock: _Clock) -> int:
        """Like recv, into `view` (no allocation per read); 0 at the end of the stream."""
        self._wait_read(clock)
        try:
            n = self.sock.recv_into(view)
        except OSError as exc:
            self._read_failed(exc, clock)
            return 0
        self.received += n
        return n

    def _wait_read(self, clock: _Clock) -> None:
        try:
            self._wait(clock)
        except _Fail as f:
            f.net = self._net("read", "i/o timeout")
            raise

    def _read_failed(self, exc: OSError, clock: _Clock) -> None:
        """Raise what a failed read means in Go's words; return for a TLS end of stream (the caller's EOF)."""
        if isinstance(exc, TimeoutError):
            raise _Fail(clock.text, timed_out=True, net=self._net("read", "i/o timeout")) from None
        name = type(exc).__name__
        if name in ("SSLEOFError", "SSLZeroReturnError"):
            return
        if name.startswith("SSL"):
            from pyvirtctl.kube.tls import tls_error_text  # noqa: PLC0415

            raise _Fail(tls_error_text(exc), nothing=self.received == 0) from None  # type: ignore[arg-type]
        raise _Fail(_os_text("read", exc), nothing=self.received == 0) from None

    def fill(self, clock: _Clock) -> bool:
        """Read more into the buffer; False at the end of the stream."""
        data = self.recv(65536, clock)
        if not data:
            return False
        self.buf += data
        return True

    def readline(self, clock: _Clock, limit: int) -> tuple[bytes, bool]:
        """(line with its newline, or what is left at the end of the stream; True when it ended)."""
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0:
                line = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                return line, False
            if len(self.buf) > limit:
                raise _Fail(BROKEN + "net/http: server response headers exceeded "
                            f"{MAX_HEADER_BYTES} bytes; aborted")
            start = len(self.buf)
            if not self.fill(clock):
                line = bytes(self.buf)
                self.buf.clear()
                return line, True

    def send(self, data: Any, clock: _Clock) -> None:
        try:
            self._wait(clock)
        except _Fail as f:
            f.net = self._net("write", "i/o timeout")
            raise
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise _Fail(clock.text, timed_out=True, net=self._net("write", "i/o timeout")) from None
        except OSError as exc:
            raise _Fail(_os_text("write", exc), nothing=self.received == 0) from None

    def dropped(self) -> bool:
        """True if an idle connection was closed by the server or holds bytes nobody asked for."""
        if self.buf:
            return True
        pending = getattr(self.sock, "pending", None)
        if pending is not None and pending():
            return True  # decrypted bytes nobody asked for
        import select  # noqa: PLC0415

        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


class _Route(NamedTuple):
    """Where a connection goes: the origin, and the proxy it goes through ("" for none)."""

    scheme: str  # http or https
    host: str
    port: int
    proxy: str
    tunnel: bool  # CONNECT through an http(s) proxy (https targets and upgrades)


# --------------------------------------------------------------------------- answers


class Headers:
    """Response headers: case-insensitive, repeated fields joined with ", "."""

    __slots__ = ("_pairs",)

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

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"


class _Gunzip:
    """gzip decoding of a stream of any number of members (Go's gzip.Reader is multistream)."""

    def __init__(self) -> None:
        import zlib  # noqa: PLC0415

        self._zlib = zlib
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._mid = False  # inside a member

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            try:
                out.append(self._d.decompress(data))
            except self._zlib.error as exc:
                text = str(exc)
                if "header" in text:
                    raise _Fail("gzip: invalid header", phase="body") from None
                if "data check" in text or "length check" in text:
                    raise _Fail("gzip: invalid checksum", phase="body") from None
                raise _Fail("flate: corrupt input", phase="body") from None
            self._mid = True
            if self._d.eof:
                data = self._d.unused_data
                self._d = self._zlib.decompressobj(16 + self._zlib.MAX_WBITS)
                self._mid = False
            else:
                data = b""
        return b"".join(out)

    def finish(self) -> None:
        if self._mid:
            raise _Fail("unexpected EOF", phase="body")


class _Body:
    """The framing of one answer's body: none, Content-Length, chunked, or until the connection ends."""

    def __init__(self, conn: _Conn, mode: str, length: int, keep: bool, clock: _Clock,
                 release: Callable[[_Conn, bool], None]) -> None:
        self.conn = conn
        self.mode = mode  # "none", "length", "chunked", "close"
        self.left = length  # bytes left (length mode) or in the current chunk
        self.keep = keep
        self.clock = clock
        self.release = release
        self.done = False
        self.first_chunk = True
        if mode == "none" or (mode == "length" and length == 0):
            self._finish()

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        # bytes after the body (a 204 with a body, an extra CRLF): nothing else may be read from it
        reusable = self.keep and self.mode in ("none", "length", "chunked") and not self.conn.buf
        self.release(self.conn, reusable)

    def abandon(self) -> None:
        if not self.done:
            self.done = True
            self.release(self.conn, False)

    def _take(self, n: int) -> bytes:
        """Up to n bytes: from the buffer if it holds any, else with one read from the socket."""
        conn = self.conn
        if conn.buf:
            data = bytes(conn.buf[:n])
            del conn.buf[:n]
            return data
        return conn.recv(n, self.clock)

    def read(self, n: int) -> bytes:
        """Up to n bytes of the body (one read at most); b"" at its end."""
        if self.done:
            return b""
        try:
            if self.mode == "length":
                data = self._take(min(n, self.left))
                if not data:
                    raise _Fail("unexpected EOF", phase="body")
                self.left -= len(data)
                if self.left == 0:
                    self._finish()
                return data
            if self.mode == "close":
                data = self._take(n)
                if not data:
                    self._finish()
                return data
            return self._read_chunked(n)
        except _Fail as f:
            self.abandon()
            f.phase = "body"
            raise

    def _take_into(self, view: memoryview) -> int:
        conn = self.conn
        if conn.buf:
            n = min(len(view), len(conn.buf))
            view[:n] = conn.buf[:n]
            del conn.buf[:n]
            return n
        return conn.recv_into(view, self.clock)

    def fill_into(self, view: memoryview) -> tuple[int, _Fail | None]:
        """Fill `view` until it is full or the body ends: (bytes, the failure that stopped it, if any).

        Without a deadline the socket's timeout (the idle limit) is the same for every read, so it is set
        once, and the bytes of a segment (the rest of a Content-Length body, of a chunk, or all there is
        for a body ended by the close) come from the socket in one tight loop (`_segment`); with a
        deadline each read waits for what is left of it."""
        got = 0
        want = len(view)
        conn = self.conn
        clock = self.clock
        direct = clock.deadline is None
        try:
            read = None
            if direct and not self.done:
                conn._wait_read(clock)
                read = _record_reader(conn.sock) or _plain_reader(conn.sock)
            while got < want and not self.done:
                if self.mode == "chunked" and self.left == 0 and not self._next_chunk():
                    break
                end = want if self.mode == "close" else got + min(self.left, want - got)
                if conn.buf or read is None:
                    n = self._take_into(view[got:end])
                    failure = None
                else:
                    n, failure = self._segment(view, got, end, read)
                got += n
                if self.mode != "close":
                    self.left -= n
                if failure is not None:
                    raise failure
                if not n:
                    if self.mode != "close":
                        raise _Fail("unexpected EOF")
                    self._finish()  # the end of the connection is the end of such a body
                    break
                if self.left == 0 and self.mode == "length":
                    self._finish()
        except _Fail as f:
            self.abandon()
            f.phase = "body"
            return got, f
        return got, None

    def _segment(self, view: memoryview, start: int, end: int,
                 read: Callable[[int, memoryview], int]) -> tuple[int, _Fail | None]:
        """view[start:end] from the socket, read by read until full or the stream ends: (bytes, the failure
        that stopped it). Nothing else is in the loop: a 1 GiB download is ~65,000 TLS records, and the
        Python layers of SSLSocket.recv_into around each cost ~0.05 s of CPU per GiB (measured: user
        time 0.39 against 0.44 s for 1 GiB)."""
        got = start
        failure = None
        try:
            while got < end:
                n = read(end - got, view[got:])
                if not n:
                    break
                got += n
        except OSError as exc:
            try:
                self.conn._read_failed(exc, self.clock)  # raises, or returns at a TLS end of stream
            except _Fail as f:
                failure = f
        self.conn.received += got - start
        return got - start, failure

    def _read_chunked(self, n: int) -> bytes:
        if self.left == 0 and not self._next_chunk():
            return b""
        data = self._take(min(n, self.left))
        if not data:
            raise _Fail("unexpected EOF")
        self.left -= len(data)
        return data

    def _next_chunk(self) -> bool:
        """Read the next chunk's size line into `left`; False (body finished) at the last chunk."""
        conn = self.conn
        if self.left == 0:
            if not self.first_chunk:
                while len(conn.buf) < 2:
                    if not conn.fill(self.clock):
                        raise _Fail("unexpected EOF")
                if conn.buf[:2] == b"\r\n":
                    del conn.buf[:2]
                elif conn.buf[:1] == b"\n":
                    del conn.buf[:1]
                else:
                    raise _Fail("malformed chunked encoding")
            self.first_chunk = False
            line, eof = conn.readline(self.clock, 4096)
            if eof:
                raise _Fail("unexpected EOF")
            size_text = line.rstrip(b"\r\n").rstrip(b" \t").split(b";", 1)[0].strip(b" \t")
            if not size_text:
                raise _Fail("empty hex number for chunk length")
            if len(size_text) > 16:
                raise _Fail("http chunk length too large")
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _Fail("invalid byte in chunk length") from None
            if size_text[:1] in (b"+", b"-") or size_text.lower().startswith(b"0x") or size >= 1 << 63:
                raise _Fail("invalid byte in chunk length")
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer, eof = conn.readline(self.clock, MAX_HEADER_BYTES)
                    if eof:
                        raise _Fail("unexpected EOF")
                    if trailer in (b"\r\n", b"\n"):
                        break
                self._finish()
                return False
            self.left = size
        return True


class Response:
    """An HTTP answer. `body` holds the decoded body unless the request asked for a stream."""

    def __init__(self, method: str, url: str, status: int, reason: str, version: str, headers: Headers,
                 body: _Body | None, decode: bool) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self._body = body
        self._gunzip: _Gunzip | None = None
        encoding = (headers.get("Content-Encoding") or "").strip().lower() if decode else ""
        if encoding in ("gzip", "x-gzip"):
            self._gunzip = _Gunzip()
        self._deflate = decode and encoding == "deflate"
        self.body = b""
        self._offset = 0  # readinto's position in a body read whole
        self._pending: _Fail | None = None
        self.stream_errors = True  # errors while reading are worded as the request's (url.Error)

    @property
    def data(self) -> bytes:
        return self.body

    def _error(self, f: _Fail) -> TransportFailure:
        if self.stream_errors:
            return TransportFailure(f'{go_method(self.method)} "{self.url}": {f.reason}', f.reason,
                                    timed_out=f.timed_out, phase="body", net_reason=f.net)
        return TransportFailure(BODY_ERROR + f.reason, f.reason, timed_out=f.timed_out, phase="body",
                                net_reason=f.net)

    def iter_chunks(self, size: int = SEND_SLICE, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
        """The (decoded) body as it arrives; `progress(n)` after each piece. Raises TransportFailure."""
        body = self._body
        if body is None:
            if self.body:
                if progress:
                    progress(len(self.body))
                yield self.body
            return
        try:
            while True:
                raw = body.read(size)
                if not raw:
                    if self._gunzip is not None:
                        self._gunzip.finish()
                    break
                data = self._gunzip.feed(raw) if self._gunzip is not None else raw
                if data:
                    if progress:
                        progress(len(data))
                    yield data
        except _Fail as f:
            raise self._error(f) from None
        finally:
            if not body.done:
                body.abandon()

    def readinto(self, buf: bytearray | memoryview) -> int:
        """Fill `buf` with the next bytes of the body (a download's loop without an allocation per TLS
        record); returns how many, 0 at its end. For streamed answers that are not content-decoded
        (`decode=False`, or no Content-Encoding). Raises TransportFailure."""
        body = self._body
        view = memoryview(buf)
        if self._gunzip is not None or self._deflate:
            raise TypeError("readinto reads the body as sent: request it with decode=False")
        if body is None:  # read already (not streamed)
            data = self.body[self._offset : self._offset + len(view)]
            self._offset += len(data)
            view[: len(data)] = data
            return len(data)
        if self._pending is not None:  # the failure that ended the previous, partly filled, call
            f, self._pending = self._pending, None
            raise self._error(f)
        got, failure = body.fill_into(view)
        if failure is not None:
            if not got:
                raise self._error(failure) from None
            self._pending = failure  # hand over what arrived before the failure first
        return got

    def read(self, limit: int | None = None) -> bytes:
        """The rest of the (decoded) body, or at most `limit` bytes of it (then the connection is closed)."""
        parts: list[bytes] = []
        got = 0
        for chunk in self.iter_chunks():
            parts.append(chunk)
            got += len(chunk)
            if limit is not None and got >= limit:
                break
        data = b"".join(parts)
        if self._deflate and data:
            data = _inflate(data)
        self.close()
        return data if limit is None else data[:limit]

    def close(self) -> None:
        """Let go of the connection (kept for reuse only if the body was read to its end)."""
        if self._body is not None and not self._body.done:
            self._body.abandon()

    def detach(self) -> tuple[Any, bytes]:
        """(socket, bytes already read past the head) of a 101 answer; the transport forgets it."""
        assert self._body is not None
        conn = self._body.conn
        self._body.done = True
        leftover = bytes(conn.buf)
        conn.buf.clear()
        conn.sock.settimeout(None)
        return conn.sock, leftover

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Response({self.method} {self.url} -> {self.status})"


def _inflate(data: bytes) -> bytes:
    import zlib  # noqa: PLC0415

    try:
        return zlib.decompress(data)
    except zlib.error:
        return zlib.decompress(data, -zlib.MAX_WBITS)


# --------------------------------------------------------------------------- request bodies


def _body_plan(method: str, body: Any, content_length: int | None) -> tuple[bytes | None, Any, int | None]:
    """(small body to send with the head, or a source to stream, and its length: None = chunked)."""
    if body is None:
        return (b"" if method in ("POST", "PUT", "PATCH") else None), None, 0
    if isinstance(body, str):
        body = body.encode()
    if isinstance(body, bytes | bytearray | memoryview):
        data = bytes(body)
        return data, None, len(data)
    if content_length is None and hasattr(body, "read"):
        content_length = _remaining_size(body)
    return None, body, content_length


def _remaining_size(fh: Any) -> int | None:
    import os  # noqa: PLC0415
    import stat  # noqa: PLC0415

    try:
        st = os.fstat(fh.fileno())
        if stat.S_ISREG(st.st_mode):
            return max(0, st.st_size - fh.tell())
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _slices(source: Any) -> Iterator[bytes]:
    if hasattr(source, "read"):
        while True:
            data = source.read(SEND_SLICE)
            if not data:
                return
            yield data
    else:
        for data in source:
            if data:
                yield bytes(data)


# --------------------------------------------------------------------------- the transport


class Transport:
    """Connections to any number of origins with one TLS setup, one proxy rule and one deadline rule.

    `ssl_context`: for https origins (None: the system's defaults). `server_hostname`: the name to
    verify instead of the URL's host (--tls-server-name). `proxy`: url -> proxy URL or None.
    `proxy_ssl_context`: for https proxies (a context or a function making one; default: the system's).
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        server_hostname: str | None = None,
        proxy: Callable[[str], str | None] | None = None,
        proxy_ssl_context: Any = None,
        max_idle: int = MAX_IDLE_PER_ORIGIN,
    ) -> None:
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname or None
        self.proxy = proxy
        self._proxy_ssl_context = proxy_ssl_context
        self.max_idle = max_idle
        self._idle: dict[_Route, list[_Conn]] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_config(cls, config: Any, ssl_context: ssl.SSLContext | None = None, *, load_tls: bool = True
                   ) -> Transport:
        """The transport for a ClusterConfig: its TLS settings, --tls-server-name and proxy rule.

        With `load_tls=False` and no `ssl_context`, the caller sets `ssl_context` before the first
        https request (a credential plugin may have to run first).
        """
        if ssl_context is None and load_tls and getattr(config, "is_tls", False):
            ssl_context = config.ssl_context()
        return cls(ssl_context, server_hostname=getattr(config, "tls_server_name", "") or None,
                   proxy=config.proxy_for, proxy_ssl_context=lambda: _proxy_context_for(config))

    # ---- connections

    def close(self) -> None:
        """Close every idle connection (connections in use close when their answer is done)."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def _release(self, conn: _Conn, reusable: bool) -> None:
        if reusable and not conn.closed:
            with self._lock:
                pool = self._idle.setdefault(conn.route, [])
                if len(pool) < self.max_idle:
                    pool.append(conn)
                    return
        conn.close()

    def _route(self, url: str, upgrade: bool) -> tuple[_Route, str, str]:
        """(route, request target, Host header) for an absolute http(s) URL."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _Fail(f'unsupported protocol scheme "{parts.scheme}"')
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise _Fail(f'invalid port in URL "{url}"') from None
        if not host:
            raise _Fail("http: no Host in request URL")
        proxy = (self.proxy(url) if self.proxy else None) or ""
        tunnel = bool(proxy) and (scheme == "https" or upgrade) and not _is_socks(proxy)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if proxy and not tunnel and not _is_socks(proxy):
            target = url.split("#", 1)[0]  # absolute form through a plain http proxy
        default = 443 if scheme == "https" else 80
        bracketed = f"[{host}]" if ":" in host else host
        host_header = bracketed if port == default and parts.port is None else f"{bracketed}:{port}"
        return _Route(scheme, host, port, proxy, tunnel), target, host_header

    def _idle_conn(self, route: _Route) -> _Conn | None:
        while True:
            with self._lock:
                pool = self._idle.get(route)
                conn = pool.pop() if pool else None
            if conn is None:
                return None
            if conn.dropped():
                conn.close()
                continue
            conn.reused = True
            return conn

    def _open(self, route: _Route, clock: _Clock, ctx: Any = None) -> _Conn:
        """A new connection for `route`: dialed, through its proxy, TLS-wrapped."""
        if not route.proxy:
            sock = _dial_tcp(route.host, route.port, clock)
            conn = _Conn(sock, route)
        else:
            conn = self._through_proxy(route, clock)
        if route.scheme == "https":
            try:
                conn.sock = self._tls(conn.sock, route, clock, ctx)
            except BaseException:
                conn.close()
                raise
            conn._timeout = _UNSET
        return conn

    def _through_proxy(self, route: _Route, clock: _Clock) -> _Conn:
        from pyvirtctl.kube.proxy import split_proxy_url  # noqa: PLC0415

        try:
            pscheme, phost, pport, user, password = split_proxy_url(route.proxy)
        except ValueError as exc:
            raise ConfigError(f"invalid proxy URL {route.proxy!r}: {exc}") from None
        if pscheme == "socks5":
            return _Conn(_socks_dial(phost, pport, user, password, route.host, route.port, clock), route)
        sock = _dial_tcp(phost, pport, clock, proxied=True)
        if pscheme == "https":
            try:
                sock = self._tls_handshake(sock, self._proxy_context(), phost, clock, prefix="proxyconnect tcp: ")
            except BaseException:
                sock.close()
                raise
        conn = _Conn(sock, route)
        auth = ""
        if user or password:
            import base64  # noqa: PLC0415

            auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if not route.tunnel:
            conn.forward_auth = auth
            return conn
        try:
            _connect_tunnel(conn, _host_port(route.host, route.port), auth, clock)
        except BaseException:
            conn.close()
            raise
        if route.scheme == "https" and conn.buf:
            conn.close()
            raise _Fail("proxyconnect tcp: unexpected bytes after the proxy's CONNECT answer")
        return conn

    @property
    def proxy_ssl_context(self) -> Any:
        """The TLS context (or the function that makes it) for https proxies."""
        return self._proxy_ssl_context

    def _proxy_context(self) -> Any:
        ctx = self._proxy_ssl_context
        if callable(ctx):
            ctx = ctx()
            self._proxy_ssl_context = ctx
        if ctx is None:
            from pyvirtctl.kube.tls import client_context  # noqa: PLC0415

            ctx = self._proxy_ssl_context = client_context()
        return ctx

    def _tls(self, sock: Any, route: _Route, clock: _Clock, ctx: Any = None) -> Any:
        if ctx is None:
            ctx = self.ssl_context
            if ctx is None:
                from pyvirtctl.kube.tls import client_context  # noqa: PLC0415

                ctx = self.ssl_context = client_context()
        name = self.server_hostname or route.host
        try:
            return self._tls_handshake(sock, ctx, name, clock)
        except _Fail as f:
            if f.reason == "<verify>":
                raise _Fail(self._verify_text(f, route, name)) from None
            raise

    def _tls_handshake(self, sock: Any, ctx: Any, name: str, clock: _Clock, prefix: str = "") -> Any:
        import ssl  # noqa: PLC0415

        sock.settimeout(clock.left(TLS_HANDSHAKE_TIMEOUT))
        try:
            if isinstance(sock, ssl.SSLSocket) or not isinstance(sock, socket.socket):
                from pyvirtctl.kube.tls import TLSInTLS  # noqa: PLC0415

                tls: Any = TLSInTLS(sock, ctx, name)
                tls.do_handshake()
                return tls
            return ctx.wrap_socket(sock, server_hostname=_ascii(name))
        except ssl.SSLCertVerificationError as exc:
            if prefix:  # the proxy's own certificate
                from pyvirtctl.kube.tls import verify_error_text  # noqa: PLC0415

                text = verify_error_text(exc, name).split(";", 1)[0]
                raise _Fail(prefix + text) from None
            f = _Fail("<verify>")
            f.__cause__ = exc
            raise f from exc
        except ssl.SSLError as exc:
            from pyvirtctl.kube.tls import tls_error_text  # noqa: PLC0415

            raise _Fail(prefix + tls_error_text(exc)) from None
        except TimeoutError:
            if clock.limited_by_deadline(TLS_HANDSHAKE_TIMEOUT):
                raise _Fail(clock.text, timed_out=True) from None
            raise _Fail(prefix + "net/http: TLS handshake timeout", timed_out=True) from None
        except OSError as exc:
            raise _Fail(prefix + _os_text("read", exc)) from None

    def _verify_text(self, f: _Fail, route: _Route, name: str) -> str:
        from pyvirtctl.kube.tls import (
            certificate_names,
            is_name_mismatch,
            unverified_context,
            verify_error_text,
        )

        exc = f.__cause__ or f
        names: list[str] = []
        if is_name_mismatch(exc):
            try:
                conn = self._open(route, _Clock(5.0), unverified_context())
                try:
                    der = conn.sock.getpeercert(binary_form=True)
                finally:
                    conn.close()
                names = certificate_names(der) if der else []
            except Exception:
                names = []
        return verify_error_text(exc, name, names)

    # ---- requests

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: Any = None,
        content_length: int | None = None,
        timeout: float | None = None,
        stream: bool = False,
        read_timeout: float | None = None,
        decode: bool = True,
        progress: Callable[[int], None] | None = None,
        upgrade: bool = False,
    ) -> Response:
        """Send one request and return its answer (any status). Raises TransportFailure or ConfigError.

        `timeout`: the total deadline (None: none); with `stream=True` it ends with the answer's head
        and `read_timeout` bounds each later wait. `body`: bytes, str, a file object or an iterator of
        bytes; `progress(n)` is called as the body is sent. `upgrade=True` tunnels through http
        proxies (websockets) and returns a 101 answer whose socket `Response.detach()` hands over.
        """
        method = method.upper()
        headers = list(headers)
        clock = _Clock(timeout)
        try:
            route, target, host_header = self._route(url, upgrade)
            head_data, source, length = _body_plan(method, body, content_length)
            head = _request_head(method, target, host_header, headers, length if head_data is None else len(head_data),
                                 chunked=source is not None and length is None)
        except _Fail as f:
            raise self._failure(method, url, f) from None
        replayable = source is None
        expect = any(k.lower() == "expect" and v.strip().lower() == "100-continue" for k, v in headers)
        fresh = False
        while True:
            conn = None if fresh else self._idle_conn(route)
            try:
                if conn is None:
                    conn = self._open(route, clock)
                if conn.forward_auth:
                    head = _add_header(head, "Proxy-Authorization", conn.forward_auth)
                conn.received = 0
                version, status, reason, pairs = self._exchange(
                    conn, method, head, head_data, source, length, expect, progress, clock)
            except _Fail as f:
                if conn is not None:
                    conn.close()
                if conn is not None and conn.reused and f.nothing and not fresh and method in IDEMPOTENT and replayable:
                    fresh = True  # the server had closed the idle connection: once more on a new one
                    continue
                raise self._failure(method, url, f) from None
            except BaseException:
                if conn is not None:
                    conn.close()
                raise
            break
        if status == 101 and not upgrade:
            conn.close()
            raise self._failure(method, url, _Fail("net/http: unexpected 101 Switching Protocols answer"))
        return self._answer(conn, method, url, version, status, reason, pairs, clock, stream, read_timeout, decode)

    def _exchange(self, conn: _Conn, method: str, head: bytes, head_data: bytes | None, source: Any,
                  length: int | None, expect: bool, progress: Callable[[int], None] | None,
                  clock: _Clock) -> tuple[str, int, str, list[tuple[str, str]]]:
        if head_data is not None and len(head_data) <= 65536 and not expect:
            conn.send(head + head_data, clock)
            if progress and head_data:
                progress(len(head_data))
            return _read_head(conn, clock, method)
        conn.send(head, clock)
        wrong = ""
        if expect:
            early = self._await_continue(conn, method, clock)
            if early is not None:
                return early
        try:
            if head_data is not None:
                view = memoryview(head_data)
                for i in range(0, len(view), SEND_SLICE):
                    conn.send(view[i : i + SEND_SLICE], clock)
                    if progress:
                        progress(len(view[i : i + SEND_SLICE]))
            elif source is not None:
                sent = 0
                for data in _slices(source):
                    if length is not None and sent + len(data) > length:
                        sent += len(data)
                        break  # never more bytes than announced: that would be the next request's start
                    conn.send(b"%x\r\n%s\r\n" % (len(data), data) if length is None else data, clock)
                    sent += len(data)
                    if progress:
                        progress(len(data))
                if length is None:
                    conn.send(b"0\r\n\r\n", clock)
                elif sent != length:
                    conn.spent = True
                    wrong = f"http: ContentLength={length} with Body length {sent}"
        except _Fail as f:
            if f.timed_out:
                raise
            # the server may have answered (and closed) before taking the whole body: use its answer
            try:
                answer = _read_head(conn, _Clock(min(clock.left() or 2.0, 2.0)), method)
            except _Fail:
                raise f from None
            conn.spent = True
            return answer
        if wrong:
            raise _Fail(wrong)
        return _read_head(conn, clock, method)

    def _await_continue(self, conn: _Conn, method: str, clock: _Clock) -> tuple[str, int, str, list] | None:
        """Wait for `100 Continue` (None: send the body) or an early final answer (returned)."""
        wait = _Clock(EXPECT_CONTINUE_TIMEOUT)
        if clock.deadline is not None:
            wait.deadline = min(wait.deadline or clock.deadline, clock.deadline)
        try:
            answer = _read_head(conn, wait, method, stop_at_continue=True)
        except _Fail as f:
            if f.timed_out and not conn.received and (clock.deadline is None or clock.deadline > time.monotonic()):
                return None  # no word from the server: send the body anyway, as Go does
            raise
        if answer[1] == 100:
            return None
        conn.spent = True  # the body was not sent: the connection cannot carry another request
        return answer

    def _answer(self, conn: _Conn, method: str, url: str, version: str, status: int, reason: str,
                pairs: list[tuple[str, str]], clock: _Clock, stream: bool, read_timeout: float | None,
                decode: bool) -> Response:
        headers = Headers(pairs)
        try:
            mode, length, keep = _framing(method, version, status, headers)
        except _Fail as f:
            conn.close()
            raise self._failure(method, url, f) from None
        if conn.spent:
            keep = False
        if status == 101:
            mode, keep = "none", False
        body_clock = _Clock(None, read_timeout, READING_BODY) if stream else clock
        if not stream:
            clock.text = READING_BODY
        release = self._release if status != 101 else (lambda c, r: None)
        body = _Body(conn, mode, length, keep, body_clock, release)
        resp = Response(method, url, status, reason, version, headers, body, decode)
        if stream:
            return resp
        resp.stream_errors = False
        resp.body = resp.read()
        resp._body = None
        return resp

    def _failure(self, method: str, url: str, f: _Fail) -> TransportFailure:
        return TransportFailure(f'{go_method(method)} "{url}": {f.reason}', f.reason, timed_out=f.timed_out,
                                phase=f.phase, net_reason=f.net)

    # ---- conveniences

    def get(self, url: str, **kw: Any) -> Response:
        return self.request("GET", url, **kw)


def _is_socks(proxy: str) -> bool:
    return proxy.lower().startswith(("socks5://", "socks5h://"))


def _proxy_context_for(config: Any) -> ssl.SSLContext:
    """TLS to an https proxy: the system's roots plus the cluster's CA (Go uses the cluster's TLS
    settings for the proxy too); not verified when the cluster is not (--insecure-skip-tls-verify)."""
    from pyvirtctl.kube.tls import client_context  # noqa: PLC0415

    insecure = bool(getattr(config, "insecure", False))
    ctx = client_context(insecure=insecure)
    if not insecure and getattr(config, "has_ca", False):
        ca = config.ca_data or _read_bytes(config.ca_file)
        try:
            ctx.load_verify_locations(cadata=ca.decode("ascii", "replace"))
        except (OSError, ValueError):
            pass
    return ctx


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


# --------------------------------------------------------------------------- the wire format


def _request_head(method: str, target: str, host_header: str, headers: list[tuple[str, str]],
                  length: int | None, *, chunked: bool) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
    for key, value in headers:
        if not (key.isascii() and key.replace("-", "").isalnum()) and (not key or not all(c in _TOKEN for c in key)):
            raise _Fail(f"net/http: invalid header field name {_quote(key)}")
        if not value.isprintable() and any((c < " " and c != "\t") or c == "\x7f" for c in value):
            # the value is never printed: it may be a credential
            raise _Fail(f"net/http: invalid header field value for {_quote(key)}")
        lines.append(f"{key}: {value}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    elif length is not None and (length or method in ("POST", "PUT", "PATCH")):
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


def _add_header(head: bytes, key: str, value: str) -> bytes:
    marker = f"\r\n{key}: ".encode()
    if marker in head:
        return head
    return head[:-2] + f"{key}: {value}\r\n\r\n".encode("utf-8", "surrogateescape")


def _read_head(conn: _Conn, clock: _Clock, method: str, *, stop_at_continue: bool = False
               ) -> tuple[str, int, str, list[tuple[str, str]]]:
    """(version, status, reason, header pairs) of the final answer (1xx answers are skipped)."""
    interim = 0
    while True:
        budget = MAX_HEADER_BYTES
        line, eof = conn.readline(clock, budget)
        if eof and not line:
            if conn.received == 0:
                raise _Fail("EOF", nothing=True)
            raise _Fail(BROKEN + "unexpected EOF")
        text = line.rstrip(b"\r\n").decode("latin-1")
        version, sep, rest = text.partition(" ")
        if not sep:
            raise _Fail(BROKEN + f"malformed HTTP response {_quote(text)}")
        rest = rest.lstrip(" ")
        code, _, reason = rest.partition(" ")
        if len(code) != 3 or not code.isascii() or not code.isdigit():
            raise _Fail(BROKEN + f"malformed HTTP status code {_quote(code)}")
        if not _valid_version(version):
            raise _Fail(BROKEN + f"malformed HTTP version {_quote(version)}")
        status = int(code)
        pairs: list[tuple[str, str]] = []
        budget -= len(line)
        while True:
            hl, eof = conn.readline(clock, budget)
            budget -= len(hl)
            if budget < 0:
                raise _Fail(BROKEN + f"net/http: server response headers exceeded {MAX_HEADER_BYTES} bytes; aborted")
            if eof and not hl.endswith(b"\n"):
                if hl:
                    _parse_header(hl, pairs)
                raise _Fail(BROKEN + "unexpected EOF")
            if hl in (b"\r\n", b"\n"):
                break
            _parse_header(hl, pairs)
        if 100 <= status < 200 and status != 101:
            if stop_at_continue and status == 100:
                return version, status, reason, pairs
            interim += 1
            if interim > 5:
                raise _Fail(BROKEN + "net/http: too many 1xx informational responses")
            continue
        return version, status, reason, pairs


def _valid_version(version: str) -> bool:
    if version in ("HTTP/1.1", "HTTP/1.0"):
        return True
    if not version.startswith("HTTP/"):
        return False
    major, dot, minor = version[5:].partition(".")
    return bool(dot) and major.isdigit() and minor.isdigit() and major.isascii() and minor.isascii()


def _parse_header(raw: bytes, pairs: list[tuple[str, str]]) -> None:
    text = raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
    if text[:1] in (" ", "\t"):
        if not pairs:
            raise _Fail(BROKEN + f"malformed MIME header initial line: {_quote(text)}")
        k, v = pairs[-1]
        pairs[-1] = (k, (v + " " + text.strip(" \t")).strip())
        return
    key, colon, value = text.partition(":")
    if not colon:
        raise _Fail(BROKEN + f"malformed MIME header: missing colon: {_quote(text)}")
    if not key or not all(c in _TOKEN for c in key):
        raise _Fail(BROKEN + f"malformed MIME header line: {_quote(text)}")
    pairs.append((key, value.strip(" \t")))


def _framing(method: str, version: str, status: int, headers: Headers) -> tuple[str, int, bool]:
    """(body mode, length, keep the connection) for an answer, by Go's transfer rules."""
    tokens = {t.strip().lower() for t in (headers.get("Connection") or "").split(",")}
    if version == "HTTP/1.0":
        keep = "keep-alive" in tokens
    else:
        keep = "close" not in tokens and version == "HTTP/1.1"
    if not 100 <= status <= 599:
        keep = False
    if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return "none", 0, keep
    te = headers.get_all("Transfer-Encoding") if version != "HTTP/1.0" else []
    if te:
        if len(te) > 1:
            raise _Fail(BROKEN + f"too many transfer encodings: [{' '.join(_quote(v) for v in te)}]")
        if te[0].strip().lower() != "chunked":
            raise _Fail(BROKEN + f"unsupported transfer encoding: {_quote(te[0])}")
        return "chunked", 0, keep
    lengths = headers.get_all("Content-Length")
    if lengths:
        first = lengths[0].strip(" \t")
        if any(v.strip(" \t") != first for v in lengths[1:]):
            listed = " ".join(_quote(v) for v in lengths)
            raise _Fail(BROKEN + f"http: message cannot contain multiple Content-Length headers; got [{listed}]")
        if not first or not first.isascii() or not first.isdigit() or len(first) > 18:
            raise _Fail(BROKEN + f"bad Content-Length {_quote(first)}")
        return "length", int(first), keep
    return "close", 0, False


def _connect_tunnel(conn: _Conn, target: str, auth: str, clock: _Clock) -> None:
    """CONNECT through an http(s) proxy; Go's words when the proxy says no."""
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if auth:
        lines.append(f"Proxy-Authorization: {auth}")
    conn.send(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape"), clock)
    try:
        _, status, reason, _ = _read_head(conn, clock, "CONNECT")
    except _Fail as f:
        if f.reason in ("EOF", BROKEN + "unexpected EOF"):
            raise _Fail("unexpected EOF") from None
        raise
    conn.received = 0
    if status != 200:
        raise _Fail(reason.strip() or "unknown status code")


# --------------------------------------------------------------------------- dialing


def _addresses(host: str, port: int, proxied: bool) -> list[tuple[Any, ...]]:
    prefix = "proxyconnect tcp: " if proxied else ""
    try:
        return socket.getaddrinfo(_ascii(host), port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _Fail(f"{prefix}dial tcp: lookup {host}: no such host", phase="dial") from None


def _dial_tcp(host: str, port: int, clock: _Clock, *, proxied: bool = False) -> socket.socket:
    """Connect to host:port trying each address in turn; errors name the first address, as Go does."""
    prefix = "proxyconnect tcp: " if proxied else ""
    dial_deadline = time.monotonic() + DIAL_TIMEOUT
    first: _Fail | None = None
    for family, kind, proto, _, addr in _addresses(host, port, proxied):
        where = _host_port(str(addr[0]), int(addr[1]))
        sock = socket.socket(family, kind, proto)
        try:
            cap = max(0.001, dial_deadline - time.monotonic())
            try:
                sock.settimeout(clock.left(cap))
            except _Fail:
                sock.close()
                raise _Fail(f"{prefix}dial tcp {where}: i/o timeout (Client.Timeout exceeded while awaiting headers)",
                            timed_out=True, phase="dial") from None
            sock.connect(addr)
        except TimeoutError:
            sock.close()
            suffix = " (Client.Timeout exceeded while awaiting headers)" if clock.deadline is not None else ""
            fail = _Fail(f"{prefix}dial tcp {where}: i/o timeout{suffix}", timed_out=True, phase="dial")
            first = first or fail
            if time.monotonic() >= dial_deadline or clock.deadline is not None and clock.deadline <= time.monotonic():
                break
            continue
        except OSError as exc:
            sock.close()
            first = first or _Fail(f"{prefix}dial tcp {where}: {_os_text('connect', exc)}", phase="dial")
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise first or _Fail(f"{prefix}dial tcp: lookup {host}: no such host", phase="dial")


_SOCKS_REPLIES = {
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


def _socks_dial(phost: str, pport: int, user: str, password: str, host: str, port: int,
                clock: _Clock) -> socket.socket:
    """A connection to host:port through a SOCKS5 proxy (python-socks), the proxy resolving the name."""
    try:
        from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
        from python_socks.sync import Proxy
    except ImportError:
        raise ConfigError("a socks5 proxy needs the python-socks package (pip install 'pyvirtctl[socks]')") from None
    infos = _addresses(phost, pport, True)
    where = _host_port(str(infos[0][4][0]), pport)
    proxy = Proxy(proxy_type=ProxyType.SOCKS5, host=phost, port=pport, username=user or None,
                  password=password if user else None, rdns=True)
    try:
        sock = proxy.connect(dest_host=host, dest_port=port, timeout=clock.left(DIAL_TIMEOUT))
    except _Fail:
        raise
    except ProxyTimeoutError:
        suffix = " (Client.Timeout exceeded while awaiting headers)" if clock.deadline is not None else ""
        raise _Fail(f"socks connect tcp {where}->{_host_port(host, port)}: i/o timeout{suffix}",
                    timed_out=True, phase="dial") from None
    except ProxyConnectionError as exc:
        inner = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        if isinstance(inner, TimeoutError):
            raise _Fail(f"proxyconnect tcp: dial tcp {where}: i/o timeout", timed_out=True, phase="dial") from None
        raise _Fail(f"proxyconnect tcp: dial tcp {where}: {_os_text('connect', inner)}", phase="dial") from None
    except ProxyError as exc:
        code = getattr(exc, "error_code", None)
        if code in _SOCKS_REPLIES:
            why = "unknown error " + _SOCKS_REPLIES[code]
        elif "auth" in str(exc).lower():
            why = "username/password authentication failed"
        else:
            why = str(exc) or "unexpected EOF"
        raise _Fail(f"socks connect tcp {where}->{_host_port(host, port)}: {why}", phase="dial") from None
    except OSError as exc:
        raise _Fail(f"socks connect tcp {where}->{_host_port(host, port)}: {_os_text('read', exc)}",
                    phase="dial") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
