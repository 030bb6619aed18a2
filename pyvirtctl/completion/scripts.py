"""The shell scripts `completion bash|zsh|fish|powershell` prints: templates shipped as files next to
this module (`scripts/completion.<shell>.in`), filled in with the program's name and variable."""

from __future__ import annotations

import os

_FILES = {"bash": "completion.bash.in", "zsh": "completion.zsh.in", "fish": "completion.fish.in",
          "powershell": "completion.ps1.in"}
_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")


def _func_name(prog: str) -> str:
    return "_" + "".join(c if c.isalnum() else "_" for c in prog) + "_completion"


def script(shell: str, prog: str, complete_var: str) -> str:
    """The completion script for `shell` and the executable name `prog` (no spaces)."""
    with open(os.path.join(_DIR, _FILES[shell]), encoding="utf-8") as fh:
        out = fh.read()
    for key, value in (("prog", prog), ("fn", _func_name(prog)), ("var", complete_var)):
        out = out.replace("@" + key + "@", value)
    return out
