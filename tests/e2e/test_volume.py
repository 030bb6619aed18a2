"""addvolume / removevolume against the simulator."""

from __future__ import annotations

from tests.e2e.guestutil import VM, api_requests, pvc, running_vm

SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"
DV_GET = ("GET", "/apis/cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes/vol1")
PVC_GET = ("GET", "/api/v1/namespaces/default/persistentvolumeclaims/vol1")
RETRYABLE = "the server rejected our request due to an error in our request"


def _puts(sim, sub):
    return [r for r in sim.requests() if r["method"] == "PUT" and r["path"].endswith(sub)]


def test_addvolume_pvc(sim, cli):
    running_vm(sim)
    sim.apply(pvc("vol1"))
    sim.clear_log()
    r = cli("addvolume", VM, "--volume-name=vol1", "--serial=abc", "--cache", "none", "--bus", "virtio")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Successfully submitted add volume request to VM {VM} for volume vol1\n"
    assert api_requests(sim) == [DV_GET, PVC_GET, ("PUT", f"{SUB}/virtualmachines/{VM}/addvolume")]
    put = _puts(sim, "/addvolume")[0]
    assert put["body"] == {
        "name": "vol1",
        "disk": {"name": "", "disk": {"bus": "virtio"}, "serial": "abc", "cache": "none"},
        "volumeSource": {"persistentVolumeClaim": {"claimName": "vol1", "hotpluggable": True}},
    }
    assert "content-type" not in put["headers"]


def test_addvolume_datavolume_lun_dry_run(sim, cli):
    running_vm(sim)
    sim.apply({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
               "metadata": {"name": "vol1", "namespace": "default"},
               "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}})
    sim.clear_log()
    r = cli("addvolume", VM, "--volume-name=vol1", "--disk-name=d1", "--disk-type=lun", "--dry-run", "--persist")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "Dry Run execution"
    assert api_requests(sim) == [DV_GET, ("PUT", f"{SUB}/virtualmachines/{VM}/addvolume")]
    assert _puts(sim, "/addvolume")[0]["body"] == {
        "name": "d1", "disk": {"name": "", "lun": {"bus": "scsi"}, "serial": "d1"},
        "volumeSource": {"dataVolume": {"name": "vol1", "hotpluggable": True}}, "dryRun": ["All"],
    }


def test_addvolume_errors(sim, cli):
    r = cli("addvolume", VM, "--volume-name=vol1")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == "error adding volume, Volume vol1 is not a DataVolume or PersistentVolumeClaim"
    assert api_requests(sim)[:2] == [DV_GET, PVC_GET]
    sim.apply(pvc("vol1"))
    cases = [
        (["--disk-type=cdrom"], "Invalid disk type 'cdrom'. Only LUN and Disk are supported."),
        (["--disk-type=lun", "--bus=virtio"], "Invalid bus type 'virtio' for LUN disk. Only 'scsi' bus is supported."),
        (["--bus=sata"], "Invalid bus type 'sata' for disk. Only 'scsi' and 'virtio' are supported."),
        (["--cache=unsafe"], "error adding volume, invalid cache value unsafe"),
        (["--disk-name=" + "d" * 64], f"Invalid disk name {'d' * 64}, must not exceed 63 characters"),
    ]
    for extra, msg in cases:
        sim.clear_log()
        r = cli("addvolume", VM, "--volume-name=vol1", *extra)
        assert r.returncode == 1, extra
        assert r.stderr.splitlines()[-1] == msg
        assert not any(m == "PUT" for m, _ in api_requests(sim))
    r = cli("addvolume", VM)
    assert r.returncode == 1 and r.stderr.splitlines()[-1] == 'required flag(s) "volume-name" not set'


def test_addvolume_standalone_vmi_fallback_and_missing(sim, cli):
    sim.apply(pvc("vol1"))
    r = cli("addvolume", "ghost", "--volume-name=vol1")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1].startswith("error adding volume, ")
    assert "not found" in r.stderr.splitlines()[-1]
    assert [p for m, p in api_requests(sim) if m == "PUT"] == [
        f"{SUB}/virtualmachines/ghost/addvolume", f"{SUB}/virtualmachineinstances/ghost/addvolume"]


def test_addvolume_retries_on_422_text(sim, cli):
    running_vm(sim)
    sim.apply(pvc("vol1"))
    sim.fault({"match": {"method": "PUT", "path_regex": "/addvolume$"}, "action": "empty", "status": 422,
               "times": 1})
    sim.clear_log()
    r = cli("addvolume", VM, "--volume-name=vol1")
    assert r.returncode == 0, r.stderr
    assert len(_puts(sim, "/addvolume")) == 2


def test_addvolume_gives_up_after_15_retries(sim, cli):
    running_vm(sim)
    sim.apply(pvc("vol1"))
    sim.fault({"match": {"method": "PUT", "path_regex": "/addvolume$"}, "action": "empty", "status": 422})
    sim.clear_log()
    r = cli("addvolume", VM, "--volume-name=vol1")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == "error adding volume after 15 retries"
    assert len(_puts(sim, "/addvolume")) == 15


def test_removevolume(sim, cli):
    running_vm(sim)
    sim.apply(pvc("vol1"))
    assert cli("addvolume", VM, "--volume-name=vol1").returncode == 0
    sim.clear_log()
    r = cli("removevolume", VM, "--volume-name=vol1", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Dry Run execution\nSuccessfully submitted remove volume request to VM {VM} for volume vol1\n"
    assert api_requests(sim) == [("PUT", f"{SUB}/virtualmachines/{VM}/removevolume")]
    assert _puts(sim, "/removevolume")[0]["body"] == {"name": "vol1", "dryRun": ["All"]}
    r = cli("removevolume", VM, "--volume-name=vol1")
    assert r.returncode == 0, r.stderr
    sim.fault({"match": {"method": "PUT", "path_regex": "/removevolume$"}, "action": "status", "status": 500,
               "message": "boom"})
    r = cli("removevolume", VM, "--volume-name=vol1")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == "error removing volume, boom"
