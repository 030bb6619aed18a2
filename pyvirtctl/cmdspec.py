"""What a command declares and which flags it has: data shared by the parser and the help texts.

`CommandSpec` is cobra's metadata of one command (use line, texts, argument check, flag groups);
`FlagDef` one flag as pflag sees it; `flag_table` maps every spelling of a command's options to its
FlagDef. goflags.py parses with them and helptext.py renders them; neither imports the other's
internals through here.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyvirtctl.clickcompat import Command

ArgsCheck = Callable[[str, list[str]], None]


def arbitrary_args(path: str, args: list[str]) -> None:
    return None


@dataclass
class CommandSpec:
    """cobra metadata of one command: what `--help` shows and how its arguments are checked."""

    name: str
    use: str
    short: str
    long: str = ""
    example: str = ""
    args: ArgsCheck = arbitrary_args
    exclusive: list[list[str]] = field(default_factory=list)  # flag names (without --)
    go_types: dict[str, str] = field(default_factory=dict)  # param name -> pflag type name
    sort_flags: bool = True
    hidden: bool = False
    subcommands: list[tuple[str, str]] = field(default_factory=list)  # (name, short) for help listing
    # param name -> pflag's NoOptDefVal: the value a flag takes when typed without `=value`
    no_opt_defaults: dict[str, str] = field(default_factory=dict)



@dataclass
class FlagDef:
    param: Any  # the click Option
    name: str  # long name without --
    short: str  # shorthand letter or ""
    go_type: str  # bool, string, int, int32, stringArray, stringToString, ...
    owner: str  # "root" or "cmd"
    no_opt_default: str = ""  # pflag's NoOptDefVal of a non-bool flag (`--virt-api` alone means 10)

    @property
    def is_bool(self) -> bool:
        return self.go_type == "bool"

    @property
    def no_opt_value(self) -> str:
        """The value the flag takes when typed without `=value` ("" when it then reads the next word).

        pflag's NoOptDefVal: "true" for every bool flag, a declared text for optional-value flags
        (`adm log-verbosity --virt-handler` means `--virt-handler=10`). Such a flag never takes the
        next word as its value: `--virt-handler 7` leaves `7` as a positional argument."""
        if self.no_opt_default:
            return self.no_opt_default
        return "true" if self.is_bool else ""

    def label(self) -> str:
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"



def _python_type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _python_type_name(typing.get_args(hint)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _python_type_name(inner[0]) if inner else "string"
    if origin in (list, tuple):
        return "stringArray"
    if origin is dict or hint is dict:
        return "stringToString"
    if hint is bool:
        return "bool"
    if hint is int:
        return "int"
    if hint is float:
        return "float64"
    return "string"


def flag_table(command: Command, owner: str) -> dict[str, FlagDef]:
    """Map `--long` and `-s` spellings to FlagDefs for one command's options (cached on the command,
    per owner: the owner decides whether a flag counts as the command's own, e.g. for required flags)."""
    tables: dict[str, dict[str, FlagDef]] = command.__dict__.setdefault("_pyvirtctl_tables", {})
    cached = tables.get(owner)
    if cached is not None:
        return cached
    spec: CommandSpec | None = getattr(command, "go_spec", None)
    overrides = spec.go_types if spec else {}
    callback = getattr(command, "_pyvirtctl_func", None)
    hints: dict[str, Any] = {}
    if callback is not None:
        try:
            hints = typing.get_type_hints(callback, include_extras=True)
        except Exception:  # pragma: no cover - annotations that cannot be resolved
            hints = {}
    table: dict[str, FlagDef] = {}
    for p in command.params:
        if not getattr(p, "param_type_name", "") == "option":
            continue
        name = p.name or ""
        is_flag = bool(getattr(p, "is_flag", False))
        go_type = overrides.get(name) or ("bool" if is_flag else _python_type_name(hints.get(name, str)))
        long = next((o[2:] for o in p.opts if o.startswith("--")), "")
        short = next((o[1:] for o in p.opts if len(o) == 2 and o[0] == "-" and o[1] != "-"), "")
        no_opt = spec.no_opt_defaults.get(name, "") if spec else ""
        fd = FlagDef(param=p, name=long, short=short, go_type=go_type, owner=owner, no_opt_default=no_opt)
        if long:
            table["--" + long] = fd
        if short:
            table["-" + short] = fd
    tables[owner] = table
    return table
