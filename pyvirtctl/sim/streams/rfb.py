"""An RFB (VNC) server as a pure state machine: bytes from the viewer in, bytes to send out.

What it speaks (RFC 6143):

* version handshake: offers ``RFB 003.008``; accepts 3.3, 3.7 and 3.8 viewers;
* security type None (1) only, with SecurityResult OK in 3.8;
* ClientInit / ServerInit: the display's size, 32 bpp true colour (depth 24, little endian,
  red/green/blue shifts 16/8/0) and a desktop name like QEMU's ``QEMU (<ns>_<name>)``;
* client messages SetPixelFormat (any true-colour format with 8, 16 or 32 bpp, and a
  colour-map mode backed by a fixed 256-entry palette), SetEncodings (recorded; only Raw is
  ever sent, which every viewer must accept), FramebufferUpdateRequest, KeyEvent,
  PointerEvent and ClientCutText.

Incremental update requests are answered only when the picture changed (like real servers),
so a viewer does not spin; they stay pending until input changes the display.
A protocol violation raises :class:`RFBError`; the caller then drops the connection.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass

from .display import Display

ENCODING_RAW = 0


class RFBError(Exception):
    """The viewer sent something this server cannot continue from."""


@dataclass(frozen=True)
class PixelFormat:
    bpp: int = 32
    depth: int = 24
    big_endian: bool = False
    true_colour: bool = True
    red_max: int = 255
    green_max: int = 255
    blue_max: int = 255
    red_shift: int = 16
    green_shift: int = 8
    blue_shift: int = 0

    def pack(self) -> bytes:
        return struct.pack(
            ">BBBBHHHBBBxxx",
            self.bpp,
            self.depth,
            int(self.big_endian),
            int(self.true_colour),
            self.red_max,
            self.green_max,
            self.blue_max,
            self.red_shift,
            self.green_shift,
            self.blue_shift,
        )

    @classmethod
    def unpack(cls, data: bytes) -> PixelFormat:
        bpp, depth, be, tc, rm, gm, bm, rs, gs, bs = struct.unpack(">BBBBHHHBBBxxx", data)
        return cls(bpp, depth, bool(be), bool(tc), rm, gm, bm, rs, gs, bs)


NATIVE = PixelFormat()


def _palette_index(r: int, g: int, b: int) -> int:
    """Index into the fixed colour map: 3 bits red, 3 bits green, 2 bits blue."""
    return (r >> 5) << 5 | (g >> 5) << 2 | (b >> 6)


def palette_entries() -> bytes:
    """SetColourMapEntries message for the fixed 256-colour palette."""
    out = bytearray(struct.pack(">BxHH", 1, 0, 256))
    for i in range(256):
        r, g, b = (i >> 5) & 7, (i >> 2) & 7, i & 3
        out += struct.pack(">HHH", r * 65535 // 7, g * 65535 // 7, b * 65535 // 3)
    return bytes(out)


def convert(pixels: bytes, fmt: PixelFormat) -> bytes:
    """Convert canonical (B, G, R, 0) pixels into the viewer's pixel format."""
    if fmt == NATIVE:
        return pixels
    byte_aligned = (
        fmt.true_colour
        and fmt.bpp == 32
        and (fmt.red_max, fmt.green_max, fmt.blue_max) == (255, 255, 255)
        and all(s % 8 == 0 and s <= 24 for s in (fmt.red_shift, fmt.green_shift, fmt.blue_shift))
    )
    if byte_aligned:
        out = bytearray(len(pixels))
        for src, shift in ((2, fmt.red_shift), (1, fmt.green_shift), (0, fmt.blue_shift)):
            pos = 3 - shift // 8 if fmt.big_endian else shift // 8
            out[pos::4] = pixels[src::4]
        return bytes(out)
    words = array("I")
    words.frombytes(pixels)
    if sys.byteorder == "big":
        words.byteswap()
    size = fmt.bpp // 8
    order = "big" if fmt.big_endian else "little"
    cache: dict[int, bytes] = {}
    parts = []
    for word in words:
        packed = cache.get(word)
        if packed is None:
            r, g, b = (word >> 16) & 255, (word >> 8) & 255, word & 255
            if fmt.true_colour:
                value = (
                    (r * fmt.red_max // 255) << fmt.red_shift
                    | (g * fmt.green_max // 255) << fmt.green_shift
                    | (b * fmt.blue_max // 255) << fmt.blue_shift
                )
            else:
                value = _palette_index(r, g, b)
            packed = (value & ((1 << fmt.bpp) - 1)).to_bytes(size, order)
            cache[word] = packed
        parts.append(packed)
    return b"".join(parts)


class RFBServer:
    """One viewer's RFB session over a :class:`Display`."""

    def __init__(self, display: Display, desktop_name: str) -> None:
        self.display = display
        self.desktop_name = desktop_name
        self.state = "version"
        self.minor = 8
        self.pixel_format = NATIVE
        self.encodings: list[int] = []
        self.shared = False
        self.cut_text = b""
        self._buf = bytearray()
        self._sent_serial = display.serial
        self._pending: tuple[int, int, int, int] | None = None

    def start(self) -> bytes:
        """The server's greeting, sent as soon as the connection is up."""
        return b"RFB 003.008\n"

    # -- input -----------------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Consume bytes from the viewer; return the bytes to send back (possibly empty)."""
        self._buf += data
        out = bytearray()
        while True:
            step = getattr(self, "_state_" + self.state)(out)
            if not step:
                break
        return bytes(out)

    def _take(self, n: int) -> bytes | None:
        if len(self._buf) < n:
            return None
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        return chunk

    def _state_version(self, out: bytearray) -> bool:
        line = self._take(12)
        if line is None:
            return False
        if not (line.startswith(b"RFB ") and line[7:8] == b"." and line.endswith(b"\n")):
            raise RFBError(f"not an RFB protocol version: {line!r}")
        try:
            major, minor = int(line[4:7]), int(line[8:11])
        except ValueError as err:
            raise RFBError(f"bad RFB protocol version: {line!r}") from err
        if major != 3:
            raise RFBError(f"unsupported RFB major version {major}")
        self.minor = 8 if minor >= 8 else 7 if minor == 7 else 3
        if self.minor == 3:
            out += struct.pack(">I", 1)  # the server decides: None
            self.state = "clientinit"
        else:
            out += b"\x01\x01"  # one security type: None
            self.state = "security"
        return True

    def _state_security(self, out: bytearray) -> bool:
        choice = self._take(1)
        if choice is None:
            return False
        if choice != b"\x01":
            if self.minor == 8:
                reason = b"security type not offered"
                out += struct.pack(">II", 1, len(reason)) + reason
            raise RFBError(f"viewer chose security type {choice[0]}")
        if self.minor == 8:
            out += struct.pack(">I", 0)
        self.state = "clientinit"
        return True

    def _state_clientinit(self, out: bytearray) -> bool:
        flag = self._take(1)
        if flag is None:
            return False
        self.shared = flag != b"\x00"
        name = self.desktop_name.encode()
        out += struct.pack(">HH", self.display.width, self.display.height)
        out += self.pixel_format.pack() + struct.pack(">I", len(name)) + name
        self.state = "normal"
        return True

    def _state_normal(self, out: bytearray) -> bool:
        if not self._buf:
            return False
        kind = self._buf[0]
        if kind == 0:  # SetPixelFormat
            msg = self._take(20)
            if msg is None:
                return False
            fmt = PixelFormat.unpack(msg[4:20])
            if fmt.bpp not in (8, 16, 32):
                raise RFBError(f"unsupported bits-per-pixel {fmt.bpp}")
            self.pixel_format = fmt
            if not fmt.true_colour:
                out += palette_entries()
        elif kind == 2:  # SetEncodings
            if len(self._buf) < 4:
                return False
            (count,) = struct.unpack(">H", self._buf[2:4])
            msg = self._take(4 + 4 * count)
            if msg is None:
                return False
            self.encodings = list(struct.unpack(f">{count}i", msg[4:]))
        elif kind == 3:  # FramebufferUpdateRequest
            msg = self._take(10)
            if msg is None:
                return False
            incremental, x, y, w, h = struct.unpack(">xBHHHH", msg)
            self._request(out, bool(incremental), x, y, w, h)
        elif kind == 4:  # KeyEvent
            msg = self._take(8)
            if msg is None:
                return False
            down, keysym = struct.unpack(">xBxxI", msg)
            self.display.key(keysym, bool(down))
            self._flush_pending(out)
        elif kind == 5:  # PointerEvent
            msg = self._take(6)
            if msg is None:
                return False
            buttons, x, y = struct.unpack(">xBHH", msg)
            self.display.pointer_event(buttons, x, y)
            self._flush_pending(out)
        elif kind == 6:  # ClientCutText
            if len(self._buf) < 8:
                return False
            (length,) = struct.unpack(">i", self._buf[4:8])
            if length < 0:
                raise RFBError("extended clipboard was not offered")
            msg = self._take(8 + length)
            if msg is None:
                return False
            self.cut_text = msg[8:]
        else:
            raise RFBError(f"unknown client message type {kind}")
        return True

    # -- updates ---------------------------------------------------------------------------------

    def _clip(self, x: int, y: int, w: int, h: int) -> tuple[int, int, int, int] | None:
        x1 = min(x + w, self.display.width)
        y1 = min(y + h, self.display.height)
        if x >= x1 or y >= y1:
            return None
        return (x, y, x1 - x, y1 - y)

    def _request(self, out: bytearray, incremental: bool, x: int, y: int, w: int, h: int) -> None:
        area = self._clip(x, y, w, h)
        if not incremental:
            self._pending = None
            out += self.update([area] if area else [])
            return
        self._pending = area
        self._flush_pending(out)

    def _flush_pending(self, out: bytearray) -> None:
        if self._pending is None:
            return
        damage = self.display.damage_since(self._sent_serial)
        if damage is None:
            return
        px, py, pw, ph = self._pending
        dx, dy, dw, dh = damage
        x0, y0 = max(px, dx), max(py, dy)
        x1, y1 = min(px + pw, dx + dw), min(py + ph, dy + dh)
        if x1 <= x0 or y1 <= y0:
            self._sent_serial = self.display.serial
            return
        self._pending = None
        out += self.update([(x0, y0, x1 - x0, y1 - y0)])

    def update(self, rects: list[tuple[int, int, int, int]]) -> bytes:
        """A FramebufferUpdate message with the given rectangles in Raw encoding."""
        self._sent_serial = self.display.serial
        parts = [struct.pack(">BxH", 0, len(rects))]
        for x, y, w, h in rects:
            parts.append(struct.pack(">HHHHi", x, y, w, h, ENCODING_RAW))
            parts.append(convert(self.display.region(x, y, w, h), self.pixel_format))
        return b"".join(parts)
