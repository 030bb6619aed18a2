"""Forward a local port to a pod's port through kube-apiserver's `pods/portforward` (client-go's way).

`PodForwarder(session, namespace, pod, ports, log)` dials
`GET /api/v1/namespaces/<ns>/pods/<pod>/portforward` as a websocket with the subprotocol
`SPDY/3.1+portforward.k8s.io` - the tunnelled SPDY that client-go (kubectl, virtctl v1.9.0) tries
first - and runs a SPDY session (`spdy.py`) over it. `start()` listens on "localhost" as
client-go does (127.0.0.1, and [::1] when the host has IPv6) and prints its lines to `log`:

    Forwarding from 127.0.0.1:41235 -> 8443
    Forwarding from [::1]:41235 -> 8443
    Handling connection for 41235

Each accepted connection gets two streams with the headers `streamtype` (`error`, then `data`),
`port` and `requestid` (0, 1, ...); bytes are copied both ways; when the pod's side finishes, the
data stream is reset and whatever the error stream carried is reported on `log`. `close()` stops
listening and ends the session.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import IO, Any

from pyvirtctl.errors import CLIError
from pyvirtctl.gotext import join_host_port
from pyvirtctl.kube import paths
from pyvirtctl.streams import spdy
from pyvirtctl.streams.websocket import dial_target

PROTOCOL = "portforward.k8s.io"
TUNNEL_PROTOCOL = "SPDY/3.1+" + PROTOCOL


def portforward_path(namespace: str, pod: str) -> str:
    return paths.ref(paths.PODS, namespace, pod, "portforward").path


class PodForwarder:
    def __init__(self, session: Any, namespace: str, pod: str, local: int, remote: int,
                 log: IO[str] | None = None) -> None:
        self.session = session
        self.namespace = namespace
        self.pod = pod
        self.local = local
        self.remote = remote
        self.log = log
        self._spdy: spdy.Session | None = None
        self._listeners: list[socket.socket] = []
        self._request_id = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()

    # ---- setup

    def dial(self) -> None:
        from pyvirtctl.streams.websocket import connect

        target = dial_target(self.session, portforward_path(self.namespace, self.pod))
        try:
            conn = connect(target, protocols=(TUNNEL_PROTOCOL,))
        except CLIError as e:
            raise CLIError(f"error upgrading connection: {e}") from None
        got = (conn.subprotocol or "").removeprefix("SPDY/3.1+")
        if got != PROTOCOL:
            conn.close()
            raise CLIError(f'unable to negotiate protocol: client supports "{PROTOCOL}", server returned "{got}"')
        self._spdy = spdy.Session(conn)
        threading.Thread(target=self._spdy.run, name="spdy-reader", daemon=True).start()

    def start(self) -> int:
        """Dial, listen, and serve connections in the background; returns the local port."""
        self.dial()
        port = self.local
        errors = []
        for host, family in (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)):
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((host, port))
                sock.listen(128)
            except OSError as e:
                errors.append(f"listen tcp {join_host_port(host, port)}: {e.strerror or e}")
                continue
            port = sock.getsockname()[1]
            self._listeners.append(sock)
            self._say(f"Forwarding from {join_host_port(host, port)} -> {self.remote}")
            threading.Thread(target=self._accept, args=(sock,), name="portforward-accept", daemon=True).start()
        if not self._listeners:
            self.close()
            raise CLIError("unable to listen on any of the requested ports: "
                           f"[{{{self.local} {self.remote}}}]: {'; '.join(errors)}")
        self.local = port
        return port

    def _say(self, line: str) -> None:
        if self.log is not None:
            try:
                self.log.write(line + "\n")
                self.log.flush()
            except (OSError, ValueError):
                pass

    # ---- connections

    def _accept(self, listener: socket.socket) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="portforward-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        session = self._spdy
        if session is None:
            conn.close()
            return
        self._say(f"Handling connection for {self.local}")
        with self._lock:
            rid = self._request_id
            self._request_id += 1
        headers = {"streamtype": "error", "port": str(self.remote), "requestid": str(rid)}
        error_text = bytearray()
        error_done = threading.Event()
        remote_done = threading.Event()

        def on_error(data: bytes) -> None:
            if data:
                error_text.extend(data)
            else:
                error_done.set()

        def on_data(data: bytes) -> None:
            if data:
                try:
                    conn.sendall(data)
                except OSError:
                    pass
            else:
                remote_done.set()
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_WR)

        try:
            err_stream = session.create_stream(headers, on_error)
            err_stream.close()  # nothing is written to the error stream
            data_stream = session.create_stream({**headers, "streamtype": "data"}, on_data)
        except CLIError as e:
            self._say(f"error creating forwarding stream for port {self.local} -> {self.remote}: {e}")
            conn.close()
            return

        def to_remote() -> None:
            try:
                while True:
                    chunk = conn.recv(64 * 1024)
                    if not chunk:
                        break
                    data_stream.write(chunk)
            except (OSError, CLIError):
                pass
            with contextlib.suppress(CLIError):
                data_stream.close()

        threading.Thread(target=to_remote, name="portforward-up", daemon=True).start()
        remote_done.wait()
        with contextlib.suppress(CLIError):
            data_stream.reset()
        error_done.wait(5.0)
        session.forget(err_stream)
        conn.close()
        if error_text:
            self._say(f"an error occurred forwarding {self.local} -> {self.remote}: {error_text.decode(errors='replace')}")

    def close(self) -> None:
        self._closed.set()
        for sock in self._listeners:
            with contextlib.suppress(OSError):
                sock.close()
        self._listeners.clear()
        if self._spdy is not None:
            self._spdy.close()
