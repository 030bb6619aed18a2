"""Port-forward benchmark: throughput through one tunnel and the time to set a connection up.

    PYTHONPATH=. python tests/bench/bench_portforward.py [--mib 64] [--connections 20]

Starts the simulator, a loopback TCP echo server behind a VMI's port 22 and `pyvirtctl port-forward`,
then prints MiB/s for an echo of N MiB (each byte crosses the tunnel twice, the figure counts it once)
and the connect-to-first-echo time of fresh connections (each opens a new websocket). Figures only, no
pass/fail: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyvirtctl.sim.harness import SimProcess  # noqa: E402
from tests.e2e.pfhelpers import TCPEcho, forwarding, recv_exactly, vmi  # noqa: E402


def throughput(port: int, mib: int) -> float:
    payload = os.urandom(1 << 20) * mib
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        start = time.perf_counter()
        sender = threading.Thread(target=c.sendall, args=(payload,), daemon=True)
        sender.start()
        got = recv_exactly(c, len(payload))
        elapsed = time.perf_counter() - start
        sender.join()
    if got != payload:
        raise SystemExit("data mismatch")
    return mib / elapsed


def setup_times(port: int, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.sendall(b"x")
            if recv_exactly(c, 1) != b"x":
                raise SystemExit("echo failed")
            out.append(time.perf_counter() - start)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--connections", type=int, default=20)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimProcess.start(Path(tmp) / "sim")
        echo = TCPEcho()
        try:
            sim.apply(vmi("benchvmi", {"22": f"127.0.0.1:{echo.port}"}))
            home = Path(tmp) / "home"
            home.mkdir()
            with forwarding(sim, home, "vmi/benchvmi", "0:22") as fwd:
                port = fwd.ports[0]
                setup_times(port, 2)  # warm-up
                rates = [throughput(port, a.mib) for _ in range(3)]
                try:
                    times = setup_times(port, a.connections)
                except OSError:
                    print("\n".join(fwd.messages()[-6:]), file=sys.stderr)
                    print(Path(sim.stderr_path).read_text()[-3000:], file=sys.stderr)
                    raise
                fwd.interrupt()
        finally:
            echo.close()
            sim.stop()
    print(f"port-forward throughput ({a.mib} MiB echoed, 3 runs): "
          f"best {max(rates):.1f} MiB/s, median {statistics.median(rates):.1f} MiB/s")
    print(f"port-forward connection set-up ({a.connections} connections, connect to first echo): "
          f"median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
