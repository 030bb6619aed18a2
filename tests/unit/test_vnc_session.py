"""The vnc proxy's session: a signal that arrives while the accepting thread starts the copy loops.

The CI once saw `internal error: RuntimeError: cannot join thread before it is started` from
`vnc --proxy-only` on SIGTERM: the loops were listed before they were started, and the main thread's
clean-up joined one in between. These tests drive both orders of the two steps.
"""

from __future__ import annotations

import socket
import threading

from pyvirtctl.commands import vnc


class FakeWebsocket:
    """What the copy loops use of a websocket Conn: recv until woken, send, wake, close."""

    def __init__(self) -> None:
        self.woken = threading.Event()
        self.closed = False
        self.sent: list[bytes] = []

    def recv(self, merge: bool = False) -> bytes | None:
        self.woken.wait(10)
        return None

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def wake(self) -> None:
        self.woken.set()

    def close(self) -> None:
        self.closed = True


def test_no_copy_loop_starts_once_the_session_is_stopping() -> None:
    state = vnc._Session()
    conn = FakeWebsocket()
    ours, theirs = socket.socketpair()
    state.stop_pumps(conn)  # the signal's clean-up ran first
    vnc._splice(conn, ours, state)  # then the accepting thread got its client
    assert state.pumps == []
    assert ours.fileno() == -1  # the client was closed, not left to a loop nobody joins
    theirs.settimeout(5)
    assert theirs.recv(10) == b""
    theirs.close()


def test_started_copy_loops_are_joined_by_the_clean_up() -> None:
    state = vnc._Session()
    conn = FakeWebsocket()
    ours, theirs = socket.socketpair()
    vnc._splice(conn, ours, state)
    assert len(state.pumps) == 2 and all(t.ident is not None for t in state.pumps)
    theirs.sendall(b"RFB 003.008\n")
    state.stop_pumps(conn)
    assert not any(t.is_alive() for t in state.pumps)
    assert conn.closed and ours.fileno() == -1
    assert b"".join(conn.sent) in (b"", b"RFB 003.008\n")  # sent whole if it was read before the shutdown
    theirs.close()
