"""The import budget of the hot paths (not timed: it checks which modules a run loads).

`start --help`, a TAB press and `start VM` with a token in the kubeconfig must stay off the heavy
packages: kubernetes (only for exec/auth-provider credentials), rich tables, websocket-client.
`start VM` must not need urllib3 either (every request goes through kube/transport.py).
Each run is a real `python -m pyvirtctl` process; it reports its sys.modules through a tiny
sitecustomize-free wrapper (runpy + atexit), so nothing is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyvirtctl.sim.harness import REPO_ROOT

FORBIDDEN = ("kubernetes", "rich.table", "websocket")

_WRAPPER = r"""
import atexit, json, runpy, sys
out = sys.argv.pop(1)
def dump():
    with open(out, "w") as fh:
        json.dump(sorted(sys.modules), fh)
atexit.register(dump)
sys.argv[0] = "pyvirtctl"
runpy.run_module("pyvirtctl", run_name="__main__", alter_sys=True)
"""


def loaded_modules(tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str]:
    out = tmp_path / "modules.json"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
                "PYTHONPATH": REPO_ROOT, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, str(out), *args], capture_output=True, text=True,
                          env=full_env, timeout=60, cwd=str(home))
    assert out.exists(), proc.stderr
    return set(json.loads(out.read_text())), proc.stdout + proc.stderr


def heavy(modules: set[str], names: tuple[str, ...] = FORBIDDEN) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_wrapper_sees_what_a_run_imports(tmp_path: Path) -> None:
    # the probe must be able to fail: an explicit request for a heavy module shows up in the list
    modules, _ = loaded_modules(tmp_path, ["--help"])
    assert "pyvirtctl.app" in modules and "typer" in modules
    probe = tmp_path / "probe"
    probe.mkdir()
    out = probe / "m.json"
    subprocess.run([sys.executable, "-c", "import json, sys, rich.table; json.dump(sorted(sys.modules), "
                    f"open({str(out)!r}, 'w'))"], check=True, timeout=60)
    assert heavy(set(json.loads(out.read_text()))) == ["rich.table"]


def test_start_help_stays_light(tmp_path: Path) -> None:
    modules, output = loaded_modules(tmp_path, ["start", "--help"])
    assert "Start a virtual machine" in output
    assert heavy(modules) == []
    assert heavy(modules, ("yaml", "urllib3", "ssl")) == []


def test_root_help_stays_light(tmp_path: Path) -> None:
    modules, output = loaded_modules(tmp_path, ["--help"])
    assert "Available Commands" in output or "Usage" in output
    assert heavy(modules, FORBIDDEN + ("yaml", "urllib3", "ssl")) == []


def test_completion_request_stays_light(tmp_path: Path) -> None:
    modules, output = loaded_modules(tmp_path, [], env={"_PYVIRTCTL_COMPLETE": "complete_bash",
                                                       "COMP_LINE": "pyvirtctl st", "COMP_POINT": "12"})
    assert "start" in output and "stop" in output
    assert heavy(modules) == []


def test_vm_name_completion_stays_light(tmp_path: Path, sim_kubeconfig: str) -> None:
    line = f"pyvirtctl --kubeconfig {sim_kubeconfig} start "
    modules, output = loaded_modules(tmp_path, [], env={"_PYVIRTCTL_COMPLETE": "complete_bash",
                                                       "COMP_LINE": line, "COMP_POINT": str(len(line))})
    assert "budget" in output
    assert heavy(modules) == []


@pytest.fixture
def sim_kubeconfig(sim) -> str:
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "budget", "namespace": "default"},
               "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}})
    return sim.kubeconfig


def test_start_vm_with_a_token_needs_no_kubernetes_nor_urllib3(tmp_path: Path, sim, sim_kubeconfig: str) -> None:
    modules, output = loaded_modules(tmp_path, ["--kubeconfig", sim_kubeconfig, "start", "budget"])
    assert "VM budget was scheduled to start" in output
    assert [r["method"] for r in sim.requests()] == ["PUT"]
    assert heavy(modules) == []
    # the request went through kube/transport.py: no urllib3, no http.client/email parsing, no SOCKS library
    assert "pyvirtctl.kube.transport" in modules
    assert heavy(modules, ("urllib3", "http.client", "email", "concurrent.futures", "python_socks")) == []
    # the kubeconfig is read by the fast reader with go-yaml's rules: PyYAML is never imported
    assert "pyvirtctl.kube.goyaml" in modules
    assert heavy(modules, ("yaml", "decimal", "ctypes")) == []
