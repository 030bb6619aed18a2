"""vmexport download benchmark: throughput and peak RSS for a 1 GiB volume, pyvirtctl beside virtctl.

    PYTHONPATH=. python tests/bench/bench_export.py [--mib 1024] [--runs 4]
    VIRTCTL_REF=/path/to/virtctl PYTHONPATH=. python tests/bench/bench_export.py   # both columns in one run

One simulator (`--state`, so that the volume's file can be written directly) holds a PVC with
KubeVirt content filled with random bytes (incompressible: the bytes on the wire are the volume's
size). Each run is a whole `vmexport download NAME --pvc=disk --output=FILE` process (create the
export, wait, token, download, delete), timed from fork to exit, peak RSS from GNU time:

* `gzip`  - the default: the gzip link, written as it comes;
* `raw`   - `--format=raw`: the same gzip link, gunzipped while written;
* `raw-link` - the simulator offers only the raw link (`export_formats: ["raw"]`): the plain bytes,
  nothing but TLS and the file write on the client's side.

The simulator compresses a volume once (Python's zlib manages ~15-50 MiB/s on random bytes) and keeps
the result; an untimed first download makes it, so the timed ones measure the clients, not the
simulator's gzip. The clients take turns, run after run, in an order that alternates, so that both meet
the same machine load and page cache; freed pages stay in the VM for the run where the kernel allows it
(benchlib.free_pages_held).
Each download is checked (the sha256 of the volume, after gunzip for the gzip files). Figures only,
never assertions: the machine is shared and the simulator runs on it too.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyvirtctl.sim.harness import SimProcess  # noqa: E402
from tests.bench.benchlib import cli_env, free_pages_held, precompile, run_once, virtctl_ref  # noqa: E402

PVC = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
       "metadata": {"name": "disk", "namespace": "default",
                    "annotations": {"cdi.kubevirt.io/storage.contentType": "kubevirt"}},
       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}


def fill(path: str, mib: int) -> str:
    """Random bytes (incompressible) into the volume's file; returns their sha256."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(mib):
            piece = hashlib.sha256(block + i.to_bytes(4, "big")).digest() + block[32:]  # every MiB differs
            h.update(piece)
            f.write(piece)
    return h.hexdigest()


def sha256_of(path: str, gunzip: bool = False) -> str:
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=4)
    args = ap.parse_args()
    precompile()
    ref = virtctl_ref()
    with free_pages_held() as pages:
        return measure(args, ref, pages)


def measure(args: argparse.Namespace, ref: str | None, pages: str) -> int:
    work = tempfile.mkdtemp(prefix="bench-export-")
    state = os.path.join(work, "state.json")
    sim = SimProcess.start(os.path.join(work, "sim"), delay=0, extra_args=["--state", state])
    try:
        sim.apply(PVC)
        want = fill(os.path.join(state + ".volumes", "default", "disk.img"), args.mib)
        assert sim.volume("default", "disk")["sha256"] == want
        env = cli_env(os.path.join(work, "home"), {"KUBECONFIG": sim.kubeconfig})
        os.makedirs(env["HOME"], exist_ok=True)
        clients = [("pyvirtctl", [sys.executable, "-m", "pyvirtctl"])]
        if ref:
            clients.append(("virtctl", [ref]))
        print(f"vmexport download of a {args.mib} MiB volume (random bytes), {args.runs} runs each; "
              "wall from fork to exit, peak RSS (GNU time)")
        print(pages)
        print(f"{'scenario':<12} {'client':<10} {'MiB/s':>8} {'wall s':>8} {'CPU s':>8} {'RSS MiB':>8}  check")
        for scenario, extra, formats in (("gzip", [], None), ("raw", ["--format=raw"], None),
                                         ("raw-link", [], ["raw"])):
            sim.config(export_formats=formats)
            warm = os.path.join(work, "warm")
            run_once([*clients[0][1], "vmexport", "download", "warm", "--pvc=disk", f"--output={warm}", *extra], env,
                     timeout=3600)
            os.unlink(warm) if os.path.exists(warm) else None
            results: dict[str, list] = {c: [] for c, _ in clients}
            for i in range(args.runs):
                # taking turns, in an order that alternates: both meet the same load and the same page cache
                for client, argv in (clients if i % 2 == 0 else clients[::-1]):
                    out = os.path.join(work, f"out-{client}-{i}")
                    s = run_once([*argv, "vmexport", "download", f"b{i}", "--pvc=disk", f"--output={out}", *extra],
                                 env, timeout=1800)
                    if s.rc != 0:
                        check = f"rc={s.rc}"
                    else:
                        check = "ok" if sha256_of(out, gunzip=scenario == "gzip") == want else "BAD"
                    results[client].append((s.wall_ms / 1000, s.cpu_ms / 1000, s.rss_mib, check))
                    os.unlink(out) if os.path.exists(out) else None
            for client, rows in results.items():
                wall = statistics.median(r[0] for r in rows)
                print(f"{scenario:<12} {client:<10} {args.mib / wall:8.1f} {wall:8.2f} "
                      f"{statistics.median(r[1] for r in rows):8.2f} {max(r[2] for r in rows):8.1f}  "
                      f"{','.join(r[3] for r in rows)}", flush=True)
        if not ref:
            print("(set VIRTCTL_REF=/path/to/virtctl for the virtctl rows)")
    finally:
        sim.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
