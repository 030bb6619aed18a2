"""virtctl's expose test table (virtctl.md §6.8) against the pure validation and Service builder."""

from __future__ import annotations

import hashlib
import json

import pytest

from pyvirtctl.commands.expose import render
from pyvirtctl.errors import CLIError
from pyvirtctl.kubevirt.expose import (
    VM,
    VMI,
    VMIRS,
    ExposeOptions,
    build_service,
    fetch_request,
    parse_int_or_string,
    pod_network_ports,
    resource_kind,
    service_create_request,
    validate_expose,
    vmi_id,
)

NAME = "testvmi-x7k2q"
UID = "0d4c6a7e-1111-2222-3333-444455556666"


def vmi_spec(ports: list[dict] | None = None) -> dict:
    return {
        "domain": {"devices": {"interfaces": [{"name": "default", "masquerade": {}, "ports": ports or []}]}},
        "networks": [{"name": "default", "pod": {}}],
    }


def make(kind, name: str = NAME, ports: list[dict] | None = None, selector: dict | None = None) -> dict:
    """The three fixtures of virtctl's test: a VMI, a VM of the same name, a VMIRS with my-key=my-value."""
    meta = {"name": name, "namespace": "default", "uid": UID}
    if kind is VMI:
        return {"kind": "VirtualMachineInstance", "metadata": meta, "spec": vmi_spec(ports)}
    if kind is VM:
        return {"kind": "VirtualMachine", "metadata": meta, "spec": {"template": {"spec": vmi_spec(ports)}}}
    meta["name"] = "vmirs"
    sel = {"matchLabels": {"my-key": "my-value"}} if selector is None else selector
    return {
        "kind": "VirtualMachineInstanceReplicaSet",
        "metadata": meta,
        "spec": {"template": {"spec": vmi_spec(ports)} if ports else {}, "selector": sel},
    }


def expected_selector(kind) -> dict:
    return {"my-key": "my-value"} if kind is VMIRS else {"vmi.kubevirt.io/id": NAME}


def build(kind, *, obj: dict | None = None, **flags) -> dict:
    o = ExposeOptions(type="x", name=NAME, service_name="my-service", **flags)
    return build_service(o, validate_expose(o), kind, obj if obj is not None else make(kind), "default")


KINDS = [pytest.param(k, id=k.kind) for k in (VMI, VM, VMIRS)]

# --------------------------------------------------------------------------- failure cases


@pytest.mark.parametrize("word", ["kaboom", "vmpool", "vmpools", "pod"])
def test_f4_unsupported_type(word):
    with pytest.raises(CLIError) as e:
        resource_kind(word)
    assert str(e.value) == f"unsupported resource type: {word}"


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"protocol": "madeup"}, "unknown protocol: madeup"),  # F7
        ({"service_type": "madeup"}, "unknown service type: madeup"),  # F8
        ({"service_type": "externalname"}, "type: externalname not supported"),  # F9
        ({"service_type": "ExternalName"}, "type: ExternalName not supported"),
        ({"ip_family": "madeup"}, "unknown IPFamily/s: madeup"),  # F10
        ({"ip_family": "ipv4, ipv6"}, "unknown IPFamily/s: ipv4, ipv6"),
        ({"ip_family_policy": "madeup"}, "unknown IPFamilyPolicy/s: madeup"),  # F11
        ({"output": "wide"}, 'unable to match a printer suitable for the output format "wide", '
         "allowed formats are: json,yaml"),
    ],
)
def test_flag_conversion_errors(flags, message):
    with pytest.raises(CLIError) as e:
        validate_expose(ExposeOptions(type="vmi", name="my-vm", service_name="my-service", **flags))
    assert str(e.value) == message


def test_conversion_order_is_protocol_type_family_policy():
    o = ExposeOptions("vmi", "x", protocol="p", service_type="t", ip_family="f", ip_family_policy="q")
    with pytest.raises(CLIError, match="^unknown protocol: p$"):
        validate_expose(o)
    with pytest.raises(CLIError, match="^unknown service type: t$"):
        validate_expose(ExposeOptions("vmi", "x", service_type="t", ip_family="f", ip_family_policy="q"))
    with pytest.raises(CLIError, match="^unknown IPFamily/s: f$"):
        validate_expose(ExposeOptions("vmi", "x", ip_family="f", ip_family_policy="q"))


@pytest.mark.parametrize("kind", [pytest.param(k, id=k.kind) for k in (VMI, VM)])
def test_f16_no_pod_network_ports(kind):
    with pytest.raises(CLIError) as e:
        build(kind)
    assert str(e.value) == "couldn't find port via --port flag or introspection"


@pytest.mark.parametrize(
    "spec",
    [
        {"domain": {"devices": {"interfaces": [{"name": "default", "ports": [{"port": 80}]}]}}},  # no networks
        {  # a multus network only
            "domain": {"devices": {"interfaces": [{"name": "net1", "ports": [{"port": 80}]}]}},
            "networks": [{"name": "net1", "multus": {"networkName": "x"}}],
        },
        {"domain": {"devices": {"interfaces": [{"name": "other", "ports": [{"port": 80}]}]}},
         "networks": [{"name": "default", "pod": {}}]},  # no interface for the pod network
        {},
    ],
)
def test_introspection_finds_nothing(spec):
    assert pod_network_ports(spec) == []
    obj = {"metadata": {"name": NAME, "uid": UID}, "spec": spec}
    with pytest.raises(CLIError, match="couldn't find port"):
        build(VMI, obj=obj)


def test_vm_without_template_needs_port():
    obj = {"metadata": {"name": NAME, "uid": UID}, "spec": {"runStrategy": "Always"}}
    with pytest.raises(CLIError, match="couldn't find port"):
        build(VM, obj=obj)
    assert build(VM, obj=obj, port=22)["spec"]["ports"] == [{"protocol": "TCP", "port": 22, "targetPort": ""}]


@pytest.mark.parametrize("selector", [None, {}, {"matchLabels": {}}, {"matchExpressions": [{"key": "test"}]}])
def test_f17_vmirs_without_selector_labels(selector):
    obj = make(VMIRS)
    if selector is None:
        del obj["spec"]["selector"]
    else:
        obj["spec"]["selector"] = selector
    with pytest.raises(CLIError) as e:
        build(VMIRS, obj=obj, port=9999)
    assert str(e.value) == "cannot expose VirtualMachineInstanceReplicaSet without any selector labels"


def test_f18_vmirs_with_match_expressions():
    obj = make(VMIRS, selector={"matchLabels": {"my-key": "my-value"}, "matchExpressions": [{"key": "test"}]})
    with pytest.raises(CLIError) as e:
        build(VMIRS, obj=obj, port=9999)
    assert str(e.value) == "cannot expose VirtualMachineInstanceReplicaSet with match expressions"


def test_vmirs_selector_error_comes_before_port_error():
    obj = make(VMIRS, selector={})
    with pytest.raises(CLIError, match="without any selector labels"):
        build(VMIRS, obj=obj)


# --------------------------------------------------------------------------- success cases


@pytest.mark.parametrize("kind", KINDS)
def test_s1_port_only(kind):
    svc = build(kind, port=9999)
    spec = svc["spec"]
    assert spec["ports"] == [{"protocol": "TCP", "port": 9999, "targetPort": ""}]
    assert spec["selector"] == expected_selector(kind)
    assert spec["type"] == "ClusterIP"
    for absent in ("clusterIP", "ipFamilies", "externalIPs", "ipFamilyPolicy"):
        assert absent not in spec
    assert svc["metadata"]["name"] == "my-service"


@pytest.mark.parametrize("kind", KINDS)
def test_s2_introspected_ports(kind):
    ports = [{"name": "a", "protocol": "TCP", "port": 80}, {"name": "b", "protocol": "UDP", "port": 81}]
    svc = build(kind, obj=make(kind, ports=ports), protocol="udp", target_port="http", port_name="ignored")
    assert svc["spec"]["ports"] == [
        {"name": "port-1", "protocol": "TCP", "port": 80, "targetPort": 0},
        {"name": "port-2", "protocol": "UDP", "port": 81, "targetPort": 0},
    ]
    assert svc["spec"]["selector"] == expected_selector(kind)


def test_introspected_port_without_protocol_omits_it():
    svc = build(VMI, obj=make(VMI, ports=[{"port": 8100}]))
    assert json.dumps(svc["spec"]["ports"]) == '[{"name": "port-1", "port": 8100, "targetPort": 0}]'


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "flags, field, value",
    [
        ({"cluster_ip": "1.2.3.4"}, "clusterIP", "1.2.3.4"),  # S3
        ({"cluster_ip": "None"}, "clusterIP", "None"),
        ({"external_ip": "1.2.3.4"}, "externalIPs", ["1.2.3.4"]),  # S4
        ({"service_type": "ClusterIP"}, "type", "ClusterIP"),  # S8
        ({"service_type": "NodePort"}, "type", "NodePort"),
        ({"service_type": "LoadBalancer"}, "type", "LoadBalancer"),
        ({"service_type": "nodeport"}, "type", "NodePort"),
        ({"ip_family": "ipv4"}, "ipFamilies", ["IPv4"]),  # S10
        ({"ip_family": "ipv6"}, "ipFamilies", ["IPv6"]),  # S11
        ({"ip_family": "ipv4,ipv6"}, "ipFamilies", ["IPv4", "IPv6"]),  # S12
        ({"ip_family": "IPv6,IPv4"}, "ipFamilies", ["IPv6", "IPv4"]),  # S13
        ({"ip_family_policy": "SingleStack"}, "ipFamilyPolicy", "SingleStack"),  # S14
        ({"ip_family_policy": "PreferDualStack"}, "ipFamilyPolicy", "PreferDualStack"),
        ({"ip_family_policy": "requiredualstack"}, "ipFamilyPolicy", "RequireDualStack"),
    ],
)
def test_spec_fields(kind, flags, field, value):
    spec = build(kind, port=9999, **flags)["spec"]
    assert spec[field] == value
    assert spec["ports"][0]["port"] == 9999
    assert spec["selector"] == expected_selector(kind)


@pytest.mark.parametrize("family, policy", [("ipv4", None), ("ipv6", None), ("ipv4,ipv6", "PreferDualStack"),
                                            ("ipv6,ipv4", "PreferDualStack")])
def test_s10_s13_default_policy(family, policy):
    assert build(VMI, port=9999, ip_family=family)["spec"].get("ipFamilyPolicy") == policy


def test_explicit_policy_wins_over_dual_stack_default():
    spec = build(VMI, port=9999, ip_family="ipv4,ipv6", ip_family_policy="RequireDualStack")["spec"]
    assert spec["ipFamilyPolicy"] == "RequireDualStack"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("protocol, expected", [("TCP", "TCP"), ("UDP", "UDP"), ("udp", "UDP"), ("Tcp", "TCP")])
def test_s5_protocol(kind, protocol, expected):
    assert build(kind, port=9999, protocol=protocol)["spec"]["ports"][0]["protocol"] == expected


@pytest.mark.parametrize("kind", KINDS)
def test_s6_s7_target_port(kind):
    assert build(kind, port=9999, target_port="8000")["spec"]["ports"][0]["targetPort"] == 8000
    assert build(kind, port=9999, target_port="http")["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize(
    "raw, value",
    [("8000", 8000), ("+22", 22), ("-1", -1), ("007", 7), ("", ""), ("http", "http"), ("0x10", "0x10"),
     ("1_000", "1_000"), (" 80", " 80"), ("4294967297", 1), ("2147483648", -2147483648),
     ("99999999999999999999", "99999999999999999999")],
)
def test_target_port_parsing(raw, value):
    parsed = parse_int_or_string(raw)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("kind", KINDS)
def test_s9_port_name(kind):
    assert build(kind, port=9999, port_name="test-port")["spec"]["ports"][0] == {
        "name": "test-port", "protocol": "TCP", "port": 9999, "targetPort": ""}


@pytest.mark.parametrize("kind", KINDS)
def test_s15_owner_reference(kind):
    svc = build(kind, port=9999)
    assert svc["metadata"]["ownerReferences"] == [{
        "apiVersion": "kubevirt.io/v1",
        "kind": kind.kind,
        "name": "vmirs" if kind is VMIRS else NAME,
        "uid": UID,
        "controller": True,
        "blockOwnerDeletion": False,
    }]


def test_exact_body_in_go_field_order():
    """The whole body, serialised: key order is Go's struct order, map keys sorted."""
    o = ExposeOptions("vmirs", "vmirs", service_name="svc", port=80, target_port="8080", port_name="web",
                      cluster_ip="10.0.0.9", external_ip="1.2.3.4", ip_family="ipv4,ipv6", service_type="nodeport")
    obj = make(VMIRS, selector={"matchLabels": {"zeta": "1", "alpha": "2"}})
    body = build_service(o, validate_expose(o), VMIRS, obj, "ns1")
    assert json.dumps(body, separators=(",", ":")) == (
        '{"kind":"Service","apiVersion":"v1","metadata":{"name":"svc","namespace":"ns1","ownerReferences":'
        '[{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstanceReplicaSet","name":"vmirs",'
        f'"uid":"{UID}","controller":true,"blockOwnerDeletion":false}}]}},'
        '"spec":{"ports":[{"name":"web","protocol":"TCP","port":80,"targetPort":8080}],'
        '"selector":{"alpha":"2","zeta":"1"},"clusterIP":"10.0.0.9","type":"NodePort",'
        '"externalIPs":["1.2.3.4"],"ipFamilies":["IPv4","IPv6"],"ipFamilyPolicy":"PreferDualStack"},'
        '"status":{"loadBalancer":{}}}'
    )


def test_service_name_defaults_to_resource_name():
    o = ExposeOptions("VM", "centos7-1905", port=8100)
    body = build_service(o, validate_expose(o), VM, make(VM, name="centos7-1905"), "default")
    assert body["metadata"]["name"] == "centos7-1905"
    assert o.kind_word == "vm"


# --------------------------------------------------------------------------- ID, requests, output


def test_vmi_id_short_names_unchanged():
    assert vmi_id("centos7-1905") == "centos7-1905"
    assert vmi_id("a" * 63) == "a" * 63


def test_vmi_id_long_names_hashed():
    name = "a-very-long-virtual-machine-name-that-does-not-fit-into-a-label-value"
    value = vmi_id(name)
    assert len(name) > 63 and len(value) == 63
    assert value == name[:54] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    assert vmi_id("b" * 64) == "b" * 54 + "-" + hashlib.sha1(b"b" * 64).hexdigest()[:8]


def test_long_vm_name_selector_uses_hash():
    name = "x" * 70
    svc = build(VM, obj=make(VM, name=name), port=22)
    assert svc["spec"]["selector"] == {"vmi.kubevirt.io/id": vmi_id(name)}
    assert svc["metadata"]["ownerReferences"][0]["name"] == name


@pytest.mark.parametrize(
    "kind, path",
    [
        (VMI, "/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstances/n"),
        (VM, "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/n"),
        (VMIRS, "/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstancereplicasets/n"),
    ],
)
def test_fetch_request(kind, path):
    r = fetch_request(kind, "ns", "n")
    assert (r.method, r.path, r.body) == ("GET", path, None)


def test_create_request():
    r = service_create_request("ns", {"kind": "Service"})
    assert (r.method, r.path, r.content_type, r.body) == (
        "POST", "/api/v1/namespaces/ns/services", "application/json", {"kind": "Service"})


@pytest.mark.parametrize(
    "word, kind",
    [(w, VMI) for w in ("vmi", "vmis", "virtualmachineinstance", "virtualmachineinstances")]
    + [(w, VM) for w in ("vm", "vms", "virtualmachine", "virtualmachines")]
    + [(w, VMIRS) for w in ("vmirs", "vmirss", "virtualmachineinstancereplicaset",
                            "virtualmachineinstancereplicasets")],
)
def test_type_aliases(word, kind):
    assert resource_kind(word) is kind


def test_render_json_and_yaml():
    svc = build(VMI, port=22)
    assert json.loads(render(svc, "json")) == svc
    assert render(svc, "json").startswith('{\n    "kind": "Service",\n    "apiVersion": "v1",')
    import yaml

    text = render(svc, "yaml")
    assert yaml.safe_load(text) == svc
    assert text.startswith("kind: Service\napiVersion: v1\n")
