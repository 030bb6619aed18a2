"""The Python API of credentials, log verbosity, object graphs and permitted devices: the same requests
as the commands, against the simulator."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import pytest
import yaml

from pyvirtctl import Client
from pyvirtctl.errors import ApiError, InputError
from pyvirtctl.kubevirt.credentials import KeyInputError
from pyvirtctl.sim.harness import REPO_ROOT
from tests.e2e.guestutil import vm_object

SEED_CR = yaml.safe_load(Path(REPO_ROOT, "pyvirtctl", "sim", "kubevirt-cr.yaml").read_text())
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPD5XIKPOeYB+KW6RKPJKKNeg337WQBxXb7yAAK4m5tQ user1@host"


@pytest.fixture
def client(sim):
    with Client.from_kubeconfig(sim.kubeconfig) as c:
        yield c


def test_credentials(sim, client, tmp_path):
    vm = vm_object("vm1", running=False)
    vm["spec"]["template"]["spec"]["accessCredentials"] = [
        {"userPassword": {"source": {"secret": {"secretName": "pw"}}, "propagationMethod": {"qemuGuestAgent": {}}}}]
    uid = sim.apply(vm)["metadata"]["uid"]
    sim.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": "default",
               "ownerReferences": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": "vm1", "uid": uid}]}})
    handle = client.vm("vm1")
    assert handle.add_ssh_key("fedora", key=KEY) == ""  # a new Secret
    (name,) = [s["metadata"]["name"] for s in sim.list("Secret", "default") if s["metadata"]["name"] != "pw"]
    assert handle.add_ssh_key("fedora", key="ssh-rsa AAAA") == f'Successfully added the key to secret "{name}"'
    assert handle.add_ssh_key("fedora", key=KEY) == f'Secret "{name}" already contains this SSH key.'
    key_file = tmp_path / "k.pub"
    key_file.write_text(KEY + "\n")
    assert handle.remove_ssh_key("fedora", file=str(key_file)) == ""
    data = sim.get("Secret", "default", name)["data"]
    assert sorted(base64.b64decode(v).decode() for v in data.values()) == ["ssh-rsa AAAA"]
    assert handle.remove_ssh_key("nobody", key="x") == "No secrets associated with user nobody"
    assert handle.set_password("root", "pw1") == 'Successfully set password in secret "pw"'
    assert sim.get("Secret", "default", "pw")["data"] == {"root": base64.b64encode(b"pw1").decode()}
    with pytest.raises(KeyInputError, match="^error getting ssh key: one of --file, or --value must be specified$"):
        handle.add_ssh_key("fedora")


def test_log_verbosity_and_devices(sim, client):
    cr = copy.deepcopy(SEED_CR)
    sim.apply(cr)
    assert client.log_verbosity() == {"virt-api": 2, "virt-controller": 2, "virt-handler": 2, "virt-launcher": 4,
                                      "virt-operator": 2}
    assert client.set_log_verbosity({"virt-handler": 7}) is True
    assert client.log_verbosity()["virt-handler"] == 7
    assert client.set_log_verbosity(reset=True) is True
    assert client.set_log_verbosity(reset=True) is False  # nothing left to reset: nothing sent
    assert set(client.log_verbosity().values()) == {2}
    for bad in ({"virt-nope": 1}, {"virt-api": 10}, {"virt-api": 12}):
        with pytest.raises(InputError):
            client.set_log_verbosity(bad)
    devices = client.permitted_devices("kubevirt")
    assert devices.host_devices == ["nvidia.com/TU104GL_Tesla_T4", "intel.com/qat"]
    assert devices.gpu_devices == ["nvidia.com/GRID_T4-1Q"]


def test_object_graph(sim, client):
    vm = vm_object("vm1", running=False)
    vm["spec"]["template"]["spec"]["volumes"].append({"name": "d", "dataVolume": {"name": "dv1"}})
    sim.apply(vm)
    graph = client.vm("vm1").object_graph()
    assert [c["objectReference"]["kind"] for c in graph["children"]] == ["DataVolume"]
    assert client.vm("vm1").object_graph(selector={"kubevirt.io/dependency-type": "compute"}).get("children") is None
    sim.clear_log()
    with pytest.raises(ApiError, match='virtualmachineinstance.kubevirt.io "vm1" not found'):
        client.vmi("vm1").object_graph(exclude_optional=True)
    assert sim.requests()[-1]["body"] == {"includeOptionalNodes": False}
