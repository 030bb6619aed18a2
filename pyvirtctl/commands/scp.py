"""scp SRC DST (virtctl.md §2.22): the local OpenSSH scp through the port-forward ProxyCommand.

Exactly one side is remote (`[user@]type/name[/namespace]:path`); it is rewritten to
`[user@]<kind>.<name>.<ns>:path` and kept in its place. See ssh.py for the ProxyCommand and the two
differences from virtctl (connection flags passed on, `--known-hosts` honoured).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from pyvirtctl.commands.portforward import Target
from pyvirtctl.commands.ssh import (
    DEFAULT_IDENTITY,
    DEFAULT_KNOWN_HOSTS,
    DEFAULT_USERNAME,
    IDENTITY_HELP,
    KNOWN_HOSTS_HELP,
    OPTS_HELP,
    PORT_HELP,
    USERNAME_HELP,
    client_namespace,
    launch,
    options_from_flags,
    parse_ssh_target,
    ssh_host,
)
from pyvirtctl.errors import CLIError
from pyvirtctl.goflags import exact_args, go_command, go_quote

SCP_EXAMPLE = (
    "  # Copy a file to the remote home folder of user jdoe\n"
    "  {{ProgramName}} scp myfile.bin jdoe@vmi/testvmi:myfile.bin\n"
    "\n"
    "  # Copy a directory to the remote home folder of user jdoe\n"
    "  {{ProgramName}} scp --recursive ~/mydir/ jdoe@vmi/testvmi:./mydir\n"
    "\n"
    "  # Copy a file to the remote home folder of user jdoe without specifying a file name on the target\n"
    "  {{ProgramName}} scp myfile.bin jdoe@vmi/testvmi:.\n"
    "\n"
    "  # Copy a file to 'testvm' in 'mynamespace' namespace\n"
    "  {{ProgramName}} scp myfile.bin jdoe@vmi/testvmi.mynamespace:myfile.bin\n"
    "\n"
    "  # Copy a file from the remote location to a local folder\n"
    "  {{ProgramName}} scp jdoe@vmi/testvmi:myfile.bin ~/myfile.bin"
)


@dataclass(frozen=True)
class RemoteArgument:
    target: Target
    username: str
    path: str


@dataclass(frozen=True)
class SCPArguments:
    local: str
    remote: RemoteArgument
    to_remote: bool


def parse_scp_arguments(source: str, destination: str) -> SCPArguments:
    if ":" in source and ":" in destination:
        raise CLIError(
            "copying from a remote location to another remote location is not supported: "
            f"{go_quote(source)} to {go_quote(destination)}"
        )
    if ":" not in source and ":" not in destination:
        raise CLIError(
            "none of the two provided locations seems to be a remote location: "
            f"{go_quote(source)} to {go_quote(destination)}"
        )
    to_remote = ":" in destination
    remote_arg, local = (destination, source) if to_remote else (source, destination)
    head, _, path = remote_arg.partition(":")
    t = parse_ssh_target(head)
    return SCPArguments(local, RemoteArgument(t.target, t.username, path), to_remote)


def scp_client_args(
    a: SCPArguments, namespace: str, username: str, recursive: bool, preserve: bool
) -> list[str]:
    out: list[str] = []
    if recursive:
        out.append("-r")
    if preserve:
        out.append("-p")
    remote = f"{ssh_host(a.remote.target.kind, namespace, a.remote.target.name, username)}:{a.remote.path}"
    return out + ([a.local, remote] if a.to_remote else [remote, a.local])


@go_command(
    "scp",
    use="scp (VM|VMI)",
    short="SCP files from/to a virtual machine instance.",
    example=SCP_EXAMPLE,
    args=exact_args(2),
)
def scp_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument()],
    username: Annotated[str, typer.Option("--username", "-l", help=USERNAME_HELP)] = DEFAULT_USERNAME,
    identity_file: Annotated[str, typer.Option("--identity-file", "-i", help=IDENTITY_HELP)] = DEFAULT_IDENTITY,
    known_hosts: Annotated[str, typer.Option("--known-hosts", help=KNOWN_HOSTS_HELP)] = DEFAULT_KNOWN_HOSTS,
    port: Annotated[int, typer.Option("--port", "-p", help=PORT_HELP)] = 22,
    local_ssh_opts: Annotated[list[str], typer.Option("--local-ssh-opts", "-t", help=OPTS_HELP)] = [],  # noqa: B006
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Recursively copy entire directories")] = False,
    preserve: Annotated[
        bool,
        typer.Option("--preserve", help="Preserves modification times, access times, and modes from the original file."),
    ] = False,
) -> None:
    fallback = client_namespace(ctx)
    o = options_from_flags(ctx, port, username, identity_file, known_hosts, local_ssh_opts)
    a = parse_scp_arguments(args[0], args[1])
    namespace = a.remote.target.namespace or fallback
    if a.remote.username:
        o.username = a.remote.username
    client_args = scp_client_args(a, namespace, o.username, recursive, preserve)
    launch(ctx, "scp", a.remote.target.kind, namespace, a.remote.target.name, o, client_args)
