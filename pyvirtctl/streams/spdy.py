"""A SPDY/3.1 client session: what client-go's port-forward speaks to kube-apiserver (and kubelet).

`pods/portforward` multiplexes forwarded connections as SPDY streams. Since Kubernetes 1.31 the
SPDY bytes travel inside a websocket (subprotocol `SPDY/3.1+portforward.k8s.io`, binary messages,
boundaries meaningless); that is what virtctl v1.9.0 dials and what `Session` runs over (any
object with `send(bytes)` and `recv() -> bytes | None` will do).

Only what moby/spdystream - client-go's SPDY library, on both ends - uses is implemented: SYN_STREAM
(client streams have odd ids), SYN_REPLY, DATA (FIN = half close), RST_STREAM, PING (answered),
GOAWAY; SETTINGS, HEADERS and WINDOW_UPDATE are read and ignored (spdystream keeps no flow-control
windows). Header blocks are compressed with one zlib stream per direction, primed with the SPDY/3
dictionary and flushed after each block.

Frames, big endian::

    control: 1 | version(15)=3 | type(16) | flags(8) | length(24) | payload
    data:    0 | stream id(31)            | flags(8) | length(24) | payload
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Callable
from typing import Any

from pyvirtctl.errors import CLIError

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, PING, GOAWAY = 1, 2, 3, 6, 7
FIN = 0x01
CANCEL = 5
REPLY_TIMEOUT = 30.0  # client-go's createStreamResponseTimeout

# The SPDY/3 header dictionary (draft 3, 2.6.10.1): these words, each after its length as 4 bytes,
# then a run of common values.
_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
    "age allow authorization cache-control connection content-base content-encoding content-language "
    "content-length content-location content-md5 content-range content-type date etag expect expires from "
    "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
    "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status"
).split() + ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
_VALUES = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _VALUES.encode()


class SpdyError(CLIError):
    pass


def encode_headers(deflater: Any, headers: dict[str, str]) -> bytes:
    raw = bytearray(struct.pack(">I", len(headers)))
    for name, value in headers.items():
        k, v = name.lower().encode(), value.encode()
        raw += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
    return deflater.compress(bytes(raw)) + deflater.flush(zlib.Z_SYNC_FLUSH)


def decode_headers(inflater: Any, block: bytes) -> dict[str, str]:
    raw = inflater.decompress(block)
    count = int.from_bytes(raw[:4], "big")
    pos, out = 4, {}
    for _ in range(count):
        n = int.from_bytes(raw[pos : pos + 4], "big")
        name = raw[pos + 4 : pos + 4 + n].decode("latin-1")
        pos += 4 + n
        m = int.from_bytes(raw[pos : pos + 4], "big")
        out[name] = raw[pos + 4 : pos + 4 + m].decode("latin-1")
        pos += 4 + m
    return out


def control_frame(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, data: bytes, fin: bool = False) -> bytes:
    return struct.pack(">II", stream_id & 0x7FFFFFFF, ((FIN if fin else 0) << 24) | len(data)) + data


class Stream:
    """One SPDY stream. `on_data(bytes)` receives its data (b"" once the server half-closed it)."""

    def __init__(self, session: Session, stream_id: int, on_data: Callable[[bytes], None]) -> None:
        self.session = session
        self.id = stream_id
        self.on_data = on_data
        self.replied = threading.Event()
        self.remote_closed = threading.Event()
        self.local_closed = False

    def write(self, data: bytes) -> None:
        if data:
            self.session.send(data_frame(self.id, data))

    def close(self) -> None:
        """Half-close: FIN (no more data from this side)."""
        if not self.local_closed:
            self.local_closed = True
            self.session.send(data_frame(self.id, b"", fin=True))

    def reset(self) -> None:
        self.local_closed = True
        self.session.send(control_frame(RST_STREAM, 0, struct.pack(">II", self.id, CANCEL)))
        self.session.forget(self)


class Session:
    """A client SPDY session over `conn`; `run()` (a thread) reads and dispatches the server's frames."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._wlock = threading.Lock()
        self._lock = threading.Lock()
        self._next = 1
        self._streams: dict[int, Stream] = {}
        self.closed = threading.Event()
        self.error: str = ""

    # ---- writing

    def send(self, frame: bytes) -> None:
        if self.closed.is_set():
            raise SpdyError("use of closed network connection")
        with self._wlock:
            self.conn.send(frame)

    def create_stream(self, headers: dict[str, str], on_data: Callable[[bytes], None],
                      timeout: float = REPLY_TIMEOUT) -> Stream:
        """Open a stream and wait for the server's SYN_REPLY."""
        with self._lock:
            sid = self._next
            self._next += 2
            stream = Stream(self, sid, on_data)
            self._streams[sid] = stream
            # the header compressor is stateful: compress and send in the order of the stream ids
            with self._wlock:
                block = encode_headers(self._deflate, headers)
                frame = control_frame(SYN_STREAM, 0, struct.pack(">IIBB", sid, 0, 0, 0) + block)
                if self.closed.is_set():
                    raise SpdyError("use of closed network connection")
                self.conn.send(frame)
        if not stream.replied.wait(timeout):
            raise SpdyError("timeout waiting for SYN_REPLY")
        if self.closed.is_set() and not stream.replied.is_set():
            raise SpdyError(self.error or "connection closed")
        return stream

    def forget(self, stream: Stream) -> None:
        with self._lock:
            self._streams.pop(stream.id, None)

    def close(self) -> None:
        if not self.closed.is_set():
            try:
                self.send(control_frame(GOAWAY, 0, struct.pack(">II", 0, 0)))
            except Exception:
                pass
        self._shut("")

    def _shut(self, why: str) -> None:
        if self.closed.is_set():
            return
        self.error = self.error or why
        self.closed.set()
        with self._lock:
            streams = list(self._streams.values())
            self._streams.clear()
        for s in streams:
            s.replied.set()
            if not s.remote_closed.is_set():
                s.remote_closed.set()
                _call(s.on_data, b"")
        try:
            self.conn.close()
        except Exception:
            pass

    # ---- reading

    def run(self) -> None:
        buf = bytearray()
        try:
            while not self.closed.is_set():
                msg = self.conn.recv()
                if msg is None:
                    break
                buf += msg
                while len(buf) >= 8:
                    length = int.from_bytes(buf[5:8], "big")
                    if len(buf) < 8 + length:
                        break
                    head, payload = bytes(buf[:8]), bytes(buf[8 : 8 + length])
                    del buf[: 8 + length]
                    self._dispatch(head, payload)
        except CLIError as e:
            self._shut(str(e))
            return
        except (OSError, zlib.error, ValueError) as e:
            self._shut(str(e))
            return
        self._shut("connection closed")

    def _dispatch(self, head: bytes, payload: bytes) -> None:
        first, flags = int.from_bytes(head[:4], "big"), head[4]
        if not first & 0x80000000:
            stream = self._streams.get(first & 0x7FFFFFFF)
            if stream is None:
                return
            if payload:
                _call(stream.on_data, payload)
            if flags & FIN:
                self._remote_fin(stream)
            return
        kind = first & 0xFFFF
        if kind == SYN_REPLY:
            sid = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            decode_headers(self._inflate, payload[4:])  # keeps the decompressor in step
            stream = self._streams.get(sid)
            if stream is not None:
                stream.replied.set()
                if flags & FIN:
                    self._remote_fin(stream)
        elif kind == SYN_STREAM:
            decode_headers(self._inflate, payload[10:])
            sid = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            self.send(control_frame(RST_STREAM, 0, struct.pack(">II", sid, 3)))  # REFUSED_STREAM
        elif kind == 8:  # HEADERS: only the decompressor's state matters
            decode_headers(self._inflate, payload[4:])
        elif kind == RST_STREAM:
            sid = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            stream = self._streams.get(sid)
            if stream is not None:
                stream.replied.set()
                self._remote_fin(stream)
                self.forget(stream)
        elif kind == PING:
            if int.from_bytes(payload[:4], "big") % 2 == 0:  # the server's ping: answer it
                self.send(control_frame(PING, 0, payload[:4]))
        elif kind == GOAWAY:
            self._shut("connection closed by the server (GOAWAY)")

    def _remote_fin(self, stream: Stream) -> None:
        if not stream.remote_closed.is_set():
            stream.remote_closed.set()
            _call(stream.on_data, b"")


def _call(fn: Callable[[bytes], None], data: bytes) -> None:
    try:
        fn(data)
    except Exception:
        pass
