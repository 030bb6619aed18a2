"""Choosing the guest (--guests, the sim.pyvirtctl.io/guest annotation) and the QEMU guest's pure parts:
the initramfs writer, SHA-512 crypt, the dropbear host key, cloud-init users and keys, checksums."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyvirtctl.sim import cloudinit
from pyvirtctl.sim.guests import GuestHooks
from pyvirtctl.sim.harness import REPO_ROOT, SimProcess
from pyvirtctl.sim.qemu import image, netstack
from pyvirtctl.sim.qemu.cpio import Archive
from pyvirtctl.sim.qemu.shadow import sha512_crypt

HINT = "apt-get install --no-install-recommends qemu-system-x86 busybox-static"


def _no_qemu_path(tmp_path: Path) -> str:
    """A PATH with the usual tools but no qemu-system-x86_64."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("apt-cache", "apt-get", "ssh-keygen"):
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    return str(bindir)


def test_guests_qemu_without_qemu_says_what_to_install(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": REPO_ROOT, "PATH": _no_qemu_path(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "pyvirtctl.sim", "--guests", "qemu", "--port", "0"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"python -m pyvirtctl.sim: error: --guests qemu needs QEMU: {HINT}\n"


def test_unknown_guest_kind_is_one_line(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "pyvirtctl.sim", "--guests", "vbox"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": REPO_ROOT}, cwd=tmp_path, timeout=30)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "python -m pyvirtctl.sim: error: argument --guests: invalid choice: 'vbox' (choose from 'builtin', 'qemu')"]


def test_a_vm_that_asks_for_qemu_fails_when_qemu_is_missing(tmp_path: Path, monkeypatch) -> None:
    """The annotation opts one VM in on a built-in simulator; without QEMU its VMI fails, saying why."""
    monkeypatch.setenv("PATH", _no_qemu_path(tmp_path))
    with SimProcess.start(tmp_path / "sim", delay=0) as sim:
        sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                   "metadata": {"name": "real", "namespace": "default",
                                "annotations": {"sim.pyvirtctl.io/guest": "qemu"}},
                   "spec": {"domain": {"devices": {}}}})
        sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                   "metadata": {"name": "simulated", "namespace": "default"}, "spec": {"domain": {"devices": {}}}})
        vmi = sim.wait_for("VirtualMachineInstance", "default", "real",
                           lambda o: (o.get("status") or {}).get("phase") == "Failed")
        ready = next(c for c in vmi["status"]["conditions"] if c["type"] == "Ready")
        assert ready["message"] == f"QEMU is not installed: {HINT}"
        sim.wait_for("VirtualMachineInstance", "default", "simulated",
                     lambda o: (o.get("status") or {}).get("phase") == "Running")


def test_builtin_guests_never_import_the_qemu_package() -> None:
    code = ("import sys\nfrom pyvirtctl.sim.core import Simulator\ns = Simulator('t')\n"
            "vmi = {'metadata': {'name': 'a', 'namespace': 'default', 'uid': 'u'}, 'spec': {}}\n"
            "assert s.guests.launch(vmi) == ('ready', '')\nassert s.guests.stopped(vmi)\n"
            "print(sorted(m for m in sys.modules if m.startswith('pyvirtctl.sim.qemu')))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                       env={**os.environ, "PYTHONPATH": REPO_ROOT})
    assert (r.returncode, r.stdout, r.stderr) == (0, "[]\n", "")


class _Store:
    def __init__(self, vm: dict | None) -> None:
        self.vm = vm

    def get(self, res, ns, name):
        return self.vm


class _Sim:
    def __init__(self, vm: dict | None) -> None:
        self.store = _Store(vm)

    @staticmethod
    def res(kind: str) -> str:
        return kind


@pytest.mark.parametrize(("default", "vmi_ann", "vm_ann", "template_ann", "owned", "want"), [
    ("builtin", None, None, None, True, "builtin"),
    ("qemu", None, None, None, True, "qemu"),
    ("builtin", "qemu", None, None, True, "qemu"),
    ("qemu", "builtin", "qemu", None, True, "builtin"),  # the VMI's own annotation wins
    ("builtin", None, "qemu", "builtin", True, "qemu"),  # then the VM's, then its template's
    ("builtin", None, None, "QEMU", True, "qemu"),
    ("builtin", None, "qemu", None, False, "builtin"),  # a VM of the same name that does not own the VMI
    ("builtin", "kvm", None, None, True, "builtin"),  # unknown values are ignored
])
def test_which_guest_a_vmi_gets(default, vmi_ann, vm_ann, template_ann, owned, want) -> None:
    def ann(value):
        return {"annotations": {"sim.pyvirtctl.io/guest": value}} if value else {}

    vm = {"metadata": {"name": "a", "uid": "vm-uid", **ann(vm_ann)}, "spec": {"template": {"metadata": ann(template_ann)}}}
    vmi = {"metadata": {"name": "a", "namespace": "default", **ann(vmi_ann),
                        "ownerReferences": [{"uid": "vm-uid" if owned else "other"}]}}
    assert GuestHooks(_Sim(vm), default=default).kind_for(vmi) == want


def test_sha512_crypt_matches_the_reference_vector() -> None:
    # from the specification of the SHA-crypt scheme (and glibc's tests)
    assert sha512_crypt("Hello world!", "saltstring") == (
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
    assert sha512_crypt("123456", "abcdefgh") != sha512_crypt("123457", "abcdefgh")
    assert sha512_crypt("x").startswith("$6$") and len(sha512_crypt("x").split("$")[2]) == 16


def test_cpio_archive_unpacks_with_busybox(tmp_path: Path) -> None:
    arc = Archive()
    arc.file("etc/hello", b"hi\n", 0o640, uid=1000, gid=1000)
    arc.symlink("bin/sh", "busybox")
    arc.file("bin/busybox", b"\x7fELF", 0o755)
    data = arc.pack()
    assert len(data) % 512 == 0
    listing = subprocess.run(["busybox", "cpio", "-t"], input=data, capture_output=True, check=True).stdout.split()
    assert listing == [b"etc", b"etc/hello", b"bin", b"bin/sh", b"bin/busybox"]
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["busybox", "cpio", "-id"], input=data, cwd=out, check=True, capture_output=True)
    assert (out / "etc/hello").read_bytes() == b"hi\n" and os.readlink(out / "bin/sh") == "busybox"
    assert (out / "bin/busybox").stat().st_mode & 0o777 == 0o755


def test_dropbear_host_key_file_and_its_public_key() -> None:
    seed = bytes(range(32))
    key = image.dropbear_host_key(seed)
    assert key[:15] == b"\0\0\0\x0bssh-ed25519" and key[15:19] == b"\0\0\0\x40" and key[19:51] == seed
    public = image.host_public_key(seed)
    assert public.startswith("ssh-ed25519 ") and base64.b64decode(public.split()[1])[-32:] == key[51:]


def test_overlay_users_passwords_and_keys() -> None:
    cfg = image.GuestConfig("vm1", "10.0.2.2", 24, "10.0.2.1", "02:00:00:00:00:01", 1500,
                            [image.User("root", "123456"), image.User("centos", None, ["ssh-ed25519 AAAA k"])])
    arc = image.overlay(cfg)
    assert b"root:x:0:0:root:/root:/bin/sh\ncentos:x:1000:1000:centos:/home/centos:/bin/sh\n" in arc
    assert b"root:$6$" in arc and b"centos:*:" in arc  # no password: locked (keys only)
    assert b"ssh-ed25519 AAAA k\n" in arc and b"GUEST_IP=10.0.2.2\n" in arc


def test_cloud_init_users_and_access_credential_keys() -> None:
    user_data = ("#cloud-config\npassword: pw\nssh_authorized_keys:\n  - ssh-rsa DEFAULT\n"
                 "users:\n  - name: alice\n    ssh_authorized_keys: [ssh-ed25519 ALICE]\n")
    secret = {"data": {"k": base64.b64encode(b"ssh-ed25519 FROMSECRET one\n# comment\n").decode()}}
    vmi = {"spec": {"volumes": [{"name": "ci", "cloudInitNoCloud": {"userData": user_data}}],
                    "accessCredentials": [
                        {"sshPublicKey": {"source": {"secret": {"secretName": "s"}},
                                          "propagationMethod": {"qemuGuestAgent": {"users": ["bob"]}}}},
                        {"sshPublicKey": {"source": {"secret": {"secretName": "s"}},
                                          "propagationMethod": {"noCloud": {}}}},
                        {"sshPublicKey": {"source": {"secret": {"secretName": "missing"}}}}]}}
    keys = cloudinit.authorized_keys(vmi, lambda name: secret if name == "s" else None)
    assert keys == {"centos": ["ssh-rsa DEFAULT", "ssh-ed25519 FROMSECRET one"], "alice": ["ssh-ed25519 ALICE"],
                    "bob": ["ssh-ed25519 FROMSECRET one"], "root": ["ssh-ed25519 FROMSECRET one"]}
    assert cloudinit.credentials_from_vmi(vmi) == {"centos": "pw"}


@pytest.mark.parametrize("data", [b"", b"\x00\x01", b"\xff\xff", b"\x45\x00\x00\x1c\x00\x00\x40\x00\x40\x06",
                                  bytes(range(256)) * 3 + b"\x01"])
def test_internet_checksum(data: bytes) -> None:
    def reference(b: bytes) -> int:
        if len(b) % 2:
            b += b"\0"
        s = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        return ~s & 0xFFFF

    got = netstack.checksum(data)
    assert got == reference(data) or {got, reference(data)} == {0, 0xFFFF}  # both encode zero
