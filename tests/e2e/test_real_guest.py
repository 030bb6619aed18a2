"""The real CLI against real guests: `pyvirtctl-sim --guests qemu` runs each VMI as a QEMU machine.

One VM (`rgvm`) boots once for the module and serves every test; a test that stops or breaks it
leaves it to the `booted` fixture to start it again. A second, short-lived VMI is panicked. At
most three QEMU processes run at once (the VM, a migration target, the VMI to panic).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirtctl.sim.harness import REPO_ROOT, SimProcess
from tests.e2e import xwd
from tests.e2e.realguest import GuestConsole, debian_cloud_kernel_release, vm_object

VM = "rgvm"
PANIC = "rgpanic"
GRACE = 30


def _env(home: Path, **extra: str) -> dict[str, str]:
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
         "PYTHONPATH": REPO_ROOT, "TERM": "xterm"}
    e.update(extra)
    return e


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rghome")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path / "id")], check=True)
    return path


@pytest.fixture(scope="module")
def qsim(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Iterator[SimProcess]:
    sim = SimProcess.start(tmp_path_factory.mktemp("qsim"), delay=0, extra_args=["--guests", "qemu"])
    try:
        sim.apply(vm_object(VM, (home / "id.pub").read_text(), grace=GRACE))
        # a second guest, panicked by a test, boots alongside the first
        sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                   "metadata": {"name": PANIC, "namespace": "default"},
                   "spec": vm_object(PANIC, "")[1]["spec"]["template"]["spec"]})
        yield sim
    finally:
        sim.stop(timeout=20)
        log = Path(sim.stderr_path).read_text(errors="replace")
        pids = [int(p) for p in re.findall(r"QEMU pid (\d+)", log)]
        alive = [p for p in pids if os.path.exists(f"/proc/{p}") and b"qemu" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert not alive, f"QEMU processes left behind: {alive}"


def cli(sim: SimProcess, home: Path, *args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, *args],
                          capture_output=True, text=True, env=_env(home), timeout=timeout, cwd=str(home), **kw)


def _phase(obj: dict | None) -> str:
    return ((obj or {}).get("status") or {}).get("phase", "")


_verified: set[str] = set()  # VMI uids whose guest was seen at its login prompt


@pytest.fixture
def booted(qsim: SimProcess, home: Path) -> str:
    """The VM runs and its guest is up (logged in once per VMI on the console to prove it)."""
    vm = qsim.get("VirtualMachine", "default", VM)
    if (vm.get("spec") or {}).get("runStrategy") != "Always":
        assert cli(qsim, home, "start", VM).returncode == 0
    vmi = qsim.wait_for("VirtualMachineInstance", "default", VM,
                        lambda o: _phase(o) == "Running" and not o["metadata"].get("deletionTimestamp"), timeout=180)
    if vmi["metadata"]["uid"] in _verified:
        return VM
    _verified.add(vmi["metadata"]["uid"])
    con = GuestConsole(qsim, VM)
    try:
        con.login()
        con.logout()  # the serial line keeps its state: leave it at the login prompt
    finally:
        con.close()
    return VM


def _ssh_flags(home: Path) -> list[str]:
    return ["-i", str(home / "id"), "--known-hosts", str(home / "known_hosts"), "-t",
            "-o StrictHostKeyChecking=accept-new", "-t", "-o BatchMode=yes", "-t", "-o LogLevel=ERROR"]


# ----------------------------------------------------------------------------------------------
# console


def test_console_login_and_kernel_release(qsim, home, booted):
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", qsim.kubeconfig, "console", VM],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(home),
                            bufsize=0)
    seen = b""

    def expect(pattern: bytes, timeout: float = 60) -> bytes:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not re.search(pattern, seen):
            assert time.monotonic() < deadline, f"{pattern!r} not seen in {seen[-400:]!r}"
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, f"console ended: {seen[-400:]!r}"
                seen += chunk
        m = re.search(pattern, seen)
        out, seen = seen[:m.end()], seen[m.end():]
        return out

    try:
        proc.stdin.write(b"\r")
        expect(rb"rgvm login: $")
        proc.stdin.write(b"root\r")
        expect(rb"Password: $")
        proc.stdin.write(b"123456\r")
        expect(rb"\[root@rgvm ~\]# ")
        proc.stdin.write(b"uname -r\r")
        out = expect(rb"\[root@rgvm ~\]# ").decode().replace("\r", "")
        assert out.splitlines()[1] == debian_cloud_kernel_release()
        proc.stdin.write(b"exit\r")
        expect(rb"rgvm login: $")
        proc.stdin.write(b"\x1d")  # Ctrl+]
        assert proc.wait(15) == 0
        assert proc.stderr.read().decode() == (
            f"Successfully connected to {VM} console. Press Ctrl+] or Ctrl+5 to exit console.\n")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_wrong_password_is_refused(qsim, booted):
    con = GuestConsole(qsim, VM)
    try:
        con.send(b"\r")
        con.expect(rb"login: $")
        con.send(b"centos\r")
        con.expect(rb"Password: ")
        con.send(b"wrong\r")
        con.expect(rb"Login incorrect")
    finally:
        con.close()


# ----------------------------------------------------------------------------------------------
# VNC


CELL_W, CELL_H = 9, 16  # QEMU's VGA text mode: 80x25 cells of 9x16 pixels = 720x400


def _text_rows(img) -> list[str]:
    """Each text row of a VGA text-mode picture as a string of '#' (cell has ink) and ' '."""
    w, h = img.size
    px = img.load()
    background = px[w - 1, h - 1]
    rows = []
    for r in range(h // CELL_H):
        row = ""
        for c in range(w // CELL_W):
            ink = any(px[c * CELL_W + x, r * CELL_H + y] != background for y in range(CELL_H - 2)
                      for x in range(CELL_W))
            row += "#" if ink else " "
        rows.append(row.rstrip())
    return rows


def _shape(text: str) -> str:
    return "".join(" " if ch == " " else "#" for ch in text).rstrip()


def _prompt_row(rows: list[str]) -> int | None:
    """The last row reading "<hostname> login:", the blinking cursor after it or not."""
    want = _shape(f"{VM} login:")
    return next((i for i in range(len(rows) - 1, -1, -1) if rows[i] in (want, want + " #")), None)


def test_vnc_screenshot_shows_the_login_prompt(qsim, home, booted, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    r = cli(qsim, home, "vnc", "screenshot", VM, "-f", str(shot))
    assert (r.returncode, r.stderr) == (0, "")
    img = Image.open(shot).convert("RGB")
    assert img.size == (720, 400)
    colours = img.getcolors(256)
    assert colours is not None and 2 <= len(colours) <= 16  # the VGA text palette, not the test pattern
    ink = sum(n for n, c in colours if c != img.getpixel((719, 399)))
    assert ink > 720 * 400 // 200  # there is text on the screen
    rows = _text_rows(img)
    row = _prompt_row(rows)
    assert row is not None, "no '<hostname> login:' row on the screen:\n" + "\n".join(rows)
    # above it, /etc/issue: "Kernel <release> on an x86_64"
    assert _shape(f"Kernel {debian_cloud_kernel_release()} on an x86_64") in rows[:row]


def test_tigervnc_viewer_shows_the_guest_screen(qsim, home, booted, tmp_path):
    """The real TigerVNC viewer, started by `pyvirtctl vnc`, shows QEMU's VGA console."""
    from PIL import Image

    shot = tmp_path / "shot.png"
    assert cli(qsim, home, "vnc", "screenshot", VM, "-f", str(shot)).returncode == 0
    img = Image.open(shot).convert("RGB")
    row = _prompt_row(_text_rows(img))
    assert row is not None and row >= 3
    # the two /etc/issue lines above the prompt do not change (the cursor blinks on the prompt row)
    expected = img.crop((0, (row - 3) * CELL_H, 720, (row - 1) * CELL_H))
    display = f":{90 + (os.getpid() + 7) % 500}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = None
    try:
        time.sleep(1.0)
        proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", qsim.kubeconfig, "vnc", VM,
                                 "--vnc-type=tiger"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=_env(home, DISPLAY=display))
        found = None
        deadline = time.monotonic() + 30
        while found is None and time.monotonic() < deadline:
            time.sleep(0.5)
            found = _locate(xwd.grab(display), expected)
        assert found is not None, "the guest's screen never appeared in the viewer"
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
        assert '"msg":"VNC Client connected in ' in proc.stderr.read().decode()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        xvfb.terminate()
        xvfb.wait(10)


def _locate(screen, expected) -> tuple[int, int] | None:
    """Where ``expected`` appears pixel for pixel in ``screen`` (anchored on its first ink pixel)."""
    ew, eh = expected.size
    epx = expected.load()
    background = epx[0, 0]
    anchor = next(((x, y) for y in range(eh) for x in range(ew) if epx[x, y] != background), None)
    assert anchor is not None
    colour = epx[anchor]
    want = expected.tobytes()
    sw, sh = screen.size
    data = screen.tobytes()
    step = 3 * sw
    needle = bytes(colour)
    start = 0
    while True:
        i = data.find(needle, start)
        if i < 0:
            return None
        start = i + 1
        if i % 3:
            continue
        x, y = (i // 3) % sw - anchor[0], (i // 3) // sw - anchor[1]
        if x < 0 or y < 0 or x + ew > sw or y + eh > sh:
            continue
        if all(data[(y + r) * step + x * 3:(y + r) * step + (x + ew) * 3] == want[r * ew * 3:(r + 1) * ew * 3]
               for r in range(eh)):
            return x, y


# ----------------------------------------------------------------------------------------------
# ssh and scp


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ssh_runs_a_command_as_the_key_owner(qsim, home, booted):
    r = cli(qsim, home, "ssh", *_ssh_flags(home), "-c", "id -un; hostname; uname -r", f"centos@vm/{VM}",
            input="")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["centos", VM, debian_cloud_kernel_release()]


def test_scp_16mib_both_ways(qsim, home, booted, tmp_path):
    up = tmp_path / "up.bin"
    up.write_bytes(os.urandom(16 << 20))
    r = cli(qsim, home, "scp", *_ssh_flags(home), str(up), f"root@vm/{VM}:/tmp/copy.bin", input="")
    assert r.returncode == 0, r.stderr
    down = tmp_path / "down.bin"
    r = cli(qsim, home, "scp", *_ssh_flags(home), f"root@vm/{VM}:/tmp/copy.bin", str(down), input="")
    assert r.returncode == 0, r.stderr
    assert _sha(down) == _sha(up)
    r = cli(qsim, home, "ssh", *_ssh_flags(home), "-c", "sha256sum /tmp/copy.bin; rm /tmp/copy.bin",
            f"root@vm/{VM}", input="")
    assert r.stdout.split()[0] == _sha(up)


def test_port_forward_to_a_closed_guest_port_is_refused(qsim, home, booted):
    """Nothing listens on port 81 in the guest: its kernel answers with a reset, as virt-handler reports."""
    r = cli(qsim, home, "port-forward", "--stdio=true", f"vm/{VM}", "81", input="")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1].endswith("connect: connection refused")


def test_guest_agent_data_stays_simulated_but_names_the_real_kernel(qsim, home, booted):
    r = cli(qsim, home, "guestosinfo", VM)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["os"]["kernelRelease"] == debian_cloud_kernel_release()
    assert info["os"]["prettyName"] == "pyvirtctl guest (Debian 12 cloud kernel, BusyBox)"


def test_a_vm_annotated_builtin_gets_the_built_in_guest(qsim):
    qsim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                "metadata": {"name": "simulated", "namespace": "default",
                             "annotations": {"sim.pyvirtctl.io/guest": "builtin"}},
                "spec": {"domain": {"devices": {}}}})
    qsim.wait_for("VirtualMachineInstance", "default", "simulated", lambda o: _phase(o) == "Running")
    con = GuestConsole(qsim, "simulated", timeout=10)
    try:
        con.send(b"\r")
        con.expect(rb"simulated login: $", timeout=10)
        con.send(b"root\rx\runame -r\r")
        con.expect(rb"3\.10\.0-957\.27\.2\.el7\.x86_64", timeout=10)  # the simulated CentOS 7
    finally:
        con.close()
    qsim.delete("VirtualMachineInstance", "default", "simulated")
    assert not any("simulated" in line for line in Path(qsim.stderr_path).read_text().splitlines())


# ----------------------------------------------------------------------------------------------
# lifecycle


def test_pause_freezes_the_guest_until_unpause(qsim, home, booted):
    con = GuestConsole(qsim, VM)
    try:
        con.login()
        assert cli(qsim, home, "pause", "vm", VM).stdout == f"VMI {VM} was scheduled to pause\n"
        con.send(b"echo frozen-$((20+22))\r")
        with pytest.raises(TimeoutError):
            con.expect(rb"frozen-42\r\n", timeout=3)  # a paused CPU echoes nothing
        assert cli(qsim, home, "unpause", "vm", VM).returncode == 0
        con.expect(rb"frozen-42\r\n", timeout=30)
        con.logout()
    finally:
        con.close()


def test_reset_reboots_the_guest(qsim, home, booted):
    con = GuestConsole(qsim, VM)
    try:
        con.login()
        before = float(con.run("cat /proc/uptime").split()[0])
        r = cli(qsim, home, "reset", VM)
        assert (r.returncode, r.stdout) == (0, f"VMI {VM} was scheduled to reset\n")
        con.expect(rb"Linux version \S+", timeout=60)  # the kernel boots again on the same serial line
        con.login()
        assert float(con.run("cat /proc/uptime").split()[0]) < before + 60
        con.logout()
        vmi = qsim.get("VirtualMachineInstance", "default", VM)
        assert _phase(vmi) == "Running"
    finally:
        con.close()


def test_live_migration_keeps_an_ssh_session_and_the_uptime(qsim, home, booted):
    vmi = qsim.get("VirtualMachineInstance", "default", VM)
    source = vmi["status"]["nodeName"]
    loop = ("rm -f /tmp/stop; while [ ! -e /tmp/stop ]; do cut -d' ' -f1 /proc/uptime; sleep 0.2; done; "
            "echo END")
    session = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", qsim.kubeconfig, "ssh",
                                *_ssh_flags(home), "-c", loop, f"root@vm/{VM}"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(home), text=True)
    try:
        first = session.stdout.readline()
        assert re.fullmatch(r"\d+\.\d+\n", first), first + session.stderr.read()
        r = cli(qsim, home, "migrate", VM)
        assert r.stdout == f"VM {VM} was scheduled to migrate\n", r.stderr
        moved = qsim.wait_for("VirtualMachineInstance", "default", VM,
                              lambda o: ((o.get("status") or {}).get("migrationState") or {}).get("completed"),
                              timeout=120)
        ms = moved["status"]["migrationState"]
        assert ms["failed"] is False and ms["sourceNode"] == source and moved["status"]["nodeName"] == ms["targetNode"]
        assert ms["targetNode"] != source and ms["targetNodeDomainDetected"] is True
        assert session.poll() is None  # the session outlived the switch-over ...
        stop = cli(qsim, home, "ssh", *_ssh_flags(home), "-c", "touch /tmp/stop", f"root@vm/{VM}", input="")
        assert stop.returncode == 0, stop.stderr
        out, err = session.communicate(timeout=60)
        assert session.returncode == 0, err
    finally:
        if session.poll() is None:
            session.kill()
            session.communicate()
    lines = [first.strip(), *out.split()]
    assert lines[-1] == "END"
    uptimes = [float(x) for x in lines[:-1]]
    assert len(uptimes) >= 3 and uptimes == sorted(uptimes)  # ... and the guest's clock went on
    migs = qsim.list("VirtualMachineInstanceMigration", "default")
    assert [m["status"]["phase"] for m in migs] == ["Succeeded"]
    assert "migrated in" in Path(qsim.stderr_path).read_text()


def test_guest_panic_makes_the_vmi_failed(qsim):
    qsim.wait_for("VirtualMachineInstance", "default", PANIC, lambda o: _phase(o) == "Running", timeout=180)
    con = GuestConsole(qsim, PANIC)
    try:
        con.login()
        con.send(b"echo c > /proc/sysrq-trigger\r")
        con.expect(rb"Kernel panic", timeout=60)
    finally:
        con.close()
    vmi = qsim.wait_for("VirtualMachineInstance", "default", PANIC, lambda o: _phase(o) == "Failed", timeout=60)
    ready = next(c for c in vmi["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "GuestPanicked")
    events = [e for e in qsim.list("Event", "default") if e["involvedObject"]["name"] == PANIC]
    assert any(e["reason"] == "GuestPanicked" and e["type"] == "Warning" for e in events)
    qsim.delete("VirtualMachineInstance", "default", PANIC)


def test_stop_powers_the_guest_off_within_the_grace_period(qsim, home, booted):
    con = GuestConsole(qsim, VM)
    try:
        r = cli(qsim, home, "stop", VM)
        assert (r.returncode, r.stdout) == (0, f"VM {VM} was scheduled to stop\n")
        con.expect(rb"reboot: Power down", timeout=GRACE)  # the guest's kernel powered the machine off
    finally:
        con.close()
    qsim.wait_for("VirtualMachineInstance", "default", VM, lambda o: o is None, timeout=GRACE + 30)
    events = [(e["reason"], e["message"]) for e in qsim.list("Event", "default")
              if e["involvedObject"]["name"] == VM and e["involvedObject"]["kind"] == "VirtualMachineInstance"]
    assert ("ShuttingDown", "Signaled Graceful Shutdown") in events
    assert ("Stopped", "The VirtualMachineInstance was shut down.") in events
    assert not any("killed" in message for _, message in events)
