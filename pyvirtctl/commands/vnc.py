"""vnc VMI and vnc screenshot VMI (virtctl.md §2.18-2.19, streaming.md §3).

`vnc` opens the VMI's VNC websocket first, then listens on a local TCP port and splices one
client through; without `--proxy-only` it starts a viewer (virtctl's search order and argument
forms). Differences from virtctl (for the README):
- like `console`, it waits while virt-api answers 400 `VMI is not running` (`--timeout`, minutes,
  default 5; 0 = one attempt), but fails at once on `No graphics devices are present.`;
- a viewer that exits with a failure is reported on stderr as an error log line with its output
  (virtctl logs the same line) and the exit status stays 0, as with virtctl;
- the viewer is terminated when the session ends (virtctl leaves that to a race).
"""

from __future__ import annotations

import glob as _glob
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl import log
from pyvirtctl.completion import complete_vmi_names
from pyvirtctl.errors import CLIError
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube.flags import format_go_duration
from pyvirtctl.kubevirt.requests import screenshot_request, vmi_get_request, vnc_stream
from pyvirtctl.runtime import session

ACCEPT_TIMEOUT = 60.0
TIGER_MAC = "/Applications/TigerVNC.app/Contents/MacOS/vncviewer"
TIGER_MAC_GLOB = "/Applications/TigerVNC Viewer *.app/Contents/MacOS/TigerVNC Viewer"
CHICKEN_MAC = "/Applications/Chicken.app/Contents/MacOS/Chicken"
REAL_MAC = "/Applications/VNC Viewer.app/Contents/MacOS/vncviewer"
EXAMPLE = "  # Connect to 'testvmi' via remote-viewer:\n   {{ProgramName}} vnc testvmi"
SCREENSHOT_EXAMPLE = (
    "   # Take a VNC screenshot of 'testvmi' in png format:\n"
    "   {{ProgramName}} vnc screenshot testvmi -f screenshot.png\n"
    "\n"
    '   # Take a VNC screenshot of \'testvmi\' in png format and pipe it through "display" to show it right away:\n'
    "   {{ProgramName}} vnc screenshot testvmi -f - | display"
)


@dataclass(frozen=True)
class VncOptions:
    name: str
    address: str = "127.0.0.1"
    port: int = 0
    proxy_only: bool = False
    preserve_session: bool = False
    vnc_type: str = ""
    vnc_path: str = ""
    timeout: int = 5


@dataclass(frozen=True)
class Viewer:
    kind: str  # tiger, chicken, real, remote-viewer
    binary: str


# --------------------------------------------------------------------------- pure parts


def goos() -> str:
    return {"linux": "linux", "darwin": "darwin", "win32": "windows"}.get(sys.platform, sys.platform)


def _path_lookup(binary: str, which: Callable[[str], str | None]) -> str:
    found = which(binary)
    if not found:
        raise CLIError(f'could not find {binary} in $PATH: exec: "{binary}": executable file not found in $PATH')
    return found


def find_viewer(
    vnc_type: str,
    vnc_path: str,
    os_name: str,
    which: Callable[[str], str | None] = shutil.which,
    exists: Callable[[str], bool] = os.path.exists,
    glob: Callable[[str], list[str]] = _glob.glob,
) -> Viewer:
    """virtctl's viewer choice: explicit --vnc-type (+ --vnc-path), else the per-OS search order."""
    if vnc_type:
        kinds = {"tiger": "vncviewer", "remote-viewer": "remote-viewer", "chicken": CHICKEN_MAC, "real": REAL_MAC}
        if vnc_type not in kinds:
            raise CLIError(f"unsupported vnc-type: {vnc_type}")
        if os_name in ("linux", "windows") and vnc_type not in ("tiger", "remote-viewer"):
            raise CLIError(f"unsupported vnc-type for {os_name}: {vnc_type}")
        if os_name not in ("linux", "windows", "darwin"):
            raise CLIError(f"unsupported vnc-type for {os_name}: {vnc_type}")
        if vnc_path:
            if not exists(vnc_path):
                raise CLIError(f"specified VNC path does not exist: {vnc_path}")
            return Viewer(vnc_type, vnc_path)
        binary = kinds[vnc_type]
        if binary.startswith("/"):
            if not exists(binary):
                raise CLIError(f"could not find {binary} in $PATH: stat {binary}: no such file or directory")
            return Viewer(vnc_type, binary)
        return Viewer(vnc_type, _path_lookup(binary, which))
    if os_name in ("linux", "windows"):
        for binary, kind in (("remote-viewer", "remote-viewer"), ("vncviewer", "tiger")):
            found = which(binary)
            if found:
                return Viewer(kind, found)
        raise CLIError("could not find remote-viewer or vncviewer binary in $PATH")
    if os_name == "darwin":
        if exists(TIGER_MAC):
            return Viewer("tiger", TIGER_MAC)
        matches = sorted(glob(TIGER_MAC_GLOB))
        if matches:
            return Viewer("tiger", matches[-1])
        if exists(CHICKEN_MAC):
            return Viewer("chicken", CHICKEN_MAC)
        if exists(REAL_MAC):
            return Viewer("real", REAL_MAC)
        found = which("remote-viewer")
        if found:
            return Viewer("remote-viewer", found)
        raise CLIError("no supported VNC app found for darwin")
    raise CLIError(f"virtctl does not support VNC on {os_name}")


def viewer_args(viewer: Viewer, address: str, port: int) -> list[str]:
    target = f"{address}:{port}"
    if viewer.kind == "remote-viewer":
        return [viewer.binary, f"vnc://127.0.0.1:{port}"]
    if viewer.kind == "real":
        return [viewer.binary, target, "-WarnUnencrypted=0", "-Shared=0", "-ShareFiles=0"]
    return [viewer.binary, target]


def is_paused(vmi: dict) -> bool:
    return any(c.get("type") == "Paused" for c in (vmi.get("status") or {}).get("conditions") or [])


# --------------------------------------------------------------------------- the proxy


def _listen(address: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(address, port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except socket.gaierror:
        raise CLIError(f"can't resolve the address: lookup {address}: no such host") from None
    family, _, _, _, addr = infos[0]
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        lsock.bind(addr)
        lsock.listen(1)
    except OSError as exc:
        lsock.close()
        host = f"[{addr[0]}]" if family == socket.AF_INET6 else addr[0]
        raise CLIError(
            f"can't listen on unix socket: listen tcp {host}:{port}: bind: {(exc.strerror or str(exc)).lower()}"
        ) from None
    return lsock


class _Session:
    """Everything that can end the command; the first event wins."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: CLIError | None = None
        self.lock = threading.Lock()
        self.client: socket.socket | None = None
        self.pumps: list[threading.Thread] = []  # started copy loops only
        self.stopping = False  # no copy loop starts once set

    def stop_pumps(self, conn: Any) -> None:
        """End both copy loops and wait for them, then free the websocket: closing it while a reader is
        still inside OpenSSL would let that thread read from whatever reuses the descriptor next.
        A signal may arrive while the accepting thread is starting the loops: the lock makes that
        thread either finish starting both (and they are joined here) or start none."""
        with self.lock:
            self.stopping = True
            pumps = list(self.pumps)
        conn.wake()
        if self.client is not None:
            try:
                self.client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in pumps:
            t.join(2.0)
        if self.client is not None:
            self.client.close()
        conn.close()

    def finish(self, error: CLIError | None = None) -> None:
        with self.lock:
            if not self.done.is_set():
                self.error = error
                self.done.set()


def _run_viewer(args: list[str], state: _Session, procs: list) -> None:
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        log.error(f"{os.path.basename(args[0])} execution failed: {exc}, output: ", "vnc.go:235")
        state.finish()
        return
    procs.append(proc)
    out, _ = proc.communicate()
    text = out.decode("utf-8", "replace")
    name = os.path.basename(args[0])
    if proc.returncode and not state.done.is_set():
        log.error(f"{name} execution failed: exit status {proc.returncode}, output: {text}", "vnc.go:235")
    elif not state.done.is_set():
        log.info(f"{name} output: {text}", "vnc.go:238")
    state.finish()


def _splice(conn: Any, client: socket.socket, state: _Session) -> None:
    from pyvirtctl.streams.websocket import StreamClosed

    def ws_to_client() -> None:
        try:
            while True:
                data = conn.recv(merge=True)
                if data is None:
                    state.finish()
                    return
                client.sendall(data)
        except StreamClosed as exc:
            state.finish(CLIError(f"error encountered: {exc}"))
        except OSError:
            state.finish()

    def client_to_ws() -> None:
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    state.finish()
                    return
                conn.send(data)
        except StreamClosed as exc:
            state.finish(CLIError(f"error encountered: {exc}"))
        except OSError:
            state.finish()

    with state.lock:
        if state.stopping:  # the command is ending (a signal, a viewer that exited): no copy loops
            client.close()
            return
        state.client = client
        for fn in (ws_to_client, client_to_ws):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            state.pumps.append(t)


def open_vnc(o: VncOptions, s: Any) -> Any:
    from pyvirtctl.streams.console import NO_GRAPHICS, open_when_ready
    from pyvirtctl.streams.websocket import open_subresource

    try:
        stream = vnc_stream(s.namespace, o.name, o.preserve_session)
        return open_when_ready(
            lambda: open_subresource(s, stream.path, stream.query), o.timeout, permanent=(NO_GRAPHICS,)
        )
    except CLIError as e:
        raise e.wrap(f"can't access VMI {o.name}: ") from None


def run_vnc(o: VncOptions, s: Any, out: Any = None) -> int:
    out = out or sys.stdout
    try:
        conn = open_vnc(o, s)
    except KeyboardInterrupt:
        return 0
    procs: list[subprocess.Popen] = []
    state = _Session()
    lsock: socket.socket | None = None
    try:
        address = o.address
        if not o.proxy_only:
            log.info("--proxy-only is set to false, listening on 127.0.0.1\n", "vnc.go:171")
            address = "127.0.0.1"
        lsock = _listen(address, o.port)
        port = lsock.getsockname()[1]
        log.info("connection timeout: 1m0s", "vnc.go:189")
        if o.proxy_only:
            out.write(json.dumps({"port": port}, separators=(",", ":")) + "\n")
            out.flush()
        else:
            try:
                viewer = find_viewer(o.vnc_type, o.vnc_path, goos())
            except CLIError as e:
                raise e.wrap("error encountered: ") from None
            args = viewer_args(viewer, address, port)
            threading.Thread(target=_run_viewer, args=(args, state, procs), daemon=True).start()
        started = time.monotonic()
        threading.Thread(
            target=_accept, args=(lsock, state, None if o.proxy_only else ACCEPT_TIMEOUT, conn, s, o, started),
            daemon=True,
        ).start()
        while not state.done.wait(0.2):
            pass
        if state.error is not None:
            raise state.error
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        state.stop_pumps(conn)
        if lsock is not None:
            lsock.close()
        for p in procs:
            if p.poll() is None:
                p.terminate()


def _accept(lsock: socket.socket, state: _Session, timeout: float | None, conn: Any, s: Any, o: VncOptions,
            started: float) -> None:
    lsock.settimeout(timeout)
    try:
        client, _ = lsock.accept()
    except TimeoutError:
        host, port = lsock.getsockname()[:2]
        state.finish(CLIError(f"error encountered: accept tcp {host}:{port}: i/o timeout"))
        return
    except OSError:
        state.finish()
        return
    client.settimeout(None)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lsock.close()  # one client per run
    log.info(f"VNC Client connected in {format_go_duration(time.monotonic() - started)}", "vnc.go:212")
    try:
        vmi = s.send(vmi_get_request(s.namespace, o.name)).json()
        if is_paused(vmi or {}):
            sys.stderr.write(f"\rWarning: {o.name} is paused. Console will be active after unpause.\n")
            sys.stderr.flush()
    except CLIError:
        pass
    _splice(conn, client, state)


# --------------------------------------------------------------------------- screenshot


def run_screenshot(s: Any, name: str, file: str, move_cursor: bool) -> None:
    try:
        request = screenshot_request(s.namespace, name, move_cursor)
        body = s.send(request).body
    except CLIError as e:
        raise e.wrap(f"Can't access VMI {name}: ") from None
    if file == "-":
        try:
            sys.stdout.flush()
            sys.stdout.buffer.write(body)
            sys.stdout.buffer.flush()
        except OSError as exc:
            raise CLIError(f"failed to write image to stdout: write /dev/stdout: {(exc.strerror or str(exc)).lower()}") from None
        return
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
    except OSError as exc:
        raise CLIError(f"Can't write image to a file: open {file}: {(exc.strerror or str(exc)).lower()}") from None


# --------------------------------------------------------------------------- Typer adapters


def _client(ctx: typer.Context) -> Any:
    return session(ctx, error_prefix="cannot obtain KubeVirt client: ")


@go_command(
    "vnc",
    use="vnc (VMI)",
    short="Open a vnc connection to a virtual machine instance.",
    example=EXAMPLE,
    args=exact_args(1),
    subcommands=[("screenshot", "Create a VNC screenshot of a virtual machine instance.")],
)
def vnc_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=complete_vmi_names)],
    address: Annotated[
        str,
        typer.Option(
            "--address",
            help="--address=127.0.0.1: Setting this will change the listening address of the VNC server. "
            "Example: --address=0.0.0.0 will make the server listen on all interfaces.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            help="--port=0: Assigning a port value to this will try to run the proxy on the given port if the "
            "port is accessible; If unassigned, the proxy will run on a random port",
        ),
    ] = 0,
    preserve_session: Annotated[
        bool,
        typer.Option(
            "--preserve-session",
            help="--preserve-session: This option will preserve an existing VNC session instead of dropping it.",
        ),
    ] = False,
    proxy_only: Annotated[
        bool,
        typer.Option(
            "--proxy-only",
            help="--proxy-only=false: Setting this true will run only the virtctl vnc proxy and show the port "
            "where VNC viewers can connect",
        ),
    ] = False,
    vnc_path: Annotated[
        str,
        typer.Option(
            "--vnc-path",
            help="--vnc-path=/path/to/vnc: Specify the path to the VNC viewer executable. Optional if the "
            "binary is in $PATH",
        ),
    ] = "",
    vnc_type: Annotated[
        str,
        typer.Option(
            "--vnc-type",
            autocompletion=comp.complete_vnc_types,
            help="--vnc-type=tiger: Specify the type of VNC viewer to use (tiger, chicken, real, remote-viewer). "
            "If --vnc-path is not provided, the binary is looked up in $PATH",
        ),
    ] = "",
    timeout: Annotated[
        int,
        typer.Option(
            "--timeout",
            help="The number of minutes to wait for the virtual machine instance to be ready (0: do not wait).",
        ),
    ] = 5,
) -> None:
    s = _client(ctx)
    o = VncOptions(args[0], address, port, proxy_only, preserve_session, vnc_type, vnc_path, timeout)
    code = run_vnc(o, s)
    if code:
        raise typer.Exit(code)


@go_command(
    "vnc screenshot",
    use="screenshot (VMI)",
    short="Create a VNC screenshot of a virtual machine instance.",
    example=SCREENSHOT_EXAMPLE,
    args=exact_args(1),
)
def screenshot_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=complete_vmi_names)],
    file: Annotated[
        str, typer.Option("--file", "-f", help="where to store the VNC screenshot in PNG format. User '-' for stdout")
    ] = ...,  # type: ignore[assignment]  # required: Typer's marker
    move_cursor: Annotated[
        bool,
        typer.Option("--move-cursor", "-m", help="move the cursor to wake up the screen in case of screensavers"),
    ] = False,
) -> None:
    s = _client(ctx)
    run_screenshot(s, args[0], file, move_cursor)
