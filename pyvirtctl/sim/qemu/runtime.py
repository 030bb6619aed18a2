"""VMIs as QEMU machines: what the controllers, virt-api's subresources and the stream endpoints call.

Life of a QEMU guest (one `QemuGuest` per VMI uid):

* **launch** - when its VMI is Scheduled the controllers ask `launch()`; the first call starts the
  guest in the background (base image from the cache, built when missing; the per-guest overlay;
  the network link; QEMU) and answers "wait" until QEMU's monitor is up, then "ready": only then
  does the VMI go Running. A launch that fails makes the VMI Failed with QEMU's error.
* **stop** - a VMI being deleted asks `stopped()`: the first call presses the ACPI power button
  (QMP `system_powerdown`) and arms a kill after the VMI's `terminationGracePeriodSeconds` (0 kills
  at once, as `stop --force --grace-period=0`); the VMI is finished when QEMU has exited.
* **death** - a QEMU that exits on its own makes the VMI Failed (a guest panic: pvpanic makes QEMU
  exit; killed; crashed), except after the guest powered itself off, which makes it Succeeded.
  A guest reboot (`reboot` inside, `reset`) keeps the same QEMU and the VMI Running.
* **migrate** - the target QEMU starts with `-incoming` on a unix socket when the migration enters
  TargetReady, QMP `migrate` starts when it enters Running, and it Succeeds only when QEMU's
  `query-migrate` says completed (a failure fails the migration with QEMU's reason and the guest
  keeps running on the source). The network link and the serial hub belong to the guest, not to a
  QEMU process, so ssh sessions and `/proc/uptime` carry on.
* **pause / unpause / reset / softreboot** - QMP `stop` / `cont` / `system_reset`; soft reboot is an
  ACPI power-down that is turned into a reset when the guest has shut down (as libvirt does).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pyvirtctl.sim import cloudinit
from pyvirtctl.sim.controllers import FINAL, guest_mac, remove_condition, set_condition
from pyvirtctl.sim.guests import GuestUnavailable
from pyvirtctl.sim.store import now_iso
from pyvirtctl.sim.streams.builtin import SocketStream
from pyvirtctl.sim.streams.display import encode_png

from . import debs, image, machine, netstack, rfbclient
from .machine import LaunchError, Machine, MachineSpec

MTU = 65520
MASQUERADE_IP, MASQUERADE_GATEWAY = "10.0.2.2", "10.0.2.1"
HOST_MAC = "02:00:00:00:00:fe"
DEFAULT_GRACE = 30  # KubeVirt's default terminationGracePeriodSeconds
MIGRATION_BANDWIDTH = 1 << 30  # bytes/s (QEMU's default of 32 MiB/s would make a migration take seconds)
KERNEL_ARGS = "console=tty1 console=ttyS0 mitigations=off"


def _log(msg: str) -> None:
    print(f"sim: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# byte streams for the endpoints


class _SerialSession:
    def __init__(self, hub: SerialHub) -> None:
        self.hub = hub
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def send(self, data: bytes) -> None:
        self.hub.write(data)

    async def received(self) -> AsyncIterator[bytes]:
        while True:
            data = await self.queue.get()
            if data is None:
                return
            while not self.queue.empty():  # coalesce QEMU's byte-sized writes into one message
                more = self.queue.get_nowait()
                if more is None:
                    yield data
                    return
                data += more
            yield data

    def close(self) -> None:
        self.hub.sessions.discard(self)


class SerialHub:
    """The guest's ttyS0 for console clients; fed by whichever QEMU runs the guest."""

    def __init__(self) -> None:
        self.sessions: set[_SerialSession] = set()
        self.machine: Machine | None = None
        self.tail = bytearray()  # the last bytes written (for diagnostics)

    def feed(self, data: bytes) -> None:
        self.tail += data
        del self.tail[:-8192]
        for s in self.sessions:
            s.queue.put_nowait(data)

    def write(self, data: bytes) -> None:
        if self.machine is not None:
            self.machine.write_serial(data)

    def open(self) -> _SerialSession:
        s = _SerialSession(self)
        self.sessions.add(s)
        return s

    def end_all(self) -> None:
        for s in list(self.sessions):
            s.queue.put_nowait(None)
        self.sessions.clear()


class _TcpStream:
    def __init__(self, conn: netstack.TcpConnection) -> None:
        self.conn = conn

    async def send(self, data: bytes) -> None:
        await self.conn.write(data)

    async def received(self) -> AsyncIterator[bytes]:
        while True:
            data = await self.conn.read()
            if not data:
                return
            yield data

    def close(self) -> None:
        self.conn.close()
        asyncio.get_running_loop().call_later(5, self.conn.abort)


class _UdpStream:
    def __init__(self, sock: netstack.UdpSocket) -> None:
        self.sock = sock

    async def send(self, data: bytes) -> None:
        self.sock.send(data)

    async def received(self) -> AsyncIterator[bytes]:
        while True:
            yield await self.sock.recv()

    def close(self) -> None:
        self.sock.close()


# ----------------------------------------------------------------------------------------------
# one guest


class QemuGuest:
    kind = "qemu"
    survives_migration = True

    def __init__(self, runtime: QemuRuntime, vmi: dict[str, Any], folder: Path) -> None:
        md = vmi["metadata"]
        self.runtime = runtime
        self.ns, self.name, self.uid = md["namespace"], md["name"], md["uid"]
        self.folder = folder
        self.hub = SerialHub()
        self.link: netstack.Link | None = None
        self.machine: Machine | None = None
        self.target: Machine | None = None
        self.retired: set[Machine] = set()  # migration sources and failed targets: their exit is expected
        self.state = "launching"  # launching | running | off | failed
        self.error = ""
        self.stop_requested = False
        self.guest_shutdown = False
        self.fake_reboot = False
        self.panicked = False
        self.kill_handle: asyncio.TimerHandle | None = None
        self.stop_at = 0.0
        self.stop_how = ""
        self.migration: dict[str, Any] = {}
        self.spec: MachineSpec | None = None
        self.initrd: Path | None = None
        self.base: image.BaseImage | None = None
        self.started = time.time()

    # -- launch --------------------------------------------------------------------------------

    async def launch(self, vmi: dict[str, Any]) -> None:
        try:
            self.base = await self.runtime.base_image()
            cfg, spec = self.runtime.config_for(vmi)
            self.spec = spec
            self.folder.mkdir(parents=True, exist_ok=True)
            self.initrd = self.folder / "initrd"
            self.initrd.write_bytes(self.base.initrd.read_bytes() + image.overlay(cfg))
            self.link = netstack.Link(str(self.folder / "net.sock"), HOST_MAC, cfg.gateway, cfg.mac, cfg.ip, MTU,
                                      log=_log)
            await self.link.start()
            paused = ((vmi.get("spec") or {}).get("startStrategy")) == "Paused"
            self.machine = await self._start_machine(incoming=False, paused=paused)
            self.hub.machine = self.machine
            if self.stop_requested:  # stopped while it was starting
                self.machine.kill()
                return
            self.state = "running"
            _log(f"guest {self.ns}/{self.name}: QEMU pid {self.machine.pid} ({spec.accel}, {spec.memory_mib} MiB)")
        except (LaunchError, debs.FetchError, image.BuildError, OSError) as e:
            self.state, self.error = "failed", str(e)
            _log(f"guest {self.ns}/{self.name}: {e}")
        finally:
            self.runtime.kick()

    async def _start_machine(self, incoming: bool, paused: bool = False) -> Machine:
        assert self.spec is not None and self.base is not None and self.initrd is not None and self.link
        self.runtime.counter += 1
        m = Machine(self.folder / f"m{self.runtime.counter}", self.spec, self.hub.feed, self._on_event, _log)
        await m.start(self.base.kernel, self.initrd, KERNEL_ARGS, self.link.path, incoming=incoming,
                      paused=paused)
        task = asyncio.ensure_future(self._watch(m))
        self.runtime.tasks.add(task)
        task.add_done_callback(self.runtime.tasks.discard)
        return m

    async def _watch(self, m: Machine) -> None:
        await m.exited.wait()
        if m in self.retired or m is not self.machine:
            m.cleanup()
            return
        self._cancel_kill()
        if self.stop_requested:
            self.state = "off"
            powered_off = m.shutdown_reason == "guest-shutdown"
            how = "powered off" if powered_off else f"killed (QEMU exit status {m.returncode})"
            self.stop_how = how
            if not self.runtime.closing:
                _log(f"guest {self.ns}/{self.name}: {how} {time.time() - self.stop_at:.1f} s after the stop")
            self.runtime.vmi_event(self, "Stopped", "The VirtualMachineInstance was shut down." if powered_off
                                   else "The VirtualMachineInstance was killed: its grace period was over.")
        elif self.guest_shutdown:
            self.state = "off"
            self.runtime.finish_vmi(self, "Succeeded", "GuestShutdown", "The guest powered itself off")
        else:
            if self.panicked:
                reason, message = "GuestPanicked", "The guest's kernel panicked"
            else:
                why = m.failure()
                reason = "QemuExited"
                message = f"QEMU exited with status {m.returncode}" + (f": {why}" if why else "")
            self.state, self.error = "failed", message
            _log(f"guest {self.ns}/{self.name}: {message}")
            self.runtime.finish_vmi(self, "Failed", reason, message)
        self.hub.end_all()
        m.cleanup()
        self.runtime.kick()

    def _on_event(self, m: Machine, name: str, data: dict[str, Any]) -> None:
        m.events.append(name)
        if name == "SHUTDOWN" and not m.shutdown_reason:
            m.shutdown_reason = str(data.get("reason") or "")
        if m is not self.machine:
            return
        if name == "GUEST_PANICKED" or (name == "SHUTDOWN" and data.get("reason") == "guest-panic"):
            if not self.panicked:
                self.panicked = True
                self._spawn(m.stop())  # QEMU pauses a panicked guest (-action panic=pause): end it
        elif name == "SHUTDOWN":
            if self.fake_reboot and not self.stop_requested:
                self.fake_reboot = False
                self._spawn(self._reboot(m))
                return
            if not self.stop_requested and data.get("reason") == "guest-shutdown":
                self.guest_shutdown = True
            self._spawn(m.stop())

    async def _reboot(self, m: Machine) -> None:
        with contextlib.suppress(Exception):
            await m.command("system_reset")
            await m.command("cont")

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.runtime.tasks.add(task)
        task.add_done_callback(self.runtime.tasks.discard)

    # -- stop ----------------------------------------------------------------------------------

    def begin_stop(self, grace: int) -> None:
        if self.stop_requested:
            return
        self.stop_requested = True
        self.stop_at = time.time()
        m = self.machine
        if m is None or self.state != "running":
            if m is not None:
                m.kill()
            elif self.state == "launching":
                return  # launch() sees stop_requested and kills what it started
            self.state = "off" if self.state != "failed" else self.state
            return
        if self.target is not None:
            self.target.kill()
        if grace <= 0:
            _log(f"guest {self.ns}/{self.name}: killed (grace period 0)")
            m.kill()
            return
        _log(f"guest {self.ns}/{self.name}: ACPI power button; killed in {grace} s unless it powers off")
        self.runtime.vmi_event(self, "ShuttingDown", "Signaled Graceful Shutdown")

        async def press() -> None:
            with contextlib.suppress(Exception):
                await m.command("cont")  # a paused guest cannot see the button
                await m.command("system_powerdown")

        self._spawn(press())
        self.kill_handle = asyncio.get_running_loop().call_later(grace, self._grace_over, m)

    def _grace_over(self, m: Machine) -> None:
        self.kill_handle = None
        if m.returncode is None:
            _log(f"guest {self.ns}/{self.name}: grace period over, killed")
            m.kill()

    def _cancel_kill(self) -> None:
        if self.kill_handle is not None:
            self.kill_handle.cancel()
            self.kill_handle = None

    def kill(self) -> None:
        self.stop_requested = True
        self.stop_at = self.stop_at or time.time()
        for m in (self.machine, self.target):
            if m is not None:
                m.kill()

    # -- migration -----------------------------------------------------------------------------

    async def prepare_target(self, uid: str) -> None:
        try:
            paused = False
            if self.machine is not None:
                status = await self.machine.command("query-status")
                paused = (status or {}).get("status") == "paused"
            self.target = await self._start_machine(incoming=True, paused=paused)
            self.migration.update(state="target-ready", ready_at=now_iso())
        except (LaunchError, OSError) as e:
            self.migration.update(state="failed", error=f"target QEMU: {e}")
        self.runtime.kick()

    async def run_migration(self) -> None:
        src, dst = self.machine, self.target
        if src is None or dst is None:
            self.migration.update(state="failed", error="no QEMU to migrate")
            return
        try:
            await src.command("migrate-set-parameters", **{"max-bandwidth": MIGRATION_BANDWIDTH})
            await src.command("migrate", uri=f"unix:{dst.migrate_path}")
            while True:
                info = await src.command("query-migrate") or {}
                status = info.get("status")
                self.migration["qemu"] = info
                if status == "completed":
                    break
                if status in ("failed", "cancelled"):
                    raise LaunchError(info.get("error-desc") or f"migration {status}")
                if dst.returncode is not None:
                    raise LaunchError(f"the target QEMU exited: {dst.failure() or dst.returncode}")
                await asyncio.sleep(0.05)
            # the guest runs on the target now: its serial line and the machine everything goes to
            self.retired.add(src)
            self.machine, self.target = dst, None
            self.hub.machine = dst
            self.migration.update(state="completed")
            ram = (self.migration["qemu"].get("ram") or {})
            _log(f"guest {self.ns}/{self.name}: migrated in {self.migration['qemu'].get('total-time')} ms "
                 f"(downtime {self.migration['qemu'].get('downtime')} ms, {ram.get('transferred', 0) >> 20} MiB)")
            await src.stop()
        except Exception as e:  # noqa: BLE001 - QMP errors, QEMU gone: the migration failed
            self.migration.update(state="failed", error=str(e) or type(e).__name__)
            if self.target is not None:
                self.retired.add(self.target)
                self.target.kill()
                self.target = None
        finally:
            self.runtime.kick()

    # -- what the stream endpoints use ---------------------------------------------------------

    async def console(self) -> Any:
        return self.hub.open()

    def _running(self) -> Machine:
        if self.state != "running" or self.machine is None:
            raise GuestUnavailable("the guest is not running")
        return self.machine

    async def vnc(self) -> Any:
        m = self._running()
        try:
            reader, writer = await asyncio.open_unix_connection(m.vnc_path, limit=1 << 20)
        except OSError as e:
            raise GuestUnavailable(f"connecting to VNC: {e.strerror or e}") from None
        return SocketStream(reader, writer)

    async def screenshot(self, move_cursor: bool) -> bytes:
        m = self._running()
        try:
            width, height, rgb = await rfbclient.grab(m.vnc_path, move_cursor)
        except (OSError, rfbclient.RFBClientError, TimeoutError) as e:
            raise GuestUnavailable(f"failed to take a screenshot: {e}") from None
        return encode_png(width, height, rgb)

    async def dial(self, port: int, proto: str) -> Any:
        if self.link is None or self.state != "running":
            raise GuestUnavailable(f"dial {proto} {self.runtime.guest_ip(self)}:{port}: connect: connection refused")
        if proto == "udp":
            return _UdpStream(self.link.udp_socket(port))
        try:
            return _TcpStream(await self.link.connect(port))
        except netstack.DialError as e:
            raise GuestUnavailable(str(e)) from None

    def close(self) -> None:
        self.hub.end_all()
        if self.link is not None:
            self.link.close()


# ----------------------------------------------------------------------------------------------
# all guests of one simulator


class QemuRuntime:
    def __init__(self, sim: Any, accel: str = "tcg") -> None:
        self.sim = sim
        self.accel = accel
        self.guests: dict[str, QemuGuest] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.counter = 0
        self._folder: Path | None = None
        self._image: asyncio.Future[image.BaseImage] | None = None
        self._sweep_due = False
        self.closing = False
        sim.store.subscribe(lambda *_: self._sweep_soon())

    # -- helpers -------------------------------------------------------------------------------

    def kick(self) -> None:
        controllers = getattr(self.sim, "controllers", None)
        if controllers is not None:
            controllers.kick()

    def folder(self) -> Path:
        if self._folder is None:
            self._folder = machine.make_run_folder()
        return self._folder

    async def base_image(self) -> image.BaseImage:
        if self._image is None:
            loop = asyncio.get_running_loop()
            self._image = asyncio.ensure_future(loop.run_in_executor(None, image.base_image, _log))
        return await asyncio.shield(self._image)

    def prepare(self) -> None:
        async def warm() -> None:
            try:
                await self.base_image()
            except (debs.FetchError, image.BuildError, OSError) as e:
                self._image = None  # the first guest tries again and reports it
                _log(f"guest image: {e}")

        self._spawn(warm())

    def has(self, vmi: dict[str, Any]) -> bool:
        return (vmi.get("metadata") or {}).get("uid") in self.guests

    def _by_name(self, ns: str, name: str) -> QemuGuest | None:
        return next((g for g in self.guests.values() if g.ns == ns and g.name == name and g.state == "running"), None)

    def guest_ip(self, g: QemuGuest) -> str:
        return g.link.guest_ip_text if g.link else ""

    def config_for(self, vmi: dict[str, Any]) -> tuple[image.GuestConfig, MachineSpec]:
        md, spec = vmi["metadata"], vmi.get("spec") or {}
        domain = spec.get("domain") or {}
        ns, uid = md["namespace"], md["uid"]
        ifaces = (domain.get("devices") or {}).get("interfaces") or []
        masquerade = bool(ifaces) and isinstance(ifaces[0], dict) and "masquerade" in ifaces[0]
        if masquerade:
            ip, gateway = MASQUERADE_IP, MASQUERADE_GATEWAY
        else:
            pod_ips = getattr(getattr(self.sim, "controllers", None), "pod_ips", {}) or {}
            ip = pod_ips.get(uid) or "10.0.2.2"
            gateway = ip.rsplit(".", 1)[0] + ".1"
        mac = (ifaces[0].get("macAddress") if ifaces and isinstance(ifaces[0], dict) else None) or guest_mac(uid)
        passwords = cloudinit.credentials_from_vmi(vmi)
        secret_res = self.sim.res("Secret")
        keys = cloudinit.authorized_keys(vmi, lambda name: self.sim.store.get(secret_res, ns, name))
        names = ["root"] + sorted(set(passwords or {}) | set(keys) - {"root"})
        users = [image.User(n, (passwords or {}).get(n), keys.get(n, [])) for n in names]
        seed = hashlib.sha256(f"pyvirtctl guest host key {uid}".encode()).digest()
        cfg = image.GuestConfig(hostname=str(spec.get("hostname") or md["name"]), ip=ip, prefix=24, gateway=gateway,
                                mac=mac, mtu=MTU, users=users, any_password=passwords is None, host_key=seed)
        cpu = domain.get("cpu") or {}
        cpus = max(1, min(2, int(cpu.get("cores") or 1) * int(cpu.get("sockets") or 1) * int(cpu.get("threads") or 1)))
        mem = _mib(((domain.get("resources") or {}).get("requests") or {}).get("memory")) or \
            _mib((domain.get("memory") or {}).get("guest")) or 256
        uuid = str(((domain.get("firmware") or {}).get("uuid")) or "") or None
        mspec = MachineSpec(name=f"{ns}_{md['name']}", memory_mib=max(128, min(1024, mem)), cpus=cpus,
                            uuid=uuid or _uuid_from(uid), mac=mac, mtu=MTU, accel=self.accel)
        return cfg, mspec

    # -- controllers ---------------------------------------------------------------------------

    def launch(self, vmi: dict[str, Any]) -> tuple[str, str]:
        uid = vmi["metadata"]["uid"]
        g = self.guests.get(uid)
        if g is None:
            if machine.qemu_binary() is None:
                return "failed", f"QEMU is not installed: {machine.INSTALL_HINT}"
            g = QemuGuest(self, vmi, self.folder() / f"g{len(self.guests) + self.counter + 1}")
            self.guests[uid] = g
            task = asyncio.ensure_future(g.launch(vmi))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return "wait", ""
        if g.state == "running":
            return "ready", ""
        if g.state == "failed":
            return "failed", g.error
        if g.state == "off":
            return "failed", "the guest was stopped before it started"
        return "wait", ""

    def stopped(self, vmi: dict[str, Any]) -> bool:
        uid = vmi["metadata"]["uid"]
        g = self.guests.get(uid)
        if g is None:
            return True
        if g.state in ("off", "failed") and (g.machine is None or g.machine.returncode is not None):
            self._forget(uid)
            return True
        grace = (vmi.get("spec") or {}).get("terminationGracePeriodSeconds")
        g.begin_stop(DEFAULT_GRACE if grace is None else int(grace))
        return False

    def migration(self, vmi: dict[str, Any], mig: dict[str, Any], phase: str) -> tuple[str, str]:
        g = self.guests.get(vmi["metadata"]["uid"])
        if g is None or g.state != "running":
            return "failed", "the guest is not running"
        mid = mig["metadata"]["uid"]
        if g.migration.get("uid") != mid:
            if g.target is not None:
                return "wait", ""  # another migration's target is still there
            g.migration = {"uid": mid, "state": "new"}
        m = g.migration
        if m["state"] == "failed":
            return "failed", m.get("error", "migration failed")
        if phase == "TargetReady":
            if m["state"] == "new":
                m["state"] = "preparing"
                self._spawn(g.prepare_target(mid))
            return ("go", "") if m["state"] == "target-ready" else ("wait", "")
        if phase == "Running":
            if m["state"] == "target-ready":
                m["state"] = "migrating"
                self._spawn(g.run_migration())
            return "go", ""
        if phase == "Succeeded":
            return ("go", "") if m["state"] == "completed" else ("wait", "")
        return "go", ""

    def migration_report(self, vmi: dict[str, Any]) -> dict[str, Any]:
        """What QEMU said about the VMI's last migration (for status.migrationState)."""
        g = self.guests.get(vmi["metadata"]["uid"])
        if g is None or not g.migration:
            return {}
        out: dict[str, Any] = {}
        if g.migration.get("ready_at"):
            out["targetNodeDomainDetected"] = True
            out["targetNodeDomainReadyTimestamp"] = g.migration["ready_at"]
        if g.migration.get("state") == "failed":
            out["failureReason"] = g.migration.get("error", "")
        return out

    async def action(self, vmi: dict[str, Any], what: str) -> str | None:
        g = self.guests.get(vmi["metadata"]["uid"])
        if g is None or g.machine is None or g.state != "running":
            return "the guest is not running"
        m = g.machine
        try:
            if what == "pause":
                await m.command("stop")
            elif what == "unpause":
                await m.command("cont")
            elif what == "reset":
                await m.command("system_reset")
            elif what == "softreboot":
                g.fake_reboot = True
                await m.command("system_powerdown")
        except Exception as e:  # noqa: BLE001 - QMP errors are the answer
            return str(e)
        return None

    def vmi_event(self, g: QemuGuest, reason: str, message: str, etype: str = "Normal") -> None:
        vmi = self.sim.store.get(self.sim.res("VirtualMachineInstance"), g.ns, g.name)
        if vmi is not None and vmi["metadata"].get("uid") == g.uid:
            self.sim.controllers.event(vmi, reason, message, etype, component="virt-handler")

    def finish_vmi(self, g: QemuGuest, phase: str, reason: str, message: str) -> None:
        res = self.sim.res("VirtualMachineInstance")
        vmi = self.sim.store.get(res, g.ns, g.name)
        if vmi is None or vmi["metadata"].get("uid") != g.uid or (vmi.get("status") or {}).get("phase") in FINAL:
            return
        if vmi["metadata"].get("deletionTimestamp"):
            return  # being stopped: the controllers finish it

        def fn(o: dict[str, Any]) -> None:
            s = o.setdefault("status", {})
            s["phase"] = phase
            s.setdefault("phaseTransitionTimestamps", []).append({"phase": phase, "phaseTransitionTimestamp": now_iso()})
            if phase == "Failed":
                s["reason"] = reason
            set_condition(o, "Ready", "False", reason, message)
            remove_condition(o, "AgentConnected")
            remove_condition(o, "Paused")

        out = self.sim.store.mutate(res, g.ns, g.name, fn)
        if out is not None and phase == "Failed":
            self.sim.controllers.event(out, reason, message, "Warning", component="virt-handler")
        elif out is not None:
            self.sim.controllers.event(out, "Stopped", "The VirtualMachineInstance was shut down.",
                                       component="virt-handler")

    # -- guest agent data ----------------------------------------------------------------------

    def agent_data(self, ns: str, name: str) -> dict[str, Any] | None:
        g = self._by_name(ns, name)
        if g is None or g.base is None:
            return None
        from pyvirtctl.sim.guestagent import default_data

        data = default_data(name)
        os_info = data["guestosinfo"]["os"]
        os_info.update(name=image.OS_NAME, prettyName=image.OS_PRETTY, id="pyvirtctl-guest", version="1",
                       versionId="1", kernelRelease=g.base.release, kernelVersion=g.base.version, machine="x86_64")
        data["guestosinfo"]["hostname"] = name
        return data

    # -- stream endpoints ----------------------------------------------------------------------

    def guest(self, vmi: dict[str, Any]) -> QemuGuest | None:
        return self.guests.get((vmi.get("metadata") or {}).get("uid"))

    # -- housekeeping --------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _forget(self, uid: str) -> None:
        g = self.guests.pop(uid, None)
        if g is not None:
            g.kill()
            g.close()
            self._remove_folder_later(g)

    def _remove_folder_later(self, g: QemuGuest) -> None:
        import shutil

        async def remove() -> None:
            for m in (g.machine, g.target):
                if m is not None and m.returncode is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(m.exited.wait(), 5)
            shutil.rmtree(g.folder, ignore_errors=True)

        self._spawn(remove())

    def _sweep_soon(self) -> None:
        if self._sweep_due or not self.guests:
            return
        self._sweep_due = True
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_soon(self._sweep)

    def _sweep(self) -> None:
        """Kill the guests whose VMI is gone (deleted outright, garbage-collected, replaced)."""
        self._sweep_due = False
        res = self.sim.res("VirtualMachineInstance")
        for uid, g in list(self.guests.items()):
            vmi = self.sim.store.get(res, g.ns, g.name)
            if vmi is None or vmi["metadata"].get("uid") != uid:
                self._forget(uid)

    def reset(self) -> None:
        for uid in list(self.guests):
            self._forget(uid)

    async def close(self) -> None:
        self.closing = True
        guests = list(self.guests.values())
        self.guests.clear()
        for g in guests:
            g.kill()
            g.close()
        for g in guests:
            for m in (g.machine, g.target):
                if m is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(m.exited.wait(), 5)
        for task in list(self.tasks):
            task.cancel()
        if self._folder is not None:
            import shutil

            shutil.rmtree(self._folder, ignore_errors=True)


def _mib(q: Any) -> int:
    if not isinstance(q, str) or not q:
        return 0
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 10**3, "M": 10**6, "G": 10**9}
    for suffix, mult in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if q.endswith(suffix):
            try:
                return int(float(q[: -len(suffix)]) * mult) >> 20
            except ValueError:
                return 0
    try:
        return int(q) >> 20
    except ValueError:
        return 0


def _uuid_from(uid: str) -> str:
    h = hashlib.sha1(uid.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def probe_environment() -> str | None:
    """None when QEMU guests can run here, else the one line saying what to install."""
    if machine.qemu_binary() is None:
        return f"--guests qemu needs QEMU: {machine.INSTALL_HINT}"
    if not os.path.isdir("/usr/share/qemu") and not os.path.isdir("/usr/share/seabios"):
        return f"--guests qemu needs QEMU's firmware: {machine.INSTALL_HINT}"
    return None
