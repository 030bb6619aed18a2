"""reset and soft-reboot: body-less PUTs to VirtualMachineInstance subresources (virtctl.md §2.8-2.9).

soft-reboot also takes several names, `-l`, `--all` and `-A` like the other lifecycle verbs (the
bulk executor); reset stays virtctl's one-VMI command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pyvirtctl import log
from pyvirtctl.commands.bulk import (
    DEFAULT_PARALLEL,
    AllNamespacesOpt,
    ParallelOpt,
    SelectorOpt,
    execute,
    selection,
)
from pyvirtctl.completion import complete_vmi_names, complete_vmi_names_many
from pyvirtctl.errors import prefixed
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kubevirt import lifecycle
from pyvirtctl.kubevirt.requests import reset_request
from pyvirtctl.runtime import IO, session

CLIENT_ERROR = "Cannot obtain KubeVirt client: "


@go_command(
    "reset",
    use="reset (VMI)",
    short="Reset a virtual machine instance",
    example="  # Reset a virtualmachineinstance called 'myvmi':\n  {{ProgramName}} reset myvmi",
    args=exact_args(1),
)
def reset_cmd(ctx: typer.Context, names: Annotated[list[str], typer.Argument(autocompletion=complete_vmi_names)]) -> None:
    s = session(ctx, error_prefix=CLIENT_ERROR)
    name = names[0]
    prefix = f"Error reseting VirtualMachineInstance {name}: "
    with prefixed(prefix):
        request = reset_request(s.namespace, name)
    log.info(*lifecycle.RESET_LOG)
    s.send(request, error_prefix=prefix)
    IO.std().print(f"VMI {name} was scheduled to reset")


@go_command(
    "soft-reboot",
    use="soft-reboot (VMI)",
    short="Soft reboot a virtual machine instance",
    long="Soft reboot a virtual machine instance",
    example="  # Soft-Reboot a virtualmachineinstance called 'myvmi':\n  {{ProgramName}} soft-reboot myvmi",
)
def soft_reboot_cmd(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(autocompletion=complete_vmi_names_many)] = None,
    selector: SelectorOpt = "",
    all_vmis: Annotated[bool, typer.Option("--all", help="Act on every virtual machine instance in the namespace.")]
    = False,
    all_namespaces: AllNamespacesOpt = False,
    parallel: ParallelOpt = DEFAULT_PARALLEL,
) -> None:
    sel = selection(ctx, names or [], selector, all_vmis, all_namespaces)
    execute(ctx, sel, lifecycle.soft_reboot(), parallel=parallel, client_error_prefix=CLIENT_ERROR)

