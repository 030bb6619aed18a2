"""image-upload against the simulator's CDI: requests, bodies, output and exit status as virtctl's.

The expected requests, bodies and messages were recorded from the reference virtctl v1.9.0 run side by
side against the same simulator (the polls in between depend on timing and are matched as a group).
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import re
import signal
import struct
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.conftest import _clean_env

CDI = "/apis/cdi.kubevirt.io/v1beta1"
CORE = "/api/v1/namespaces/default"
DVS = f"{CDI}/namespaces/default/datavolumes"
PVCS = f"{CORE}/persistentvolumeclaims"
EVENTS = f"{CORE}/events"
TOKENS = "/apis/upload.cdi.kubevirt.io/v1beta1/namespaces/default/uploadtokenrequests"
CONFIG = f"{CDI}/cdiconfigs/config"
DATASOURCES = f"{CDI}/namespaces/default/datasources"
ASYNC = "/v1beta1/upload-async"
SYNC = "/v1beta1/upload"
UP = "cdi.kubevirt.io/storage.upload.target"
DONE = ("Uploading data completed successfully, waiting for processing to complete, you can hit ctrl-c without "
        "interrupting the progress")
TOKEN_BODY = {"kind": "UploadTokenRequest", "apiVersion": "upload.cdi.kubevirt.io/v1beta1",
              "metadata": {"generateName": "token-for-virtctl-"}, "spec": {"pvcName": "disk"}, "status": {}}
BAR = re.compile(r"^[0-9.]+ (B|KiB|MiB|GiB) / [0-9.]+ (B|KiB|MiB|GiB) \[[-_>]*\] [0-9.]+% .* p/s \S+$")


# --------------------------------------------------------------------------- helpers


def image(tmp_path: Path, name: str = "disk.img", size: int = 1 << 20) -> Path:
    """A file of `size` deterministic, incompressible-looking bytes."""
    path = tmp_path / name
    with open(path, "wb") as fh:
        block = 0
        left = size
        while left > 0:
            piece = hashlib.sha256(block.to_bytes(8, "big")).digest() * 2048  # 64 KiB
            fh.write(piece[:left])
            left -= len(piece[:left])
            block += 1
    return path


def sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def qcow2(path: Path, virtual: int) -> Path:
    path.write_bytes(b"QFI\xfb" + struct.pack(">I", 3) + b"\0" * 16 + struct.pack(">Q", virtual) + b"\0" * 4064)
    return path


def calls(sim) -> list[tuple[str, str, str, int]]:
    """(server, method, path, status) of every request, version probes left out."""
    return [(e.get("server", "api"), e["method"], e["path"], e["status"]) for e in sim.requests()
            if not e["path"].startswith("/apis/subresources.kubevirt.io")]


def shape(sim, *waits: tuple[str, str]) -> list:
    """calls(), each run of polling requests (method, path in `waits`) after the first request folded into
    one "poll"."""
    out: list = []
    for c in calls(sim):
        if out and (c[1], c[2]) in waits:
            if not out or out[-1] != "poll":
                out.append("poll")
        else:
            out.append(c)
    return out


def bodies(sim, method: str, path: str) -> list:
    return [e["body"] for e in sim.requests() if e["method"] == method and e["path"] == path]


def lines(out: str) -> list[str]:
    """stdout lines, the transfer bar as <bar>."""
    return ["<bar>" if BAR.match(x) else x for x in out.splitlines()]


def dv_waits(name: str = "disk") -> tuple:
    return (("GET", f"{DVS}/{name}"), ("GET", EVENTS), ("GET", f"{PVCS}/{name}"))


def pvc_waits(name: str = "disk") -> tuple:
    return (("GET", f"{PVCS}/{name}"), ("GET", EVENTS), ("GET", f"{DVS}/{name}"))


def pvc_object(name: str = "disk", size: str = "1Gi", **annotations: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}


def upload_fault(sim, action: str, **spec) -> None:
    sim.fault({"match": {"method": "POST", "path_regex": "^/v1beta1/upload"}, "action": action, **spec})


# --------------------------------------------------------------------------- successful uploads


def test_datavolume_upload(sim, cli, tmp_path):
    img = image(tmp_path, size=3 << 20)
    r = cli("image-upload", "dv", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = lines(r.stdout)
    assert out[:2] == ["PVC default/disk not found ", "DataVolume default/disk created"]
    assert out[-7:-3] == [f"Uploading data to {sim.upload_proxy_url}", "", "<bar>", DONE]
    assert out[-3] == "Processing completed successfully"
    assert re.fullmatch(r"Processing took \d+\.\ds", out[-2])
    assert out[-1] == f"Uploading {img} completed successfully"
    assert shape(sim, *dv_waits()) == [
        ("api", "GET", f"{PVCS}/disk", 404), ("api", "POST", DVS, 201), "poll",
        ("api", "GET", CONFIG, 200), ("api", "POST", TOKENS, 200),
        ("uploadproxy", "HEAD", ASYNC, 200), ("uploadproxy", "POST", ASYNC, 200), "poll",
    ]
    assert bodies(sim, "POST", DVS) == [{
        "kind": "DataVolume", "apiVersion": "cdi.kubevirt.io/v1beta1",
        "metadata": {"name": "disk", "namespace": "default"},
        "spec": {"source": {"upload": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}},
                 "contentType": "kubevirt"},
        "status": {}}]
    assert bodies(sim, "POST", TOKENS) == [TOKEN_BODY]
    post = [e for e in sim.requests() if e.get("server") == "uploadproxy" and e["method"] == "POST"][0]
    assert post["headers"]["content-type"] == "application/octet-stream"
    assert post["headers"]["authorization"] == "Bearer ***"
    assert post["headers"]["content-length"] == str(3 << 20)
    assert sim.volume("default", "disk") == {"namespace": "default", "name": "disk", "size": 3 << 20,
                                             "sha256": sha256(img)}
    dv = sim.get("DataVolume", "default", "disk")
    assert dv["status"]["phase"] == "Succeeded" and dv["status"]["progress"] == "100.0%"
    ann = sim.get("PersistentVolumeClaim", "default", "disk")["metadata"]["annotations"]
    assert ann["cdi.kubevirt.io/storage.pod.phase"] == "Succeeded"


def test_pvc_upload_with_every_creation_flag(sim, cli, tmp_path):
    img = image(tmp_path)
    r = cli("image-upload", "pvc", "disk", "--size=1024Mi", f"--image-path={img}", "--insecure",
            "--storage-class=standard", "--access-mode=ReadWriteMany", "--volume-mode=block", "--force-bind",
            "--default-instancetype=u1.small", "--default-instancetype-kind=VirtualMachineClusterInstancetype",
            "--default-preference=fedora", "--default-preference-kind=VirtualMachineClusterPreference")
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout)[:2] == ["PVC default/disk not found ", "PersistentVolumeClaim default/disk created"]
    assert shape(sim, *pvc_waits()) == [
        ("api", "GET", f"{PVCS}/disk", 404), ("api", "GET", "/apis/storage.k8s.io/v1/storageclasses/standard", 200),
        ("api", "POST", PVCS, 201), "poll", ("api", "GET", CONFIG, 200), ("api", "POST", TOKENS, 200),
        ("uploadproxy", "HEAD", ASYNC, 200), ("uploadproxy", "POST", ASYNC, 200), "poll",
    ]
    assert bodies(sim, "POST", PVCS) == [{
        "kind": "PersistentVolumeClaim", "apiVersion": "v1",
        "metadata": {"name": "disk", "namespace": "default",
                     "labels": {"cdi.kubevirt.io/applyStorageProfile": "true",
                                "instancetype.kubevirt.io/default-instancetype": "u1.small",
                                "instancetype.kubevirt.io/default-instancetype-kind":
                                    "VirtualMachineClusterInstancetype",
                                "instancetype.kubevirt.io/default-preference": "fedora",
                                "instancetype.kubevirt.io/default-preference-kind": "VirtualMachineClusterPreference"},
                     "annotations": {"cdi.kubevirt.io/storage.bind.immediate.requested": "",
                                     "cdi.kubevirt.io/storage.contentType": "kubevirt",
                                     "cdi.kubevirt.io/storage.upload.target": ""}},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}},
                 "storageClassName": "standard", "volumeMode": "Block"},
        "status": {}}]
    assert sim.volume("default", "disk")["sha256"] == sha256(img)


def test_deprecated_flags_still_work(sim, cli, tmp_path):
    img = image(tmp_path)
    r = cli("image-upload", "--pvc-name=disk", "--pvc-size=1Gi", f"--image-path={img}", "--insecure")
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout)[:4] == [
        "Flag --pvc-name has been deprecated, specify the name as the second argument instead.",
        "Flag --pvc-size has been deprecated, use --size instead.",
        "PVC default/disk not found ", "PersistentVolumeClaim default/disk created"]
    r = cli("image-upload", "dv", "disk2", "--block-volume", "--volume-mode=filesystem", f"--image-path={img}")
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "Flag --block-volume has been deprecated, specify volume mode (filesystem/block) with --volume-mode "
           "instead.\n", "incompatible --volume-mode 'filesystem' and --block-volume\n")


def test_datavolume_archive(sim, cli, tmp_path):
    data = image(tmp_path, "disk.img", 200_000)
    archive = tmp_path / "disk.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(data, arcname="disk.img")
    r = cli("image-upload", "dv", "disk", "--size=1Gi", f"--archive-path={archive}", "--insecure")
    assert r.returncode == 0, r.stderr
    assert bodies(sim, "POST", DVS)[0]["spec"]["contentType"] == "archive"
    pvc = sim.get("PersistentVolumeClaim", "default", "disk")
    assert pvc["metadata"]["annotations"]["cdi.kubevirt.io/storage.contentType"] == "archive"
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    # the archive endpoint takes only POST: the HEAD probe fails and the sync path is used, as with CDI
    proxy = [(m, p, s) for srv, m, p, s in calls(sim) if srv == "uploadproxy"]
    assert proxy == [("HEAD", ASYNC, 404), ("POST", SYNC, 200)]
    assert lines(r.stdout)[-1] == f"Uploading {archive} completed successfully"
    assert sim.volume("default", "disk")["sha256"] == sha256(archive)


def test_existing_pvc_gets_the_upload_annotation(sim, cli, tmp_path):
    sim.apply(pvc_object())
    img = image(tmp_path)
    sim.clear_log()
    r = cli("image-upload", "pvc", "disk", "--no-create", f"--image-path={img}", "--insecure")
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout)[0] == "Using existing PVC default/disk"
    seq = shape(sim, *pvc_waits())
    assert seq[:3] == [("api", "GET", f"{PVCS}/disk", 200), ("api", "PUT", f"{PVCS}/disk", 200), "poll"]
    put = bodies(sim, "PUT", f"{PVCS}/disk")[0]
    assert put["metadata"]["annotations"] == {UP: ""}
    assert put["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    assert sim.volume("default", "disk")["sha256"] == sha256(img)


def test_compressed_image_is_sent_as_is(sim, cli, tmp_path):
    raw = image(tmp_path, size=2 << 20)
    for name, data in (("disk.img.gz", gzip.compress(raw.read_bytes())), ("disk.img.xz", lzma.compress(raw.read_bytes()))):
        sim.reset()
        packed = tmp_path / name
        packed.write_bytes(data)
        r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={packed}", "--insecure")
        assert r.returncode == 0, r.stderr
        post = [e for e in sim.requests() if e.get("server") == "uploadproxy" and e["method"] == "POST"][0]
        assert post["bytes"] == len(data) and post["image"]["format"] in ("gz", "xz")
        # CDI decompresses: the claim holds the image itself
        assert sim.volume("default", "disk") == {"namespace": "default", "name": "disk", "size": 2 << 20,
                                                 "sha256": sha256(raw)}


def test_256_mib_image_arrives_intact(sim, cli, tmp_path):
    img = image(tmp_path, size=256 << 20)
    r = cli("image-upload", "dv", "big", "--size=1Gi", f"--image-path={img}", "--insecure", timeout=120)
    assert r.returncode == 0, r.stderr
    assert sim.volume("default", "big") == {"namespace": "default", "name": "big", "size": 256 << 20,
                                            "sha256": sha256(img)}


def test_force_bind_on_a_wait_for_first_consumer_class(sim, cli, tmp_path):
    img = image(tmp_path)
    r = cli("image-upload", "dv", "disk", "--size=1Gi", f"--image-path={img}", "--storage-class=local",
            "--insecure")
    assert (r.returncode, r.stderr) == (1, "cannot upload to DataVolume in WaitForFirstConsumer phase, make sure "
                                           "the PVC is Bound, or use force-bind flag\n")
    assert sim.get("DataVolume", "default", "disk")["status"]["phase"] == "WaitForFirstConsumer"
    sim.reset()
    r = cli("image-upload", "dv", "disk", "--size=1Gi", f"--image-path={img}", "--storage-class=local",
            "--insecure", "--force-bind")
    assert r.returncode == 0, r.stderr
    assert bodies(sim, "POST", DVS)[0]["metadata"] == {
        "name": "disk", "namespace": "default",
        "annotations": {"cdi.kubevirt.io/storage.bind.immediate.requested": ""}}
    assert sim.get("PersistentVolumeClaim", "default", "disk")["status"]["phase"] == "Bound"
    sim.reset()
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--storage-class=local",
            "--insecure", "--force-bind")
    assert r.returncode == 0, r.stderr
    # without --force-bind nothing consumes the claim: the upload pod never comes
    sim.reset()
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--storage-class=local",
            "--insecure", "--wait-secs=1")
    assert (r.returncode, r.stderr) == (1, "context deadline exceeded\n")
    assert lines(r.stdout)[-1] == "Waiting for PVC disk upload pod to be ready..."


def test_waiting_lines_when_the_pod_takes_its_time(sim, cli, tmp_path):
    sim.config(delay=0.3)
    img = image(tmp_path)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout)[2:4] == ["Waiting for PVC disk upload pod to be ready...", "Pod now ready"]


def test_datasource_created_then_patched(sim, cli, tmp_path):
    img = image(tmp_path)
    r = cli("image-upload", "dv", "disk", "--size=1Gi", f"--image-path={img}", "--insecure", "--datasource",
            "--default-instancetype=u1.small")
    assert r.returncode == 0, r.stderr
    assert "Created a new DataSource default/disk" in r.stdout.splitlines()
    assert bodies(sim, "POST", DATASOURCES) == [{
        "kind": "DataSource", "apiVersion": "cdi.kubevirt.io/v1beta1",
        "metadata": {"name": "disk", "namespace": "default",
                     "labels": {"instancetype.kubevirt.io/default-instancetype": "u1.small"}},
        "spec": {"source": {"pvc": {"name": "disk", "namespace": "default"}}}, "status": {"source": {}}}]
    sim.reset()
    sim.apply({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataSource",
               "metadata": {"name": "disk", "namespace": "default", "labels": {"team": "a"}},
               "spec": {"source": {"pvc": {"name": "", "namespace": ""}}}})
    r = cli("image-upload", "dv", "disk", "--size=1Gi", f"--image-path={img}", "--insecure", "--datasource",
            "--default-preference=fedora")
    assert r.returncode == 0, r.stderr
    assert "Updated an existing DataSource default/disk" in r.stdout.splitlines()
    patch = [e for e in sim.requests() if e["method"] == "PATCH"][0]
    assert patch["headers"]["content-type"] == "application/json-patch+json"
    assert patch["body"] == [
        {"op": "replace", "path": "/metadata/labels",
         "value": {"instancetype.kubevirt.io/default-preference": "fedora", "team": "a"}},
        {"op": "replace", "path": "/spec/source/pvc", "value": {"name": "disk", "namespace": "default"}}]


def test_uploadproxy_url_flag_and_cdiconfig_override(sim, cli, tmp_path):
    img = image(tmp_path)
    url = sim.upload_proxy_url + "/"
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure",
            f"--uploadproxy-url={url}")
    assert r.returncode == 0, r.stderr
    assert f"Uploading data to {url}" in r.stdout.splitlines()
    assert ("api", "GET", CONFIG, 200) not in calls(sim)
    sim.reset()
    cfg = sim.get("CDIConfig", None, "config")
    cfg["spec"]["uploadProxyURLOverride"] = sim.upload_proxy_url.replace("https://", "")
    cfg["status"]["uploadProxyURL"] = "https://nowhere.invalid"
    sim.apply(cfg)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert r.returncode == 1  # host:port without a scheme is Go's URL parse error
    assert r.stderr == f'parse "{cfg["spec"]["uploadProxyURLOverride"]}": first path segment in URL cannot ' \
                       "contain colon\n"


# --------------------------------------------------------------------------- retries and faults


def test_retry_after_a_drop_mid_upload(sim, cli, tmp_path):
    img = image(tmp_path, size=8 << 20)
    upload_fault(sim, "reset", bytes=2 << 20, times=1)
    r = cli("image-upload", "dv", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert r.returncode == 0, r.stderr
    proxy = [(e["method"], e["status"]) for e in sim.requests() if e.get("server") == "uploadproxy"]
    assert proxy == [("HEAD", 200), ("POST", 0), ("HEAD", 200), ("POST", 200)]
    assert sim.volume("default", "disk")["sha256"] == sha256(img)
    assert sim.get("DataVolume", "default", "disk")["status"]["restartCount"] == 1


def test_503_is_retried_and_retries_run_out(sim, cli, tmp_path):
    img = image(tmp_path)
    upload_fault(sim, "status", status=503, message="no upload server", times=2)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert r.returncode == 0, r.stderr
    assert [e["status"] for e in sim.requests() if e.get("server") == "uploadproxy" and e["method"] == "POST"] == \
        [503, 503, 200]
    sim.reset()
    upload_fault(sim, "status", status=502)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure", "--retry=3")
    assert (r.returncode, r.stderr) == (1, "error uploading image after 3 retries: unexpected return value 502, \n")
    assert len([e for e in sim.requests() if e.get("server") == "uploadproxy" and e["method"] == "POST"]) == 3
    assert DONE not in r.stdout


def test_expired_token(sim, cli, tmp_path):
    img = image(tmp_path)
    # a 401 on the first attempt is an authentication error: no retry
    upload_fault(sim, "expire_token", times=1)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert (r.returncode, r.stderr) == (1, "authentication failed: unexpected return value 401, \n")
    assert bodies(sim, "POST", TOKENS) == [TOKEN_BODY]
    # a 401 later on: the token expired during the retries, a new one is asked for
    sim.reset()
    upload_fault(sim, "status", status=400, times=1)
    upload_fault(sim, "expire_token", times=1)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert r.returncode == 0, r.stderr
    assert [(m, s) for srv, m, p, s in calls(sim) if p == TOKENS or srv == "uploadproxy"] == [
        ("POST", 200), ("HEAD", 200), ("POST", 400), ("HEAD", 200), ("POST", 401), ("POST", 200),
        ("HEAD", 200), ("POST", 200)]
    # at most three new tokens
    sim.reset()
    upload_fault(sim, "status", status=400, times=1)
    upload_fault(sim, "expire_token")
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure", "--retry=10")
    assert (r.returncode, r.stderr) == (1, "authentication failed: unexpected return value 401, \n")
    assert len(bodies(sim, "POST", TOKENS)) == 4


def test_retry_zero_still_uploads_once(sim, cli, tmp_path):
    img = image(tmp_path)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure", "--retry=0")
    assert r.returncode == 0, r.stderr
    assert sim.volume("default", "disk")["sha256"] == sha256(img)


def test_insecure_against_a_proxy_with_an_unknown_ca(sim, cli, tmp_path):
    """A kubeconfig that does not verify the API server knows no CA: the proxy's is unknown to the client."""
    text = Path(sim.kubeconfig).read_text()
    kc = tmp_path / "kc"
    kc.write_text(re.sub(r"    certificate-authority-data: .*\n", "    insecure-skip-tls-verify: true\n", text))
    img = image(tmp_path)
    r = cli("--kubeconfig", str(kc), "image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}",
            "--retry=2")
    assert r.returncode == 1
    assert r.stderr == (f'error uploading image after 2 retries: Post "{sim.upload_proxy_url}/v1beta1/upload": '
                        "tls: failed to verify certificate: x509: certificate signed by unknown authority; the upload "
                        "proxy's certificate is not trusted: use --insecure to skip verifying it\n")
    assert [c for c in calls(sim) if c[0] == "uploadproxy"] == []  # no HTTP got through
    sim.reset()
    r = cli("--kubeconfig", str(kc), "image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}",
            "--insecure")
    assert r.returncode == 0, r.stderr
    assert sim.volume("default", "disk")["sha256"] == sha256(img)


def test_the_upload_goes_through_the_clusters_proxy(sim, cli, tmp_path):
    """--proxy-url (or the kubeconfig's proxy-url, HTTPS_PROXY) applies to the upload proxy too."""
    from tests.transport.servers import RawServer, connect_proxy

    proxy = RawServer(connect_proxy())
    try:
        img = image(tmp_path)
        r = cli("--proxy-url", proxy.url(""), "image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}",
                "--insecure")
        assert r.returncode == 0, r.stderr
        tunnels = {h.split(b"\r\n")[0].decode() for h in proxy.heads}
    finally:
        proxy.close()
    upload_host = sim.upload_proxy_url.removeprefix("https://")
    assert f"CONNECT {upload_host} HTTP/1.1" in tunnels
    assert f"CONNECT {sim.url.removeprefix('https://')} HTTP/1.1" in tunnels
    assert sim.volume("default", "disk")["sha256"] == sha256(img)


def test_the_cluster_ca_is_trusted_for_the_proxy(sim, cli, tmp_path):
    img = image(tmp_path)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}")
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("args,error", [
    ([], "either image-path or archive-path must be provided"),
    (["dv"], "either image-path or archive-path must be provided"),
    (["a", "b", "c"], "accepts at most 2 arg(s), received 3"),
    (["dv", "x", "--image-path=IMG"], None),  # needs a request: see test_errors_after_requests
    (["dv", "x", "--size=1Gi", "--image-path=/nonexistent"], "open /nonexistent: no such file or directory"),
    (["dv", "x", "--size=1Gi", "--image-path=DIR"], "read DIR: is a directory"),
    (["dv", "x", "--size=1Gi", "--image-path=IMG", "--archive-path=IMG"],
     "cannot handle both image-path and archive-path, provide only one"),
    (["dv", "x", "--size=1Gi", "--archive-path=IMG", "--volume-mode=block"],
     "In archive upload the volume mode should always be filesystem"),
    (["dv", "x", "--size=1Gi", "--image-path=IMG", "--volume-mode=foo"],
     "Invalid volume mode 'foo'. Valid values are 'block' and 'filesystem'."),
    (["foo", "x", "--size=1Gi", "--image-path=IMG"], "invalid resource type foo"),
    (["x", "--size=1Gi", "--image-path=IMG"], "expecting two args"),
    (["dv", "x", "--size=1Gi", "--pvc-size=2Gi", "--image-path=IMG"],
     "--pvc-size and --size can not be specified at the same time"),
    (["foo", "--pvc-name=x", "--image-path=IMG"], "cannot use --pvc-name and args"),
    (["pvc", "x", "--size=1Gi", "--image-path=IMG", "--default-instancetype-kind=k"],
     "--default-instancetype must be provided with --default-instancetype-kind"),
    (["pvc", "x", "--size=1Gi", "--image-path=IMG", "--default-preference-kind=k"],
     "--default-preference must be provided with --default-preference-kind"),
    (["pvc", "x", "--image-path=IMG", "--default-instancetype=i", "--no-create"],
     "--default-instancetype and --default-preference cannot be used with --no-create"),
    (["dv", "x", "--size=500Zb", "--image-path=IMG"],
     "validation failed for size=500Zb: quantities must match the regular expression "
     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    (["dv", "x", "--size=1Gi", "--image-path=IMG", "--access-mode=ReadOnlyMany"],
     "cannot upload to a readonly volume, use either ReadWriteOnce or ReadWriteMany if supported"),
    (["dv", "x", "--size=1Gi", "--image-path=IMG", "--access-mode=readwriteonce"],
     'invalid --access-mode "readwriteonce": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", '
     '"ReadWriteOncePod"'),
    (["dv", "a/b", "--size=1Gi", "--image-path=IMG"], 'invalid resource name "a/b": [may not contain \'/\']'),
    (["dv", "x", "--size=1Gi", "--image-path=IMG", "--wait-secs=-1"],
     'invalid argument "-1" for "--wait-secs" flag: strconv.ParseUint: parsing "-1": invalid syntax'),
])
def test_bad_input_fails_before_any_request(sim, cli, tmp_path, args, error):
    if error is None:
        return
    img = image(tmp_path, size=1000)
    args = [a.replace("IMG", str(img)).replace("DIR", str(tmp_path)) for a in args]
    r = cli("image-upload", *args)
    assert (r.returncode, r.stderr) == (1, error.replace("DIR", str(tmp_path)) + "\n")
    assert calls(sim) == []


def test_errors_after_requests(sim, cli, tmp_path):
    img = str(image(tmp_path, size=1000))
    path = f"--image-path={img}"
    cases = [
        # (objects, args, stdout, error)
        ([], ["dv", "disk", path], "PVC default/disk not found \n",
         "when creating a resource, the size must be specified"),
        ([], ["dv", "disk", path, "--no-create"], "PVC default/disk not found \n",
         'persistentvolumeclaims "disk" not found'),
        ([pvc_object()], ["pvc", "disk", path], "", "PVC disk not available for upload"),
        ([pvc_object()], ["dv", "disk", path, "--no-create"], "",
         "No DataVolume is associated with the existing PVC default/disk"),
        ([pvc_object(**{UP: "", "cdi.kubevirt.io/storage.pod.phase": "Succeeded"})],
         ["pvc", "disk", path, "--no-create"], "", "PVC disk already successfully imported/cloned/updated"),
        ([pvc_object(**{UP: ""})], ["pvc", "disk", "--no-create", f"--archive-path={img}"], "",
         "PVC disk doesn't have archive contentType annotation"),
        ([pvc_object(**{UP: "", "cdi.kubevirt.io/storage.pod.phase": "Succeeded",
                        "cdi.kubevirt.io/storage.deleteAfterCompletion": "true"})], ["dv", "disk", path], "",
         "DataVolume already garbage-collected: Assuming PVC default/disk is successfully populated"),
        ([], ["pvc", "disk", path, "--size=1Gi", "--storage-class=nosuch"], "PVC default/disk not found \n",
         'storageclasses.storage.k8s.io "nosuch" not found'),
        ([], ["dv", "disk", path, "--size=1Gi", "--uploadproxy-url=127.0.0.1:1"], None,
         'parse "127.0.0.1:1": first path segment in URL cannot contain colon'),
    ]
    for objects, args, stdout, error in cases:
        sim.reset()
        for o in objects:
            sim.apply(o)
        sim.clear_log()
        r = cli("image-upload", *args, "--insecure")
        if stdout is None:  # created and waited before failing: only the error line matters
            assert (r.returncode, r.stderr) == (1, error + "\n"), args
            continue
        assert (r.returncode, r.stdout, r.stderr) == (1, stdout, error + "\n"), args
        assert not any(m == "POST" for _, m, _, _ in calls(sim)), args


def test_populated_datavolume_errors(sim, cli, tmp_path):
    img = str(image(tmp_path, size=1000))
    dv = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
          "metadata": {"name": "disk", "namespace": "default",
                       "annotations": {"cdi.kubevirt.io/storage.usePopulator": "true"}},
          "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}
    cases = [
        (pvc_object(**{UP: ""}), "PVC disk already successfully populated"),  # the sim binds it at once
    ]
    for pvc, error in cases:
        sim.reset()
        sim.apply(dv)
        sim.delete("PersistentVolumeClaim", "default", "disk")
        sim.apply(pvc)
        r = cli("image-upload", "dv", "disk", f"--image-path={img}", "--insecure")
        assert (r.returncode, r.stderr) == (1, error + "\n")


def test_provisioning_failed_and_claim_not_valid(sim, cli, tmp_path):
    img = str(image(tmp_path, size=1000))
    sim.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "broken"},
               "provisioner": "sim.pyvirtctl.io/broken", "volumeBindingMode": "Immediate"})
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure",
            "--storage-class=broken")
    assert r.returncode == 1
    assert r.stderr == ('Provisioning failed: failed to provision volume with StorageClass "broken": rpc error: '
                        "code = ResourceExhausted desc = the simulator's broken provisioner refuses every claim\n")
    sim.reset()
    profile = sim.get("StorageProfile", None, "standard")
    profile["status"]["claimPropertySets"] = []
    sim.apply(profile)
    r = cli("image-upload", "dv", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert r.returncode == 1
    assert r.stderr == ("Claim not valid: Spec is missing accessMode and volumeMode, cannot get access mode from "
                        "StorageProfile standard\n")


def test_uploadproxy_url_not_found(sim, cli, tmp_path):
    img = str(image(tmp_path, size=1000))
    cfg = sim.get("CDIConfig", None, "config")
    del cfg["status"]["uploadProxyURL"]
    sim.apply(cfg)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert (r.returncode, r.stderr) == (1, "uploadproxy URL not found\n")


def test_image_larger_than_the_volume_fails_before_creating(sim, cli, tmp_path):
    big = qcow2(tmp_path / "big.qcow2", 10 << 30)
    r = cli("image-upload", "dv", "disk", "--size=1Gi", f"--image-path={big}", "--insecure")
    assert r.returncode == 1
    assert r.stderr == (f"{big}: the qcow2 image's virtual size is 10Gi (10737418240 bytes), more than --size=1Gi "
                        "(1073741824 bytes): CDI would refuse it after the upload; give --size=10Gi or more\n")
    assert calls(sim) == [("api", "GET", f"{PVCS}/disk", 404)]
    # also inside gzip, and against an existing claim (before the upload)
    packed = tmp_path / "big.qcow2.gz"
    packed.write_bytes(gzip.compress(big.read_bytes()))
    sim.apply(pvc_object(size="2Gi", **{UP: ""}))
    sim.clear_log()
    r = cli("image-upload", "pvc", "disk", "--no-create", f"--image-path={packed}", "--insecure")
    assert r.returncode == 1
    assert r.stderr == (f"{packed}: the qcow2 image's virtual size is 10Gi (10737418240 bytes), more than PVC "
                        "default/disk (2Gi) (2147483648 bytes): CDI would refuse it after the upload\n")
    assert all(c[0] == "api" and c[1] == "GET" for c in calls(sim))
    # a qcow2 image that fits goes through
    sim.reset()
    r = cli("image-upload", "dv", "disk", "--size=10Gi", f"--image-path={big}", "--insecure")
    assert r.returncode == 0, r.stderr


def test_the_proxy_refuses_what_does_not_fit(sim, cli, tmp_path):
    """A raw image inside gzip has no size the client can read: CDI refuses it, virtctl's retries and words."""
    raw = image(tmp_path, size=3 << 20)
    packed = tmp_path / "disk.img.gz"
    packed.write_bytes(gzip.compress(raw.read_bytes()))
    r = cli("image-upload", "pvc", "disk", "--size=1Mi", f"--image-path={packed}", "--insecure", "--retry=2")
    assert (r.returncode, r.stderr) == (
        1, "error uploading image after 2 retries: unexpected return value 400, Saving stream failed: effective image "
           "size is larger than the reported available storage: virtual image size 3145728 is larger than the "
           "reported available storage 1048576. A larger PVC is required\n")
    assert [e["status"] for e in sim.requests() if e.get("server") == "uploadproxy" and e["method"] == "POST"] == \
        [400, 400]
    assert sim.volume("default", "disk") is None


# --------------------------------------------------------------------------- output and Ctrl+C


def test_progress_bar_on_a_terminal(sim, cli_home, tmp_path):
    """On a terminal the bar is redrawn in place (\\r) with bytes, rate and ETA; it ends with the elapsed time."""
    import pty

    img = image(tmp_path, size=64 << 20)
    upload_fault(sim, "delay", seconds=1, times=1)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        env = _clean_env(cli_home, {"COLUMNS": "120"})
        os.execve(sys.executable, [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "image-upload",
                                   "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure"], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    text = out.decode()
    draws = [d for d in text.split("\r") if " / 64.00 MiB [" in d]
    assert len(draws) >= 2, text
    assert all(len(d.rstrip("\n").rstrip()) <= 120 for d in draws)
    last = draws[-1].rstrip()
    assert re.match(r"64\.00 MiB / 64\.00 MiB \[-+\] 100\.00% [0-9.]+ (KiB|MiB|GiB) p/s \S+s$", last), last
    assert any(re.search(r"ETA \d", d) or d.rstrip().endswith("?") for d in draws[:-1])
    assert DONE in text


def test_piped_output_has_one_plain_bar_line(sim, cli, tmp_path):
    img = image(tmp_path, size=16 << 20)
    r = cli("image-upload", "pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure")
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stdout
    bars = [x for x in r.stdout.splitlines() if " / 16.00 MiB [" in x]
    assert len(bars) == 1 and bars[0].startswith("16.00 MiB / 16.00 MiB [--")


def _interrupt(sim, cli_home: Path, args: list[str], when) -> subprocess.CompletedProcess:
    """Run image-upload, send Ctrl+C (SIGINT) once `when(stdout so far)` is true; (rc, stdout, stderr)."""
    p = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "image-upload", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_clean_env(cli_home, None),
                         cwd=str(cli_home))
    assert p.stdout is not None
    os.set_blocking(p.stdout.fileno(), False)
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and p.poll() is None:
        try:
            seen += p.stdout.read() or b""
        except BlockingIOError:
            pass
        if when(seen.decode()):
            time.sleep(0.3)
            p.send_signal(signal.SIGINT)
            break
        time.sleep(0.05)
    out, err = p.communicate(timeout=30)
    return subprocess.CompletedProcess(p.args, p.returncode, (seen + (out or b"")).decode(), err.decode())


def test_ctrl_c_during_the_upload_says_what_is_left(sim, cli_home, tmp_path):
    img = image(tmp_path, size=64 << 20)
    upload_fault(sim, "delay", seconds=20, times=1)  # the proxy takes its time: the client is mid-upload
    r = _interrupt(sim, cli_home, ["dv", "disk", "--size=1Gi", f"--image-path={img}", "--insecure"],
                   lambda out: "Uploading data to" in out)
    assert r.returncode == 130
    assert re.fullmatch(
        r"image-upload interrupted (after .+? of 64Mi were sent|before any data was sent): DataVolume default/disk "
        r"was created and is kept \(phase UploadReady\), waiting for data; run `pyvirtctl image-upload dv disk "
        rf"--no-create --image-path={re.escape(str(img))}` to upload into it, or delete it\n", r.stderr), r.stderr
    # the volume is usable: upload again into it
    sim.clear_faults()
    r = subprocess.run([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "image-upload", "dv", "disk",
                        "--no-create", f"--image-path={img}", "--insecure"], capture_output=True, text=True,
                       env=_clean_env(cli_home, None), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "Using existing PVC default/disk"
    assert sim.volume("default", "disk")["sha256"] == sha256(img)


def test_ctrl_c_while_waiting_and_while_processing(sim, cli_home, tmp_path):
    img = image(tmp_path)
    r = _interrupt(sim, cli_home, ["pvc", "disk", "--size=1Gi", f"--image-path={img}", "--storage-class=local",
                                   "--insecure"], lambda out: "Waiting for PVC" in out)
    assert r.returncode == 130
    assert r.stderr == ("image-upload interrupted while waiting for the upload pod: PersistentVolumeClaim "
                        "default/disk was created and is kept (phase Pending); run `pyvirtctl image-upload pvc disk "
                        f"--no-create --image-path={img}` to upload into it, or delete it\n")
    sim.reset()
    sim.config(upload_processing_seconds=30)
    r = _interrupt(sim, cli_home, ["pvc", "disk", "--size=1Gi", f"--image-path={img}", "--insecure"],
                   lambda out: DONE in out)
    assert r.returncode == 130
    assert r.stderr == ("image-upload interrupted after the upload: CDI goes on processing the data into "
                        "PersistentVolumeClaim default/disk (phase Running); `kubectl get pvc disk -n default` shows "
                        "when it is done\n")


def test_completion_of_types_and_enumerated_values(sim, run_cli_raw):
    def complete(*words: str) -> list[str]:  # cobra's protocol: the words, the last one being typed
        r = run_cli_raw(["__complete", "--kubeconfig", sim.kubeconfig, "image-upload", *words])
        return [x.split("\t")[0] for x in r.stdout.splitlines() if not x.startswith(":")]

    assert complete("") == ["dv", "pvc"]
    assert complete("--access-mode", "") == ["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"]
    assert complete("--volume-mode", "") == ["block", "filesystem"]
    sim.apply(pvc_object("existing"))
    assert complete("pvc", "ex") == ["existing"]
    flags = complete("--")
    assert "--image-path" in flags and "--pvc-name" not in flags  # deprecated flags are not offered


def test_python_api(sim, tmp_path):
    from pyvirtctl import Client

    img = image(tmp_path, size=2 << 20)
    seen: list[str] = []
    sent: list[int] = []

    class Recorder:
        def start(self, total: int) -> None:
            sent.append(-total)

        def update(self, n: int) -> None:
            sent.append(n)

        def finish(self) -> None:
            sent.append(0)

        def abort(self) -> None:
            raise AssertionError("not interrupted")

    with Client.from_kubeconfig(sim.kubeconfig) as client:
        result = client.upload_image("dv", "api-disk", str(img), size="1Gi", insecure=True, out=seen.append,
                                     progress=Recorder())
    assert (result.kind, result.name, result.namespace, result.created) == ("DataVolume", "api-disk", "default", True)
    assert (result.sent, result.attempts, result.proxy_url) == (2 << 20, 1, sim.upload_proxy_url)
    assert result.processing_seconds is not None and result.upload_seconds >= 0
    assert sent[0] == -(2 << 20) and sent[-2] == 2 << 20 and sent[-1] == 0
    assert seen[:2] == ["PVC default/api-disk not found ", "DataVolume default/api-disk created"]
    assert sim.volume("default", "api-disk")["sha256"] == sha256(img)
    with Client.from_kubeconfig(sim.kubeconfig) as client, pytest.raises(Exception) as e:
        client.upload_image("dv", "api-disk", str(img), no_create=True, insecure=True)
    assert str(e.value) == "PVC api-disk already successfully imported/cloned/updated"
