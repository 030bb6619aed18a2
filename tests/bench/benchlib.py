"""Shared helpers for the benchmarks in tests/bench (plain Python, no pytest).

Every scenario runs pyvirtctl as a whole process, the way a shell or a TAB press runs it:
wall time from fork to exit, and the child's peak RSS from ``os.wait4`` (its own rusage, so one
run's figure is never mixed with another's). Figures are printed, never asserted.

Go virtctl is measured side by side when ``VIRTCTL_REF`` names its binary (the same scenarios, the
same simulator, in the same run, so ratios compare like with like). Without it, the virtctl column
holds the reference figures of the performance goals (``virtctl start VM`` against a local server:
22 ms median, 42 MiB peak RSS).
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# The Go virtctl reference figures (see module docstring): milliseconds and MiB.
VIRTCTL_START_MS = 22.0
VIRTCTL_START_RSS_MIB = 42.0
VIRTCTL_NOTE = "virtctl column: reference figures of the goals (set VIRTCTL_REF=/path/to/virtctl to measure it)"


def virtctl_ref() -> str | None:
    """The Go virtctl binary to measure beside pyvirtctl (``VIRTCTL_REF``), or None."""
    path = os.environ.get("VIRTCTL_REF", "")
    if not path:
        return None
    if not os.access(path, os.X_OK):
        raise SystemExit(f"VIRTCTL_REF={path} is not an executable file")
    return os.path.abspath(path)


def runs(default: int) -> int:
    """How many repetitions: BENCH_RUNS overrides every scenario's default (e.g. BENCH_RUNS=5 for a quick look)."""
    value = os.environ.get("BENCH_RUNS", "")
    return max(1, int(value)) if value.isdigit() else default


# Free page reporting (virtio-balloon): a VM hands pages that stay free back to its host, and the next
# write into them faults each one in again. Measured here: writing 1 GiB into the page cache costs 0.17 s
# of system time with pages freed a moment ago and 1.1-2.2 s with pages freed 3 s earlier. Every run of a
# transfer benchmark writes a fresh 1 GiB file (the client's download, the simulator's upload) after the
# previous run's file was removed, so which client meets the slow pages is chance, and it dwarfs the
# difference between the clients. Where the kernel has a knob for how long a page must stay free before it
# is reported, the benchmarks raise it for their own duration (and put it back): both clients then write
# into pages the machine already holds, as on a machine without a balloon.
PAGE_REPORTING_HOLD = "/sys/module/page_reporting/parameters/min_free_ms"


@contextlib.contextmanager
def free_pages_held(hold_ms: int = 300_000) -> Iterator[str]:
    """Hold freed pages in the VM for the benchmark's duration, when the kernel allows; yields a line for the
    report saying what was done (or why not). Set BENCH_KEEP_PAGE_REPORTING=1 to leave the machine alone."""
    if os.environ.get("BENCH_KEEP_PAGE_REPORTING"):
        yield "free page reporting: left as it is (BENCH_KEEP_PAGE_REPORTING)"
        return
    try:
        with open(PAGE_REPORTING_HOLD, encoding="ascii") as fh:
            before = fh.read().strip()
        with open(PAGE_REPORTING_HOLD, "w", encoding="ascii") as fh:
            fh.write(str(hold_ms))
    except OSError as e:
        reason = "no such knob on this kernel" if isinstance(e, FileNotFoundError) else e.strerror
        yield f"free page reporting: not held ({reason}); a VM that reports free pages adds noise to every figure"
        return
    try:
        yield f"free page reporting: freed pages held for the run ({PAGE_REPORTING_HOLD} {before} -> {hold_ms}, restored after)"
    finally:
        try:
            with open(PAGE_REPORTING_HOLD, "w", encoding="ascii") as fh:
                fh.write(before)
        except OSError:
            pass


def cli_env(home: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment like a user's shell: no KUBECONFIG, bytecode caching on (as after pip install)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONPATH": REPO_ROOT,
    }
    env.update(extra or {})
    return env


def precompile() -> None:
    """Write the package's .pyc files, as `pip install` does, so no run pays for compiling sources."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", os.path.join(REPO_ROOT, "pyvirtctl")],
        check=False,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
    )


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "pyvirtctl", *args]


@dataclass
class Sample:
    wall_ms: float
    rss_mib: float
    rc: int
    cpu_ms: float = 0.0  # user + system CPU of the process (less sensitive to a busy machine than wall)
    stdout: bytes = b""
    stderr: bytes = b""


TIME_BIN = "/usr/bin/time"


def run_once(argv: Sequence[str], env: dict[str, str], cwd: str | None = None, timeout: float = 120.0,
             capture: bool = False) -> Sample:
    """One whole process: wall time and its peak RSS.

    The RSS comes from GNU time when it is installed: a child forked from this (large) Python process
    would otherwise report the parent's RSS as its own peak (Linux keeps the pre-exec high-water mark).
    Without it, os.wait4's rusage is used, which can only overstate small processes.
    """
    use_time = os.access(TIME_BIN, os.X_OK)
    rss_file = tempfile.NamedTemporaryFile(prefix="bench-rss-", delete=False) if use_time else None
    full = ([TIME_BIN, "-f", "%M", "-o", rss_file.name, *argv] if rss_file else list(argv))
    out = tempfile.TemporaryFile() if capture else subprocess.DEVNULL
    err = tempfile.TemporaryFile() if capture else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.0005)
        wall = (time.perf_counter() - t0) * 1000.0
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss_kib = float(usage.ru_maxrss)
        if rss_file is not None:
            rss_file.close()
            with open(rss_file.name, encoding="utf-8", errors="replace") as fh:
                lines = [x for x in fh.read().splitlines() if x.strip()]
            if lines and lines[-1].strip().isdigit():
                rss_kib = float(lines[-1].strip())
        so = se = b""
        if capture:
            out.seek(0)
            err.seek(0)
            so, se = out.read(), err.read()
        cpu = (usage.ru_utime + usage.ru_stime) * 1000.0  # GNU time's rusage includes its waited child
        return Sample(wall, rss_kib / 1024.0, proc.returncode, cpu, so, se)
    finally:
        if capture:
            out.close()
            err.close()
        if rss_file is not None:
            os.unlink(rss_file.name)


@dataclass
class Stats:
    name: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def walls(self) -> list[float]:
        return [s.wall_ms for s in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu_median(self) -> float:
        return statistics.median(s.cpu_ms for s in self.samples)

    @property
    def rss_median(self) -> float:
        return statistics.median(s.rss_mib for s in self.samples)

    @property
    def rss_max(self) -> float:
        return max(s.rss_mib for s in self.samples)

    def row(self, ref_ms: float | None = None) -> str:
        w = self.walls
        ratio = f"{self.median / ref_ms:5.1f}x" if ref_ms else "     -"
        rcs = sorted({s.rc for s in self.samples})
        return (f"{self.name:<34} {statistics.median(w):8.1f} {min(w):8.1f} {max(w):8.1f} {self.cpu_median:8.1f}   "
                f"{self.rss_median:6.1f} {self.rss_max:6.1f}   {ratio}   rc={','.join(map(str, rcs))}  n={len(w)}")


HEADER = (f"{'scenario':<34} {'median':>8} {'min':>8} {'max':>8} {'CPU':>8}   {'RSS':>6} {'RSSmax':>6}   {'/ref':>6}\n"
          f"{'':<34} {'ms':>8} {'ms':>8} {'ms':>8} {'ms':>8}   {'MiB':>6} {'MiB':>6}")


def measure(name: str, argv_for: Callable[[int], Sequence[str]], n: int, env: dict[str, str],
            before: Callable[[int], None] | None = None, warmup: int = 1, cwd: str | None = None) -> Stats:
    """Run argv_for(i) n times (after `warmup` unrecorded runs); `before(i)` prepares run i untimed."""
    for i in range(warmup):
        if before:
            before(-1 - i)
        run_once(argv_for(-1 - i), env, cwd=cwd)
    stats = Stats(name)
    for i in range(n):
        if before:
            before(i)
        stats.samples.append(run_once(argv_for(i), env, cwd=cwd))
    return stats


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


@dataclass
class ImportProfile:
    total_self_ms: float
    modules: list[str]
    top: list[tuple[str, float]]  # top-level packages by summed self time

    def has(self, prefix: str) -> bool:
        return any(m == prefix or m.startswith(prefix + ".") for m in self.modules)


def import_profile(argv_tail: Sequence[str], env: dict[str, str], cwd: str | None = None,
                   best_of: int = 3) -> ImportProfile:
    """`python -X importtime -m pyvirtctl ...`: summed self time (best of N), modules, heaviest packages."""
    best: ImportProfile | None = None
    for attempt in range(best_of):
        tail = [a.replace("{i}", str(attempt)) for a in argv_tail]
        s = run_once([sys.executable, "-X", "importtime", "-m", "pyvirtctl", *tail], env, cwd=cwd,
                     capture=True)
        total = 0
        mods: list[str] = []
        by_pkg: dict[str, int] = {}
        for line in s.stderr.decode(errors="replace").splitlines():
            m = _IMPORT_LINE.match(line)
            if not m:
                continue
            self_us, name = int(m.group(1)), m.group(4)
            total += self_us
            mods.append(name)
            pkg = name.split(".")[0]
            by_pkg[pkg] = by_pkg.get(pkg, 0) + self_us
        top = sorted(((k, v / 1000.0) for k, v in by_pkg.items()), key=lambda kv: -kv[1])[:8]
        prof = ImportProfile(total / 1000.0, mods, top)
        if best is None or prof.total_self_ms < best.total_self_ms:
            best = prof
    assert best is not None
    return best


def print_import_profile(label: str, prof: ImportProfile) -> None:
    heavy = [p for p in ("kubernetes", "rich", "rich.table", "websocket", "yaml", "urllib3", "ssl", "pydantic")
             if prof.has(p)]
    print(f"  {label:<32} {prof.total_self_ms:7.1f} ms  {len(prof.modules):4d} modules   "
          f"heavy: {', '.join(heavy) or 'none'}")
    print("      top: " + ", ".join(f"{k} {v:.1f}" for k, v in prof.top))


def start_sim(workdir: str, seed: list[str] | None = None):
    from pyvirtctl.sim.harness import SimProcess

    return SimProcess.start(workdir, seed=seed or [], delay=0)


def settle(sim, path: str = "/version", limit_ms: float = 25.0, budget_s: float = 60.0) -> None:
    """Wait until the simulator answers a cheap request quickly (its controllers have caught up)."""
    deadline = time.monotonic() + budget_s
    fast = 0
    while time.monotonic() < deadline and fast < 3:
        t0 = time.perf_counter()
        sim.request("GET", path)
        fast = fast + 1 if (time.perf_counter() - t0) * 1000 < limit_ms else 0
        time.sleep(0.05)


def vm_object(name: str, namespace: str = "default", labels: dict[str, str] | None = None) -> dict:
    """A small stopped VirtualMachine for the simulator."""
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
        "spec": {
            "runStrategy": "Halted",
            "template": {
                "metadata": {"labels": {"kubevirt.io/vm": name}},
                "spec": {
                    "domain": {"devices": {}, "resources": {"requests": {"memory": "64Mi"}}},
                },
            },
        },
    }


def machine_line() -> str:
    import platform

    try:
        load = os.getloadavg()
        load_s = f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    except OSError:
        load_s = ""
    import typer

    return (f"python {platform.python_version()} ({sys.executable}), typer {typer.__version__}, "
            f"{os.cpu_count()} CPUs, {platform.machine()}, {load_s}")
