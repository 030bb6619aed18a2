"""Port-forward plumbing: local TCP/UDP listeners and stdio, each side joined to a websocket tunnel.

A Tunnel is one websocket to `.../portforward/<port>/<proto>` (a pyvirtctl.streams.websocket.Conn):
`send` writes one binary message, `recv` returns the next one (None at a clean end) and raises a
CLIError with gorilla's text (`websocket: close 1006 (abnormal closure): unexpected EOF`) otherwise.
Every tunnel has one thread that is always reading it, so the server's keep-alive pings are answered
while data flows the other way (virt-api cuts a client that leaves pings unanswered for 60 s).

Differences from virtctl, on purpose: a failed dial drops only the connection that caused it (virtctl
stops accepting on that port for good), and with local port 0 the log line shows the port the system
picked (virtctl prints 0).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Protocol

from pyvirtctl import log
from pyvirtctl.errors import CLIError
from pyvirtctl.gotext import join_host_port
from pyvirtctl.streams.terminal import wait_set

TCP_CHUNK = 256 * 1024  # local reads; each read becomes one websocket message
UDP_DATAGRAM = 1500  # virtctl's UDP buffer: longer datagrams are truncated, longer messages split


class Tunnel(Protocol):
    def send(self, data: bytes) -> None: ...

    def recv(self) -> bytes | None: ...

    def close(self) -> None: ...


Dial = Callable[[], Tunnel]


def open_tunnel(session: object, path: str) -> Tunnel:
    """Open the port-forward websocket at `path` (raises CLIError with virtctl's handshake texts)."""
    from pyvirtctl.streams import websocket

    return websocket.open_subresource(session, path)


# ---------------------------------------------------------------------------------------------
# helpers


def go_sys_error(e: OSError) -> str:
    """The text Go's syscall package gives an errno (lower-case strerror)."""
    if e.errno is None:
        return str(e)
    text = os.strerror(e.errno)
    return text[:1].lower() + text[1:]


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def wake(tunnel: Tunnel) -> None:
    """Unblock a thread reading the tunnel without freeing its descriptor yet (shutdown, not close)."""
    sock = getattr(tunnel, "sock", None)
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        else:
            tunnel.close()
    except Exception:
        pass


def _is_closed_error(text: str) -> bool:
    return "use of closed network connection" in text


# ---------------------------------------------------------------------------------------------
# TCP


class _TCPConnection:
    """One accepted local connection joined to its own websocket; either side ending ends both."""

    def __init__(self, sock: socket.socket, tunnel: Tunnel, port_local: int) -> None:
        self.sock = sock
        self.tunnel = tunnel
        self.port_local = port_local
        self._lock = threading.Lock()
        self._closed = False

    def run(self) -> None:
        log.info(f"handling tcp connection for {self.port_local}", "tcp.go:65")
        t = threading.Thread(target=self._to_local, daemon=True)
        t.start()
        first = self._to_remote()
        self._report(first)
        t.join()
        # Only now release the descriptors: closing one while the other thread may still be inside a
        # recv on it would let that recv read from whatever socket reuses the number next.
        for close in (self.tunnel.close, self.sock.close):
            try:
                close()
            except Exception:
                pass

    def _finish(self) -> bool:
        """Close both sides; True for the first caller (whose error gets logged)."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        wake(self.tunnel)
        return True

    def _report(self, err: str | None) -> None:
        if err and not _is_closed_error(err):
            log.error(f"error handling connection for {self.port_local}: {err}", "portforwarder.go:37")

    def _to_remote(self) -> str | None:
        err: str | None = None
        try:
            while True:
                data = self.sock.recv(TCP_CHUNK)
                if not data:
                    break
                self.tunnel.send(data)
        except OSError as e:
            err = "use of closed network connection" if self._closed else go_sys_error(e)
        except Exception as e:  # websocket-client raises its own types on a broken socket
            err = "use of closed network connection" if self._closed else str(e)
        first = self._finish()
        return err if first else None

    def _to_local(self) -> None:
        err: str | None = None
        try:
            while True:
                data = self.tunnel.recv()
                if data is None:
                    break
                self.sock.sendall(data)
        except OSError as e:
            err = "use of closed network connection" if self._closed else go_sys_error(e)
        except Exception as e:
            err = "use of closed network connection" if self._closed else str(e)
        if self._finish():
            self._report(err)


class _UDPClient:
    def __init__(self, tunnel: Tunnel, addr: tuple) -> None:
        self.tunnel = tunnel
        self.addr = addr


class Forwarder:
    """The listeners of one port-forward run (one per port argument)."""

    def __init__(self, kind: str, name: str, namespace: str, dial: Callable[..., Tunnel]) -> None:
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self._dial = dial
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self.bound: list[tuple[str, int]] = []  # (protocol, actual local port)

    # -- setup

    def start(self, address: str, port: object) -> int:
        """Listen for one ForwardedPort; returns the local port actually bound."""
        proto: str = port.protocol  # type: ignore[attr-defined]
        local: int = port.local  # type: ignore[attr-defined]
        remote: int = port.remote  # type: ignore[attr-defined]
        if proto not in ("tcp", "udp"):
            log.info(f"forwarding {proto} {address}:{local} to {remote}", "portforwarder.go:23")
            raise CLIError(f"unknown protocol: {proto}")
        if local != 0:  # virtctl logs before listening; with port 0 we wait to show the real port
            log.info(f"forwarding {proto} {address}:{local} to {remote}", "portforwarder.go:23")
        sock = self._listen(proto, address, local)
        actual = sock.getsockname()[1]
        if local == 0:
            log.info(f"forwarding {proto} {address}:{actual} to {remote}", "portforwarder.go:23")
        self._sockets.append(sock)
        self.bound.append((proto, actual))
        target = self._accept_loop if proto == "tcp" else self._udp_loop
        threading.Thread(target=target, args=(sock, port), daemon=True).start()
        return actual

    def _listen(self, proto: str, address: str, local: int) -> socket.socket:
        where = f"listen {proto} {join_host_port(address, local)}"
        if not 0 <= local <= 65535:
            raise CLIError(f"{where}: address {local}: invalid port")
        family = _family(address)
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        if address == "":
            family = socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET
            bind_host = "::" if family == socket.AF_INET6 else "0.0.0.0"
        else:
            bind_host = address
        sock = socket.socket(family, kind)
        try:
            if family == socket.AF_INET6 and address == "":
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            if proto == "tcp":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((bind_host, local))
            if proto == "tcp":
                sock.listen(128)
        except OSError as e:
            sock.close()
            raise CLIError(f"{where}: bind: {go_sys_error(e)}") from None
        return sock

    def _open(self, port: object) -> Tunnel | None:
        try:
            return self._dial(port)
        except CLIError as e:
            self._dial_failed(e.message)
        except Exception as e:  # a dial must never kill the listener thread
            self._dial_failed(str(e))
        return None

    def _dial_failed(self, text: str) -> None:
        log.error(f"can't access {self.kind}/{self.name}.{self.namespace}: {text}", "tcp.go:55")

    # -- TCP

    def _accept_loop(self, listener: socket.socket, port: object) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError as e:
                if not self._stop.is_set():
                    log.error(f"error accepting connection: {go_sys_error(e)}", "tcp.go:49")
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve_tcp, args=(conn, port), daemon=True).start()

    def _serve_tcp(self, conn: socket.socket, port: object) -> None:
        log.info(f"opening new tcp tunnel to {port.remote}", "tcp.go:52")  # type: ignore[attr-defined]
        tunnel = self._open(port)
        if tunnel is None:
            conn.close()  # virtctl leaks the socket and stops accepting; we drop this client only
            return
        _TCPConnection(conn, tunnel, port.local).run()  # type: ignore[attr-defined]

    # -- UDP

    def _udp_loop(self, sock: socket.socket, port: object) -> None:
        clients: dict[tuple, _UDPClient] = {}
        lock = threading.Lock()
        while not self._stop.is_set():
            try:
                data, addr = sock.recvfrom(UDP_DATAGRAM)
            except OSError as e:
                if self._stop.is_set():
                    return
                log.error(go_sys_error(e), "udp.go:74")
                continue
            with lock:
                client = clients.get(addr)
            if client is None:
                log.info(f"opening new udp tunnel to {port.remote}", "udp.go:46")  # type: ignore[attr-defined]
                try:
                    tunnel = self._dial(port)
                except Exception as e:
                    text = e.message if isinstance(e, CLIError) else str(e)
                    log.error(f"can't access {self.kind}/{self.name}.{self.namespace}: {text}", "udp.go:49")
                    log.error(text, "udp.go:74")
                    continue
                client = _UDPClient(tunnel, addr)
                with lock:
                    clients[addr] = client
                threading.Thread(
                    target=self._udp_replies, args=(sock, client, clients, lock), daemon=True
                ).start()
            with lock:  # the reply thread closes a tunnel only under this lock
                if clients.get(addr) is not client:
                    continue
                try:
                    client.tunnel.send(data)
                except Exception as e:
                    log.error(str(e), "udp.go:74")

    def _udp_replies(self, sock: socket.socket, client: _UDPClient, clients: dict, lock: threading.Lock) -> None:
        err = "EOF"
        try:
            while True:
                data = client.tunnel.recv()
                if data is None:
                    break
                for i in range(0, len(data), UDP_DATAGRAM):
                    sock.sendto(data[i : i + UDP_DATAGRAM], client.addr)
        except OSError as e:
            err = go_sys_error(e)
        except Exception as e:
            err = str(e)
        log.error(f"closing client: {err}\n", "udp.go:131")
        with lock:
            if clients.get(client.addr) is client:
                del clients[client.addr]
            try:
                client.tunnel.close()
            except Exception:
                pass

    # -- lifetime

    def wait_for_interrupt(self) -> None:
        """Block until SIGINT (Ctrl+C); virtctl then exits 0 without a word."""
        done = threading.Event()
        previous = signal.signal(signal.SIGINT, lambda *_: done.set())
        try:
            wait_set(done)
        finally:
            signal.signal(signal.SIGINT, previous)

    def close(self) -> None:
        self._stop.set()
        for s in self._sockets:
            try:
                s.close()
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# stdio (the ssh/scp ProxyCommand)


def forward_stdio(dial: Dial, stdin_fd: int = 0, stdout_fd: int = 1) -> None:
    """Copy stdin to one tunnel and the tunnel to stdout until either side ends.

    stdin EOF returns at once (exit 0); the tunnel ending raises CLIError with gorilla's text.
    """
    tunnel = dial()
    done = threading.Event()
    outcome: list[str | None] = []

    def finish(err: str | None) -> None:
        if not done.is_set():
            outcome.append(err)
            done.set()

    def to_remote() -> None:
        try:
            while True:
                data = os.read(stdin_fd, TCP_CHUNK)
                if not data:
                    break
                tunnel.send(data)
            finish(None)
        except Exception as e:
            finish(_text(e))

    def to_local() -> None:
        try:
            while True:
                data = tunnel.recv()
                if data is None:
                    break
                _write_all(stdout_fd, data)
            finish(None)
        except Exception as e:
            finish(_text(e))

    threading.Thread(target=to_remote, daemon=True).start()
    threading.Thread(target=to_local, daemon=True).start()
    wait_set(done)
    try:
        tunnel.close()
    except Exception:
        pass
    if outcome and outcome[0]:
        raise CLIError(outcome[0])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _text(e: BaseException) -> str:
    if isinstance(e, CLIError):
        return e.message
    if isinstance(e, OSError) and e.errno is not None:
        if e.errno == errno.EPIPE:
            return "write |1: broken pipe"
        return go_sys_error(e)
    return str(e)
