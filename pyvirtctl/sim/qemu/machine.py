"""One QEMU process, and the run folders the machines' sockets live in.

QEMU connects to the simulator, not the other way round: before it starts, the machine listens on
unix sockets for the serial line and the monitor (QMP), and the guest's network link listens for
`-netdev stream`; QEMU opens them at start-up, so not a byte of the boot is lost and no socket
file has to be polled for. Only VNC is served by QEMU (`-vnc unix:`), one connection per viewer.

The serial line is read at all times (a QEMU whose serial socket is not drained stalls the
guest) and handed to ``serial_sink``; only one client may hold it, which is the simulator.
QEMU runs in its own session (terminal signals do not reach it) with PR_SET_PDEATHSIG, so a
simulator that dies takes its guests along.

Socket paths must stay under 108 bytes: the run folder is short (`/tmp/pyvirtctl-qemu-<uid>/
s<pid>/m<n>/`, or $XDG_RUNTIME_DIR when that is short enough). On start-up, folders of simulators
that are gone are removed, after killing any QEMU whose command line names that folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .qmp import QMP

QEMU = "qemu-system-x86_64"
INSTALL_HINT = "apt-get install --no-install-recommends qemu-system-x86 busybox-static"
MAX_SOCKET_PATH = 107
SERIAL_GATHER = 0.002  # seconds of serial output sent on as one piece


class LaunchError(RuntimeError):
    pass


def qemu_binary() -> str | None:
    return shutil.which(QEMU)


# ----------------------------------------------------------------------------------------------
# run folders


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def run_root() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and len(runtime) < 40 and os.access(runtime, os.W_OK):
        return Path(runtime) / "pyvirtctl-qemu"
    return Path("/tmp") / f"pyvirtctl-qemu-{os.getuid()}"


def make_run_folder() -> Path:
    """This simulator's folder (stale ones of dead simulators are cleaned up first)."""
    root = run_root()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    clean_stale(root)
    folder = root / f"s{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    return folder


def clean_stale(root: Path) -> None:
    for entry in root.iterdir():
        if not entry.name.startswith("s") or not entry.name[1:].isdigit():
            continue
        pid = int(entry.name[1:])
        if pid == os.getpid() or b"pyvirtctl" in _cmdline(pid):
            continue  # a live simulator's folder
        marker = str(entry).encode()
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit() and marker in _cmdline(int(proc.name)):
                with contextlib.suppress(OSError):
                    os.kill(int(proc.name), signal.SIGKILL)
        shutil.rmtree(entry, ignore_errors=True)


class _SerialLine(asyncio.Protocol):
    """The simulator's end of the guest's serial socket.

    QEMU writes the serial output a byte per write, so every byte would cost a whole trip through
    the event loop, the console fan-out and a websocket frame (~20 KiB/s). Bytes are gathered for
    SERIAL_GATHER seconds and handed on together instead."""

    def __init__(self, sink: Callable[[bytes], None], connected: asyncio.Future) -> None:
        self.sink = sink
        self.connected = connected
        self.buf = bytearray()
        self.handle: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.connected.done():
            transport.close()  # one client per serial socket
            return
        self.transport = transport
        self.connected.set_result(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.handle is None:
            self.handle = asyncio.get_running_loop().call_later(SERIAL_GATHER, self.flush)

    def flush(self) -> None:
        self.handle = None
        if self.buf:
            data = bytes(self.buf)
            self.buf.clear()
            self.sink(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.flush()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the simulator (our parent) dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


# ----------------------------------------------------------------------------------------------
# one machine


@dataclass
class MachineSpec:
    name: str  # shown by `ps` and in QEMU's VNC desktop name
    memory_mib: int
    cpus: int
    uuid: str
    mac: str
    mtu: int
    accel: str = "tcg"


class Machine:
    def __init__(self, folder: Path, spec: MachineSpec, serial_sink: Callable[[bytes], None],
                 on_event: Callable[[Machine, str, dict[str, Any]], None],
                 log: Callable[[str], None] = lambda _m: None) -> None:
        self.folder = folder
        self.spec = spec
        self.serial_sink = serial_sink
        self.on_event = on_event
        self.log = log
        self.qmp_path = str(folder / "qmp.sock")
        self.serial_path = str(folder / "serial.sock")
        self.vnc_path = str(folder / "vnc.sock")
        self.migrate_path = str(folder / "migrate.sock")
        if len(self.migrate_path) > MAX_SOCKET_PATH:
            raise LaunchError(f"socket path too long for a unix socket: {self.migrate_path}")
        self.proc: asyncio.subprocess.Process | None = None
        self.qmp: QMP | None = None
        self.serial: _SerialLine | None = None
        self.exited = asyncio.Event()
        self.returncode: int | None = None
        self.events: list[str] = []  # QMP event names, in order
        self.shutdown_reason = ""  # of the first SHUTDOWN event: guest-shutdown, host-qmp-quit, ...
        self._servers: list[asyncio.AbstractServer] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def argv(self, kernel: Path, initrd: Path, append: str, link_path: str, incoming: bool,
             paused: bool) -> list[str]:
        s = self.spec
        accel = ["-accel", "kvm"] if s.accel == "kvm" else ["-accel", "tcg,tb-size=32"]
        argv = [QEMU, "-name", f"guest={s.name},debug-threads=off", "-machine", "q35", *accel,
                "-m", str(s.memory_mib), "-smp", str(s.cpus), "-uuid", s.uuid,
                "-nodefaults", "-no-user-config", "-display", "none",
                "-kernel", str(kernel), "-initrd", str(initrd), "-append", append,
                "-chardev", f"socket,id=serial0,path={self.serial_path}", "-serial", "chardev:serial0",
                "-chardev", f"socket,id=qmp,path={self.qmp_path}", "-mon", "chardev=qmp,mode=control",
                "-device", "VGA", "-vnc", f"unix:{self.vnc_path}",
                "-netdev", f"stream,id=net0,server=off,addr.type=unix,addr.path={link_path}",
                "-device", f"virtio-net-pci,netdev=net0,mac={s.mac},host_mtu={s.mtu}",
                "-device", "pvpanic-pci", "-action", "panic=pause", "-no-shutdown"]
        if paused:
            argv.append("-S")
        if incoming:
            argv += ["-incoming", f"unix:{self.migrate_path}"]
        return argv

    async def start(self, kernel: Path, initrd: Path, append: str, link_path: str, incoming: bool = False,
                    paused: bool = False, timeout: float = 30.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        got_qmp: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = loop.create_future()
        got_serial: asyncio.Future[_SerialLine] = loop.create_future()

        def accept(fut: asyncio.Future) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], None]:
            def cb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                if fut.done():
                    writer.close()
                else:
                    fut.set_result((reader, writer))
            return cb

        for path in (self.qmp_path, self.serial_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._servers.append(await asyncio.start_unix_server(accept(got_qmp), self.qmp_path, limit=1 << 20))
        self._servers.append(await loop.create_unix_server(lambda: _SerialLine(self.serial_sink, got_serial),
                                                           self.serial_path))
        argv = self.argv(kernel, initrd, append, link_path, incoming, paused)
        errlog = open(self.folder / "qemu.log", "wb")  # noqa: SIM115 - handed to the child
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=errlog, stderr=errlog,
                start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as e:
            raise LaunchError(f"cannot run {QEMU}: {e.strerror or e}") from None
        finally:
            errlog.close()
        self._spawn(self._reap())
        waiter = asyncio.ensure_future(self.exited.wait())
        both = asyncio.ensure_future(asyncio.gather(got_qmp, got_serial))
        try:
            futures: list[asyncio.Future[Any]] = [both, waiter]
            done, _ = await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if both not in done:
            both.cancel()
            self.kill()
            raise LaunchError(self.failure() or f"QEMU did not connect within {timeout:.0f} s")
        for server in self._servers:
            server.close()
        (qr, qw), self.serial = both.result()
        self.qmp = QMP(qr, qw, lambda name, data: self.on_event(self, name, data))
        try:
            await self.qmp.start()
        except Exception as e:
            self.kill()
            raise LaunchError(f"QEMU's monitor: {e}") from None

    def failure(self) -> str:
        """QEMU's last error line (from its log)."""
        try:
            lines = (self.folder / "qemu.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        lines = [ln for ln in lines if "module ui-" not in ln]
        return lines[-1] if lines else ""

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reap(self) -> None:
        assert self.proc is not None
        self.returncode = await self.proc.wait()
        self.exited.set()

    def write_serial(self, data: bytes) -> None:
        if self.serial is not None:
            self.serial.write(data)

    async def command(self, name: str, **args: Any) -> Any:
        if self.qmp is None:
            raise LaunchError("QEMU is not running")
        return await self.qmp.command(name, **args)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    async def stop(self, timeout: float = 5.0) -> None:
        """Quit QEMU (QMP `quit`, then SIGKILL) and wait for it."""
        if self.proc is None:
            return
        if self.proc.returncode is None and self.qmp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.qmp.command("quit"), 2)
        try:
            await asyncio.wait_for(self.exited.wait(), timeout)
        except TimeoutError:
            self.kill()
            await self.exited.wait()
        self.cleanup()

    def cleanup(self) -> None:
        if self.qmp is not None:
            self.qmp.close()
        for task in list(self._tasks):
            task.cancel()
        for server in self._servers:
            server.close()
        if self.serial is not None:
            self.serial.close()
        shutil.rmtree(self.folder, ignore_errors=True)
