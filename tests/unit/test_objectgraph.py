"""objectgraph: the request (a GET with a body), the printing through Go's types, and the simulator's
graph filters."""

from __future__ import annotations

import pytest

from pyvirtctl.errors import InputError
from pyvirtctl.kubevirt import objectgraph as og
from pyvirtctl.sim import objectgraph as simgraph


def test_request():
    r = og.objectgraph_request(og.ObjectGraphOptions("vm1"), "ns")
    assert (r.method, r.path, r.body, r.content_type) == (
        "GET", "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm1/objectgraph",
        {"includeOptionalNodes": True}, None)
    r = og.objectgraph_request(og.ObjectGraphOptions("x", vmi=True, exclude_optional=True,
                                                     selector={"b": "2", "a": "1"}), "ns")
    assert r.path.endswith("/virtualmachineinstances/x/objectgraph")
    assert r.body == {"includeOptionalNodes": False, "labelSelector": {"matchLabels": {"a": "1", "b": "2"}}}
    assert list(r.body["labelSelector"]["matchLabels"]) == ["a", "b"]
    assert og.error_prefix(og.ObjectGraphOptions("x", vmi=True)) == "error listing object graph of VirtualMachineInstance x: "
    with pytest.raises(InputError, match=r"^unsupported output format: xml \(must be 'json' or 'yaml'\)$"):
        og.check_output("xml")


def test_printing_follows_the_go_type():
    answer = {
        "children": [{"labels": {"z": "1", "kubevirt.io/dependency-type": "config"}, "optional": True,
                      "objectReference": {"namespace": "", "name": "u1", "kind": "K", "apiGroup": "g"},
                      "children": [], "extra": 1}],
        "objectReference": {"kind": "VirtualMachine", "name": "vm", "namespace": "ns"},
        "unknown": {"dropped": True},
    }
    node = og.go_node(answer)
    assert list(node) == ["objectReference", "children"]
    assert node["objectReference"] == {"apiGroup": None, "kind": "VirtualMachine", "name": "vm", "namespace": "ns"}
    child = node["children"][0]
    assert list(child) == ["objectReference", "labels", "optional"]
    assert list(child["labels"]) == ["kubevirt.io/dependency-type", "z"]
    assert og.render(answer, "json").startswith('{\n  "objectReference": {\n    "apiGroup": null,\n')
    assert og.render(answer, "json").endswith("\n  ]\n}\n")
    yaml_text = og.render(answer, "yaml")
    assert yaml_text.startswith("children:\n- labels:\n") and yaml_text.endswith("namespace: ns\n\n")


def _n(kind: str, dep: str, optional: bool = False, children: list | None = None) -> dict:
    node: dict = {"objectReference": {"kind": kind}, "labels": {simgraph.DEPENDENCY_LABEL: dep}}
    if optional:
        node["optional"] = True
    if children:
        node["children"] = children
    return node


NODES = [
    _n("VirtualMachineInstance", "compute", children=[_n("Pod", "compute")]),
    _n("VirtualMachineClusterInstancetype", "config", optional=True),
    _n("DataVolume", "storage", children=[_n("PersistentVolumeClaim", "storage")]),
    _n("NetworkAttachmentDefinition", "network", optional=True),
]


@pytest.mark.parametrize(
    ("options", "kinds"),
    [
        ({}, ["VirtualMachineInstance", "VirtualMachineClusterInstancetype", "DataVolume",
              "NetworkAttachmentDefinition"]),
        ({"includeOptionalNodes": False}, ["VirtualMachineInstance", "DataVolume"]),
        ({"labelSelector": {"matchLabels": {simgraph.DEPENDENCY_LABEL: "storage"}}}, ["DataVolume"]),
        ({"labelSelector": {"matchLabels": {"other": "x"}}}, []),
        # a selector virt-api cannot parse keeps every node
        ({"labelSelector": {"matchLabels": {"bad key": "x"}}, "includeOptionalNodes": False},
         ["VirtualMachineInstance", "DataVolume"]),
        ({"labelSelector": {"matchLabels": {"k": "bad value"}}}, ["VirtualMachineInstance",
                                                                  "VirtualMachineClusterInstancetype",
                                                                  "DataVolume", "NetworkAttachmentDefinition"]),
    ],
)
def test_sim_filters(options, kinds):
    out = simgraph.filter_nodes(NODES, options)
    assert [n["objectReference"]["kind"] for n in out] == kinds
    for n in out:  # children are filtered by the same rules
        if n["objectReference"]["kind"] == "DataVolume":
            assert [c["objectReference"]["kind"] for c in n["children"]] == ["PersistentVolumeClaim"]
    compute_only = simgraph.filter_nodes(NODES, {"labelSelector": {"matchLabels": {simgraph.DEPENDENCY_LABEL: "compute"}}})
    assert compute_only[0]["children"][0]["objectReference"]["kind"] == "Pod"


@pytest.mark.parametrize(
    ("key", "ok"),
    [("kubevirt.io/dependency-type", True), ("a", True), ("a b", False), ("/x", False), ("Bad_Prefix.io/x", False),
     ("x" * 64, False), ("example.com/" + "x" * 63, True)],
)
def test_label_keys(key, ok):
    assert simgraph._valid_key(key) is ok
