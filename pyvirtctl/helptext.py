"""cobra-style help and usage texts, rendered byte for byte the way virtctl prints them.

`command_help` is cobra's help template (Long or Short, then the usage template with
virtctl's "Use ... options" trailer); `flag_usages` is pflag's FlagUsages.
"""

from __future__ import annotations

from typing import Any

from pyvirtctl.clickcompat import Command, Context
from pyvirtctl.cmdspec import CommandSpec, FlagDef, flag_table
from pyvirtctl.gotext import go_quote

OPTIONS_TRAILER = 'Use "{prog} options" for a list of global command-line options (applies to all commands).'

# pflag's type names as shown in usage lines (UnquoteUsage)
_TYPE_NAMES = {
    "bool": "",
    "string": "string",
    "int": "int",
    "int64": "int",
    "int32": "int32",
    "uint": "uint",
    "float64": "float",
    "stringArray": "stringArray",
    "strings": "strings",
    "stringToString": "stringToString",
    "duration": "duration",
}


def _go_default(fd: FlagDef) -> str | None:
    """The ` (default X)` suffix, or None when the default is the type's zero value."""
    p = fd.param
    default = getattr(p, "_go_default_text", None)
    if default is not None:
        return default
    value = p.default
    if callable(value):
        value = value()
    t = fd.go_type
    if t == "bool":
        return None if not value else " (default true)"
    if t in ("int", "int64", "int32", "uint", "uint32", "float64"):
        return None if not value else f" (default {value})"
    if t in ("stringArray", "strings"):
        return None if not value else " (default [" + ",".join(value) + "])"
    if t == "stringToString":
        if not value:
            return " (default [])"
        return " (default [" + ",".join(f"{k}={v}" for k, v in sorted(value.items())) + "])"
    if value in (None, ""):
        return None
    return f" (default {go_quote(str(value))})"


def flag_usages(flags: list[FlagDef], sort: bool = True) -> str:
    """pflag's FlagUsages: aligned lines, usage after three spaces (at least)."""
    if sort:
        flags = sorted(flags, key=lambda f: f.name)
    lines: list[str] = []
    maxlen = 0
    for fd in flags:
        line = f"  -{fd.short}, --{fd.name}" if fd.short else f"      --{fd.name}"
        usage = (fd.param.help or "") if fd.param is not None else ""
        varname = _TYPE_NAMES.get(fd.go_type, fd.go_type)
        start = usage.find("`")
        if start >= 0:
            end = usage.find("`", start + 1)
            if end > start:
                varname = usage[start + 1 : end]
                usage = usage[:start] + varname + usage[end + 1 :]
        if varname:
            line += " " + varname
        nooptdef = fd.no_opt_value
        if nooptdef and not (fd.is_bool and nooptdef == "true"):
            line += f"[={nooptdef}]"
        line += "\x00"
        maxlen = max(maxlen, len(line))
        if fd.param is not None:
            suffix = _go_default(fd)
            if suffix:
                usage += suffix
        lines.append(line + usage)
    out = []
    for line in lines:
        sidx = line.index("\x00")
        spacing = " " * (maxlen - sidx)
        usage = line[sidx + 1 :].replace("\n", "\n" + " " * (maxlen + 2))
        out.append(f"{line[:sidx]} {spacing} {usage}")
    return "\n".join(out) + ("\n" if out else "")


def _help_flag(name: str) -> FlagDef:
    class _P:
        help = f"help for {name}"
        default = False

    return FlagDef(param=_P(), name="help", short="h", go_type="bool", owner="help")


def command_help(cmd: Command, ctx: Context) -> str:
    spec: CommandSpec = cmd.go_spec  # type: ignore[attr-defined]
    root = ctx.find_root()
    prog = root.info_name or "virtctl"
    parent_path = " ".join(ctx.command_path.split(" ")[:-1]) if " " in ctx.command_path else prog
    head = (spec.long or spec.short).rstrip().replace("{{ProgramName}}", prog)
    use_line = f"{parent_path} {spec.use}"
    if "[flags]" not in use_line:
        use_line += " [flags]"
    out = [head, "\n\nUsage:\n  ", use_line]
    if spec.subcommands:
        out.append(f"\n  {ctx.command_path} [command]")
    if spec.example:
        out.append("\n\nExamples:\n" + spec.example.replace("{{ProgramName}}", prog))
    if spec.subcommands:
        pad = max(11, max(len(n) for n, _ in spec.subcommands))
        out.append("\n\nAvailable Commands:")
        for n, short in spec.subcommands:
            out.append(f"\n  {n.ljust(pad)} {short}")
    table = flag_table(cmd, "cmd")
    flags = list({id(f): f for f in table.values()}.values())
    flags.append(_help_flag(spec.name.split(" ")[-1]))
    usages = flag_usages(flags, sort=spec.sort_flags).rstrip()
    out.append("\n\nFlags:\n" + usages)
    out.append("\n\n" + OPTIONS_TRAILER.format(prog=prog) + "\n")
    return "".join(out)


def command_listing(names_and_shorts: list[tuple[str, str]], prog: str) -> str:
    pad = max(11, max(len(n) for n, _ in names_and_shorts))
    lines = ["Available Commands:"]
    for n, short in names_and_shorts:
        lines.append(f"  {n.ljust(pad)} {short}")
    lines.append("")
    lines.append(f'Use "{prog} <command> --help" for more information about a given command.')
    lines.append(OPTIONS_TRAILER.format(prog=prog))
    return "\n".join(lines) + "\n"


def root_short(prog: str) -> str:
    return f"{prog} controls virtual machine related operations on your kubernetes cluster."


def root_listing(group: Any) -> str:
    prog = group.program_name
    items = [(n, group.registry[n][1]) for n in group.visible_names()]
    return command_listing(items, prog)


def root_help(group: Any) -> str:
    return root_short(group.program_name) + "\n\n" + root_listing(group)


def options_text(group: Any) -> str:
    table = flag_table(group, "root")
    flags = list({id(f): f for f in table.values()}.values())
    return "The following options can be passed to any command:\n\n" + flag_usages(flags) + "\n"

