"""The aiohttp handlers: console, VNC, VNC screenshot, port-forward and usbredir.

Every handler looks the VMI (or VM) up and validates it first, answering errors as JSON
``Status`` bodies exactly like virt-api, and only then upgrades to a websocket. Sessions
are tracked per VMI: one console and one VNC session each, the newest wins (the older
client's TCP connection is closed without a close frame); up to four usbredir channels
(virt-handler's slots), a fifth is refused. A session also ends when its VMI disappears,
is replaced by a new one, or stops running; and when it moves to another node, except a
port-forward to a real guest, whose connections live on (see pyvirtctl/sim/qemu/netstack.py).

What is on the other end is a `pyvirtctl.sim.guests.Guest`: the built-in guest (builtin.py) or,
when the backend has one for the VMI, a QEMU guest; the handlers pump bytes both ways and do not
care which. What each usbredir channel saw (the client's hello, its capabilities, the packets, the
device) is kept per VMI and served to tests at ``GET /_sim/usbredir/{namespace}/{name}``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from pyvirtctl.sim.guests import Guest, GuestUnavailable

from . import checks
from .backend import Backend
from .builtin import BuiltinGuest
from .checks import Refusal
from .display import Display
from .guest import GuestFacts, facts_from
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

    def _guest(self, ns: str, name: str, vmi: dict[str, Any], vm: dict[str, Any] | None = None) -> Guest:
        """The VMI's QEMU guest when it has one, else the built-in guest."""
        real = getattr(self.backend, "guest", None)
        found = real(vmi) if real is not None else None
        if found is not None:
            return found
        if vm is None:
            vm = self.backend.get_vm(ns, name)
        return BuiltinGuest(self.state.console(ns, name, vmi), self.state.display(ns, name, vmi), vmi, vm,
                            f"QEMU ({ns}_{name})")

    async def _open(self, request: web.Request, kind: str, ns: str, name: str, **kw: Any) -> Channel:
        return await upgrade(
            request,
            drop_after=self.backend.drop_after(kind, ns, name),
            close_mode=self.backend.close_mode(),
            fragment=self.backend.fragment_size(),
            **kw,
        )

    def _watch_vmi(self, channel: Channel, ns: str, name: str, vmi: dict[str, Any],
                   follow_moves: bool = False) -> asyncio.Task[None]:
        """End ``channel`` when its VMI goes away, is replaced, stops running or (unless
        ``follow_moves``) moves to another node."""
        uid = _uid(vmi)
        node = _node(vmi)

        async def watch() -> None:
            while not channel.closed:
                await asyncio.sleep(0.25)
                now = self.backend.get_vmi(ns, name)
                if now is None or _uid(now) != uid or checks.phase(now) != "Running" or (
                        _node(now) != node and not follow_moves):
                    await channel.finish()
                    return

        task = asyncio.ensure_future(watch())
        self.state.tasks.add(task)
        task.add_done_callback(self.state.tasks.discard)
        return task

    async def _pump(self, channel: Channel, stream: Any, *extra: Any) -> None:
        """Client messages to the guest, guest bytes to the client, until either side ends."""

        async def to_guest() -> None:
            async for data in channel.messages():
                await stream.send(data)

        async def to_client() -> None:
            async for data in stream.received():
                if not await channel.send(data):
                    return

        try:
            await self._run_until_first(channel, to_guest(), to_client(), *extra)
        finally:
            stream.close()

    async def _session(self, request: web.Request, kind: str, ns: str, name: str, vmi: dict[str, Any],
                       stream: Any) -> web.StreamResponse:
        channel = await self._open(request, kind, ns, name)
        self.state.take_over(kind, ns, name, channel)
        watcher = self._watch_vmi(channel, ns, name, vmi)
        try:
            await self._pump(channel, stream)
        finally:
            watcher.cancel()
            self.state.release(kind, ns, name, channel)
            await channel.finish()
        return channel.ws

    # -- console ---------------------------------------------------------------------------------

    async def console(self, request: web.Request) -> web.StreamResponse:
        ns, name = _params(request)
        try:
            vmi = self._vmi(ns, name)
            refusal = checks.check_console(vmi, name)
            if refusal:
                raise refusal
            stream = await self._guest(ns, name, vmi).console()
        except Refusal as err:
            return _status_response(err)
        except GuestUnavailable as err:
            return _status_response(checks.internal(str(err)))
        return await self._session(request, "console", ns, name, vmi, stream)

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
            stream = await self._guest(ns, name, vmi).vnc()
        except Refusal as err:
            return _status_response(err)
        except GuestUnavailable as err:
            return _status_response(checks.internal(str(err)))
        return await self._session(request, "vnc", ns, name, vmi, stream)

    async def screenshot(self, request: web.Request) -> web.StreamResponse:
        ns, name = _params(request)
        try:
            vmi = self._vmi(ns, name)
            refusal = checks.check_vnc(vmi, name)
            if refusal:
                raise refusal
            png = await self._guest(ns, name, vmi).screenshot(request.query.get("moveCursor") == "true")
        except Refusal as err:
            return web.Response(status=500, text=err.message, content_type="text/plain")
        except GuestUnavailable as err:
            return web.Response(status=500, text=str(err), content_type="text/plain")
        return web.Response(body=png, content_type="image/png")

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
        guest = self._guest(ns, name, vmi, vm)
        try:
            stream = await guest.dial(port, proto)
        except GuestUnavailable as err:
            return _status_response(checks.internal(f"dialing VM: {err}"))
        interval, timeout = self._keepalive_settings()
        try:
            channel = await self._open(request, "portforward", ns, name, pong_timeout=timeout)
        except BaseException:
            stream.close()
            raise
        watcher = self._watch_vmi(channel, ns, name, vmi, follow_moves=guest.survives_migration)
        try:
            await self._pump(channel, stream, self._keepalive(channel, interval))
        finally:
            watcher.cancel()
            await channel.finish()
        return channel.ws

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
