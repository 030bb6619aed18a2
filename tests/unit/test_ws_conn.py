"""The websocket layer against a raw-socket peer: handshake texts, framing, ends, proxies.

The peer is a few lines of socket code (not a websocket library) so every byte on the wire is
the test's own choice: unechoed subprotocols, continuation frames, pings, text frames, a TCP
close without a close frame, a CONNECT proxy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import threading
import time

import pytest

from pyvirtctl.streams import websocket as ws
from pyvirtctl.streams.websocket import DialTarget, StreamClosed, WebsocketError, connect

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_head(c: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + n.to_bytes(2, "big")
    else:
        head += bytes([127]) + n.to_bytes(8, "big")
    return head + payload


def read_client_frame(c: socket.socket) -> tuple[int, bytes]:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    b0, b1 = exact(2)
    assert b1 & 0x80, "client frames must be masked"
    ln = b1 & 0x7F
    if ln == 126:
        ln = int.from_bytes(exact(2), "big")
    elif ln == 127:
        ln = int.from_bytes(exact(8), "big")
    key = exact(4)
    data = exact(ln)
    return b0 & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(data))


class Peer:
    """A one-connection server thread running `script(conn_socket, request_head)`."""

    def __init__(self, script) -> None:
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.head = b""
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.thread.start()

    def _run(self, script) -> None:
        c, _ = self.lsock.accept()
        try:
            self.head = read_head(c)
            script(c, self.head)
        except BaseException as e:  # surfaced by join()
            self.error = e
        finally:
            c.close()

    def join(self) -> None:
        self.thread.join(5)
        self.lsock.close()
        if self.error:
            raise self.error

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm/console"


def upgrade(c: socket.socket, head: bytes, echo_protocol: bool = True) -> None:
    key = [
        ln.split(b":", 1)[1].strip()
        for ln in head.split(b"\r\n")
        if ln.lower().startswith(b"sec-websocket-key")
    ][0]
    accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest()).decode()
    resp = f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    if echo_protocol:
        resp += "Sec-WebSocket-Protocol: plain.kubevirt.io\r\n"
    c.sendall((resp + "\r\n").encode())


def reply(status: int, ctype: str | None, body: bytes) -> callable:
    def script(c, head):
        h = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
        if ctype:
            h += f"Content-Type: {ctype}\r\n"
        c.sendall(h.encode() + b"\r\n" + body)

    return script


# --------------------------------------------------------------------------- URL


@pytest.mark.parametrize(
    ("server", "query", "expected"),
    [
        ("https://h:6443", None, "wss://h:6443/apis/x/console"),
        ("http://h", None, "ws://h/apis/x/console"),
        ("https://rancher/k8s/clusters/c-1", None, "wss://rancher/k8s/clusters/c-1/apis/x/console"),
        ("https://rancher/k8s/clusters/c-1/", None, "wss://rancher/k8s/clusters/c-1/apis/x/console"),
        ("https://h", [("preserveSession", "false")], "wss://h/apis/x/console?preserveSession=false"),
        ("https://h", [("tls", "true"), ("port", "2")], "wss://h/apis/x/console?port=2&tls=true"),
    ],
)
def test_websocket_url(server, query, expected):
    assert ws.websocket_url(server, "/apis/x/console", query) == expected


def test_websocket_url_rejects_other_schemes():
    with pytest.raises(ws.CLIError) as e:
        ws.websocket_url("ftp://h", "/x")
    assert str(e.value) == "unable to create request for remote execution: Unsupported Protocol ftp"


# --------------------------------------------------------------------------- handshake


STATUS_400 = json.dumps(
    {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "VMI is not running",
        "reason": "BadRequest",
        "code": 400,
    }
).encode()


@pytest.mark.parametrize(
    ("script", "status", "message"),
    [
        (reply(400, "application/json", STATUS_400), 400, "VMI is not running"),
        (reply(400, "application/json", STATUS_400[:30]), 400, "unexpected end of JSON input"),
        (
            reply(503, "text/plain; charset=utf-8", b"Active VNC connection. Request denied."),
            503,
            "Can't connect to websocket (503): websocket: bad handshake: application info: "
            "Active VNC connection. Request denied.",
        ),
        (reply(500, None, b""), 500, "Can't connect to websocket (500): websocket: bad handshake"),
        (
            reply(401, "text/html", b"<html/>"),
            401,
            "Can't connect to websocket (401): websocket: bad handshake",
        ),
        (
            lambda c, h: c.sendall(
                b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere/\r\nContent-Length: 0\r\n\r\n"
            ),
            302,
            "Can't connect to websocket (302): websocket: bad handshake",
        ),
    ],
)
def test_handshake_failures_give_virtctl_texts(script, status, message):
    peer = Peer(script)
    with pytest.raises(WebsocketError) as e:
        connect(DialTarget(peer.url))
    peer.join()
    assert e.value.status == status
    assert str(e.value) == message


def test_handshake_request_shape():
    def script(c, head):
        upgrade(c, head, echo_protocol=False)  # gorilla-style servers may not echo; we must not care

    peer = Peer(script)
    conn = connect(
        DialTarget(
            peer.url,
            headers=[
                ("Authorization", "Bearer s3cret"),
                ("Impersonate-Group", "a"),
                ("Impersonate-Group", "b"),
            ],
        )
    )
    conn.close()
    peer.join()
    lines = peer.head.decode().split("\r\n")
    assert (
        lines[0]
        == "GET /apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm/console HTTP/1.1"
    )
    lower = [ln.lower() for ln in lines]
    assert "sec-websocket-protocol: plain.kubevirt.io" in lower
    assert "authorization: bearer s3cret" in lower
    assert lower.count("impersonate-group: a") == 1 and lower.count("impersonate-group: b") == 1
    assert not any(ln.startswith("origin:") for ln in lower)


def test_refused_connection_text():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(WebsocketError) as e:
        connect(DialTarget(f"ws://127.0.0.1:{port}/x"))
    assert e.value.status == 0
    assert (
        str(e.value)
        == f"Can't connect to websocket: dial tcp 127.0.0.1:{port}: connect: connection refused\n"
    )


# --------------------------------------------------------------------------- framing


def test_binary_messages_continuations_text_skipped_pings_answered():
    got: dict = {}

    def script(c, head):
        upgrade(c, head)
        c.sendall(server_frame(0x2, b"hello"))
        c.sendall(server_frame(0x1, b"text is ignored"))
        c.sendall(
            server_frame(0x2, b"con", fin=False)
            + server_frame(0x9, b"keep alive")
            + server_frame(0x0, b"tin", fin=False)
            + server_frame(0x0, b"ued")
        )
        big = os.urandom(200_000)
        got["big"] = big
        c.sendall(server_frame(0x2, big))
        got["pong"] = read_client_frame(c)
        got["data"] = read_client_frame(c)
        c.sendall(server_frame(0x8, (1000).to_bytes(2, "big")))
        got["close"] = read_client_frame(c)

    peer = Peer(script)
    conn = connect(DialTarget(peer.url))
    assert conn.recv() == b"hello"
    assert conn.recv() == b"continued"
    assert conn.recv() == got["big"]
    conn.send(b"\x00\x01typed\xff" * 1000)
    assert conn.recv() is None  # close 1000 is a clean end
    assert conn.recv() is None
    peer.join()
    assert got["pong"] == (0xA, b"keep alive")
    assert got["data"] == (0x2, b"\x00\x01typed\xff" * 1000)
    assert got["close"][0] == 0x8


def test_merge_joins_buffered_messages():
    def script(c, head):
        upgrade(c, head)
        c.sendall(b"".join(server_frame(0x2, bytes([i]) * 10) for i in range(5)))
        time.sleep(0.2)

    peer = Peer(script)
    conn = connect(DialTarget(peer.url))
    out = b""
    while len(out) < 50:
        out += conn.recv(merge=True)
    assert out == b"".join(bytes([i]) * 10 for i in range(5))
    conn.close()
    peer.join()


def test_tcp_close_without_close_frame_is_1006():
    def script(c, head):
        upgrade(c, head)
        c.sendall(server_frame(0x2, b"last words"))

    peer = Peer(script)
    conn = connect(DialTarget(peer.url))
    assert conn.recv() == b"last words"
    with pytest.raises(StreamClosed) as e:
        conn.recv()
    assert str(e.value) == "websocket: close 1006 (abnormal closure): unexpected EOF"
    assert e.value.abnormal
    peer.join()


def test_close_with_other_code_is_an_error():
    def script(c, head):
        upgrade(c, head)
        c.sendall(server_frame(0x8, (1011).to_bytes(2, "big") + b"boom"))
        read_client_frame(c)

    peer = Peer(script)
    conn = connect(DialTarget(peer.url))
    with pytest.raises(StreamClosed) as e:
        conn.recv()
    assert str(e.value) == "websocket: close 1011 (internal server error): boom"
    assert not e.value.abnormal
    peer.join()


def test_local_close_ends_a_blocked_reader_quietly():
    release = threading.Event()

    def script(c, head):
        upgrade(c, head)
        release.wait(5)

    peer = Peer(script)
    conn = connect(DialTarget(peer.url))
    result: list = []
    t = threading.Thread(target=lambda: result.append(conn.recv()))
    t.start()
    time.sleep(0.1)
    conn.close()
    t.join(5)
    release.set()
    peer.join()
    assert result == [None]


def test_local_close_sends_no_close_frame():
    seen: list = []

    def script(c, head):
        upgrade(c, head)
        seen.append(c.recv(100))

    peer = Peer(script)
    conn = connect(DialTarget(peer.url))
    conn.close()
    peer.join()
    assert seen == [b""]


# --------------------------------------------------------------------------- proxies


class ConnectProxy:
    """A minimal HTTP CONNECT proxy recording the CONNECT lines it served."""

    def __init__(self) -> None:
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        c, _ = self.lsock.accept()
        head = read_head(c)
        self.requests.append(head)
        target = head.split(b" ")[1].decode()
        host, port = target.rsplit(":", 1)
        up = socket.create_connection((host, int(port)))
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pipe(a, b):
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:
                pass
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pipe, args=(c, up), daemon=True).start()
        pipe(up, c)

    def close(self) -> None:
        self.lsock.close()


def test_http_proxy_with_credentials():
    def script(c, head):
        upgrade(c, head)
        c.sendall(server_frame(0x2, b"through the proxy"))

    peer = Peer(script)
    proxy = ConnectProxy()
    conn = connect(DialTarget(peer.url, proxy=f"http://user:p%40ss@127.0.0.1:{proxy.port}"))
    assert conn.recv() == b"through the proxy"
    conn.close()
    peer.join()
    proxy.close()
    head = proxy.requests[0].decode()
    assert head.startswith(f"CONNECT 127.0.0.1:{peer.port} HTTP/1.1\r\n")
    assert "Proxy-Authorization: Basic " + base64.b64encode(b"user:p@ss").decode() in head
