"""403 from RBAC (the simulator's --deny list, worded like kube-apiserver) and impersonation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pyvirtctl.sim.harness import REPO_ROOT, SimProcess


@pytest.fixture(scope="module")
def rbac_sim(tmp_path_factory):
    work = tmp_path_factory.mktemp("rbac")
    deny = work / "deny.json"
    deny.write_text(json.dumps([
        {"verb": "update", "resource": "virtualmachines", "subresource": "start", "namespace": "default"},
        {"resource": "virtualmachineinstances", "subresource": "pause"},
    ]))
    sim = SimProcess.start(work, seed=["default"], extra_args=["--deny", str(deny)])
    yield sim
    sim.stop()


def run(sim, *args):
    return subprocess.run([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, *args],
                          capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONPATH": REPO_ROOT, "HOME": str(sim.workdir)})


def test_forbidden_start(rbac_sim):
    r = run(rbac_sim, "start", "centos7-1905")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        'Error starting VirtualMachine virtualmachines.subresources.kubevirt.io "centos7-1905" is forbidden: '
        'User "sim-user" cannot update resource "virtualmachines/start" in API group '
        '"subresources.kubevirt.io" in the namespace "default"\n'
    )


def test_forbidden_names_the_impersonated_user(rbac_sim):
    r = run(rbac_sim, "pause", "vmi", "centos7-1905", "--as", "jane", "--as-group", "devs", "--as-group", "ops")
    assert r.returncode == 1
    assert 'User "jane" cannot update resource "virtualmachineinstances/pause"' in r.stderr
    sent = [q for q in rbac_sim.requests() if q["path"].endswith("/pause")][-1]["headers"]
    assert sent["impersonate-user"] == "jane"


def test_allowed_calls_still_work(rbac_sim):
    r = run(rbac_sim, "stop", "centos7-1905")
    assert (r.returncode, r.stdout) == (0, "VM centos7-1905 was scheduled to stop\n"), r.stderr
