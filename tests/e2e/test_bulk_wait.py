"""Several VMs at once, label selectors, --wait, list/status and the Python API, against the simulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pyvirtctl.sim.harness import REPO_ROOT
from tests.e2e.sighelpers import signal_a_helper_thread
from tests.e2e.test_lifecycle import PROBE, running_vm, vm


def fleet(sim, count: int, prefix: str = "web", labels: dict | None = None, namespace: str = "default",
          strategy: str = "Halted") -> list[str]:
    names = [f"{prefix}-{i:02d}" for i in range(count)]
    sim.apply([vm(n, strategy=strategy, labels=labels or {"app": prefix}, namespace=namespace) for n in names])
    return names


def phase(sim, name: str, namespace: str = "default") -> str | None:
    obj = sim.get("VirtualMachineInstance", namespace, name)
    return None if obj is None else obj.get("status", {}).get("phase")


def test_stop_several_names(sim, cli):
    for n in ("a", "b", "c"):
        running_vm(sim, n)
    r = cli("stop", "a", "b", "c")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == [f"VM {n} was scheduled to stop" for n in "abc"]
    assert r.stderr == "3 VMs done: stop\n"
    puts = sorted(c["path"] for c in sim.requests() if c["method"] == "PUT")
    assert puts == [f"/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/{n}/stop" for n in "abc"]


def test_one_failure_among_several_exits_1(sim, cli):
    running_vm(sim, "a")
    fleet(sim, 1, prefix="b")  # exists, but is stopped already: the server refuses that one
    sim.clear_log()
    r = cli("stop", "a", "b-00")
    assert r.returncode == 1
    assert r.stdout == "VM a was scheduled to stop\n"
    err = r.stderr.splitlines()
    assert err[0] == ('error stopping VirtualMachine Operation cannot be fulfilled on virtualmachine.kubevirt.io '
                      '"b-00": VM is not running')
    assert err[-1] == "1 of 2 VMs failed to stop"
    puts = sorted(c["path"] for c in sim.requests() if c["method"] == "PUT")
    assert puts == [f"/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/{n}/stop"
                    for n in ("a", "b-00")]


def test_start_by_selector_with_wait_50_vms(sim, cli):
    names = fleet(sim, 50, labels={"app": "web"})
    fleet(sim, 2, prefix="db", labels={"app": "db"})
    sim.config(delay=0.05)
    try:
        r = cli("start", "-l", "app=web", "--wait", "--timeout", "60s", "--parallel", "16", timeout=120)
    finally:
        sim.config(delay=0)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert sorted(line for line in lines if "scheduled" in line) == [f"VM {n} was scheduled to start" for n in names]
    running = sorted(line.split()[1] for line in lines if " is running" in line)
    assert running == names
    assert all(phase(sim, n) == "Running" for n in names)
    assert phase(sim, "db-00") is None  # the selector left the others alone
    # one watch for all of them, not one per VM, and no polling loop
    watches = [c for c in sim.requests() if "watch=true" in c["query"]]
    assert 1 <= len(watches) <= 3


def test_wait_reports_a_failed_vmi(sim, cli_home):
    fleet(sim, 1, prefix="bad")
    sim.config(delay=2)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "start", "bad-00", "--wait",
             "--timeout", "30s"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(cli_home),
            env={**os.environ, "PYTHONPATH": REPO_ROOT, "HOME": str(cli_home)},
        )
        assert sim.wait_for("VirtualMachineInstance", "default", "bad-00", lambda o: o is not None, timeout=10)
        sim.vmi("default", "bad-00", phase="Failed", reason="Unschedulable",
                message="0/3 nodes are available: insufficient memory")
        out, err = proc.communicate(timeout=30)
    finally:
        sim.config(delay=0)
    assert proc.returncode == 1
    assert out == "VM bad-00 was scheduled to start\n"
    progress, final = err.splitlines()[:-1], err.splitlines()[-1]
    assert progress[0] == "bad-00: no VMI yet (0s)"  # plain progress lines when stderr is not a terminal
    assert any(line.startswith("bad-00: Failed") for line in progress)
    assert final.startswith("VM bad-00: VMI failed: Ready (Unschedulable): 0/3 nodes are available")
    assert "last event: " in final


def test_wait_timeout_says_where_it_is(sim, cli):
    fleet(sim, 1, prefix="slow")
    sim.config(delay=30)
    try:
        r = cli("start", "slow-00", "--wait", "--timeout", "1s")
    finally:
        sim.config(delay=0)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1].startswith("VM slow-00: timed out waiting, currently ")


def test_stop_and_restart_wait(sim, cli):
    running_vm(sim, "w")
    old = sim.get("VirtualMachineInstance", "default", "w")["metadata"]["uid"]
    r = cli("restart", "w", "--wait", "--timeout", "30s")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1].startswith("VM w is running again")
    assert sim.get("VirtualMachineInstance", "default", "w")["metadata"]["uid"] != old
    r = cli("stop", "w", "--wait", "--timeout", "30s")
    assert (r.returncode, r.stdout) == (0, "VM w was scheduled to stop\nVM w is stopped\n")
    assert sim.get("VirtualMachineInstance", "default", "w") is None


def test_migrate_wait(sim, cli):
    running_vm(sim, "m")
    before = sim.get("VirtualMachineInstance", "default", "m")["status"]["nodeName"]
    r = cli("migrate", "m", "--wait", "--timeout", "30s")
    assert r.returncode == 0, r.stderr
    last = r.stdout.splitlines()[-1]
    assert last.startswith("VM m migrated to ")
    after = sim.get("VirtualMachineInstance", "default", "m")["status"]["nodeName"]
    assert after != before and last.endswith(after)


def test_pause_unpause_wait(sim, cli):
    running_vm(sim, "p")
    r = cli("pause", "vm", "p", "--wait")
    assert (r.returncode, r.stdout) == (0, "VMI p was scheduled to pause\nVMI p is paused\n"), r.stderr
    r = cli("unpause", "vmi", "p", "--wait")
    assert (r.returncode, r.stdout) == (0, "VMI p was scheduled to unpause\nVMI p is unpaused\n"), r.stderr


def test_all_namespaces_with_selector(sim, cli):
    fleet(sim, 2, prefix="x", labels={"team": "a"}, namespace="ns1")
    fleet(sim, 2, prefix="y", labels={"team": "a"}, namespace="ns2")
    r = cli("start", "-A", "-l", "team=a")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == sorted(
        [f"VM ns1/x-0{i} was scheduled to start" for i in range(2)]
        + [f"VM ns2/y-0{i} was scheduled to start" for i in range(2)]
    )


def test_selector_matching_nothing(sim, cli):
    r = cli("stop", "-l", "app=nothing")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "No resources found in default namespace.\n")


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        (["stop", "a", "-l", "x=y"], "name cannot be provided when a selector is specified\n"),
        (["stop", "-A", "a"], "a resource cannot be retrieved by name across all namespaces\n"),
        (["start", "a", "--wait", "--timeout", "soon"], 'invalid duration "soon"\n'),
    ],
)
def test_selection_errors(sim, cli, argv, err):
    r = cli(*argv)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", err)
    assert [c for c in sim.requests() if c["path"] not in PROBE] == []


# ------------------------------------------------------------------ list / status


def test_list_table_and_formats(sim, cli):
    running_vm(sim, "alpha")
    fleet(sim, 1, prefix="beta")
    r = cli("list", env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "READY", "NODE", "IP", "AGE"]
    alpha = lines[1].split()
    assert alpha[:3] == ["alpha", "Running", "True"] and alpha[3].startswith("node")
    assert lines[2].split()[:3] == ["beta-00", "Stopped", "False"]
    assert all(len(line) <= 80 for line in lines)
    assert "\x1b[" not in r.stdout
    assert cli("ls", "-o", "name").stdout == (
        "virtualmachine.kubevirt.io/alpha\nvirtualmachine.kubevirt.io/beta-00\n"
    )
    doc = json.loads(cli("list", "-o", "json").stdout)
    assert doc["kind"] == "List"
    assert [i["metadata"]["name"] for i in doc["items"]] == ["alpha", "beta-00"]
    wide = cli("list", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-2:] == ["RUNSTRATEGY", "VMI"]
    vmis = cli("list", "vmi").stdout.splitlines()
    assert vmis[0].split()[:2] == ["NAME", "PHASE"] and len(vmis) == 2


def test_list_json_round_trips_through_the_simulator(sim, cli):
    running_vm(sim, "rt")
    doc = json.loads(cli("list", "-o", "json").stdout)
    sim.reset()
    sim.apply(doc["items"])
    again = json.loads(cli("list", "-o", "json").stdout)
    assert [i["metadata"]["name"] for i in again["items"]] == ["rt"]
    assert again["items"][0]["spec"] == doc["items"][0]["spec"]


def test_list_all_namespaces(sim, cli):
    fleet(sim, 1, prefix="a", namespace="ns1")
    fleet(sim, 1, prefix="b", namespace="ns2")
    lines = cli("list", "-A").stdout.splitlines()
    assert lines[0].split()[0] == "NAMESPACE"
    assert [line.split()[:2] for line in lines[1:]] == [["ns1", "a-00"], ["ns2", "b-00"]]


def test_status(sim, cli):
    running_vm(sim, "s")
    assert cli("migrate", "s", "--wait").returncode == 0
    r = cli("status", "s")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "Name:          s\n" in text
    assert "Status:        Running\n" in text
    assert "Instance:      Running on node" in text
    assert "Last migration: kubevirt-migrate-vm-" in text and "Succeeded" in text
    # a second migration, usually within the same second as the first: the VMI's migrationUid decides
    assert cli("migrate", "s", "--wait").returncode == 0
    uid = sim.get("VirtualMachineInstance", "default", "s")["status"]["migrationState"]["migrationUid"]
    current = [m["metadata"]["name"] for m in sim.list("VirtualMachineInstanceMigration", "default")
               if m["metadata"]["uid"] == uid]
    assert len(current) == 1
    assert f"Last migration: {current[0]} Succeeded" in cli("status", "s").stdout
    assert "Volumes:" not in text or "NAME" in text
    doc = json.loads(cli("status", "s", "-o", "json").stdout)
    assert doc["vm"]["metadata"]["name"] == "s" and doc["vmi"]["status"]["phase"] == "Running"
    missing = cli("status", "nope")
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_list_watch_piped_prints_one_aligned_row_per_change(sim, cli_home):
    """Piped, `list -w` prints the table once, then a row for each object that changed (as `kubectl get -w`),
    with every column under its header; other VMs' rows are not reprinted."""
    fleet(sim, 2, prefix="quiet-with-a-long-name")
    sim.apply(vm("a", strategy="Halted"))
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "list", "-w"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": REPO_ROOT, "HOME": str(cli_home)})
    try:
        head = proc.stdout.readline()
        initial = [proc.stdout.readline() for _ in range(3)]
        sim.config(delay=0.05)
        r = subprocess.run([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "start",
                            "a", "--wait"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": REPO_ROOT, "HOME": str(cli_home)}, timeout=60)
        assert r.returncode == 0, r.stderr
        changes = []
        while not changes or "Running" not in changes[-1]:
            line = proc.stdout.readline()
            assert line, "list -w ended early"
            changes.append(line)
    finally:
        sim.config(delay=0)
        proc.kill()
        proc.wait(10)
    assert head.split() == ["NAME", "STATUS", "READY", "NODE", "IP", "AGE"]
    assert [line.split()[0] for line in initial] == ["a", "quiet-with-a-long-name-00", "quiet-with-a-long-name-01"]
    # only the started VM's row comes again, once per visible change
    assert {line.split()[0] for line in changes} == {"a"}
    assert len(changes) == len({tuple(line.split()[1:-1]) for line in changes})
    for line in [*initial, *changes]:
        assert line[head.index("STATUS") - 3:head.index("STATUS")] == "   ", (head, line)
        assert line[head.index("STATUS")] != " "
        assert line[head.index("AGE")] != " ", (head, line)


def test_list_watch_ends_on_a_ctrl_c_that_a_watch_thread_takes(sim, cli_home):
    """The kernel may hand the process's SIGINT to one of the watch threads instead of the main one; the
    watch must still end, as after a Ctrl+C the main thread takes (it waited on its queue for good)."""
    sim.apply(vm("a", strategy="Halted"))
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "list", "-w"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": REPO_ROOT, "HOME": str(cli_home)})
    try:
        assert proc.stdout.readline().split()[0] == "NAME"  # the watch threads run from here on
        assert proc.stdout.readline().split()[0] == "a"
        signal_a_helper_thread(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.wait(10)
    assert (proc.returncode, out, err) == (0, "", "")


def test_ctrl_c_during_wait_on_a_terminal_ends_the_status_line(sim, cli_home):
    """On a terminal, `--wait` draws a status line; Ctrl+C (the terminal echoes `^C` after it) must leave
    the cursor on a fresh line for the shell's prompt, and exit 130."""
    from tests.e2e.test_console import PtyRun

    running_vm(sim, "w")
    sim.config(delay=60)  # stopping never finishes
    run = PtyRun(sim, cli_home, "stop", "w", "--wait")
    try:
        run.expect(b"w: ")
        time.sleep(0.3)
        run.send(b"\x03")  # what the terminal sees when the user presses Ctrl+C: it echoes ^C
        run.expect(b"^C")
        run.proc.send_signal(signal.SIGINT)  # the signal the terminal would deliver
        assert run.wait() == 130
        tail = run.seen.rsplit(b"w: ", 1)[1]
        assert tail.endswith(b"^C\r\n"), tail  # the status line, ^C, then a newline: nothing after it
    finally:
        sim.config(delay=0)
        run.close()
