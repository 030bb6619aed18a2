"""Real servers behind a simulated VMI's ports, and a running `pyvirtctl port-forward` to reach them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyvirtctl.sim.harness import REPO_ROOT, SimProcess
from tests.e2e.sighelpers import signal_a_helper_thread

ANNOTATION = "sim.pyvirtctl.io/portforward"


class TCPEcho:
    """A loopback TCP echo server (one thread per connection)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(1 << 18)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    def close(self) -> None:
        self.sock.close()


class UDPEcho:
    """A loopback UDP echo server that prefixes each reply with the sender's port, to tell tunnels apart."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.peers: set[tuple[str, int]] = set()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                return
            self.peers.add(addr)
            self.sock.sendto(data, addr)

    def close(self) -> None:
        self.sock.close()


def vmi(name: str, mapping: dict[str, str], namespace: str = "default", **extra: object) -> dict:
    obj = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": name, "namespace": namespace, "annotations": {ANNOTATION: json.dumps(mapping)}},
        "spec": {},
        "status": {"phase": "Running", "interfaces": [{"ipAddress": "10.0.0.5", "name": "default"}]},
    }
    obj.update(extra)
    return obj


def env_for(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": REPO_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra or {})
    return env


class Forward:
    """A background `pyvirtctl port-forward`; `ports` are the local ports it reported, in order."""

    def __init__(self, proc: subprocess.Popen, ports: list[int], first: list[dict]) -> None:
        self.proc = proc
        self.ports = ports
        self.lines: list[dict] = list(first)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.lines.append({"raw": raw.decode(errors="replace")})

    def messages(self) -> list[str]:
        return [str(entry.get("msg", entry.get("raw", ""))) for entry in list(self.lines)]

    def wait_for(self, text: str, count: int = 1, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(text in m for m in self.messages()) >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"{text!r} x{count} not logged; got {self.messages()}")

    def interrupt(self, timeout: float = 10, *, helper_thread: bool = False) -> tuple[int, bytes]:
        """SIGINT to the process, or (helper_thread) to one of its threads other than the main one."""
        if helper_thread:
            signal_a_helper_thread(self.proc.pid, signal.SIGINT)
        else:
            self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=timeout)
        self._reader.join(timeout)
        return self.proc.returncode, out or b""


@contextmanager
def forwarding(sim: SimProcess, home: Path, target: str, *ports: str, extra: list[str] | None = None
               ) -> Iterator[Forward]:
    """Start port-forward (local ports given as 0 are picked by the system) and wait until it listens."""
    cmd = [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "port-forward",
           *(extra or []), target, *ports]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env_for(home), cwd=str(home))
    assert proc.stderr is not None
    found: list[int] = []
    first: list[dict] = []
    deadline = time.monotonic() + 20
    while len(found) < len(ports) and time.monotonic() < deadline:
        raw = proc.stderr.readline()
        if not raw:
            break
        first.append(json.loads(raw))
        msg = first[-1].get("msg", "")
        if msg.startswith("forwarding "):
            found.append(int(msg.split()[2].rsplit(":", 1)[1]))
    fwd = Forward(proc, found, first)
    try:
        if len(found) != len(ports):
            proc.kill()
            raise AssertionError(f"port-forward did not start: {proc.communicate(timeout=5)}")
        yield fwd
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(1 << 20, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)
