"""One local TCP client spliced to a websocket stream (usbredir's local endpoint).

`Relay(conn)` listens on 127.0.0.1 (an ephemeral port unless told otherwise), accepts exactly one
client and copies bytes both ways: each read from the client becomes one binary message, each
message is written to the client. The websocket is read from the start, before a client connects,
so a server that hangs up early is noticed at once; what it sends meanwhile is kept for the client.

Everything that can end the session reports to `Outcome`; the first report wins and `wait()`
returns it (None for a clean end, else the CLIError to print):

* the websocket ends: gorilla's close error (`websocket: close 1006 (abnormal closure): unexpected
  EOF`), or nothing for a close 1000;
* the local client hangs up: virtctl's `Remote connection has closed.` (its words, although the
  remote end is still there), or the socket's error;
* anything else the caller reports (the client program's exit, Ctrl+C).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from pyvirtctl.errors import CLIError
from pyvirtctl.streams.websocket import StreamClosed

LOCAL_CLOSED = "Remote connection has closed."
CHUNK = 32 * 1024


class Outcome:
    """The first of several events; `wait()` blocks until one is reported."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._lock = threading.Lock()
        self.error: CLIError | None = None

    def report(self, error: CLIError | None = None) -> None:
        with self._lock:
            if not self._done.is_set():
                self.error = error
                self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, poll: float = 0.2) -> CLIError | None:
        # short waits keep the main thread responsive to Ctrl+C
        while not self._done.wait(poll):
            pass
        return self.error


def _go_net_error(op: str, local: Any, remote: Any, exc: OSError) -> str:
    text = (exc.strerror or str(exc)).lower()
    try:
        return f"{op} tcp {local[0]}:{local[1]}->{remote[0]}:{remote[1]}: {op}: {text}"
    except (TypeError, IndexError):
        return f"{op} tcp: {text}"


class Relay:
    """Listen, accept one client, splice it to `conn`; report the end to `outcome`."""

    def __init__(self, conn: Any, outcome: Outcome, host: str = "127.0.0.1", port: int = 0,
                 on_connect: Callable[[float], None] | None = None) -> None:
        self.conn = conn
        self.outcome = outcome
        self.on_connect = on_connect
        self._pending: list[bytes] = []
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self.listener.bind((host, port))
            self.listener.listen(1)
        except OSError as exc:
            self.listener.close()
            raise CLIError(f"Can't listen: listen tcp {host}:{port}: bind: {(exc.strerror or str(exc)).lower()}") \
                from None
        self.started = time.monotonic()

    @property
    def address(self) -> str:
        host, port = self.listener.getsockname()[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._from_remote, daemon=True, name="relay-remote"),
                         threading.Thread(target=self._accept, daemon=True, name="relay-accept")]
        for t in self._threads:
            t.start()

    # ---- websocket -> client (buffered until the client is there)

    def _from_remote(self) -> None:
        try:
            while True:
                data = self.conn.recv(merge=True)
                if data is None:
                    self.outcome.report()
                    return
                with self._lock:
                    client = self._client
                    if client is None:
                        self._pending.append(data)
                        continue
                client.sendall(data)
        except StreamClosed as exc:
            self.outcome.report(exc)
        except OSError as exc:
            self.outcome.report(CLIError(f"write tcp: {(exc.strerror or str(exc)).lower()}"))
        except CLIError as exc:
            self.outcome.report(exc)

    # ---- client -> websocket

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except OSError:
            return  # closed: the session is over
        self.listener.close()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.on_connect is not None:
            self.on_connect(time.monotonic() - self.started)
        with self._lock:
            try:
                for data in self._pending:
                    client.sendall(data)
            except OSError:
                pass
            self._pending.clear()
            self._client = client
        local, remote = client.getsockname(), client.getpeername()
        try:
            while True:
                data = client.recv(CHUNK)
                if not data:
                    self.outcome.report(CLIError(LOCAL_CLOSED))
                    return
                self.conn.send(data)
        except StreamClosed as exc:
            self.outcome.report(exc)
        except OSError as exc:
            self.outcome.report(CLIError(_go_net_error("read", local, remote, exc)))

    def close(self) -> None:
        """Stop: the listener, the client and the websocket (no close frame, as virtctl).

        The reading threads are woken (shutdown) and joined before any descriptor is freed, so none of
        them can read from a connection that reuses a number (see websocket.Conn.wake)."""
        wake = getattr(self.conn, "wake", None) or self.conn.close
        with self._lock:
            client, self._client = self._client, None
        for stop in (wake, lambda: client.shutdown(socket.SHUT_RDWR) if client is not None else None,
                     lambda: self.listener.shutdown(socket.SHUT_RDWR)):
            try:
                stop()
            except Exception:
                pass
        for t in self._threads:
            t.join(2.0)
        for closer in (self.listener.close, self.conn.close, client.close if client is not None else None):
            try:
                if closer is not None:
                    closer()
            except Exception:
                pass
