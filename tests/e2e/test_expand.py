"""expand against the simulator."""

from __future__ import annotations

import json

import yaml

from tests.e2e.guestutil import VM, api_requests, vm_object

SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"


def test_expand_vm_yaml_and_json(sim, cli):
    sim.apply(vm_object(running=False))
    sim.clear_log()
    r = cli("expand", "--vm", VM)
    assert r.returncode == 0, r.stderr
    assert api_requests(sim) == [("GET", f"{SUB}/virtualmachines/{VM}/expand-spec")]
    assert r.stdout.startswith("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n")
    assert r.stdout.endswith("\n")
    doc = yaml.safe_load(r.stdout)
    assert doc["metadata"]["name"] == VM and doc["status"] is not None
    assert 'memory: "1Gi"' not in r.stdout and "memory: 1Gi" in r.stdout
    # virtctl v1.9.0 writes no `creationTimestamp: null` for the template's metadata
    assert "creationTimestamp: null" not in r.stdout
    assert "creationTimestamp" not in doc["spec"]["template"]["metadata"]
    r = cli("expand", "--vm", VM, "-o", "json")
    assert r.returncode == 0, r.stderr
    assert not r.stdout.endswith("\n")
    assert r.stdout.startswith('{\n "kind": "VirtualMachine",\n "apiVersion": "kubevirt.io/v1",\n "metadata": {\n  "name"')
    assert json.loads(r.stdout)["spec"]["template"]["metadata"]["labels"] == {"app": VM}


def test_expand_file_and_stdin(sim, cli, tmp_path):
    f = tmp_path / "vm.yaml"
    f.write_text(yaml.safe_dump(vm_object(running=False)))
    r = cli("expand", "--file", str(f), "--output=json")
    assert r.returncode == 0, r.stderr
    put = sim.requests()[-1]
    assert (put["method"], put["path"]) == ("PUT", f"{SUB}/expand-vm-spec")
    assert put["body"]["metadata"]["name"] == VM
    assert list(put["body"]) == ["kind", "apiVersion", "metadata", "spec", "status"]
    assert "creationTimestamp" not in put["body"]["metadata"]
    assert "creationTimestamp" not in put["body"]["spec"]["template"]["metadata"]
    assert json.loads(r.stdout)["metadata"]["name"] == VM
    r = cli("expand", "-f", "-", input=json.dumps(vm_object(running=False)))
    assert r.returncode == 0, r.stderr
    assert "name: testvm" in r.stdout


def test_expand_errors(sim, cli, tmp_path):
    cases = [
        ([], "error invalid arguments - VirtualMachine name or file must be provided"),
        (["--vm", VM, "--output", "test-format"], "error not supported output format defined: test-format"),
        (["--vm", VM, "--file", "x"],
         "if any flags in the group [file vm] are set none of the others can be; [file vm] were all set"),
        (["--file", "invalid/path"], "error reading file open invalid/path: no such file or directory"),
        (["extra", "--vm", VM], "accepts 0 arg(s), received 1"),
        (["--vm", "non-existing-vm"],
         'error expanding VirtualMachine - non-existing-vm in namespace - default: '
         'virtualmachine.kubevirt.io "non-existing-vm" not found'),
    ]
    for args, msg in cases:
        r = cli("expand", *args)
        assert r.returncode == 1, args
        assert r.stderr.splitlines()[-1] == msg
    bad = "apiVersion: kubevirt.io/v1kind: VirtualMachine\n"
    want = ("error decoding VirtualMachine error converting YAML to JSON: "
            "yaml: mapping values are not allowed in this context")
    r = cli("expand", "--file", "-", input=bad)
    assert r.returncode == 1 and r.stderr.splitlines()[-1] == want
    f = tmp_path / "bad.yaml"
    f.write_text(bad)
    r = cli("expand", "--file", str(f))
    assert r.returncode == 1 and r.stderr.splitlines()[-1] == want


def test_expand_json_has_go_field_order_like_virtctl(sim, cli):
    """virtctl decodes the answer into kubevirt.io/api's VirtualMachine struct and marshals it back:
    the struct's field order, unknown fields dropped. The expected text was printed by the reference
    virtctl v1.9.0 for the same file against the simulator (tests/fixtures/expand/)."""
    import pathlib

    here = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "expand"
    r = cli("expand", "-f", str(here / "order-vm.yaml"), "-o", "json")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (here / "order-vm.expected.json").read_text()
    put = [c for c in sim.requests() if c["method"] == "PUT"][-1]
    assert list(put["body"]["spec"]["template"]["spec"]["domain"]) == ["resources", "cpu", "devices"]
    assert "unknownField" not in put["body"]["spec"]["template"]["spec"]["domain"]
