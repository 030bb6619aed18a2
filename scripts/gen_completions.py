"""Write the shipped completion scripts in completions/ (`make completions`); `--check` fails if stale.

The scripts are generated for the program name `pyvirtctl` and are installed as wheel data
(pyproject's hatch shared-data) in share/bash-completion/completions, share/zsh/site-functions and
share/fish/vendor_completions.d.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pyvirtctl.completion.scripts import script  # noqa: E402

PROG = "pyvirtctl"
VAR = "_PYVIRTCTL_COMPLETE"
FILES = {
    "bash": "pyvirtctl.bash",
    "zsh": "_pyvirtctl",
    "fish": "pyvirtctl.fish",
    "powershell": "pyvirtctl.ps1",
}


def expected() -> dict[str, str]:
    return {os.path.join(ROOT, "completions", name): script(shell, PROG, VAR) for shell, name in FILES.items()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in expected().items():
        try:
            with open(path, encoding="utf-8") as fh:
                current = fh.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if not check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
    if check and stale:
        print("stale completion scripts (run `make completions`): " + ", ".join(stale), file=sys.stderr)
        return 1
    for p in stale:
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
