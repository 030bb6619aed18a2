"""virt-api subresources: status codes, messages and effects."""

from __future__ import annotations

from tests.sim.util import CORE, KV, SUB, call, phase, printable, vm


def running_vm(sim, name: str = "vm1", strategy: str | None = None) -> dict:
    sim.apply(vm(name, running=True if strategy is None else None, strategy=strategy))
    return sim.wait_for("VirtualMachineInstance", "default", name, lambda o: phase(o) == "Running")


def conflict(kind: str, name: str, msg: str) -> str:
    return f'Operation cannot be fulfilled on {kind}.kubevirt.io "{name}": {msg}'


def test_start_halted_vm(sim):
    sim.apply(vm("h", running=False))
    status, body = call(sim, "PUT", SUB + "/virtualmachines/h/start", b"")
    assert status == 202 and body is None
    got = sim.wait_for("VirtualMachine", "default", "h", lambda o: printable(o) == "Running")
    assert got["spec"]["running"] is True and got["status"]["ready"] is True and got["status"]["created"] is True
    status, body = call(sim, "PUT", SUB + "/virtualmachines/h/start", {})
    assert status == 409 and body["message"] == conflict("virtualmachine", "h", "VM is already running")


def test_start_errors(sim):
    status, body = call(sim, "PUT", SUB + "/virtualmachines/none/start", {})
    assert status == 404 and body["message"] == 'virtualmachine.kubevirt.io "none" not found'
    assert body["details"] == {"name": "none", "group": "kubevirt.io", "kind": "virtualmachine"}
    sim.apply(vm("both", running=True, strategy="Always"))
    status, body = call(sim, "PUT", SUB + "/virtualmachines/both/start", {})
    assert status == 500 and body["message"] == "Internal error occurred: running and runstrategy are mutually exclusive"
    status, body = call(sim, "PUT", SUB + "/virtualmachines/h/start", b"{bad")
    assert status == 404
    sim.apply(vm("bad", running=False))
    status, body = call(sim, "PUT", SUB + "/virtualmachines/bad/start", b"[1,")
    assert status == 400 and body["message"].startswith("Can not unmarshal Request body to struct, error: ")


def test_always_refuses_manual_start(sim):
    sim.config(delay=30)  # keep the VMI from being created
    sim.apply(vm("aw", strategy="Always"))
    status, body = call(sim, "PUT", SUB + "/virtualmachines/aw/start", {})
    assert status == 409 and body["message"] == conflict("virtualmachine", "aw",
                                                         "Always does not support manual start requests")


def test_start_dry_run_and_paused(sim):
    sim.apply(vm("d", running=False))
    assert call(sim, "PUT", SUB + "/virtualmachines/d/start", {"dryRun": ["All"]})[0] == 202
    assert sim.get("VirtualMachine", "default", "d")["spec"]["running"] is False
    assert call(sim, "PUT", SUB + "/virtualmachines/d/start", {"paused": True})[0] == 202
    vmi = sim.wait_for("VirtualMachineInstance", "default", "d", lambda o: phase(o) == "Running")
    assert any(c["type"] == "Paused" and c["status"] == "True" for c in vmi["status"]["conditions"])
    assert sim.wait_for("VirtualMachine", "default", "d", lambda o: printable(o) == "Paused")


def test_stop_semantics(sim):
    running_vm(sim, "s")
    assert call(sim, "PUT", SUB + "/virtualmachines/s/stop", {"dryRun": ["All"]})[0] == 202
    assert sim.get("VirtualMachine", "default", "s")["spec"]["running"] is True
    assert call(sim, "PUT", SUB + "/virtualmachines/s/stop", {})[0] == 202
    sim.wait_for("VirtualMachineInstance", "default", "s", lambda o: o is None)
    got = sim.wait_for("VirtualMachine", "default", "s", lambda o: printable(o) == "Stopped")
    assert got["spec"]["running"] is False and "created" not in got["status"]
    status, body = call(sim, "PUT", SUB + "/virtualmachines/s/stop", {})
    assert status == 409 and body["message"] == conflict("virtualmachine", "s", "VM is not running")
    sim.apply(vm("m", strategy="Manual"))
    status, body = call(sim, "PUT", SUB + "/virtualmachines/m/stop", {})
    assert status == 409 and body["message"] == conflict("virtualmachine", "m", "VM is not running")


def test_manual_start_stop_use_state_change_requests(sim):
    sim.apply(vm("man", strategy="Manual"))
    assert call(sim, "PUT", SUB + "/virtualmachines/man/start", {})[0] == 202
    vmi = sim.wait_for("VirtualMachineInstance", "default", "man", lambda o: phase(o) == "Running")
    got = sim.get("VirtualMachine", "default", "man")
    assert got["spec"]["runStrategy"] == "Manual" and not got["status"].get("stateChangeRequests")
    assert call(sim, "PUT", SUB + "/virtualmachines/man/stop", {"gracePeriod": 0})[0] == 202
    sim.wait_for("VirtualMachineInstance", "default", "man", lambda o: o is None or o["metadata"]["uid"] !=
                 vmi["metadata"]["uid"])
    assert sim.get("VirtualMachine", "default", "man")["spec"]["runStrategy"] == "Manual"


def test_restart(sim):
    first = running_vm(sim, "r")
    assert call(sim, "PUT", SUB + "/virtualmachines/r/restart", {})[0] == 202
    new = sim.wait_for("VirtualMachineInstance", "default", "r",
                       lambda o: o is not None and o["metadata"]["uid"] != first["metadata"]["uid"]
                       and phase(o) == "Running")
    assert new["metadata"]["uid"] != first["metadata"]["uid"]
    status, body = call(sim, "PUT", SUB + "/virtualmachines/r/restart", {"gracePeriodSeconds": 5})
    assert status == 400 and body["message"] == "For force restart, only gracePeriod=0 is supported for now"
    sim.apply(vm("halted", running=False))
    status, body = call(sim, "PUT", SUB + "/virtualmachines/halted/restart", {})
    assert status == 409 and body["message"] == conflict("virtualmachine", "halted",
                                                         "RunStategy Halted does not support manual restart requests")
    sim.apply(vm("man", strategy="Manual"))
    status, body = call(sim, "PUT", SUB + "/virtualmachines/man/restart", {})
    assert status == 409 and body["message"] == conflict("virtualmachine", "man", "VM is not running: Halted")


def test_migrate(sim):
    vmi = running_vm(sim, "mig")
    source = vmi["status"]["nodeName"]
    status, body = call(sim, "PUT", SUB + "/virtualmachines/mig/migrate", {"dryRun": ["All"]})
    assert status == 202 and sim.list("VirtualMachineInstanceMigration") == []
    status, body = call(sim, "PUT", SUB + "/virtualmachines/mig/migrate", {"addedNodeSelector": {"k": "v"}})
    assert status == 202 and body is None
    migs = sim.list("VirtualMachineInstanceMigration")
    assert len(migs) == 1
    m = migs[0]
    assert m["metadata"]["name"].startswith("kubevirt-migrate-vm-")
    assert m["metadata"]["generateName"] == "kubevirt-migrate-vm-"
    assert m["metadata"]["labels"]["kubevirt.io/vmi-name"] == "mig"
    assert m["spec"] == {"vmiName": "mig", "addedNodeSelector": {"k": "v"}}
    done = sim.wait_for("VirtualMachineInstanceMigration", "default", m["metadata"]["name"],
                        lambda o: phase(o) == "Succeeded")
    seen = [p["phase"] for p in done["status"]["phaseTransitionTimestamps"]]
    assert seen == ["Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running", "Succeeded"]
    moved = sim.get("VirtualMachineInstance", "default", "mig")
    assert moved["status"]["nodeName"] != source
    ms = moved["status"]["migrationState"]
    assert ms["completed"] is True and ms["sourceNode"] == source and ms["targetNode"] == moved["status"]["nodeName"]
    status, body = call(sim, "GET", KV + "/virtualmachineinstancemigrations?labelSelector=kubevirt.io%2Fvmi-name%3D%3Dmig")
    assert [i["metadata"]["name"] for i in body["items"]] == [m["metadata"]["name"]]
    sim.apply(vm("off", running=False))
    status, body = call(sim, "PUT", SUB + "/virtualmachines/off/migrate", {})
    assert status == 404 and body["message"] == 'virtualmachineinstance.kubevirt.io "off" not found'
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
               "metadata": {"name": "off", "namespace": "default"}, "spec": {"domain": {"devices": {}}},
               "status": {"phase": "Failed"}})
    status, body = call(sim, "PUT", SUB + "/virtualmachines/off/migrate", {})
    assert status == 409 and body["message"] == conflict("virtualmachine", "off", "VM is not running")


def test_pause_unpause(sim):
    running_vm(sim, "p")
    assert call(sim, "PUT", SUB + "/virtualmachineinstances/p/pause", {"dryRun": ["All"]})[0] == 200
    assert not any(c["type"] == "Paused" for c in sim.get("VirtualMachineInstance", "default", "p")["status"]
                   ["conditions"])
    assert call(sim, "PUT", SUB + "/virtualmachineinstances/p/pause", {})[0] == 200
    vmi = sim.get("VirtualMachineInstance", "default", "p")
    assert [c["reason"] for c in vmi["status"]["conditions"] if c["type"] == "Paused"] == ["PausedByUser"]
    sim.wait_for("VirtualMachine", "default", "p", lambda o: printable(o) == "Paused")
    status, body = call(sim, "PUT", SUB + "/virtualmachineinstances/p/pause", {})
    assert status == 409 and body["message"] == conflict("virtualmachineinstance", "p", "VMI is already paused")
    status, body = call(sim, "PUT", SUB + "/virtualmachineinstances/p/softreboot", b"")
    assert status == 409 and body["message"] == conflict("virtualmachineinstance", "p", "VMI is paused")
    assert call(sim, "PUT", SUB + "/virtualmachineinstances/p/unpause", {})[0] == 200
    sim.wait_for("VirtualMachine", "default", "p", lambda o: printable(o) == "Running")
    status, body = call(sim, "PUT", SUB + "/virtualmachineinstances/p/unpause", {})
    assert status == 409 and body["message"] == conflict("virtualmachineinstance", "p", "VMI is not paused")
    status, body = call(sim, "PUT", SUB + "/virtualmachineinstances/zz/pause", {})
    assert status == 404 and body["message"] == 'virtualmachineinstance.kubevirt.io "zz" not found'
    assert call(sim, "PUT", SUB + "/virtualmachineinstances/p/softreboot", b"")[0] == 200
    assert call(sim, "PUT", SUB + "/virtualmachineinstances/p/reset", b"")[0] == 200


def test_guest_agent_endpoints(sim):
    running_vm(sim, "g")
    status, info = call(sim, "GET", SUB + "/virtualmachineinstances/g/guestosinfo")
    assert status == 200 and info["os"]["prettyName"] == "CentOS Linux 7 (Core)" and info["hostname"] == "g"
    status, users = call(sim, "GET", SUB + "/virtualmachineinstances/g/userlist")
    assert status == 200 and users["items"][0]["userName"] == "centos"
    sim.vmi("default", "g", guestAgent={"userlist": {"metadata": {}, "items": [{"userName": "root"}]}})
    assert call(sim, "GET", SUB + "/virtualmachineinstances/g/userlist")[1]["items"] == [{"userName": "root"}]
    status, fs = call(sim, "GET", SUB + "/virtualmachineinstances/g/filesystemlist")
    assert status == 200 and fs["items"][0]["mountPoint"] == "/"
    sim.vmi("default", "g", agentConnected=False)
    status, body = call(sim, "GET", SUB + "/virtualmachineinstances/g/guestosinfo")
    assert status == 409 and body["message"] == conflict("virtualmachineinstance", "g",
                                                         "VMI does not have guest agent connected")
    sim.apply(vm("cold", running=False))
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
               "metadata": {"name": "pend", "namespace": "default"}, "spec": {"domain": {"devices": {}}},
               "status": {"phase": "Succeeded"}})
    status, body = call(sim, "GET", SUB + "/virtualmachineinstances/pend/userlist")
    assert status == 409 and body["message"] == conflict("virtualmachineinstance", "pend", "VMI is not running")


def test_hotplug_volume_on_vm(sim):
    running_vm(sim, "hp")
    call(sim, "POST", CORE + "/persistentvolumeclaims",
         {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}})
    opts = {"name": "data", "disk": {"name": "", "disk": {"bus": "scsi"}, "serial": "data"},
            "volumeSource": {"persistentVolumeClaim": {"claimName": "data", "hotpluggable": True}}}
    assert call(sim, "PUT", SUB + "/virtualmachines/hp/addvolume", opts)[0] == 202

    def ready(o):
        return any(v["name"] == "data" and v.get("phase") == "Ready" for v in o["status"].get("volumeStatus", []))

    vmi = sim.wait_for("VirtualMachineInstance", "default", "hp", ready)
    assert any(v["name"] == "data" for v in vmi["spec"]["volumes"])
    tmpl = sim.get("VirtualMachine", "default", "hp")["spec"]["template"]["spec"]
    assert {"name": "data", "disk": {"bus": "scsi"}, "serial": "data"} in tmpl["domain"]["devices"]["disks"]
    status, body = call(sim, "PUT", SUB + "/virtualmachines/hp/addvolume", opts)
    assert status == 409 and body["message"] == conflict(
        "virtualmachine", "hp", "Unable to add volume [data] because volume with that name already exists")
    status, body = call(sim, "PUT", SUB + "/virtualmachines/hp/addvolume", {})
    assert status == 400 and body["message"] == "AddVolumeOptions requires name to be set"
    assert call(sim, "PUT", SUB + "/virtualmachines/hp/removevolume", {"name": "data"})[0] == 202
    sim.wait_for("VirtualMachineInstance", "default", "hp",
                 lambda o: all(v["name"] != "data" for v in o["spec"]["volumes"]))
    status, body = call(sim, "PUT", SUB + "/virtualmachines/hp/removevolume", {"name": "data"})
    assert status == 409 and body["message"] == conflict(
        "virtualmachine", "hp", "Unable to remove volume [data] because it does not exist")
    status, body = call(sim, "PUT", SUB + "/virtualmachines/nohp/addvolume", opts)
    assert status == 404
    status, body = call(sim, "PUT", SUB + "/virtualmachineinstances/nohp/addvolume", opts)
    assert status == 404 and body["message"] == 'virtualmachineinstance.kubevirt.io "nohp" not found'


def test_memory_dump(sim):
    running_vm(sim, "md")
    status, body = call(sim, "PUT", SUB + "/virtualmachines/md/memorydump", {"claimName": "", "phase": ""})
    assert status == 400 and body["message"] == "Memory dump requires claim name to be set"
    status, body = call(sim, "PUT", SUB + "/virtualmachines/md/memorydump", {"claimName": "dump", "phase": ""})
    assert status == 404 and body["message"] == 'persistentvolumeclaim.kubevirt.io "dump" not found'
    call(sim, "POST", CORE + "/persistentvolumeclaims",
         {"metadata": {"name": "dump"}, "spec": {"resources": {"requests": {"storage": "300Mi"}}}})
    assert call(sim, "PUT", SUB + "/virtualmachines/md/memorydump", {"claimName": "dump", "phase": ""})[0] == 202
    done = sim.wait_for("VirtualMachine", "default", "md",
                        lambda o: (o["status"].get("memoryDumpRequest") or {}).get("phase") == "Completed")
    req = done["status"]["memoryDumpRequest"]
    assert req["claimName"] == "dump" and req["fileName"].endswith(".memory.dump")
    assert call(sim, "PUT", SUB + "/virtualmachines/md/removememorydump", b"")[0] == 202
    sim.wait_for("VirtualMachine", "default", "md", lambda o: "memoryDumpRequest" not in o["status"])
    status, body = call(sim, "PUT", SUB + "/virtualmachines/md/removememorydump", b"")
    assert status == 409 and body["message"] == conflict(
        "virtualmachine", "md", "can't remove memory dump association for vm md, no association found")


def test_expand_and_evacuate_cancel(sim):
    sim.apply(vm("ex", running=False))
    status, body = call(sim, "GET", SUB + "/virtualmachines/ex/expand-spec")
    assert status == 200 and body["kind"] == "VirtualMachine" and body["metadata"]["name"] == "ex"
    status, body = call(sim, "PUT", SUB + "/expand-vm-spec", vm("fromfile"))
    assert status == 200 and body["metadata"]["namespace"] == "default"
    status, body = call(sim, "PUT", SUB + "/expand-vm-spec", {**vm("x"), "metadata": {"name": "x",
                                                                                       "namespace": "other"}})
    assert status == 400
    status, body = call(sim, "PUT", SUB + "/virtualmachines/ex/evacuate/cancel", {"evacuationNodeName": "n"})
    assert status == 409 and body["message"] == conflict("virtualmachine", "ex", "VMI is not started")
    running_vm(sim, "ev")
    sim.vmi("default", "ev", status={"evacuationNodeName": "node01"})
    assert call(sim, "PUT", SUB + "/virtualmachineinstances/ev/evacuate/cancel",
                {"evacuationNodeName": "node01"})[0] == 200
    assert "evacuationNodeName" not in sim.get("VirtualMachineInstance", "default", "ev")["status"]


def test_stream_endpoint_validation(sim):
    status, body = call(sim, "GET", SUB + "/virtualmachineinstances/ghost/console")
    assert status == 404 and body["details"] == {"name": "ghost", "group": "kubevirt.io",
                                                 "kind": "virtualmachineinstance"}
    sim.apply(vm("st", running=False))
    status, body = call(sim, "GET", SUB + "/virtualmachines/st/portforward/22/tcp")
    assert status == 409 and body["message"] == conflict("virtualmachine", "st", "VMI is not started")
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
               "metadata": {"name": "pend", "namespace": "default"},
               "spec": {"domain": {"devices": {"autoattachGraphicsDevice": False}}},
               "status": {"phase": "Failed"}})
    status, body = call(sim, "GET", SUB + "/virtualmachineinstances/pend/console")
    assert status == 409 and body["message"] == conflict("virtualmachineinstance", "pend", "VMI is in failed status")
    status, body = call(sim, "GET", SUB + "/virtualmachineinstances/pend/vnc")
    assert status == 400 and body["message"] == "No graphics devices are present."
    status, _, raw = sim.request("GET", SUB + "/virtualmachineinstances/pend/vnc/screenshot?moveCursor=false")
    assert status == 500 and raw == b"No graphics devices are present."
