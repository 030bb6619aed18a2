"""`create ... --apply` (a pyvirtctl addition): create the manifest on the cluster in one step, and
`create vm --apply --wait` until the VM runs. The POST body is exactly the manifest the command
prints without --apply."""

from __future__ import annotations

import json
import re

VMS = "/apis/kubevirt.io/v1/namespaces/default/virtualmachines"


def api_calls(sim) -> list[tuple[str, str, object]]:
    return [(r["method"], r["path"], r["body"]) for r in sim.requests()
            if not r["path"].startswith(("/_sim", "/apis/subresources.kubevirt.io"))]


def test_apply_posts_the_printed_manifest(sim, cli):
    args = ["create", "vm", "--name", "web", "--volume-containerdisk", "src:quay.io/containerdisks/fedora:41",
            "--run-strategy", "Halted"]
    manifest = json.loads(cli(*args, "-o", "json").stdout)
    sim.clear_log()
    r = cli(*args, "--apply")
    assert (r.returncode, r.stdout, r.stderr) == (0, "VirtualMachine default/web created\n", "")
    assert api_calls(sim) == [("POST", VMS, manifest)]
    vm = sim.get("VirtualMachine", "default", "web")
    assert vm["spec"]["template"]["spec"]["volumes"][0]["containerDisk"]["image"] == "quay.io/containerdisks/fedora:41"
    assert sim.list("VirtualMachineInstance", "default") == []  # Halted: not started


def test_apply_and_wait_until_running(sim, cli):
    r = cli("create", "vm", "--name", "runner", "--apply", "--wait", "--timeout", "60s")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "VirtualMachine default/runner created\nVirtualMachine default/runner is running on node01\n"
    lines = r.stderr.splitlines()  # the progress lines of --wait (not a terminal: one per change)
    assert lines and all(re.fullmatch(r"runner: [A-Za-z ]+( on node01)? \(\d+s\)", line) for line in lines), lines
    assert lines[-1].startswith("runner: Running on node01 (")
    vmi = sim.get("VirtualMachineInstance", "default", "runner")
    assert vmi["status"]["phase"] == "Running"


def test_wait_does_not_wait_for_a_vm_that_is_not_started(sim, cli):
    r = cli("create", "vm", "--name", "halted", "--run-strategy", "Manual", "--apply", "--wait")
    assert (r.returncode, r.stdout) == (0, "VirtualMachine default/halted created\n")
    assert r.stderr == "VirtualMachine default/halted is not started by its run strategy (Manual): not waiting\n"


def test_wait_times_out(sim, cli):
    sim.config(delay=30)
    r = cli("create", "vm", "--name", "slow", "--apply", "--wait", "--timeout", "1s")
    assert r.returncode == 1
    assert r.stdout == "VirtualMachine default/slow created\n"
    assert r.stderr.splitlines()[-1].startswith("VM slow: timed out waiting, currently ")


def test_apply_errors(sim, cli):
    assert cli("create", "vm", "--name", "twice", "--apply").returncode == 0
    r = cli("create", "vm", "--name", "twice", "--apply")
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "", 'error creating VirtualMachine default/twice: virtualmachines.kubevirt.io "twice" already exists\n')
    r = cli("-n", "nowhere", "create", "vm", "--name", "x", "--apply")
    assert r.stderr == 'error creating VirtualMachine nowhere/x: namespaces "nowhere" not found\n'
    sim.clear_log()
    for args, err in ((["--wait"], "--wait can only be used with --apply\n"),
                      (["--apply", "--timeout", "1m"], "--timeout can only be used with --wait\n"),
                      (["--apply", "--wait", "--timeout", "soon"], 'invalid duration "soon"\n')):
        r = cli("create", "vm", "--name", "y", *args)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", err)
    assert api_calls(sim) == []  # every argument checked before anything is sent


def test_apply_with_output_prints_the_created_object(sim, cli):
    r = cli("-n", "team", "create", "vm", "--name", "j", "--run-strategy", "Halted", "--apply", "-o", "json")
    assert r.returncode == 1 and "namespaces \"team\" not found" in r.stderr
    sim.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    r = cli("-n", "team", "create", "vm", "--name", "j", "--run-strategy", "Halted", "--apply", "-o", "json")
    assert r.returncode == 0, r.stderr
    created = json.loads(r.stdout)
    assert created["metadata"]["namespace"] == "team" and created["metadata"]["uid"]
    assert created["metadata"]["uid"] == sim.get("VirtualMachine", "team", "j")["metadata"]["uid"]
    y = cli("create", "vm", "--name", "k", "--run-strategy", "Halted", "--apply", "-o", "yaml")
    assert y.returncode == 0 and "\n  uid: " in y.stdout and y.stdout.startswith("apiVersion: kubevirt.io/v1\n")


def test_apply_instancetype_preference_and_clone(sim, cli):
    sim.clear_log()
    r = cli("create", "instancetype", "--name", "small", "--cpu", "1", "--memory", "1Gi", "--apply")
    assert (r.returncode, r.stdout) == (0, "VirtualMachineClusterInstancetype small created\n")
    r = cli("create", "preference", "--name", "linux", "--namespaced", "--apply")
    assert (r.returncode, r.stdout) == (0, "VirtualMachinePreference default/linux created\n")
    r = cli("create", "clone", "--name", "c1", "--source-name", "web", "--target-name", "web2", "--apply")
    assert (r.returncode, r.stdout) == (0, "VirtualMachineClone default/c1 created\n"), r.stderr
    assert [(m, p) for m, p, _ in api_calls(sim)] == [
        ("POST", "/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes"),
        ("POST", "/apis/instancetype.kubevirt.io/v1beta1/namespaces/default/virtualmachinepreferences"),
        ("POST", "/apis/clone.kubevirt.io/v1beta1/namespaces/default/virtualmachineclones"),
    ]
    assert sim.get("VirtualMachineClusterInstancetype", None, "small")["spec"] == {
        "cpu": {"guest": 1}, "memory": {"guest": "1Gi"}}
    assert sim.get("VirtualMachineClone", "default", "c1")["spec"]["target"]["name"] == "web2"


def test_python_api_create_and_wait(sim):
    from pyvirtctl import Client
    from pyvirtctl.kubevirt.manifests import vm as vm_manifest

    with Client.from_kubeconfig(sim.kubeconfig) as client:
        created = client.create(vm_manifest.build_vm(vm_manifest.VMOptions(name="api-vm")))
        assert created["metadata"]["namespace"] == "default"
        progress = client.vm("api-vm").wait_running(timeout=30)
        assert progress.done and progress.node == "node01"
