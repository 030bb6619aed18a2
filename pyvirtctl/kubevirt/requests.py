"""The requests virtctl sends, as pure functions: options in, `Request` out (no I/O).

Each builder names its target by parts (`kube/paths.py` checks and escapes them), so an invalid
name or namespace raises `InputError` with client-go's text when the request is built - before
anything is sent. Bodies keep Go's field order (virtctl.md §2 for each command). The option records
are NamedTuples: immutable like frozen dataclasses, and much cheaper to define at start-up.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pyvirtctl.errors import CLIError
from pyvirtctl.kube import paths
from pyvirtctl.kube.paths import ApiRef, Resource
from pyvirtctl.kube.request import Request

JSON = "application/json"
DRY_RUN_ALL = ["All"]


def _dry_run(body: dict[str, Any], dry_run: bool) -> dict[str, Any]:
    if dry_run:
        body["dryRun"] = list(DRY_RUN_ALL)
    return body


# --------------------------------------------------------------------------- reads


def get_request(ref: ApiRef) -> Request:
    return Request("GET", ref)


def vm_get_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.vm(namespace, name))


def vmi_get_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.vmi(namespace, name))


def list_request(resource: Resource, namespace: str | None, selector: str = "",
                 field_selector: str = "") -> Request:
    """A collection in `namespace` (None: every namespace), optionally filtered by labels/fields."""
    query: list[tuple[str, str]] = []
    if selector:
        query.append(("labelSelector", selector))
    if field_selector:
        query.append(("fieldSelector", field_selector))
    return Request("GET", paths.collection(resource, namespace), query=query)


def events_request(namespace: str, name: str) -> Request:
    """The Events about one object (for `--wait` failure reports)."""
    return list_request(paths.EVENTS, namespace, field_selector=f"involvedObject.name={name}")


# --------------------------------------------------------------------------- start / stop / restart / migrate


class StartOptions(NamedTuple):
    name: str
    paused: bool = False
    dry_run: bool = False


def start_request(o: StartOptions, namespace: str) -> Request:
    body: dict[str, Any] = {}
    if o.paused:
        body["paused"] = True
    return Request("PUT", paths.vm(namespace, o.name, "start"), body=_dry_run(body, o.dry_run))


class StopOptions(NamedTuple):
    name: str
    force: bool = False
    grace_period: int | None = None  # None: the flag was not given (cobra's Changed)
    dry_run: bool = False


def validate_stop(o: StopOptions) -> None:
    """virtctl: `--grace-period` given must go with `--force` (any grace value is accepted)."""
    if (o.grace_period is not None) != o.force:
        raise CLIError("Must both use --force=true and set --grace-period.")


def stop_request(o: StopOptions, namespace: str) -> Request:
    body: dict[str, Any] = {"gracePeriod": o.grace_period} if o.force else {}
    return Request("PUT", paths.vm(namespace, o.name, "stop"), body=_dry_run(body, o.dry_run))


def restart_request(o: StopOptions, namespace: str) -> Request:
    body: dict[str, Any] = {"gracePeriodSeconds": o.grace_period} if o.force else {}
    return Request("PUT", paths.vm(namespace, o.name, "restart"), body=_dry_run(body, o.dry_run))


class MigrateOptions(NamedTuple):
    name: str
    dry_run: bool = False
    added_node_selector: dict[str, str] | None = None


def migrate_request(o: MigrateOptions, namespace: str) -> Request:
    body: dict[str, Any] = _dry_run({}, o.dry_run)
    if o.added_node_selector:
        body["addedNodeSelector"] = dict(sorted(o.added_node_selector.items()))
    return Request("PUT", paths.vm(namespace, o.name, "migrate"), body=body)


class MigrateCancelOptions(NamedTuple):
    name: str
    dry_run: bool = False


def migrations_list_request(o: MigrateCancelOptions, namespace: str) -> Request:
    return list_request(paths.MIGRATIONS, namespace, selector=f"kubevirt.io/vmi-name=={o.name}")


def pick_migration(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first migration that has not finished (virtctl skips Succeeded and Failed ones)."""
    for m in items:
        if (m.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            return m
    return None


def migration_delete_request(o: MigrateCancelOptions, namespace: str, migration: str) -> Request:
    body: dict[str, Any] = _dry_run({"kind": "DeleteOptions", "apiVersion": "kubevirt.io/v1"}, o.dry_run)
    return Request("DELETE", paths.ref(paths.MIGRATIONS, namespace, migration), body=body, content_type=JSON)


# --------------------------------------------------------------------------- VMI actions


def vmi_action_request(action: str, namespace: str, vmi: str, dry_run: bool) -> Request:
    """pause / unpause: a PUT with `{"dryRun": ["All"]}` or `{}`."""
    return Request("PUT", paths.vmi(namespace, vmi, action), body=_dry_run({}, dry_run))


def reset_request(namespace: str, name: str) -> Request:
    return Request("PUT", paths.vmi(namespace, name, "reset"))


def soft_reboot_request(namespace: str, name: str) -> Request:
    return Request("PUT", paths.vmi(namespace, name, "softreboot"))


def run_strategy(vm: dict[str, Any]) -> str:
    """The VM's effective run strategy; raises ValueError for virtctl's mutually-exclusive error."""
    spec = vm.get("spec") or {}
    running, strategy = spec.get("running"), spec.get("runStrategy")
    if running is not None and strategy is not None:
        raise ValueError("running and runstrategy are mutually exclusive")
    if strategy:
        return str(strategy)
    return "Always" if running else "Halted"


# --------------------------------------------------------------------------- guest agent, VNC screenshot


def guestosinfo_request(namespace: str, name: str) -> Request:
    # virtctl reads this answer raw, so errors get client-go's generic text, not the Status message
    return Request("GET", paths.vmi(namespace, name, "guestosinfo"), decode_status=False, verb="get",
                   resource="virtualmachineinstances", name=name)


def userlist_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.vmi(namespace, name, "userlist"))


def fslist_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.vmi(namespace, name, "filesystemlist"))


def screenshot_request(namespace: str, name: str, move_cursor: bool) -> Request:
    return Request("GET", paths.vmi(namespace, name, "vnc", "screenshot"),
                   query=[("moveCursor", "true" if move_cursor else "false")], verb="get",
                   resource="virtualmachineinstances", name=name)


# --------------------------------------------------------------------------- streams (websocket upgrades)


def console_stream(namespace: str, name: str) -> Request:
    return Request("GET", paths.vmi(namespace, name, "console"))


def vnc_stream(namespace: str, name: str, preserve_session: bool) -> Request:
    return Request("GET", paths.vmi(namespace, name, "vnc"),
                   query=[("preserveSession", "true" if preserve_session else "false")])


def portforward_stream(kind: str, namespace: str, name: str, port: int, protocol: str) -> Request:
    """`.../<vms|vmis>/<name>/portforward/<port>[/<protocol>]` (kind is "vm" or "vmi")."""
    sub = ("portforward", str(port), protocol) if protocol else ("portforward", str(port))
    builder = paths.vm if kind == "vm" else paths.vmi
    return Request("GET", builder(namespace, name, *sub))


# --------------------------------------------------------------------------- expand, evacuate-cancel


def expand_vm_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.vm(namespace, name, "expand-spec"))


def expand_spec_request(namespace: str, vm: dict[str, Any]) -> Request:
    return Request("PUT", paths.collection(paths.EXPAND_VM_SPEC, namespace), body=vm)


def evacuate_cancel_request(label: str, namespace: str, name: str, node: str, dry_run: bool) -> Request:
    """label is "VM" or "VMI"; the body is `{dryRun?, evacuationNodeName}`."""
    body = _dry_run({}, dry_run)
    body["evacuationNodeName"] = node
    builder = paths.vm if label == "VM" else paths.vmi
    return Request("PUT", builder(namespace, name, "evacuate", "cancel"), body=body)


# --------------------------------------------------------------------------- expose


def create_request(resource: Resource, namespace: str, body: dict[str, Any]) -> Request:
    """POST a typed object (Service, PVC, Secret, VirtualMachineExport) to its collection."""
    return Request("POST", paths.collection(resource, namespace), body=body, content_type=JSON)


def delete_request(resource: Resource, namespace: str, name: str, body: dict[str, Any]) -> Request:
    return Request("DELETE", paths.ref(resource, namespace, name), body=body, content_type=JSON)


# --------------------------------------------------------------------------- volumes, memory dumps


def datavolume_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.DATAVOLUMES, namespace, name))


def pvc_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.PVCS, namespace, name))


def hotplug_requests(namespace: str, vm: str, action: str, body: dict[str, Any]) -> tuple[Request, Request]:
    """The VM subresource call and its standalone-VMI fallback (addvolume / removevolume)."""
    return (Request("PUT", paths.vm(namespace, vm, action), body=body),
            Request("PUT", paths.vmi(namespace, vm, action), body=body))


def memorydump_request(namespace: str, vm: str, claim: str) -> Request:
    return Request("PUT", paths.vm(namespace, vm, "memorydump"), body={"claimName": claim, "phase": ""})


def remove_memorydump_request(namespace: str, vm: str) -> Request:
    return Request("PUT", paths.vm(namespace, vm, "removememorydump"))


def cdiconfig_request() -> Request:
    return Request("GET", paths.ref(paths.CDICONFIGS, None, "config"))


# --------------------------------------------------------------------------- usbredir, guestfs


def usbredir_stream(namespace: str, name: str) -> Request:
    return Request("GET", paths.vmi(namespace, name, "usbredir"))


DELETE_OPTIONS = {"kind": "DeleteOptions", "apiVersion": "v1"}


def pod_get_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.PODS, namespace, name))


def pods_list_request(namespace: str) -> Request:
    return list_request(paths.PODS, namespace)


def pod_create_request(namespace: str, pod: dict[str, Any]) -> Request:
    return create_request(paths.PODS, namespace, pod)


def pod_delete_request(namespace: str, name: str) -> Request:
    return delete_request(paths.PODS, namespace, name, dict(DELETE_OPTIONS))


def pod_attach_stream(namespace: str, name: str, container: str) -> Request:
    """pods/attach with stdin, stdout, stderr and a TTY (the websocket upgrade is a GET)."""
    query = [("container", container), ("stderr", "true"), ("stdin", "true"), ("stdout", "true"), ("tty", "true")]
    return Request("GET", paths.ref(paths.PODS, namespace, name, "attach"), query=query)
