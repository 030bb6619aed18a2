"""A small type model for the simulator's API schemas, and the helpers the schema modules use.

One `T` describes one JSON value: a struct (`fields`), a list (`items`), a map (`values`), a
scalar, or a reference (`ref`) to a named type in `DEFS`. From it the simulator derives the
OpenAPI v2/v3 documents (`documents.py`), the strict field check behind
`?fieldValidation=Strict` (`validate.py`), and the list semantics server-side apply needs
(`pyvirtctl.sim.fieldmanager`). Names in `DEFS` look like `kubevirt.v1.DiskTarget`,
`core.v1.ServiceSpec` or `meta.v1.ObjectMeta`.

Structs marked `open` keep fields the model does not list (OpenAPI
`x-kubernetes-preserve-unknown-fields`): the model lists what users commonly write and stays
permissive elsewhere, so a valid manifest is never refused for a field the model lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class T:
    type: str = "object"  # object | array | map | string | integer | number | boolean | int-or-string | any
    description: str = ""
    fields: dict[str, T] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    items: T | None = None
    values: T | None = None
    ref: str = ""
    format: str = ""
    enum: tuple[Any, ...] = ()
    open: bool = False
    list_type: str = ""  # atomic | map | set (arrays)
    list_keys: tuple[str, ...] = ()
    patch_strategy: str = ""  # strategic merge patch: merge | retainKeys | merge,retainKeys
    patch_key: str = ""
    pattern: str = ""

    def __hash__(self) -> int:  # types are shared constants; identity is enough
        return id(self)


DEFS: dict[str, T] = {}


def define(name: str, t: T) -> T:
    DEFS[name] = t
    return t


def resolve(t: T | None) -> T | None:
    """Follow references until a concrete type (keeping the referring field's description)."""
    seen = 0
    while t is not None and t.ref:
        target = DEFS.get(t.ref)
        if target is None:
            raise KeyError(f"unknown schema type {t.ref}")
        t = target
        seen += 1
        if seen > 20:
            raise ValueError("reference loop")
    return t


# ----------------------------------------------------------------------------------------------
# constructors (short names keep the schema modules readable)

def S(description: str = "", enum: tuple[str, ...] = (), fmt: str = "") -> T:
    """A string."""
    return T("string", description, enum=enum, format=fmt)


def I(description: str = "", fmt: str = "int32") -> T:  # noqa: E743 - a schema constructor, not a variable
    """An integer (int32 unless fmt says otherwise)."""
    return T("integer", description, format=fmt)


def I64(description: str = "") -> T:
    return T("integer", description, format="int64")


def B(description: str = "") -> T:
    return T("boolean", description)


def N(description: str = "") -> T:
    return T("number", description, format="double")


def Q(description: str = "") -> T:
    """A resource.Quantity ("1Gi", "500m", 2)."""
    return T("int-or-string", description,
             pattern=r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")


def IOS(description: str = "") -> T:
    """An IntOrString (a port number or name, a percentage)."""
    return T("int-or-string", description)


def TIME(description: str = "") -> T:
    return T("string", description, format="date-time")


def L(item: T, description: str = "", keys: tuple[str, ...] = (), list_type: str = "",
      patch_key: str = "", patch_strategy: str = "") -> T:
    """A list; `keys` makes it an associative list (x-kubernetes-list-type: map)."""
    return T("array", description, items=item, list_type=list_type or ("map" if keys else "atomic"),
             list_keys=keys, patch_key=patch_key, patch_strategy=patch_strategy)


def SET(item: T, description: str = "") -> T:
    return T("array", description, items=item, list_type="set")


def M(values: T, description: str = "") -> T:
    """A map from strings to `values`."""
    return T("map", description, values=values)


def SMAP(description: str = "") -> T:
    return M(S(), description)


def R(name: str, description: str = "") -> T:
    """A reference to the named type `name` (the field's own description wins)."""
    return T("ref", description, ref=name)


def O(description: str, fields: dict[str, T], required: tuple[str, ...] = (), open: bool = False) -> T:  # noqa: E743
    """A struct."""
    return T("object", description, fields=dict(fields), required=required, open=open)


def ANY(description: str = "") -> T:
    """A free-form object (any fields)."""
    return T("object", description, open=True)


def described(t: T, description: str) -> T:
    return replace(t, description=description)
