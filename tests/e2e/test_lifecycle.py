"""start / stop / restart / migrate / migrate-cancel / pause / unpause / soft-reboot / reset / version,
end to end: the real CLI as a subprocess against the simulator over HTTPS with a bearer token.

Each test checks the request log (method, path, body, no Content-Type on subresource PUTs), the exact
stdout and stderr, and the exit status.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"
KV = "/apis/kubevirt.io/v1/namespaces/default"
PROBE = {"/apis/subresources.kubevirt.io", "/apis/subresources.kubevirt.io/v1/version"}


def vm(name: str, running: bool | None = None, strategy: str | None = None, labels: dict | None = None,
       namespace: str = "default") -> dict:
    spec: dict = {
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "domain": {"devices": {"interfaces": [{"name": "default", "masquerade": {}}]},
                           "resources": {"requests": {"memory": "128Mi"}}},
                "networks": [{"name": "default", "pod": {}}],
            },
        }
    }
    if running is not None:
        spec["running"] = running
    if strategy is not None:
        spec["runStrategy"] = strategy
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
    }


def api_calls(sim) -> list[dict]:
    """The request log without the version probe virtctl makes after an error."""
    return [r for r in sim.requests() if r["path"] not in PROBE]


def only_call(sim) -> dict:
    calls = api_calls(sim)
    assert len(calls) == 1, calls
    return calls[0]


def running_vm(sim, name: str = "testvm") -> None:
    sim.apply(vm(name, strategy="Always"))
    got = sim.wait_for("VirtualMachineInstance", "default", name,
                       lambda o: o and o.get("status", {}).get("phase") == "Running")
    assert got is not None, "the simulator did not start the VMI"
    sim.clear_log()


@pytest.fixture
def halted(sim):
    sim.apply(vm("testvm", strategy="Halted"))
    sim.clear_log()
    return sim


# ------------------------------------------------------------------ start


@pytest.mark.parametrize(
    ("flags", "body", "out"),
    [
        ([], {}, "VM testvm was scheduled to start\n"),
        (["--dry-run"], {"dryRun": ["All"]}, "Dry Run execution\nVM testvm was scheduled to start\n"),
        (["--paused"], {"paused": True}, "VM testvm was scheduled to start\n"),
        (["--paused=false"], {}, "VM testvm was scheduled to start\n"),
        (["--paused", "--dry-run"], {"paused": True, "dryRun": ["All"]},
         "Dry Run execution\nVM testvm was scheduled to start\n"),
    ],
)
def test_start(halted, cli, flags, body, out):
    r = cli("start", "testvm", *flags)
    assert (r.returncode, r.stdout, r.stderr) == (0, out, "")
    call = only_call(halted)
    assert (call["method"], call["path"], call["body"]) == ("PUT", f"{SUB}/virtualmachines/testvm/start", body)
    assert "content-type" not in call["headers"]
    assert call["headers"]["authorization"] == "Bearer ***"


def test_start_dry_run_changes_nothing(halted, cli):
    assert cli("start", "testvm", "--dry-run").returncode == 0
    assert halted.get("VirtualMachineInstance", "default", "testvm") is None
    assert halted.get("VirtualMachine", "default", "testvm")["spec"]["runStrategy"] == "Halted"


def test_start_missing_vm(sim, cli):
    r = cli("start", "nosuch")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith("Error starting VirtualMachine ")
    assert r.stderr.rstrip("\n").endswith('"nosuch" not found')
    assert r.stderr.count("\n") == 1  # one line: versions match, so no hint


def test_start_needs_one_name(sim, cli):
    r = cli("start")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "accepts 1 arg(s), received 0\n")
    assert api_calls(sim) == []


def test_start_already_running_is_a_conflict(sim, cli):
    running_vm(sim)
    r = cli("start", "testvm")
    assert r.returncode == 1
    assert r.stderr.startswith("Error starting VirtualMachine ")


# ------------------------------------------------------------------ stop / restart


@pytest.mark.parametrize(
    ("verb", "flags", "body", "out"),
    [
        ("stop", [], {}, "VM testvm was scheduled to stop\n"),
        ("stop", ["--dry-run"], {"dryRun": ["All"]}, "Dry Run execution\nVM testvm was scheduled to stop\n"),
        ("stop", ["--force", "--grace-period=0"], {"gracePeriod": 0}, "VM testvm was scheduled to stop\n"),
        ("stop", ["--force=true", "--grace-period", "30"], {"gracePeriod": 30}, "VM testvm was scheduled to stop\n"),
        # strconv.ParseInt(s, 0, 64), as the reference virtctl sends them
        ("stop", ["--force", "--grace-period=1_000"], {"gracePeriod": 1000}, "VM testvm was scheduled to stop\n"),
        ("stop", ["--force", "--grace-period=0o17"], {"gracePeriod": 15}, "VM testvm was scheduled to stop\n"),
        ("stop", ["--force", "--grace-period=0b101"], {"gracePeriod": 5}, "VM testvm was scheduled to stop\n"),
        ("restart", ["--force", "--grace-period=-0_0"], {"gracePeriodSeconds": 0},
         "VM testvm was scheduled to restart\n"),
        ("restart", [], {}, "VM testvm was scheduled to restart\n"),
        ("restart", ["--dry-run"], {"dryRun": ["All"]}, "Dry Run execution\nVM testvm was scheduled to restart\n"),
        ("restart", ["--force", "--grace-period=0"], {"gracePeriodSeconds": 0},
         "VM testvm was scheduled to restart\n"),
    ],
)
def test_stop_and_restart(sim, cli, verb, flags, body, out):
    running_vm(sim)
    r = cli(verb, "testvm", *flags)
    assert (r.returncode, r.stdout, r.stderr) == (0, out, "")
    call = only_call(sim)
    assert (call["method"], call["path"], call["body"]) == ("PUT", f"{SUB}/virtualmachines/testvm/{verb}", body)


@pytest.mark.parametrize("verb", ["stop", "restart"])
@pytest.mark.parametrize(
    ("flags", "out"),
    [(["--force"], ""), (["--grace-period=0"], ""), (["--dry-run", "--force"], "Dry Run execution\n")],
)
def test_force_and_grace_go_together(sim, cli, verb, flags, out):
    r = cli(verb, "testvm", *flags)
    assert (r.returncode, r.stdout, r.stderr) == (1, out, "Must both use --force=true and set --grace-period.\n")
    assert api_calls(sim) == []


def test_stop_missing_vm_message(sim, cli):
    r = cli("stop", "nosuch")
    assert r.returncode == 1
    assert r.stderr.startswith("error stopping VirtualMachine ")
    r = cli("stop", "nosuch", "--force", "--grace-period=0")
    assert r.stderr.startswith("error force stopping VirtualMachine: ")
    r = cli("restart", "nosuch")
    assert r.stderr.startswith("error restarting VirtualMachine: ")


# ------------------------------------------------------------------ migrate / migrate-cancel


@pytest.mark.parametrize(
    ("flags", "body"),
    [
        ([], {}),
        (["--dry-run"], {"dryRun": ["All"]}),
        (["--addedNodeSelector", "key1=value1,key2=value2"], {"addedNodeSelector": {"key1": "value1", "key2": "value2"}}),
        (["--dry-run", "--addedNodeSelector", "key2=value2,key1=value1"],
         {"dryRun": ["All"], "addedNodeSelector": {"key1": "value1", "key2": "value2"}}),
        (["--addedNodeSelector", "key1=value1", "--addedNodeSelector", "key2=value2"],
         {"addedNodeSelector": {"key1": "value1", "key2": "value2"}}),
    ],
)
def test_migrate(sim, cli, flags, body):
    running_vm(sim)
    r = cli("migrate", "testvm", *flags)
    out = ("Dry Run execution\n" if "--dry-run" in flags else "") + "VM testvm was scheduled to migrate\n"
    assert (r.returncode, r.stdout, r.stderr) == (0, out, "")
    call = only_call(sim)
    assert (call["method"], call["path"]) == ("PUT", f"{SUB}/virtualmachines/testvm/migrate")
    assert call["body"] == body
    migrations = sim.list("VirtualMachineInstanceMigration", "default")
    if "--dry-run" in flags:
        assert migrations == []
    else:
        assert len(migrations) == 1
        assert migrations[0]["metadata"]["name"].startswith("kubevirt-migrate-vm-")
        assert migrations[0]["spec"]["vmiName"] == "testvm"


@pytest.mark.parametrize("value", ["key1", "key1,key2"])
def test_migrate_bad_node_selector(sim, cli, value):
    r = cli("migrate", "testvm", "--addedNodeSelector", value)
    assert r.returncode == 1
    assert r.stderr == f'invalid argument "{value}" for "--addedNodeSelector" flag: {value} must be formatted as key=value\n'
    assert api_calls(sim) == []


def test_migrate_not_running(halted, cli):
    r = cli("migrate", "testvm")
    assert r.returncode == 1
    assert r.stderr.startswith("Error migrating VirtualMachine ")
    assert r.stderr.count("\n") == 1


def _migration(name: str, phase: str) -> dict:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstanceMigration",
        "metadata": {"name": name, "namespace": "default", "labels": {"kubevirt.io/vmi-name": "testvm"}},
        "spec": {"vmiName": "testvm"},
        "status": {"phase": phase},
    }


@pytest.fixture
def slow(sim):
    """A running VM, then a slow controller so that migrations stay where the test puts them."""
    running_vm(sim)
    sim.config(delay=60)
    yield sim
    sim.config(delay=0)


def test_migrate_cancel_deletes_the_running_migration(slow, cli):
    sim = slow
    sim.apply([_migration("done", "Succeeded"), _migration("testvm-migration", "Running")])
    sim.clear_log()
    r = cli("migrate-cancel", "testvm")
    assert (r.returncode, r.stdout, r.stderr) == (0, "VM testvm was scheduled to migrate-cancel\n", "")
    calls = api_calls(sim)
    assert [(c["method"], c["path"]) for c in calls] == [
        ("GET", f"{KV}/virtualmachineinstancemigrations"),
        ("DELETE", f"{KV}/virtualmachineinstancemigrations/testvm-migration"),
    ]
    assert parse_qsl(calls[0]["query"]) == [("labelSelector", "kubevirt.io/vmi-name==testvm")]
    assert calls[0]["query"] == "labelSelector=kubevirt.io%2Fvmi-name%3D%3Dtestvm"  # Go's url.Values.Encode
    assert calls[1]["body"] == {"kind": "DeleteOptions", "apiVersion": "kubevirt.io/v1"}
    assert calls[1]["headers"]["content-type"] == "application/json"


def test_migrate_cancel_nothing_to_cancel(slow, cli):
    sim = slow
    sim.apply(_migration("done", "Succeeded"))
    r = cli("migrate-cancel", "testvm")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "Found no migration to cancel for testvm\n")


def test_migrate_cancel_dry_run(slow, cli):
    sim = slow
    sim.apply(_migration("m1", "Running"))
    sim.clear_log()
    r = cli("migrate-cancel", "testvm", "--dry-run")
    assert r.stdout == "Dry Run execution\nVM testvm was scheduled to migrate-cancel\n"
    assert api_calls(sim)[1]["body"] == {"kind": "DeleteOptions", "apiVersion": "kubevirt.io/v1", "dryRun": ["All"]}
    assert sim.get("VirtualMachineInstanceMigration", "default", "m1") is not None


# ------------------------------------------------------------------ pause / unpause


@pytest.mark.parametrize("verb", ["pause", "unpause"])
@pytest.mark.parametrize("dry", [False, True])
def test_pause_vmi(sim, cli, verb, dry):
    running_vm(sim)
    if verb == "unpause":
        assert cli("pause", "vmi", "testvm").returncode == 0
        sim.clear_log()
    r = cli(verb, "vmi", "testvm", *(["--dry-run"] if dry else []))
    out = ("Dry Run execution\n" if dry else "") + f"VMI testvm was scheduled to {verb}\n"
    assert (r.returncode, r.stdout, r.stderr) == (0, out, "")
    call = only_call(sim)
    assert (call["method"], call["path"]) == ("PUT", f"{SUB}/virtualmachineinstances/testvm/{verb}")
    assert call["body"] == ({"dryRun": ["All"]} if dry else {})


def test_pause_vm_reads_the_vm_first(sim, cli):
    running_vm(sim)
    r = cli("pause", "VM", "testvm")
    assert (r.returncode, r.stdout) == (0, "VMI testvm was scheduled to pause\n")
    assert [(c["method"], c["path"]) for c in api_calls(sim)] == [
        ("GET", f"{KV}/virtualmachines/testvm"),
        ("PUT", f"{SUB}/virtualmachineinstances/testvm/pause"),
    ]
    vmi = sim.get("VirtualMachineInstance", "default", "testvm")
    assert any(c["type"] == "Paused" for c in vmi["status"].get("conditions", []))


def test_pause_vm_not_set_to_run(halted, cli):
    r = cli("pause", "vm", "testvm")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == "Error pausing VirtualMachineInstance testvm. VirtualMachine testvm is not set to run\n"


def test_pause_unknown_type_quirk(sim, cli):
    r = cli("pause", "pod", "x")
    assert (r.returncode, r.stdout, r.stderr) == (0, "VMI x was scheduled to pause\n", "")
    r = cli("unpause", "pod", "x")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert api_calls(sim) == []


@pytest.mark.parametrize("argv", [["pause"], ["unpause"], ["pause", "vm"]])
def test_pause_arg_count(sim, cli, argv):
    r = cli(*argv)
    assert (r.returncode, r.stderr) == (1, f"accepts 2 arg(s), received {len(argv) - 1}\n")


# ------------------------------------------------------------------ soft-reboot / reset


@pytest.mark.parametrize(("verb", "sub", "msg"), [("soft-reboot", "softreboot", "SoftReboot VMI"),
                                                  ("reset", "reset", "Reset VMI")])
def test_soft_reboot_and_reset(sim, cli, verb, sub, msg):
    running_vm(sim)
    r = cli(verb, "testvm")
    assert (r.returncode, r.stdout) == (0, f"VMI testvm was scheduled to {verb}\n")
    log = json.loads(r.stderr)
    assert (log["component"], log["level"], log["msg"]) == ("portforward", "info", msg)
    call = only_call(sim)
    assert (call["method"], call["path"], call["body"]) == ("PUT", f"{SUB}/virtualmachineinstances/testvm/{sub}", None)


@pytest.mark.parametrize(("verb", "msg", "prefix"), [("reset", "Reset VMI", "Error reseting"),
                                                    ("soft-reboot", "SoftReboot VMI", "Error soft rebooting")])
def test_reset_and_soft_reboot_missing(sim, cli, verb, msg, prefix):
    # virtctl v1.9.0's client logs before the request, so the log line comes first even on an error
    r = cli(verb, "nosuch")
    assert r.returncode == 1
    log, error = r.stderr.splitlines()
    assert (json.loads(log)["msg"], json.loads(log)["pos"].startswith("virtualmachineinstance_expansion.go:")) == (
        msg, True)
    assert error == f'{prefix} VirtualMachineInstance nosuch: virtualmachineinstance.kubevirt.io "nosuch" not found'


# ------------------------------------------------------------------ version, auth, transport


def test_version(sim, cli):
    r = cli("version")
    assert r.returncode == 0
    client, server = r.stdout.splitlines()
    assert client.startswith('Client Version: version.Info{GitVersion:"v1.9.0", GitCommit:"')
    assert server.startswith('Server Version: version.Info{GitVersion:"v1.9.0", ')
    assert [c["path"] for c in sim.requests()] == ["/apis/subresources.kubevirt.io",
                                                  "/apis/subresources.kubevirt.io/v1/version"]


def test_version_client_only_makes_no_request(sim, cli):
    r = cli("version", "--client")
    assert r.returncode == 0 and r.stdout.startswith("Client Version: ") and "Server" not in r.stdout
    assert sim.requests() == []


def test_version_skew_hint(sim, cli):
    sim.config(version="v1.7.2")
    r = cli("start", "nosuch")
    assert r.returncode == 1
    lines = r.stderr.split("\n")
    assert lines[:4] == [
        "You are using a client virtctl version that is different from the KubeVirt version running in the cluster",
        "Client Version: v1.9.0",
        "Server Version: v1.7.2",
        "",
    ]
    assert lines[4].startswith("Error starting VirtualMachine ")


def test_wrong_token_is_401(sim, cli):
    r = cli("start", "testvm", "--token", "wrong")
    assert r.returncode == 1
    from pyvirtctl.kube.session import UNAUTHORIZED_HINT

    assert r.stderr.rstrip("\n").splitlines()[-1] == "Error starting VirtualMachine Unauthorized" + UNAUTHORIZED_HINT


def test_unreachable_server(sim, cli):
    r = cli("start", "testvm", "--server", "https://127.0.0.1:1")
    assert r.returncode == 1
    assert r.stderr == (
        'Error starting VirtualMachine Put "https://127.0.0.1:1/apis/subresources.kubevirt.io/v1/namespaces/'
        'default/virtualmachines/testvm/start": dial tcp 127.0.0.1:1: connect: connection refused\n'
    )


def test_namespace_prefix_is_stripped(sim, cli):
    sim.apply(vm("other", strategy="Halted", namespace="ns2"))
    sim.clear_log()
    r = cli("start", "other", "-n", "namespaces/ns2")
    assert r.returncode == 0, r.stderr
    assert only_call(sim)["path"] == "/apis/subresources.kubevirt.io/v1/namespaces/ns2/virtualmachines/other/start"


def test_global_flags_after_the_subcommand(sim, cli):
    sim.apply(vm("other", strategy="Halted", namespace="ns2"))
    r = cli("start", "--namespace=ns2", "other", "--request-timeout=5s")
    assert r.returncode == 0, r.stderr


def test_no_traceback_on_bad_kubeconfig(run_cli_raw, tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("{not yaml: [")
    r = run_cli_raw(["--kubeconfig", str(bad), "start", "x"])
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
