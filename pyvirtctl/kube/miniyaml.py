"""A fast reader for the plain block YAML that kubeconfig files are made of.

Importing PyYAML and building its loader costs ~10 ms per run (its reader compiles a large
Unicode regex), a tenth of a whole `pyvirtctl start`. Kubeconfigs written by kubectl, cloud
CLIs and the simulator use a small, regular part of YAML: block mappings and sequences, plain and
quoted one-line scalars, `{}` and `[]`. `load` parses exactly that part and returns what
`yaml.safe_load` returns for it; on anything else — anchors, tags, block or multi-line scalars,
flow collections, comments after values, non-ASCII text, scalars PyYAML would read as floats,
dates or non-decimal ints — it raises `Unsupported`, and the caller falls back to PyYAML.
`tests/unit/test_miniyaml.py` checks the equivalence on generated documents.

The structure it reads is the same for every YAML 1.1 parser; only what a plain scalar *means*
differs (PyYAML: `y` is a string and `1:20` is 80; go-yaml: `y` is true and `1:20` a string).
`load(text, plain=...)` swaps PyYAML's typing for another resolver (`goyaml.resolve_plain`); with
one given, keys must come out as strings (anything else is handed to the full parser).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class Unsupported(Exception):
    """The text uses YAML this reader does not handle: use PyYAML."""


# PyYAML's implicit resolvers (yaml/resolver.py), for plain scalars that start like one of them
_BOOL = re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"
)
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_TIMESTAMP = re.compile(
    r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
    r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]"
    r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"
)
_SIMPLE_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_RESOLVER_FIRST = set("yYnNtTfFoO-+0123456789.<~=")
_PLAIN_FIRST_FORBIDDEN = set("-?:,[]{}#&*!|>'\"%@`")
_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0", " ": " ",
            "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v"}


# PyYAML, libyaml and go-yaml give up on a simple (implicit) key longer than 1024 characters
_MAX_KEY = 1000


def load(text: str, plain: Callable[[str], Any] | None = None) -> Any:
    """`yaml.safe_load(text)` for kubeconfig-style YAML; raises Unsupported for anything else.

    With `plain`, untagged plain scalars are typed by that function instead of PyYAML's rules.
    """
    if not text.isascii():
        raise Unsupported("non-ASCII text")
    lines: list[tuple[int, str, int]] = []  # (indent, content, line number)
    started = False  # a `---` opened the (only) document
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if "\t" in line or any(ord(c) < 0x20 or ord(c) == 0x7F for c in line):
            raise Unsupported("tab or control character")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(("---", "...")):
            # only a bare `---` at column 0 before any content: one explicit document start
            if line.rstrip(" ") == "---" and not lines and not started:
                started = True
                continue
            raise Unsupported("document markers")
        if line.startswith("%"):
            raise Unsupported("directive")
        lines.append((len(line) - len(line.lstrip(" ")), line.rstrip(" "), number))
    if not lines:
        return None
    parser = _Parser(lines, plain)
    try:
        value = parser.node(lines[0][0])
    except RecursionError:
        raise Unsupported("nesting too deep for the fast reader") from None
    if parser.pos != len(lines):
        raise Unsupported("trailing content")
    return value


class _Parser:
    def __init__(self, lines: list[tuple[int, str, int]], plain: Callable[[str], Any] | None) -> None:
        self.lines = lines
        self.pos = 0
        self.resolve = plain

    def scalar(self, text: str) -> Any:
        return scalar(text, self.resolve)

    def key(self, body: str) -> tuple[Any, str] | None:
        split = _split_key(body)
        if split is None:
            return None
        key, rest = split
        if self.resolve is None:
            return plain(key), rest
        _check_plain(key)
        value = self.resolve(key)
        if not isinstance(value, str) or key == "<<":
            raise Unsupported("a key that is not a string, or a merge key")
        return value, rest

    def node(self, indent: int) -> Any:
        """The block node whose lines start at `indent` (a mapping or a sequence)."""
        ind, content, _ = self.lines[self.pos]
        if ind != indent:
            raise Unsupported("indentation")
        body = content[ind:]
        if body == "-" or body.startswith("- "):
            return self.sequence(indent)
        if _split_key(body) is not None:
            return self.mapping(indent)
        # a lone scalar document
        self.pos += 1
        return self.scalar(body)

    def mapping(self, indent: int, first: str | None = None) -> dict:
        out: dict = {}
        while self.pos < len(self.lines) or first is not None:
            if first is not None:  # the entry that shared its line with the sequence dash (already consumed)
                body, first = first, None
            else:
                ind, content, _ = self.lines[self.pos]
                if ind < indent:
                    break
                if ind > indent:
                    raise Unsupported("indentation")
                body = content[ind:]
                if body == "-" or body.startswith("- "):
                    break
                self.pos += 1
            split = self.key(body)
            if split is None:
                raise Unsupported("not a key")
            key, rest = split
            if rest:
                out[key] = self.scalar(rest)
                if self.pos < len(self.lines) and self.lines[self.pos][0] > indent:
                    raise Unsupported("multi-line scalar")
                continue
            # the value is on the following lines: a deeper block, or a sequence at the same indent
            if self.pos >= len(self.lines):
                out[key] = None
                continue
            ind, content, _ = self.lines[self.pos]
            body_next = content[ind:]
            if ind > indent:
                out[key] = self.node(ind)
            elif ind == indent and (body_next == "-" or body_next.startswith("- ")):
                out[key] = self.sequence(indent)
            else:
                out[key] = None
        return out

    def sequence(self, indent: int) -> list:
        out: list = []
        while self.pos < len(self.lines):
            ind, content, _ = self.lines[self.pos]
            body = content[ind:]
            if ind != indent or not (body == "-" or body.startswith("- ")):
                if ind > indent:
                    raise Unsupported("indentation")
                break
            self.pos += 1
            item = body[1:].lstrip(" ")
            if not item:
                if self.pos < len(self.lines) and self.lines[self.pos][0] > indent:
                    out.append(self.node(self.lines[self.pos][0]))
                else:
                    out.append(None)
                continue
            column = ind + (len(body) - len(item))
            if item == "-" or item.startswith("- "):
                raise Unsupported("nested inline sequence")
            if _split_key(item) is not None:
                out.append(self.mapping(column, first=item))
                continue
            out.append(self.scalar(item))
            if self.pos < len(self.lines) and self.lines[self.pos][0] > indent:
                raise Unsupported("multi-line scalar")
        return out


def _split_key(body: str) -> tuple[str, str] | None:
    """`key: value` / `key:` with a plain key; None when the line is no mapping entry."""
    if body[:1] in ("'", '"', "?", "[", "{"):
        if body[:1] in ("'", '"') and (": " in body or body.endswith(":")):
            raise Unsupported("quoted key")
        return None
    at = body.find(": ")
    if at == -1:
        if body.endswith(":"):
            at = len(body) - 1
        else:
            return None
    key = body[:at]
    if not key or key != key.strip() or " #" in key or len(key) > _MAX_KEY:
        raise Unsupported("unusual key")
    return key, body[at + 1 :].strip(" ")


def scalar(text: str, resolve: Callable[[str], Any] | None = None) -> Any:
    """One value on one line: a quoted string, `{}`, `[]`, or a plain scalar (typed by `resolve`)."""
    if text in ("{}", "[]"):
        return {} if text == "{}" else []
    first = text[0]
    if first == "'":
        if len(text) < 2 or not text.endswith("'"):
            raise Unsupported("single-quoted scalar")
        inner = text[1:-1]
        if "'" in inner.replace("''", ""):
            raise Unsupported("single-quoted scalar")
        return inner.replace("''", "'")
    if first == '"':
        return _double_quoted(text)
    if resolve is None:
        return plain(text)
    _check_plain(text)
    return resolve(text)


def _double_quoted(text: str) -> str:
    if len(text) < 2 or not text.endswith('"'):
        raise Unsupported("double-quoted scalar")
    inner = text[1:-1]
    out = []
    i = 0
    while i < len(inner):
        c = inner[i]
        if c == '"':
            raise Unsupported("double-quoted scalar")
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(inner):
            raise Unsupported("double-quoted escape")
        e = inner[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = inner[i + 2 : i + 2 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise Unsupported("double-quoted escape")
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise Unsupported("escape outside Unicode")  # libyaml and go-yaml: an error
            out.append(chr(code))
            i += 2 + width
        else:
            raise Unsupported("double-quoted escape")
    return "".join(out)


def _check_plain(text: str) -> None:
    """Unsupported unless `text` is one plain scalar in block context."""
    if text[0] in _PLAIN_FIRST_FORBIDDEN and not (text[0] in "-?:" and len(text) > 1 and text[1] != " "):
        raise Unsupported("indicator at the start of a plain scalar")
    if ": " in text or " #" in text or text.endswith(":"):
        raise Unsupported("plain scalar with an indicator")


def plain(text: str) -> Any:
    """A plain scalar, typed the way PyYAML's SafeLoader types it (or Unsupported)."""
    _check_plain(text)
    if text[0] not in _RESOLVER_FIRST:
        return text
    if _BOOL.match(text):
        return text.lower() in ("yes", "true", "on")
    if _NULL.match(text):
        return None
    if _INT.match(text):
        if _SIMPLE_INT.match(text):
            return int(text)
        raise Unsupported("non-decimal int")
    if _FLOAT.match(text) or _TIMESTAMP.match(text) or text in ("<<", "="):
        raise Unsupported("float, timestamp, merge or value scalar")
    return text
