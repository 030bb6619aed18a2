"""usbredir (vendor:product)|(bus-device) VMI, usbredir --no-launch VMI (streaming.md §4.3).

Redirects a local USB device to the VMI: the VMI's `usbredir` websocket, a listener on 127.0.0.1 and
`usbredirect --device <dev> --to 127.0.0.1:<port>` (pyvirtctl.kubevirt.usbredir). With --no-launch
the address is printed for a client started by hand. Differences from virtctl (for the README):
- the missing-client error also names the package that provides `usbredirect`;
- `--no-launch=false` launches the client (virtctl disables the launch whenever the flag is typed);
- `--no-launch DEVICE VMI` redirects to VMI (virtctl takes the device for the VMI name).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.errors import InputError
from pyvirtctl.goflags import go_command, range_args
from pyvirtctl.kubevirt.requests import usbredir_stream
from pyvirtctl.kubevirt.usbredir import UsbRedir, find_client
from pyvirtctl.runtime import session

EXAMPLE = (
    "# Find the device you want to redirect (linux):\n"
    "\t$ lsusb | grep Kingston\n"
    "\tBus 002 Device 003: ID 0951:1666 Kingston Technology DataTraveler 100 G3/G4/SE9 G2/50\n"
    "\n"
    "\t# Redirect it with vendor:product to testvmi:\n"
    "    {{ProgramName}} usbredir 0951:1666 testvmi\n"
    "\n"
    "\t# Redirect it with bus-device:\n"
    "    {{ProgramName}} usbredir 02-03 testvmi\n"
    "\n"
    "\t# Disabling auto-launch of usbredir client\n"
    "\t{{ProgramName}} usbredir testvmi --no-launch\n"
    "\t"
)
NO_LAUNCH_HELP = "If set, you should launch the usbredir client yourself"


def pick_args(args: list[str], launch: bool) -> tuple[str, str]:
    """(device, vmi) from the positionals; virtctl's `Missing argument` without a device to launch with."""
    if launch:
        if len(args) != 2:
            raise InputError("Missing argument")
        return args[0], args[1]
    return "", args[-1]


def run_usbredir(s: Any, device: str, vmi: str, launch: bool, binary: str = "") -> None:
    """The session after the arguments are checked; raises the error that ended it, if any."""
    ns = s.namespace
    usbredir_stream(ns, vmi)  # the name is checked before anything is sent
    redir = UsbRedir.open(s, ns, vmi)
    try:
        if launch:
            redir.launch(device, binary)
        else:
            sys.stdout.write(f"User can connect usbredir client at: {redir.address}\n")
            sys.stdout.flush()
        try:
            error = redir.wait()
        except KeyboardInterrupt:  # virtctl cancels its context: the client is killed
            redir.cancel()
            error = redir.outcome.error
    finally:
        redir.close()
    if error is not None:
        raise error


@go_command(
    "usbredir",
    use="usbredir (vendor:product)|(bus-device) (VMI)",
    short="Redirect an USB device to a virtual machine instance.",
    example=EXAMPLE,
    args=range_args(1, 2),
)
def usbredir_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_usbredir_args)],
    no_launch: Annotated[bool, typer.Option("--no-launch", help=NO_LAUNCH_HELP)] = False,
) -> None:
    launch = not no_launch
    device, vmi = pick_args(args, launch)
    binary = find_client() if launch else ""
    run_usbredir(session(ctx), device, vmi, launch, binary)
