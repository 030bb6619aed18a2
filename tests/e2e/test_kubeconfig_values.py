"""The CLI on kubeconfigs that client-go refuses: virtctl's exact line, exit 1, nothing sent.

Each file is the simulator's own kubeconfig with one value changed; the expected lines are the
reference virtctl's for the same files. The simulator's request log proves that nothing reached
the server (before, `insecure-skip-tls-verify: "false"` turned certificate checks off and
`token: 017` authenticated as `Bearer 15`).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def variant(sim, home: Path, old: str, new: str) -> str:
    """The simulator's kubeconfig with `old` replaced by `new` (with `old` empty: `new` goes first)."""
    text = Path(sim.kubeconfig).read_text()
    assert old in text
    path = home / "kc.yaml"
    path.write_text(text.replace(old, new, 1) if old else new + text)
    return "kc.yaml"  # relative, as typed: client-go quotes the path the way it was given


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    server:", '    insecure-skip-tls-verify: "false"\n    server:',
         "json: cannot unmarshal string into Go struct field Cluster.clusters.cluster.insecure-skip-tls-verify of type bool"),
        ("    token: ", "    token: no\n    x: ",
         "json: cannot unmarshal bool into Go struct field AuthInfo.users.user.token of type string"),
        ("    token: ", "    token: 017\n    x: ",
         "json: cannot unmarshal number into Go struct field AuthInfo.users.user.token of type string"),
        ("    namespace: default", "    namespace: 1e3",
         "json: cannot unmarshal number into Go struct field Context.contexts.context.namespace of type string"),
        # malformed YAML: one line in client-go's form (PyYAML's text spans three lines)
        ("", "a: b: c\n", "yaml: mapping values are not allowed in this context"),
        ("", "\tx: 1\n", "yaml: found character that cannot start any token"),
        ("", 'x: "\\/"\n', "yaml: found unknown escape character"),  # go-yaml has no \/ escape
    ],
)
def test_the_cli_refuses_like_virtctl_and_sends_nothing(sim, run_cli_raw, cli_home, old, new, message):
    sim.clear_log()
    path = variant(sim, cli_home, old, new)
    for args in (["--kubeconfig", path, "start", "testvm"], ["stop", "testvm"]):
        r = run_cli_raw(args, env={"KUBECONFIG": path})
        assert (r.returncode, r.stdout, r.stderr) == (1, "", f'error loading config file "{path}": {message}\n')
    assert sim.requests() == []


def test_values_of_the_right_type_still_work(sim, run_cli_raw, cli_home):
    # a quoted token and a real YAML bool are what client-go accepts; the start goes through
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "testvm", "namespace": "default"},
               "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}})
    token = sim.token
    path = variant(sim, cli_home, f"    token: {token}", f'    token: "{token}"\n    insecure-skip-tls-verify: false')
    r = run_cli_raw(["--kubeconfig", path, "start", "testvm"])
    assert (r.returncode, r.stdout, r.stderr) == (0, "VM testvm was scheduled to start\n", "")
    assert [q["method"] for q in sim.requests()][-1:] == ["PUT"]
