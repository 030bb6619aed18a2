"""The engine behind TAB: which completer answers the word under the cursor, the shells' output
formats, and the entry points (`_<PROG>_COMPLETE`, cobra's `__complete`, `kubectl_complete-virt`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from pyvirtctl.clickcompat import command_word, custom_completer
from pyvirtctl.completion.completers import (
    GLOBAL_FLAG_COMPLETERS,
    SHELLS,
    _Request,
    complete_bool,
    completed_args,
    want_files,
)
from pyvirtctl.completion.scripts import script


def split_line(line: str) -> tuple[list[str], bool]:
    """Shell-like split that tolerates an unfinished quote; also says if the line ends in a new word."""
    import shlex

    lex = shlex.shlex(line, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[str] = []
    try:
        for tok in lex:
            out.append(tok)
    except ValueError:  # unterminated quote / escape: keep the partial token
        out.append(lex.token)
    ends_blank = (not line) or (line[-1] in " \t\n" and not (out and lex.token))
    return out, ends_blank


def parse_command_line(line: str, point: int | None = None) -> tuple[list[str], str, list[str]]:
    """(words before the cursor without the program, the partial word, complete words after it)."""
    point = len(line) if point is None else max(0, min(point, len(line)))
    head, tail = line[:point], line[point:]
    before, new_word = split_line(head)
    before = before[1:]  # the program name
    if new_word:
        incomplete = ""
    else:
        incomplete = before.pop() if before else ""
    after, _ = split_line(tail) if tail.strip() else ([], True)
    if after and tail and tail[0] not in " \t\n":
        after = after[1:]  # the rest of the word under the cursor
    return before, incomplete, after


def _flag_help(param: Any) -> str:
    text = (getattr(param, "help", "") or "").strip()
    if text.startswith("--") and ": " in text.split(" ", 1)[0] + " ":
        text = text.split(": ", 1)[1]
    return text.split("\n", 1)[0]


def _build_context(root: Any, prog: str, before: list[str]) -> Any:
    from pyvirtctl.clickcompat import resolve_context

    return resolve_context(root, prog, list(before))


def _apply_after(ctx: Any, after: list[str], table: dict[str, Any]) -> None:
    """Flags typed after the cursor also select the cluster and namespace."""
    from pyvirtctl.goflags import apply_value, scan

    if not after:
        return
    res = scan(list(after), table, lenient=True)
    root = ctx.find_root()
    for fd, value in res.seen:
        apply_value(root if fd.owner == "root" else ctx, fd, value)


def _pending_flag(words: list[str], table: dict[str, Any]) -> Any:
    """The flag whose value is the next word (the last word is a value-taking flag), else None."""
    pending = None
    for w in words:
        if pending is not None:
            pending = None
            continue
        if w == "--":
            return None
        if w.startswith("--") and len(w) > 2:
            fd = table.get(w)
            if fd is not None and "=" not in w and not fd.no_opt_value:
                pending = fd
        elif w.startswith("-") and len(w) > 1:
            # shorthand cluster: pflag gives the value to the first non-bool letter
            letters = w[1:]
            for i, c in enumerate(letters):
                fd = table.get("-" + c)
                if fd is None:
                    break
                if not fd.no_opt_value:
                    if i == len(letters) - 1:
                        pending = fd
                    break
    return pending


def _value_items(ctx: Any, fd: Any, incomplete: str) -> list[tuple[str, str]]:
    param = fd.param
    custom = custom_completer(param)
    if custom is not None:
        raw = custom(ctx, param, incomplete)
    elif fd.owner == "root" and param.name in GLOBAL_FLAG_COMPLETERS:
        raw = GLOBAL_FLAG_COMPLETERS[param.name](ctx, [], incomplete)
    elif fd.is_bool:
        raw = complete_bool(ctx, [], incomplete)
    else:
        raw = []
    return _items(raw)


def _items(raw: Iterable[Any]) -> list[tuple[str, str]]:
    out = []
    for c in raw:
        if isinstance(c, tuple):
            out.append((str(c[0]), str(c[1] or "") if len(c) > 1 else ""))
        elif hasattr(c, "value"):
            out.append((str(c.value), str(getattr(c, "help", "") or "")))
        else:
            out.append((str(c), ""))
    return out


def _flag_names(ctx: Any, table: dict[str, Any], incomplete: str) -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for spelling, fd in table.items():
        if getattr(fd.param, "hidden", False):
            continue
        if spelling.startswith("--") or incomplete in ("-", spelling):
            if spelling.startswith(incomplete):
                out[spelling] = _flag_help(fd.param)
    if "--help".startswith(incomplete) and "--help" not in table:
        out["--help"] = "help for " + (ctx.info_name or "this command")
    if incomplete in ("-", "-h") and "-h" not in table:
        out["-h"] = "help for " + (ctx.info_name or "this command")
    return sorted(out.items())


def candidates(root: Any, prog: str, before: list[str], incomplete: str,
               after: Sequence[str] = ()) -> list[tuple[str, str]]:
    """The (value, description) candidates for `incomplete`, given the words around it."""
    from pyvirtctl.cmdspec import flag_table
    from pyvirtctl.goflags import GoCommand

    ctx = _build_context(root, prog, before)
    cmd = ctx.command
    table = dict(flag_table(root, "root"))
    if isinstance(cmd, GoCommand):
        table.update(flag_table(cmd, "cmd"))
    _apply_after(ctx, list(after), table)

    dashdash = "--" in before
    if not dashdash:
        fd = _pending_flag(before, table)
        if fd is not None:
            return _value_items(ctx, fd, incomplete)
        if incomplete.startswith("--") and "=" in incomplete:
            name, _, value = incomplete.partition("=")
            fd = table.get(name)
            if fd is None:
                return []
            return [(f"{name}={v}", h) for v, h in _value_items(ctx, fd, value)]
        if incomplete.startswith("-"):
            return _flag_names(ctx, table, incomplete)
    if not isinstance(cmd, GoCommand):
        if ctx.command is root and not command_word(ctx):  # no (unknown) command word yet
            return [(n, root.registry[n][1] or "") for n in root.visible_names() if n.startswith(incomplete)]
        return []
    items: list[tuple[str, str]] = []
    # `vnc <TAB>`: cobra subcommands of a runnable command come first
    if not completed_args(ctx):
        prefix = (cmd.name or "") + " "
        items.extend(
            (n[len(prefix) :], s or "")
            for n, (_, s) in root.registry.items()
            if n.startswith(prefix) and s is not None and n[len(prefix) :].startswith(incomplete)
        )
    for p in cmd.params:
        complete = custom_completer(p) if getattr(p, "param_type_name", "") == "argument" else None
        if complete is not None:
            items.extend(_items(complete(ctx, p, incomplete)))
            break
    else:
        if not items:
            want_files()
    return items





def _format(shell: str, items: list[tuple[str, str]], incomplete: str, directive: int) -> str:
    lines: list[str] = []
    if shell == "bash":
        # bash replaces only the text after the last COMP_WORDBREAKS character of the word
        breaks = os.environ.get("COMP_WORDBREAKS", "\"'><=;|&(:")
        cut = max((incomplete.rfind(c) for c in set(breaks) if c.strip()), default=-1) + 1
        lines = [v[cut:] if v.startswith(incomplete[:cut]) else v for v, _ in items]
    elif shell == "zsh":
        for v, h in items:
            v = v.replace("\\", "\\\\").replace(":", "\\:")
            lines.append(f"{v}:{_one_line(h)}" if h else v)
    else:  # fish, powershell, cobra
        lines = [f"{v}\t{_one_line(h)}" if h else v for v, h in items]
    lines.append(f":{directive}")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())





def _complete_words(
    before: list[str], incomplete: str, after: list[str], prog: str, registry: dict | None
) -> tuple[list[tuple[str, str]], int]:
    from pyvirtctl import runtime
    from pyvirtctl.app import build_root

    _Request.reset()
    runtime.reset()
    try:
        root = build_root(prog, registry)
        items = candidates(root, prog, before, incomplete, after)
    except BaseException:  # noqa: BLE001 - a TAB must never print a traceback
        items = []
    return items, _Request.directive


def respond(instruction: str, argv0: str, prog: str, registry: dict | None = None) -> int:
    """Answer the `_<PROG>_COMPLETE` environment protocol (`source_<shell>` / `complete_<shell>`)."""
    from pyvirtctl.progname import complete_var, executable_name

    action, _, shell = instruction.partition("_")
    shell = "powershell" if shell == "pwsh" else shell
    if shell not in SHELLS or action not in ("source", "complete"):
        print(f"unsupported completion instruction: {instruction}", file=sys.stderr)
        return 1
    if action == "source":
        sys.stdout.write(script(shell, executable_name(argv0), complete_var(argv0)))
        return 0
    line = os.environ.get("COMP_LINE")
    if line is None:  # Typer's variable, for scripts generated by older versions
        line = os.environ.get("_TYPER_COMPLETE_ARGS", "")
    point_text = os.environ.get("COMP_POINT", "")
    point = int(point_text) if point_text.isdigit() else None
    if shell == "bash" and point is not None and not line.isascii():
        point = len(line.encode()[:point].decode(errors="ignore"))  # bash counts bytes
    before, incomplete, after = parse_command_line(line, point)
    items, directive = _complete_words(before, incomplete, after, prog, registry)
    sys.stdout.write(_format(shell, items, incomplete, directive))
    sys.stdout.flush()
    return 0


def cobra_complete(words: list[str], prog: str, registry: dict | None = None, descriptions: bool = True) -> int:
    """cobra's `__complete` protocol: WORDS... PARTIAL -> candidates, then `:<directive>`."""
    before, incomplete = (list(words[:-1]), words[-1]) if words else ([], "")
    items, directive = _complete_words(before, incomplete, [], prog, registry)
    if not descriptions:
        items = [(v, "") for v, _ in items]
    sys.stdout.write(_format("cobra", items, incomplete, directive))
    sys.stdout.flush()
    return 0


def kubectl_complete(argv: list[str] | None = None) -> int:
    """`kubectl_complete-virt`: kubectl (>= 1.26) runs it with the words after `kubectl virt`."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] in (["__complete"], ["__completeNoDesc"]):
        desc = args[0] == "__complete"
        args = args[1:]
    else:
        desc = True
    return cobra_complete(args, "kubectl virt", descriptions=desc)


def main() -> None:  # console script entry point
    from pyvirtctl import collector

    collector.pause()  # a short-lived process: see pyvirtctl/collector.py
    sys.exit(kubectl_complete())
