"""JSON text the way Go's encoding/json writes it.

Go escapes `<`, `>` and `&` as `\\u003c`, `\\u003e`, `\\u0026` (HTML safety), and also U+2028 and
U+2029, keeps every other non-ASCII character as UTF-8, writes compact separators, and with an
indent (json.MarshalIndent / json.Indent) puts `": "` after keys. Empty objects and arrays stay
`{}` and `[]` even when indented.
"""

from __future__ import annotations

import json
from typing import Any

_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _escape_html(text: str) -> str:
    if not any(ch in text for ch in _HTML_ESCAPES):
        return text
    return "".join(_HTML_ESCAPES.get(ch, ch) for ch in text)


def dumps(obj: Any, indent: str | None = None) -> str:
    """Serialise `obj` like Go's json.Marshal (indent None) or json.MarshalIndent(obj, "", indent).

    The escapes can be applied to the whole text: `<>&` and U+2028/9 may only appear inside
    strings in valid JSON, so no structural character is touched.
    """
    if indent is None:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=indent, separators=(",", ": "))
    return _escape_html(text)
