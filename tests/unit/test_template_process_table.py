"""`template process` (and `template create`'s argument checks) against the reference virtctl's recorded answers.

tests/fixtures/template_process_cases.json holds, for each argument list, what virtctl v1.9.0 printed
(stdout, stderr, exit status) for local templates, parameter files and argument errors, recorded by
scripts/gen_template_fixtures.py. Each case runs pyvirtctl's real entry point in a scratch directory
with the case's files and no kubeconfig, and must give the same bytes. Values made by the `expression`
generator are random: the case's `masks` (regular expressions of the value's exact shape) replace them
in both outputs - a value of another shape or length is left unmasked and fails the comparison.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.unit.test_create_table import run_cli

CASES = json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "template_process_cases.json").read_text())


def masked(text: str, masks: list[list[str]]) -> str:
    for pattern, replacement in masks:
        text = re.sub(pattern, replacement, text)
    return text


def test_table_is_large_and_mixed() -> None:
    assert len(CASES) >= 30
    assert sum(1 for c in CASES if c["rc"] == 0) >= 15
    assert sum(1 for c in CASES if c["rc"] != 0) >= 15
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert sum(1 for c in CASES if c["masks"]) >= 5  # generated values are covered


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_same_output_as_virtctl(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_cli(case["argv"], tmp_path, monkeypatch, capsys, case["files"])
    masks = case["masks"]
    assert masked(out, masks) == masked(case["stdout"], masks)
    assert masked(err, masks) == masked(case["stderr"], masks)
    assert rc == case["rc"]


def test_masks_hide_only_generated_values() -> None:
    """The masks match the recorded (random) values, so the cases that use them do compare something."""
    for case in CASES:
        for pattern, _ in case["masks"]:
            assert re.search(pattern, case["stdout"] + case["stderr"]), (case["id"], pattern)
