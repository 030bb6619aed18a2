"""Commands shaped like expose / port-forward / scp / a flag with enumerated values, used to test the
ready-made completers other command modules attach (registered through a test registry only)."""

from __future__ import annotations

from typing import Annotated

import typer

from pyvirtctl import completion as comp
from pyvirtctl.goflags import exact_args, go_command, minimum_args


@go_command("expose", use="expose (TYPE NAME)", short="Expose", args=exact_args(2))
def expose_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_expose_args)],
    type_: Annotated[str, typer.Option("--type", autocompletion=comp.complete_service_types)] = "",
    protocol: Annotated[str, typer.Option("--protocol", autocompletion=comp.complete_protocols)] = "TCP",
    ip_family: Annotated[str, typer.Option("--ip-family", autocompletion=comp.complete_ip_families)] = "",
    port: Annotated[int, typer.Option("--port")] = 0,
) -> None:
    pass


@go_command("port-forward", use="port-forward TARGET PORT...", short="Forward", args=minimum_args(2))
def port_forward_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_target)],
) -> None:
    pass


@go_command("scp", use="scp SRC DST", short="Copy", args=exact_args(2))
def scp_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_scp_args)],
    identity: Annotated[str, typer.Option("--identity-file", "-i", autocompletion=comp.complete_files)] = "",
) -> None:
    pass


@go_command("vnc", use="vnc (VMI)", short="VNC", args=exact_args(1))
def vnc_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vmi_names)],
    vnc_type: Annotated[str, typer.Option("--vnc-type", autocompletion=comp.complete_vnc_types)] = "",
) -> None:
    pass


@go_command("vnc screenshot", use="screenshot (VMI)", short="Take a screenshot", args=exact_args(1))
def vnc_screenshot_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vmi_names)],
) -> None:
    pass


REGISTRY = {
    "expose": ("tests.unit.completion_demo:expose_cmd", "Expose"),
    "port-forward": ("tests.unit.completion_demo:port_forward_cmd", "Forward"),
    "scp": ("tests.unit.completion_demo:scp_cmd", "Copy"),
    "vnc": ("tests.unit.completion_demo:vnc_cmd", "VNC"),
    "vnc screenshot": ("tests.unit.completion_demo:vnc_screenshot_cmd", "Take a screenshot"),
}
