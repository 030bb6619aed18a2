"""The CLI side of acting on several VMs at once: the shared flags, and the printer of outcomes.

With one name and none of the new flags every command behaves exactly like virtctl (its errors are
raised as they are). With several targets, each target gets virtctl's result line (success on
stdout, error on stderr) as it completes, a summary follows, and the exit status is 1 if any target
failed. The executor itself is `pyvirtctl.kubevirt.bulk`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pyvirtctl.errors import CLIError
from pyvirtctl.runtime import IO, session

if TYPE_CHECKING:  # the executor is imported where a command runs, not for its --help or a TAB
    from pyvirtctl.kubevirt import bulk
    from pyvirtctl.kubevirt.bulk import Key, Outcome, Selection, Verb

SelectorOpt = Annotated[
    str,
    typer.Option("--selector", "-l", help="Selector (label query) to filter on, supports '=', '==', and '!='."),
]
AllOpt = Annotated[bool, typer.Option("--all", help="Act on every virtual machine in the namespace.")]
AllNamespacesOpt = Annotated[
    bool,
    typer.Option(
        "--all-namespaces", "-A", help="With --selector or --all: act on matching virtual machines in all namespaces."
    ),
]
ParallelOpt = Annotated[int, typer.Option("--parallel", help="How many requests to run at once.")]
WaitOpt = Annotated[
    bool, typer.Option("--wait", help="Wait until the requested state is reached (watching, not polling).")
]
TimeoutOpt = Annotated[
    str, typer.Option("--timeout", help="With --wait: how long to wait, e.g. 90s, 5m.")
]

DEFAULT_PARALLEL = 8
DRY_RUN_LINE = "Dry Run execution"


def selection(ctx: typer.Context, names: list[str] | tuple[str, ...], selector: str = "", all_: bool = False,
              all_namespaces: bool = False, offset: int = 0) -> Selection:
    """The Selection for a command's names; `offset` is how many positionals come before the names
    (`pause vm NAME...`: 1). Knows which names followed a bool flag typed without a value."""
    from pyvirtctl.goflags import after_bare_bool
    from pyvirtctl.kubevirt.bulk import Selection

    marks = tuple((i - offset, flag) for i, flag in after_bare_bool(ctx) if i >= offset)
    return Selection(tuple(names), selector, all_, all_namespaces, marks)


class Printer:
    """Renders outcomes as virtctl's lines: `VM x was scheduled to start` (stdout), errors (stderr)."""

    def __init__(self, io: IO, verb: Verb, show_namespace: bool = False) -> None:
        self.io = io
        self.verb = verb
        self.show_namespace = show_namespace

    def label(self, key: Key) -> str:
        return f"{key[0]}/{key[1]}" if self.show_namespace else key[1]

    def targets(self, keys: list[Key]) -> None:
        self.show_namespace = len({ns for ns, _ in keys}) > 1

    def outcome(self, o: Outcome) -> None:
        name = self.verb.name
        if o.already:
            self.io.print(f"{self.verb.noun} {self.label(o.key)} is already {self.verb.already_state}")
        elif o.ok:
            self.io.print(f"{self.verb.noun} {self.label(o.key)} was scheduled to {name}")
        elif o.message:
            self.io.eprint(o.message)

    def waited(self, report: bulk.WaitReport, single: bool) -> None:
        """A line per target that got there (stdout), the reasons of the others (stderr); a single
        target's failure is raised (virtctl's one error line)."""
        for key, p in report.done:
            where = ""
            if p.node and self.verb.name in ("start", "restart"):
                where = f" on {p.node}"
            elif p.node and self.verb.name == "migrate":
                where = f" to {p.node}"
            self.io.print(f"{self.verb.noun} {self.label(key)} {self.verb.done_state}{where}")
        failures = [f"{self.verb.noun} {self.label(key)}: {why}" for key, why in report.failed]
        if single and failures:
            raise CLIError(failures[0])
        for line in failures:
            self.io.eprint(line)

    def summary(self, outcomes: list[Outcome]) -> None:
        """After several targets: one summary line on stderr; exit status 1 when any failed."""
        noun = self.verb.noun + "s"
        failed = [o for o in outcomes if not o.ok]
        already = sum(1 for o in outcomes if o.already)
        total = len(outcomes)
        if failed:
            raise CLIError(f"{len(failed)} of {total} {noun} failed to {self.verb.name}")
        if total > 1:
            note = f" ({already} already {self.verb.already_state})" if already else ""
            self.io.eprint(f"{total} {noun} done: {self.verb.name}{note}")


def reporter() -> Any:
    from pyvirtctl.kubevirt.waiting import Reporter

    return Reporter(sys.stderr, live=sys.stderr.isatty())


def execute(ctx: typer.Context, sel: Selection, verb: Verb, *, dry_run: bool = False, wait: bool = False,
            timeout: str = "5m", parallel: int = DEFAULT_PARALLEL, want_args: int = 1,
            client_error_prefix: str = "") -> None:
    """The shared flow: check the arguments (no I/O), `Dry Run execution`, act (pooled), optionally
    wait, summarise."""
    from pyvirtctl.kubevirt import bulk

    bulk.validate_selection(sel, want_args, "VM" if verb.noun == "VM" else "VMI")
    bulk.check_parallel(parallel)
    wait_seconds = _parse_duration(timeout) if wait else 0.0
    s = session(ctx, error_prefix=client_error_prefix)
    io = IO.std()
    if dry_run:
        io.print(DRY_RUN_LINE)
    if verb.validate:
        verb.validate()
    printer = Printer(io, verb)
    waiting = wait and not dry_run and verb.predicate is not None
    outcomes, state = bulk.run(s, sel, verb, parallel=parallel, report=printer.outcome, wait=waiting,
                               on_targets=printer.targets)
    if not outcomes:
        io.eprint(bulk.no_resources(sel, s.namespace))
        return
    if waiting:
        printer.waited(bulk.wait(s, verb, outcomes, state, timeout=wait_seconds, reporter=reporter()),
                       single=sel.is_single)
    if not sel.is_single:
        printer.summary(outcomes)


def _parse_duration(text: str) -> float:
    from pyvirtctl.kubevirt.waiting import parse_duration

    return parse_duration(text)
