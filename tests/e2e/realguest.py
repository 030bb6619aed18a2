"""Helpers for the tests against real QEMU guests (pyvirtctl-sim --guests qemu).

`GuestConsole` talks to the simulator's console websocket directly (websocket-client), to wait
for a guest to boot and to drive its serial line; the tests themselves use the real CLI.
"""

from __future__ import annotations

import base64
import re
import ssl
import subprocess
import time

import websocket

SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"


def debian_cloud_kernel_release() -> str:
    """`uname -r` of the kernel Debian's linux-image-cloud-amd64 currently points at (from apt-cache)."""
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", "linux-image-cloud-amd64"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    m = re.search(r"^Depends:.*?linux-image-([0-9][^ ,]*-cloud-amd64)", out, re.M)
    assert m, out
    return m.group(1)


def vm_object(name: str, public_key: str, grace: int = 30, memory: str = "256Mi") -> list[dict]:
    """A VM like the seed's (cloud-init passwords root:123456, centos:123456), with an SSH key Secret
    propagated through cloud-init (noCloud)."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-key", "namespace": "default"},
              "type": "Opaque", "data": {"key": base64.b64encode(public_key.encode()).decode()}}
    user_data = ("#cloud-config\nssh_pwauth: yes\nchpasswd:\n  list: |\n    root:123456\n    centos:123456\n"
                 "  expire: false\n")
    vm = {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"runStrategy": "Always", "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "domain": {"devices": {"disks": [{"name": "cloudinitdisk", "disk": {"bus": "virtio"}}],
                                       "interfaces": [{"name": "default", "masquerade": {}}]},
                           "resources": {"requests": {"memory": memory}}},
                "networks": [{"name": "default", "pod": {}}],
                "terminationGracePeriodSeconds": grace,
                "accessCredentials": [{"sshPublicKey": {"source": {"secret": {"secretName": f"{name}-key"}},
                                                        "propagationMethod": {"noCloud": {}}}}],
                "volumes": [{"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": user_data}}],
            }}},
    }
    return [secret, vm]


class GuestConsole:
    """The guest's serial line over the simulator's console websocket."""

    def __init__(self, sim, name: str, timeout: float = 60) -> None:
        ctx = {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": sim.ca_file}
        url = sim.url.replace("https://", "wss://") + f"{SUB}/virtualmachineinstances/{name}/console"
        self.ws = websocket.create_connection(url, header=[f"Authorization: Bearer {sim.token}"],
                                              subprotocols=["plain.kubevirt.io"], sslopt=ctx, timeout=timeout)
        self.buf = b""
        self.seen = b""

    def send(self, data: bytes) -> None:
        self.ws.send_binary(data)

    def expect(self, pattern: bytes, timeout: float = 60) -> bytes:
        """Everything up to and including the first match of the regex ``pattern``."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        scanned = 0
        while True:
            m = regex.search(self.buf, max(0, scanned - 4096))  # a long output is scanned once, not again and again
            scanned = len(self.buf)
            if m:
                out, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return out
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{pattern!r} not seen; last output: {self.buf[-500:]!r}")
            self.ws.settimeout(min(left, 5))
            try:
                data = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if not data:
                raise EOFError(f"console closed; last output: {self.buf[-500:]!r}")
            data = data if isinstance(data, bytes) else data.encode()
            self.buf += data
            self.seen += data

    def login(self, user: str = "root", password: str = "123456", timeout: float = 90) -> None:
        """Wait for the login prompt (pressing Enter now and then), log in, wait for the shell.

        A serial line keeps its state between clients: a shell left logged in is logged out first."""
        deadline = time.monotonic() + timeout
        while True:
            self.send(b"\r")
            try:
                out = self.expect(rb"(login: |\][#$] (\x1b\[6n)?)$", timeout=3)
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
                continue
            if out.endswith(b"login: "):
                break
            self.send(b"exit\r")
        self.send(user.encode() + b"\r")
        self.expect(rb"Password: ")
        self.send(password.encode() + b"\r")
        self.expect(rb"\][#$] ")

    def run(self, command: str, timeout: float = 60) -> str:
        """Run a shell command; its output (between the echoed command line and the next prompt)."""
        marker = f"::{time.monotonic_ns()}::"
        self.send(f"{command}; echo {marker[:2]}'{marker[2:]}'\r".encode())
        out = self.expect(re.escape(marker.encode()) + rb"\r?\n", timeout=timeout)
        self.expect(rb"\][#$] ")
        text = out.decode(errors="replace").replace("\r", "")
        return text.split("\n", 1)[1].rsplit(marker, 1)[0] if "\n" in text else ""

    def logout(self) -> None:
        self.send(b"exit\r")
        self.expect(rb"login: $")

    def close(self) -> None:
        self.ws.close()
