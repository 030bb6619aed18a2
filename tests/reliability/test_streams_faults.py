"""Streams under faults: the simulator cuts console, VNC and port-forward websockets after N bytes.

Each drop is reported (virtctl's texts where they exist), the process exits 1 (port-forward keeps
serving: one bad connection only costs that connection), and a terminal is left as it was found.
A healthy port-forward stream carries 100 MiB without losing or reordering a byte (sha256).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.e2e.pfhelpers import TCPEcho, env_for, forwarding, recv_exactly
from tests.e2e.pfhelpers import vmi as pf_vmi
from tests.e2e.test_console import CONNECTED, DISCONNECTED, PtyRun
from tests.e2e.test_console import vmi as console_vmi

BIG = int(os.environ.get("PYVIRTCTL_STREAM_BYTES", str(100 << 20)))
STREAMED: list[int] = []


@pytest.fixture
def tcp_echo():
    srv = TCPEcho()
    yield srv
    srv.close()


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    print(f"\nstreams: {sum(STREAMED)} bytes checked end to end")


def test_port_forward_100mib_sha256(sim, cli_home, tcp_echo):
    """Send BIG bytes through the tunnel to an echo server; hash what comes back while it streams."""
    sim.apply(pf_vmi("bulk", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    chunk = os.urandom(1 << 20)
    sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()
    received = 0
    with forwarding(sim, cli_home, "vmi/bulk", "0:22") as fwd:
        with socket.create_connection(("127.0.0.1", fwd.ports[0]), timeout=60) as c:
            def send() -> None:
                left = BIG
                i = 0
                while left:
                    # vary the data so reordering of equal chunks would show
                    piece = (i.to_bytes(8, "big") + chunk[8:])[: min(len(chunk), left)]
                    sent_hash.update(piece)
                    c.sendall(piece)
                    left -= len(piece)
                    i += 1
                # no half-close: like virtctl, an EOF from either side ends the whole tunnel

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            while received < BIG:
                data = c.recv(1 << 20)
                if not data:
                    break
                got_hash.update(data)
                received += len(data)
            sender.join(60)
        rc, _ = fwd.interrupt()
    assert received == BIG
    assert got_hash.hexdigest() == sent_hash.hexdigest()
    assert rc == 0
    STREAMED.append(2 * BIG)


def test_port_forward_survives_a_dropped_tunnel(sim, cli_home, tcp_echo):
    sim.apply(pf_vmi("flaky", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    sim.fault({"match": {"path_regex": "/portforward"}, "action": "drop_ws_after", "bytes": 1000, "times": 1})
    with forwarding(sim, cli_home, "vmi/flaky", "0:22") as fwd:
        with socket.create_connection(("127.0.0.1", fwd.ports[0]), timeout=20) as c:
            c.sendall(os.urandom(64 << 10))
            got = b""
            while True:
                data = c.recv(1 << 16)
                if not data:
                    break
                got += data
        assert len(got) < 64 << 10  # the tunnel was cut part-way: the client saw EOF
        assert fwd.proc.poll() is None  # ... and the forwarder is still serving
        payload = os.urandom(1 << 20)
        with socket.create_connection(("127.0.0.1", fwd.ports[0]), timeout=20) as c:
            threading.Thread(target=c.sendall, args=(payload,), daemon=True).start()
            assert recv_exactly(c, len(payload)) == payload
        rc, out = fwd.interrupt()
    assert rc == 0 and out == b""
    STREAMED.append(2 * len(payload))


def test_console_drop_prints_virtctls_paragraph_and_restores_the_terminal(sim, cli_home):
    sim.apply(console_vmi())
    sim.fault({"match": {"path_regex": "/console"}, "action": "drop_ws_after", "bytes": 5})
    run = PtyRun(sim, cli_home, "console", "vm1")
    try:
        run.expect(b"Successfully connected to vm1 console")
        run.send(b"\r")  # the guest answers with a login prompt: the cut comes 5 bytes into it
        rc = run.wait(20)
        seen = run.seen.replace(b"\r\n", b"\n")
        assert rc == 1, seen
        assert DISCONNECTED.encode() in seen
        assert seen.rstrip(b"\n").endswith(b"websocket: close 1006 (abnormal closure): unexpected EOF")
        assert b"Traceback" not in seen
        assert run.stty() == run.stty_before
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(5)


def test_console_drop_with_pipes(sim, cli):
    sim.apply(console_vmi())
    sim.fault({"match": {"path_regex": "/console"}, "action": "drop_ws_after", "bytes": 5})
    r = cli("console", "vm1", input="", timeout=30)
    # stdin is at EOF at once; either the drop or the EOF ends the session, never a hang or a traceback
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    if r.returncode == 1:
        assert r.stderr.startswith(CONNECTED) and "unexpected EOF" in r.stderr


def test_vnc_proxy_drop_is_reported(sim, cli_home):
    sim.apply(console_vmi())
    sim.fault({"match": {"path_regex": "/vnc"}, "action": "drop_ws_after", "bytes": 12})
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vnc",
                             "--proxy-only", "vm1"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env_for(cli_home), text=True)
    try:
        port = json.loads(proc.stdout.readline())["port"]
        with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
            banner = recv_exactly(c, 12)
            assert banner.startswith(b"RFB ")
            c.settimeout(20)
            try:
                while c.recv(4096):
                    pass
            except OSError:
                pass
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    last = [ln for ln in err.splitlines() if ln.strip()][-1]
    assert last.startswith("error encountered: ") and "1006" in last, err


def test_stream_dial_to_a_server_that_never_answers_is_bounded(sim, cli_home):
    """A hung virt-api must not hang the console forever: the handshake has a deadline."""
    sim.apply(console_vmi())
    sim.fault({"match": {"path_regex": "/console"}, "action": "hang", "seconds": 120})
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig,
                             "--request-timeout=2s", "console", "vm1"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for(cli_home), text=True)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)
    print(f"hung console handshake ended after {time.monotonic() - started:.1f}s")
    assert proc.returncode == 1, err
    assert "Traceback" not in err and err.strip()
    print(err)
    assert "timeout" in err or "timed out" in err, err
