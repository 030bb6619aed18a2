"""Unit tables for the guest-agent, volume, expand, evacuate and memory-dump helpers (spec §2.10-2.15, §6.10)."""

from __future__ import annotations

import io

import pytest

from pyvirtctl.commands import evacuate, expand, guestagent, volume
from pyvirtctl.errors import ApiError, CLIError
from pyvirtctl.kube import quantity
from pyvirtctl.kubevirt import export, requests
from pyvirtctl.kubevirt import memorydump as dump
from pyvirtctl.kubevirt import volume as bodies
from pyvirtctl.output import go_float, go_json, go_yaml, human_bytes, table_format, use_percent


# --------------------------------------------------------------------------- output helpers
@pytest.mark.parametrize("value,text", [
    (1700000000.0, "1700000000"), (1700000000.5, "1700000000.5"), (0.0, "0"), (1e21, "1e+21"),
    (1.5e-07, "1.5e-7"), (-0.25, "-0.25"), (123456789012345680.0, "123456789012345680"),
])
def test_go_float(value, text):
    assert go_float(value) == text


def test_go_json_layout_and_escapes():
    obj = {"b": [], "a": {}, "s": "<&>\u2028", "l": [1, True, None]}
    assert go_json(obj) == '{"b":[],"a":{},"s":"\\u003c\\u0026\\u003e\\u2028","l":[1,true,null]}'
    assert go_json({"x": [1]}, "  ") == '{\n  "x": [\n    1\n  ]\n}'


def test_go_yaml_quotes_like_go():
    text = go_yaml({"b": "true", "a": "", "c": "2024-01-01T00:00:00Z", "d": "plain", "e": "x: y", "n": 5})
    # go-yaml quotes a key that would read back as a bool too ("n", "y", "on": see create_cases.json)
    assert text == 'a: ""\nb: "true"\nc: "2024-01-01T00:00:00Z"\nd: plain\ne: \'x: y\'\n"n": 5\n'


def test_table_format_choice():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert table_format(None, io.StringIO()) == "json"
    assert table_format(None, Tty()) == "table"
    assert table_format("yaml", Tty()) == "yaml"
    with pytest.raises(CLIError):
        table_format("wide", io.StringIO())


@pytest.mark.parametrize("n,text", [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (10 << 30, "10 GiB"),
                                    (1465868288, "1.4 GiB")])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


def test_use_percent():
    assert use_percent(0, 0) is None
    assert use_percent(1, 3) == 34
    assert use_percent(50, 100) == 50


class _Tty(io.StringIO):
    def isatty(self):
        return True


FS = [{"diskName": "vda1", "mountPoint": "/", "fileSystemType": "xfs", "usedBytes": 95, "totalBytes": 100}]


def test_table_has_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    tty = _Tty()
    guestagent.print_filesystems(FS, tty)
    assert "\x1b[" in tty.getvalue()  # styled header and a red 95%
    monkeypatch.setenv("NO_COLOR", "1")
    tty = _Tty()
    guestagent.print_filesystems(FS, tty)
    assert "\x1b[" not in tty.getvalue() and "95%" in tty.getvalue()
    monkeypatch.delenv("NO_COLOR")
    piped = io.StringIO()
    guestagent.print_filesystems(FS, piped)
    assert "\x1b[" not in piped.getvalue() and "vda1" in piped.getvalue()


# --------------------------------------------------------------------------- guest agent structs
def test_guestosinfo_version_only():
    out = guestagent.virtctl_json(guestagent.guestosinfo_struct({"guestAgentVersion": "3.1.0"}))
    assert out == '{\n  "guestAgentVersion": "3.1.0",\n  "os": {},\n  "fsInfo": {\n    "disks": null\n  }\n}\n'


def test_list_envelopes():
    assert guestagent.userlist_struct({}) == {"metadata": {}, "items": None}
    fs = guestagent.fslist_struct({"kind": "K", "items": [{"diskName": "a", "disk": [{"busType": "scsi", "z": 1}]}]})
    assert fs == {"kind": "K", "metadata": {}, "items": [
        {"diskName": "a", "mountPoint": "", "fileSystemType": "", "usedBytes": 0, "totalBytes": 0,
         "disk": [{"busType": "scsi"}]}]}
    users = guestagent.userlist_struct({"items": [{"userName": "u", "domain": "", "loginTime": 0}]})
    assert users["items"] == [{"userName": "u"}]


def test_guest_requests():
    r = requests.guestosinfo_request("ns", "vm")
    assert (r.method, r.path, r.decode_status, r.verb, r.resource, r.name) == (
        "GET", "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachineinstances/vm/guestosinfo", False,
        "get", "virtualmachineinstances", "vm")
    assert requests.fslist_request("ns", "vm").path.endswith("/vm/filesystemlist")


# --------------------------------------------------------------------------- addvolume (§6.10)
DV = bodies.volume_source("dv", "testvolume")


@pytest.mark.parametrize("kw,name,disk", [
    ({}, "testvolume", {"name": "", "disk": {"bus": "scsi"}, "serial": "testvolume"}),
    ({"disk_type": "lun"}, "testvolume", {"name": "", "lun": {"bus": "scsi"}, "serial": "testvolume"}),
    ({"serial": "test"}, "testvolume", {"name": "", "disk": {"bus": "scsi"}, "serial": "test"}),
    ({"disk_name": "test"}, "test", {"name": "", "disk": {"bus": "scsi"}, "serial": "test"}),
    ({"disk_name": "test", "serial": "1234"}, "test", {"name": "", "disk": {"bus": "scsi"}, "serial": "1234"}),
    ({"cache": "writeback"}, "testvolume",
     {"name": "", "disk": {"bus": "scsi"}, "serial": "testvolume", "cache": "writeback"}),
    ({"bus": "virtio"}, "testvolume", {"name": "", "disk": {"bus": "virtio"}, "serial": "testvolume"}),
    ({"disk_name": "test", "volume_name": "v" * 64}, "test", {"name": "", "disk": {"bus": "scsi"}, "serial": "test"}),
])
def test_add_volume_body(kw, name, disk):
    o = bodies.AddVolumeOptions("testvmi", kw.pop("volume_name", "testvolume"), **kw)
    body = bodies.add_volume_body(o, DV)
    assert body["name"] == name and body["disk"] == disk and body["volumeSource"] == DV and "dryRun" not in body


@pytest.mark.parametrize("kw,msg", [
    ({"disk_type": "cdrom"}, "Invalid disk type 'cdrom'. Only LUN and Disk are supported."),
    ({"disk_type": "lun", "bus": "virtio"}, "Invalid bus type 'virtio' for LUN disk. Only 'scsi' bus is supported."),
    ({"volume_name": "v" * 64}, "Invalid volume name " + "v" * 64 + ", must not exceed 63 characters. "
                                "Use in conjunction with --disk-name to specify a shorter name"),
    ({"disk_name": "d" * 64}, "Invalid disk name " + "d" * 64 + ", must not exceed 63 characters"),
    ({"cache": "bad"}, "error adding volume, invalid cache value bad"),
])
def test_add_volume_body_errors(kw, msg):
    o = bodies.AddVolumeOptions("testvmi", kw.pop("volume_name", "testvolume"), **kw)
    with pytest.raises(CLIError) as e:
        bodies.add_volume_body(o, DV)
    assert e.value.message == msg


class FakeSession:
    """Records requests and answers from a script of exceptions (None = success)."""

    namespace = "default"

    def __init__(self, script):
        self.script = list(script)
        self.sent = []

    def send(self, req, error_prefix=""):
        self.sent.append(req)
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome.wrap(error_prefix) if error_prefix else outcome
        return None


RETRY = ApiError(volume.RETRYABLE, 422)


@pytest.mark.parametrize("script,calls,error", [
    ([None], 1, None),
    ([ApiError("fatal error", 500)], 1, "error adding volume, fatal error"),
    ([RETRY, None], 2, None),
    ([RETRY] * 15, 15, "error adding volume after 15 retries"),
    ([ApiError("nf", 404), None], 2, None),
])
def test_retry_loop(script, calls, error):
    s = FakeSession(script)
    reqs = requests.hotplug_requests("default", "testvmi", "addvolume", {"name": "x"})
    if error:
        with pytest.raises(CLIError) as e:
            volume.send_with_retry(s, reqs, "adding", sleep=lambda _: None)
        assert e.value.message == error
    else:
        volume.send_with_retry(s, reqs, "adding", sleep=lambda _: None)
    assert len(s.sent) == calls


def test_remove_volume_body():
    assert bodies.remove_volume_body("v", False) == {"name": "v"}
    assert bodies.remove_volume_body("v", True) == {"name": "v", "dryRun": ["All"]}


# --------------------------------------------------------------------------- evacuate-cancel (§6.10)
def test_evacuate_kinds_and_body():
    assert evacuate.resource_label("VMs") == "VM" and evacuate.resource_label("virtualmachineinstance") == "VMI"
    with pytest.raises(CLIError) as e:
        evacuate.resource_label("pod")
    assert e.value.message == 'unsupported resource type "pod"'
    req = requests.evacuate_cancel_request("VM", "default", "testvm", "Hello", False)
    assert req.path.endswith("/virtualmachines/testvm/evacuate/cancel") and req.body == {"evacuationNodeName": "Hello"}
    req = requests.evacuate_cancel_request("VMI", "default", "testvmi", "Hello", True)
    assert list(req.body.items()) == [("dryRun", ["All"]), ("evacuationNodeName", "Hello")]


# --------------------------------------------------------------------------- expand (§6.10)
def test_expand_validation_and_decode():
    with pytest.raises(CLIError, match="VirtualMachine name or file must be provided"):
        expand.validate_expand("", "", "yaml")
    with pytest.raises(CLIError, match="error not supported output format defined: test-format"):
        expand.validate_expand("testvm", "", "test-format")
    with pytest.raises(CLIError) as e:
        expand.decode_vm(b"apiVersion: kubevirt.io/v1kind: VirtualMachine")
    assert e.value.message == ("error decoding VirtualMachine error converting YAML to JSON: "
                               "yaml: mapping values are not allowed in this context")
    with pytest.raises(CLIError) as e:
        expand.read_vm("invalid/path")
    assert e.value.message == "error reading file open invalid/path: no such file or directory"
    vm = expand.go_typed({"kind": "VirtualMachine", "apiVersion": "kubevirt.io/v1",
                          "spec": {"template": {"spec": {}}, "running": False}, "metadata": {"name": "x"}})
    assert list(vm) == ["kind", "apiVersion", "metadata", "spec", "status"]
    assert vm["metadata"] == {"name": "x"}
    assert "creationTimestamp" not in vm["spec"]["template"]["metadata"]
    assert list(vm["spec"]) == ["running", "template"]
    assert expand.render({"metadata": {"name": "x"}}, "json").endswith("}")


# --------------------------------------------------------------------------- memory-dump (§6.10)
@pytest.mark.parametrize("memory,overhead,size", [
    ("1Gi", "0.055", "1186Mi"), (None, "0.055", "106Mi"), ("500M", "0.055", "638582784"),
    ("1Gi", "0", "1124Mi"), ("2Gi", "0.1", "2363Mi"),
])
def test_pvc_size(memory, overhead, size):
    assert dump.pvc_size(memory, overhead) == size


@pytest.mark.parametrize("value,fmt,text", [
    (1024, "BinarySI", "1Ki"), (1000, "BinarySI", "1k"), (3 * 2**30, "BinarySI", "3Gi"),
    (131072000, "DecimalSI", "131072k"), (5 * 10**9, "DecimalExponent", "5e9"), (0, "DecimalSI", "0"),
])
def test_format_quantity(value, fmt, text):
    assert quantity.format_quantity(value, fmt) == text


def test_cdi_overhead():
    cfg = {"status": {"filesystemOverhead": {"global": "0.06", "storageClass": {"fast": "0.1"}}}}
    assert dump.cdi_overhead(cfg, "") == "0.06"
    assert dump.cdi_overhead(cfg, "fast") == "0.1"
    assert dump.cdi_overhead(cfg, "slow") == "0.06"
    with pytest.raises(CLIError, match="CDI config not initialized"):
        dump.cdi_overhead({"status": {}}, "")


@pytest.mark.parametrize("mode,msg", [
    ("ReadOnlyMany", "cannot dump memory to a readonly pvc"), ("RWX", "invalid access mode"),
])
def test_pvc_access_modes(mode, msg):
    with pytest.raises(CLIError, match=msg):
        dump.pvc_body("c", "ns", "1Gi", "", mode)
    body = dump.pvc_body("c", "ns", "1Gi", "sc", "ReadWriteMany")
    assert body["spec"] == {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}},
                            "storageClassName": "sc"}


def test_memorydump_request_and_export():
    assert requests.memorydump_request("ns", "vm", "").body == {"claimName": "", "phase": ""}
    assert requests.remove_memorydump_request("ns", "vm").body is None
    info = dump.dump_export_info("vm", "claim", "ns", "out.gz", raw=True)
    assert (info.name, info.source, info.should_create, info.retries, info.decompress, info.readiness_timeout) == (
        "export-vm-claim", export.Source.pvc("claim"), True, 2, True, 120.0)
    pf = dump.dump_export_info("vm", "claim", "ns", "out.gz", port_forward=True, local_port="5410")
    assert (pf.port_forward, pf.local_port, pf.service_url) == (True, "5410", "127.0.0.1:5410")


@pytest.mark.parametrize(
    ("env", "tty", "colour"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # no-color.org: an empty value does not count
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "0"}, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),
        ({"TERM": "dumb"}, True, False),
        ({"TERM": "dumb", "FORCE_COLOR": "1"}, False, True),
    ],
)
def test_one_colour_policy(monkeypatch, env, tty, colour):
    from pyvirtctl import tables
    from pyvirtctl.output import use_colour

    for var in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    stream = _Tty() if tty else io.StringIO()
    assert use_colour(stream) is colour
    tables.print_table(["NAME", "STATUS"], [["vm", "Running"]], [1], stream=stream)
    assert ("\x1b[" in stream.getvalue()) is colour  # the tables follow the same policy
