"""guestosinfo / userlist / fslist: guest agent data of a VMI (virtctl.md §2.10).

By default (and whenever stdout is not a terminal) the answer is printed the way virtctl prints it:
decoded into KubeVirt's Go structs and re-encoded with json.MarshalIndent(v, "", "  ") - struct
field order, unknown fields dropped, `omitempty` honoured, empty structs kept. `-o table` (the
default on a terminal) shows the same data as tables; `-o yaml` is also accepted.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl import log
from pyvirtctl.errors import CLIError, prefixed
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kubevirt.requests import fslist_request, guestosinfo_request, userlist_request
from pyvirtctl.output import console, go_json, go_yaml, human_bytes, table_format, use_colour, use_percent
from pyvirtctl.runtime import session

OUTPUT_HELP = (
    "Output format: json (what virtctl prints), yaml, or table. "
    "Defaults to table on a terminal and json otherwise."
)

# --------------------------------------------------------------------------- Go struct re-encoding
# Each field: (json name, kind, omitempty). Kinds: str, int, float, bool, or a nested schema /
# ("list", schema) / ("strlist",). Fields not in the schema are dropped like Go's decoder drops them.

_STR, _INT, _FLOAT, _BOOL = "str", "int", "float", "bool"

_EMPTY = {_STR: "", _INT: 0, _FLOAT: 0.0, _BOOL: False}

TYPE_META = [("kind", _STR, True), ("apiVersion", _STR, True)]
LIST_META = [
    ("selfLink", _STR, True),
    ("resourceVersion", _STR, True),
    ("continue", _STR, True),
    ("remainingItemCount", "intptr", True),
]
COMMAND_INFO = [("name", _STR, False), ("enabled", _BOOL, True)]
GUEST_OS = [
    ("name", _STR, True),
    ("kernelRelease", _STR, True),
    ("version", _STR, True),
    ("prettyName", _STR, True),
    ("versionId", _STR, True),
    ("kernelVersion", _STR, True),
    ("machine", _STR, True),
    ("id", _STR, True),
]
USER = [("userName", _STR, False), ("domain", _STR, True), ("loginTime", _FLOAT, True)]
FS_DISK = [("serial", _STR, True), ("busType", _STR, False)]
FILESYSTEM = [
    ("diskName", _STR, False),
    ("mountPoint", _STR, False),
    ("fileSystemType", _STR, False),
    ("usedBytes", _INT, False),
    ("totalBytes", _INT, False),
    ("disk", ("list", FS_DISK), True),
]
FS_INFO = [("disks", ("list", FILESYSTEM), False)]
GUEST_AGENT_INFO = [
    *TYPE_META,
    ("guestAgentVersion", _STR, True),
    ("supportedCommands", ("list", COMMAND_INFO), True),
    ("hostname", _STR, True),
    ("os", GUEST_OS, False),  # a struct: never omitted
    ("timezone", _STR, True),
    ("userList", ("list", USER), True),
    ("fsInfo", FS_INFO, False),
    ("fsFreezeStatus", _STR, True),
]
USER_LIST = [*TYPE_META, ("metadata", LIST_META, False), ("items", ("list", USER), False)]
FS_LIST = [*TYPE_META, ("metadata", LIST_META, False), ("items", ("list", FILESYSTEM), False)]


def _scalar(kind: str, value: Any) -> Any:
    if kind == _STR:
        return value if isinstance(value, str) else ""
    if kind == _BOOL:
        return value is True
    if kind == _INT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0
        return int(value)
    if kind == _FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0.0
        return float(value)
    raise ValueError(kind)


def go_struct(schema: list, data: Any) -> dict:
    """`data` as Go would re-encode it after decoding into the struct described by `schema`."""
    src = data if isinstance(data, dict) else {}
    out: dict[str, Any] = {}
    for name, kind, omitempty in schema:
        value = src.get(name)
        if isinstance(kind, list):  # nested struct: always present
            out[name] = go_struct(kind, value)
        elif isinstance(kind, tuple):  # slice of structs: nil -> null, empty -> []
            if isinstance(value, list):
                items = [go_struct(kind[1], v) for v in value]
                if items or not omitempty:
                    out[name] = items
            elif not omitempty:
                out[name] = None
        elif kind == "intptr":
            if isinstance(value, int) and not isinstance(value, bool):
                out[name] = value
        else:
            v = _scalar(kind, value)
            if not (omitempty and v == _EMPTY[kind]):
                out[name] = v
    return out


def guestosinfo_struct(data: Any) -> dict:
    return go_struct(GUEST_AGENT_INFO, data)


def userlist_struct(data: Any) -> dict:
    return go_struct(USER_LIST, data)


def fslist_struct(data: Any) -> dict:
    return go_struct(FS_LIST, data)


def virtctl_json(struct: dict) -> str:
    """What virtctl prints: json.MarshalIndent(v, "", "  ") and a newline."""
    return go_json(struct, "  ") + "\n"


# --------------------------------------------------------------------------- tables


def _login(ts: float, now: float) -> str:
    if not ts:
        return "-"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    return f"{stamp} ({_ago(now - ts)})"


def _ago(seconds: float) -> str:
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}m ago"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m ago"
    return f"{s // 86400}d{(s % 86400) // 3600}h ago"


def user_rows(items: list[dict], now: float | None = None) -> list[tuple[str, str, str]]:
    now = time.time() if now is None else now
    return [(u["userName"], u.get("domain", "") or "-", _login(u.get("loginTime", 0.0), now)) for u in items]


def fs_rows(items: list[dict]) -> list[tuple[str, str, str, str, str, str]]:
    rows = []
    for f in items:
        pct = use_percent(f["usedBytes"], f["totalBytes"])
        rows.append(
            (
                f["diskName"] or "-",
                f["mountPoint"] or "-",
                f["fileSystemType"] or "-",
                human_bytes(f["usedBytes"]),
                human_bytes(f["totalBytes"]),
                "-" if pct is None else f"{pct}%",
            )
        )
    return rows


def os_rows(info: dict) -> list[tuple[str, str]]:
    """Key/value lines of the guest OS summary (empty values left out)."""
    osinfo = info["os"]
    name = osinfo.get("prettyName") or " ".join(x for x in (osinfo.get("name"), osinfo.get("version")) if x)
    kernel = " ".join(x for x in (osinfo.get("kernelRelease"), osinfo.get("kernelVersion")) if x)
    cmds = info.get("supportedCommands", [])
    enabled = sum(1 for c in cmds if c.get("enabled"))
    rows = [
        ("Hostname", info.get("hostname", "")),
        ("OS", name),
        ("OS id", " ".join(x for x in (osinfo.get("id"), osinfo.get("versionId")) if x)),
        ("Kernel", kernel),
        ("Machine", osinfo.get("machine", "")),
        ("Timezone", info.get("timezone", "")),
        ("Guest agent", info.get("guestAgentVersion", "")),
        ("Commands", f"{enabled} of {len(cmds)} enabled" if cmds else ""),
        ("FS freeze", info.get("fsFreezeStatus", "")),
    ]
    return [(k, v) for k, v in rows if v]


def _table(title: str | None, headers: list[str], rows: list[tuple], colour: bool, right: tuple = ()) -> Any:
    from rich import box
    from rich.table import Table

    t = Table(
        title=title,
        title_justify="left",
        title_style="bold" if colour else None,
        box=box.SIMPLE_HEAD,
        header_style="bold cyan" if colour else None,
        pad_edge=False,
        show_edge=False,
        expand=False,
    )
    for i, h in enumerate(headers):
        t.add_column(h, justify="right" if i in right else "left", overflow="fold")
    for r in rows:
        t.add_row(*r)
    return t


def _pct_style(text: str) -> str | None:
    if not text.endswith("%"):
        return None
    pct = int(text[:-1])
    return "red" if pct >= 90 else "yellow" if pct >= 75 else None


class _Printer:
    """Prints rich renderables to `stream` without the right-hand padding rich adds to each line."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.console = console(stream)

    def print(self, *renderables: Any) -> None:
        with self.console.capture() as cap:
            self.console.print(*renderables)
        text = "\n".join(line.rstrip() for line in cap.get().split("\n"))
        self.stream.write(text)


def print_users(items: list[dict], stream: Any, title: str | None = None) -> None:
    c = _Printer(stream)
    if not items:
        c.print("No users are logged in.")
        return
    c.print(_table(title, ["USER", "DOMAIN", "LOGIN TIME"], user_rows(items), use_colour(stream)))


def print_filesystems(items: list[dict], stream: Any, title: str | None = None) -> None:
    from rich.text import Text

    c = _Printer(stream)
    if not items:
        c.print("No filesystems reported.")
        return
    colour = use_colour(stream)
    rows = []
    for r in fs_rows(items):
        style = _pct_style(r[5]) if colour else None
        rows.append((*r[:5], Text(r[5], style=style or "")))
    headers = ["DISK", "MOUNTED ON", "TYPE", "USED", "SIZE", "USE%"]
    c.print(_table(title, headers, rows, colour, right=(3, 4, 5)))


def print_guestosinfo(info: dict, stream: Any) -> None:
    from rich.table import Table

    c = _Printer(stream)
    colour = use_colour(stream)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold" if colour else None, no_wrap=True)
    grid.add_column(overflow="fold")
    for k, v in os_rows(info):
        grid.add_row(k, v)
    c.print(grid)
    users = info.get("userList", [])
    disks = info["fsInfo"]["disks"] or []
    if users:
        c.print()
        print_users(users, stream, title="Logged-in users")
    if disks:
        c.print()
        print_filesystems(disks, stream, title="Filesystems")


# --------------------------------------------------------------------------- output


def emit(struct: dict, fmt: str, table_printer: Any, stream: Any) -> None:
    if fmt == "json":
        stream.write(virtctl_json(struct))
    elif fmt == "yaml":
        stream.write(go_yaml(struct))
    else:
        table_printer(struct, stream)
    stream.flush()


def _decode(resp: Any, prefix: str = "") -> Any:
    """The answer's JSON; a body that is not JSON is an error like Go's decoder reports one."""
    try:
        return resp.json()
    except ValueError as e:
        raise CLIError(f"{prefix}cannot decode the server's answer as JSON: {e}") from None


def _run(ctx: typer.Context, kind: str, name: str, output: str | None) -> None:
    fmt = table_format(output, sys.stdout)
    s = session(ctx)
    ns = s.namespace
    if kind == "guestosinfo":
        try:
            data = _decode(s.send(guestosinfo_request(ns, name)))
        except CLIError as e:  # virtctl logs the client's error, then prints it with its prefix
            log.error(f"cannot retrieve GuestOSInfo: {e.message}", "virtualmachineinstance_expansion.go:280")
            raise e.wrap(f"Error getting guestosinfo of VirtualMachineInstance {name}, ") from None
        emit(guestosinfo_struct(data), fmt, print_guestosinfo, sys.stdout)
    elif kind == "userlist":
        prefix = f"Error listing users of VirtualMachineInstance {name}, "
        with prefixed(prefix):
            request = userlist_request(ns, name)
        data = _decode(s.send(request, error_prefix=prefix), prefix)
        emit(userlist_struct(data), fmt, lambda st, out: print_users(st["items"] or [], out), sys.stdout)
    else:
        prefix = f"Error listing filesystems of VirtualMachineInstance {name}, "
        with prefixed(prefix):
            request = fslist_request(ns, name)
        data = _decode(s.send(request, error_prefix=prefix), prefix)
        emit(fslist_struct(data), fmt, lambda st, out: print_filesystems(st["items"] or [], out), sys.stdout)


def _example(cmd: str) -> str:
    return f"  # {cmd[0].upper() + cmd[1:]} a virtual machine instance called 'myvm':\n  {{{{ProgramName}}}} {cmd} myvm"


OutputOpt = Annotated[str, typer.Option("--output", "-o", autocompletion=comp.complete_guest_outputs, help=OUTPUT_HELP)]


@go_command(
    "guestosinfo",
    use="guestosinfo (VMI)",
    short="Return guest agent info about operating system.",
    example=_example("guestosinfo"),
    args=exact_args(1),
)
def guestosinfo_cmd(ctx: typer.Context, names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vmi_names)], output: OutputOpt = "") -> None:
    _run(ctx, "guestosinfo", names[0], output or None)


@go_command(
    "userlist",
    use="userlist (VMI)",
    short="Return full list of logged in users on the guest machine.",
    example=_example("userlist"),
    args=exact_args(1),
)
def userlist_cmd(ctx: typer.Context, names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vmi_names)], output: OutputOpt = "") -> None:
    _run(ctx, "userlist", names[0], output or None)


@go_command(
    "fslist",
    use="fslist (VMI)",
    short="Return full list of filesystems available on the guest machine.",
    example=_example("fslist"),
    args=exact_args(1),
)
def fslist_cmd(ctx: typer.Context, names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vmi_names)], output: OutputOpt = "") -> None:
    _run(ctx, "fslist", names[0], output or None)
