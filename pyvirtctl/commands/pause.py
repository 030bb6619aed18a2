"""pause / unpause vm|vmi (virtctl.md §2.6-2.7), quirks included: an unknown type makes no request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from pyvirtctl.commands.bulk import (
    DEFAULT_PARALLEL,
    AllNamespacesOpt,
    AllOpt,
    ParallelOpt,
    SelectorOpt,
    TimeoutOpt,
    WaitOpt,
)
from pyvirtctl.commands.vm import DRY_RUN_HELP, DRY_RUN_LINE
from pyvirtctl.completion import complete_pause_args
from pyvirtctl.errors import ApiError, CLIError
from pyvirtctl.goflags import go_command
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


def _client(ctx: typer.Context) -> Any:
    return session(ctx, error_prefix="Cannot obtain KubeVirt client: ")


def _pause_like(ctx: typer.Context, verb: str, args: list[str], dry_run: bool, selector: str, all_vms: bool,
                all_namespaces: bool, parallel: int, wait: bool, timeout: str) -> None:
    """pause/unpause for one target (virtctl exactly) or many (names, -l, --all, -A), with --wait."""
    from pyvirtctl import waiting
    from pyvirtctl.commands import bulk
    from pyvirtctl.errors import UsageError

    if not args:
        raise UsageError("accepts 2 arg(s), received 0")
    kind, names = args[0], tuple(args[1:])
    sel = bulk.Selection(names, selector, all_vms, all_namespaces)
    bulk.validate_selection(sel, want_args=2)
    bulk.check_parallel(parallel)
    wait_seconds = waiting.parse_duration(timeout) if wait else 0.0
    run = run_pause if verb == "pause" else run_unpause
    s = _client(ctx)
    io = IO.std()
    if sel.is_single and not wait:
        run(PauseOptions(kind, names[0], dry_run), s, io)
        return
    lowered = kind.lower()
    if lowered not in VM_TYPES + VMI_TYPES:
        raise CLIError(f"unsupported resource type: {lowered}")
    if dry_run:
        io.print(DRY_RUN_LINE)
    keys = bulk.resolve(sel, s, "virtualmachines" if lowered in VM_TYPES else "virtualmachineinstances")
    if not keys:
        io.eprint(bulk.no_resources(sel, s.namespace))
        return

    def act(key: tuple[str, str]) -> str:
        scoped = s.for_namespace(key[0]) if key[0] != s.namespace else s
        buffer = _Capture()
        run(PauseOptions(kind, key[1], dry_run), scoped, buffer)
        return buffer.text()

    if sel.is_single:
        io.print(act(keys[0]))
        outcomes = [bulk.Outcome(keys[0], True, "")]
    else:
        outcomes = bulk.run_many(keys, act, parallel=parallel, label=lambda k: k[1])
    if wait and not dry_run:
        ok = [o.key for o in outcomes if o.ok]
        want = verb == "pause"
        results = waiting.wait_all(
            s, "virtualmachineinstances", ok, lambda k, o: waiting.paused(o, want), timeout=wait_seconds,
            reporter=bulk.reporter(),
        ) if ok else {}
        bulk.report_waits(
            outcomes,
            results,
            done_line=lambda key, r: f"VMI {key[1]} is {'paused' if want else 'unpaused'}",
            fail_line=lambda key, r: f"VMI {key[1]}: {r.failure}",
            single=sel.is_single,
            io=io,
        )
    if not sel.is_single:
        bulk.summary(outcomes, verb)


class _Capture(IO):
    """Collects the lines a single-target run prints, so the pool can print them whole."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def print(self, text: str = "", end: str = "\n") -> None:
        if text != DRY_RUN_LINE:
            self.lines.append(text)

    def text(self) -> str:
        return "\n".join(self.lines)


def _pause_like_command(verb: str, short: str, long: str) -> Callable[..., None]:
    """pause and unpause take the same arguments and flags; one adapter serves both."""

    @go_command(
        verb,
        use=f"{verb} vm|vmi (VM)|(VMI)",
        short=short,
        long=long,
        example=f"  # {verb.capitalize()} a virtualmachine called 'myvm':\n  {{{{ProgramName}}}} {verb} vm myvm",
    )
    def command(
        ctx: typer.Context,
        args: Annotated[list[str] | None, typer.Argument(autocompletion=complete_pause_args)] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
        selector: SelectorOpt = "",
        all_vms: AllOpt = False,
        all_namespaces: AllNamespacesOpt = False,
        parallel: ParallelOpt = DEFAULT_PARALLEL,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = "5m",
    ) -> None:
        _pause_like(ctx, verb, list(args or []), dry_run, selector, all_vms, all_namespaces, parallel, wait, timeout)

    command.__name__ = command.__qualname__ = f"{verb}_cmd"
    return command


pause_cmd = _pause_like_command("pause", "Pause a virtual machine", PAUSE_LONG)
unpause_cmd = _pause_like_command("unpause", "Unpause a virtual machine", UNPAUSE_LONG)
