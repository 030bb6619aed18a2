"""Process-level behaviour: TLS, auth, discovery, request log, deny list, plain http, state, signals."""

from __future__ import annotations

import base64
import json
import signal
import ssl
import urllib.error
import urllib.request

import pytest
import websocket
import yaml

from pyvirtctl.sim.harness import SimProcess
from tests.sim.util import KV, SUB, call, vm


def test_kubeconfig_has_ca_token_and_namespace(sim):
    with open(sim.kubeconfig) as f:
        cfg = yaml.safe_load(f)
    cluster = cfg["clusters"][0]["cluster"]
    assert cluster["server"] == sim.url and sim.url.startswith("https://127.0.0.1:")
    ca = base64.b64decode(cluster["certificate-authority-data"])
    assert ca.startswith(b"-----BEGIN CERTIFICATE-----")
    assert cfg["users"][0]["user"]["token"] == sim.token
    assert cfg["contexts"][0]["name"] == "sim" and cfg["current-context"] == "sim"
    assert cfg["contexts"][0]["context"]["namespace"] == "default"
    # the CA really verifies the server (hostname 127.0.0.1 is in the SAN)
    ctx = ssl.create_default_context(cadata=ca.decode())
    req = urllib.request.Request(sim.url + "/version", headers={"Authorization": f"Bearer {sim.token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
        assert json.loads(resp.read())["major"] == "1"


def test_untrusted_client_fails_tls(sim):
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(sim.url + "/version", context=ssl.create_default_context(), timeout=5)


@pytest.mark.parametrize("token", ["", "wrong"])
def test_auth_required(sim, token):
    status, body = call(sim, "GET", KV + "/virtualmachines", token=token)
    assert status == 401
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert call(sim, "GET", "/_sim/log", token=token)[0] == 401


def test_discovery(sim):
    status, grp = call(sim, "GET", "/apis/subresources.kubevirt.io")
    assert status == 200 and grp["kind"] == "APIGroup"
    assert grp["preferredVersion"]["groupVersion"] == "subresources.kubevirt.io/v1"
    status, ver = call(sim, "GET", "/apis/subresources.kubevirt.io/v1/version")
    assert status == 200 and ver["gitVersion"] == "v1.9.0"
    assert set(ver) == {"gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform"}
    sim.config(version="v1.8.1")
    assert call(sim, "GET", "/apis/subresources.kubevirt.io/v1/version")[1]["gitVersion"] == "v1.8.1"
    groups = {g["name"] for g in call(sim, "GET", "/apis")[1]["groups"]}
    assert {"kubevirt.io", "subresources.kubevirt.io", "cdi.kubevirt.io", "export.kubevirt.io"} <= groups
    names = {r["name"] for r in call(sim, "GET", "/apis/kubevirt.io/v1")[1]["resources"]}
    assert {"virtualmachines", "virtualmachineinstances", "virtualmachineinstancemigrations",
            "virtualmachineinstancereplicasets"} <= names
    core = {r["name"] for r in call(sim, "GET", "/api/v1")[1]["resources"]}
    assert {"services", "persistentvolumeclaims", "namespaces", "events", "secrets"} <= core
    assert call(sim, "GET", "/api")[1]["versions"] == ["v1"]
    status, body = call(sim, "GET", "/apis/nope.example.com/v1/things")
    assert status == 404 and body["message"] == "the server could not find the requested resource"


def test_request_log(sim):
    sim.clear_log()
    call(sim, "PUT", SUB + "/virtualmachines/ghost/start?x=1", {"paused": True},
         headers={"Impersonate-User": "alice", "X-Other": "dropped"})
    call(sim, "GET", "/_sim/objects?kind=VirtualMachine")  # admin requests are never logged
    log = sim.requests()
    assert len(log) == 1
    entry = log[0]
    assert entry["method"] == "PUT"
    assert entry["path"] == "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/ghost/start"
    assert entry["query"] == "x=1"
    assert entry["body"] == {"paused": True}
    assert entry["status"] == 404
    assert entry["headers"]["authorization"] == "Bearer ***"
    assert entry["headers"]["impersonate-user"] == "alice"
    assert "x-other" not in entry["headers"]
    assert sim.token not in json.dumps(log)


def test_request_log_file_and_non_json_body(tmp_path):
    logfile = tmp_path / "req.jsonl"
    with SimProcess.start(tmp_path / "w", extra_args=["--log-requests", str(logfile)]) as s:
        s.request("POST", KV + "/virtualmachines", b"not json{", headers={"Content-Type": "text/plain"})
        s.request("GET", "/version", token="")
    lines = [json.loads(x) for x in logfile.read_text().splitlines()]
    assert [x["status"] for x in lines] == [400, 401]
    assert lines[0]["body"] == "not json{"
    assert lines[1]["headers"].get("authorization") is None


def test_deny_list(tmp_path):
    deny = tmp_path / "deny.json"
    deny.write_text(json.dumps([
        {"verb": "get", "resource": "virtualmachineinstances", "subresource": "console"},
        {"verb": "list", "resource": "virtualmachines", "namespace": "default"},
    ]))
    with SimProcess.start(tmp_path / "w", extra_args=["--deny", str(deny)]) as s:
        status, body = call(s, "GET", SUB + "/virtualmachineinstances/vm1/console")
        assert status == 403 and body["reason"] == "Forbidden"
        assert body["message"] == (
            'virtualmachineinstances.subresources.kubevirt.io "vm1" is forbidden: User "sim-user" cannot get '
            'resource "virtualmachineinstances/console" in API group "subresources.kubevirt.io" in the '
            'namespace "default"')
        status, body = call(s, "GET", KV + "/virtualmachines", headers={"Impersonate-User": "bob"})
        assert status == 403
        assert body["message"] == ('virtualmachines.kubevirt.io is forbidden: User "bob" cannot list resource '
                                   '"virtualmachines" in API group "kubevirt.io" in the namespace "default"')
        assert call(s, "GET", KV + "/virtualmachines/x")[0] == 404  # get is not denied


def test_insecure_http_and_websocket_validation(tmp_path):
    with SimProcess.start(tmp_path / "w", seed=["default"], extra_args=["--insecure-http"]) as s:
        assert s.url.startswith("http://")
        with open(s.kubeconfig) as f:
            assert "certificate-authority-data" not in f.read()
        ws_url = s.url.replace("http://", "ws://") + SUB + "/virtualmachineinstances/missing/console"
        with pytest.raises(websocket.WebSocketBadStatusException) as exc:
            websocket.create_connection(ws_url, header=[f"Authorization: Bearer {s.token}"],
                                        subprotocols=["plain.kubevirt.io"], timeout=5)
        assert exc.value.status_code == 404
        assert json.loads(exc.value.resp_body)["message"] == \
            'virtualmachineinstance.kubevirt.io "missing" not found'
        with pytest.raises(websocket.WebSocketBadStatusException) as exc:
            websocket.create_connection(ws_url, timeout=5)
        assert exc.value.status_code == 401
        log = s.requests()
        assert log[0]["headers"]["sec-websocket-protocol"] == "plain.kubevirt.io"
        assert log[0]["headers"]["upgrade"].lower() == "websocket"


def test_state_file_persists_objects(tmp_path):
    state = tmp_path / "state.json"
    with SimProcess.start(tmp_path / "a", extra_args=["--state", str(state)]) as s:
        assert call(s, "POST", KV + "/virtualmachines", vm("keeper"))[0] == 201
    with SimProcess.start(tmp_path / "b", extra_args=["--state", str(state)]) as s:
        status, body = call(s, "GET", KV + "/virtualmachines/keeper")
        assert status == 200 and body["metadata"]["name"] == "keeper"


def test_sigterm_and_sigint_exit_zero(tmp_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        s = SimProcess.start(tmp_path / sig.name, seed=["default"])
        s.proc.send_signal(sig)
        assert s.proc.wait(10) == 0


def test_ready_file_contents(tmp_path):
    with SimProcess.start(tmp_path / "w") as s:
        pass
    ready = tmp_path / "w" / "sim-ready.json"
    data = json.loads(ready.read_text())
    assert data["url"] == s.url and data["port"] == s.port and data["kubeconfig"] == s.kubeconfig
    assert isinstance(data["pid"], int)
