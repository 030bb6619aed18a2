"""Console benchmark: throughput of guest output and keystroke round-trip latency (printed, not asserted).

    python tests/bench/bench_console.py [--mib 512] [--keys 200] [--virtctl /path/to/virtctl]

Starts a simulator, logs in on a VMI's serial console through `pyvirtctl console` (stdin and
stdout are pipes), asks the simulated shell for `stream N` (N bytes of text) and times how long
the N bytes take to come out of stdout; then sends single keystrokes and times each echo.
With --virtctl (default: $VIRTCTL_REF) the same is measured for a Go virtctl binary against the same
simulator.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from pyvirtctl.sim.harness import REPO_ROOT, SimProcess  # noqa: E402


class Session:
    def __init__(self, argv: list[str]) -> None:
        env = dict(os.environ, PYTHONPATH=REPO_ROOT)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, bufsize=0)
        self.fd = self.proc.stdout.fileno()
        self.tail = b""

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_until(self, marker: bytes, timeout: float = 60) -> int:
        """Bytes read until `marker` appears (counting everything)."""
        total = 0
        deadline = time.monotonic() + timeout
        while marker not in self.tail:
            if time.monotonic() > deadline:
                raise TimeoutError(marker)
            ready, _, _ = select.select([self.fd], [], [], 1)
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise EOFError
            total += len(chunk)
            self.tail = (self.tail + chunk)[-256:]
        self.tail = self.tail.split(marker, 1)[1]
        return total

    def close(self) -> None:
        try:
            self.send(b"\x1d")
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def measure(argv: list[str], mib: int, keys: int) -> tuple[float, list[float]]:
    prompt = f"[root@{argv[-1]} ~]# ".encode()
    s = Session(argv)
    try:
        s.send(b"\r")
        s.read_until(b"login: ")
        s.send(b"root\r")
        s.read_until(b"Password: ")
        s.send(b"x\r")
        s.read_until(prompt)
        n = mib << 20
        cmd = f"stream {n}\r".encode()
        s.send(cmd)
        t0 = time.perf_counter()
        got = s.read_until(prompt)
        dt = time.perf_counter() - t0
        assert got >= n, (got, n)
        rate = n / dt / (1 << 20)
        lat = []
        for i in range(keys):
            ch = b"abcdefghij"[i % 10 : i % 10 + 1]
            t0 = time.perf_counter()
            s.send(ch)
            s.read_until(ch, timeout=10)
            lat.append((time.perf_counter() - t0) * 1000)
        s.send(b"\x15")  # Ctrl+U: drop the typed line
        return rate, lat
    finally:
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--virtctl", default=os.environ.get("VIRTCTL_REF", ""))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimProcess.start(tmp, delay=0)
        try:
            clients = [("pyvirtctl", [sys.executable, "-m", "pyvirtctl"])]
            if a.virtctl:
                clients.append(("virtctl", [a.virtctl]))
            for i, (label, base) in enumerate(clients):
                # a VMI per client: the first one leaves its console logged in
                vmi = f"vm{i + 1}"
                sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                           "metadata": {"name": vmi, "namespace": "default"}, "spec": {"domain": {"devices": {}}},
                           "status": {"phase": "Running", "nodeName": "node01"}})
                rate, lat = measure([*base, "--kubeconfig", sim.kubeconfig, "console", vmi], a.mib, a.keys)
                print(f"{label}: console throughput {rate:.0f} MiB/s ({a.mib} MiB); keystroke round trip "
                      f"median {statistics.median(lat):.2f} ms, p95 {sorted(lat)[int(len(lat) * 0.95) - 1]:.2f} ms "
                      f"({len(lat)} keys)")
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
