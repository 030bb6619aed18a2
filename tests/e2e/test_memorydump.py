"""memory-dump get / download / remove against the simulator, including the export download."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

from tests.e2e.guestutil import VM, api_requests, pvc, running_vm

KV = "/apis/kubevirt.io/v1/namespaces/default"
SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"
CORE = "/api/v1/namespaces/default"
EXP = "/apis/export.kubevirt.io/v1/namespaces/default/virtualmachineexports"


def test_get_with_create_claim_and_download(sim, cli, tmp_path):
    running_vm(sim, memory="1Gi")
    sim.config(export_size=300_000)
    sim.delete("CDIConfig", None, "config")  # a cluster without CDI's config: virtctl's default overhead
    out = tmp_path / "dump.gz"
    r = cli("memory-dump", "get", VM, "--claim-name=dump1", "--create-claim", "--storage-class=fast",
            f"--output={out}")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no progress bar: stderr is not a terminal
    lines = r.stdout.splitlines()
    assert lines[:3] == ["Using default 5.5%% filesystem overhead for pvc size", "PVC default/dump1 created",
                         f"Successfully submitted memory dump request of VM {VM}"]
    assert "Memory dump completed successfully" in lines
    waiting = "Waiting for memorydump  to complete, current phase: "  # two spaces: virtctl's empty claim name
    assert all(x[len(waiting):] in ("Associating...", "InProgress...") for x in lines if x.startswith("Wait"))
    name = f"export-{VM}-dump1"
    assert lines[-3:] == [f"VirtualMachineExport 'default/{name}' created successfully",
                          "Download finished successfully",
                          f"VirtualMachineExport 'default/{name}' deleted successfully"]
    reqs = sim.requests()
    pvc_post = next(x for x in reqs if x["method"] == "POST" and x["path"] == f"{CORE}/persistentvolumeclaims")
    assert pvc_post["headers"]["content-type"] == "application/json"
    # (1Gi + 100Mi) * 1.055 rounded up to whole MiB = 1186Mi
    assert pvc_post["body"]["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1186Mi"}},
                                        "storageClassName": "fast"}
    assert pvc_post["body"]["metadata"]["labels"] == {"cdi.kubevirt.io/applyStorageProfile": "true"}
    dump_put = next(x for x in reqs if x["path"] == f"{SUB}/virtualmachines/{VM}/memorydump")
    assert dump_put["body"] == {"claimName": "dump1", "phase": ""}
    vme_post = next(x for x in reqs if x["method"] == "POST" and x["path"] == EXP)
    assert vme_post["body"]["spec"] == {"source": {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": "dump1"},
                                        "tokenSecretRef": f"secret-{name}"}
    secret = next(x for x in reqs if x["method"] == "POST" and x["path"] == f"{CORE}/secrets")
    assert secret["body"]["metadata"]["name"] == f"secret-{name}"
    assert secret["body"]["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] is False
    get = next(x for x in reqs if x["path"].startswith("/api/export.kubevirt.io/"))
    assert get["status"] == 200 and get["path"].endswith("/volumes/dump1/disk.tar.gz")
    assert ("DELETE", f"{EXP}/{name}") in api_requests(sim)
    assert sim.get("VirtualMachineExport", "default", name) is None
    # the file is the gzip'd tar the export server sent: the dump the VM wrote into the claim
    dump_file = sim.get("VirtualMachine", "default", VM)["status"]["memoryDumpRequest"]["fileName"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(out.read_bytes()))) as tar:
        assert tar.getnames() == [".", f"./{dump_file}"]
        data = tar.extractfile(f"./{dump_file}").read()
    assert len(data) == 300_000
    assert hashlib.sha256(data).hexdigest() == sim.volume("default", "dump1")["sha256"]


def test_download_raw_decompresses(sim, cli, tmp_path):
    running_vm(sim)
    sim.apply(pvc("dump2"))
    sim.config(export_size=50_000)
    assert cli("memory-dump", "get", VM, "--claim-name=dump2").returncode == 0
    out = tmp_path / "dump.tar"
    r = cli("memory-dump", "download", VM, f"--output={out}", "--format=raw")
    assert r.returncode == 0, r.stderr
    assert "Decompressing image:" in r.stdout.splitlines()
    with tarfile.open(out) as tar:
        member = [m for m in tar.getmembers() if m.isfile()][0]
        data = tar.extractfile(member).read()
    assert member.name.endswith(".memory.dump")
    assert hashlib.sha256(data).hexdigest() == sim.volume("default", "dump2")["sha256"]
    assert len(data) == 50_000


def test_download_retries_bad_status(sim, cli, tmp_path):
    running_vm(sim)
    sim.apply(pvc("dump3"))
    assert cli("memory-dump", "get", VM, "--claim-name=dump3").returncode == 0
    sim.fault({"match": {"method": "GET", "path_regex": "^/api/export.kubevirt.io/"}, "action": "status",
               "status": 503, "times": 1})
    sim.clear_log()
    r = cli("memory-dump", "download", VM, f"--output={tmp_path / 'd.gz'}", timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "Bad status: 503 Service Unavailable" in lines and "Retrying..." in lines
    assert lines[-1] == f"VirtualMachineExport 'default/export-{VM}-dump3' deleted successfully"
    assert [m for m, p in api_requests(sim) if p.startswith(EXP) and m in ("POST", "DELETE")] == \
        ["POST", "DELETE", "POST", "DELETE"]


def test_remove_and_errors(sim, cli, tmp_path):
    running_vm(sim)
    sim.apply(pvc("dump4"))
    cases = [
        (["get", VM, "--create-claim"], "missing claim name"),
        (["download", VM, "--claim-name=x"], "missing outputFile to download the memory dump"),
        (["create", VM], "invalid action type create"),
        (["get"], "accepts 2 arg(s), received 1"),
        (["get", VM, "--create-claim", "--claim-name=dump4"],
         "PVC default/dump4 already exists, check if it should be created if not remove create flag"),
        (["get", VM, "--create-claim", "--claim-name=new", "--access-mode=ReadOnlyMany"],
         "cannot dump memory to a readonly pvc, use either ReadWriteOnce or ReadWriteMany if supported"),
        (["get", VM, "--create-claim", "--claim-name=new", "--access-mode=RWX"],
         "invalid access mode, use either ReadWriteOnce or ReadWriteMany if supported"),
    ]
    for args, msg in cases:
        r = cli("memory-dump", *args)
        assert r.returncode == 1, args
        assert r.stderr.splitlines()[-1] == msg, args
    assert cli("memory-dump", "get", VM, "--claim-name=dump4").returncode == 0
    r = cli("memory-dump", "get", VM, "--create-claim", "--claim-name=other")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == (
        "please remove current memory dump association before creating a new claim for a new memory dump")
    sim.wait_for("VirtualMachine", "default", VM,
                 lambda o: (o["status"].get("memoryDumpRequest") or {}).get("phase") == "Completed")
    sim.clear_log()
    r = cli("memory-dump", "remove", VM)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Successfully submitted remove memory dump association of VM {VM}\n"
    put = sim.requests()[-1]
    assert (put["method"], put["path"], put["body"]) == ("PUT", f"{SUB}/virtualmachines/{VM}/removememorydump", None)
    r = cli("memory-dump", "get", "ghost", "--claim-name=dump4")
    assert r.returncode == 1 and r.stderr.splitlines()[-1].startswith("error dumping vm memory, ")
