"""click's private internals are reached from one adapter module only (pyvirtctl/clickcompat.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "pyvirtctl"
ADAPTER = ROOT / "clickcompat.py"
PRIVATE = re.compile(r"_protected_args|_custom_shell_complete|_resolve_context|typer\._click|typer import _click")


def sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if p != ADAPTER and "sim" not in p.relative_to(ROOT).parts)


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_but_the_adapter_touches_click_privates(path: Path) -> None:
    hits = [f"{n}: {line.strip()}" for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if PRIVATE.search(line)]
    assert hits == [], f"{path.relative_to(ROOT)} reaches into click: {hits} (use pyvirtctl.clickcompat)"


def test_the_adapter_is_where_they_are() -> None:
    assert len(PRIVATE.findall(ADAPTER.read_text(encoding="utf-8"))) >= 4
