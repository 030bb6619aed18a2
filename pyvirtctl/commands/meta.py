"""`help [command]` and the hidden `options` command."""

from __future__ import annotations

from typing import Annotated

import typer

from pyvirtctl.cmdspec import arbitrary_args
from pyvirtctl.completion import complete_command_names
from pyvirtctl.goflags import GoGroup, go_command, no_args


@go_command(
    "help",
    use="help [command]",
    short="Help about any command",
    long="Help provides help for any command in the application.\n"
    'Simply type {prog} help [path to command] for full details.',
    args=arbitrary_args,
)
def help_cmd(ctx: typer.Context, command: Annotated[list[str] | None, typer.Argument(autocompletion=complete_command_names)] = None) -> None:
    from pyvirtctl import helptext

    root_ctx = ctx.find_root()
    group = root_ctx.command
    assert isinstance(group, GoGroup)
    words = list(command or [])
    if not words:
        print(helptext.root_help(group), end="")
        return
    name = words[0]
    if len(words) > 1 and f"{name} {words[1]}" in group.registry:
        name = f"{name} {words[1]}"
    cmd = group.get_command(root_ctx, name) if name in group.registry else None
    if cmd is None:
        print(f'Unknown help topic [`{" ".join(words)}`]')
        print(helptext.root_listing(group), end="")
        return
    sub = cmd.make_context(name, [], parent=root_ctx, resilient_parsing=True)
    print(helptext.command_help(cmd, sub), end="")


@go_command("options", use="options", short="", args=no_args, hidden=True)
def options_cmd(ctx: typer.Context) -> None:
    from pyvirtctl import helptext

    print(helptext.options_text(ctx.find_root().command), end="")
