"""The object store: versioned Kubernetes objects, selectors and watch streams.

Everything runs on the server's single asyncio loop, so there is no locking. Objects are plain
JSON-like dicts; callers always get deep copies so that nobody mutates the stored state by accident.

`Store` API used by the server, the controllers and the streams module:
  get(res, ns, name) -> dict | None            list(res, ns=None, label_selector=, field_selector=)
  create(res, obj, dry_run=False) -> dict       update(res, obj, dry_run=False, check_rv=True) -> dict
  delete(res, ns, name, dry_run=False) -> dict  watch(res, ns, ...) -> Watch (async iterator of events)
  subscribe(callback) -> called as callback(event_type, res, obj) after every change
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import random
import re
import string
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from pyvirtctl.sim import kstatus
from pyvirtctl.sim.kstatus import clone
from pyvirtctl.sim.resources import Resource, storage_key

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_LABEL1123_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                  "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_LABEL1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                  "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                  "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")

HISTORY = 2000


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n: int = 5) -> str:
    # the alphabet apimachinery's rand.String uses (no vowels, no confusable digits)
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


# ----------------------------------------------------------------------------------------------
# selectors

class SelectorError(ValueError):
    pass


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


_SET_RE = re.compile(r"^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$")


def parse_label_selector(text: str) -> list[tuple[str, str, Any]]:
    """Parse `a=b,c!=d,e in (x,y),!f,g` into (key, op, value) requirements."""
    reqs: list[tuple[str, str, Any]] = []
    for part in _split_top(text or ""):
        m = _SET_RE.match(part)
        if m:
            vals = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((m.group(1), m.group(2), vals))
            continue
        for op in ("==", "!=", "="):
            if op in part:
                k, _, v = part.partition(op)
                k, v = k.strip(), v.strip()
                if not k or any(c in v for c in "=!() "):
                    raise SelectorError(f"unable to parse requirement: found '{v}', expected: identifier")
                reqs.append((k, "!=" if op == "!=" else "=", v))
                break
        else:
            if part.startswith("!"):
                reqs.append((part[1:].strip(), "!exists", None))
            elif re.match(r"^[A-Za-z0-9_./-]+$", part):
                reqs.append((part, "exists", None))
            else:
                raise SelectorError(f"unable to parse requirement: found '{part}', expected: identifier")
    return reqs


def match_labels(labels: dict | None, reqs: list[tuple[str, str, Any]]) -> bool:
    labels = labels or {}
    for key, op, val in reqs:
        has = key in labels
        if op == "=" and labels.get(key) != val:
            return False
        if op == "!=" and has and labels[key] == val:
            return False
        if op == "in" and (not has or labels[key] not in val):
            return False
        if op == "notin" and has and labels[key] in val:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


def match_label_selector_obj(labels: dict | None, selector: dict | None) -> bool:
    """Match a metav1.LabelSelector object ({matchLabels, matchExpressions})."""
    if not selector:
        return True
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), set(e.get("values") or [])
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def parse_field_selector(text: str) -> list[tuple[str, str, str]]:
    reqs = []
    for part in _split_top(text or ""):
        for op in ("==", "!=", "="):
            if op in part:
                k, _, v = part.partition(op)
                reqs.append((k.strip(), "!=" if op == "!=" else "=", v.strip()))
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
    return reqs


def dig(obj: dict, path: str) -> Any:
    cur: Any = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def match_fields(obj: dict, reqs: list[tuple[str, str, str]]) -> bool:
    for key, op, val in reqs:
        got = dig(obj, key)
        got_s = "" if got is None else (str(got).lower() if isinstance(got, bool) else str(got))
        if (op == "=") != (got_s == val):
            return False
    return True


# ----------------------------------------------------------------------------------------------
# watch

class Watch:
    """One watch stream: an async iterator of {"type", "object"} events."""

    def __init__(self, store: Store, res: Resource, ns: str | None, labels: list, fields: list) -> None:
        self.store, self.res, self.ns = store, res, ns
        self.labels, self.fields = labels, fields
        self.queue: asyncio.Queue = asyncio.Queue()
        self.closed = False

    def wants(self, res: Resource, obj: dict) -> bool:
        if storage_key(res) != storage_key(self.res):
            return False
        md = obj.get("metadata", {})
        if self.ns and md.get("namespace") != self.ns:
            return False
        return match_labels(md.get("labels"), self.labels) and match_fields(obj, self.fields)

    def push(self, etype: str, obj: dict) -> None:
        if not self.closed:
            self.queue.put_nowait({"type": etype, "object": obj})

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)
            if self in self.store.watches:
                self.store.watches.remove(self)


# ----------------------------------------------------------------------------------------------
# the store

class Store:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.resource_of: dict[str, Resource] = {}
        self.rv = 1000
        self.history: deque[tuple[int, str, Resource, dict]] = deque(maxlen=HISTORY)
        self.watches: list[Watch] = []
        self.subscribers: list[Callable[[str, Resource, dict], None]] = []
        self.create_hooks: list[Callable[[Resource, dict], None]] = []

    # -- helpers
    def _key(self, res: Resource, ns: str | None, name: str) -> tuple[str, str, str]:
        return (storage_key(res), (ns or "") if res.namespaced else "", name)

    def _next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def subscribe(self, cb: Callable[[str, Resource, dict], None]) -> None:
        self.subscribers.append(cb)

    def _emit(self, etype: str, res: Resource, obj: dict) -> None:
        rv = int(obj["metadata"]["resourceVersion"])
        snapshot = clone(obj)
        self.history.append((rv, etype, res, snapshot))
        for w in list(self.watches):
            if w.wants(res, snapshot):
                w.push(etype, self.present(w.res, snapshot))
        for cb in list(self.subscribers):
            cb(etype, res, snapshot)

    def present(self, res: Resource, obj: dict) -> dict:
        """A copy of a stored object as served under `res` (its apiVersion and kind)."""
        out = clone(obj)
        out["apiVersion"] = res.api_version
        out["kind"] = res.kind
        return {"apiVersion": out.pop("apiVersion"), "kind": out.pop("kind"), **out}

    # -- reads
    def get(self, res: Resource, ns: str | None, name: str) -> dict | None:
        obj = self.objects.get(self._key(res, ns, name))
        return self.present(res, obj) if obj is not None else None

    def list(self, res: Resource, ns: str | None = None, label_selector: str = "",
             field_selector: str = "", copy: bool = True) -> list[dict]:
        """Matching objects as served (copies); `copy=False` hands out the stored dicts for read-only passes."""
        labels = parse_label_selector(label_selector) if label_selector else []
        fields = parse_field_selector(field_selector) if field_selector else []
        out = []
        sk = storage_key(res)
        mine = [(key, obj) for key, obj in self.objects.items() if key[0] == sk]
        for (_k, ons, _name), obj in sorted(mine, key=lambda kv: (kv[0][1], kv[0][2])):
            if ns and res.namespaced and ons != ns:
                continue
            md = obj.get("metadata", {})
            if match_labels(md.get("labels"), labels) and match_fields(obj, fields):
                out.append(self.present(res, obj) if copy else obj)
        return out

    def load(self, res: Resource, obj: dict) -> None:
        """Put an object in as stored before (a --state file): no defaulting, no events."""
        md = obj["metadata"]
        self.objects[self._key(res, md.get("namespace"), md["name"])] = obj
        self.resource_of[storage_key(res)] = res

    def all_objects(self) -> list[tuple[Resource, dict]]:
        out = []
        for (k, _ns, _n), obj in self.objects.items():
            out.append((self.resource_of[k], clone(obj)))
        return out

    # -- validation
    def validate(self, res: Resource, obj: dict) -> None:
        md = obj.get("metadata") or {}
        name = md.get("name") or ""
        if not name:
            raise kstatus.invalid(res.kind_group, "", [("metadata.name", "FieldValueRequired",
                                                        "Required value: name or generateName is required")])
        if res.kind == "Service":
            ok, msg = bool(_DNS1035_LABEL.match(name)) and len(name) <= 63, _LABEL1035_MSG
        elif res.kind == "Namespace":
            ok, msg = bool(_DNS1123_LABEL.match(name)) and len(name) <= 63, _LABEL1123_MSG
        else:
            ok, msg = bool(_DNS1123_SUBDOMAIN.match(name)) and len(name) <= 253, _SUBDOMAIN_MSG
        if not ok:
            raise kstatus.invalid(res.kind_group, name, [("metadata.name", "FieldValueInvalid",
                                                          f'Invalid value: "{name}": {msg}')])
        labels = md.get("labels") or {}
        if not isinstance(labels, dict) or any(not isinstance(v, str) for v in labels.values()):
            raise kstatus.invalid(res.kind_group, name, [("metadata.labels", "FieldValueInvalid",
                                                          "Invalid value: labels must be strings")])
        if res.kind == "Service":
            _validate_service(res, obj)

    # -- writes
    def create(self, res: Resource, obj: dict, dry_run: bool = False,
               check: Callable[[dict], None] | None = None) -> dict:
        """Default, validate, then (API writes) `check` the object - the admission webhook - and store it."""
        obj = clone(obj)
        md = obj.setdefault("metadata", {})
        if not md.get("name") and md.get("generateName"):
            for _ in range(20):
                md["name"] = md["generateName"] + random_suffix()
                if self._key(res, md.get("namespace"), md["name"]) not in self.objects:
                    break
        for hook in self.create_hooks:
            hook(res, obj)
        self.validate(res, obj)
        if not res.namespaced:
            md.pop("namespace", None)
        key = self._key(res, md.get("namespace"), md["name"])
        if key in self.objects:
            raise kstatus.already_exists(res.group_resource, md["name"])
        if check is not None:
            check(self.present(res, obj))
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_iso()
        md.setdefault("generation", 1) if res.is_crd else None
        for f in ("resourceVersion", "deletionTimestamp", "selfLink"):
            md.pop(f, None)
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if dry_run:
            md["resourceVersion"] = str(self.rv)
            return self.present(res, obj)
        md["resourceVersion"] = self._next_rv()
        self.objects[key] = obj
        self.resource_of[storage_key(res)] = res
        self._emit("ADDED", res, obj)
        return self.present(res, obj)

    def update(self, res: Resource, obj: dict, dry_run: bool = False, check_rv: bool = True,
               check: Callable[[dict], None] | None = None) -> dict:
        obj = clone(obj)
        md = obj.setdefault("metadata", {})
        name = md.get("name") or ""
        key = self._key(res, md.get("namespace"), name)
        cur = self.objects.get(key)
        if cur is None:
            raise kstatus.not_found(res.group_resource, name)
        if check_rv and md.get("resourceVersion") and md["resourceVersion"] != cur["metadata"]["resourceVersion"]:
            raise kstatus.conflict(res.group_resource, name, "the object has been modified; please apply your "
                                   "changes to the latest version and try again")
        self.validate(res, obj)
        for f in ("uid", "creationTimestamp", "namespace"):
            if f in cur["metadata"]:
                md[f] = cur["metadata"][f]
        if not res.namespaced:
            md.pop("namespace", None)
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if res.is_crd and obj.get("spec") != cur.get("spec"):
            md["generation"] = int(cur["metadata"].get("generation", 1)) + 1
        elif "generation" in cur["metadata"]:
            md["generation"] = cur["metadata"]["generation"]
        if _same(cur, obj):
            return self.present(res, cur)
        if check is not None:
            check(self.present(res, obj))
        if dry_run:
            md["resourceVersion"] = cur["metadata"]["resourceVersion"]
            return self.present(res, obj)
        md["resourceVersion"] = self._next_rv()
        self.objects[key] = obj
        self._emit("MODIFIED", res, obj)
        return self.present(res, obj)

    def mutate(self, res: Resource, ns: str | None, name: str, fn: Callable[[dict], Any]) -> dict | None:
        """Apply fn to a copy of the stored object and save it if it changed (controllers use this)."""
        cur = self.get(res, ns, name)
        if cur is None:
            return None
        fn(cur)
        cur["metadata"].pop("resourceVersion", None)
        return self.update(res, cur, check_rv=False)

    def delete(self, res: Resource, ns: str | None, name: str, dry_run: bool = False) -> dict:
        key = self._key(res, ns, name)
        cur = self.objects.get(key)
        if cur is None:
            raise kstatus.not_found(res.group_resource, name)
        if dry_run:
            return self.present(res, cur)
        del self.objects[key]
        gone = clone(cur)
        gone["metadata"]["resourceVersion"] = self._next_rv()
        self._emit("DELETED", res, gone)
        return self.present(res, gone)

    def clear(self) -> None:
        for key, obj in list(self.objects.items()):
            res = self.resource_of[key[0]]
            self.delete(res, obj["metadata"].get("namespace"), obj["metadata"]["name"])

    # -- watch
    def watch(self, res: Resource, ns: str | None, label_selector: str = "", field_selector: str = "",
              resource_version: str = "") -> Watch:
        labels = parse_label_selector(label_selector) if label_selector else []
        fields = parse_field_selector(field_selector) if field_selector else []
        w = Watch(self, res, ns, labels, fields)
        if resource_version in ("", "0"):
            for obj in self.list(res, ns):
                if w.wants(res, obj):
                    w.push("ADDED", obj)
        else:
            try:
                since = int(resource_version)
            except ValueError:
                raise kstatus.bad_request(f'invalid resource version "{resource_version}"') from None
            oldest = self.history[0][0] if self.history else self.rv + 1
            if self.history and since < oldest - 1 and len(self.history) == HISTORY:
                w.push("ERROR", kstatus.status_body(
                    410, "Expired", f"too old resource version: {since} ({oldest - 1})"))
                w.close()
                return w
            for rv, etype, r, obj in self.history:
                if rv > since and w.wants(r, obj):
                    w.push(etype, self.present(res, obj))
        self.watches.append(w)
        return w


def _same(a: dict, b: dict) -> bool:
    a2, b2 = clone(a), clone(b)
    for o in (a2, b2):
        o.get("metadata", {}).pop("resourceVersion", None)
    return a2 == b2


def _validate_service(res: Resource, obj: dict) -> None:
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    causes = []
    stype = spec.get("type", "ClusterIP")
    if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(("spec.type", "FieldValueNotSupported",
                       f'Unsupported value: "{stype}": supported values: "ClusterIP", "ExternalName", '
                       f'"LoadBalancer", "NodePort"'))
    ports = spec.get("ports") or []
    if not ports and stype != "ExternalName":
        causes.append(("spec.ports", "FieldValueRequired", "Required value"))
    for i, p in enumerate(ports):
        port = p.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            causes.append((f"spec.ports[{i}].port", "FieldValueInvalid",
                           f"Invalid value: {port if port is not None else 0}: must be between 1 and 65535, inclusive"))
        proto = p.get("protocol", "TCP")
        if proto not in ("TCP", "UDP", "SCTP"):
            causes.append((f"spec.ports[{i}].protocol", "FieldValueNotSupported",
                           f'Unsupported value: "{proto}": supported values: "SCTP", "TCP", "UDP"'))
        if len(ports) > 1 and not p.get("name"):
            causes.append((f"spec.ports[{i}].name", "FieldValueRequired", "Required value"))
    if causes:
        raise kstatus.invalid(res.kind_group, name, causes)


ALNUM = string.ascii_lowercase + string.digits
