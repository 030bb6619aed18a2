"""`create vm|instancetype|preference|clone` and `template convert` against the reference virtctl's recorded answers.

tests/fixtures/create_cases.json holds, for each argument list, what virtctl v1.9.0 printed (stdout,
stderr, exit status), recorded by scripts/gen_create_fixtures.py. Each case runs pyvirtctl's real
entry point (`cli.main`, in-process) in a scratch directory with the case's files and no kubeconfig,
and must give the same bytes. Only the random five-character name suffixes are normalised, and only
when they use Kubernetes' random-name alphabet (so a suffix from any other alphabet fails the test).
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from pyvirtctl.cli import main

CASES = json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "create_cases.json").read_text())
STDIN = "<stdin>"  # the case's standard input, not a file
SUFFIX = re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{5}\b")


def normalise(text: str) -> str:
    return SUFFIX.sub("-XXXXX", text)


def run_cli(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            files: dict[str, str] | None = None) -> tuple[int, str, str]:
    for name, content in (files or {}).items():
        if name == STDIN:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content.encode())))
        else:
            (tmp_path / name).write_text(content)
    for var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    rc = main(argv, argv0="virtctl")
    out, err = capsys.readouterr()
    return rc, out, err


def test_table_is_large_and_mixed() -> None:
    assert len(CASES) >= 60
    assert sum(1 for c in CASES if c["rc"] == 0) >= 30
    assert sum(1 for c in CASES if c["rc"] != 0) >= 30
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_same_output_as_virtctl(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_cli(case["argv"], tmp_path, monkeypatch, capsys, case["files"])
    assert normalise(out) == normalise(case["stdout"])
    assert err == case["stderr"]
    assert rc == case["rc"]


def test_random_names_use_the_kubernetes_alphabet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    names = set()
    for _ in range(20):
        rc, out, _ = run_cli(["create", "vm", "--volume-import", "type:blank,size:1Gi"], tmp_path, monkeypatch, capsys)
        assert rc == 0
        vm = re.search(r"^  name: vm-(\w+)$", out, re.M)
        vol = re.search(r"name: imported-volume-(\w+)$", out, re.M)
        assert vm and vol
        for suffix in (vm.group(1), vol.group(1)):
            assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]{5}", suffix)
            names.add(suffix)
    assert len(names) > 30  # random, not fixed
