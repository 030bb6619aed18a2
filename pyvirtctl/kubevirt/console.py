"""The serial console of a VMI as a connection (streaming.md §2): shared by `console` and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvirtctl.kubevirt.requests import console_stream

if TYPE_CHECKING:
    from pyvirtctl.streams.websocket import Conn, WebsocketError


def open_console(
    session: Any,
    namespace: str,
    name: str,
    timeout_minutes: float = 5,
    on_wait: Callable[[WebsocketError, float], None] | None = None,
) -> Conn:
    """Open the console websocket, retrying every second while virt-api answers 400 (the VMI is not
    running yet), for up to `timeout_minutes` (0: one attempt; negative: forever).

    The name and namespace are checked before anything is sent. The result has `send(bytes)`,
    `recv() -> bytes | None` (None: the server closed the stream) and `close()`.
    """
    stream = console_stream(namespace, name)
    from pyvirtctl.streams.console import open_when_ready
    from pyvirtctl.streams.websocket import open_subresource

    return open_when_ready(lambda: open_subresource(session, stream.path, stream.query or None), timeout_minutes,
                           on_wait=on_wait)
