"""`pyvirtctl-sim` / `python -m pyvirtctl.sim`: options, start-up messages, one-line errors, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pyvirtctl.sim.harness import REPO_ROOT, SimProcess
from tests.sim.util import KV, open_stream


def _sim(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    return subprocess.run([sys.executable, "-m", "pyvirtctl.sim", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def test_entry_point_is_declared() -> None:
    with open(os.path.join(REPO_ROOT, "pyproject.toml"), "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert scripts["pyvirtctl-sim"] == "pyvirtctl.sim.__main__:main"


def test_help_describes_every_option(tmp_path: Path) -> None:
    r = _sim("--help", cwd=tmp_path)
    assert r.returncode == 0
    for option in ("--host", "--port", "--kubeconfig-out", "--seed", "--state", "--log-requests", "--delay",
                   "--namespace", "--token", "--insecure-http", "--deny", "--ready-file"):
        line = next(ln for ln in r.stdout.splitlines() if ln.strip().startswith(option))
        rest = r.stdout.split(line, 1)[1].split("\n  --", 1)[0]
        assert len((line + rest).split()) > 3, f"{option} has no description"
    assert "default 0.4" in " ".join(r.stdout.split())


@pytest.mark.parametrize(("args", "seed", "message"), [
    (["--delay", "-1"], None, "argument --delay: must be a number of seconds >= 0, not -1"),
    (["--delay", "soon"], None, "argument --delay: invalid number of seconds: 'soon'"),
    (["--port", "70000"], None, "argument --port: must be between 0 and 65535, not 70000"),
    (["--token", "a b"], None, "argument --token: must be a non-empty string without spaces"),
    (["--seed", "SEED"], "kind: Gizmo\nmetadata: {name: g}\n", "seed SEED: unknown kind 'Gizmo' (object 1)"),
    (["--seed", "SEED"], "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {}\n",
     "seed SEED: VirtualMachine (object 1) has no metadata.name"),
    (["--seed", "SEED"], "kind: [\n", "seed SEED: invalid YAML at line 2, column 1: expected the node content, "
                                      "but found '<stream end>'"),
    (["--seed", "SEED"], "- 1\n- 2\n", "seed SEED: expected an object, found list"),
    (["--state", "SEED"], "not json", "state file SEED is not JSON: Expecting value: line 1 column 1 (char 0)"),
    (["--state", "SEED"], '{"objects": [{"kind": "VirtualMachine"}]}',
     "state file SEED: every object needs a kind and metadata.name"),
    (["--deny", "SEED"], "{}", "--deny SEED must hold a JSON list of objects"),
    (["--seed", "/nonexistent/seed.yaml"], None, "seed /nonexistent/seed.yaml: No such file or directory"),
])
def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, args: list[str], seed: str | None, message: str) -> None:
    path = tmp_path / "input.yaml"
    if seed is not None:
        path.write_text(seed)
    args = [str(path) if a == "SEED" else a for a in args]
    r = _sim(*args, "--kubeconfig-out", str(tmp_path / "kc"), cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == f"python -m pyvirtctl.sim: error: {message.replace('SEED', str(path))}\n"
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_start_message_ca_file_and_fast_stop(tmp_path: Path) -> None:
    for _ in range(2):  # restarting replaces the CA file instead of adding one per port
        s = SimProcess.start(tmp_path, seed=["default"])
        try:
            assert s.ca_file == str(tmp_path / "kubeconfig-ca.crt") and os.path.exists(s.ca_file)
            watch = open_stream(s, KV + "/virtualmachines?watch=true")
            watch.readline()
            s.proc.send_signal(signal.SIGINT)
            assert s.proc.wait(10) == 0  # an open watch does not hold the server up
            watch.close()
        finally:
            s.stop()
        text = Path(s.stderr_path).read_text()
        assert f"export KUBECONFIG={tmp_path / 'kubeconfig'}\n" in text
        assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".crt") == []  # removed on exit


def test_default_kubeconfig_is_private_and_removed(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl.sim", "--ready-file", str(ready), "--delay", "0"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, cwd=tmp_path)
    try:
        line = proc.stderr.readline().decode()
        assert line.startswith("pyvirtctl.sim listening on https://127.0.0.1:")
        proc.stderr.readline()
        export = proc.stderr.readline().decode().strip()
        assert export.startswith("export KUBECONFIG=")
        kubeconfig = export.split("=", 1)[1]
        assert json.loads(ready.read_text())["kubeconfig"] == kubeconfig
        assert os.stat(kubeconfig).st_mode & 0o777 == 0o600
        assert list(tmp_path.iterdir()) == [ready]  # nothing written into the working directory
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert not os.path.exists(kubeconfig)
