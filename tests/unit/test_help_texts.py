"""Every help text names the program: no `{{ProgramName}}` template may reach the user."""

from __future__ import annotations

import pytest

from pyvirtctl.app import COMMANDS
from pyvirtctl.cli import main

SUBCOMMANDS = [name.split(" ") for name in COMMANDS if COMMANDS[name][1] is not None]


@pytest.mark.parametrize("argv0", ["pyvirtctl", "kubectl-virt"])
@pytest.mark.parametrize("words", SUBCOMMANDS, ids=[" ".join(w) for w in SUBCOMMANDS])
def test_help_shows_the_program_name(capsys, words, argv0):
    assert main([*words, "--help"], argv0=argv0) == 0
    out = capsys.readouterr().out
    assert "{{" not in out and "}}" not in out, out
    prog = "pyvirtctl" if argv0 == "pyvirtctl" else "kubectl virt"
    assert f"{prog} {words[0]}" in out
