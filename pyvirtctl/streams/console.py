"""Console logic without the command line: waiting for a VMI's stream, and the interactive pump.

`open_when_ready` is client-go's SerialConsole retry loop (streaming.md §2.2): try, and on an HTTP
400 answer sleep one second and try again until the timeout; anything else fails at once.

`pump` copies the stream to stdout and stdin to the stream (§2.1 step 6): guest bytes go to fd 1
unchanged, stdin is read 1024 bytes at a time and a read that starts with 0x1D (Ctrl+], also
Ctrl+5) ends the session. One difference from virtctl, for scripts (kubevirt/kubevirt#803): at
stdin EOF the session does not end at once; guest output keeps flowing until the guest has been
quiet for `eof_grace` seconds (counted from the EOF or the last output) or the server hangs up, so `echo cmd | pyvirtctl console vm` shows
the command's output.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyvirtctl.errors import CLIError
from pyvirtctl.streams.websocket import Conn, StreamClosed, WebsocketError

ESCAPE = 0x1D
STDIN_CHUNK = 1024
EOF_GRACE = 1.0
TIMEOUT_TEXT = "Timeout trying to connect to the virtual machine instance"
NO_SERIAL_CONSOLE = "No serial consoles are present."
NO_GRAPHICS = "No graphics devices are present."


def open_when_ready(
    attempt: Callable[[], Conn],
    timeout_minutes: float,
    *,
    permanent: tuple[str, ...] = (NO_SERIAL_CONSOLE,),
    on_wait: Callable[[WebsocketError, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Conn:
    """Retry `attempt` every second while it fails with HTTP 400, for up to `timeout_minutes`.

    0 means one attempt; a negative timeout never expires (as with virtctl). A 400 whose message
    is in `permanent` (e.g. no serial console) fails at once instead of waiting out the timeout.
    `on_wait(error, elapsed)` is called before each sleep (status display).
    """
    start = clock()
    deadline = start + timeout_minutes * 60 if timeout_minutes > 0 else None
    while True:
        if deadline is not None and clock() >= deadline:
            raise CLIError(TIMEOUT_TEXT)
        try:
            return attempt()
        except WebsocketError as e:
            if timeout_minutes == 0 or e.status != 400 or e.message in permanent:
                raise
            if on_wait is not None:
                on_wait(e, clock() - start)
            sleep(1.0)


@dataclass
class PumpResult:
    """How a session ended: "escape", "eof", "closed", "stdout"; `error` for an abnormal server end."""

    reason: str
    error: CLIError | None = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            continue
        view = view[n:]


class _Reader(threading.Thread):
    """stream -> stdout until the stream ends; wakes the main loop through a pipe when done."""

    def __init__(self, conn: Conn, out_fd: int, wake_fd: int) -> None:
        super().__init__(daemon=True, name="console-reader")
        self.conn = conn
        self.out_fd = out_fd
        self.wake_fd = wake_fd
        self.result: PumpResult | None = None
        self.last_output = time.monotonic()

    def run(self) -> None:
        try:
            while True:
                data = self.conn.recv(merge=True)
                if data is None:
                    self.result = PumpResult("closed")
                    break
                self.last_output = time.monotonic()
                try:
                    _write_all(self.out_fd, data)
                except OSError as exc:
                    self.result = PumpResult("stdout", _stdout_error(exc))
                    break
        except StreamClosed as exc:
            self.result = PumpResult("closed", exc)
        except Exception as exc:  # never leave the main loop waiting
            self.result = PumpResult("closed", CLIError(str(exc)))
        finally:
            try:
                os.write(self.wake_fd, b"x")
            except OSError:
                pass


def _stdout_error(exc: OSError) -> CLIError:
    import errno

    if exc.errno == errno.EPIPE:
        return CLIError("write /dev/stdout: broken pipe")
    return CLIError(f"write /dev/stdout: {(exc.strerror or str(exc)).lower()}")


def pump(
    conn: Conn,
    in_fd: int = 0,
    out_fd: int = 1,
    *,
    eof_grace: float = EOF_GRACE,
    escape: int | None = ESCAPE,
) -> PumpResult:
    """Run the session until Ctrl+], stdin EOF (+ grace), or the server's end. Closes `conn`.

    KeyboardInterrupt and terminal.Terminated propagate (after the connection is closed).
    """
    wake_r, wake_w = os.pipe()
    reader = _Reader(conn, out_fd, wake_w)
    reader.start()
    try:
        with _signal_wakeup() as sig_r:
            return _input_loop(conn, reader, in_fd, wake_r, eof_grace, escape, sig_r)
    finally:
        # stop the reader before the descriptor is freed (see Conn.wake): a TLS read still in progress
        # would otherwise read from whatever connection opens next (the version probe, a DELETE)
        stop = getattr(conn, "wake", None) or conn.close
        stop()
        reader.join(2.0)
        conn.close()
        os.close(wake_r)
        os.close(wake_w)


@contextmanager
def _signal_wakeup() -> Iterator[int | None]:
    """A pipe that signals write to (signal.set_wakeup_fd) while the session runs, for the main loop's
    select. A signal sent to the process (SIGINT from `kill`, SIGTERM, SIGHUP) may be taken by the reader
    thread: Python then runs the handler in the main thread only when that thread next runs Python code,
    and a main thread waiting in select for a key would never get there. The byte in the pipe ends that
    wait. Yields the read end (None off the main thread, where the wake-up cannot be set)."""
    import signal  # noqa: PLC0415

    sig_r, sig_w = os.pipe()
    os.set_blocking(sig_w, False)
    try:
        previous = signal.set_wakeup_fd(sig_w, warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        os.close(sig_r)
        os.close(sig_w)
        yield None
        return
    try:
        yield sig_r
    finally:
        signal.set_wakeup_fd(previous)
        os.close(sig_r)
        os.close(sig_w)


def _input_loop(conn: Conn, reader: _Reader, in_fd: int, wake_r: int, eof_grace: float, escape: int | None,
                sig_r: int | None = None) -> PumpResult:
    stdin_open = True
    extra = [] if sig_r is None else [sig_r]
    while True:
        if stdin_open:
            ready, _, _ = select.select([in_fd, wake_r, *extra], [], [])
        else:
            # stdin is done: let the guest finish talking, then stop
            quiet_for = time.monotonic() - reader.last_output
            if quiet_for >= eof_grace:
                return PumpResult("eof")
            ready, _, _ = select.select([wake_r, *extra], [], [], eof_grace - quiet_for)
        if sig_r is not None and sig_r in ready:
            os.read(sig_r, 512)  # the handler itself runs now, in this thread (KeyboardInterrupt, Terminated)
            continue
        if wake_r in ready:
            reader.join(2.0)
            result = reader.result or PumpResult("closed")
            if not stdin_open and result.reason == "closed":
                return PumpResult("eof")  # the guest hung up after our input ended: a normal end for a script
            return result
        if in_fd in ready:
            try:
                chunk = os.read(in_fd, STDIN_CHUNK)
            except OSError:
                chunk = b""
            if not chunk:
                stdin_open = False
                reader.last_output = max(reader.last_output, time.monotonic())  # the quiet period starts at EOF
                continue
            if escape is not None and chunk[0] == escape:
                return PumpResult("escape")
            try:
                conn.send(chunk)
            except StreamClosed:
                reader.join(2.0)
                return reader.result or PumpResult("closed", StreamClosed())
