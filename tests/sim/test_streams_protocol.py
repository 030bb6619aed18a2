"""Byte-level tests of the simulator's stream protocol pieces (no server involved)."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest

from pyvirtctl.sim.streams import checks
from pyvirtctl.sim.streams.display import HEIGHT, WIDTH, Display, encode_png
from pyvirtctl.sim.streams.rfb import NATIVE, PixelFormat, RFBError, RFBServer, convert
from pyvirtctl.sim.streams.serial import SerialLine, credentials_from_vmi, stream_bytes


def _text(outputs: list) -> bytes:
    return b"".join(o if isinstance(o, bytes) else b"".join(o) for o in outputs)


# -- serial console -----------------------------------------------------------------------------


def _logged_in(creds: dict[str, str] | None = None) -> SerialLine:
    line = SerialLine("centos7-1905", creds)
    _text(line.feed(b"\rroot\r"))
    assert _text(line.feed(b"123456\r")).endswith(b"[root@centos7-1905 ~]# ")
    return line


def test_console_is_silent_until_enter_then_prompts_for_login() -> None:
    line = SerialLine("centos7-1905")
    assert _text(line.feed(b"")) == b""
    assert _text(line.feed(b"\r")) == b"\r\ncentos7-1905 login: "
    assert _text(line.feed(b"root\r")) == b"root\r\nPassword: "
    # the password is not echoed
    assert _text(line.feed(b"secret\r")) == b"\r\n[root@centos7-1905 ~]# "


def test_console_wrong_password_with_cloud_init_credentials() -> None:
    line = SerialLine("vm1", {"root": "123456"})
    line.feed(b"\rroot\r")
    assert _text(line.feed(b"nope\r")) == b"\r\nLogin incorrect\r\n\r\nvm1 login: "
    line.feed(b"root\r")
    assert _text(line.feed(b"123456\r")).endswith(b"[root@vm1 ~]# ")


def test_console_non_root_prompt() -> None:
    line = SerialLine("vm1")
    line.feed(b"\rcentos\r")
    assert _text(line.feed(b"pw\r")) == b"\r\n[centos@vm1 ~]$ "


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (b"echo hello  world", b"hello world\r\n"),
        (b"hostname", b"centos7-1905\r\n"),
        (b"whoami", b"root\r\n"),
        (b"uname", b"Linux\r\n"),
        # the kernel the guest agent reports (guestosinfo's os.kernelRelease / kernelVersion)
        (b"uname -r", b"3.10.0-957.27.2.el7.x86_64\r\n"),
        (
            b"uname -a",
            b"Linux centos7-1905 3.10.0-957.27.2.el7.x86_64 #1 SMP Mon Jul 29 17:46:05 UTC 2019"
            b" x86_64 x86_64 x86_64 GNU/Linux\r\n",
        ),
        (b"cat /etc/hostname", b"centos7-1905\r\n"),
        (b"cat /nope", b"cat: /nope: No such file or directory\r\n"),
        (b"frobnicate --x", b"-bash: frobnicate: command not found\r\n"),
    ],
)
def test_console_shell_commands(command: bytes, expected: bytes) -> None:
    line = _logged_in()
    out = _text(line.feed(command + b"\r"))
    assert out == command + b"\r\n" + expected + b"[root@centos7-1905 ~]# "


def test_console_os_release_lines_use_crlf() -> None:
    out = _text(_logged_in().feed(b"cat /etc/os-release\r"))
    assert b'\r\nPRETTY_NAME="CentOS Linux 7 (Core)"\r\n' in out
    assert b"\n" not in out.replace(b"\r\n", b"")


def test_console_line_editing_and_control_keys() -> None:
    line = _logged_in()
    # backspace erases on screen and in the buffer
    assert _text(line.feed(b"whoamx\x7f")) == b"whoamx\b \b"
    assert _text(line.feed(b"i\r")).startswith(b"i\r\nroot\r\n")
    # arrow keys are swallowed, Ctrl+U kills the line
    assert _text(line.feed(b"\x1b[Afoo\x15")) == b"foo" + b"\b \b" * 3
    # Ctrl+C abandons the line
    assert _text(line.feed(b"bar\x03")) == b"bar^C\r\n[root@centos7-1905 ~]# "
    # CR LF is one line end, LF alone works too
    assert _text(line.feed(b"\r\n")) == b"\r\n[root@centos7-1905 ~]# "
    assert _text(line.feed(b"hostname\n")) == b"hostname\r\ncentos7-1905\r\n[root@centos7-1905 ~]# "


def test_console_exit_returns_to_login_prompt() -> None:
    line = _logged_in()
    out = _text(line.feed(b"exit\r"))
    assert out.startswith(b"exit\r\nlogout\r\n")
    assert out.endswith(b"\r\n\r\ncentos7-1905 login: ")
    assert line.state == "login"
    line = _logged_in()
    assert _text(line.feed(b"\x04")).endswith(b"centos7-1905 login: ")


def test_console_stream_writes_exactly_n_bytes() -> None:
    line = _logged_in()
    outputs = line.feed(b"stream 300000\r")
    body = _text(outputs)
    assert body == b"stream 300000\r\n" + stream_bytes(300000) + b"[root@centos7-1905 ~]# "
    assert len(stream_bytes(300000)) == 300000


def test_credentials_from_cloud_init() -> None:
    vmi = {
        "spec": {
            "volumes": [
                {"name": "rootdisk", "containerDisk": {"image": "x"}},
                {
                    "name": "cloudinitdisk",
                    "cloudInitNoCloud": {
                        "userData": "#cloud-config\nchpasswd:\n  list: |\n    root:123456\n    centos:abc\n"
                    },
                },
            ]
        }
    }
    assert credentials_from_vmi(vmi) == {"root": "123456", "centos": "abc"}
    assert credentials_from_vmi({"spec": {}}) is None


# -- virt-api checks ------------------------------------------------------------------------------


def _vmi(**status: object) -> dict:
    return {"metadata": {"name": "v"}, "spec": {"domain": {"devices": {}}}, "status": dict(status)}


def test_checks_console_order_and_texts() -> None:
    vmi = _vmi(phase="Running")
    assert checks.check_console(vmi, "v") is None
    pending = checks.check_console(_vmi(phase="Scheduling"), "v")
    assert pending is not None and (pending.code, pending.message) == (400, "VMI is not running")
    failed = checks.check_console(_vmi(phase="Failed"), "v")
    assert failed is not None and failed.code == 409
    assert failed.message == 'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "v": VMI is in failed status'
    vmi["spec"]["domain"]["devices"]["autoattachSerialConsole"] = False
    no_serial = checks.check_console(vmi, "v")
    assert no_serial is not None and (no_serial.code, no_serial.message) == (400, "No serial consoles are present.")
    body = json.loads(no_serial.json())
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "No serial consoles are present.",
        "reason": "BadRequest",
        "code": 400,
    }


def test_checks_portforward() -> None:
    paused = _vmi(phase="Running", interfaces=[{"ipAddress": "10.0.0.5"}], conditions=[{"type": "Paused"}])
    refusal = checks.check_portforward(paused, "v")
    assert refusal is not None and refusal.code == 409 and refusal.message.endswith(": VMI is paused")
    refusal = checks.check_portforward(_vmi(phase="Running"), "v")
    assert refusal is not None and (refusal.code, refusal.message) == (400, "no network interfaces are present")


def test_forward_target_from_annotations() -> None:
    vmi = _vmi(phase="Running")
    vmi["metadata"]["annotations"] = {checks.PORTFORWARD_ANNOTATION: json.dumps({"22": "127.0.0.1:2222"})}
    vm = {"metadata": {"annotations": {checks.PORTFORWARD_ANNOTATION: '{"udp/53": "127.0.0.1:5353", "22": "x:1"}'}}}
    assert checks.forward_target(22, "tcp", vmi, vm) == ("127.0.0.1", 2222)
    assert checks.forward_target(53, "udp", vmi, vm) == ("127.0.0.1", 5353)
    assert checks.forward_target(53, "tcp", vmi, vm) is None
    assert checks.forward_target(22, "udp", vmi, None) is None


# -- RFB ------------------------------------------------------------------------------------------


def _handshake(server: RFBServer) -> bytes:
    assert server.start() == b"RFB 003.008\n"
    assert server.feed(b"RFB 003.008\n") == b"\x01\x01"
    assert server.feed(b"\x01") == b"\x00\x00\x00\x00"
    return server.feed(b"\x01")


def test_rfb_38_handshake_and_server_init() -> None:
    server = RFBServer(Display("testvmi"), "QEMU (default_testvmi)")
    init = _handshake(server)
    width, height = struct.unpack(">HH", init[:4])
    assert (width, height) == (WIDTH, HEIGHT) == (720, 400)
    assert PixelFormat.unpack(init[4:20]) == NATIVE
    (name_len,) = struct.unpack(">I", init[20:24])
    assert init[24:] == b"QEMU (default_testvmi)" and name_len == len(init[24:])


def test_rfb_33_client_gets_security_type_word() -> None:
    server = RFBServer(Display("x"), "d")
    server.start()
    assert server.feed(b"RFB 003.003\n") == b"\x00\x00\x00\x01"
    assert server.feed(b"\x00")[:4] == struct.pack(">HH", 720, 400)


def test_rfb_rejects_garbage() -> None:
    server = RFBServer(Display("x"), "d")
    with pytest.raises(RFBError):
        server.feed(b"HTTP/1.1 200")


def test_rfb_full_update_matches_display_and_incremental_waits_for_change() -> None:
    display = Display("testvmi")
    server = RFBServer(display, "d")
    _handshake(server)
    # messages may arrive split anywhere
    request = struct.pack(">BBHHHH", 3, 0, 0, 0, WIDTH, HEIGHT)
    assert server.feed(request[:3]) == b""
    update = server.feed(request[3:])
    assert update[:4] == b"\x00\x00\x00\x01"
    x, y, w, h, enc = struct.unpack(">HHHHi", update[4:16])
    assert (x, y, w, h, enc) == (0, 0, WIDTH, HEIGHT, 0)
    assert update[16:] == bytes(display.fb)
    # nothing changed: an incremental request stays pending
    assert server.feed(struct.pack(">BBHHHH", 3, 1, 0, 0, WIDTH, HEIGHT)) == b""
    # a key press changes the screen and answers the pending request with just that area
    reply = server.feed(struct.pack(">BBxxI", 4, 1, ord("a")))
    assert reply[:4] == b"\x00\x00\x00\x01"
    x, y, w, h, _ = struct.unpack(">HHHHi", reply[4:16])
    assert 0 < h < HEIGHT and len(reply) == 16 + w * h * 4
    assert display.typed == "a"


def test_rfb_other_messages_and_pixel_formats() -> None:
    display = Display("testvmi")
    server = RFBServer(display, "d")
    _handshake(server)
    encodings = struct.pack(">BxH3i", 2, 3, 16, 0, -223)
    cut = struct.pack(">BxxxI", 6, 5) + b"hello"
    pointer = struct.pack(">BBHH", 5, 1, 10, 20)
    assert server.feed(encodings + cut + pointer) == b""
    assert server.encodings == [16, 0, -223] and server.cut_text == b"hello"
    assert display.pointer == (10, 20, 1)
    # 16 bpp RGB565 big endian
    rgb565 = PixelFormat(16, 16, True, True, 31, 63, 31, 11, 5, 0)
    server.feed(struct.pack(">Bxxx", 0) + rgb565.pack())
    update = server.feed(struct.pack(">BBHHHH", 3, 0, 0, 0, 1, 1))
    assert len(update) == 16 + 2
    r, g, b = display.rgb()[:3]
    assert struct.unpack(">H", update[16:])[0] == (r * 31 // 255) << 11 | (g * 63 // 255) << 5 | (b * 31 // 255)
    # 32 bpp with red in the low byte
    bgr = PixelFormat(32, 24, False, True, 255, 255, 255, 0, 8, 16)
    assert convert(bytes((1, 2, 3, 0)), bgr) == bytes((3, 2, 1, 0))
    # colour-map mode sends the palette first
    server.feed(struct.pack(">Bxxx", 0) + PixelFormat(8, 8, False, False, 0, 0, 0, 0, 0, 0).pack())
    assert server.pixel_format.bpp == 8


# -- screenshot -----------------------------------------------------------------------------------


def test_png_encoder_round_trip_with_pillow() -> None:
    from PIL import Image

    display = Display("centos7-1905")
    png = display.png()
    img = Image.open(io.BytesIO(png))
    assert img.size == (720, 400) and img.mode == "RGB"
    assert img.tobytes() == display.rgb()
    raw = encode_png(2, 1, b"\xff\x00\x00\x00\xff\x00")
    assert zlib.decompress(raw[raw.index(b"IDAT") + 4 : -16]) == b"\x00\xff\x00\x00\x00\xff\x00"


def test_display_shows_the_vmi_name() -> None:
    plain = Display("")
    named = Display("centos7-1905")
    # the name is drawn in the area below the colour bars
    row = 150 * WIDTH * 4
    assert plain.fb[row : row + WIDTH * 4 * 60] != named.fb[row : row + WIDTH * 4 * 60]
