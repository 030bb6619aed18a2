"""`vnc` and `vnc screenshot` end to end: the proxy with an RFB handshake, TigerVNC under Xvfb, PNGs."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

from pyvirtctl.sim.harness import REPO_ROOT
from tests.e2e import xwd
from tests.e2e.test_console import vmi

VNC_PATH = "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm1/vnc"
SHOT_PATH = VNC_PATH + "/screenshot"


def env(home, **extra: str) -> dict[str, str]:
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
         "PYTHONPATH": REPO_ROOT}
    e.update(extra)
    return e


def start(sim, home, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vnc", "vm1", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(home, **extra),
    )


def rfb_handshake(port: int) -> tuple[int, int, bytes]:
    """RFB 3.8 up to ServerInit: (width, height, desktop name)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rb")
        assert f.read(12) == b"RFB 003.008\n"
        s.sendall(b"RFB 003.008\n")
        n = f.read(1)[0]
        assert 1 in f.read(n)  # security type None
        s.sendall(b"\x01")
        assert f.read(4) == b"\0\0\0\0"
        s.sendall(b"\x01")  # shared
        w, h = struct.unpack(">HH", f.read(4))
        f.read(16)
        (ln,) = struct.unpack(">I", f.read(4))
        return w, h, f.read(ln)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    for s in (proc.stdout, proc.stderr):
        s.close()


def test_proxy_only_rfb_handshake_then_exit_0(sim, cli_home):
    sim.apply(vmi())
    proc = start(sim, cli_home, "--proxy-only")
    try:
        line = proc.stdout.readline().decode()
        port = json.loads(line)["port"]
        assert line == f'{{"port":{port}}}\n'
        assert rfb_handshake(port) == (720, 400, b"QEMU (default_vm1)")
        assert proc.wait(10) == 0  # the client left: one client per run
        err = proc.stderr.read().decode().splitlines()
        msgs = [json.loads(x)["msg"] for x in err]
        assert msgs[0] == "connection timeout: 1m0s" and msgs[1].startswith("VNC Client connected in ")
        assert all(json.loads(x)["component"] == "portforward" for x in err)
    finally:
        stop(proc)
    reqs = [r for r in sim.requests() if r["path"] == VNC_PATH]
    assert [(r["query"], r["status"]) for r in reqs] == [("preserveSession=false", 101)]


def test_proxy_only_fixed_port_and_paused_warning(sim, cli_home):
    obj = vmi()
    obj["status"]["conditions"] = [{"type": "Paused", "status": "True"}]
    sim.apply(obj)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = start(sim, cli_home, "--proxy-only", f"--port={port}", "--preserve-session")
    try:
        assert proc.stdout.readline() == f'{{"port":{port}}}\n'.encode()
        assert rfb_handshake(port)[:2] == (720, 400)
        assert proc.wait(10) == 0
        assert "\rWarning: vm1 is paused. Console will be active after unpause.\n" in proc.stderr.read().decode()
    finally:
        stop(proc)
    assert [r["query"] for r in sim.requests() if r["path"] == VNC_PATH] == ["preserveSession=true"]


def test_busy_vnc_with_preserve_session(sim, cli_home, cli):
    sim.apply(vmi())
    first = start(sim, cli_home, "--proxy-only")
    try:
        first.stdout.readline()
        r = cli("vnc", "vm1", "--proxy-only", "--preserve-session")
        assert r.returncode == 1
        assert r.stderr.splitlines()[-1] == (
            "can't access VMI vm1: Internal error occurred: Can't connect to websocket (503): websocket: bad "
            "handshake: application info: Active VNC connection. Request denied."
        )
    finally:
        stop(first)


def test_session_stolen_is_error(sim, cli_home):
    sim.apply(vmi())
    first = start(sim, cli_home, "--proxy-only")
    try:
        port = json.loads(first.stdout.readline())["port"]
        with socket.create_connection(("127.0.0.1", port)) as c:
            assert c.recv(12) == b"RFB 003.008\n"
            second = start(sim, cli_home, "--proxy-only")  # preserveSession=false takes the session over
            try:
                second.stdout.readline()
                assert first.wait(10) == 1
                assert first.stderr.read().decode().splitlines()[-1] == (
                    "error encountered: websocket: close 1006 (abnormal closure): unexpected EOF"
                )
            finally:
                stop(second)
    finally:
        stop(first)


@pytest.mark.parametrize(
    ("obj", "args", "message"),
    [
        (None, [], 'can\'t access VMI vm1: virtualmachineinstance.kubevirt.io "vm1" not found'),
        (vmi(phase="Scheduling"), ["--timeout=0"], "can't access VMI vm1: VMI is not running"),
        (vmi(autoattachGraphicsDevice=False), [], "can't access VMI vm1: No graphics devices are present."),
        (vmi(), ["--vnc-type=chicken"], "error encountered: unsupported vnc-type for linux: chicken"),
        (vmi(), ["--vnc-type=foo"], "error encountered: unsupported vnc-type: foo"),
        (vmi(), ["--vnc-type=tiger", "--vnc-path=/nonexistent/viewer"],
         "error encountered: specified VNC path does not exist: /nonexistent/viewer"),
    ],
)
def test_vnc_errors(sim, cli, obj, args, message):
    sim.config(delay=60)  # the VMI stays in the phase the test gives it
    if obj:
        sim.apply(obj)
    r = cli("vnc", "vm1", *args)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.splitlines()[-1] == message


def test_no_viewer_on_path(sim, cli_home, tmp_path):
    sim.apply(vmi())
    r = subprocess.run([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vnc", "vm1"],
                       capture_output=True, text=True, env=env(cli_home, PATH=str(tmp_path)), timeout=30)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == "error encountered: could not find remote-viewer or vncviewer binary in $PATH"


def test_failed_viewer_is_logged_exit_0(sim, cli_home, tmp_path):
    sim.apply(vmi())
    viewer = tmp_path / "fake-viewer"
    viewer.write_text("#!/bin/sh\necho \"cannot open display for $1\"\nexit 3\n")
    viewer.chmod(0o755)
    r = subprocess.run(
        [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vnc", "vm1", "--vnc-type=tiger",
         f"--vnc-path={viewer}"], capture_output=True, text=True, env=env(cli_home), timeout=30)
    assert r.returncode == 0
    last = json.loads(r.stderr.splitlines()[-1])
    assert last["level"] == "error"
    assert last["msg"].startswith("fake-viewer execution failed: exit status 3, output: cannot open display for 127.0.0.1:")


def test_tigervnc_viewer_shows_the_test_pattern(sim, cli_home, tmp_path):
    """The real TigerVNC viewer (scripts/sysdeps.sh installs it with Xvfb), started by `vnc`."""
    from PIL import Image

    sim.apply(vmi())
    display = f":{90 + os.getpid() % 500}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = None
    try:
        time.sleep(1.0)
        proc = start(sim, cli_home, "--vnc-type=tiger", DISPLAY=display)
        deadline = time.monotonic() + 20
        r = subprocess.run([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vnc", "screenshot",
                            "vm1", "-f", str(tmp_path / "fb.png")], env=env(cli_home), capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        expected = Image.open(tmp_path / "fb.png").convert("RGB").crop((0, 0, 720, 30))
        found = None
        while found is None and time.monotonic() < deadline:
            time.sleep(0.5)
            found = _locate(xwd.grab(display), expected)
        assert found is not None, "the framebuffer's colour bars never appeared on the X display"
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        err = proc.stderr.read().decode()
        assert '"msg":"VNC Client connected in ' in err
    finally:
        if proc is not None:
            stop(proc)
        xvfb.terminate()
        xvfb.wait(10)


def _locate(screen, expected) -> tuple[int, int] | None:
    """Where `expected` appears pixel for pixel in `screen` (search anchored on its first pixel)."""
    w, h = screen.size
    first = expected.getpixel((0, 0))
    px = screen.load()
    for y in range(h - expected.size[1]):
        for x in range(w - expected.size[0]):
            if px[x, y] == first and (x == 0 or px[x - 1, y] != first) and (y == 0 or px[x, y - 1] != first):
                if screen.crop((x, y, x + expected.size[0], y + expected.size[1])).tobytes() == expected.tobytes():
                    return x, y
    return None


def test_screenshot_file_and_stdout(sim, cli_home, tmp_path):
    from PIL import Image

    sim.apply(vmi())
    target = tmp_path / "shot.png"
    target.write_bytes(b"old content that must be truncated" * 1000)
    base = [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vnc", "screenshot", "vm1"]
    r = subprocess.run([*base, "-f", str(target)], capture_output=True, env=env(cli_home), timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    img = Image.open(target)
    assert (img.format, img.size) == ("PNG", (720, 400))
    r2 = subprocess.run([*base, "--file=-", "-m"], capture_output=True, env=env(cli_home), timeout=30)
    assert r2.returncode == 0
    assert Image.open(io.BytesIO(r2.stdout)).size == (720, 400)
    assert [r["query"] for r in sim.requests() if r["path"] == SHOT_PATH] == ["moveCursor=false", "moveCursor=true"]


def test_screenshot_new_file_mode_0644(sim, cli_home, tmp_path):
    sim.apply(vmi())
    target = tmp_path / "new.png"
    old = os.umask(0o022)
    try:
        r = subprocess.run([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vnc", "screenshot",
                            "vm1", "-f", str(target)], capture_output=True, env=env(cli_home), timeout=30)
    finally:
        os.umask(old)
    assert r.returncode == 0
    assert target.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vm1"], 'required flag(s) "file" not set'),
        (["nosuch", "-f", "-"], 'Can\'t access VMI nosuch: an error on the server ("virtualmachineinstance.kubevirt.io '
         '\\"nosuch\\" not found") has prevented the request from succeeding (get virtualmachineinstances.kubevirt.io nosuch)'),
        (["vm1", "-f", "/nonexistent/dir/x.png"],
         "Can't write image to a file: open /nonexistent/dir/x.png: no such file or directory"),
    ],
)
def test_screenshot_errors(sim, cli, args, message):
    sim.apply(vmi())
    r = cli("vnc", "screenshot", *args)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.splitlines()[-1] == message
