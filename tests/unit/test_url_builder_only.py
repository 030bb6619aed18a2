"""No module formats an API path itself: kube/paths.py is the one builder (it checks every part).

The scan reads every module of pyvirtctl/ (the simulator aside: it is the server) and fails on any
string or f-string piece that looks like part of an API path. Docstrings are prose and skipped.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "pyvirtctl"
BUILDER = ROOT / "kube" / "paths.py"
PATH_PIECE = re.compile(r"(^|/)apis?(/|$)|(^|/)namespaces/|/virtualmachine|/subresources\.kubevirt\.io")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def path_pieces(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, text) of every string piece in `source` that looks like part of an API path."""
    tree = ast.parse(source, filename)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if PATH_PIECE.search(node.value):
                found.append((node.lineno, node.value))
    return found


def modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if p != BUILDER and "sim" not in p.relative_to(ROOT).parts)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_formats_an_api_path(path: Path) -> None:
    pieces = path_pieces(path.read_text(encoding="utf-8"), str(path))
    assert pieces == [], f"{path.relative_to(ROOT)} builds API paths by hand (use pyvirtctl.kube.paths): {pieces}"


@pytest.mark.parametrize(
    "source",
    [
        'p = f"{KV}/namespaces/{ns}/virtualmachines/{name}"',
        'p = "/apis/kubevirt.io/v1/" + name',
        'p = "/api/v1/namespaces/" + ns + "/secrets"',
        'p = "/".join(["", "apis", group])',
        'x = base + f"/virtualmachineinstances/{n}/console"',
        'URL = "/apis/subresources.kubevirt.io"',
    ],
)
def test_the_scan_finds_hand_made_paths(source: str) -> None:
    assert path_pieces(source), source


def test_the_scan_leaves_prose_and_plain_words_alone() -> None:
    source = '"""Docstrings may say /apis/kubevirt.io/v1 freely."""\nplural = "virtualmachines"\nkind = "namespace"\n'
    assert path_pieces(source) == []


def test_the_builder_is_where_the_paths_are() -> None:
    assert path_pieces(BUILDER.read_text(encoding="utf-8"))  # the scan would see them there
