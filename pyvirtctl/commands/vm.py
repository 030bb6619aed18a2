"""start / stop / restart / migrate / migrate-cancel: VirtualMachine subresource calls (virtctl.md §2.1-2.5).

Each command reads top to bottom: options dataclass -> validate (pure) -> request builder (pure) ->
run (the only I/O) -> Typer adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer

from pyvirtctl.completion import complete_vm_names
from pyvirtctl.errors import CLIError
from pyvirtctl.goflags import exact_args, given, go_command
from pyvirtctl.kube.paths import KV, vm_path
from pyvirtctl.kube.request import Request
from pyvirtctl.runtime import IO, session

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
DRY_RUN_LINE = "Dry Run execution"


def _example(verb: str, what: str = "a virtual machine") -> str:
    title = "".join(
        (c.upper() if i == 0 or not verb[i - 1].isalpha() else c) for i, c in enumerate(verb)
    )
    return f"  # {title} {what} called 'myvm':\n  {{{{ProgramName}}}} {verb} myvm"


def _dry_run(body: dict, dry_run: bool) -> dict:
    if dry_run:
        body["dryRun"] = ["All"]
    return body


# --------------------------------------------------------------------------- start


@dataclass(frozen=True)
class StartOptions:
    name: str
    paused: bool = False
    dry_run: bool = False


def start_request(o: StartOptions, namespace: str) -> Request:
    body: dict = {}
    if o.paused:
        body["paused"] = True
    return Request("PUT", vm_path(namespace, o.name, "start"), body=_dry_run(body, o.dry_run))


def run_start(o: StartOptions, s, io: IO) -> None:
    if o.dry_run:
        io.print(DRY_RUN_LINE)
    s.send(start_request(o, s.namespace), error_prefix="Error starting VirtualMachine ")
    io.print(f"VM {o.name} was scheduled to start")


@go_command(
    "start",
    use="start (VM)",
    short="Start a virtual machine.",
    example=_example("start"),
    args=exact_args(1),
)
def start_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=complete_vm_names)],
    paused: Annotated[
        bool,
        typer.Option("--paused", help="--paused=false: If set to true, start virtual machine in paused state"),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
) -> None:
    s = session(ctx)
    run_start(StartOptions(names[0], paused=paused, dry_run=dry_run), s, IO.std())


# --------------------------------------------------------------------------- stop / restart


@dataclass(frozen=True)
class StopOptions:
    name: str
    force: bool = False
    grace_period: int | None = None  # None: the flag was not given (cobra's Changed)
    dry_run: bool = False


def validate_stop(o: StopOptions) -> None:
    """virtctl: `--grace-period` given must go with `--force` (any grace value is accepted)."""
    if (o.grace_period is not None) != o.force:
        raise CLIError("Must both use --force=true and set --grace-period.")


def stop_request(o: StopOptions, namespace: str) -> Request:
    body: dict = {"gracePeriod": o.grace_period} if o.force else {}
    return Request("PUT", vm_path(namespace, o.name, "stop"), body=_dry_run(body, o.dry_run))


def restart_request(o: StopOptions, namespace: str) -> Request:
    body: dict = {"gracePeriodSeconds": o.grace_period} if o.force else {}
    return Request("PUT", vm_path(namespace, o.name, "restart"), body=_dry_run(body, o.dry_run))


def run_stop(o: StopOptions, s, io: IO) -> None:
    if o.dry_run:
        io.print(DRY_RUN_LINE)  # virtctl prints this before validating
    validate_stop(o)
    prefix = "error force stopping VirtualMachine: " if o.force else "error stopping VirtualMachine "
    s.send(stop_request(o, s.namespace), error_prefix=prefix)
    io.print(f"VM {o.name} was scheduled to stop")


def run_restart(o: StopOptions, s, io: IO) -> None:
    if o.dry_run:
        io.print(DRY_RUN_LINE)
    validate_stop(o)
    prefix = "error force restarting VirtualMachine: " if o.force else "error restarting VirtualMachine: "
    s.send(restart_request(o, s.namespace), error_prefix=prefix)
    io.print(f"VM {o.name} was scheduled to restart")


ForceOpt = Annotated[bool, typer.Option("--force", help=FORCE_HELP)]
GraceOpt = Annotated[int, typer.Option("--grace-period", help=GRACE_HELP)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)]


@go_command("stop", use="stop (VM)", short="Stop a virtual machine.", example=_example("stop"), args=exact_args(1))
def stop_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=complete_vm_names)],
    force: ForceOpt = False,
    grace_period: GraceOpt = -1,
    dry_run: DryRunOpt = False,
) -> None:
    s = session(ctx)
    grace = grace_period if given(ctx, "grace_period") else None
    run_stop(StopOptions(names[0], force=force, grace_period=grace, dry_run=dry_run), s, IO.std())


@go_command(
    "restart", use="restart (VM)", short="Restart a virtual machine.", example=_example("restart"), args=exact_args(1)
)
def restart_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=complete_vm_names)],
    force: ForceOpt = False,
    grace_period: GraceOpt = -1,
    dry_run: DryRunOpt = False,
) -> None:
    s = session(ctx)
    grace = grace_period if given(ctx, "grace_period") else None
    run_restart(StopOptions(names[0], force=force, grace_period=grace, dry_run=dry_run), s, IO.std())


# --------------------------------------------------------------------------- migrate


@dataclass(frozen=True)
class MigrateOptions:
    name: str
    dry_run: bool = False
    added_node_selector: dict[str, str] = field(default_factory=dict)


def migrate_request(o: MigrateOptions, namespace: str) -> Request:
    body: dict = _dry_run({}, o.dry_run)
    if o.added_node_selector:
        body["addedNodeSelector"] = dict(sorted(o.added_node_selector.items()))
    return Request("PUT", vm_path(namespace, o.name, "migrate"), body=body)


def run_migrate(o: MigrateOptions, s, io: IO) -> None:
    if o.dry_run:
        io.print(DRY_RUN_LINE)
    s.send(migrate_request(o, s.namespace), error_prefix="Error migrating VirtualMachine ")
    io.print(f"VM {o.name} was scheduled to migrate")


@go_command(
    "migrate",
    use="migrate (VM)",
    short="Migrate a virtual machine.",
    example=_example("migrate"),
    args=exact_args(1),
    go_types={"added_node_selector": "stringToString"},
)
def migrate_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=complete_vm_names)],
    added_node_selector: Annotated[str, typer.Option("--addedNodeSelector", help=SELECTOR_HELP)] = "",
    dry_run: DryRunOpt = False,
) -> None:
    s = session(ctx)
    selector = added_node_selector if isinstance(added_node_selector, dict) else {}
    run_migrate(MigrateOptions(names[0], dry_run=dry_run, added_node_selector=selector), s, IO.std())


# --------------------------------------------------------------------------- migrate-cancel


@dataclass(frozen=True)
class MigrateCancelOptions:
    name: str
    dry_run: bool = False


def migrations_list_request(o: MigrateCancelOptions, namespace: str) -> Request:
    return Request(
        "GET",
        f"{KV}/namespaces/{namespace}/virtualmachineinstancemigrations",
        query=[("labelSelector", f"kubevirt.io/vmi-name=={o.name}")],
    )


def pick_migration(items: list[dict]) -> dict | None:
    """The first migration that has not finished (virtctl skips Succeeded and Failed ones)."""
    for m in items:
        if (m.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            return m
    return None


def migration_delete_request(o: MigrateCancelOptions, namespace: str, migration: str) -> Request:
    body: dict = {"kind": "DeleteOptions", "apiVersion": "kubevirt.io/v1"}
    _dry_run(body, o.dry_run)
    return Request(
        "DELETE",
        f"{KV}/namespaces/{namespace}/virtualmachineinstancemigrations/{migration}",
        body=body,
        content_type="application/json",
    )


def run_migrate_cancel(o: MigrateCancelOptions, s, io: IO) -> None:
    listing = s.send(
        migrations_list_request(o, s.namespace),
        error_prefix="Error fetching virtual machine instance migration list  ",
    ).json()
    if o.dry_run:
        io.print(DRY_RUN_LINE)
    migration = pick_migration(listing.get("items") or [])
    if migration is None:
        raise CLIError(f"Found no migration to cancel for {o.name}")
    mname = migration["metadata"]["name"]
    s.send(
        migration_delete_request(o, s.namespace, mname),
        error_prefix=f"Error canceling migration {mname} of a VirtualMachine {o.name}: ",
    )
    io.print(f"VM {o.name} was scheduled to migrate-cancel")


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
    s = session(ctx)
    run_migrate_cancel(MigrateCancelOptions(names[0], dry_run=dry_run), s, IO.std())
