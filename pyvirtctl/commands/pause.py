"""pause / unpause vm|vmi (virtctl.md §2.6-2.7), quirks included: an unknown type makes no request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from pyvirtctl.commands.vm import DRY_RUN_HELP, DRY_RUN_LINE
from pyvirtctl.completion import complete_pause_args
from pyvirtctl.errors import ApiError, CLIError, ConfigError
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube.paths import vm_path, vmi_path
from pyvirtctl.kube.request import Request
from pyvirtctl.runtime import IO, session

VM_TYPES = ("vm", "virtualmachine")
VMI_TYPES = ("vmi", "virtualmachineinstance")

PAUSE_LONG = (
    "Pauses a virtual machine by freezing it. Machine state is kept in memory.\n"
    "First argument is the resource type, possible types are (case insensitive, both singular and plural forms) "
    "virtualmachineinstance (vmi) or virtualmachine (vm).\n"
    "Second argument is the name of the resource."
)
UNPAUSE_LONG = (
    "Unpauses a virtual machine.\n"
    "First argument is the resource type, possible types are (case insensitive, both singular and plural forms) "
    "virtualmachineinstance (vmi) or virtualmachine (vm).\n"
    "Second argument is the name of the resource."
)


@dataclass(frozen=True)
class PauseOptions:
    kind: str  # as typed; compared lower-cased
    name: str
    dry_run: bool = False


def vmi_action_request(action: str, namespace: str, vmi: str, dry_run: bool) -> Request:
    body: dict = {"dryRun": ["All"]} if dry_run else {}
    return Request("PUT", vmi_path(namespace, vmi, action), body=body)


def vm_get_request(namespace: str, name: str) -> Request:
    return Request("GET", vm_path(namespace, name))


def run_strategy(vm: dict) -> str:
    """The VM's effective run strategy; raises for virtctl's mutually-exclusive error."""
    spec = vm.get("spec") or {}
    running, strategy = spec.get("running"), spec.get("runStrategy")
    if running is not None and strategy is not None:
        raise ValueError("running and runstrategy are mutually exclusive")
    if strategy:
        return strategy
    return "Always" if running else "Halted"


def run_pause(o: PauseOptions, s, io: IO) -> None:
    kind = o.kind.lower()
    if o.dry_run:
        io.print(DRY_RUN_LINE)
    if kind in VM_TYPES:
        vm = s.send(vm_get_request(s.namespace, o.name), error_prefix=f"Error getting VirtualMachine {o.name}: ").json()
        vmname = vm["metadata"]["name"]
        try:
            s.send(vmi_action_request("pause", s.namespace, vmname, o.dry_run))
        except ApiError as e:
            if not e.not_found:
                raise e.wrap(f"Error pausing VirtualMachineInstance {vmname}: ") from None
            try:
                strategy = run_strategy(vm)
            except ValueError as why:
                raise CLIError(f"Error pausing VirtualMachineInstance {vmname}: {why}") from None
            if strategy == "Halted":
                raise CLIError(
                    f"Error pausing VirtualMachineInstance {vmname}. VirtualMachine {vmname} is not set to run"
                ) from None
            raise CLIError(f"Error pausing VirtualMachineInstance {vmname}, it was not found") from None
    elif kind in VMI_TYPES:
        s.send(
            vmi_action_request("pause", s.namespace, o.name, o.dry_run),
            error_prefix=f"Error pausing VirtualMachineInstance {o.name}: ",
        )
    io.print(f"VMI {o.name} was scheduled to pause")


def run_unpause(o: PauseOptions, s, io: IO) -> None:
    kind = o.kind.lower()
    if o.dry_run:
        io.print(DRY_RUN_LINE)
    if kind in VM_TYPES:
        vm = s.send(vm_get_request(s.namespace, o.name), error_prefix=f"Error getting VirtualMachine {o.name}: ").json()
        target = vm["metadata"]["name"]
    elif kind in VMI_TYPES:
        target = o.name
    else:
        return  # virtctl: an unknown type makes no request and prints nothing
    s.send(
        vmi_action_request("unpause", s.namespace, target, o.dry_run),
        error_prefix=f"Error unpausing VirtualMachineInstance {target}: ",
    )
    io.print(f"VMI {target} was scheduled to unpause")


def _client(ctx: typer.Context):
    try:
        return session(ctx)
    except ConfigError as e:
        raise e.wrap("Cannot obtain KubeVirt client: ") from None


@go_command(
    "pause",
    use="pause vm|vmi (VM)|(VMI)",
    short="Pause a virtual machine",
    long=PAUSE_LONG,
    example="  # Pause a virtualmachine called 'myvm':\n  {{ProgramName}} pause vm myvm",
    args=exact_args(2),
)
def pause_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=complete_pause_args)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
) -> None:
    s = _client(ctx)
    run_pause(PauseOptions(args[0], args[1], dry_run), s, IO.std())


@go_command(
    "unpause",
    use="unpause vm|vmi (VM)|(VMI)",
    short="Unpause a virtual machine",
    long=UNPAUSE_LONG,
    example="  # Unpause a virtualmachine called 'myvm':\n  {{ProgramName}} unpause vm myvm",
    args=exact_args(2),
)
def unpause_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=complete_pause_args)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
) -> None:
    s = _client(ctx)
    run_unpause(PauseOptions(args[0], args[1], dry_run), s, IO.std())
