"""virt-api's objectgraph subresource in the simulator: the graph of what it stores, virt-api's checks
and errors in virt-api's order (feature gate, object, options, graph)."""

from __future__ import annotations

from tests.sim.util import SUB, call, phase, vm

DEP = "kubevirt.io/dependency-type"


def kinds(graph: dict) -> list[tuple[str, str]]:
    return [(c["objectReference"]["kind"], c["objectReference"]["name"]) for c in graph.get("children", [])]


def pvc(name: str, labels: dict | None = None, terminating: bool = False) -> dict:
    meta: dict = {"name": name, "namespace": "default", "labels": labels or {}}
    if terminating:  # being deleted (held by a finalizer)
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
            "spec": {"resources": {"requests": {"storage": "1Mi"}}}}


def test_vmi_graph_backend_pvc_and_pod_by_annotation(sim):
    machine = vm("efi", running=True)
    machine["spec"]["template"]["spec"]["domain"]["firmware"] = {"bootloader": {"efi": {"persistent": True}}}
    sim.apply(machine)
    sim.wait_for("VirtualMachineInstance", "default", "efi", lambda o: phase(o) == "Running")
    for pod in sim.list("Pod", "default"):
        sim.delete("Pod", "default", pod["metadata"]["name"])
    # a launcher pod known only by its domain annotation (no owner reference)
    sim.apply({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "virt-launcher-efi-x", "namespace": "default", "labels": {"kubevirt.io": "virt-launcher"},
                            "annotations": {"kubevirt.io/domain": "efi"}},
               "spec": {"containers": [{"name": "compute", "image": "x"}]}})
    sim.vmi("default", "efi", status={"volumeStatus": [
        {"name": "persistent-state-for-efi", "persistentVolumeClaimInfo": {"claimName": "persistent-state-for-efi-q2"}}]})
    status, graph = call(sim, "GET", SUB + "/virtualmachineinstances/efi/objectgraph")
    assert status == 200, graph
    assert graph["objectReference"] == {"apiGroup": "kubevirt.io", "kind": "VirtualMachineInstance", "name": "efi",
                                        "namespace": "default"}
    assert graph["labels"] == {DEP: "compute"}
    assert kinds(graph) == [("Pod", "virt-launcher-efi-x"), ("PersistentVolumeClaim", "persistent-state-for-efi-q2")]
    assert [c["labels"][DEP] for c in graph["children"]] == ["compute", "storage"]


def test_vm_backend_pvc_choice(sim):
    machine = vm("tpm", running=False)
    machine["spec"]["template"]["spec"]["domain"]["devices"]["tpm"] = {"persistent": True}
    sim.apply(machine)
    sim.apply(pvc("state-old", {"persistent-state-for": "tpm"}))
    sim.apply(pvc("state-new", {"persistent-state-for": "tpm"}))
    status, graph = call(sim, "GET", SUB + "/virtualmachines/tpm/objectgraph", {})
    assert status == 200
    assert kinds(graph)[-1][1] in ("state-old", "state-new")
    # only terminating ones: virt-api gives up on the whole graph
    sim.apply(pvc("state-new", {"persistent-state-for": "tpm"}, terminating=True))
    status, graph = call(sim, "GET", SUB + "/virtualmachines/tpm/objectgraph")
    assert kinds(graph)[-1] == ("PersistentVolumeClaim", "state-old")
    sim.apply(pvc("state-old", {"persistent-state-for": "tpm"}, terminating=True))
    status, body = call(sim, "GET", SUB + "/virtualmachines/tpm/objectgraph")
    assert (status, body["message"]) == (500, "Internal error occurred: no non-terminating PVC found")


def test_instancetype_revisions_and_options(sim):
    machine = vm("it", running=False)
    machine["spec"]["instancetype"] = {"kind": "VirtualMachineInstancetype", "name": "small"}
    machine["spec"]["preference"] = {"kind": "virtualmachineclusterpreference", "name": "linux"}
    sim.apply(machine)
    obj = sim.get("VirtualMachine", "default", "it")
    obj["status"] = {"instancetypeRef": {"controllerRevisionRef": {"name": "it-small-rev"}}}
    sim.apply(obj)
    status, graph = call(sim, "GET", SUB + "/virtualmachines/it/objectgraph", {"includeOptionalNodes": True})
    assert status == 200
    assert kinds(graph) == [("VirtualMachineInstancetype", "small"), ("ControllerRevision", "it-small-rev"),
                            ("VirtualMachineClusterPreference", "linux")]
    assert graph["children"][2]["objectReference"]["namespace"] == ""  # cluster-scoped
    assert [c.get("optional") for c in graph["children"]] == [True, None, True]
    status, graph = call(sim, "GET", SUB + "/virtualmachines/it/objectgraph", {"includeOptionalNodes": False})
    assert kinds(graph) == [("ControllerRevision", "it-small-rev")]
    status, body = call(sim, "GET", SUB + "/virtualmachines/it/objectgraph", b"[1,")
    assert status == 400 and body["message"].startswith("Can not unmarshal Request body to struct, error: ")
    assert call(sim, "PUT", SUB + "/virtualmachines/it/objectgraph", {})[0] == 405


def test_feature_gate(sim):
    sim.apply(vm("g", running=False))
    kv = {"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt", "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
          "spec": {"configuration": {"developerConfiguration": {"featureGates": ["ObjectGraph"],
                                                                "disabledFeatureGates": ["ObjectGraph"]}}}}
    sim.apply(kv)
    status, body = call(sim, "GET", SUB + "/virtualmachines/nosuch/objectgraph")
    assert (status, body["message"]) == (400, "ObjectGraph feature gate not enabled: Unable to return object graph.")
    kv["spec"]["configuration"]["developerConfiguration"].pop("disabledFeatureGates")
    sim.apply(kv)
    status, body = call(sim, "GET", SUB + "/virtualmachines/nosuch/objectgraph")
    assert (status, body["message"]) == (404, 'virtualmachine.kubevirt.io "nosuch" not found')
    assert call(sim, "GET", SUB + "/virtualmachines/g/objectgraph")[0] == 200
