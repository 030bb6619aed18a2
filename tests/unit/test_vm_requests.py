"""virtctl's unit tables for start/stop/restart/migrate/migrate-cancel/pause (virtctl.md §6.1-6.7),
as tables over the pure request builders, plus the --wait predicates and helpers."""

from __future__ import annotations

import pytest

from pyvirtctl.errors import CLIError, UsageError
from pyvirtctl.kubevirt import waiting
from pyvirtctl.kubevirt.bulk import Selection, validate_selection
from pyvirtctl.kubevirt.requests import (
    MigrateCancelOptions,
    MigrateOptions,
    StartOptions,
    StopOptions,
    migrate_request,
    migration_delete_request,
    migrations_list_request,
    pick_migration,
    restart_request,
    run_strategy,
    start_request,
    stop_request,
    validate_stop,
    vmi_action_request,
)

SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"
KV = "/apis/kubevirt.io/v1/namespaces/default"


def Request(method: str, path: str, query: list | None = None, body: object = None) -> tuple:  # noqa: N802
    """What the transport sends for a request: method, escaped path, query and body."""
    return (method, path, list(query or []), body)


def sent(req) -> tuple:
    return (req.method, req.path, list(req.query), req.body)


@pytest.mark.parametrize(
    ("options", "body"),
    [
        (StartOptions("testvm"), {}),
        (StartOptions("testvm", dry_run=True), {"dryRun": ["All"]}),
        (StartOptions("testvm", paused=True), {"paused": True}),
        (StartOptions("testvm", paused=True, dry_run=True), {"paused": True, "dryRun": ["All"]}),
    ],
)
def test_start_request(options, body):
    assert sent(start_request(options, "default")) == Request("PUT", f"{SUB}/virtualmachines/testvm/start", body=body)


@pytest.mark.parametrize(
    ("options", "stop_body", "restart_body"),
    [
        (StopOptions("testvm"), {}, {}),
        (StopOptions("testvm", dry_run=True), {"dryRun": ["All"]}, {"dryRun": ["All"]}),
        (StopOptions("testvm", force=True, grace_period=0), {"gracePeriod": 0}, {"gracePeriodSeconds": 0}),
        (StopOptions("testvm", force=True, grace_period=5, dry_run=True), {"gracePeriod": 5, "dryRun": ["All"]},
         {"gracePeriodSeconds": 5, "dryRun": ["All"]}),
    ],
)
def test_stop_and_restart_bodies(options, stop_body, restart_body):
    assert sent(stop_request(options, "default")) == Request("PUT", f"{SUB}/virtualmachines/testvm/stop", body=stop_body)
    assert sent(restart_request(options, "default")) == Request(
        "PUT", f"{SUB}/virtualmachines/testvm/restart", body=restart_body
    )


@pytest.mark.parametrize(
    ("force", "grace", "ok"),
    [(False, None, True), (True, 0, True), (True, 30, True), (True, None, False), (False, 0, False)],
)
def test_force_grace_validation(force, grace, ok):
    options = StopOptions("vm", force=force, grace_period=grace)
    if ok:
        validate_stop(options)
    else:
        with pytest.raises(CLIError, match=r"^Must both use --force=true and set --grace-period\.$"):
            validate_stop(options)


@pytest.mark.parametrize(
    ("options", "body"),
    [
        (MigrateOptions("testvm"), {}),
        (MigrateOptions("testvm", dry_run=True), {"dryRun": ["All"]}),
        (MigrateOptions("testvm", added_node_selector={"key2": "value2", "key1": "value1"}),
         {"addedNodeSelector": {"key1": "value1", "key2": "value2"}}),
        (MigrateOptions("testvm", dry_run=True, added_node_selector={"key1": "value1"}),
         {"dryRun": ["All"], "addedNodeSelector": {"key1": "value1"}}),
    ],
)
def test_migrate_request(options, body):
    req = migrate_request(options, "default")
    assert sent(req) == Request("PUT", f"{SUB}/virtualmachines/testvm/migrate", body=body)
    assert list(req.body) == list(body)  # dryRun before addedNodeSelector, as Go's struct order


def test_migrate_cancel_requests():
    o = MigrateCancelOptions("testvm")
    assert sent(migrations_list_request(o, "default")) == Request(
        "GET", f"{KV}/virtualmachineinstancemigrations", query=[("labelSelector", "kubevirt.io/vmi-name==testvm")]
    )
    delete = migration_delete_request(MigrateCancelOptions("testvm", dry_run=True), "default", "m1")
    assert delete.body == {"kind": "DeleteOptions", "apiVersion": "kubevirt.io/v1", "dryRun": ["All"]}
    assert delete.content_type == "application/json"


@pytest.mark.parametrize(
    ("phases", "picked"),
    [(["Running"], 0), (["Succeeded"], None), (["Succeeded", "Failed", "Scheduling"], 2), ([], None),
     ([None], 0)],
)
def test_pick_migration(phases, picked):
    items = [{"metadata": {"name": f"m{i}"}, "status": ({"phase": p} if p else {})} for i, p in enumerate(phases)]
    result = pick_migration(items)
    assert (result is None) if picked is None else (result is items[picked])


def test_pause_request():
    assert sent(vmi_action_request("pause", "default", "testvm", True)) == Request(
        "PUT", f"{SUB}/virtualmachineinstances/testvm/pause", body={"dryRun": ["All"]}
    )


@pytest.mark.parametrize(
    ("spec", "strategy"),
    [({}, "Halted"), ({"running": False}, "Halted"), ({"running": True}, "Always"), ({"runStrategy": "Manual"}, "Manual")],
)
def test_run_strategy(spec, strategy):
    assert run_strategy({"spec": spec}) == strategy


def test_run_strategy_both_set():
    with pytest.raises(ValueError, match="mutually exclusive"):
        run_strategy({"spec": {"running": True, "runStrategy": "Always"}})


# ------------------------------------------------------------------ selection


@pytest.mark.parametrize(
    ("sel", "error"),
    [
        (Selection(("a",)), None),
        (Selection(("a", "b")), None),
        (Selection((), selector="app=x"), None),
        (Selection((), all=True, all_namespaces=True), None),
        (Selection(()), "accepts 1 arg(s), received 0"),
        (Selection(("a",), selector="app=x"), "name cannot be provided when a selector is specified"),
        (Selection(("a",), all_namespaces=True), "a resource cannot be retrieved by name across all namespaces"),
        (Selection((), all_namespaces=True), "--all-namespaces needs --selector or --all"),
        (Selection((), selector="a=b", all=True), "--all cannot be combined with --selector"),
    ],
)
def test_selection(sel, error):
    if error is None:
        validate_selection(sel)
    else:
        with pytest.raises(UsageError, match="^" + error.replace("(", r"\(").replace(")", r"\)") + "$"):
            validate_selection(sel)


def test_single_is_virtctl_mode():
    assert Selection(("a",)).is_single
    assert not Selection(("a", "b")).is_single
    assert not Selection((), selector="x=y").is_single


# ------------------------------------------------------------------ --wait predicates


def vmi(phase: str, ready: bool = False, paused: bool = False, uid: str = "u1", node: str = "node01",
        reason: str = "") -> dict:
    conditions = []
    if ready:
        conditions.append({"type": "Ready", "status": "True"})
    if paused:
        conditions.append({"type": "Paused", "status": "True", "reason": "PausedByUser"})
    if reason:
        conditions.append({"type": "Synchronized", "status": "False", "reason": reason, "message": "boom"})
    return {"metadata": {"uid": uid}, "status": {"phase": phase, "nodeName": node, "conditions": conditions}}


@pytest.mark.parametrize(
    ("obj", "done", "failed"),
    [
        (None, False, False),
        (vmi("Pending"), False, False),
        (vmi("Scheduled"), False, False),
        (vmi("Running"), False, False),
        (vmi("Running", ready=True), True, False),
        (vmi("Failed", reason="Unschedulable"), False, True),
        (vmi("Succeeded"), False, True),
    ],
)
def test_started(obj, done, failed):
    p = waiting.started(obj)
    assert (p.done, p.failure is not None) == (done, failed)


def test_started_failure_says_why():
    p = waiting.started(vmi("Failed", reason="Unschedulable"))
    assert p.failure == "VMI failed: Synchronized (Unschedulable): boom"


def test_restart_waits_for_a_new_vmi():
    assert not waiting.started(vmi("Running", ready=True, uid="old"), "old").done
    assert waiting.started(vmi("Running", ready=True, uid="new"), "old").done


@pytest.mark.parametrize(("obj", "done"), [(None, True), (vmi("Running", ready=True), False), (vmi("Succeeded"), False)])
def test_stopped(obj, done):
    assert waiting.stopped(obj).done is done


def test_paused():
    assert waiting.paused(vmi("Running", paused=True), True).done
    assert not waiting.paused(vmi("Running"), True).done
    assert waiting.paused(vmi("Running"), False).done
    assert waiting.paused(None, True).failure


@pytest.mark.parametrize(
    ("phase", "done", "failed"),
    [("Pending", False, False), ("Running", False, False), ("Succeeded", True, False), ("Failed", False, True)],
)
def test_migrated(phase, done, failed):
    p = waiting.migrated({"status": {"phase": phase, "migrationState": {"targetNode": "node02"}}})
    assert (p.done, p.failure is not None, p.node) == (done, failed, "node02")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), ("2", 2), ("1.5m", 90)],
)
def test_parse_duration(text, seconds):
    assert waiting.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5x", "m", "5m3"])
def test_parse_duration_rejects(text):
    with pytest.raises(CLIError):
        waiting.parse_duration(text)


# ------------------------------------------------------------------ several names (issue: typos must not act)


@pytest.mark.parametrize(
    ("sel", "error"),
    [
        (Selection(("vm1", "false"), after_bare_bool=((1, "--paused"),)),
         "\"false\" after --paused would be taken as a VM name: a bool flag takes its value only with '=', "
         "write --paused=false"),
        (Selection(("vm1", "T"), after_bare_bool=((1, "-A"),)), "write -A=T"),
        (Selection(("vm1", "\u2014dry-run")),
         "\"\u2014dry-run\" looks like a flag written with the wrong dash (U+2014 instead of '-'): type it as --dry-run"),
        (Selection(("vm1", "\u2013n")), "type it as -n"),
        (Selection(("vm1", "")), None),  # an empty name is client-go's to refuse, later
        (Selection(("vm1", "vm2"), after_bare_bool=((1, "--paused"),)), None),  # not a Go bool: a name
        (Selection(("false",), after_bare_bool=((0, "--paused"),)), None),  # one name: virtctl's behaviour
        (Selection(("\u2014x",)), None),
    ],
)
def test_several_names_refuse_flag_like_words(sel, error):
    if error is None:
        validate_selection(sel)
    else:
        with pytest.raises(UsageError) as info:
            validate_selection(sel)
        assert info.value.message.endswith(error)
