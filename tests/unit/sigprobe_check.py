"""Run by test_suite_signals.py inside a pytest started with SIGINT and SIGHUP ignored."""

import subprocess
import sys

PROBE = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler," \
        " signal.getsignal(signal.SIGHUP) is signal.SIG_DFL)"


def test_children_get_default_signal_handling():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]
