"""The built-in guest as a `pyvirtctl.sim.guests.Guest`: the simulated serial line, the test-pattern
display and port-forward targets from the ``sim.pyvirtctl.io/portforward`` annotation.

Each method returns a byte stream the endpoints pump to and from the websocket, exactly as they
do for a QEMU guest (pyvirtctl/sim/qemu/runtime.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pyvirtctl.sim.guests import GuestUnavailable

from . import checks
from .display import Display
from .rfb import RFBServer
from .serial import SerialLine


class _Queued:
    """Output produced synchronously by a pure state machine, handed out in order."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Iterator[bytes] | None] = asyncio.Queue()

    async def received(self) -> AsyncIterator[bytes]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, bytes):
                yield item
            else:  # bulk output (`stream N`): big chunks made as they are sent
                for chunk in item:
                    yield chunk

    def close(self) -> None:
        self.queue.put_nowait(None)


class ConsoleStream(_Queued):
    def __init__(self, line: SerialLine) -> None:
        super().__init__()
        self.line = line

    async def send(self, data: bytes) -> None:
        for item in self.line.feed(data):
            self.queue.put_nowait(item)


class VncStream(_Queued):
    def __init__(self, display: Display, name: str) -> None:
        super().__init__()
        self.rfb = RFBServer(display, name)
        self.queue.put_nowait(self.rfb.start())

    async def send(self, data: bytes) -> None:
        reply = self.rfb.feed(data)  # RFBError ends the session
        if reply:
            self.queue.put_nowait(reply)


class SocketStream:
    """A port-forward stream over an asyncio TCP or unix socket (also the QEMU guests' serial and VNC)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def received(self) -> AsyncIterator[bytes]:
        with contextlib.suppress(ConnectionError):
            while True:
                data = await self.reader.read(1 << 18)
                if not data:
                    return
                yield data

    def close(self) -> None:
        self.writer.close()


class _UdpStream:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1024)
        self.transport: asyncio.DatagramTransport | None = None

    async def send(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.sendto(data)

    async def received(self) -> AsyncIterator[bytes]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class BuiltinGuest:
    kind = "builtin"
    survives_migration = False  # as virt-handler's tunnels: they end when the VMI moves

    def __init__(self, line: SerialLine, display: Display, vmi: dict[str, Any], vm: dict[str, Any] | None,
                 desktop: str) -> None:
        self.line, self.display, self.vmi, self.vm = line, display, vmi, vm
        self.desktop = desktop

    async def console(self) -> ConsoleStream:
        return ConsoleStream(self.line)

    async def vnc(self) -> VncStream:
        return VncStream(self.display, self.desktop)

    async def screenshot(self, move_cursor: bool) -> bytes:
        if move_cursor:  # virt-api wiggles the pointer like this to wake a screensaver
            self.display.pointer_event(0, 0, 0)
            self.display.pointer_event(0, 1, 1)
        return self.display.png()

    async def dial(self, port: int, proto: str) -> Any:
        shown = f"{checks.vmi_ip(self.vmi)}:{port}"
        target = checks.forward_target(port, proto, self.vmi, self.vm)
        if target is None:
            raise GuestUnavailable(f"dial {proto} {shown}: connect: connection refused")
        if proto == "udp":
            stream = _UdpStream()

            class _Proto(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: Any) -> None:
                    with contextlib.suppress(asyncio.QueueFull):
                        stream.queue.put_nowait(data)

            try:
                transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(_Proto, remote_addr=target)
            except OSError as err:
                raise GuestUnavailable(f"dial udp {shown}: {dial_error(err)}") from None
            stream.transport = transport
            return stream
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(target[0], target[1], limit=1 << 20), 10)
        except (TimeoutError, OSError) as err:
            raise GuestUnavailable(f"dial tcp {shown}: {dial_error(err)}") from None
        with contextlib.suppress(OSError):
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return SocketStream(reader, writer)


def dial_error(err: BaseException) -> str:
    """Go's wording for a failed dial (``connect: connection refused``, ``i/o timeout``)."""
    if isinstance(err, asyncio.TimeoutError):
        return "i/o timeout"
    if isinstance(err, OSError) and err.errno is not None:
        text = (err.strerror or errno.errorcode.get(err.errno, str(err))).lower()
        return "connect: " + text
    return str(err)
