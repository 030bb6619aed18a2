"""TAB for credentials, adm log-verbosity and objectgraph, in-process against the simulator."""

from __future__ import annotations

import pytest

from tests.e2e.completionutil import completer
from tests.e2e.test_completion_shells import vm, vmi


@pytest.fixture
def complete(sim, monkeypatch, capsys, tmp_path):
    sim.apply([vm("alpha", "default", False), vm("beta", "default", False), vmi("inst-a", "default")])
    assert sim.wait_for("VirtualMachineInstance", "default", "inst-a",
                        lambda o: o and o.get("status", {}).get("phase") == "Running")
    return completer(sim.kubeconfig, monkeypatch, capsys, tmp_path)


def test_vm_names(complete):
    for sub in ("add-ssh-key", "remove-ssh-key", "set-password"):
        assert complete(f"pyvirtctl --kubeconfig KC credentials {sub} -u root ") == [
            "alpha\tStopped", "beta\tStopped", ":4"], sub
    assert complete("pyvirtctl --kubeconfig KC credentials add-ssh-key a") == ["alpha\tStopped", ":4"]
    assert complete("pyvirtctl --kubeconfig KC credentials add-ssh-key alpha ") == [":4"]  # one VM only
    assert complete("pyvirtctl --kubeconfig KC credentials ") == [
        "add-ssh-key\tAdd credentials to a virtual machine.",
        "remove-ssh-key\tRemove credentials from a virtual machine.",
        "set-password\tSet password for a user", ":4"]


def test_objectgraph_names_follow_vmi(complete):
    assert complete("pyvirtctl --kubeconfig KC objectgraph ") == ["alpha\tStopped", "beta\tStopped", ":4"]
    assert complete("pyvirtctl --kubeconfig KC objectgraph --vmi ") == ["inst-a\tRunning", ":4"]
    assert complete("pyvirtctl --kubeconfig KC objectgraph --selector=kubevirt.io/dependency-type=s") == [
        "--selector=kubevirt.io/dependency-type=storage", ":4"]


def test_log_verbosity_levels_and_the_adm_group(complete):
    assert complete("pyvirtctl --kubeconfig KC adm log-verbosity --virt-handler=1") == [
        "--virt-handler=1", "--virt-handler=10\tshow the current level", ":4"]
    assert complete("pyvirtctl --kubeconfig KC adm ") == [
        "log-verbosity\tShow, Set or Reset log verbosity. The verbosity value must be 0-9. The default cluster config "
        "is normally 2.", ":4"]
