"""start / stop / restart / migrate / migrate-cancel: VirtualMachine subresource calls (virtctl.md §2.1-2.5).

Thin adapters: argv -> a verb of `pyvirtctl.kubevirt.lifecycle` -> the bulk executor and its printer
(commands/bulk.py). The requests are built in `pyvirtctl.kubevirt.requests`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

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
from pyvirtctl.completion import complete_vm_names, complete_vm_names_many
from pyvirtctl.errors import CLIError, InputError, prefixed
from pyvirtctl.goflags import exact_args, given, go_command
from pyvirtctl.runtime import IO, session

if TYPE_CHECKING:
    from pyvirtctl.kubevirt.requests import MigrateCancelOptions

# The request and verb modules are imported where a command runs: `start --help` and a TAB never need them.

DRY_RUN_HELP = (
    "--dry-run=false: Flag used to set whether to perform a dry run or not. "
    "If true the command will be executed without performing any changes."
)
FORCE_HELP = (
    "--force=false: Only used when grace-period=0. If true, immediately remove VMI pod from API and bypass "
    "graceful deletion. Note that immediate deletion of some resources may result in inconsistency or data "
    "loss and requires confirmation."
)
GRACE_HELP = (
    "--grace-period=-1: Period of time in seconds given to the VMI to terminate gracefully. Can only be set "
    "to 0 when --force is true (force deletion). Currently only setting 0 is supported."
)
SELECTOR_HELP = (
    "--addedNodeSelector=key=value1,key2=value2: configure an additional node selector for the one-off "
    "migration attempt. AddedNodeSelector can only restrict constraints already set on the VM. By default the "
    "scheduler is responsible for finding the best Node, which is the recommended way of migrating VMs."
)


def _example(verb: str, what: str = "a virtual machine") -> str:
    title = "".join(
        (c.upper() if i == 0 or not verb[i - 1].isalpha() else c) for i, c in enumerate(verb)
    )
    return f"  # {title} {what} called 'myvm':\n  {{{{ProgramName}}}} {verb} myvm"


# --------------------------------------------------------------------------- migrate-cancel


def run_migrate_cancel(o: MigrateCancelOptions, s: Any, io: IO) -> None:
    from pyvirtctl.kube.paths import check_name
    from pyvirtctl.kubevirt.requests import migration_delete_request, migrations_list_request, pick_migration

    list_prefix = "Error fetching virtual machine instance migration list  "
    with prefixed(list_prefix):
        listing_request = migrations_list_request(o, s.namespace)
    try:
        check_name(o.name)
    except CLIError:
        # no VM can have this name, so no migration runs for it (virtctl lists and finds none)
        if o.dry_run:
            io.print(DRY_RUN_LINE)
        raise InputError(f"Found no migration to cancel for {o.name}") from None
    listing = s.send(listing_request, error_prefix=list_prefix).json()
    if o.dry_run:
        io.print(DRY_RUN_LINE)
    migration = pick_migration(listing.get("items") or [])
    if migration is None:
        raise CLIError(f"Found no migration to cancel for {o.name}")
    mname = migration["metadata"]["name"]
    prefix = f"Error canceling migration {mname} of a VirtualMachine {o.name}: "
    with prefixed(prefix):
        delete = migration_delete_request(o, s.namespace, mname)
    s.send(delete, error_prefix=prefix)
    io.print(f"VM {o.name} was scheduled to migrate-cancel")


# --------------------------------------------------------------------------- the commands


ForceOpt = Annotated[bool, typer.Option("--force", help=FORCE_HELP)]
GraceOpt = Annotated[int, typer.Option("--grace-period", help=GRACE_HELP)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)]
NamesArg = Annotated[list[str] | None, typer.Argument(autocompletion=complete_vm_names_many)]


@go_command("start", use="start (VM)", short="Start a virtual machine.", example=_example("start"))
def start_cmd(
    ctx: typer.Context,
    names: NamesArg = None,
    paused: Annotated[
        bool,
        typer.Option("--paused", help="--paused=false: If set to true, start virtual machine in paused state"),
    ] = False,
    dry_run: DryRunOpt = False,
    selector: SelectorOpt = "",
    all_vms: AllOpt = False,
    all_namespaces: AllNamespacesOpt = False,
    parallel: ParallelOpt = DEFAULT_PARALLEL,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = "5m",
) -> None:
    from pyvirtctl.kubevirt import lifecycle

    sel = selection(ctx, names or [], selector, all_vms, all_namespaces)
    execute(ctx, sel, lifecycle.start(paused, dry_run), dry_run=dry_run, wait=wait, timeout=timeout,
            parallel=parallel)


def _stop_like_command(verb: str, short: str) -> Callable[..., None]:
    """stop and restart take the same flags (virtctl shares them too); one adapter serves both."""

    @go_command(verb, use=f"{verb} (VM)", short=short, example=_example(verb))
    def command(
        ctx: typer.Context,
        names: NamesArg = None,
        force: ForceOpt = False,
        grace_period: GraceOpt = -1,
        dry_run: DryRunOpt = False,
        selector: SelectorOpt = "",
        all_vms: AllOpt = False,
        all_namespaces: AllNamespacesOpt = False,
        parallel: ParallelOpt = DEFAULT_PARALLEL,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = "5m",
    ) -> None:
        from pyvirtctl.kubevirt import lifecycle

        grace = grace_period if given(ctx, "grace_period") else None
        factory = lifecycle.stop if verb == "stop" else lifecycle.restart
        sel = selection(ctx, names or [], selector, all_vms, all_namespaces)
        execute(ctx, sel, factory(force, grace, dry_run), dry_run=dry_run, wait=wait, timeout=timeout,
                parallel=parallel)

    command.__name__ = command.__qualname__ = f"{verb}_cmd"
    return command


stop_cmd = _stop_like_command("stop", "Stop a virtual machine.")
restart_cmd = _stop_like_command("restart", "Restart a virtual machine.")


@go_command(
    "migrate",
    use="migrate (VM)",
    short="Migrate a virtual machine.",
    example=_example("migrate"),
    go_types={"added_node_selector": "stringToString"},
)
def migrate_cmd(
    ctx: typer.Context,
    names: NamesArg = None,
    added_node_selector: Annotated[str, typer.Option("--addedNodeSelector", help=SELECTOR_HELP)] = "",
    dry_run: DryRunOpt = False,
    selector: SelectorOpt = "",
    all_vms: AllOpt = False,
    all_namespaces: AllNamespacesOpt = False,
    parallel: ParallelOpt = DEFAULT_PARALLEL,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = "5m",
) -> None:
    # pflag's stringToString arrives as a dict (goflags), the default as ""
    from pyvirtctl.kubevirt import lifecycle

    node_selector: dict[str, str] = added_node_selector if isinstance(added_node_selector, dict) else {}
    sel = selection(ctx, names or [], selector, all_vms, all_namespaces)
    execute(ctx, sel, lifecycle.migrate(node_selector, dry_run), dry_run=dry_run, wait=wait, timeout=timeout,
            parallel=parallel)


@go_command(
    "migrate-cancel",
    use="migrate-cancel (VM)",
    short="Cancel migration of a virtual machine.",
    example=_example("migrate-cancel"),
    args=exact_args(1),
)
def migrate_cancel_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=complete_vm_names)],
    dry_run: DryRunOpt = False,
) -> None:
    from pyvirtctl.kubevirt.requests import MigrateCancelOptions

    s = session(ctx)
    run_migrate_cancel(MigrateCancelOptions(names[0], dry_run=dry_run), s, IO.std())
