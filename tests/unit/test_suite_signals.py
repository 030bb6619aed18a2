"""The suite must not depend on how it was launched: under `nohup` or as a background job of a
non-interactive shell, SIGINT/SIGHUP arrive ignored and every child would inherit that, so the
signal tests (Ctrl+C in console, vnc, --wait) would hang. tests/conftest.py restores them."""

import os
import signal
import subprocess
import sys

HERE = os.path.dirname(__file__)
ROOT = os.path.dirname(os.path.dirname(HERE))


def _ignore() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def test_children_of_a_run_started_with_signals_ignored_get_defaults():
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.join(HERE, "sigprobe_check.py")],
        cwd=ROOT, preexec_fn=_ignore, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "1 passed" in r.stdout
