"""Decode a manifest the way Kubernetes' YAMLOrJSONDecoder does into a typed Go struct.

Input that starts with `{` is JSON: the first JSON value is read (anything after it is ignored).
Anything else is YAML: the first `---`-separated document, resolved with go-yaml v2's rules (`yes`
is a bool, `1e3` a float, timestamps stay strings) and converted to JSON like sigs.k8s.io/yaml
(non-string keys become strings, numbers and bools become strings where the Go field is a string,
maps come out with sorted keys).

The target struct is described with a small schema (`"string"`, `"bool"`, `"int64"`, `"raw"` for a
runtime.RawExtension, `("list", elem, go_type)`, `("map", elem, go_type)`, `("struct", fields, go_type)`).
Fields match case-insensitively like encoding/json; unknown fields are ignored; a value of the wrong
JSON type is an error with encoding/json's text. A "raw" value keeps the exact JSON text it had
(`RawJSON`), as Go's RawExtension does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pyvirtctl.kubevirt.manifests.params import ManifestError
from pyvirtctl.output import RawJSON, go_json

Schema = Any

# --------------------------------------------------------------------------- JSON text with spans

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_WS = " \t\n\r"


class _JSONNode:
    """A parsed JSON value with its source span (so a RawExtension can keep its text)."""

    __slots__ = ("kind", "value", "start", "end")

    def __init__(self, kind: str, value: Any, start: int, end: int) -> None:
        self.kind = kind  # object | array | string | number | bool | null
        self.value = value  # object: list of (key, node); array: list of nodes; scalars: python value / text
        self.start = start
        self.end = end


class _JSONSyntax(Exception):
    pass


def _parse_json(text: str) -> _JSONNode:
    """The first JSON value of `text`; errors carry Go's json wording."""
    pos = 0

    def skip() -> None:
        nonlocal pos
        while pos < len(text) and text[pos] in _WS:
            pos += 1

    def bad(what: str) -> _JSONSyntax:
        if pos >= len(text):
            return _JSONSyntax("unexpected EOF")
        ch = text[pos]
        shown = json.dumps(ch)[1:-1] if ch not in "'" else "\\'"
        return _JSONSyntax(f"json: offset {len(text[: pos + 1].encode('utf-8', 'surrogateescape'))}: "
                           f"invalid character '{shown}' {what}")

    def value() -> _JSONNode:
        nonlocal pos
        skip()
        if pos >= len(text):
            raise _JSONSyntax("unexpected EOF")
        start = pos
        ch = text[pos]
        if ch == "{":
            pos += 1
            items: list[tuple[str, _JSONNode]] = []
            skip()
            if pos < len(text) and text[pos] == "}":
                pos += 1
                return _JSONNode("object", items, start, pos)
            while True:
                skip()
                if pos >= len(text) or text[pos] != '"':
                    raise bad("looking for beginning of object key string")
                key = string()
                skip()
                if pos >= len(text) or text[pos] != ":":
                    raise bad("after object key")
                pos += 1
                items.append((key, value()))
                skip()
                if pos < len(text) and text[pos] == ",":
                    pos += 1
                    continue
                if pos < len(text) and text[pos] == "}":
                    pos += 1
                    return _JSONNode("object", items, start, pos)
                raise bad("after object key:value pair")
        if ch == "[":
            pos += 1
            elems: list[_JSONNode] = []
            skip()
            if pos < len(text) and text[pos] == "]":
                pos += 1
                return _JSONNode("array", elems, start, pos)
            while True:
                elems.append(value())
                skip()
                if pos < len(text) and text[pos] == ",":
                    pos += 1
                    continue
                if pos < len(text) and text[pos] == "]":
                    pos += 1
                    return _JSONNode("array", elems, start, pos)
                raise bad("after array element")
        if ch == '"':
            s = string()
            return _JSONNode("string", s, start, pos)
        for word, kind, val in (("true", "bool", True), ("false", "bool", False), ("null", "null", None)):
            if text.startswith(word, pos):
                pos += len(word)
                return _JSONNode(kind, val, start, pos)
            if word.startswith(text[pos:]) and text[pos:]:
                raise _JSONSyntax("unexpected EOF")
        m = _NUMBER.match(text, pos)
        if m and m.end() > pos:
            pos = m.end()
            return _JSONNode("number", m.group(), start, pos)
        raise bad("looking for beginning of value")

    def string() -> str:
        nonlocal pos
        try:
            s, end = json.decoder.scanstring(text, pos + 1, True)  # type: ignore[attr-defined]
        except json.JSONDecodeError as e:
            if "Unterminated" in e.msg:
                raise _JSONSyntax("unexpected EOF") from None
            pos = e.pos
            raise bad("in string literal") from None
        pos = end
        return s

    return value()


# --------------------------------------------------------------------------- YAML with go-yaml's resolver

_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_TIMESTAMP_START = re.compile(r"^[0-9]{4}-")
_BOOL_NULL: dict[str, Any] = {
    **dict.fromkeys("y Y yes Yes YES true True TRUE on On ON".split(), True),
    **dict.fromkeys("n N no No NO false False FALSE off Off OFF".split(), False),
    **dict.fromkeys(["", "~", "null", "Null", "NULL"], None),
    **dict.fromkeys(".nan .NaN .NAN".split(), float("nan")),
    **dict.fromkeys(".inf .Inf .INF +.inf +.Inf +.INF".split(), float("inf")),
    **dict.fromkeys("-.inf -.Inf -.INF".split(), float("-inf")),
}


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint: the value or None."""
    from pyvirtctl.output import _go_parse_int

    if not _go_parse_int(text):
        return None
    body = text.lstrip("+-")
    neg = text.startswith("-")
    low = body.lower()
    if low.startswith(("0x", "0o", "0b")):
        value = int(body[2:], {"x": 16, "o": 8, "b": 2}[low[1]])
    elif len(body) > 1 and body[0] == "0":
        value = int(body[1:], 8)
    else:
        value = int(body, 10)
    return -value if neg else value


def go_yaml_resolve(text: str) -> Any:
    """go-yaml v2's resolve() of a plain scalar, as decoded into interface{} (timestamps stay strings)."""
    if text in _BOOL_NULL:
        return _BOOL_NULL[text]
    if not text:
        return None
    c = text[0]
    if c == ".":
        try:
            return float(text)
        except ValueError:
            return text
    if c in "+-0123456789":
        if _TIMESTAMP_START.match(text):
            from pyvirtctl.output import _go_timestamp

            if _go_timestamp(text):
                return text
        plain = text.replace("_", "")
        value = _go_int(plain)
        if value is not None:
            return value
        if _GO_FLOAT.match(plain):
            try:
                return float(plain)
            except ValueError:
                pass
        if plain.startswith("0b") or plain.startswith("-0b"):
            digits = plain[2:] if plain.startswith("0b") else plain[3:]
            if digits and set(digits) <= {"0", "1"}:
                return int(digits, 2) * (-1 if plain.startswith("-") else 1)
    return text


def _yaml_loader() -> Any:
    import yaml

    class GoLoader(yaml.SafeLoader):
        pass

    GoLoader.yaml_implicit_resolvers = {}  # every plain scalar arrives as a string; we resolve it

    def construct_str(loader: Any, node: Any) -> Any:
        value = loader.construct_scalar(node)
        if node.style is None and node.tag == "tag:yaml.org,2002:str" and not getattr(node, "_explicit", False):
            return go_yaml_resolve(value)
        return value

    def construct_map(loader: Any, node: Any) -> dict[str, Any]:
        # keys become strings right away (sigs.k8s.io/yaml's rule), so `1` and `true` stay two keys
        loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            out[_key_string(loader.construct_object(key_node, deep=True))] = loader.construct_object(
                value_node, deep=True
            )
        return out

    GoLoader.add_constructor("tag:yaml.org,2002:str", construct_str)
    GoLoader.add_constructor("tag:yaml.org,2002:map", construct_map)
    return GoLoader


def first_yaml_document(data: bytes) -> bytes | None:
    """k8s YAMLReader.Read: the first non-empty `---`-separated chunk (None at end of input)."""
    buffer: list[bytes] = []
    for line in data.splitlines(keepends=True):
        if line.startswith(b"---"):
            rest = line[3:].strip()
            if rest and not rest.startswith(b"#"):
                raise ManifestError(f"invalid Yaml document separator: {rest.decode('utf-8', 'replace')}")
            if buffer:
                return b"".join(buffer)
            continue
        buffer.append(line)
    return b"".join(buffer) if buffer else None


# PyYAML's problem texts -> libyaml's (go-yaml), first match wins: (PyYAML prefix, context or "", libyaml text)
_LIBYAML_PROBLEMS = (
    ("mapping values are not allowed here", "", "mapping values are not allowed in this context"),
    ("found character", "", "found character that cannot start any token"),
    ("expected <block end>", "while parsing a block mapping", "did not find expected key"),
    ("expected <block end>", "while parsing a block collection", "did not find expected '-' indicator"),
    ("expected ',' or ']'", "", "did not find expected ',' or ']'"),
    ("expected ',' or '}'", "", "did not find expected ',' or '}'"),
    ("expected the node content", "", "did not find expected node content"),
    ("expected '<document start>'", "", "did not find expected <document start>"),
)


def _yaml_problem(e: Exception) -> str:
    """go-yaml's error text: libyaml's words; the line is the problem's (1-based for scanner errors, as
    go-yaml counts it, 0-based for parser errors), else the context's, else none."""
    import yaml

    problem = getattr(e, "problem", None) or str(e)
    context = getattr(e, "context", None) or ""
    for prefix, ctx, text in _LIBYAML_PROBLEMS:
        if problem.startswith(prefix) and (not ctx or context == ctx):
            problem = text
            break
    mark = getattr(e, "problem_mark", None)
    context_mark = getattr(e, "context_mark", None)
    line = 0
    if mark is not None and mark.line != 0:
        line = mark.line + (1 if isinstance(e, yaml.scanner.ScannerError) else 0)
    elif context_mark is not None and context_mark.line != 0:
        line = context_mark.line
    where = f"line {line}: " if line else ""
    return f"yaml: {where}{problem}"


def _key_string(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _format_float32(key)
    if isinstance(key, str):
        return key
    raise ManifestError(f"unsupported map key of type: {type(key).__name__}, key: {key!r}")


def _format_float32(value: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 32)."""
    import struct

    from pyvirtctl.output import go_float_g

    if value != value or value in (float("inf"), float("-inf")):
        return go_float_g(value)
    f32 = struct.unpack("f", struct.pack("f", value))[0]
    # shortest float32 digits: try increasing precision until the float32 round-trips
    for digits in range(1, 10):
        text = f"{f32:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == f32:
            return go_float_g(float(text))
    return go_float_g(f32)


# --------------------------------------------------------------------------- typed decoding


def _go_type_name(schema: Schema) -> str:
    if isinstance(schema, tuple):
        return schema[2]
    return {"string": "string", "bool": "bool", "int64": "int64", "raw": "runtime.RawExtension"}[schema]


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class _Typed:
    """encoding/json Unmarshal into a schema, from either a _JSONNode tree or plain Python values."""

    def __init__(self, struct_name: str) -> None:
        self.struct_name = struct_name  # "Template." (JSON input) or "." (YAML input)

    def error(self, kind: str, path: str, schema: Schema) -> ManifestError:
        where = f"Go struct field {self.struct_name}{path}" if path else "Go value"
        return ManifestError(f"json: cannot unmarshal {kind} into {where} of type {_go_type_name(schema)}")

    def decode(self, node: Any, schema: Schema, path: str, raw_text: str | None = None) -> Any:
        kind, value = (node.kind, node.value) if isinstance(node, _JSONNode) else (_json_kind(node), node)
        if schema == "raw":
            if kind == "null":
                return None
            if isinstance(node, _JSONNode):
                return RawJSON(raw_text[node.start : node.end] if raw_text is not None else "")
            return RawJSON(go_json(_jsonable(node)))
        if kind == "null":
            return None
        if schema == "string":  # strict, like encoding/json (YAML input was coerced before)
            if kind != "string":
                raise self.error(kind, path, schema)
            return value
        if schema == "bool":
            if kind != "bool":
                raise self.error(kind, path, schema)
            return value
        if schema == "int64":
            if kind != "number":
                raise self.error(kind, path, schema)
            try:
                return int(value) if isinstance(value, str) else int(value)
            except ValueError:
                raise self.error(f"number {value}", path, schema) from None
        tag, inner, _go_name = schema
        if tag == "list":
            if kind != "array":
                raise self.error(kind, path, schema)
            return [self.decode(v, inner, f"{path}.{i}" if path else str(i), raw_text) for i, v in enumerate(value)]
        if kind != "object":
            raise self.error(kind, path, schema)
        items = value if isinstance(node, _JSONNode) else list(value.items())
        if tag == "map":
            return {k: (self.decode(v, inner, f"{path}.{k}" if path else k, raw_text) or ("" if inner == "string" else None))
                    for k, v in items}
        out: dict[str, Any] = {}
        for key, v in items:
            field = inner.get(key) and key or next((f for f in inner if f.lower() == key.lower()), None)
            if field is None:
                continue
            out[field] = self.decode(v, inner[field], f"{path}.{field}" if path else field, raw_text)
        return out


def _jsonable(value: Any) -> Any:
    """A YAML-decoded value as sigs.k8s.io/yaml hands it to json.Marshal (sorted string keys)."""
    if isinstance(value, dict):
        return {k: _jsonable(value[k]) for k in sorted(value, key=lambda s: s.encode("utf-8", "surrogateescape"))}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _coerce(value: Any, schema: Schema) -> Any:
    """sigs.k8s.io/yaml's convertToJSONableObject: string keys, numbers/bools as strings for string fields."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = _key_string(k)
            sub: Schema = None
            if isinstance(schema, tuple) and schema[0] == "struct":
                sub = schema[1].get(key) or next((f for n, f in schema[1].items() if n.lower() == key.lower()), None)
            elif isinstance(schema, tuple) and schema[0] == "map":
                sub = schema[1]
            out[key] = _coerce(v, sub)
        return out
    if isinstance(value, list):
        elem = schema[1] if isinstance(schema, tuple) and schema[0] == "list" else None
        return [_coerce(v, elem) for v in value]
    if schema == "string" and not isinstance(value, str) and value is not None:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return _format_float32(value)
    return value


def decode(data: bytes, schema: Schema, what: str) -> dict[str, Any]:
    """YAMLOrJSONDecoder.Decode into `schema`; errors read `error decoding <what>: ...` like virtctl."""
    try:
        return decode_plain(data, schema)
    except ManifestError as e:
        raise ManifestError(f"error decoding {what}: {e.message}") from None


def decode_plain(data: bytes, schema: Schema) -> dict[str, Any]:
    """YAMLOrJSONDecoder.Decode into `schema`, errors as the decoder words them (no prefix)."""
    text = data.decode("utf-8", "surrogateescape")
    head = text[:1024].lstrip(_WS)
    if head.startswith("{"):
        # JSON first; when that fails the same bytes are tried as YAML (which also coerces
        # numbers into string fields), and only if YAML fails too is the JSON error reported
        try:
            try:
                node = _parse_json(text)
            except _JSONSyntax as e:
                raise ManifestError(str(e)) from None
            return _Typed(schema[2].split(".")[-1] + ".").decode(node, schema, "", text) or {}
        except ManifestError as json_error:
            try:
                return _decode_yaml(data, schema)
            except ManifestError:
                raise json_error from None
    return _decode_yaml(data, schema)


def _decode_yaml(data: bytes, schema: Schema) -> dict[str, Any]:
    doc = first_yaml_document(data)
    if doc is None:
        raise ManifestError("EOF")
    import yaml

    try:
        # the first document only: go-yaml ignores whatever follows it
        obj = next(yaml.load_all(doc.decode("utf-8", "surrogateescape"), Loader=_yaml_loader()), None)  # noqa: S506
    except yaml.YAMLError as e:
        raise ManifestError(f"error converting YAML to JSON: {_yaml_problem(e)}") from None
    obj = _coerce(obj, schema)
    try:
        return _Typed(".").decode(obj, schema, "") or {}
    except ManifestError as e:
        raise ManifestError(f"error unmarshaling JSON: while decoding JSON: {e.message}") from None


def raw_to_value(raw: RawJSON | None) -> Any:
    """A RawExtension's JSON text as go-yaml reads it back (ints stay ints, other numbers are floats)."""
    if raw is None:
        return None

    def number(text: str) -> Any:
        value = int(text)
        return value if -(1 << 63) <= value < (1 << 64) else float(value)

    return json.loads(str(raw), parse_int=number)
