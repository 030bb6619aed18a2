"""Starting 100 VMs: one `pyvirtctl start -l bench=bulk` versus 100 separate `pyvirtctl start NAME`.

    python tests/bench/bench_bulk.py             # BENCH_RUNS=N to change the repetitions

The comparison for Go virtctl, which has no label selector, is a shell loop of 100 invocations at
its reference 22 ms each (2.2 s). Between repetitions (untimed) every VM is stopped again.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib as bl  # noqa: E402

COUNT = 100


def main() -> int:
    reps = bl.runs(3)
    loop_reps = max(1, min(reps, 2))
    bl.precompile()
    work = tempfile.mkdtemp(prefix="pyvirtctl-bench-bulk-")
    home = os.path.join(work, "home")
    os.makedirs(home)
    sim = bl.start_sim(os.path.join(work, "sim"))
    try:
        kc = sim.kubeconfig
        names = [f"bulk-{i:03d}" for i in range(COUNT)]
        sim.apply([bl.vm_object(n, labels={"bench": "bulk"}) for n in names])
        bl.settle(sim)
        env = bl.cli_env(home)

        def stop_all() -> None:
            bl.run_once(bl.cli_argv("--kubeconfig", kc, "stop", "-l", "bench=bulk", "--wait", "--timeout", "60s"),
                        env, timeout=120)
            bl.settle(sim)

        one: list[bl.Sample] = []
        for _ in range(reps):
            one.append(bl.run_once(bl.cli_argv("--kubeconfig", kc, "start", "-l", "bench=bulk"), env,
                                   timeout=300, capture=True))
            stop_all()
        started = sum(1 for x in one[-1].stdout.decode().splitlines() if "was scheduled to start" in x)

        loops: list[float] = []
        per_run: list[float] = []
        rss: list[float] = []
        failures = 0
        for _ in range(loop_reps):
            t0 = time.perf_counter()
            for n in names:
                s = bl.run_once(bl.cli_argv("--kubeconfig", kc, "start", n), env)
                per_run.append(s.wall_ms)
                rss.append(s.rss_mib)
                failures += s.rc != 0
            loops.append((time.perf_counter() - t0) * 1000.0)
            stop_all()

        go = bl.virtctl_ref()
        go_loops: list[float] = []
        for _ in range(loop_reps if go else 0):  # the same loop with the Go binary, same simulator
            t0 = time.perf_counter()
            for n in names:
                failures += bl.run_once([go, "--kubeconfig", kc, "start", n], env).rc != 0
            go_loops.append((time.perf_counter() - t0) * 1000.0)
            stop_all()

        one_ms = statistics.median(s.wall_ms for s in one)
        loop_ms = statistics.median(loops)
        go_loop_ms = statistics.median(go_loops) if go_loops else bl.VIRTCTL_START_MS * COUNT
        print(f"# pyvirtctl bulk benchmark: start {COUNT} VMs ({reps} repetitions of the single invocation, "
              f"{loop_reps} of the loop)")
        print(f"# {bl.machine_line()}")
        if go:
            print(f"# virtctl: {go}, the same loop measured in this run")
        else:
            print(f"# {bl.VIRTCTL_NOTE}: {COUNT} x {bl.VIRTCTL_START_MS:.0f} ms = {go_loop_ms / 1000:.1f} s")
        print(f"{'scenario':<44} {'median':>9} {'min':>9} {'max':>9}  {'per VM':>8}  {'peak RSS':>8}")
        w = [s.wall_ms for s in one]
        print(f"{'pyvirtctl start -l bench=bulk (1 process)':<44} {one_ms:8.0f}ms {min(w):8.0f}ms {max(w):8.0f}ms"
              f"  {one_ms / COUNT:6.1f}ms  {max(s.rss_mib for s in one):6.1f}MiB   rc={one[-1].rc} "
              f"started={started}")
        print(f"{f'{COUNT} x pyvirtctl start NAME (loop)':<44} {loop_ms:8.0f}ms {min(loops):8.0f}ms "
              f"{max(loops):8.0f}ms  {statistics.median(per_run):6.1f}ms  {max(rss):6.1f}MiB   failures={failures}")
        label = "(loop)" if go else "(reference loop)"
        print(f"{f'{COUNT} x virtctl start NAME {label}':<44} {go_loop_ms:8.0f}ms")
        print(f"# loop / single invocation: {loop_ms / one_ms:.1f}x;  single invocation vs virtctl loop: "
              f"{one_ms / go_loop_ms:.2f}x ({'faster' if one_ms < go_loop_ms else 'slower'})")
        return 0
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
