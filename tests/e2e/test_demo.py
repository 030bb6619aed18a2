"""`make demo` runs scripts/demo.py: keep it working (here without the simulated delays)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_tour_runs_to_the_end():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--fast"], capture_output=True,
                       text=True, timeout=240, cwd=str(ROOT))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Tour finished." in r.stdout
    assert "VM centos7-1905 was scheduled to start" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert "Uploading" in r.stdout and "completed successfully" in r.stdout
    assert "sha256 of the image and of the downloaded copy: identical" in r.stdout
