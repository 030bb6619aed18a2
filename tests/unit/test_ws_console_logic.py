"""Pure parts of console and vnc: the wait loop, raw-mode flags, viewer choice and arguments."""

from __future__ import annotations

import termios

import pytest

from pyvirtctl.commands.vnc import (
    CHICKEN_MAC,
    REAL_MAC,
    TIGER_MAC,
    Viewer,
    find_viewer,
    is_paused,
    viewer_args,
)
from pyvirtctl.errors import CLIError
from pyvirtctl.streams.console import TIMEOUT_TEXT, open_when_ready
from pyvirtctl.streams.terminal import make_raw
from pyvirtctl.streams.websocket import WebsocketError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def attempts(*outcomes):
    calls = []

    def attempt():
        calls.append(1)
        o = outcomes[min(len(calls), len(outcomes)) - 1]
        if isinstance(o, Exception):
            raise o
        return o

    return attempt, calls


NOT_RUNNING = WebsocketError("VMI is not running", 400)


@pytest.mark.parametrize(
    ("timeout", "outcomes", "result", "n_calls"),
    [
        (5, ["conn"], "conn", 1),
        (5, [NOT_RUNNING, NOT_RUNNING, "conn"], "conn", 3),
        (0, [NOT_RUNNING], "VMI is not running", 1),
        (1, [NOT_RUNNING], TIMEOUT_TEXT, 60),
        (5, [NOT_RUNNING, WebsocketError("not found", 404)], "not found", 2),
        (5, [WebsocketError("Operation cannot be fulfilled", 409)], "Operation cannot be fulfilled", 1),
        (5, [WebsocketError("No serial consoles are present.", 400)], "No serial consoles are present.", 1),
        (5, [WebsocketError("Can't connect to websocket: dial tcp: refused\n", 0)],
         "Can't connect to websocket: dial tcp: refused\n", 1),
        (-1, [NOT_RUNNING] * 500 + ["conn"], "conn", 501),
    ],
)
def test_open_when_ready(timeout, outcomes, result, n_calls):
    clock = Clock()
    attempt, calls = attempts(*outcomes)
    try:
        got = open_when_ready(attempt, timeout, sleep=clock.sleep, clock=clock)
    except CLIError as e:
        got = e.message
    assert got == result
    assert len(calls) == n_calls
    assert set(clock.sleeps) <= {1.0}


def test_open_when_ready_reports_waits():
    clock = Clock()
    seen = []
    attempt, _ = attempts(NOT_RUNNING, NOT_RUNNING, "conn")
    open_when_ready(attempt, 5, sleep=clock.sleep, clock=clock, on_wait=lambda e, t: seen.append((e.message, t)))
    assert seen == [("VMI is not running", 0.0), ("VMI is not running", 1.0)]


def test_make_raw_is_cfmakeraw():
    cooked = [termios.ICRNL | termios.IXON | termios.IGNCR | 0x10000000, termios.OPOST | termios.ONLCR,
              termios.CS7 | termios.PARENB | termios.CREAD, termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN
              | termios.ECHONL, 38400, 38400, [b"\x00"] * 32]
    iflag, oflag, cflag, lflag, _, _, cc = make_raw(cooked)
    assert iflag == 0x10000000
    assert oflag == termios.ONLCR
    assert cflag == termios.CS8 | termios.CREAD
    assert lflag == 0
    assert cc[termios.VMIN] == 1 and cc[termios.VTIME] == 0


def which_of(*present):
    return lambda b: f"/usr/bin/{b}" if b in present else None


@pytest.mark.parametrize(
    ("vnc_type", "vnc_path", "os_name", "on_path", "files", "expected"),
    [
        ("", "", "linux", ["remote-viewer", "vncviewer"], [], Viewer("remote-viewer", "/usr/bin/remote-viewer")),
        ("", "", "linux", ["vncviewer"], [], Viewer("tiger", "/usr/bin/vncviewer")),
        ("", "", "linux", [], [], "could not find remote-viewer or vncviewer binary in $PATH"),
        ("", "", "windows", ["vncviewer"], [], Viewer("tiger", "/usr/bin/vncviewer")),
        ("", "", "darwin", ["remote-viewer"], [TIGER_MAC, CHICKEN_MAC], Viewer("tiger", TIGER_MAC)),
        ("", "", "darwin", ["remote-viewer"], [CHICKEN_MAC, REAL_MAC], Viewer("chicken", CHICKEN_MAC)),
        ("", "", "darwin", ["remote-viewer"], [REAL_MAC], Viewer("real", REAL_MAC)),
        ("", "", "darwin", ["remote-viewer"], [], Viewer("remote-viewer", "/usr/bin/remote-viewer")),
        ("", "", "darwin", [], [], "no supported VNC app found for darwin"),
        ("", "", "freebsd", ["vncviewer"], [], "virtctl does not support VNC on freebsd"),
        ("tiger", "", "linux", ["remote-viewer", "vncviewer"], [], Viewer("tiger", "/usr/bin/vncviewer")),
        ("tiger", "", "linux", [], [],
         'could not find vncviewer in $PATH: exec: "vncviewer": executable file not found in $PATH'),
        ("tiger", "/opt/v", "linux", [], ["/opt/v"], Viewer("tiger", "/opt/v")),
        ("tiger", "/opt/v", "linux", [], [], "specified VNC path does not exist: /opt/v"),
        ("real", "", "linux", [], [REAL_MAC], "unsupported vnc-type for linux: real"),
        ("real", "", "darwin", [], [REAL_MAC], Viewer("real", REAL_MAC)),
        ("vinagre", "", "linux", [], [], "unsupported vnc-type: vinagre"),
    ],
)
def test_find_viewer(vnc_type, vnc_path, os_name, on_path, files, expected):
    try:
        got = find_viewer(vnc_type, vnc_path, os_name, which=which_of(*on_path), exists=lambda p: p in files,
                          glob=lambda pattern: [])
    except CLIError as e:
        got = e.message
    assert got == expected


def test_darwin_tigervnc_glob_takes_the_last_match():
    got = find_viewer("", "", "darwin", which=which_of(), exists=lambda p: False,
                      glob=lambda p: ["/Applications/TigerVNC Viewer 1.13.1.app/Contents/MacOS/TigerVNC Viewer",
                                      "/Applications/TigerVNC Viewer 1.15.0.app/Contents/MacOS/TigerVNC Viewer"])
    assert got == Viewer("tiger", "/Applications/TigerVNC Viewer 1.15.0.app/Contents/MacOS/TigerVNC Viewer")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("tiger", ["/b", "127.0.0.1:5901"]),
        ("chicken", ["/b", "127.0.0.1:5901"]),
        ("real", ["/b", "127.0.0.1:5901", "-WarnUnencrypted=0", "-Shared=0", "-ShareFiles=0"]),
        ("remote-viewer", ["/b", "vnc://127.0.0.1:5901"]),
    ],
)
def test_viewer_args(kind, expected):
    assert viewer_args(Viewer(kind, "/b"), "127.0.0.1", 5901) == expected


def test_is_paused():
    assert is_paused({"status": {"conditions": [{"type": "Ready"}, {"type": "Paused", "status": "True"}]}})
    assert not is_paused({"status": {"conditions": [{"type": "Ready"}]}})
    assert not is_paused({})
