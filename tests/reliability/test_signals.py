"""SIGINT / SIGTERM / SIGHUP during a console, a VNC proxy, a port-forward, an ssh session and a --wait.

Every case: the process ends promptly, without a traceback; a terminal it ran on has the same
`stty -g` afterwards; its listening sockets are closed; no viewer or ssh child outlives it.
SIGINT is the user's Ctrl+C: console, vnc and port-forward exit 0 (virtctl); a --wait exits 130.
SIGTERM and SIGHUP: cleanup runs, then the process dies of that same signal (as virtctl does).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.pfhelpers import TCPEcho, env_for, forwarding
from tests.e2e.pfhelpers import vmi as pf_vmi
from tests.e2e.test_console import PtyRun
from tests.e2e.test_console import vmi as console_vmi

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
IDS = ["SIGINT", "SIGTERM", "SIGHUP"]


def expected_status(sig: int, on_interrupt: int = 0) -> int:
    return on_interrupt if sig == signal.SIGINT else -sig


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is gone for our purpose when it is not running
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def port_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


@pytest.mark.parametrize("sig", SIGNALS, ids=IDS)
def test_console(sim, cli_home, sig):
    sim.apply(console_vmi())
    run = PtyRun(sim, cli_home, "console", "vm1")
    try:
        run.expect(b"Successfully connected to vm1 console")
        run.send(b"\r")
        run.expect(b"login:")
        assert run.stty() != run.stty_before  # raw mode is on
        run.proc.send_signal(sig)
        rc = run.wait(20)
        assert rc == expected_status(sig), run.seen
        assert b"Traceback" not in run.seen
        assert run.stty() == run.stty_before
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(5)


@pytest.mark.parametrize("sig", SIGNALS, ids=IDS)
def test_vnc_proxy(sim, cli_home, sig):
    sim.apply(console_vmi())
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vnc",
                             "--proxy-only", "vm1"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env_for(cli_home), text=True)
    try:
        port = json.loads(proc.stdout.readline())["port"]
        client = socket.create_connection(("127.0.0.1", port), timeout=20)
        assert client.recv(12).startswith(b"RFB ")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        client.settimeout(10)
        assert client.recv(100) == b""  # the proxied connection was closed
        client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == expected_status(sig), err
    assert "Traceback" not in err
    assert port_closed(port)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=IDS[1:])
def test_vnc_viewer_does_not_outlive_us(sim, cli_home, tmp_path, sig):
    """A terminated vnc takes its viewer with it (SIGINT from a terminal reaches the viewer anyway)."""
    sim.apply(console_vmi())
    bindir = tmp_path / "bin"
    bindir.mkdir()
    pidfile = tmp_path / "viewer.pid"
    viewer = bindir / "remote-viewer"
    viewer.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 300\n")
    viewer.chmod(0o755)
    env = env_for(cli_home, {"PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"})
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vnc", "vm1"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    try:
        deadline = time.monotonic() + 20
        while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        viewer_pid = int(pidfile.read_text())
        assert pid_alive(viewer_pid)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        deadline = time.monotonic() + 10
        while pid_alive(viewer_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        orphan = pid_alive(viewer_pid)
        if orphan:
            os.kill(viewer_pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert not orphan, "the viewer outlived pyvirtctl vnc"
    assert proc.returncode == -sig and "Traceback" not in err, err


@pytest.mark.parametrize("sig", SIGNALS, ids=IDS)
def test_port_forward(sim, cli_home, sig):
    echo = TCPEcho()
    try:
        sim.apply(pf_vmi("pf", {"22": f"127.0.0.1:{echo.port}"}))
        with forwarding(sim, cli_home, "vmi/pf", "0:22") as fwd:
            c = socket.create_connection(("127.0.0.1", fwd.ports[0]), timeout=20)
            c.sendall(b"ping")
            assert c.recv(4) == b"ping"
            fwd.proc.send_signal(sig)
            fwd.proc.wait(20)
            c.settimeout(10)
            try:
                assert c.recv(10) == b""  # the tunnel's local end was closed
            except ConnectionResetError:
                pass
            c.close()
            rc = fwd.proc.returncode
            err = b"".join(json.dumps(x).encode() for x in fwd.lines)
        assert rc == expected_status(sig)
        assert b"Traceback" not in err
        assert port_closed(fwd.ports[0])
    finally:
        echo.close()


@pytest.mark.parametrize("sig", SIGNALS, ids=IDS)
def test_wait(sim, cli_home, sig):
    """`start --wait` on a VM whose controller is slow: a signal ends the wait at once."""
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "slow", "namespace": "default"},
               "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}})
    sim.config(delay=60)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "start",
                                 "--wait", "--timeout=5m", "slow"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for(cli_home), text=True)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                    r["method"] == "GET" and "watch" in (r.get("query") or "") or r["method"] == "GET"
                    and "/virtualmachineinstances" in r["path"] for r in sim.requests()):
                time.sleep(0.05)
            time.sleep(0.3)
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    finally:
        sim.config(delay=0)
    assert proc.returncode == expected_status(sig, on_interrupt=130), (out, err)
    assert "Traceback" not in err, err
    assert out.startswith("VM slow was scheduled to start")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=IDS[1:])
def test_ssh_child_does_not_outlive_us(sim, cli_home, tmp_path: Path, sig):
    """`ssh` runs the local OpenSSH client; terminating pyvirtctl terminates it too."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    pidfile = tmp_path / "ssh.pid"
    fake = bindir / "ssh"
    fake.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 300\n")
    fake.chmod(0o755)
    sim.apply(pf_vmi("sshvm", {"22": "127.0.0.1:1"}))
    env = env_for(cli_home, {"PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"})
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "ssh",
                             "user@vmi/sshvm"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pidfile.read_text())
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        deadline = time.monotonic() + 10
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        orphan = pid_alive(child)
        if orphan:
            os.kill(child, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert not orphan, "the ssh child outlived pyvirtctl ssh"
    assert proc.returncode == -sig and "Traceback" not in err, err
