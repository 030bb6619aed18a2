"""objectgraph (VM|VMI): the request and the printing are in `pyvirtctl.kubevirt.objectgraph`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.runtime import session

EXAMPLE = """
  # Get the object graph for a VirtualMachine named 'my-vm'
  {{ProgramName}} objectgraph my-vm

  # Get the object graph for a VirtualMachineInstance named 'my-vmi'
  {{ProgramName}} objectgraph --vmi my-vmi

  # Exclude optional nodes in the object graph for a VM
  {{ProgramName}} objectgraph my-vm --exclude-optional

  # Filter the object graph by label selector
  {{ProgramName}} objectgraph my-vm --selector="kubevirt.io/dependency-type=storage,kubevirt.io/dependency-type=compute"

  # Get the object graph in YAML format
  {{ProgramName}} objectgraph my-vm --output yaml
"""

_vm_names = comp.names_at(0, "vm")
_vmi_names = comp.names_at(0, "vmi")


def complete_name(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """VM names, or VMI names once --vmi is typed."""
    return (_vmi_names if ctx.params.get("vmi") else _vm_names)(ctx, args, incomplete)


complete_selector = comp.choices(*(f"kubevirt.io/dependency-type={t}" for t in
                                   ("compute", "storage", "config", "network")))


@go_command(
    "objectgraph",
    use="objectgraph (VM|VMI)",
    short="Returns dependency graph related to a VM|VMI.",
    example=EXAMPLE,
    args=exact_args(1),
    go_types={"selector": "stringToString"},
)
def objectgraph_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=complete_name)] = [],  # noqa: B006
    vmi: Annotated[bool, typer.Option("--vmi", help="Returns the object graph from the VMI instead of the VM.")] = False,
    exclude_optional: Annotated[bool, typer.Option(
        "--exclude-optional", help="Exclude optional nodes from the object graph.")] = False,
    selector: Annotated[str, typer.Option(
        "--selector", autocompletion=complete_selector,
        help="Label selectors to filter the object graph (multiple labels can be specified).")] = "",
    output: Annotated[str, typer.Option(
        "--output", "-o", help="Output format. One of: json|yaml",
        autocompletion=comp.complete_output_formats)] = "json",
) -> None:
    from pyvirtctl.kubevirt import objectgraph as og

    s = session(ctx)  # a broken kubeconfig is reported first, as in virtctl (building it sends nothing)
    og.check_output(output)  # before any request (virtctl asks the server first)
    # pflag's stringToString arrives as a dict (goflags), the default as ""
    labels: dict[str, str] = selector if isinstance(selector, dict) else {}
    o = og.ObjectGraphOptions(args[0], vmi, exclude_optional, labels, output)
    graph = og.object_graph(s, s.namespace, o)
    sys.stdout.write(og.render(graph, output))
    sys.stdout.flush()
