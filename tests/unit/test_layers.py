"""The layers import downwards only, with no cycle - imports inside functions included.

    cli, app -> commands -> completion, goflags, helptext, runtime -> kubevirt -> streams -> kube
                                                                                -> errors, gotext

The simulator (pyvirtctl/sim) is a separate program and is not part of this graph.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "pyvirtctl"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in ROOT.rglob("*.py") if "sim" not in p.relative_to(ROOT).parts}
    edges: dict[str, set[str]] = {m: set() for m in paths}
    for mod, path in paths.items():
        if path.name == "__init__.py":
            continue  # a package's re-exports are a facade, not a design edge
        package = mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base for a in node.names]
            for name in names:
                while name and name not in paths:
                    name = name.rpartition(".")[0]
                if name and name != mod:
                    edges[mod].add(name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


FORBIDDEN = {
    # the Python API never loads the CLI: no Typer, no click, no parser, no commands
    "pyvirtctl.kubevirt": ("pyvirtctl.commands", "pyvirtctl.cli", "pyvirtctl.app", "pyvirtctl.goflags",
                           "pyvirtctl.runtime", "pyvirtctl.completion", "pyvirtctl.helptext",
                           "pyvirtctl.clickcompat", "pyvirtctl.cmdspec"),
    "pyvirtctl.kube": ("pyvirtctl.kubevirt", "pyvirtctl.commands", "pyvirtctl.streams", "pyvirtctl.goflags",
                       "pyvirtctl.runtime", "pyvirtctl.completion", "pyvirtctl.cli", "pyvirtctl.app"),
    "pyvirtctl.streams": ("pyvirtctl.kubevirt", "pyvirtctl.commands", "pyvirtctl.goflags", "pyvirtctl.cli"),
    "pyvirtctl.goflags": ("pyvirtctl.runtime", "pyvirtctl.commands", "pyvirtctl.kubevirt"),
    "pyvirtctl.completion": ("pyvirtctl.cli", "pyvirtctl.commands"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_downwards(layer: str) -> None:
    bad = sorted(
        (mod, dep)
        for mod, deps in graph().items()
        if mod == layer or mod.startswith(layer + ".")
        for dep in deps
        if any(dep == f or dep.startswith(f + ".") for f in FORBIDDEN[layer])
    )
    assert bad == []


def test_the_api_needs_no_cli_framework() -> None:
    third_party = set()
    for path in (ROOT / "kubevirt").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mod = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                third_party.add((mod or "").split(".")[0])
    assert not third_party & {"typer", "click", "rich"}


def test_the_python_api_loads_no_cli() -> None:
    """`from pyvirtctl import Client` in a notebook: no Typer, click or rich gets imported."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pyvirtctl import Client\n"
        "from pyvirtctl.kubevirt import bulk, client, expose, lifecycle, requests, waiting\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click', 'rich')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(ROOT.parent)).stdout
    assert out.strip() == "[]"
