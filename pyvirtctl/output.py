"""Output helpers: Go-compatible JSON/YAML text and rich tables for the `-o json|yaml|table` flags.

* `go_json(obj, indent)` writes JSON the way Go's encoding/json does for an already-ordered object
  (dict insertion order is kept): HTML characters escaped, Go's float formatting, MarshalIndent layout.
* `go_yaml(obj)` writes YAML the way sigs.k8s.io/yaml does (sorted keys, no line wrapping, double
  quotes for strings that would read back as another type).
* `table_format(output, stream)` picks the form: an explicit `-o` wins; without it a terminal gets a
  table and anything else gets virtctl's JSON.
* `use_colour(stream)` is the one colour policy (NO_COLOR, FORCE_COLOR, TERM=dumb, a terminal);
  `console(stream)` is a rich Console that follows it. rich and PyYAML are imported only inside the
  functions that need them.
"""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from typing import IO, Any

from pyvirtctl.errors import CLIError

FORMATS = ("json", "yaml", "table")

_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


# --------------------------------------------------------------------------- JSON


def go_string(text: str) -> str:
    """A JSON string literal as Go writes it (HTML-safe escapes, UTF-8 kept)."""
    out = json.dumps(text, ensure_ascii=False)
    if any(ch in out for ch in _HTML):
        out = "".join(_HTML.get(ch, ch) for ch in out)
    return out


def go_float(value: float) -> str:
    """strconv.FormatFloat(f, 'f' or 'e', -1, 64) the way encoding/json chooses between them."""
    if value != value or value in (float("inf"), float("-inf")):
        raise CLIError(f"json: unsupported value: {value}")
    a = abs(value)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        text = repr(value)  # shortest digits; Python writes e-07 where Go writes e-7
        mant, _, exp = text.partition("e")
        sign = "-" if exp.startswith("-") else "+"
        return f"{mant}e{sign}{int(exp.lstrip('+-'))}"
    text = format(Decimal(repr(value)).normalize(), "f")
    return text


class RawJSON(str):
    """JSON text written as it is (Go's json.RawMessage / runtime.RawExtension): go_json only compacts
    it, escapes HTML characters in its strings and indents it like json.MarshalIndent."""


def _raw_json(text: str, indent: str | None, level: int) -> str:
    out: list[str] = []
    depth = level
    i, n = 0, len(text)
    pending_open = False
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            chunk = text[i : j + 1]
            if any(c in chunk for c in _HTML):
                chunk = "".join(_HTML.get(c, c) for c in chunk)
            if pending_open and indent is not None:
                out.append("\n" + indent * depth)
            pending_open = False
            out.append(chunk)
            i = j + 1
            continue
        if ch in "{[":
            if pending_open and indent is not None:
                out.append("\n" + indent * depth)
            out.append(ch)
            depth += 1
            pending_open = True
        elif ch in "}]":
            depth -= 1
            if not pending_open and indent is not None:
                out.append("\n" + indent * depth)
            pending_open = False
            out.append(ch)
        elif ch == ",":
            out.append(ch)
            if indent is not None:
                out.append("\n" + indent * depth)
        elif ch == ":":
            out.append(": " if indent is not None else ":")
        else:
            if pending_open and indent is not None:
                out.append("\n" + indent * depth)
            pending_open = False
            out.append(ch)
        i += 1
    return "".join(out)


def go_json(obj: Any, indent: str | None = None, _level: int = 0) -> str:
    """json.Marshal (indent None) or json.MarshalIndent(obj, "", indent) of an ordered object."""
    if isinstance(obj, RawJSON):
        return _raw_json(obj, indent, _level)
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return go_float(obj)
    if isinstance(obj, str):
        return go_string(obj)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [(go_string(str(k)), go_json(v, indent, _level + 1)) for k, v in obj.items()]
        if indent is None:
            return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
        pad = "\n" + indent * (_level + 1)
        return "{" + ",".join(f"{pad}{k}: {v}" for k, v in items) + "\n" + indent * _level + "}"
    if isinstance(obj, list | tuple):
        if not obj:
            return "[]"
        parts = [go_json(v, indent, _level + 1) for v in obj]
        if indent is None:
            return "[" + ",".join(parts) + "]"
        pad = "\n" + indent * (_level + 1)
        return "[" + ",".join(pad + p for p in parts) + "\n" + indent * _level + "]"
    raise CLIError(f"json: unsupported type: {type(obj).__name__}")


# --------------------------------------------------------------------------- YAML
#
# sigs.k8s.io/yaml.Marshal is json.Marshal followed by go-yaml v2: the JSON is read back into maps
# (so keys come out sorted by go-yaml's "natural" order) and written by libyaml's emitter ported to
# Go. What follows reproduces that emitter for JSON-shaped values: block style, two-space indent,
# sequences not indented under their key, `{}`/`[]` for empty collections, plain scalars when they
# would read back as the same string (else double quotes, or single quotes when only the syntax is
# the problem), literal blocks (`|`, `|-`, `|+`) for strings with a newline, and plain or quoted
# scalars folded at spaces once a line passes 80 columns.


def go_yaml(obj: Any) -> str:
    """sigs.k8s.io/yaml.Marshal(obj) for a JSON-shaped value (dict keys are strings)."""
    emitter = _YamlEmitter()
    emitter.node(obj, root=True)
    emitter.document_end()
    return "".join(emitter.out)


_YAML_BOOL_NULL = frozenset(
    "y Y yes Yes YES true True TRUE on On ON n N no No NO false False FALSE off Off OFF ~ null Null NULL "
    ".nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF <<".split()
)
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_YAML_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_YAML_TIMESTAMP = re.compile(
    r"^[0-9]{4}-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:(?:[Tt]| )([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)


def _go_parse_int(text: str) -> bool:
    """strconv.ParseInt/ParseUint(text, 0, 64) succeeds (base prefixes, signs, `_` only with a prefix)."""
    body = text[1:] if text[:1] in "+-" else text
    if not body:
        return False
    low = body.lower()
    base, digits = 10, body
    if low.startswith("0x"):
        base, digits = 16, body[2:]
    elif low.startswith("0o"):
        base, digits = 8, body[2:]
    elif low.startswith("0b"):
        base, digits = 2, body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, digits = 8, body[1:]
    if "_" in digits and base == 10 and not (len(body) > 1 and body[0] == "0"):
        return False
    digits = digits.replace("_", "")
    if not digits:
        return False
    try:
        value = int(digits, base)
    except ValueError:
        return False
    if text.startswith("-"):
        return value <= 1 << 63
    return value < 1 << 64


def _go_timestamp(text: str) -> bool:
    m = _YAML_TIMESTAMP.match(text)
    if not m:
        return False
    import calendar

    year, month, day = int(text[:4]), int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    if m.group(3) is None:
        return True
    tz = m.group(6)
    if text[10] == " " and tz is not None:
        return False  # "2006-1-2 15:4:5.999999999" has no zone
    if text[10] in "Tt" and tz is None:
        return False
    return int(m.group(3)) < 24 and int(m.group(4)) < 60 and int(m.group(5)) < 60


def _yaml_resolves_to_string(s: str) -> bool:
    """go-yaml's resolve("", s) gives !!str and s is no base-60 float: the scalar may stay plain."""
    if s == "" or s in _YAML_BOOL_NULL:
        return False
    c = s[0]
    if c == ".":
        try:
            float(s)
            return False
        except ValueError:
            return True
    if c in "+-0123456789":
        if c in "0123456789" and _go_timestamp(s):
            return False
        plain = s.replace("_", "")
        if _go_parse_int(plain):
            return False
        if _YAML_FLOAT.match(plain):
            return False
        if plain.startswith("0b") or plain.startswith("-0b"):
            digits = plain[2:] if plain.startswith("0b") else plain[3:]
            if digits and all(ch in "01" for ch in digits):
                return False
        if ":" in s and _YAML_BASE60.match(s):
            return False
    return True


def _yaml_printable(ch: str) -> bool:
    """libyaml's is_printable on the UTF-8 form (note: nothing above U+FFFF passes)."""
    o = ord(ch)
    return o == 0x0A or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)


_YAML_BREAKS = "\r\n\x85\u2028\u2029"


class _Scalar:
    """yaml_emitter_analyze_scalar's verdict on one string."""

    __slots__ = ("value", "multiline", "flow_plain", "block_plain", "single_quoted", "block")

    def __init__(self, value: str) -> None:
        self.value = value
        if not value:
            self.multiline, self.flow_plain, self.block_plain = False, False, True
            self.single_quoted, self.block = True, False
            return
        block_ind = flow_ind = line_breaks = special = False
        leading_space = leading_break = trailing_space = trailing_break = False
        break_space = space_break = previous_space = previous_break = False
        if value.startswith("---") or value.startswith("..."):
            block_ind = flow_ind = True
        preceded_by_ws = True
        n = len(value)
        for i, ch in enumerate(value):
            followed_by_ws = i + 1 >= n or value[i + 1] in " \t"
            if i == 0:
                if ch in "#,[]{}&*!|>'\"%@`":
                    flow_ind = block_ind = True
                elif ch in "?:":
                    flow_ind = True
                    if followed_by_ws:
                        block_ind = True
                elif ch == "-" and followed_by_ws:
                    flow_ind = block_ind = True
            else:
                if ch in ",?[]{}":
                    flow_ind = True
                elif ch == ":":
                    flow_ind = True
                    if followed_by_ws:
                        block_ind = True
                elif ch == "#" and preceded_by_ws:
                    flow_ind = block_ind = True
            if not _yaml_printable(ch):
                special = True
            if ch == " ":
                if i == 0:
                    leading_space = True
                if i == n - 1:
                    trailing_space = True
                if previous_break:
                    break_space = True
                previous_space, previous_break = True, False
            elif ch in _YAML_BREAKS:
                line_breaks = True
                if i == 0:
                    leading_break = True
                if i == n - 1:
                    trailing_break = True
                if previous_space:
                    space_break = True
                previous_space, previous_break = False, True
            else:
                previous_space = previous_break = False
            preceded_by_ws = ch in " \t\0" or ch in _YAML_BREAKS
        self.multiline = line_breaks
        flow_plain = block_plain = single = block = True
        if leading_space or leading_break or trailing_space or trailing_break:
            flow_plain = block_plain = False
        if trailing_space:
            block = False
        if break_space:
            flow_plain = block_plain = single = False
        if space_break or special:
            flow_plain = block_plain = single = block = False
        if line_breaks:
            flow_plain = block_plain = False
        if flow_ind:
            flow_plain = False
        if block_ind:
            block_plain = False
        self.flow_plain, self.block_plain, self.single_quoted, self.block = flow_plain, block_plain, single, block


_ESCAPES = {
    0x00: "0", 0x07: "a", 0x08: "b", 0x09: "t", 0x0A: "n", 0x0B: "v", 0x0C: "f", 0x0D: "r", 0x1B: "e",
    0x22: '"', 0x5C: "\\", 0x85: "N", 0xA0: "_", 0x2028: "L", 0x2029: "P",
}


def _go_yaml_key_less(a: str, b: str) -> bool:
    """go-yaml v2's keyList.Less for two string keys: letters after other runes, digit runs by value."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and _is_digit(a[j]):
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and _is_digit(a[ai]):
            an = an * 10 + ord(a[ai]) - 48
            ai += 1
        bi = i
        while bi < len(b) and _is_digit(b[bi]):
            bn = bn * 10 + ord(b[bi]) - 48
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _is_digit(ch: str) -> bool:
    import unicodedata

    return "0" <= ch <= "9" or (ord(ch) > 127 and unicodedata.category(ch) == "Nd")


def _go_yaml_sorted_keys(keys: list[str]) -> list[str]:
    import functools

    def cmp(a: str, b: str) -> int:
        return -1 if _go_yaml_key_less(a, b) else (1 if _go_yaml_key_less(b, a) else 0)

    return sorted(keys, key=functools.cmp_to_key(cmp))


def go_float_g(value: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64) as go-yaml writes floats (.inf, .nan spelled YAML's way)."""
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    sign = "-" if str(value).startswith("-") else ""
    if value == 0:
        return sign + "0"
    mant, _, e = repr(abs(value)).lower().partition("e")
    whole, _, frac = mant.partition(".")
    frac = frac.rstrip("0") if frac != "0" else ""
    raw = whole + frac
    digits = raw.lstrip("0")
    dp = len(whole) - (len(raw) - len(digits)) + (int(e) if e else 0)  # value = 0.digits x 10^dp
    digits = digits.rstrip("0") or "0"
    exp = dp - 1
    if exp < -4 or exp >= 6:  # shortest 'g' decides with precision 6
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return f"{sign}{digits}{'0' * (dp - len(digits))}"
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


class _YamlEmitter:
    """The parts of libyaml's emitter (go-yaml v2) that a JSON-shaped document goes through."""

    BEST_INDENT = 2
    BEST_WIDTH = 80

    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.indent = -1
        self.indents: list[int] = []
        self.flow_level = 0

    # -- low level writes
    def put(self, ch: str) -> None:
        self.out.append(ch)
        self.column += 1

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0

    def write_break(self, ch: str) -> None:
        if ch == "\n":
            self.put_break()
        else:
            self.out.append(ch)
            self.column = 0

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if not self.indention or self.column > indent or (self.column == indent and not self.whitespace):
            self.put_break()
        while self.column < indent:
            self.put(" ")
        self.whitespace = True
        self.indention = True

    def write_indicator(self, indicator: str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) -> None:
        if need_whitespace and not self.whitespace:
            self.put(" ")
        for ch in indicator:
            self.put(ch)
        self.whitespace = is_whitespace
        self.indention = self.indention and is_indention

    def increase_indent(self, flow: bool, indentless: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = self.BEST_INDENT if flow else 0
        elif not indentless:
            self.indent += self.BEST_INDENT

    def pop_indent(self) -> None:
        self.indent = self.indents.pop()

    # -- structure
    def document_end(self) -> None:
        self.indent = -1
        self.write_indent()

    def node(self, value: Any, root: bool = False, sequence: bool = False, mapping: bool = False,
             simple_key: bool = False) -> None:
        if isinstance(value, dict):
            if not value or self.flow_level:
                self.flow_mapping(value)
            else:
                self.block_mapping(value)
        elif isinstance(value, list | tuple):
            if not value or self.flow_level:
                self.flow_sequence(list(value))
            else:
                self.block_sequence(list(value), mapping)
        else:
            text, requested = self.scalar_text(value)
            self.scalar(text, requested, simple_key)

    def block_mapping(self, value: dict) -> None:
        self.increase_indent(False, False)
        for key in _go_yaml_sorted_keys([str(k) for k in value]):
            item = value[key]
            self.write_indent()
            text, requested = self.scalar_text(key)
            info = _Scalar(text)
            if not info.multiline and len(text.encode("utf-8", "surrogateescape")) <= 128:
                self.scalar(text, requested, True, info)
                self.write_indicator(":", False, False, False)
            else:
                self.write_indicator("?", True, False, True)
                self.scalar(text, requested, False, info)
                self.write_indent()
                self.write_indicator(":", True, False, True)
            self.node(item, mapping=True)
        self.pop_indent()

    def block_sequence(self, value: list, mapping_context: bool) -> None:
        self.increase_indent(False, mapping_context and not self.indention)
        for item in value:
            self.write_indent()
            self.write_indicator("-", True, False, True)
            self.node(item, sequence=True)
        self.pop_indent()

    def flow_mapping(self, value: dict) -> None:
        self.write_indicator("{", True, True, False)
        self.increase_indent(True, False)
        self.flow_level += 1
        for n, key in enumerate(_go_yaml_sorted_keys([str(k) for k in value])):
            if n:
                self.write_indicator(",", False, False, False)
            if self.column > self.BEST_WIDTH:
                self.write_indent()
            text, requested = self.scalar_text(key)
            self.scalar(text, requested, True)
            self.write_indicator(":", False, False, False)
            self.node(value[key], mapping=True)
        self.flow_level -= 1
        self.pop_indent()
        self.write_indicator("}", False, False, False)

    def flow_sequence(self, value: list) -> None:
        self.write_indicator("[", True, True, False)
        self.increase_indent(True, False)
        self.flow_level += 1
        for n, item in enumerate(value):
            if n:
                self.write_indicator(",", False, False, False)
            if self.column > self.BEST_WIDTH:
                self.write_indent()
            self.node(item, sequence=True)
        self.flow_level -= 1
        self.pop_indent()
        self.write_indicator("]", False, False, False)

    # -- scalars
    @staticmethod
    def scalar_text(value: Any) -> tuple[str, str]:
        """The scalar's text and the style go-yaml's encoder asks for (plain, double or literal)."""
        if value is None:
            return "null", "plain"
        if value is True:
            return "true", "plain"
        if value is False:
            return "false", "plain"
        if isinstance(value, int):
            return str(value), "plain"
        if isinstance(value, float):
            return go_float_g(value), "plain"
        text = str(value)
        if "\n" in text:
            return text, "literal"
        return text, "plain" if _yaml_resolves_to_string(text) else "double"

    def scalar(self, text: str, requested: str, simple_key: bool, info: _Scalar | None = None) -> None:
        info = info or _Scalar(text)
        style = requested
        if simple_key and info.multiline:
            style = "double"
        if style == "plain":
            if (self.flow_level and not info.flow_plain) or (not self.flow_level and not info.block_plain):
                style = "single"
            if not text and (self.flow_level or simple_key):
                style = "single"
        if style == "single" and not info.single_quoted:
            style = "double"
        if style == "literal" and (not info.block or self.flow_level or simple_key):
            style = "double"
        self.increase_indent(True, False)
        if style == "plain":
            self.write_plain(text, not simple_key)
        elif style == "single":
            self.write_single(text, not simple_key)
        elif style == "double":
            self.write_double(text, not simple_key)
        else:
            self.write_literal(text)
        self.pop_indent()

    def write_plain(self, value: str, allow_breaks: bool) -> None:
        if not self.whitespace:
            self.put(" ")
        spaces = breaks = False
        n = len(value)
        for i, ch in enumerate(value):
            if ch == " ":
                if allow_breaks and not spaces and self.column > self.BEST_WIDTH and not (i + 1 < n and value[i + 1] == " "):
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif ch in _YAML_BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                spaces = breaks = False
        self.whitespace = False
        self.indention = False

    def write_single(self, value: str, allow_breaks: bool) -> None:
        self.write_indicator("'", True, False, False)
        spaces = breaks = False
        n = len(value)
        for i, ch in enumerate(value):
            if ch == " ":
                if (allow_breaks and not spaces and self.column > self.BEST_WIDTH and 0 < i < n - 1
                        and value[i + 1] != " "):
                    self.write_indent()
                else:
                    self.put(ch)
                spaces = True
            elif ch in _YAML_BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                if ch == "'":
                    self.put("'")
                self.put(ch)
                self.indention = False
                spaces = breaks = False
        self.write_indicator("'", False, False, False)
        self.whitespace = False
        self.indention = False

    def write_double(self, value: str, allow_breaks: bool) -> None:
        self.write_indicator('"', True, False, False)
        bom = value.startswith("\ufeff")
        spaces = False
        n = len(value)
        for i, ch in enumerate(value):
            o = ord(ch)
            if not _yaml_printable(ch) or bom or ch in _YAML_BREAKS or ch in '"\\':
                self.put("\\")
                esc = _ESCAPES.get(o)
                if esc is not None:
                    self.put(esc)
                elif o <= 0xFF:
                    for c in f"x{o:02X}":
                        self.put(c)
                elif o <= 0xFFFF:
                    for c in f"u{o:04X}":
                        self.put(c)
                else:
                    for c in f"U{o:08X}":
                        self.put(c)
                spaces = False
            elif ch == " ":
                if allow_breaks and not spaces and self.column > self.BEST_WIDTH and 0 < i < n - 1:
                    self.write_indent()
                    if i + 1 < n and value[i + 1] == " ":
                        self.put("\\")
                else:
                    self.put(ch)
                spaces = True
            else:
                self.put(ch)
                spaces = False
        self.write_indicator('"', False, False, False)
        self.whitespace = False
        self.indention = False

    def write_literal(self, value: str) -> None:
        self.write_indicator("|", True, False, False)
        if value[:1] == " " or value[:1] in _YAML_BREAKS and value:
            self.write_indicator(str(self.BEST_INDENT), False, False, False)
        chomp = ""
        if not value or value[-1] not in _YAML_BREAKS:
            chomp = "-"
        elif len(value) == 1 or value[-2] in _YAML_BREAKS:
            chomp = "+"
        if chomp:
            self.write_indicator(chomp, False, False, False)
        self.put_break()
        self.indention = True
        self.whitespace = True
        breaks = True
        for ch in value:
            if ch in _YAML_BREAKS:
                self.write_break(ch)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(ch)
                self.indention = False
                breaks = False


# --------------------------------------------------------------------------- tables


def is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def use_colour(stream: IO[str]) -> bool:
    """The one colour policy (tables, guest-agent output, progress bars):

    * `NO_COLOR` set to a non-empty value: never (no-color.org; an empty value does not count);
    * else `FORCE_COLOR` set to a non-empty value other than `0`: always, even into a pipe;
    * else `TERM=dumb`: never;
    * else only on a terminal.
    """
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR")
    if force and force != "0":
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def table_format(output: str | None, stream: IO[str]) -> str:
    """The output form: the `-o` value when given, else a table on a terminal and JSON elsewhere."""
    if output is None or output == "":
        return "table" if is_terminal(stream) else "json"
    if output not in FORMATS:
        raise CLIError(f"unsupported output format: {output} (must be 'json', 'yaml' or 'table')")
    return output


def console(stream: IO[str]) -> Any:
    """A rich Console for `stream` that follows `use_colour` (rich's own guesses do not decide)."""
    from rich.console import Console

    colour = use_colour(stream)
    width = None
    if not is_terminal(stream):
        width = 80
    system: str | None = None
    if colour:  # a dumb or piped terminal that FORCE_COLOR forces gets the basic 16 colours
        system = "auto" if is_terminal(stream) and os.environ.get("TERM") != "dumb" else "standard"
    return Console(
        file=stream,
        force_terminal=colour,
        no_color=not colour,
        color_system=system,  # type: ignore[arg-type]
        highlight=False,
        emoji=False,
        markup=False,
        width=width,
        soft_wrap=False,
    )


def human_bytes(n: int | float) -> str:
    """1536 -> "1.5 KiB"; binary units, one decimal below 10 of a unit."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if abs(value) < 10 else f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.0f} PiB"  # pragma: no cover - loop always returns


def use_percent(used: int | float, total: int | float) -> int | None:
    """Rounded-up use percentage like df(1) shows; None when the total is unknown."""
    if not total or total <= 0:
        return None
    pct = used * 100.0 / total
    whole = int(pct)
    return whole + 1 if pct > whole else whole


def progress_bar(total: int | None, stream: IO[str], label: str = "Downloading file:") -> tuple[Any, Any]:
    """(advance(n), stop()) of a transfer progress bar drawn on `stream` when it is a terminal; on
    anything else nothing is drawn (a log or a pipe gets no control characters)."""
    if not is_terminal(stream):
        return (lambda n: None), (lambda: None)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(TextColumn(label), BarColumn(), DownloadColumn(binary_units=True), TransferSpeedColumn(),
                   console=console(stream), transient=False)
    task = bar.add_task("transfer", total=total)
    bar.start()
    return (lambda n: bar.advance(task, n)), bar.stop
