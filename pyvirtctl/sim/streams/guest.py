"""The simulated guest's shell: a small CentOS 7 userland over an in-memory filesystem.

What the shell reports agrees with what the rest of the simulator says about the guest: the
kernel and OS come from the guest-agent data (`virtctl guestosinfo`), the address from the
VMI's status (the pod IP with a bridge binding, 10.0.2.2 behind masquerade), the uptime from
when the VMI started running. `GuestFacts` carries those; the console endpoint refreshes them.

Commands: `ls [-a] [-l] [PATH...]`, `cat`, `cd`, `pwd`, `echo` (with `>`/`>>`), `touch`, `mkdir`,
`rm`, `hostname`, `whoami`, `id`, `uname [-asnrvmpio]`, `ip a|addr|route`, `uptime`, `date`,
`free [-m|-h]`, `df [-h]`, `sudo CMD`, `true`, `false`, `clear`; lines may chain commands with
`;`, `&&` and `||`, pipe into `head`, `tail`, `grep`, `wc`, `sort`, and `$?` is the last exit status. Anything else: `-bash: X: command not found`.
"""

from __future__ import annotations

import datetime as _dt
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class GuestFacts:
    """What the guest knows about itself (defaults: the guest agent's CentOS 7 data)."""

    kernel_release: str = "3.10.0-957.27.2.el7.x86_64"
    kernel_version: str = "#1 SMP Mon Jul 29 17:46:05 UTC 2019"
    machine: str = "x86_64"
    os_name: str = "CentOS Linux"
    os_version: str = "7 (Core)"
    os_id: str = "centos"
    os_version_id: str = "7"
    pretty_name: str = "CentOS Linux 7 (Core)"
    ip: str = "10.0.2.2"
    prefix: int = 24
    mac: str = "02:00:00:00:00:01"
    booted: float = field(default_factory=lambda: time.time() - 60)
    memory_kib: int = 500_000_000 // 1024
    disks: list[dict[str, Any]] = field(default_factory=list)


def facts_from(vmi: dict[str, Any] | None, guestosinfo: dict[str, Any] | None) -> GuestFacts:
    """Facts for a VMI (its status) and its guest agent's `guestosinfo`."""
    f = GuestFacts()
    os_info = (guestosinfo or {}).get("os") or {}
    for attr, key in (("kernel_release", "kernelRelease"), ("kernel_version", "kernelVersion"),
                      ("machine", "machine"), ("os_name", "name"), ("os_version", "version"), ("os_id", "id"),
                      ("os_version_id", "versionId"), ("pretty_name", "prettyName")):
        if os_info.get(key):
            setattr(f, attr, str(os_info[key]))
    f.disks = list(((guestosinfo or {}).get("fsInfo") or {}).get("disks") or [])
    if vmi:
        st = vmi.get("status") or {}
        ifaces = st.get("interfaces") or []
        spec_ifaces = (((vmi.get("spec") or {}).get("domain") or {}).get("devices") or {}).get("interfaces") or []
        masquerade = bool(spec_ifaces) and isinstance(spec_ifaces[0], dict) and "masquerade" in spec_ifaces[0]
        if ifaces and isinstance(ifaces[0], dict):
            if ifaces[0].get("ipAddress") and not masquerade:
                f.ip = str(ifaces[0]["ipAddress"])
            if ifaces[0].get("mac"):
                f.mac = str(ifaces[0]["mac"])
        for t in st.get("phaseTransitionTimestamps") or []:
            if isinstance(t, dict) and t.get("phase") == "Running":
                try:
                    ts = str(t.get("phaseTransitionTimestamp", "")).replace("Z", "+00:00")
                    f.booted = _dt.datetime.fromisoformat(ts).timestamp()
                except ValueError:
                    pass
        mem = ((((vmi.get("spec") or {}).get("domain") or {}).get("resources") or {}).get("requests") or {}).get(
            "memory")
        kib = _quantity_kib(mem)
        if kib:
            f.memory_kib = kib
    return f


def _quantity_kib(q: Any) -> int:
    if not isinstance(q, str) or not q:
        return 0
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "k": 1000, "M": 10**6, "G": 10**9, "T": 10**12}
    for suffix, mult in units.items():
        if q.endswith(suffix) and q[: -len(suffix)].replace(".", "", 1).isdigit():
            return int(float(q[: -len(suffix)]) * mult) // 1024
    return int(q) // 1024 if q.isdigit() else 0


ROOT_DIRS = ("bin", "boot", "dev", "etc", "home", "lib", "lib64", "media", "mnt", "opt", "proc", "root", "run",
             "sbin", "srv", "sys", "tmp", "usr", "var")
DOTFILES = {
    ".bash_logout": "# ~/.bash_logout\n",
    ".bash_profile": "# .bash_profile\n\n# Get the aliases and functions\nif [ -f ~/.bashrc ]; then\n"
                     "\t. ~/.bashrc\nfi\n\nPATH=$PATH:$HOME/.local/bin:$HOME/bin\n\nexport PATH\n",
    ".bashrc": "# .bashrc\n\n# Source global definitions\nif [ -f /etc/bashrc ]; then\n\t. /etc/bashrc\nfi\n",
}


class Shell:
    """One login session's shell state over the guest's filesystem (shared by sessions of the VMI)."""

    def __init__(self, hostname: str, facts: Callable[[], GuestFacts] | None = None,
                 fs: dict[str, str | None] | None = None) -> None:
        self.hostname = hostname
        if facts is None:
            fixed = GuestFacts()
            facts = lambda: fixed  # noqa: E731
        self._facts = facts
        self.fs = fs if fs is not None else self.new_fs()
        self.user = "root"
        self.cwd = "/root"
        self.status = 0
        self.piped = False

    # -- filesystem --------------------------------------------------------------------------------

    def facts(self) -> GuestFacts:
        return self._facts()

    def new_fs(self) -> dict[str, str | None]:
        fs: dict[str, str | None] = {"/": None}
        for d in ROOT_DIRS:
            fs["/" + d] = None
        for d in ("/usr/bin", "/usr/lib", "/var/log", "/var/tmp", "/etc/sysconfig", "/home"):
            fs[d] = None
        for path, text in self._etc().items():
            fs[path] = text
        return fs

    def _etc(self) -> dict[str, str]:
        f = self.facts()
        release = f"{f.os_name} release 7.6.1810 (Core)\n" if f.os_id == "centos" else f"{f.pretty_name}\n"
        return {
            "/etc/os-release": (f'NAME="{f.os_name}"\nVERSION="{f.os_version}"\nID="{f.os_id}"\n'
                                f'ID_LIKE="rhel fedora"\nVERSION_ID="{f.os_version_id}"\n'
                                f'PRETTY_NAME="{f.pretty_name}"\nANSI_COLOR="0;31"\n'
                                f'CPE_NAME="cpe:/o:{f.os_id}:{f.os_id}:{f.os_version_id}"\n'
                                'HOME_URL="https://www.centos.org/"\nBUG_REPORT_URL="https://bugs.centos.org/"\n'),
            "/etc/hostname": self.hostname + "\n",
            "/etc/redhat-release": release,
            "/etc/centos-release": release,
            "/etc/system-release": release,
            "/etc/hosts": "127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n"
                          "::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n",
            "/etc/resolv.conf": "search default.svc.cluster.local svc.cluster.local cluster.local\n"
                                "nameserver 10.96.0.10\noptions ndots:5\n",
            "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\n"
                           "centos:x:1000:1000:Cloud User:/home/centos:/bin/bash\n",
            "/etc/fstab": "UUID=8ac075e3-1124-4bb6-bef7-a6811bf8b870 /  xfs  defaults  0 0\n",
            "/proc/version": f"Linux version {f.kernel_release} (mockbuild@kbuilder.bsys.centos.org) (gcc version "
                             f"4.8.5 20150623 (Red Hat 4.8.5-36) (GCC) ) {f.kernel_version}\n",
        }

    def home(self, user: str | None = None) -> str:
        user = user or self.user
        return "/root" if user == "root" else "/home/" + user

    def login(self, user: str) -> None:
        self.user = user
        home = self.home()
        if home not in self.fs:
            self.fs[home] = None
            for name, text in DOTFILES.items():
                self.fs[f"{home}/{name}"] = text
        if home == "/root" and "/root/.bashrc" not in self.fs:
            for name, text in DOTFILES.items():
                self.fs[f"/root/{name}"] = text
        self.cwd = home
        self.status = 0

    def short_cwd(self) -> str:
        home = self.home()
        if self.cwd == home:
            return "~"
        return self.cwd.rsplit("/", 1)[-1] or "/"

    def _abs(self, path: str) -> str:
        if path == "~" or path.startswith("~/"):
            path = self.home() + path[1:]
        if not path.startswith("/"):
            path = self.cwd.rstrip("/") + "/" + path
        parts: list[str] = []
        for p in path.split("/"):
            if p in ("", "."):
                continue
            if p == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(p)
        return "/" + "/".join(parts)

    def _children(self, directory: str) -> list[str]:
        prefix = directory.rstrip("/") + "/"
        return sorted({p[len(prefix):].split("/", 1)[0] for p in self.fs if p.startswith(prefix) and p != prefix})

    # -- running lines -----------------------------------------------------------------------------

    def run_line(self, line: str) -> tuple[str, bool]:
        """(output, logged out) of a command line; `exit`/`logout` ends the session."""
        out = []
        for op, words in _split(line):
            if op == "&&" and self.status != 0 or op == "||" and self.status == 0:
                continue
            words = [w.replace("$?", str(self.status)) for w in words]
            if not words:
                continue
            if words[0] in ("exit", "logout"):
                return "".join(out), True
            stages = [[]]
            for w in words:
                if w == "|":
                    stages.append([])
                else:
                    stages[-1].append(w)
            self.piped = len(stages) > 1  # like on a pipe, ls then writes one name per line
            try:
                text, self.status = self.run(stages[0]) if stages[0] else ("", 0)
            finally:
                self.piped = False
            for stage in stages[1:]:
                if not stage:
                    text, self.status = "-bash: syntax error near unexpected token `|'\n", 2
                    break
                text, self.status = self.filter(stage, text)
            out.append(text)
        return "".join(out), False

    def filter(self, argv: list[str], text: str) -> tuple[str, int]:
        """The right-hand side of a pipe: head, tail, grep, wc, sort, cat read the left side's output."""
        cmd, args = argv[0], argv[1:]
        lines = text.splitlines(keepends=True)
        count = 10
        for i, a in enumerate(args):
            if a == "-n" and i + 1 < len(args) and args[i + 1].isdigit():
                count = int(args[i + 1])
            elif a.startswith("-") and a[1:].isdigit():
                count = int(a[1:])
        if cmd == "head":
            return "".join(lines[:count]), 0
        if cmd == "tail":
            return "".join(lines[-count:] if count else []), 0
        if cmd == "grep":
            flags = "".join(a[1:] for a in args if a.startswith("-"))
            patterns = [a for a in args if not a.startswith("-")]
            if not patterns:
                return "Usage: grep [OPTION]... PATTERN [FILE]...\n", 2
            pat = patterns[0].lower() if "i" in flags else patterns[0]
            hits = [ln for ln in lines if (pat in (ln.lower() if "i" in flags else ln)) != ("v" in flags)]
            return "".join(hits), 0 if hits else 1
        if cmd == "wc":
            if "-l" in args:
                return f"{len(lines)}\n", 0
            return f"{len(lines):>7} {len(text.split()):>7} {len(text.encode()):>7}\n", 0
        if cmd == "sort":
            return "".join(sorted(lines, reverse="-r" in args)), 0
        if cmd == "cat" and not args:
            return text, 0
        return self.run(argv)

    def run(self, argv: list[str]) -> tuple[str, int]:
        redirect = None
        for i, w in enumerate(argv):
            if w in (">", ">>") and i + 1 < len(argv):
                redirect = (w, argv[i + 1])
                argv = argv[:i] + argv[i + 2:]
                break
        cmd, args = argv[0], argv[1:]
        handler = getattr(self, "cmd_" + cmd.replace("-", "_"), None) if cmd.isidentifier() or cmd in (
            "true", "false") else None
        if cmd == ":":
            handler = self.cmd_true
        if handler is None:
            return f"-bash: {cmd}: command not found\n", 127
        text, status = handler(args)
        if redirect is not None:
            path = self._abs(redirect[1])
            if path in self.fs and self.fs[path] is None:
                return f"-bash: {redirect[1]}: Is a directory\n", 1
            if self._abs(path + "/..") not in self.fs:
                return f"-bash: {redirect[1]}: No such file or directory\n", 1
            old = self.fs.get(path) or ""
            self.fs[path] = (old if redirect[0] == ">>" else "") + text
            return "", status
        return text, status

    # -- commands ----------------------------------------------------------------------------------

    def cmd_true(self, args: list[str]) -> tuple[str, int]:
        return "", 0

    def cmd_false(self, args: list[str]) -> tuple[str, int]:
        return "", 1

    def cmd_clear(self, args: list[str]) -> tuple[str, int]:
        return "\x1b[H\x1b[2J", 0

    def cmd_echo(self, args: list[str]) -> tuple[str, int]:
        newline = True
        if args and args[0] == "-n":
            newline, args = False, args[1:]
        return " ".join(args) + ("\n" if newline else ""), 0

    def cmd_hostname(self, args: list[str]) -> tuple[str, int]:
        return self.hostname + "\n", 0

    def cmd_whoami(self, args: list[str]) -> tuple[str, int]:
        return self.user + "\n", 0

    def cmd_id(self, args: list[str]) -> tuple[str, int]:
        uid = 0 if self.user == "root" else 1000
        return f"uid={uid}({self.user}) gid={uid}({self.user}) groups={uid}({self.user})\n", 0

    def cmd_pwd(self, args: list[str]) -> tuple[str, int]:
        return self.cwd + "\n", 0

    def cmd_cd(self, args: list[str]) -> tuple[str, int]:
        target = args[0] if args else "~"
        path = self._abs(target)
        if path not in self.fs:
            return f"-bash: cd: {target}: No such file or directory\n", 1
        if self.fs[path] is not None:
            return f"-bash: cd: {target}: Not a directory\n", 1
        self.cwd = path
        return "", 0

    def cmd_ls(self, args: list[str]) -> tuple[str, int]:
        flags = "".join(a[1:] for a in args if a.startswith("-") and len(a) > 1)
        paths = [a for a in args if not a.startswith("-") or a == "-"] or ["."]
        out, status = [], 0
        for target in paths:
            path = self._abs(target)
            if path not in self.fs:
                out.append(f"ls: cannot access {target}: No such file or directory\n")
                status = 2
                continue
            if self.fs[path] is not None:
                out.append(self._ls_entries([(target, path)], "l" in flags))
                continue
            names = self._children(path)
            if "a" not in flags:
                names = [n for n in names if not n.startswith(".")]
            else:
                names = [".", "..", *names]
            entries = [(n, self._abs(path + "/" + n)) for n in names]
            if len(paths) > 1:
                out.append(f"{target}:\n")
            if "l" in flags:
                out.append(f"total {4 * len(entries)}\n")
            out.append(self._ls_entries(entries, "l" in flags))
        return "".join(out), status

    def _ls_entries(self, entries: list[tuple[str, str]], long: bool) -> str:
        if not entries:
            return ""
        if not long:
            return "".join(n + "\n" for n, _ in entries) if self.piped else "  ".join(n for n, _ in entries) + "\n"
        stamp = time.strftime("%b %e %H:%M", time.gmtime(self.facts().booted))
        lines = []
        for n, p in entries:
            content = self.fs.get(p)
            is_dir = content is None
            owner = self.user if p.startswith(self.home()) and self.user != "root" else "root"
            mode = "drwxr-xr-x" if is_dir else "-rw-r--r--"
            size = 4096 if is_dir else len((content or "").encode())
            lines.append(f"{mode} {2 if is_dir else 1} {owner} {owner} {size:>5} {stamp} {n}\n")
        return "".join(lines)

    def cmd_cat(self, args: list[str]) -> tuple[str, int]:
        out, status = [], 0
        for name in args:
            path = self._abs(name)
            if path not in self.fs:
                out.append(f"cat: {name}: No such file or directory\n")
                status = 1
            elif self.fs[path] is None:
                out.append(f"cat: {name}: Is a directory\n")
                status = 1
            else:
                out.append(self.fs[path] or "")
        return "".join(out), status

    def cmd_touch(self, args: list[str]) -> tuple[str, int]:
        for name in args:
            path = self._abs(name)
            if self._abs(path + "/..") not in self.fs:
                return f"touch: cannot touch '{name}': No such file or directory\n", 1
            self.fs.setdefault(path, "")
        return "", 0

    def cmd_mkdir(self, args: list[str]) -> tuple[str, int]:
        parents = "-p" in args
        for name in (a for a in args if not a.startswith("-")):
            path = self._abs(name)
            if path in self.fs:
                if parents:
                    continue
                return f"mkdir: cannot create directory '{name}': File exists\n", 1
            if self._abs(path + "/..") not in self.fs and not parents:
                return f"mkdir: cannot create directory '{name}': No such file or directory\n", 1
            parts = path.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                self.fs.setdefault("/" + "/".join(parts[:i]), None)
        return "", 0

    def cmd_rm(self, args: list[str]) -> tuple[str, int]:
        recursive = any(a.startswith("-") and ("r" in a or "R" in a) for a in args)
        for name in (a for a in args if not a.startswith("-")):
            path = self._abs(name)
            if path not in self.fs:
                return f"rm: cannot remove '{name}': No such file or directory\n", 1
            if self.fs[path] is None and not recursive:
                return f"rm: cannot remove '{name}': Is a directory\n", 1
            for p in [p for p in self.fs if p == path or p.startswith(path.rstrip("/") + "/")]:
                del self.fs[p]
        return "", 0

    def cmd_sudo(self, args: list[str]) -> tuple[str, int]:
        if not args:
            return "usage: sudo command\n", 1
        if args[0] in ("-i", "su", "-s"):
            self.user, self.cwd = "root", "/root"
            return "", 0
        user, self.user = self.user, "root"
        try:
            return self.run(args)
        finally:
            self.user = user

    def cmd_uname(self, args: list[str]) -> tuple[str, int]:
        f = self.facts()
        fields = {"s": "Linux", "n": self.hostname, "r": f.kernel_release, "v": f.kernel_version, "m": f.machine,
                  "p": f.machine, "i": f.machine, "o": "GNU/Linux"}
        flags = "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))
        if "--all" in args:
            flags += "a"
        if not flags:
            flags = "s"
        for ch in flags:
            if ch != "a" and ch not in fields:
                return f"uname: invalid option -- '{ch}'\nTry 'uname --help' for more information.\n", 1
        order = "snrvmpio" if "a" in flags else "".join(k for k in "snrvmpio" if k in flags)
        return " ".join(fields[k] for k in order) + "\n", 0

    def cmd_ip(self, args: list[str]) -> tuple[str, int]:
        f = self.facts()
        words = [a for a in args if not a.startswith("-")]
        obj = words[0] if words else ""
        if obj in ("a", "addr", "address"):
            parts = [int(x) for x in f.ip.split(".")] if f.ip.count(".") == 3 else [10, 0, 2, 2]
            bcast = ".".join(str(x) for x in parts[:3]) + ".255"
            return ("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n"
                    "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
                    "    inet 127.0.0.1/8 scope host lo\n"
                    "       valid_lft forever preferred_lft forever\n"
                    "    inet6 ::1/128 scope host \n"
                    "       valid_lft forever preferred_lft forever\n"
                    "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP group default "
                    "qlen 1000\n"
                    f"    link/ether {f.mac} brd ff:ff:ff:ff:ff:ff\n"
                    f"    inet {f.ip}/{f.prefix} brd {bcast} scope global dynamic eth0\n"
                    "       valid_lft 86313354sec preferred_lft 86313354sec\n"), 0
        if obj in ("r", "ro", "route"):
            gw = ".".join(f.ip.split(".")[:3]) + ".1"
            net = ".".join(f.ip.split(".")[:3]) + ".0"
            return (f"default via {gw} dev eth0 proto dhcp metric 100 \n"
                    f"{net}/{f.prefix} dev eth0 proto kernel scope link src {f.ip} metric 100 \n"), 0
        if obj in ("l", "link"):
            return ("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default "
                    "qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
                    "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP mode DEFAULT "
                    f"group default qlen 1000\n    link/ether {f.mac} brd ff:ff:ff:ff:ff:ff\n"), 0
        return ("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n"
                "where  OBJECT := { link | address | route | ... }\n"), 255

    def cmd_uptime(self, args: list[str]) -> tuple[str, int]:
        now = time.time()
        up = max(0, int(now - self.facts().booted))
        days, rest = divmod(up, 86400)
        hours, minutes = rest // 3600, rest % 3600 // 60
        text = (f"{days} day{'s' if days != 1 else ''}, " if days else "")
        text += f"{hours:2d}:{minutes:02d}" if hours else f"{minutes} min"
        clock = time.strftime("%H:%M:%S", time.gmtime(now))
        return f" {clock} up {text},  1 user,  load average: 0.00, 0.01, 0.05\n", 0

    def cmd_date(self, args: list[str]) -> tuple[str, int]:
        now = time.gmtime()
        if args and args[0].startswith("+"):
            return time.strftime(args[0][1:], now) + "\n", 0
        return time.strftime("%a %b ", now) + f"{now.tm_mday:2d}" + time.strftime(" %H:%M:%S UTC %Y", now) + "\n", 0

    def cmd_free(self, args: list[str]) -> tuple[str, int]:
        total = self.facts().memory_kib
        used, shared, cache = total * 22 // 100, 8_600, total * 31 // 100
        free = total - used - cache
        avail = free + cache * 9 // 10
        div = 1024 if "-m" in args or "-h" in args else 1
        unit = "M" if "-h" in args else ""

        def n(v: int) -> str:
            return f"{v // div}{unit}"

        return ("              total        used        free      shared  buff/cache   available\n"
                f"Mem:    {n(total):>11} {n(used):>11} {n(free):>11} {n(shared):>11} {n(cache):>11} {n(avail):>11}\n"
                f"Swap:   {'0' + unit:>11} {'0' + unit:>11} {'0' + unit:>11}\n"), 0

    def cmd_df(self, args: list[str]) -> tuple[str, int]:
        human = any(a.startswith("-") and "h" in a for a in args)
        rows = []
        for d in self.facts().disks or [{"diskName": "vda1", "mountPoint": "/", "usedBytes": 1465868288,
                                          "totalBytes": 10724814848}]:
            total, used = int(d.get("totalBytes") or 0), int(d.get("usedBytes") or 0)
            rows.append((f"/dev/{d.get('diskName', 'vda1')}", total, used, d.get("mountPoint", "/")))
        if human:
            def h(v: int) -> str:
                for unit, size in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
                    if v >= size:
                        return f"{v / size:.1f}{unit}".replace(".0", "")
                return str(v)
            lines = ["Filesystem      Size  Used Avail Use% Mounted on\n"]
            for dev, total, used, mnt in rows:
                pct = (used * 100 + total - 1) // total if total else 0
                lines.append(f"{dev:<15} {h(total):>4} {h(used):>5} {h(total - used):>5} {pct:>3}% {mnt}\n")
            return "".join(lines), 0
        lines = ["Filesystem     1K-blocks    Used Available Use% Mounted on\n"]
        for dev, total, used, mnt in rows:
            pct = (used * 100 + total - 1) // total if total else 0
            lines.append(f"{dev:<14} {total // 1024:>9} {used // 1024:>7} {(total - used) // 1024:>9} {pct:>3}% {mnt}\n")
        return "".join(lines), 0


def _split(line: str) -> list[tuple[str, list[str]]]:
    """`a; b && c || d` -> [(";", [a]), (";", [b]), ("&&", [c]), ("||", [d])] (operators outside quotes)."""
    out: list[tuple[str, list[str]]] = []
    try:
        lex = shlex.shlex(line, posix=True, punctuation_chars=";&|>")
        lex.whitespace_split = True
        lex.commenters = "#"
        tokens = list(lex)
    except ValueError:
        tokens = line.split()
    op, words = ";", []
    for tok in tokens:
        if tok in (";", "&&", "||"):
            out.append((op, words))
            op, words = tok, []
        else:
            words.append(tok)
    out.append((op, words))
    return out
