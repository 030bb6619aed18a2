"""usbredir: a local USB device redirected to a VMI (streaming.md §4.3).

virtctl's flow, step by step:

1. `find_client()` - the `usbredirect` program must be on $PATH (unless the caller starts the client
   itself, virtctl's --no-launch);
2. `open_usbredir(session, ns, vmi)` - the VMI's `usbredir` websocket (`Can't access VMI <vmi>: ...`);
3. a local listener on 127.0.0.1 with an ephemeral port (streams/relay.py) that joins the one client
   that connects to the websocket;
4. `launch_client(device, address, outcome)` - `usbredirect --device <vendor:product|bus-device>
   --to 127.0.0.1:<port>` with its output captured, logged like virtctl (`port_arg`, `args`,
   `Executing commandline`, then `usbredirect output: ...`);
5. the first end wins (`Outcome`): the client program exits (its exit status is the error, a clean
   exit is success), the local connection ends (`Remote connection has closed.`), the websocket ends
   (gorilla's close error), or the caller cancels (Ctrl+C: `context canceled`).

`UsbRedir` bundles steps 2-5 for the CLI and for notebooks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from pyvirtctl import log
from pyvirtctl.errors import CLIError
from pyvirtctl.kube.flags import format_go_duration
from pyvirtctl.kubevirt.requests import usbredir_stream

CLIENT = "usbredirect"
PACKAGE = "usbredirect"  # Debian/Ubuntu; Fedora ships the program in usbredir-tools
CANCELED = "context canceled"


def missing_client_error() -> CLIError:
    """virtctl's words, and where the program comes from."""
    return CLIError(f'Error on finding {CLIENT} in $PATH: exec: "{CLIENT}": executable file not found in $PATH'
                    f' (install the {PACKAGE} package, or start a usbredir client yourself with --no-launch)')


def find_client(which: Callable[[str], str | None] = shutil.which) -> str:
    found = which(CLIENT)
    if not found:
        raise missing_client_error()
    return found


def client_args(device: str, address: str) -> list[str]:
    """The arguments virtctl gives usbredirect (after the program name)."""
    return ["--device", device, "--to", address]


def go_list(items: list[str]) -> str:
    """Go's %v of a []string: `[a b c]`."""
    return "[" + " ".join(items) + "]"


def open_usbredir(session: Any, namespace: str, name: str) -> Any:
    """The VMI's usbredir websocket (a streams.websocket.Conn); errors get virtctl's prefix."""
    from pyvirtctl.streams.websocket import open_subresource

    stream = usbredir_stream(namespace, name)
    try:
        return open_subresource(session, stream.path, stream.query or None)
    except CLIError as e:
        raise e.wrap(f"Can't access VMI {name}: ") from None


class ClientProcess:
    """The usbredirect program, run with its output captured; reports its end to an Outcome."""

    def __init__(self, binary: str, args: list[str]) -> None:
        self.argv = [binary, *args]
        self.proc: subprocess.Popen[bytes] | None = None
        self.thread: threading.Thread | None = None
        self.stopped = False

    def start(self, outcome: Any) -> None:
        self.thread = threading.Thread(target=self._run, args=(outcome,), daemon=True, name="usbredirect")
        self.thread.start()

    def _run(self, outcome: Any) -> None:
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            outcome.report(CLIError(f"fork/exec {self.argv[0]}: {(exc.strerror or str(exc)).lower()}"))
            return
        output, _ = self.proc.communicate()
        if not outcome.done or self.stopped:
            # virtctl logs the output when the program ends first, or when it kills it (Ctrl+C); after
            # another end it has exited before the program does
            log.info(f"{CLIENT} output: {output.decode('utf-8', 'replace')}", "client.go:183")
        code = self.proc.returncode
        if code == 0:
            outcome.report()
        elif code < 0:
            outcome.report(CLIError(f"signal: {_signal_name(-code)}"))
        else:
            outcome.report(CLIError(f"exit status {code}"))

    def stop(self, log_output: bool = False) -> None:
        """End the program if it still runs (virtctl's context cancellation kills it); with `log_output`
        its output is logged, as virtctl does after a Ctrl+C."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            self.stopped = log_output
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.thread is not None:
            self.thread.join(2.0)


def _signal_name(num: int) -> str:
    names = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGINT: "interrupt",
             signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted", signal.SIGHUP: "hangup"}
    return names.get(signal.Signals(num), f"signal {num}") if num in signal.valid_signals() else f"signal {num}"


class UsbRedir:
    """One redirection: open the websocket, listen locally, optionally start usbredirect, wait.

        r = UsbRedir.open(session, "default", "vmi1")   # raises `Can't access VMI vmi1: ...`
        print(r.address)                                 # 127.0.0.1:PORT for a client
        r.launch("0951:1666")                            # or connect a client yourself
        error = r.wait()                                 # None: a clean end
        r.close()
    """

    def __init__(self, conn: Any) -> None:
        from pyvirtctl.streams.relay import Outcome, Relay

        self.outcome = Outcome()
        try:
            self.relay = Relay(conn, self.outcome, on_connect=self._connected)
        except CLIError as e:
            conn.close()
            raise e.wrap("Can't create usbredir client: ") from None
        self.client: ClientProcess | None = None
        self.relay.start()

    @classmethod
    def open(cls, session: Any, namespace: str, name: str) -> UsbRedir:
        return cls(open_usbredir(session, namespace, name))

    @property
    def address(self) -> str:
        return self.relay.address

    @staticmethod
    def _connected(seconds: float) -> None:
        log.info(f"Connected to {CLIENT} at {format_go_duration(seconds)}", "client.go:143")

    def launch(self, device: str, binary: str = CLIENT) -> None:
        args = client_args(device, self.address)
        log.info(f"port_arg: '{self.address}'", "client.go:177")
        log.info(f"args: '{go_list(args)}'", "client.go:178")
        log.info(f"Executing commandline: '{CLIENT} {go_list(args)}'", "client.go:179")
        self.client = ClientProcess(binary, args)
        self.client.start(self.outcome)

    def cancel(self) -> None:
        self.outcome.report(CLIError(CANCELED))

    def wait(self) -> CLIError | None:
        return self.outcome.wait()

    def close(self) -> None:
        if self.client is not None:
            self.client.stop(log_output=self.outcome.error is not None and self.outcome.error.message == CANCELED)
        self.relay.close()
