"""vmexport create / delete / download against the simulator, checked against what virtctl v1.9.0 does.

The expected requests, bodies, lines and manifests below were taken from the reference virtctl run on
the same simulator objects (the CA, the server's address and the token differ per run and are put
back in place of the @CA@, @HOST@ and @TOKEN@ markers).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import time

import pytest

from pyvirtctl.sim.harness import REPO_ROOT
from tests.e2e.guestutil import api_requests

EXP = "/apis/export.kubevirt.io/v1/namespaces/default/virtualmachineexports"
CORE = "/api/v1/namespaces/default"
PROXY = "/api/export.kubevirt.io/v1/namespaces/default/virtualmachineexports"
KUBEVIRT_CONTENT = {"cdi.kubevirt.io/storage.contentType": "kubevirt"}

VM1 = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
       "metadata": {"name": "vm1", "namespace": "default", "labels": {"app": "demo"}},
       "spec": {"runStrategy": "Halted",
                "dataVolumeTemplates": [{"metadata": {"name": "vm1-root"},
                                         "spec": {"source": {"registry": {"url": "docker://quay.io/containerdisks/fedora:41"}},
                                                  "storage": {"resources": {"requests": {"storage": "2Gi"}}}}}],
                "template": {"spec": {"domain": {"devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}},
                                                                       {"name": "data", "disk": {"bus": "virtio"}}]},
                                                 "resources": {"requests": {"memory": "1Gi"}}},
                                      "volumes": [{"name": "root", "dataVolume": {"name": "vm1-root"}},
                                                  {"name": "data", "persistentVolumeClaim": {"claimName": "disk2"}}]}}}}
DV1 = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "vm1-root", "namespace": "default"},
       "spec": {"source": {"registry": {"url": "docker://quay.io/containerdisks/fedora:41"}},
                "storage": {"resources": {"requests": {"storage": "2Gi"}}}}}


def pvc(name: str, annotations: dict | None = None) -> dict:
    md: dict = {"name": name, "namespace": "default"}
    if annotations:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md,
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def vm_with_disks(sim) -> None:
    sim.apply([pvc("disk2", KUBEVIRT_CONTENT), DV1, VM1])


def sha256_file(path, gunzip: bool = False) -> str:
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def export_calls(sim) -> list[tuple[str, str]]:
    """(method, path) of the API and export requests (the version probe after an error left out)."""
    return [(m, p) for m, p in api_requests(sim) if "subresources.kubevirt.io" not in p]


def token_of(sim, name: str) -> str:
    return base64.b64decode(sim.get("Secret", "default", f"secret-{name}")["data"]["token"]).decode()


def host_of(sim) -> str:
    return sim.url.split("://", 1)[1]


def created(name: str) -> str:
    return f"VirtualMachineExport 'default/{name}' created successfully"


def deleted(name: str) -> str:
    return f"VirtualMachineExport 'default/{name}' deleted successfully"


def run_bytes(sim, home, *args: str) -> subprocess.CompletedProcess:
    """pyvirtctl with binary stdout (a download written to `--output -`)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "PYTHONPATH": REPO_ROOT}
    return subprocess.run([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, *args],
                          capture_output=True, env=env, timeout=60, cwd=str(home))


EXPECTED_YAML = """\
apiVersion: v1
data:
  ca.pem: |-
@CA@
kind: ConfigMap
metadata:
  name: export-ca-cm-e3
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  labels:
    app: demo
  name: vm1
  namespace: default
spec:
  dataVolumeTemplates:
  - metadata:
      name: vm1-root
    spec:
      source:
        http:
          certConfigMap: export-ca-cm-e3
          secretExtraHeaders:
          - header-secret-e3
          url: https://@HOST@/api/export.kubevirt.io/v1/namespaces/default/virtualmachineexports/e3/volumes/vm1-root/disk.img.gz
      storage:
        resources:
          requests:
            storage: 2Gi
  runStrategy: Halted
  template:
    spec:
      domain:
        devices:
          disks:
          - disk:
              bus: virtio
            name: root
          - disk:
              bus: virtio
            name: data
        resources:
          requests:
            memory: 1Gi
      volumes:
      - dataVolume:
          name: vm1-root
        name: root
      - name: data
        persistentVolumeClaim:
          claimName: disk2
status: {}
---
apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata:
  name: disk2
  namespace: default
spec:
  source:
    http:
      certConfigMap: export-ca-cm-e3
      secretExtraHeaders:
      - header-secret-e3
      url: https://@HOST@/api/export.kubevirt.io/v1/namespaces/default/virtualmachineexports/e3/volumes/disk2/disk.img.gz
  storage:
    accessModes:
    - ReadWriteOnce
    resources:
      requests:
        storage: 1Gi
    volumeMode: Filesystem
status: {}
---
apiVersion: v1
kind: Secret
metadata:
  name: header-secret-e3
stringData:
  token: x-kubevirt-export-token:@TOKEN@
---
"""

EXPECTED_JSON = """\
{
    "kind": "List",
    "apiVersion": "v1",
    "metadata": {},
    "items": [
        {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {
                "name": "export-ca-cm-e3"
            },
            "data": {
                "ca.pem": "@CA@"
            }
        },
        {
            "kind": "VirtualMachine",
            "apiVersion": "kubevirt.io/v1",
            "metadata": {
                "name": "vm1",
                "namespace": "default",
                "labels": {
                    "app": "demo"
                }
            },
            "spec": {
                "runStrategy": "Halted",
                "template": {
                    "spec": {
                        "domain": {
                            "devices": {
                                "disks": [
                                    {
                                        "name": "root",
                                        "disk": {
                                            "bus": "virtio"
                                        }
                                    },
                                    {
                                        "name": "data",
                                        "disk": {
                                            "bus": "virtio"
                                        }
                                    }
                                ]
                            },
                            "resources": {
                                "requests": {
                                    "memory": "1Gi"
                                }
                            }
                        },
                        "volumes": [
                            {
                                "name": "root",
                                "dataVolume": {
                                    "name": "vm1-root"
                                }
                            },
                            {
                                "name": "data",
                                "persistentVolumeClaim": {
                                    "claimName": "disk2"
                                }
                            }
                        ]
                    }
                },
                "dataVolumeTemplates": [
                    {
                        "metadata": {
                            "name": "vm1-root"
                        },
                        "spec": {
                            "source": {
                                "http": {
                                    "url": "https://@HOST@/api/export.kubevirt.io/v1/namespaces/default/virtualmachineexports/e3/volumes/vm1-root/disk.img.gz",
                                    "certConfigMap": "export-ca-cm-e3",
                                    "secretExtraHeaders": [
                                        "header-secret-e3"
                                    ]
                                }
                            },
                            "storage": {
                                "resources": {
                                    "requests": {
                                        "storage": "2Gi"
                                    }
                                }
                            }
                        }
                    }
                ]
            },
            "status": {}
        },
        {
            "kind": "DataVolume",
            "apiVersion": "cdi.kubevirt.io/v1beta1",
            "metadata": {
                "name": "disk2",
                "namespace": "default"
            },
            "spec": {
                "source": {
                    "http": {
                        "url": "https://@HOST@/api/export.kubevirt.io/v1/namespaces/default/virtualmachineexports/e3/volumes/disk2/disk.img.gz",
                        "certConfigMap": "export-ca-cm-e3",
                        "secretExtraHeaders": [
                            "header-secret-e3"
                        ]
                    }
                },
                "storage": {
                    "accessModes": [
                        "ReadWriteOnce"
                    ],
                    "resources": {
                        "requests": {
                            "storage": "1Gi"
                        }
                    },
                    "volumeMode": "Filesystem"
                }
            },
            "status": {}
        }
    ]
}{
    "kind": "List",
    "apiVersion": "v1",
    "metadata": {},
    "items": [
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {
                "name": "header-secret-e3"
            },
            "stringData": {
                "token": "x-kubevirt-export-token:@TOKEN@"
            }
        }
    ]
}"""


# --------------------------------------------------------------------------- create / delete


def test_create_and_delete_a_pvc_export(sim, cli):
    sim.apply(pvc("disk1"))
    sim.clear_log()
    r = cli("vmexport", "create", "e1", "--pvc=disk1", "--ttl=90m", "--labels=team=a", "--labels=env=dev",
            "--annotations=note=k=v")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", created("e1") + "\n")  # no --output: lines on stderr
    reqs = sim.requests()
    assert [(x["method"], x["path"], x["status"]) for x in reqs] == [
        ("GET", f"{EXP}/e1", 404), ("POST", EXP, 201), ("POST", f"{CORE}/secrets", 201)]
    assert reqs[1]["body"] == {
        "kind": "VirtualMachineExport", "apiVersion": "export.kubevirt.io/v1",
        "metadata": {"name": "e1", "namespace": "default", "labels": {"team": "a", "env": "dev"},
                     "annotations": {"note": "k=v"}},
        "spec": {"source": {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": "disk1"},
                 "tokenSecretRef": "secret-e1", "ttlDuration": "1h30m0s"}}
    secret = reqs[2]["body"]
    uid = sim.get("VirtualMachineExport", "default", "e1")["metadata"]["uid"]
    assert secret["metadata"] == {"name": "secret-e1", "namespace": "default", "ownerReferences": [
        {"apiVersion": "export.kubevirt.io/v1", "kind": "VirtualMachineExport", "name": "e1", "uid": uid,
         "controller": True, "blockOwnerDeletion": False}]}
    assert secret["type"] == "Opaque" and re.fullmatch(r"[0-9A-Za-z]{20}", base64.b64decode(secret["data"]["token"]).decode())
    # the simulator's controller: Ready with both links, a filesystem claim offers dir and tar.gz
    vme = sim.wait_for("VirtualMachineExport", "default", "e1", lambda o: o["status"].get("phase") == "Ready")
    st = vme["status"]
    assert (st["tokenSecretRef"], st["serviceName"]) == ("secret-e1", "virt-export-e1")
    ext = st["links"]["external"]["volumes"]
    assert ext == [{"name": "disk1", "formats": [
        {"format": "dir", "url": f"https://{host_of(sim)}{PROXY}/e1/volumes/disk1/dir"},
        {"format": "tar.gz", "url": f"https://{host_of(sim)}{PROXY}/e1/volumes/disk1/disk.tar.gz"}]}]
    assert st["links"]["internal"]["volumes"][0]["formats"][1]["url"] == \
        "https://virt-export-e1.default.svc/volumes/disk1/disk.tar.gz"
    assert [m["type"] for m in st["links"]["external"]["manifests"]] == ["auth-header-secret"]

    r = cli("vmexport", "create", "e1", "--pvc=disk1")
    assert (r.returncode, r.stderr) == (1, "VirtualMachineExport 'default/e1' already exists\n")
    sim.clear_log()
    r = cli("vmexport", "delete", "e1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", deleted("e1") + "\n")
    assert [(x["method"], x["path"], x["body"]) for x in sim.requests()] == [
        ("DELETE", f"{EXP}/e1", {"kind": "DeleteOptions", "apiVersion": "export.kubevirt.io/v1"})]
    r = cli("vmexport", "delete", "e1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "VirtualMachineExport 'default/e1' does not exist\n")
    # the token Secret, Service and exporter pod were the export's: gone with it
    sim.wait_for("Secret", "default", "secret-e1", lambda o: o is None)
    sim.wait_for("Pod", "default", "virt-export-e1", lambda o: o is None)


def test_create_a_vm_and_a_snapshot_export(sim, cli):
    vm_with_disks(sim)
    sim.apply({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
               "metadata": {"name": "snap1", "namespace": "default"},
               "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm1"}}})
    sim.clear_log()
    assert cli("vmexport", "create", "v1", "--vm=vm1").returncode == 0
    assert cli("vmexport", "create", "s1", "--snapshot=snap1").returncode == 0
    posts = [x["body"]["spec"]["source"] for x in sim.requests() if x["method"] == "POST" and x["path"] == EXP]
    assert posts == [{"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm1"},
                     {"apiGroup": "snapshot.kubevirt.io", "kind": "VirtualMachineSnapshot", "name": "snap1"}]
    v1 = sim.wait_for("VirtualMachineExport", "default", "v1", lambda o: o["status"].get("phase") == "Ready")
    assert v1["status"]["virtualMachineName"] == "vm1"
    assert [v["name"] for v in v1["status"]["links"]["external"]["volumes"]] == ["vm1-root", "disk2"]
    assert [f["format"] for f in v1["status"]["links"]["external"]["volumes"][1]["formats"]] == ["raw", "gzip"]
    assert [m["type"] for m in v1["status"]["links"]["external"]["manifests"]] == ["all", "auth-header-secret"]
    s1 = sim.wait_for("VirtualMachineExport", "default", "s1", lambda o: o["status"].get("phase") == "Ready")
    # a snapshot's volumes are restored into claims named after the export, listed under their own names
    assert [v["name"] for v in s1["status"]["links"]["external"]["volumes"]] == ["vm1-root", "disk2"]
    assert s1["status"]["links"]["external"]["volumes"][1]["formats"][0]["url"].endswith(
        "/s1/volumes/s1-disk2/disk.img")
    assert sim.get("PersistentVolumeClaim", "default", "s1-disk2") is not None
    for name in ("v1", "s1"):
        assert cli("vmexport", "delete", name).stderr == deleted(name) + "\n"
    sim.wait_for("PersistentVolumeClaim", "default", "s1-disk2", lambda o: o is None)


# --------------------------------------------------------------------------- download


def test_download_a_pvc_gzip_then_raw(sim, cli, tmp_path):
    sim.apply(pvc("disk2", KUBEVIRT_CONTENT))
    want = sim.seed_volume("default", "disk2", 3_000_000)["sha256"]
    sim.clear_log()
    out = tmp_path / "disk.img.gz"
    r = cli("vmexport", "download", "d1", "--pvc=disk2", f"--output={out}")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "\n".join([created("d1"), "Download finished successfully", deleted("d1")]) + "\n"
    assert r.stderr == ""  # the progress bar is drawn on a terminal only
    assert export_calls(sim) == [
        ("GET", f"{EXP}/d1"), ("POST", EXP), ("POST", f"{CORE}/secrets"), ("GET", f"{EXP}/d1"), ("GET", f"{EXP}/d1"),
        ("GET", f"{CORE}/secrets/secret-d1"), ("GET", f"{PROXY}/d1/volumes/disk2/disk.img.gz"),
        ("DELETE", f"{EXP}/d1")]
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert sha256_file(out, gunzip=True) == want == sim.volume("default", "disk2")["sha256"]
    assert sim.get("VirtualMachineExport", "default", "d1") is None

    raw = tmp_path / "disk.img"
    r = cli("vmexport", "download", "d1", "--pvc=disk2", f"--output={raw}", "--format=raw")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [created("d1"), "Decompressing image:", "Download finished successfully",
                                     deleted("d1")]
    assert raw.stat().st_size == 3_000_000 and sha256_file(raw) == want


def test_download_to_stdout_keeps_an_existing_export(sim, cli, cli_home):
    sim.apply(pvc("disk2", KUBEVIRT_CONTENT))
    want = sim.seed_volume("default", "disk2", 200_000)["sha256"]
    assert cli("vmexport", "create", "d2", "--pvc=disk2").returncode == 0
    r = run_bytes(sim, cli_home, "vmexport", "download", "d2", "--output", "-", "--format=raw")
    assert r.returncode == 0
    assert hashlib.sha256(r.stdout).hexdigest() == want
    assert r.stderr.decode().splitlines() == ["Decompressing image:", "Download finished successfully"]
    assert sim.get("VirtualMachineExport", "default", "d2") is not None  # not created here: kept
    r = run_bytes(sim, cli_home, "vmexport", "download", "d2", "--output", "-", "--delete-vme")
    assert r.stderr.decode().splitlines() == ["Download finished successfully", deleted("d2")]
    assert gzip.decompress(r.stdout) and hashlib.sha256(gzip.decompress(r.stdout)).hexdigest() == want


def test_download_a_vm_volume(sim, cli, tmp_path):
    vm_with_disks(sim)
    want = sim.seed_volume("default", "disk2", 500_000)["sha256"]
    out = tmp_path / "data.img"
    r = cli("vmexport", "download", "v2", "--vm=vm1", f"--output={out}")
    assert r.returncode == 1
    assert r.stdout.splitlines() == [created("v2"), deleted("v2")]
    assert r.stderr.splitlines()[-1] == ("detected more than one downloadable volume in 'default/v2' "
                                         "VirtualMachineExport: Select the expected volume using the --volume flag")
    assert not out.exists()  # made by this run, never written: removed
    r = cli("vmexport", "download", "v2", "--vm=vm1", "--volume=disk2", f"--output={out}", "--format=raw",
            "--keep-vme")
    assert r.returncode == 0, r.stderr
    assert sha256_file(out) == want
    assert sim.get("VirtualMachineExport", "default", "v2") is not None  # --keep-vme
    r = cli("vmexport", "download", "v2", "--volume=nope", f"--output={out}")
    assert r.stderr.splitlines()[-1] == "unable to get a valid URL from 'default/v2' VirtualMachineExport"


def test_download_a_snapshot_volume(sim, cli, tmp_path):
    vm_with_disks(sim)
    before = sim.seed_volume("default", "disk2", 400_000)["sha256"]
    sim.apply({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
               "metadata": {"name": "snap1", "namespace": "default"},
               "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm1"}}})
    sim.wait_for("VirtualMachineSnapshot", "default", "snap1", lambda o: (o.get("status") or {}).get("readyToUse"))
    after = sim.seed_volume("default", "disk2", 123_456)["sha256"]  # written after the snapshot
    assert after != before
    out = tmp_path / "snap.img.gz"
    r = cli("vmexport", "download", "s2", "--snapshot=snap1", "--volume=disk2", f"--output={out}")
    assert r.returncode == 0, r.stderr
    assert sha256_file(out, gunzip=True) == before
    assert f"GET {PROXY}/s2/volumes/s2-disk2/disk.img.gz" in {f"{m} {p}" for m, p in api_requests(sim)}


def test_manifest_yaml_and_json(sim, cli, tmp_path):
    vm_with_disks(sim)
    sim.clear_log()
    r = cli("vmexport", "download", "e3", "--vm=vm1", "--manifest")
    assert r.returncode == 0, r.stderr
    assert r.stderr == created("e3") + "\n"
    token, ca = token_of(sim, "e3"), sim.get("VirtualMachineExport", "default", "e3")["status"]["links"]["external"]["cert"]
    yaml_ca = "\n".join("    " + line for line in ca.split("\n"))
    full = EXPECTED_YAML.replace("@HOST@", host_of(sim)).replace("@TOKEN@", token).replace("@CA@", yaml_ca)
    assert r.stdout == full.split("apiVersion: v1\nkind: Secret")[0]
    calls = [x for x in sim.requests() if "subresources" not in x["path"]]
    assert calls[-1]["path"] == f"{PROXY}/e3/external/manifests/all" and calls[-1]["headers"]["accept"] == "application/yaml"
    assert sim.get("VirtualMachineExport", "default", "e3") is not None  # never deleted after a manifest

    r = cli("vmexport", "download", "e3", "--manifest", "--include-secret")
    assert (r.returncode, r.stderr, r.stdout) == (0, "", full)
    r = cli("vmexport", "download", "e3", "--manifest", "--manifest-output-format=JSON", "--include-secret")
    assert r.returncode == 0
    assert r.stdout == EXPECTED_JSON.replace("@HOST@", host_of(sim)).replace("@TOKEN@", token).replace(
        "@CA@", json.dumps(ca)[1:-1])
    out = tmp_path / "vm.yaml"
    r = cli("vmexport", "download", "e3", "--manifest", f"--output={out}")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert out.read_text() == full.split("apiVersion: v1\nkind: Secret")[0]
    # the internal link through a service URL: virtctl's error for a host that does not answer
    r = cli("vmexport", "download", "e3", "--manifest", "--service-url=127.0.0.1:1")
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == ('Get "https://127.0.0.1:1/internal/manifests/all": dial tcp 127.0.0.1:1: '
                                        "connect: connection refused")


def test_port_forward_download(sim, cli, tmp_path):
    sim.apply(pvc("disk2", KUBEVIRT_CONTENT))
    want = sim.seed_volume("default", "disk2", 2_000_000)["sha256"]
    sim.clear_log()
    out = tmp_path / "pf.img"
    r = cli("vmexport", "download", "p1", "--pvc=disk2", f"--output={out}", "--format=raw", "--port-forward")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [created("p1"), "service virt-export-p1 is ready for port-forwarding",
                                     "Port forwarding is ready.", "Decompressing image:",
                                     "Download finished successfully", deleted("p1")]
    lines = r.stderr.splitlines()
    port = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8443", lines[0]).group(1)
    assert f"Handling connection for {port}" in lines
    assert set(lines) <= {f"Forwarding from 127.0.0.1:{port} -> 8443", f"Forwarding from [::1]:{port} -> 8443",
                          f"Handling connection for {port}"}
    assert sha256_file(out) == want
    reqs = sim.requests()
    calls = [(x["method"], x["path"], x.get("server", "")) for x in reqs]
    assert calls == [
        ("GET", f"{EXP}/p1", ""), ("POST", EXP, ""), ("POST", f"{CORE}/secrets", ""), ("GET", f"{EXP}/p1", ""),
        ("GET", f"{CORE}/services/virt-export-p1", ""), ("GET", f"{CORE}/pods", ""),
        ("GET", f"{CORE}/pods/virt-export-p1/portforward", ""), ("GET", f"{EXP}/p1", ""), ("GET", f"{EXP}/p1", ""),
        ("GET", f"{CORE}/secrets/secret-p1", ""), ("GET", "/volumes/disk2/disk.img.gz", "virt-export-p1"),
        ("DELETE", f"{EXP}/p1", "")]
    assert reqs[5]["query"] == "labelSelector=kubevirt.io.virt-export-service%3Dp1"
    assert reqs[6]["status"] == 101 and reqs[6]["headers"]["sec-websocket-protocol"] == "SPDY/3.1+portforward.k8s.io"


def test_memory_dump_download_through_port_forward(sim, cli, tmp_path):
    from tests.e2e.guestutil import VM, running_vm
    from tests.e2e.guestutil import pvc as dump_pvc

    running_vm(sim)
    sim.apply(dump_pvc("dump9"))
    assert cli("memory-dump", "get", VM, "--claim-name=dump9").returncode == 0
    out = tmp_path / "dump.tgz"
    r = cli("memory-dump", "download", VM, f"--output={out}", "--port-forward")
    assert r.returncode == 0, r.stderr
    name = f"export-{VM}-dump9"
    lines = r.stdout.splitlines()
    assert lines[lines.index(created(name)):] == [
        created(name), f"service virt-export-{name} is ready for port-forwarding", "Port forwarding is ready.",
        "Download finished successfully", deleted(name)]
    assert re.match(r"Forwarding from 127\.0\.0\.1:\d+ -> 8443$", r.stderr.splitlines()[0])
    forwarded = [x for x in sim.requests() if x.get("server") == f"virt-export-{name}"]
    assert [(x["path"], x["status"]) for x in forwarded] == [("/volumes/dump9/disk.tar.gz", 200)]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(out.read_bytes()))) as tar:
        data = tar.extractfile([m for m in tar.getmembers() if m.isfile()][0]).read()
    assert hashlib.sha256(data).hexdigest() == sim.volume("default", "dump9")["sha256"]


def test_cut_download_is_retried(sim, cli, tmp_path):
    sim.apply(pvc("disk2", KUBEVIRT_CONTENT))
    want = sim.seed_volume("default", "disk2", 4_000_000)["sha256"]
    out = tmp_path / "cut.img"
    cut = {"match": {"path_regex": "/disk.img.gz$"}, "action": "cut_body", "bytes": 5000, "times": 1}
    sim.fault(cut)
    r = cli("vmexport", "download", "c1", "--pvc=disk2", f"--output={out}", "--format=raw")
    # without --retry: virtctl's error, and no partial file left behind
    assert r.returncode == 1
    assert r.stdout.splitlines() == [created("c1"), "Decompressing image:", deleted("c1")]
    assert r.stderr.splitlines()[-1] == "unexpected EOF"
    assert not out.exists()
    sim.fault(cut)
    r = cli("vmexport", "download", "c1", "--pvc=disk2", f"--output={out}", "--format=raw", "--retry=1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [created("c1"), "Decompressing image:", "unexpected EOF", deleted("c1"),
                                     "Retrying...", created("c1"), "Decompressing image:",
                                     "Download finished successfully", deleted("c1")]
    assert sha256_file(out) == want


def test_wrong_token(sim, cli, tmp_path):
    sim.apply(pvc("disk2", KUBEVIRT_CONTENT))
    assert cli("vmexport", "create", "w1", "--pvc=disk2").returncode == 0
    sim.wait_for("VirtualMachineExport", "default", "w1", lambda o: o["status"].get("phase") == "Ready")
    secret = sim.get("Secret", "default", "secret-w1")
    secret["data"]["token"] = base64.b64encode(b"not-the-token").decode()
    sim.apply(secret)  # the exporter keeps the token it started with
    out = tmp_path / "existing.img"
    out.write_bytes(b"keep me")
    sim.clear_log()
    r = cli("vmexport", "download", "w1", f"--output={out}", "--retry=1")
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["Bad status: 401 Unauthorized", "Retrying...", "Bad status: 401 Unauthorized"]
    assert r.stderr.splitlines()[-1] == "retry count reached, exiting unsuccessfully"
    assert out.read_bytes() == b"keep me"  # nothing was downloaded: an existing file is left alone
    gets = [x for x in sim.requests() if x["path"] == f"{PROXY}/w1/volumes/disk2/disk.img.gz"]
    assert [x["status"] for x in gets] == [401, 401]
    assert "x-kubevirt-export-token" not in json.dumps(sim.requests())  # never logged


def test_export_never_ready(sim, cli, tmp_path):
    vm_with_disks(sim)
    sim.apply({**VM1, "spec": {**VM1["spec"], "runStrategy": "Always"}})
    sim.wait_for("VirtualMachineInstance", "default", "vm1", lambda o: o is not None)
    out = tmp_path / "never.img"
    t0 = time.monotonic()
    r = cli("vmexport", "download", "n1", "--vm=vm1", "--volume=disk2", f"--output={out}", "--readiness-timeout=3s")
    took = time.monotonic() - t0
    assert r.returncode == 1
    assert r.stdout.splitlines() == [created("n1"), "waiting for VM Export n1 status to be ready...",
                                     "waiting for VM Export n1 status to be ready...", deleted("n1")]
    assert r.stderr.splitlines()[-1] == "context deadline exceeded"
    assert not out.exists()
    assert took >= 3  # polled until the readiness timeout, no longer than needed for it to fire
    vme_gets = [p for m, p in api_requests(sim) if m == "GET" and p == f"{EXP}/n1"]
    assert len(vme_gets) == 3  # the create's check, the first poll, one more 2 s later; then the 3 s ran out
    # the simulator says why: the VM is running
    assert cli("vmexport", "create", "n1", "--vm=vm1").returncode == 0
    cond = sim.wait_for("VirtualMachineExport", "default", "n1",
                        lambda o: (o.get("status") or {}).get("conditions"))["status"]["conditions"][0]
    assert (cond["reason"], cond["message"]) == ("InUse", "Virtual Machine default/vm1 is running")


def test_output_that_cannot_be_written_sends_nothing(sim, cli, tmp_path):
    sim.apply(pvc("disk2", KUBEVIRT_CONTENT))
    sim.clear_log()
    r = cli("vmexport", "download", "o1", "--pvc=disk2", f"--output={tmp_path}/missing/dir/x.img")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"open {tmp_path}/missing/dir/x.img: no such file or directory\n"
    r = cli("vmexport", "download", "o1", "--pvc=disk2", f"--output={tmp_path}")
    assert r.stderr == f"open {tmp_path}: is a directory\n"
    assert sim.requests() == []


@pytest.mark.parametrize(("args", "message"), [
    (["create", "x"], "need to specify export kind when attempting to create a VirtualMachineExport "
                      "[--pvc|--vm|--snapshot|--vmtemplate]"),
    (["create", "x", "--vm=a", "--pvc=b"],
     "if any flags in the group [vm snapshot pvc vmtemplate] are set none of the others can be; [pvc vm] were all set"),
    (["create", "x", "--vm=a", "--retry=1"], "the '--retry' flag is incompatible with 'create'"),
    (["create", "x", "--vm=a", "--ttl=bad"], 'time: invalid duration "bad"'),
    (["delete", "x", "--snapshot=s"], "should not specify export kind"),
    (["delete", "x", "--labels=a=b"], "the '--labels' flag is incompatible with 'delete'"),
    # virtctl drops these entries without a word
    (["create", "x", "--vm=a", "--labels=team=a,x"], 'invalid --labels entry "x": expected key=value'),
    (["create", "x", "--vm=a", "--annotations==v"], 'invalid --annotations entry "=v": expected key=value'),
    (["download", "x"], "warning: Binary output can mess up your terminal. Use '--output -' to output into stdout "
                        "anyway or consider '--output <FILE>' to save to a file"),
    (["download", "x", "--output=f", "--format=zip"], "--format is not a valid value, acceptable values are gzip/raw/oci"),
    (["download", "x", "--output=f", "--port-forward", "--local-port=70000"],
     "--local-port is not a valid value, acceptable values are valid port numbers"),
    (["download", "x", "--output=f", "--retry=-1"], "--retry is not a valid value, acceptable values are positive integers"),
    (["download", "x", "--manifest", "--manifest-output-format=xml"],
     "--manifest-output-format is not a valid value, acceptable values are json/yaml"),
    (["download", "x", "--manifest", "--pvc=p"], "the '--pvc' flag is incompatible with '--manifest'"),
    (["download", "x", "--format=oci", "--manifest"], "the '--manifest' flag is incompatible with '--format=oci'"),
    (["download", "x", "--keep-vme", "--delete-vme", "--output=f"],
     "if any flags in the group [keep-vme delete-vme] are set none of the others can be; [delete-vme keep-vme] were "
     "all set"),
    (["download", "x", "--output=f", "--ttl=1q"], 'time: unknown unit "q" in duration "1q"'),
    (["upload", "x"], "invalid function 'upload'"),
    (["create"], "accepts 2 arg(s), received 1"),
    (["create", "a/b", "--vm=x"], 'invalid resource name "a/b": [may not contain \'/\']'),
])
def test_bad_command_lines(sim, cli, cli_home, args, message):
    sim.clear_log()
    r = cli("vmexport", *args)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n")
    assert sim.requests() == []
    assert not (cli_home / "f").exists()  # no stray output file (virtctl leaves `f` after a bad --ttl)


def test_python_api_downloads_without_the_cli(sim, tmp_path):
    from pyvirtctl import Client
    from pyvirtctl.kubevirt.export import Exporter, ExportInfo, OutputFile, Source

    vm_with_disks(sim)
    want = sim.seed_volume("default", "disk2", 250_000)["sha256"]
    lines: list[str] = []
    with Client.from_kubeconfig(sim.kubeconfig) as client:
        info = ExportInfo(name="api-1", namespace=client.namespace, source=Source.vm("vm1"), should_create=True,
                          volume="disk2", decompress=True, retries=2)
        with OutputFile.open(str(tmp_path / "disk2.img")) as out:
            Exporter(client.session, info, notify=lines.append).download(out)
    assert lines == [created("api-1"), "Decompressing image:", "Download finished successfully", deleted("api-1")]
    assert sha256_file(tmp_path / "disk2.img") == want


def test_progress_bar_on_a_terminal_only(sim, cli_home, tmp_path):
    import os
    import pty

    sim.apply(pvc("disk2", KUBEVIRT_CONTENT))
    want = sim.seed_volume("default", "disk2", 1_000_000)["sha256"]
    master, slave = pty.openpty()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cli_home), "LANG": "C.UTF-8", "PYTHONPATH": REPO_ROOT,
           "TERM": "xterm", "COLUMNS": "100"}
    out = tmp_path / "tty.img"
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "vmexport", "download",
                             "t1", "--pvc=disk2", f"--output={out}", "--format=raw"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env, cwd=str(cli_home))
    os.close(slave)
    seen = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        seen += data
    proc.wait(60)
    os.close(master)
    assert proc.returncode == 0
    assert b"Downloading file:" in seen  # drawn on the terminal (stderr)
    assert proc.stdout.read().decode().splitlines() == [created("t1"), "Decompressing image:",
                                                        "Download finished successfully", deleted("t1")]
    assert sha256_file(out) == want
