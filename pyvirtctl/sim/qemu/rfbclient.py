"""A minimal RFB (VNC) client: one full frame from QEMU's VNC server, as packed RGB.

Handshake (RFB 3.8, security type None), then SetPixelFormat to 32-bit little-endian true colour
(blue in the low byte), SetEncodings Raw + DesktopSize, one non-incremental
FramebufferUpdateRequest, and the Raw rectangles of the reply painted into a framebuffer.
`screenshot` optionally moves the pointer first, as virt-api's ``moveCursor=true`` does to wake a
screensaver.
"""

from __future__ import annotations

import asyncio
import struct

ENC_RAW = 0
ENC_DESKTOP_SIZE = -223


class RFBClientError(RuntimeError):
    pass


async def _read(reader: asyncio.StreamReader, n: int) -> bytes:
    try:
        return await reader.readexactly(n)
    except asyncio.IncompleteReadError:
        raise RFBClientError("the VNC server closed the connection") from None


async def grab(path: str, move_cursor: bool = False, timeout: float = 10.0) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes) of the screen behind the VNC unix socket ``path``."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout)
    try:
        return await asyncio.wait_for(_session(reader, writer, move_cursor), timeout)
    finally:
        writer.close()


async def _session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   move_cursor: bool) -> tuple[int, int, bytes]:
    version = await _read(reader, 12)
    if not version.startswith(b"RFB 003."):
        raise RFBClientError(f"not an RFB server: {version!r}")
    writer.write(b"RFB 003.008\n")
    (count,) = await _read(reader, 1)
    if count == 0:
        (n,) = struct.unpack(">I", await _read(reader, 4))
        raise RFBClientError((await _read(reader, n)).decode(errors="replace"))
    types = await _read(reader, count)
    if 1 not in types:
        raise RFBClientError(f"the VNC server wants authentication ({list(types)})")
    writer.write(b"\x01")
    (result,) = struct.unpack(">I", await _read(reader, 4))
    if result != 0:
        raise RFBClientError("the VNC server refused the connection")
    writer.write(b"\x01")  # shared
    width, height = struct.unpack(">HH", await _read(reader, 4))
    await _read(reader, 16)
    (n,) = struct.unpack(">I", await _read(reader, 4))
    await _read(reader, n)
    # 32 bpp, depth 24, little endian, true colour, max 255 each, shifts R16 G8 B0
    writer.write(struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
    writer.write(struct.pack(">BxHii", 2, 2, ENC_RAW, ENC_DESKTOP_SIZE))
    if move_cursor:
        writer.write(struct.pack(">BBHH", 5, 0, 0, 0) + struct.pack(">BBHH", 5, 0, 1, 1))
    writer.write(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
    await writer.drain()
    fb = bytearray(width * height * 4)
    while True:
        (kind,) = await _read(reader, 1)
        if kind == 0:  # FramebufferUpdate
            (_, rects) = struct.unpack(">BH", await _read(reader, 3))
            resized = False
            for _ in range(rects):
                x, y, w, h, enc = struct.unpack(">HHHHi", await _read(reader, 12))
                if enc == ENC_RAW:
                    data = await _read(reader, w * h * 4)
                    for row in range(h):
                        start = ((y + row) * width + x) * 4
                        fb[start:start + w * 4] = data[row * w * 4:(row + 1) * w * 4]
                elif enc == ENC_DESKTOP_SIZE:
                    width, height, resized = w, h, True
                    fb = bytearray(width * height * 4)
                else:
                    raise RFBClientError(f"unexpected encoding {enc}")
            if resized:  # the picture changed size while we asked: ask again for all of it
                writer.write(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
                await writer.drain()
                continue
            rgb = bytearray(width * height * 3)
            rgb[0::3] = fb[2::4]
            rgb[1::3] = fb[1::4]
            rgb[2::3] = fb[0::4]
            return width, height, bytes(rgb)
        if kind == 1:  # SetColourMapEntries (not for true colour, but skip it)
            _, _, n = struct.unpack(">BHH", await _read(reader, 5))
            await _read(reader, n * 6)
        elif kind == 2:  # Bell
            continue
        elif kind == 3:  # ServerCutText
            await _read(reader, 3)
            (n,) = struct.unpack(">I", await _read(reader, 4))
            await _read(reader, n)
        else:
            raise RFBClientError(f"unexpected server message {kind}")
