"""The simulator's CDI: storage objects, upload tokens, the upload controller and the HTTPS upload proxy."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import socket
import ssl
import struct
import time
from urllib.parse import urlparse

import pytest

from tests.sim.util import call

CORE = "/api/v1/namespaces/default"
CDI = "/apis/cdi.kubevirt.io/v1beta1"
TOKENS = "/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/default/uploadtokenrequests"
UP = "cdi.kubevirt.io/storage.upload.target"
PHASE = "cdi.kubevirt.io/storage.pod.phase"
READY = "cdi.kubevirt.io/storage.pod.ready"


def proxy(sim, method: str, path: str, body: bytes | None = None, token: str | None = None,
          headers: dict | None = None) -> tuple[int, bytes]:
    """One request to the upload proxy, verified against the simulator's CA."""
    u = urlparse(sim.upload_proxy_url)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=sim.ca_file),
                                       timeout=30)
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def token_for(sim, pvc: str) -> str:
    status, body = call(sim, "POST", TOKENS, {"apiVersion": "upload.cdi.kubevirt.io/v1beta1",
                                              "kind": "UploadTokenRequest",
                                              "metadata": {"generateName": "token-for-virtctl-"},
                                              "spec": {"pvcName": pvc}})
    assert status == 200, body
    return body["status"]["token"]


def upload_pvc(sim, name: str = "disk", size: str = "1Gi", content: str = "kubevirt", **extra) -> dict:
    """A PVC with CDI's upload annotations, once its upload pod is ready."""
    sim.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": name, "namespace": "default",
                            "annotations": {UP: "", "cdi.kubevirt.io/storage.contentType": content, **extra}},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}})
    return sim.wait_for("PersistentVolumeClaim", "default", name,
                        lambda o: ((o or {}).get("metadata", {}).get("annotations") or {}).get(READY) == "true")


def test_the_cluster_has_cdi_objects(sim):
    cfg = sim.get("CDIConfig", None, "config")
    assert cfg["status"]["uploadProxyURL"] == sim.upload_proxy_url
    assert cfg["status"]["filesystemOverhead"]["global"] == "0.055"
    classes = {c["metadata"]["name"]: c for c in sim.list("StorageClass")}
    assert classes["standard"]["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert classes["local"]["volumeBindingMode"] == "WaitForFirstConsumer"
    profile = sim.get("StorageProfile", None, "standard")
    assert profile["status"]["claimPropertySets"] == [{"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}]
    status, doc = call(sim, "GET", "/apis/storage.k8s.io/v1/storageclasses/standard")
    assert status == 200 and doc["provisioner"] == "kubevirt.io.hostpath-provisioner"
    # a new class gets its profile
    sim.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
               "provisioner": "example.com/fast"})
    sim.wait_for("StorageProfile", None, "fast", lambda o: o is not None)


def test_upload_token_requests_are_answered_not_stored(sim):
    status, body = call(sim, "POST", TOKENS, {"apiVersion": "upload.cdi.kubevirt.io/v1beta1",
                                              "kind": "UploadTokenRequest",
                                              "metadata": {"generateName": "token-for-virtctl-"},
                                              "spec": {"pvcName": "disk"}})
    assert status == 200
    assert body["metadata"] == {"generateName": "token-for-virtctl-", "creationTimestamp": None}
    assert body["spec"] == {"pvcName": "disk"} and len(body["status"]["token"]) > 20
    assert sim.list("UploadTokenRequest") == []


def test_proxy_paths_and_authentication(sim):
    assert proxy(sim, "GET", "/healthz") == (200, b"OK")
    assert proxy(sim, "POST", "/v1beta1/nothing", b"x") == (404, b"404 page not found\n")
    assert proxy(sim, "POST", "/v1beta1/upload", b"x")[0] == 400  # no token
    assert proxy(sim, "POST", "/v1beta1/upload", b"x", headers={"Authorization": "Basic abc"})[0] == 400
    assert proxy(sim, "POST", "/v1beta1/upload", b"x", token="not-a-token")[0] == 401
    token = token_for(sim, "missing")
    assert proxy(sim, "HEAD", "/v1beta1/upload-async", token=token)[0] == 503
    assert proxy(sim, "POST", "/v1beta1/upload", b"x", token=token) == (
        503, b"rejecting Upload Request for PVC missing that doesn't exist")
    sim.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "plain", "namespace": "default"},
               "spec": {"resources": {"requests": {"storage": "1Gi"}}}})
    assert proxy(sim, "POST", "/v1beta1/upload", b"x", token=token_for(sim, "plain")) == (
        503, b"PVC plain is not an upload target")
    entries = [e for e in sim.requests() if e.get("server") == "uploadproxy"]
    assert entries[3]["headers"]["authorization"] == "***"  # Basic abc, never shown
    assert entries[4]["headers"]["authorization"] == "Bearer ***"
    assert all(e["body"] is None for e in entries)


def test_tokens_expire(sim):
    upload_pvc(sim)
    sim.config(upload_token_ttl=-20)  # older than CDI's 10 s of leeway
    assert proxy(sim, "HEAD", "/v1beta1/upload-async", token=token_for(sim, "disk"))[0] == 401
    sim.config(upload_token_ttl=300)
    token = token_for(sim, "disk")
    sim.fault({"match": {"path_regex": "^/v1beta1/"}, "action": "expire_token", "times": 1})
    assert proxy(sim, "HEAD", "/v1beta1/upload-async", token=token)[0] == 401
    assert proxy(sim, "HEAD", "/v1beta1/upload-async", token=token)[0] == 200


def test_upload_pod_readiness_is_waited_for(sim):
    sim.config(upload_ready_wait=0.3)
    sim.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "later", "namespace": "default", "annotations": {UP: ""}},
               "spec": {"storageClassName": "local", "resources": {"requests": {"storage": "1Gi"}}}})
    # on a WaitForFirstConsumer class nothing consumes the claim: no upload pod, the proxy gives up
    assert proxy(sim, "POST", "/v1beta1/upload", b"x", token=token_for(sim, "later")) == (
        503, b"context deadline exceeded")
    pvc = sim.get("PersistentVolumeClaim", "default", "later")
    assert pvc["status"]["phase"] == "Pending" and READY not in pvc["metadata"]["annotations"]


def test_sync_and_async_uploads(sim):
    pvc = upload_pvc(sim)
    ann = pvc["metadata"]["annotations"]
    assert ann["cdi.kubevirt.io/storage.uploadPodName"] == "cdi-upload-disk" and ann[PHASE] == "Running"
    pod = sim.get("Pod", "default", "cdi-upload-disk")
    assert pod["status"]["phase"] == "Running"
    assert pod["metadata"]["ownerReferences"][0]["uid"] == pvc["metadata"]["uid"]
    token = token_for(sim, "disk")
    assert proxy(sim, "HEAD", "/v1beta1/upload-async", token=token)[0] == 200
    assert proxy(sim, "HEAD", "/v1beta1/upload", token=token)[0] == 404  # the sync handler takes only POST
    assert proxy(sim, "GET", "/v1beta1/upload-async", token=token)[0] == 404
    data = bytes(range(256)) * 4096
    assert proxy(sim, "POST", "/v1beta1/upload", data, token=token) == (200, b"")
    pvc = sim.get("PersistentVolumeClaim", "default", "disk")
    assert pvc["metadata"]["annotations"][PHASE] == "Succeeded"
    assert pvc["metadata"]["annotations"][READY] == "false"
    assert sim.get("Pod", "default", "cdi-upload-disk") is None
    assert sim.volume("default", "disk")["sha256"] == hashlib.sha256(data).hexdigest()
    assert proxy(sim, "POST", "/v1beta1/upload", data, token=token) == (
        503, b"rejecting Upload Request for PVC disk that already finished uploading")
    # async: answered once the data is in, processing finishes afterwards
    upload_pvc(sim, "disk2")
    sim.config(upload_processing_seconds=0.5)
    token = token_for(sim, "disk2")
    assert proxy(sim, "POST", "/v1alpha1/upload-async", data, token=token) == (200, b"")
    assert sim.get("PersistentVolumeClaim", "default", "disk2")["metadata"]["annotations"][PHASE] == "Running"
    sim.wait_for("PersistentVolumeClaim", "default", "disk2",
                 lambda o: o["metadata"]["annotations"][PHASE] == "Succeeded")
    post = [e for e in sim.requests() if e.get("server") == "uploadproxy" and e["method"] == "POST"][-1]
    assert post["bytes"] == len(data) and post["seconds"] >= 0
    assert post["image"] == {"received": len(data), "stored": len(data), "format": "raw", "image_format": "raw",
                             "virtual_size": len(data)}


def test_form_upload(sim):
    upload_pvc(sim)
    data = b"disk bytes" * 1000
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nignored\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.img\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    status, _ = proxy(sim, "POST", "/v1beta1/upload-form", body, token=token_for(sim, "disk"),
                      headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200
    assert sim.volume("default", "disk")["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("data,status,message", [
    (b"QFI\xfb" + struct.pack(">I", 3) + b"\0" * 16 + struct.pack(">Q", 3 << 20) + b"\0" * 600, 400,
     b"Saving stream failed: effective image size is larger than the reported available storage: virtual image size "
     b"3145728 is larger than the reported available storage 2097152. A larger PVC is required"),
    (b"\x07" * (3 << 20), 400,
     b"Saving stream failed: effective image size is larger than the reported available storage: virtual image size "
     b"3145728 is larger than the reported available storage 2097152. A larger PVC is required"),
    (gzip.compress(b"\x07" * (3 << 20)), 400,
     b"Saving stream failed: effective image size is larger than the reported available storage: virtual image size "
     b"3145728 is larger than the reported available storage 2097152. A larger PVC is required"),
    (gzip.compress(b"\x07" * 100_000)[:-30], 500,
     b"Saving stream failed: Unable to transfer source data to target file: unexpected EOF"),
])
def test_what_cdi_refuses(sim, data, status, message):
    upload_pvc(sim, size="2Mi")
    assert proxy(sim, "POST", "/v1beta1/upload-async", data, token=token_for(sim, "disk")) == (status, message)
    assert sim.volume("default", "disk") is None
    assert sim.get("PersistentVolumeClaim", "default", "disk")["metadata"]["annotations"][PHASE] == "Running"


def test_archive_pvc(sim):
    upload_pvc(sim, content="archive")
    token = token_for(sim, "disk")
    assert proxy(sim, "HEAD", "/v1beta1/upload-async", token=token)[0] == 404
    assert proxy(sim, "POST", "/v1beta1/upload", b"not a tar" * 100, token=token) == (
        500, b"Saving stream failed: Unable to transfer source data to target file: archive/tar: invalid tar header")
    upload_pvc(sim, "odd", content="weird")
    assert proxy(sim, "POST", "/v1beta1/upload", b"x", token=token_for(sim, "odd")) == (
        503, b"rejecting upload request for PVC odd - upload content-type weird is invalid")


def test_one_upload_at_a_time_and_drops(sim):
    upload_pvc(sim)
    token = token_for(sim, "disk")
    u = urlparse(sim.upload_proxy_url)
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    raw = socket.create_connection((u.hostname, u.port))
    first = ctx.wrap_socket(raw, server_hostname=u.hostname)
    first.sendall(f"POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                  "Content-Length: 1000000\r\n\r\n".encode() + b"a" * 1000)
    time.sleep(0.3)
    assert proxy(sim, "POST", "/v1beta1/upload", b"x", token=token)[0] == 503  # the upload server is busy
    first.close()  # the client goes away mid-upload: the upload server restarts
    sim.wait_for("PersistentVolumeClaim", "default", "disk",
                 lambda o: o["metadata"]["annotations"].get("cdi.kubevirt.io/storage.pod.restarts") == "1")
    # a drop mid-upload, on purpose
    sim.fault({"match": {"method": "POST", "path_regex": "^/v1beta1/upload"}, "action": "reset", "bytes": 100_000,
               "times": 1})
    with pytest.raises((ConnectionError, http.client.HTTPException, ssl.SSLError, OSError)):
        proxy(sim, "POST", "/v1beta1/upload", b"b" * 1_000_000, token=token)
    dropped = [e for e in sim.requests() if e.get("server") == "uploadproxy" and e["status"] == 0]
    assert dropped and dropped[-1]["bytes"] >= 100_000
    assert proxy(sim, "POST", "/v1beta1/upload", b"c" * 1000, token=token) == (200, b"")


def test_datavolume_phases_and_events(sim):
    sim.config(delay=0.05)
    status, _ = call(sim, "POST", f"{CDI}/namespaces/default/datavolumes", {
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "dv"},
        "spec": {"source": {"upload": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}},
                 "contentType": "kubevirt"}})
    assert status == 201
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        phase = (sim.get("DataVolume", "default", "dv").get("status") or {}).get("phase")
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
        if phase == "UploadReady":
            break
        time.sleep(0.01)
    assert seen[-1] == "UploadReady" and "UploadScheduled" in seen
    pvc = sim.get("PersistentVolumeClaim", "default", "dv")
    assert pvc["metadata"]["ownerReferences"][0]["kind"] == "DataVolume"
    assert pvc["spec"]["storageClassName"] == "standard"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"] and pvc["spec"]["volumeMode"] == "Filesystem"
    assert proxy(sim, "POST", "/v1beta1/upload", b"d" * 100, token=token_for(sim, "dv"))[0] == 200
    dv = sim.wait_for("DataVolume", "default", "dv", lambda o: o["status"].get("phase") == "Succeeded")
    assert dv["status"]["progress"] == "100.0%"
    reasons = [e["reason"] for e in sim.list("Event", "default") if e["involvedObject"]["name"] == "dv"]
    assert {"UploadScheduled", "UploadReady", "UploadSucceeded"} <= set(reasons)
    status, table = call(sim, "GET", f"{CDI}/namespaces/default/datavolumes",
                         headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert table["rows"][0]["cells"][:3] == ["dv", "Succeeded", "100.0%"]


def test_controller_failures(sim):
    sim.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "broken"},
               "provisioner": "sim.pyvirtctl.io/broken"})
    sim.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "p", "namespace": "default", "annotations": {UP: ""}},
               "spec": {"storageClassName": "broken", "resources": {"requests": {"storage": "1Gi"}}}})
    deadline = time.monotonic() + 5
    events: list = []
    while time.monotonic() < deadline and not events:
        events = [e for e in sim.list("Event", "default") if e["reason"] == "ProvisioningFailed"]
        time.sleep(0.05)
    assert events[0]["involvedObject"]["kind"] == "PersistentVolumeClaim" and events[0]["type"] == "Warning"
    assert sim.get("PersistentVolumeClaim", "default", "p")["status"]["phase"] == "Pending"
    # a DataVolume on a WaitForFirstConsumer class waits for its consumer
    call(sim, "POST", f"{CDI}/namespaces/default/datavolumes", {
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "w"},
        "spec": {"source": {"upload": {}},
                 "storage": {"storageClassName": "local", "resources": {"requests": {"storage": "1Gi"}}}}})
    sim.wait_for("DataVolume", "default", "w", lambda o: o["status"].get("phase") == "WaitForFirstConsumer")
    # a StorageProfile without claim properties cannot complete a DataVolume's spec
    profile = sim.get("StorageProfile", None, "standard")
    profile["status"]["claimPropertySets"] = []
    sim.apply(profile)
    call(sim, "POST", f"{CDI}/namespaces/default/datavolumes", {
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "nv"},
        "spec": {"source": {"upload": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}})
    deadline = time.monotonic() + 5
    bad: list = []
    while time.monotonic() < deadline and not bad:
        bad = [e for e in sim.list("Event", "default") if e["reason"] == "ErrClaimNotValid"]
        time.sleep(0.05)
    assert bad[0]["message"] == ("Spec is missing accessMode and volumeMode, cannot get access mode from StorageProfile "
                                 "standard")
    assert sim.get("PersistentVolumeClaim", "default", "nv") is None


def test_other_datavolumes_still_succeed_at_once(sim):
    sim.apply({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
               "metadata": {"name": "blank", "namespace": "default"},
               "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}})
    assert sim.get("DataVolume", "default", "blank")["status"]["phase"] == "Succeeded"


def test_ready_file_and_kubeconfig_name_the_proxy(sim):
    with open(sim.workdir + "/sim-ready.json") as fh:
        assert json.load(fh)["upload_proxy_url"] == sim.upload_proxy_url
    assert sim.upload_proxy_url.startswith("https://127.0.0.1:") and sim.upload_proxy_url != sim.url
