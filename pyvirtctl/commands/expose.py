"""`expose TYPE NAME`: a Service in front of a VM, VMI or VMI replica set (virtctl.md §3).

The Service is built and created by `pyvirtctl.kubevirt.expose` (shared with `Client.expose`); this
module checks the flags before the client is built, and prints the result.

Beyond virtctl: `--name` defaults to the resource name, `--dry-run` prints the Service instead of
creating it, and `-o json|yaml` prints the created Service instead of the success line.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kubevirt.expose import ExposeOptions, expose_service, validate_expose
from pyvirtctl.runtime import IO, session

EXPOSE_LONG = (
    "Looks up a virtual machine instance, virtual machine or virtual machine instance replica set by name and "
    "use its selector as the selector for a new service on the specified port.\n"
    "A virtual machine instance replica set will be exposed as a service only if its selector is convertible "
    "to a selector that service supports, i.e. when the selector contains only the matchLabels component.\n"
    "Note that if no port is specified via --port and the exposed resource has multiple ports, all will be "
    "re-used by the new service.\n"
    "Also if no labels are specified, the new service will re-use the labels from the resource it exposes.\n"
    "\n"
    "Possible types are (case insensitive, both single and plurant forms):\n"
    "\n"
    "virtualmachineinstance (vmi), virtualmachine (vm), virtualmachineinstancereplicaset (vmirs)"
)
EXPOSE_EXAMPLE = (
    "  # Expose SSH to a virtual machine instance called 'myvm' on each node via a NodePort service:\n"
    "  {{ProgramName}} expose vmi myvm --port=22 --name=myvm-ssh --type=NodePort\n"
    "\n"
    "  # Expose all defined pod-network ports of a virtual machine instance replicaset on a service:\n"
    "  {{ProgramName}} expose vmirs myvmirs --name=vmirs-service\n"
    "\n"
    "  # Expose port 8080 as port 80 from a virtual machine instance replicaset on a service:\n"
    "  {{ProgramName}} expose vmirs myvmirs --port=80 --target-port=8080 --name=vmirs-service"
)


def render(obj: Any, fmt: str) -> str:
    """An object as `-o json` (kubectl's 4-space indent) or `-o yaml` text, ending with a newline."""
    if fmt == "yaml":
        import yaml  # only this output needs it

        return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True)
    import json

    return json.dumps(obj, indent=4, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- the run


def run_expose(o: ExposeOptions, s: Any, io: IO) -> None:
    result = expose_service(s, o, s.namespace)
    if o.dry_run:
        io.print(render(result, o.output or "yaml"), end="")
    elif o.output:
        io.print(render(result, o.output), end="")
    else:
        io.print(f"Service {o.service} successfully created for {o.kind_word} {o.name}")


def _client(ctx: typer.Context) -> Any:
    return session(ctx, error_prefix="cannot obtain KubeVirt client: ")


@go_command(
    "expose",
    use="expose (TYPE NAME)",
    short="Expose a virtual machine instance, virtual machine, or virtual machine instance replica set as a new service.",
    long=EXPOSE_LONG,
    example=EXPOSE_EXAMPLE,
    args=exact_args(2),
    go_types={"port": "int32"},
)
def expose_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_expose_args)],
    name: Annotated[
        str,
        typer.Option(
            "--name",
            help="Name of the service created for the exposure of the VM. Defaults to the name of the exposed resource.",
        ),
    ] = "",
    cluster_ip: Annotated[
        str,
        typer.Option(
            "--cluster-ip",
            help="ClusterIP to be assigned to the service. Leave empty to auto-allocate, or set to 'None' to "
            "create a headless service.",
        ),
    ] = "",
    external_ip: Annotated[
        str,
        typer.Option(
            "--external-ip",
            help="Additional external IP address (not managed by the cluster) to accept for the service. If this "
            "IP is routed to a node, the service can be accessed by this IP in addition to its generated service "
            "IP. Optional.",
        ),
    ] = "",
    port: Annotated[int, typer.Option("--port", help="The port that the service should serve on.")] = 0,
    protocol: Annotated[
        str, typer.Option("--protocol", autocompletion=comp.complete_protocols, help="The network protocol for the service to be created.")
    ] = "TCP",
    target_port: Annotated[
        str,
        typer.Option(
            "--target-port",
            help="Name or number for the port on the VM that the service should direct traffic to. Optional.",
        ),
    ] = "",
    service_type: Annotated[
        str, typer.Option("--type", autocompletion=comp.complete_service_types, help="Type for this service: ClusterIP, NodePort, or LoadBalancer.")
    ] = "ClusterIP",
    port_name: Annotated[str, typer.Option("--port-name", help="Name of the port. Optional.")] = "",
    ip_family: Annotated[
        str,
        typer.Option(
            "--ip-family",
            autocompletion=comp.complete_ip_families,
            help="IP family over which the service will be exposed. Valid values are 'IPv4', 'IPv6', "
            "'IPv4,IPv6' or 'IPv6,IPv4'",
        ),
    ] = "",
    ip_family_policy: Annotated[
        str,
        typer.Option(
            "--ip-family-policy",
            autocompletion=comp.complete_ip_family_policies,
            help="IP family policy defines whether the service can use IPv4, IPv6, or both. Valid values are "
            "'SingleStack', 'PreferDualStack' or 'RequireDualStack'",
        ),
    ] = "",
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the Service that would be created (YAML, or JSON with -o json) without creating it.",
        ),
    ] = False,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            autocompletion=comp.complete_output_formats,
            help="Print the created Service in this format instead of the success line: json or yaml.",
        ),
    ] = "",
) -> None:
    o = ExposeOptions(
        type=args[0],
        name=args[1],
        service_name=name,
        cluster_ip=cluster_ip,
        external_ip=external_ip,
        port=port,
        protocol=protocol,
        target_port=target_port,
        service_type=service_type,
        port_name=port_name,
        ip_family=ip_family,
        ip_family_policy=ip_family_policy,
        dry_run=dry_run,
        output=output,
    )
    validate_expose(o)
    run_expose(o, _client(ctx), IO.std())
