"""`pods/attach` and `pods/exec` over websockets: Kubernetes' remote-command channel protocol.

Routes (GET with a websocket upgrade, as client-go's websocket executor and kubectl >= 1.30 send):

* ``/api/v1/namespaces/{ns}/pods/{name}/attach?container=&stdin=&stdout=&stderr=&tty=``
* ``/api/v1/namespaces/{ns}/pods/{name}/exec?command=...&container=&stdin=&stdout=&stderr=&tty=``

The same paths with POST (client-go's SPDY fallback) get the same checks and, when those pass,
``400 Upgrade request required`` - the simulator speaks no SPDY.

Checks before the upgrade, with kube-apiserver's words: the pod exists (404 ``pods "x" not found``),
the container is named when the pod has several and is one of them, at least one of
stdin/stdout/stderr is asked for, exec has a command, the pod is on a node (``pod x does not have a
host assigned``) and its container is running (otherwise the kubelet's ``container not found``).

The protocol (subprotocols ``v5.channel.k8s.io``, ``v4.channel.k8s.io``, ``channel.k8s.io``; the
client's order wins): every binary message starts with a channel byte - 0 stdin, 1 stdout,
2 stderr, 3 error, 4 resize (JSON ``{"Width":W,"Height":H}``) - and v5 adds 255 ``[255, n]``: the
client closed stream n. The server first sends an empty message on the lowest writable channel
(stdout) to say it is ready; at the end v4/v5 send a ``metav1.Status`` on channel 3 (``Success``,
or ``NonZeroExitCode`` with the exit code for exec) and close with code 1000.

What runs: attach joins the container's main process - a bash on the container's TTY, started
with the pod, that printed its prompt before anyone attached (so nothing shows until Enter).
When it exits (``exit``, Ctrl+D) the container ends and the pod completes. exec runs a new process:
``bash``/``sh`` with a TTY is an interactive shell, anything else one command line. The shell is
the guest shell of ``guest.py`` over a container filesystem: the pod's working directory, the PVC
it mounts (``disk.img`` with the bytes the simulator stores for the claim, or ``/dev/vda`` for a
block volume), the container's env, and ``stty size`` / ``tput cols|lines`` report the size from
the last resize message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from .guest import GuestFacts, Shell, _split
from .serial import Output, SerialLine

POD_PATH = "/api/v1/namespaces/{namespace}/pods/{name}"
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
SHELLS = ("bash", "sh", "/bin/bash", "/bin/sh", "/usr/bin/bash", "/entrypoint.sh")
BASH_VERSION = "5.1"
KNOWN_IDS = {0: "root", 107: "qemu"}  # the libguestfs-tools image's users and groups


# ---------------------------------------------------------------------------------------------- the shell


class ContainerShell(Shell):
    """The guest shell over a container's filesystem, with the terminal size and the container's user."""

    def __init__(self, pod: dict[str, Any], container: dict[str, Any], volume_size: Callable[[str], int | None]):
        self.sizes: dict[str, int] = {}
        self.columns, self.lines = 80, 24
        self.exit_code: int | None = None  # set when the shell exits
        spec = pod.get("spec") or {}
        sc = {**(spec.get("securityContext") or {}), **(container.get("securityContext") or {})}
        # the image runs as qemu (107); a user given without a group gets group 0, as with the CRI
        self.uid = int(sc.get("runAsUser", 107))
        self.gid = int(sc.get("runAsGroup", 0 if "runAsUser" in sc else 107))
        self.env = {str(e.get("name")): str(e.get("value", "")) for e in container.get("env") or []}
        self._pod, self._container, self._volume_size = pod, container, volume_size
        super().__init__(str((pod.get("metadata") or {}).get("name") or "pod"),
                         facts=lambda: GuestFacts(os_name="CentOS Stream", os_version="9", os_version_id="9",
                                                  pretty_name="CentOS Stream 9",
                                                  kernel_release="5.14.0-570.el9.x86_64"))
        self.user = KNOWN_IDS.get(self.uid, str(self.uid))
        self.cwd = str(container.get("workingDir") or self.env.get("HOME") or "/")
        if self.cwd not in self.fs:
            self.cmd_mkdir(["-p", self.cwd])

    def new_fs(self) -> dict[str, str | None]:
        fs = super().new_fs()
        for d in ("/usr/local/lib/guestfs/appliance", "/tmp/guestfs", "/home/guestfs"):
            parts = d.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                fs.setdefault("/" + "/".join(parts[:i]), None)
        fs["/entrypoint.sh"] = "#!/bin/bash\nexec bash\n"
        volumes = {v.get("name"): v for v in (self._pod.get("spec") or {}).get("volumes") or []}
        for mount in self._container.get("volumeMounts") or []:
            path = str(mount.get("mountPath") or "")
            if not path.startswith("/"):
                continue
            parts = path.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                fs.setdefault("/" + "/".join(parts[:i]), None)
            claim = ((volumes.get(mount.get("name")) or {}).get("persistentVolumeClaim") or {}).get("claimName")
            size = self._volume_size(str(claim)) if claim else None
            if size is not None:
                fs[path.rstrip("/") + "/disk.img"] = ""
                self.sizes[path.rstrip("/") + "/disk.img"] = size
        for dev in self._container.get("volumeDevices") or []:
            path = str(dev.get("devicePath") or "")
            if path.startswith("/dev/"):
                fs[path] = ""
                claim = ((volumes.get(dev.get("name")) or {}).get("persistentVolumeClaim") or {}).get("claimName")
                self.sizes[path] = (self._volume_size(str(claim)) if claim else None) or 0
        return fs

    def home(self, user: str | None = None) -> str:
        return "/root" if (user or self.user) == "root" else self.env.get("HOME", "/home/guestfs")

    def _ls_entries(self, entries: list[tuple[str, str]], long: bool) -> str:
        text = super()._ls_entries(entries, long)
        if not long:
            return text
        lines = text.splitlines(keepends=True)
        for i, (_, path) in enumerate(entries):
            if path in self.sizes:  # the disk image's real size instead of its (empty) text's
                m = re.match(r"^(\S+ \d+ \S+ \S+) +\d+ ", lines[i])
                if m:
                    lines[i] = f"{m.group(1)} {self.sizes[path]:>5} " + lines[i][m.end():]
        return "".join(lines)

    def cmd_id(self, args: list[str]) -> tuple[str, int]:
        def named(n: int) -> str:
            return f"{n}({KNOWN_IDS[n]})" if n in KNOWN_IDS else str(n)

        return f"uid={named(self.uid)} gid={named(self.gid)} groups={named(self.gid)}\n", 0

    def cmd_stty(self, args: list[str]) -> tuple[str, int]:
        if args == ["size"]:
            return f"{self.lines} {self.columns}\n", 0
        return f"speed 38400 baud; rows {self.lines}; columns {self.columns}; line = 0;\n", 0

    def cmd_tput(self, args: list[str]) -> tuple[str, int]:
        if args == ["cols"]:
            return f"{self.columns}\n", 0
        if args == ["lines"]:
            return f"{self.lines}\n", 0
        return "", 1

    def cmd_env(self, args: list[str]) -> tuple[str, int]:
        return "".join(f"{k}={v}\n" for k, v in self.env.items()), 0

    def run_line(self, line: str) -> tuple[str, bool]:
        """As the guest shell; `exit [N]` also sets `exit_code` (N, else the last status)."""
        text, ended = super().run_line(line)
        if ended:
            self.exit_code = self.status
            for _, words in _split(line):
                if words and words[0] == "exit":
                    try:
                        self.exit_code = int(words[1]) & 0xFF if len(words) > 1 else self.status
                    except ValueError:
                        self.exit_code = 2
                    break
        return text, ended


class ContainerTerminal(SerialLine):
    """A bash on the container's TTY: the serial line discipline without a login; exiting ends it."""

    def __init__(self, shell: ContainerShell) -> None:
        super().__init__(shell.hostname)
        self.shell: ContainerShell = shell
        self.state = "shell"

    @property
    def exit_code(self) -> int | None:
        return self.shell.exit_code

    def shell_prompt(self) -> bytes:
        return f"bash-{BASH_VERSION}{'#' if self.shell.uid == 0 else '$'} ".encode()

    def _logout(self) -> list[Output]:
        if self.shell.exit_code is None:  # Ctrl+D on an empty line
            self.shell.exit_code = self.shell.status
        return [b"exit\r\n"]


# ---------------------------------------------------------------------------------------------- checks


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "t", "true")


def _status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return web.json_response(body, status=code)


def _bad_request(message: str) -> web.Response:
    return _status(400, "BadRequest", message)


def precheck(pod: dict[str, Any] | None, name: str, query: Any, verb: str) -> tuple[dict[str, Any] | None,
                                                                               web.Response | None]:
    """(the container, None) when the request may go ahead, else (None, kube-apiserver's answer)."""
    if pod is None:
        return None, _status(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
    if not any(_truthy(query.get(k)) for k in ("stdin", "stdout", "stderr")):
        return None, _bad_request("you must specify at least 1 of stdin, stdout, stderr")
    if verb == "exec" and not query.getall("command", []):
        return None, _bad_request("you must specify at least one command for the container")
    containers = (pod.get("spec") or {}).get("containers") or []
    wanted = query.get("container", "")
    if not wanted:
        if len(containers) != 1:
            names = " ".join(str(c.get("name")) for c in containers)
            return None, _bad_request(f"a container name must be specified for pod {name}, choose one of: [{names}]")
        container = containers[0]
    else:
        found = [c for c in containers if c.get("name") == wanted]
        if not found:
            return None, _bad_request(f"container {wanted} is not valid for pod {name}")
        container = found[0]
    if not (pod.get("spec") or {}).get("nodeName"):
        return None, _bad_request(f"pod {name} does not have a host assigned")
    running = [cs for cs in (pod.get("status") or {}).get("containerStatuses") or []
               if cs.get("name") == container.get("name") and "running" in (cs.get("state") or {})]
    if (pod.get("status") or {}).get("phase") != "Running" or not running:
        # the kubelet's answer, passed through by the API server
        text = f'container not found ("{container.get("name")}")'
        return None, web.Response(status=500, text=text, content_type="text/plain")
    return container, None


# ---------------------------------------------------------------------------------------------- sessions


def status_body(exit_code: int | None, command: list[str]) -> bytes:
    """What v4/v5 send on the error channel: Success, or the exit code of an exec'd command."""
    if not exit_code:
        return json.dumps({"metadata": {}, "status": "Success"}, separators=(",", ":")).encode()
    message = (f"command terminated with non-zero exit code: error executing command [{' '.join(command)}],"
               f" exit code {exit_code}")
    return json.dumps({"metadata": {}, "status": "Failure", "message": message, "reason": "NonZeroExitCode",
                       "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}},
                      separators=(",", ":")).encode()


class PodProcesses:
    """The main process of each running container (what attach joins) and the open streams, keyed by
    (pod uid, container)."""

    def __init__(self) -> None:
        self.main: dict[tuple[str, str], ContainerTerminal] = {}
        self.streams: dict[tuple[str, str], dict[web.WebSocketResponse, web.Request]] = {}

    def reset(self) -> None:
        """Forget every process and cut every stream (as if the containers were killed)."""
        self.main.clear()
        for streams in self.streams.values():
            for request in streams.values():
                if request.transport is not None:
                    request.transport.close()
        self.streams.clear()


class PodStreams:
    """The attach and exec handlers. `backend` gives `get_pod(ns, name)`, `volume_size(ns, claim)` and
    `container_exited(ns, name, uid, container, exit_code)`."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.procs = PodProcesses()

    def register(self, app: web.Application) -> None:
        for verb in ("attach", "exec"):
            app.router.add_get(POD_PATH + "/" + verb, self._handler(verb))
            app.router.add_post(POD_PATH + "/" + verb, self._post_handler(verb))

    def _handler(self, verb: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.serve(request, verb)

        return handle

    def _post_handler(self, verb: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            ns, name = request.match_info["namespace"], request.match_info["name"]
            _, refusal = precheck(self.backend.get_pod(ns, name), name, request.query, verb)
            return refusal or _bad_request("Upgrade request required")

        return handle

    def _shell(self, ns: str, pod: dict[str, Any], container: dict[str, Any]) -> ContainerShell:
        return ContainerShell(pod, container, lambda claim: self.backend.volume_size(ns, claim))

    async def serve(self, request: web.Request, verb: str) -> web.StreamResponse:
        ns, name = request.match_info["namespace"], request.match_info["name"]
        pod = self.backend.get_pod(ns, name)
        container, refusal = precheck(pod, name, request.query, verb)
        if refusal is not None:
            return refusal
        assert pod is not None and container is not None
        q = request.query
        tty = _truthy(q.get("tty"))
        command = list(q.getall("command", []))
        uid = str(pod["metadata"].get("uid", ""))
        key = (uid, str(container.get("name")))
        ws = web.WebSocketResponse(protocols=PROTOCOLS, compress=False, autoping=True, max_msg_size=0)
        await ws.prepare(request)
        protocol = ws.ws_protocol or "channel.k8s.io"
        self.procs.streams.setdefault(key, {})[ws] = request
        watcher = asyncio.ensure_future(self._watch_pod(ws, ns, name, uid))
        try:
            ready = STDOUT if _truthy(q.get("stdout")) else STDERR if _truthy(q.get("stderr")) else ERROR
            await ws.send_bytes(bytes([ready]))  # "the streams are ready"
            code = 0
            if verb == "attach":
                term = self.procs.main.get(key)
                if term is None:
                    term = ContainerTerminal(self._shell(ns, pod, container))
                    self.procs.main[key] = term
                await self._interactive(ws, term, protocol, attach=True)
                if term.exit_code is not None:  # the container's main process ended
                    self.procs.main.pop(key, None)
                    self.backend.container_exited(ns, name, uid, key[1], term.exit_code)
                    await self._end_others(key, ws)
                # the kubelet reports no exit code for attach
            elif tty and command[0] in SHELLS and command[1:2] != ["-c"]:
                term = ContainerTerminal(self._shell(ns, pod, container))
                await ws.send_bytes(bytes([STDOUT]) + term.shell_prompt())
                code = await self._interactive(ws, term, protocol, attach=False)
            else:
                code = await self._batch(ws, self._shell(ns, pod, container), command, tty,
                                         _truthy(q.get("stderr")), _truthy(q.get("stdin")), protocol)
            if not ws.closed:
                if protocol != "channel.k8s.io":
                    await ws.send_bytes(bytes([ERROR]) + status_body(code, command))
                await ws.close(code=1000)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            watcher.cancel()
            self.procs.streams.get(key, {}).pop(ws, None)
        return ws

    async def _watch_pod(self, ws: web.WebSocketResponse, ns: str, name: str, uid: str) -> None:
        """The pod goes away (deleted, replaced): its containers are killed and the stream ends."""
        while not ws.closed:
            await asyncio.sleep(0.25)
            pod = self.backend.get_pod(ns, name)
            if pod is None or str(pod["metadata"].get("uid", "")) != uid:
                with contextlib.suppress(Exception):
                    await ws.send_bytes(bytes([ERROR]) + status_body(0, []))
                    await ws.close(code=1000)
                return

    async def _batch(self, ws: web.WebSocketResponse, shell: ContainerShell, command: list[str], tty: bool,
                     stderr: bool, stdin: bool, protocol: str) -> int:
        """A command without a terminal: one argv, `sh -c LINE`, or a shell reading lines from stdin."""

        async def emit(text: str, status: int) -> None:
            if tty:
                text = text.replace("\n", "\r\n")
            if text:
                channel = STDERR if status and stderr and not tty else STDOUT
                await ws.send_bytes(bytes([channel]) + text.encode())

        if command[0] not in SHELLS:
            text, status = shell.run(command)
            await emit(text, status)
            return status
        if command[1:2] == ["-c"]:
            text, _ = shell.run_line(command[2] if len(command) > 2 else "")
            await emit(text, shell.status)
            return shell.exit_code if shell.exit_code is not None else shell.status
        buf = b""
        while stdin and shell.exit_code is None:
            msg = await ws.receive()
            if msg.type is not WSMsgType.BINARY:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                continue
            data: bytes = msg.data
            if data[:1] == bytes([CLOSE]) and protocol == "v5.channel.k8s.io":
                if data[1:2] == bytes([STDIN]):
                    break  # stdin closed: the shell reads EOF
                continue
            if data[:1] != bytes([STDIN]):
                continue
            buf += data[1:]
            while b"\n" in buf and shell.exit_code is None:
                line, buf = buf.split(b"\n", 1)
                text, _ = shell.run_line(line.decode("utf-8", "replace"))
                await emit(text, shell.status)
        if buf.strip() and shell.exit_code is None:
            text, _ = shell.run_line(buf.decode("utf-8", "replace"))
            await emit(text, shell.status)
        return shell.exit_code if shell.exit_code is not None else shell.status

    async def _end_others(self, key: tuple[str, str], current: Any) -> None:
        """The main process ended: every other attached client's stream ends too."""
        for other in list(self.procs.streams.get(key, {})):
            if other is not current:
                with contextlib.suppress(Exception):
                    await other.send_bytes(bytes([ERROR]) + status_body(0, []))
                    await other.close(code=1000)

    async def _interactive(self, ws: web.WebSocketResponse, term: ContainerTerminal, protocol: str,
                           attach: bool) -> int:
        """Feed stdin to the terminal until the shell exits, stdin closes or the client goes away."""
        while term.exit_code is None:
            msg = await ws.receive()
            if msg.type is not WSMsgType.BINARY:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    return term.shell.status
                continue
            data: bytes = msg.data
            if not data:
                continue
            channel, payload = data[0], data[1:]
            if channel == STDIN:
                for item in term.feed(payload):
                    chunks = (item,) if isinstance(item, bytes) else item
                    for chunk in chunks:
                        await ws.send_bytes(bytes([STDOUT]) + chunk)
            elif channel == RESIZE:
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    size = json.loads(payload)
                    term.shell.columns = int(size.get("Width") or term.shell.columns)
                    term.shell.lines = int(size.get("Height") or term.shell.lines)
            elif channel == CLOSE and protocol == "v5.channel.k8s.io" and payload[:1] == bytes([STDIN]):
                if not attach:  # stdin closed: an exec'd shell reads EOF and exits
                    term.shell.exit_code = term.shell.status
        return term.exit_code if term.exit_code is not None else term.shell.status
