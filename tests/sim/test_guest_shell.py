"""The console guest's shell: commands users type first, and agreement with the guest agent and VMI status."""

from __future__ import annotations

import time

import pytest

from pyvirtctl.sim.streams.guest import GuestFacts, Shell, facts_from
from pyvirtctl.sim.streams.serial import SerialLine
from tests.sim.test_streams import NS, SUB, connect, login, read_until
from tests.sim.util import call, phase, vm


def _session(user: str = "root") -> SerialLine:
    facts = GuestFacts(ip="10.244.1.7", mac="02:aa:bb:cc:dd:ee", booted=time.time() - 3725)
    line = SerialLine("vm1", facts=lambda: facts)
    line.feed(b"\r" + user.encode() + b"\rpw\r")
    return line


def run(line: SerialLine, command: str) -> str:
    out = line.feed(command.encode() + b"\r")
    text = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in out).decode()
    echo, _, rest = text.partition("\r\n")
    assert echo == command
    body = rest[: rest.rfind("\r\n") + 2] if "\r\n" in rest else ""  # what comes before the next prompt
    return body.replace("\r\n", "\n")


@pytest.mark.parametrize(("command", "expected"), [
    ("ls", ""),  # a fresh home directory
    ("ls -a", ".  ..  .bash_logout  .bash_profile  .bashrc\n"),
    ("ls /", "bin  boot  dev  etc  home  lib  lib64  media  mnt  opt  proc  root  run  sbin  srv  sys  tmp  usr  var\n"),
    ("ls /nope", "ls: cannot access /nope: No such file or directory\n"),
    ("whoami; hostname", "root\nvm1\n"),
    ("false && echo no || echo yes; echo $?", "yes\n0\n"),
    ("false; echo $?", "1\n"),
    ("nosuch; echo $?", "-bash: nosuch: command not found\n127\n"),
    ("cat /etc/os-release | head -1", 'NAME="CentOS Linux"\n'),
    ("ip a | grep inet | wc -l", "3\n"),
    ("ls / | grep -v s | tail -n 2", "tmp\nvar\n"),
    ("echo hi > note; cat note; ls", "hi\nnote\n"),
    ("mkdir d && cd d && pwd", "/root/d\n"),
    ("cat /etc/redhat-release", "CentOS Linux release 7.6.1810 (Core)\n"),
    ("uname -r", "3.10.0-957.27.2.el7.x86_64\n"),
    ("ip r", "default via 10.244.1.1 dev eth0 proto dhcp metric 100 \n"
             "10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.7 metric 100 \n"),
])
def test_shell_commands(command: str, expected: str) -> None:
    assert run(_session(), command) == expected


def test_ip_a_uptime_date_and_prompt_follow_cwd() -> None:
    line = _session("centos")
    out = run(line, "ip a")
    assert "    link/ether 02:aa:bb:cc:dd:ee brd ff:ff:ff:ff:ff:ff\n" in out
    assert "    inet 10.244.1.7/24 brd 10.244.1.255 scope global dynamic eth0\n" in out
    assert " up  1:02,  1 user,  load average: 0.00, 0.01, 0.05\n" in run(line, "uptime")
    assert run(line, "date").endswith(" UTC " + run(line, "date +%Y"))
    out = line.feed(b"cd /etc\r")
    assert b"".join(x for x in out if isinstance(x, bytes)).endswith(b"[centos@vm1 etc]$ ")
    assert "os-release" in run(line, "ls").split()
    assert run(line, "sudo whoami") == "root\n" and run(line, "whoami") == "centos\n"


def test_facts_come_from_the_vmi_and_guest_agent() -> None:
    vmi = {"spec": {"domain": {"devices": {"interfaces": [{"name": "default", "bridge": {}}]}}},
           "status": {"interfaces": [{"ipAddress": "10.244.0.20", "mac": "02:01:02:03:04:05"}],
                      "phaseTransitionTimestamps": [{"phase": "Running",
                                                     "phaseTransitionTimestamp": "2025-01-01T00:00:00Z"}]}}
    info = {"os": {"kernelRelease": "6.1.0-test", "prettyName": "Test OS 1"}}
    f = facts_from(vmi, info)
    assert (f.ip, f.mac, f.kernel_release, f.pretty_name) == ("10.244.0.20", "02:01:02:03:04:05", "6.1.0-test",
                                                              "Test OS 1")
    vmi["spec"]["domain"]["devices"]["interfaces"] = [{"name": "default", "masquerade": {}}]
    assert facts_from(vmi, info).ip == "10.0.2.2"  # behind masquerade the guest has the NAT address
    assert Shell("h", lambda: f).run(["uname", "-r"]) == ("6.1.0-test\n", 0)


def test_console_agrees_with_guestosinfo_and_vmi_status(sim) -> None:
    body = vm("shell1", strategy="Always")
    body["spec"]["template"]["spec"]["hostname"] = "shell1"
    sim.apply(body)
    vmi = sim.wait_for("VirtualMachineInstance", NS, "shell1", lambda o: phase(o) == "Running")
    status, info = call(sim, "GET", SUB + "/virtualmachineinstances/shell1/guestosinfo")
    assert status == 200
    ws = connect(sim, SUB + "/virtualmachineinstances/shell1/console")
    try:
        login(ws, "shell1")
        ws.send_binary(b"uname -r; ip a\r")
        out = read_until(ws, b"]# ").decode()
        assert f"\r\n{info['os']['kernelRelease']}\r\n" in out
        assert f"inet {vmi['status']['interfaces'][0]['ipAddress']}/24 " in out  # bridge binding: the pod IP
        ws.send_binary(b"cat /etc/os-release\r")
        assert f'PRETTY_NAME="{info["os"]["prettyName"]}"' in read_until(ws, b"]# ").decode()
    finally:
        ws.shutdown()
