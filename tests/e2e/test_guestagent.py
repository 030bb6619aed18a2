"""guestosinfo / userlist / fslist against the simulator."""

from __future__ import annotations

import json

from tests.e2e.guestutil import VM, api_requests, running_vm

SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances"

GA = {
    "guestosinfo": {
        "guestAgentVersion": "3.1.0",
        "hostname": "<lab&host>",
        "extraField": "dropped",
        "os": {"name": "Fedora", "prettyName": "Fedora Linux 40", "id": "fedora"},
        "userList": [{"userName": "fedora", "loginTime": 1700000000.0}],
        "fsInfo": {"disks": []},
    },
    "userlist": {"items": [{"userName": "fedora", "domain": "", "loginTime": 1700000000.5, "x": 1}]},
    "filesystemlist": {"metadata": {}, "items": [
        {"diskName": "vda1", "mountPoint": "/", "fileSystemType": "xfs", "usedBytes": 966367641,
         "totalBytes": 1073741824},
        {"diskName": "vdb", "mountPoint": "/data/a-rather-long/mount/point", "fileSystemType": "ext4",
         "usedBytes": 0, "totalBytes": 0, "disk": [{"busType": "scsi"}]},
    ]},
}


def test_guestosinfo_prints_virtctl_json(sim, cli):
    running_vm(sim)
    sim.vmi("default", VM, guestAgent=GA)
    sim.clear_log()
    r = cli("guestosinfo", VM)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout == (
        '{\n  "guestAgentVersion": "3.1.0",\n  "hostname": "\\u003clab\\u0026host\\u003e",\n'
        '  "os": {\n    "name": "Fedora",\n    "prettyName": "Fedora Linux 40",\n    "id": "fedora"\n  },\n'
        '  "userList": [\n    {\n      "userName": "fedora",\n      "loginTime": 1700000000\n    }\n  ],\n'
        '  "fsInfo": {\n    "disks": []\n  }\n}\n'
    )
    assert api_requests(sim) == [("GET", f"{SUB}/{VM}/guestosinfo")]


def test_guestosinfo_minimal_answer_keeps_empty_structs(sim, cli):
    running_vm(sim)
    sim.vmi("default", VM, guestAgent={"guestosinfo": {"guestAgentVersion": "3.1.0"}})
    r = cli("guestosinfo", VM)
    assert r.returncode == 0, r.stderr
    assert r.stdout == '{\n  "guestAgentVersion": "3.1.0",\n  "os": {},\n  "fsInfo": {\n    "disks": null\n  }\n}\n'


def test_userlist_and_fslist_json(sim, cli):
    running_vm(sim)
    sim.vmi("default", VM, guestAgent=GA)
    r = cli("userlist", VM)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        '{\n  "metadata": {},\n  "items": [\n    {\n      "userName": "fedora",\n'
        '      "loginTime": 1700000000.5\n    }\n  ]\n}\n'
    )
    r = cli("fslist", VM, "-o", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert list(out) == ["metadata", "items"]
    assert list(out["items"][1]) == ["diskName", "mountPoint", "fileSystemType", "usedBytes", "totalBytes", "disk"]
    assert "disk" not in out["items"][0]
    assert ("GET", f"{SUB}/{VM}/filesystemlist") in api_requests(sim)


def test_tables_are_plain_text_when_piped(sim, cli):
    running_vm(sim)
    sim.vmi("default", VM, guestAgent=GA)
    r = cli("fslist", VM, "-o", "table")
    assert r.returncode == 0, r.stderr
    assert "\x1b[" not in r.stdout
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["DISK", "MOUNTED", "ON", "TYPE", "USED", "SIZE", "USE%"]
    vda = next(line for line in lines if line.startswith("vda1"))
    assert vda.split() == ["vda1", "/", "xfs", "922", "MiB", "1.0", "GiB", "90%"]
    assert all(len(line) <= 80 for line in lines)
    assert all(line == line.rstrip() for line in lines)
    r = cli("userlist", VM, "-o", "table")
    assert r.returncode == 0 and "fedora" in r.stdout and "\x1b[" not in r.stdout
    r = cli("guestosinfo", VM, "-o", "table")
    assert r.returncode == 0
    assert "Fedora Linux 40" in r.stdout and "<lab&host>" in r.stdout and "\x1b[" not in r.stdout


def test_yaml_output(sim, cli):
    running_vm(sim)
    sim.vmi("default", VM, guestAgent=GA)
    r = cli("userlist", VM, "-o", "yaml")
    assert r.returncode == 0, r.stderr
    # sigs.k8s.io/yaml (kubectl -o yaml) writes floats with strconv's 'g' format
    assert r.stdout == "items:\n- loginTime: 1.7000000005e+09\n  userName: fedora\nmetadata: {}\n"


def test_bad_output_format(sim, cli):
    r = cli("fslist", VM, "-o", "wide")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == "unsupported output format: wide (must be 'json', 'yaml' or 'table')"
    assert not any(p.endswith("/filesystemlist") for _, p in api_requests(sim))


def test_agent_not_connected(sim, cli):
    running_vm(sim)
    sim.vmi("default", VM, agentConnected=False)
    sim.clear_log()
    r = cli("guestosinfo", VM)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    log = json.loads(lines[0])
    assert log["level"] == "error" and log["msg"].startswith("cannot retrieve GuestOSInfo: ")
    assert lines[-1] == (
        f"Error getting guestosinfo of VirtualMachineInstance {VM}, the server reported a conflict "
        f"(get virtualmachineinstances.kubevirt.io {VM})"
    )
    r = cli("userlist", VM)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == (
        f'Error listing users of VirtualMachineInstance {VM}, Operation cannot be fulfilled on '
        f'virtualmachineinstance.kubevirt.io "{VM}": VMI does not have guest agent connected'
    )
    r = cli("fslist", VM)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1].startswith(f"Error listing filesystems of VirtualMachineInstance {VM}, ")


def test_missing_vmi_and_arg_count(sim, cli):
    r = cli("fslist", "nope")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == (
        'Error listing filesystems of VirtualMachineInstance nope, virtualmachineinstance.kubevirt.io "nope" not found'
    )
    for cmd in ("guestosinfo", "userlist", "fslist"):
        r = cli(cmd)
        assert r.returncode == 1
        assert r.stderr.splitlines()[-1] == "accepts 1 arg(s), received 0"
