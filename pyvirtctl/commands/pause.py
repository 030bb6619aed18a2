"""pause / unpause vm|vmi (virtctl.md §2.6-2.7), quirks included: an unknown type makes no request.

A thin adapter over `pyvirtctl.kubevirt.lifecycle.pause` and the bulk executor (one target or many).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from pyvirtctl.commands.bulk import (
    DEFAULT_PARALLEL,
    DRY_RUN_LINE,
    AllNamespacesOpt,
    AllOpt,
    ParallelOpt,
    SelectorOpt,
    TimeoutOpt,
    WaitOpt,
    execute,
    selection,
)
from pyvirtctl.commands.vm import DRY_RUN_HELP
from pyvirtctl.completion import complete_pause_args
from pyvirtctl.errors import CLIError, UsageError
from pyvirtctl.goflags import go_command
from pyvirtctl.kubevirt import lifecycle
from pyvirtctl.kubevirt.bulk import validate_selection
from pyvirtctl.runtime import IO, session

CLIENT_ERROR = "Cannot obtain KubeVirt client: "

PAUSE_LONG = (
    "Pauses a virtual machine by freezing it. Machine state is kept in memory.\n"
    "First argument is the resource type, possible types are (case insensitive, both singular and plural forms) "
    "virtualmachineinstance (vmi) or virtualmachine (vm).\n"
    "Second argument is the name of the resource."
)
UNPAUSE_LONG = (
    "Unpauses a virtual machine.\n"
    "First argument is the resource type, possible types are (case insensitive, both singular and plural forms) "
    "virtualmachineinstance (vmi) or virtualmachine (vm).\n"
    "Second argument is the name of the resource."
)


def _pause_like(ctx: typer.Context, verb: str, args: list[str], dry_run: bool, selector: str, all_vms: bool,
                all_namespaces: bool, parallel: int, wait: bool, timeout: str) -> None:
    """pause/unpause for one target (virtctl exactly) or many (names, -l, --all, -A), with --wait."""
    if not args:
        raise UsageError("accepts 2 arg(s), received 0")
    kind, names = args[0], args[1:]
    sel = selection(ctx, names, selector, all_vms, all_namespaces, offset=1)
    if not (lifecycle.is_vm_type(kind) or lifecycle.is_vmi_type(kind)):
        validate_selection(sel, want_args=2)
        if not sel.is_single or wait:
            raise CLIError(f"unsupported resource type: {kind.lower()}")
        # virtctl's quirk: an unknown type sends nothing; pause still prints its line, unpause nothing
        session(ctx, error_prefix=CLIENT_ERROR)
        io = IO.std()
        if dry_run:
            io.print(DRY_RUN_LINE)
        if verb == "pause":
            io.print(f"VMI {names[0]} was scheduled to pause")
        return
    execute(ctx, sel, lifecycle.pause(kind, dry_run, verb), dry_run=dry_run, wait=wait, timeout=timeout,
            parallel=parallel, want_args=2, client_error_prefix=CLIENT_ERROR)


def _pause_like_command(verb: str, short: str, long: str) -> Callable[..., None]:
    """pause and unpause take the same arguments and flags; one adapter serves both."""

    @go_command(
        verb,
        use=f"{verb} vm|vmi (VM)|(VMI)",
        short=short,
        long=long,
        example=f"  # {verb.capitalize()} a virtualmachine called 'myvm':\n  {{{{ProgramName}}}} {verb} vm myvm",
    )
    def command(
        ctx: typer.Context,
        args: Annotated[list[str] | None, typer.Argument(autocompletion=complete_pause_args)] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
        selector: SelectorOpt = "",
        all_vms: AllOpt = False,
        all_namespaces: AllNamespacesOpt = False,
        parallel: ParallelOpt = DEFAULT_PARALLEL,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = "5m",
    ) -> None:
        _pause_like(ctx, verb, list(args or []), dry_run, selector, all_vms, all_namespaces, parallel, wait, timeout)

    command.__name__ = command.__qualname__ = f"{verb}_cmd"
    return command


pause_cmd = _pause_like_command("pause", "Pause a virtual machine", PAUSE_LONG)
unpause_cmd = _pause_like_command("unpause", "Unpause a virtual machine", UNPAUSE_LONG)
