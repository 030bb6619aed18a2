"""Console throughput from a real QEMU guest (printed, not asserted).

    python tests/bench/bench_real_console.py [--mib 2] [--virtctl /path/to/virtctl]

Starts `pyvirtctl-sim --guests qemu` with one VM, writes a text file of N MiB in the guest
(base64 of random bytes), then for each client logs in on the serial console through
`<client> console` (stdin and stdout are pipes) and times `cat` of the file: the bytes that come
out of the client's stdout until the shell prompt is back, per second. With --virtctl (default:
$VIRTCTL_REF) the Go virtctl is measured against the same guest in the same run.

The figure is the guest's serial line, not the client: QEMU's 16550 UART hands over one byte per
write, the guest's kernel raises an interrupt per 16-byte FIFO, and all of it runs under TCG.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from bench_console import Session  # noqa: E402

from pyvirtctl.sim.harness import SimProcess  # noqa: E402
from tests.e2e.realguest import GuestConsole, vm_object  # noqa: E402

VM = "benchvm"
PROMPT = f"[root@{VM} ~]# ".encode()


def measure(argv: list[str], path: str) -> tuple[int, float]:
    s = Session(argv)
    try:
        s.send(b"\r")
        s.read_until(b"login: ")
        s.send(b"root\r")
        s.read_until(b"Password: ")
        s.send(b"123456\r")
        s.read_until(PROMPT)
        s.send(f"cat {path}\r".encode())
        t0 = time.perf_counter()
        got = s.read_until(PROMPT, timeout=3600)
        dt = time.perf_counter() - t0
        s.send(b"exit\r")
        s.read_until(b"login: ")
        return got, dt
    finally:
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=float, default=2)
    ap.add_argument("--virtctl", default=os.environ.get("VIRTCTL_REF", ""))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimProcess.start(tmp, delay=0, extra_args=["--guests", "qemu"], timeout=60)
        try:
            sim.apply(vm_object(VM, "")[1])
            sim.wait_for("VirtualMachineInstance", "default", VM,
                         lambda o: ((o or {}).get("status") or {}).get("phase") == "Running", timeout=300)
            t0 = time.perf_counter()
            con = GuestConsole(sim, VM)
            con.login()
            print(f"guest booted and logged in after {time.perf_counter() - t0:.1f} s")
            raw = int(a.mib * (1 << 20)) * 3 // 4
            con.run(f"head -c {raw} /dev/urandom | base64 > /tmp/big")
            size = int(con.run("wc -c < /tmp/big").strip())
            con.logout()
            con.close()
            clients = [("pyvirtctl", [sys.executable, "-m", "pyvirtctl"])]
            if a.virtctl:
                clients.append(("virtctl", [a.virtctl]))
            for label, base in clients:
                got, dt = measure([*base, "--kubeconfig", sim.kubeconfig, "console", VM], "/tmp/big")
                print(f"{label}: console throughput from a real guest {got / dt / 1024:.0f} KiB/s "
                      f"({got} bytes in {dt:.1f} s: `cat` of a {size}-byte text file, CR LF line ends)")
        finally:
            sim.stop(timeout=20)


if __name__ == "__main__":
    main()
