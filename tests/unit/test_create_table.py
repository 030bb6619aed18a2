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


# pyvirtctl's additions to these commands' help: -o/--output and --apply (and for vm --wait, --timeout)
ADDED_HELP_LINES = re.compile(
    r"^(  -o, --output string +Output format of the manifest: yaml \(as virtctl prints it\) or json\. "
    r"\(default \"yaml\"\)"
    r"|      --apply +Create the object on the cluster instead of printing its manifest\. With an explicit "
    r"--output, print the created object\."
    r"|      --wait +With --apply: wait until the VM is running, when its run strategy starts it\."
    r"|      --timeout string +With --wait: how long to wait, e\.g\. 90s, 5m\. \(default \"5m\"\))\n", re.M)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_same_output_as_virtctl(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_cli(case["argv"], tmp_path, monkeypatch, capsys, case["files"])
    if case["id"].startswith("help-create-") and case["argv"][-1] in ("-h", "--help"):
        out, n = ADDED_HELP_LINES.subn("", out)
        assert n == (4 if case["argv"][1] == "vm" else 2)
    assert normalise(out) == normalise(case["stdout"])
    assert err == case["stderr"]
    assert rc == case["rc"]


CREATE_OK = [c for c in CASES if c["rc"] == 0 and c["argv"][:1] != ["template"] and "create" in c["argv"]
             and not c["id"].startswith("help-")]


@pytest.mark.parametrize("case", CREATE_OK, ids=[c["id"] for c in CREATE_OK])
def test_json_output_is_the_same_manifest(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`-o json` (a pyvirtctl addition) prints the object virtctl's YAML describes, in Go field order."""
    import yaml

    from pyvirtctl.kubevirt.manifests.decode import (
        _yaml_loader,  # go-yaml's scalar rules (2024-02-30 is a string)
    )

    rc, out, err = run_cli([*case["argv"], "-o", "json"], tmp_path, monkeypatch, capsys, case["files"])
    assert rc == 0 and err == case["stderr"]
    assert out.endswith("}\n")
    got = json.loads(normalise(out))
    assert got == yaml.load(normalise(case["stdout"]), Loader=_yaml_loader())  # noqa: S506 - a SafeLoader
    assert list(got)[:2] == ["kind", "apiVersion"]  # TypeMeta first, as json.Marshal writes it


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


def test_create_stays_light(tmp_path: Path) -> None:
    """`create vm` is a local command: no YAML library, TLS, HTTP pool, rich or kubernetes package."""
    from tests.unit import test_import_budget as budget

    modules, output = budget.loaded_modules(tmp_path, ["create", "vm", "--name", "x", "--volume-import",
                                                       "type:blank,size:1Gi", "--user", "u"])
    assert "kind: VirtualMachine" in output
    assert budget.heavy(modules, budget.FORBIDDEN + ("yaml", "urllib3", "ssl", "rich")) == []
