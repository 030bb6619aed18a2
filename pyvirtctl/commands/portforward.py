"""port-forward type/name[/namespace] [proto/]local[:remote]... (virtctl.md §2.20, streaming.md §4.1).

The parsers are pure and keep virtctl's error texts; the listeners and copy loops live in
pyvirtctl.streams.portforward. One deliberate difference: a failed websocket dial drops only the
connection that triggered it, the listener keeps accepting (virtctl stops accepting on that port).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Annotated

import typer

from pyvirtctl import completion as comp
from pyvirtctl import log
from pyvirtctl.errors import CLIError, UsageError
from pyvirtctl.goflags import go_command, go_quote
from pyvirtctl.kube.request import Request
from pyvirtctl.kubevirt.requests import portforward_stream

PF_LONG = (
    "Forward local ports to a virtualmachine or virtualmachineinstance.\n"
    "\t\n"
    "The target argument supports the syntax target/name[/namespace] with /namespace as optional field.\n"
    "Kind accepts any of vmi, vmis, vm, vms, virtualmachineinstance, virtualmachine, "
    "virtualmachineinstances, virtualmachines.\n"
    "\n"
    "A dot in target without specifying a namespace activates legacy parsing of name and namespace using\n"
    "the old type/name.namespace syntax. This is to avoid breaking existing scripts using the old syntax.\n"
    "A warning will be emitted instead. This behavior will be removed in the next release.\n"
    "\n"
    "The port argument supports the syntax protocol/localPort:targetPort with protocol/ and :targetPort "
    "as optional fields.\n"
    "Protocol supports TCP (default) and UDP.\n"
    "\n"
    "Portforwards get established over the Kubernetes control-plane using websocket streams.\n"
    "Usage can be restricted by the cluster administrator through the /portforward subresource.\n"
)

PF_EXAMPLE = (
    "  # Forward the local port 8080 to the vmi port:\n"
    "  {{ProgramName}} port-forward vmi/testvmi 8080\n"
    "\n"
    "  # Forward the local port 8080 to the vmi port 9090:\n"
    "  {{ProgramName}} port-forward vmi/testvmi 8080:9090\n"
    "\n"
    "  # Forward the local port 8080 to the vmi port 9090 as a UDP connection:\n"
    "  {{ProgramName}} port-forward vmi/testvmi/mynamespace udp/8080:9090\n"
    "\n"
    "  # Forward the local port 8080 to the vm port\n"
    "  {{ProgramName}} port-forward vm/testvm 8080\n"
    "\n"
    "  # Forward the local port 8080 to the vm port in mynamespace\n"
    "  {{ProgramName}} port-forward vm/testvm/mynamespace 8080\n"
    "\n"
    "  # Note: {{ProgramName}} port-forward sends all traffic over the Kubernetes API Server. \n"
    "  # This means any traffic will add additional pressure to the control plane.\n"
    "  # For continous traffic intensive connections, consider using a dedicated Kubernetes Service."
)

STDIO_HELP = "--stdio=true: Set this to true to forward the tunnel to stdout/stdin; Only works with a single port"
ADDRESS_HELP = "--address=: Set this to the address the local ports should be opened on"

VM_KINDS = ("vm", "vms", "virtualmachine", "virtualmachines")
VMI_KINDS = ("vmi", "vmis", "virtualmachineinstance", "virtualmachineinstances")



# ---------------------------------------------------------------------------------------------
# Pure parsing (virtctl's ParseTarget and parsePort)


@dataclass(frozen=True)
class Target:
    kind: str  # "vm" or "vmi"
    namespace: str  # "" when not given in the target
    name: str


@dataclass(frozen=True)
class ForwardedPort:
    local: int
    remote: int
    protocol: str = "tcp"


def normalize_kind(kind: str) -> str:
    low = kind.lower()
    if low in VM_KINDS:
        return "vm"
    if low in VMI_KINDS:
        return "vmi"
    raise CLIError(f"unsupported resource type '{kind}'")


def parse_target(target: str) -> Target:
    """`type/name[/namespace]`; dots belong to the name (the legacy dot syntax is gone in virtctl)."""
    if target == "":
        raise CLIError("target cannot be empty")
    parts = target.split("/")
    if len(parts) == 1:
        raise CLIError("target must contain type and name separated by '/'")
    if len(parts) > 3:
        raise CLIError("target is not valid with more than two '/'")
    namespace = ""
    if len(parts) == 3:
        namespace = parts[2]
        if namespace == "":
            raise CLIError("namespace cannot be empty")
    kind = normalize_kind(parts[0])
    if parts[1] == "":
        raise CLIError("name cannot be empty")
    return Target(kind, namespace, parts[1])


_DECIMAL = re.compile(r"[+-]?[0-9]+")


def atoi(s: str) -> int:
    """Go's strconv.Atoi: optional sign and ASCII decimal digits, 64-bit range."""
    if not _DECIMAL.fullmatch(s):
        raise CLIError(f"strconv.Atoi: parsing {go_quote(s)}: invalid syntax")
    value = int(s)
    if not -(1 << 63) <= value < (1 << 63):
        raise CLIError(f"strconv.Atoi: parsing {go_quote(s)}: value out of range")
    return value


def parse_port(arg: str) -> ForwardedPort:
    """`[protocol/]local[:remote]`: protocol before the first '/', empty ':' fields dropped."""
    protocol = "tcp"
    pieces = arg.split("/")
    if len(pieces) > 1:
        protocol, arg = pieces[0], pieces[1]
    fields = [f for f in arg.split(":") if f]
    if not fields:
        raise CLIError("invalid port, missing local and/or remote port")
    local = atoi(fields[0])
    remote = atoi(fields[1]) if len(fields) > 1 else local
    return ForwardedPort(local, remote, protocol)


def parse_ports(args: list[str]) -> list[ForwardedPort]:
    return [parse_port(a) for a in args]


def portforward_request(namespace: str, target: Target, port: int, protocol: str) -> Request:
    """The websocket request for one forwarded port (every part checked, see kube/paths.py)."""
    return portforward_stream(target.kind, namespace, target.name, port, protocol)


@dataclass(frozen=True)
class PortForwardOptions:
    target: Target
    namespace: str  # resolved
    ports: list[ForwardedPort]
    stdio: bool = False
    address: str = "127.0.0.1"


def prepare(args: list[str], fallback_namespace: str, stdio: bool, address: str) -> PortForwardOptions:
    target = parse_target(args[0])
    ports = parse_ports(args[1:])
    namespace = target.namespace or fallback_namespace
    if stdio and len(ports) != 1:
        raise CLIError("only one port supported when forwarding to stdout")
    for port in ports:  # every name, namespace and protocol is checked before a port is opened
        portforward_request(namespace, target, port.remote, port.protocol)
    return PortForwardOptions(target, namespace, ports, stdio, address)


def resolve_address(address: str) -> str:
    """Go's net.ResolveIPAddr("", address): an IP literal as is, a name resolved to its first IP."""
    import ipaddress
    import socket

    if address == "":
        return ""
    host = address
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host.split("%")[0])) + (
            "%" + host.split("%", 1)[1] if "%" in host else ""
        )
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise CLIError(f"lookup {host}: no such host") from None
    v4 = [i for i in infos if i[0] == socket.AF_INET]
    chosen = (v4 or infos)[0]
    return str(chosen[4][0])


# ---------------------------------------------------------------------------------------------
# Running


def _args_check(path: str, args: list[str]) -> None:
    """virtctl's custom Args: an error log line, the help on stderr, then `argument validation failed`."""
    if len(args) >= 2:
        return
    from pyvirtctl import helptext
    from pyvirtctl.clickcompat import current_context

    log.error(
        f"fatal: Number of input parameters is incorrect, portforward requires at least 2 arg(s), received {len(args)}",
        "portforward.go:62",
    )
    ctx = current_context()
    if ctx is not None:
        sys.stderr.write(helptext.command_help(ctx.command, ctx))
        sys.stderr.flush()
    raise UsageError("argument validation failed")


def _apply_secret_env(ctx: typer.Context) -> None:
    """Credentials handed over by `ssh`/`scp` through the environment (never on the ProxyCommand line)."""
    from pyvirtctl.goflags import given
    from pyvirtctl.kube.flags import credential_env, specs

    root = ctx.find_root()
    for spec in specs():
        value = os.environ.get(credential_env(spec.name)) if spec.credential else None
        if value and not given(ctx, spec.name):
            root.params[spec.name] = value


def run_port_forward(o: PortForwardOptions, session: object) -> None:
    from pyvirtctl.streams import portforward as pf

    def dial(port: ForwardedPort) -> pf.Tunnel:
        return pf.open_tunnel(session, portforward_request(o.namespace, o.target, port.remote, port.protocol).path)

    if o.stdio:
        pf.forward_stdio(lambda: dial(o.ports[0]))
        return
    address = resolve_address(o.address)
    forwarder = pf.Forwarder(o.target.kind, o.target.name, o.namespace, dial)
    try:
        for port in o.ports:
            forwarder.start(address, port)
        forwarder.wait_for_interrupt()
    finally:
        forwarder.close()


@go_command(
    "port-forward",
    use="port-forward type/name[/namespace] [protocol/]localPort[:targetPort]...",
    short="Forward local ports to a virtualmachine or virtualmachineinstance.",
    long=PF_LONG,
    example=PF_EXAMPLE,
    args=_args_check,
)
def port_forward_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_target)],
    stdio: Annotated[bool, typer.Option("--stdio", help=STDIO_HELP)] = False,
    address: Annotated[str, typer.Option("--address", help=ADDRESS_HELP)] = "127.0.0.1",
) -> None:
    from pyvirtctl.runtime import session

    if stdio:
        _apply_secret_env(ctx)
    s = session(ctx)
    options = prepare(list(args), s.namespace, stdio, address)
    run_port_forward(options, s)
