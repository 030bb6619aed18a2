"""Read the X display with `xwd` (x11-apps, installed by scripts/sysdeps.sh) and decode its dump.

An XWD file is a big-endian header of 25 32-bit fields, the window name, `ncolors` colour-map
entries of 12 bytes, then the pixels. Xvfb's 24-bit TrueColor screens are dumped as ZPixmap with
32 bits per pixel; the colour masks say where red, green and blue sit in each pixel.
"""

from __future__ import annotations

import struct
import subprocess

_FIELDS = (
    "header_size file_version pixmap_format pixmap_depth width height xoffset byte_order bitmap_unit "
    "bitmap_bit_order bitmap_pad bits_per_pixel bytes_per_line visual_class red_mask green_mask blue_mask "
    "bits_per_rgb colormap_entries ncolors window_width window_height window_x window_y window_bdrwidth"
).split()
_ZPIXMAP = 2
_LSB_FIRST = 0


def _shift(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def decode(data: bytes):
    """The dump as a PIL RGB image (only what Xvfb writes: ZPixmap, 24 or 32 bits per pixel)."""
    from PIL import Image

    if len(data) < 100:
        raise ValueError(f"not an XWD dump: {len(data)} bytes")
    h = dict(zip(_FIELDS, struct.unpack(">25I", data[:100]), strict=True))
    if h["file_version"] != 7 or h["pixmap_format"] != _ZPIXMAP or h["bits_per_pixel"] not in (24, 32):
        raise ValueError(f"unsupported XWD dump: {h}")
    start = h["header_size"] + 12 * h["ncolors"]
    width, height, stride = h["width"], h["height"], h["bytes_per_line"]
    step = h["bits_per_pixel"] // 8
    order = "little" if h["byte_order"] == _LSB_FIRST else "big"
    masks = [(h[k], _shift(h[k])) for k in ("red_mask", "green_mask", "blue_mask")]
    if step == 4 and [m for m, _ in masks] == [0xFF0000, 0xFF00, 0xFF]:
        # the usual layout: let PIL's raw decoder unpack the rows
        raw = "BGRX" if order == "little" else "XRGB"
        return Image.frombuffer("RGB", (width, height), data[start:start + stride * height], "raw", raw, stride, 1)
    out = bytearray(width * height * 3)
    o = 0
    for y in range(height):
        row = data[start + y * stride: start + y * stride + width * step]
        for x in range(0, width * step, step):
            pixel = int.from_bytes(row[x:x + step], order)
            for mask, shift in masks:
                out[o] = (pixel & mask) >> shift
                o += 1
    return Image.frombytes("RGB", (width, height), bytes(out))


def grab(display: str):
    """The whole screen of an X display as a PIL RGB image."""
    dump = subprocess.run(["xwd", "-root", "-silent", "-display", display], check=True,
                          capture_output=True, timeout=30).stdout
    return decode(dump)
