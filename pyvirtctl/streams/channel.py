"""Kubernetes' remote-command channel protocol over a websocket (pods/attach, pods/exec).

The same framing client-go's websocket executor speaks (tools/remotecommand/websocket.go), on the
project's one websocket stack (websocket.py):

* subprotocols offered: `v5.channel.k8s.io`, then `v4.channel.k8s.io`. virtctl (client-go) offers
  only v5 and, when the upgrade is refused, retries over SPDY; API servers before 1.30 do not know
  v5 but do serve v4 over websockets, so offering both in one handshake reaches them without SPDY.
* every binary message is one channel byte and data: 0 stdin, 1 stdout, 2 stderr, 3 error (a JSON
  `metav1.Status` at the end), 4 resize (`{"Width":W,"Height":H}`); v5 adds `[255, n]`, the client
  closing its stream n (stdin). Empty messages (the server's "ready" signal) carry nothing.
* the session ends when the server closes (code 1000 is a clean end); the error channel then says
  how: `Success`, a `NonZeroExitCode` status (client-go's `command terminated with exit code N`), or
  another failure's message. Words follow client-go's error decoder.

`RemoteCommand` has the `recv()/send()/close()` shape of `websocket.Conn`, so the console pump
(console.py) drives an attached TTY as it drives a serial console.
"""

from __future__ import annotations

import json
from typing import Any

from pyvirtctl.errors import CLIError
from pyvirtctl.gotext import go_quote
from pyvirtctl.streams.websocket import Conn, HandshakeTexts, StreamClosed, WebsocketError

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
_BODY_LIMIT = 64 * 1024  # client-go reads this much of a refused upgrade's answer


class RemoteCommandError(CLIError):
    """The remote command failed; `exit_code` is set for client-go's CodeExitError."""

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------- handshake texts (pure)


def refused(status: int, headers: dict[str, str] | None, body: bytes | None) -> WebsocketError:
    """A refused upgrade as virtctl ends up reporting it: a Status body's message, else (the words of
    client-go's SPDY fallback, which virtctl tries next) `unable to upgrade connection: <body>`."""
    text = (body or b"").decode("utf-8", "replace").strip()
    try:
        obj = json.loads(text) if text else None
    except ValueError:
        obj = None
    if isinstance(obj, dict) and obj.get("kind") == "Status":
        return WebsocketError(str(obj.get("message") or ""), status)
    return WebsocketError(f"unable to upgrade connection: {text}", status)


def unreachable(reason: str) -> WebsocketError:
    return WebsocketError(reason, 0)


TEXTS = HandshakeTexts(bad_status=refused, no_response=unreachable, body_limit=_BODY_LIMIT, require_protocol=True)


# --------------------------------------------------------------------------- the error channel (pure)


def decode_status(message: bytes) -> RemoteCommandError | None:
    """client-go's v4 error decoder: None for Success, else the error it reports."""
    try:
        status = json.loads(message)
        if not isinstance(status, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return RemoteCommandError(
            f"error stream protocol error: {detail} in {go_quote(message.decode('utf-8', 'replace'))}")
    state = status.get("status")
    if state == "Success":
        return None
    if state != "Failure":
        return RemoteCommandError("error stream protocol error: unknown error")
    if status.get("reason") == "NonZeroExitCode":
        details = status.get("details")
        if not isinstance(details, dict):
            return RemoteCommandError("error stream protocol error: details must be set")
        for cause in details.get("causes") or []:
            if not isinstance(cause, dict) or cause.get("reason") != "ExitCode":
                continue
            text = str(cause.get("message", ""))
            if not text.isdigit() or int(text) > 255:
                return RemoteCommandError(f"error stream protocol error: invalid exit code value {go_quote(text)}")
            return RemoteCommandError(f"command terminated with exit code {int(text)}", int(text))
        return RemoteCommandError("error stream protocol error: no ExitCode cause given")
    return RemoteCommandError(str(status.get("message") or ""))


def resize_message(width: int, height: int) -> bytes:
    return bytes([RESIZE]) + json.dumps({"Width": width, "Height": height}, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- the stream


class RemoteCommand:
    """One attach/exec stream: `recv()` the next output (stdout or stderr), None once the remote side
    ended with Success; `send(bytes)` to stdin; `resize(w, h)`; `close_stdin()` (v5)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.protocol = getattr(conn, "subprotocol", "") or V5
        self._error = bytearray()

    def recv(self, merge: bool = False) -> bytes | None:
        while True:
            try:
                message = self.conn.recv()
            except StreamClosed as exc:
                # what client-go's error-stream reader reports when the connection breaks
                raise RemoteCommandError(f"error reading from error stream: next reader: {exc}") from None
            if message is None:
                if self._error:
                    err = decode_status(bytes(self._error))
                    if err is not None:
                        raise err
                return None
            if len(message) < 2:
                continue  # an empty message: the server's "ready" signal
            channel, data = message[0], message[1:]
            if channel in (STDOUT, STDERR):
                return data
            if channel == ERROR:
                self._error += data
            # any other stream id is discarded, as client-go does

    def send(self, data: bytes) -> None:
        self.conn.send(bytes([STDIN]) + bytes(data))

    def resize(self, width: int, height: int) -> None:
        self.conn.send(resize_message(width, height))

    def close_stdin(self) -> None:
        if self.protocol == V5:
            self.conn.send(bytes([CLOSE, STDIN]))

    def wake(self) -> None:
        wake = getattr(self.conn, "wake", None)
        (wake or self.conn.close)()

    def close(self) -> None:
        self.conn.close()

    def fileno(self) -> int:
        return self.conn.fileno()

    @property
    def sock(self) -> Any:
        return self.conn.sock


def open_remote_command(session: Any, path: str, query: list[tuple[str, str]]) -> RemoteCommand:
    """Open `path` (a pods/attach or pods/exec URL) with the channel protocol."""
    from pyvirtctl.streams.websocket import open_subresource

    return RemoteCommand(open_subresource(session, path, query, protocols=PROTOCOLS, texts=TEXTS))
