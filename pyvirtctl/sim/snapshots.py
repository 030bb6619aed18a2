"""VirtualMachineSnapshots in the simulator: what virt-controller's snapshot controller and a CSI driver do.

A `VirtualMachineSnapshot` (snapshot.kubevirt.io/v1beta1) of an existing VM becomes ready at once:

* for each VM volume backed by a claim (`dataVolume` or `persistentVolumeClaim`), the claim's bytes in
  `sim.volumes` are copied under the name of the volume snapshot, `vmsnapshot-<uid>-volume-<volume>`
  (a claim nobody wrote to is seeded first, `sim.config["export_size"]` bytes), so later writes to the
  claim do not change the snapshot;
* a `VirtualMachineSnapshotContent` `vmsnapshot-content-<uid>` (owned by the snapshot) records the VM
  and one `volumeBackups` entry per copied claim;
* the snapshot's status: `phase: Succeeded`, `readyToUse: true`, `virtualMachineSnapshotContentName`,
  Ready/Progressing conditions.

A snapshot of a missing VM fails (`phase: Failed`). When a content object goes, its copies go too.
The export controller (`pyvirtctl.sim.export`) restores these copies into new claims.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyvirtctl.sim import kstatus
from pyvirtctl.sim.kstatus import clone
from pyvirtctl.sim.store import now_iso

DEFAULT_SEED = 1 << 20


def seed_size(sim: Any) -> int:
    return int(sim.config.get("export_size") or DEFAULT_SEED)


def claim_of(volume: dict) -> str:
    """The claim behind a VM volume ("" for container disks, cloud-init and the like)."""
    if volume.get("dataVolume"):
        return str(volume["dataVolume"].get("name") or "")
    if volume.get("persistentVolumeClaim"):
        return str(volume["persistentVolumeClaim"].get("claimName") or "")
    return ""


def vm_volumes(vm: dict) -> list[dict]:
    return list(((((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes")) or [])


def _owner(obj: dict) -> dict:
    md = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": md["name"], "uid": md["uid"],
            "controller": True, "blockOwnerDeletion": True}


def _take(sim: Any, ns: str, name: str) -> None:
    snap_res = sim.res("VirtualMachineSnapshot")
    snap = sim.store.get(snap_res, ns, name)
    if snap is None or (snap.get("status") or {}).get("readyToUse"):
        return
    uid = snap["metadata"]["uid"]
    source = (snap.get("spec") or {}).get("source") or {}
    vm = sim.store.get(sim.res("VirtualMachine"), ns, source.get("name") or "")
    now = now_iso()
    if vm is None:
        def failed(o: dict) -> None:
            o["status"] = {"phase": "Failed", "readyToUse": False, "creationTime": None,
                           "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now,
                                           "reason": "Error", "message": f"VirtualMachine {ns}/{source.get('name')} "
                                           "does not exist"}]}
        sim.store.mutate(snap_res, ns, name, failed)
        return
    backups = []
    included = []
    for vol in vm_volumes(vm):
        claim = claim_of(vol)
        pvc = sim.store.get(sim.res("PersistentVolumeClaim"), ns, claim) if claim else None
        if pvc is None:
            continue
        if not sim.volumes.exists(ns, claim):
            sim.volumes.seed(ns, claim, seed_size(sim))
        copy_name = f"vmsnapshot-{uid}-volume-{vol['name']}"
        sim.volumes.copy(ns, claim, ns, copy_name)
        pmd = pvc["metadata"]
        kept = {k: pmd[k] for k in ("name", "namespace", "labels", "annotations") if pmd.get(k)}
        backups.append({"volumeName": vol["name"],
                        "persistentVolumeClaim": {"metadata": kept, "spec": clone(pvc.get("spec") or {})},
                        "volumeSnapshotName": copy_name})
        included.append(vol["name"])
    content_name = f"vmsnapshot-content-{uid}"
    vmd = vm["metadata"]
    content = {
        "metadata": {"name": content_name, "namespace": ns, "ownerReferences": [_owner(snap)]},
        "spec": {"source": {"virtualMachine": {"metadata": {k: vmd[k] for k in ("name", "namespace", "labels",
                                                                                 "annotations") if vmd.get(k)},
                                               "spec": clone(vm.get("spec") or {})}},
                 "virtualMachineSnapshotName": name, "volumeBackups": backups},
        "status": {"creationTime": now, "readyToUse": True},
    }
    try:
        sim.store.create(sim.res("VirtualMachineSnapshotContent"), content)
    except kstatus.StatusError:
        pass

    def ready(o: dict) -> None:
        o["status"] = {
            "sourceUID": vmd.get("uid"),
            "virtualMachineSnapshotContentName": content_name,
            "creationTime": now,
            "phase": "Succeeded",
            "readyToUse": True,
            "conditions": [
                {"type": "Progressing", "status": "False", "lastProbeTime": None, "lastTransitionTime": now,
                 "reason": "Operation complete"},
                {"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": now,
                 "reason": "Operation complete"},
            ],
            "indications": ["Online", "NoGuestAgent"] if (vm.get("status") or {}).get("ready") else [],
            "snapshotVolumes": {"included": included},
        }

    sim.store.mutate(snap_res, ns, name, ready)


def _on_event(sim: Any, etype: str, res: Any, obj: dict) -> None:
    kind = getattr(res, "kind", "")
    md = obj.get("metadata") or {}
    if kind == "VirtualMachineSnapshotContent" and etype == "DELETED":
        for b in (obj.get("spec") or {}).get("volumeBackups") or []:
            try:
                sim.volumes.delete(md.get("namespace", ""), b.get("volumeSnapshotName", ""))
            except ValueError:
                pass
        return
    if kind != "VirtualMachineSnapshot" or etype != "ADDED":
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_soon(_take, sim, md.get("namespace", ""), md.get("name", ""))


def register(sim: Any) -> None:
    sim.store.subscribe(lambda etype, res, obj: _on_event(sim, etype, res, obj))
