"""cobra/pflag command-line semantics on top of Typer.

It makes a Typer app parse argv the way virtctl (cobra 1.9 + pflag 1.0) does (click's private parts
it needs are reached through :mod:`pyvirtctl.clickcompat`):

* global (root) flags are accepted before or after the subcommand, the later value wins;
* bool flags take a value only as ``--flag=value`` (Go ``strconv.ParseBool`` spellings);
* ``-abc`` shorthand clusters, ``-nvalue``, ``-n=value``, ``--`` ends flag parsing;
* errors use cobra's and pflag's exact words (``unknown flag: --foo``, ``accepts 1 arg(s), received 0``,
  ``required flag(s) "name" not set`` ...), in cobra's order: flags, help, positional args, required
  flags, flag groups;
* ``-h/--help`` prints cobra-style help (see :mod:`pyvirtctl.helptext`) and exits 0.

Command modules declare commands with :func:`go_command`; :class:`GoGroup` loads them lazily from
the registry in :mod:`pyvirtctl.app`, so a run imports only the module of the command it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import Exit as typer_Exit

from pyvirtctl import clickcompat as cc
from pyvirtctl import gostrconv
from pyvirtctl.clickcompat import Command, Context
from pyvirtctl.cmdspec import ArgsCheck, CommandSpec, FlagDef, arbitrary_args, flag_table
from pyvirtctl.errors import UsageError
from pyvirtctl.gotext import go_quote

# ---------------------------------------------------------------------------------------------
# Go value parsing (strconv); quoting (%q) is pyvirtctl.gotext.go_quote


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(s: str) -> bool:
    """Go ``strconv.ParseBool``."""
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"strconv.ParseBool: parsing {go_quote(s)}: invalid syntax")


def parse_int(s: str, bits: int = 64) -> int:
    """pflag's int flags: Go ``strconv.ParseInt(s, 0, bits)`` (0x/0o/0b/0 prefixes, ``1_000``)."""
    return gostrconv.parse_int(s, 0, bits)


def read_as_csv(s: str) -> list[str]:
    """pflag's stringSlice value: the first record of Go's encoding/csv reader ("" is no values)."""
    if s == "":
        return []
    data = s.encode("utf-8", "surrogateescape")
    fields: list[str] = []
    i, n = 0, len(data)

    def fail(pos: int, what: str) -> ValueError:
        line = data.count(b"\n", 0, pos) + 1
        column = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        return ValueError(f"parse error on line {line}, column {column}: {what}")

    while True:
        if i < n and data[i : i + 1] == b'"':
            i += 1
            out = bytearray()
            while True:
                j = data.find(b'"', i)
                if j < 0:
                    raise fail(n, 'extraneous or missing " in quoted-field')
                out += data[i:j]
                if data[j + 1 : j + 2] == b'"':
                    out += b'"'
                    i = j + 2
                    continue
                i = j + 1
                break
            fields.append(out.replace(b"\r\n", b"\n").decode("utf-8", "surrogateescape"))
            if i >= n or data[i : i + 1] in (b"\n", b"\r"):
                return fields
            if data[i : i + 1] != b",":
                raise fail(i - 1, 'extraneous or missing " in quoted-field')
            i += 1
            continue
        end = n
        for stop in (b",", b"\n"):
            k = data.find(stop, i)
            if 0 <= k < end:
                end = k
        field_bytes = data[i:end]
        q = field_bytes.find(b'"')
        if q >= 0:
            raise fail(i + q, 'bare " in non-quoted-field')
        fields.append(field_bytes.rstrip(b"\r").decode("utf-8", "surrogateescape"))
        if end >= n or data[end : end + 1] == b"\n":
            return fields
        i = end + 1


def parse_string_to_string(s: str) -> dict[str, str]:
    """pflag's stringToString value syntax (one occurrence)."""
    import csv

    if s.count("=") == 1:
        k, v = s.split("=", 1)
        return {k.strip('"'): v.strip('"')} if s.startswith('"') else {k: v}
    if "=" not in s:
        raise ValueError(f"{s} must be formatted as key=value")
    try:
        fields = next(csv.reader([s]))
    except (csv.Error, StopIteration):
        raise ValueError(f"{s} must be formatted as key=value") from None
    out: dict[str, str] = {}
    for f in fields:
        if "=" not in f:
            raise ValueError(f"{f} must be formatted as key=value")
        k, v = f.split("=", 1)
        out[k] = v
    return out


# ---------------------------------------------------------------------------------------------
# Command declarations


def exact_args(n: int) -> ArgsCheck:
    def check(path: str, args: list[str]) -> None:
        if len(args) != n:
            raise UsageError(f"accepts {n} arg(s), received {len(args)}")

    return check


def minimum_args(n: int) -> ArgsCheck:
    def check(path: str, args: list[str]) -> None:
        if len(args) < n:
            raise UsageError(f"requires at least {n} arg(s), only received {len(args)}")

    return check


def maximum_args(n: int) -> ArgsCheck:
    def check(path: str, args: list[str]) -> None:
        if len(args) > n:
            raise UsageError(f"accepts at most {n} arg(s), received {len(args)}")

    return check


def range_args(lo: int, hi: int) -> ArgsCheck:
    def check(path: str, args: list[str]) -> None:
        if not lo <= len(args) <= hi:
            raise UsageError(f"accepts between {lo} and {hi} arg(s), received {len(args)}")

    return check


def no_args(path: str, args: list[str]) -> None:
    if args:
        raise UsageError(f"unknown command {go_quote(args[0])} for {go_quote(path)}")


def go_command(
    name: str,
    *,
    use: str,
    short: str,
    long: str = "",
    example: str = "",
    args: ArgsCheck = arbitrary_args,
    exclusive: Iterable[Iterable[str]] = (),
    go_types: dict[str, str] | None = None,
    sort_flags: bool = True,
    hidden: bool = False,
    subcommands: Iterable[tuple[str, str]] = (),
    deprecated: dict[str, str] | None = None,
    no_opt_defaults: dict[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a Typer command function with its cobra metadata (registered in :mod:`pyvirtctl.app`).

    `no_opt_defaults` maps a parameter name to pflag's NoOptDefVal: the text the flag takes when it
    is typed without `=value` (shown as `[=TEXT]` in the help); the flag then never reads the next
    word as its value.
    """
    spec = CommandSpec(
        name=name,
        use=use,
        short=short,
        long=long,
        example=example,
        args=args,
        exclusive=[list(g) for g in exclusive],
        go_types=dict(go_types or {}),
        sort_flags=sort_flags,
        hidden=hidden,
        subcommands=list(subcommands),
        deprecated=dict(deprecated or {}),
        no_opt_defaults=dict(no_opt_defaults or {}),
    )

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__pyvirtctl_spec__ = spec  # type: ignore[attr-defined]
        return func

    return deco


def given(ctx: typer.Context, param_name: str) -> bool:
    """True when the flag was typed on the command line (cobra's ``Flags().Changed``)."""
    return param_name in ctx.meta.get("pyvirtctl.changed", set())


def after_bare_bool(ctx: typer.Context) -> list[tuple[int, str]]:
    """(positional index, flag as typed) for each positional that came right after a bool flag given
    without `=value` (`start vm1 --paused false`: pflag reads `false` as one more argument)."""
    return list(ctx.meta.get("pyvirtctl.after_bare_bool", []))


# ---------------------------------------------------------------------------------------------
# The pflag scanner


def convert(fd: FlagDef, raw: str) -> Any:
    """The flag value from its text, as pflag converts it (Go strconv rules); cobra's error text."""
    try:
        if fd.go_type == "bool":
            return parse_bool(raw)
        if fd.go_type in ("int", "int64"):
            return parse_int(raw, 64)
        if fd.go_type == "int32":
            return parse_int(raw, 32)
        if fd.go_type == "uint":
            return gostrconv.parse_uint(raw, 0, 64)
        if fd.go_type == "uint32":
            return gostrconv.parse_uint(raw, 0, 32)
        if fd.go_type == "stringToString":
            return parse_string_to_string(raw)
        if fd.go_type == "strings":
            return read_as_csv(raw)
        return raw
    except ValueError as e:
        raise UsageError(f"invalid argument {go_quote(raw)} for {go_quote(fd.label())} flag: {e}") from None


_HELP = FlagDef(param=None, name="help", short="h", go_type="bool", owner="help")



@dataclass
class Scan:
    seen: list[tuple[FlagDef, Any]] = field(default_factory=list)
    positionals: list[str] = field(default_factory=list)
    help: bool = False
    # (index into positionals, flag as typed) for a positional right after a bool flag given without a value
    after_bare_bool: list[tuple[int, str]] = field(default_factory=list)


def scan(args: list[str], table: dict[str, FlagDef], lenient: bool = False) -> Scan:
    """Tokenise argv exactly like pflag's FlagSet.Parse with interspersed arguments."""
    result = Scan()
    i = 0
    bare_bool = ""  # the previous token was a bool flag without `=value` (pflag does not read a value)

    def add(fd: FlagDef, raw: str) -> None:
        try:
            value = convert(fd, raw)
        except UsageError:
            if lenient:
                return
            raise
        if fd is _HELP:
            result.help = bool(value)
        else:
            result.seen.append((fd, value))

    while i < len(args):
        a = args[i]
        i += 1
        previous, bare_bool = bare_bool, ""
        if a == "--":
            result.positionals.extend(args[i:])
            break
        if len(a) < 2 or a[0] != "-":
            if previous:
                result.after_bare_bool.append((len(result.positionals), previous))
            result.positionals.append(a)
            continue
        if a.startswith("--"):
            body = a[2:]
            if not body or body[0] in "-=":
                if lenient:
                    continue
                raise UsageError(f"bad flag syntax: {a}")
            name, eq, value = body.partition("=")
            fd = _HELP if name == "help" and "--help" not in table else table.get("--" + name)
            if fd is None:
                if lenient:
                    continue
                raise UsageError(f"unknown flag: --{name}")
            if eq:
                add(fd, value)
            elif fd.no_opt_value:
                add(fd, fd.no_opt_value)
                bare_bool = a if fd.is_bool else ""
            elif i < len(args):
                add(fd, args[i])
                i += 1
            else:
                if lenient:
                    continue
                raise UsageError(f"flag needs an argument: {a}")
            continue
        shorthands = a[1:]
        while shorthands:
            c = shorthands[0]
            fd = _HELP if c == "h" and "-h" not in table else table.get("-" + c)
            if fd is None:
                if lenient:
                    shorthands = shorthands[1:]
                    continue
                raise UsageError(f"unknown shorthand flag: {_shorthand_byte(c)} in -{shorthands}")
            if len(shorthands) > 2 and shorthands[1] == "=":
                add(fd, shorthands[2:])
                shorthands = ""
            elif fd.no_opt_value:
                add(fd, fd.no_opt_value)
                shorthands = shorthands[1:]
                bare_bool = "-" + c if fd.is_bool and not shorthands else ""
            elif len(shorthands) > 1:
                add(fd, shorthands[1:])
                shorthands = ""
            elif i < len(args):
                add(fd, args[i])
                i += 1
                shorthands = ""
            else:
                if lenient:
                    break
                raise UsageError(f"flag needs an argument: '{c}' in -{shorthands}")
    return result


def find_subcommand(args: list[str], table: dict[str, FlagDef]) -> int | None:
    """Index of the subcommand name in argv (cobra's stripFlags: skip flags and their values)."""
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            return None
        if not a.startswith("-") or a == "-":
            return i if a else None
        if a.startswith("--"):
            fd = table.get("--" + a[2:])
            if "=" not in a and fd is not None and not fd.no_opt_value:
                i += 1
        elif len(a) == 2:
            fd = table.get(a)
            if fd is not None and not fd.no_opt_value:
                i += 1
        i += 1
    return None


def strip_flags_index(args: list[str], table: dict[str, FlagDef]) -> int | None:
    """Index of the first command word as cobra's stripFlags finds it below a command (`vnc`, `create`).

    Unlike `find_subcommand`, a flag cobra does not know as a bool is taken to have a separate value
    (`create --name x vm` finds `vm`), and a flag followed by only one more word ends the search.
    """
    i = 0
    while i < len(args):
        a = args[i]
        rest = len(args) - i - 1
        if a == "--":
            return None
        takes_value = False
        if a.startswith("--") and "=" not in a:
            fd = table.get(a)
            takes_value = fd is None or not fd.no_opt_value
        elif a.startswith("-") and "=" not in a and len(a) == 2:
            fd = table.get(a)
            takes_value = fd is None or not fd.no_opt_value
        if takes_value:
            if rest <= 1:
                return None
            i += 2
            continue
        if a and not a.startswith("-"):
            return i
        i += 1
    return None


def apply_value(ctx: Context, fd: FlagDef, value: Any) -> None:
    """Store a parsed flag value in the context (lists append, maps merge) and mark it as typed."""
    name = fd.param.name
    changed: set[str] = ctx.meta.setdefault("pyvirtctl.changed", set())
    if fd.go_type in ("stringArray", "strings"):
        current = ctx.params.get(name) if name in changed else None
        items = value if isinstance(value, list) else [value]
        ctx.params[name] = list(current or []) + items
    elif fd.go_type == "stringToString":
        current = ctx.params.get(name) if name in changed else None
        merged = dict(current or {})
        merged.update(value)
        ctx.params[name] = merged
    else:
        ctx.params[name] = value
    changed.add(name)


# ---------------------------------------------------------------------------------------------
# click classes


class GoCommand(TyperCommand):
    """A leaf command: pflag parsing, cobra checks and cobra help."""

    go_spec: CommandSpec

    def invoke(self, ctx: Context) -> Any:
        from pyvirtctl import collector

        collector.resume()  # the command starts: what start-up imported is frozen, the rest collected
        return super().invoke(ctx)

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        root = ctx.find_root()
        table = dict(flag_table(root.command, "root"))
        table.update(flag_table(self, "cmd"))
        lenient = ctx.resilient_parsing
        result = scan(list(args), table, lenient=lenient)
        ctx.meta["pyvirtctl.positionals"] = list(result.positionals)
        ctx.meta["pyvirtctl.after_bare_bool"] = list(result.after_bare_bool)
        spec = self.go_spec
        if spec.deprecated and not lenient:
            for fd, _ in result.seen:  # pflag announces each use of a deprecated flag while parsing
                if fd.owner == "cmd" and fd.name in spec.deprecated:
                    print(f"Flag --{fd.name} has been deprecated, {spec.deprecated[fd.name]}", flush=True)
        if result.help and not lenient:
            from pyvirtctl import helptext

            print(helptext.command_help(self, ctx), end="")
            raise typer_Exit(0)
        if not lenient:
            spec.args(ctx.command_path, result.positionals)
            seen_names = {fd.param.name for fd, _ in result.seen if fd.owner == "cmd"}
            missing = [
                fd.name
                for fd in sorted(
                    {id(f): f for f in flag_table(self, "cmd").values()}.values(), key=lambda f: f.name
                )
                if getattr(fd.param, "_go_required", False) and fd.param.name not in seen_names
            ]
            if missing:
                raise UsageError("required flag(s) " + ", ".join(go_quote(m) for m in missing) + " not set")
            typed = {fd.name for fd, _ in result.seen}
            # cobra names a group as it was declared and checks the groups in sorted order of that name
            for names in sorted(" ".join(group) for group in spec.exclusive):
                hit = [g for g in names.split(" ") if g in typed]
                if len(hit) > 1:
                    raise UsageError(
                        f"if any flags in the group [{names}] are set none of the others can be; "
                        f"[{' '.join(sorted(hit))}] were all set"
                    )
        # Let click bind positionals and defaults, then put our parsed flag values in.
        arguments = [p for p in self.params if getattr(p, "param_type_name", "") == "argument"]
        click_args = ["--", *result.positionals] if arguments else []
        rest = super().parse_args(ctx, click_args) if arguments else cc.base_parse_args(self, ctx, [])
        for fd, value in result.seen:
            if fd.owner == "root":
                apply_value(root, fd, value)
            else:
                apply_value(ctx, fd, value)
        return rest


class GoGroup(TyperGroup):
    """The root command: finds the subcommand like cobra, loads it lazily, prints virtctl's listing."""

    registry: dict[str, tuple[str, str | None]] = {}
    program_name: str = "virtctl"
    # the root context's parameter dict of the run (the same object: flags typed after the
    # subcommand land in it too), for cli.main's error path; None until parsing starts
    run_params: dict[str, Any] | None = None

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        table = flag_table(self, "root")
        cc.base_parse_args(self, ctx, [])  # defaults for every global flag
        self.run_params = ctx.params
        idx = find_subcommand(list(args), table)
        if idx is None:
            result = scan(list(args), table, lenient=ctx.resilient_parsing)
            for fd, value in result.seen:
                apply_value(ctx, fd, value)
            if result.help and not ctx.resilient_parsing:
                from pyvirtctl import helptext

                print(helptext.root_help(self), end="")
                raise typer_Exit(0)
            if result.positionals and not ctx.resilient_parsing:
                raise UsageError(self._unknown(result.positionals[0]))
            cc.set_command_word(ctx, [], [])
            return []
        cc.set_command_word(ctx, [args[idx]], list(args[:idx]) + list(args[idx + 1 :]))
        return ctx.args

    def _unknown(self, word: str) -> str:
        msg = f"unknown command {go_quote(word)} for {go_quote(self.program_name)}"
        suggestions = suggest(word, [n for n in self.visible_names()])
        if suggestions:
            msg += "\n\nDid you mean this?\n" + "".join(f"\t{s}\n" for s in suggestions)
        return msg

    def visible_names(self) -> list[str]:
        return sorted(n for n, (_, short) in self.registry.items() if " " not in n and short is not None)

    def list_commands(self, ctx: Context) -> list[str]:
        return self.visible_names()

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        return load_command(self.registry, cmd_name)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        name = args[0]
        if name not in self.registry or name.startswith("__"):
            if ctx.resilient_parsing:
                return None, None, args[1:]
            raise UsageError(self._unknown(name))
        rest = list(args[1:])
        # cobra subcommands of a runnable command (`vnc screenshot`): the first positional picks them
        sub_idx = None
        if any(n.startswith(name + " ") for n in self.registry):
            table = dict(flag_table(self, "root"))
            parent = load_command(self.registry, name)
            if parent is not None:
                table.update(flag_table(parent, "cmd"))
            sub_idx = strip_flags_index(rest, table)
        if sub_idx is not None and f"{name} {rest[sub_idx]}" in self.registry:
            full = f"{name} {rest[sub_idx]}"
            return full, load_command(self.registry, full), rest[:sub_idx] + rest[sub_idx + 1 :]
        return name, load_command(self.registry, name), rest

    def shell_complete(self, ctx: Context, incomplete: str) -> list[Any]:
        items = [
            cc.completion_item(n, help=self.registry[n][1])
            for n in self.visible_names()
            if n.startswith(incomplete)
        ]
        items.extend(cc.base_shell_complete(self, ctx, incomplete))
        return items


def suggest(word: str, names: list[str]) -> list[str]:
    """cobra's suggestions: Levenshtein distance <= 2, or a prefix match (case-insensitive)."""
    out = []
    lw = word.lower()
    for n in names:
        if _levenshtein(lw, n.lower()) <= 2 or n.lower().startswith(lw):
            out.append(n)
    return out


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# ---------------------------------------------------------------------------------------------
# Lazy loading


_loaded: dict[str, Command] = {}


def build_command(func: Callable[..., Any], name: str | None = None) -> Command:
    """Turn a @go_command function into a GoCommand (click) with our parsing rules."""
    from typer.models import CommandInfo

    spec: CommandSpec = func.__pyvirtctl_spec__  # type: ignore[attr-defined]
    info = CommandInfo(
        name=name or spec.name,
        cls=GoCommand,
        callback=func,
        help=spec.long or spec.short,
        short_help=spec.short,
        add_help_option=False,
        hidden=spec.hidden,
    )
    cmd = typer.main.get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=None)
    for p in cmd.params:
        p._go_required = bool(getattr(p, "required", False)) and getattr(p, "param_type_name", "") == "option"  # type: ignore[attr-defined]
        if getattr(p, "param_type_name", "") == "option":
            p.required = False
    cmd.go_spec = spec  # type: ignore[attr-defined]
    cmd._pyvirtctl_func = func  # type: ignore[attr-defined]
    return cmd


def load_command(registry: dict[str, tuple[str, str | None]], name: str) -> Command | None:
    entry = registry.get(name)
    if entry is None:
        return None
    target = entry[0]
    key = f"{target}@{name}"
    if key in _loaded:
        return _loaded[key]
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    cmd = build_command(getattr(module, attr), name=name)
    _loaded[key] = cmd
    return cmd


def _shorthand_byte(c: str) -> str:
    """pflag reports the first byte of the cluster with `%q`: a non-ASCII letter shows as the rune of
    its first UTF-8 byte, a control character escaped."""
    from pyvirtctl.gotext import go_quote_rune  # noqa: PLC0415 - error path only

    if ord(c) >= 0x80 and not 0xDC80 <= ord(c) <= 0xDCFF:
        c = chr(c.encode("utf-8", "surrogatepass")[0])
    return go_quote_rune(c)
