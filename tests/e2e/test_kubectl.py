"""The real kubectl against the simulator: apply (client- and server-side), get (Tables, wide, watch),
describe, explain, wait, patch, delete, field validation and virt-api's webhook denials.

kubectl comes from the machine (`make sysdeps` installs the `kubectl` package); without it these
tests fail and say so.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pyvirtctl.sim.harness import REPO_ROOT, SimProcess

KUBECTL = shutil.which("kubectl")
AGE = r"\d+[smhd]"

VM_YAML = """\
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: testvm
  labels:
    app: demo
spec:
  runStrategy: {strategy}
  template:
    metadata:
      labels:
        kubevirt.io/domain: testvm
    spec:
      domain:
        devices:
          disks:
          - name: containerdisk
            disk:
              bus: virtio
          interfaces:
          - name: default
            masquerade: {{}}
        resources:
          requests:
            memory: 64M
      networks:
      - name: default
        pod: {{}}
      volumes:
      - name: containerdisk
        containerDisk:
          image: quay.io/kubevirt/cirros-container-disk-demo
"""

Kubectl = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def kubectl(sim: SimProcess, tmp_path: Path) -> Kubectl:
    if KUBECTL is None:
        pytest.fail("kubectl is not installed: run `make sysdeps` (it installs the Debian package `kubectl`); "
                    "these tests drive the real kubectl against the simulator")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "KUBECONFIG": sim.kubeconfig,
           "LANG": "C.UTF-8"}

    def run(*args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True, env=env,
                              timeout=timeout, cwd=tmp_path)

    run.env = env  # type: ignore[attr-defined]
    return run


def vm_yaml(strategy: str = "Halted") -> str:
    return VM_YAML.format(strategy=strategy)


def running(sim: SimProcess, name: str = "centos7-1905") -> dict:
    if name == "centos7-1905" and sim.get("VirtualMachine", "default", name) is None:
        sim.apply(Path(REPO_ROOT, "pyvirtctl", "sim", "centos7-1905.yaml").read_text())  # the demo seed
    return sim.wait_for("VirtualMachineInstance", "default", name,
                        lambda o: ((o or {}).get("status") or {}).get("phase") == "Running")


def managers(obj: dict) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in obj["metadata"].get("managedFields") or []}


def rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


# ----------------------------------------------------------------------------------------------
# apply

def test_client_side_apply_creates_configures_and_records_the_manager(kubectl: Kubectl, sim: SimProcess) -> None:
    r = kubectl("apply", "-f", "-", input=vm_yaml())
    assert (r.returncode, r.stdout, r.stderr) == (0, "virtualmachine.kubevirt.io/testvm created\n", "")
    post = [e for e in sim.requests() if e["method"] == "POST"][-1]
    assert post["path"] == "/apis/kubevirt.io/v1/namespaces/default/virtualmachines"
    assert "fieldManager=kubectl-client-side-apply" in post["query"] and "fieldValidation=Strict" in post["query"]
    r = kubectl("apply", "-f", "-", input=vm_yaml())
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/testvm unchanged\n")
    r = kubectl("apply", "-f", "-", input=vm_yaml("Always"))
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/testvm configured\n")
    obj = running(sim, "testvm") and sim.get("VirtualMachine", "default", "testvm")
    assert obj["spec"]["runStrategy"] == "Always"
    assert '"runStrategy":"Always"' in obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    owned = managers(obj)[("kubectl-client-side-apply", "Update")]
    assert owned["f:spec"]["f:runStrategy"] == {} and "f:last-applied-configuration" not in owned


def test_server_side_apply_creates_conflicts_and_forces(kubectl: Kubectl, sim: SimProcess) -> None:
    r = kubectl("apply", "--server-side", "-f", "-", input=vm_yaml())
    assert (r.returncode, r.stdout, r.stderr) == (0, "virtualmachine.kubevirt.io/testvm serverside-applied\n", "")
    obj = sim.get("VirtualMachine", "default", "testvm")
    assert managers(obj)[("kubectl", "Apply")]["f:spec"]["f:runStrategy"] == {}
    r = kubectl("apply", "--server-side", "--field-manager=ops", "-f", "-", input=vm_yaml("Always"))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith('error: Apply failed with 1 conflict: conflict with "kubectl": .spec.runStrategy\n'
                               "Please review the fields above--they currently have other managers. Here\n")
    assert sim.get("VirtualMachine", "default", "testvm")["spec"]["runStrategy"] == "Halted"
    r = kubectl("apply", "--server-side", "--field-manager=ops", "--force-conflicts", "-f", "-",
                input=vm_yaml("Always"))
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/testvm serverside-applied\n")
    owned = managers(sim.get("VirtualMachine", "default", "testvm"))
    assert "f:runStrategy" in owned[("ops", "Apply")]["f:spec"]
    assert "f:runStrategy" not in owned[("kubectl", "Apply")]["f:spec"]
    running(sim, "testvm")


def test_server_side_apply_takes_over_from_client_side_apply(kubectl: Kubectl, sim: SimProcess) -> None:
    assert kubectl("apply", "-f", "-", input=vm_yaml()).returncode == 0
    # the fields still hold what the last client-side apply set: kubectl may take them over without --force
    r = kubectl("apply", "--server-side", "-f", "-", input=vm_yaml("Always"))
    assert (r.returncode, r.stdout, r.stderr) == (0, "virtualmachine.kubevirt.io/testvm serverside-applied\n", "")
    # kubectl moved the client-side apply's fields to its own Apply entry (a managedFields patch) and
    # keeps the last-applied annotation under "kubectl-last-applied"
    owned = managers(sim.get("VirtualMachine", "default", "testvm"))
    assert sorted(owned) == [("kubectl", "Apply"), ("kubectl-last-applied", "Apply")]
    assert "f:runStrategy" in owned[("kubectl", "Apply")]["f:spec"]
    assert sim.get("VirtualMachine", "default", "testvm")["spec"]["runStrategy"] == "Always"
    # a field another manager changed since is a real conflict
    r = kubectl("patch", "vm", "testvm", "--type", "merge", "-p", '{"spec":{"runStrategy":"Manual"}}')
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/testvm patched\n")
    r = kubectl("apply", "--server-side", "-f", "-", input=vm_yaml("Always"))
    assert r.returncode == 1 and r.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "kubectl-patch" using kubevirt.io/v1: .spec.runStrategy\n')


def test_unknown_fields_are_refused_unless_validation_is_off(kubectl: Kubectl, sim: SimProcess) -> None:
    bad = vm_yaml().replace("      domain:\n", "      domain:\n        bogus: 1\n")
    r = kubectl("apply", "-f", "-", input=bad)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ('Error from server (BadRequest): error when creating "STDIN": strict decoding error: unknown '
                        'field "spec.template.spec.domain.bogus"\n')
    r = kubectl("create", "--validate=false", "-f", "-", input=bad)
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/testvm created\n")
    assert "bogus" not in sim.get("VirtualMachine", "default", "testvm")["spec"]["template"]["spec"]["domain"]
    r = kubectl("apply", "--server-side", "-f", "-", input=bad.replace("testvm", "ssavm"))
    assert r.returncode == 1 and r.stderr == (
        "Error from server: failed to create typed patch object (default/ssavm; kubevirt.io/v1, Kind=VirtualMachine): "
        ".spec.template.spec.domain.bogus: field not declared in schema\n")


def test_client_side_validation_from_the_protobuf_openapi_v2(kubectl: Kubectl, sim: SimProcess) -> None:
    # a server whose OpenAPI does not offer ?fieldValidation: kubectl validates itself, from /openapi/v2
    sim.config(server_field_validation=False)
    bad = vm_yaml().replace("      domain:\n", "      domain:\n        bogus: 1\n")
    r = kubectl("apply", "-f", "-", input=bad)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ('error: error validating "STDIN": error validating data: '
                        'ValidationError(VirtualMachine.spec.template.spec.domain): unknown field "bogus" in '
                        "io.kubevirt.v1.VirtualMachine.spec.template.spec.domain; if you choose to ignore these "
                        "errors, turn validation off with --validate=false\n")
    assert not [e for e in sim.requests() if e["method"] == "POST"]  # refused before anything was sent
    assert "/openapi/v2" in [e["path"] for e in sim.requests()]
    r = kubectl("apply", "-f", "-", input=vm_yaml())
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/testvm created\n")


# ----------------------------------------------------------------------------------------------
# webhook denials

def test_virtualmachine_webhook_denials(kubectl: Kubectl, sim: SimProcess) -> None:
    bad = (vm_yaml("Bogus").replace("  runStrategy: Bogus\n", "  runStrategy: Bogus\n  running: true\n")
           .replace("name: containerdisk\n            disk", "name: rootdisk\n            disk"))
    for args in (["apply", "-f", "-"], ["create", "-f", "-"], ["apply", "--server-side", "-f", "-"]):
        r = kubectl(*args, input=bad)
        assert (r.returncode, r.stdout) == (1, ""), args
        assert r.stderr == (
            "The request is invalid: \n"
            "* spec.template.spec.domain.devices.disks[0].name: spec.template.spec.domain.devices.disks[0].Name "
            "'rootdisk' not found.\n"
            "* spec.running: Running and RunStrategy are mutually exclusive. Note that Running is deprecated, "
            "please use RunStrategy instead\n"
            "* spec.runStrategy: Invalid RunStrategy (Bogus)\n"), args
    denials = [e for e in sim.requests() if e["status"] == 422]
    assert len(denials) == 3
    assert kubectl("get", "vm", "testvm").returncode == 1
    # the Status kubectl got carries the webhook's name (shown with -v=8, which prints response bodies)
    r = kubectl("create", "-f", "-", "-v=8", input=bad)
    assert r.returncode == 1
    assert 'admission webhook \\"virtualmachine-validator.kubevirt.io\\" denied the request: ' in r.stderr


def test_deprecation_warning_and_vmi_update_denial(kubectl: Kubectl, sim: SimProcess) -> None:
    r = kubectl("apply", "-f", "-", input=vm_yaml().replace("runStrategy: Halted", "running: true"))
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/testvm created\n")
    assert r.stderr == "Warning: spec.running is deprecated, please use spec.runStrategy instead.\n"
    running(sim, "testvm")
    r = kubectl("patch", "vmi", "testvm", "--type", "merge", "-p", '{"spec":{"hostname":"other"}}')
    assert (r.returncode, r.stderr) == (1, "The request is invalid: : update of VMI object is restricted\n")
    r = kubectl("label", "vmi", "testvm", "team=a")
    assert (r.returncode, r.stdout) == (0, "virtualmachineinstance.kubevirt.io/testvm labeled\n")


# ----------------------------------------------------------------------------------------------
# get: Tables

def test_get_single_list_and_wide_tables(kubectl: Kubectl, sim: SimProcess) -> None:
    vmi = running(sim)
    r = kubectl("get", "vm", "centos7-1905")
    assert r.returncode == 0
    (header, row) = rows(r.stdout)
    assert header == ["NAME", "AGE", "STATUS", "READY"]
    assert row[0] == "centos7-1905" and re.fullmatch(AGE, row[1]) and row[2:] == ["Running", "True"]
    r = kubectl("get", "vmi", "-o", "wide")
    (header, row) = rows(r.stdout)
    assert header == ["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY", "LIVE-MIGRATABLE", "PAUSED"]
    assert row[0] == "centos7-1905" and row[2:] == ["Running", vmi["status"]["interfaces"][0]["ipAddress"],
                                                    vmi["status"]["nodeName"], "True", "True"]
    sim.vmi("default", "centos7-1905", paused=True)
    assert rows(kubectl("get", "vmi", "-o", "wide").stdout)[1][-1] == "True"
    r = kubectl("get", "nodes")
    assert [row[:3] + row[4:] for row in rows(r.stdout)] == [["NAME", "STATUS", "ROLES", "VERSION"],
                                                             ["node01", "Ready", "control-plane", "v1.31.4"],
                                                             ["node02", "Ready", "<none>", "v1.31.4"]]
    r = kubectl("get", "pods", "-o", "wide")
    (header, row) = rows(r.stdout)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    assert re.fullmatch(r"virt-launcher-centos7-1905-[a-z0-9]{5}", row[0])
    assert row[1:4] == ["2/2", "Running", "0"] and row[5:] == [vmi["status"]["interfaces"][0]["ipAddress"],
                                                             vmi["status"]["nodeName"], "<none>", "0/1"]


def test_get_services_pvcs_and_events(kubectl: Kubectl, sim: SimProcess) -> None:
    running(sim)
    r = kubectl("create", "service", "nodeport", "web", "--tcp=80:8080")
    assert (r.returncode, r.stdout) == (0, "service/web created\n")
    (header, row) = rows(kubectl("get", "svc", "web").stdout)
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert row[:5] == ["web", "NodePort", "10.96.0.11", "<none>", "80:30000/TCP"]
    pvc = ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\nspec:\n  accessModes: "
           "[ReadWriteOnce]\n  resources:\n    requests:\n      storage: 5Gi\n")
    assert kubectl("apply", "-f", "-", input=pvc).returncode == 0
    (header, row) = rows(kubectl("get", "pvc").stdout)
    assert header == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS",
                      "AGE"]
    assert row[:2] == ["data", "Bound"] and row[3:7] == ["5Gi", "RWO", "standard", "<unset>"]
    out = kubectl("get", "events").stdout
    assert rows(out)[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert ["Normal", "SuccessfulCreate", "virtualmachine/centos7-1905",
            "Started the virtual machine by creating the new virtual machine instance centos7-1905"] in \
        [row[1:] for row in rows(out)]


def test_get_watch_prints_table_rows_as_the_vm_starts(kubectl: Kubectl, sim: SimProcess) -> None:
    assert kubectl("apply", "-f", "-", input=vm_yaml("Manual")).returncode == 0
    proc = subprocess.Popen([KUBECTL, "get", "vm", "testvm", "-w"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=kubectl.env)  # type: ignore[attr-defined]
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()  # type: ignore
    try:
        seen = [lines.get(timeout=30), lines.get(timeout=30)]
        assert rows(seen[0])[0] == ["NAME", "AGE", "STATUS", "READY"]
        sim.request("PUT", "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/testvm/start", b"{}")
        while "Running" not in seen[-1]:
            seen.append(lines.get(timeout=30))
    finally:
        proc.kill()
        proc.wait()
    statuses = []
    for line in seen[1:]:
        row = rows(line)[0]
        assert row[0] == "testvm" and re.fullmatch(AGE, row[1]), line
        if not statuses or statuses[-1] != row[2]:
            statuses.append(row[2])
    assert statuses[0] == "Stopped" and statuses[-1] == "Running" and "Starting" in statuses


# ----------------------------------------------------------------------------------------------
# describe, explain, wait, patch, delete

def test_describe(kubectl: Kubectl, sim: SimProcess) -> None:
    running(sim)
    out = kubectl("describe", "vm", "centos7-1905").stdout
    for line in ("Name:         centos7-1905", "Namespace:    default", "API Version:  kubevirt.io/v1",
                 "Kind:         VirtualMachine"):
        assert line + "\n" in out
    assert re.search(r"\n  Printable Status:\s+Running\n", out)
    assert re.search(r"Normal\s+SuccessfulCreate\s+\S+\s+virtualmachine-controller\s+Started the virtual machine",
                     out)
    out = kubectl("describe", "node", "node02").stdout
    assert "Name:               node02\n" in out and "InternalIP:  192.168.66.102\n" in out


def test_explain(kubectl: Kubectl) -> None:
    r = kubectl("explain", "vm.spec.runStrategy")
    assert r.returncode == 0
    assert r.stdout.startswith("GROUP:      kubevirt.io\nKIND:       VirtualMachine\nVERSION:    v1\n\n"
                               "FIELD: runStrategy <string>\n")
    out = kubectl("explain", "vmi.spec.domain.devices.disks").stdout
    assert "FIELD: disks <[]Object>" in out and re.search(r"\n  bootOrder\t<integer>\n", out)
    assert re.search(r"\n  name\t<string> -required-\n", out)
    out = kubectl("explain", "svc.spec.ports").stdout
    assert "FIELD: ports <[]ServicePort>" in out and re.search(r"\n  targetPort\t<string>\n", out)
    r = kubectl("explain", "vm", "--output", "plaintext-openapiv2")  # the protobuf v2 document
    assert r.returncode == 0 and r.stdout.startswith("KIND:     VirtualMachine\nVERSION:  kubevirt.io/v1\n\n"
                                                     "DESCRIPTION:\n     A virtual machine that can be started")
    r = kubectl("explain", "vm.spec.nosuchfield")
    assert (r.returncode, r.stderr) == (1, 'error: field "nosuchfield" does not exist\n')


def test_wait(kubectl: Kubectl, sim: SimProcess) -> None:
    assert kubectl("apply", "-f", "-", input=vm_yaml("Always")).returncode == 0
    r = kubectl("wait", "--for=condition=Ready", "vmi/testvm", "--timeout=60s")
    assert (r.returncode, r.stdout) == (0, "virtualmachineinstance.kubevirt.io/testvm condition met\n")
    r = kubectl("wait", "--for=jsonpath={.status.printableStatus}=Running", "vm/testvm", "--timeout=60s")
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/testvm condition met\n")
    assert kubectl("patch", "vm", "testvm", "--type", "merge", "-p", '{"spec":{"runStrategy":"Halted"}}').returncode == 0
    r = kubectl("wait", "--for=delete", "vmi/testvm", "--timeout=60s")
    assert r.returncode == 0 and r.stdout in ("virtualmachineinstance.kubevirt.io/testvm condition met\n", "")
    r = kubectl("wait", "--for=condition=Ready", "vmi/testvm", "--timeout=1s")
    assert r.returncode == 1 and r.stderr == 'Error from server (NotFound): virtualmachineinstances.kubevirt.io ' \
                                             '"testvm" not found\n'


def test_patch_types(kubectl: Kubectl, sim: SimProcess) -> None:
    running(sim)
    r = kubectl("patch", "vm", "centos7-1905", "--type", "json",
                "-p", '[{"op":"add","path":"/metadata/labels","value":{"tier":"db"}}]')
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/centos7-1905 patched\n")
    r = kubectl("patch", "vm", "centos7-1905", "-p", '{"spec":{"running":false}}')
    assert r.returncode == 1 and r.stderr == (
        "error: application/strategic-merge-patch+json is not supported by kubevirt.io/v1, Kind=VirtualMachine: "
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml\n")
    r = kubectl("patch", "vm", "centos7-1905", "--type", "merge", "-p", '{"spec":{"running":false}}')
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/centos7-1905 patched\n")
    sim.wait_for("VirtualMachineInstance", "default", "centos7-1905", lambda o: o is None)
    assert sim.get("VirtualMachine", "default", "centos7-1905")["metadata"]["labels"] == {"tier": "db"}
    r = kubectl("patch", "vm", "centos7-1905", "--type", "merge", "-p", '{"spec":{"runStrategy":"Sometimes"}}')
    assert r.returncode == 1 and "Running and RunStrategy are mutually exclusive" in r.stderr


def test_delete_removes_the_vmi_and_its_launcher_pod(kubectl: Kubectl, sim: SimProcess) -> None:
    running(sim)
    assert len(sim.list("Pod", "default")) == 1
    r = kubectl("delete", "vm", "centos7-1905")
    assert (r.returncode, r.stdout) == (0, 'virtualmachine.kubevirt.io "centos7-1905" deleted\n')
    sim.wait_for("VirtualMachineInstance", "default", "centos7-1905", lambda o: o is None)
    r = kubectl("get", "pods")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "No resources found in default namespace.\n")
    r = kubectl("delete", "vm", "centos7-1905")
    assert (r.returncode, r.stderr) == (1, 'Error from server (NotFound): virtualmachines.kubevirt.io "centos7-1905" '
                                           'not found\n')
