"""ssh/scp target parsing and the argv handed to OpenSSH (virtctl.md §2.21-2.22, §6.10)."""

from __future__ import annotations

import shlex

import pytest

from pyvirtctl.commands.portforward import Target
from pyvirtctl.commands.scp import SCPArguments, parse_scp_arguments, scp_client_args
from pyvirtctl.commands.ssh import (
    SSHOptions,
    go_exit_error,
    local_client_args,
    parse_ssh_target,
    passthrough_args,
    proxy_command_option,
    secret_env,
    self_command,
    ssh_client_args,
)
from pyvirtctl.errors import CLIError

SSH_TARGETS_OK = [
    ("vmi/testvmi", "", Target("vmi", "", "testvmi")),
    ("user@vmi/testvmi", "user", Target("vmi", "", "testvmi")),
    ("user@vm/testvm/ns", "user", Target("vm", "ns", "testvm")),
    ("a@vmi/x@y", "a", Target("vmi", "", "x")),  # every '@' splits; part 1 is the target
    ("user@vmi/testvmi.default", "user", Target("vmi", "", "testvmi.default")),
]

SSH_TARGETS_BAD = [
    ("@", "expected username before '@'"),
    ("@vmi/x", "expected username before '@'"),
    ("user@", "expected target after '@'"),
    ("", "expected target after '@'"),
    ("user@testvmi", "target must contain type and name separated by '/'"),
    ("user@pod/x", "unsupported resource type 'pod'"),
    ("user@vmi/x/", "namespace cannot be empty"),
]


@pytest.mark.parametrize("text,user,target", SSH_TARGETS_OK)
def test_parse_ssh_target(text: str, user: str, target: Target) -> None:
    t = parse_ssh_target(text)
    assert (t.username, t.target) == (user, target)


@pytest.mark.parametrize("text,message", SSH_TARGETS_BAD)
def test_parse_ssh_target_errors(text: str, message: str) -> None:
    with pytest.raises(CLIError) as e:
        parse_ssh_target(text)
    assert e.value.message == message


def test_ssh_target_host() -> None:
    assert ssh_client_args("fake-kind", "fake-ns", "fake-name", "testuser", "") == [
        "testuser@fake-kind.fake-name.fake-ns"
    ]
    assert ssh_client_args("fake-kind", "fake-ns", "fake-name", "", "") == ["fake-kind.fake-name.fake-ns"]
    assert ssh_client_args("vmi", "ns", "n", "", "ls /") == ["vmi.n.ns", "ls /"]


def test_proxy_command_matches_virtctl() -> None:
    opt = proxy_command_option("fake-kind", "fake-ns", "fake-name", 12345, "virtctl")
    assert opt == "ProxyCommand=virtctl port-forward --stdio=true fake-kind/fake-name/fake-ns 12345"
    assert "port-forward --stdio=true fake-kind/fake-name/fake-ns 12345" in opt


def test_default_command_line_has_four_entries() -> None:
    argv = local_client_args("ssh", "vmi", "ns", "n", SSHOptions(), ["vmi.n.ns"], program="/bin/virtctl")
    assert argv == ["ssh", "-o", "ProxyCommand=/bin/virtctl port-forward --stdio=true vmi/n/ns 22", "vmi.n.ns"]


def test_full_command_line_order() -> None:
    o = SSHOptions(
        port=2222,
        identity_file="/k/id",
        identity_given=True,
        known_hosts="/k/known",
        known_hosts_given=True,
        local_opts=["-o StrictHostKeyChecking=no", "-v"],
    )
    argv = local_client_args(
        "ssh", "vm", "ns", "n", o, ["u@vm.n.ns", "echo ok"], program="prog", global_args=["--context=c"]
    )
    assert argv == [
        "ssh",
        "-o",
        "ProxyCommand=prog --context=c port-forward --stdio=true vm/n/ns 2222",
        "-o",
        "UserKnownHostsFile=/k/known",
        "-o StrictHostKeyChecking=no",
        "-v",
        "-i",
        "/k/id",
        "u@vm.n.ns",
        "echo ok",
    ]


def test_known_hosts_and_identity_only_when_typed() -> None:
    o = SSHOptions(identity_file="/default/id_rsa", known_hosts="/default/kh")
    argv = local_client_args("ssh", "vmi", "ns", "n", o, ["vmi.n.ns"], program="p")
    assert "-i" not in argv and not any("UserKnownHostsFile" in a for a in argv)


def test_proxy_command_is_shell_safe() -> None:
    prog = self_command(argv0="/x/pyvirtctl/__main__.py", executable="/opt/my python/bin/python3")
    assert prog == "'/opt/my python/bin/python3' -m pyvirtctl"
    opt = proxy_command_option(
        "vmi", "ns", "n", 22, prog, ["--kubeconfig=/tmp/a b/kube config", "--context=x;rm -rf ~", "--server=%h"]
    )
    cmd = opt[len("ProxyCommand=") :].replace("%%", "%")
    assert shlex.split(cmd) == [
        "/opt/my python/bin/python3",
        "-m",
        "pyvirtctl",
        "--kubeconfig=/tmp/a b/kube config",
        "--context=x;rm -rf ~",
        "--server=%h",
        "port-forward",
        "--stdio=true",
        "vmi/n/ns",
        "22",
    ]
    assert "%h" not in opt.replace("%%", "")  # ssh would expand a single %h


def test_self_command_for_scripts() -> None:
    assert self_command(argv0="/usr/local/bin/pyvirtctl", executable="/usr/bin/python3") == "/usr/local/bin/pyvirtctl"
    assert self_command(argv0="/usr/bin/kubectl-virt", executable="x") == "/usr/bin/kubectl-virt"


def test_passthrough_only_typed_flags_and_no_secrets() -> None:
    params = {
        "kubeconfig": "/k/config",
        "context": "ctx",
        "namespace": "ns",
        "token": "s3cret",
        "password": "pw",
        "username": "basic",
        "insecure_skip_tls_verify": True,
        "as_group": ["g1", "g2"],
        "server": "https://x",
    }
    typed = {"kubeconfig", "context", "namespace", "token", "password", "username", "insecure_skip_tls_verify",
             "as_group"}
    args = passthrough_args(params, typed)
    assert args == [
        "--kubeconfig=/k/config",
        "--context=ctx",
        "--insecure-skip-tls-verify=true",
        "--as-group=g1",
        "--as-group=g2",
    ]
    assert not any("s3cret" in a or "pw" in a for a in args)
    assert secret_env(params, typed) == {
        "PYVIRTCTL_PROXY_TOKEN": "s3cret",
        "PYVIRTCTL_PROXY_USERNAME": "basic",
        "PYVIRTCTL_PROXY_PASSWORD": "pw",
    }
    assert secret_env(params, {"kubeconfig"}) == {}


def test_exit_error_texts() -> None:
    assert go_exit_error(255) == "exit status 255"
    assert go_exit_error(1) == "exit status 1"
    assert go_exit_error(-9) == "signal: killed"
    assert go_exit_error(-15) == "signal: terminated"


# ---------------------------------------------------------------------------------------------- scp


def test_scp_to_remote() -> None:
    a = parse_scp_arguments("myfile.yaml", "cirros@vmi/remote/mynamespace:myfile.yaml")
    assert a == SCPArguments(
        "myfile.yaml",
        parse_scp_arguments("myfile.yaml", "cirros@vmi/remote/mynamespace:myfile.yaml").remote,
        True,
    )
    assert (a.remote.target, a.remote.username, a.remote.path) == (
        Target("vmi", "mynamespace", "remote"),
        "cirros",
        "myfile.yaml",
    )


def test_scp_from_remote_and_first_colon_split() -> None:
    a = parse_scp_arguments("vm/x:/a:b", "local")
    assert not a.to_remote and a.local == "local"
    assert (a.remote.target, a.remote.username, a.remote.path) == (Target("vm", "", "x"), "", "/a:b")


@pytest.mark.parametrize(
    "src,dst,message",
    [
        (
            "myfile.yaml",
            "otherfile.yaml",
            'none of the two provided locations seems to be a remote location: "myfile.yaml" to "otherfile.yaml"',
        ),
        (
            "remotenode:myfile.yaml",
            "othernode:otherfile.yaml",
            "copying from a remote location to another remote location is not supported: "
            '"remotenode:myfile.yaml" to "othernode:otherfile.yaml"',
        ),
        ("a", "remotenode:x", "target must contain type and name separated by '/'"),
        ("a", "@vmi/x:y", "expected username before '@'"),
    ],
)
def test_scp_argument_errors(src: str, dst: str, message: str) -> None:
    with pytest.raises(CLIError) as e:
        parse_scp_arguments(src, dst)
    assert e.value.message == message


def _remote(kind: str = "fake-kind") -> SCPArguments:
    a = parse_scp_arguments("/local/fakepath", "vmi/fake-name:/remote/fakepath")
    return SCPArguments(a.local, type(a.remote)(Target(kind, "", "fake-name"), "", "/remote/fakepath"), True)


def test_scp_client_args() -> None:
    a = _remote()
    assert scp_client_args(a, "fake-ns", "testuser", False, False) == [
        "/local/fakepath",
        "testuser@fake-kind.fake-name.fake-ns:/remote/fakepath",
    ]
    assert scp_client_args(a, "fake-ns", "", False, False)[1] == "fake-kind.fake-name.fake-ns:/remote/fakepath"
    back = SCPArguments(a.local, a.remote, False)
    assert scp_client_args(back, "fake-ns", "", True, True) == [
        "-r",
        "-p",
        "fake-kind.fake-name.fake-ns:/remote/fakepath",
        "/local/fakepath",
    ]
    assert scp_client_args(a, "fake-ns", "", False, True)[0] == "-p"
