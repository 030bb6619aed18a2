"""console VMI (virtctl.md §2.17, streaming.md §2): the serial console over a websocket.

Differences from virtctl (listed in the README):
- stdin EOF does not end the session at once: guest output is copied until the guest has been
  quiet for a second (or the server hangs up), so piped scripts see their output (#803);
- a 400 `No serial consoles are present.` fails at once instead of waiting out `--timeout`;
- while waiting, a status line on a terminal's stderr shows the VMI's phase;
- SIGTERM / SIGHUP restore the terminal before the process dies of the signal.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from pyvirtctl.completion import complete_vmi_names
from pyvirtctl.errors import ApiError, CLIError
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kubevirt.console import open_console
from pyvirtctl.kubevirt.requests import console_stream, vmi_get_request
from pyvirtctl.runtime import session

CONNECTED = "Successfully connected to {name} console. Press Ctrl+] or Ctrl+5 to exit console.\n"
DISCONNECTED = (
    "\nYou were disconnected from the console. This could be caused by one of the following:\n"
    " - the target VM was powered off\n"
    " - another user connected to the console of the target VM\n"
    " - network issues\n"
)
TIMEOUT_HELP = "The number of minutes to wait for the virtual machine instance to be ready."
EXAMPLE = (
    "  # Connect to the console on VirtualMachineInstance 'myvmi':\n"
    "  {{ProgramName}} console myvmi\n"
    "  # Configure one minute timeout (default 5 minutes)\n"
    "  {{ProgramName}} console --timeout=1 myvmi"
)


@dataclass(frozen=True)
class ConsoleOptions:
    name: str
    timeout: int = 5  # minutes; 0 = one attempt, negative = forever


class WaitStatus:
    """The one-line status on a terminal's stderr while the VMI is not ready (nothing otherwise)."""

    def __init__(self, s: Any, name: str, stream: Any = None) -> None:
        self.s = s
        self.name = name
        self.stream = stream or sys.stderr
        self.enabled = _isatty(self.stream)
        self.shown = False

    def phase(self) -> str:
        try:
            vmi = self.s.send(vmi_get_request(self.s.namespace, self.name)).json()
        except ApiError as e:
            return "not created yet" if e.not_found else "unknown"
        except Exception:
            return "unknown"
        return str((vmi.get("status") or {}).get("phase") or "Pending")

    def __call__(self, error: CLIError, elapsed: float) -> None:
        if not self.enabled:
            return
        text = f"Waiting for {self.name}: {error.message} (phase {self.phase()}, {int(elapsed)}s)"
        self.shown = True  # before the write: Ctrl+C may land right after it, and clear() must still run
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def connect_console(o: ConsoleOptions, s: Any, status: WaitStatus | None = None) -> Any:
    """Open the console stream, waiting while virt-api answers 400 (streaming.md §2.2)."""
    try:
        return open_console(s, s.namespace, o.name, o.timeout, on_wait=status)
    finally:
        if status is not None:
            status.clear()


def run_console(o: ConsoleOptions, s: Any) -> int:
    """The whole command after the client is built; returns the exit status (errors raise)."""
    from pyvirtctl.streams.console import pump
    from pyvirtctl.streams.terminal import Terminated, exit_signals, is_tty, raw_terminal

    terminated: Terminated | None = None
    try:
        with exit_signals():
            try:
                conn = connect_console(o, s, WaitStatus(s, o.name))
            except KeyboardInterrupt:
                sys.stdout.write("\n")
                sys.stdout.flush()
                return 0
            with raw_terminal(0, is_tty(0), on_fail=conn.close):
                sys.stderr.write(CONNECTED.format(name=o.name))
                sys.stderr.flush()
                try:
                    result = pump(conn, 0, 1)
                except KeyboardInterrupt:
                    return 0
    except Terminated as t:
        terminated = t
    if terminated is not None:
        terminated.redeliver()
        time.sleep(1)  # the default action ends the process; never reached in practice
        return 1
    if result.error is not None:
        from pyvirtctl.streams.websocket import StreamClosed

        if isinstance(result.error, StreamClosed) and result.error.abnormal:
            sys.stderr.write(DISCONNECTED)
            sys.stderr.flush()
        raise result.error
    return 0


def _client(ctx: typer.Context) -> Any:
    return session(ctx, error_prefix="cannot obtain KubeVirt client: ")


@go_command(
    "console",
    use="console (VMI)",
    short="Connect to a console of a virtual machine instance.",
    example=EXAMPLE,
    args=exact_args(1),
)
def console_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=complete_vmi_names)],
    timeout: Annotated[int, typer.Option("--timeout", help=TIMEOUT_HELP)] = 5,
) -> None:
    s = _client(ctx)
    console_stream(s.namespace, args[0])  # the name and namespace are checked before any request
    code = run_console(ConsoleOptions(args[0], timeout), s)
    if code:
        raise typer.Exit(code)
