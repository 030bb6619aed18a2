"""Several names on the lifecycle verbs must never turn a typo into an action.

virtctl refuses a second argument (`accepts 1 arg(s), received 2`); pyvirtctl takes several names,
so every named target is checked before any is acted on, words that were meant as a flag or a
flag's value are refused, and with one name the requests are exactly virtctl's.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_lifecycle import PROBE, running_vm, vm

SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"
KV = "/apis/kubevirt.io/v1/namespaces/default"


def calls(sim) -> list[tuple[str, str]]:
    return [(c["method"], c["path"]) for c in sim.requests() if c["path"] not in PROBE]


def halted(sim, *names: str) -> None:
    sim.apply([vm(n, strategy="Halted") for n in names])
    sim.clear_log()


def test_a_missing_name_means_nothing_is_sent(sim, cli):
    halted(sim, "vm1")
    r = cli("start", "vm1", "vm2")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ('virtualmachines.kubevirt.io "vm2" not found '
                        "(nothing was sent: every one of the 2 VMs must exist)\n")
    assert sorted(calls(sim)) == [("GET", f"{KV}/virtualmachines/vm1"), ("GET", f"{KV}/virtualmachines/vm2")]
    assert sim.get("VirtualMachineInstance", "default", "vm1") is None


def test_every_missing_name_is_named(sim, cli):
    halted(sim, "vm1")
    r = cli("stop", "x1", "vm1", "x2")
    assert r.returncode == 1
    assert r.stderr.startswith('virtualmachines.kubevirt.io "x1" not found; virtualmachines.kubevirt.io "x2" '
                               "not found (nothing was sent")
    assert all(method == "GET" for method, _ in calls(sim))


def test_an_invalid_name_among_several_stops_everything(sim, cli):
    halted(sim, "vm1")
    r = cli("start", "vm1", "../x")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ('Error starting VirtualMachine invalid resource name "../x": [may not contain \'/\'] '
                        "(nothing was sent to any of the 2 VMs)\n")
    assert sim.requests() == []  # not even the version probe: the command line was wrong


@pytest.mark.parametrize("word", ["true", "false", "1", "0", "t", "F", "TRUE", "False"])
@pytest.mark.parametrize(("verb", "flag"), [("start", "--paused"), ("start", "--dry-run"), ("stop", "--force")])
def test_a_go_bool_after_a_bare_bool_flag_is_refused(sim, cli, verb, flag, word):
    halted(sim, "vm1")
    r = cli(verb, "vm1", flag, word)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (f'"{word}" after {flag} would be taken as a VM name: a bool flag takes its value only '
                        f"with '=', write {flag}={word}\n")
    assert sim.requests() == []


def test_the_bool_check_also_sees_shorthands_and_pause(sim, cli):
    r = cli("pause", "vm", "a", "--dry-run", "false")
    assert r.stderr == ('"false" after --dry-run would be taken as a VMI name: a bool flag takes its value only '
                        "with '=', write --dry-run=false\n")
    r = cli("start", "--paused", "false", "vm1", "vm2")
    assert r.returncode == 1 and "write --paused=false" in r.stderr
    assert sim.requests() == []


def test_a_value_written_with_equals_is_fine(sim, cli):
    halted(sim, "vm1", "vm2")
    r = cli("start", "vm1", "--paused=false", "vm2")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["VM vm1 was scheduled to start", "VM vm2 was scheduled to start"]


@pytest.mark.parametrize("dash", ["\u2014", "\u2013", "\u2212", "\u2012", "\u2015"])
def test_a_typographic_dash_is_refused(sim, cli, dash):
    halted(sim, "vm1")
    r = cli("stop", "vm1", f"{dash}force", f"{dash}grace-period=0")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (f'"{dash}force" looks like a flag written with the wrong dash '
                        f"(U+{ord(dash):04X} instead of '-'): type it as --force\n")
    assert sim.requests() == []


def test_start_with_an_em_dash_dry_run_does_not_start(sim, cli):
    halted(sim, "vm1")
    r = cli("start", "vm1", "\u2014dry-run")
    assert r.returncode == 1 and "type it as --dry-run" in r.stderr
    assert sim.get("VirtualMachineInstance", "default", "vm1") is None


def test_one_name_stays_virtctl(sim, cli):
    # virtctl takes `false` as the VM name here (and --paused as true): so do we, with the same request
    r = cli("start", "--paused", "false")
    assert r.returncode == 1
    assert r.stderr == 'Error starting VirtualMachine virtualmachine.kubevirt.io "false" not found\n'
    assert [(c["method"], c["path"], c["body"]) for c in sim.requests() if c["path"] not in PROBE] == [
        ("PUT", f"{SUB}/virtualmachines/false/start", {"paused": True})
    ]
    halted(sim, "vm1")
    r = cli("start", "vm1")
    assert (r.returncode, r.stdout) == (0, "VM vm1 was scheduled to start\n")
    assert calls(sim) == [("PUT", f"{SUB}/virtualmachines/vm1/start")]  # no extra GET


def test_soft_reboot_takes_several_names(sim, cli):
    running_vm(sim, "a")
    running_vm(sim, "b")
    r = cli("soft-reboot", "a", "b")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["VMI a was scheduled to soft-reboot",
                                             "VMI b was scheduled to soft-reboot"]
    err = r.stderr.splitlines()
    assert [json.loads(line)["msg"] for line in err[:-1]] == ["SoftReboot VMI"] * 2
    assert err[-1] == "2 VMIs done: soft-reboot"
    puts = sorted(path for method, path in calls(sim) if method == "PUT")
    assert puts == [f"{SUB}/virtualmachineinstances/{n}/softreboot" for n in ("a", "b")]


def test_soft_reboot_by_selector(sim, cli):
    vms = [vm(n, strategy="Always") for n in ("w1", "w2", "other")]
    for v in vms[:2]:
        v["spec"]["template"]["metadata"]["labels"] = {"app": "w"}  # the instances carry the template's labels
    sim.apply(vms)
    for n in ("w1", "w2"):
        assert sim.wait_for("VirtualMachineInstance", "default", n,
                            lambda o: o and o.get("status", {}).get("phase") == "Running")
    r = cli("soft-reboot", "-l", "app=w")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["VMI w1 was scheduled to soft-reboot",
                                             "VMI w2 was scheduled to soft-reboot"]


def test_pause_several_vms_reads_each_vm_once(sim, cli):
    running_vm(sim, "a")
    running_vm(sim, "b")
    r = cli("pause", "vm", "a", "b")
    assert r.returncode == 0, r.stderr
    assert sorted(calls(sim)) == [("GET", f"{KV}/virtualmachines/a"), ("GET", f"{KV}/virtualmachines/b"),
                                  ("PUT", f"{SUB}/virtualmachineinstances/a/pause"),
                                  ("PUT", f"{SUB}/virtualmachineinstances/b/pause")]


def test_stop_all_reports_vms_already_stopped(sim, cli):
    halted(sim, "s1", "s2", "s3")
    running_vm(sim, "r1")
    r = cli("stop", "--all")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["VM r1 was scheduled to stop", "VM s1 is already stopped",
                                             "VM s2 is already stopped", "VM s3 is already stopped"]
    assert r.stderr == "4 VMs done: stop (3 already stopped)\n"


def test_start_by_selector_reports_vms_already_running(sim, cli):
    sim.apply([vm("up", strategy="Always", labels={"t": "x"}), vm("down", strategy="Halted", labels={"t": "x"})])
    assert sim.wait_for("VirtualMachineInstance", "default", "up",
                        lambda o: o and o.get("status", {}).get("phase") == "Running")
    r = cli("start", "-l", "t=x")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["VM down was scheduled to start", "VM up is already running"]


def test_named_vm_already_stopped_is_still_an_error(sim, cli):
    halted(sim, "s1")
    r = cli("stop", "s1")
    assert r.returncode == 1
    assert r.stderr == ('error stopping VirtualMachine Operation cannot be fulfilled on virtualmachine.kubevirt.io '
                        '"s1": VM is not running\n')
