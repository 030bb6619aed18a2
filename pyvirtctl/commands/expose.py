"""`expose TYPE NAME`: a Service in front of a VM, VMI or VMI replica set (virtctl.md §3).

The pipeline: ExposeOptions -> validate_expose (flag conversions, in virtctl's order) -> the resource
GET -> build_service (pure: selector, ports, owner, the exact body virtctl POSTs) -> the POST.

Beyond virtctl: `--name` defaults to the resource name, `--dry-run` prints the Service instead of
creating it, and `-o json|yaml` prints the created Service instead of the success line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.errors import CLIError
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube.paths import CORE, KV
from pyvirtctl.kube.request import Request
from pyvirtctl.runtime import IO, session

ID_LABEL = "vmi.kubevirt.io/id"
OWNER_API_VERSION = "kubevirt.io/v1"

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


@dataclass(frozen=True)
class Kind:
    """One exposable resource kind: its API kind name and collection."""

    kind: str
    plural: str


VMI = Kind("VirtualMachineInstance", "virtualmachineinstances")
VM = Kind("VirtualMachine", "virtualmachines")
VMIRS = Kind("VirtualMachineInstanceReplicaSet", "virtualmachineinstancereplicasets")

KINDS: dict[str, Kind] = {
    **dict.fromkeys(("vmi", "vmis", "virtualmachineinstance", "virtualmachineinstances"), VMI),
    **dict.fromkeys(("vm", "vms", "virtualmachine", "virtualmachines"), VM),
    **dict.fromkeys(
        ("vmirs", "vmirss", "virtualmachineinstancereplicaset", "virtualmachineinstancereplicasets"), VMIRS
    ),
}

PROTOCOLS = {"tcp": "TCP", "udp": "UDP"}
SERVICE_TYPES = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer"}
IP_FAMILIES = {
    "": [],
    "ipv4": ["IPv4"],
    "ipv6": ["IPv6"],
    "ipv4,ipv6": ["IPv4", "IPv6"],
    "ipv6,ipv4": ["IPv6", "IPv4"],
}
IP_FAMILY_POLICIES = {
    "singlestack": "SingleStack",
    "preferdualstack": "PreferDualStack",
    "requiredualstack": "RequireDualStack",
}
OUTPUT_FORMATS = ("json", "yaml")


@dataclass(frozen=True)
class ExposeOptions:
    """The command line as typed (TYPE keeps its spelling; it is lower-cased where virtctl does)."""

    type: str
    name: str
    service_name: str = ""  # empty: named after the resource (pyvirtctl addition)
    cluster_ip: str = ""
    external_ip: str = ""
    port: int = 0
    protocol: str = "TCP"
    target_port: str = ""
    service_type: str = "ClusterIP"
    port_name: str = ""
    ip_family: str = ""
    ip_family_policy: str = ""
    dry_run: bool = False
    output: str = ""

    @property
    def kind_word(self) -> str:
        return self.type.lower()

    @property
    def service(self) -> str:
        return self.service_name or self.name


@dataclass(frozen=True)
class ServiceFlags:
    """The converted flag values (what virtctl's parseFlags produces)."""

    target_port: int | str
    protocol: str
    service_type: str
    ip_families: list[str]
    ip_family_policy: str


# --------------------------------------------------------------------------- pure helpers

_ATOI = re.compile(r"[+-]?[0-9]+")


def parse_int_or_string(value: str) -> int | str:
    """apimachinery's intstr.Parse: what strconv.Atoi accepts becomes an int32, anything else a string."""
    if not _ATOI.fullmatch(value):
        return value
    number = int(value)
    if not -(1 << 63) <= number < (1 << 63):
        return value  # Atoi fails with a range error: kept as a string
    number &= 0xFFFFFFFF  # Go's int32(i) conversion wraps
    return number - (1 << 32) if number >= (1 << 31) else number


def validate_expose(o: ExposeOptions) -> ServiceFlags:
    """Convert the flags in virtctl's order; the first bad value raises its error. No I/O."""
    target_port = parse_int_or_string(o.target_port)
    protocol = PROTOCOLS.get(o.protocol.lower())
    if protocol is None:
        raise CLIError(f"unknown protocol: {o.protocol}")
    low_type = o.service_type.lower()
    if low_type == "externalname":
        raise CLIError(f"type: {o.service_type} not supported")
    service_type = SERVICE_TYPES.get(low_type)
    if service_type is None:
        raise CLIError(f"unknown service type: {o.service_type}")
    families = IP_FAMILIES.get(o.ip_family.lower())
    if families is None:
        raise CLIError(f"unknown IPFamily/s: {o.ip_family}")
    if o.ip_family_policy == "":
        policy = "PreferDualStack" if len(families) > 1 else ""
    else:
        policy = IP_FAMILY_POLICIES.get(o.ip_family_policy.lower(), "")
        if not policy:
            raise CLIError(f"unknown IPFamilyPolicy/s: {o.ip_family_policy}")
    if o.output and o.output not in OUTPUT_FORMATS:
        raise CLIError(
            f'unable to match a printer suitable for the output format "{o.output}", '
            f"allowed formats are: {','.join(OUTPUT_FORMATS)}"
        )
    return ServiceFlags(target_port, protocol, service_type, list(families), policy)


def resource_kind(type_word: str) -> Kind:
    """The kind for a TYPE argument (already lower-cased), or virtctl's unsupported-type error."""
    kind = KINDS.get(type_word)
    if kind is None:
        raise CLIError(f"unsupported resource type: {type_word}")
    return kind


def fetch_request(kind: Kind, namespace: str, name: str) -> Request:
    return Request("GET", f"{KV}/namespaces/{namespace}/{kind.plural}/{name}")


def vmi_id(name: str) -> str:
    """The `vmi.kubevirt.io/id` label value: the name itself, or a 54-byte prefix plus a sha1 tag."""
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return name.encode()[:54].decode(errors="ignore") + "-" + digest


def pod_network_ports(vmi_spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The ports of the interface attached to the first pod network, named port-1, port-2, ..."""
    spec = vmi_spec or {}
    network = next((n for n in spec.get("networks") or [] if n.get("pod") is not None), None)
    if network is None or not network.get("name"):
        return []
    interfaces = ((spec.get("domain") or {}).get("devices") or {}).get("interfaces") or []
    iface = next((i for i in interfaces if i.get("name") == network["name"]), None)
    if iface is None:
        return []
    ports: list[dict[str, Any]] = []
    for i, p in enumerate(iface.get("ports") or []):
        entry: dict[str, Any] = {"name": f"port-{i + 1}"}
        if p.get("protocol"):
            entry["protocol"] = p["protocol"]
        entry["port"] = int(p.get("port") or 0)
        entry["targetPort"] = 0  # a zero IntOrString; the API server defaults it to port
        ports.append(entry)
    return ports


def selector_and_spec(kind: Kind, obj: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The Service selector for a fetched resource, and the VMI spec its ports come from."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    if kind is VMI:
        return {ID_LABEL: vmi_id(meta.get("name", ""))}, spec
    template = spec.get("template")
    vmi_spec = (template.get("spec") or {}) if template is not None else None
    if kind is VM:
        return {ID_LABEL: vmi_id(meta.get("name", ""))}, vmi_spec
    selector = spec.get("selector")
    if not selector or not selector.get("matchLabels"):
        raise CLIError("cannot expose VirtualMachineInstanceReplicaSet without any selector labels")
    if selector.get("matchExpressions"):
        raise CLIError("cannot expose VirtualMachineInstanceReplicaSet with match expressions")
    labels = selector["matchLabels"]
    return {k: labels[k] for k in sorted(labels)}, vmi_spec  # Go writes map keys sorted


def build_service(o: ExposeOptions, flags: ServiceFlags, kind: Kind, obj: dict[str, Any], namespace: str) -> dict:
    """The Service virtctl POSTs for this resource, with keys in Go's field order."""
    selector, vmi_spec = selector_and_spec(kind, obj)
    if o.port != 0:
        port: dict[str, Any] = {}
        if o.port_name:
            port["name"] = o.port_name
        port["protocol"] = flags.protocol
        port["port"] = o.port
        port["targetPort"] = flags.target_port
        ports = [port]
    else:
        ports = pod_network_ports(vmi_spec)
    if not ports:
        raise CLIError("couldn't find port via --port flag or introspection")
    meta = obj.get("metadata") or {}
    owner = {
        "apiVersion": OWNER_API_VERSION,
        "kind": kind.kind,
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": False,
    }
    spec: dict[str, Any] = {"ports": ports, "selector": selector}
    if o.cluster_ip:
        spec["clusterIP"] = o.cluster_ip
    spec["type"] = flags.service_type
    if o.external_ip:
        spec["externalIPs"] = [o.external_ip]
    if flags.ip_families:
        spec["ipFamilies"] = list(flags.ip_families)
    if flags.ip_family_policy:
        spec["ipFamilyPolicy"] = flags.ip_family_policy
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": o.service, "namespace": namespace, "ownerReferences": [owner]},
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def as_created(body: dict) -> dict:
    """What the API server will store for this Service body: an unset target port (0 or "") defaults
    to the port, as kube-apiserver's Service defaulting does. `--dry-run` prints this."""
    import copy

    out = copy.deepcopy(body)
    for port in (out.get("spec") or {}).get("ports") or []:
        if port.get("targetPort") in (0, "", None):
            port["targetPort"] = port.get("port")
    return out


def create_request(namespace: str, body: dict) -> Request:
    return Request("POST", f"{CORE}/namespaces/{namespace}/services", body=body, content_type="application/json")


def render(obj: Any, fmt: str) -> str:
    """An object as `-o json` (kubectl's 4-space indent) or `-o yaml` text, ending with a newline."""
    if fmt == "yaml":
        import yaml  # only this output needs it

        return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True)
    import json

    return json.dumps(obj, indent=4, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- the run


def run_expose(o: ExposeOptions, flags: ServiceFlags, s: Any, io: IO) -> None:
    kind = resource_kind(o.kind_word)
    obj = s.send(fetch_request(kind, s.namespace, o.name), error_prefix=f"error fetching {kind.kind}: ").json()
    body = build_service(o, flags, kind, obj, s.namespace)
    if o.dry_run:
        io.print(render(as_created(body), o.output or "yaml"), end="")
        return
    created = s.send(create_request(s.namespace, body), error_prefix="service creation failed: ")
    if o.output:
        io.print(render(created.json(), o.output), end="")
        return
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
    flags = validate_expose(o)
    run_expose(o, flags, _client(ctx), IO.std())
