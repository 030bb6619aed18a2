"""`list` (alias `ls`) and `status`: seeing VMs without switching to kubectl.

`list [vm|vmi]` prints a table (NAME, STATUS, READY, NODE, IP, AGE; NAMESPACE first with -A),
`-o wide|json|yaml|name`, and `--watch` keeps it live. `status VM` shows one VM in depth: status,
conditions, its VMI's phase, node and IPs, the guest OS when the agent is connected, the last
migration and the volumes.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.errors import ApiError, CLIError, UsageError, prefixed
from pyvirtctl.goflags import exact_args, go_command, maximum_args
from pyvirtctl.kube import paths
from pyvirtctl.kube.request import Request
from pyvirtctl.kubevirt.requests import guestosinfo_request, list_request, vm_get_request, vmi_get_request
from pyvirtctl.runtime import session
from pyvirtctl.tables import age, print_table, render

VM_WORDS = ("vm", "vms", "virtualmachine", "virtualmachines")
VMI_WORDS = ("vmi", "vmis", "virtualmachineinstance", "virtualmachineinstances")
OUTPUTS = ("", "wide", "json", "yaml", "name")

OutputOpt = Annotated[str, typer.Option("--output", "-o", autocompletion=comp.complete_list_outputs, help="Output format: wide, json, yaml or name.")]


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


def _cond(obj: dict, ctype: str) -> dict:
    for c in _status(obj).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return {}


def _ip(vmi: dict | None) -> str:
    for iface in _status(vmi or {}).get("interfaces") or []:
        ip = iface.get("ipAddress") or next(iter(iface.get("ipAddresses") or []), "")
        if ip:
            return ip
    return ""


def vm_row(vm: dict, vmi: dict | None, wide: bool, all_ns: bool) -> list[str]:
    """One table row for a VM and (when it runs) its VMI."""
    meta = vm.get("metadata") or {}
    status = _status(vm)
    ready = "True" if status.get("ready") else "False"
    row = [meta.get("name", ""), status.get("printableStatus", "") or "Unknown", ready,
           _status(vmi or {}).get("nodeName", ""), _ip(vmi), age(meta.get("creationTimestamp"))]
    if wide:
        spec = vm.get("spec") or {}
        strategy = spec.get("runStrategy") or ("Always" if spec.get("running") else "Halted")
        row += [strategy, _status(vmi or {}).get("phase", "")]
    return ([meta.get("namespace", "")] if all_ns else []) + row


def vmi_row(vmi: dict, wide: bool, all_ns: bool) -> list[str]:
    meta = vmi.get("metadata") or {}
    status = _status(vmi)
    ready = "True" if str(_cond(vmi, "Ready").get("status", "")).lower() == "true" else "False"
    row = [meta.get("name", ""), status.get("phase", "") or "Unknown", ready, status.get("nodeName", ""),
           _ip(vmi), age(meta.get("creationTimestamp"))]
    if wide:
        paused = "True" if str(_cond(vmi, "Paused").get("status", "")).lower() == "true" else "False"
        migratable = _cond(vmi, "LiveMigratable").get("status", "")
        row += [paused, migratable]
    return ([meta.get("namespace", "")] if all_ns else []) + row


def headers(kind: str, wide: bool, all_ns: bool) -> list[str]:
    base = ["NAME", "STATUS" if kind == "vm" else "PHASE", "READY", "NODE", "IP", "AGE"]
    if wide:
        base += ["RUNSTRATEGY", "VMI"] if kind == "vm" else ["PAUSED", "LIVEMIGRATABLE"]
    return (["NAMESPACE"] if all_ns else []) + base


def rows_for(kind: str, vms: list[dict], vmis: list[dict], wide: bool, all_ns: bool) -> list[list[str]]:
    if kind == "vmi":
        items = sorted(vmis, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return [vmi_row(v, wide, all_ns) for v in items]
    by_key = {(v["metadata"].get("namespace", ""), v["metadata"]["name"]): v for v in vmis}
    items = sorted(vms, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    return [vm_row(v, by_key.get((v["metadata"].get("namespace", ""), v["metadata"]["name"])), wide, all_ns)
            for v in items]


def as_list(items: list[dict]) -> dict:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def dump(obj: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(obj, indent=4, ensure_ascii=False) + "\n"
    import yaml

    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True)


def _kind(word: str) -> str:
    w = word.lower()
    if w in VM_WORDS:
        return "vm"
    if w in VMI_WORDS:
        return "vmi"
    raise CLIError(f"unsupported resource type: {w}")


def _fetch(s: Any, kind: str, namespace: str | None, selector: str) -> tuple[list[dict], list[dict], str]:
    vmis_resp = s.send(list_request(paths.VMIS, namespace, selector)).json()
    vms: list[dict] = []
    rv = (vmis_resp.get("metadata") or {}).get("resourceVersion", "")
    if kind == "vm":
        vms_resp = s.send(list_request(paths.VMS, namespace, selector)).json()
        vms = list(vms_resp.get("items") or [])
        rv = (vms_resp.get("metadata") or {}).get("resourceVersion", "") or rv
    return vms, list(vmis_resp.get("items") or []), rv


@go_command(
    "list",
    use="list [vm|vmi]",
    short="List virtual machines (or instances) as a table.",
    long="List virtual machines, or virtual machine instances with `list vmi`, with their status, readiness,\n"
    "node, IP address and age.",
    example="  # List the virtual machines of the current namespace:\n  {{ProgramName}} list\n\n"
    "  # Every running instance in the cluster, as YAML:\n  {{ProgramName}} list vmi -A -o yaml\n\n"
    "  # Keep the table live:\n  {{ProgramName}} list --watch",
    args=maximum_args(1),
)
def list_cmd(
    ctx: typer.Context,
    what: Annotated[list[str] | None, typer.Argument(autocompletion=comp.choices("vm", "vmi"))] = None,
    output: OutputOpt = "",
    selector: Annotated[str, typer.Option("--selector", "-l", help="Selector (label query) to filter on.")] = "",
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="List across all namespaces.")
    ] = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="After listing, watch for changes.")] = False,
) -> None:
    kind = _kind(what[0]) if what else "vm"
    if output not in OUTPUTS:
        raise UsageError(f"unable to match a printer suitable for the output format \"{output}\", "
                         "allowed formats are: json,name,wide,yaml")
    if watch and output in ("json", "yaml", "name"):
        raise UsageError("--watch works with the table output only")
    s = session(ctx)
    namespace = None if all_namespaces else s.namespace
    list_request(paths.VMS, namespace)  # the namespace is checked before any request
    vms, vmis, rv = _fetch(s, kind, namespace, selector)
    items = vms if kind == "vm" else vmis
    if output in ("json", "yaml"):
        sys.stdout.write(dump(as_list(items), output))
        return
    if output == "name":
        prefix = "virtualmachine.kubevirt.io" if kind == "vm" else "virtualmachineinstance.kubevirt.io"
        for o in sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])):
            print(f"{prefix}/{o['metadata']['name']}")
        return
    wide = output == "wide"
    if not items and not watch:
        where = "" if all_namespaces else f" in {s.namespace} namespace"
        print(f"No resources found{where}.", file=sys.stderr)
        return
    status_cols = [2 if all_namespaces else 1]
    rows = rows_for(kind, vms, vmis, wide, all_namespaces)
    if not watch:
        print_table(headers(kind, wide, all_namespaces), rows, status_cols)
        return
    _watch(s, kind, namespace, selector, vms, vmis, wide, all_namespaces, status_cols, rv)


def _watch(s: Any, kind: str, namespace: str | None, selector: str, vms: list[dict], vmis: list[dict], wide: bool,
           all_ns: bool, status_cols: list[int], rv: str) -> None:
    """Keep the table live: a redrawn rich Live table on a terminal, changed rows as lines when piped."""
    import queue
    import threading

    from pyvirtctl.streams.terminal import next_item  # the watch ends on a Ctrl+C a watch thread takes

    state = {
        "vm": {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in vms},
        "vmi": {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in vmis},
    }
    events: queue.Queue = queue.Queue()

    def pump(which: str, resource: paths.Resource) -> None:
        resource_version = rv
        listing = list_request(resource, namespace, selector)
        while True:
            try:
                q = [*listing.query, ("watch", "true")]
                q += [("resourceVersion", resource_version)] if resource_version else []
                for etype, obj in s.watch(listing.path, query=q):
                    resource_version = (obj.get("metadata") or {}).get("resourceVersion", resource_version)
                    events.put((which, etype, obj))
                resource_version = ""
            except CLIError as e:
                events.put(("error", "", {"message": e.message}))
                return

    threads = [threading.Thread(target=pump, args=("vmi", paths.VMIS), daemon=True)]
    if kind == "vm":
        threads.append(threading.Thread(target=pump, args=("vm", paths.VMS), daemon=True))
    for t in threads:
        t.start()
    head = headers(kind, wide, all_ns)

    def current_rows() -> list[list[str]]:
        return rows_for(kind, list(state["vm"].values()), list(state["vmi"].values()), wide, all_ns)

    live_tty = sys.stdout.isatty()
    try:
        if live_tty:
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            console = Console(highlight=False)
            with Live(Text(render(head, current_rows())), console=console, auto_refresh=False) as live:
                while True:
                    which, etype, obj = next_item(events)
                    if which == "error":
                        raise CLIError(obj["message"])
                    _apply(state, which, etype, obj)
                    live.update(Text(render(head, current_rows())), refresh=True)
        else:
            lines = WatchLines(head, current_rows(), age_column=head.index("AGE"))
            sys.stdout.write(lines.table())
            sys.stdout.flush()
            while True:
                which, etype, obj = next_item(events)
                if which == "error":
                    raise CLIError(obj["message"])
                listed_gone = etype == "DELETED" and which == kind
                before = _row_of(kind, state, obj, wide, all_ns) if listed_gone else None
                _apply(state, which, etype, obj)
                if before is not None:
                    print(lines.gone(before), flush=True)  # its last row, as kubectl prints a deletion
                    continue
                row = _row_of(kind, state, obj, wide, all_ns)
                line = lines.changed(row) if row is not None else None
                if line is not None:
                    print(line, flush=True)
    except KeyboardInterrupt:
        return


class WatchLines:
    """`list --watch` when piped, as `kubectl get -w` prints it: the table once, then one row per
    changed object, padded to the table's column widths so the columns stay under their headers.
    A row is printed when anything but its AGE changed since that object's last printed row."""

    # room for the values a watched row usually takes later (`Stopped` becomes `Provisioning`, an IP appears)
    ROOM = {"STATUS": len("Provisioning"), "PHASE": len("Scheduling"), "NODE": 8, "IP": len("255.255.255.255")}

    def __init__(self, head: list[str], rows: list[list[str]], age_column: int) -> None:
        self.head = head
        self.rows = rows
        self.age = age_column
        cells = [head, *rows]
        self.widths = [max([len(str(r[i])) for r in cells] + [self.ROOM.get(h, 0)]) for i, h in enumerate(head)]
        self.last = {self._key(r): self._sig(r) for r in rows}

    def _key(self, row: list[str]) -> tuple[str, ...]:
        return tuple(row[:2]) if self.head[0] == "NAMESPACE" else (row[0],)

    def _sig(self, row: list[str]) -> tuple[str, ...]:
        return tuple(c for i, c in enumerate(row) if i != self.age)

    def line(self, row: list[str]) -> str:
        last = len(row) - 1
        return "   ".join(c if i == last else c.ljust(self.widths[i]) for i, c in enumerate(row)).rstrip()

    def table(self) -> str:
        return "".join(self.line(r) + "\n" for r in [self.head, *self.rows])

    def changed(self, row: list[str]) -> str | None:
        key, sig = self._key(row), self._sig(row)
        if self.last.get(key) == sig:
            return None
        self.last[key] = sig
        return self.line(row)

    def gone(self, row: list[str]) -> str:
        self.last.pop(self._key(row), None)
        return self.line(row)


def _row_of(kind: str, state: dict, obj: dict, wide: bool, all_ns: bool) -> list[str] | None:
    """The table row the object of an event belongs to (a VMI event changes its VM's row in `list vm`)."""
    key = ((obj.get("metadata") or {}).get("namespace", ""), (obj.get("metadata") or {}).get("name", ""))
    if kind == "vmi":
        vmi = state["vmi"].get(key)
        return vmi_row(vmi, wide, all_ns) if vmi is not None else None
    vm = state["vm"].get(key)
    return vm_row(vm, state["vmi"].get(key), wide, all_ns) if vm is not None else None


def _apply(state: dict, which: str, etype: str, obj: dict) -> None:
    key = ((obj.get("metadata") or {}).get("namespace", ""), (obj.get("metadata") or {}).get("name", ""))
    if etype == "DELETED":
        state[which].pop(key, None)
    elif etype in ("ADDED", "MODIFIED"):
        state[which][key] = obj


# --------------------------------------------------------------------------- status

_FINISHED = ("Succeeded", "Failed")


def current_migration(vmi: dict | None, migrations: list[dict]) -> dict | None:
    """The migration the VMI reports as its latest (`status.migrationState.migrationUid`).

    Creation timestamps have a resolution of one second, so two migrations started in the same second
    cannot be ordered by them. Without a match (the VMI is gone, or the state was cleared), an
    unfinished migration wins, then the newest by timestamp, then the later one in the list.
    """
    if not migrations:
        return None
    uid = ((_status(vmi or {}).get("migrationState")) or {}).get("migrationUid")
    if uid:
        for m in migrations:
            if (m.get("metadata") or {}).get("uid") == uid:
                return m
    ranked = sorted(
        enumerate(migrations),
        key=lambda im: (
            _status(im[1]).get("phase") not in _FINISHED,
            (im[1].get("metadata") or {}).get("creationTimestamp", ""),
            im[0],
        ),
    )
    return ranked[-1][1]


def status_report(vm: dict, vmi: dict | None, guest: dict | None, migrations: list[dict]) -> str:
    """The `status` text for one VM (pure)."""
    meta = vm.get("metadata") or {}
    st = _status(vm)
    spec = vm.get("spec") or {}
    strategy = spec.get("runStrategy") or ("Always" if spec.get("running") else "Halted")
    lines = [
        f"Name:          {meta.get('name', '')}",
        f"Namespace:     {meta.get('namespace', '')}",
        f"Status:        {st.get('printableStatus', 'Unknown')}",
        f"Ready:         {'True' if st.get('ready') else 'False'}",
        f"Run strategy:  {strategy}",
        f"Created:       {meta.get('creationTimestamp', '')} ({age(meta.get('creationTimestamp'))} ago)",
    ]
    if vmi:
        vst = _status(vmi)
        lines.append(f"Instance:      {vst.get('phase', 'Unknown')}"
                     + (f" on {vst['nodeName']}" if vst.get("nodeName") else "")
                     + f" (uid {(vmi.get('metadata') or {}).get('uid', '')})")
        ips = []
        for iface in vst.get("interfaces") or []:
            for ip in iface.get("ipAddresses") or ([iface["ipAddress"]] if iface.get("ipAddress") else []):
                if ip not in ips:
                    ips.append(ip)
        lines.append(f"IP addresses:  {', '.join(ips) if ips else '<none>'}")
    else:
        lines.append("Instance:      <none> (the VM is not running)")
    if guest:
        os_info = guest.get("os") or {}
        pretty = os_info.get("prettyName") or os_info.get("name") or "unknown"
        agent = guest.get("guestAgentVersion", "")
        lines.append(f"Guest OS:      {pretty}" + (f" (guest agent {agent})" if agent else ""))
    conditions = [("VM", c) for c in st.get("conditions") or []]
    conditions += [("VMI", c) for c in _status(vmi or {}).get("conditions") or []]
    if conditions:
        lines.append("Conditions:")
        rows = [[of, c.get("type", ""), str(c.get("status", "")), c.get("reason", ""), c.get("message", "")]
                for of, c in conditions]
        lines += ["  " + line for line in render(["OF", "TYPE", "STATUS", "REASON", "MESSAGE"], rows).splitlines()]
    last = current_migration(vmi, migrations)
    if last is not None:
        mst = _status(last)
        state = mst.get("migrationState") or {}
        route = ""
        if state.get("sourceNode") or state.get("targetNode"):
            route = f" {state.get('sourceNode', '?')} -> {state.get('targetNode', '?')}"
        lines.append(f"Last migration: {last['metadata']['name']} {mst.get('phase', 'Unknown')}{route}"
                     f" ({age((last.get('metadata') or {}).get('creationTimestamp'))} ago)")
    volumes = ((spec.get("template") or {}).get("spec") or {}).get("volumes") or []
    if volumes:
        lines.append("Volumes:")
        rows = []
        for v in volumes:
            source = next((k for k in v if k != "name"), "")
            detail = v.get(source) or {}
            ref = detail.get("claimName") or detail.get("name") or detail.get("image") or ""
            rows.append([v.get("name", ""), source, ref])
        lines += ["  " + line for line in render(["NAME", "SOURCE", "REFERENCE"], rows).splitlines()]
    return "\n".join(lines) + "\n"


@go_command(
    "status",
    use="status (VM)",
    short="Show one virtual machine in depth.",
    long="Show one virtual machine in depth: its status and conditions, the phase, node and IP addresses of its\n"
    "instance, the guest OS when the guest agent is connected, the last migration and the volumes.",
    example="  # Show the virtual machine 'myvm':\n  {{ProgramName}} status myvm",
    args=exact_args(1),
)
def status_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vm_names)],
    output: Annotated[
        str, typer.Option("--output", "-o", autocompletion=comp.complete_output_formats, help="Output format: json or yaml.")
    ] = "",
) -> None:
    if output not in ("", "json", "yaml"):
        raise UsageError(f"unsupported output format: {output} (must be 'json' or 'yaml')")
    s = session(ctx)
    name = names[0]
    prefix = f"error fetching VirtualMachine {name}: "
    with prefixed(prefix):
        get_vm = vm_get_request(s.namespace, name)
    vm = s.send(get_vm, error_prefix=prefix).json()
    vmi = _optional(s, vmi_get_request(s.namespace, name))
    guest = None
    if vmi and str(_cond(vmi, "AgentConnected").get("status", "")).lower() == "true":
        guest = _optional(s, Request("GET", guestosinfo_request(s.namespace, name).ref))
    migrations_request = list_request(paths.MIGRATIONS, s.namespace, selector=f"kubevirt.io/vmi-name={name}")
    migrations = s.send(migrations_request).json().get("items") or []
    if output:
        sys.stdout.write(dump({"vm": vm, "vmi": vmi, "guestOSInfo": guest, "migrations": migrations}, output))
        return
    sys.stdout.write(status_report(vm, vmi, guest, migrations))


def _optional(s: Any, request: Request) -> dict | None:
    try:
        return s.send(request).json()
    except ApiError as e:
        if e.status in (404, 409, 400, 503):
            return None
        raise
