"""Acting on several targets at once: one executor for every bulk verb (start, stop, pause, ...).

`run` selects the targets (names, a label selector, `--all`, every namespace), checks all of them,
acts on each on a bounded pool and returns one `Outcome` per target; `wait` watches them until the
verb's state is reached. Nothing here prints: the caller passes `report`, which renders each outcome
as it arrives (virtctl's lines, see commands/bulk.py).

Safety rules (an addition must never turn a mistake into an action):

* with exactly one name and no new flag, the flow is virtctl's: one request, its errors unchanged;
* every target's request is built before anything is sent, so an invalid name or namespace stops
  the whole run (`InputError`, client-go's text);
* with several names, each named target is fetched first; if one is missing (or cannot be read),
  nothing is sent and the error names it;
* with several names, a word right after a bool flag given without `=value` that reads as a Go bool
  (`--paused false`), or a word starting with a typographic dash (`—dry-run`), is refused: it was
  meant as a flag value or a flag, not as a name;
* with `--all` / `-l`, a target already in the wanted state (the server's 409 says so) is reported
  as such and is not a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from pyvirtctl.errors import ApiError, CLIError, InputError, UsageError, prefixed
from pyvirtctl.gotext import go_quote
from pyvirtctl.kube import paths
from pyvirtctl.kubevirt.requests import get_request, list_request

Key = tuple[str, str]  # (namespace, name)

TYPOGRAPHIC_DASHES = "\u2014\u2013\u2212\u2012\u2015"  # — – − ‒ ―
GO_BOOL_WORDS = frozenset("1 t T TRUE true True 0 f F FALSE false False".split())


class Selection(NamedTuple):
    """Which targets: names, or a label selector / `--all`, in one namespace or all of them.

    `after_bare_bool` records, for names that came right after a bool flag given without a value,
    (index into `names`, the flag as typed) - what the parser saw, for the several-names checks.
    """

    names: tuple[str, ...]
    selector: str = ""
    all: bool = False
    all_namespaces: bool = False
    after_bare_bool: tuple[tuple[int, str], ...] = ()

    @property
    def is_single(self) -> bool:
        """The virtctl case: exactly one name and no selection flag."""
        return len(self.names) == 1 and not (self.selector or self.all or self.all_namespaces)

    @property
    def is_listing(self) -> bool:
        """Targets come from the cluster (`-l` or `--all`), not from names."""
        return bool(self.selector or self.all)


def validate_selection(sel: Selection, want_args: int = 1, noun: str = "VM") -> None:
    """cobra's arg-count text when nothing is selected; kubectl's texts for conflicting choices;
    the several-names checks (pure)."""
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
    if len(sel.names) > 1:
        check_several_names(sel, noun)


def check_several_names(sel: Selection, noun: str = "VM") -> None:
    """Refuse words that were meant as a flag or a flag's value, not as one more target."""
    for index, flag in sel.after_bare_bool:
        word = sel.names[index]
        if word in GO_BOOL_WORDS:
            raise UsageError(
                f"{go_quote(word)} after {flag} would be taken as a {noun} name: a bool flag takes its value "
                f"only with '=', write {flag}={word}"
            )
    for word in sel.names:
        if word and word[0] in TYPOGRAPHIC_DASHES:
            rest = word.lstrip(TYPOGRAPHIC_DASHES + "-")
            meant = ("-" if len(rest) == 1 else "--") + rest
            raise UsageError(
                f"{go_quote(word)} looks like a flag written with the wrong dash "
                f"(U+{ord(word[0]):04X} instead of '-'): type it as {meant}"
            )


def check_parallel(parallel: int) -> None:
    if parallel < 1:
        raise UsageError(f"invalid argument \"{parallel}\" for \"--parallel\" flag: must be at least 1")


def resolve(sel: Selection, session: Any, resource: paths.Resource = paths.VMS) -> list[Key]:
    """The (namespace, name) targets; a selector or --all lists them from the cluster."""
    if sel.names:
        return [(session.namespace, n) for n in dict.fromkeys(sel.names)]
    listing = list_request(resource, None if sel.all_namespaces else session.namespace, sel.selector)
    items = session.send(listing).json().get("items") or []
    return sorted((i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in items)


def no_resources(sel: Selection, namespace: str) -> str:
    return "No resources found" if sel.all_namespaces else f"No resources found in {namespace} namespace."


class Outcome:
    """What became of one target: done, already in the wanted state, or failed (with the error text)."""

    __slots__ = ("key", "ok", "message", "already")

    def __init__(self, key: Key, ok: bool, message: str = "", already: bool = False) -> None:
        self.key = key
        self.ok = ok
        self.message = message
        self.already = already

    def __repr__(self) -> str:
        return f"Outcome({self.key!r}, ok={self.ok}, already={self.already}, {self.message!r})"


class Verb(NamedTuple):
    """One bulk verb: how to prepare (pure, checks the names) and send it for a target; for --wait,
    what to watch. `prepare(key)` returns what `act` needs; `act(session, key, prepared, obj)` sends
    (`obj` is the target as fetched while checking several names, else None)."""

    name: str  # "start": "VM x was scheduled to start"
    noun: str  # "VM" or "VMI"
    resource: paths.Resource  # what a name refers to (for listing and checking)
    prepare: Callable[[Key], Any]
    act: Callable[[Any, Key, Any, dict[str, Any] | None], None]
    already: tuple[str, ...] = ()  # the server's 409 texts meaning "already in the wanted state"
    already_state: str = ""  # "stopped": "VM x is already stopped"
    validate: Callable[[], None] | None = None  # option checks run after `Dry Run execution`
    # --wait
    collection: paths.Resource = paths.VMIS
    predicate: Callable[[Key, dict[str, Any] | None, Any], Any] | None = None  # (key, object, state)
    before_wait: Callable[[Any, list[Key]], Any] | None = None  # state taken before acting
    match: Callable[[Any], Callable[[dict[str, Any]], Key | None]] | None = None
    done_state: str = ""  # "is running": "VM x is running"


def run(session: Any, sel: Selection, verb: Verb, *, parallel: int, report: Callable[[Outcome], None],
        wait: bool = False, on_targets: Callable[[list[Key]], None] | None = None) -> tuple[list[Outcome], Any]:
    """Select, check, act. Returns the outcomes (in completion order) and the state `before_wait`
    took (for `wait`). A single target's error is raised unchanged (virtctl's behaviour).
    `on_targets(keys)` is told the targets once they are known, before any is acted on."""
    keys = resolve(sel, session, verb.resource)
    if not keys:
        return [], None
    if on_targets is not None:
        on_targets(keys)
    prepared = _prepare_all(sel, verb, keys)
    objects = _fetch_named(session, verb, keys, parallel) if len(sel.names) > 1 else {}
    state = verb.before_wait(session, keys) if wait and verb.before_wait else None

    def one(key: Key) -> Outcome:
        try:
            verb.act(session, key, prepared[key], objects.get(key))
        except CLIError as e:
            if sel.is_listing and _is_already(e, verb):
                return Outcome(key, True, e.message, already=True)
            if sel.is_single:
                raise
            return Outcome(key, False, e.message)
        return Outcome(key, True)

    if sel.is_single:
        outcome = one(keys[0])
        report(outcome)
        return [outcome], state
    return run_many(keys, one, parallel=parallel, report=report), state


def _prepare_all(sel: Selection, verb: Verb, keys: list[Key]) -> dict[Key, Any]:
    """Build every target's request before anything is sent (a bad name stops the whole run)."""
    prepared: dict[Key, Any] = {}
    problems: list[str] = []
    for key in keys:
        try:
            prepared[key] = verb.prepare(key)
        except CLIError as e:
            if sel.is_single:
                raise
            problems.append(e.message)
    if problems:
        raise InputError("; ".join(problems) + f" (nothing was sent to any of the {len(keys)} {verb.noun}s)")
    return prepared


def _fetch_named(session: Any, verb: Verb, keys: list[Key], parallel: int) -> dict[Key, dict[str, Any]]:
    """Several names: read every target first; if one is missing (or unreadable), nothing is sent."""
    objects: dict[Key, dict[str, Any]] = {}
    problems: dict[Key, str] = {}

    def fetch(key: Key) -> Outcome:
        try:
            objects[key] = dict(session.send(get_request(paths.ref(verb.resource, key[0], key[1]))).json())
        except CLIError as e:
            problems[key] = e.message
        return Outcome(key, key not in problems)

    run_many(keys, fetch, parallel=parallel, report=lambda o: None)
    if problems:
        raise CLIError("; ".join(problems[k] for k in keys if k in problems)
                       + f" (nothing was sent: every one of the {len(keys)} {verb.noun}s must exist)")
    return objects


def _is_already(error: CLIError, verb: Verb) -> bool:
    return isinstance(error, ApiError) and error.status == 409 and any(
        error.message.endswith(text) for text in verb.already
    )


def run_many(keys: list[Key], one: Callable[[Key], Outcome], *, parallel: int,
             report: Callable[[Outcome], None]) -> list[Outcome]:
    """`one(key)` for every key on a bounded pool; `report` sees each outcome as it completes."""
    import threading  # noqa: PLC0415 - only several targets need it
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - (it pulls in logging, queue)

    lock = threading.Lock()
    outcomes: list[Outcome] = []

    def task(key: Key) -> None:
        try:
            outcome = one(key)
        except Exception as e:  # a bug must not hide the other targets' results
            outcome = Outcome(key, False, f"{key[1]}: {e}")
        with lock:
            outcomes.append(outcome)
            report(outcome)

    workers = max(1, min(parallel, len(keys)))
    if workers == 1:
        for k in keys:
            task(k)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(task, keys))
    return outcomes


class WaitReport(NamedTuple):
    """After --wait: the targets that got there (with their Progress) and the failures (key, reason)."""

    done: list[tuple[Key, Any]]
    failed: list[tuple[Key, str]]


def wait(session: Any, verb: Verb, outcomes: list[Outcome], state: Any, *, timeout: float,
         reporter: Any = None) -> WaitReport:
    """Watch every target that was acted on until the verb's state is reached (or fails, or the
    timeout passes). Failed targets are marked in `outcomes`."""
    from pyvirtctl.kubevirt import waiting

    result = WaitReport([], [])
    predicate = verb.predicate
    ok = [o.key for o in outcomes if o.ok]
    if predicate is None or not ok:
        return result
    progress = waiting.wait_all(session, verb.collection, ok, lambda key, obj: predicate(key, obj, state),
                                timeout=timeout, reporter=reporter, match=verb.match(state) if verb.match else None)
    by_key = {o.key: o for o in outcomes}
    for key in ok:
        p = progress.get(key)
        if p is None:
            continue
        if p.failure:
            by_key[key].ok = False
            event = "" if "timed out" in p.failure else waiting.last_event(session, key[0], key[1])
            result.failed.append((key, p.failure + (f" (last event: {event})" if event else "")))
        else:
            result.done.append((key, p))
    return result


def prepared_with(prefix: str, build: Callable[[], Any]) -> Any:
    """Build a request with virtctl's error prefix on a refused name."""
    with prefixed(prefix):
        return build()
