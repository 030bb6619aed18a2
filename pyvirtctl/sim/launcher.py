"""The cluster objects around VMIs: Nodes, and the virt-launcher Pod KubeVirt runs for each VMI.

Pure builders (no store access); `pyvirtctl.sim.controllers` creates and updates the objects.
A launcher pod carries what virt-controller's template service gives it: the VMI's labels plus
`kubevirt.io=virt-launcher`, `kubevirt.io/created-by=<VMI uid>`, `vm.kubevirt.io/name` and
`vmi.kubevirt.io/id`, the `kubevirt.io/domain` annotation, a controller owner reference to the
VMI (so it goes when the VMI goes), the `compute` container plus one per containerDisk, and
the `kubevirt.io/virtual-machine-unpaused` readiness gate.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

KUBELET_VERSION = "v1.31.4"
UNPAUSED = "kubevirt.io/virtual-machine-unpaused"


def node_ip(index: int) -> str:
    return f"192.168.66.{101 + index}"


def node(name: str, index: int, now: str) -> dict:
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubevirt.io/schedulable": "true",
              "cpumanager": "false"}
    if index == 0:
        labels["node-role.kubernetes.io/control-plane"] = ""
    seed = hashlib.sha1(name.encode()).hexdigest()
    resources = {"cpu": "8", "memory": "16265552Ki", "pods": "110", "ephemeral-storage": "50620216Ki",
                 "devices.kubevirt.io/kvm": "1k", "devices.kubevirt.io/tun": "1k", "devices.kubevirt.io/vhost-net": "1k"}

    def cond(ctype: str, status: str, reason: str, message: str) -> dict:
        return {"type": ctype, "status": status, "reason": reason, "message": message, "lastHeartbeatTime": now,
                "lastTransitionTime": now}

    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kubevirt.io/heartbeat": now}},
        "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": node_ip(index)}, {"type": "Hostname", "address": name}],
            "capacity": dict(resources), "allocatable": dict(resources),
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"architecture": "amd64", "bootID": str(uuid.UUID(seed[:32])),
                         "containerRuntimeVersion": "containerd://1.7.24",
                         "kernelVersion": "5.14.0-570.el9.x86_64", "kubeProxyVersion": KUBELET_VERSION,
                         "kubeletVersion": KUBELET_VERSION, "machineID": seed[:32], "operatingSystem": "linux",
                         "osImage": "CentOS Stream 9", "systemUUID": str(uuid.UUID(seed[8:40]))},
        },
    }


def selector_id(name: str) -> str:
    """The `vmi.kubevirt.io/id` label value (names longer than 63 characters are shortened with a hash)."""
    if len(name) <= 63:
        return name
    return name[:54] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def pod(vmi: dict, launcher_image: str, migration_uid: str = "") -> dict:
    """A Pending virt-launcher pod for `vmi` (the migration target's when `migration_uid` is set)."""
    md = vmi["metadata"]
    spec = vmi.get("spec") or {}
    name = md["name"]
    hostname = spec.get("hostname") or name
    labels = dict(md.get("labels") or {})
    labels.update({"kubevirt.io": "virt-launcher", "kubevirt.io/created-by": md["uid"],
                   "vm.kubevirt.io/name": hostname, "vmi.kubevirt.io/id": selector_id(name)})
    for k in ("kubevirt.io/nodeName", "kubevirt.io/migrationTargetNodeName"):
        labels.pop(k, None)
    if migration_uid:
        labels["kubevirt.io/migrationJobUID"] = migration_uid
    annotations = {"kubevirt.io/domain": name, "kubectl.kubernetes.io/default-container": "compute",
                   "kubevirt.io/migrationTransportUnix": "true", "descheduler.alpha.kubernetes.io/request-evict-only": ""}
    memory = (((spec.get("domain") or {}).get("resources") or {}).get("requests") or {}).get("memory")
    compute: dict[str, Any] = {"name": "compute", "image": launcher_image, "imagePullPolicy": "IfNotPresent",
                               "command": ["/usr/bin/virt-launcher-monitor", "--qemu-timeout", "300s", "--name", name,
                                           "--uid", md["uid"], "--namespace", md.get("namespace", ""),
                                           "--kubevirt-share-dir", "/var/run/kubevirt", "--ephemeral-disk-dir",
                                           "/var/run/kubevirt-ephemeral-disks", "--container-disk-dir",
                                           "/var/run/kubevirt/container-disks", "--grace-period-seconds", "45",
                                           "--hook-sidecars", "0"],
                               "resources": {"requests": {"memory": memory}} if memory else {}}
    containers = [compute]
    for vol in spec.get("volumes") or []:
        cd = vol.get("containerDisk") if isinstance(vol, dict) else None
        if isinstance(cd, dict) and cd.get("image"):
            containers.append({"name": f"volume{vol.get('name')}", "image": cd["image"],
                               "imagePullPolicy": cd.get("imagePullPolicy", "IfNotPresent"),
                               "command": ["/usr/bin/container-disk"], "resources": {}})
    grace = spec.get("terminationGracePeriodSeconds")
    pod_spec: dict[str, Any] = {
        "containers": containers, "hostname": hostname, "restartPolicy": "Never",
        "nodeSelector": {"kubevirt.io/schedulable": "true", **(spec.get("nodeSelector") or {})},
        "readinessGates": [{"conditionType": UNPAUSED}], "serviceAccountName": "default",
        "automountServiceAccountToken": False, "enableServiceLinks": False, "schedulerName": "default-scheduler",
        "terminationGracePeriodSeconds": (int(grace) if isinstance(grace, int) else 30) + 15,
    }
    if spec.get("subdomain"):
        pod_spec["subdomain"] = spec["subdomain"]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": f"virt-launcher-{name}-", "namespace": md.get("namespace"), "labels": labels,
                     "annotations": annotations,
                     "ownerReferences": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                                          "name": name, "uid": md["uid"], "controller": True,
                                          "blockOwnerDeletion": True}]},
        "spec": pod_spec,
        "status": {"phase": "Pending", "qosClass": "Burstable",
                   "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": None}]},
    }


def _conditions(now: str, ready: bool, unpaused: bool) -> list[dict]:
    def c(ctype: str, ok: bool) -> dict:
        return {"type": ctype, "status": "True" if ok else "False", "lastProbeTime": None, "lastTransitionTime": now}

    return [c(UNPAUSED, unpaused), c("PodReadyToStartContainers", True), c("Initialized", True),
            c("Ready", ready and unpaused), c("ContainersReady", ready), c("PodScheduled", True)]


def scheduled(p: dict, node_name: str, node_index: int, ip: str, now: str) -> None:
    """The kubelet started the pod on `node_name`: Running, ready, with an IP."""
    p["spec"]["nodeName"] = node_name
    st = p.setdefault("status", {})
    st.update({"phase": "Running", "hostIP": node_ip(node_index), "hostIPs": [{"ip": node_ip(node_index)}],
               "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
               "conditions": _conditions(now, True, True)})
    st["containerStatuses"] = [
        {"name": c["name"], "image": c["image"], "imageID": "", "ready": True, "started": True, "restartCount": 0,
         "containerID": "containerd://" + hashlib.sha256((p["metadata"].get("uid", "") + c["name"]).encode())
         .hexdigest(), "state": {"running": {"startedAt": now}}}
        for c in p["spec"]["containers"]]


def set_unpaused(p: dict, unpaused: bool, now: str) -> None:
    st = p.setdefault("status", {})
    if st.get("phase") == "Running":
        st["conditions"] = _conditions(now, True, unpaused)


def completed(p: dict, now: str) -> None:
    """The guest shut down (or migrated away): the pod's containers exited 0."""
    st = p.setdefault("status", {})
    st["phase"] = "Succeeded"
    st["conditions"] = _conditions(now, False, True)
    for cs in st.get("containerStatuses") or []:
        started = (cs.get("state") or {}).get("running", {}).get("startedAt", now)
        cs.update(ready=False, started=False, state={"terminated": {
            "exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": now,
            "containerID": cs.get("containerID", "")}})
