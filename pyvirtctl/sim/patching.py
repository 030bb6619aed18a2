"""Patch documents applied to JSON objects: RFC 7386 merge patches, RFC 6902 JSON patches and
Kubernetes strategic merge patches (the subset kubectl sends for the simulator's built-in kinds)."""

from __future__ import annotations

from typing import Any

from pyvirtctl.sim.kstatus import clone


class PatchError(ValueError):
    pass


class PatchTestFailed(PatchError):
    pass


def merge_patch(target: Any, patch_doc: Any) -> Any:
    if not isinstance(patch_doc, dict):
        return clone(patch_doc)
    out = clone(target) if isinstance(target, dict) else {}
    for k, v in patch_doc.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> tuple[Any, str]:
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise PatchError(f"path element {p!r} not found") from None
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            raise PatchError(f"doc is missing path: {'/' + '/'.join(parts)}")
    return cur, parts[-1]


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent, last = _parent(doc, parts)
    if isinstance(parent, list):
        try:
            return parent[int(last)]
        except (ValueError, IndexError):
            raise PatchError("index out of range") from None
    if not isinstance(parent, dict) or last not in parent:
        raise PatchError(f"doc is missing path: {'/' + '/'.join(parts)}")
    return parent[last]


def json_patch(doc: Any, ops: list) -> Any:
    doc = clone(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("invalid patch operation")
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        if kind == "test":
            try:
                got = _get(doc, parts)
            except PatchError:
                got = None
            if got != op.get("value"):
                raise PatchTestFailed("testing value failed")
            continue
        if kind in ("move", "copy"):
            value = clone(_get(doc, _pointer(op.get("from", ""))))
            if kind == "move":
                doc = json_patch(doc, [{"op": "remove", "path": op.get("from")}])
            kind, op = "add", {"value": value}
        if not parts:
            if kind in ("add", "replace"):
                doc = clone(op.get("value"))
                continue
            raise PatchError("cannot remove the document root")
        parent, last = _parent(doc, parts)
        if kind == "add":
            if isinstance(parent, list):
                idx = len(parent) if last == "-" else int(last)
                if idx > len(parent):
                    raise PatchError("index out of range")
                parent.insert(idx, clone(op.get("value")))
            elif isinstance(parent, dict):
                parent[last] = clone(op.get("value"))
            else:
                raise PatchError("cannot add to a scalar")
        elif kind == "remove":
            _get(doc, parts)
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        elif kind == "replace":
            _get(doc, parts)
            if isinstance(parent, list):
                parent[int(last)] = clone(op.get("value"))
            else:
                parent[last] = clone(op.get("value"))
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


# ----------------------------------------------------------------------------------------------
# strategic merge patch (built-in kinds): maps merge, lists with a merge key merge by it, other
# lists are replaced; the directives kubectl writes ($patch, $setElementOrder/, $retainKeys,
# $deleteFromPrimitiveList/) are honoured.

def strategic_merge_patch(t: Any, target: Any, patch_doc: Any) -> Any:
    """Apply a strategic merge patch; `t` is the kind's schema type (`pyvirtctl.sim.openapi.model.T`)."""
    return _smp(t, clone(target), patch_doc)


def _smp_child(t: Any, key: str) -> Any:
    from pyvirtctl.sim.openapi.model import resolve

    rt = resolve(t)
    if rt is None:
        return None
    if rt.type == "object":
        return rt.fields.get(key)
    if rt.type == "map":
        return rt.values
    return None


def _smp(t: Any, target: Any, patch_doc: Any) -> Any:
    from pyvirtctl.sim.openapi.model import resolve

    if not isinstance(patch_doc, dict):
        return clone(patch_doc)
    directive = patch_doc.get("$patch")
    if directive == "replace":
        return {k: clone(v) for k, v in patch_doc.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = clone(target) if isinstance(target, dict) else {}
    orders = {k.split("/", 1)[1]: v for k, v in patch_doc.items() if k.startswith("$setElementOrder/")}
    retain = patch_doc.get("$retainKeys")
    for k, v in patch_doc.items():
        if k.startswith("$"):
            if k.startswith("$deleteFromPrimitiveList/"):
                field = k.split("/", 1)[1]
                if isinstance(out.get(field), list) and isinstance(v, list):
                    out[field] = [x for x in out[field] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
            continue
        ct = resolve(_smp_child(t, k))
        if isinstance(v, list) and ct is not None and ct.type == "array" and "merge" in ct.patch_strategy.split(","):
            out[k] = _smp_list(ct, out.get(k), v)
        elif isinstance(v, dict):
            merged = _smp(ct, out.get(k), v)
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        else:
            out[k] = clone(v)
    for field, order in orders.items():
        ct = resolve(_smp_child(t, field))
        if isinstance(out.get(field), list) and isinstance(order, list) and ct is not None and ct.patch_key:
            out[field] = _reorder(out[field], order, ct.patch_key)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _smp_list(t: Any, current: Any, items: list) -> list:
    from pyvirtctl.sim.openapi.model import resolve

    cur = list(current) if isinstance(current, list) else []
    key = t.patch_key
    if not key:  # a merged list of primitives: union
        return cur + [clone(x) for x in items if x not in cur]
    item_t = resolve(t.items)
    for item in items:
        if not isinstance(item, dict):
            raise PatchError(f"the patch for a list merged by {key} holds a non-object item")
        if item.get("$patch") == "replace":
            return [clone(x) for x in items if x.get("$patch") != "replace"]
        if key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        idx = next((i for i, x in enumerate(cur) if isinstance(x, dict) and x.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del cur[idx]
            continue
        if idx is None:
            cur.append(_smp(item_t, {}, item))
        else:
            cur[idx] = _smp(item_t, cur[idx], item)
    return cur


def _reorder(items: list, order: list, key: str) -> list:
    pos = {json_key(o.get(key)): i for i, o in enumerate(order) if isinstance(o, dict)}
    def rank(p: tuple[int, Any]) -> tuple[int, int]:
        i, item = p
        k = json_key(item.get(key)) if isinstance(item, dict) else None
        return (pos.get(k, len(order)) if k is not None else len(order), i)

    return [x for _, x in sorted(enumerate(items), key=rank)]


def json_key(v: Any) -> str:
    import json

    return json.dumps(v, sort_keys=True)
