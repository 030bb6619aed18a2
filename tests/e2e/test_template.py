"""`template create` and `template process` as real processes against the simulator.

The requests (method, path, body) and the texts are pinned as literals taken from the reference
virtctl v1.9.0 run against the same simulator: server-side processing (`process`), creating the VM
(`create`), `--local` and `--print-params` with a name (GET of the template), local files, and the
VirtualMachineTemplateRequest that makes a template from a VM (the simulator's controller).
"""

from __future__ import annotations

import json
import re

GOOD = {
    "apiVersion": "template.kubevirt.io/v1beta1",
    "kind": "VirtualMachineTemplate",
    "metadata": {"name": "good", "namespace": "default"},
    "spec": {
        "message": "Created ${NAME} with ${CORES} cores",
        "parameters": [
            {"name": "NAME", "generate": "expression", "from": "good-[a-z0-9]{5}"},
            {"name": "CORES", "value": "2"},
            {"name": "RUN", "value": "Halted"},
        ],
        "virtualMachine": {
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "${NAME}", "namespace": "elsewhere"},
            "spec": {"runStrategy": "${RUN}",
                     "template": {"spec": {"domain": {"cpu": {"cores": "${{CORES}}"}, "memory": {"guest": "1024Mi"},
                                                      "devices": {}}}}},
        },
    },
}

# `virtctl template process good -p NAME=fixed` against the simulator
GOOD_FIXED_YAML = """apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: fixed
spec:
  runStrategy: Halted
  template:
    metadata: {}
    spec:
      domain:
        cpu:
          cores: 2
        devices: {}
        memory:
          guest: 1Gi
        resources: {}
status: {}
"""
# ... -p NAME=fixed,CORES=4 -o json
GOOD_FIXED_JSON = """{
 "kind": "VirtualMachine",
 "apiVersion": "kubevirt.io/v1",
 "metadata": {
  "name": "fixed"
 },
 "spec": {
  "runStrategy": "Halted",
  "template": {
   "metadata": {},
   "spec": {
    "domain": {
     "resources": {},
     "cpu": {
      "cores": 4
     },
     "memory": {
      "guest": "1Gi"
     },
     "devices": {}
    }
   }
  }
 },
 "status": {}
}"""
GOOD_PARAMS_YAML = """- from: good-[a-z0-9]{5}
  generate: expression
  name: NAME
- name: CORES
  value: "2"
- name: RUN
  value: Halted
"""

PROCESS = "/apis/subresources.template.kubevirt.io/v1beta1/namespaces/default/virtualmachinetemplates/good/process"
CREATE = "/apis/subresources.template.kubevirt.io/v1beta1/namespaces/default/virtualmachinetemplates/good/create"
GET_GOOD = "/apis/template.kubevirt.io/v1beta1/namespaces/default/virtualmachinetemplates/good"
REQUESTS = "/apis/template.kubevirt.io/v1beta1/namespaces/default/virtualmachinetemplaterequests"


def api_calls(sim) -> list[tuple[str, str, object]]:
    """What reached the API (the version probe virt-api answers after an error excluded)."""
    return [(r["method"], r["path"], r["body"]) for r in sim.requests()
            if not r["path"].startswith(("/_sim", "/apis/subresources.kubevirt.io"))]


def test_process_on_the_server(sim, cli):
    sim.apply(GOOD)
    sim.clear_log()
    r = cli("template", "process", "good", "-p", "NAME=fixed")
    assert (r.returncode, r.stdout, r.stderr) == (0, GOOD_FIXED_YAML, "Created fixed with 2 cores")
    r = cli("template", "process", "--name", "good", "-p", "NAME=fixed,CORES=4", "-o", "json")
    assert (r.returncode, r.stdout, r.stderr) == (0, GOOD_FIXED_JSON, "Created fixed with 4 cores")
    r = cli("template", "process", "good")
    assert r.returncode == 0
    name = re.fullmatch(r"Created (good-[a-z0-9]{5}) with 2 cores", r.stderr)
    assert name and f"\n  name: {name.group(1)}\n" in r.stdout  # the server generated it
    assert api_calls(sim) == [("POST", PROCESS, {"parameters": {"NAME": "fixed"}}),
                              ("POST", PROCESS, {"parameters": {"CORES": "4", "NAME": "fixed"}}),
                              ("POST", PROCESS, {})]
    assert sim.get("VirtualMachine", "default", "fixed") is None  # processing creates nothing


def test_process_errors_from_the_server(sim, cli):
    sim.apply(GOOD)
    sim.apply({**GOOD, "metadata": {"name": "undef", "namespace": "default"},
               "spec": {"virtualMachine": {"metadata": {"name": "${NAME}"}}}})
    cases = [
        (["good", "-p", "NOPE=1"], 'error processing remote VirtualMachineTemplate default/good: Operation cannot be '
                                   'fulfilled on  "good": parameter NOPE not found in template\n'),
        (["missing"], "error processing remote VirtualMachineTemplate default/missing: Internal error occurred: error "
                      'getting VirtualMachineTemplate: virtualmachinetemplates.template.kubevirt.io "missing" not found\n'),
        (["undef"], 'error processing remote VirtualMachineTemplate default/undef:  "undef" is invalid: '
                    'spec.virtualMachine: Invalid value: "NAME": references undefined parameter NAME\n'),
    ]
    for args, err in cases:
        r = cli("template", "process", *args)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", err)
    # a value the typed VirtualMachine cannot hold: refused by the server's conversion
    r = cli("template", "process", "good", "-p", "CORES=x", "-p", "NAME=n")
    assert r.returncode == 1 and r.stderr.startswith(
        'error processing remote VirtualMachineTemplate default/good:  "good" is invalid: spec.virtualMachine: '
        'Invalid value: {"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"n"}')
    assert "failed to convert unstructured object to VirtualMachine: json: cannot unmarshal string into Go struct " \
           "field VMISpecAlias.domain.cpu.cores" in r.stderr


def test_unused_parameters_are_warnings(sim, cli):
    sim.apply({**GOOD, "spec": {**GOOD["spec"], "parameters": [*GOOD["spec"]["parameters"],
                                                                {"name": "EXTRA", "value": "x"}]}})
    r = cli("template", "process", "good", "-p", "NAME=w")
    assert r.returncode == 0
    assert r.stderr == "Warning: spec.parameters[3].name: EXTRA is defined but never referenced\nCreated w with 2 cores"


def test_create_the_vm_on_the_server(sim, cli):
    sim.apply(GOOD)
    sim.clear_log()
    r = cli("template", "process", "good", "--create", "-p", "NAME=fresh-vm")
    assert (r.returncode, r.stdout, r.stderr) == (0, "virtualmachine.kubevirt.io/fresh-vm created\n", "")
    assert api_calls(sim) == [("POST", CREATE, {"parameters": {"NAME": "fresh-vm"}})]
    vm = sim.get("VirtualMachine", "default", "fresh-vm")
    assert vm["spec"]["runStrategy"] == "Halted"
    assert vm["spec"]["template"]["spec"]["domain"]["cpu"] == {"cores": 2}
    r = cli("template", "process", "good", "--create", "-p", "NAME=fresh-vm")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ("error creating VirtualMachine from remote VirtualMachineTemplate default/good: Internal error "
                        'occurred: error creating VirtualMachine: virtualmachines.kubevirt.io "fresh-vm" already exists\n')


def test_local_and_print_params_read_the_template(sim, cli):
    sim.apply(GOOD)
    sim.clear_log()
    r = cli("template", "process", "good", "--local", "-p", "NAME=fixed")
    assert (r.returncode, r.stdout, r.stderr) == (0, GOOD_FIXED_YAML, "Created fixed with 2 cores")
    r = cli("template", "process", "good", "--print-params")
    assert (r.returncode, r.stdout, r.stderr) == (0, GOOD_PARAMS_YAML, "")
    assert api_calls(sim) == [("GET", GET_GOOD, None), ("GET", GET_GOOD, None)]
    r = cli("-n", "other", "template", "process", "good", "--print-params")
    assert (r.returncode, r.stderr) == (1, "error printing template parameters: error fetching remote "
                                           'VirtualMachineTemplate other/good: virtualmachinetemplates.template.kubevirt.io'
                                           ' "good" not found\n')


def test_files_are_processed_locally(sim, cli, cli_home):
    (cli_home / "good.json").write_text(json.dumps(GOOD))
    sim.clear_log()
    r = cli("template", "process", "-f", "good.json", "-p", "NAME=fixed")
    assert (r.returncode, r.stdout, r.stderr) == (0, GOOD_FIXED_YAML, "Created fixed with 2 cores")
    r = cli("template", "process", "-f", "-", "-p", "NAME=fixed,CORES=4", "-o", "json", input=json.dumps(GOOD))
    assert (r.returncode, r.stdout, r.stderr) == (0, GOOD_FIXED_JSON, "Created fixed with 4 cores")
    assert api_calls(sim) == []


SOURCE_VM = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "centos7-1905", "namespace": "default"},
    "spec": {"runStrategy": "Halted", "template": {"spec": {
        "domain": {"devices": {"disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}]},
                   "resources": {"requests": {"memory": "500M"}}},
        "volumes": [{"name": "rootdisk", "containerDisk": {"image": "registry.example.com/vmdisks/centos7:1905"}}]}}},
}


def test_template_create_request(sim, cli):
    sim.apply(SOURCE_VM)
    sim.clear_log()
    r = cli("template", "create", "--vm-name", "centos7-1905")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"virtualmachinetemplaterequest\.template\.kubevirt\.io/(centos7-1905-[a-z0-9]{5}) created\n",
                     r.stdout)
    assert m and r.stderr == ""
    assert api_calls(sim) == [("POST", REQUESTS, {
        "kind": "VirtualMachineTemplateRequest", "apiVersion": "template.kubevirt.io/v1beta1",
        "metadata": {"generateName": "centos7-1905-", "namespace": "default"},
        "spec": {"virtualMachineRef": {"namespace": "default", "name": "centos7-1905"}}})]
    req = sim.wait_for("VirtualMachineTemplateRequest", "default", m.group(1),
                       lambda o: o and o.get("status", {}).get("templateRef"))
    assert req["status"]["templateRef"] == {"name": m.group(1)}
    ready = {c["type"]: (c["status"], c["reason"]) for c in req["status"]["conditions"]}
    assert ready == {"Ready": ("True", "Reconciled"), "Progressing": ("False", "Reconciled")}
    tpl = sim.get("VirtualMachineTemplate", "default", m.group(1))
    assert tpl["spec"]["parameters"] == [{"name": "NAME", "generate": "expression", "from": "vm-[a-z0-9]{5}",
                                          "required": True}]
    assert tpl["spec"]["virtualMachine"]["metadata"] == {"name": "${NAME}"}
    # the new template processes into a copy of the VM under a generated name
    out = cli("template", "process", m.group(1))
    assert out.returncode == 0, out.stderr
    assert re.search(r"^  name: vm-[a-z0-9]{5}$", out.stdout, re.M)
    assert "image: registry.example.com/vmdisks/centos7:1905" in out.stdout


def test_template_create_names_and_errors(sim, cli):
    sim.apply(SOURCE_VM)
    sim.clear_log()
    r = cli("template", "create", "--vm-name", "centos7-1905", "--vm-namespace", "other", "--name", "mytpl")
    assert r.returncode == 0 and r.stdout.startswith("virtualmachinetemplaterequest.template.kubevirt.io/centos7-1905-")
    assert api_calls(sim)[0][2]["spec"] == {"virtualMachineRef": {"namespace": "other", "name": "centos7-1905"},
                                            "templateName": "mytpl"}
    # the VM is not in `other`: the request fails (as the snapshot of a missing VM does)
    name = r.stdout.split("/")[1].split()[0]
    req = sim.wait_for("VirtualMachineTemplateRequest", "default", name,
                       lambda o: o and any(c["type"] == "Progressing" for c in o.get("status", {}).get("conditions", [])))
    ready = next(c for c in req["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "Failed")
    r = cli("-n", "nowhere", "template", "create", "--vm-name", "x")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", 'error creating VirtualMachineTemplateRequest: namespaces '
                                                          '"nowhere" not found\n')
    r = cli("template", "create")
    assert (r.returncode, r.stderr) == (1, 'required flag(s) "vm-name" not set\n')


def test_request_turns_disks_into_datavolume_templates(sim, cli):
    sim.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "root", "namespace": "default"},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "disky", "namespace": "default"},
               "spec": {"runStrategy": "Halted", "template": {"spec": {
                   "domain": {"devices": {"interfaces": [{"name": "default", "masquerade": {},
                                                          "macAddress": "02:00:00:00:00:01"}]},
                              "firmware": {"serial": "s-1", "uuid": "u-1"}},
                   "networks": [{"name": "default", "pod": {}}],
                   "volumes": [{"name": "rootdisk", "persistentVolumeClaim": {"claimName": "root"}}]}}}})
    r = cli("template", "create", "--vm-name", "disky", "--name", "disky-tpl")
    assert r.returncode == 0, r.stderr
    tpl = sim.wait_for("VirtualMachineTemplate", "default", "disky-tpl", lambda o: o is not None)
    spec = tpl["spec"]["virtualMachine"]["spec"]
    assert spec["template"]["spec"]["volumes"] == [{"name": "rootdisk", "dataVolume": {"name": "rootdisk-${NAME}"}}]
    dvt = spec["dataVolumeTemplates"]
    assert len(dvt) == 1 and dvt[0]["metadata"] == {"name": "rootdisk-${NAME}"}
    clone = dvt[0]["spec"]["source"]["pvc"]
    assert clone["namespace"] == "default" and re.fullmatch(r"disky-tpl-[0-9a-f]{8}", clone["name"])
    assert sim.get("DataVolume", "default", clone["name"]) is not None
    assert "macAddress" not in spec["template"]["spec"]["domain"]["devices"]["interfaces"][0]
    assert spec["template"]["spec"]["domain"]["firmware"] == {}
    r = cli("template", "process", "disky-tpl", "-p", "NAME=copy", "--create")
    assert (r.returncode, r.stdout) == (0, "virtualmachine.kubevirt.io/copy created\n"), r.stderr
