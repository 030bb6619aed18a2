"""The simulated graphics card of a VMI: a 720x400 framebuffer with a test pattern.

The framebuffer is kept in one canonical layout, 4 bytes per pixel in the order B, G, R, 0
(a little-endian 32-bit ``0x00RRGGBB``), which is also the pixel format the RFB server
announces in ServerInit, so the common case needs no conversion at all.

The picture shows colour bars, the VMI name in large letters, the namespace and node, and
two status lines that change with VNC input (typed keys, pointer position) so a viewer
sees its own input echoed. Every change is recorded as a damaged rectangle with a serial
number so an RFB session can answer incremental update requests with just what changed.
``png()`` encodes the picture without any imaging library (zlib + struct).
"""

from __future__ import annotations

import struct
import zlib

from .font import GLYPH_HEIGHT, GLYPH_WIDTH, glyph_rows

WIDTH = 720
HEIGHT = 400

Rect = tuple[int, int, int, int]  # x, y, w, h

BACKGROUND = (0x1C, 0x22, 0x30)
FOREGROUND = (0xF0, 0xF0, 0xF0)
ACCENT = (0x7F, 0xD0, 0xFF)
BARS = [
    (0xC0, 0xC0, 0xC0),
    (0xC0, 0xC0, 0x00),
    (0x00, 0xC0, 0xC0),
    (0x00, 0xC0, 0x00),
    (0xC0, 0x00, 0xC0),
    (0xC0, 0x00, 0x00),
    (0x00, 0x00, 0xC0),
    (0x10, 0x10, 0x10),
]

_BAR_HEIGHT = 110
_KEYS_Y = 316
_POINTER_Y = 352
_STATUS_SCALE = 2
_MAX_DAMAGE = 64


def _pixel(rgb: tuple[int, int, int]) -> bytes:
    r, g, b = rgb
    return bytes((b, g, r, 0))


class Display:
    """One VMI's screen. Mutated by VNC input, read by RFB sessions and screenshots."""

    def __init__(self, title: str, subtitle: str = "", width: int = WIDTH, height: int = HEIGHT) -> None:
        self.width = width
        self.height = height
        self.fb = bytearray(_pixel(BACKGROUND) * (width * height))
        self.serial = 0
        self._damage: list[tuple[int, Rect]] = []
        self.typed = ""
        self.pointer = (0, 0, 0)
        self._draw_static(title, subtitle)
        self._draw_keys()
        self._draw_pointer()

    # -- drawing primitives -------------------------------------------------------------------

    def fill_rect(self, x: int, y: int, w: int, h: int, rgb: tuple[int, int, int]) -> None:
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + w), min(self.height, y + h)
        if x1 <= x0 or y1 <= y0:
            return
        row = _pixel(rgb) * (x1 - x0)
        stride = self.width * 4
        for yy in range(y0, y1):
            start = yy * stride + x0 * 4
            self.fb[start : start + len(row)] = row

    def draw_text(self, x: int, y: int, text: str, rgb: tuple[int, int, int], scale: int = 1) -> None:
        for i, ch in enumerate(text):
            gx = x + i * GLYPH_WIDTH * scale
            for ry, bits in enumerate(glyph_rows(ch)):
                if not bits:
                    continue
                for rx in range(GLYPH_WIDTH):
                    if bits & (0x80 >> rx):
                        self.fill_rect(gx + rx * scale, y + ry * scale, scale, scale, rgb)

    def text_width(self, text: str, scale: int) -> int:
        return len(text) * GLYPH_WIDTH * scale

    def centered_text(self, y: int, text: str, rgb: tuple[int, int, int], max_scale: int) -> int:
        """Draw ``text`` centred at ``y`` with the biggest scale that fits; return its height."""
        scale = max_scale
        while scale > 1 and self.text_width(text, scale) > self.width - 20:
            scale -= 1
        text = text[: (self.width - 4) // (GLYPH_WIDTH * scale)]
        self.draw_text((self.width - self.text_width(text, scale)) // 2, y, text, rgb, scale)
        return GLYPH_HEIGHT * scale

    # -- the picture -----------------------------------------------------------------------------

    def _draw_static(self, title: str, subtitle: str) -> None:
        bar_w = self.width // len(BARS)
        for i, rgb in enumerate(BARS):
            w = bar_w if i < len(BARS) - 1 else self.width - bar_w * i
            self.fill_rect(i * bar_w, 0, w, _BAR_HEIGHT, rgb)
        y = _BAR_HEIGHT + 24
        y += self.centered_text(y, title, FOREGROUND, 5) + 14
        if subtitle:
            y += self.centered_text(y, subtitle, ACCENT, 2) + 10
        self.centered_text(y, f"pyvirtctl simulator - VNC {self.width}x{self.height}", ACCENT, 2)

    def _status_line(self, y: int, text: str) -> Rect:
        h = GLYPH_HEIGHT * _STATUS_SCALE + 4
        self.fill_rect(0, y - 2, self.width, h, BACKGROUND)
        max_chars = (self.width - 40) // (GLYPH_WIDTH * _STATUS_SCALE)
        self.draw_text(20, y, text[:max_chars], FOREGROUND, _STATUS_SCALE)
        return (0, y - 2, self.width, h)

    def _draw_keys(self) -> Rect:
        max_chars = (self.width - 40) // (GLYPH_WIDTH * _STATUS_SCALE) - len("keys: ") - 1
        return self._status_line(_KEYS_Y, "keys: " + self.typed[-max_chars:] + "_")

    def _draw_pointer(self) -> Rect:
        x, y, buttons = self.pointer
        return self._status_line(_POINTER_Y, f"pointer: {x},{y} buttons: {buttons}")

    def _damaged(self, rect: Rect) -> None:
        self.serial += 1
        self._damage.append((self.serial, rect))
        del self._damage[:-_MAX_DAMAGE]

    # -- input -----------------------------------------------------------------------------------

    def key(self, keysym: int, down: bool) -> None:
        if not down:
            return
        if 0x20 <= keysym <= 0x7E:
            self.typed += chr(keysym)
        elif keysym == 0xFF08:  # BackSpace
            self.typed = self.typed[:-1]
        elif keysym in (0xFF0D, 0xFF8D):  # Return, KP_Enter
            self.typed = ""
        else:
            return
        self.typed = self.typed[-200:]
        self._damaged(self._draw_keys())

    def pointer_event(self, buttons: int, x: int, y: int) -> None:
        if (x, y, buttons) == self.pointer:
            return
        self.pointer = (x, y, buttons)
        self._damaged(self._draw_pointer())

    # -- readers ---------------------------------------------------------------------------------

    def damage_since(self, serial: int) -> Rect | None:
        """The bounding box of every change after ``serial`` (whole screen if history is lost)."""
        if serial >= self.serial:
            return None
        if not self._damage or self._damage[0][0] > serial + 1:
            return (0, 0, self.width, self.height)
        rects = [r for s, r in self._damage if s > serial]
        x0 = min(r[0] for r in rects)
        y0 = min(r[1] for r in rects)
        x1 = max(r[0] + r[2] for r in rects)
        y1 = max(r[1] + r[3] for r in rects)
        return (x0, y0, x1 - x0, y1 - y0)

    def region(self, x: int, y: int, w: int, h: int) -> bytes:
        """Canonical (B, G, R, 0) pixels of a rectangle, row by row."""
        if x == 0 and w == self.width:
            return bytes(self.fb[y * w * 4 : (y + h) * w * 4])
        stride = self.width * 4
        return b"".join(
            self.fb[(yy * stride + x * 4) : (yy * stride + (x + w) * 4)] for yy in range(y, y + h)
        )

    def rgb(self) -> bytes:
        """The whole picture as packed 8-bit R, G, B."""
        out = bytearray(self.width * self.height * 3)
        out[0::3] = self.fb[2::4]
        out[1::3] = self.fb[1::4]
        out[2::3] = self.fb[0::4]
        return bytes(out)

    def png(self) -> bytes:
        return encode_png(self.width, self.height, self.rgb())


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(width: int, height: int, rgb: bytes) -> bytes:
    """Encode packed 8-bit RGB pixels as a PNG (truecolour, no interlace, filter 0 rows)."""
    stride = width * 3
    if len(rgb) != stride * height:
        raise ValueError(f"pixel data does not match {width}x{height}")
    raw = b"".join(b"\x00" + rgb[i : i + stride] for i in range(0, len(rgb), stride))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )
