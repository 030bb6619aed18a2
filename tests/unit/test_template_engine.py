"""The pieces behind `template process`: the expression generator, substitution, Go's typed
VirtualMachine (converter, encoding/json, json.Marshal) and the generated type table. Expected texts
are Go's (taken from the reference virtctl's answers in tests/fixtures/template_process_cases.json,
or from apimachinery's and encoding/json's documented formats)."""

from __future__ import annotations

import re

import pytest

from pyvirtctl.kubevirt.templates import engine, typed
from pyvirtctl.kubevirt.templates.vmtypes import LEAVES, ROOT, TYPES
from pyvirtctl.output import go_json

# --------------------------------------------------------------------------- the expression generator


@pytest.mark.parametrize(("expression", "shape"), [
    ("vm-[a-z0-9]{5}", r"vm-[a-z0-9]{5}"),
    ("[0-1]{8}", r"[01]{8}"),
    ("0x[A-F0-9]{4}", r"0x[A-F0-9]{4}"),
    ("test[0-9]{1}x", r"test[0-9]x"),
    (r"[\w]{6}", r"[A-Za-z0-9_]{6}"),
    (r"[\d]{3}-[\a]{2}", r"[0-9]{3}-[A-Za-z0-9]{2}"),
    (r"[\A]{4}", r"[!-/:-@\[-`{-~]{4}"),
    ("[a-c]{1}[a-c]{1}", r"[abc]{2}"),
    ("plain text", r"plain text"),
    ("[!]{3}", r"\[!\]\{3\}"),  # not an expression: kept as written
])
def test_generated_values_have_the_expression_shape(expression: str, shape: str) -> None:
    values = {engine.generate_expression(expression) for _ in range(40)}
    assert all(re.fullmatch(shape, v) for v in values), values
    if "{" in shape and "\\{" not in shape:
        assert len(values) > 1  # random, not fixed


@pytest.mark.parametrize(("expression", "error"), [
    ("[a-z]{0}", "range must be within [1-255] characters: 0"),
    ("[a-z]{256}", "range must be within [1-255] characters: 256"),
    ("[a-z]{ten}", 'malformed length syntax: strconv.Atoi: parsing "ten": invalid syntax'),
    ("[a-z]{99999999999999999999}",
     'malformed length syntax: strconv.Atoi: parsing "99999999999999999999": value out of range'),
    ("[z-a]{3}", "invalid range specified: z-a"),
    ("[A-z]{3}", "invalid range specified: A-z"),
])
def test_generator_errors(expression: str, error: str) -> None:
    with pytest.raises(engine.GeneratorError, match=re.escape(error)):
        engine.generate_expression(expression)


# --------------------------------------------------------------------------- substitution


def test_substitution_rules() -> None:
    values = {"A": "1", "B": "two", "C": "${A}"}
    assert engine.substitute("x-${A}-${B}-${A}", values) == ("x-1-two-1", True)
    assert engine.substitute("${{A}}", values) == ("1", False)  # the whole string: a raw value
    assert engine.substitute(" ${{A}}", values) == (" ${{A}}", True)  # not alone: left as it is
    assert engine.substitute("${{A}}\n", values) == ("${{A}}\n", True)
    # each reference found in the original text replaces the first occurrence in the text so far, as
    # virt-template does: ${C} brings in a ${A} that the next replacement takes instead of the original
    assert engine.substitute("${C}${A}", values) == ("1${A}", True)


def test_references_and_warnings() -> None:
    tpl = engine.decode_template(b"""spec:
  message: "${M}"
  parameters: [{name: A}, {name: UNUSED}, {name: M}]
  virtualMachine: {metadata: {name: "${A}", labels: {"${{K}}": v}}}
""")
    warnings, errors = engine.validate_references(tpl)
    assert warnings == ["spec.parameters[1].name: UNUSED is defined but never referenced"]
    assert errors == ['spec.virtualMachine: Invalid value: "K": references undefined parameter K']
    assert engine.aggregate(["a", "b", "a"]) == "[a, b]" and engine.aggregate(["a", "a"]) == "a"


def test_map_keys_and_values_become_json_values() -> None:
    text = """spec:
  parameters: [{name: "N", value: vm}, {name: K, value: '"team"'}, {name: CORES, value: '4'},
               {name: "ON", value: 'true'}, {name: OBJ, value: '{"b": 1, "a": [true]}'}]
  virtualMachine:
    metadata: {name: "${N}", labels: {"${{K}}": "${N}"}, annotations: {raw: "RAW"}}
    spec:
      running: "${{ON}}"
      template: {spec: {domain: {cpu: {cores: "${{CORES}}"}}}}
"""
    vm, message = engine.process(engine.decode_template(text.replace("RAW", "${N}").encode()))
    assert message == ""
    assert vm["metadata"] == {"name": "vm", "labels": {"team": "vm"}, "annotations": {"raw": "vm"}}
    assert vm["spec"]["running"] is True
    assert vm["spec"]["template"]["spec"]["domain"]["cpu"] == {"cores": 4}
    # `${{OBJ}}` gives an object, which an annotation (a string) cannot hold
    with pytest.raises(engine.TemplateError, match=re.escape(
            '"raw":{"a":[true],"b":1}}') + ".*failed to convert unstructured object to VirtualMachine: "
                                           "unrecognized type: string$"):
        engine.process(engine.decode_template(text.replace("RAW", "${{OBJ}}").encode()))
    # a map key must stay a string
    with pytest.raises(engine.TemplateError, match=re.escape(
            "error processing template: substituted value type float64 is not assignable to target type string")):
        engine.process(engine.decode_template(text.replace("'\"team\"'", "'5'").replace("RAW", "x").encode()))


# --------------------------------------------------------------------------- Go's typed VirtualMachine


def test_marshal_writes_go_field_order_and_empty_structs() -> None:
    vm = typed.from_unstructured({"metadata": {"name": "a", "creationTimestamp": None},
                                  "spec": {"template": {"spec": {"domain": {"memory": {"guest": "1024Mi"}}}}}})
    vm["TypeMeta"] = {"Kind": "VirtualMachine", "APIVersion": "kubevirt.io/v1"}
    assert go_json(typed.marshal(vm)) == (
        '{"kind":"VirtualMachine","apiVersion":"kubevirt.io/v1","metadata":{"name":"a"},'
        '"spec":{"template":{"metadata":{},"spec":{"domain":{"resources":{},"memory":{"guest":"1Gi"},'
        '"devices":{}}}}},"status":{}}')


@pytest.mark.parametrize(("obj", "error"), [
    ({"metadata": {"name": 5.0}}, "unrecognized type: string"),
    ({"spec": {"runStrategy": True}}, "unrecognized type: string"),
    ({"spec": {"dataVolumeTemplates": "x"}}, "cannot restore slice from string"),
    ({"spec": {"template": []}}, "cannot restore struct from: slice"),
    ({"metadata": {"labels": "x"}}, "cannot restore map from string"),
    ({"metadata": {"generation": 1.5}}, "cannot convert float64 to int64"),
    ({"spec": {"zed": 1.0, "foo": {}}, "metadata": {"bogus": True}, "status": {"x": 1.0}},
     'strict decoding error: unknown field "metadata.bogus", unknown field "spec.foo", unknown field "spec.zed", '
     'unknown field "status.x"'),
    ({"spec": {"dataVolumeTemplates": [{"spec": {"oops": 1.0}}]}},
     'strict decoding error: unknown field "spec.dataVolumeTemplates[0].spec.oops"'),
    # inside the VMI spec encoding/json decides: the first wrong value (keys in sorted order) stops it
    ({"spec": {"template": {"spec": {"domain": {"memory": {"guest": "lots"}, "cpu": {"cores": "2"}}}}}},
     "json: cannot unmarshal string into Go struct field VMISpecAlias.domain.cpu.cores of type uint32"),
    ({"spec": {"template": {"spec": {"domain": {"cpu": {"cores": 1e21}}}}}},
     "json: cannot unmarshal number 1e+21 into Go struct field VMISpecAlias.domain.cpu.cores of type uint32"),
    ({"spec": {"template": {"spec": {"domain": {"devices": {"disks": [{}, {"bootOrder": -1.0}]}}}}}},
     "json: cannot unmarshal number -1 into Go struct field VMISpecAlias.domain.devices.disks.1.bootOrder of type uint"),
    ({"spec": {"template": {"spec": {"nodeSelector": {"a": 1.0}}}}},
     "json: cannot unmarshal number into Go struct field VMISpecAlias.nodeSelector.a of type string"),
    ({"spec": {"template": {"spec": 5.0}}}, "json: cannot unmarshal number into Go value of type v1.VirtualMachineInstanceSpec"),
    ({"spec": {"template": {"spec": {"domain": {"memory": {"guest": "lots"}}}}}},
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
])
def test_conversion_errors(obj: dict, error: str) -> None:
    with pytest.raises(typed.TypedError) as e:
        typed.from_unstructured(obj)
    assert e.value.message == error


def test_vmi_spec_is_lenient() -> None:
    vm = typed.from_unstructured({"spec": {"template": {"spec": {
        "Domain": {"CPU": {"cores": 2.0}, "unknown": 1.0},
        "dnsConfig": {"nameservers": ["010.000.001.001", "::0:1", "not-an-ip"]}}}}})
    spec = typed.marshal(vm)["spec"]["template"]["spec"]
    assert spec["domain"] == {"resources": {}, "cpu": {"cores": 2}, "devices": {}}
    assert spec["dnsConfig"] == {"nameservers": ["10.0.1.1", "::1", "not-an-ip"]}


def test_server_answers_decode_with_their_number_literals() -> None:
    answer = typed.parse_json(b'{"spec": {"template": {"spec": {"terminationGracePeriodSeconds": 30, '
                              b'"domain": {"cpu": {"cores": 2.0}}}}}}')
    with pytest.raises(typed.TypedError, match="number 2.0 into Go struct field"):
        typed.decode_json(answer)
    ok = typed.parse_json(b'{"metadata": {"name": "x", "Labels": {"a": "b"}}, "spec": {"runStrategy": "Always"}}')
    assert typed.marshal(typed.decode_json(ok))["metadata"] == {"name": "x", "labels": {"a": "b"}}


def test_leaf_types() -> None:
    vm = typed.from_unstructured({
        "metadata": {"creationTimestamp": "2024-01-02T03:04:05+01:00"},
        "spec": {"template": {"spec": {"livenessProbe": {"httpGet": {"port": 8080.0}},
                                       "readinessProbe": {"tcpSocket": {"port": "http"}}}}}})
    out = typed.marshal(vm)
    assert out["metadata"] == {"creationTimestamp": "2024-01-02T02:04:05Z"}
    assert out["spec"]["template"]["spec"]["livenessProbe"]["httpGet"]["port"] == 8080
    assert out["spec"]["template"]["spec"]["readinessProbe"]["tcpSocket"]["port"] == "http"


def test_type_table_is_closed() -> None:
    """Every type a field names is in the table (or a leaf with its own JSON codec, or a basic type)."""
    basics = {"string", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32",
              "uint64", "float32", "float64", "any"}

    def names(expr: str) -> list[str]:
        return re.findall(r"[a-z]+\.[A-Za-z0-9]+|[a-z0-9]+", expr.replace("map[", " ").replace("]", " "))

    assert ROOT in TYPES
    for entry in TYPES.values():
        exprs = [f[2] for f in entry[2]] if entry[0] == "struct" else [entry[2]]
        for expr in exprs:
            for name in names(expr):
                assert name in TYPES or name in LEAVES or name in basics, (entry[1], expr)
    assert TYPES["kv.VirtualMachineInstanceSpec"][3] == "VMISpecAlias"
