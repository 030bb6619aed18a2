"""Controller timelines (delay 0): every intermediate state is written and visible to watchers."""

from __future__ import annotations

from tests.sim.util import KV, SUB, call, open_stream, phase, printable, read_events, vm


def test_vmi_timeline_and_stop(sim):
    sim.apply(vm("t", running=False))
    resp = open_stream(sim, KV + "/virtualmachineinstances?watch=true&fieldSelector=metadata.name%3Dt")
    assert call(sim, "PUT", SUB + "/virtualmachines/t/start", {})[0] == 202
    events = read_events(resp, lambda evs: phase(evs[-1]["object"]) == "Running")
    phases = []
    for e in events:
        p = phase(e["object"])
        if not phases or phases[-1] != p:
            phases.append(p)
    assert phases == ["Pending", "Scheduling", "Scheduled", "Running"]
    vmi = events[-1]["object"]
    labels = vmi["metadata"]["labels"]
    assert labels["vmi.kubevirt.io/id"] == "t" and labels["app"] == "t" and "kubevirt.io/created-by" in labels
    assert vmi["status"]["nodeName"] in ("node01", "node02")
    iface = vmi["status"]["interfaces"][0]
    assert iface["ipAddress"].startswith("10.244.") and iface["ipAddresses"] == [iface["ipAddress"]]
    assert vmi["metadata"]["ownerReferences"][0]["kind"] == "VirtualMachine"
    assert call(sim, "PUT", SUB + "/virtualmachines/t/stop", {})[0] == 202
    events = read_events(resp, lambda evs: evs[-1]["type"] == "DELETED")
    assert "Succeeded" in [phase(e["object"]) for e in events]
    assert events[-1]["type"] == "DELETED"
    resp.close()
    vmstat = sim.wait_for("VirtualMachine", "default", "t", lambda o: printable(o) == "Stopped")["status"]
    assert "ready" not in vmstat
    assert [c["status"] for c in vmstat["conditions"] if c["type"] == "Ready"] == ["False"]
    reasons = [e["reason"] for e in sim.list("Event", "default")]
    assert "SuccessfulCreate" in reasons and "SuccessfulDelete" in reasons


def test_long_name_selector_id(sim):
    name = "a" * 70
    sim.apply(vm(name, running=True))
    vmi = sim.wait_for("VirtualMachineInstance", "default", name, lambda o: phase(o) == "Running")
    import hashlib

    assert vmi["metadata"]["labels"]["vmi.kubevirt.io/id"] == \
        name[:54] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def test_replica_set_keeps_count(sim):
    rs = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceReplicaSet",
          "metadata": {"name": "rs", "namespace": "default"},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "rs"}},
                   "template": {"metadata": {"labels": {"app": "rs"}}, "spec": {"domain": {"devices": {}}}}}}
    assert call(sim, "POST", KV + "/virtualmachineinstancereplicasets", rs)[0] == 201

    def count(n):
        def check(o):
            return o is not None and (o.get("status") or {}).get("readyReplicas") == n
        return check

    sim.wait_for("VirtualMachineInstanceReplicaSet", "default", "rs", count(3))
    vmis = sim.list("VirtualMachineInstance", "default")
    assert len(vmis) == 3 and all(v["metadata"]["labels"]["app"] == "rs" for v in vmis)
    call(sim, "DELETE", KV + "/virtualmachineinstances/" + vmis[0]["metadata"]["name"])
    sim.wait_for("VirtualMachineInstanceReplicaSet", "default", "rs", count(3))
    assert vmis[0]["metadata"]["name"] not in [v["metadata"]["name"] for v in sim.list("VirtualMachineInstance")]
    call(sim, "PATCH", KV + "/virtualmachineinstancereplicasets/rs", {"spec": {"replicas": 1}},
         headers={"Content-Type": "application/merge-patch+json"})
    sim.wait_for("VirtualMachineInstanceReplicaSet", "default", "rs",
                 lambda o: o["status"]["replicas"] == 1 and len(sim.list("VirtualMachineInstance")) == 1)
    survivor = sim.list("VirtualMachineInstance")[0]["metadata"]["name"]
    call(sim, "DELETE", KV + "/virtualmachineinstancereplicasets/rs")
    # the garbage collector removes what the replica set owned
    assert sim.wait_for("VirtualMachineInstance", "default", survivor, lambda o: o is None) is None


def test_admin_fail_vmi_and_manual_strategy_keeps_it(sim):
    sim.apply(vm("f", strategy="Manual"))
    call(sim, "PUT", SUB + "/virtualmachines/f/start", {})
    sim.wait_for("VirtualMachineInstance", "default", "f", lambda o: phase(o) == "Running")
    out = sim.vmi("default", "f", phase="Failed", reason="NodeUnresponsive", message="node went away")
    assert phase(out) == "Failed"
    assert {"type": "Ready", "status": "False", "reason": "NodeUnresponsive"}.items() <= \
        [c for c in out["status"]["conditions"] if c["type"] == "Ready"][0].items()
    events = [e for e in sim.list("Event", "default") if e["reason"] == "NodeUnresponsive"]
    assert events and events[0]["type"] == "Warning" and events[0]["involvedObject"]["name"] == "f"
    assert printable(sim.wait_for("VirtualMachine", "default", "f", lambda o: printable(o) == "Stopped")) == "Stopped"
    status, body = call(sim, "GET", SUB + "/virtualmachineinstances/f/console")
    assert status == 409


def test_always_recreates_failed_vmi(sim):
    sim.apply(vm("al", strategy="Always"))
    first = sim.wait_for("VirtualMachineInstance", "default", "al", lambda o: phase(o) == "Running")
    sim.vmi("default", "al", phase="Failed", reason="Crashed")
    sim.wait_for("VirtualMachineInstance", "default", "al",
                 lambda o: o is not None and o["metadata"]["uid"] != first["metadata"]["uid"] and phase(o) == "Running")


def test_migration_cancel_aborts(sim):
    sim.apply(vm("mc", running=True))
    sim.wait_for("VirtualMachineInstance", "default", "mc", lambda o: phase(o) == "Running")
    sim.config(delay=5)
    call(sim, "PUT", SUB + "/virtualmachines/mc/migrate", {})
    mig = sim.list("VirtualMachineInstanceMigration")[0]["metadata"]["name"]
    status, _ = call(sim, "DELETE", KV + "/virtualmachineinstancemigrations/" + mig,
                     {"kind": "DeleteOptions", "apiVersion": "kubevirt.io/v1"})
    assert status == 200
    assert sim.list("VirtualMachineInstanceMigration") == []


def test_delay_slows_transitions(sim):
    sim.config(delay=30)
    sim.apply(vm("slow", running=True))
    assert call(sim, "GET", KV + "/virtualmachineinstances/slow")[0] == 404
    assert printable(sim.get("VirtualMachine", "default", "slow")) == "Starting"
