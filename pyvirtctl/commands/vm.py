"""start / stop / restart / migrate / migrate-cancel: VirtualMachine subresource calls (virtctl.md §2.1-2.5).

Each command reads top to bottom: options dataclass -> validate (pure) -> request builder (pure) ->
run (the only I/O) -> Typer adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from pyvirtctl.commands.bulk import (
    DEFAULT_PARALLEL,
    AllNamespacesOpt,
    AllOpt,
    Key,
    ParallelOpt,
    Selection,
    SelectorOpt,
    TimeoutOpt,
    WaitOpt,
)
from pyvirtctl.completion import complete_vm_names, complete_vm_names_many
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




# --------------------------------------------------------------------------- the commands


ForceOpt = Annotated[bool, typer.Option("--force", help=FORCE_HELP)]
GraceOpt = Annotated[int, typer.Option("--grace-period", help=GRACE_HELP)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)]
NamesArg = Annotated[list[str] | None, typer.Argument(autocompletion=complete_vm_names_many)]


@dataclass
class Lifecycle:
    """One lifecycle verb: how to send it for a target, and (for --wait) what to watch for."""

    verb: str  # "start", used in "VM x was scheduled to start"
    send: Callable[[Any, str, str], None]  # (session, namespace, name)
    collection: str = "virtualmachineinstances"
    predicate: Callable[[Key, dict | None, Any], Any] | None = None  # (key, object, prepared state)
    done: Callable[[str, Any], str] | None = None  # (label, progress) -> line
    prepare: Callable[[Any, list[Key]], Any] | None = None
    match: Callable[[Any], Callable[[dict], Key | None]] | None = None
    noun: str = "VM"
    validate: Callable[[], None] | None = None


def execute(ctx: typer.Context, sel: Selection, life: Lifecycle, *, dry_run: bool, wait: bool, timeout: str,
            parallel: int, want_args: int = 1) -> None:
    """The shared flow: select, print `Dry Run execution`, send (pooled), optionally wait, summarise."""
    from pyvirtctl.commands import bulk

    bulk.validate_selection(sel, want_args)
    bulk.check_parallel(parallel)
    wait_seconds = _waiting().parse_duration(timeout) if wait else 0.0
    s = session(ctx)
    io = IO.std()
    if dry_run:
        io.print(DRY_RUN_LINE)
    if life.validate:
        life.validate()
    keys = bulk.resolve(sel, s)
    if not keys:
        io.eprint(bulk.no_resources(sel, s.namespace))
        return
    several_ns = len({ns for ns, _ in keys}) > 1

    def label(key: Key) -> str:
        return f"{key[0]}/{key[1]}" if several_ns else key[1]

    state = life.prepare(s, keys) if (wait and not dry_run and life.prepare) else None

    def act(key: Key) -> str:
        life.send(s, key[0], key[1])
        return f"{life.noun} {label(key)} was scheduled to {life.verb}"

    if sel.is_single:
        io.print(act(keys[0]))  # virtctl's exact behaviour: errors propagate unchanged
        outcomes = [bulk.Outcome(keys[0], True, "")]
    else:
        outcomes = bulk.run_many(keys, act, parallel=parallel, label=label)
    if wait and not dry_run and life.predicate is not None:
        ok = [o.key for o in outcomes if o.ok]
        predicate = life.predicate
        results = _waiting().wait_all(
            s,
            life.collection,
            ok,
            lambda key, obj: predicate(key, obj, state),
            timeout=wait_seconds,
            reporter=bulk.reporter(),
            match=life.match(state) if life.match else None,
        ) if ok else {}
        bulk.report_waits(
            outcomes,
            results,
            done_line=lambda key, r: life.done(label(key), r),
            fail_line=lambda key, r: f"{life.noun} {label(key)}: {r.failure}{_event(s, key, r)}",
            single=sel.is_single,
            io=io,
        )
    if not sel.is_single:
        bulk.summary(outcomes, life.verb)


def _event(s: Any, key: Key, progress: Any) -> str:
    from pyvirtctl.waiting import last_event

    if "timed out" in (progress.failure or ""):
        return ""
    event = last_event(s, key[0], key[1])
    return f" (last event: {event})" if event else ""


def _progress_line(what: str) -> Callable[[str, Any], str]:
    def line(label: str, p: Any) -> str:
        return f"VM {label} {what}" + (f" on {p.node}" if getattr(p, "node", "") else "")

    return line


def _waiting() -> Any:
    """pyvirtctl.waiting, imported only when a --wait predicate runs (keeps plain runs light)."""
    from pyvirtctl import waiting

    return waiting


def _vm(s: Any, namespace: str, name: str) -> Any:
    from pyvirtctl.client import Client

    return Client(s).vm(name, namespace)


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
    life = Lifecycle(
        "start",
        send=lambda s, ns, n: _vm(s, ns, n).start(paused=paused, dry_run=dry_run),
        predicate=lambda k, o, st: _waiting().paused(o, True) if paused else _waiting().started(o),
        done=_progress_line("is paused" if paused else "is running"),
    )
    sel = Selection(tuple(names or ()), selector, all_vms, all_namespaces)
    execute(ctx, sel, life, dry_run=dry_run, wait=wait, timeout=timeout, parallel=parallel)


def _stop_like(verb: str, ctx: typer.Context, names: list[str] | None, force: bool, grace_period: int, dry_run: bool,
               selector: str, all_vms: bool, all_namespaces: bool, parallel: int, wait: bool, timeout: str) -> None:
    grace = grace_period if given(ctx, "grace_period") else None
    options = StopOptions("", force=force, grace_period=grace, dry_run=dry_run)
    if verb == "stop":
        life = Lifecycle(
            "stop",
            send=lambda s, ns, n: _vm(s, ns, n).stop(force=force, grace_period=grace, dry_run=dry_run),
            predicate=lambda k, o, st: _waiting().stopped(o),
            done=lambda label, p: f"VM {label} is stopped",
            validate=lambda: validate_stop(options),
        )
    else:

        def old_uids(s: Any, keys: list[Key]) -> dict[Key, str]:
            from pyvirtctl.client import Client

            return {k: Client(s).vmi(k[1], k[0]).uid() for k in keys}

        life = Lifecycle(
            "restart",
            send=lambda s, ns, n: _vm(s, ns, n).restart(force=force, grace_period=grace, dry_run=dry_run),
            predicate=lambda k, o, st: _waiting().started(o, (st or {}).get(k, "")),
            done=_progress_line("is running again"),
            prepare=old_uids,
            validate=lambda: validate_stop(options),
        )
    sel = Selection(tuple(names or ()), selector, all_vms, all_namespaces)
    execute(ctx, sel, life, dry_run=dry_run, wait=wait, timeout=timeout, parallel=parallel)


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
        _stop_like(verb, ctx, names, force, grace_period, dry_run, selector, all_vms, all_namespaces, parallel,
                   wait, timeout)

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
    from pyvirtctl.client import existing_migrations, migration_matcher

    node_selector = added_node_selector if isinstance(added_node_selector, dict) else {}
    sel = Selection(tuple(names or ()), selector, all_vms, all_namespaces)
    life = Lifecycle(
        "migrate",
        send=lambda s, ns, n: _vm(s, ns, n).migrate(added_node_selector=node_selector, dry_run=dry_run),
        collection="virtualmachineinstancemigrations",
        predicate=lambda k, o, st: _waiting().migrated(o),
        done=lambda label, p: f"VM {label} migrated" + (f" to {p.node}" if p.node else ""),
        prepare=lambda s, keys: existing_migrations(s, None if all_namespaces else s.namespace),
        match=migration_matcher,
    )
    execute(ctx, sel, life, dry_run=dry_run, wait=wait, timeout=timeout, parallel=parallel)


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
