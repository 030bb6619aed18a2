"""A VirtualMachine as Go's typed struct sees it: decoding (strict or lenient) and json.Marshal.

virt-template turns the processed (unstructured) object into a `kubevirt.io/api/core/v1.VirtualMachine`
with apimachinery's unstructured converter, strictly (unknown fields are an error), and virtctl
prints that struct with json.Marshal (and sigs.k8s.io/yaml for YAML). A VirtualMachine answered by
the server is decoded by client-go, leniently. Both are reproduced here over the generated type
table (`vmtypes.TYPES`):

* `from_unstructured(obj)` - the converter: fields match their JSON names exactly, a value of the
  wrong kind is an error in the converter's words (`unrecognized type: string`, `cannot restore
  slice from string`, `cannot convert float64 to int32`), unknown fields are collected and reported
  together (`strict decoding error: unknown field "spec.foo", ...`, sorted). A type with its own
  UnmarshalJSON (Quantity, Time, IntOrString, and the structs KubeVirt decodes through an alias:
  VirtualMachineInstanceSpec, DHCPOptions, PodNetwork) is handed the value as JSON - inside those
  encoding/json's rules apply: keys match case-insensitively, unknown keys are dropped, and the
  first wrong value stops decoding with `json: cannot unmarshal string into Go struct field
  VMISpecAlias.domain.cpu.cores of type uint32` (the path is the keys as written, list indices
  included).
* `decode_json(obj)` - encoding/json's lenient decoding of the whole VirtualMachine.
* `marshal(value)` - json.Marshal of the typed value: Go field order, `omitempty`/`omitzero`,
  non-pointer structs always written (`metadata: {}`, `resources: {}`, `status: {}`), quantities
  in canonical form.

A typed value is plain data: a struct is a dict keyed by Go field name (absent = zero value), a
pointer is None or its target, slices and maps are None (nil) or list/dict, a Quantity is its
canonical string, a Time is None or its RFC 3339 text, an IntOrString an int or a str, a
RawExtension None or `RawJSON`.
"""

from __future__ import annotations

import math
import struct as _struct
from collections.abc import Callable
from functools import cache
from typing import Any

from pyvirtctl.kubevirt.templates.vmtypes import LEAVES, ROOT, TYPES
from pyvirtctl.output import RawJSON, go_float, go_json


class TypedError(Exception):
    """The conversion failed; `message` is Go's error text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_INT_BITS = {"int": 64, "int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UINT_BITS = {"uint": 64, "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "uintptr": 64}
_FLOATS = ("float32", "float64")


class GoNumber(float):
    """A JSON number that keeps its literal text (how a server wrote it)."""

    text: str

    def __new__(cls, text: str) -> GoNumber:
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


def parse_json(text: str | bytes) -> Any:
    """JSON as Go's decoder sees the literals: numbers keep their text (`GoNumber`)."""
    import json

    return json.loads(text, parse_int=GoNumber, parse_float=GoNumber)


# --------------------------------------------------------------------------- the type table


class _T:
    """One resolved type expression."""

    __slots__ = ("expr", "kind", "elem", "key", "basic", "display", "entry", "leaf")

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.elem: str = ""
        self.key: str = ""
        self.basic = ""  # the underlying basic type (string, int32, ...) for simple kinds
        self.entry: tuple = ()
        self.leaf = ""
        if expr.startswith("*"):
            self.kind, self.elem = "ptr", expr[1:]
        elif expr.startswith("[]"):
            self.kind, self.elem = "slice", expr[2:]
        elif expr.startswith("map["):
            self.kind = "map"
            self.key, self.elem = _split_map(expr)
        elif expr == "any":
            self.kind = "any"
        elif expr in LEAVES:
            self.kind, self.leaf = "leaf", LEAVES[expr][0]
            if self.leaf == "string":
                self.kind, self.basic = "basic", "string"
        elif expr in TYPES:
            entry = TYPES[expr]
            if entry[0] == "struct":
                self.kind, self.entry = "struct", entry
            else:
                under = _t(entry[2])
                self.kind, self.elem, self.key, self.basic = under.kind, under.elem, under.key, under.basic
                self.entry, self.leaf = under.entry, under.leaf
        else:
            self.kind, self.basic = "basic", expr
        self.display = _display(expr)

    @property
    def go_kind(self) -> str:
        """reflect.Kind's name."""
        if self.kind == "basic":
            return self.basic
        return {"ptr": "ptr", "slice": "slice", "map": "map", "any": "interface"}.get(self.kind, "struct")


def _split_map(expr: str) -> tuple[str, str]:
    """`map[K]V` -> (K, V)."""
    depth, i = 0, 3
    while True:
        if expr[i] == "[":
            depth += 1
        elif expr[i] == "]":
            depth -= 1
            if depth == 0:
                return expr[4:i], expr[i + 1 :]
        i += 1


@cache
def _t(expr: str) -> _T:
    return _T(expr)


@cache
def _display(expr: str) -> str:
    """reflect.Type.String()."""
    if expr.startswith("*"):
        return "*" + _display(expr[1:])
    if expr.startswith("[]"):
        return "[]" + _display(expr[2:])
    if expr.startswith("map["):
        key, elem = _split_map(expr)
        return f"map[{_display(key)}]{_display(elem)}"
    if expr == "any":
        return "interface {}"
    if expr in LEAVES:
        return LEAVES[expr][1]
    if expr in TYPES:
        return TYPES[expr][1]
    return expr


def _deref(expr: str) -> str:
    while expr.startswith("*"):
        expr = expr[1:]
    return expr


@cache
def _flat_fields(expr: str) -> tuple[tuple[str, tuple[tuple[str, str], ...], str], ...]:
    """encoding/json's view of a struct's fields: (json name, path of (Go field, type) hops, type),
    embedded structs promoted (a shallower field hides a deeper one of the same name)."""
    found: dict[str, tuple[int, tuple[tuple[str, str], ...], str]] = {}
    order: list[str] = []

    def walk(struct_expr: str, prefix: tuple[tuple[str, str], ...], depth: int) -> None:
        for json_name, go_name, ftype, *_ in _t(struct_expr).entry[2]:
            hop = (*prefix, (go_name, ftype))
            if json_name == "":
                walk(_deref(ftype), hop, depth + 1)
                continue
            if json_name in found:
                if found[json_name][0] <= depth:
                    continue
            else:
                order.append(json_name)
            found[json_name] = (depth, hop, ftype)

    walk(expr, (), 0)
    return tuple((name, found[name][1], found[name][2]) for name in order)


# --------------------------------------------------------------------------- zero values and marshal


def zero(expr: str) -> Any:
    t = _t(expr)
    if t.kind == "basic":
        if t.basic == "string":
            return ""
        if t.basic == "bool":
            return False
        return 0.0 if t.basic in _FLOATS else 0
    if t.kind == "struct":
        return {}
    if t.kind == "leaf":
        return {"quantity": "0", "intorstring": 0, "duration": "0s"}.get(t.leaf)
    return None


def _is_empty(expr: str, value: Any) -> bool:
    """encoding/json's isEmptyValue (omitempty)."""
    t = _t(expr)
    if t.kind in ("ptr", "any"):
        return value is None
    if t.kind in ("slice", "map"):
        return not value
    if t.kind == "basic":
        return bool(value == zero(expr))
    return False  # structs (Quantity, Time, ... included) are never empty


def _is_zero(expr: str, value: Any) -> bool:
    """omitzero: the type's IsZero method (Time, Quantity) or reflect's zero value."""
    t = _t(expr)
    if t.kind == "leaf":
        if t.leaf == "quantity":
            from pyvirtctl.kube.quantity import Quantity

            return Quantity.parse(value).value == 0 if value not in (None, "0") else True
        return value in (None, 0, "0s") and value is not False
    if t.kind == "struct":
        return all(_is_zero(ft, (value or {}).get(go, zero(ft))) for _j, go, ft, *_ in t.entry[2])
    if t.kind == "basic":
        return value == zero(expr) and type(value) is type(zero(expr))
    return value is None


def marshal(value: Any, expr: str = ROOT) -> Any:
    """json.Marshal of a typed value, as ordered JSON-shaped data (RawJSON for raw extensions)."""
    t = _t(expr)
    if t.kind == "ptr":
        return None if value is None else marshal(value, t.elem)
    if t.kind == "slice":
        return None if value is None else [marshal(v, t.elem) for v in value]
    if t.kind == "map":
        if value is None:
            return None
        return {k: marshal(value[k], t.elem) for k in sorted(value, key=_go_key)}
    if t.kind == "struct":
        out: dict[str, Any] = {}
        _marshal_fields(value or {}, expr, out)
        return out
    if t.kind == "leaf":
        if t.leaf == "raw":
            return None if value is None else RawJSON(value)
        return value
    if t.kind == "any":
        return value
    if t.kind == "basic" and t.basic in _FLOATS and isinstance(value, int | float):
        return float(value)
    return value


def _go_key(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


def _marshal_fields(value: dict[str, Any], expr: str, out: dict[str, Any]) -> None:
    for json_name, go_name, ftype, omitempty, omitzero, *_ in _t(expr).entry[2]:
        v = value.get(go_name, zero(ftype))
        if json_name == "":
            if ftype.startswith("*"):
                if v is None:
                    continue
                ftype = ftype[1:]
            for k, item in _marshal_struct_items(v, ftype):
                out.setdefault(k, item)
            continue
        if omitempty and _is_empty(ftype, v):
            continue
        if omitzero and _is_zero(ftype, v):
            continue
        out[json_name] = marshal(v, ftype)


def _marshal_struct_items(value: Any, expr: str) -> list[tuple[str, Any]]:
    sub: dict[str, Any] = {}
    _marshal_fields(value or {}, expr, sub)
    return list(sub.items())


# --------------------------------------------------------------------------- the unstructured converter


def _u_kind(v: Any) -> str:
    """reflect.Kind of an unstructured value (what json.Unmarshal into interface{} produces)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, int | float):
        return "float64"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, list):
        return "slice"
    return "invalid"


def _wrap_int(n: int, basic: str) -> int:
    bits = _INT_BITS.get(basic) or _UINT_BITS[basic]
    n &= (1 << bits) - 1
    if basic in _INT_BITS and n >= 1 << (bits - 1):
        n -= 1 << bits
    return n


def _float32(f: float) -> float:
    try:
        return float(_struct.unpack("f", _struct.pack("f", f))[0])
    except OverflowError:
        return math.copysign(math.inf, f)


class _Strict:
    """runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, &vm, true)."""

    def __init__(self) -> None:
        self.unknown: list[str] = []

    def convert(self, sv: Any, expr: str, path: str, matched: set[str] | None = None) -> Any:
        if sv is None:
            return zero(expr)
        t = _t(expr)
        if t.kind == "basic":
            return self._simple(sv, t)
        if t.kind == "leaf" or (t.kind == "struct" and t.entry[3]):
            return _custom_from_json(sv, expr, sort_keys=True)
        if t.kind == "map":
            if not isinstance(sv, dict):
                raise TypedError(f"cannot restore map from {_u_kind(sv)}")
            return {k: (zero(t.elem) if v is None else self.convert(v, t.elem, path)) for k, v in sv.items()}
        if t.kind == "slice":
            if not isinstance(sv, list):
                raise TypedError(f"cannot restore slice from {_u_kind(sv)}")
            return [self.convert(v, t.elem, f"{path}[{i}]") for i, v in enumerate(sv)]
        if t.kind == "ptr":
            return self.convert(sv, t.elem, path, matched)
        if t.kind == "struct":
            return self._struct(sv, expr, path, matched)
        return sv

    @staticmethod
    def _simple(sv: Any, t: _T) -> Any:
        basic = t.basic
        if isinstance(sv, bool):
            if basic == "bool":
                return sv
        elif isinstance(sv, str):
            if basic == "string":
                return sv
        elif isinstance(sv, int | float):
            if basic in _FLOATS:
                return _float32(float(sv)) if basic == "float32" else float(sv)
            if basic in _INT_BITS or basic in _UINT_BITS:
                f = float(sv)
                if f != math.trunc(f):
                    raise TypedError(f"cannot convert float64 to {t.display}")
                return _wrap_int(int(f), basic)
        raise TypedError(f"unrecognized type: {basic}")

    def _struct(self, sv: Any, expr: str, path: str, matched: set[str] | None) -> dict[str, Any]:
        if not isinstance(sv, dict):
            raise TypedError(f"cannot restore struct from: {_u_kind(sv)}")
        own = matched is None
        keys: set[str] = set() if matched is None else matched
        out: dict[str, Any] = {}
        for json_name, go_name, ftype, *_ in _t(expr).entry[2]:
            if json_name == "":
                out[go_name] = self.convert(sv, ftype, path, keys)
                continue
            keys.add(json_name)
            value = sv.get(json_name)
            if value is not None:
                out[go_name] = self.convert(value, ftype, f"{path}.{json_name}" if path else json_name)
        if own:
            for key in sv:
                if key not in keys:
                    self.unknown.append(f'unknown field "{path + "." if path else ""}{key}"')
        return out


def from_unstructured(obj: dict[str, Any]) -> dict[str, Any]:
    """The typed VirtualMachine of an unstructured object (numbers as floats, as Go decodes JSON)."""
    conv = _Strict()
    value = conv.convert(obj, ROOT, "")
    if conv.unknown:
        raise TypedError("strict decoding error: " + ", ".join(sorted(conv.unknown)))
    return value


# --------------------------------------------------------------------------- encoding/json decoding


def _number_text(v: Any) -> str:
    if isinstance(v, GoNumber):
        return v.text
    if isinstance(v, int):
        return str(v)
    return go_float(v)


def _json_word(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "null"


class _Lenient:
    """encoding/json.Unmarshal into one root type; the first wrong value stops it."""

    def __init__(self, root_name: str, sort_keys: bool) -> None:
        self.root_name = root_name  # "VMISpecAlias" or "" (the error then reads "Go value of type")
        self.sort_keys = sort_keys  # the input came from json.Marshal of a map: keys in sorted order

    def error(self, what: str, expr: str, path: list[str]) -> TypedError:
        target = _display(_deref(expr))
        if path and self.root_name:
            return TypedError(f"json: cannot unmarshal {what} into Go struct field "
                              f"{self.root_name}.{'.'.join(path)} of type {target}")
        return TypedError(f"json: cannot unmarshal {what} into Go value of type {target}")

    def items(self, v: dict[str, Any]) -> list[tuple[str, Any]]:
        return sorted(v.items(), key=lambda kv: _go_key(kv[0])) if self.sort_keys else list(v.items())

    def decode(self, v: Any, expr: str, path: list[str], cur: Any = None) -> Any:
        t = _t(expr)
        if v is None:
            if t.kind in ("ptr", "slice", "map", "any"):
                return None
            if t.kind == "leaf":
                return zero(expr)
            return cur if cur is not None else zero(expr)
        if t.kind == "ptr":
            return self.decode(v, t.elem, path, cur)
        if t.kind == "basic":
            return self._basic(v, t, expr, path)
        if t.kind == "leaf":
            return _leaf_from_json(v, t.leaf, self.sort_keys)
        if t.kind == "any":
            return v
        if t.kind == "slice":
            if not isinstance(v, list):
                raise self.error(_json_word(v), expr, path)
            return [self.decode(item, t.elem, [*path, str(i)]) for i, item in enumerate(v)]
        if t.kind == "map":
            if not isinstance(v, dict):
                raise self.error(_json_word(v), expr, path)
            out = dict(cur) if isinstance(cur, dict) else {}
            for k, item in self.items(v):
                out[k] = self.decode(item, t.elem, [*path, k], out.get(k))
            return out
        # struct
        if t.entry[3] and path:  # a nested type with its own UnmarshalJSON (DHCPOptions, PodNetwork)
            return _custom_from_json(v, expr, self.sort_keys)
        if not isinstance(v, dict):
            raise self.error(_json_word(v), expr, path)
        out = dict(cur) if isinstance(cur, dict) else {}
        fields = _flat_fields(expr)
        for key, item in self.items(v):
            field = next((f for f in fields if f[0] == key), None) or next(
                (f for f in fields if _fold(f[0]) == _fold(key)), None)
            if field is None:
                continue
            hops = field[1]
            holder = out
            for go_name, _ftype in hops[:-1]:
                inner = holder.get(go_name)
                if not isinstance(inner, dict):
                    inner = holder[go_name] = {}
                holder = inner
            go_name, ftype = hops[-1]
            holder[go_name] = self.decode(item, ftype, [*path, key], holder.get(go_name))
        return out

    def _basic(self, v: Any, t: _T, expr: str, path: list[str]) -> Any:
        basic = t.basic
        if basic == "string":
            if isinstance(v, str):
                return v
            raise self.error(_json_word(v), expr, path)
        if basic == "bool":
            if isinstance(v, bool):
                return v
            raise self.error(_json_word(v), expr, path)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(_json_word(v), expr, path)
        text = _number_text(v)
        if basic in _FLOATS:
            f = float(text)
            if basic == "float32" and abs(f) > 3.4028234663852886e38 and not math.isinf(f):
                raise self.error(f"number {text}", expr, path)
            return _float32(f) if basic == "float32" else f
        try:
            n = int(text, 10) if text.lstrip("-").isdigit() else None
        except ValueError:
            n = None
        if n is not None:
            if basic in _INT_BITS:
                bits = _INT_BITS[basic]
                if -(1 << (bits - 1)) <= n < (1 << (bits - 1)):
                    return n
            elif n >= 0 and n < (1 << _UINT_BITS[basic]) and not text.startswith("-"):
                return n
        raise self.error(f"number {text}", expr, path)


def _fold(name: str) -> str:
    return name.lower().replace("\u017f", "s").replace("\u212a", "k")


def _custom_from_json(v: Any, expr: str, sort_keys: bool) -> Any:
    """A type's own UnmarshalJSON, handed `v` as JSON text."""
    t = _t(expr)
    if t.kind == "leaf":
        return _leaf_from_json(v, t.leaf, sort_keys)
    alias = t.entry[3]
    value = _Lenient(alias, sort_keys).decode(v, expr, [])
    return _SANITIZE.get(expr, lambda x: x)(value)


def _leaf_from_json(v: Any, leaf: str, sort_keys: bool) -> Any:
    if leaf == "quantity":
        from pyvirtctl.errors import CLIError
        from pyvirtctl.kube.quantity import Quantity

        if v is None:
            return "0"
        if isinstance(v, str):
            text = v
        elif isinstance(v, bool):
            text = "true" if v else "false"
        elif isinstance(v, int | float):
            text = _number_text(v)
        else:
            text = go_json(_sorted(v) if sort_keys else v)
        try:
            return str(Quantity.parse(text.strip(" \t\n\r\v\f")))
        except CLIError as e:
            raise TypedError(e.message) from None
    if leaf in ("time", "microtime"):
        if v is None:
            return None
        if not isinstance(v, str):
            raise TypedError(f"json: cannot unmarshal {_json_word(v)} into Go value of type string")
        return _rfc3339(v, micro=leaf == "microtime")
    if leaf == "intorstring":
        if isinstance(v, str):
            return v
        if v is None:
            return 0
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise TypedError(f"json: cannot unmarshal {_json_word(v)} into Go value of type int32")
        text = _number_text(v)
        if text.lstrip("-").isdigit() and -(1 << 31) <= int(text) < (1 << 31):
            return int(text)
        raise TypedError(f"json: cannot unmarshal number {text} into Go value of type int32")
    if leaf == "raw":
        return None if v is None else go_json(_sorted(v) if sort_keys else v)
    if leaf == "duration":
        if not isinstance(v, str):
            raise TypedError(f"json: cannot unmarshal {_json_word(v)} into Go value of type string")
        return v
    return v


def _sorted(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _sorted(v[k]) for k in sorted(v, key=_go_key)}
    if isinstance(v, list):
        return [_sorted(x) for x in v]
    return v


def _rfc3339(text: str, micro: bool) -> str:
    """time.Parse(RFC3339) then Format in UTC (seconds, or microseconds for MicroTime)."""
    import datetime
    import re

    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", text)
    when = None
    if m:
        try:
            frac = (m.group(7) or ".0")[1:]
            micros = int((frac + "000000")[:6])
            tz = datetime.UTC
            if m.group(8) not in ("Z", "z"):
                sign = 1 if m.group(8)[0] == "+" else -1
                tz = datetime.timezone(sign * datetime.timedelta(hours=int(m.group(8)[1:3]),
                                                                 minutes=int(m.group(8)[4:6])))
            year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
            when = datetime.datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
        except ValueError:
            when = None
    if when is None:
        layout = "2006-01-02T15:04:05.000000Z07:00" if micro else "2006-01-02T15:04:05Z07:00"
        raise TypedError(f'parsing time "{text}" as "{layout}": cannot parse "{text}" as "2006"')
    when = when.astimezone(datetime.UTC)
    if micro:
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_json(obj: Any, expr: str = ROOT) -> Any:
    """encoding/json.Unmarshal of a whole object into the typed struct (unknown fields dropped)."""
    return _Lenient("", sort_keys=False).decode(obj, expr, [])


# --------------------------------------------------------------------------- KubeVirt's sanitisers


def _ip(text: str) -> str | None:
    """netutils.ParseIPSloppy(text).String() (IPv4 parts may have leading zeros), None if invalid."""
    import ipaddress

    parts = text.split(".")
    if len(parts) == 4 and all(p.isdigit() and p.isascii() and 0 < len(p) for p in parts):
        nums = [int(p) for p in parts]
        if all(n <= 255 for n in nums):
            return ".".join(map(str, nums))
        return None
    try:
        addr = ipaddress.IPv6Address(text.split("%")[0] if "%" not in text else "!")
    except ValueError:
        return None
    if addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return addr.compressed


def _sanitize_vmi_spec(spec: Any) -> Any:
    dns = spec.get("DNSConfig") if isinstance(spec, dict) else None
    if isinstance(dns, dict) and dns.get("Nameservers"):
        dns["Nameservers"] = [_ip(n) or n for n in dns["Nameservers"]]
    return spec


def _sanitize_dhcp(opts: Any) -> Any:
    if isinstance(opts, dict) and opts.get("NTPServers"):
        opts["NTPServers"] = [_ip(n) or n for n in opts["NTPServers"]]
    return opts


def _sanitize_pod_network(net: Any) -> Any:
    if isinstance(net, dict) and net.get("VMNetworkCIDR"):
        cidr = net["VMNetworkCIDR"]
        addr, sep, bits = cidr.partition("/")
        ip = _ip(addr)
        if sep and ip is not None and bits.isdigit():
            limit = 32 if "." in ip and ":" not in ip else 128
            if int(bits) <= limit:
                net["VMNetworkCIDR"] = f"{ip}/{int(bits)}"
    return net


_SANITIZE: dict[str, Callable[[Any], Any]] = {
    "kv.VirtualMachineInstanceSpec": _sanitize_vmi_spec,
    "kv.DHCPOptions": _sanitize_dhcp,
    "kv.PodNetwork": _sanitize_pod_network,
}
