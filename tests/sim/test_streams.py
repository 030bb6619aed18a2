"""The simulator's console, VNC, screenshot and port-forward endpoints, over real wss:// sockets.

Clients here are plain websocket-client / raw sockets, configured the way virtctl dials:
subprotocol offered in a header, no Origin, binary frames only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websocket

from pyvirtctl.sim.harness import SimProcess
from pyvirtctl.sim.streams.serial import stream_bytes

NS = "default"
SUB = "/apis/subresources.kubevirt.io/v1/namespaces/" + NS
PF_ANNOTATION = "sim.pyvirtctl.io/portforward"


def make_vmi(name: str = "testvmi", phase: str = "Running", annotations: dict | None = None,
             devices: dict | None = None, **status: Any) -> dict:
    st: dict[str, Any] = {"phase": phase, "nodeName": "node01", "interfaces": [{"ipAddress": "10.244.0.12"}]}
    st.update(status)
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": name, "namespace": NS, "annotations": annotations or {}},
        "spec": {"hostname": name, "domain": {"devices": devices or {}}},
        "status": st,
    }


def ws_url(sim: SimProcess, path: str) -> str:
    return "wss" + sim.url[len("https"):] + path


def connect(sim: SimProcess, path: str, timeout: float = 5) -> websocket.WebSocket:
    ws = websocket.create_connection(
        ws_url(sim, path),
        header=[f"Authorization: Bearer {sim.token}", "Sec-WebSocket-Protocol: plain.kubevirt.io"],
        suppress_origin=True,
        sslopt={"ca_certs": sim.ca_file},
        timeout=timeout,
    )
    return ws


def refused(sim: SimProcess, path: str) -> tuple[int, dict, Any]:
    """Open a websocket that the server must refuse; return (status, headers, parsed body)."""
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        connect(sim, path)
    err = info.value
    headers = {k.lower(): v for k, v in (err.resp_headers or {}).items()}
    body = err.resp_body or b""
    if "application/json" in headers.get("content-type", ""):
        return err.status_code, headers, json.loads(body)
    return err.status_code, headers, body


def read_until(ws: websocket.WebSocket, marker: bytes, limit: float = 5) -> bytes:
    chunks: list[bytes] = []
    tail = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        opcode, data = ws.recv_data()
        assert opcode == websocket.ABNF.OPCODE_BINARY
        chunks.append(data)
        tail = (tail + data)[-(len(marker) + 1024):]
        if marker in tail:
            return b"".join(chunks)
    raise AssertionError(f"{marker!r} not seen; got {b''.join(chunks)[-300:]!r}")


def assert_dropped(ws: websocket.WebSocket) -> bytes:
    """Read until the server cuts the connection; it must do so without a close frame."""
    got = []
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        for _ in range(100000):
            opcode, data = ws.recv_data()
            assert opcode == websocket.ABNF.OPCODE_BINARY, "server sent a close frame"
            got.append(data)
    return b"".join(got)


def login(ws: websocket.WebSocket, host: str = "testvmi") -> None:
    ws.send_binary(b"\r")
    read_until(ws, f"{host} login: ".encode())
    ws.send_binary(b"root\r")
    read_until(ws, b"Password: ")
    ws.send_binary(b"123456\r")
    read_until(ws, f"[root@{host} ~]# ".encode())


# -- handshake errors ----------------------------------------------------------------------------


def test_console_refusals_are_virt_api_statuses(sim: SimProcess) -> None:
    status, headers, body = refused(sim, SUB + "/virtualmachineinstances/ghost/console")
    assert status == 404 and int(headers["content-length"]) > 0
    assert body["message"] == 'virtualmachineinstance.kubevirt.io "ghost" not found'
    assert body["reason"] == "NotFound" and body["kind"] == "Status" and body["code"] == 404

    sim.config(delay=60)  # keep the controllers from moving the VMI on to Running
    sim.apply(make_vmi("pending", phase="Scheduling"))
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/pending/console")
    assert (status, body["message"], body["reason"]) == (400, "VMI is not running", "BadRequest")

    sim.apply(make_vmi("noserial", devices={"autoattachSerialConsole": False}))
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/noserial/console")
    assert (status, body["message"]) == (400, "No serial consoles are present.")

    sim.apply(make_vmi("broken", phase="Failed"))
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/broken/console")
    assert status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "broken": '
                               "VMI is in failed status")


def test_vnc_and_screenshot_refusals(sim: SimProcess) -> None:
    sim.apply(make_vmi("headless", devices={"autoattachGraphicsDevice": False}))
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/headless/vnc?preserveSession=false")
    assert (status, body["message"]) == (400, "No graphics devices are present.")
    sim.config(delay=60)  # keep the controllers from moving the VMI on to Running
    sim.apply(make_vmi("pending", phase="Pending"))
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/pending/vnc?preserveSession=false")
    assert (status, body["message"]) == (400, "VMI is not running")
    # the screenshot answers errors as 500 text/plain, like virt-api
    status, headers, raw = sim.request("GET", SUB + "/virtualmachineinstances/pending/vnc/screenshot?moveCursor=false")
    assert status == 500 and headers["Content-Type"].startswith("text/plain") and raw == b"VMI is not running"


def test_portforward_refusals(sim: SimProcess) -> None:
    sim.apply(make_vmi("paused", conditions=[{"type": "Paused", "status": "True"}]))
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/paused/portforward/22/tcp")
    assert status == 409 and body["message"].endswith('"paused": VMI is paused')
    sim.apply(make_vmi("nonet", interfaces=[]))
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/nonet/portforward/22/tcp")
    assert (status, body["message"]) == (400, "no network interfaces are present")
    sim.apply(make_vmi("closed"))
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/closed/portforward/2222")
    assert (status, body["reason"]) == (500, "InternalError")
    assert body["message"] == ("Internal error occurred: dialing VM: dial tcp 10.244.0.12:2222: "
                               "connect: connection refused")
    status, _, body = refused(sim, SUB + "/virtualmachines/novm/portforward/22/tcp")
    assert (status, body["message"]) == (404, 'virtualmachine.kubevirt.io "novm" not found')
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "stopped", "namespace": NS},
               "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}})
    status, _, body = refused(sim, SUB + "/virtualmachines/stopped/portforward/22/tcp")
    assert status == 409
    assert body["message"] == ('Operation cannot be fulfilled on virtualmachine.kubevirt.io "stopped": '
                               "VMI is not started")


# -- console -------------------------------------------------------------------------------------


def test_console_login_and_commands(sim: SimProcess) -> None:
    sim.apply(make_vmi())
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/console")
    try:
        assert ws.getstatus() == 101
        assert ws.getheaders()["sec-websocket-protocol"] == "plain.kubevirt.io"
        login(ws)
        ws.send("whoami\r")  # a text frame: ignored like virt-handler does
        ws.send_binary(b"uname -n\r")
        out = read_until(ws, b"]# ")
        assert out == b"uname -n\r\ntestvmi\r\n[root@testvmi ~]# "
        ws.ping(b"hi")
        assert ws.recv_data(control_frame=True) == (websocket.ABNF.OPCODE_PONG, b"hi")
        ws.send_binary(b"nosuchcmd\r")
        assert b"-bash: nosuchcmd: command not found\r\n" in read_until(ws, b"]# ")
        ws.send_binary(b"logout\r")
        assert read_until(ws, b"testvmi login: ").startswith(b"logout\r\nlogout\r\n")
    finally:
        ws.shutdown()


def test_console_newest_session_wins_and_state_survives(sim: SimProcess) -> None:
    sim.apply(make_vmi())
    first = connect(sim, SUB + "/virtualmachineinstances/testvmi/console")
    login(first)
    second = connect(sim, SUB + "/virtualmachineinstances/testvmi/console")
    try:
        assert_dropped(first)
        # the serial line is the guest's: still logged in
        second.send_binary(b"whoami\r")
        assert read_until(second, b"]# ") == b"whoami\r\nroot\r\n[root@testvmi ~]# "
    finally:
        second.shutdown()


def test_console_stream_and_drop_after_fault(sim: SimProcess) -> None:
    sim.apply(make_vmi())
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/console")
    login(ws)
    n = 3 * 1024 * 1024 + 7
    ws.send_binary(b"stream %d\r" % n)
    out = read_until(ws, b"[root@testvmi ~]# ", limit=15)
    assert out == b"stream %d\r\n" % n + stream_bytes(n) + b"[root@testvmi ~]# "
    ws.shutdown()

    sim.fault({"match": {"name": "testvmi"}, "action": "drop_ws_after", "bytes": 1000, "times": 1})
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/console")
    ws.send_binary(b"stream 5000\r")
    got = assert_dropped(ws)
    assert len(got) == 1000 and got.startswith(b"stream 5000\r\n")


def test_console_ends_when_vmi_goes_away(sim: SimProcess) -> None:
    sim.apply(make_vmi())
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/console")
    sim.delete("VirtualMachineInstance", NS, "testvmi")
    assert_dropped(ws)


def test_close_1000_mode(sim: SimProcess) -> None:
    sim.config(stream_close="normal")
    sim.apply(make_vmi())
    first = connect(sim, SUB + "/virtualmachineinstances/testvmi/console")
    second = connect(sim, SUB + "/virtualmachineinstances/testvmi/console")
    try:
        opcode, data = first.recv_data()
        assert opcode == websocket.ABNF.OPCODE_CLOSE and struct.unpack(">H", data[:2])[0] == 1000
    finally:
        first.shutdown()
        second.shutdown()


# -- vnc -----------------------------------------------------------------------------------------


class Rfb:
    """A minimal RFB 3.8 client over a websocket."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.buf = b""

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            opcode, data = self.ws.recv_data()
            assert opcode == websocket.ABNF.OPCODE_BINARY
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def handshake(self) -> tuple[int, int, bytes, bytes]:
        assert self.read(12) == b"RFB 003.008\n"
        self.ws.send_binary(b"RFB 003.008\n")
        assert self.read(2) == b"\x01\x01"
        self.ws.send_binary(b"\x01")
        assert self.read(4) == b"\x00\x00\x00\x00"
        self.ws.send_binary(b"\x01")
        width, height = struct.unpack(">HH", self.read(4))
        pixel_format = self.read(16)
        (length,) = struct.unpack(">I", self.read(4))
        return width, height, pixel_format, self.read(length)

    def full_update(self, width: int, height: int) -> bytes:
        self.ws.send_binary(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
        header = self.read(4)
        assert header[0] == 0 and struct.unpack(">H", header[2:])[0] == 1
        x, y, w, h, enc = struct.unpack(">HHHHi", self.read(12))
        assert (x, y, w, h, enc) == (0, 0, width, height, 0)
        return self.read(w * h * 4)


def test_vnc_rfb_session_and_screenshot_show_the_same_screen(sim: SimProcess) -> None:
    from PIL import Image

    sim.apply(make_vmi("centos7-1905"))
    ws = connect(sim, SUB + "/virtualmachineinstances/centos7-1905/vnc?preserveSession=false")
    try:
        rfb = Rfb(ws)
        width, height, pixel_format, name = rfb.handshake()
        assert (width, height) == (720, 400)
        assert pixel_format[:4] == bytes((32, 24, 0, 1))
        assert b"centos7-1905" in name
        # type a key: the next incremental update carries the change
        ws.send_binary(struct.pack(">BBxxI", 4, 1, ord("z")))
        ws.send_binary(struct.pack(">BBHHHH", 3, 1, 0, 0, width, height))
        assert rfb.read(4)[0] == 0
        x, y, w, h, _ = struct.unpack(">HHHHi", rfb.read(12))
        rfb.read(w * h * 4)
        pixels = rfb.full_update(width, height)
    finally:
        ws.shutdown()
    status, headers, png = sim.request("GET", SUB + "/virtualmachineinstances/centos7-1905/vnc/screenshot?moveCursor=false")
    assert status == 200 and headers["Content-Type"] == "image/png"
    img = Image.open(io.BytesIO(png))
    assert img.size == (720, 400)
    rgb = bytearray(720 * 400 * 3)
    rgb[0::3], rgb[1::3], rgb[2::3] = pixels[2::4], pixels[1::4], pixels[0::4]
    assert img.convert("RGB").tobytes() == bytes(rgb)


def test_vnc_single_session_and_preserve_session(sim: SimProcess) -> None:
    sim.apply(make_vmi())
    first = connect(sim, SUB + "/virtualmachineinstances/testvmi/vnc?preserveSession=false")
    try:
        assert first.recv_data()[1] == b"RFB 003.008\n"
        status, _, body = refused(sim, SUB + "/virtualmachineinstances/testvmi/vnc?preserveSession=true")
        assert (status, body["reason"]) == (500, "InternalError")
        assert body["message"] == ("Internal error occurred: Can't connect to websocket (503): websocket: bad handshake: "
                                   "application info: Active VNC connection. Request denied.")
        second = connect(sim, SUB + "/virtualmachineinstances/testvmi/vnc?preserveSession=false")
        assert_dropped(first)
        assert second.recv_data()[1] == b"RFB 003.008\n"
        second.shutdown()
    finally:
        first.shutdown()


def test_vnc_drop_after_fault(sim: SimProcess) -> None:
    sim.apply(make_vmi())
    sim.fault({"match": {"kind": "vnc"}, "action": "drop_ws_after", "bytes": 100})
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/vnc?preserveSession=false")
    rfb = Rfb(ws)
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        width, height, _, _ = rfb.handshake()
        rfb.full_update(width, height)
    assert len(rfb.buf) < 100


# -- port-forward --------------------------------------------------------------------------------


@pytest.fixture
def tcp_echo() -> Iterator[int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(10)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with conn:
            while True:
                data = conn.recv(1 << 16)
                if not data or data == b"quit\n":
                    return
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()


@pytest.fixture
def udp_echo() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(65536)
            except OSError:
                continue
            sock.sendto(b"echo:" + data, addr)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield sock.getsockname()[1]
    stop.set()
    t.join(2)
    sock.close()


def test_portforward_tcp_16mib_integrity(sim: SimProcess, tcp_echo: int) -> None:
    sim.apply(make_vmi(annotations={PF_ANNOTATION: json.dumps({"22": f"127.0.0.1:{tcp_echo}"})}))
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/portforward/22/tcp", timeout=20)
    payload = os.urandom(1 << 20) * 16
    digest = hashlib.sha256()
    received = sent = 0
    # One thread does both directions: a Python SSL socket must not be read and written from two
    # threads at once (that corrupts the TLS stream now and then).
    while received < len(payload):
        if sent < len(payload):
            ws.send_binary(payload[sent : sent + 65536])
            sent += 65536
        wait = 0 if sent < len(payload) else 10
        while received < len(payload) and (ws.sock.pending() or select.select([ws.sock], [], [], wait)[0]):
            opcode, data = ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_BINARY:
                digest.update(data)
                received += len(data)
    assert received == len(payload) and digest.hexdigest() == hashlib.sha256(payload).hexdigest()
    # the VM side ending closes the websocket (no close frame)
    ws.send_binary(b"quit\n")
    assert_dropped(ws)


def test_portforward_vm_route_and_ping_keepalive(sim: SimProcess, tcp_echo: int) -> None:
    sim.config(portforward_ping_interval=0.05)
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": "testvmi", "namespace": NS,
                            "annotations": {PF_ANNOTATION: json.dumps({"tcp/80": f"127.0.0.1:{tcp_echo}"})}},
               "spec": {"runStrategy": "Always", "template": {"spec": {"domain": {"devices": {}}}}},
               "status": {"created": True}})
    sim.apply(make_vmi())
    ws = connect(sim, SUB + "/virtualmachines/testvmi/portforward/80")
    try:
        ws.send_binary(b"hello")
        pings = 0
        data = b""
        deadline = time.monotonic() + 5
        while (pings < 2 or data != b"hello") and time.monotonic() < deadline:
            opcode, payload = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_PING:
                assert payload == b"keep alive"
                pings += 1
            elif opcode == websocket.ABNF.OPCODE_BINARY:
                data += payload
        assert pings >= 2 and data == b"hello"
    finally:
        ws.shutdown()


def test_portforward_cut_without_pongs(sim: SimProcess, tcp_echo: int) -> None:
    sim.config(portforward_ping_interval=0.05, portforward_pong_timeout=0.3)
    sim.apply(make_vmi(annotations={PF_ANNOTATION: json.dumps({"22": f"127.0.0.1:{tcp_echo}"})}))
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/portforward/22/tcp")
    time.sleep(1.0)  # not reading, so no pong goes back
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        for _ in range(1000):
            opcode, _ = ws.recv_data(control_frame=True)
            assert opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG)


def test_portforward_udp_datagrams(sim: SimProcess, udp_echo: int) -> None:
    sim.apply(make_vmi(annotations={PF_ANNOTATION: json.dumps({"udp/53": f"127.0.0.1:{udp_echo}"})}))
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/testvmi/portforward/53/tcp")
    assert status == 500 and "dial tcp 10.244.0.12:53" in body["message"]
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/portforward/53/udp")
    try:
        ws.send_binary(b"one")
        ws.send_binary(b"x" * 1400)
        got = []
        while len(got) < 2:
            opcode, data = ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_BINARY:
                got.append(data)
        assert got == [b"echo:one", b"echo:" + b"x" * 1400]
    finally:
        ws.shutdown()


def test_portforward_drop_after_fault(sim: SimProcess, tcp_echo: int) -> None:
    sim.apply(make_vmi(annotations={PF_ANNOTATION: json.dumps({"22": f"127.0.0.1:{tcp_echo}"})}))
    sim.fault({"match": {"kind": "portforward"}, "action": "drop_ws_after", "bytes": 10})
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/portforward/22/tcp")
    ws.send_binary(b"0123456789abcdef")
    assert assert_dropped(ws) == b"0123456789"


def test_fragmented_messages_reassemble(sim: SimProcess) -> None:
    sim.config(stream_fragment=10240)
    sim.apply(make_vmi())
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/console")
    try:
        login(ws)
        ws.send_binary(b"stream 30000\r")
        assert read_until(ws, b"\r\n") == b"stream 30000\r\n"
        frames = [ws.recv_frame()]
        while not frames[-1].fin:
            frames.append(ws.recv_frame())
        assert [(f.opcode, f.fin) for f in frames] == [(2, 0), (0, 0), (0, 1)]
        assert b"".join(f.data for f in frames) == stream_bytes(30000)
    finally:
        ws.shutdown()


def test_console_of_the_demo_vm_uses_its_cloud_init_password(sim: SimProcess) -> None:
    from pyvirtctl.sim.harness import REPO_ROOT

    with open(os.path.join(REPO_ROOT, "pyvirtctl", "sim", "centos7-1905.yaml"), encoding="utf-8") as f:
        sim.apply(f.read())
    sim.wait_for("VirtualMachineInstance", NS, "centos7-1905",
                 lambda o: o is not None and o.get("status", {}).get("phase") == "Running")
    ws = connect(sim, SUB + "/virtualmachineinstances/centos7-1905/console")
    try:
        ws.send_binary(b"\rroot\r")
        read_until(ws, b"Password: ")
        ws.send_binary(b"wrong\r")
        assert read_until(ws, b"login: ").endswith(b"Login incorrect\r\n\r\ncentos7-1905 login: ")
        ws.send_binary(b"root\r")
        read_until(ws, b"Password: ")
        ws.send_binary(b"123456\r")
        read_until(ws, b"[root@centos7-1905 ~]# ")
    finally:
        ws.shutdown()


def test_screenshot_move_cursor_wakes_the_pointer(sim: SimProcess) -> None:
    sim.apply(make_vmi())
    path = SUB + "/virtualmachineinstances/testvmi/vnc/screenshot?moveCursor="
    first, second, moved = (sim.request("GET", path + flag)[2] for flag in ("false", "false", "true"))
    assert first == second != moved
    assert moved.startswith(b"\x89PNG\r\n\x1a\n")


def test_portforward_ends_when_vmi_goes_away(sim: SimProcess, tcp_echo: int) -> None:
    sim.apply(make_vmi(annotations={PF_ANNOTATION: json.dumps({"22": f"127.0.0.1:{tcp_echo}"})}))
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/portforward/22/tcp")
    ws.send_binary(b"ping")
    assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, b"ping")
    sim.delete("VirtualMachineInstance", NS, "testvmi")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        for _ in range(1000):
            opcode, _ = ws.recv_data(control_frame=True)
            assert opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG)


def test_vnc_session_ends_when_the_vmi_moves_node(sim: SimProcess) -> None:
    sim.apply(make_vmi())
    ws = connect(sim, SUB + "/virtualmachineinstances/testvmi/vnc?preserveSession=false")
    assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, b"RFB 003.008\n")
    sim.vmi(NS, "testvmi", status={"nodeName": "node02"})
    assert_dropped(ws)
    # a paused VMI refuses port-forward (admin pause helper sets the Paused condition)
    sim.vmi(NS, "testvmi", paused=True)
    status, _, body = refused(sim, SUB + "/virtualmachineinstances/testvmi/portforward/22")
    assert status == 409 and body["message"].endswith(": VMI is paused")
