"""port-forward's ParseTarget and port tables (virtctl.md §2.20, §6.10)."""

from __future__ import annotations

import pytest

from pyvirtctl.commands.portforward import (
    ForwardedPort,
    Target,
    atoi,
    parse_port,
    parse_target,
    portforward_request,
    prepare,
    resolve_address,
)
from pyvirtctl.errors import CLIError

TARGETS_OK = [
    ("vmi/testvmi", Target("vmi", "", "testvmi")),
    ("vmis/testvmi", Target("vmi", "", "testvmi")),
    ("virtualmachineinstance/testvmi", Target("vmi", "", "testvmi")),
    ("virtualmachineinstances/testvmi", Target("vmi", "", "testvmi")),
    ("VMI/testvmi", Target("vmi", "", "testvmi")),
    ("vm/testvm", Target("vm", "", "testvm")),
    ("vms/testvm", Target("vm", "", "testvm")),
    ("VirtualMachine/testvm", Target("vm", "", "testvm")),
    ("virtualmachines/testvm", Target("vm", "", "testvm")),
    ("vmi/testvmi/default", Target("vmi", "default", "testvmi")),
    ("vm/testvm/mynamespace", Target("vm", "mynamespace", "testvm")),
    ("vmi/testvmi.with.dots/default.with.dots", Target("vmi", "default.with.dots", "testvmi.with.dots")),
    ("vmi/testvmi.default", Target("vmi", "", "testvmi.default")),
    ("vm/testvm.default", Target("vm", "", "testvm.default")),
]

TARGETS_BAD = [
    ("", "target cannot be empty"),
    ("testvmi", "target must contain type and name separated by '/'"),
    ("testvmi.default", "target must contain type and name separated by '/'"),
    ("vmi/testvmi/default/extra", "target is not valid with more than two '/'"),
    ("///", "target is not valid with more than two '/'"),
    ("vmi/testvmi/", "namespace cannot be empty"),
    ("//", "namespace cannot be empty"),
    ("/", "unsupported resource type ''"),
    ("pod/testvmi", "unsupported resource type 'pod'"),
    ("Pod/testvmi/ns", "unsupported resource type 'Pod'"),
    ("vmi/", "name cannot be empty"),
    ("vm//ns", "name cannot be empty"),
]


@pytest.mark.parametrize("text,want", TARGETS_OK)
def test_parse_target(text: str, want: Target) -> None:
    assert parse_target(text) == want


@pytest.mark.parametrize("text,message", TARGETS_BAD)
def test_parse_target_errors(text: str, message: str) -> None:
    with pytest.raises(CLIError) as e:
        parse_target(text)
    assert e.value.message == message


PORTS_OK = [
    ("8080", ForwardedPort(8080, 8080, "tcp")),
    ("8080:8090", ForwardedPort(8080, 8090, "tcp")),
    ("udp/8080", ForwardedPort(8080, 8080, "udp")),
    ("udp/8080:8090", ForwardedPort(8080, 8090, "udp")),
    ("tcp/22", ForwardedPort(22, 22, "tcp")),
    ("UDP/53", ForwardedPort(53, 53, "UDP")),  # case kept: rejected later as an unknown protocol
    (":9090", ForwardedPort(9090, 9090, "tcp")),  # empty fields dropped
    ("8080::9090", ForwardedPort(8080, 9090, "tcp")),
    ("1:2:3", ForwardedPort(1, 2, "tcp")),
    ("udp/80/90", ForwardedPort(80, 80, "udp")),  # only the part after the first '/' is used
    ("0:22", ForwardedPort(0, 22, "tcp")),
    ("+22", ForwardedPort(22, 22, "tcp")),
]

PORTS_BAD = [
    ("udp", 'strconv.Atoi: parsing "udp": invalid syntax'),
    ("udp/", "invalid port, missing local and/or remote port"),
    ("", "invalid port, missing local and/or remote port"),
    (":", "invalid port, missing local and/or remote port"),
    ("80C0:8X90", 'strconv.Atoi: parsing "80C0": invalid syntax'),
    ("8080:8X90", 'strconv.Atoi: parsing "8X90": invalid syntax'),
    ("1_000", 'strconv.Atoi: parsing "1_000": invalid syntax'),
    (" 80", 'strconv.Atoi: parsing " 80": invalid syntax'),
    ("99999999999999999999", 'strconv.Atoi: parsing "99999999999999999999": value out of range'),
]


@pytest.mark.parametrize("text,want", PORTS_OK)
def test_parse_port(text: str, want: ForwardedPort) -> None:
    assert parse_port(text) == want


@pytest.mark.parametrize("text,message", PORTS_BAD)
def test_parse_port_errors(text: str, message: str) -> None:
    with pytest.raises(CLIError) as e:
        parse_port(text)
    assert e.value.message == message


def test_atoi_accepts_signs_and_limits() -> None:
    assert atoi("-5") == -5
    assert atoi("9223372036854775807") == 9223372036854775807
    with pytest.raises(CLIError):
        atoi("9223372036854775808")
    with pytest.raises(CLIError):
        atoi("٣")  # non-ASCII digits are not Go digits


def test_prepare_namespace_fallback_and_stdio_rule() -> None:
    o = prepare(["vmi/a", "22"], "fallback", False, "127.0.0.1")
    assert o.namespace == "fallback"
    o = prepare(["vm/a/ns", "22", "udp/53"], "fallback", False, "127.0.0.1")
    assert o.namespace == "ns" and [p.protocol for p in o.ports] == ["tcp", "udp"]
    with pytest.raises(CLIError) as e:
        prepare(["vmi/a", "22", "23"], "x", True, "")
    assert e.value.message == "only one port supported when forwarding to stdout"
    # the target is checked before the ports, the ports before the stdio rule
    with pytest.raises(CLIError) as e:
        prepare(["bad", "x", "y"], "x", True, "")
    assert e.value.message == "target must contain type and name separated by '/'"


def test_portforward_path() -> None:
    assert (
        portforward_request("ns", Target("vmi", "", "a"), 22, "tcp").path
        == "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachineinstances/a/portforward/22/tcp"
    )
    assert (
        portforward_request("ns", Target("vm", "", "b"), 53, "udp").path
        == "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/b/portforward/53/udp"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vm/a%b", "22"], "invalid resource name \"a%b\": [may not contain '%']"),
        (["vm/../ns", "22"], "invalid resource name \"..\": [may not be '..']"),
        (["vm/a/..", "22"], "invalid namespace \"..\": [may not be '..']"),
        (["vmi/a", "../22"], "invalid subresource \"..\": [may not be '..']"),
    ],
)
def test_every_url_part_is_checked_before_a_port_opens(args, message) -> None:
    with pytest.raises(CLIError) as e:
        prepare(args, "default", False, "127.0.0.1")
    assert e.value.message == message


def test_resolve_address() -> None:
    assert resolve_address("127.0.0.1") == "127.0.0.1"
    assert resolve_address("::1") == "::1"
    assert resolve_address("localhost") in ("127.0.0.1", "::1")
    assert resolve_address("") == ""
    with pytest.raises(CLIError) as e:
        resolve_address("no-such-host.invalid")
    assert e.value.message == "lookup no-such-host.invalid: no such host"
