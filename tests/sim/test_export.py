"""The simulator's export controller, export server (proxy path and exporter pods) and pods/portforward."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import urllib.request

import pytest

from tests.sim.util import call

EXP = "/apis/export.kubevirt.io/v1/namespaces/default/virtualmachineexports"
PROXY = "/api/export.kubevirt.io/v1/namespaces/default/virtualmachineexports"
CORE = "/api/v1/namespaces/default"
KUBEVIRT = {"cdi.kubevirt.io/storage.contentType": "kubevirt"}


def pvc(name: str, annotations: dict | None = None, mode: str | None = None) -> dict:
    md: dict = {"name": name, "namespace": "default"}
    if annotations:
        md["annotations"] = annotations
    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if mode:
        spec["volumeMode"] = mode
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md, "spec": spec}


def export(name: str, kind: str, source: str, group: str = "", token: str | None = "t0ken", ttl: str = "") -> dict:
    spec: dict = {"source": {"apiGroup": group, "kind": kind, "name": source}}
    if token is not None:
        spec["tokenSecretRef"] = f"secret-{name}"
    if ttl:
        spec["ttlDuration"] = ttl
    return {"apiVersion": "export.kubevirt.io/v1", "kind": "VirtualMachineExport",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def secret(name: str, token: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"secret-{name}", "namespace": "default"},
            "data": {"token": base64.b64encode(token.encode()).decode()}}


def ready(sim, name: str) -> dict:
    return sim.wait_for("VirtualMachineExport", "default", name,
                        lambda o: o is not None and (o.get("status") or {}).get("phase") == "Ready")


def pvc_export(sim, name: str = "x1", claim: str = "disk", annotations: dict | None = KUBEVIRT,
               size: int = 100_000) -> dict:
    sim.apply([pvc(claim, annotations), secret(name, "t0ken")])
    sim.seed_volume("default", claim, size)
    assert call(sim, "POST", EXP, export(name, "PersistentVolumeClaim", claim))[0] == 201
    return ready(sim, name)


def get(sim, path: str, token: str | None = "t0ken", headers: dict | None = None):
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["x-kubevirt-export-token"] = token
    return sim.request("GET", path, headers=hdrs, token="")  # no API credentials: the export token only


def test_pvc_export_goes_ready_with_links_and_objects(sim):
    sim.config(delay=0.3)
    sim.apply([pvc("disk", KUBEVIRT), secret("x1", "t0ken")])
    assert call(sim, "POST", EXP, export("x1", "PersistentVolumeClaim", "disk", ttl="1h"))[0] == 201
    first = sim.wait_for("VirtualMachineExport", "default", "x1", lambda o: (o.get("status") or {}).get("phase"))
    st = first["status"]
    assert st["phase"] == "Pending" and st["links"] == {}
    assert list(st) == ["phase", "links", "tokenSecretRef", "ttlExpirationTime", "serviceName", "conditions"]
    assert st["conditions"][0]["type"] == "Ready" and st["conditions"][0]["status"] == "False"
    created = dt.datetime.strptime(first["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    assert st["ttlExpirationTime"] == (created + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    vme = ready(sim, "x1")
    sim.config(delay=0)
    assert vme["status"]["conditions"][:2] == [
        {**vme["status"]["conditions"][0], "type": "Ready", "status": "True", "reason": "PodReady"},
        {**vme["status"]["conditions"][1], "type": "PVC", "status": "True", "reason": "PVCBound"}]
    svc = sim.get("Service", "default", "virt-export-x1")
    assert svc["spec"]["ports"][0] == {"name": "export", "protocol": "TCP", "port": 443, "targetPort": 8443}
    assert svc["spec"]["selector"] == {"kubevirt.io.virt-export-service": "x1"}
    pod = sim.get("Pod", "default", "virt-export-x1")
    assert pod["status"]["phase"] == "Running"
    assert pod["metadata"]["labels"]["kubevirt.io.virt-export-service"] == "x1"
    assert json.loads(pod["metadata"]["annotations"]["sim.pyvirtctl.io/portforward"])["8443"].startswith("127.0.0.1:")
    host = sim.url.split("://")[1]
    ext = vme["status"]["links"]["external"]
    assert ext["cert"] == open(sim.ca_file).read().strip()
    assert ext["volumes"] == [{"name": "disk", "formats": [
        {"format": "raw", "url": f"https://{host}{PROXY}/x1/volumes/disk/disk.img"},
        {"format": "gzip", "url": f"https://{host}{PROXY}/x1/volumes/disk/disk.img.gz"}]}]
    assert ext["manifests"] == [{"type": "auth-header-secret", "url": f"https://{host}{PROXY}/x1/external/manifests/secret"}]
    assert vme["status"]["links"]["internal"]["manifests"] == [
        {"type": "auth-header-secret", "url": "https://virt-export-x1.default.svc/internal/manifests/secret"}]


def test_export_server_checks_the_token_and_serves_each_format(sim):
    pvc_export(sim, size=300_000)
    want = sim.volume("default", "disk")
    base = f"{PROXY}/x1/volumes/disk"
    assert get(sim, f"{base}/disk.img", token=None)[0] == 401
    status, _, body = get(sim, f"{base}/disk.img", token="wrong")
    assert (status, body) == (401, b"")
    status, headers, body = get(sim, f"{base}/disk.img")
    assert status == 200 and headers["Content-Length"] == "300000"
    assert hashlib.sha256(body).hexdigest() == want["sha256"]
    assert get(sim, f"{base}/disk.img?x-kubevirt-export-token=t0ken", token=None)[0] == 200
    assert "t0ken" not in json.dumps(sim.requests())  # the log keeps no token, header or query
    status, headers, body = get(sim, f"{base}/disk.img", headers={"Range": "bytes=1000-1999"})
    assert (status, headers["Content-Range"], len(body)) == (206, "bytes 1000-1999/300000", 1000)
    status, headers, body = get(sim, f"{base}/disk.img.gz")
    assert status == 200 and headers["Content-Type"] == "application/x-gzip"
    assert hashlib.sha256(gzip.decompress(body)).hexdigest() == want["sha256"]
    status, _, body = get(sim, f"{base}/disk.tar.gz")
    assert (status, body) == (404, b"404 page not found\n")  # a disk image has no archive format
    assert get(sim, f"{PROXY}/x1/exportready", token=None)[0] == 200
    assert get(sim, f"{PROXY}/nothere/volumes/disk/disk.img")[0] == 503


def test_filesystem_claim_is_a_directory_export(sim):
    pvc_export(sim, annotations=None, size=5000)
    base = f"{PROXY}/x1/volumes/disk"
    status, _, body = get(sim, f"{base}/dir/")
    assert status == 200 and b'<a href="disk.img">disk.img</a>' in body
    status, _, body = get(sim, f"{base}/dir/disk.img")
    assert status == 200 and hashlib.sha256(body).hexdigest() == sim.volume("default", "disk")["sha256"]
    status, _, body = get(sim, f"{base}/disk.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(body))) as tar:
        assert [(m.name, m.isdir()) for m in tar.getmembers()] == [(".", True), ("./disk.img", False)]
        assert len(tar.extractfile("./disk.img").read()) == 5000
    assert get(sim, f"{base}/disk.img")[0] == 404


def test_exporter_pod_serves_the_internal_link_with_a_certificate_for_its_service(sim):
    pvc_export(sim)
    pod = sim.get("Pod", "default", "virt-export-x1")
    target = json.loads(pod["metadata"]["annotations"]["sim.pyvirtctl.io/portforward"])["8443"]
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    host, port = target.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as raw, \
            ctx.wrap_socket(raw, server_hostname="virt-export-x1.default.svc") as tls:
        tls.sendall(b"GET /volumes/disk/disk.img HTTP/1.1\r\nHost: x\r\nx-kubevirt-export-token: t0ken\r\n"
                    b"Connection: close\r\n\r\n")
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(body).hexdigest() == sim.volume("default", "disk")["sha256"]
    logged = [x for x in sim.requests() if x.get("server") == "virt-export-x1"]
    assert [(x["method"], x["path"], x["status"]) for x in logged] == [("GET", "/volumes/disk/disk.img", 200)]


def test_generated_token_secret_and_manifest_secret(sim):
    sim.apply(pvc("disk", KUBEVIRT))
    assert call(sim, "POST", EXP, export("g1", "PersistentVolumeClaim", "disk", token=None))[0] == 201
    vme = ready(sim, "g1")
    assert vme["status"]["tokenSecretRef"] == "export-token-g1"
    token = base64.b64decode(sim.get("Secret", "default", "export-token-g1")["data"]["token"]).decode()
    status, _, body = get(sim, f"{PROXY}/g1/external/manifests/secret", token=token,
                          headers={"Accept": "application/yaml"})
    assert status == 200
    assert body.decode() == ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: header-secret-g1\nstringData:\n"
                             f"  token: x-kubevirt-export-token:{token}\n---\n")
    assert get(sim, f"{PROXY}/g1/external/manifests/all", token=token)[0] == 404  # a PVC export has no VM


@pytest.mark.parametrize(("kind", "group", "reason", "message", "phase"), [
    ("VirtualMachine", "kubevirt.io", "VMNotFound", "Virtual Machine default/ghost not found", "Pending"),
    ("VirtualMachineSnapshot", "snapshot.kubevirt.io", "VMSnapshotNotFound",
     "VirtualMachineSnapshot default/ghost not found", "Pending"),
    ("VirtualMachineTemplate", "template.kubevirt.io", "VMTemplateNotFound",
     "VirtualMachineTemplate default/ghost not found", "Pending"),
])
def test_missing_sources_stay_pending(sim, kind, group, reason, message, phase):
    assert call(sim, "POST", EXP, export("m1", kind, "ghost", group))[0] == 201
    vme = sim.wait_for("VirtualMachineExport", "default", "m1", lambda o: (o.get("status") or {}).get("conditions"))
    cond = vme["status"]["conditions"][0]
    assert (vme["status"]["phase"], cond["reason"], cond.get("message")) == (phase, reason, message)


def test_vm_without_claims_is_skipped_and_missing_pvc_reported(sim):
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "nodisk", "namespace": "default"},
               "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}},
                                                                       "volumes": [{"name": "c", "containerDisk": {
                                                                           "image": "x"}}]}}}})
    assert call(sim, "POST", EXP, export("s1", "VirtualMachine", "nodisk", "kubevirt.io"))[0] == 201
    vme = sim.wait_for("VirtualMachineExport", "default", "s1", lambda o: (o.get("status") or {}).get("phase"))
    assert vme["status"]["phase"] == "Skipped"
    assert vme["status"]["conditions"][0]["reason"] == "VMNoVolumes"
    assert call(sim, "POST", EXP, export("s2", "PersistentVolumeClaim", "nope"))[0] == 201
    vme = sim.wait_for("VirtualMachineExport", "default", "s2", lambda o: (o.get("status") or {}).get("phase"))
    assert vme["status"]["conditions"][1] == {**vme["status"]["conditions"][1], "type": "PVC",
                                              "reason": "PVCNotFound",
                                              "message": "PersistentVolumeClaim default/nope not found"}


def test_ttl_terminates_then_deletes(sim):
    sim.config(export_terminated_seconds=0.5)
    sim.apply([pvc("disk", KUBEVIRT), secret("t1", "t0ken")])
    assert call(sim, "POST", EXP, export("t1", "PersistentVolumeClaim", "disk", ttl="2s"))[0] == 201
    ready(sim, "t1")
    port = json.loads(sim.get("Pod", "default", "virt-export-t1")["metadata"]["annotations"][
        "sim.pyvirtctl.io/portforward"])["8443"]
    vme = sim.wait_for("VirtualMachineExport", "default", "t1",
                       lambda o: o is None or o["status"]["phase"] == "Terminated", timeout=10)
    assert vme is not None, "deleted before it was seen Terminated"
    assert vme["status"]["conditions"][0]["reason"] == "PodCompleted" and vme["status"]["links"] == {}
    sim.wait_for("VirtualMachineExport", "default", "t1", lambda o: o is None, timeout=10)
    host, p = port.rsplit(":", 1)
    with pytest.raises(OSError):
        socket.create_connection((host, int(p)), timeout=2).close()  # the exporter stopped


def test_pods_portforward_refuses_plain_requests(sim):
    pvc_export(sim)
    status, body = call(sim, "GET", f"{CORE}/pods/virt-export-x1/portforward")
    assert (status, body["message"]) == (400, "Upgrade request required")
    status, body = call(sim, "POST", f"{CORE}/pods/ghost/portforward")
    assert (status, body["message"]) == (404, 'pods "ghost" not found')


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is installed by scripts/sysdeps.sh")
def test_kubectl_port_forward_reaches_an_exporter_pod(sim, tmp_path):
    pvc_export(sim, size=70_000)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    env = dict(os.environ, KUBECONFIG=sim.kubeconfig)
    proc = subprocess.Popen(["kubectl", "port-forward", "pod/virt-export-x1", f"{free}:8443"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(f"Forwarding from 127.0.0.1:{free} -> 8443")
        ctx = ssl.create_default_context(cafile=sim.ca_file)
        req = urllib.request.Request(f"https://127.0.0.1:{free}/volumes/disk/disk.img",
                                     headers={"x-kubevirt-export-token": "t0ken"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            body = resp.read()
        assert hashlib.sha256(body).hexdigest() == sim.volume("default", "disk")["sha256"]
    finally:
        proc.terminate()
        proc.wait(10)
    reqs = [x for x in sim.requests() if x["path"].endswith("/portforward")]
    assert reqs and reqs[0]["status"] == 101
    assert reqs[0]["headers"]["sec-websocket-protocol"].split(",")[0].strip() == "SPDY/3.1+portforward.k8s.io"
