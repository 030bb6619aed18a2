"""Signals aimed at one thread of a process under test."""

from __future__ import annotations

import ctypes
import os


def signal_a_helper_thread(pid: int, sig: int) -> None:
    """Send `sig` to one of the process's threads other than the main one (tgkill). A signal sent to a
    process may land on any thread; this makes the unlucky case certain."""
    helpers = [int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid]
    assert helpers, "the process runs a helper thread"
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.tgkill(pid, helpers[0], sig) == 0, os.strerror(ctypes.get_errno())
