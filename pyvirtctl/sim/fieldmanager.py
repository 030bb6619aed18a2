"""Field ownership (`metadata.managedFields`) and server-side apply, as kube-apiserver does them.

Every API write records which *field manager* (`?fieldManager=`, else the User-Agent's first
word) set which fields. A path is a tuple of elements: `("f", name)` for a field or map key,
`("k", '{"name":"x"}')` for an item of an associative list, `("v", json)` for an item of a set.
Lists the schema calls atomic are owned as a whole.

* Updates (create, PUT, merge/JSON/strategic patches) never conflict: the writer takes ownership
  of what it added or changed, and other managers lose those fields.
* Apply (`PATCH` with `application/apply-patch+yaml`) merges the applied configuration into the
  live object, makes the manager own exactly the applied fields, removes fields it applied before
  and no longer does (unless someone else owns them), and fails with a 409 Conflict when it would
  change a field another manager owns (unless `force=true`, which takes the field over).
  For manager `kubectl`, a conflict on a field that still has the value of the object's
  `kubectl.kubernetes.io/last-applied-configuration` is not one (client-side -> server-side upgrade).
"""

from __future__ import annotations

import json
from typing import Any

from pyvirtctl.sim.kstatus import StatusError, clone
from pyvirtctl.sim.openapi.model import T, resolve

Elem = tuple[str, str]
Path = tuple[Elem, ...]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
BEFORE_FIRST_APPLY = "before-first-apply"
# never owned by anyone (apimachinery's stripmeta)
STRIPPED: frozenset[Path] = frozenset({
    (("f", "apiVersion"),), (("f", "kind"),), (("f", "metadata"),),
    *((("f", "metadata"), ("f", k)) for k in ("name", "namespace", "creationTimestamp", "selfLink", "uid",
                                              "clusterName", "generation", "managedFields", "resourceVersion")),
})


# ----------------------------------------------------------------------------------------------
# schema helpers

def _child(t: T | None, key: str) -> T | None:
    t = resolve(t)
    if t is None:
        return None
    if t.type == "object":
        return t.fields.get(key)
    if t.type == "map":
        return t.values
    return None


def _declared(t: T | None, key: str) -> bool:
    t = resolve(t)
    return t is not None and t.type == "object" and key in t.fields


def _granular(t: T | None) -> T | None:
    """The list type when its items are tracked one by one (map/set lists), else None (atomic)."""
    t = resolve(t)
    if t is not None and t.type == "array" and t.list_type in ("map", "set"):
        return t
    return None


def _item_elem(t: T, item: Any) -> Elem | None:
    if t.list_type == "set":
        return ("v", json.dumps(item, separators=(",", ":"), sort_keys=True))
    if not isinstance(item, dict) or any(k not in item for k in t.list_keys):
        return None
    key = {k: item[k] for k in sorted(t.list_keys)}
    return ("k", json.dumps(key, separators=(",", ":")))


def _index(t: T, items: list) -> dict[Elem, Any]:
    out: dict[Elem, Any] = {}
    for it in items:
        e = _item_elem(t, it)
        if e is not None:
            out[e] = it
    return out


# ----------------------------------------------------------------------------------------------
# field sets

def field_set(t: T | None, value: Any, path: Path = ()) -> set[Path]:
    """The paths set in `value` (structured-merge-diff's ToFieldSet)."""
    out: set[Path] = set()
    _field_set(t, value, path, out)
    return out


def _field_set(t: T | None, value: Any, path: Path, out: set[Path]) -> None:
    rt = resolve(t)
    if isinstance(value, dict) and (rt is None or rt.type in ("object", "map")):
        for k, v in value.items():
            p = path + (("f", k),)
            _field_set(_child(rt, k), v, p, out)
            empty = v is None or (isinstance(v, dict) and not v)
            if empty or (rt is not None and (rt.type == "map" or not _declared(rt, k))):
                out.add(p)
        return
    lt = _granular(rt)
    if isinstance(value, list) and lt is not None:
        for item in value:
            e = _item_elem(lt, item)
            if e is None:
                out.add(path)
                continue
            p = path + (e,)
            _field_set(lt.items, item, p, out)
            out.add(p)
        return
    if path:
        out.add(path)


def _subtree(t: T | None, value: Any, path: Path) -> set[Path]:
    """`path` and every path below it (what compare reports for an added or removed node)."""
    out = {path}
    rt = resolve(t)
    if isinstance(value, dict) and (rt is None or rt.type in ("object", "map")):
        for k, v in value.items():
            out |= _subtree(_child(rt, k), v, path + (("f", k),))
    else:
        lt = _granular(rt)
        if isinstance(value, list) and lt is not None:
            for item in value:
                e = _item_elem(lt, item)
                if e is not None:
                    out |= _subtree(lt.items, item, path + (e,))
    return out


def compare(t: T | None, old: Any, new: Any, path: Path = ()) -> tuple[set[Path], set[Path], set[Path]]:
    """(added, modified, removed) between two versions of a value."""
    added: set[Path] = set()
    modified: set[Path] = set()
    removed: set[Path] = set()
    _compare(t, old, new, path, added, modified, removed)
    return added, modified, removed


def _compare(t: T | None, old: Any, new: Any, path: Path, added: set, modified: set, removed: set) -> None:
    rt = resolve(t)
    if isinstance(old, dict) and isinstance(new, dict) and (rt is None or rt.type in ("object", "map")):
        for k in {**old, **new}:
            p = path + (("f", k),)
            ct = _child(rt, k)
            if k not in old:
                added |= _subtree(ct, new[k], p)
            elif k not in new:
                removed |= _subtree(ct, old[k], p)
            else:
                _compare(ct, old[k], new[k], p, added, modified, removed)
        return
    lt = _granular(rt)
    if isinstance(old, list) and isinstance(new, list) and lt is not None:
        before, after = _index(lt, old), _index(lt, new)
        for e, item in after.items():
            p = path + (e,)
            if e not in before:
                added |= _subtree(lt.items, item, p)
            else:
                _compare(lt.items, before[e], item, p, added, modified, removed)
        for e, item in before.items():
            if e not in after:
                removed |= _subtree(lt.items, item, path + (e,))
        return
    if old != new and path:
        modified.add(path)


def _under(path: Path, prefix: Path) -> bool:
    return path[: len(prefix)] == prefix


def keep_only(paths: set[Path], prefixes: tuple[Path, ...] | None, drop: tuple[Path, ...] = ()) -> set[Path]:
    """Paths minus the stripped ones, minus those under `drop`, and (if given) only those under `prefixes`."""
    out = set()
    for p in paths:
        if p in STRIPPED or any(_under(p, d) for d in drop):
            continue
        if prefixes is not None and not any(_under(p, pre) for pre in prefixes):
            continue
        out.add(p)
    return out


# ----------------------------------------------------------------------------------------------
# FieldsV1 and path text

def _elem_key(e: Elem) -> str:
    return {"f": "f:", "k": "k:", "v": "v:", "i": "i:"}[e[0]] + e[1]


def to_fields_v1(paths: set[Path]) -> dict:
    trie: dict = {}
    for p in sorted(paths, key=len):
        node = trie
        for e in p:
            node = node.setdefault(_elem_key(e), {})
    for p in paths:
        node = trie
        for e in p:
            node = node[_elem_key(e)]
        if node:
            node["."] = {}
    return trie


def from_fields_v1(trie: dict, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, sub in (trie or {}).items():
        if key == ".":
            out.add(prefix)
            continue
        kind, _, rest = key.partition(":")
        if kind not in ("f", "k", "v", "i"):
            continue
        p = prefix + ((kind, rest),)
        if not sub:
            out.add(p)
        else:
            out |= from_fields_v1(sub, p)
    return out


def path_text(p: Path) -> str:
    """`.spec.ports[port=80,protocol="TCP"].targetPort`, as fieldpath.Path.String() writes it."""
    out = ""
    for kind, val in p:
        if kind == "f":
            out += "." + val
        elif kind == "k":
            fields = json.loads(val)
            out += "[" + ",".join(f"{k}={json.dumps(v) if isinstance(v, str) else _go(v)}"
                                  for k, v in fields.items()) + "]"
        elif kind == "v":
            v = json.loads(val)
            out += f"[={json.dumps(v) if isinstance(v, str) else _go(v)}]"
        else:
            out += f"[{val}]"
    return out


def _go(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list)) else str(v)


# ----------------------------------------------------------------------------------------------
# managers

class Managers:
    """The managedFields entries of an object, by identity (manager, operation, apiVersion, subresource)."""

    def __init__(self, entries: list[dict] | None) -> None:
        self.entries: list[dict] = []
        self.sets: list[set[Path]] = []
        for e in entries or []:
            if isinstance(e, dict) and e.get("manager") is not None:
                self.entries.append(dict(e))
                self.sets.append(from_fields_v1(e.get("fieldsV1") or {}))

    def find(self, manager: str, operation: str, api_version: str, subresource: str) -> int | None:
        for i, e in enumerate(self.entries):
            if e.get("manager") == manager and e.get("operation") == operation and \
                    (e.get("subresource") or "") == subresource and \
                    (operation == "Apply" or e.get("apiVersion") == api_version):
                return i
        return None

    def set_for(self, manager: str, operation: str, api_version: str, subresource: str, paths: set[Path],
                now: str, touched: bool) -> None:
        i = self.find(manager, operation, api_version, subresource)
        if i is None:
            entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now,
                     "fieldsType": "FieldsV1"}
            if subresource:
                entry["subresource"] = subresource
            self.entries.append(entry)
            self.sets.append(set(paths))
            return
        self.entries[i]["apiVersion"] = api_version
        if touched or self.sets[i] != paths:
            self.entries[i]["time"] = now
        self.sets[i] = set(paths)

    def encode(self) -> list[dict]:
        out = []
        for e, s in zip(self.entries, self.sets, strict=True):
            if not s:
                continue
            e = dict(e)
            e["fieldsV1"] = to_fields_v1(s)
            out.append(e)
        out.sort(key=lambda e: (e.get("operation", ""), e.get("time", ""), e.get("manager", ""),
                                e.get("apiVersion", ""), e.get("subresource", "")))
        ordered = []
        for e in out:  # field order as kube-apiserver writes it
            ordered.append({k: e[k] for k in ("apiVersion", "fieldsType", "fieldsV1", "manager", "operation",
                                               "subresource", "time") if k in e})
        return ordered

    def describe(self, i: int) -> str:
        """How a conflict names a manager: `"kubectl"` or `"kubectl-client-side-apply" using kubevirt.io/v1`."""
        e = self.entries[i]
        text = json.dumps(e.get("manager", ""))
        if e.get("subresource"):
            text += f' with subresource "{e["subresource"]}"'
        if e.get("operation") == "Update":
            text += f" using {e.get('apiVersion', '')}"
        return text


def manager_from_user_agent(user_agent: str) -> str:
    """The manager name kube-apiserver derives when a request names none: the User-Agent up to '/'."""
    return user_agent.split("/", 1)[0][:128]


def record_update(t: T | None, old: dict | None, new: dict, managers: Managers, manager: str, api_version: str,
                  subresource: str, now: str, scope: tuple[tuple[Path, ...] | None, tuple[Path, ...]]) -> None:
    """An Update operation by `manager` changed `old` into `new` (old None: a create)."""
    added, modified, removed = compare(t, old or {}, new)
    prefixes, drop = scope
    changed = keep_only(added | modified, prefixes, drop)
    removed = keep_only(removed, prefixes, drop)
    for i, s in enumerate(managers.sets):
        e = managers.entries[i]
        if e.get("manager") == manager and e.get("operation") == "Update" and \
                (e.get("subresource") or "") == subresource and e.get("apiVersion") == api_version:
            continue
        managers.sets[i] = s - changed - removed
    i = managers.find(manager, "Update", api_version, subresource)
    mine = (managers.sets[i] if i is not None else set()) - removed | changed
    managers.set_for(manager, "Update", api_version, subresource, mine, now, bool(changed or removed))


# ----------------------------------------------------------------------------------------------
# apply

def merge(t: T | None, live: Any, config: Any) -> Any:
    """The applied configuration merged into the live value (structs and maps field by field,
    associative lists item by item, everything else replaced)."""
    rt = resolve(t)
    if isinstance(live, dict) and isinstance(config, dict) and (rt is None or rt.type in ("object", "map")):
        out = dict(live)
        for k, v in config.items():
            out[k] = merge(_child(rt, k), live.get(k), v) if k in live else clone(v)
        return out
    lt = _granular(rt)
    if isinstance(live, list) and isinstance(config, list) and lt is not None:
        cfg = _index(lt, config)
        out = []
        seen = set()
        for item in live:
            e = _item_elem(lt, item)
            if e is not None and e in cfg:
                out.append(merge(lt.items, item, cfg[e]))
                seen.add(e)
            else:
                out.append(item)
        for item in config:
            e = _item_elem(lt, item)
            if e is None or e not in seen:
                out.append(clone(item))
        return out
    return clone(config)


def remove_paths(t: T | None, value: Any, paths: set[Path]) -> Any:
    """`value` without the given leaf paths (list items by key)."""
    if not paths:
        return value
    value = clone(value)
    for p in sorted(paths, key=len, reverse=True):
        _remove(t, value, p)
    return value


def _remove(t: T | None, node: Any, p: Path) -> None:
    rt = resolve(t)
    for depth, (kind, key) in enumerate(p):
        last = depth == len(p) - 1
        if kind == "f" and isinstance(node, dict):
            if key not in node:
                return
            if last:
                del node[key]
                return
            rt = resolve(_child(rt, key))
            node = node[key]
        elif kind in ("k", "v") and isinstance(node, list):
            lt = _granular(rt)
            if lt is None:
                return
            for idx, item in enumerate(node):
                if _item_elem(lt, item) == (kind, key):
                    if last:
                        del node[idx]
                        return
                    node = item
                    rt = resolve(lt.items)
                    break
            else:
                return
        else:
            return


def conflict_error(conflicts: list[tuple[str, Path]]) -> StatusError:
    """The 409 kube-apiserver answers for apply conflicts (`conflicts`: (manager text, path))."""
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {m}", "field": path_text(p)}
              for m, p in conflicts]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        msg = f"Apply failed with 1 conflict: conflict with {m}: {path_text(p)}"
    else:
        lines = []
        for m in sorted({m for m, _ in conflicts}):
            lines.append(f"conflicts with {m}:")
            lines.extend(f"- {path_text(p)}" for mm, p in conflicts if mm == m)
        msg = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return StatusError(409, "Conflict", msg, {"causes": causes})


def apply(t: T | None, live: dict | None, config: dict, managers: Managers, manager: str, api_version: str,
          force: bool, now: str, scope: tuple[tuple[Path, ...] | None, tuple[Path, ...]]) -> dict:
    """Server-side apply of `config` by `manager` on `live` (None: create). Updates `managers` and
    returns the new object; raises the 409 conflict error."""
    prefixes, drop = scope
    base = live or {}
    if live is not None and not managers.entries:
        # an object nobody has managed yet: its fields belong to "before-first-apply"
        managers.set_for(BEFORE_FIRST_APPLY, "Update", api_version, "",
                         keep_only(field_set(t, base), prefixes, drop), now, False)
    new_set = keep_only(field_set(t, config), prefixes, drop)
    mine = managers.find(manager, "Apply", api_version, "")
    last_set = managers.sets[mine] if mine is not None else set()
    merged = merge(t, base, config)
    others: set[Path] = set()
    for i, s in enumerate(managers.sets):
        if i != mine:
            others |= s
    merged = remove_paths(t, merged, {p for p in last_set - new_set - others
                                      if not any(_under(q, p) and q != p for q in new_set | others)})
    added, modified, _removed = compare(t, base, merged)
    changed = keep_only(added | modified, prefixes, drop)
    removed = keep_only(_removed, prefixes, drop)
    allowed = _last_applied_allowed(t, base) if manager == "kubectl" else set()
    conflicts: list[tuple[str, Path]] = []
    for i, s in enumerate(managers.sets):
        if i == mine:
            continue
        for p in sorted(s & changed, key=path_text):
            if p not in allowed:
                conflicts.append((managers.describe(i), p))
    if conflicts and not force:
        raise conflict_error(conflicts)
    for i, s in enumerate(managers.sets):
        if i != mine:
            managers.sets[i] = s - changed - removed
    managers.set_for(manager, "Apply", api_version, "", new_set, now, bool(changed or removed) or mine is None)
    if manager == "kubectl" and LAST_APPLIED in ((base.get("metadata") or {}).get("annotations") or {}):
        applied = clone(config)
        (applied.get("metadata") or {}).get("annotations", {}).pop(LAST_APPLIED, None)
        merged.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = \
            json.dumps(applied, separators=(",", ":")) + "\n"
    return merged


def _last_applied_allowed(t: T | None, live: dict) -> set[Path]:
    raw = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not raw:
        return set()
    try:
        last = json.loads(raw)
    except ValueError:
        return set()
    if not isinstance(last, dict):
        return set()
    fields = field_set(t, last)
    added, modified, removed = compare(t, last, live)
    return fields - added - modified - removed
