"""The Python API (`pyvirtctl.Client`) against the simulator, in-process."""

from __future__ import annotations

import pytest

from pyvirtctl import Client
from pyvirtctl.errors import ApiError
from pyvirtctl.kubevirt import WaitError
from tests.e2e.test_lifecycle import vm


@pytest.fixture
def client(sim):
    c = Client.from_kubeconfig(sim.kubeconfig)
    yield c
    c.session.close()


def test_start_wait_stop_wait(sim, client):
    sim.apply(vm("api", strategy="Halted"))
    handle = client.vm("api")
    progress = handle.start(wait=True, timeout=30)
    assert progress.done and progress.phase == "Running" and progress.node.startswith("node")
    assert sim.get("VirtualMachineInstance", "default", "api")["status"]["phase"] == "Running"
    assert handle.stop(wait=True, timeout=30).done
    assert sim.get("VirtualMachineInstance", "default", "api") is None


def test_list_vms_with_selector_and_namespaces(sim, client):
    sim.apply([vm("a", labels={"tier": "web"}), vm("b", labels={"tier": "db"}),
               vm("c", labels={"tier": "web"}, namespace="other")])
    assert [v["metadata"]["name"] for v in client.list_vms(selector="tier=web")] == ["a"]
    names = sorted(v["metadata"]["name"] for v in client.list_vms(selector="tier=web", all_namespaces=True))
    assert names == ["a", "c"]
    assert [v["metadata"]["name"] for v in client.list_vms(namespace="other")] == ["c"]


def test_errors_carry_virtctl_text_and_status(sim, client):
    with pytest.raises(ApiError) as info:
        client.vm("missing").start()
    assert info.value.status == 404
    assert info.value.message.startswith("Error starting VirtualMachine ")


def test_migrate_and_pause(sim, client):
    sim.apply(vm("mig", strategy="Always"))
    assert sim.wait_for("VirtualMachineInstance", "default", "mig",
                        lambda o: o and o.get("status", {}).get("phase") == "Running")
    before = client.vmi("mig").get()["status"]["nodeName"]
    progress = client.vm("mig").migrate(wait=True, timeout=30)
    assert progress.done and progress.node != before
    assert client.vm("mig").pause(wait=True, timeout=10).done
    assert client.vm("mig").unpause(wait=True, timeout=10).done


def test_wait_error_on_timeout(sim, client):
    sim.apply(vm("late", strategy="Halted"))
    sim.config(delay=30)
    try:
        with pytest.raises(WaitError, match="timed out waiting"):
            client.vm("late").start(wait=True, timeout=1)
    finally:
        sim.config(delay=0)


def test_from_api_client(sim):
    kubernetes = pytest.importorskip("kubernetes")
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=sim.kubeconfig, client_configuration=cfg)
    api = kubernetes.client.ApiClient(cfg)
    client = Client.from_api_client(api, namespace="default")
    sim.apply(vm("k8s", strategy="Halted"))
    client.vm("k8s").start()
    assert sim.wait_for("VirtualMachineInstance", "default", "k8s",
                        lambda o: o and o.get("status", {}).get("phase") == "Running")
    put = [r for r in sim.requests() if r["method"] == "PUT"]
    assert put[-1]["path"].endswith("/virtualmachines/k8s/start") and put[-1]["headers"]["authorization"] == "Bearer ***"
    assert [v["metadata"]["name"] for v in client.list_vms()] == ["k8s"]
