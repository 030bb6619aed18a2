"""`usbredir` end to end: the CLI, its local relay, the usbredir client and the simulator's guest end.

No USB hardware is needed. The real `usbredirect` (Debian package `usbredirect`, installed by
scripts/sysdeps.sh) runs where it can without a device: it fails to open the device and exits 0, which
the command reports as virtctl does. The redirection itself is driven by a stand-in for `usbredirect`
(same argv) that speaks the usbredir protocol to the simulator: it sends the host hello, reads the guest
hello and announces a device; the simulator checks the hello and records what it saw.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyvirtctl.sim.harness import REPO_ROOT

PATH = "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/{}/usbredir"
LOG = r'\{"component":"portforward","level":"info","msg":"%s","pos":"%s","timestamp":"[0-9T:.Z-]+"\}\n'

DOUBLE = r'''#!{python}
"""A stand-in for usbredirect: --device D --to HOST:PORT, then the host side of the usbredir protocol."""
import json, os, socket, struct, sys, time
args = sys.argv[1:]
report = os.environ["USBREDIR_REPORT"]
mode = os.environ.get("USBREDIR_MODE", "hangup")
out = {{"argv": args, "pid": os.getpid()}}
def save():
    with open(report, "w") as fh:
        json.dump(out, fh)
save()
if mode == "exit3":
    print("cannot open the device", flush=True)
    sys.exit(3)
device, to = args[args.index("--device") + 1], args[args.index("--to") + 1]
host, port = to.rsplit(":", 1)
s = socket.create_connection((host, int(port)))
body = b"usbredirect 0.13.0".ljust(64, b"\0") + struct.pack("<I", 0xFE)
s.sendall(struct.pack("<III", 0, len(body), 0) + body)
head = b""
while len(head) < 12:
    head += s.recv(12 - len(head))
ptype, length, _ = struct.unpack("<III", head)
data = b""
while len(data) < length:
    data += s.recv(length - len(data))
out["guest"] = [ptype, data[:64].rstrip(b"\0").decode()]
vendor, product = (int(x, 16) for x in device.split(":"))
connect = struct.pack("<BBBBHHH", 2, 0, 0, 0, vendor, product, 0x0100)
s.sendall(struct.pack("<IIQ", 1, len(connect), 0) + connect)
save()
print("redirecting", device, flush=True)
if mode == "wait":
    time.sleep(60)
time.sleep(0.3)
s.close()
time.sleep(0.5)
'''


def usb_vmi(name: str = "usbvm", passthrough: bool = True) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"domain": {"devices": {"clientPassthrough": {}} if passthrough else {}}},
            "status": {"phase": "Running", "nodeName": "node01"}}


@pytest.fixture
def double(tmp_path: Path) -> dict:
    """A bin directory whose `usbredirect` is the stand-in; env for the CLI."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "usbredirect"
    exe.write_text(DOUBLE.format(python=sys.executable))
    exe.chmod(0o755)
    report = tmp_path / "report.json"
    return {"env": {"PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "USBREDIR_REPORT": str(report)},
            "report": report}


def usb_log(sim, name: str = "usbvm") -> list[dict]:
    status, _, raw = sim.request("GET", f"/_sim/usbredir/default/{name}")
    assert status == 200
    return json.loads(raw)


def stream_requests(sim) -> list[tuple]:
    return [(e["method"], e["path"], e["status"], e["headers"].get("sec-websocket-protocol"))
            for e in sim.requests()]


def launch_log(device: str) -> str:
    addr = r"127\.0\.0\.1:(\d+)"
    return (LOG % (f"port_arg: '{addr}'", "client.go:177")
            + LOG % (rf"args: '\[--device {device} --to {addr}\]'", "client.go:178")
            + LOG % (rf"Executing commandline: 'usbredirect \[--device {device} --to {addr}\]'", "client.go:179"))


def test_redirects_a_device_through_the_client_it_starts(sim, cli, double) -> None:
    sim.apply(usb_vmi())
    sim.clear_log()
    r = cli("usbredir", "0951:1666", "usbvm", env=double["env"])
    # virtctl v1.9.0 with a client that hangs up: `Remote connection has closed.`, exit 1
    assert (r.returncode, r.stdout) == (1, "")
    m = re.fullmatch(launch_log("0951:1666") + LOG % (r"Connected to usbredirect at [0-9.]+(?:ms|µs|s)", "client.go:143")
                     + "Remote connection has closed.\n", r.stderr)
    assert m, r.stderr
    port = m.group(1)
    assert {m.group(i) for i in (1, 2, 3)} == {port}
    report = json.loads(double["report"].read_text())
    assert report["argv"] == ["--device", "0951:1666", "--to", f"127.0.0.1:{port}"]
    assert report["guest"] == [0, "qemu usb-redir guest 9.1.0"]
    assert usb_log(sim) == [{"version": "usbredirect 0.13.0", "caps": [
        "connect_device_version", "filter", "device_disconnect_ack", "ep_info_max_packet_size", "64bits_ids",
        "32bits_bulk_length", "bulk_receiving"], "packets": ["hello", "device_connect"], "device": {
        "speed": "high", "class": 0, "subclass": 0, "protocol": 0, "vendor": "0951", "product": "1666"}}]
    # the websocket, then (after the error, as virtctl) the version probe
    assert stream_requests(sim) == [("GET", PATH.format("usbvm"), 101, "plain.kubevirt.io"),
                                    ("GET", "/apis/subresources.kubevirt.io", 200, None),
                                    ("GET", "/apis/subresources.kubevirt.io/v1/version", 200, None)]
    # --no-launch=false launches too (virtctl would not)
    r = cli("usbredir", "--no-launch=false", "0951:1666", "usbvm", env=double["env"])
    assert r.returncode == 1 and r.stderr.endswith("Remote connection has closed.\n")
    assert len(usb_log(sim)) == 2


def test_the_real_usbredirect_without_the_device(sim, cli) -> None:
    """The real client cannot open a device that is not there: it exits 0, and so does the command."""
    binary = shutil.which("usbredirect")
    if binary is None:
        pytest.fail("usbredirect is not installed: run scripts/sysdeps.sh (Debian package usbredirect)")
    sim.apply(usb_vmi())
    r = cli("usbredir", "ffff:fffe", "usbvm")
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    m = re.fullmatch(launch_log("ffff:fffe") + LOG % (r"usbredirect output: (.*)", "client.go:183"), r.stderr)
    assert m, r.stderr
    assert m.group(4)  # what usbredirect said (`Failed to open device!\n` here)
    assert usb_log(sim) == [{"version": None, "caps": [], "packets": [], "device": None}]


def test_the_clients_exit_status_is_the_error(sim, cli, double) -> None:
    sim.apply(usb_vmi())
    r = cli("usbredir", "02-03", "usbvm", env={**double["env"], "USBREDIR_MODE": "exit3"})
    assert r.returncode == 1
    assert re.fullmatch(launch_log("02-03") + LOG % (r"usbredirect output: cannot open the device\\n", "client.go:183")
                        + "exit status 3\n", r.stderr), r.stderr


def test_ctrl_c_cancels_and_stops_the_client(sim, double, cli_home) -> None:
    sim.apply(usb_vmi())
    env = {"PATH": double["env"]["PATH"], "HOME": str(cli_home), "PYTHONPATH": REPO_ROOT, "LANG": "C.UTF-8",
           "USBREDIR_REPORT": double["env"]["USBREDIR_REPORT"], "USBREDIR_MODE": "wait"}
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "usbredir",
                             "0951:1666", "usbvm"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if double["report"].exists() and "guest" in json.loads(double["report"].read_text() or "{}"):
            break
        time.sleep(0.1)
    report = json.loads(double["report"].read_text())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    # virtctl v1.9.0: the client's output is logged, then `context canceled`, exit 1
    assert (proc.returncode, out) == (1, "")
    assert err.endswith('"pos":"client.go:183","timestamp":"' + err.rsplit('"timestamp":"', 1)[1].split('"')[0]
                        + '"}\ncontext canceled\n')
    assert "usbredirect output: redirecting 0951:1666\\n" in err
    with pytest.raises(ProcessLookupError):
        os.kill(report["pid"], 0)  # the client was stopped


def client_hello() -> bytes:
    body = b"spice-gtk usbredir 0.12".ljust(64, b"\0") + struct.pack("<I", 0)
    return struct.pack("<III", 0, len(body), 0) + body


def start_no_launch(sim, cli_home, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    env = {"PATH": "/nonexistent", "HOME": str(cli_home), "PYTHONPATH": REPO_ROOT, "LANG": "C.UTF-8",
           **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, "usbredir",
                             "--no-launch", "usbvm"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.fullmatch(r"User can connect usbredir client at: (127\.0\.0\.1:\d+)\n", line)
    assert m, line
    return proc, m.group(1)


def test_no_launch_prints_the_address_for_a_client(sim, cli_home) -> None:
    """No usbredirect needed on PATH; a client connected by hand does the hello; its hang-up ends it."""
    sim.apply(usb_vmi())
    proc, addr = start_no_launch(sim, cli_home)
    host, port = addr.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        guest = b""
        while len(guest) < 80:
            guest += s.recv(80 - len(guest))
        assert guest[:12] == struct.pack("<III", 0, 68, 0) and guest[12:38] == b"qemu usb-redir guest 9.1.0"
        s.sendall(client_hello())
        time.sleep(0.3)
    out, err = proc.communicate(timeout=15)
    assert (proc.returncode, out) == (1, "")
    assert re.fullmatch(LOG % (r"Connected to usbredirect at [0-9.]+(?:ms|µs|s)", "client.go:143")
                        + "Remote connection has closed.\n", err), err
    assert usb_log(sim)[0]["version"] == "spice-gtk usbredir 0.12"


def test_a_client_that_breaks_the_protocol_is_cut_off(sim, cli_home) -> None:
    sim.apply(usb_vmi())
    proc, addr = start_no_launch(sim, cli_home)
    host, port = addr.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.recv(76)
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not a usbredir hello: the guest end drops the channel
        out, err = proc.communicate(timeout=15)
    assert (proc.returncode, out) == (1, "")
    assert err.endswith("websocket: close 1006 (abnormal closure): unexpected EOF\n")
    assert usb_log(sim) == [{"version": None, "caps": [], "packets": [], "device": None}]


def test_the_vmi_going_away_ends_the_redirection(sim, cli_home) -> None:
    sim.apply(usb_vmi())
    proc, _ = start_no_launch(sim, cli_home)
    sim.delete("VirtualMachineInstance", "default", "usbvm")
    out, err = proc.communicate(timeout=15)
    assert (proc.returncode, err) == (1, "websocket: close 1006 (abnormal closure): unexpected EOF\n")


@pytest.mark.parametrize(
    ("args", "path", "stderr", "sent"),
    [
        # virtctl v1.9.0's messages
        ((), None, "accepts between 1 and 2 arg(s), received 0\n", False),
        (("a", "b", "c"), None, "accepts between 1 and 2 arg(s), received 3\n", False),
        (("usbvm",), None, "Missing argument\n", False),
        (("1:2", "usbvm"), "/nonexistent",
         'Error on finding usbredirect in $PATH: exec: "usbredirect": executable file not found in $PATH '
         "(install the usbredirect package, or start a usbredir client yourself with --no-launch)\n", False),
        (("1:2", "plain"), None, "Can't access VMI plain: Operation cannot be fulfilled on "
         'virtualmachineinstance.kubevirt.io "plain": Not configured with USB Redirection\n', True),
        (("1:2", "nope"), None, 'Can\'t access VMI nope: virtualmachineinstance.kubevirt.io "nope" not found\n', True),
        (("--no-launch", "nope"), "/nonexistent",
         'Can\'t access VMI nope: virtualmachineinstance.kubevirt.io "nope" not found\n', True),
        (("1:2", "a/b"), None, "invalid resource name \"a/b\": [may not contain '/']\n", False),
    ],
)
def test_refusals(sim, cli, double, args, path, stderr, sent) -> None:
    sim.apply(usb_vmi("plain", passthrough=False))
    sim.clear_log()
    env = dict(double["env"])
    if path:
        env["PATH"] = path
    r = cli("usbredir", *args, env=env)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", stderr)
    assert any(e["path"].endswith("/usbredir") for e in sim.requests()) == sent
    assert not double["report"].exists()  # no client was started
