"""Server side of the KubeVirt websocket transport, on top of aiohttp.

What the real servers do and this reproduces (see the streaming spec, §1 and §5):

* the upgrade echoes ``Sec-WebSocket-Protocol: plain.kubevirt.io`` when the client offers it,
  negotiates no compression and does not look at ``Origin``;
* only binary frames go out; text frames from the client are skipped; pings are answered;
  a client close frame is echoed (aiohttp does this);
* a session that the server ends (another client took over, fault, VMI gone) ends by closing
  the TCP connection **without** a close frame, so clients see an abnormal closure (1006).
  ``close_mode="normal"`` sends a close frame with code 1000 first instead;
* ``drop_after``: after that many payload bytes went to the client the connection is cut
  (the ``drop_ws_after`` fault);
* ``fragment``: messages longer than this many bytes go out as a first frame plus
  continuation frames (virt-handler's 10240-byte write buffer does this), so clients'
  reassembly gets exercised. 0 sends every message as one frame.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web
from aiohttp.abc import AbstractStreamWriter

SUBPROTOCOL = "plain.kubevirt.io"

_background: set[asyncio.Task[None]] = set()


class Channel:
    """One upgraded client websocket."""

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        *,
        drop_after: int | None = None,
        close_mode: str = "abrupt",
        pong_timeout: float | None = None,
        fragment: int = 0,
        writer: AbstractStreamWriter | None = None,
    ) -> None:
        self.request = request
        self.ws = ws
        self.fragment = fragment
        self._writer = writer
        self.drop_after = drop_after
        self.close_mode = close_mode
        self.sent = 0
        self.ended = asyncio.Event()
        self.pongs = 0
        self.pong_timeout = pong_timeout
        self._loop = asyncio.get_running_loop()
        self.deadline = self._loop.time() + pong_timeout if pong_timeout else None

    @property
    def closed(self) -> bool:
        return self.ended.is_set() or self.ws.closed

    async def send(self, data: bytes) -> bool:
        """Send one binary message; False once the session is over (then stop sending)."""
        if self.closed:
            return False
        if self.drop_after is not None and self.sent + len(data) >= self.drop_after:
            keep = self.drop_after - self.sent
            try:
                if keep > 0:
                    await self.ws.send_bytes(data[:keep])
            except (ConnectionError, RuntimeError):
                pass
            self.sent = self.drop_after
            self.abort()
            return False
        try:
            if self.fragment and len(data) > self.fragment and self._writer is not None:
                await self._send_fragmented(data)
            else:
                await self.ws.send_bytes(data)
        except (ConnectionError, RuntimeError):
            self.abort()
            return False
        self.sent += len(data)
        return True

    async def _send_fragmented(self, data: bytes) -> None:
        transport = self.request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("connection closed")
        frames = []
        size = self.fragment
        for start in range(0, len(data), size):
            chunk = data[start : start + size]
            first = 0x80 if start + size >= len(data) else 0x00  # FIN on the last frame
            first |= 0x2 if start == 0 else 0x0  # binary, then continuation
            n = len(chunk)
            if n < 126:
                header = struct.pack("!BB", first, n)
            elif n < 65536:
                header = struct.pack("!BBH", first, 126, n)
            else:
                header = struct.pack("!BBQ", first, 127, n)
            frames.append(header)
            frames.append(chunk)
        transport.write(b"".join(frames))
        assert self._writer is not None
        await self._writer.drain()

    async def messages(self) -> AsyncIterator[bytes]:
        """Binary payloads from the client, until it goes away or the session is ended."""
        while not self.closed:
            msg = await self.ws.receive()
            if msg.type is WSMsgType.BINARY:
                yield msg.data
            elif msg.type is WSMsgType.PING:
                try:
                    await self.ws.pong(msg.data)
                except (ConnectionError, RuntimeError):
                    return
            elif msg.type is WSMsgType.PONG:
                self.pongs += 1
                if self.pong_timeout:
                    self.deadline = self._loop.time() + self.pong_timeout
            elif msg.type is WSMsgType.TEXT:
                continue
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    def abort(self) -> None:
        """End the session now, like the real servers: TCP closed, no close frame."""
        if self.ended.is_set():
            return
        self.ended.set()
        transport = self.request.transport
        if transport is not None and not transport.is_closing():
            transport.close()

    def end_soon(self) -> None:
        """End the session from outside its handler (another client took over, reset)."""
        if self.close_mode == "normal":
            task = asyncio.ensure_future(self.finish())
            _background.add(task)
            task.add_done_callback(_background.discard)
        else:
            self.abort()

    async def finish(self) -> None:
        """End the session from the server side, honouring the close mode."""
        if self.ended.is_set():
            return
        if self.close_mode == "normal" and not self.ws.closed:
            self.ended.set()
            try:
                await asyncio.wait_for(self.ws.close(code=1000), 2)
            except (TimeoutError, ConnectionError, RuntimeError):
                pass
            transport = self.request.transport
            if transport is not None and not transport.is_closing():
                transport.close()
            return
        self.abort()


async def upgrade(
    request: web.Request,
    *,
    drop_after: int | None = None,
    close_mode: str = "abrupt",
    pong_timeout: float | None = None,
    fragment: int = 0,
) -> Channel:
    """Answer 101 and wrap the connection. Not a websocket request: aiohttp answers 400."""
    ws = web.WebSocketResponse(
        protocols=(SUBPROTOCOL,),
        compress=False,
        autoping=False,
        autoclose=True,
        max_msg_size=0,
    )
    writer = await ws.prepare(request)
    return Channel(
        request,
        ws,
        drop_after=drop_after,
        close_mode=close_mode,
        pong_timeout=pong_timeout,
        fragment=fragment,
        writer=writer,
    )
