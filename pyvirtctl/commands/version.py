"""`version`: the client version and the server's, printed as Go `%#v` structs (virtctl.md §2.16)."""

from __future__ import annotations

from typing import Annotated

import typer

from pyvirtctl.errors import CLIError, ConfigError
from pyvirtctl.goflags import go_command, go_quote, no_args
from pyvirtctl.runtime import session
from pyvirtctl.version import client_info

FIELDS = [
    ("GitVersion", "gitVersion"),
    ("GitCommit", "gitCommit"),
    ("GitTreeState", "gitTreeState"),
    ("BuildDate", "buildDate"),
    ("GoVersion", "goVersion"),
    ("Compiler", "compiler"),
    ("Platform", "platform"),
]


def format_info(info: dict) -> str:
    """Go's `%#v` of a version.Info struct."""
    inner = ", ".join(f"{go}:{go_quote(str(info.get(key, '')))}" for go, key in FIELDS)
    return "version.Info{" + inner + "}"


@go_command(
    "version",
    use="version",
    short="Print the client and server version information.",
    example="  # Print the client and server versions for the current context:\n  {{ProgramName}} version",
    args=no_args,
)
def version_cmd(
    ctx: typer.Context,
    client: Annotated[bool, typer.Option("--client", "-c", help="Client version only (no server required).")] = False,
) -> None:
    print(f"Client Version: {format_info(client_info())}", flush=True)
    if client:
        return
    try:
        s = session(ctx)
    except ConfigError as e:
        raise e.wrap("failed to get virtClient config: ") from None
    try:
        info = s.server_version()
    except CLIError as e:
        raise e.wrap("failed to get server version: ") from None
    print(f"Server Version: {format_info(info)}")
