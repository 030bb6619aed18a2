"""Run every benchmark in tests/bench (each bench_*.py prints its own figures): `make bench`.

    python tests/bench/run_all.py [NAME ...]     # e.g. `run_all.py startup bulk`; BENCH_RUNS=N for quick runs
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv: list[str]) -> int:
    scripts = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
    if argv:
        wanted = {a.removeprefix("bench_").removesuffix(".py") for a in argv}
        scripts = [s for s in scripts if os.path.basename(s)[6:-3] in wanted]
    failed = []
    for path in scripts:
        name = os.path.basename(path)
        print(f"\n===== {name} =====", flush=True)
        t0 = time.monotonic()
        rc = subprocess.call([sys.executable, path], cwd=os.path.dirname(HERE))
        print(f"===== {name}: exit {rc} in {time.monotonic() - t0:.0f} s =====", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
