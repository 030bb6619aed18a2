"""Latency of one TAB that completes VM names, with 1,000 VMs in the namespace.

Run: `PYTHONPATH=. python tests/bench/bench_completion.py [--runs N]`. It starts the simulator, seeds
1,000 VirtualMachines, then times the program answering the bash completion protocol for
`pyvirtctl start <TAB>` (what the generated script runs). Reported: the median of N runs with the name
cache disabled (every TAB asks the API server) and enabled (the usual case while typing), plus the
interpreter start-up floor. Byte-code is cached in a temporary PYTHONPYCACHEPREFIX, as it is for an
installed package. Figures are printed, never asserted (goal: <= 150 ms on the development machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from pyvirtctl.sim.harness import SimProcess  # noqa: E402

NAMESPACE = "bench"
COUNT = 1000


def seed(sim: SimProcess) -> None:
    sim.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    vms = [
        {
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachine",
            "metadata": {"name": f"vm-{i:04d}", "namespace": NAMESPACE, "labels": {"app": "bench"}},
            "spec": {
                "runStrategy": "Halted",
                "template": {"spec": {"domain": {"devices": {}, "resources": {"requests": {"memory": "64Mi"}}}}},
            },
        }
        for i in range(COUNT)
    ]
    for i in range(0, COUNT, 250):
        sim.apply(vms[i : i + 250])


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30).stdout
    return time.perf_counter() - t0, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    opts = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        sim = SimProcess.start(os.path.join(work, "sim"), delay=0)
        try:
            seed(sim)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": work,
                "PYTHONPATH": REPO,
                "PYTHONPYCACHEPREFIX": os.path.join(work, "pycache"),
                "XDG_CACHE_HOME": os.path.join(work, "cache"),
                "_PYVIRTCTL_COMPLETE": "complete_bash",
                "COMP_LINE": f"pyvirtctl --kubeconfig {sim.kubeconfig} -n {NAMESPACE} start ",
            }
            cmd = [sys.executable, "-m", "pyvirtctl"]
            _, out = timed(cmd, dict(env, PYVIRTCTL_COMPLETION_CACHE_TTL="0"))  # warm-up, writes byte-code
            got = [line for line in out.splitlines() if not line.startswith(":")]
            if len(got) != COUNT:
                print(f"unexpected answer: {len(got)} candidates", file=sys.stderr)
                return 1
            results = {}
            for label, ttl in (("no cache (API call every TAB)", "0"), ("cache warm (10 s TTL)", "10")):
                samples = [timed(cmd, dict(env, PYVIRTCTL_COMPLETION_CACHE_TTL=ttl))[0] for _ in range(opts.runs)]
                results[label] = samples
            floor = [timed([sys.executable, "-c", "pass"], env)[0] for _ in range(opts.runs)]
        finally:
            sim.stop()
    print(f"completion of VM names, {COUNT} VMs in the namespace, {opts.runs} runs each")
    for label, samples in results.items():
        print(f"  {label:32s} median {1000 * statistics.median(samples):6.1f} ms   "
              f"min {1000 * min(samples):6.1f} ms   max {1000 * max(samples):6.1f} ms")
    print(f"  {'python -c pass (floor)':32s} median {1000 * statistics.median(floor):6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
