"""Ordinary Pods (the ones clients create, e.g. `virtctl guestfs`'s libguestfs pod): scheduler and kubelet.

Pure functions over Pod dicts; `pyvirtctl.sim.controllers` applies them one step per delay:

    created (Pending, no node)  --schedule-->  Pending on a node, containers ContainerCreating
                                --start----->  Running, containers running, ready, a pod IP
    the main process ends (the attached shell exits)  --terminate-->  Succeeded / Failed

A pod whose PersistentVolumeClaim does not exist, or whose nodeSelector no node matches, stays
Pending with the scheduler's `Unschedulable` condition. virt-launcher pods have their own life
(`pyvirtctl.sim.launcher`) and are left alone here.
"""

from __future__ import annotations

import hashlib
from typing import Any


def is_plain(pod: dict) -> bool:
    """Not a virt-launcher pod (those follow their VMI)."""
    md = pod.get("metadata") or {}
    if (md.get("labels") or {}).get("kubevirt.io") == "virt-launcher":
        return False
    return not any(r.get("kind") == "VirtualMachineInstance" for r in md.get("ownerReferences") or [])


def claims(pod: dict) -> list[str]:
    """The PVCs the pod mounts."""
    out = []
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        claim = ((vol or {}).get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            out.append(str(claim))
    return out


def qos_class(spec: dict) -> str:
    """Guaranteed when every container's cpu and memory requests equal its limits, BestEffort when none
    has any, else Burstable (kubelet's rule, restricted to cpu and memory)."""
    any_set = False
    guaranteed = True
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        for key in ("cpu", "memory"):
            if key in limits or key in requests:
                any_set = True
            if key not in limits or requests.get(key, limits.get(key)) != limits.get(key):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def node_matches(node: dict, selector: dict[str, str]) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def _cond(ctype: str, status: str, now: str, reason: str = "", message: str = "") -> dict:
    c: dict[str, Any] = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": now}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def unschedulable(pod: dict, message: str, now: str) -> None:
    pod.setdefault("status", {})["conditions"] = [_cond("PodScheduled", "False", now, "Unschedulable", message)]


def missing_claim_message(claim: str, nodes: int) -> str:
    return (f'0/{nodes} nodes are available: persistentvolumeclaim "{claim}" not found. preemption: 0/{nodes} nodes '
            "are available: " + (f"{nodes} Preemption is not helpful for scheduling."))


def selector_message(nodes: int) -> str:
    return (f"0/{nodes} nodes are available: {nodes} node(s) didn't match Pod's node affinity/selector. "
            f"preemption: 0/{nodes} nodes are available: {nodes} Preemption is not helpful for scheduling.")


def _container_id(pod: dict, name: str) -> str:
    return "containerd://" + hashlib.sha256((pod["metadata"].get("uid", "") + name).encode()).hexdigest()


def schedule(pod: dict, node_name: str, host_ip: str, now: str) -> None:
    """Bound to a node; the kubelet pulls the images and creates the containers."""
    pod.setdefault("spec", {})["nodeName"] = node_name
    st = pod.setdefault("status", {})
    st.update({"hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "startTime": now})
    st["conditions"] = [_cond("PodReadyToStartContainers", "False", now), _cond("Initialized", "True", now),
                        _cond("Ready", "False", now, "ContainersNotReady",
                              "containers with unready status: [" + " ".join(
                                  c["name"] for c in pod["spec"].get("containers") or []) + "]"),
                        _cond("ContainersReady", "False", now, "ContainersNotReady"),
                        _cond("PodScheduled", "True", now)]
    st["containerStatuses"] = [
        {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "started": False,
         "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}
        for c in pod["spec"].get("containers") or []]


def start(pod: dict, ip: str, now: str) -> None:
    """Every container runs: Running and ready, with a pod IP."""
    st = pod.setdefault("status", {})
    st.update({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})
    st["conditions"] = [_cond(t, "True", now) for t in ("PodReadyToStartContainers", "Initialized", "Ready",
                                                          "ContainersReady", "PodScheduled")]
    st["containerStatuses"] = [
        {"name": c["name"], "image": c.get("image", ""), "imageID": c.get("image", ""), "ready": True,
         "started": True, "restartCount": 0, "containerID": _container_id(pod, c["name"]),
         "state": {"running": {"startedAt": now}}}
        for c in pod["spec"].get("containers") or []]


def terminate(pod: dict, container: str, exit_code: int, now: str) -> None:
    """`container`'s main process ended with `exit_code` (restartPolicy Never: the pod completes)."""
    st = pod.setdefault("status", {})
    for cs in st.get("containerStatuses") or []:
        if cs.get("name") != container:
            continue
        started = ((cs.get("state") or {}).get("running") or {}).get("startedAt", now)
        cs.update(ready=False, started=False, state={"terminated": {
            "exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error", "startedAt": started,
            "finishedAt": now, "containerID": cs.get("containerID", "")}})
    statuses = st.get("containerStatuses") or []
    if all("terminated" in (cs.get("state") or {}) for cs in statuses):
        failed = any(cs["state"]["terminated"].get("exitCode") for cs in statuses)
        st["phase"] = "Failed" if failed else "Succeeded"
        for c in st.get("conditions") or []:
            if c.get("type") in ("Ready", "ContainersReady", "PodReadyToStartContainers"):
                c.update(status="False", lastTransitionTime=now)
                if c["type"] != "PodReadyToStartContainers":
                    c["reason"] = "PodCompleted"
