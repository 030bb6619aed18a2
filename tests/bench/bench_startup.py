"""Start-up cost of the hot commands, each run as a whole process against the simulator.

    python tests/bench/bench_startup.py          # BENCH_RUNS=N to change the repetitions

Prints median/min/max wall time and peak RSS per scenario, the ratio to Go virtctl (measured in the
same run when VIRTCTL_REF names its binary, else its reference figure), the goal, and
`python -X importtime` totals with the heaviest packages.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib as bl  # noqa: E402

TAB_VMS = 1000


def main() -> int:
    n = bl.runs(21)
    bl.precompile()
    work = tempfile.mkdtemp(prefix="pyvirtctl-bench-")
    home = os.path.join(work, "home")
    os.makedirs(home)
    # Two simulators: the simulator's controllers revisit every object after each change, so 1,000 VMs
    # would slow down its answers to `start`; the TAB scenario only reads its own simulator.
    sim = bl.start_sim(os.path.join(work, "sim"))
    tab_sim = bl.start_sim(os.path.join(work, "sim-tab"))
    try:
        kc = sim.kubeconfig
        # a fresh stopped VM for every `start` run (warm-up included)
        sim.apply([bl.vm_object(f"bench-start-{i}") for i in range(n + 2)])
        sim.apply([bl.vm_object(f"bench-imp-{i}") for i in range(3)])
        tab_sim.apply([bl.vm_object(f"vm-{i:04d}", namespace="tab") for i in range(TAB_VMS)])
        bl.settle(sim)
        bl.settle(tab_sim)
        tab_kc = tab_sim.kubeconfig
        cache = os.path.join(work, "cache")
        env = bl.cli_env(home, {"XDG_CACHE_HOME": cache})
        comp_env = dict(env, _PYVIRTCTL_COMPLETE="complete_bash")

        def clear_cache(_: int) -> None:
            shutil.rmtree(cache, ignore_errors=True)

        def start_vm(i: int) -> list[str]:
            return bl.cli_argv("--kubeconfig", kc, "start", f"bench-start-{i if i >= 0 else n - 1 - i}")

        results: list[tuple[bl.Stats, float | None, str]] = []
        go = bl.virtctl_ref()
        go_env = dict(env, KUBECONFIG=kc)
        go_rows: dict[str, bl.Stats] = {}
        if go:
            # the same scenarios with the Go binary, first, on VMs of their own
            sim.apply([bl.vm_object(f"bench-go-{i}") for i in range(n + 2)])
            bl.settle(sim)
            for label, argv in (
                ("start VM", lambda i: [go, "start", f"bench-go-{i if i >= 0 else n - 1 - i}"]),
                ("--help", lambda i: [go, "--help"]),
                ("start --help", lambda i: [go, "start", "--help"]),
                ("version --client", lambda i: [go, "version", "--client"]),
                ("error: start missing VM (404)", lambda i: [go, "start", "no-such-vm"]),
                ("error: unknown flag", lambda i: [go, "start", "--nope"]),
            ):
                go_rows[label] = bl.measure(f"virtctl {label}", argv, n, go_env)
        results.append((bl.measure("python -c pass (floor)", lambda i: [sys.executable, "-c", "pass"], n, env),
                        None, ""))
        def go_ref(label: str) -> float:
            return go_rows[label].median if label in go_rows else bl.VIRTCTL_START_MS

        results.append((bl.measure("start VM", start_vm, n, env), go_ref("start VM"), "<= 5x, RSS <= virtctl's"))
        results.append((bl.measure("--help", lambda i: bl.cli_argv("--help"), n, env), go_ref("--help"), "<= 4x"))
        results.append((bl.measure("start --help", lambda i: bl.cli_argv("start", "--help"), n, env),
                        go_ref("start --help"), "<= 4x"))
        results.append((bl.measure("version --client", lambda i: bl.cli_argv("version", "--client"), n, env),
                        go_ref("version --client"), ""))
        results.append((bl.measure("error: start missing VM (404)",
                                   lambda i: bl.cli_argv("--kubeconfig", kc, "start", "no-such-vm"), n, env),
                        go_ref("error: start missing VM (404)"), ""))
        results.append((bl.measure("error: unknown flag", lambda i: bl.cli_argv("start", "--nope"), n, env),
                        go_ref("error: unknown flag"), ""))
        tab_cmd = bl.cli_env(home, {"XDG_CACHE_HOME": cache, "_PYVIRTCTL_COMPLETE": "complete_bash",
                                     "COMP_LINE": "pyvirtctl st", "COMP_POINT": "12"})
        results.append((bl.measure("TAB: subcommand (`st`)", lambda i: bl.cli_argv(), n, tab_cmd), None,
                        "<= 150 ms"))
        tab_line = f"pyvirtctl --kubeconfig {tab_kc} start -n tab "
        tab_vm = dict(comp_env, COMP_LINE=tab_line, COMP_POINT=str(len(tab_line)))
        vm_stats = bl.measure(f"TAB: {TAB_VMS} VM names (cold cache)", lambda i: bl.cli_argv(), n, tab_vm,
                              before=clear_cache)
        results.append((vm_stats, None, "<= 150 ms"))
        warm = bl.measure(f"TAB: {TAB_VMS} VM names (warm cache)", lambda i: bl.cli_argv(), n, tab_vm)
        results.append((warm, None, "<= 150 ms"))
        probe = bl.run_once(bl.cli_argv(), tab_vm, capture=True)
        candidates = len([x for x in probe.stdout.decode(errors="replace").splitlines() if x.strip()])

        print(f"# pyvirtctl start-up benchmark ({n} runs per scenario, whole processes)")
        print(f"# {bl.machine_line()}")
        print("# wall = fork to exit of `python -m pyvirtctl` (via GNU time for the RSS); CPU = user+system;"
              " on a busy machine compare the min column and the python floor")
        if go:
            print(f"# virtctl column: {go}, measured in this run against the same simulator")
        else:
            print(f"# {bl.VIRTCTL_NOTE}: start {bl.VIRTCTL_START_MS:.0f} ms, {bl.VIRTCTL_START_RSS_MIB:.0f} MiB")
        print(bl.HEADER + "   goal (/ref = pyvirtctl median / virtctl median)")
        for stats, r, goal in results:
            print(stats.row(r) + (f"   {goal}" if goal else ""))
        if go:
            for stats in go_rows.values():
                print(stats.row(stats.median))
        else:
            print(f"{'virtctl start VM (reference)':<34} {bl.VIRTCTL_START_MS:8.1f} {'-':>8} {'-':>8} {'-':>8}   "
                  f"{bl.VIRTCTL_START_RSS_MIB:6.1f} {'-':>6}     1.0x")
        print(f"# VM-name TAB printed {candidates} candidates"
              + ("" if candidates >= TAB_VMS else " (VM-name completion is not available in this build)"))

        print("\n# python -X importtime (sum of self times, best of 3)")
        for label, tail, extra in (
            ("start VM", ["--kubeconfig", kc, "start", "bench-imp-{i}"], None),
            ("--help", ["--help"], None),
            ("start --help", ["start", "--help"], None),
            ("version --client", ["version", "--client"], None),
            ("TAB: subcommand", [], {"_PYVIRTCTL_COMPLETE": "complete_bash", "COMP_LINE": "pyvirtctl st",
                                     "COMP_POINT": "12"}),
            ("TAB: VM names", [], {"_PYVIRTCTL_COMPLETE": "complete_bash",
                                   "COMP_LINE": f"pyvirtctl --kubeconfig {tab_kc} start -n tab ",
                                   "COMP_POINT": str(len(f"pyvirtctl --kubeconfig {tab_kc} start -n tab "))}),
        ):
            bl.print_import_profile(label, bl.import_profile(tail, dict(env, **(extra or {}))))
        return 0
    finally:
        sim.stop()
        tab_sim.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
