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


def go_json(obj: Any, indent: str | None = None, _level: int = 0) -> str:
    """json.Marshal (indent None) or json.MarshalIndent(obj, "", indent) of an ordered object."""
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


def go_yaml(obj: Any) -> str:
    """sigs.k8s.io/yaml.Marshal: keys sorted, block style, no wrapping, Go's string quoting."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> Any:
        if "\n" in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        # a string that would read back as a bool, number, null or timestamp is double-quoted by go-yaml
        resolved = dumper.resolve(yaml.ScalarNode, value, (True, False))
        style = '"' if resolved != "tag:yaml.org,2002:str" or value == "" else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(
        obj, Dumper=_Dumper, default_flow_style=False, sort_keys=True, allow_unicode=True, width=float("inf")
    )


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
