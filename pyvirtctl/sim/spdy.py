"""SPDY/3.1 framing for the simulator's `pods/portforward` (the server side of client-go's port-forward).

client-go forwards a pod port over SPDY/3.1, either on an upgraded HTTP connection or - since
Kubernetes 1.31, and what virtctl v1.9.0 and kubectl try first - tunnelled inside a websocket whose
binary messages carry the SPDY byte stream (subprotocol `SPDY/3.1+portforward.k8s.io`; message
boundaries mean nothing). Only what moby/spdystream (client-go's SPDY library) uses is implemented:
SYN_STREAM, SYN_REPLY, DATA, RST_STREAM, PING, GOAWAY, and SETTINGS / WINDOW_UPDATE /
HEADERS read and ignored (spdystream does no flow control).

Frame layouts (big endian)::

    control: 1 | version(15)=3 | type(16) | flags(8) | length(24) | payload
    data:    0 | stream id(31)            | flags(8) | length(24) | payload

Header blocks (SYN_STREAM after 10 bytes of ids/priority, SYN_REPLY after 4) are a count and
length-prefixed name/value pairs, compressed with one zlib stream per direction and per
connection, primed with the SPDY/3 dictionary and flushed (Z_SYNC_FLUSH) after each block.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_INVALID_STREAM, RST_CANCEL = 1, 2, 5

# The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1): these words, each preceded by
# its length as 4 bytes, then the run of common values that closes it.
_DICT_WORDS = (
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
    "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
    "content-base", "content-encoding", "content-language", "content-length", "content-location",
    "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
    "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
    "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
    "warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
    "public", "set-cookie", "keep-alive", "origin",
)
_DICT_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _DICT_WORDS) + _DICT_TAIL.encode()


class ProtocolError(Exception):
    pass


@dataclass
class Frame:
    control: bool
    kind: int  # control frame type, or 0 for data
    flags: int
    stream_id: int = 0
    payload: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0  # RST_STREAM / GOAWAY status, PING id

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class Codec:
    """One connection's framing state: the inbound byte buffer and both header zlib streams."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)

    # ---- reading

    def feed(self, data: bytes) -> list[Frame]:
        """Append bytes from the peer; return every complete frame now buffered."""
        self._buf += data
        out: list[Frame] = []
        while len(self._buf) >= 8:
            length = int.from_bytes(self._buf[5:8], "big")
            if len(self._buf) < 8 + length:
                break
            head = bytes(self._buf[:8])
            payload = bytes(self._buf[8 : 8 + length])
            del self._buf[: 8 + length]
            out.append(self._parse(head, payload))
        return out

    def _parse(self, head: bytes, payload: bytes) -> Frame:
        first, flags = int.from_bytes(head[:4], "big"), head[4]
        if not first & 0x80000000:
            return Frame(False, 0, flags, first & 0x7FFFFFFF, payload)
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version}")
        f = Frame(True, kind, flags)
        if kind == SYN_STREAM:
            if len(payload) < 10:
                raise ProtocolError("short SYN_STREAM")
            f.stream_id = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            f.headers = self._headers(payload[10:])
        elif kind in (SYN_REPLY, HEADERS):
            f.stream_id = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            f.headers = self._headers(payload[4:])
        elif kind == RST_STREAM:
            f.stream_id = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            f.status = int.from_bytes(payload[4:8], "big")
        elif kind == PING:
            f.status = int.from_bytes(payload[:4], "big")
        elif kind == GOAWAY:
            f.stream_id = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            f.status = int.from_bytes(payload[4:8], "big")
        f.payload = payload
        return f

    def _headers(self, block: bytes) -> dict[str, str]:
        try:
            raw = self._inflate.decompress(block)
        except zlib.error as e:
            raise ProtocolError(f"header block: {e}") from None
        count = int.from_bytes(raw[:4], "big")
        pos, out = 4, {}
        for _ in range(count):
            n = int.from_bytes(raw[pos : pos + 4], "big")
            name = raw[pos + 4 : pos + 4 + n].decode("latin-1")
            pos += 4 + n
            m = int.from_bytes(raw[pos : pos + 4], "big")
            value = raw[pos + 4 : pos + 4 + m].decode("latin-1")
            pos += 4 + m
            out[name.lower()] = value.split("\x00")[0]
        return out

    # ---- writing

    def _block(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers))
        for k, v in headers.items():
            kb, vb = k.lower().encode(), v.encode()
            raw += struct.pack(">I", len(kb)) + kb + struct.pack(">I", len(vb)) + vb
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def _control(kind: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload

    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None, fin: bool = False) -> bytes:
        return self._control(SYN_REPLY, FLAG_FIN if fin else 0,
                             struct.pack(">I", stream_id) + self._block(headers or {}))

    def syn_stream(self, stream_id: int, headers: dict[str, str], fin: bool = False) -> bytes:
        return self._control(SYN_STREAM, FLAG_FIN if fin else 0,
                             struct.pack(">IIBB", stream_id, 0, 0, 0) + self._block(headers))

    @staticmethod
    def data(stream_id: int, payload: bytes = b"", fin: bool = False) -> bytes:
        return struct.pack(">II", stream_id, ((FLAG_FIN if fin else 0) << 24) | len(payload)) + payload

    def rst(self, stream_id: int, status: int = RST_CANCEL) -> bytes:
        return self._control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        return self._control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_stream: int = 0, status: int = 0) -> bytes:
        return self._control(GOAWAY, 0, struct.pack(">II", last_stream, status))
