"""The pure manifest builders (pyvirtctl.kubevirt.manifests) used as a Python API, and their helpers:
Go's resource.Quantity, the `key:value` parameter grammar, go-yaml's scalar resolution and emitter.
Expected values were checked against the reference virtctl (see tests/fixtures/create_cases.json)."""

from __future__ import annotations

import json

import pytest

from pyvirtctl.errors import CLIError
from pyvirtctl.kube.quantity import Quantity
from pyvirtctl.kubevirt.manifests import clone, instancetype, params, template, vm
from pyvirtctl.kubevirt.manifests.decode import go_yaml_resolve
from pyvirtctl.kubevirt.manifests.params import ManifestError
from pyvirtctl.output import RawJSON, go_float_g, go_json, go_yaml


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("1024Mi", "1Gi"), ("1.5Gi", "1536Mi"), ("0.1", "100m"), ("1e3", "1e3"), ("1.5", "1500m"),
        ("1000000k", "1G"), ("01Gi", "01Gi"), ("+1Gi", "+1Gi"), ("-1Gi", "-1Gi"), ("1.0Gi", "1Gi"),
        ("0", "0"), ("00", "0"), ("1.23456789Ki", "1264197519360n"), ("2048", "2048"), ("1.5n", "2n"),
        ("123456789123456789123", "123456789123456789123"), ("1.G", "1.G"), ("0.5Ki", "512"),
    ],
)
def test_quantity_keeps_or_canonicalises_like_go(text: str, canonical: str) -> None:
    assert str(Quantity.parse(text)) == canonical


@pytest.mark.parametrize(
    "text,message",
    [
        ("1ki", "unable to parse quantity's suffix"),
        ("abc", "quantities must match the regular expression"),
        ("", "quantities must match the regular expression"),
        (" 1Gi", "quantities must match the regular expression"),
    ],
)
def test_quantity_errors(text: str, message: str) -> None:
    with pytest.raises(CLIError) as e:
        Quantity.parse(text)
    assert e.value.message.startswith(message)


def test_params_grammar() -> None:
    spec = {"name": "string", "bootorder": "uint", "size": "quantity", "headers": "list"}
    got = params.map_params("f", "name:a,bootorder:3,size:1024Mi,headers:a;b", spec)
    assert got["name"] == "a" and got["bootorder"] == 3 and str(got["size"]) == "1Gi" and got["headers"] == ["a", "b"]
    assert params.supported(spec) == "name:string,bootorder:uint,size:resource.Quantity,headers:[]string"
    for text, message in [
        ("", 'failed to parse "--f" flag: params may not be empty'),
        ("name", 'failed to parse "--f" flag: params need to have at least one colon: name'),
        ("bootorder:-1", 'failed to parse "--f" flag: failed to parse param "bootorder": '
                         'strconv.ParseUint: parsing "-1": invalid syntax'),
        ("colour:red", 'failed to parse "--f" flag: unknown param(s): colour:red'),
    ]:
        with pytest.raises(ManifestError) as e:
            params.map_params("f", text, spec)
        assert e.value.message == message
    assert params.split_prefixed_name("ns/x") == ("ns", "x")
    with pytest.raises(ManifestError, match="invalid count 2 of slashes"):
        params.split_prefixed_name("a/b/c")
    assert params.dns1123_label_errors("ok-1") == []
    assert params.dns1123_label_errors("a.b") == ["must not contain dots"]
    assert params.dns1123_label_errors("x" * 64) == ["must be no more than 63 characters"]


def test_build_vm_as_an_api() -> None:
    warnings: list[str] = []
    opts = vm.VMOptions(
        volume_import=["type:ds,src:ns/fedora,bootorder:1"],
        volume_blank=["size:1Gi"],
        user="fedora",
        password_file="pw",
    )
    names = iter(["zzzzz", "bbbbb", "ccccc"])
    got = vm.build_vm(opts, read_file=lambda path: b" secret \n", warn=warnings.append, rand=lambda: next(names))
    assert warnings == [
        "Flag --volume-blank has been deprecated, use flag --volume-import instead\n",
        "WARNING: --password-file: The password is stored in cleartext in the VM definition!\n",
    ]
    assert got["metadata"] == {"name": "vm-zzzzz"}
    spec = got["spec"]
    assert list(spec) == ["runStrategy", "instancetype", "preference", "template", "dataVolumeTemplates"]
    # the deprecated blank volume comes first; inference picks the lowest boot order
    assert [d["spec"].get("source", d["spec"].get("sourceRef")) for d in spec["dataVolumeTemplates"]] == [
        {"blank": {}}, {"kind": "DataSource", "namespace": "ns", "name": "fedora"}]
    assert spec["instancetype"] == {"inferFromVolume": "imported-volume-ccccc", "inferFromVolumeFailurePolicy": "Ignore"}
    volumes = spec["template"]["spec"]["volumes"]
    assert volumes[-1]["cloudInitNoCloud"]["userData"] == (
        "#cloud-config\nuser: fedora\npassword: secret\nchpasswd: { expire: False }")
    text = go_yaml(got)
    assert "  runStrategy: Always\n" in text and text.endswith("status: {}\n")


def test_a_non_default_value_counts_as_given() -> None:
    # memory differs from its default, so (like `--memory 1Gi`) it disables instancetype inference
    got = vm.build_vm(vm.VMOptions(name="a", memory="1Gi", volume_pvc=["src:disk"]))
    assert "instancetype" not in got["spec"] and got["spec"]["preference"]["inferFromVolume"] == "disk"
    with pytest.raises(ManifestError, match='invalid run strategy "sometimes"'):
        vm.build_vm(vm.VMOptions(run_strategy="sometimes"))
    with pytest.raises(ManifestError, match="no reader for the password file"):
        vm.build_vm(vm.VMOptions(password_file="pw"))


def test_other_builders() -> None:
    it = instancetype.build_instancetype(instancetype.InstancetypeOptions(cpu=2, memory="2048Mi", namespace="ns"),
                                         rand=lambda: "bbbbb")
    assert it == {"kind": "VirtualMachineInstancetype", "apiVersion": "instancetype.kubevirt.io/v1beta1",
                  "metadata": {"name": "instancetype-bbbbb", "namespace": "ns"},
                  "spec": {"cpu": {"guest": 2}, "memory": {"guest": "2Gi"}}}
    pref = instancetype.build_preference(instancetype.PreferenceOptions(cpu_topology="any"), rand=lambda: "ccccc")
    assert pref["kind"] == "VirtualMachineClusterPreference" and pref["spec"] == {"cpu": {"preferredCPUTopology": "any"}}
    c = clone.build_clone(clone.CloneOptions(source_name="s", source_type="snapshot"), rand=lambda: "ddddd")
    assert c["metadata"]["name"] == "clone-ddddd" and c["spec"]["source"]["kind"] == "VirtualMachineSnapshot"
    assert list(c["spec"]) == ["source", "target", "template"]


def test_template_conversion_keeps_the_object_text() -> None:
    tpl = template.decode_template(b'{"metadata": {"name": "t"}, "objects": [{"b": 1.50, "a": "<x>"}]}')
    vmt = template.convert_template(tpl)
    assert vmt["spec"]["virtualMachine"] == RawJSON('{"b": 1.50, "a": "<x>"}')
    assert go_json(vmt, " ").endswith('"virtualMachine": {\n   "b": 1.50,\n   "a": "\\u003cx\\u003e"\n  }\n }\n}')
    assert go_yaml(template.yaml_view(vmt)).endswith("spec:\n  virtualMachine:\n    a: <x>\n    b: 1.5\n")
    with pytest.raises(ManifestError, match="exactly one object, found 0"):
        template.convert_template(template.decode_template(b"objects: []\n"))


@pytest.mark.parametrize(
    "text,value",
    [("yes", True), ("Off", False), ("~", None), ("1e3", 1000.0), ("0x1F", 31), ("0777", 511), ("1_000", 1000),
     ("0b101", 5), ("2024-01-31", "2024-01-31"), ("2024-02-30", "2024-02-30"), ("12:30", "12:30"),
     ("1.2.3", "1.2.3"), (".5", 0.5), ("-.inf", float("-inf")), ("plain", "plain")],
)
def test_go_yaml_resolution(text: str, value: object) -> None:
    got = go_yaml_resolve(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("value,text", [(1e6, "1e+06"), (123456.0, "123456"), (1234567.0, "1.234567e+06"),
                                        (0.0001, "0.0001"), (1e-05, "1e-05"), (100.0, "100"), (-2.5, "-2.5")])
def test_go_float_g(value: float, text: str) -> None:
    assert go_float_g(value) == text


def test_go_yaml_emitter_shapes() -> None:
    doc = {"b": [{"y": 1, "x": []}, {}], "a": "line1\nline2\n", "n": None, "q": "yes", "10": 1, "9": 2}
    assert go_yaml(doc) == (
        '"9": 2\n"10": 1\na: |\n  line1\n  line2\nb:\n- x: []\n  "y": 1\n- {}\n"n": null\nq: "yes"\n'
    )
    long = "word " * 20
    assert go_yaml({"k": long.strip()}) == "k: " + "word " * 15 + "word\n  " + "word " * 3 + "word\n"
    assert json.loads(go_json({"k": RawJSON('{"z": [1, {}]}')})) == {"k": {"z": [1, {}]}}


def test_collection_paths_for_apply() -> None:
    from pyvirtctl.kubevirt.manifests.target import collection_path

    assert collection_path(vm.build_vm(vm.VMOptions(name="a")), "default") == (
        "/apis/kubevirt.io/v1/namespaces/default/virtualmachines")
    assert collection_path(vm.build_vm(vm.VMOptions(name="a", namespace="team")), "default") == (
        "/apis/kubevirt.io/v1/namespaces/team/virtualmachines")
    it = instancetype.build_instancetype(instancetype.InstancetypeOptions(cpu=1, memory="1Gi"))
    assert collection_path(it, "default") == "/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes"
    c = clone.build_clone(clone.CloneOptions(source_name="s"))
    assert collection_path(c, "x y") == "/apis/clone.kubevirt.io/v1beta1/namespaces/x%20y/virtualmachineclones"
