"""Terminal handling for interactive streams: raw mode and signals that must not leave it raw.

The only module that touches termios. `raw_terminal(fd)` switches a TTY to Go's `term.MakeRaw`
settings (cfmakeraw) with TCSANOW — TCSAFLUSH would throw away what the user typed ahead — and
puts the saved settings back on every way out. `exit_signals()` turns SIGTERM and SIGHUP into a
`Terminated` exception in the main thread, so the `finally` blocks that restore the terminal run;
the caller re-delivers the signal afterwards (`Terminated.redeliver`) so the parent still sees a
death by signal, as with virtctl. `window_changes(fd, on_size)` reports the terminal's size at the
start and after every SIGWINCH (for a remote TTY's resize channel).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any


class Terminated(BaseException):  # like KeyboardInterrupt: `except Exception` must not swallow it
    """A terminating signal arrived; raised in the main thread by the handler of `exit_signals`."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum

    def redeliver(self) -> None:
        """Die of the same signal with its default action (call after all cleanup)."""
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(self.signum, signal.SIG_DFL)
        os.kill(os.getpid(), self.signum)


def make_raw(attrs: list) -> list:
    """Go's term.MakeRaw (cfmakeraw) applied to a termios attribute list; returns a new list."""
    import termios

    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attrs
    iflag &= ~(
        termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR | termios.IGNCR
        | termios.ICRNL | termios.IXON
    )
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag &= ~(termios.CSIZE | termios.PARENB)
    cflag |= termios.CS8
    cc = list(cc)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    return [iflag, oflag, cflag, lflag, ispeed, ospeed, cc]


def is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


class RawMode:
    """Raw mode on one TTY; `restore()` returns an error text (virtctl prints it) or None."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved: list | None = None

    def enter(self) -> None:
        import termios

        saved = termios.tcgetattr(self.fd)
        termios.tcsetattr(self.fd, termios.TCSANOW, make_raw(saved))
        self.saved = saved

    def restore(self) -> str | None:
        if self.saved is None:
            return None
        import termios

        saved, self.saved = self.saved, None
        try:
            termios.tcsetattr(self.fd, termios.TCSANOW, saved)
        except (termios.error, OSError) as exc:
            return str(exc.args[-1] if exc.args else exc)
        return None


@contextlib.contextmanager
def raw_terminal(fd: int, enabled: bool = True, on_fail: Callable[[], object] | None = None) -> Iterator[RawMode]:
    """Raw mode for the block when `enabled` (the caller's TTY check); restored however the block ends.

    A failure to enter raw mode runs `on_fail` (close what the session opened) and is virtctl's
    `make raw terminal failed: ...`; a failure to restore is printed to stderr like virtctl.
    """
    mode = RawMode(fd)
    if enabled:
        try:
            mode.enter()
        except Exception as exc:
            if on_fail is not None:
                on_fail()
            from pyvirtctl.errors import CLIError

            raise CLIError(f"make raw terminal failed: {exc}") from None
    try:
        yield mode
    finally:
        err = mode.restore()
        if err:
            sys.stderr.write(f"failed to restore terminal: {err}\n")
            sys.stderr.flush()


@contextlib.contextmanager
def exit_signals(signums: tuple[int, ...] | None = None) -> Iterator[None]:
    """Within the block SIGTERM/SIGHUP raise `Terminated` (main thread only); old handlers come back after."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signums is None:
        signums = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)

    def handler(signum: int, frame: object) -> None:
        raise Terminated(signum)

    old = {}
    for s in signums:
        old[s] = signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


SIGNAL_POLL = 0.5  # the longest the main thread waits for a helper thread in one go (see wait_set)


def wait_set(event: Any) -> None:
    """Wait for a threading.Event in the main thread, in slices of SIGNAL_POLL. The kernel may hand a
    process's signal (Ctrl+C, SIGTERM, SIGHUP) to any of its threads; Python then runs the handler in the
    main thread only when that thread next runs code, so one long wait would outlast the signal."""
    while not event.wait(SIGNAL_POLL):
        pass


def next_item(items: Any) -> Any:
    """queue.Queue.get for the main thread, in slices of SIGNAL_POLL (see wait_set)."""
    import queue

    while True:
        try:
            return items.get(timeout=SIGNAL_POLL)
        except queue.Empty:
            continue


def terminal_size(fd: int) -> tuple[int, int] | None:
    """(columns, rows) of the terminal on `fd`, or None when it is not a terminal."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.columns, size.lines


@contextlib.contextmanager
def window_changes(fd: int, on_size: Callable[[int, int], None]) -> Iterator[None]:
    """Report the size of the terminal on `fd` now and after every SIGWINCH, for the block.

    `on_size(columns, rows)` runs on a helper thread (the handler only writes a byte to a pipe, so a
    resize never interrupts the main thread in the middle of a write). Nothing happens when `fd` is
    not a terminal; outside the main thread only the first size is reported.
    """
    import threading

    if terminal_size(fd) is None:
        yield
        return
    winch = getattr(signal, "SIGWINCH", None)
    read_end, write_end = os.pipe()
    stop = threading.Event()

    def report() -> None:
        size = terminal_size(fd)
        if size is not None:
            try:
                on_size(*size)
            except Exception:  # a broken stream is the pump's to report
                pass

    def loop() -> None:
        report()
        while not stop.is_set():
            try:
                data = os.read(read_end, 64)
            except OSError:
                return
            if not data or stop.is_set():
                return
            report()

    def handler(signum: int, frame: object) -> None:
        try:
            os.write(write_end, b"w")
        except OSError:
            pass

    installed = winch is not None and threading.current_thread() is threading.main_thread()
    old = signal.signal(winch, handler) if installed and winch is not None else None
    thread = threading.Thread(target=loop, daemon=True, name="window-size")
    thread.start()
    try:
        yield
    finally:
        if installed and winch is not None:
            signal.signal(winch, old if old is not None else signal.SIG_DFL)
        stop.set()
        try:
            os.write(write_end, b"x")
        except OSError:
            pass
        thread.join(1.0)
        os.close(read_end)
        os.close(write_end)
