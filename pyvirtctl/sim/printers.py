"""Table columns of the kinds the simulator serves, as kube-apiserver's printers and KubeVirt's and
CDI's `additionalPrinterColumns` define them (same headers, cells and priorities)."""

from __future__ import annotations

from typing import Any

from pyvirtctl.sim.tables import NAME, Column, age, crd_columns

# ----------------------------------------------------------------------------------------------
# KubeVirt / CDI custom resources (JSONPath columns)

READY = ".status.conditions[?(@.type=='Ready')].status"

VM = crd_columns(
    Column("Age", "date", ".metadata.creationTimestamp"),
    Column("Status", path=".status.printableStatus", description="Human Readable Status"),
    Column("Ready", path=READY),
)
VMI = crd_columns(
    Column("Age", "date", ".metadata.creationTimestamp"),
    Column("Phase", path=".status.phase"),
    Column("IP", path=".status.interfaces[0].ipAddress"),
    Column("NodeName", path=".status.nodeName"),
    Column("Ready", path=READY),
    Column("Live-Migratable", path=".status.conditions[?(@.type=='LiveMigratable')].status", priority=1),
    Column("Paused", path=".status.conditions[?(@.type=='Paused')].status", priority=1),
)
VMIM = crd_columns(
    Column("Phase", path=".status.phase", description="The current phase of VM instance migration"),
    Column("VMI", path=".spec.vmiName", description="The name of the VMI to perform the migration on"),
)


def replicas(what: str) -> tuple[Column, ...]:
    return crd_columns(
        Column("Desired", "integer", ".spec.replicas", description=f"Number of desired {what}"),
        Column("Current", "integer", ".status.replicas",
               description=f"Number of managed and not final or deleted {what}"),
        Column("Ready", "integer", ".status.readyReplicas",
               description=f"Number of managed {what} which are ready to receive traffic"),
        Column("Age", "date", ".metadata.creationTimestamp"),
    )


VMIRS = replicas("VirtualMachineInstances")
VMPOOL = replicas("VirtualMachines")
KUBEVIRT = crd_columns(Column("Age", "date", ".metadata.creationTimestamp"), Column("Phase", path=".status.phase"))
VMEXPORT = crd_columns(Column("SourceKind", path=".spec.source.kind"), Column("SourceName", path=".spec.source.name"),
                       Column("Phase", path=".status.phase"))
# the VirtualMachineSnapshot CRD's additionalPrinterColumns
VMSNAPSHOT = crd_columns(Column("SourceKind", path=".spec.source.kind"), Column("SourceName", path=".spec.source.name"),
                         Column("Phase", path=".status.phase"), Column("ReadyToUse", "boolean", ".status.readyToUse"),
                         Column("CreationTime", "date", ".status.creationTime"), Column("Error", path=".status.error.message"))
DATAVOLUME = crd_columns(
    Column("Phase", path=".status.phase", description="The phase the data volume is in"),
    Column("Progress", path=".status.progress", description="Transfer progress in percentage if known, N/A otherwise"),
    Column("Restarts", "integer", ".status.restartCount",
           description="The number of times the transfer has been restarted."),
    Column("Age", "date", ".metadata.creationTimestamp"),
)
PLAIN_CRD = crd_columns()
VMCLONE = crd_columns(Column("Phase", path=".status.phase"),
                      Column("SourceVirtualMachine", path=".spec.source.name"),
                      Column("TargetVirtualMachine", path=".spec.target.name"))
# virt-template's kinds (their CRDs' additionalPrinterColumns)
VMTEMPLATE = crd_columns(Column("Age", "date", ".metadata.creationTimestamp"), Column("Ready", path=READY))
VMTEMPLATE_REQUEST = crd_columns(
    Column("Template", path=".status.templateRef.name"),
    Column("Age", "date", ".metadata.creationTimestamp"),
    Column("Ready", path=READY),
    Column("Progressing", path=".status.conditions[?(@.type=='Progressing')].status"),
)


# ----------------------------------------------------------------------------------------------
# built-in printers (cells computed like pkg/printers/internalversion)

def _get(obj: dict, *path: str) -> Any:
    cur: Any = obj
    for p in path:
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def _age(obj: dict) -> str:
    return age(_get(obj, "metadata", "creationTimestamp"))


def _labels(selector: dict | None) -> str:
    if not selector:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


AGE = Column("Age", cell=_age, description="Time since the object was created.")


def _svc_external_ip(svc: dict) -> str:
    spec = svc.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    ext = list(spec.get("externalIPs") or [])
    if stype in ("ClusterIP", "NodePort"):
        return ",".join(ext) if ext else "<none>"
    if stype == "LoadBalancer":
        lb = [i.get("ip") or i.get("hostname") for i in _get(svc, "status", "loadBalancer", "ingress") or []]
        lb = [x for x in lb if x]
        if ext or lb:
            return ",".join(lb + ext)
        return "<pending>"
    if stype == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _svc_ports(svc: dict) -> str:
    out = []
    for p in _get(svc, "spec", "ports") or []:
        proto = p.get("protocol", "TCP")
        out.append(f"{p.get('port')}:{p['nodePort']}/{proto}" if p.get("nodePort") else f"{p.get('port')}/{proto}")
    return ",".join(out) or "<none>"


SERVICE = (
    NAME,
    Column("Type", cell=lambda o: _get(o, "spec", "type") or "", description="How the Service is exposed."),
    Column("Cluster-IP", cell=lambda o: ((_get(o, "spec", "clusterIPs") or [None])[0]
                                         or _get(o, "spec", "clusterIP") or "<none>"),
           description="The IP address of the service inside the cluster."),
    Column("External-IP", cell=_svc_external_ip, description="Addresses the service is reachable at from outside."),
    Column("Port(s)", cell=_svc_ports, description="The ports the service exposes."),
    AGE,
    Column("Selector", cell=lambda o: _labels(_get(o, "spec", "selector")), priority=1,
           description="The pods (or VMs) the service routes to."),
)

def _sc_name(sc: dict) -> str:
    name = _get(sc, "metadata", "name") or ""
    default = (_get(sc, "metadata", "annotations") or {}).get("storageclass.kubernetes.io/is-default-class")
    return f"{name} (default)" if default == "true" else name


STORAGECLASS = (
    Column("Name", cell=_sc_name, description="Name must be unique within a namespace."),
    Column("Provisioner", cell=lambda o: o.get("provisioner") or "", description="The provisioner of the class."),
    Column("ReclaimPolicy", cell=lambda o: o.get("reclaimPolicy") or "Delete",
           description="What happens to a volume when its claim is released."),
    Column("VolumeBindingMode", cell=lambda o: o.get("volumeBindingMode") or "Immediate",
           description="When volumes are bound to claims."),
    Column("AllowVolumeExpansion", cell=lambda o: str(bool(o.get("allowVolumeExpansion"))).lower(),
           description="Whether volumes of this class may grow."),
    AGE,
)

_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _pvc_cells(pvc: dict) -> tuple[str, str, str]:
    """(volume, capacity, access modes): capacity and modes come from the status once bound."""
    vol = _get(pvc, "spec", "volumeName") or ""
    if not vol:
        return "", "", ""
    modes = ",".join(_MODES.get(m, m) for m in _get(pvc, "status", "accessModes") or [])
    return vol, str(_get(pvc, "status", "capacity", "storage") or ""), modes


PVC = (
    NAME,
    Column("Status", cell=lambda o: "Terminating" if _get(o, "metadata", "deletionTimestamp")
           else _get(o, "status", "phase") or "", description="The phase of the claim."),
    Column("Volume", cell=lambda o: _pvc_cells(o)[0], description="The volume bound to the claim."),
    Column("Capacity", cell=lambda o: _pvc_cells(o)[1], description="The size of the bound volume."),
    Column("Access Modes", cell=lambda o: _pvc_cells(o)[2], description="How the volume may be mounted."),
    Column("StorageClass", cell=lambda o: _get(o, "spec", "storageClassName") or "",
           description="StorageClass of the pvc"),
    Column("VolumeAttributesClass", cell=lambda o: _get(o, "spec", "volumeAttributesClassName") or "<unset>",
           description="VolumeAttributesClass of the pvc"),
    AGE,
    Column("VolumeMode", cell=lambda o: _get(o, "spec", "volumeMode") or "<unset>", priority=1,
           description="Filesystem or Block."),
)

NAMESPACE = (
    NAME,
    Column("Status", cell=lambda o: _get(o, "status", "phase") or "", description="The status of the namespace"),
    AGE,
)

SECRET = (
    NAME,
    Column("Type", cell=lambda o: o.get("type") or "", description="The kind of secret."),
    Column("Data", cell=lambda o: len(o.get("data") or {}) + len(o.get("stringData") or {}),
           description="Number of keys."),
    AGE,
)

CONFIGMAP = (
    NAME,
    Column("Data", cell=lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}),
           description="Number of keys."),
    AGE,
)


def _event_last(ev: dict) -> str:
    first = ev.get("firstTimestamp") or ev.get("eventTime")
    return age(ev.get("lastTimestamp") or first)


def _event_object(ev: dict) -> str:
    io = ev.get("involvedObject") or {}
    kind = str(io.get("kind") or "").lower()
    return f"{kind}/{io['name']}" if io.get("name") else kind


def _event_source(ev: dict) -> str:
    src = ev.get("source") or {}
    comp, host = src.get("component") or "", src.get("host") or ""
    return f"{comp}, {host}" if host else comp


EVENT = (
    Column("Last Seen", cell=_event_last, description="When the event was last recorded."),
    Column("Type", cell=lambda o: o.get("type") or "", description="Normal or Warning."),
    Column("Reason", cell=lambda o: o.get("reason") or "", description="Why the event happened, in one word."),
    Column("Object", cell=_event_object, description="The object the event is about."),
    Column("Subobject", cell=lambda o: _get(o, "involvedObject", "fieldPath") or "", priority=1,
           description="The part of the object, if any."),
    Column("Source", cell=_event_source, priority=1, description="The component that reported the event."),
    Column("Message", cell=lambda o: o.get("message") or "", description="What happened."),
    Column("First Seen", cell=lambda o: age(o.get("firstTimestamp") or o.get("eventTime")), priority=1,
           description="When the event was first recorded."),
    Column("Count", cell=lambda o: int(o.get("count") or 1), priority=1, description="How often it happened."),
    Column("Name", cell=lambda o: _get(o, "metadata", "name"), priority=1, format="name",
           description="The event's name."),
)


def _pod_ready(pod: dict) -> str:
    specs = _get(pod, "spec", "containers") or []
    statuses = _get(pod, "status", "containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(specs)}"


def _pod_status(pod: dict) -> str:
    if _get(pod, "metadata", "deletionTimestamp"):
        return "Terminating"
    st = pod.get("status") or {}
    reason = st.get("reason") or st.get("phase") or ""
    for cs in st.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if reason == "Running" and not all(cs.get("ready") for cs in st.get("containerStatuses") or []):
        reason = "NotReady" if st.get("containerStatuses") else reason
    return reason


def _pod_gates(pod: dict) -> str:
    gates = _get(pod, "spec", "readinessGates") or []
    if not gates:
        return "<none>"
    conds = {c.get("type"): c.get("status") for c in _get(pod, "status", "conditions") or []}
    return f"{sum(1 for g in gates if conds.get(g.get('conditionType')) == 'True')}/{len(gates)}"


POD = (
    NAME,
    Column("Ready", cell=_pod_ready, description="The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", cell=_pod_status, description="The aggregate status of the containers in this pod."),
    Column("Restarts", cell=lambda o: str(sum(int(s.get("restartCount") or 0)
                                              for s in _get(o, "status", "containerStatuses") or [])),
           description="How often the pod's containers were restarted."),
    AGE,
    Column("IP", cell=lambda o: _get(o, "status", "podIP") or "<none>", priority=1, description="The pod's IP."),
    Column("Node", cell=lambda o: _get(o, "spec", "nodeName") or "<none>", priority=1,
           description="The node the pod runs on."),
    Column("Nominated Node", cell=lambda o: _get(o, "status", "nominatedNodeName") or "<none>", priority=1,
           description="The node the scheduler nominated, if any."),
    Column("Readiness Gates", cell=_pod_gates, priority=1, description="Extra readiness conditions met / wanted."),
)


def _node_status(node: dict) -> str:
    conds = {c.get("type"): c.get("status") for c in _get(node, "status", "conditions") or []}
    status = "Ready" if conds.get("Ready") == "True" else "NotReady" if "Ready" in conds else "Unknown"
    if _get(node, "spec", "unschedulable"):
        status += ",SchedulingDisabled"
    return status


def _node_roles(node: dict) -> str:
    labels = _get(node, "metadata", "labels") or {}
    roles = sorted({k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k}
                   | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set()))
    return ",".join(r for r in roles if r) or "<none>"


def _node_address(node: dict, kind: str) -> str:
    for a in _get(node, "status", "addresses") or []:
        if a.get("type") == kind:
            return a.get("address") or "<none>"
    return "<none>"


NODE = (
    NAME,
    Column("Status", cell=_node_status, description="The status of the node"),
    Column("Roles", cell=_node_roles, description="The roles of the node"),
    AGE,
    Column("Version", cell=lambda o: _get(o, "status", "nodeInfo", "kubeletVersion") or "",
           description="The kubelet's version."),
    Column("Internal-IP", cell=lambda o: _node_address(o, "InternalIP"), priority=1,
           description="The node's address inside the cluster."),
    Column("External-IP", cell=lambda o: _node_address(o, "ExternalIP"), priority=1,
           description="The node's external address."),
    Column("OS-Image", cell=lambda o: _get(o, "status", "nodeInfo", "osImage") or "", priority=1,
           description="The node's operating system."),
    Column("Kernel-Version", cell=lambda o: _get(o, "status", "nodeInfo", "kernelVersion") or "", priority=1,
           description="The node's kernel."),
    Column("Container-Runtime", cell=lambda o: _get(o, "status", "nodeInfo", "containerRuntimeVersion") or "",
           priority=1, description="The container runtime and its version."),
)
