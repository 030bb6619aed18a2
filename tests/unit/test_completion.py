"""Completion engine: command-line splitting, flag/value/positional resolution, output formats,
enumerated values, the name cache and the checked-in scripts (no cluster needed)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from pyvirtctl import completion as comp
from pyvirtctl import progname
from pyvirtctl.app import COMMANDS, build_root
from pyvirtctl.completion import completers, engine, names, scripts
from tests.unit.completion_demo import REGISTRY

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize(
    "line, point, want",
    [
        ("pyvirtctl st", None, ([], "st", [])),
        ("pyvirtctl start ", None, (["start"], "", [])),
        ("pyvirtctl -n ns2 start a", None, (["-n", "ns2", "start"], "a", [])),
        ("pyvirtctl start 'my vm", None, (["start"], "my vm", [])),
        ("pyvirtctl start g -n ns2", len("pyvirtctl start g"), (["start"], "g", ["-n", "ns2"])),
        ("pyvirtctl start gam -n ns2", len("pyvirtctl start g"), (["start"], "g", ["-n", "ns2"])),
        ("pyvirtctl", None, ([], "pyvirtctl", [])),
        ("", None, ([], "", [])),
    ],
)
def test_parse_command_line(line, point, want):
    before, incomplete, after = engine.parse_command_line(line, point)
    if line == "pyvirtctl":  # the program word itself is never completed by us
        assert (before, after) == ([], [])
        return
    assert (before, incomplete, after) == want


def cands(words: list[str], incomplete: str, registry=None) -> list[tuple[str, str]]:
    completers._Request.reset()
    root = build_root("pyvirtctl", registry or COMMANDS)
    return engine.candidates(root, "pyvirtctl", words, incomplete)


def values(words, incomplete, registry=None):
    return [v for v, _ in cands(words, incomplete, registry)]


def test_command_names_and_unknown_commands():
    assert values([], "res") == ["reset", "restart"]
    assert ("completion", "Generate the autocompletion script for the specified shell") in cands([], "comp")
    assert "options" not in values([], "")  # hidden
    assert values(["bogus"], "") == []
    assert values(["help"], "mig") == ["migrate", "migrate-cancel"]


def test_flag_names_local_and_global_with_descriptions():
    got = dict(cands(["start"], "--p"))
    assert got["--password"] == "Password for basic authentication to the API server"  # global
    assert got["--paused"] == "If set to true, start virtual machine in paused state"  # local
    assert got["--proxy-url"] == "If provided, this URL will be used to connect via proxy"
    assert all(k.startswith("--p") for k in got)
    assert "-n" in values(["start"], "-")
    assert values(["start"], "-n") == ["-n"]
    assert "--grace-period" not in values(["start"], "--")
    assert "--help" in values(["start"], "--he")


def test_flag_values_are_not_mistaken_for_positionals():
    # `--grace-period <TAB>` wants a number: nothing to offer, and no VM names
    assert cands(["stop", "--grace-period"], "") == []
    assert completers._Request.directive == comp.NO_FILE_COMP
    # `--kubeconfig <TAB>` falls back to file names
    cands(["--kubeconfig"], "")
    assert completers._Request.directive & comp.NO_FILE_COMP == 0
    # bool flags take no separate value: the word after `--dry-run` is a positional again
    assert values(["pause", "--dry-run"], "") == ["vm", "vmi"]


def test_bool_and_enumerated_values():
    assert values(["start"], "--dry-run=") == ["--dry-run=true", "--dry-run=false"]
    assert values(["expose", "--type"], "", REGISTRY) == ["ClusterIP", "NodePort", "LoadBalancer"]
    assert values(["expose"], "--type=N", REGISTRY) == ["--type=NodePort"]
    assert values(["expose", "--protocol"], "U", REGISTRY) == ["UDP"]
    assert values(["expose", "--ip-family"], "IPv6", REGISTRY) == ["IPv6", "IPv6,IPv4"]
    assert values(["vnc", "--vnc-type"], "r", REGISTRY) == ["real", "remote-viewer"]
    assert values(["expose", "--port"], "", REGISTRY) == []


def test_type_then_name_offers_types_first():
    assert cands(["expose"], "", REGISTRY) == [
        ("vmi", "VirtualMachineInstance"),
        ("vm", "VirtualMachine"),
        ("vmirs", "VirtualMachineInstanceReplicaSet"),
    ]
    assert values(["pause"], "") == ["vm", "vmi"]
    assert values(["pause"], "vmi") == ["vmi"]
    assert values(["pause", "bogus"], "") == []


def test_targets_offer_kinds_without_a_trailing_space():
    assert values(["port-forward"], "", REGISTRY) == ["vmi/", "vm/"]
    assert completers._Request.directive & comp.NO_SPACE
    assert values(["port-forward"], "jdoe@v", REGISTRY) == ["jdoe@vmi/", "jdoe@vm/"]
    assert values(["port-forward", "vm/x"], "", REGISTRY) == []  # ports are not completed


def test_scp_local_paths_fall_back_to_files():
    assert values(["scp"], "./lo", REGISTRY) == []
    assert completers._Request.directive & comp.NO_FILE_COMP == 0
    assert values(["scp"], "vm", REGISTRY) == ["vmi/", "vm/"]
    assert values(["scp", "--identity-file"], "", REGISTRY) == []
    assert completers._Request.directive & comp.NO_FILE_COMP == 0


def test_runnable_parent_lists_its_subcommands():
    assert "screenshot" in values(["vnc"], "s", REGISTRY)
    assert values(["vnc"], "sc", REGISTRY) == ["screenshot"]


@pytest.mark.parametrize(
    "shell, items, incomplete, want",
    [
        ("bash", [("--type=NodePort", "")], "--type=N", "NodePort\n:4\n"),
        ("bash", [("jdoe@vm/a:", "")], "jdoe@vm/a", "jdoe@vm/a:\n:4\n"),
        ("bash", [("vm/a:/tmp/x", "")], "vm/a:/tm", "/tmp/x\n:4\n"),
        ("zsh", [("vm/a:", "Running")], "vm/", "vm/a\\::Running\n:4\n"),
        ("fish", [("alpha", "Running\nnow")], "", "alpha\tRunning now\n:4\n"),
        ("cobra", [("a", ""), ("b", "x")], "", "a\nb\tx\n:4\n"),
    ],
)
def test_output_formats(shell, items, incomplete, want, monkeypatch):
    monkeypatch.delenv("COMP_WORDBREAKS", raising=False)
    assert engine._format(shell, items, incomplete, comp.NO_FILE_COMP) == want


def test_parse_list_and_table():
    lst = {"kind": "VirtualMachineList", "items": [
        {"metadata": {"name": "b"}, "status": {"printableStatus": "Stopped"}},
        {"metadata": {"name": "a"}, "status": {"printableStatus": "Running"}},
    ]}
    assert names.parse_list(json.dumps(lst).encode(), "vm") == [("a", "Running"), ("b", "Stopped")]
    table = {"kind": "Table", "columnDefinitions": [{"name": "Name"}, {"name": "Age"}, {"name": "Phase"}],
             "rows": [{"cells": ["x", "1d", "Running"], "object": {"metadata": {"name": "x"}}}]}
    assert names.parse_list(json.dumps(table).encode(), "vmi") == [("x", "Running")]


def test_cache_is_private_short_lived_and_keyed_without_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("PYVIRTCTL_COMPLETION_CACHE_TTL", "10")
    params = {"kubeconfig": "/nonexistent", "namespace": "ns2", "token": "s3cret-token"}
    key = names._cache_key(params, "vm", "ns2")
    assert key == names._cache_key(dict(params, token="another"), "vm", "ns2")
    assert key != names._cache_key(params, "vmi", "ns2")
    assert key != names._cache_key(dict(params, namespace="default"), "vm", "default")
    names._cache_write(key, [("alpha", "Running")])
    d = tmp_path / "pyvirtctl"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    (f,) = list(d.iterdir())
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert "s3cret" not in f.read_text() and "s3cret" not in f.name
    assert names._cache_read(key, 10) == [("alpha", "Running")]
    os.utime(f, (f.stat().st_atime - 60, f.stat().st_mtime - 60))
    assert names._cache_read(key, 10) is None  # expired
    assert names._cache_read(key, 0) is None  # disabled


def test_list_names_gives_nothing_without_a_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert comp.list_names({"kubeconfig": str(tmp_path / "missing")}, "vm") == []
    assert not (tmp_path / "pyvirtctl").exists()  # failures are not cached


def test_scripts_follow_the_program_name():
    bash = scripts.script("bash", "kubectl-virt", "_KUBECTL_VIRT_COMPLETE")
    assert "complete -F _kubectl_virt_completion kubectl-virt" in bash
    assert "_KUBECTL_VIRT_COMPLETE=complete_bash" in bash
    zsh = scripts.script("zsh", "pyvirtctl", "_PYVIRTCTL_COMPLETE")
    assert zsh.startswith("#compdef pyvirtctl\n")
    assert "complete -c virtctl" in scripts.script("fish", "virtctl", "_VIRTCTL_COMPLETE")
    assert progname.executable_name("/usr/lib/python3/site-packages/pyvirtctl/__main__.py") == "pyvirtctl"
    assert progname.executable_name("/home/u/.local/bin/kubectl-virt") == "kubectl-virt"


def test_checked_in_scripts_are_up_to_date():
    proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "gen_completions.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_completion_path_does_not_import_heavy_packages(tmp_path):
    code = (
        "import os, sys\n"
        "os.environ['_PYVIRTCTL_COMPLETE'] = 'complete_bash'\n"
        "os.environ['COMP_LINE'] = 'pyvirtctl --kubeconfig /nonexistent start '\n"
        "from pyvirtctl.cli import main\n"
        "rc = main(argv=[], argv0='pyvirtctl')\n"
        "heavy = [m for m in ('kubernetes', 'rich', 'websocket', 'aiohttp', 'cryptography', 'yaml') if m in sys.modules]\n"
        "print('HEAVY', heavy, rc, file=sys.stderr)\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path))
    env.pop("KUBECONFIG", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert "HEAVY [] 0" in proc.stderr, proc.stderr
    assert proc.stdout == ":4\n"


# every flag of the real commands that takes one of a fixed set of values completes them
ENUMERATED = [
    (["list", "-o"], ["wide", "json", "yaml", "name"]),
    (["ls", "--output"], ["wide", "json", "yaml", "name"]),
    (["guestosinfo", "-o"], ["json", "yaml", "table"]),
    (["userlist", "-o"], ["json", "yaml", "table"]),
    (["fslist", "--output"], ["json", "yaml", "table"]),
    (["status", "-o"], ["json", "yaml"]),
    (["expand", "-o"], ["json", "yaml"]),
    (["expose", "-o"], ["json", "yaml"]),
    (["expose", "--type"], ["ClusterIP", "NodePort", "LoadBalancer"]),
    (["expose", "--protocol"], ["TCP", "UDP"]),
    (["expose", "--ip-family-policy"], ["SingleStack", "PreferDualStack", "RequireDualStack"]),
    (["vnc", "--vnc-type"], ["tiger", "chicken", "real", "remote-viewer"]),
    (["addvolume", "--cache"], ["none", "writethrough", "writeback"]),
    (["addvolume", "--disk-type"], ["disk", "lun"]),
    (["addvolume", "--bus"], ["scsi", "virtio"]),
    (["memory-dump", "--format"], ["gzip", "raw"]),
    (["memory-dump", "--access-mode"], ["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"]),
    (["vmexport", "--format"], ["gzip", "raw", "oci"]),
    (["vmexport", "--manifest-output-format"], ["yaml", "json"]),
    (["vmexport"], ["create", "delete", "download"]),
    (["completion"], ["bash", "zsh", "fish", "powershell"]),
    (["objectgraph", "-o"], ["json", "yaml"]),
    (["objectgraph", "--selector"], [f"kubevirt.io/dependency-type={t}" for t in ("compute", "storage", "config",
                                                                                   "network")]),
]


@pytest.mark.parametrize(("words", "want"), ENUMERATED, ids=[" ".join(w) for w, _ in ENUMERATED])
def test_real_commands_complete_enumerated_values(words, want):
    assert values(words, "") == want
    flag = words[-1]
    if flag.startswith("--"):  # the `--flag=` form too
        assert values(words[:-1], f"{flag}={want[0][:1]}") == [f"{flag}={v}" for v in want if v[:1] == want[0][:1]]


def test_log_verbosity_levels_complete_after_the_equals_sign_only():
    words = ["adm", "log-verbosity"]
    assert values(words, "--virt-handler=") == [f"--virt-handler={n}" for n in range(11)]
    assert values(words, "--all=1") == ["--all=1", "--all=10"]
    # the bare flag takes no separate value (pflag NoOptDefVal): the next word is not its value
    assert values([*words, "--virt-handler"], "--virt-l") == ["--virt-launcher"]
    assert values([*words, "--virt-handler"], "") == []


def test_command_groups_list_their_subcommands():
    assert values(["adm"], "") == ["log-verbosity"]
    assert values(["credentials"], "") == ["add-ssh-key", "remove-ssh-key", "set-password"]
    assert values(["credentials"], "set") == ["set-password"]
    assert values(["help"], "cred") == ["credentials"]
