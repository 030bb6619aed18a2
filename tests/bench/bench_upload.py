"""image-upload benchmark: throughput and peak memory of a disk image upload (printed, never asserted).

    python tests/bench/bench_upload.py [--mib 1024] [--runs 6] [--flat-mib 16] [--virtctl /path/to/virtctl]

Starts a simulator, writes an image of --mib MiB, and uploads it into a new PVC with `image-upload pvc`
(`--insecure`, as the Go virtctl needs against the simulator's proxy) --runs times per client, the
simulator reset before each run; an untimed upload per client first, then turns whose order alternates,
with freed pages held in the VM for the run where the kernel allows (benchlib.free_pages_held). Figures per client:

* throughput: MiB/s as the simulator's upload proxy saw the POST body arrive (its request log's `bytes`
  and `seconds`), the same measurement for every client;
* wall time of the whole command (it includes virtctl's 2 s poll interval while the upload pod starts);
* peak RSS of the client process (its own rusage, from wait4) and its CPU time;
* the stored volume's sha256 against the file's, once per client.

Then pyvirtctl's peak RSS for a --flat-mib image beside the big one: streaming keeps it flat.
With --virtctl (default: $VIRTCTL_REF) the Go virtctl is measured the same way, in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from pyvirtctl.sim.harness import REPO_ROOT, SimProcess  # noqa: E402
from tests.bench.benchlib import free_pages_held, precompile, runs, virtctl_ref  # noqa: E402


def write_image(path: str, mib: int) -> str:
    """`mib` MiB of incompressible-looking bytes (a SHA-256 counter stream); returns its sha256."""
    digest = hashlib.sha256()
    block = bytearray()
    counter = 0
    while len(block) < 1 << 20:
        block += hashlib.sha256(counter.to_bytes(8, "big")).digest()
        counter += 1
    with open(path, "wb") as fh:
        for i in range(mib):
            piece = i.to_bytes(8, "big") + bytes(block[8:])
            fh.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def run_once(sim: SimProcess, argv: list[str], env: dict[str, str]) -> dict:
    sim.reset()
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.stderr.close() if proc.stderr else None
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err.strip()}")
    posts = [e for e in sim.requests() if e.get("server") == "uploadproxy" and e["method"] == "POST"
             and e["status"] == 200]
    post = posts[-1]
    return {"wall": wall, "rss_mib": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime,
            "mib_s": post["bytes"] / (1 << 20) / max(post.get("seconds", 0), 1e-6), "bytes": post["bytes"]}


def measure_all(clients: list[tuple[str, list[str]]], sim: SimProcess, env: dict[str, str], n: int,
                expected: str) -> list[dict]:
    """Each client `n` times, taking turns (load from elsewhere on the machine hits both alike)."""
    samples: dict[str, list[dict]] = {name: [] for name, _ in clients}
    intact: dict[str, bool] = {}
    for _name, argv in clients:
        run_once(sim, argv, env)  # untimed: the first upload after start pays for the proxy's cold start
    for turn in range(n):
        # the order alternates: whoever goes second in a turn inherits the first one's page cache state
        for name, argv in (clients if turn % 2 == 0 else clients[::-1]):
            samples[name].append(run_once(sim, argv, env))
            stored = sim.volume("default", "bench")
            intact[name] = intact.get(name, True) and stored is not None and stored["sha256"] == expected
    rows = [summary(name, samples[name], intact[name]) for name, _ in clients]
    if len(clients) == 2:  # each turn's ratio: load that drifts during the run hits both clients of a turn alike
        first, second = (samples[name] for name, _ in clients)
        rows[0]["paired"] = sorted(a["mib_s"] / b["mib_s"] for a, b in zip(first, second, strict=True))
    return rows


def summary(name: str, samples: list[dict], ok: bool) -> dict:
    rates = [s["mib_s"] for s in samples]
    return {"name": name, "mib_s": statistics.median(rates), "min": min(rates), "max": max(rates),
            "wall": statistics.median(s["wall"] for s in samples), "rss": max(s["rss_mib"] for s in samples),
            "cpu": statistics.median(s["cpu"] for s in samples), "intact": ok}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mib", type=int, default=1024, help="image size in MiB (default 1024)")
    p.add_argument("--runs", type=int, default=runs(6), help="uploads per client (default 6, or $BENCH_RUNS)")
    p.add_argument("--flat-mib", type=int, default=16, help="small image for the flat-memory figure")
    p.add_argument("--virtctl", default=None, help="Go virtctl binary to measure too (default: $VIRTCTL_REF)")
    args = p.parse_args()
    ref = args.virtctl or virtctl_ref()
    precompile()
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp, free_pages_held() as pages:
        sim = SimProcess.start(os.path.join(tmp, "sim"), delay=0)
        try:
            image = os.path.join(tmp, "disk.img")
            expected = write_image(image, args.mib)
            small = os.path.join(tmp, "small.img")
            small_sha = write_image(small, args.flat_mib)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8",
                   "PYTHONPATH": REPO_ROOT, "KUBECONFIG": sim.kubeconfig}

            def argv(binary: list[str], path: str) -> list[str]:
                return [*binary, "image-upload", "pvc", "bench", f"--size={args.mib * 2}Mi", f"--image-path={path}",
                        "--insecure"]

            py = [sys.executable, "-m", "pyvirtctl"]
            clients = [("pyvirtctl", argv(py, image))] + ([("virtctl", argv([ref], image))] if ref else [])
            rows = measure_all(clients, sim, env, args.runs, expected)
            flat = measure_all([("pyvirtctl", argv(py, small))], sim, env, 1, small_sha)[0]
        finally:
            sim.stop()
    print(f"image-upload of a {args.mib} MiB image into the simulator ({args.runs} runs per client; throughput as "
          "the upload proxy saw the body arrive)")
    print(pages)
    print(f"{'client':<10} {'MiB/s median':>12} {'min':>8} {'max':>8} {'wall s':>8} {'peak RSS MiB':>13} "
          f"{'CPU s':>7}  intact")
    for r in rows:
        print(f"{r['name']:<10} {r['mib_s']:>12.0f} {r['min']:>8.0f} {r['max']:>8.0f} {r['wall']:>8.2f} "
              f"{r['rss']:>13.1f} {r['cpu']:>7.2f}  {'yes' if r['intact'] else 'NO'}")
    if not ref:
        print("(set VIRTCTL_REF=/path/to/virtctl to measure the Go virtctl beside it)")
    print(f"pyvirtctl peak RSS: {flat['rss']:.1f} MiB for {args.flat_mib} MiB, {rows[0]['rss']:.1f} MiB for "
          f"{args.mib} MiB (streamed: memory does not grow with the image)")
    if len(rows) == 2:
        py_row, go_row = rows
        paired = py_row["paired"]
        print(f"pyvirtctl/virtctl throughput, turn by turn: median {statistics.median(paired):.2f}x "
              f"(from {paired[0]:.2f}x to {paired[-1]:.2f}x over {len(paired)} turns)")
        print(f"goal throughput >= virtctl's: {'met' if py_row['mib_s'] >= go_row['mib_s'] else 'not met'} "
              f"({py_row['mib_s'] / go_row['mib_s']:.2f}x); peak RSS <= virtctl's: "
              f"{'met' if py_row['rss'] <= go_row['rss'] else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
