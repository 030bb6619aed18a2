"""The transfer bar virtctl draws (cheggaaa/pb v3, `Full` template), for image-upload.

    10.00 MiB / 1.00 GiB [---->_______________________] 0.98% 120.00 MiB p/s ETA 8s

On a terminal it is redrawn in place (`\\r`) five times a second and ends with a newline; the last
drawing shows the elapsed time instead of the ETA. When the stream is not a terminal nothing is drawn
while the data goes (virtctl would run every redraw together on one line); the final state is written
once, as one plain line. No thread: the bar is redrawn from `update()`, which the upload calls for
every slice it sends.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from typing import IO

REFRESH = 0.2  # pb's defaultRefreshRate
SPEED_SAMPLE = 0.5  # pb adds a speed sample at most every half second
DEFAULT_WIDTH = 100  # pb's width when the terminal's is unknown
_EWMA_DECAY = 2 / (30 + 1)  # VividCortex/ewma's SimpleEWMA (age 30)


def format_bytes(n: int) -> str:
    """pb's formatBytes with IEC prefixes: `512 B`, `1.50 KiB`, `10.00 MiB`."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.2f} {unit}"
    return f"{n} B"


def go_seconds(seconds: int) -> str:
    """Go's Duration.String() for whole seconds: `0s`, `45s`, `1m5s`, `2h0m3s`."""
    if seconds <= 0:
        return "0s"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def elapsed_text(seconds: float) -> str:
    """pb's elapsedTime: tenths of a second below 9.95 s (`400ms`, `1.2s`, `2.0s`), whole seconds above."""
    if seconds < 9.95:
        tenths = round(seconds * 10)
        if tenths < 10:
            return f"{tenths * 100}ms" if tenths else "0s"
        return f"{tenths // 10}.{tenths % 10}s"
    return go_seconds(round(seconds))


class _Speed:
    """pb's speed element: an exponentially weighted average of samples taken every half second."""

    def __init__(self, now: float, value: int) -> None:
        self.start = now
        self.prev_time = now
        self.prev_value = value
        self.avg = 0.0

    def value(self, now: float, current: int, finished: bool) -> float:
        if finished:
            dur = now - self.start
            return current / dur if dur > 0 else 0.0
        dur = now - self.prev_time
        if dur < SPEED_SAMPLE:
            return self.avg
        sample = abs(current - self.prev_value) / dur
        self.prev_time, self.prev_value = now, current
        self.avg = sample if self.avg == 0 else sample * _EWMA_DECAY + self.avg * (1 - _EWMA_DECAY)
        return self.avg


def render(current: int, total: int, width: int, speed: float, finished: bool, elapsed: float) -> str:
    """One drawing of the Full template: counters, bar, percent, speed, ETA (elapsed when finished)."""
    counters = f"{format_bytes(current)} / {format_bytes(total)}" if total > 0 else format_bytes(current)
    percent = f"{current / total * 100:.2f}%" if total > 0 else "?%"
    rate = f"{format_bytes(int(round(speed)))} p/s" if speed else "? p/s"
    if finished:
        rtime = elapsed_text(elapsed)
    elif speed > 0:
        rtime = "ETA " + go_seconds(int(max(0, total - current) / speed))
    else:
        rtime = "?"
    head, tail = f"{counters} ", f" {percent} {rate} {rtime}"
    bar_width = width - len(head) - len(tail)
    if bar_width <= 0:
        return (head + tail)[:width]
    return head + _bar(current, total, bar_width, finished) + tail


def _bar(current: int, total: int, width: int, finished: bool) -> str:
    if width <= 2:
        return "["[:width] + "]"[: max(0, width - 1)]
    inner = width - 2
    if total and current > total:
        total = current
    count = math.ceil(current / total * inner) if total > 0 else 0
    if total == current and finished:
        fill = "-" * count
    elif count - 1 > 0:
        fill = "-" * (count - 1) + ">"
    elif count > 0:
        fill = ">" * count
    else:
        fill = ""
    return "[" + fill + "_" * (inner - len(fill)) + "]"


class TransferBar:
    """The bar on `stream`: redrawn in place on a terminal, one final plain line otherwise."""

    def __init__(self, stream: IO[str], terminal: bool, width: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.terminal = terminal
        self._width = width
        self.clock = clock
        self.total = 0
        self.current = 0
        self.started = 0.0
        self._last_draw = 0.0
        self._speed: _Speed | None = None
        self._drawn = False
        self._done = True

    def width(self) -> int:
        if self._width:
            return self._width
        try:
            return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns or DEFAULT_WIDTH
        except (OSError, ValueError):
            return DEFAULT_WIDTH

    def start(self, total: int) -> None:
        self.total = total
        self.current = 0
        self.started = self._last_draw = self.clock()
        self._speed = None
        self._done = False

    def update(self, sent: int) -> None:
        if sent < self.current:  # a retry starts the file again (pb's SetCurrent(0))
            self._speed = None
        self.current = sent
        now = self.clock()
        if self._speed is None:
            self._speed = _Speed(now, sent)
        if self.terminal and now - self._last_draw >= REFRESH:
            self._last_draw = now
            self._draw(now, finished=False)

    def _draw(self, now: float, finished: bool) -> None:
        speed = self._speed.value(now, self.current, finished) if self._speed is not None else 0.0
        width = self.width()
        text = render(self.current, self.total, width, speed, finished, now - self.started)
        if self.terminal:
            text = "\r" + text.ljust(width) + ("\n" if finished else "")
        self.stream.write(text)
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """The last drawing (virtctl prints the newline after it when the stream is not a terminal)."""
        if self._done:
            return
        self._done = True
        self._draw(self.clock(), finished=True)

    def abort(self) -> None:
        """Interrupted: end the line the bar is on, so what follows starts on a fresh one."""
        if self._done:
            return
        self._done = True
        if self.terminal and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
