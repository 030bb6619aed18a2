"""`completion bash|zsh|fish|powershell`: print the shell completion script (it never edits rc files)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pyvirtctl.errors import UsageError
from pyvirtctl.goflags import go_command, go_quote, maximum_args

LONG = """Generate the autocompletion script for {{ProgramName}} for the specified shell.
The script is printed on standard output; nothing is installed and no shell start-up file is changed.

  bash:        source <({{ProgramName}} completion bash)
               (needs the bash-completion package; to load it in every session, save it as
               ~/.local/share/bash-completion/completions/{{ProgramName}})
  zsh:         source <({{ProgramName}} completion zsh)     (after compinit)
               or save it as _{{ProgramName}} in a directory on $fpath
  fish:        {{ProgramName}} completion fish > ~/.config/fish/completions/{{ProgramName}}.fish
  powershell:  {{ProgramName}} completion powershell | Out-String | Invoke-Expression

Packages installed with pip or pipx also ship these scripts in share/bash-completion/completions,
share/zsh/site-functions and share/fish/vendor_completions.d."""


def _complete_shells(ctx: typer.Context, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    from pyvirtctl.completion import complete_shells

    return complete_shells(ctx, args, incomplete)


@go_command(
    "completion",
    use="completion [bash|zsh|fish|powershell]",
    short="Generate the autocompletion script for the specified shell",
    long=LONG,
    example="  # Enable completion in the current bash session:\n  source <({{ProgramName}} completion bash)",
    args=maximum_args(1),
)
def completion_cmd(
    ctx: typer.Context,
    shells: Annotated[list[str] | None, typer.Argument(autocompletion=_complete_shells)] = None,
    no_descriptions: Annotated[
        bool, typer.Option("--no-descriptions", help="disable completion descriptions")
    ] = False,
) -> None:
    from pyvirtctl.completion import engine as completion
    from pyvirtctl.progname import complete_var, executable_name

    words = list(shells or [])
    if not words:
        from pyvirtctl import helptext

        print(helptext.command_help(ctx.command, ctx), end="")
        return
    shell = "powershell" if words[0] == "pwsh" else words[0]
    if shell not in completion.SHELLS:
        raise UsageError(f"unknown command {go_quote(words[0])} for {go_quote(ctx.command_path)}")
    argv0 = sys.argv[0]
    sys.stdout.write(completion.script(shell, executable_name(argv0), complete_var(argv0)))
