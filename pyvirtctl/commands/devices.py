"""permitted-devices: `pyvirtctl.kubevirt.devices` reads the KubeVirt CR of the client's namespace."""

from __future__ import annotations

import sys

import typer

from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.runtime import session

EXAMPLE = "# Print the permitted devices for VMIs:\n  {{ProgramName}} permitted-devices"


@go_command(
    "permitted-devices",
    use="permitted-devices",
    short="List the permitted devices for vmis.",
    example=EXAMPLE,
    args=exact_args(0),
)
def permitted_devices_cmd(ctx: typer.Context) -> None:
    from pyvirtctl.kubevirt import devices

    s = session(ctx, error_prefix="cannot obtain KubeVirt client: ")
    sys.stdout.write(devices.render(devices.permitted_devices(s, s.namespace)))
    sys.stdout.flush()
