"""The verbs the bulk executor runs: start, stop, restart, migrate, pause, unpause, soft-reboot.

Each factory returns a `bulk.Verb`: how to build a target's request (pure; a bad name raises with
virtctl's error prefix), how to send it, which of the server's 409 answers mean "already there",
and for `--wait` what to watch. The requests are exactly virtctl's (see `requests.py`).
"""

from __future__ import annotations

from typing import Any

from pyvirtctl.errors import ApiError, CLIError
from pyvirtctl.kube import paths
from pyvirtctl.kube.request import Request
from pyvirtctl.kubevirt import requests as rq
from pyvirtctl.kubevirt.bulk import Key, Verb, prepared_with

VM_TYPES = ("vm", "virtualmachine")
VMI_TYPES = ("vmi", "virtualmachineinstance")


def _waiting() -> Any:
    """pyvirtctl.kubevirt.waiting, imported only when a --wait predicate runs (keeps plain runs light)."""
    from pyvirtctl.kubevirt import waiting

    return waiting


def _send(prefix: str) -> Any:
    def act(session: Any, key: Key, request: Any, obj: dict[str, Any] | None) -> None:
        session.send(request, error_prefix=prefix)

    return act


def start(paused: bool = False, dry_run: bool = False) -> Verb:
    prefix = "Error starting VirtualMachine "
    return Verb(
        "start", "VM", paths.VMS,
        prepare=lambda key: prepared_with(prefix, lambda: rq.start_request(rq.StartOptions(key[1], paused, dry_run),
                                                                           key[0])),
        act=_send(prefix),
        already=("VM is already running",), already_state="running",
        predicate=lambda k, o, st: _waiting().paused(o, True) if paused else _waiting().started(o),
        done_state="is paused" if paused else "is running",
    )


def stop(force: bool = False, grace_period: int | None = None, dry_run: bool = False) -> Verb:
    prefix = "error force stopping VirtualMachine: " if force else "error stopping VirtualMachine "
    options = rq.StopOptions("", force, grace_period, dry_run)
    return Verb(
        "stop", "VM", paths.VMS,
        prepare=lambda key: prepared_with(
            prefix, lambda: rq.stop_request(rq.StopOptions(key[1], force, grace_period, dry_run), key[0])),
        act=_send(prefix),
        already=("VM is not running",), already_state="stopped",
        validate=lambda: rq.validate_stop(options),
        predicate=lambda k, o, st: _waiting().stopped(o),
        done_state="is stopped",
    )


def restart(force: bool = False, grace_period: int | None = None, dry_run: bool = False) -> Verb:
    prefix = "error force restarting VirtualMachine: " if force else "error restarting VirtualMachine: "
    options = rq.StopOptions("", force, grace_period, dry_run)

    def old_uids(session: Any, keys: list[Key]) -> dict[Key, str]:
        from pyvirtctl.kubevirt.client import Client

        return {k: Client(session).vmi(k[1], k[0]).uid() for k in keys}

    return Verb(
        "restart", "VM", paths.VMS,
        prepare=lambda key: prepared_with(
            prefix, lambda: rq.restart_request(rq.StopOptions(key[1], force, grace_period, dry_run), key[0])),
        act=_send(prefix),
        validate=lambda: rq.validate_stop(options),
        predicate=lambda k, o, st: _waiting().started(o, (st or {}).get(k, "")),
        before_wait=old_uids,
        done_state="is running again",
    )


def migrate(added_node_selector: dict[str, str] | None = None, dry_run: bool = False) -> Verb:
    prefix = "Error migrating VirtualMachine "
    selector = dict(added_node_selector or {})

    def before(session: Any, keys: list[Key]) -> set[tuple[str, str]]:
        from pyvirtctl.kubevirt.client import existing_migrations

        namespaces = {ns for ns, _ in keys}
        return existing_migrations(session, next(iter(namespaces)) if len(namespaces) == 1 else None)

    def match(state: Any) -> Any:
        from pyvirtctl.kubevirt.client import migration_matcher

        return migration_matcher(state or set())

    return Verb(
        "migrate", "VM", paths.VMS,
        prepare=lambda key: prepared_with(
            prefix, lambda: rq.migrate_request(rq.MigrateOptions(key[1], dry_run, selector), key[0])),
        act=_send(prefix),
        collection=paths.MIGRATIONS,
        predicate=lambda k, o, st: _waiting().migrated(o),
        before_wait=before,
        match=match,
        done_state="migrated",
    )


# --------------------------------------------------------------------------- pause / unpause


def is_vm_type(kind_word: str) -> bool:
    return kind_word.lower() in VM_TYPES


def is_vmi_type(kind_word: str) -> bool:
    return kind_word.lower() in VMI_TYPES


def pause_vm(session: Any, key: Key, requests: tuple[Request, Request], vm: dict[str, Any] | None,
             action: str = "pause") -> None:
    """virtctl's `pause vm` / `unpause vm`: read the VM, act on its instance; for pause a 404 is
    explained by the VM's run strategy."""
    get, act = requests
    name = key[1]
    if vm is None:
        vm = dict(session.send(get, error_prefix=f"Error getting VirtualMachine {name}: ").json())
    vmname = str(vm["metadata"]["name"])
    verb = "pausing" if action == "pause" else "unpausing"
    if action == "unpause":
        session.send(act, error_prefix=f"Error unpausing VirtualMachineInstance {vmname}: ")
        return
    try:
        session.send(act)
    except ApiError as e:
        if not e.not_found:
            raise e.wrap(f"Error {verb} VirtualMachineInstance {vmname}: ") from None
        try:
            strategy = rq.run_strategy(vm)
        except ValueError as why:
            raise CLIError(f"Error {verb} VirtualMachineInstance {vmname}: {why}") from None
        if strategy == "Halted":
            raise CLIError(
                f"Error {verb} VirtualMachineInstance {vmname}. VirtualMachine {vmname} is not set to run"
            ) from None
        raise CLIError(f"Error {verb} VirtualMachineInstance {vmname}, it was not found") from None


def pause(kind_word: str, dry_run: bool = False, action: str = "pause") -> Verb:
    """`pause|unpause vm|vmi NAME...`: the noun in the lines is always VMI, as virtctl prints it."""
    want = action == "pause"
    gerund = "pausing" if want else "unpausing"
    on_vm = is_vm_type(kind_word)

    def prepare(key: Key) -> Any:
        name = key[1]
        # in virtctl's order: `pause vm` reads the VM first, so its prefix is the one a bad name gets
        get = prepared_with(f"Error getting VirtualMachine {name}: ", lambda: rq.vm_get_request(key[0], name)) \
            if on_vm else None
        act = prepared_with(f"Error {gerund} VirtualMachineInstance {name}: ",
                            lambda: rq.vmi_action_request(action, key[0], name, dry_run))
        return (get, act) if on_vm else act

    def act(session: Any, key: Key, prepared: Any, obj: dict[str, Any] | None) -> None:
        if on_vm:
            pause_vm(session, key, prepared, obj, action)
        else:
            session.send(prepared, error_prefix=f"Error {gerund} VirtualMachineInstance {key[1]}: ")

    return Verb(
        action, "VMI", paths.VMS if on_vm else paths.VMIS,
        prepare=prepare,
        act=act,
        already=("VMI is already paused",) if want else ("VMI is not paused",),
        already_state="paused" if want else "unpaused",
        predicate=lambda k, o, st: _waiting().paused(o, want),
        done_state="is paused" if want else "is unpaused",
    )


# what virtctl's client library logs before these requests (JSON lines on stderr)
SOFT_REBOOT_LOG = ("SoftReboot VMI", "virtualmachineinstance_expansion.go:234")
RESET_LOG = ("Reset VMI", "virtualmachineinstance_expansion.go:222")


def soft_reboot() -> Verb:
    def prefix(name: str) -> str:
        return f"Error soft rebooting VirtualMachineInstance {name}: "

    def act(session: Any, key: Key, request: Any, obj: dict[str, Any] | None) -> None:
        from pyvirtctl import log

        log.info(*SOFT_REBOOT_LOG)
        session.send(request, error_prefix=prefix(key[1]))

    return Verb(
        "soft-reboot", "VMI", paths.VMIS,
        prepare=lambda key: prepared_with(prefix(key[1]), lambda: rq.soft_reboot_request(key[0], key[1])),
        act=act,
    )
