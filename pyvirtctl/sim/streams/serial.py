"""The guest side of a VMI's serial console: a getty login and a tiny shell, as a pure class.

``SerialLine.feed(bytes)`` returns what the guest writes back: a list whose items are
``bytes`` or, for bulk output, an iterator of ``bytes`` chunks (so the server can send a
large stream in big frames without building it in memory).

Behaviour, modelled on a CentOS 7 guest on ttyS0:

* Nothing is written when a client connects (a real serial line has no notion of a new
  client); pressing Enter shows ``<hostname> login: ``.
* Canonical-mode line discipline with echo: printable bytes are echoed, CR or LF ends a line
  (echoed as CR LF; a CR LF pair counts as one line end), Backspace/DEL erases (``\\b \\b``),
  Ctrl+U kills the line, Ctrl+C prints ``^C`` and abandons the line, Ctrl+D on an empty
  shell line logs out, escape sequences (arrow keys) are swallowed. The password is not echoed.
* Credentials come from the VMI's cloud-init ``chpasswd`` list when it has one (a wrong
  password prints ``Login incorrect``); without one any password is accepted.
* The shell is :class:`pyvirtctl.sim.streams.guest.Shell` (ls, cat, cd, echo, ip a, uptime, date,
  uname, ..., ``a; b``, ``&&``, ``||``), consistent with the guest-agent data and the VMI's
  address; ``exit``/``logout`` (or Ctrl+D) go back to the login prompt; ``stream N`` writes
  exactly N bytes of a fixed text pattern (see :func:`stream_bytes`), raw, for throughput tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pyvirtctl.sim.cloudinit import credentials_from_vmi

from .guest import GuestFacts, Shell

__all__ = ["SerialLine", "credentials_from_vmi", "stream_bytes"]

Output = bytes | Iterator[bytes]


_PATTERN_LINE = b"pyvirtctl serial stream 0123456789 abcdefghijklmnopqrstuvwxyz\n"  # 64 bytes
_BLOCK = _PATTERN_LINE * 4096  # 256 KiB
STREAM_CHUNK = len(_BLOCK)
MAX_STREAM = 1 << 34


def stream_bytes(n: int) -> bytes:
    """The exact bytes ``stream n`` writes (for tests; the server sends them in chunks)."""
    return (_BLOCK * (n // len(_BLOCK) + 1))[:n]


def _stream(n: int) -> Iterator[bytes]:
    while n > 0:
        chunk = _BLOCK if n >= len(_BLOCK) else _BLOCK[:n]
        n -= len(chunk)
        yield chunk


class SerialLine:
    """A guest's ttyS0: login prompt, password prompt, shell."""

    def __init__(self, hostname: str, credentials: dict[str, str] | None = None,
                 facts: Callable[[], GuestFacts] | None = None) -> None:
        self.hostname = hostname
        self.credentials = credentials
        self.shell = Shell(hostname, facts)
        self.state = "login"  # login | password | shell
        self.user = ""
        self._line = bytearray()
        self._last_cr = False
        self._escape = 0  # 0: none, 1: after ESC, 2: inside CSI

    # -- prompts ---------------------------------------------------------------------------------

    def login_prompt(self) -> bytes:
        return (f"{self.hostname} login: ").encode()

    def shell_prompt(self) -> bytes:
        sign = "#" if self.shell.user == "root" else "$"
        return (f"[{self.shell.user}@{self.hostname} {self.shell.short_cwd()}]{sign} ").encode()

    def banner(self) -> bytes:
        f = self.shell.facts()
        return (f"\r\n{f.pretty_name}\r\nKernel {f.kernel_release} on an {f.machine}\r\n\r\n").encode()

    # -- line discipline -------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Output]:
        out: list[Output] = []
        echo = bytearray()

        def flush_echo() -> None:
            if echo:
                out.append(bytes(echo))
                echo.clear()

        for byte in data:
            last_cr, self._last_cr = self._last_cr, False
            if self._escape:
                if self._escape == 1:
                    self._escape = 2 if byte in (0x5B, 0x4F) else 0  # '[' or 'O'
                elif 0x40 <= byte <= 0x7E:
                    self._escape = 0
                continue
            if byte == 0x1B:
                self._escape = 1
                continue
            if byte in (0x0D, 0x0A):
                if byte == 0x0A and last_cr:
                    continue
                self._last_cr = byte == 0x0D
                echo += b"\r\n"
                flush_echo()
                line = self._line.decode("utf-8", "replace")
                self._line.clear()
                out.extend(self._line_done(line))
            elif byte in (0x7F, 0x08):
                if self._line:
                    self._line.pop()
                    if self.state != "password":
                        echo += b"\b \b"
            elif byte == 0x15:  # Ctrl+U
                if self.state != "password":
                    echo += b"\b \b" * len(self._line)
                self._line.clear()
            elif byte == 0x03:  # Ctrl+C
                self._line.clear()
                echo += b"^C\r\n"
                flush_echo()
                if self.state == "shell":
                    out.append(self.shell_prompt())
                else:
                    self.state = "login"
                    out.append(self.login_prompt())
            elif byte == 0x04:  # Ctrl+D
                if self.state == "shell" and not self._line:
                    flush_echo()
                    out.extend(self._logout())
            elif byte == 0x09 or byte >= 0x20:
                self._line.append(byte)
                if self.state != "password":
                    echo.append(byte)
        flush_echo()
        return out

    # -- login and shell -------------------------------------------------------------------------

    def _line_done(self, line: str) -> list[Output]:
        if self.state == "login":
            name = line.strip()
            if not name:
                return [self.login_prompt()]
            self.user = name
            self.state = "password"
            return [b"Password: "]
        if self.state == "password":
            ok = self.credentials is None or self.credentials.get(self.user) == line
            if not ok:
                self.state = "login"
                return [b"Login incorrect\r\n\r\n", self.login_prompt()]
            self.state = "shell"
            self.shell.login(self.user)
            return [self.shell_prompt()]
        return self._run(line)

    def _logout(self) -> list[Output]:
        self.state = "login"
        self.user = ""
        return [b"logout\r\n", self.banner(), self.login_prompt()]

    def _run(self, line: str) -> list[Output]:
        words = line.split()
        if words and words[0] == "stream":
            try:
                n = int(words[1]) if len(words) == 2 else -1
            except ValueError:
                n = -1
            if not 0 <= n <= MAX_STREAM:
                return [b"usage: stream BYTES\r\n", self.shell_prompt()]
            return [_stream(n), self.shell_prompt()]
        text, logout = self.shell.run_line(line)
        out: list[Output] = [text.replace("\n", "\r\n").encode()] if text else []
        if logout:
            return out + self._logout()
        return [*out, self.shell_prompt()]
