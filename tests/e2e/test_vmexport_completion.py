"""TAB completion of `vmexport`: the function, export names, and names for --vm, --snapshot and --pvc."""

from __future__ import annotations

import pytest

from tests.e2e.completionutil import completer


@pytest.fixture
def complete(sim, monkeypatch, capsys, tmp_path):
    return completer(sim.kubeconfig, monkeypatch, capsys, tmp_path)


def test_vmexport_completes_functions_names_and_sources(sim, complete):
    sim.apply([
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "disk-a", "namespace": "default"},
         "spec": {"resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "vm-a", "namespace": "default"},
         "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}},
        {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
         "metadata": {"name": "snap-a", "namespace": "default"},
         "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm-a"}}},
        {"apiVersion": "export.kubevirt.io/v1", "kind": "VirtualMachineExport",
         "metadata": {"name": "exp-a", "namespace": "default"},
         "spec": {"source": {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": "disk-a"}}},
    ])
    sim.wait_for("VirtualMachineExport", "default", "exp-a", lambda o: o["status"].get("phase") == "Ready")
    assert complete("pyvirtctl --kubeconfig KC vmexport d") == [
        "delete\tdelete a VirtualMachineExport", "download\tdownload a volume or the manifests", ":4"]
    assert complete("pyvirtctl --kubeconfig KC vmexport download ") == ["exp-a\tReady", ":4"]
    assert complete("pyvirtctl --kubeconfig KC vmexport create ") == [":4"]  # a new name
    assert complete("pyvirtctl --kubeconfig KC vmexport create e --pvc ") == ["disk-a\tBound", ":4"]
    assert complete("pyvirtctl --kubeconfig KC vmexport create e --vm=") == ["--vm=vm-a\tStopped", ":4"]
    assert complete("pyvirtctl --kubeconfig KC vmexport create e --snapshot ") == ["snap-a\tSucceeded", ":4"]
    assert complete("pyvirtctl --kubeconfig KC vmexport download exp-a --manifest-output-format ") == [
        "yaml", "json", ":4"]
