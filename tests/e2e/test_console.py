"""`console` end to end against the simulator: a real pseudo-terminal, pipes, waits, drops."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import termios
import time

import pytest

from pyvirtctl.sim.harness import REPO_ROOT
from tests.e2e.sighelpers import signal_a_helper_thread

CONNECTED = "Successfully connected to vm1 console. Press Ctrl+] or Ctrl+5 to exit console.\n"
DISCONNECTED = (
    "\nYou were disconnected from the console. This could be caused by one of the following:\n"
    " - the target VM was powered off\n"
    " - another user connected to the console of the target VM\n"
    " - network issues\n"
)
CONSOLE_PATH = "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm1/console"


def vmi(name: str = "vm1", phase: str = "Running", **devices: object) -> dict:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"domain": {"devices": dict(devices)}},
        "status": {"phase": phase, "nodeName": "node01"},
    }


def env(home) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "PYTHONPATH": REPO_ROOT, "TERM": "xterm"}


class PtyRun:
    """pyvirtctl with a pseudo-terminal as stdin, stdout and stderr."""

    def __init__(self, sim, home, *args: str) -> None:
        self.master, self.slave = os.openpty()
        self.stty_before = self.stty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, *args],
            stdin=self.slave, stdout=self.slave, stderr=self.slave, env=env(home), start_new_session=True,
        )
        self.seen = b""

    def stty(self) -> str:
        return subprocess.run(["stty", "-g"], stdin=self.slave, capture_output=True, text=True, check=True).stdout

    def expect(self, text: bytes, timeout: float = 15) -> bytes:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not seen; got {self.seen[-500:]!r}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    break
        return self.seen

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 15) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    pass
        return self.proc.wait(1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def pty_console(sim, cli_home):
    runs: list[PtyRun] = []

    def start(*args: str) -> PtyRun:
        run = PtyRun(sim, cli_home, *args)
        runs.append(run)
        return run

    yield start
    for r in runs:
        r.close()


def login(run: PtyRun) -> None:
    run.expect(CONNECTED.encode())
    run.send(b"\r")
    run.expect(b"vm1 login: ")
    run.send(b"root\r")
    run.expect(b"Password: ")
    run.send(b"secret\r")
    run.expect(b"[root@vm1 ~]# ")


def test_tty_session_login_command_escape(sim, pty_console):
    sim.apply(vmi())
    run = pty_console("console", "vm1")
    login(run)
    lflag = termios.tcgetattr(run.slave)[3]
    assert not lflag & termios.ICANON and not lflag & termios.ECHO, "the terminal is raw during the session"
    run.send(b"uname -n\r")
    out = run.expect(b"uname -n\r\nvm1\r\n[root@vm1 ~]# ")
    run.send(b"\x1d")
    assert run.wait() == 0
    assert run.stty() == run.stty_before
    # the banner ends with a bare LF because raw mode is already on when it is printed
    assert CONNECTED.encode() in out and b"console.\r\n" not in out
    reqs = [r for r in sim.requests() if r["path"] == CONSOLE_PATH]
    assert len(reqs) == 1 and reqs[0]["status"] == 101
    assert reqs[0]["headers"]["sec-websocket-protocol"] == "plain.kubevirt.io"
    assert reqs[0]["headers"]["authorization"] == "Bearer ***"


def test_tty_server_drop_exits_1_and_restores_terminal(sim, pty_console):
    sim.apply(vmi())
    run = pty_console("console", "vm1")
    login(run)
    sim.delete("VirtualMachineInstance", "default", "vm1")  # the VM powered off
    assert run.wait() == 1
    assert run.stty() == run.stty_before
    text = run.seen.decode()
    # printed after the terminal is restored, so the newlines are translated again
    assert DISCONNECTED.replace("\n", "\r\n") in text
    assert text.rstrip().endswith("websocket: close 1006 (abnormal closure): unexpected EOF")


def test_tty_sigterm_and_sighup_restore_terminal(sim, pty_console):
    sim.apply(vmi())
    for sig in (signal.SIGTERM, signal.SIGHUP):
        run = pty_console("console", "vm1")
        run.expect(CONNECTED.encode())
        assert not termios.tcgetattr(run.slave)[3] & termios.ICANON
        run.proc.send_signal(sig)
        assert run.wait() == -sig
        assert run.stty() == run.stty_before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_tty_a_signal_taken_by_the_reader_thread_still_ends_the_session(sim, pty_console, sig):
    sim.apply(vmi())
    run = pty_console("console", "vm1")
    run.expect(CONNECTED.encode())
    signal_a_helper_thread(run.proc.pid, sig)
    assert run.wait() == -sig  # not left waiting in select for a key
    assert run.stty() == run.stty_before


def test_tty_ctrl_c_goes_to_the_guest(sim, pty_console):
    sim.apply(vmi())
    run = pty_console("console", "vm1")
    login(run)
    run.send(b"half a line\x03")
    run.expect(b"half a line^C")
    assert run.proc.poll() is None
    run.send(b"\x1dthe rest is dropped")
    assert run.wait() == 0
    assert run.stty() == run.stty_before


def test_piped_session_sees_output_after_stdin_eof(sim, cli_home):
    sim.apply(vmi())
    r = subprocess.run(
        [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "console", "vm1"],
        input=b"\rroot\rsecret\recho scripted\rcat /etc/hostname\r", capture_output=True, env=env(cli_home),
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr.decode() == CONNECTED
    assert r.stdout.startswith(b"\r\nvm1 login: root\r\nPassword: \r\n[root@vm1 ~]# echo scripted\r\nscripted\r\n")
    # the last command's output arrived after stdin had ended: it is not lost (unlike virtctl, #803)
    assert r.stdout.endswith(b"[root@vm1 ~]# cat /etc/hostname\r\nvm1\r\n[root@vm1 ~]# ")


def test_piped_escape_byte_ends_session(sim, cli):
    sim.apply(vmi())
    r = cli("console", "vm1", input="\x1d\r")
    assert r.returncode == 0
    assert r.stdout == ""  # the session ended before Enter reached the guest


def test_piped_drop_while_typing_is_disconnect(sim, cli_home):
    sim.apply(vmi())
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "console", "vm1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(cli_home),
    )
    proc.stdin.write(b"\r")
    proc.stdin.flush()
    time.sleep(1.0)
    sim.delete("VirtualMachineInstance", "default", "vm1")
    proc.wait(timeout=15)  # stdin stays open: the drop, not an EOF, ends the session
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdin.close()
    assert proc.returncode == 1
    assert b"login: " in out
    assert err.decode() == CONNECTED + DISCONNECTED + "websocket: close 1006 (abnormal closure): unexpected EOF\n"


def test_waits_while_vmi_is_not_running(sim, cli_home):
    sim.config(delay=60)  # keep the controller from moving the VMI on by itself
    sim.apply(vmi(phase="Scheduling"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "console", "vm1", "--timeout=1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(cli_home),
    )
    deadline = time.monotonic() + 10
    while sum(r["path"] == CONSOLE_PATH for r in sim.requests()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    sim.apply(vmi())
    out, err = proc.communicate(b"\rroot\r", timeout=20)
    assert proc.returncode == 0, err
    assert b"vm1 login: root" in out
    statuses = [r["status"] for r in sim.requests() if r["path"] == CONSOLE_PATH]
    assert statuses[-1] == 101 and set(statuses[:-1]) == {400} and len(statuses) >= 3
    assert err.decode() == CONNECTED  # no status line: stderr is not a terminal


@pytest.mark.parametrize(
    ("obj", "args", "message"),
    [
        (None, [], 'virtualmachineinstance.kubevirt.io "vm1" not found'),
        (vmi(phase="Failed"), [],
         'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "vm1": VMI is in failed status'),
        (vmi(phase="Scheduling"), ["--timeout=0"], "VMI is not running"),
        (vmi(autoattachSerialConsole=False), [], "No serial consoles are present."),
    ],
)
def test_fails_at_once(sim, cli, obj, args, message):
    sim.config(delay=60)  # the VMI stays in the phase the test gives it
    if obj:
        sim.apply(obj)
    r = cli("console", "vm1", *args)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.splitlines()[-1] == message
    assert sum(q["path"] == CONSOLE_PATH for q in sim.requests()) == 1


def test_argument_count(cli):
    r = cli("console")
    assert (r.returncode, r.stderr.strip()) == (1, "accepts 1 arg(s), received 0")


def test_tty_wait_shows_phase_and_sigint_prints_newline(sim, pty_console):
    sim.config(delay=60)  # the VMI stays Scheduling
    sim.apply(vmi(phase="Scheduling"))
    run = pty_console("console", "vm1")
    run.expect(b"\r\x1b[KWaiting for vm1: VMI is not running (phase Scheduling, 0s)")
    run.proc.send_signal(signal.SIGINT)
    assert run.wait() == 0
    assert run.seen.endswith(b"\r\x1b[K\r\n")  # status line cleared, then virtctl's newline on stdout
    assert run.stty() == run.stty_before


def test_piped_console_carries_32_mib_byte_for_byte(sim, cli_home):
    """No byte lost or reordered on a healthy console stream: the guest writes 32 MiB, sha256 equal."""
    import hashlib

    from pyvirtctl.sim.streams.serial import stream_bytes

    size = 32 * 1024 * 1024
    sim.apply(vmi())
    r = subprocess.run(
        [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "console", "vm1"],
        input=f"\rroot\rsecret\rstream {size}\r".encode(), capture_output=True, env=env(cli_home), timeout=120,
    )
    assert r.returncode == 0, r.stderr
    start = r.stdout.index(f"stream {size}\r\n".encode()) + len(f"stream {size}\r\n")
    body = r.stdout[start:start + size]
    assert len(body) == size
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(stream_bytes(size)).hexdigest()
    assert r.stdout[start + size:].startswith(b"[root@vm1 ~]# ")
