"""Websocket frames the server must not send: each is a clean one-line error and a close frame back.

The Conn reads from one end of a socket pair; the test writes raw frame bytes into the other.
"""

from __future__ import annotations

import socket
import threading

import pytest

from pyvirtctl.streams.websocket import Conn, ProtocolError, StreamClosed

pytestmark = pytest.mark.timeout(30)


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bytes | None = None,
          length: int | None = None) -> bytes:
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    flag = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([flag | n])
    elif n < 65536:
        head += bytes([flag | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([flag | 127]) + n.to_bytes(8, "big")
    if mask is not None:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def read_close(sock: socket.socket) -> tuple[int, bytes] | None:
    """The close frame the client sent back (masked, as a client must), or None."""
    sock.settimeout(2)
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    if len(data) < 6 or data[0] != 0x88:
        return None
    n = data[1] & 0x7F
    key = data[2:6]
    payload = bytes(b ^ key[i % 4] for i, b in enumerate(data[6 : 6 + n]))
    return int.from_bytes(payload[:2], "big"), payload[2:]


def run(data: bytes, max_message: int = 1024) -> tuple[list[bytes], BaseException | None, tuple[int, bytes] | None]:
    ours, theirs = socket.socketpair()
    conn = Conn(ours, max_message=max_message)
    threading.Thread(target=lambda: theirs.sendall(data), daemon=True).start()
    got: list[bytes] = []
    error: BaseException | None = None
    try:
        while True:
            msg = conn.recv()
            if msg is None:
                break
            got.append(msg)
    except StreamClosed as exc:
        error = exc
    closing = read_close(theirs)
    theirs.close()
    conn.close()
    return got, error, closing


@pytest.mark.parametrize(("data", "message", "code"), [
    (frame(0x2, b"x" * 1025), "websocket: read limit exceeded", 1009),
    (frame(0x2, b"x" * 600, fin=False) + frame(0x0, b"y" * 600), "websocket: read limit exceeded", 1009),
    (frame(0x2, b"", length=1 << 63), "websocket: invalid frame length", 1002),
    (frame(0x2, b"abc", mask=b"\x01\x02\x03\x04"), "websocket: incorrect mask flag", 1002),
    (frame(0x3, b"abc"), "websocket: unknown opcode 3", 1002),
    (frame(0xB, b""), "websocket: unknown opcode 11", 1002),
    (frame(0x2, b"abc", rsv=0x40), "websocket: unexpected reserved bits 0x40", 1002),
    (frame(0x9, b"p" * 126), "websocket: control frame length > 125", 1002),
    (frame(0x9, b"ping", fin=False), "websocket: control frame not final", 1002),
    (frame(0x0, b"orphan"), "websocket: continuation after final message frame", 1002),
    (frame(0x2, b"a", fin=False) + frame(0x2, b"b"), "websocket: message start before final message frame", 1002),
])
def test_bad_frames_end_the_stream_cleanly(data, message, code):
    got, error, closing = run(frame(0x2, b"before") + data + frame(0x2, b"never read"))
    assert got == [b"before"]
    assert isinstance(error, ProtocolError)
    assert str(error) == message and "\n" not in str(error)
    assert not error.abnormal  # not virtctl's "connection dropped" paragraph: a plain error line
    assert closing is not None and closing[0] == code


def test_frames_up_to_the_limit_are_fine():
    got, error, closing = run(frame(0x2, b"a" * 1024) + frame(0x2, b"b" * 500, fin=False) + frame(0x0, b"c" * 524)
                              + frame(0x8, (1000).to_bytes(2, "big")))
    assert error is None
    assert got == [b"a" * 1024, b"b" * 500 + b"c" * 524]


def test_the_default_limit_allows_large_messages():
    ours, theirs = socket.socketpair()
    conn = Conn(ours)
    big = b"m" * (4 << 20)
    threading.Thread(target=lambda: theirs.sendall(frame(0x2, big)), daemon=True).start()
    assert conn.recv() == big
    conn.close()
    theirs.close()


def test_bytes_read_with_the_handshake_are_not_lost():
    ours, theirs = socket.socketpair()
    first = frame(0x2, b"came with the 101")
    conn = Conn(ours, first[:5])
    theirs.sendall(first[5:] + frame(0x2, b"second"))
    assert conn.recv() == b"came with the 101"
    assert conn.recv() == b"second"
    conn.close()
    theirs.close()
