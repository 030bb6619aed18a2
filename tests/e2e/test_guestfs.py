"""`guestfs` end to end: the libguestfs pod, its start, the shell attached over pods/attach (websocket
channel protocol) in a real pseudo-terminal, and the pod's deletion however the command ends.

Expected requests, bodies and lines are virtctl v1.9.0's, from its request log against the simulator.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.e2e.completionutil import completer
from tests.e2e.sighelpers import signal_a_helper_thread
from tests.e2e.test_console import PtyRun
from tests.e2e.test_console import env as pty_env
from tests.unit.test_guestfs_parts import BLOCK_ROOT_VM_POD, DEFAULT_POD

CORE = "/api/v1/namespaces/default"
POD = CORE + "/pods/libguestfs-tools-disk1"
ATTACH_QUERY = "container=libguestfs&stderr=true&stdin=true&stdout=true&tty=true"
HINT = "If you don't see a command prompt, try pressing enter."
HEAD = "Use image: quay.io/kubevirt/libguestfs-tools:v1.9.0 \nThe PVC has been mounted at /disk \n"
WAITING = "Waiting for container libguestfs still in pending, reason: ContainerCreating, message:  \n"


def pvc(name: str = "disk1", mode: str = "Filesystem") -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": mode,
                     "resources": {"requests": {"storage": "1Gi"}}}}


def vm(name: str, **spec) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": "default"},
            "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}, **spec}}}}


def calls(sim) -> list[tuple]:
    """(method, path, query, status) of each request, consecutive pod reads collapsed into one."""
    out: list[tuple] = []
    for e in sim.requests():
        item = (e["method"], e["path"], e["query"], e["status"])
        if out and item == out[-1] and item[0] == "GET" and item[1] == POD:
            continue
        out.append(item)
    return out


def without_waiting(text: str) -> str:
    """The pod may still be creating its container when first read (a timing detail): drop those lines."""
    return text.replace(WAITING, "")


FLOW = [
    ("GET", "/apis/subresources.kubevirt.io", "", 200),
    ("GET", "/apis/subresources.kubevirt.io/v1/guestfs", "", 200),
    ("GET", CORE + "/persistentvolumeclaims/disk1", "", 200),
    ("GET", CORE + "/pods", "", 200),
    ("GET", CORE + "/persistentvolumeclaims/disk1", "", 200),
    ("POST", CORE + "/pods", "", 201),
    ("GET", POD, "", 200),
    ("GET", POD + "/attach", ATTACH_QUERY, 101),
    ("DELETE", POD, "", 200),
]


def test_a_piped_session_runs_the_shell_and_deletes_the_pod(sim, cli) -> None:
    sim.apply(pvc())
    sim.seed_volume("default", "disk1", 1048576)
    sim.clear_log()
    r = cli("guestfs", "disk1", input="ls -l\nexit\n")
    assert (r.returncode, r.stderr) == (0, HINT)
    out = without_waiting(r.stdout)  # (text mode: the shell's CR LF read as LF)
    assert out.startswith(HEAD + "ls -l\ntotal 4\n-rw-r--r-- 1 root root 1048576 "), out
    assert out.endswith(" disk.img\nbash-5.1$ exit\nexit\n")
    assert calls(sim) == FLOW
    post = next(e for e in sim.requests() if e["method"] == "POST")
    assert json.dumps(post["body"]) == DEFAULT_POD
    assert post["headers"]["content-type"] == "application/json"
    attach = next(e for e in sim.requests() if e["path"].endswith("/attach"))
    assert attach["headers"]["sec-websocket-protocol"] == "v5.channel.k8s.io, v4.channel.k8s.io"
    assert attach["headers"]["authorization"] == "Bearer ***"
    delete = sim.requests()[-1]
    assert delete["body"] == {"kind": "DeleteOptions", "apiVersion": "v1"}
    assert sim.get("Pod", "default", "libguestfs-tools-disk1") is None


def winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class SizedPty(PtyRun):
    """PtyRun with the terminal's size set before the program starts."""

    def __init__(self, sim, home, rows: int, cols: int, *args: str) -> None:
        self.master, self.slave = os.openpty()
        winsize(self.slave, rows, cols)
        self.stty_before = self.stty()
        self.proc = subprocess.Popen([sys.executable, "-m", "pyvirtctl", "--kubeconfig", sim.kubeconfig, *args],
                                     stdin=self.slave, stdout=self.slave, stderr=self.slave, env=pty_env(home),
                                     start_new_session=True)
        self.seen = b""


def test_tty_session_raw_mode_resize_escape_and_restore(sim, cli_home) -> None:
    sim.apply(pvc())
    run = SizedPty(sim, cli_home, 30, 100, "guestfs", "disk1")
    try:
        run.expect(HINT.encode())
        run.send(b"\r")
        run.expect(b"\r\nbash-5.1$ ")
        lflag = termios.tcgetattr(run.slave)[3]
        assert not lflag & termios.ICANON and not lflag & termios.ECHO, "the terminal is raw during the session"
        run.send(b"stty size\r")
        run.expect(b"stty size\r\n30 100\r\nbash-5.1$ ")  # the size at the start
        winsize(run.slave, 40, 132)
        os.killpg(run.proc.pid, signal.SIGWINCH)
        time.sleep(0.5)
        run.send(b"tput cols; tput lines\r")
        run.expect(b"tput cols; tput lines\r\n132\r\n40\r\nbash-5.1$ ")  # and after a resize
        run.send(b"\x1d")  # Ctrl+]
        assert run.wait() == 0
        assert run.stty() == run.stty_before
        # the hint comes after raw mode is on: a bare LF would follow it, not CR LF
        assert HINT.encode() + b"\r\n" + b"bash-5.1$ " in run.seen
        assert sim.wait_for("Pod", "default", "libguestfs-tools-disk1", lambda p: p is None) is None
        assert [c[0] for c in calls(sim)][-1] == "DELETE"
    finally:
        run.close()


def pty_session(sim, cli_home, *args: str) -> PtyRun:
    run = PtyRun(sim, cli_home, "guestfs", "disk1", *args)
    run.expect(HINT.encode())
    run.send(b"\r")
    run.expect(b"bash-5.1$ ")
    return run


def test_a_dropped_connection_is_reported_and_the_terminal_restored(sim, cli_home) -> None:
    sim.apply(pvc())
    run = pty_session(sim, cli_home)
    try:
        sim.reset()  # every stream is cut (no close frame)
        assert run.wait() == 1
        assert run.seen.endswith(b"error reading from error stream: next reader: websocket: close 1006 "
                                 b"(abnormal closure): unexpected EOF\r\n")
        assert run.stty() == run.stty_before
    finally:
        run.close()


def test_sigterm_deletes_the_pod_and_restores_the_terminal(sim, cli_home) -> None:
    sim.apply(pvc())
    run = pty_session(sim, cli_home)
    try:
        assert sim.get("Pod", "default", "libguestfs-tools-disk1") is not None
        run.proc.send_signal(signal.SIGTERM)
        assert run.wait() == -signal.SIGTERM  # it still dies of the signal
        assert run.stty() == run.stty_before
        assert sim.get("Pod", "default", "libguestfs-tools-disk1") is None
    finally:
        run.close()


def test_an_external_sigint_ends_the_session_like_virtctl(sim, cli_home) -> None:
    """In raw mode Ctrl+C is a byte for the shell; a SIGINT from elsewhere ends the session: exit 0."""
    sim.apply(pvc())
    run = pty_session(sim, cli_home)
    try:
        run.send(b"\x03")  # typed Ctrl+C: the remote shell's business
        run.expect(b"^C\r\nbash-5.1$ ")
        run.proc.send_signal(signal.SIGINT)
        assert run.wait() == 0
        assert run.stty() == run.stty_before
        assert sim.get("Pod", "default", "libguestfs-tools-disk1") is None
    finally:
        run.close()


def test_an_external_sigint_taken_by_the_reader_thread_still_ends_the_session(sim, cli_home) -> None:
    """The kernel may hand a process's SIGINT to any thread; when the reader thread takes it, the main loop
    waiting in select for a key must still wake up (seen once in a full suite run: the session hung)."""
    sim.apply(pvc())
    run = pty_session(sim, cli_home)
    try:
        signal_a_helper_thread(run.proc.pid, signal.SIGINT)
        assert run.wait() == 0
        assert run.stty() == run.stty_before
        assert sim.get("Pod", "default", "libguestfs-tools-disk1") is None
    finally:
        run.close()


def test_ctrl_c_while_the_pod_cannot_start_deletes_it(sim, cli_home) -> None:
    sim.apply([pvc(), vm("nowhere", nodeSelector={"kubernetes.io/hostname": "no-such-node"})])
    run = PtyRun(sim, cli_home, "guestfs", "disk1", "--vm", "nowhere")
    try:
        run.expect(b"The PVC has been mounted at /disk \r\n")
        pod = sim.wait_for("Pod", "default", "libguestfs-tools-disk1",
                           lambda p: p and (p["status"].get("conditions") or [{}])[0].get("reason") == "Unschedulable")
        assert pod["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "no-such-node"}
        run.proc.send_signal(signal.SIGINT)
        assert run.wait() == 0
        assert sim.get("Pod", "default", "libguestfs-tools-disk1") is None
        assert not any(e["path"].endswith("/attach") for e in sim.requests())
        assert run.stty() == run.stty_before
    finally:
        run.close()


def test_a_pod_that_fails_to_start(sim, cli, cli_home) -> None:
    sim.apply([pvc(), vm("nowhere", nodeSelector={"kubernetes.io/hostname": "no-such-node"})])
    run = PtyRun(sim, cli_home, "guestfs", "disk1", "--vm", "nowhere")
    try:
        pod = sim.wait_for("Pod", "default", "libguestfs-tools-disk1", lambda p: p is not None)
        pod["status"] = {"phase": "Failed", "reason": "Evicted"}
        sim.apply(pod)
        assert run.wait() == 1
        assert run.seen.endswith(b"Pod is not in running state but got Failed\r\n")
        assert sim.get("Pod", "default", "libguestfs-tools-disk1") is None
    finally:
        run.close()


def test_block_pvc_root_and_a_vms_scheduling(sim, cli) -> None:
    sim.apply([pvc("blk", "Block"), {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "sched", "namespace": "default"},
        "spec": {"runStrategy": "Halted", "template": {
            "metadata": {"labels": {"app": "web", "kubevirt.io/domain": "sched"}},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": "node01"},
                     "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoSchedule"}],
                     "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                         "nodeSelectorTerms": [{"matchExpressions": [
                             {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}]}}},
                     "domain": {"devices": {}}}}}}])
    sim.clear_log()
    r = cli("guestfs", "blk", "--root", "--kvm=false", "--image", "my/img:1", "--pull-policy", "Always",
            "--vm", "sched", input="ls -l /dev/vda; id\nexit\n")
    assert (r.returncode, r.stderr) == (0, HINT)
    out = without_waiting(r.stdout.replace(WAITING.replace("disk1", "blk"), ""))
    assert out.startswith("Use image: my/img:1 \nThe PVC has been mounted at /dev/vda \n")
    assert "uid=0(root) gid=0(root) groups=0(root)\n" in out and "bash-5.1# exit\n" in out
    post = next(e for e in sim.requests() if e["method"] == "POST")
    assert json.dumps(post["body"]) == BLOCK_ROOT_VM_POD
    # --image: no image lookup; --vm: the VM is read after the PVC checks
    assert [c[:2] for c in calls(sim)][:5] == [
        ("GET", CORE + "/persistentvolumeclaims/blk"), ("GET", CORE + "/pods"),
        ("GET", CORE + "/persistentvolumeclaims/blk"),
        ("GET", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines/sched"), ("POST", CORE + "/pods")]


def test_the_image_comes_from_the_kubevirt_cr(sim, cli) -> None:
    kv = {"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt", "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
          "spec": {}, "status": {"observedKubeVirtRegistry": "registry.example:5000/kv",
                                 "observedKubeVirtVersion": "v1.9.1",
                                 "observedDeploymentConfig": json.dumps({"imagePrefix": "pre-"})}}
    sim.apply([pvc(), kv])
    r = cli("guestfs", "disk1", input="exit\n")
    assert r.returncode == 0 and r.stdout.startswith(
        "Use image: registry.example:5000/kv/pre-libguestfs-tools:v1.9.1 \n")
    kv["status"]["observedDeploymentConfig"] = json.dumps({"imagePrefix": "pre-", "GsImage": "mirror/guestfs:9"})
    sim.apply(kv)
    r = cli("guestfs", "disk1", input="exit\n")
    assert r.returncode == 0 and r.stdout.startswith("Use image: mirror/guestfs:9 \n")
    post = [e for e in sim.requests() if e["method"] == "POST"][-1]
    assert post["body"]["spec"]["containers"][0]["image"] == "mirror/guestfs:9"


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        # virtctl v1.9.0's words; checked here before anything is sent
        (("--pull-policy", "x"), "Invalid pull policy: x\n"),
        (("--root", "--uid", "5"), "cannot set uid if root is true\n"),
        (("--uid", "abc"), 'strconv.ParseInt: parsing "abc": invalid syntax\n'),
        (("--gid", "5"), "gid requires the uid to be set\n"),
        (("--root", "--fsGroup", "3"), "cannot set fsGroup id with root\n"),
        (("--uid", "5", "--gid", "x"), 'strconv.ParseInt: parsing "x": invalid syntax\n'),
    ],
)
def test_bad_flags_send_nothing(sim, cli, args, stderr) -> None:
    sim.apply(pvc())
    sim.clear_log()
    r = cli("guestfs", "disk1", *args)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", stderr)
    assert sim.requests() == []


def test_no_claim_a_claim_in_use_and_a_missing_vm(sim, cli) -> None:
    sim.apply(pvc())
    sim.clear_log()
    r = cli("guestfs", "nope")
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "Use image: quay.io/kubevirt/libguestfs-tools:v1.9.0 \n", "The PVC nope doesn't exist\n")
    # virtctl v1.9.0's requests, the version probe after the error included
    assert calls(sim) == [("GET", "/apis/subresources.kubevirt.io", "", 200),
                          ("GET", "/apis/subresources.kubevirt.io/v1/guestfs", "", 200),
                          ("GET", CORE + "/persistentvolumeclaims/nope", "", 404),
                          ("GET", "/apis/subresources.kubevirt.io", "", 200),
                          ("GET", "/apis/subresources.kubevirt.io/v1/version", "", 200)]
    r = cli("guestfs", "disk1", "--vm", "nope")
    assert (r.returncode, r.stderr) == (1, 'virtualmachines.kubevirt.io "nope" not found\n')
    assert not any(e["method"] in ("POST", "DELETE") for e in sim.requests())
    sim.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user", "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "busybox"}],
                        "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "disk1"}}]}})
    r = cli("guestfs", "disk1")
    assert (r.returncode, r.stderr) == (1, "PVC disk1 is used by another pod\n")
    r = cli("guestfs")
    assert (r.returncode, r.stderr) == (1, "accepts 1 arg(s), received 0\n")
    r = cli("guestfs", "a/b")
    assert (r.returncode, r.stderr) == (1, "invalid resource name \"a/b\": [may not contain '/']\n")


# --------------------------------------------------------------------------- help and completion


def test_help_lists_both_commands(cli) -> None:
    r = cli("--help")
    assert re.search(r"\n  guestfs +Start a shell into the libguestfs pod\n", r.stdout)
    assert re.search(r"\n  usbredir +Redirect an USB device to a virtual machine instance\.\n", r.stdout)


@pytest.fixture
def complete(sim, monkeypatch, capsys, tmp_path):
    return completer(sim.kubeconfig, monkeypatch, capsys, tmp_path)


def test_completion(sim, complete) -> None:
    sim.apply([pvc(), pvc("data"), vm("alpha"), {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
        "metadata": {"name": "usbvm", "namespace": "default"},
        "spec": {"domain": {"devices": {"clientPassthrough": {}}}}, "status": {"phase": "Running"}}])
    assert complete("pyvirtctl --kubeconfig KC guestfs ") == ["data\tBound", "disk1\tBound", ":4"]
    assert complete("pyvirtctl --kubeconfig KC guestfs disk1 ") == [":4"]
    assert complete("pyvirtctl --kubeconfig KC guestfs disk1 --pull-policy ") == [
        "IfNotPresent", "Always", "Never", ":4"]
    assert complete("pyvirtctl --kubeconfig KC guestfs disk1 --vm a") == ["alpha\tStopped", ":4"]
    assert complete("pyvirtctl --kubeconfig KC usbredir --no-launch ") == ["usbvm\tRunning", ":4"]
    assert complete("pyvirtctl --kubeconfig KC usbredir 0951:1666 ") == ["usbvm\tRunning", ":4"]
    assert complete("pyvirtctl --kubeconfig KC usbredir 0951:1666 usbvm ") == [":4"]


def test_local_usb_devices_for_completion(tmp_path) -> None:
    from pyvirtctl.completion import local_usb_devices

    for entry, values in {"2-1": {"idVendor": "0951", "idProduct": "1666", "manufacturer": "Kingston",
                                  "product": "DataTraveler 3.0"},
                          "usb1": {"idVendor": "1d6b", "idProduct": "0002"},
                          "2-1:1.0": {"bInterfaceClass": "08"}}.items():
        (tmp_path / entry).mkdir()
        for name, text in values.items():
            (tmp_path / entry / name).write_text(text + "\n")
    assert local_usb_devices(str(tmp_path)) == [("0951:1666", "Kingston DataTraveler 3.0"), ("1d6b:0002", "")]
    assert local_usb_devices(str(tmp_path / "missing")) == []
    assert re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{4}", local_usb_devices(str(tmp_path))[0][0])
