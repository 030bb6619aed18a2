"""reset and soft-reboot: body-less PUTs to VirtualMachineInstance subresources (virtctl.md §2.8-2.9)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pyvirtctl import log
from pyvirtctl.completion import complete_vmi_names
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube.paths import vmi_path
from pyvirtctl.kube.request import Request
from pyvirtctl.runtime import IO, session


def reset_request(namespace: str, name: str) -> Request:
    return Request("PUT", vmi_path(namespace, name, "reset"))


def soft_reboot_request(namespace: str, name: str) -> Request:
    return Request("PUT", vmi_path(namespace, name, "softreboot"))


def _client(ctx: typer.Context) -> Any:
    return session(ctx, error_prefix="Cannot obtain KubeVirt client: ")


@go_command(
    "reset",
    use="reset (VMI)",
    short="Reset a virtual machine instance",
    example="  # Reset a virtualmachineinstance called 'myvmi':\n  {{ProgramName}} reset myvmi",
    args=exact_args(1),
)
def reset_cmd(ctx: typer.Context, names: Annotated[list[str], typer.Argument(autocompletion=complete_vmi_names)]) -> None:
    s = _client(ctx)
    name = names[0]
    s.send(reset_request(s.namespace, name), error_prefix=f"Error reseting VirtualMachineInstance {name}: ")
    log.info("Reset VMI", "reset.go:67")
    IO.std().print(f"VMI {name} was scheduled to reset")


@go_command(
    "soft-reboot",
    use="soft-reboot (VMI)",
    short="Soft reboot a virtual machine instance",
    long="Soft reboot a virtual machine instance",
    example="  # Soft-Reboot a virtualmachineinstance called 'myvmi':\n  {{ProgramName}} soft-reboot myvmi",
    args=exact_args(1),
)
def soft_reboot_cmd(ctx: typer.Context, names: Annotated[list[str], typer.Argument(autocompletion=complete_vmi_names)]) -> None:
    s = _client(ctx)
    name = names[0]
    s.send(soft_reboot_request(s.namespace, name), error_prefix=f"Error soft rebooting VirtualMachineInstance {name}: ")
    log.info("SoftReboot VMI", "softreboot.go:66")
    IO.std().print(f"VMI {name} was scheduled to soft-reboot")
