"""YAML read the way client-go reads a kubeconfig: sigs.k8s.io/yaml's YAMLToJSON over go-yaml v2.

client-go never sees YAML values directly: it converts the document to JSON and decodes that into
its typed structs. What a scalar *is* therefore follows go-yaml v2's resolver, not PyYAML's:

* `y`, `n`, `yes`, `off`, ... are booleans (PyYAML: `y`/`n` are strings);
* `017` and `0o17` are 15, `1e3` is 1000.0, `08` is 8.0 (PyYAML: strings), `1_000` is 1000;
* `1:20` (PyYAML: 80) and `2001-01-01` (PyYAML: a date) stay strings;
* only the first document of a stream counts; keys become strings (`true`, `1`), a `null` key
  or a list as a key is an error; NaN and infinities cannot become JSON.

`load(data)` returns the JSON-shaped value (dicts with str keys, lists, str, int, float, bool,
None) or raises `GoYAMLError` whose text is client-go's (`yaml: line 1: did not find expected node
content`, `json: unsupported value: NaN`, ...). Plain block YAML goes through the fast reader
(`miniyaml`, with go-yaml's scalar rules); anything else through PyYAML's libyaml event parser,
composed and resolved here, so PyYAML's own typing never leaks in.
"""

from __future__ import annotations

import math
import re
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyvirtctl.gostrconv import NumError, parse_int, parse_uint, underscore_ok
from pyvirtctl.gotext import go_quote


class GoYAMLError(Exception):
    """The document cannot become JSON; the text is client-go's (`yaml: ...` or `json: ...`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- scalars (go-yaml v2)

_STR, _BOOL, _INT, _FLOAT, _NULL = (
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:null",
)
_TIMESTAMP, _BINARY, _MERGE = "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:merge"
_RESOLVABLE = ("", _STR, _BOOL, _INT, _FLOAT, _NULL, _TIMESTAMP)

_HINTS = {c: "S" for c in "+-"}
_HINTS.update({c: "D" for c in "0123456789"})
_HINTS.update({c: "M" for c in "yYnNtTfFoO~"})
_HINTS["."] = "."

_MAP: dict[str, tuple[str, Any]] = {}
for _values, _v, _tag in (
    (("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True, _BOOL),
    (("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False, _BOOL),
    (("", "~", "null", "Null", "NULL"), None, _NULL),
    ((".nan", ".NaN", ".NAN"), math.nan, _FLOAT),
    ((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf, _FLOAT),
    (("-.inf", "-.Inf", "-.INF"), -math.inf, _FLOAT),
    (("<<",), "<<", _MERGE),
):
    for _text in _values:
        _MAP[_text] = (_tag, _v)

_YAML_STYLE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_GO_DECIMAL_FLOAT = re.compile(r"[-+]?(?:[0-9_]*\.?[0-9_]*)(?:[eE][-+]?[0-9_]+)?")
_TIMESTAMP_FORMS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d{1,9})?(?:Z|[-+]\d{2}:\d{2})"),
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d{1,9})?"),
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
)


def _go_parse_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64) for decimal text; None where Go reports an error (syntax, range)."""
    if not _GO_DECIMAL_FLOAT.fullmatch(text):
        return None
    mantissa = re.split(r"[eE]", text, maxsplit=1)[0]
    if not any(c.isdigit() for c in mantissa):
        return None
    if "_" in text and not underscore_ok(text):
        return None
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        return None
    return None if math.isinf(value) else value


def _is_timestamp(text: str) -> bool:
    """go-yaml's parseTimestamp: the forms it accepts, with Go's time.Parse range checks."""
    if len(text) < 8 or not text[:4].isdigit() or text[4:5] != "-":
        return False
    for form in _TIMESTAMP_FORMS:
        m = form.fullmatch(text)
        if m:
            fields = [int(g) for g in m.groups()]
            month, day = fields[1], fields[2]
            if not (1 <= month <= 12 and 1 <= day <= 31):
                return False
            if len(fields) > 3 and not (fields[3] < 24 and fields[4] < 60 and fields[5] < 60):
                return False
            return True
    return False


def _int_or_none(text: str, base: int) -> int | None:
    try:
        return parse_int(text, base, 64)
    except NumError:
        pass
    if text[:1] != "-":
        try:
            return parse_uint(text, base, 64)
        except NumError:
            pass
    return None


def _resolve(tag: str, text: str) -> tuple[str, Any]:
    """go-yaml v2's resolve(tag, in): the resolved tag and value; GoYAMLError for `!!int x` and the like."""
    if tag not in _RESOLVABLE:
        return tag, text
    rtag, out = _resolve_untyped(tag, text)
    if tag in ("", rtag, _STR, _BINARY):
        return rtag, out
    if tag == _FLOAT and rtag == _INT:
        return _FLOAT, float(out)
    raise GoYAMLError(f"yaml: cannot decode {_short_tag(rtag)} `{text}` as a {_short_tag(tag)}")


def _resolve_untyped(tag: str, text: str) -> tuple[str, Any]:
    hint = _HINTS.get(text[:1]) if text else "N"
    if hint is None or tag in (_STR, _BINARY):
        return _STR, text
    known = _MAP.get(text)
    if known is not None:
        return known
    if hint == ".":
        value = _go_parse_float(text)
        if value is not None:
            return _FLOAT, value
    elif hint in ("D", "S"):
        if tag in ("", _TIMESTAMP) and _is_timestamp(text):
            return _TIMESTAMP, text
        plain = text.replace("_", "")
        number = _int_or_none(plain, 0)
        if number is not None:
            return _INT, number
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            value = _go_parse_float(plain)
            if value is not None:
                return _FLOAT, value
        if plain.startswith("0b"):
            number = _int_or_none(plain[2:], 2)
            if number is not None:
                return _INT, number
        elif plain.startswith("-0b"):
            number = _int_or_none("-" + plain[3:], 2)
            if number is not None:
                return _INT, number
    return _STR, text


def resolve_plain(text: str) -> Any:
    """The value of an untagged plain scalar, as go-yaml v2 reads it (timestamps stay strings)."""
    tag, value = _resolve_untyped("", text)
    return text if tag in (_TIMESTAMP, _MERGE) else value


def _short_tag(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag


# --------------------------------------------------------------------------- Go's number texts


def _shortest_digits(value: float, bits: int) -> tuple[str, int]:
    """The shortest decimal digits that round-trip `value` (>= 0) at `bits` precision, and the
    position of the decimal point: 1234.5 -> ("12345", 4), 0.001 -> ("1", -2)."""
    if value == 0:
        return "0", 1
    if bits == 64:
        text = repr(value)  # Python's repr is the shortest round-trip form, like Go's -1 precision
    else:
        single = struct.unpack("f", struct.pack("f", value))[0]
        if single == 0:
            return "0", 1
        text = next(
            t for t in (f"{single:.{p}e}" for p in range(9))
            if struct.unpack("f", struct.pack("f", float(t)))[0] == single
        )
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    stripped = digits.lstrip("0")
    point = len(whole) + int(exp or 0) - (len(digits) - len(stripped))
    return stripped.rstrip("0") or "0", point


def _format_e(digits: str, point: int, two_digit_exp: bool = True) -> str:
    exp = point - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return f"{mantissa}e{sign}{abs(exp):02d}" if two_digit_exp else f"{mantissa}e{sign}{abs(exp)}"


def _format_f(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def format_float_g(value: float, bits: int = 64) -> str:
    """strconv.FormatFloat(value, 'g', -1, bits): what fmt's %v prints for a float."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if bits == 32:
        try:
            single = struct.unpack("f", struct.pack("f", value))[0]
        except OverflowError:
            single = math.inf
        if math.isinf(single):  # float32(value) overflows
            return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, point = _shortest_digits(abs(value), bits)
    eprec = 6
    if eprec > len(digits) and len(digits) >= point:
        eprec = len(digits)
    exp = point - 1
    if exp < -4 or exp >= eprec:
        return sign + _format_e(digits, point)
    return sign + _format_f(digits, point)


def json_number(value: int | float) -> str:
    """How Go's encoding/json writes a number (shortest digits; exponent form below 1e-6 or from 1e21)."""
    if isinstance(value, int):
        return str(value)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    digits, point = _shortest_digits(abs(value), 64)
    if 1e-6 <= abs(value) < 1e21:
        return sign + _format_f(digits, point)
    return sign + _format_e(digits, point, two_digit_exp=False)


def json_text(value: Any) -> str:
    """Go's json.Marshal of a JSON-shaped value: compact, map keys sorted, `<>&` escaped."""
    import json  # noqa: PLC0415 - only for the rare messages that show a raw extension

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json_number(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                        ("\u2029", "\\u2029"), ("\x7f", "\x7f")):
            text = text.replace(ch, esc)
        return text
    if isinstance(value, list):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    return "{" + ",".join(f"{json_text(k)}:{json_text(value[k])}" for k in sorted(value)) + "}"


# --------------------------------------------------------------------------- Go's encoding/base64

_B64 = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


class Base64Error(ValueError):
    """base64.CorruptInputError: `illegal base64 data at input byte N` (N counts UTF-8 bytes)."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")
        self.offset = offset


def base64_decode(src: bytes) -> bytes:
    """Go's base64.StdEncoding.Decode: padding required, CR and LF skipped anywhere, lenient about
    the unused bits of the last quantum; the error offset is Go's."""
    out = bytearray()
    si, n = 0, len(src)
    while si < n:
        buf = [0, 0, 0, 0]
        dlen = 4
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise Base64Error(si - j)
            c = src[si]
            si += 1
            if c in _B64:
                buf[j] = _B64[c]
                j += 1
                continue
            if c in (0x0A, 0x0D):
                continue
            if c != 0x3D:  # '='
                raise Base64Error(si - 1)
            if j in (0, 1):
                raise Base64Error(si - 1)
            if j == 2:  # a second '=' must follow (newlines may sit between)
                while si < n and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise Base64Error(n)
                if src[si] != 0x3D:
                    raise Base64Error(si - 1)
                si += 1
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                raise Base64Error(si)  # trailing garbage after the padding
            dlen = j
            break
        val = buf[0] << 18 | buf[1] << 12 | buf[2] << 6 | buf[3]
        out.extend(val.to_bytes(3, "big")[: dlen - 1])
        if dlen < 4:
            break
    return bytes(out)


# --------------------------------------------------------------------------- Go's %#v of YAML values

_INT64_MAX = (1 << 63) - 1


def _sharp_v(value: Any, top: bool = True) -> str:
    """fmt's %#v of a go-yaml interface{} value (for go-yaml's and sigs.k8s.io/yaml's messages)."""
    if value is None:
        return "<nil>" if top else "interface {}(nil)"
    if isinstance(value, _Key):
        return _sharp_v(value.value, top)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"0x{value:x}" if value > _INT64_MAX else str(value)
    if isinstance(value, float):
        return format_float_g(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_sharp_v(v, False) for v in value) + "}"
    items = sorted(value.items(), key=lambda kv: _Key(kv[0]).order() if not isinstance(kv[0], _Key) else kv[0].order())
    return "map[interface {}]interface {}{" + ", ".join(
        f"{_sharp_v(k, False)}:{_sharp_v(v, False)}" for k, v in items
    ) + "}"


def _go_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "uint64" if value > _INT64_MAX else "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "%!s(<nil>)" if value is None else "interface {}"


# --------------------------------------------------------------------------- composing (libyaml events)


class _Node:
    __slots__ = ("kind", "value", "tag", "implicit", "items", "target", "line")

    def __init__(self, kind: str, line: int) -> None:
        self.kind = kind  # scalar | mapping | sequence | alias
        self.line = line
        self.value: str = ""
        self.tag: str = ""
        self.implicit = False
        self.items: list[_Node] = []  # mapping: key, value, key, value, ...
        self.target: _Node | None = None


class _Key:
    """A map key of go-yaml's map[interface{}]interface{}: 1, 1.0, true and "1" are distinct keys."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def _ident(self) -> tuple[str, Any]:
        return (_go_type_name(self.value), self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self._ident() == other._ident()

    def __hash__(self) -> int:
        return hash(self._ident())

    def order(self) -> tuple[str, str]:
        return (_go_type_name(self.value), repr(self.value))


MAX_DEPTH = 10000  # go-yaml v2's max_flow_level / max_indents


def _go_error(exc: Exception) -> GoYAMLError:
    """go-yaml's parser.fail(): `yaml: line N: <problem>`, N from the problem mark (scanner errors
    count from 1, parser errors from 0) or else the context mark; no line when both are 0."""
    import yaml  # noqa: PLC0415

    if isinstance(exc, yaml.reader.ReaderError):
        return GoYAMLError(f"yaml: {exc.reason}")
    problem = getattr(exc, "problem", None) or "unknown problem parsing YAML content"
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    line = 0
    if problem_mark is not None and problem_mark.line != 0:
        line = problem_mark.line + (1 if isinstance(exc, yaml.scanner.ScannerError) else 0)
    elif context_mark is not None and context_mark.line != 0:
        line = context_mark.line
    return GoYAMLError(f"yaml: line {line}: {problem}" if line else f"yaml: {problem}")


def _compose_first_document(data: bytes) -> tuple[_Node | None, int]:
    """The first document's node graph (go-yaml reads no further) and its nesting depth.

    libyaml and go-yaml disagree on two escapes in double-quoted scalars: go-yaml reads `\\'` as a
    quote and refuses `\\/`, libyaml the reverse. A `\\'` that libyaml stops at is rewritten as
    `\\x27` and the text parsed again; a `\\/` is refused while composing.
    """
    import yaml  # noqa: PLC0415 - only for kubeconfigs outside the fast reader's subset

    loader_cls = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    for _attempt in range(256):
        loader = loader_cls(data)
        try:
            return _compose(loader, yaml, text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = mark.index if mark is not None else -1
            problem = getattr(exc, "problem", "")
            if problem == "found unknown escape character" and text is not None and text[at : at + 2] == "\\'":
                text = text[:at] + "\\x27" + text[at + 2 :]
                data = text.encode("utf-8")
                continue
            if problem == "exceeded maximum nesting depth" and loader_cls is not yaml.SafeLoader:
                # libyaml stops at 1,000 levels, go-yaml at 10,000: lift libyaml's limit (a global of
                # the extension module), or else use PyYAML's own parser (slow on deep flow nesting)
                if not _lift_libyaml_nesting_limit():
                    loader_cls = yaml.SafeLoader
                continue
            raise _go_error(exc) from None
        except ValueError as exc:  # the pure-Python scanner on an escape beyond U+10FFFF
            raise GoYAMLError("yaml: found invalid Unicode character escape code") from exc
        finally:
            loader.dispose()
    raise GoYAMLError("yaml: too many quote escapes")  # pragma: no cover - 256 rewrites of \\'


_NESTING_LIFTED: list[bool] = []


def _lift_libyaml_nesting_limit() -> bool:
    """yaml_set_max_nest_level(2 * MAX_DEPTH) in PyYAML's libyaml; False when that is not possible."""
    if _NESTING_LIFTED:
        return False  # already lifted: the document is deeper still (our own check reports it)
    _NESTING_LIFTED.append(True)
    try:
        import ctypes  # noqa: PLC0415 - only for documents nested more than 1,000 levels deep

        import yaml._yaml  # noqa: PLC0415

        ctypes.CDLL(yaml._yaml.__file__).yaml_set_max_nest_level(2 * MAX_DEPTH + 2)
    except (ImportError, OSError, AttributeError):
        return False
    return True


_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_ESCAPE = re.compile(r"\\(.)", re.S)


def _check_go_escapes(text: str, event: Any) -> None:
    """go-yaml has no `\\/` escape: `yaml: line N: found unknown escape character`."""
    raw = text[event.start_mark.index : event.end_mark.index]
    for m in _ESCAPE.finditer(raw):
        if m.group(1) == "/":
            line = event.start_mark.line + len(_BREAKS.findall(raw, 0, m.start()))
            where = f"line {line + 1}: " if line else ""
            raise GoYAMLError(f"yaml: {where}found unknown escape character")


def _compose(loader: Any, yaml: Any, text: str | None) -> tuple[_Node | None, int]:
    loader.get_event()  # stream start
    if loader.check_event(yaml.StreamEndEvent):
        return None, 0
    loader.get_event()  # document start
    anchors: dict[str, _Node] = {}
    stack: list[tuple[_Node, bool]] = []  # open collections, and whether each is a flow collection
    levels = {True: 0, False: 0}  # open flow / block collections (go-yaml limits each to MAX_DEPTH)
    root: _Node | None = None
    max_depth = 0
    while root is None:
        event = loader.get_event()
        line = event.start_mark.line if event.start_mark is not None else 0
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            done, is_flow = stack.pop()
            levels[is_flow] -= 1
            if not stack:
                root = done
            continue
        if isinstance(event, yaml.ScalarEvent):
            if event.style == '"' and text is not None and "\\/" in text:
                _check_go_escapes(text, event)
            node = _Node("scalar", line)
            node.value = event.value
            node.tag = event.tag or ""
            node.implicit = bool(event.implicit[0])
        elif isinstance(event, yaml.AliasEvent):
            node = _Node("alias", line)
            node.value = event.anchor
            node.target = anchors.get(event.anchor)
            if node.target is None:
                raise GoYAMLError(f"yaml: unknown anchor '{event.anchor}' referenced")
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            node = _Node("mapping" if isinstance(event, yaml.MappingStartEvent) else "sequence", line)
            node.tag = event.tag or ""
        else:  # pragma: no cover - libyaml emits nothing else inside a document
            continue
        if event.anchor is not None and node.kind != "alias":
            anchors[event.anchor] = node
        if stack:
            stack[-1][0].items.append(node)
        if node.kind in ("mapping", "sequence"):
            is_flow = bool(event.flow_style)
            levels[is_flow] += 1
            if levels[is_flow] > MAX_DEPTH:
                where = f"line {line + 1}: " if line else ""
                raise GoYAMLError(f"yaml: {where}exceeded max depth of {MAX_DEPTH}")
            stack.append((node, is_flow))
            max_depth = max(max_depth, len(stack))
        elif not stack:
            root = node
    loader.get_event()  # document end: go-yaml reads it too (its errors surface the same way)
    return root, max_depth


# --------------------------------------------------------------------------- decoding (go-yaml v2 -> interface{})


class _Decoder:
    """go-yaml v2's decoder into interface{}, with its alias-expansion limit."""

    def __init__(self) -> None:
        self.decode_count = 0
        self.alias_count = 0
        self.alias_depth = 0
        self.active_aliases: set[int] = set()

    def decode(self, node: _Node) -> Any:
        self.decode_count += 1
        if self.alias_depth:
            self.alias_count += 1
        if (
            self.alias_count > 100
            and self.decode_count > 1000
            and self.alias_count / self.decode_count > _allowed_alias_ratio(self.decode_count)
        ):
            raise GoYAMLError("yaml: document contains excessive aliasing")
        if node.kind == "alias":
            if id(node) in self.active_aliases:
                raise GoYAMLError(f"yaml: anchor '{node.value}' value contains itself")
            self.active_aliases.add(id(node))
            self.alias_depth += 1
            assert node.target is not None
            value = self.decode(node.target)
            self.alias_depth -= 1
            self.active_aliases.discard(id(node))
            return value
        if node.kind == "scalar":
            return self.scalar(node)
        if node.kind == "sequence":
            return [self.decode(item) for item in node.items]
        out: dict[_Key, Any] = {}
        self.mapping_into(node, out)
        return out

    def scalar(self, node: _Node) -> Any:
        if not node.tag and not node.implicit:
            return node.value
        tag, value = _resolve(node.tag, node.value)
        if tag == _BINARY:
            try:
                decoded = base64_decode(node.value.encode())
            except Base64Error:
                raise GoYAMLError("yaml: !!binary value contains invalid base64 data") from None
            return decoded.decode("utf-8", "replace")
        if tag in (_TIMESTAMP, _MERGE):
            return node.value
        return value

    def mapping_into(self, node: _Node, out: dict[_Key, Any]) -> None:
        items = node.items
        for i in range(0, len(items) - 1, 2):
            key_node, value_node = items[i], items[i + 1]
            if key_node.kind == "scalar" and key_node.value == "<<" and (key_node.implicit or key_node.tag == _MERGE):
                self.merge(value_node, out)
                continue
            key = self.decode(key_node)
            if isinstance(key, list | dict):
                raise GoYAMLError(f"yaml: invalid map key: {_sharp_v(key)}")
            out[_Key(key)] = self.decode(value_node)

    def merge(self, node: _Node, out: dict[_Key, Any]) -> None:
        def want_map() -> GoYAMLError:
            return GoYAMLError("yaml: map merge requires map or sequence of maps as the value")

        if node.kind == "mapping":
            self.decode_count += 1
            self.mapping_into(node, out)
        elif node.kind == "alias":
            if node.target is None or node.target.kind != "mapping":
                raise want_map()
            merged = self.decode(node)
            out.update(merged)
        elif node.kind == "sequence":
            for item in reversed(node.items):
                target = item.target if item.kind == "alias" else item
                if target is None or target.kind != "mapping":
                    raise want_map()
                out.update(self.decode(item))
        else:
            raise want_map()


def _allowed_alias_ratio(count: int) -> float:
    low, high = 400_000, 4_000_000
    if count <= low:
        return 0.99
    if count >= high:
        return 0.10
    return 0.99 - 0.89 * ((count - low) / (high - low))


# --------------------------------------------------------------------------- YAMLToJSON


def _float_key(value: float) -> str:
    text = format_float_g(value, 32)
    return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)


def jsonable(value: Any) -> Any:
    """sigs.k8s.io/yaml's convertToJSONableObject: every map key becomes a string (GoYAMLError when
    one cannot: a null key, an unsigned 64-bit one)."""
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        k = key.value if isinstance(key, _Key) else key
        if isinstance(k, bool):
            text = "true" if k else "false"
        elif isinstance(k, int) and k <= _INT64_MAX:
            text = str(k)
        elif isinstance(k, float):
            text = _float_key(k)
        elif isinstance(k, str):
            text = k
        else:
            raise GoYAMLError(
                f"unsupported map key of type: {_go_type_name(k)}, key: {_sharp_v(k)}, value: {_sharp_v(item)}"
            )
        out[text] = jsonable(item)
    return out


def check_json(value: Any) -> None:
    """json.Marshal's refusal of NaN and infinities, the first one in Go's (sorted key) order."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise GoYAMLError(f"json: unsupported value: {format_float_g(value)}")
    elif isinstance(value, list):
        for item in value:
            check_json(item)
    elif isinstance(value, dict):
        for key in sorted(value):
            check_json(value[key])


@contextmanager
def _deep(depth: int) -> Iterator[None]:
    """Deeply nested documents (go-yaml allows 10,000 levels) need more Python frames."""
    old = sys.getrecursionlimit()
    need = depth * 4 + 1000
    if need > old:
        sys.setrecursionlimit(need)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def load_full(data: bytes) -> Any:
    """YAMLToJSON through libyaml's events, composed and resolved here (no fast reader)."""
    root, depth = _compose_first_document(data)
    if root is None:
        return None
    with _deep(depth):
        value = jsonable(_Decoder().decode(root))
        check_json(value)
    return value


def load_fast(data: bytes) -> Any:
    """YAMLToJSON for plain block YAML via the fast reader with go-yaml's scalar rules (no PyYAML
    import); miniyaml.Unsupported for anything else. Same answer as `load_full`, or none."""
    from pyvirtctl.kube import miniyaml  # noqa: PLC0415

    if b"\\/" in data:
        raise miniyaml.Unsupported("an escape go-yaml does not know")  # libyaml and PyYAML know it
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise miniyaml.Unsupported("non-ASCII text") from None
    value = miniyaml.load(text, plain=resolve_plain)
    check_json(value)
    return value


def load(data: bytes) -> Any:
    """YAMLToJSON(data), unmarshalled: the JSON-shaped value client-go decodes. GoYAMLError."""
    from pyvirtctl.kube import miniyaml  # noqa: PLC0415

    try:
        return load_fast(data)
    except miniyaml.Unsupported:
        return load_full(data)
