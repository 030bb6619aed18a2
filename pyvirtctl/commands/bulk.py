"""Acting on several VMs at once: names, `-l/--selector`, `--all`, `-A`, a bounded pool, `--wait`.

With one name and none of these flags every command behaves exactly like virtctl (its errors are
raised as they are). With several targets, each target gets virtctl's result line (success on
stdout, error on stderr), a summary follows, and the exit status is 1 if any target failed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from pyvirtctl.errors import CLIError, UsageError

Key = tuple[str, str]

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


@dataclass(frozen=True)
class Selection:
    names: tuple[str, ...]
    selector: str = ""
    all: bool = False
    all_namespaces: bool = False

    @property
    def is_single(self) -> bool:
        """The virtctl case: exactly one name and no selection flag."""
        return len(self.names) == 1 and not (self.selector or self.all or self.all_namespaces)


def validate_selection(sel: Selection, want_args: int = 1) -> None:
    """cobra's arg-count text when nothing is selected; kubectl's texts for conflicting choices."""
    if sel.names and (sel.selector or sel.all):
        raise UsageError("name cannot be provided when a selector is specified")
    if sel.names and sel.all_namespaces:
        raise UsageError("a resource cannot be retrieved by name across all namespaces")
    if not sel.names and not (sel.selector or sel.all):
        if sel.all_namespaces:
            raise UsageError("--all-namespaces needs --selector or --all")
        raise UsageError(f"accepts {want_args} arg(s), received {want_args - 1}")
    if sel.selector and sel.all:
        raise UsageError("--all cannot be combined with --selector")


def resolve(sel: Selection, session, plural: str = "virtualmachines") -> list[Key]:
    """The (namespace, name) targets; a selector or --all lists them from the cluster."""
    if sel.names:
        seen: dict[str, None] = {}
        for n in sel.names:
            seen.setdefault(n, None)
        return [(session.namespace, n) for n in seen]
    from pyvirtctl.kube.paths import kv_collection

    path = kv_collection(None if sel.all_namespaces else session.namespace, plural)
    query = [("labelSelector", sel.selector)] if sel.selector else None
    items = session.request("GET", path, query=query).json().get("items") or []
    return sorted((i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in items)


def no_resources(sel: Selection, namespace: str) -> str:
    return "No resources found" if sel.all_namespaces else f"No resources found in {namespace} namespace."


@dataclass
class Outcome:
    key: Key
    ok: bool
    message: str


def run_many(
    keys: list[Key],
    action: Callable[[Key], str],
    *,
    parallel: int,
    label: Callable[[Key], str],
) -> list[Outcome]:
    """Run `action` for every key on a bounded pool; print each result line as it completes."""
    import threading  # noqa: PLC0415 - only several targets need it
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - (it pulls in logging, queue)

    lock = threading.Lock()
    outcomes: list[Outcome] = []

    def one(key: Key) -> Outcome:
        try:
            line = action(key)
            outcome = Outcome(key, True, line)
        except CLIError as e:
            outcome = Outcome(key, False, e.message)
        except Exception as e:  # a bug must not hide the other targets' results
            outcome = Outcome(key, False, f"{label(key)}: {e}")
        with lock:
            stream = sys.stdout if outcome.ok else sys.stderr
            if outcome.message:
                print(outcome.message, file=stream, flush=True)
            outcomes.append(outcome)
        return outcome

    workers = max(1, min(parallel, len(keys)))
    if workers == 1:
        for k in keys:
            one(k)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, keys))
    return outcomes


def report_waits(outcomes: list[Outcome], results: dict, *, done_line: Callable[[Key, Any], str],
                 fail_line: Callable[[Key, Any], str], single: bool, io: Any) -> None:
    """After a --wait: a line per target that got there (stdout), the reasons of the others (stderr).

    A single target's failure is raised (virtctl's one error line); with several, each failed
    target is marked and `summary` reports the count.
    """
    failures = []
    for o in outcomes:
        r = results.get(o.key)
        if r is None:
            continue
        if r.failure:
            o.ok = False
            failures.append(fail_line(o.key, r))
        else:
            io.print(done_line(o.key, r))
    if single and failures:
        raise CLIError(failures[0])
    for line in failures:
        io.eprint(line)


def check_parallel(parallel: int) -> None:
    if parallel < 1:
        raise UsageError(f"invalid argument \"{parallel}\" for \"--parallel\" flag: must be at least 1")


def summary(outcomes: list[Outcome], verb: str, noun: str = "VMs") -> None:
    """After several targets: one summary line on stderr; exit status 1 when any failed."""
    failed = [o for o in outcomes if not o.ok]
    total = len(outcomes)
    if failed:
        raise CLIError(f"{len(failed)} of {total} {noun} failed to {verb}")
    if total > 1:
        print(f"{total} {noun} done: {verb}", file=sys.stderr, flush=True)


def reporter():
    from pyvirtctl.waiting import Reporter

    return Reporter(sys.stderr, live=sys.stderr.isatty())
