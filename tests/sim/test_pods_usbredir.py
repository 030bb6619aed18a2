"""The simulator's ordinary Pods (scheduler + kubelet stand-in), pods/attach and pods/exec over the channel
protocol (driven by websocket-client and by the real kubectl), and the usbredir guest end."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import time

import pytest
import websocket

from pyvirtctl.sim.harness import SimProcess
from pyvirtctl.sim.streams.usbredir import GUEST_VERSION, UsbRedirError, UsbRedirGuest

from .util import CORE, SUB, call

KUBECTL = shutil.which("kubectl")


def pvc(name: str = "disk1", mode: str = "Filesystem") -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": mode,
                     "resources": {"requests": {"storage": "1Gi"}}}}


def pod(name: str = "tools", claim: str = "disk1", **spec) -> dict:
    container = {"name": "c", "image": "quay.io/kubevirt/libguestfs-tools:v1.9.0", "command": ["/entrypoint.sh"],
                 "workingDir": "/disk", "stdin": True, "tty": True,
                 "volumeMounts": [{"name": "v", "mountPath": "/disk"}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}],
                     **spec}}


def create_pod(sim: SimProcess, body: dict) -> dict:
    status, obj = call(sim, "POST", CORE + "/pods", body)
    assert status == 201, obj
    return obj


def running(sim: SimProcess, name: str = "tools") -> dict:
    got = sim.wait_for("Pod", "default", name, lambda p: ((p or {}).get("status") or {}).get("phase") == "Running")
    assert got is not None
    return got


# --------------------------------------------------------------------------- pods


def test_a_created_pod_is_defaulted_pending_then_runs_on_a_node(sim: SimProcess) -> None:
    sim.apply(pvc())
    created = create_pod(sim, pod())
    assert created["status"]["phase"] == "Pending" and created["status"]["qosClass"] == "BestEffort"
    spec = created["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["schedulerName"]) == ("Always", "ClusterFirst",
                                                                                  "default-scheduler")
    assert [t["key"] for t in spec["tolerations"]] == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    c = spec["containers"][0]
    assert (c["imagePullPolicy"], c["terminationMessagePath"]) == ("IfNotPresent", "/dev/termination-log")
    p = running(sim)
    assert p["spec"]["nodeName"] in ("node01", "node02")
    st = p["status"]
    assert st["podIP"].startswith("10.244.") and st["hostIP"].startswith("192.168.66.")
    assert st["containerStatuses"][0]["state"]["running"]["startedAt"]
    assert all(c["status"] == "True" for c in st["conditions"])


def test_a_missing_claim_keeps_the_pod_unschedulable_until_it_exists(sim: SimProcess) -> None:
    create_pod(sim, pod(claim="later"))
    time.sleep(0.5)
    p = sim.get("Pod", "default", "tools")
    assert p["status"]["phase"] == "Pending"
    cond = p["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert cond["message"] == ('0/2 nodes are available: persistentvolumeclaim "later" not found. preemption: 0/2 '
                               "nodes are available: 2 Preemption is not helpful for scheduling.")
    sim.apply(pvc("later"))
    assert running(sim)["spec"]["nodeName"]


def test_the_node_selector_picks_the_node(sim: SimProcess) -> None:
    sim.apply(pvc())
    create_pod(sim, pod(nodeSelector={"kubernetes.io/hostname": "node02"}))
    assert running(sim)["spec"]["nodeName"] == "node02"
    create_pod(sim, pod("nowhere", nodeSelector={"kubernetes.io/hostname": "node09"}))
    time.sleep(0.5)
    cond = sim.get("Pod", "default", "nowhere")["status"]["conditions"][0]
    assert cond["message"] == ("0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
                               "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")


def test_launcher_pods_are_left_to_their_vmi(sim: SimProcess) -> None:
    from .util import vm

    sim.apply(vm("vm1", strategy="Always"))
    deadline = time.monotonic() + 10
    pods: list[dict] = []
    while time.monotonic() < deadline and not pods:
        pods = [p for p in sim.list("Pod", "default") if p["metadata"]["name"].startswith("virt-launcher-vm1-")]
        time.sleep(0.1)
    assert pods and "tolerations" not in pods[0]["spec"]  # no API-server defaulting for the controller's pods


# --------------------------------------------------------------------------- attach / exec over websockets


def ws_url(sim: SimProcess, path: str) -> str:
    return "wss" + sim.url[len("https"):] + path


def channel_connect(sim: SimProcess, path: str, protocols: str = "v5.channel.k8s.io") -> websocket.WebSocket:
    return websocket.create_connection(
        ws_url(sim, path), header=[f"Authorization: Bearer {sim.token}", f"Sec-WebSocket-Protocol: {protocols}"],
        suppress_origin=True, sslopt={"ca_certs": sim.ca_file}, timeout=5)


ATTACH = "/attach?container=c&stderr=true&stdin=true&stdout=true&tty=true"


def read_until(ws: websocket.WebSocket, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        op, data = ws.recv_data()
        assert op == websocket.ABNF.OPCODE_BINARY, (op, data)
        assert data[:1] == b"\x01", data
        seen += data[1:]
    return seen


def test_attach_joins_the_containers_shell_and_its_exit_completes_the_pod(sim: SimProcess) -> None:
    sim.apply(pvc())
    sim.seed_volume("default", "disk1", 1048576)
    create_pod(sim, pod())
    running(sim)
    ws = channel_connect(sim, CORE + "/pods/tools" + ATTACH, "v5.channel.k8s.io, v4.channel.k8s.io")
    assert ws.getheaders().get("sec-websocket-protocol") == "v5.channel.k8s.io"
    assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, b"\x01")  # ready: an empty stdout message
    ws.send_binary(b"\x00\r")
    assert read_until(ws, b"bash-5.1$ ") == b"\r\nbash-5.1$ "
    ws.send_binary(b'\x04{"Width":132,"Height":40}')
    ws.send_binary(b"\x00stty size; pwd; ls -l\r")
    out = read_until(ws, b"bash-5.1$ ")
    assert b"40 132\r\n/disk\r\ntotal 4\r\n-rw-r--r-- 1 root root 1048576 " in out and b" disk.img\r\n" in out
    ws.send_binary(b"\x00exit 3\r")
    assert read_until(ws, b"exit\r\n").endswith(b"exit 3\r\nexit\r\n")
    assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, b'\x03{"metadata":{},"status":"Success"}')
    op, data = ws.recv_data(control_frame=True)
    assert op == websocket.ABNF.OPCODE_CLOSE and struct.unpack("!H", data[:2])[0] == 1000
    done = sim.wait_for("Pod", "default", "tools", lambda p: p["status"]["phase"] == "Failed")
    term = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (3, "Error")


def test_deleting_the_pod_ends_the_attached_stream(sim: SimProcess) -> None:
    sim.apply(pvc())
    create_pod(sim, pod())
    running(sim)
    ws = channel_connect(sim, CORE + "/pods/tools" + ATTACH)
    assert ws.recv_data()[1] == b"\x01"
    sim.delete("Pod", "default", "tools")
    assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, b'\x03{"metadata":{},"status":"Success"}')


@pytest.mark.parametrize(
    ("name", "query", "code", "message"),
    [
        ("nopod", ATTACH, 404, 'pods "nopod" not found'),
        ("tools", "/attach?container=nope&stdin=true&tty=true", 400, "container nope is not valid for pod tools"),
        ("tools", "/attach?container=c", 400, "you must specify at least 1 of stdin, stdout, stderr"),
        ("tools", "/exec?container=c&stdout=true", 400, "you must specify at least one command for the container"),
        ("waiting", ATTACH, 400, "pod waiting does not have a host assigned"),
    ],
)
def test_refused_attach_and_exec(sim: SimProcess, name, query, code, message) -> None:
    sim.apply(pvc())
    create_pod(sim, pod())
    create_pod(sim, pod("waiting", claim="missing"))
    running(sim)
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        channel_connect(sim, f"{CORE}/pods/{name}{query}")
    assert e.value.status_code == code
    body = json.loads(e.value.resp_body)
    assert (body["kind"], body["message"], body["code"]) == ("Status", message, code)


@pytest.fixture
def kubectl(sim: SimProcess, tmp_path):
    if KUBECTL is None:
        pytest.fail("kubectl is not installed: run `make sysdeps` (it installs the Debian package `kubectl`)")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "KUBECONFIG": sim.kubeconfig}

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True, env=env, timeout=60)

    return run


def test_kubectl_exec_over_websockets(sim: SimProcess, kubectl) -> None:
    """The real kubectl (websocket v5 executor) runs commands, gets their exit codes and feeds stdin."""
    sim.apply(pvc())
    sim.seed_volume("default", "disk1", 4096)
    create_pod(sim, pod())
    running(sim)
    r = kubectl("exec", "tools", "--", "ls", "/disk")
    assert (r.returncode, r.stdout, r.stderr) == (0, "disk.img\n", "")
    r = kubectl("exec", "tools", "--", "sh", "-c", "echo a; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "a\n", "command terminated with exit code 3\n")
    r = kubectl("exec", "-i", "tools", "--", "sh", input="pwd\nid\nexit 4\necho never\n")
    assert (r.returncode, r.stdout) == (4, "/disk\nuid=107(qemu) gid=107(qemu) groups=107(qemu)\n")
    r = kubectl("exec", "tools", "-c", "nope", "--", "ls")
    assert (r.returncode, r.stderr) == (1, "Error from server (BadRequest): container nope is not valid for pod tools\n")
    execs = [(e["method"], e["status"], e["headers"].get("sec-websocket-protocol") or e["headers"].get("upgrade"))
             for e in sim.requests() if e["path"].endswith("/exec")]
    # websocket upgrades (v5); the refused one is retried over SPDY (POST), which gets the same answer
    assert execs == [("GET", 101, "v5.channel.k8s.io")] * 3 + [("GET", 400, "v5.channel.k8s.io"),
                                                               ("POST", 400, "SPDY/3.1")]


# --------------------------------------------------------------------------- usbredir guest end (pure)


def hello(version: bytes = b"usbredirect 0.13.0", caps: int = 0xFE, length: int | None = None) -> bytes:
    body = version.ljust(64, b"\0") + struct.pack("<I", caps)
    return struct.pack("<III", 0, len(body) if length is None else length, 0) + body


def test_the_guest_hello_is_qemus_shape() -> None:
    data = UsbRedirGuest().hello()
    ptype, length, pid = struct.unpack_from("<III", data)
    assert (ptype, length, pid) == (0, 68, 0)
    assert data[12:76].rstrip(b"\0") == GUEST_VERSION.encode()


def test_the_host_hello_and_a_device_are_recorded() -> None:
    guest = UsbRedirGuest()
    raw = hello() + struct.pack("<IIQ", 1, 10, 0) + struct.pack("<BBBBHHH", 2, 0, 0, 0, 0x0951, 0x1666, 0x100)
    for i in range(0, len(raw), 7):  # split anywhere: the parser buffers
        assert guest.feed(raw[i:i + 7]) == []
    summary = guest.summary()
    assert summary["version"] == "usbredirect 0.13.0"
    assert "64bits_ids" in summary["caps"] and "bulk_streams" not in summary["caps"]
    assert summary["packets"] == ["hello", "device_connect"]
    assert summary["device"] == {"speed": "high", "class": 0, "subclass": 0, "protocol": 0, "vendor": "0951",
                                 "product": "1666"}


def test_32bit_ids_without_the_capability() -> None:
    guest = UsbRedirGuest()
    guest.feed(hello(caps=0))
    guest.feed(struct.pack("<III", 2, 0, 7))  # device_disconnect, 12-byte header
    assert guest.summary()["packets"] == ["hello", "device_disconnect"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (struct.pack("<III", 1, 10, 0), "the first packet is device_connect, not a hello"),
        (hello(length=20), "hello packet too short (20 bytes)"),
        (hello(length=1000), "hello packet too long (1000 bytes)"),
        (hello(version=b"x" * 64), "hello version is not a NUL-terminated string"),
        (hello(version=b"bad\x01version"), "hello version is not a NUL-terminated string"),
        (hello(caps=0) + hello(caps=0), "second hello"),
        (b"garbage-garbage-garbage", "the first packet is type 1651663207, not a hello"),
    ],
)
def test_protocol_errors(data: bytes, problem: str) -> None:
    with pytest.raises(UsbRedirError) as e:
        UsbRedirGuest().feed(data)
    assert str(e.value) == problem


# --------------------------------------------------------------------------- usbredir endpoint


def usb_vmi(name: str = "usbvm", phase: str = "Running", passthrough: bool = True) -> dict:
    devices = {"clientPassthrough": {}} if passthrough else {}
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"domain": {"devices": devices}}, "status": {"phase": phase, "nodeName": "node01"}}


def usb_connect(sim: SimProcess, name: str = "usbvm") -> websocket.WebSocket:
    return websocket.create_connection(
        ws_url(sim, f"{SUB}/virtualmachineinstances/{name}/usbredir"),
        header=[f"Authorization: Bearer {sim.token}", "Sec-WebSocket-Protocol: plain.kubevirt.io"],
        suppress_origin=True, sslopt={"ca_certs": sim.ca_file}, timeout=5)


def usb_log(sim: SimProcess, name: str = "usbvm") -> list[dict]:
    status, body = call(sim, "GET", f"/_sim/usbredir/default/{name}")
    assert status == 200
    return body


def test_usbredir_sends_the_guest_hello_and_checks_the_clients(sim: SimProcess) -> None:
    sim.apply(usb_vmi())
    ws = usb_connect(sim)
    op, data = ws.recv_data()
    assert op == websocket.ABNF.OPCODE_BINARY and data == UsbRedirGuest().hello()
    ws.send_binary(hello())
    time.sleep(0.3)
    assert usb_log(sim) == [{"version": "usbredirect 0.13.0", "caps": [
        "connect_device_version", "filter", "device_disconnect_ack", "ep_info_max_packet_size", "64bits_ids",
        "32bits_bulk_length", "bulk_receiving"], "packets": ["hello"], "device": None}]
    ws.close()
    bad = usb_connect(sim)
    bad.recv_data()
    bad.send_binary(b"garbage-garbage-garbage")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        bad.recv_data()  # the connection is cut, no close frame


@pytest.mark.parametrize(
    ("vmi", "code", "message"),
    [
        (usb_vmi(passthrough=False), 409, 'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io '
                                          '"usbvm": Not configured with USB Redirection'),
        (usb_vmi(phase="Failed"), 400, "VMI is not running"),
        ({**usb_vmi(), "spec": {"architecture": "s390x", "domain": {"devices": {"clientPassthrough": {}}}}}, 409,
         'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "usbvm": No USB support on s390x'),
        (None, 404, 'virtualmachineinstance.kubevirt.io "usbvm" not found'),
    ],
)
def test_usbredir_refusals(sim: SimProcess, vmi, code, message) -> None:
    if vmi is not None:
        sim.apply(vmi)
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        usb_connect(sim)
    assert e.value.status_code == code and json.loads(e.value.resp_body)["message"] == message


def test_four_usb_slots_per_vmi(sim: SimProcess) -> None:
    sim.apply(usb_vmi())
    held = [usb_connect(sim) for _ in range(4)]
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        usb_connect(sim)
    assert e.value.status_code == 500
    assert json.loads(e.value.resp_body)["message"] == (
        "Internal error occurred: Can't connect to websocket (503): websocket: bad handshake")
    held.pop().close()
    time.sleep(0.3)
    held.append(usb_connect(sim))  # a slot is free again
    for ws in held:
        ws.close()
