"""The ready-made completers other commands attach (TYPE NAME, type/name targets, scp), the name cache,
and the `_<PROG>_COMPLETE` protocol, in-process against the simulator."""

from __future__ import annotations

import pytest

from pyvirtctl.cli import main
from tests.e2e.completionutil import completer
from tests.e2e.test_completion_shells import vm, vmi
from tests.unit.completion_demo import REGISTRY


@pytest.fixture
def seeded(sim):
    sim.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("default", "ns2")])
    sim.apply([vm("alpha", "default", False), vm("gamma", "ns2", False), vm("galaxy", "ns2", False)])
    sim.apply([vmi("inst-a", "default"), vmi("other", "ns2")])
    for ns, name in (("default", "inst-a"), ("ns2", "other")):  # let the controller bring them up
        assert sim.wait_for("VirtualMachineInstance", ns, name,
                            lambda o: o and o.get("status", {}).get("phase") == "Running")
    sim.apply({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceReplicaSet",
        "metadata": {"name": "rs-one", "namespace": "default"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"domain": {"devices": {}}}}},
    })
    return sim


@pytest.fixture
def complete(seeded, monkeypatch, capsys, tmp_path):
    run = completer(seeded.kubeconfig, monkeypatch, capsys, tmp_path)
    return lambda line, shell="fish", registry=REGISTRY: run(line, shell, registry)


def test_expose_type_then_names(complete):
    assert complete("pyvirtctl --kubeconfig KC expose vmirs ") == ["rs-one", ":4"]
    assert complete("pyvirtctl --kubeconfig KC expose vmi ") == ["inst-a\tRunning", ":4"]
    # the cursor is on the value of -n: namespaces
    assert complete("pyvirtctl --kubeconfig KC expose VirtualMachines g -n ns") == ["ns2\tActive", ":4"]
    assert complete("pyvirtctl --kubeconfig KC -n ns2 expose virtualmachines g") == [
        "galaxy\tStopped", "gamma\tStopped", ":4"]
    assert complete("pyvirtctl --kubeconfig KC expose vm alpha ") == [":4"]


def test_port_forward_targets(complete):
    assert complete("pyvirtctl --kubeconfig KC port-forward vm/") == ["vm/alpha\tStopped", ":4"]
    assert complete("pyvirtctl --kubeconfig KC port-forward vmi/inst-a/") == [
        "vmi/inst-a/default", "vmi/inst-a/ns2", ":4"]
    assert complete("pyvirtctl --kubeconfig KC -n ns2 port-forward jdoe@vmi/o") == ["jdoe@vmi/other\tRunning", ":4"]
    assert complete("pyvirtctl --kubeconfig KC port-forward v") == ["vmi/\tVirtualMachineInstance",
                                                                     "vm/\tVirtualMachine", ":6"]


def test_scp_remote_side_ends_with_a_colon(complete):
    assert complete("pyvirtctl --kubeconfig KC scp ./file jdoe@vm/al") == ["jdoe@vm/alpha:\tStopped", ":6"]
    assert complete("pyvirtctl --kubeconfig KC scp jdoe@vm/alpha:/tmp/x ") == [":0"]  # local: files


def test_vnc_names_and_subcommand(complete):
    assert complete("pyvirtctl --kubeconfig KC vnc ") == ["screenshot\tTake a screenshot", "inst-a\tRunning", ":4"]
    assert complete("pyvirtctl --kubeconfig KC vnc screenshot ") == ["inst-a\tRunning", ":4"]
    assert complete("pyvirtctl --kubeconfig KC vnc --vnc-type=t") == ["--vnc-type=tiger", ":4"]


def test_names_are_cached_per_namespace(complete, seeded, monkeypatch, tmp_path):
    monkeypatch.setenv("PYVIRTCTL_COMPLETION_CACHE_TTL", "300")
    assert complete("pyvirtctl --kubeconfig KC start ", registry=None) == ["alpha\tStopped", ":4"]
    assert complete("pyvirtctl --kubeconfig KC -n ns2 start ", registry=None)[:2] == ["galaxy\tStopped",
                                                                                      "gamma\tStopped"]
    seeded.clear_log()
    seeded.delete("VirtualMachine", "default", "alpha")
    # served from the cache: no API request, the deleted VM is still offered until the entry expires
    assert complete("pyvirtctl --kubeconfig KC start ", registry=None) == ["alpha\tStopped", ":4"]
    assert [r for r in seeded.requests() if "virtualmachines" in r["path"]] == []
    monkeypatch.setenv("PYVIRTCTL_COMPLETION_CACHE_TTL", "0")
    assert complete("pyvirtctl --kubeconfig KC start ", registry=None) == [":4"]
    logged = [r for r in seeded.requests() if "virtualmachines" in r["path"]]
    assert [(r["method"], r["path"]) for r in logged] == [
        ("GET", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines")]
    assert logged[0]["headers"]["authorization"] == "Bearer ***"


def test_unknown_instruction_is_one_line_on_stderr(monkeypatch, capsys):
    monkeypatch.setenv("_PYVIRTCTL_COMPLETE", "complete_tcsh")
    assert main(argv=[], argv0="pyvirtctl") == 1
    err = capsys.readouterr().err
    assert err == "unsupported completion instruction: complete_tcsh\n"


def test_lifecycle_verbs_offer_the_vms_they_make_sense_for(seeded, complete):
    """`start <TAB>` offers stopped VMs, `stop <TAB>` running ones; when no matching name is in such a
    state, every matching name is offered (the real commands' registry, not the demo one)."""
    from pyvirtctl.app import COMMANDS

    seeded.apply([vm("run-1", "default", True), vm("run-2", "default", True), vm("stopped-2", "default", False)])
    for name in ("run-1", "run-2"):
        assert seeded.wait_for("VirtualMachine", "default", name,
                               lambda o: o and o.get("status", {}).get("printableStatus") == "Running")

    def names(line: str) -> list[str]:
        return [x.split("\t")[0] for x in complete(f"pyvirtctl --kubeconfig KC {line}", registry=COMMANDS)[:-1]]

    assert names("start ") == ["alpha", "stopped-2"]
    assert names("stop ") == ["run-1", "run-2"]
    assert names("restart ") == ["run-1", "run-2"]
    assert names("migrate ") == ["run-1", "run-2"]
    assert names("pause vm ") == ["run-1", "run-2"]
    assert names("stop run-1 ") == ["run-2"]  # several names: the ones typed are not offered again
    # nothing qualifies among the matches: all matches are offered
    assert names("start run") == ["run-1", "run-2"]
    assert names("unpause vm ") == ["alpha", "run-1", "run-2", "stopped-2"]
    assert names("status ") == ["alpha", "run-1", "run-2", "stopped-2"]  # not a lifecycle verb: all
