"""Server-side printing: the `meta.k8s.io/v1` Tables kubectl asks for (`Accept: ...;as=Table`).

kube-apiserver renders every row on the server: the column set is fixed per kind (built-in printers
for core types, `additionalPrinterColumns` for custom resources), priority-1 columns are always
sent (kubectl shows them with `-o wide`), and dates become ages (`9s`, `5m12s`, `3d4h`).
A kind declares its columns in its `Resource` descriptor (`pyvirtctl.sim.resources`) as `Column`s:
either a JSONPath (custom resources) or a `cell` function of the object (built-in printers).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NAME_DESCRIPTION = ("Name must be unique within a namespace; it identifies the object in URLs and is "
                    "set by the client (or generated from generateName).")
AGE_DESCRIPTION = ("CreationTimestamp is the server time at which the object was created, shown as the "
                   "time elapsed since.")


@dataclass(frozen=True)
class Column:
    """One Table column: a JSONPath into the object (`path`) or a function computing the cell."""

    name: str
    type: str = "string"
    path: str = ""
    cell: Callable[[dict], Any] | None = None
    priority: int = 0
    description: str = ""
    format: str = ""

    def definition(self) -> dict:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}

    def value(self, obj: dict, now: _dt.datetime) -> Any:
        if self.cell is not None:
            return self.cell(obj)
        found = jsonpath(obj, self.path)
        if not found:
            return None
        return crd_cell(self.type, found[0], now)


NAME = Column("Name", path=".metadata.name", format="name", description=NAME_DESCRIPTION)
AGE_DATE = Column("Age", "date", ".metadata.creationTimestamp", description=AGE_DESCRIPTION)


def crd_columns(*columns: Column) -> tuple[Column, ...]:
    """The columns kube-apiserver serves for a custom resource: Name, then its printer columns
    (a CRD without any gets an Age column)."""
    return (NAME, *(columns or (AGE_DATE,)))


# ----------------------------------------------------------------------------------------------
# time

def parse_time(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        t = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: ~2-3 significant figures (`9s`, `5m12s`, `3h5m`, `4d2h`)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def age(value: Any, now: _dt.datetime | None = None) -> str:
    """translateTimestampSince: `<unknown>` for a missing time, else the human duration since it."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    now = now or _dt.datetime.now(_dt.UTC)
    return human_duration((now - t).total_seconds())


# ----------------------------------------------------------------------------------------------
# the JSONPath subset CRD printer columns use: .a.b, [N], [?(@.k=='v')]

_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_\-]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]")


def jsonpath(obj: Any, path: str) -> list[Any]:
    """All values `path` selects in `obj` (empty when nothing matches)."""
    current = [obj]
    pos = 0
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            raise ValueError(f"unsupported JSONPath {path!r}")
        pos = m.end()
        field, index, fkey, fval = m.groups()
        nxt: list[Any] = []
        for c in current:
            if field is not None and isinstance(c, dict) and field in c:
                nxt.append(c[field])
            elif index is not None and isinstance(c, list) and int(index) < len(c):
                nxt.append(c[int(index)])
            elif fkey is not None and isinstance(c, list):
                nxt.extend(x for x in c if isinstance(x, dict) and str(x.get(fkey)) == fval)
        current = [c for c in nxt if c is not None]
    return current


def _go_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def crd_cell(col_type: str, value: Any, now: _dt.datetime) -> Any:
    """apiextensions' cellForJSONValue: typed cells, dates as ages, None when the type does not fit."""
    if col_type == "string":
        return _go_text(value)
    if col_type == "integer":
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value)
        return None
    if col_type == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if col_type == "boolean":
        return value if isinstance(value, bool) else None
    if col_type == "date":
        if not isinstance(value, str):
            return None
        t = parse_time(value)
        return "<invalid>" if t is None else human_duration((now - t).total_seconds())
    return None


# ----------------------------------------------------------------------------------------------
# Tables

INCLUDE_OBJECT = ("PartialObjectMetadata", "Object", "None")


def _row_object(obj: dict, include: str) -> dict | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(columns: tuple[Column, ...], items: list[dict], metadata: dict, include: str = "PartialObjectMetadata",
          headers: bool = True) -> dict:
    """A Table of `items`; `headers=False` leaves the column definitions out (watch events after the first)."""
    now = _dt.datetime.now(_dt.UTC)
    rows = []
    for it in items:
        row: dict[str, Any] = {"cells": [c.value(it, now) for c in columns]}
        ro = _row_object(it, include)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    out: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    out["columnDefinitions"] = [c.definition() for c in columns] if headers else None
    out["rows"] = rows
    return out


def wants_table(accept: str) -> bool:
    """Whether an Accept header asks for a meta.k8s.io Table (v1 or v1beta1)."""
    for part in accept.split(","):
        params = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in part.split(";")[1:])}
        if params.get("as") == "Table" and params.get("g", "meta.k8s.io") == "meta.k8s.io":
            return True
    return False


def table_version(accept: str) -> str:
    for part in accept.split(","):
        params = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in part.split(";")[1:])}
        if params.get("as") == "Table":
            return params.get("v", "v1")
    return "v1"
