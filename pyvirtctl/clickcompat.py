"""The one place that touches click's internals (the click Typer 0.28 vendors as `typer._click`).

Making Typer parse like cobra/pflag needs a few things click keeps private: the command word it
resolves (`Context._protected_args`), a parameter's completion callback (`_custom_shell_complete`),
the context resolution behind TAB (`shell_completion._resolve_context`) and the current context
(`globals.get_current_context`). Every other module goes through the functions here, so a Typer or
click upgrade has one file to check (tests/unit/test_click_internals_confined.py enforces it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typer import _click as click  # noqa: F401 - re-exported: the vendored click, for types and exceptions

Command = click.Command
Context = click.Context
ClickException = click.exceptions.ClickException


def set_command_word(ctx: Context, word: list[str], rest: list[str]) -> None:
    """Tell click which argv word names the subcommand (`[]`: none) and what follows it."""
    ctx._protected_args = list(word)
    ctx.args = list(rest)


def command_word(ctx: Context) -> list[str]:
    """The subcommand word click resolved for this context (`[]` when there is none)."""
    return list(getattr(ctx, "_protected_args", None) or [])


def custom_completer(param: Any) -> Callable[..., Any] | None:
    """The completion callback Typer attached to a parameter (its `autocompletion=`), if any."""
    return getattr(param, "_custom_shell_complete", None)


def resolve_context(root: Command, prog: str, args: list[str]) -> Context:
    """The context click would be in after `args` (resilient parsing: no errors, no side effects)."""
    from typer._click.shell_completion import _resolve_context

    return _resolve_context(root, {}, prog, list(args))


def current_context() -> Context | None:
    """The context of the command being run, or None outside a command."""
    from typer._click.globals import get_current_context

    return get_current_context(silent=True)


def base_parse_args(command: Command, ctx: Context, args: list[str]) -> list[str]:
    """click's own Command.parse_args (defaults and positionals), bypassing a subclass's."""
    return click.core.Command.parse_args(command, ctx, args)


def base_shell_complete(command: Command, ctx: Context, incomplete: str) -> list[Any]:
    """click's own Command.shell_complete (option names), bypassing a subclass's."""
    return click.core.Command.shell_complete(command, ctx, incomplete)


def completion_item(value: str, help: str | None = None) -> Any:  # noqa: A002 - click's name
    from typer._click.shell_completion import CompletionItem

    return CompletionItem(value, help=help)
