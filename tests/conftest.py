"""Shared fixtures: a simulator per test module (reset before each test) and CLI runners."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyvirtctl.sim.harness import REPO_ROOT, SimProcess

# Signals the tests send to the processes they start. A run launched with them ignored (a background
# job of a non-interactive shell, `nohup`) would pass SIG_IGN on to every child; give them back their
# default disposition here, once, so that every child (CLI, simulator, viewer) starts with it.
RESTORED_SIGNALS = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT)


def pytest_configure(config: pytest.Config) -> None:
    for sig in RESTORED_SIGNALS:
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)


@pytest.fixture(scope="module")
def _sim_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    proc = SimProcess.start(tmp_path_factory.mktemp("sim"), delay=0)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def sim(_sim_process: SimProcess) -> SimProcess:
    _sim_process.reset()
    return _sim_process


def _clean_env(home: Path, extra: dict | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": REPO_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if extra:
        env.update({k: v for k, v in extra.items() if v is not None})
    return env


def _runner(home: Path, prefix: list[str]) -> Callable[..., subprocess.CompletedProcess]:
    def run(args: list[str], input: str | None = None, env: dict | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pyvirtctl", *prefix, *args], input=input,
                              capture_output=True, text=True, env=_clean_env(home, env), timeout=timeout,
                              cwd=str(home))
    return run


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return home


@pytest.fixture
def cli(sim: SimProcess, cli_home: Path) -> Callable[..., subprocess.CompletedProcess]:
    """run_cli(*args, input=None, env=None, timeout=30): pyvirtctl with --kubeconfig pointing at `sim`."""
    run = _runner(cli_home, ["--kubeconfig", sim.kubeconfig])

    def run_cli(*args: str, input: str | None = None, env: dict | None = None,
                timeout: float = 30) -> subprocess.CompletedProcess:
        return run(list(args), input=input, env=env, timeout=timeout)

    return run_cli


@pytest.fixture
def run_cli_raw(cli_home: Path) -> Callable[..., subprocess.CompletedProcess]:
    """run_cli_raw(args, input=None, env=None, timeout=30): pyvirtctl without an injected --kubeconfig."""
    run = _runner(cli_home, [])

    def run_cli_raw(args: list[str] | str, input: str | None = None, env: dict | None = None,
                    timeout: float = 30) -> subprocess.CompletedProcess:
        return run([args] if isinstance(args, str) else list(args), input=input, env=env, timeout=timeout)

    return run_cli_raw
