"""The simulator as a cluster, over plain HTTP: Tables, OpenAPI, field validation, managed fields and
server-side apply, virt-api's webhooks, nodes and virt-launcher pods."""

from __future__ import annotations

import http.client
import json
import ssl
from urllib.parse import urlparse

import pytest

from tests.sim.util import CORE, KV, SUB, call, phase, read_events, vm

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
APPLY = {"Content-Type": "application/apply-patch+yaml"}


def _table(sim, path: str, query: str = "") -> dict:
    status, body = call(sim, "GET", path + query, headers={"Accept": TABLE})
    assert status == 200, body
    assert body["kind"] == "Table" and body["apiVersion"] == "meta.k8s.io/v1"
    return body


def _columns(table: dict) -> list[tuple[str, int]]:
    return [(c["name"], c["priority"]) for c in table["columnDefinitions"]]


def test_tables_for_single_objects_lists_and_every_kind(sim):
    sim.apply(vm("t1", strategy="Always"))
    sim.wait_for("VirtualMachineInstance", "default", "t1", lambda o: phase(o) == "Running")
    one = _table(sim, KV + "/virtualmachines/t1")
    assert _columns(one) == [("Name", 0), ("Age", 0), ("Status", 0), ("Ready", 0)]
    assert one["rows"][0]["cells"][0] == "t1" and one["rows"][0]["cells"][2:] == ["Running", "True"]
    assert one["rows"][0]["cells"][1].endswith("s")  # an age, not a timestamp
    assert one["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    vmi = _table(sim, KV + "/virtualmachineinstances")
    assert _columns(vmi) == [("Name", 0), ("Age", 0), ("Phase", 0), ("IP", 0), ("NodeName", 0), ("Ready", 0),
                             ("Live-Migratable", 1), ("Paused", 1)]
    cells = vmi["rows"][0]["cells"]
    assert cells[2] == "Running" and cells[3].startswith("10.244.") and cells[4] in ("node01", "node02")
    assert cells[5:] == ["True", "True", None]
    full = _table(sim, KV + "/virtualmachineinstances", "?includeObject=Object")
    assert full["rows"][0]["object"]["kind"] == "VirtualMachineInstance"
    expected = {
        "/api/v1/nodes": ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image",
                          "Kernel-Version", "Container-Runtime"],
        CORE + "/pods": ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node",
                         "Readiness Gates"],
        CORE + "/services": ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
        CORE + "/persistentvolumeclaims": ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass",
                                           "VolumeAttributesClass", "Age", "VolumeMode"],
        CORE + "/events": ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen",
                           "Count", "Name"],
        "/api/v1/namespaces": ["Name", "Status", "Age"],
        KV + "/virtualmachineinstancemigrations": ["Name", "Phase", "VMI"],
    }
    for path, names in expected.items():
        assert [c["name"] for c in _table(sim, path)["columnDefinitions"]] == names, path


def test_service_and_pvc_rows(sim):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "NodePort", "selector": {"app": "t"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    assert call(sim, "POST", CORE + "/services", svc)[0] == 201
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "disk"},
           "spec": {"resources": {"requests": {"storage": "2Gi"}}}}
    assert call(sim, "POST", CORE + "/persistentvolumeclaims", pvc)[0] == 201
    row = _table(sim, CORE + "/services/web")["rows"][0]["cells"]
    assert row[:5] == ["web", "NodePort", "10.96.0.11", "<none>", "80:30000/TCP"] and row[6] == "app=t"
    row = _table(sim, CORE + "/persistentvolumeclaims/disk")["rows"][0]["cells"]
    assert row[1] == "Bound" and row[2].startswith("pvc-") and row[3:7] == ["2Gi", "RWO", "standard", "<unset>"]
    assert row[7].endswith("s") and row[8] == "Filesystem"


def test_watch_tables_have_column_definitions_once(sim):
    sim.apply(vm("w1", strategy="Halted"))
    u = urlparse(sim.url)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=sim.ca_file),
                                       timeout=10)
    conn.request("GET", KV + "/virtualmachines?watch=true&fieldSelector=metadata.name%3Dw1",
                 headers={"Authorization": f"Bearer {sim.token}", "Accept": TABLE})
    stream = conn.getresponse()
    assert call(sim, "PUT", SUB + "/virtualmachines/w1/start", {})[0] == 202
    events = read_events(stream, lambda evs: any(e["object"]["rows"][0]["cells"][2] == "Running" for e in evs))
    conn.close()
    assert all(e["object"]["kind"] == "Table" for e in events)
    assert events[0]["object"]["columnDefinitions"][0]["name"] == "Name"
    assert all(e["object"]["columnDefinitions"] is None for e in events[1:])
    assert [e["object"]["rows"][0]["cells"][2] for e in events][-1] == "Running"


def test_nodes_and_launcher_pod_follow_the_vmi(sim):
    nodes = call(sim, "GET", "/api/v1/nodes")[1]["items"]
    assert [n["metadata"]["name"] for n in nodes] == ["node01", "node02"]
    sim.apply(vm("p1", strategy="Always"))
    vmi = sim.wait_for("VirtualMachineInstance", "default", "p1", lambda o: phase(o) == "Running")
    pods = call(sim, "GET", CORE + "/pods?labelSelector=kubevirt.io%3Dvirt-launcher")[1]["items"]
    assert len(pods) == 1
    pod = pods[0]
    md = pod["metadata"]
    assert md["name"].startswith("virt-launcher-p1-") and len(md["name"]) == len("virt-launcher-p1-") + 5
    assert md["labels"]["kubevirt.io/created-by"] == vmi["metadata"]["uid"]
    assert md["labels"]["vm.kubevirt.io/name"] == "p1" and md["labels"]["vmi.kubevirt.io/id"] == "p1"
    assert md["labels"]["app"] == "p1"  # the VMI's own labels are copied
    assert md["annotations"]["kubevirt.io/domain"] == "p1"
    assert md["ownerReferences"] == [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "name": "p1",
                                      "uid": vmi["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["podIP"] == vmi["status"]["interfaces"][0]["ipAddress"]
    assert pod["spec"]["nodeName"] == vmi["status"]["nodeName"]
    assert list(vmi["status"]["activePods"]) == [md["uid"]]
    assert call(sim, "PUT", SUB + "/virtualmachines/p1/stop", {})[0] == 202
    sim.wait_for("VirtualMachineInstance", "default", "p1", lambda o: o is None)
    sim.wait_for("Pod", "default", md["name"], lambda o: o is None)


def test_migration_moves_the_launcher_pod(sim):
    sim.apply(vm("m1", strategy="Always"))
    vmi = sim.wait_for("VirtualMachineInstance", "default", "m1", lambda o: phase(o) == "Running")
    source = call(sim, "GET", CORE + "/pods")[1]["items"][0]["metadata"]["name"]
    assert call(sim, "PUT", SUB + "/virtualmachines/m1/migrate", {})[0] == 202
    vmi = sim.wait_for("VirtualMachineInstance", "default", "m1",
                       lambda o: ((o or {}).get("status") or {}).get("migrationState", {}).get("completed"))
    ms = vmi["status"]["migrationState"]
    pods = {p["metadata"]["name"]: p for p in call(sim, "GET", CORE + "/pods")[1]["items"]}
    assert ms["sourcePod"] == source and ms["targetPod"] in pods
    assert pods[source]["status"]["phase"] == "Succeeded"
    target = pods[ms["targetPod"]]
    assert target["status"]["phase"] == "Running" and target["spec"]["nodeName"] == ms["targetNode"]
    assert list(vmi["status"]["activePods"]) == [target["metadata"]["uid"]]


def test_openapi_documents(sim):
    status, index = call(sim, "GET", "/openapi/v3")
    assert status == 200 and "apis/kubevirt.io/v1" in index["paths"] and "api/v1" in index["paths"]
    url = index["paths"]["apis/kubevirt.io/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/kubevirt.io/v1?hash=")
    status, doc = call(sim, "GET", url)
    assert status == 200 and doc["openapi"].startswith("3.")
    vm_schema = doc["components"]["schemas"]["io.kubevirt.v1.VirtualMachine"]
    assert vm_schema["x-kubernetes-group-version-kind"] == [{"group": "kubevirt.io", "kind": "VirtualMachine",
                                                             "version": "v1"}]
    spec = vm_schema["properties"]["spec"]
    assert spec["required"] == ["template"] and spec["properties"]["runStrategy"]["type"] == "string"
    patch = doc["paths"]["/apis/kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}"]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]  # kubectl validates on the server then
    status, v2 = call(sim, "GET", "/openapi/v2")
    assert status == 200 and v2["swagger"] == "2.0" and "io.k8s.api.core.v1.Service" in v2["definitions"]
    st, headers, raw = sim.request("GET", "/openapi/v2",
                                   headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert st == 200 and headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert raw[:5] == b"\n\x032.0"  # Document.swagger = "2.0", as gnostic encodes it
    assert call(sim, "GET", "/openapi/v3/apis/nope.example.com/v1")[0] == 404


def test_field_validation_strict_warn_ignore(sim):
    body = vm("f1", strategy="Halted")
    body["spec"]["template"]["spec"]["domain"]["bogus"] = 1
    status, out = call(sim, "POST", KV + "/virtualmachines?fieldValidation=Strict", body)
    assert status == 400 and out["message"] == \
        'strict decoding error: unknown field "spec.template.spec.domain.bogus"'
    st, headers, raw = sim.request("POST", KV + "/virtualmachines", body)  # no directive: Warn
    assert st == 201 and headers["Warning"] == '299 - "unknown field \\"spec.template.spec.domain.bogus\\""'
    assert "bogus" not in json.loads(raw)["spec"]["template"]["spec"]["domain"]
    body["metadata"]["name"] = "f2"
    body["spec"]["running"] = "yes"
    del body["spec"]["runStrategy"]
    status, out = call(sim, "POST", KV + "/virtualmachines?fieldValidation=Ignore", body)
    assert status == 422 and out["message"] == ('VirtualMachine.kubevirt.io "f2" is invalid: spec.running: Invalid '
                                                'value: "string": spec.running in body must be of type boolean: '
                                                '"string"')


def _managers(obj: dict) -> dict:
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"]["managedFields"]}


def test_managed_fields_and_server_side_apply(sim):
    body = vm("s1", strategy="Halted")
    status, created = call(sim, "POST", KV + "/virtualmachines?fieldManager=kubectl-create", body)
    assert status == 201
    fields = _managers(created)[("kubectl-create", "Update")]
    assert fields["f:spec"]["."] == {} and "f:runStrategy" in fields["f:spec"]  # spec was added: "." owns it
    # apply by another manager: the changed field belongs to kubectl-create -> conflict
    cfg = ("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: s1\n  labels:\n    team: a\n"
           "spec:\n  runStrategy: Always\n")
    st, _, raw = sim.request("PATCH", KV + "/virtualmachines/s1?fieldManager=ops", cfg.encode(), headers=APPLY)
    out = json.loads(raw)
    assert st == 409 and out["reason"] == "Conflict"
    assert out["message"] == ('Apply failed with 1 conflict: conflict with "kubectl-create" using kubevirt.io/v1: '
                              ".spec.runStrategy")
    assert out["details"]["causes"] == [{"reason": "FieldManagerConflict", "message": 'conflict with '
                                         '"kubectl-create" using kubevirt.io/v1', "field": ".spec.runStrategy"}]
    st, _, raw = sim.request("PATCH", KV + "/virtualmachines/s1?fieldManager=ops&force=true", cfg.encode(),
                             headers=APPLY)
    obj = json.loads(raw)
    assert st == 200 and obj["spec"]["runStrategy"] == "Always"
    managers = _managers(obj)
    assert managers[("ops", "Apply")] == {"f:metadata": {"f:labels": {"f:team": {}}},
                                          "f:spec": {"f:runStrategy": {}}}
    assert "f:runStrategy" not in managers[("kubectl-create", "Update")]["f:spec"]
    # applying without a field gives it up, and removes it as nobody else owns it
    st, _, raw = sim.request("PATCH", KV + "/virtualmachines/s1?fieldManager=ops",
                             cfg.replace("  labels:\n    team: a\n", "").encode(), headers=APPLY)
    obj = json.loads(raw)
    assert st == 200 and obj["spec"]["runStrategy"] == "Always" and not obj["metadata"].get("labels")
    assert _managers(obj)[("ops", "Apply")] == {"f:spec": {"f:runStrategy": {}}}


def test_server_side_apply_creates_and_checks_its_input(sim):
    cfg = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: ssa\nspec:\n  ports:\n  - port: 80\n"
           "    protocol: TCP\n  selector:\n    app: x\n")
    st, _, raw = sim.request("PATCH", CORE + "/services/ssa?fieldManager=kubectl", cfg.encode(), headers=APPLY)
    assert st == 201, raw
    obj = json.loads(raw)
    assert _managers(obj)[("kubectl", "Apply")]["f:spec"]["f:ports"] == \
        {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:protocol": {}}}
    st, _, raw = sim.request("PATCH", CORE + "/services/ssa", cfg.encode(), headers=APPLY)
    assert st == 400 and json.loads(raw)["message"] == "PATCH /apply requests require fieldManager to be set"
    bad = cfg.replace("selector:", "bogus: 1\n  selector:")
    st, _, raw = sim.request("PATCH", CORE + "/services/ssa?fieldManager=kubectl", bad.encode(), headers=APPLY)
    assert st == 500 and json.loads(raw)["message"] == ("failed to create typed patch object (default/ssa; /v1, "
                                                        "Kind=Service): .spec.bogus: field not declared in schema")
    st, _, raw = sim.request("PATCH", CORE + "/services/ssa?fieldManager=kubectl",
                             cfg.replace("apiVersion: v1", "apiVersion: v2").encode(), headers=APPLY)
    assert st == 400 and "Incorrect version specified in apply patch" in json.loads(raw)["message"]


def test_strategic_merge_patch(sim):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "smp"},
           "spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}], "selector": {"app": "x"}}}
    assert call(sim, "POST", CORE + "/services", svc)[0] == 201
    patch = {"spec": {"$setElementOrder/ports": [{"port": 81}, {"port": 80}],
                      "ports": [{"port": 81, "targetPort": 9091}]}}
    status, out = call(sim, "PATCH", CORE + "/services/smp", patch,
                       headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert status == 200 and [(p["port"], p["targetPort"]) for p in out["spec"]["ports"]] == [(81, 9091), (80, 80)]
    status, out = call(sim, "PATCH", KV + "/virtualmachines/x", {"spec": {}},
                       headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert status == 415 and out["message"].startswith("the body of the request was in an unknown format")


@pytest.mark.parametrize(("change", "webhook", "message"), [
    (lambda s: s.update(runStrategy="Bogus"), "virtualmachine-validator.kubevirt.io", "Invalid RunStrategy (Bogus)"),
    (lambda s: s.update(running=True), "virtualmachine-validator.kubevirt.io",
     "Running and RunStrategy are mutually exclusive. Note that Running is deprecated, please use RunStrategy "
     "instead"),
    (lambda s: s.pop("runStrategy"), "virtualmachine-validator.kubevirt.io", "RunStrategy must be specified"),
    (lambda s: s["template"]["spec"]["domain"]["devices"].update(disks=[{"name": "nodisk", "disk": {}}]),
     "virtualmachine-validator.kubevirt.io", "spec.template.spec.domain.devices.disks[0].Name 'nodisk' not found."),
    (lambda s: s["template"]["spec"].update(networks=[{"name": "other", "pod": {}}]),
     "virtualmachine-validator.kubevirt.io",
     "spec.template.spec.networks[0].name 'other' not found., "
     "spec.template.spec.domain.devices.interfaces[0].name 'default' not found."),
    (lambda s: s["template"]["spec"]["domain"]["resources"]["requests"].update(memory="-1Gi"),
     "virtualmachine-validator.kubevirt.io",
     "spec.template.spec.domain.resources.requests.memory '-1Gi': must be greater than or equal to 0."),
    (lambda s: s["template"]["spec"].update(hostname="Bad_Host"), "virtualmachine-validator.kubevirt.io",
     "spec.template.spec.hostname does not conform to the kubernetes DNS_LABEL rules : a lowercase RFC 1123 label "
     "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
     "character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
])
def test_vm_webhook_denials(sim, change, webhook, message):
    body = vm("bad", strategy="Halted")
    change(body["spec"])
    status, out = call(sim, "POST", KV + "/virtualmachines", body)
    assert status == 422 and out["reason"] == "Invalid", out
    assert out["message"] == f'admission webhook "{webhook}" denied the request: {message}'
    assert call(sim, "GET", KV + "/virtualmachines/bad")[0] == 404
    # dry runs are admitted too
    status, out = call(sim, "POST", KV + "/virtualmachines?dryRun=All", body)
    assert status == 422


def test_vm_webhook_on_update_and_deprecation_warning(sim):
    assert call(sim, "POST", KV + "/virtualmachines", vm("u1", strategy="Halted"))[0] == 201
    status, out = call(sim, "PATCH", KV + "/virtualmachines/u1", {"spec": {"runStrategy": "Sometimes"}},
                       headers={"Content-Type": "application/merge-patch+json"})
    assert status == 422 and out["message"].endswith("denied the request: Invalid RunStrategy (Sometimes)")
    st, headers, _ = sim.request("POST", KV + "/virtualmachines", vm("u2", running=False))
    assert st == 201 and headers["Warning"] == '299 - "spec.running is deprecated, please use spec.runStrategy ' \
                                               'instead."'


def test_vmi_webhooks(sim):
    vmi = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "i1"},
           "spec": {"domain": {"devices": {}}, "volumes": [{"name": "extra", "emptyDisk": {"capacity": "1Gi"}}]}}
    status, out = call(sim, "POST", KV + "/virtualmachineinstances", vmi)
    assert status == 422
    assert out["message"] == (
        'admission webhook "virtualmachineinstances-create-validator.kubevirt.io" denied the request: '
        "spec.domain.volumes[0].name 'extra' not found., no memory requested, at least one of "
        "'spec.domain.memory.guest', 'spec.domain.memory.hugepages.pageSize' or "
        "'spec.domain.resources.requests.memory' must be set")
    sim.apply(vm("i2", strategy="Always"))
    sim.wait_for("VirtualMachineInstance", "default", "i2", lambda o: phase(o) == "Running")
    status, out = call(sim, "PATCH", KV + "/virtualmachineinstances/i2",
                       {"spec": {"domain": {"cpu": {"cores": 4}}}},
                       headers={"Content-Type": "application/merge-patch+json"})
    assert status == 422 and out["message"] == ('admission webhook "virtualmachineinstances-update-validator.'
                                                'kubevirt.io" denied the request: update of VMI object is restricted')
    status, out = call(sim, "PATCH", KV + "/virtualmachineinstances/i2",
                       {"metadata": {"labels": {"kubevirt.io/nodeName": "elsewhere"}}},
                       headers={"Content-Type": "application/merge-patch+json"})
    assert status == 422 and out["message"].endswith("modification of the following reserved kubevirt.io/ labels "
                                                     "on a VMI object is prohibited")
    status, out = call(sim, "PATCH", KV + "/virtualmachineinstances/i2", {"metadata": {"labels": {"team": "x"}}},
                       headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200 and out["metadata"]["labels"]["team"] == "x"
