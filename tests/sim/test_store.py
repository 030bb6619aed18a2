"""kube-apiserver semantics: CRUD, errors worded like kube-apiserver, selectors, dryRun, patch, watch."""

from __future__ import annotations

import copy

from tests.sim.util import CORE, KV, call, open_stream, read_events, vm

SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
       "spec": {"ports": [{"port": 80, "targetPort": ""}], "selector": {"app": "x"}}}


def test_create_get_list_delete_and_metadata(sim):
    status, created = call(sim, "POST", KV + "/virtualmachines", vm("vm1"))
    assert status == 201
    md = created["metadata"]
    assert md["name"] == "vm1" and md["namespace"] == "default"
    assert md["uid"] and md["creationTimestamp"].endswith("Z") and md["resourceVersion"].isdigit()
    assert created["kind"] == "VirtualMachine" and created["apiVersion"] == "kubevirt.io/v1"
    status, got = call(sim, "GET", KV + "/virtualmachines/vm1")
    assert status == 200 and got["metadata"]["uid"] == md["uid"]
    status, lst = call(sim, "GET", KV + "/virtualmachines")
    assert lst["kind"] == "VirtualMachineList" and [i["metadata"]["name"] for i in lst["items"]] == ["vm1"]
    status, _ = call(sim, "DELETE", KV + "/virtualmachines/vm1")
    assert status == 200
    assert call(sim, "GET", KV + "/virtualmachines/vm1")[0] == 404


def test_error_messages_match_kube_apiserver(sim):
    status, body = call(sim, "GET", KV + "/virtualmachines/nope")
    assert status == 404
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": 'virtualmachines.kubevirt.io "nope" not found', "reason": "NotFound",
                    "details": {"name": "nope", "group": "kubevirt.io", "kind": "virtualmachines"}, "code": 404}
    assert call(sim, "POST", CORE + "/services", SVC)[0] == 201
    status, body = call(sim, "POST", CORE + "/services", SVC)
    assert status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == 'services "web" already exists'
    status, body = call(sim, "POST", KV + "/virtualmachines", vm("Bad_Name"))
    assert status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('VirtualMachine.kubevirt.io "Bad_Name" is invalid: metadata.name: '
                                      'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')
    status, body = call(sim, "POST", KV + "/virtualmachines", {"kind": "VirtualMachine", "metadata": {}})
    assert status == 422
    assert body["message"] == ('VirtualMachine.kubevirt.io "" is invalid: metadata.name: Required value: '
                               'name or generateName is required')
    status, body = call(sim, "POST", KV + "/virtualmachines", b"{not json")
    assert status == 400 and body["reason"] == "BadRequest"
    status, body = call(sim, "POST", "/api/v1/namespaces/nowhere/services", SVC)
    assert status == 404 and body["message"] == 'namespaces "nowhere" not found'
    status, body = call(sim, "PUT", KV + "/virtualmachines/ghost", vm("ghost"))
    assert status == 404
    status, body = call(sim, "POST", CORE + "/services", {**SVC, "metadata": {"name": "bad"},
                                                          "spec": {"ports": [{"port": 0}]}})
    assert status == 422 and "spec.ports[0].port: Invalid value: 0" in body["message"]


def test_service_defaults(sim):
    status, svc = call(sim, "POST", CORE + "/services", {**SVC, "spec": {**SVC["spec"], "type": "NodePort"}})
    assert status == 201
    port = svc["spec"]["ports"][0]
    assert port["targetPort"] == 80 and port["protocol"] == "TCP" and port["nodePort"] >= 30000
    assert svc["spec"]["clusterIP"].startswith("10.96.")


def test_dry_run_changes_nothing(sim):
    rv = call(sim, "GET", KV + "/virtualmachines")[1]["metadata"]["resourceVersion"]
    status, body = call(sim, "POST", KV + "/virtualmachines?dryRun=All", vm("dry"))
    assert status == 201 and body["metadata"]["name"] == "dry"
    assert call(sim, "GET", KV + "/virtualmachines/dry")[0] == 404
    assert call(sim, "GET", KV + "/virtualmachines")[1]["metadata"]["resourceVersion"] == rv
    call(sim, "POST", KV + "/virtualmachines", vm("real"))
    status, _ = call(sim, "DELETE", KV + "/virtualmachines/real",
                     {"kind": "DeleteOptions", "apiVersion": "kubevirt.io/v1", "dryRun": ["All"]})
    assert status == 200
    assert call(sim, "GET", KV + "/virtualmachines/real")[0] == 200


def test_generate_name(sim):
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"generateName": "key-"},
            "stringData": {"a": "b"}}
    status, s1 = call(sim, "POST", CORE + "/secrets", body)
    _, s2 = call(sim, "POST", CORE + "/secrets", body)
    assert status == 201
    assert s1["metadata"]["name"].startswith("key-") and len(s1["metadata"]["name"]) == len("key-") + 5
    assert s1["metadata"]["name"] != s2["metadata"]["name"]
    assert s1["data"] == {"a": "Yg=="}


def test_label_and_field_selectors(sim):
    for name, labels in (("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db"}), ("c", {})):
        call(sim, "POST", KV + "/virtualmachines", {**vm(name), "metadata": {"name": name, "labels": labels}})

    def names(q: str) -> list[str]:
        status, body = call(sim, "GET", KV + "/virtualmachines?" + q)
        assert status == 200, body
        return [i["metadata"]["name"] for i in body["items"]]

    assert names("labelSelector=tier%3D%3Dweb") == ["a"]
    assert names("labelSelector=tier%3Dweb") == ["a"]
    assert names("labelSelector=tier%21%3Dweb") == ["b", "c"]
    assert names("labelSelector=tier+in+%28web%2Cdb%29") == ["a", "b"]
    assert names("labelSelector=tier+notin+%28web%29") == ["b", "c"]
    assert names("labelSelector=env") == ["a"]
    assert names("labelSelector=%21tier") == ["c"]
    assert names("labelSelector=tier%2Cenv%3Dprod") == ["a"]
    assert names("fieldSelector=metadata.name%3Db") == ["b"]
    assert names("fieldSelector=metadata.namespace%3Ddefault%2Cmetadata.name%21%3Da") == ["b", "c"]
    status, body = call(sim, "GET", KV + "/virtualmachines?labelSelector=a%3Db%3Dc")
    assert status == 400


def test_all_namespaces_list(sim):
    sim.apply({**vm("other"), "metadata": {"name": "other", "namespace": "team"}})
    call(sim, "POST", KV + "/virtualmachines", vm("mine"))
    status, body = call(sim, "GET", "/apis/kubevirt.io/v1/virtualmachines")
    assert sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in body["items"]) == \
        [("default", "mine"), ("team", "other")]
    assert [n["metadata"]["name"] for n in call(sim, "GET", "/api/v1/namespaces")[1]["items"]] == ["default", "team"]


def test_update_conflict_and_patches(sim):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"a": "1"}}
    _, obj = call(sim, "POST", CORE + "/configmaps", cm)
    stale = copy.deepcopy(obj)
    obj["data"] = {"a": "2"}
    status, upd = call(sim, "PUT", CORE + "/configmaps/p", obj)
    assert status == 200 and int(upd["metadata"]["resourceVersion"]) > int(stale["metadata"]["resourceVersion"])
    status, body = call(sim, "PUT", CORE + "/configmaps/p", stale)
    assert status == 409 and body["message"] == (
        'Operation cannot be fulfilled on configmaps "p": the object has been modified; '
        'please apply your changes to the latest version and try again')
    call(sim, "POST", KV + "/virtualmachines", {**vm("p"), "metadata": {"name": "p", "labels": {"x": "1"}}})
    status, merged = call(sim, "PATCH", KV + "/virtualmachines/p", {"metadata": {"labels": {"y": "2"}}},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200 and merged["metadata"]["labels"] == {"x": "1", "y": "2"}
    ops = [{"op": "add", "path": "/spec/template/spec/accessCredentials", "value": []},
           {"op": "add", "path": "/spec/template/spec/accessCredentials/-", "value": {"k": 1}}]
    status, jp = call(sim, "PATCH", KV + "/virtualmachines/p", ops,
                      headers={"Content-Type": "application/json-patch+json"})
    assert status == 200 and jp["spec"]["template"]["spec"]["accessCredentials"] == [{"k": 1}]
    status, body = call(sim, "PATCH", KV + "/virtualmachines/p", [{"op": "test", "path": "/spec/running",
                                                                   "value": True}],
                        headers={"Content-Type": "application/json-patch+json"})
    assert status == 500 and "jsonpatch test operation does not apply" in body["message"]


def test_watch_events(sim):
    resp = open_stream(sim, KV + "/virtualmachines?watch=true&labelSelector=w%3D1")
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/json"
    call(sim, "POST", KV + "/virtualmachines", {**vm("w1"), "metadata": {"name": "w1", "labels": {"w": "1"}}})
    call(sim, "POST", KV + "/virtualmachines", vm("unlabelled"))
    call(sim, "DELETE", KV + "/virtualmachines/w1")
    events = read_events(resp, lambda evs: any(e["type"] == "DELETED" for e in evs))
    assert events[0]["type"] == "ADDED" and events[-1]["type"] == "DELETED"
    assert {e["object"]["metadata"]["name"] for e in events} == {"w1"}
    assert all(e["object"]["kind"] == "VirtualMachine" for e in events)
    resp.close()


def test_watch_from_resource_version(sim):
    _, a = call(sim, "POST", CORE + "/services", SVC)
    rv = a["metadata"]["resourceVersion"]
    call(sim, "POST", CORE + "/services", {**SVC, "metadata": {"name": "later"}})
    resp = open_stream(sim, CORE + f"/services?watch=1&resourceVersion={rv}")
    events = read_events(resp, lambda evs: len(evs) >= 1)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "later")]
    resp.close()
    resp = open_stream(sim, CORE + "/services?watch=1&timeoutSeconds=1")
    events = read_events(resp, lambda evs: False)
    assert sorted(e["object"]["metadata"]["name"] for e in events) == ["later", "web"]
    resp.close()


def test_admin_api_objects(sim):
    sim.apply("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: seeded, namespace: default}
spec: {domain: {devices: {}}}
status: {phase: Failed}
""")
    assert sim.get("VirtualMachineInstance", "default", "seeded")["status"]["phase"] == "Failed"
    sim.delete("VirtualMachineInstance", "default", "seeded")
    assert sim.get("VirtualMachineInstance", "default", "seeded") is None
    sim.apply(vm("gone"))
    sim.reset()
    assert sim.list("VirtualMachine") == []
