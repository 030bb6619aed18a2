"""`--wait`: watch VMIs or migrations until the state a command asked for is reached.

The predicates are pure (object in, Progress out) and table-tested; `wait_all` does the I/O:
one list + one watch of the whole collection (a namespace, or all namespaces), however many
targets there are, re-listing when the server ends a watch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pyvirtctl.errors import CLIError
from pyvirtctl.kube import paths
from pyvirtctl.kubevirt.requests import events_request, list_request

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Progress:
    """Where one target stands: done, failed (with the reason) or still on its way."""

    done: bool = False
    failure: str | None = None
    phase: str = ""
    node: str = ""

    def describe(self) -> str:
        bits = [self.phase or "unknown"]
        if self.node:
            bits.append(f"on {self.node}")
        return " ".join(bits)


def _conditions(obj: dict | None) -> dict[str, dict]:
    return {c.get("type", ""): c for c in ((obj or {}).get("status") or {}).get("conditions") or []}


def _true(obj: dict | None, ctype: str) -> bool:
    return str(_conditions(obj).get(ctype, {}).get("status", "")).lower() == "true"


def failure_reason(obj: dict) -> str:
    """A one-line reason from a failed VMI or migration: its conditions and status fields."""
    status = obj.get("status") or {}
    parts = []
    for c in status.get("conditions") or []:
        if c.get("reason") or c.get("message"):
            text = c.get("type", "")
            if c.get("reason"):
                text += f" ({c['reason']})"
            if c.get("message"):
                text += f": {c['message']}"
            parts.append(text)
    if status.get("reason"):
        parts.append(str(status["reason"]))
    return "; ".join(parts) or "no reason reported"


def vmi_progress(vmi: dict | None) -> tuple[str, str]:
    status = (vmi or {}).get("status") or {}
    return status.get("phase", ""), status.get("nodeName", "")


def started(vmi: dict | None, old_uid: str | None = None) -> Progress:
    """start: the VMI exists, is Running and Ready (restart: and is a new VMI)."""
    if vmi is None:
        return Progress(phase="no VMI yet")
    phase, node = vmi_progress(vmi)
    if old_uid is not None and vmi.get("metadata", {}).get("uid") == old_uid:
        return Progress(phase=f"{phase or 'old VMI'} (restarting)", node=node)
    if phase == "Failed":
        return Progress(failure=f"VMI failed: {failure_reason(vmi)}", phase=phase, node=node)
    if phase == "Succeeded":
        return Progress(failure="VMI stopped before it was ready", phase=phase, node=node)
    return Progress(done=phase == "Running" and _true(vmi, "Ready"), phase=phase, node=node)


def stopped(vmi: dict | None) -> Progress:
    """stop: the VMI is gone."""
    if vmi is None:
        return Progress(done=True, phase="Stopped")
    phase, node = vmi_progress(vmi)
    return Progress(phase=phase or "Stopping", node=node)


def paused(vmi: dict | None, want: bool = True) -> Progress:
    """pause / unpause: the VMI's Paused condition is set / cleared."""
    if vmi is None:
        return Progress(failure="the VMI is gone", phase="Stopped")
    phase, node = vmi_progress(vmi)
    is_paused = _true(vmi, "Paused")
    return Progress(done=is_paused == want, phase="Paused" if is_paused else phase, node=node)


def migrated(migration: dict | None) -> Progress:
    """migrate: the migration Succeeded (Failed: say why)."""
    if migration is None:
        return Progress(phase="no migration yet")
    status = migration.get("status") or {}
    phase = status.get("phase", "Pending")
    node = (status.get("migrationState") or {}).get("targetNode", "")
    if phase == "Failed":
        return Progress(failure=f"migration failed: {failure_reason(migration)}", phase=phase, node=node)
    return Progress(done=phase == "Succeeded", phase=phase, node=node)


def poll_until(timeout: float, interval: float, condition: Callable[[], bool],
               clock: Callable[[], float], sleep: Callable[[float], Any]) -> None:
    """apimachinery's wait.PollUntilContextTimeout (immediate): `condition` now, then every `interval`
    until `timeout` runs out, which is reported as Go's `context deadline exceeded`."""
    deadline = clock() + timeout
    while True:
        if condition():
            return
        left = deadline - clock()
        if left <= 0:
            raise CLIError("context deadline exceeded")
        sleep(min(interval, left))
        if clock() >= deadline:
            raise CLIError("context deadline exceeded")


def parse_duration(text: str) -> float:
    """Go-style durations for --timeout: `90s`, `5m`, `1h30m`, `500ms`; a bare number is seconds."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    s = text.strip()
    try:
        return float(s)
    except ValueError:
        pass
    total, num, i = 0.0, "", 0
    if not s:
        raise CLIError(f'invalid duration "{text}"')
    while i < len(s):
        ch = s[i]
        if ch.isdigit() or ch == ".":
            num += ch
            i += 1
            continue
        unit = next((u for u in ("ms", "us", "µs", "ns", "h", "m", "s") if s.startswith(u, i)), None)
        if unit is None or not num:
            raise CLIError(f'invalid duration "{text}"')
        total += float(num) * units[unit]
        num = ""
        i += len(unit)
    if num:
        raise CLIError(f'missing unit in duration "{text}"')
    return total


class Reporter:
    """Progress output: a live status line on a terminal, plain lines otherwise (stderr)."""

    def __init__(self, stream: Any, live: bool) -> None:
        self.stream = stream
        self.live = live
        self.last: dict[Key, str] = {}
        self.start = time.monotonic()
        self._width = 0

    def update(self, key: Key, progress: Progress, show_ns: bool) -> None:
        text = progress.describe()
        if self.last.get(key) == text:
            return
        self.last[key] = text
        name = f"{key[0]}/{key[1]}" if show_ns else key[1]
        elapsed = time.monotonic() - self.start
        line = f"{name}: {text} ({elapsed:.0f}s)"
        if self.live:
            pad = max(0, self._width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def interrupted(self) -> None:
        """Ctrl+C (or a terminating signal) during the wait: end the status line (the terminal may
        have echoed `^C` after it), so the shell's prompt starts on a line of its own."""
        if self.live and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0


def wait_all(
    session: Any,
    collection: paths.Resource,
    keys: Iterable[Key],
    predicate: Callable[[Key, dict | None], Progress],
    *,
    timeout: float,
    reporter: Reporter | None = None,
    match: Callable[[dict], Key | None] | None = None,
    label_selector: str = "",
) -> dict[Key, Progress]:
    """Watch `collection` until every key's predicate(key, object) is done or failed, or the timeout passes.

    `collection` is `paths.VMIS` or `paths.MIGRATIONS`; the namespace scope comes from the keys
    (one namespace -> a namespaced watch, several -> all namespaces).
    `match` maps an object to the key it concerns (default: its namespace/name).
    Returns the final Progress of every key; raises nothing for failures (the caller reports them).
    """
    pending = set(keys)
    namespaces = {ns for ns, _ in pending}
    listing_request = list_request(
        collection, next(iter(namespaces)) if len(namespaces) == 1 else None, selector=label_selector
    )
    match = match or (lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    current: dict[Key, dict | None] = dict.fromkeys(pending)
    results: dict[Key, Progress] = {}
    show_ns = len(namespaces) > 1
    deadline = time.monotonic() + timeout

    def evaluate(key: Key) -> None:
        p = predicate(key, current.get(key))
        if reporter:
            reporter.update(key, p, show_ns)
        if p.done or p.failure:
            results[key] = p
            pending.discard(key)

    query = list(listing_request.query)
    try:
        while pending:
            listing = session.send(listing_request).json()
            seen = {k: None for k in current}
            for obj in listing.get("items") or []:
                k = match(obj)
                if k in seen:
                    seen[k] = obj
            current.update(seen)
            for k in list(pending):
                evaluate(k)
            rv = (listing.get("metadata") or {}).get("resourceVersion", "")
            remaining = deadline - time.monotonic()
            if not pending or remaining <= 0:
                break
            watch_query = [*query, ("watch", "true"), ("allowWatchBookmarks", "true")]
            if rv:
                watch_query.append(("resourceVersion", rv))
            watch_query.append(("timeoutSeconds", str(max(1, int(remaining)))))
            for etype, obj in session.watch(listing_request.path, query=watch_query, timeout=remaining + 5):
                if etype in ("BOOKMARK", "ERROR"):
                    if etype == "ERROR":
                        break
                    continue
                k = match(obj)
                if k not in current:
                    continue
                current[k] = None if etype == "DELETED" else obj
                if k in pending:
                    evaluate(k)
                if not pending or time.monotonic() >= deadline:
                    break
            if time.monotonic() >= deadline:
                break
    except BaseException:
        if reporter:
            reporter.interrupted()
        raise
    finally:
        if reporter:
            reporter.finish()
    for k in pending:
        p = predicate(k, current.get(k))
        results[k] = Progress(
            failure=f"timed out waiting, currently {p.describe()}", phase=p.phase, node=p.node
        )
    return results


def last_event(session: Any, namespace: str, name: str) -> str:
    """The newest Event message about an object, for failure reports ("" when there is none)."""
    try:
        events = session.send(events_request(namespace, name)).json()
    except CLIError:
        return ""
    items = events.get("items") or []
    if not items:
        return ""
    items.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    e = items[-1]
    return f"{e.get('reason', '')}: {e.get('message', '')}".strip(": ")
