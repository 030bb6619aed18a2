"""objectgraph against the simulator: the GET with a JSON body, virt-api's graph of what the simulator
stores, and virtctl's printing (checked side by side with the reference virtctl v1.9.0)."""

from __future__ import annotations

import json

import yaml

from tests.e2e.guestutil import api_requests, running_vm

SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"
DEP = "kubevirt.io/dependency-type"


def ref(group: str, kind: str, name: str, namespace: str = "default") -> dict:
    return {"apiGroup": group, "kind": kind, "name": name, "namespace": namespace}


def node(group: str, kind: str, name: str, dep: str, namespace: str = "default", optional: bool = False,
         children: list | None = None) -> dict:
    out: dict = {"objectReference": ref(group, kind, name, namespace), "labels": {DEP: dep}}
    if optional:
        out["optional"] = True
    if children:
        out["children"] = children
    return out


RICH = {
    "apiVersion": "kubevirt.io/v1",
    "kind": "VirtualMachine",
    "metadata": {"name": "rich", "namespace": "default"},
    "spec": {
        "runStrategy": "Halted",
        "instancetype": {"kind": "VirtualMachineClusterInstancetype", "name": "u1.medium"},
        "preference": {"kind": "VirtualMachinePreference", "name": "fedora", "revisionName": "fedora-rev-1"},
        "template": {"spec": {
            "accessCredentials": [
                {"sshPublicKey": {"source": {"secret": {"secretName": "rich-keys"}},
                                  "propagationMethod": {"qemuGuestAgent": {"users": ["fedora"]}}}},
                {"userPassword": {"source": {"secret": {"secretName": "rich-pw"}},
                                  "propagationMethod": {"qemuGuestAgent": {}}}},
            ],
            "domain": {"devices": {"tpm": {"persistent": True}}},
            "networks": [{"name": "default", "pod": {}},
                         {"name": "blue", "multus": {"networkName": "other-ns/blue-net"}},
                         {"name": "red", "multus": {"networkName": "red-net"}}],
            "volumes": [
                {"name": "root", "dataVolume": {"name": "rich-root"}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "rich-data"}},
                {"name": "cm", "configMap": {"name": "rich-cm"}},
                {"name": "sec", "secret": {"secretName": "rich-secret"}},
                {"name": "sa", "serviceAccount": {"serviceAccountName": "rich-sa"}},
                {"name": "ci", "cloudInitNoCloud": {"userDataSecretRef": {"name": "rich-userdata"},
                                                    "networkDataSecretRef": {"name": "rich-netdata"}}},
                {"name": "cd", "containerDisk": {"image": "x"}},
            ],
        }},
    },
}
BACKEND_PVC = {
    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
    "metadata": {"name": "persistent-state-for-rich-abcde", "namespace": "default",
                 "labels": {"persistent-state-for": "rich"}},
    "spec": {"resources": {"requests": {"storage": "10Mi"}}},
}
RICH_CHILDREN = [
    node("instancetype.kubevirt.io", "VirtualMachineClusterInstancetype", "u1.medium", "config", "", optional=True),
    node("instancetype.kubevirt.io", "VirtualMachinePreference", "fedora", "config", optional=True),
    node("apps", "ControllerRevision", "fedora-rev-1", "config"),
    node("", "Secret", "rich-keys", "config"),
    node("", "Secret", "rich-pw", "config"),
    node("cdi.kubevirt.io", "DataVolume", "rich-root", "storage",
         children=[node("", "PersistentVolumeClaim", "rich-root", "storage")]),
    node("", "PersistentVolumeClaim", "rich-data", "storage"),
    node("", "ConfigMap", "rich-cm", "config"),
    node("", "Secret", "rich-secret", "config"),
    node("", "ServiceAccount", "rich-sa", "config"),
    node("", "Secret", "rich-userdata", "config"),
    node("", "Secret", "rich-netdata", "config"),
    node("", "PersistentVolumeClaim", "persistent-state-for-rich-abcde", "storage"),
    node("k8s.cni.cncf.io", "NetworkAttachmentDefinition", "blue-net", "network", "other-ns", optional=True),
    node("k8s.cni.cncf.io", "NetworkAttachmentDefinition", "red-net", "network", optional=True),
]


def graph_requests(sim) -> list[dict]:
    return [r for r in sim.requests() if r["path"].endswith("/objectgraph")]


def test_vm_graph_of_everything_it_depends_on(sim, cli):
    sim.apply([RICH, BACKEND_PVC])
    sim.clear_log()
    r = cli("objectgraph", "rich")
    assert (r.returncode, r.stderr) == (0, "")
    want = {"objectReference": ref("kubevirt.io", "VirtualMachine", "rich"), "labels": {DEP: "compute"},
            "children": RICH_CHILDREN}
    assert r.stdout == json.dumps(want, indent=2) + "\n"
    (req,) = sim.requests()
    assert (req["method"], req["path"], req["body"]) == ("GET", f"{SUB}/virtualmachines/rich/objectgraph",
                                                         {"includeOptionalNodes": True})
    assert "content-type" not in req["headers"]

    r = cli("objectgraph", "rich", "--exclude-optional", "--selector", f"{DEP}=config", "--selector", "x=y",
            "--selector", f"{DEP}=storage")
    assert r.returncode == 0, r.stderr
    assert graph_requests(sim)[-1]["body"] == {"includeOptionalNodes": False,
                                               "labelSelector": {"matchLabels": {DEP: "storage", "x": "y"}}}
    assert json.loads(r.stdout) == {"objectReference": ref("kubevirt.io", "VirtualMachine", "rich"),
                                    "labels": {DEP: "compute"}}  # no node has the label x
    r = cli("objectgraph", "rich", "--exclude-optional", f"--selector={DEP}=storage", "-o", "yaml")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("  namespace: default\n\n")  # virtctl's Println after the YAML
    kinds = [(c["objectReference"]["kind"], [g["objectReference"]["kind"] for g in c.get("children", [])])
             for c in yaml.safe_load(r.stdout)["children"]]
    assert kinds == [("DataVolume", ["PersistentVolumeClaim"]), ("PersistentVolumeClaim", []),
                     ("PersistentVolumeClaim", [])]


def test_running_vm_and_vmi(sim, cli):
    running_vm(sim, "vm1")
    pod = next(p["metadata"]["name"] for p in sim.list("Pod", "default"))
    r = cli("objectgraph", "vm1")
    assert r.returncode == 0, r.stderr
    pod_node = node("", "Pod", pod, "compute")
    assert json.loads(r.stdout) == {
        "objectReference": ref("kubevirt.io", "VirtualMachine", "vm1"), "labels": {DEP: "compute"},
        "children": [node("kubevirt.io", "VirtualMachineInstance", "vm1", "compute", children=[pod_node])],
    }
    r = cli("objectgraph", "--vmi", "vm1", "-o", "yaml")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "children:\n- labels:\n    kubevirt.io/dependency-type: compute\n  objectReference:\n"
        f'    apiGroup: ""\n    kind: Pod\n    name: {pod}\n    namespace: default\n'
        "labels:\n  kubevirt.io/dependency-type: compute\nobjectReference:\n  apiGroup: kubevirt.io\n"
        "  kind: VirtualMachineInstance\n  name: vm1\n  namespace: default\n\n"
    )
    assert graph_requests(sim)[-1]["path"] == f"{SUB}/virtualmachineinstances/vm1/objectgraph"


def test_errors(sim, cli):
    sim.apply(RICH)  # a persistent TPM but no backend PVC yet: virt-api fails the whole graph
    sim.clear_log()
    cases = [
        (["nosuch"], 'error listing object graph of VirtualMachine nosuch: virtualmachine.kubevirt.io "nosuch" not found'),
        (["--vmi", "rich"],
         'error listing object graph of VirtualMachineInstance rich: virtualmachineinstance.kubevirt.io "rich" not found'),
        (["rich"], "error listing object graph of VirtualMachine rich: Internal error occurred: failed to get backend "
                   "volume (no backend PVC when there should be one), VM might still be provisioning. Proceeding with "
                   "the remaining volumes"),
    ]
    for args, message in cases:
        r = cli("objectgraph", *args)
        assert (r.returncode, r.stdout, r.stderr.splitlines()[-1]) == (1, "", message), args
    # the feature gate of the KubeVirt CR (alpha in v1.9: off unless listed)
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt", "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
               "spec": {"configuration": {"developerConfiguration": {"featureGates": ["Other"]}}}})
    sim.apply(BACKEND_PVC)
    r = cli("objectgraph", "rich")
    assert r.stderr.splitlines()[-1] == ("error listing object graph of VirtualMachine rich: ObjectGraph feature gate "
                                         "not enabled: Unable to return object graph.")
    sim.clear_log()
    # pyvirtctl checks the output format before asking (virtctl asks, then refuses to print)
    for args, message in [(["rich", "-o", "xml"], "unsupported output format: xml (must be 'json' or 'yaml')"),
                          ([], "accepts 1 arg(s), received 0"),
                          (["rich", "--selector", "a"], 'invalid argument "a" for "--selector" flag: a must be '
                                                        'formatted as key=value')]:
        r = cli("objectgraph", *args)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n"), args
    assert api_requests(sim) == []
