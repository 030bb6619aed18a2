"""TAB completion in-process against the simulator: what every completion test's `complete` fixture runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyvirtctl.cli import main


def completer(kubeconfig: str, monkeypatch: Any, capsys: Any, home: Path) -> Callable[..., list[str]]:
    """`run(line, shell="fish", registry=None)`: the candidates a shell would get for `line` (`KC` in it
    stands for the simulator's kubeconfig), with a private HOME and no completion cache."""
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("PYVIRTCTL_COMPLETION_CACHE_TTL", "0")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("COMP_POINT", raising=False)

    def run(line: str, shell: str = "fish", registry: dict | None = None) -> list[str]:
        monkeypatch.setenv("_PYVIRTCTL_COMPLETE", f"complete_{shell}")
        monkeypatch.setenv("COMP_LINE", line.replace("KC", kubeconfig))
        capsys.readouterr()
        assert main(argv=[], argv0="pyvirtctl", registry=registry) == 0
        return capsys.readouterr().out.splitlines()

    return run
