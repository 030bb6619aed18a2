"""`create` and `template convert` as real processes next to the simulator.

create sends nothing to the cluster (it only loads the client configuration, like virtctl), and what
it prints is accepted by a real kubectl: the user guide's `virtctl create vm ... | kubectl create -f -`.
`template convert NAME` reads the OpenShift Template from the cluster; expected texts were taken from
the reference virtctl run against the same simulator.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.unit.test_create_table import normalise

KUBECTL = shutil.which("kubectl")

OCP_TEMPLATE = {
    "apiVersion": "template.openshift.io/v1",
    "kind": "Template",
    "metadata": {"name": "small", "namespace": "default", "labels": {"os": "fedora"}},
    "message": "user ${USER}",
    "objects": [{"kind": "VirtualMachine", "apiVersion": "kubevirt.io/v1", "metadata": {"name": "${NAME}"},
                 "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"memory": {"guest": "1Gi"}}}}}}],
    "parameters": [{"name": "NAME", "generate": "expression", "from": "vm-[a-z]{5}"},
                   {"name": "USER", "value": "fedora", "required": True}],
}


def api_calls(sim) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in sim.requests() if not r["path"].startswith("/_sim")]


def test_create_sends_nothing(sim, cli):
    sim.clear_log()
    for args in (["create", "vm", "--name", "a", "--volume-import", "type:ds,src:ns/fedora"],
                 ["create", "instancetype", "--cpu", "1", "--memory", "1Gi"],
                 ["create", "preference"], ["create", "clone", "--source-name", "a"]):
        r = cli(*args)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert r.stdout.startswith("apiVersion: ")
    assert api_calls(sim) == []


def test_namespace_only_from_the_namespace_flag(sim, cli):
    r = cli("create", "vm", "--name", "a")
    assert "namespace:" not in r.stdout  # the kubeconfig context's namespace is not written
    r = cli("-n", "team", "create", "vm", "--name", "a")
    assert r.stdout.startswith("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: a\n  namespace: team\n")
    r = cli("create", "preference", "--namespace=team", "--name", "p")
    assert "kind: VirtualMachinePreference\nmetadata:\n  name: p\n  namespace: team\n" in r.stdout


def test_broken_client_configuration_is_an_error(sim, cli):
    r = cli("--context", "nope", "create", "vm")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", 'context "nope" does not exist\n')


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by scripts/sysdeps.sh")
def test_manifests_pipe_into_kubectl_create(sim, cli):
    for args in (["create", "vm", "--name", "piped", "--volume-containerdisk", "src:quay.io/containerdisks/fedora:41",
                  "--user", "fedora", "--ssh-key", "ssh-ed25519 AAAA test"],
                 ["create", "instancetype", "--name", "small", "--cpu", "1", "--memory", "1Gi"],
                 ["create", "preference", "--name", "linux", "--cpu-topology", "spread"]):
        manifest = cli(*args)
        assert manifest.returncode == 0, manifest.stderr
        r = subprocess.run([KUBECTL, "--kubeconfig", sim.kubeconfig, "create", "--validate=false", "-f", "-"],
                           input=manifest.stdout, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    assert r.stdout == "virtualmachineclusterpreference.instancetype.kubevirt.io/linux created\n"
    vm = sim.get("VirtualMachine", "default", "piped")
    assert vm["spec"]["runStrategy"] == "Always"
    assert vm["spec"]["template"]["spec"]["volumes"][1]["cloudInitNoCloud"]["userData"] == (
        "#cloud-config\nuser: fedora\nssh_authorized_keys:\n  - ssh-ed25519 AAAA test")
    assert sim.wait_for("VirtualMachineInstance", "default", "piped", lambda o: o is not None) is not None
    assert sim.get("VirtualMachineClusterInstancetype", None, "small")["spec"] == {
        "cpu": {"guest": 1}, "memory": {"guest": "1Gi"}}


def test_json_output_round_trips_through_the_api(sim, cli):
    r = cli("create", "vm", "--name", "j", "--run-strategy", "halted", "-o", "json")
    assert r.returncode == 0
    body = json.loads(r.stdout)
    assert list(body) == ["kind", "apiVersion", "metadata", "spec", "status"]
    sim.apply(body)
    assert sim.get("VirtualMachine", "default", "j")["spec"]["runStrategy"] == "Halted"


def test_template_convert_from_the_cluster(sim, cli):
    sim.apply(OCP_TEMPLATE)
    sim.clear_log()
    r = cli("template", "convert", "small")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "apiVersion: template.kubevirt.io/v1beta1\nkind: VirtualMachineTemplate\nmetadata:\n  labels:\n    os: fedora\n"
        "  name: small\n  namespace: default\nspec:\n  message: user ${USER}\n  parameters:\n"
        "  - from: vm-[a-z]{5}\n    generate: expression\n    name: NAME\n  - name: USER\n    required: true\n"
        "    value: fedora\n  virtualMachine:\n    apiVersion: kubevirt.io/v1\n    kind: VirtualMachine\n"
        "    metadata:\n      name: ${NAME}\n    spec:\n      runStrategy: Halted\n      template:\n        spec:\n"
        "          domain:\n            memory:\n              guest: 1Gi\n"
    )
    assert api_calls(sim) == [("GET", "/apis/template.openshift.io/v1/namespaces/default/templates/small")]
    j = cli("template", "convert", "--name", "small", "-o", "json")
    assert j.returncode == 0 and not j.stdout.endswith("\n")  # virtctl prints no final newline
    assert j.stdout.startswith('{\n "kind": "VirtualMachineTemplate",\n "apiVersion": "template.kubevirt.io/v1beta1",')
    assert json.loads(j.stdout)["spec"]["parameters"][1] == {"name": "USER", "value": "fedora", "required": True}


def test_template_convert_missing_template(sim, cli):
    r = cli("-n", "openshift", "template", "convert", "nope")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        'error fetching remote Template openshift/nope: templates.template.openshift.io "nope" not found\n')


def test_template_convert_stdin(cli):
    r = cli("template", "convert", "-f", "-", input=json.dumps(OCP_TEMPLATE))
    assert r.returncode == 0, r.stderr
    assert normalise(r.stdout).startswith("apiVersion: template.kubevirt.io/v1beta1\nkind: VirtualMachineTemplate\n")
