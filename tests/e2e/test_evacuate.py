"""evacuate-cancel against the simulator."""

from __future__ import annotations

from tests.e2e.guestutil import VM, api_requests, running_vm

KV = "/apis/kubevirt.io/v1/namespaces/default"
SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"


def test_evacuate_cancel_vm_and_vmi(sim, cli):
    vmi = running_vm(sim)
    node = vmi["status"]["nodeName"]
    r = cli("evacuate-cancel", "VM", VM)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"VM default/{VM} was canceled evacuation\n"
    assert api_requests(sim) == [("GET", f"{KV}/virtualmachineinstances/{VM}"),
                                 ("PUT", f"{SUB}/virtualmachines/{VM}/evacuate/cancel")]
    assert sim.requests()[-1]["body"] == {"evacuationNodeName": node}
    sim.clear_log()
    r = cli("evacuate-cancel", "vmis", VM, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Dry Run execution\nVMI default/{VM} was canceled evacuation\n"
    put = sim.requests()[-1]
    assert put["path"] == f"{SUB}/virtualmachineinstances/{VM}/evacuate/cancel"
    assert put["body"] == {"dryRun": ["All"], "evacuationNodeName": node}


def test_evacuate_cancel_errors(sim, cli):
    r = cli("evacuate-cancel", "node", "node01")
    assert r.returncode == 1 and r.stderr.splitlines()[-1] == 'unsupported resource type "node"'
    assert api_requests(sim) == [] or all("evacuate" not in p for _, p in api_requests(sim))
    r = cli("evacuate-cancel")
    assert r.returncode == 1 and r.stderr.splitlines()[-1] == "accepts 2 arg(s), received 0"
    r = cli("evacuate-cancel", "vmi", "nope")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == (
        'error retrieving VMI for evacuation cancel for VMI default/nope: '
        'virtualmachineinstances.kubevirt.io "nope" not found'
    )
    r = cli("evacuate-cancel", "vmi", "x", "--migrate-cancel")
    assert r.returncode == 1 and r.stderr.splitlines()[-1] == "unknown flag: --migrate-cancel"


def test_evacuate_cancel_without_node(sim, cli):
    running_vm(sim)
    sim.vmi("default", VM, status={"nodeName": ""})
    r = cli("evacuate-cancel", "vm", VM)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == f"VM default/{VM} doesn't report Node name"
