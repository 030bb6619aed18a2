"""evacuate-cancel vm|vmi NAME: clear a pending evacuation (virtctl.md §2.14).

Like virtctl, the node the VMI runs on is read first (for both kinds) and sent as
`evacuationNodeName`. virtctl's Short text mentions nodes, but it has no node mode: `node` is
rejected as an unsupported resource type, exactly as virtctl rejects it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.commands.vm import DRY_RUN_HELP, DRY_RUN_LINE
from pyvirtctl.errors import CLIError, prefixed
from pyvirtctl.goflags import exact_args, go_command, go_quote
from pyvirtctl.kubevirt.requests import evacuate_cancel_request, vmi_get_request
from pyvirtctl.runtime import IO, session

VM_KINDS = ("vm", "vms", "virtualmachine", "virtualmachines")
VMI_KINDS = ("vmi", "vmis", "virtualmachineinstance", "virtualmachineinstances")

EXAMPLE = (
    "  # Cancel evacuation for a virtual machine\n  {{ProgramName}} evacuate-cancel vm my-vm\n\n"
    "  # Cancel evacuation for a virtual machine instance\n  {{ProgramName}} evacuate-cancel vmi my-vmi\n\n"
    "  # Cancel evacuation and also cancel an active migration for the VMI\n"
    "  {{ProgramName}} evacuate-cancel vmi my-vmi --migrate-cancel\n  "
)


def resource_label(kind: str) -> str:
    """"VM" or "VMI" for a kind as typed (case-insensitive); virtctl's error for anything else."""
    k = kind.lower()
    if k in VM_KINDS:
        return "VM"
    if k in VMI_KINDS:
        return "VMI"
    raise CLIError(f"unsupported resource type {go_quote(kind)}")


def run_evacuate_cancel(kind: str, name: str, dry_run: bool, s: Any, io: IO) -> None:
    label = resource_label(kind)
    if dry_run:
        io.print(DRY_RUN_LINE)
    ns = s.namespace
    get_prefix = f"error retrieving VMI for evacuation cancel for {label} {ns}/{name}: "
    with prefixed(get_prefix):
        get = vmi_get_request(ns, name)
    vmi = s.send(get, error_prefix=get_prefix).json()
    node = ((vmi or {}).get("status") or {}).get("nodeName") or ""
    if not node:
        raise CLIError(f"{label} {ns}/{name} doesn't report Node name")
    s.send(
        evacuate_cancel_request(label, ns, name, node, dry_run),
        error_prefix=f"error canceling evacuation for {label} {ns}/{name}: ",
    )
    io.print(f"{label} {ns}/{name} was canceled evacuation")


@go_command(
    "evacuate-cancel",
    use="evacuate-cancel (vm <vm-name> | vmi <vmi-name>)",
    short="Cancel evacuation for a VM, VMI, or all VMIs on a node",
    example=EXAMPLE,
    args=exact_args(2),
)
def evacuate_cancel_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=comp.type_then_name("vm", "vmi"))],
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
) -> None:
    s = session(ctx)
    run_evacuate_cancel(names[0], names[1], dry_run, s, IO.std())
