"""Injected faults: per-request failures switched on through the admin API.

A fault spec (JSON):
  {"match": {"method": "PUT", "path_regex": "...", "namespace": "...", "name": "...", "kind": "console"},
   "action": "status" | "delay" | "html" | "empty" | "reset" | "hang" | "drop_ws_after" | "expire_token"
             | "cut_body",
   "status": 503, "message": "...", "seconds": 2, "bytes": 1000, "times": 1}
`match` fields are all optional (missing = any); `path_regex` is searched in the request path.
`times` limits how often the fault fires (default: unlimited).
`reset` drops the connection before answering; with `bytes` it first sends the status line, headers
and that many bytes of a longer body (a reset mid-response).

The CDI upload proxy (uploadproxy.py) looks faults up with its own paths (`/v1beta1/upload-async`, ...)
and the namespace and name of the PVC the upload token is for. There `reset` with `bytes` drops the
connection once that many bytes of the request body have arrived (a drop mid-upload), `status` answers
with that code and `message` as a plain-text body (`503`: the proxy cannot reach the upload server), and
`expire_token` treats the request's token as expired (401, as CDI does when a token outlived its 5 min).
`cut_body` (export server downloads, on the API port and on the exporter pods' own ports): the real
answer is sent up to `bytes` bytes of its body, then the connection is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("status", "delay", "html", "empty", "reset", "hang", "drop_ws_after", "expire_token", "cut_body")
_STREAM_ACTIONS = ("drop_ws_after", "cut_body")  # consumed by the handler that streams, not the middleware


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    spec: dict[str, Any]
    action: str
    match: dict[str, Any]
    times: int | None
    regex: re.Pattern | None = field(default=None)

    def matches(self, method: str, path: str, namespace: str | None, name: str | None, kind: str | None = None) -> bool:
        m = self.match
        if m.get("method") and m["method"].upper() != method.upper():
            return False
        if self.regex is not None and not self.regex.search(path):
            return False
        if m.get("namespace") and m["namespace"] != namespace:
            return False
        if m.get("name") and m["name"] != name:
            return False
        if m.get("kind") and kind is not None and m["kind"] != kind:
            return False
        return True


class Faults:
    def __init__(self) -> None:
        self.items: list[Fault] = []

    def add(self, spec: dict[str, Any]) -> Fault:
        if not isinstance(spec, dict):
            raise FaultSpecError("fault spec must be a JSON object")
        action = spec.get("action")
        if action not in ACTIONS:
            raise FaultSpecError(f"unknown fault action {action!r}; expected one of {', '.join(ACTIONS)}")
        match = spec.get("match") or {}
        if not isinstance(match, dict):
            raise FaultSpecError("fault match must be a JSON object")
        regex = None
        if match.get("path_regex"):
            try:
                regex = re.compile(match["path_regex"])
            except re.error as e:
                raise FaultSpecError(f"bad path_regex: {e}") from None
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise FaultSpecError("times must be a positive integer")
        f = Fault(spec=spec, action=action, match=match, times=times, regex=regex)
        self.items.append(f)
        return f

    def clear(self) -> None:
        self.items.clear()

    def _consume(self, f: Fault) -> None:
        if f.times is not None:
            f.times -= 1
            if f.times <= 0 and f in self.items:
                self.items.remove(f)

    def for_request(self, method: str, path: str, namespace: str | None, name: str | None) -> Fault | None:
        """The first HTTP fault matching this request (consumed once)."""
        for f in list(self.items):
            if f.action in _STREAM_ACTIONS:
                continue
            if f.matches(method, path, namespace, name):
                self._consume(f)
                return f
        return None

    def ws_drop_after(self, kind: str, ns: str, name: str) -> int | None:
        """For the streams module: after how many bytes to drop a websocket of `kind`
        (console, vnc, portforward, usbredir) for VMI/VM ns/name, or None."""
        path = f"/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}/{kind}"
        for f in list(self.items):
            if f.action != "drop_ws_after":
                continue
            if f.matches(f.match.get("method") or "GET", path, ns, name, kind):
                self._consume(f)
                return int(f.spec.get("bytes", 0))
        return None

    def body_cut_after(self, method: str, path: str) -> int | None:
        """For the export server: after how many body bytes to drop this download, or None."""
        for f in list(self.items):
            if f.action == "cut_body" and f.matches(method, path, None, None):
                self._consume(f)
                return int(f.spec.get("bytes", 0))
        return None

    def as_json(self) -> list[dict]:
        return [dict(f.spec, remaining=f.times) for f in self.items]
