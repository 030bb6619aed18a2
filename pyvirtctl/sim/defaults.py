"""Defaulting done at create time (what kube-apiserver, admission webhooks and CDI would add).

One function per kind, `(state, obj) -> None`, named in the kind's `Resource` descriptor
(`pyvirtctl.sim.resources`); `state` is the `SimState` (duck-typed: `.store`, `.res()`).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any


def _alloc_cluster_ip(sim: Any) -> str:
    used = {(s.get("spec") or {}).get("clusterIP") for s in sim.store.list(sim.res("Service"))}
    n = 10
    while True:
        ip = f"10.96.{n // 250}.{n % 250 + 1}"
        if ip not in used:
            return ip
        n += 1


def _alloc_node_port(sim: Any) -> int:
    used = {p.get("nodePort") for s in sim.store.list(sim.res("Service"))
            for p in (s.get("spec") or {}).get("ports") or []}
    port = 30000
    while port in used:
        port += 1
    return port


def service(sim: Any, obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    stype = spec.setdefault("type", "ClusterIP")
    if spec.get("clusterIP") != "None" and stype != "ExternalName":
        spec["clusterIP"] = spec.get("clusterIP") or _alloc_cluster_ip(sim)
    if spec.get("clusterIP"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    for p in spec.get("ports") or []:
        p.setdefault("protocol", "TCP")
        if p.get("targetPort") in (None, "", 0):
            p["targetPort"] = p.get("port")
        if stype in ("NodePort", "LoadBalancer") and not p.get("nodePort"):
            p["nodePort"] = _alloc_node_port(sim)
    spec.setdefault("sessionAffinity", "None")
    fams = spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "PreferDualStack" if len(fams) > 1 else "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if stype in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    obj["status"] = {"loadBalancer": {}}


def migration(sim: Any, obj: dict) -> None:
    vmi_name = (obj.get("spec") or {}).get("vmiName")
    if vmi_name:
        obj.setdefault("metadata", {}).setdefault("labels", {})["kubevirt.io/vmi-name"] = vmi_name
    obj.setdefault("status", {})


def secret(sim: Any, obj: dict) -> None:
    """stringData is folded into data; a Secret created without either has no `data` (as in Kubernetes)."""
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = obj.setdefault("data", {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
    obj.setdefault("type", "Opaque")


def pvc(sim: Any, obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    spec.setdefault("accessModes", ["ReadWriteOnce"])
    spec.setdefault("storageClassName", "standard")
    spec.setdefault("volumeName", "pvc-" + secrets.token_hex(8))
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    obj["status"] = {"phase": "Bound", "accessModes": spec["accessModes"], "capacity": {"storage": size}}


def datavolume(sim: Any, obj: dict) -> None:
    obj["status"] = {"phase": "Succeeded", "progress": "100.0%",
                     "claimName": (obj.get("metadata") or {}).get("name")}


def namespace(sim: Any, obj: dict) -> None:
    obj.setdefault("spec", {"finalizers": ["kubernetes"]})
    obj["status"] = {"phase": "Active"}
    md = obj.setdefault("metadata", {})
    md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md.get("name", "")


def upload_token(sim: Any, obj: dict) -> None:
    obj["status"] = {"token": secrets.token_urlsafe(24)}


def empty_status(sim: Any, obj: dict) -> None:
    obj.setdefault("status", {})


# DefaultTolerationSeconds: every pod tolerates a not-ready or unreachable node for five minutes
_DEFAULT_TOLERATIONS = ({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300},
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300})


def pod(sim: Any, obj: dict) -> None:
    """kube-apiserver's defaulting (and admission) for a Pod a client creates; it starts Pending.

    Pods that come with a phase (the simulator's own virt-launcher pods, seeds) are left as given.
    """
    if (obj.get("status") or {}).get("phase"):
        return
    from pyvirtctl.sim.pods import qos_class

    spec = obj.setdefault("spec", {})
    for key, value in (("restartPolicy", "Always"), ("terminationGracePeriodSeconds", 30),
                       ("dnsPolicy", "ClusterFirst"), ("serviceAccountName", "default"),
                       ("serviceAccount", "default"), ("securityContext", {}),
                       ("schedulerName", "default-scheduler"), ("priority", 0), ("enableServiceLinks", True),
                       ("preemptionPolicy", "PreemptLowerPriority")):
        spec.setdefault(key, value)
    tolerations = spec.get("tolerations") or []
    for t in _DEFAULT_TOLERATIONS:
        if not any(x.get("key") == t["key"] or (not x.get("key") and x.get("operator") == "Exists")
                   for x in tolerations):
            tolerations.append(dict(t))
    spec["tolerations"] = tolerations
    for c in spec.get("containers") or []:
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        image = str(c.get("image") or "")
        tagged = ":" in image.rsplit("/", 1)[-1] or "@" in image
        c.setdefault("imagePullPolicy", "IfNotPresent" if tagged and not image.endswith(":latest") else "Always")
        res = c.setdefault("resources", {})
        for k, v in (res.get("limits") or {}).items():  # requests default to the limits
            res.setdefault("requests", {}).setdefault(k, v)
    obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}
