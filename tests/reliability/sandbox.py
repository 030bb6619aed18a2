"""Run `pyvirtctl.cli.main` in-process, sealed off from the network and from child processes.

The fuzz tests feed thousands of argv lists to the real parser and commands. To keep that fast and
harmless:

* HOME and KUBECONFIG point at a kubeconfig whose server is a closed loopback port, so every request
  ends at once with "connection refused";
* sockets may only connect to loopback (random `--server` values must never reach the network) and
  host names other than `localhost` do not resolve (no DNS traffic);
* starting a process (viewer, ssh, credential plugin) fails the test;
* stdin is an empty non-TTY stream; stdout/stderr are byte buffers with the encodings a real
  UTF-8 terminal has (so printing undecodable argv bytes fails as it would for a user);
* a watchdog alarm turns a hang into a test failure.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def closed_port() -> int:
    """A loopback TCP port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CA: list[str] = []


def _ca_data() -> str:
    """A throwaway CA (so TLS setup does not load the system's trust store on every run)."""
    if not _CA:
        import base64

        from pyvirtctl.sim.certs import make_certs

        _CA.append(base64.b64encode(make_certs(["127.0.0.1"]).ca_pem).decode())
    return _CA[0]


def write_kubeconfig(path: Path, server: str, token: str = "fuzz-token", extra_user: str = "") -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: fuzz\n"
        f"clusters:\n- name: fuzz\n  cluster:\n    server: {server}\n"
        f"    certificate-authority-data: {_ca_data()}\n"
        "contexts:\n- name: fuzz\n  context:\n    cluster: fuzz\n    user: fuzz\n    namespace: default\n"
        f"users:\n- name: fuzz\n  user:\n    token: {token}\n{extra_user}",
        encoding="utf-8",
    )
    return path


class Hang(BaseException):
    """Raised by the watchdog: main() did not return in time."""


class ForbiddenAction(BaseException):
    """The CLI tried something the sandbox forbids (network, child process)."""


@dataclass
class Outcome:
    code: object
    out: str
    err: str


@dataclass
class Stats:
    runs: int = 0
    exit0: int = 0
    exit1: int = 0
    loopback_connects: int = 0
    refused_lookups: int = 0
    blocked: list[str] = field(default_factory=list)


_LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _is_ip(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        ipaddress.ip_address(str(host).split("%", 1)[0])
        return True
    except ValueError:
        return False


@contextlib.contextmanager
def sandbox(home: Path, kubeconfig: Path, stats: Stats) -> Iterator[None]:
    """Environment, network and process guards for a block of in-process CLI runs."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    real_popen_init = subprocess.Popen.__init__

    def guarded_connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(host):
            stats.blocked.append(f"connect {address!r}")
            raise ConnectionRefusedError(111, "Connection refused (sandbox: loopback only)")
        stats.loopback_connects += 1
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        try:
            guarded_connect(self, address)
        except OSError as e:
            return e.errno or 111
        return 0

    def guarded_getaddrinfo(host: object, *args: object, **kw: object) -> list:
        if host is None or _is_loopback(host) or _is_ip(host):  # IP literals need no DNS
            return real_getaddrinfo(host, *args, **kw)  # type: ignore[arg-type]
        stats.refused_lookups += 1
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (sandbox)")

    def no_processes(self: object, *args: object, **kw: object) -> None:
        raise ForbiddenAction(f"the CLI tried to start a process: {args[:1]!r}")

    saved_env = {k: os.environ.get(k) for k in ("HOME", "KUBECONFIG", "HTTPS_PROXY", "HTTP_PROXY",
                                                 "https_proxy", "http_proxy", "NO_PROXY", "no_proxy",
                                                 "ALL_PROXY", "all_proxy", "PYVIRTCTL_TRACEBACK")}
    for k in saved_env:
        os.environ.pop(k, None)
    os.environ["HOME"] = str(home)
    os.environ["KUBECONFIG"] = str(kubeconfig)
    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo  # type: ignore[assignment]
    subprocess.Popen.__init__ = no_processes  # type: ignore[method-assign]
    cwd = os.getcwd()
    os.chdir(home)
    try:
        yield
    finally:
        os.chdir(cwd)
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo  # type: ignore[assignment]
        subprocess.Popen.__init__ = real_popen_init  # type: ignore[method-assign]
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _on_alarm(signum: int, frame: object) -> None:
    raise Hang("main() did not return within the watchdog time")


def run_main(argv: list[str], stats: Stats, watchdog: int = 20) -> Outcome:
    """One in-process run with real-terminal-like streams; exceptions escaping main() propagate."""
    from pyvirtctl.cli import main

    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    # what Python gives a process under LANG=C.UTF-8: strict stdout, backslashreplace stderr
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
    inp = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    saved = sys.stdin, sys.stdout, sys.stderr
    old_handler = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(watchdog)
    sys.stdin, sys.stdout, sys.stderr = inp, out, err
    try:
        code = main(list(argv), argv0="pyvirtctl")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        sys.stdin, sys.stdout, sys.stderr = saved
        out.flush()
        err.flush()
    stats.runs += 1
    if code == 0:
        stats.exit0 += 1
    elif code == 1:
        stats.exit1 += 1
    return Outcome(code, out_bytes.getvalue().decode("utf-8", "surrogateescape"),
                   err_bytes.getvalue().decode("utf-8", "surrogateescape"))


_BULK_SUMMARY = re.compile(r"^\d+ of \d+ \S+ failed to \S.*$")


# Error texts that are several lines by design (virtctl prints them the same way)
def _is_log_line(line: str) -> bool:
    import json

    try:
        entry = json.loads(line)
    except ValueError:
        return False
    return isinstance(entry, dict) and entry.get("component") == "portforward" and "level" in entry


def error_lines_ok(err: str) -> bool:
    """stderr of a failed run: exactly one non-empty line, or one of virtctl's multi-line forms."""
    if not err.endswith("\n"):
        return False
    text = err[:-1]
    lines = text.split("\n")
    # virtctl's JSON log lines (reset/soft-reboot info, the guestosinfo error log) precede the error line
    while len(lines) > 1 and _is_log_line(lines[0]):
        lines = lines[1:]
    if len(lines) == 1:
        return bool(lines[0].strip())
    # cobra's suggestions: `unknown command "x" for "p"` + blank + `Did you mean this?` + tab lines + blank
    if lines[0].startswith("unknown command ") and len(lines) >= 4 and lines[1] == "" \
            and lines[2] == "Did you mean this?":
        rest = lines[3:]
        return rest[-1] == "" and all(s.startswith("\t") and s.strip() for s in rest[:-1])
    # several targets (a pyvirtctl extension): one line per failed target, then the summary line
    if _BULK_SUMMARY.match(lines[-1]) and all(s.strip() for s in lines):
        return True
    # the version-skew hint: 3 lines + blank, then the error line
    if lines[0].startswith("You are using a client virtctl version that is different") and len(lines) == 5:
        return lines[1].startswith("Client Version: ") and lines[2].startswith("Server Version: ") \
            and lines[3] == "" and bool(lines[4].strip())
    return False
