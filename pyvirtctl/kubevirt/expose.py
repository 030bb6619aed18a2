"""expose (virtctl.md §3): the Service virtctl creates in front of a VM, VMI or VMI replica set.

The pipeline: ExposeOptions -> validate_expose (flag conversions, in virtctl's order) -> the resource
GET -> build_service (pure: selector, ports, owner, the exact body virtctl POSTs) -> the POST.
`expose_service` runs it against a session (the CLI and `Client.expose` share it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pyvirtctl.errors import CLIError, prefixed
from pyvirtctl.kube import paths
from pyvirtctl.kube.request import Request
from pyvirtctl.kubevirt.requests import create_request

ID_LABEL = "vmi.kubevirt.io/id"
OWNER_API_VERSION = "kubevirt.io/v1"


@dataclass(frozen=True)
class Kind:
    """One exposable resource kind: its API kind name and collection."""

    kind: str
    resource: paths.Resource


VMI = Kind("VirtualMachineInstance", paths.VMIS)
VM = Kind("VirtualMachine", paths.VMS)
VMIRS = Kind("VirtualMachineInstanceReplicaSet", paths.VMIRS)

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
    return Request("GET", paths.ref(kind.resource, namespace, name))


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


def as_created(body: dict[str, Any]) -> dict[str, Any]:
    """What the API server will store for this Service body: an unset target port (0 or "") defaults
    to the port, as kube-apiserver's Service defaulting does. A dry run returns this."""
    import copy

    out = copy.deepcopy(body)
    for port in (out.get("spec") or {}).get("ports") or []:
        if port.get("targetPort") in (0, "", None):
            port["targetPort"] = port.get("port")
    return out


def service_create_request(namespace: str, body: dict[str, Any]) -> Request:
    return create_request(paths.SERVICES, namespace, body)


def expose_service(session: Any, o: ExposeOptions, namespace: str) -> dict[str, Any]:
    """Check the options, fetch the resource, create its Service (or only build it with dry_run).

    Returns the created Service as the server answered it (with dry_run: the Service as it would be
    created, target ports defaulted as the server defaults them).
    Errors carry virtctl's prefixes (`error fetching VirtualMachine: ...`, `service creation failed: ...`).
    """
    flags = validate_expose(o)
    kind = resource_kind(o.kind_word)
    prefix = f"error fetching {kind.kind}: "
    with prefixed(prefix):
        fetch = fetch_request(kind, namespace, o.name)
    obj = session.send(fetch, error_prefix=prefix).json()
    body = build_service(o, flags, kind, obj, namespace)
    if o.dry_run:
        return as_created(body)
    created = session.send(service_create_request(namespace, body), error_prefix="service creation failed: ")
    return dict(created.json())


