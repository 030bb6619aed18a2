"""The garbage collector is paused for start-up in the program's own process and back on, with the
start-up objects frozen, once a command runs; a library caller of cli.main keeps its collector."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

from pyvirtctl import cli, collector
from pyvirtctl.sim.harness import REPO_ROOT

# Runs as the program would (`python -m pyvirtctl ...` imports pyvirtctl.__main__), with a spy on the
# moment a command starts.
PROBE = r"""
import gc, json, runpy, sys
from pyvirtctl import goflags
seen = []
original = goflags.GoCommand.invoke
def spy(self, ctx):
    seen.append({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()})
    return original(self, ctx)
goflags.GoCommand.invoke = spy
sys.argv = ["pyvirtctl", *sys.argv[1:]]
try:
    runpy.run_module("pyvirtctl", run_name="__main__")
except SystemExit as e:
    code = e.code
print(json.dumps({"rc": code, "at_start": seen, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}),
      file=sys.stderr)
"""


def probe(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    return json.loads(proc.stderr.strip().splitlines()[-1])


def test_paused_during_start_up_and_resumed_frozen_when_the_command_runs() -> None:
    r = probe("version", "--client")
    assert r["rc"] == 0
    assert r["at_start"] == [{"enabled": False, "frozen": 0}]  # nothing collected or frozen while importing
    assert r["enabled"] is True and r["frozen"] > 1000  # on again; the imported objects skipped by its passes


def test_help_never_reaches_a_command_and_stays_paused_until_exit() -> None:
    r = probe("--help")
    assert r == {"rc": 0, "at_start": [], "enabled": False, "frozen": 0}


def test_library_callers_keep_their_collector() -> None:
    frozen = gc.get_freeze_count()
    assert gc.isenabled()
    assert cli.main(["version", "--client"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_resume_without_pause_does_nothing() -> None:
    frozen = gc.get_freeze_count()
    collector.resume()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_pause_then_resume() -> None:
    try:
        collector.pause()
        assert not gc.isenabled()
        collector.resume()
        assert gc.isenabled() and gc.get_freeze_count() > 0
        collector.resume()  # once only
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
