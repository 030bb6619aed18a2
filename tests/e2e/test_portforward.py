"""port-forward end to end: the simulator's virt-api in front of real TCP and UDP echo servers."""

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
from pathlib import Path

import pytest

from tests.e2e.pfhelpers import TCPEcho, UDPEcho, env_for, forwarding, recv_exactly, vmi
from tests.e2e.sighelpers import signal_a_helper_thread

PF_PATH = "/apis/subresources.kubevirt.io/v1/namespaces/{ns}/{res}/{name}/portforward/{port}/{proto}"


@pytest.fixture
def tcp_echo():
    server = TCPEcho()
    yield server
    server.close()


@pytest.fixture
def udp_echo():
    server = UDPEcho()
    yield server
    server.close()


def _pf_requests(sim) -> list[dict]:
    return [r for r in sim.requests() if "/portforward/" in r["path"]]


def _roundtrip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
        sender = threading.Thread(target=c.sendall, args=(payload,), daemon=True)
        sender.start()
        got = recv_exactly(c, len(payload))
        sender.join(20)
    return got


def test_tcp_16mib_sha256_equal(sim, cli_home: Path, tcp_echo: TCPEcho) -> None:
    sim.apply(vmi("testvmi", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    payload = os.urandom(16 << 20)
    with forwarding(sim, cli_home, "vmi/testvmi", "0:22") as fwd:
        got = _roundtrip(fwd.ports[0], payload)
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()
        fwd.wait_for("handling tcp connection for 0")
        rc, out = fwd.interrupt()
    assert rc == 0 and out == b""
    msgs = fwd.messages()
    assert "opening new tcp tunnel to 22" in msgs
    reqs = _pf_requests(sim)
    assert [(r["method"], r["path"]) for r in reqs] == [
        ("GET", PF_PATH.format(ns="default", res="virtualmachineinstances", name="testvmi", port=22, proto="tcp"))
    ]
    assert reqs[0]["headers"].get("sec-websocket-protocol") == "plain.kubevirt.io"
    assert [r for r in sim.requests() if "/portforward/" not in r["path"]] == []  # no other API call


def test_a_sigint_taken_by_a_helper_thread_ends_the_forward(sim, cli_home: Path, tcp_echo: TCPEcho) -> None:
    """The kernel may hand a process's SIGINT to any thread: the main thread must not sleep through it."""
    sim.apply(vmi("testvmi", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    with forwarding(sim, cli_home, "vmi/testvmi", "0:22") as fwd:
        assert _roundtrip(fwd.ports[0], b"x" * 1000) == b"x" * 1000
        start = time.monotonic()
        rc, out = fwd.interrupt(helper_thread=True)
        assert time.monotonic() - start < 5
    assert rc == 0 and out == b""


def test_many_concurrent_connections(sim, cli_home: Path, tcp_echo: TCPEcho) -> None:
    sim.apply(vmi("testvmi", {"8080": f"127.0.0.1:{tcp_echo.port}"}, namespace="other"))
    n = 24
    payloads = [os.urandom(200_000 + i) for i in range(n)]
    results: dict[int, bytes] = {}
    with forwarding(sim, cli_home, "vmi/testvmi/other", "0:8080") as fwd:
        def worker(i: int) -> None:
            results[i] = _roundtrip(fwd.ports[0], payloads[i])

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        fwd.wait_for("handling tcp connection for 0", count=n)
        rc, _ = fwd.interrupt()
    assert rc == 0
    assert all(results.get(i) == payloads[i] for i in range(n))
    assert tcp_echo.accepted == n  # one websocket, hence one VM-side connection, per local connection
    paths = {r["path"] for r in _pf_requests(sim)}
    assert paths == {PF_PATH.format(ns="other", res="virtualmachineinstances", name="testvmi", port=8080,
                                    proto="tcp")}
    assert len(_pf_requests(sim)) == n


def test_udp_one_tunnel_per_client(sim, cli_home: Path, udp_echo: UDPEcho) -> None:
    sim.apply(vmi("testvmi", {"udp/53": f"127.0.0.1:{udp_echo.port}"}))
    with forwarding(sim, cli_home, "vmi/testvmi", "udp/0:53") as fwd:
        clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
        try:
            for i, c in enumerate(clients):
                c.settimeout(10)
                for j in range(5):
                    msg = f"client {i} datagram {j} ".encode() * 20
                    c.sendto(msg, ("127.0.0.1", fwd.ports[0]))
                    data, _ = c.recvfrom(4096)
                    assert data == msg
            big = os.urandom(1500)
            clients[0].sendto(big, ("127.0.0.1", fwd.ports[0]))
            assert clients[0].recvfrom(4096)[0] == big
        finally:
            for c in clients:
                c.close()
        fwd.wait_for("opening new udp tunnel to 53", count=3)
        rc, _ = fwd.interrupt()
    assert rc == 0
    assert sum(m == "opening new udp tunnel to 53" for m in fwd.messages()) == 3
    assert len(udp_echo.peers) == 3
    assert [r["path"] for r in _pf_requests(sim)] == [
        PF_PATH.format(ns="default", res="virtualmachineinstances", name="testvmi", port=53, proto="udp")
    ] * 3


def test_vm_target_and_two_ports(sim, cli_home: Path, tcp_echo: TCPEcho, udp_echo: UDPEcho) -> None:
    sim.apply(vmi("testvm", {"22": f"127.0.0.1:{tcp_echo.port}", "udp/53": f"127.0.0.1:{udp_echo.port}"}))
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "testvm", "namespace": "default"},
               "spec": {"runStrategy": "Always", "template": {"spec": {}}},
               "status": {"created": True, "ready": True}})
    sim.apply(vmi("testvm", {"22": f"127.0.0.1:{tcp_echo.port}", "udp/53": f"127.0.0.1:{udp_echo.port}"}))
    with forwarding(sim, cli_home, "vm/testvm", "0:22", "udp/0:53", extra=["--address", "localhost"]) as fwd:
        assert _roundtrip(fwd.ports[0], b"over tcp") == b"over tcp"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(10)
            u.sendto(b"over udp", ("127.0.0.1", fwd.ports[1]))
            assert u.recvfrom(100)[0] == b"over udp"
        rc, _ = fwd.interrupt()
    assert rc == 0
    forwarding_lines = [m for m in fwd.messages() if m.startswith("forwarding ")]
    assert forwarding_lines == [f"forwarding tcp 127.0.0.1:{fwd.ports[0]} to 22",
                                f"forwarding udp 127.0.0.1:{fwd.ports[1]} to 53"]
    assert {r["path"] for r in _pf_requests(sim)} == {
        PF_PATH.format(ns="default", res="virtualmachines", name="testvm", port=22, proto="tcp"),
        PF_PATH.format(ns="default", res="virtualmachines", name="testvm", port=53, proto="udp"),
    }


def test_failed_dial_keeps_listening(sim, cli_home: Path, tcp_echo: TCPEcho) -> None:
    """virtctl stops accepting after one failed dial; we drop that client only."""
    sim.apply(vmi("testvmi", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    sim.fault({"match": {"path_regex": "/portforward/"}, "action": "status", "status": 503,
               "message": "try later", "times": 1})
    with forwarding(sim, cli_home, "vmi/testvmi", "0:22") as fwd:
        with socket.create_connection(("127.0.0.1", fwd.ports[0]), timeout=10) as c:
            assert c.recv(10) == b""  # dropped: the dial failed
        fwd.wait_for("can't access vmi/testvmi.default: ")
        assert _roundtrip(fwd.ports[0], b"second try") == b"second try"
        rc, _ = fwd.interrupt()
    assert rc == 0
    failed = [e for e in fwd.lines if str(e.get("msg", "")).startswith("can't access")]
    assert failed[0]["level"] == "error" and failed[0]["msg"] == "can't access vmi/testvmi.default: try later"


def test_closed_vm_port_is_logged(sim, cli_home: Path) -> None:
    sim.apply(vmi("testvmi", {}))
    with forwarding(sim, cli_home, "vmi/testvmi", "0:23") as fwd:
        with socket.create_connection(("127.0.0.1", fwd.ports[0]), timeout=10) as c:
            assert c.recv(10) == b""
        fwd.wait_for("can't access")
        fwd.interrupt()
    assert ("can't access vmi/testvmi.default: Internal error occurred: dialing VM: dial tcp 10.0.0.5:23: "
            "connect: connection refused") in fwd.messages()


def test_server_pings_are_answered(sim, cli_home: Path, tcp_echo: TCPEcho) -> None:
    """With pings every 50 ms and a 0.6 s pong deadline, an idle tunnel survives only if we answer."""
    sim.config(portforward_ping_interval=0.05, portforward_pong_timeout=0.6)
    sim.apply(vmi("testvmi", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    with forwarding(sim, cli_home, "vmi/testvmi", "0:22") as fwd:
        with socket.create_connection(("127.0.0.1", fwd.ports[0]), timeout=10) as c:
            c.sendall(b"before")
            assert recv_exactly(c, 6) == b"before"
            time.sleep(2.0)  # ~40 pings, more than three pong deadlines
            c.sendall(b"after")
            assert recv_exactly(c, 5) == b"after"
        fwd.interrupt()


def test_stdio(sim, cli, tcp_echo: TCPEcho, cli_home: Path) -> None:
    sim.apply(vmi("testvmi", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    # stdin EOF ends the run at once with exit 0, like virtctl
    r = cli("port-forward", "--stdio=true", "vmi/testvmi", "22", input="")
    assert (r.returncode, r.stdout) == (0, "")
    # a request/response through a pipe that stays open until the reply arrived
    cmd = [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "port-forward", "--stdio",
           "vmi/testvmi", "22"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env_for(cli_home))
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write(b"ping through stdio")
    p.stdin.flush()
    assert recv_exactly_fd(p.stdout.fileno(), 18) == b"ping through stdio"
    p.stdin.close()
    assert p.wait(20) == 0
    assert p.stderr is not None and p.stderr.read() == b""


def test_stdio_sigterm_taken_by_a_helper_thread_ends_it(sim, tcp_echo: TCPEcho, cli_home: Path) -> None:
    sim.apply(vmi("testvmi", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    cmd = [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "port-forward", "--stdio",
           "vmi/testvmi", "22"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env_for(cli_home))
    try:
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(b"ping")
        p.stdin.flush()
        assert recv_exactly_fd(p.stdout.fileno(), 4) == b"ping"  # the tunnel's threads are running
        signal_a_helper_thread(p.pid, signal.SIGTERM)
        assert p.wait(5) == -signal.SIGTERM  # as when the main thread takes it
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()


def recv_exactly_fd(fd: int, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def test_stdio_server_end_is_an_error(sim, cli, tcp_echo: TCPEcho, cli_home: Path) -> None:
    sim.apply(vmi("testvmi", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    sim.fault({"match": {"path_regex": "/portforward"}, "action": "drop_ws_after", "bytes": 1})
    cmd = [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "port-forward", "--stdio",
           "vmi/testvmi", "22"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env_for(cli_home))
    out, err = _feed_and_wait(p, b"some bytes")
    assert p.returncode == 1
    assert out == b"s"  # the byte that got through before the cut
    assert err.decode().endswith("websocket: close 1006 (abnormal closure): unexpected EOF\n")


def _feed_and_wait(p: subprocess.Popen, data: bytes) -> tuple[bytes, bytes]:
    """Write without closing stdin (EOF would end the run cleanly), then wait for the exit."""
    assert p.stdin is not None
    p.stdin.write(data)
    p.stdin.flush()
    try:
        p.wait(20)
    finally:
        p.stdin.close()
    assert p.stdout is not None and p.stderr is not None
    return p.stdout.read(), p.stderr.read()


@pytest.mark.parametrize(
    "args,message",
    [
        (["vmi/testvmi", "22", "23"], "only one port supported when forwarding to stdout"),
        (["vmi/nothere", "22"], 'virtualmachineinstance.kubevirt.io "nothere" not found'),
        (["vmi/testvmi", "23"], "Internal error occurred: dialing VM: dial tcp 10.0.0.5:23: connect: connection refused"),
        (["vm/testvmi", "22"], 'virtualmachine.kubevirt.io "testvmi" not found'),
    ],
)
def test_stdio_errors(sim, cli, args: list[str], message: str) -> None:
    sim.apply(vmi("testvmi", {}))
    r = cli("port-forward", "--stdio", *args, input="")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.splitlines()[-1] == message


@pytest.mark.parametrize(
    "args,message",
    [
        (["vmi", "22"], "target must contain type and name separated by '/'"),
        (["pod/x", "22"], "unsupported resource type 'pod'"),
        (["vmi/x", "80C0:8X90"], 'strconv.Atoi: parsing "80C0": invalid syntax'),
        (["vmi/x", "udp/"], "invalid port, missing local and/or remote port"),
        (["vmi/x", "sctp/0:22"], "unknown protocol: sctp"),
        (["vmi/x", "70000"], "listen tcp 127.0.0.1:70000: address 70000: invalid port"),
    ],
)
def test_usage_errors(sim, cli, args: list[str], message: str) -> None:
    r = cli("port-forward", *args)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == message
    assert _pf_requests(sim) == []


def test_listen_failure(sim, cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = cli("port-forward", "vmi/x", f"{port}:22")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == f"listen tcp 127.0.0.1:{port}: bind: address already in use"
    assert json.loads(r.stderr.splitlines()[0])["msg"] == f"forwarding tcp 127.0.0.1:{port} to 22"


def test_too_few_args(sim, cli) -> None:
    r = cli("port-forward", "vmi/x")
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    first = json.loads(lines[0])
    assert first["level"] == "error" and first["component"] == "portforward"
    assert first["msg"] == ("fatal: Number of input parameters is incorrect, portforward requires at least 2 "
                            "arg(s), received 1")
    assert lines[1] == "Forward local ports to a virtualmachine or virtualmachineinstance."
    assert "Usage:\n  pyvirtctl port-forward type/name[/namespace] [protocol/]localPort[:targetPort]... [flags]" in r.stderr
    assert lines[-1] == "argument validation failed"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="this host has no IPv6 loopback")
def test_ipv6_address(sim, cli_home: Path, tcp_echo: TCPEcho) -> None:
    sim.apply(vmi("testvmi", {"22": f"127.0.0.1:{tcp_echo.port}"}))
    with forwarding(sim, cli_home, "vmi/testvmi", "0:22", extra=["--address=::1"]) as fwd:
        with socket.create_connection(("::1", fwd.ports[0]), timeout=10) as c:
            c.sendall(b"six")
            assert recv_exactly(c, 3) == b"six"
        fwd.interrupt()
    assert fwd.messages()[0] == f"forwarding tcp ::1:{fwd.ports[0]} to 22"  # Go prints no brackets here
