"""TAB completion of `template process` / `template create` names from the simulator (in-process)."""

from __future__ import annotations

import pytest

from pyvirtctl.app import COMMANDS
from tests.e2e.completionutil import completer


def template(name: str) -> dict:
    return {"apiVersion": "template.kubevirt.io/v1beta1", "kind": "VirtualMachineTemplate",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"virtualMachine": {"metadata": {"name": "x"}}}}


@pytest.fixture
def complete(sim, monkeypatch, capsys, tmp_path):
    sim.apply([template("fedora-small"), template("fedora-large"), template("windows")])
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "source-vm", "namespace": "default"},
               "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}})
    run = completer(sim.kubeconfig, monkeypatch, capsys, tmp_path)
    return lambda line: run(line, registry=COMMANDS)


def test_template_names(complete):
    assert complete("pyvirtctl --kubeconfig KC template process fed") == ["fedora-large", "fedora-small", ":4"]
    assert complete("pyvirtctl --kubeconfig KC template process --name w") == ["windows", ":4"]
    assert complete("pyvirtctl --kubeconfig KC template process windows ") == [":4"]  # one name only


def test_template_create_vm_names(complete):
    assert complete("pyvirtctl --kubeconfig KC template create --vm-name so") == ["source-vm\tStopped", ":4"]
