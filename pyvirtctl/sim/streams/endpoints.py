"""The aiohttp handlers: console, VNC, VNC screenshot, port-forward and usbredir.

Every handler looks the VMI (or VM) up and validates it first, answering errors as JSON
``Status`` bodies exactly like virt-api, and only then upgrades to a websocket. Sessions
are tracked per VMI: one console and one VNC session each, the newest wins (the older
client's TCP connection is closed without a close frame); up to four usbredir channels
(virt-handler's slots), a fifth is refused. A session also ends when its VMI disappears,
is replaced by a new one, or stops running.

What each usbredir channel saw (the client's hello, its capabilities, the packets, the device)
is kept per VMI and served to tests at ``GET /_sim/usbredir/{namespace}/{name}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from typing import Any

from aiohttp import web

from . import checks
from .backend import Backend
from .checks import Refusal
from .display import Display
from .guest import GuestFacts, facts_from
from .rfb import RFBError, RFBServer
from .serial import SerialLine, credentials_from_vmi
from .usbredir import UsbRedirError, UsbRedirGuest
from .wsio import Channel, upgrade

SUB = "/apis/subresources.kubevirt.io/{version:v1|v1alpha3}/namespaces/{namespace}"
VMI_PATH = SUB + "/virtualmachineinstances/{name}"
VM_PATH = SUB + "/virtualmachines/{name}"

Key = tuple[str, str]
USB_SLOTS = 4  # v1.UsbClientPassthroughMaxNumberOf: virt-handler's virt-usbredir-<slot> sockets per VMI


class StreamState:
    """Per-simulator state of the streaming endpoints (reset with the simulator)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.consoles: dict[Key, tuple[str, SerialLine]] = {}
        self.displays: dict[Key, tuple[str, Display]] = {}
        self.sessions: dict[tuple[str, str, str], Channel] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.usb_channels: dict[Key, list[Channel]] = {}  # open usbredir channels per VMI
        self.usb_log: dict[Key, list[UsbRedirGuest]] = {}  # every usbredir channel per VMI, for tests

    def reset(self) -> None:
        """Forget guest state and cut every open session."""
        for channel in list(self.sessions.values()):
            channel.end_soon()
        for channels in self.usb_channels.values():
            for channel in channels:
                channel.end_soon()
        self.sessions.clear()
        self.usb_channels.clear()
        self.usb_log.clear()
        self.consoles.clear()
        self.displays.clear()

    # -- per-VMI guest state ---------------------------------------------------------------------

    def console(self, ns: str, name: str, vmi: dict[str, Any]) -> SerialLine:
        uid = _uid(vmi)
        entry = self.consoles.get((ns, name))
        if entry is None or entry[0] != uid:
            hostname = str((vmi.get("spec") or {}).get("hostname") or name)
            backend = self.backend

            def facts() -> GuestFacts:
                # the guest's view of itself, as virtctl guestosinfo and the VMI status report it
                osinfo = getattr(backend, "guest_osinfo", None)
                return facts_from(backend.get_vmi(ns, name) or vmi, osinfo(ns, name) if osinfo else None)

            entry = (uid, SerialLine(hostname, credentials_from_vmi(vmi), facts))
            self.consoles[(ns, name)] = entry
        return entry[1]

    def display(self, ns: str, name: str, vmi: dict[str, Any]) -> Display:
        uid = _uid(vmi)
        entry = self.displays.get((ns, name))
        if entry is None or entry[0] != uid:
            node = str((vmi.get("status") or {}).get("nodeName") or "")
            subtitle = f"namespace {ns}" + (f"  node {node}" if node else "")
            entry = (uid, Display(name, subtitle))
            self.displays[(ns, name)] = entry
        return entry[1]

    # -- sessions --------------------------------------------------------------------------------

    def busy(self, kind: str, ns: str, name: str) -> bool:
        current = self.sessions.get((kind, ns, name))
        return current is not None and not current.closed

    def take_over(self, kind: str, ns: str, name: str, channel: Channel) -> None:
        old = self.sessions.get((kind, ns, name))
        self.sessions[(kind, ns, name)] = channel
        if old is not None and old is not channel:
            old.end_soon()

    def release(self, kind: str, ns: str, name: str, channel: Channel) -> None:
        if self.sessions.get((kind, ns, name)) is channel:
            del self.sessions[(kind, ns, name)]


def _node(vmi: dict[str, Any]) -> str:
    return str((vmi.get("status") or {}).get("nodeName") or "")


def _uid(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("uid") or meta.get("creationTimestamp") or "")


def _status_response(refusal: Refusal) -> web.Response:
    return web.Response(status=refusal.code, body=refusal.json(), content_type="application/json")


def _params(request: web.Request) -> tuple[str, str]:
    return request.match_info["namespace"], request.match_info["name"]


def register(app: web.Application, backend: Backend) -> StreamState:
    state = StreamState(backend)
    handlers = _Handlers(state)
    app.router.add_get(VMI_PATH + "/console", handlers.console)
    app.router.add_get(VMI_PATH + "/vnc", handlers.vnc)
    app.router.add_get(VMI_PATH + "/vnc/screenshot", handlers.screenshot)
    app.router.add_get(VMI_PATH + "/usbredir", handlers.usbredir)
    app.router.add_get("/_sim/usbredir/{namespace}/{name}", handlers.usbredir_log)
    for base, kind in ((VMI_PATH, "vmi"), (VM_PATH, "vm")):
        handler = handlers.portforward_vmi if kind == "vmi" else handlers.portforward_vm
        app.router.add_get(base + r"/portforward/{port:\d+}", handler)
        app.router.add_get(base + r"/portforward/{port:\d+}/{proto:tcp|udp}", handler)
    return state


class _Handlers:
    def __init__(self, state: StreamState) -> None:
        self.state = state
        self.backend = state.backend

    def _vmi(self, ns: str, name: str) -> dict[str, Any]:
        vmi = self.backend.get_vmi(ns, name)
        if vmi is None:
            raise checks.not_found("virtualmachineinstance", name)
        return vmi

    async def _open(self, request: web.Request, kind: str, ns: str, name: str, **kw: Any) -> Channel:
        return await upgrade(
            request,
            drop_after=self.backend.drop_after(kind, ns, name),
            close_mode=self.backend.close_mode(),
            fragment=self.backend.fragment_size(),
            **kw,
        )

    def _watch_vmi(self, channel: Channel, ns: str, name: str, vmi: dict[str, Any]) -> asyncio.Task[None]:
        """End ``channel`` when its VMI goes away, is replaced, stops running or moves node."""
        uid = _uid(vmi)
        node = _node(vmi)

        async def watch() -> None:
            while not channel.closed:
                await asyncio.sleep(0.25)
                now = self.backend.get_vmi(ns, name)
                if now is None or _uid(now) != uid or checks.phase(now) != "Running" or _node(now) != node:
                    await channel.finish()
                    return

        task = asyncio.ensure_future(watch())
        self.state.tasks.add(task)
        task.add_done_callback(self.state.tasks.discard)
        return task

    # -- console ---------------------------------------------------------------------------------

    async def console(self, request: web.Request) -> web.StreamResponse:
        ns, name = _params(request)
        try:
            vmi = self._vmi(ns, name)
            refusal = checks.check_console(vmi, name)
            if refusal:
                raise refusal
        except Refusal as err:
            return _status_response(err)
        line = self.state.console(ns, name, vmi)
        channel = await self._open(request, "console", ns, name)
        self.state.take_over("console", ns, name, channel)
        watcher = self._watch_vmi(channel, ns, name, vmi)
        try:
            async for data in channel.messages():
                if not await self._write_console(channel, line.feed(data)):
                    break
        finally:
            watcher.cancel()
            self.state.release("console", ns, name, channel)
            await channel.finish()
        return channel.ws

    @staticmethod
    async def _write_console(channel: Channel, outputs: list[Any]) -> bool:
        for item in outputs:
            chunks = (item,) if isinstance(item, bytes) else item
            for chunk in chunks:
                if not await channel.send(chunk):
                    return False
        return True

    # -- vnc -------------------------------------------------------------------------------------

    async def vnc(self, request: web.Request) -> web.StreamResponse:
        ns, name = _params(request)
        preserve = checks.parse_bool(request.query.get("preserveSession"))
        try:
            vmi = self._vmi(ns, name)
            refusal = checks.check_vnc(vmi, name)
            if refusal:
                raise refusal
            if preserve and self.state.busy("vnc", ns, name):
                raise checks.internal(checks.ACTIVE_VNC)
        except Refusal as err:
            return _status_response(err)
        display = self.state.display(ns, name, vmi)
        rfb = RFBServer(display, f"QEMU ({ns}_{name})")
        channel = await self._open(request, "vnc", ns, name)
        self.state.take_over("vnc", ns, name, channel)
        watcher = self._watch_vmi(channel, ns, name, vmi)
        try:
            if await channel.send(rfb.start()):
                async for data in channel.messages():
                    reply = rfb.feed(data)
                    if reply and not await channel.send(reply):
                        break
        except RFBError:
            channel.abort()
        finally:
            watcher.cancel()
            self.state.release("vnc", ns, name, channel)
            await channel.finish()
        return channel.ws

    async def screenshot(self, request: web.Request) -> web.StreamResponse:
        ns, name = _params(request)
        try:
            vmi = self._vmi(ns, name)
            refusal = checks.check_vnc(vmi, name)
            if refusal:
                raise refusal
        except Refusal as err:
            return web.Response(status=500, text=err.message, content_type="text/plain")
        display = self.state.display(ns, name, vmi)
        if request.query.get("moveCursor") == "true":
            # virt-api wiggles the pointer like this to wake a screensaver
            display.pointer_event(0, 0, 0)
            display.pointer_event(0, 1, 1)
        return web.Response(body=display.png(), content_type="image/png")

    # -- usbredir --------------------------------------------------------------------------------

    async def usbredir(self, request: web.Request) -> web.StreamResponse:
        ns, name = _params(request)
        key = (ns, name)
        try:
            vmi = self._vmi(ns, name)
            refusal = checks.check_usbredir(vmi, name)
            if refusal:
                raise refusal
            if len(self.state.usb_channels.get(key, [])) >= USB_SLOTS:
                # virt-handler answers 503 with no body when every slot is taken; virt-api wraps it
                raise checks.internal("Can't connect to websocket (503): websocket: bad handshake")
        except Refusal as err:
            return _status_response(err)
        guest = UsbRedirGuest()
        self.state.usb_log.setdefault(key, []).append(guest)
        channel = await self._open(request, "usbredir", ns, name)
        self.state.usb_channels.setdefault(key, []).append(channel)
        watcher = self._watch_vmi(channel, ns, name, vmi)
        try:
            if await channel.send(guest.hello()):
                async for data in channel.messages():
                    try:
                        replies = guest.feed(data)
                    except UsbRedirError:
                        channel.abort()  # QEMU drops a peer that breaks the protocol
                        break
                    for reply in replies:
                        if not await channel.send(reply):
                            break
        finally:
            watcher.cancel()
            channels = self.state.usb_channels.get(key, [])
            if channel in channels:
                channels.remove(channel)
            await channel.finish()
        return channel.ws

    async def usbredir_log(self, request: web.Request) -> web.Response:
        ns, name = _params(request)
        return web.json_response([g.summary() for g in self.state.usb_log.get((ns, name), [])])

    # -- port-forward ----------------------------------------------------------------------------

    async def portforward_vmi(self, request: web.Request) -> web.StreamResponse:
        ns, name = _params(request)
        try:
            vmi = self._vmi(ns, name)
        except Refusal as err:
            return _status_response(err)
        return await self._portforward(request, ns, name, vmi, self.backend.get_vm(ns, name))

    async def portforward_vm(self, request: web.Request) -> web.StreamResponse:
        ns, name = _params(request)
        vm = self.backend.get_vm(ns, name)
        if vm is None:
            return _status_response(checks.not_found("virtualmachine", name))
        refusal = checks.check_vm_started(vm, name)
        if refusal is not None:
            return _status_response(refusal)
        vmi = self.backend.get_vmi(ns, name)
        if vmi is None:  # status.created is stale: the VMI is already gone
            return _status_response(checks.conflict("virtualmachine", name, "VMI is not started"))
        return await self._portforward(request, ns, name, vmi, vm)

    async def _portforward(
        self, request: web.Request, ns: str, name: str, vmi: dict[str, Any], vm: dict[str, Any] | None
    ) -> web.StreamResponse:
        refusal = checks.check_portforward(vmi, name)
        if refusal:
            return _status_response(refusal)
        port = int(request.match_info["port"])
        proto = request.match_info.get("proto") or "tcp"
        shown = f"{checks.vmi_ip(vmi)}:{port}"
        target = checks.forward_target(port, proto, vmi, vm)
        if target is None:
            return _status_response(
                checks.internal(f"dialing VM: dial {proto} {shown}: connect: connection refused")
            )
        if proto == "udp":
            return await self._forward_udp(request, ns, name, vmi, target, shown)
        return await self._forward_tcp(request, ns, name, vmi, target, shown)

    def _keepalive_settings(self) -> tuple[float, float]:
        return self.backend.ping_interval(), self.backend.pong_timeout()

    async def _keepalive(self, channel: Channel, interval: float) -> None:
        """Ping every ``interval`` seconds; give up when no pong came within the timeout."""
        loop = asyncio.get_running_loop()
        while not channel.closed:
            await asyncio.sleep(interval)
            if channel.deadline is not None and loop.time() > channel.deadline:
                return
            try:
                await channel.ws.ping(b"keep alive")
            except (ConnectionError, RuntimeError):
                return

    async def _run_until_first(self, channel: Channel, *coros: Any) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        ended = asyncio.ensure_future(channel.ended.wait())
        try:
            await asyncio.wait([*tasks, ended], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [*tasks, ended]:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _forward_tcp(
        self,
        request: web.Request,
        ns: str,
        name: str,
        vmi: dict[str, Any],
        target: tuple[str, int],
        shown: str,
    ) -> web.StreamResponse:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target[0], target[1], limit=1 << 20), 10
            )
        except (TimeoutError, OSError) as err:
            return _status_response(checks.internal(f"dialing VM: dial tcp {shown}: {_dial_error(err)}"))
        with contextlib.suppress(OSError):
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        interval, timeout = self._keepalive_settings()
        channel = await self._open(request, "portforward", ns, name, pong_timeout=timeout)

        async def to_vm() -> None:
            async for data in channel.messages():
                writer.write(data)
                await writer.drain()

        async def to_client() -> None:
            while True:
                data = await reader.read(1 << 18)
                if not data or not await channel.send(data):
                    return

        watcher = self._watch_vmi(channel, ns, name, vmi)
        try:
            await self._run_until_first(channel, to_vm(), to_client(), self._keepalive(channel, interval))
        finally:
            watcher.cancel()
            writer.close()
            await channel.finish()
        return channel.ws

    async def _forward_udp(
        self,
        request: web.Request,
        ns: str,
        name: str,
        vmi: dict[str, Any],
        target: tuple[str, int],
        shown: str,
    ) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1024)

        class _Proto(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(data)

        try:
            transport, _ = await loop.create_datagram_endpoint(_Proto, remote_addr=target)
        except OSError as err:
            return _status_response(checks.internal(f"dialing VM: dial udp {shown}: {_dial_error(err)}"))
        interval, timeout = self._keepalive_settings()
        channel = await self._open(request, "portforward", ns, name, pong_timeout=timeout)

        async def to_vm() -> None:
            async for data in channel.messages():
                transport.sendto(data)

        async def to_client() -> None:
            while True:
                data = await queue.get()
                if not await channel.send(data):
                    return

        watcher = self._watch_vmi(channel, ns, name, vmi)
        try:
            await self._run_until_first(channel, to_vm(), to_client(), self._keepalive(channel, interval))
        finally:
            watcher.cancel()
            transport.close()
            await channel.finish()
        return channel.ws


def _dial_error(err: BaseException) -> str:
    """Go's wording for a failed dial (``connect: connection refused``, ``i/o timeout``)."""
    if isinstance(err, asyncio.TimeoutError):
        return "i/o timeout"
    if isinstance(err, OSError) and err.errno is not None:
        text = (err.strerror or errno.errorcode.get(err.errno, str(err))).lower()
        return "connect: " + text
    return str(err)
