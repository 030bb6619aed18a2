"""`Client.guestfs` and `Client.usbredir` (the Python API under the guestfs and usbredir commands), in-process
against the simulator."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from pyvirtctl import Client
from pyvirtctl.errors import CLIError, InputError
from tests.e2e.test_guestfs import pvc
from tests.e2e.test_usbredir import client_hello, usb_log, usb_vmi


@pytest.fixture
def client(sim):
    c = Client.from_kubeconfig(sim.kubeconfig)
    yield c
    c.session.close()


def read_until(shell, marker: bytes) -> bytes:
    seen = b""
    deadline = time.monotonic() + 10
    while marker not in seen and time.monotonic() < deadline:
        data = shell.recv()
        assert data is not None
        seen += data
    return seen


def test_guestfs_shell_in_a_with_block(sim, client) -> None:
    sim.apply(pvc())
    sim.seed_volume("default", "disk1", 8192)
    with client.guestfs("disk1", uid="1001") as shell:
        pod = sim.get("Pod", "default", "libguestfs-tools-disk1")
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["securityContext"]["runAsUser"] == 1001
        shell.resize(120, 50)
        shell.send(b"id; stty size; ls\r")
        out = read_until(shell, b"disk.img\r\nbash-5.1$ ")
        assert b"uid=1001 gid=0(root) groups=0(root)\r\n50 120\r\n" in out
    assert sim.get("Pod", "default", "libguestfs-tools-disk1") is None
    methods = [e["method"] for e in sim.requests()]
    assert methods.count("POST") == 1 and methods[-1] == "DELETE"


def test_guestfs_errors_before_and_after_the_pod(sim, client) -> None:
    with pytest.raises(InputError) as e:
        client.guestfs("disk1", pull_policy="Sometimes")
    assert e.value.message == "Invalid pull policy: Sometimes"
    sim.apply(pvc())
    sim.clear_log()
    with pytest.raises(CLIError) as e2:
        with client.guestfs("disk1", vm="missing"):
            pass
    assert e2.value.message == 'virtualmachines.kubevirt.io "missing" not found'
    assert not [r for r in sim.requests() if r["method"] in ("POST", "DELETE")]


def test_usbredir_for_a_client_of_your_own(sim, client) -> None:
    sim.apply(usb_vmi())
    redir = client.usbredir("usbvm")
    try:
        host, port = redir.address.split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            head = b""
            while len(head) < 80:  # the guest's hello, read whole (unread bytes would make the close a reset)
                head += s.recv(80 - len(head))
            assert struct.unpack("<III", head[:12])[:2] == (0, 68)
            s.sendall(client_hello())
            time.sleep(0.3)
        err = redir.wait()
        assert err is not None and err.message == "Remote connection has closed."
    finally:
        redir.close()
    assert usb_log(sim)[0]["version"] == "spice-gtk usbredir 0.12"


def test_usbredir_refused(sim, client) -> None:
    sim.apply(usb_vmi("plain", passthrough=False))
    with pytest.raises(CLIError) as e:
        client.usbredir("plain")
    assert e.value.message == ("Can't access VMI plain: Operation cannot be fulfilled on "
                               'virtualmachineinstance.kubevirt.io "plain": Not configured with USB Redirection')
