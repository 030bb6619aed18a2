"""virt-api's object graph (`.../virtualmachines|virtualmachineinstances/NAME/objectgraph`), computed
from what the simulator stores, as pkg/virt-api/rest/objectgraph.go builds it.

A VM's children, in order: its VMI (only when `status.created`) with the virt-launcher Pod under it;
the instancetype and preference (optional) and their ControllerRevisions; the Secrets of its access
credentials; its volumes (a DataVolume with its PVC under it, a PVC, a ConfigMap, a Secret, a
ServiceAccount, cloud-init user/network data Secrets) plus the backend-storage PVC (persistent TPM or
EFI, or changed block tracking); Multus NetworkAttachmentDefinitions (optional). A VMI's children: the
launcher Pod, credentials, volumes (the backend PVC from `status.volumeStatus`), networks.

Every node carries the label `kubevirt.io/dependency-type` (compute, storage, config, network). The
options filter the children (never the root): optional nodes go with `includeOptionalNodes: false`,
and a `labelSelector` keeps the nodes it matches (an invalid selector keeps everything, as virt-api).
A VM that needs a backend PVC but has none fails the whole request (500), as in virt-api.
"""

from __future__ import annotations

import re
from typing import Any

from pyvirtctl.sim import kstatus
from pyvirtctl.sim.store import Store

DEPENDENCY_LABEL = "kubevirt.io/dependency-type"
BACKEND_PREFIX = "persistent-state-for"
NO_BACKEND_PVC = "no backend PVC when there should be one"

# plural -> (API group, kind, dependency type)
KINDS: dict[str, tuple[str, str, str]] = {
    "virtualmachines": ("kubevirt.io", "VirtualMachine", "compute"),
    "virtualmachineinstances": ("kubevirt.io", "VirtualMachineInstance", "compute"),
    "virtualmachineinstancetypes": ("instancetype.kubevirt.io", "VirtualMachineInstancetype", "config"),
    "virtualmachineclusterinstancetypes": ("instancetype.kubevirt.io", "VirtualMachineClusterInstancetype", "config"),
    "virtualmachinepreferences": ("instancetype.kubevirt.io", "VirtualMachinePreference", "config"),
    "virtualmachineclusterpreferences": ("instancetype.kubevirt.io", "VirtualMachineClusterPreference", "config"),
    "datavolumes": ("cdi.kubevirt.io", "DataVolume", "storage"),
    "controllerrevisions": ("apps", "ControllerRevision", "config"),
    "configmaps": ("", "ConfigMap", "config"),
    "persistentvolumeclaims": ("", "PersistentVolumeClaim", "storage"),
    "serviceaccounts": ("", "ServiceAccount", "config"),
    "secrets": ("", "Secret", "config"),
    "pods": ("", "Pod", "compute"),
    "networkattachmentdefinitions": ("k8s.cni.cncf.io", "NetworkAttachmentDefinition", "network"),
}


class GraphError(Exception):
    """The graph cannot be built (virt-api answers 500 with this text)."""


def _d(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _list(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def node(name: str, namespace: str, plural: str, children: list[dict] | None = None,
         optional: bool = False) -> dict:
    group, kind, dependency = KINDS[plural]
    out: dict[str, Any] = {
        "objectReference": {"apiGroup": group, "kind": kind, "name": name, "namespace": namespace},
        "labels": {DEPENDENCY_LABEL: dependency},
    }
    if optional:
        out["optional"] = True
    if children:
        out["children"] = children
    return out


# --------------------------------------------------------------------------- label selectors

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _valid_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return bool(name) and len(name) <= 63 and bool(_NAME.match(name))


def _valid_value(value: str) -> bool:
    return value == "" or (len(value) <= 63 and bool(_NAME.match(value)))


def _selector(options: dict) -> dict[str, str] | None:
    """The matchLabels to require, or None to keep every node (no selector, or one virt-api cannot use)."""
    sel = options.get("labelSelector")
    if not isinstance(sel, dict):
        return None
    labels = sel.get("matchLabels") or {}
    if not isinstance(labels, dict) or sel.get("matchExpressions"):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) and _valid_key(k) and _valid_value(v)
               for k, v in labels.items()):
        return None
    return labels


def filter_nodes(nodes: list[dict], options: dict) -> list[dict]:
    include_optional = options.get("includeOptionalNodes")
    wanted = _selector(options)
    out = []
    for n in nodes:
        if n.get("optional") and include_optional is False:
            continue
        if wanted is not None and any((n.get("labels") or {}).get(k) != v for k, v in wanted.items()):
            continue
        n = dict(n)
        if n.get("children"):
            n["children"] = filter_nodes(n["children"], options)
            if not n["children"]:
                del n["children"]
        out.append(n)
    return out


# --------------------------------------------------------------------------- the graph


class Graph:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.store: Store = sim.store

    def _res(self, kind: str) -> Any:
        return self.sim.res(kind)

    def launcher_pod(self, name: str, namespace: str) -> dict | None:
        for pod in self.store.list(self._res("Pod"), namespace, label_selector="kubevirt.io=virt-launcher"):
            md = pod.get("metadata") or {}
            if any(r.get("kind") == "VirtualMachineInstance" and r.get("name") == name
                   for r in _list(md.get("ownerReferences"))):
                return node(md["name"], namespace, "pods")
            if (md.get("annotations") or {}).get("kubevirt.io/domain") == name:
                return node(md["name"], namespace, "pods")
        return None

    @staticmethod
    def credentials(spec: dict, namespace: str) -> list[dict]:
        out = []
        for cred in _list(spec.get("accessCredentials")):
            secret = _d(cred, "sshPublicKey", "source", "secret")
            if not isinstance(secret, dict):
                secret = _d(cred, "userPassword", "source", "secret")
            if isinstance(secret, dict):
                out.append(node(str(secret.get("secretName") or ""), namespace, "secrets"))
        return out

    @staticmethod
    def matcher(matcher: Any, status_ref: Any, namespace: str) -> list[dict]:
        if not isinstance(matcher, dict):
            return []
        out = []
        plural = str(matcher.get("kind") or "").lower() + "s"
        name = str(matcher.get("name") or "")
        if plural in ("virtualmachineclusterinstancetypes", "virtualmachineclusterpreferences"):
            out.append(node(name, "", plural, optional=True))
        elif plural in ("virtualmachineinstancetypes", "virtualmachinepreferences"):
            out.append(node(name, namespace, plural, optional=True))
        revision = _d(status_ref, "controllerRevisionRef", "name")
        if isinstance(status_ref, dict) and isinstance(status_ref.get("controllerRevisionRef"), dict):
            out.append(node(str(revision or ""), namespace, "controllerrevisions"))
        if status_ref is None and matcher.get("revisionName"):
            out.append(node(str(matcher["revisionName"]), namespace, "controllerrevisions"))
        return out

    @staticmethod
    def backend_needed(spec: dict, status: dict) -> bool:
        domain = spec.get("domain") or {}
        tpm = _d(domain, "devices", "tpm", "persistent") is True
        efi = _d(domain, "firmware", "bootloader", "efi", "persistent") is True
        cbt = _d(status, "changedBlockTracking", "state") in ("Initializing", "Enabled")
        return tpm or efi or cbt

    def vm_backend_pvc(self, vm: dict) -> str:
        md = vm.get("metadata") or {}
        pvcs = self.store.list(self._res("PersistentVolumeClaim"), md.get("namespace"),
                               label_selector=f"{BACKEND_PREFIX}={md.get('name', '')}")
        if len(pvcs) == 1:
            return str(pvcs[0]["metadata"]["name"])
        if not pvcs:
            raise LookupError(NO_BACKEND_PVC)
        live = [p for p in pvcs if not (p.get("metadata") or {}).get("deletionTimestamp")]
        if not live:
            raise GraphError("no non-terminating PVC found")
        return str(max(live, key=lambda p: p["metadata"].get("creationTimestamp") or "")["metadata"]["name"])

    def volumes(self, volumes: list[dict], backend: str, namespace: str) -> list[dict]:
        out = []
        for vol in volumes + ([{"persistentVolumeClaim": {"claimName": backend}}] if backend else []):
            if isinstance(vol.get("dataVolume"), dict):
                name = str(vol["dataVolume"].get("name") or "")
                out.append(node(name, namespace, "datavolumes", [node(name, namespace, "persistentvolumeclaims")]))
            elif isinstance(vol.get("persistentVolumeClaim"), dict):
                out.append(node(str(vol["persistentVolumeClaim"].get("claimName") or ""), namespace,
                                "persistentvolumeclaims"))
            elif isinstance(vol.get("configMap"), dict):
                out.append(node(str(vol["configMap"].get("name") or ""), namespace, "configmaps"))
            elif isinstance(vol.get("secret"), dict):
                out.append(node(str(vol["secret"].get("secretName") or ""), namespace, "secrets"))
            elif isinstance(vol.get("serviceAccount"), dict):
                out.append(node(str(vol["serviceAccount"].get("serviceAccountName") or ""), namespace,
                                "serviceaccounts"))
            else:
                cloud_init = vol.get("cloudInitNoCloud") if isinstance(vol.get("cloudInitNoCloud"), dict) \
                    else vol.get("cloudInitConfigDrive")
                if isinstance(cloud_init, dict):
                    for ref in ("userDataSecretRef", "networkDataSecretRef"):
                        if isinstance(cloud_init.get(ref), dict):
                            out.append(node(str(cloud_init[ref].get("name") or ""), namespace, "secrets"))
        return out

    @staticmethod
    def networks(spec: dict, namespace: str) -> list[dict]:
        out = []
        for net in _list(spec.get("networks")):
            name = _d(net, "multus", "networkName")
            if isinstance(name, str) and name:
                parts = name.split("/")
                ns, nad = (parts[0], parts[1]) if len(parts) == 2 else (namespace, name)
                out.append(node(nad, ns, "networkattachmentdefinitions", optional=True))
        return out

    # ---- roots

    def for_vm(self, vm: dict) -> dict:
        md, spec, status = vm.get("metadata") or {}, vm.get("spec") or {}, vm.get("status") or {}
        name, ns = str(md.get("name", "")), str(md.get("namespace", ""))
        tmpl = _d(spec, "template", "spec") or {}
        children = []
        if status.get("created"):
            pod = self.launcher_pod(name, ns)
            children.append(node(name, ns, "virtualmachineinstances", [pod] if pod else None))
        children += self.matcher(spec.get("instancetype"), status.get("instancetypeRef"), ns)
        children += self.matcher(spec.get("preference"), status.get("preferenceRef"), ns)
        children += self.credentials(tmpl, ns)
        backend, error = "", ""
        if self.backend_needed(tmpl, status):
            try:
                backend = self.vm_backend_pvc(vm)
            except LookupError:
                error = (f"failed to get backend volume ({NO_BACKEND_PVC}), VM might still be provisioning. "
                         "Proceeding with the remaining volumes")
        children += self.volumes(_list(tmpl.get("volumes")), backend, ns)
        children += self.networks(tmpl, ns)
        if error:
            raise GraphError(error)
        return node(name, ns, "virtualmachines", children)

    def for_vmi(self, vmi: dict) -> dict:
        md, spec, status = vmi.get("metadata") or {}, vmi.get("spec") or {}, vmi.get("status") or {}
        name, ns = str(md.get("name", "")), str(md.get("namespace", ""))
        children = []
        pod = self.launcher_pod(name, ns)
        if pod:
            children.append(pod)
        children += self.credentials(spec, ns)
        backend = ""
        if self.backend_needed(spec, status):
            backend = next((str(_d(v, "persistentVolumeClaimInfo", "claimName") or "")
                            for v in _list(status.get("volumeStatus"))
                            if str(v.get("name", "")).startswith(BACKEND_PREFIX)), "")
        children += self.volumes(_list(spec.get("volumes")), backend, ns)
        children += self.networks(spec, ns)
        return node(name, ns, "virtualmachineinstances", children)


def object_graph(sim: Any, obj: dict, kind: str, options: dict) -> dict:
    """The filtered graph of a VM (`kind` "vm") or VMI; raises a 500 StatusError like virt-api."""
    graph = Graph(sim)
    try:
        root = graph.for_vm(obj) if kind == "vm" else graph.for_vmi(obj)
    except GraphError as e:
        raise kstatus.internal(str(e)) from None
    if root.get("children"):
        root["children"] = filter_nodes(root["children"], options)
        if not root["children"]:
            del root["children"]
    return root


def feature_gate_enabled(sim: Any) -> bool:
    """The ObjectGraph feature gate (alpha): listed in the KubeVirt CR's developerConfiguration.

    A simulator that stores no KubeVirt CR serves the graph, as if the gate were on."""
    kvs = sim.store.list(sim.res("KubeVirt"))
    if not kvs:
        return True
    dc = _d(kvs[0], "spec", "configuration", "developerConfiguration") or {}
    gates = dc.get("featureGates") or []
    disabled = dc.get("disabledFeatureGates") or []
    return "ObjectGraph" in gates and "ObjectGraph" not in disabled
