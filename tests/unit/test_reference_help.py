"""Help texts pinned byte for byte as the reference virtctl v1.9.0 prints them (its program name
replaced), for the commands listed in tests/fixtures/reference_help.json, and their lines in the root
command listing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyvirtctl.cli import main

HELP = json.loads((Path(__file__).parents[1] / "fixtures" / "reference_help.json").read_text())

# `virtctl --help` lines of these commands (names padded to 17 characters, then the Short)
LISTING = [
    "  adm               Administrate KubeVirt configuration.",
    "  credentials       Manipulate credentials on a virtual machine.",
    "  objectgraph       Returns dependency graph related to a VM|VMI.",
    "  permitted-devices List the permitted devices for vmis.",
]


@pytest.mark.parametrize("command", sorted(HELP))
def test_help_is_the_references(command, capsys):
    assert main([*command.split(" "), "--help"], argv0="pyvirtctl") == 0
    assert capsys.readouterr().out == HELP[command]


def test_root_listing_names_the_commands(capsys):
    assert main(["--help"], argv0="pyvirtctl") == 0
    lines = capsys.readouterr().out.splitlines()
    for line in LISTING:
        assert line in lines
