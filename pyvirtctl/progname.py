"""Who we are, from argv[0]: every name derived from it comes from `executable_name` here.

* `executable_name`: the command the shell runs (`pyvirtctl`, `kubectl-virt`, ...); a Python entry
  (`__main__.py`, `-m`, `-c`, a `.py` script) counts as `pyvirtctl`;
* `program_name`: what help and messages say (virtctl's GetProgramName: `kubectl-virt` ->
  `kubectl virt`; our own name stays `pyvirtctl`; anything else says `virtctl`);
* `complete_var`: the shell-completion environment variable (`_PYVIRTCTL_COMPLETE`);
* `self_command`: how to run this program again from a shell (ssh's ProxyCommand);
* the User-Agent's command (client-go's `<command>/<version> ...`) is `executable_name` too.
"""

from __future__ import annotations

import os
import sys

_PYTHON_ENTRIES = ("", "-c", "-m", "__main__.py")


def _launched_by_python(argv0: str) -> bool:
    base = os.path.basename(argv0)
    return base in _PYTHON_ENTRIES or base.endswith(".py")


def executable_name(argv0: str | None = None) -> str:
    """The command name the shell sees (the completion scripts register this one)."""
    argv0 = (sys.argv[0] if sys.argv else "") if argv0 is None else argv0
    return "pyvirtctl" if _launched_by_python(argv0) else os.path.basename(argv0)


def program_name(argv0: str | None = None) -> str:
    """virtctl's GetProgramName: `kubectl-virt` -> `kubectl virt`; our own name stays `pyvirtctl`."""
    base = executable_name(argv0)
    if base.endswith("-virt"):
        return base[: -len("-virt")] + " virt"
    if base.startswith("pyvirtctl"):
        return "pyvirtctl"
    return "virtctl"


def complete_var(argv0: str | None = None) -> str:
    """The shell-completion environment variable, from the real executable name (never with spaces)."""
    return "_" + "".join(c if c.isalnum() else "_" for c in executable_name(argv0)).upper() + "_COMPLETE"


def self_command(argv0: str | None = None, executable: str | None = None) -> str:
    """How to run this program again from a shell: `python -m pyvirtctl` or the script that was run."""
    import shlex  # only ssh/scp need it

    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    if _launched_by_python(argv0):
        return f"{shlex.quote(executable)} -m pyvirtctl"
    if os.sep in argv0:
        argv0 = os.path.abspath(argv0)
    return shlex.quote(argv0)
