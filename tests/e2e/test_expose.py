"""`expose` end to end against the simulator: the requests on the wire, the POSTed Service body,
stdout/stderr/exit status, the Service left behind, and that its selector selects the VMI."""

from __future__ import annotations

import json

import pytest

NS = "default"
UID_FIELDS = ("uid",)

# the version-mismatch probe cli.main may run after an error; it is not part of the command's calls
PROBE_PATHS = ("/apis/subresources.kubevirt.io", "/apis/subresources.kubevirt.io/v1/version", "/version")


def calls(sim) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in sim.requests() if r["path"] not in PROBE_PATHS]


def posts(sim) -> list[dict]:
    return [r for r in sim.requests() if r["method"] == "POST"]


def vmi_spec(ports: list[dict] | None) -> dict:
    iface: dict = {"name": "default", "masquerade": {}}
    if ports is not None:
        iface["ports"] = ports
    return {
        "domain": {"devices": {"interfaces": [iface]}, "resources": {"requests": {"memory": "64M"}}},
        "networks": [{"name": "default", "pod": {}}],
    }


def vmi_obj(name: str, ports: list[dict] | None = None) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": name, "namespace": NS, "labels": {"vmi.kubevirt.io/id": name}},
            "spec": vmi_spec(ports)}


def vm_obj(name: str, ports: list[dict] | None = None, strategy: str = "Halted") -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"runStrategy": strategy, "template": {"metadata": {"labels": {"app": name}},
                                                           "spec": vmi_spec(ports)}}}


def vmirs_obj(name: str, ports: list[dict] | None = None, selector: dict | None = None) -> dict:
    sel = {"matchLabels": {"my-key": "my-value"}} if selector is None else selector
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceReplicaSet",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": 0, "selector": sel,
                     "template": {"metadata": {"labels": {"my-key": "my-value"}}, "spec": vmi_spec(ports)}}}


KIND_OF = {"vmi": "VirtualMachineInstance", "vm": "VirtualMachine", "vmirs": "VirtualMachineInstanceReplicaSet"}
MAKERS = {"vmi": vmi_obj, "vm": vm_obj, "vmirs": vmirs_obj}
PLURAL = {"vmi": "virtualmachineinstances", "vm": "virtualmachines", "vmirs": "virtualmachineinstancereplicasets"}


def seed(sim, short: str, name: str = "testvm", ports: list[dict] | None = None) -> dict:
    sim.apply(MAKERS[short](name, ports))
    return sim.get(KIND_OF[short], NS, name)


def expected_body(short: str, obj: dict, service: str, ports: list[dict], **spec_extra) -> dict:
    name = obj["metadata"]["name"]
    selector = {"my-key": "my-value"} if short == "vmirs" else {"vmi.kubevirt.io/id": name}
    spec = {"ports": ports, "selector": selector}
    spec.update(spec_extra)
    spec.setdefault("type", "ClusterIP")
    order = ["ports", "selector", "clusterIP", "type", "externalIPs", "ipFamilies", "ipFamilyPolicy"]
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {"name": service, "namespace": NS, "ownerReferences": [{
            "apiVersion": "kubevirt.io/v1", "kind": KIND_OF[short], "name": name,
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": False}]},
        "spec": {k: spec[k] for k in order if k in spec},
        "status": {"loadBalancer": {}},
    }


def assert_ordered_equal(actual, expected) -> None:
    """Equal, and every object's keys in the same order (the wire body follows Go's field order)."""
    assert actual == expected
    assert json.dumps(actual) == json.dumps(expected)


# --------------------------------------------------------------------------- the founding example


def test_founding_guide_command(sim, cli):
    sim.apply(vm_obj("centos7-1905", ports=None, strategy="Halted"))
    vm = sim.get("VirtualMachine", NS, "centos7-1905")
    sim.clear_log()
    r = cli("expose", "vm", "centos7-1905", "--name", "vmiservice-centos7", "--port", "8100",
            "--target-port", "8100")
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "Service vmiservice-centos7 successfully created for vm centos7-1905\n", "")
    assert calls(sim) == [
        ("GET", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines/centos7-1905"),
        ("POST", "/api/v1/namespaces/default/services"),
    ]
    post = posts(sim)[0]
    assert post["headers"]["content-type"] == "application/json"
    assert post["status"] == 201
    assert_ordered_equal(post["body"], expected_body(
        "vm", vm, "vmiservice-centos7", [{"protocol": "TCP", "port": 8100, "targetPort": 8100}]))
    svc = sim.get("Service", NS, "vmiservice-centos7")
    assert svc["spec"]["selector"] == {"vmi.kubevirt.io/id": "centos7-1905"}
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in svc["spec"]["ports"]] == [(8100, 8100, "TCP")]
    assert svc["metadata"]["ownerReferences"][0]["uid"] == vm["metadata"]["uid"]


def test_without_name_the_service_is_named_after_the_vm(sim, cli):
    sim.apply(vm_obj("centos7-1905"))
    vm = sim.get("VirtualMachine", NS, "centos7-1905")
    sim.clear_log()
    r = cli("expose", "vm", "centos7-1905", "--port", "8100")
    assert (r.returncode, r.stdout, r.stderr) == (0, "Service centos7-1905 successfully created for vm centos7-1905\n", "")
    assert_ordered_equal(posts(sim)[0]["body"], expected_body(
        "vm", vm, "centos7-1905", [{"protocol": "TCP", "port": 8100, "targetPort": ""}]))
    svc = sim.get("Service", NS, "centos7-1905")
    assert svc["spec"]["ports"][0]["targetPort"] == 8100  # the server defaulted the empty target port
    assert svc["spec"]["selector"] == {"vmi.kubevirt.io/id": "centos7-1905"}


def test_selector_matches_the_running_vmis_labels(sim, cli):
    """The label the simulator's controller puts on the VMI of a running VM is what the Service selects."""
    name = "centos7-1905"
    sim.apply([vm_obj(name, strategy="Always"), vm_obj("centos7-1906", strategy="Always")])
    vmi = sim.wait_for("VirtualMachineInstance", NS, name, lambda o: o is not None, timeout=10)
    sim.wait_for("VirtualMachineInstance", NS, "centos7-1906", lambda o: o is not None, timeout=10)
    r = cli("expose", "vm", name, "--port", "8100", "--target-port", "8100")
    assert r.returncode == 0, r.stderr
    svc = sim.get("Service", NS, name)
    labels = vmi["metadata"].get("labels") or {}
    assert svc["spec"]["selector"]
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()), (svc["spec"]["selector"], labels)
    # and through the API's own label selector
    status, _, raw = sim.request(
        "GET", f"/apis/kubevirt.io/v1/namespaces/{NS}/virtualmachineinstances?labelSelector="
        + ",".join(f"{k}%3D{v}" for k, v in svc["spec"]["selector"].items()))
    assert status == 200
    assert [i["metadata"]["name"] for i in json.loads(raw)["items"]] == [name]


def test_long_vm_name_selector_matches_vmi_label(sim, cli):
    name = "vm-" + "x" * 66
    sim.apply(vm_obj(name, strategy="Always"))
    vmi = sim.wait_for("VirtualMachineInstance", NS, name, lambda o: o is not None, timeout=10)
    r = cli("expose", "vm", name, "--name", "long-svc", "--port", "22")
    assert r.returncode == 0, r.stderr
    selector = sim.get("Service", NS, "long-svc")["spec"]["selector"]
    assert len(selector["vmi.kubevirt.io/id"]) == 63
    assert vmi["metadata"]["labels"]["vmi.kubevirt.io/id"] == selector["vmi.kubevirt.io/id"]


# --------------------------------------------------------------------------- success table


SPELLINGS = [
    ("vmi", "vmi"), ("vmi", "vmis"), ("vmi", "virtualmachineinstance"), ("vmi", "VirtualMachineInstances"),
    ("vm", "vm"), ("vm", "VMS"), ("vm", "virtualmachine"), ("vm", "virtualmachines"),
    ("vmirs", "vmirs"), ("vmirs", "vmirss"), ("vmirs", "VirtualMachineInstanceReplicaSet"),
    ("vmirs", "virtualmachineinstancereplicasets"),
]


@pytest.mark.parametrize("short, typed", SPELLINGS)
def test_s1_every_type_spelling(sim, cli, short, typed):
    obj = seed(sim, short)
    sim.clear_log()
    r = cli("expose", typed, "testvm", "--name", "my-service", "--port", "9999")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == f"Service my-service successfully created for {typed.lower()} testvm\n"
    assert calls(sim) == [("GET", f"/apis/kubevirt.io/v1/namespaces/default/{PLURAL[short]}/testvm"),
                          ("POST", "/api/v1/namespaces/default/services")]
    assert_ordered_equal(posts(sim)[0]["body"], expected_body(
        short, obj, "my-service", [{"protocol": "TCP", "port": 9999, "targetPort": ""}]))
    svc = sim.get("Service", NS, "my-service")
    assert svc["spec"]["selector"] == posts(sim)[0]["body"]["spec"]["selector"]


@pytest.mark.parametrize("short", ["vmi", "vm", "vmirs"])
def test_s2_introspected_ports(sim, cli, short):
    ports = [{"name": "a", "protocol": "TCP", "port": 80}, {"name": "b", "protocol": "UDP", "port": 81}]
    obj = seed(sim, short, ports=ports)
    sim.clear_log()
    r = cli("expose", short, "testvm", "--name", "my-service", "--protocol", "udp", "--port-name", "x")
    assert (r.returncode, r.stdout, r.stderr) == (0, f"Service my-service successfully created for {short} testvm\n", "")
    assert_ordered_equal(posts(sim)[0]["body"], expected_body(
        short, obj, "my-service",
        [{"name": "port-1", "protocol": "TCP", "port": 80, "targetPort": 0},
         {"name": "port-2", "protocol": "UDP", "port": 81, "targetPort": 0}]))
    svc = sim.get("Service", NS, "my-service")
    assert [(p["name"], p["port"], p["targetPort"], p["protocol"]) for p in svc["spec"]["ports"]] == [
        ("port-1", 80, 80, "TCP"), ("port-2", 81, 81, "UDP")]


@pytest.mark.parametrize(
    "args, ports, spec_extra",
    [
        (["--cluster-ip", "10.96.7.7"], None, {"clusterIP": "10.96.7.7"}),  # S3
        (["--external-ip", "1.2.3.4"], None, {"externalIPs": ["1.2.3.4"]}),  # S4
        (["--protocol", "UDP"], [{"protocol": "UDP", "port": 9999, "targetPort": ""}], {}),  # S5
        (["--target-port", "8000"], [{"protocol": "TCP", "port": 9999, "targetPort": 8000}], {}),  # S6
        (["--target-port", "http"], [{"protocol": "TCP", "port": 9999, "targetPort": "http"}], {}),  # S7
        (["--type", "NodePort"], None, {"type": "NodePort"}),  # S8
        (["--type", "loadbalancer"], None, {"type": "LoadBalancer"}),
        (["--port-name", "test-port"], [{"name": "test-port", "protocol": "TCP", "port": 9999, "targetPort": ""}],
         {}),  # S9
        (["--ip-family", "ipv4"], None, {"ipFamilies": ["IPv4"]}),  # S10
        (["--ip-family", "ipv6,ipv4"], None, {"ipFamilies": ["IPv6", "IPv4"], "ipFamilyPolicy": "PreferDualStack"}),
        (["--ip-family-policy", "RequireDualStack"], None, {"ipFamilyPolicy": "RequireDualStack"}),  # S14
        (["--cluster-ip", "None", "--type", "ClusterIP", "--ip-family", "IPv4,IPv6", "--ip-family-policy",
          "singlestack", "--external-ip", "5.6.7.8"], None,
         {"clusterIP": "None", "externalIPs": ["5.6.7.8"], "ipFamilies": ["IPv4", "IPv6"],
          "ipFamilyPolicy": "SingleStack"}),
    ],
)
def test_flags_reach_the_body(sim, cli, args, ports, spec_extra):
    obj = seed(sim, "vmi")
    sim.clear_log()
    r = cli("expose", "vmi", "testvm", "--name", "my-service", "--port", "9999", *args)
    assert (r.returncode, r.stdout, r.stderr) == (0, "Service my-service successfully created for vmi testvm\n", "")
    ports = ports or [{"protocol": "TCP", "port": 9999, "targetPort": ""}]
    assert_ordered_equal(posts(sim)[0]["body"], expected_body("vmi", obj, "my-service", ports, **spec_extra))
    assert sim.get("Service", NS, "my-service") is not None


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "accepts 2 arg(s), received 0"),  # F1
        (["vmi"], "accepts 2 arg(s), received 1"),  # F2
        (["vmi", "test", "invalid"], "accepts 2 arg(s), received 3"),  # F3
        (["kaboom", "my-vm", "--name", "my-service"], "unsupported resource type: kaboom"),  # F4
        (["vmpool", "my-vm", "--name", "my-service"], "unsupported resource type: vmpool"),
        (["vmi", "my-vm", "--name", "my-service", "--kaboom"], "unknown flag: --kaboom"),  # F5
        (["vmi", "my-vm", "--name", "my-service", "--protocol=madeup"], "unknown protocol: madeup"),  # F7
        (["vmi", "my-vm", "--name", "my-service", "--type=madeup"], "unknown service type: madeup"),  # F8
        (["vmi", "my-vm", "--name", "my-service", "--type=externalname"], "type: externalname not supported"),  # F9
        (["vmi", "my-vm", "--name", "my-service", "--ip-family=madeup"], "unknown IPFamily/s: madeup"),  # F10
        (["vmi", "my-vm", "--name", "my-service", "--ip-family-policy=madeup"],
         "unknown IPFamilyPolicy/s: madeup"),  # F11
        (["vmi", "my-vm", "--port", "http"],
         'invalid argument "http" for "--port" flag: strconv.ParseInt: parsing "http": invalid syntax'),
        (["vmi", "my-vm", "--port", "2147483648"],
         'invalid argument "2147483648" for "--port" flag: strconv.ParseInt: parsing "2147483648": '
         "value out of range"),
        (["vmi", "my-vm", "-o", "wide"],
         'unable to match a printer suitable for the output format "wide", allowed formats are: json,yaml'),
    ],
)
def test_errors_before_any_request(sim, cli, args, message):
    seed(sim, "vmi", name="my-vm", ports=[{"port": 22}])
    sim.clear_log()
    r = cli("expose", *args)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n")
    assert calls(sim) == []
    assert sim.list("Service", NS) == []


def test_f12_client_cannot_be_built(run_cli_raw, tmp_path):
    r = run_cli_raw(["--kubeconfig", str(tmp_path / "nope"), "expose", "vmi", "my-vm", "--name", "my-service"])
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines()[-1].startswith("cannot obtain KubeVirt client: ")
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "short, message",
    [
        ("vmi", 'error fetching VirtualMachineInstance: virtualmachineinstances.kubevirt.io "unknown" not found'),
        ("vm", 'error fetching VirtualMachine: virtualmachines.kubevirt.io "unknown" not found'),
        ("vmirs", "error fetching VirtualMachineInstanceReplicaSet: "
                  'virtualmachineinstancereplicasets.kubevirt.io "unknown" not found'),
    ],
)
def test_f13_f15_missing_resource(sim, cli, short, message):
    r = cli("expose", short, "unknown", "--name", "my-service")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n")
    assert calls(sim) == [("GET", f"/apis/kubevirt.io/v1/namespaces/default/{PLURAL[short]}/unknown")]


@pytest.mark.parametrize("short, ports", [("vmi", None), ("vmi", []), ("vm", None), ("vmirs", None)])
def test_f16_no_pod_network_ports(sim, cli, short, ports):
    seed(sim, short, ports=ports)
    sim.clear_log()
    r = cli("expose", short, "testvm", "--name", "my-service")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "couldn't find port via --port flag or introspection\n")
    assert [m for m, _ in calls(sim)] == ["GET"]


@pytest.mark.parametrize(
    "selector, message",
    [
        ({}, "cannot expose VirtualMachineInstanceReplicaSet without any selector labels"),  # F17
        ({"matchExpressions": [{"key": "test", "operator": "Exists"}]},
         "cannot expose VirtualMachineInstanceReplicaSet without any selector labels"),
        ({"matchLabels": {"my-key": "my-value"}, "matchExpressions": [{"key": "test", "operator": "Exists"}]},
         "cannot expose VirtualMachineInstanceReplicaSet with match expressions"),  # F18
    ],
)
def test_f17_f18_replica_set_selectors(sim, cli, selector, message):
    sim.apply(vmirs_obj("vmirs", ports=[{"port": 80}], selector=selector))
    sim.clear_log()
    r = cli("expose", "vmirs", "vmirs", "--name", "my-service", "--port", "9999")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n")
    assert [m for m, _ in calls(sim)] == ["GET"]


def test_existing_service(sim, cli):
    seed(sim, "vm")
    assert cli("expose", "vm", "testvm", "--name", "my-service", "--port", "22").returncode == 0
    sim.clear_log()
    r = cli("expose", "vm", "testvm", "--name", "my-service", "--port", "22")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", 'service creation failed: services "my-service" already exists\n')
    assert [(m, p) for m, p in calls(sim)][-1] == ("POST", "/api/v1/namespaces/default/services")
    assert posts(sim)[0]["status"] == 409


def test_f6_changed_name_is_optional(sim, cli):
    """virtctl requires --name; here the Service takes the resource's name."""
    obj = seed(sim, "vmi", name="my-vm", ports=[{"name": "ssh", "port": 22}])
    sim.clear_log()
    r = cli("expose", "vmi", "my-vm")
    assert (r.returncode, r.stdout, r.stderr) == (0, "Service my-vm successfully created for vmi my-vm\n", "")
    assert_ordered_equal(posts(sim)[0]["body"], expected_body(
        "vmi", obj, "my-vm", [{"name": "port-1", "port": 22, "targetPort": 0}]))


def test_namespace_flag(sim, cli):
    sim.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    vm = vm_obj("testvm")
    vm["metadata"]["namespace"] = "other"
    sim.apply(vm)
    sim.clear_log()
    r = cli("-n", "other", "expose", "vm", "testvm", "--port", "22")
    assert r.returncode == 0, r.stderr
    assert calls(sim) == [("GET", "/apis/kubevirt.io/v1/namespaces/other/virtualmachines/testvm"),
                          ("POST", "/api/v1/namespaces/other/services")]
    assert posts(sim)[0]["body"]["metadata"]["namespace"] == "other"
    assert sim.get("Service", "other", "testvm") is not None


# --------------------------------------------------------------------------- additions: --dry-run, -o


def test_dry_run_prints_yaml_and_creates_nothing(sim, cli):
    import yaml

    obj = seed(sim, "vm", ports=[{"port": 8100}])
    sim.clear_log()
    r = cli("expose", "vm", "testvm", "--dry-run")
    assert (r.returncode, r.stderr) == (0, "")
    assert_ordered_equal(yaml.safe_load(r.stdout), expected_body(
        "vm", obj, "testvm", [{"name": "port-1", "port": 8100, "targetPort": 8100}]))
    assert calls(sim) == [("GET", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines/testvm")]
    assert sim.list("Service", NS) == []
    # what it printed is what the server stores when the Service is really created
    assert cli("expose", "vm", "testvm").returncode == 0
    stored = sim.get("Service", NS, "testvm")["spec"]["ports"]
    assert [p["targetPort"] for p in stored] == [p["targetPort"] for p in yaml.safe_load(r.stdout)["spec"]["ports"]]


def test_dry_run_json(sim, cli):
    obj = seed(sim, "vmi")
    sim.clear_log()
    r = cli("expose", "vmi", "testvm", "--port", "80", "--dry-run", "-o", "json")
    assert (r.returncode, r.stderr) == (0, "")
    assert_ordered_equal(json.loads(r.stdout), expected_body(
        "vmi", obj, "testvm", [{"protocol": "TCP", "port": 80, "targetPort": 80}]))
    assert [m for m, _ in calls(sim)] == ["GET"]
    assert sim.list("Service", NS) == []


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_output_prints_the_created_service(sim, cli, fmt):
    import yaml

    seed(sim, "vm")
    r = cli("expose", "vm", "testvm", "--port", "80", "--type", "NodePort", f"--output={fmt}")
    assert (r.returncode, r.stderr) == (0, "")
    shown = json.loads(r.stdout) if fmt == "json" else yaml.safe_load(r.stdout)
    stored = sim.get("Service", NS, "testvm")
    assert shown["metadata"]["uid"] == stored["metadata"]["uid"]
    assert shown["spec"]["clusterIP"] == stored["spec"]["clusterIP"]  # allocated by the server
    assert shown["spec"]["ports"][0]["nodePort"] == stored["spec"]["ports"][0]["nodePort"]
