"""Checking objects against the type model, as kube-apiserver does on every write.

* `unknown_fields`: fields the schema does not declare (`spec.template.spec.domain.foo`); with
  `?fieldValidation=Strict` (what kubectl sends) they fail the request, with `Warn` (the default)
  they come back as warnings; either way they are dropped from what is stored (`prune`).
* `type_errors`: values of the wrong JSON type and missing required fields, worded like the
  structural-schema validation of custom resources (`spec.running in body must be of type boolean:
  "string"`).
"""

from __future__ import annotations

from typing import Any

from pyvirtctl.sim.openapi.model import T, resolve


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def unknown_fields(t: T | None, obj: Any, path: str = "") -> list[str]:
    t = resolve(t)
    if t is None:
        return []
    out: list[str] = []
    if t.type == "object" and isinstance(obj, dict):
        if not t.fields:
            return []
        for k, v in obj.items():
            sub = t.fields.get(k)
            if sub is None:
                if not t.open:
                    out.append(_join(path, k))
                continue
            out.extend(unknown_fields(sub, v, _join(path, k)))
    elif t.type == "array" and isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(unknown_fields(t.items, v, f"{path}[{i}]"))
    elif t.type == "map" and isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(unknown_fields(t.values, v, _join(path, k)))
    return out


def prune(t: T | None, obj: Any) -> Any:
    """A copy of `obj` without the fields `unknown_fields` reports."""
    t = resolve(t)
    if t is None:
        return obj
    if t.type == "object" and isinstance(obj, dict):
        if not t.fields:
            return obj
        return {k: prune(t.fields[k], v) if k in t.fields else v for k, v in obj.items()
                if k in t.fields or t.open}
    if t.type == "array" and isinstance(obj, list):
        return [prune(t.items, v) for v in obj]
    if t.type == "map" and isinstance(obj, dict):
        return {k: prune(t.values, v) for k, v in obj.items()}
    return obj


_SCALAR = {"string": ("string",), "integer": ("integer",), "number": ("number", "integer"), "boolean": ("boolean",)}


def type_errors(t: T | None, obj: Any, path: str = "") -> list[tuple[str, str, str]]:
    """(field, reason, message) for wrong types and missing required fields (nulls are allowed)."""
    t = resolve(t)
    if t is None or obj is None:
        return []
    got = json_type(obj)
    want = {"object": "object", "map": "object", "array": "array"}.get(t.type, t.type)
    if t.type in _SCALAR:
        if got not in _SCALAR[t.type]:
            return [(path, "FieldValueTypeInvalid",
                     f'Invalid value: "{got}": {path} in body must be of type {want}: "{got}"')]
        return []
    if t.type == "int-or-string":
        if got not in ("integer", "string"):
            return [(path, "FieldValueTypeInvalid",
                     f'Invalid value: "{got}": {path} in body must be of type integer,string: "{got}"')]
        return []
    if t.type == "any" or want != got:
        if t.type != "any" and want != got:
            return [(path, "FieldValueTypeInvalid",
                     f'Invalid value: "{got}": {path} in body must be of type {want}: "{got}"')]
        return []
    out: list[tuple[str, str, str]] = []
    if t.type == "object":
        for r in t.required:
            if r not in obj:
                out.append((_join(path, r), "FieldValueRequired", "Required value"))
        for k, v in obj.items():
            if k in t.fields:
                out.extend(type_errors(t.fields[k], v, _join(path, k)))
    elif t.type == "map":
        for k, v in obj.items():
            out.extend(type_errors(t.values, v, _join(path, k)))
    elif t.type == "array":
        for i, v in enumerate(obj):
            out.extend(type_errors(t.items, v, f"{path}[{i}]"))
    return out


def go_type_at(t: Any, path: str) -> str:
    """The Go type name of the field at `path` (`spec.template.spec.domain`, `volumes[0].name`) in `t`."""
    cur = resolve(t)
    for part in path.replace("]", "").replace("[", ".").split("."):
        if cur is None or not part:
            continue
        if part.isdigit() and cur.type == "array":
            cur = resolve(cur.items)
        elif cur.type == "object":
            cur = resolve(cur.fields.get(part))
        elif cur.type == "map":
            cur = resolve(cur.values)
    return go_type_name(cur)


def go_type_name(t: T | None) -> str:
    """The Go type name json.Unmarshal reports for a built-in kind's field (`int32`, `string`, `bool`)."""
    t = resolve(t)
    if t is None:
        return "interface {}"
    if t.type == "integer":
        return t.format or "int64"
    if t.type == "number":
        return "float64"
    if t.type == "boolean":
        return "bool"
    if t.type == "string":
        return "string"
    if t.type == "array":
        return "[]" + go_type_name(t.items)
    if t.type == "map":
        return "map[string]" + go_type_name(t.values)
    if t.type == "int-or-string":
        return "intstr.IntOrString"
    return "struct"
