"""The guest's boot files: a Debian cloud kernel and an initramfs built here, cached by content.

Base image (shared by every guest, built once per set of package versions):
  * the kernel (`vmlinuz`) of the `linux-image-cloud-amd64` package's current ABI, and the few
    modules the guest loads (virtio-net for the network, evdev and button for the ACPI power
    button, pvpanic-pci to report a panic), with their dependencies from the modules' own
    `depends=` info;
  * BusyBox (static) as every tool, init, getty, login, acpid;
  * dropbear as sshd, OpenSSH's sftp-server (for `scp`, which speaks SFTP) and the shared
    libraries both need, from their Debian packages;
  * /etc/rc (run once by init): mounts, modules, network, sshd, acpid.
It lives in `<cache>/images/<key>/` where the key hashes the packages' SHA-256 and this builder's
layout version, so a new package version makes a new image and nothing is ever rebuilt twice.

Per guest, `overlay()` packs a second small cpio (hostname, address, users with their password
hashes and SSH keys); the kernel unpacks both archives of the concatenated initrd.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import debs
from .cpio import Archive
from .shadow import sha512_crypt

LAYOUT = "4"  # bump when the image's contents change for the same packages
KERNEL_META = "linux-image-cloud-amd64"
USERLAND = ["dropbear-bin", "libtomcrypt1", "libtommath1", "libgmp10", "zlib1g", "libcrypt1", "libc6",
            "openssh-sftp-server"]
BUSYBOX_PACKAGE = "busybox-static"
HOST_BUSYBOX = ("/bin/busybox", "/usr/bin/busybox")
MODULES = ["virtio_pci", "virtio_net", "evdev", "button", "pvpanic-pci"]
LIB = "usr/lib/x86_64-linux-gnu"
LIBS = {  # where the library is in its package -> where the guest looks for it
    "lib/x86_64-linux-gnu/libc.so.6": "lib/x86_64-linux-gnu/libc.so.6",
    "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": "lib64/ld-linux-x86-64.so.2",
    "lib/x86_64-linux-gnu/libcrypt.so.1": "lib/x86_64-linux-gnu/libcrypt.so.1",
    "lib/x86_64-linux-gnu/libz.so.1": "lib/x86_64-linux-gnu/libz.so.1",
    f"{LIB}/libtomcrypt.so.1": f"{LIB}/libtomcrypt.so.1",
    f"{LIB}/libtommath.so.1": f"{LIB}/libtommath.so.1",
    f"{LIB}/libgmp.so.10": f"{LIB}/libgmp.so.10",
}
OS_NAME = "pyvirtctl guest"
OS_PRETTY = "pyvirtctl guest (Debian 12 cloud kernel, BusyBox)"


@dataclass(frozen=True)
class BaseImage:
    kernel: Path
    initrd: Path
    release: str  # the kernel's `uname -r`
    version: str  # the kernel's `uname -v`
    key: str


class BuildError(RuntimeError):
    pass


# ----------------------------------------------------------------------------------------------
# the base image


def _is_static_elf(path: str) -> bool:
    """True for an x86-64 ELF executable without a program interpreter (statically linked)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:
                return False
            phoff, = struct.unpack_from("<Q", head, 32)
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))  # PT_INTERP


def _host_busybox() -> str | None:
    return next((p for p in HOST_BUSYBOX if os.path.isfile(p) and _is_static_elf(p)), None)


def _kernel_package() -> str:
    meta = debs.lookup([KERNEL_META])[KERNEL_META]
    m = re.search(r"(linux-image-[0-9][^ ,(]*-cloud-amd64)", meta.depends)
    if not m:
        raise BuildError(f"{KERNEL_META} names no kernel package: {meta.depends!r}")
    return m.group(1)


def base_image(log: Callable[[str], None] = lambda _m: None) -> BaseImage:
    """The cached base image, built (and its packages fetched) when missing."""
    kernel_pkg = _kernel_package()
    busybox = _host_busybox()
    names = [kernel_pkg, *USERLAND] + ([] if busybox else [BUSYBOX_PACKAGE])
    pkgs = debs.lookup(names)
    h = hashlib.sha256(f"layout {LAYOUT}\n".encode())
    for name in names:
        h.update(f"{name} {pkgs[name].sha256}\n".encode())
    if busybox:
        h.update(f"busybox {debs.sha256_file(Path(busybox))}\n".encode())
    h.update(_rc_script().encode() + _inittab().encode())
    key = h.hexdigest()[:24]
    folder = debs.cache_root() / "images" / key
    done = folder / "image.json"
    if not done.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        with open(folder.parent / ".lock", "w") as lock:  # several simulators may start at once
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.exists():
                log(f"building the guest image from {kernel_pkg}, {', '.join(USERLAND)}")
                _build(folder, kernel_pkg, [pkgs[n] for n in names], busybox)
    meta = json.loads(done.read_text())
    return BaseImage(folder / "vmlinuz", folder / "initrd.cpio", meta["release"], meta["version"], key)


def _module_deps(ko: bytes) -> list[str]:
    m = re.search(rb"\0depends=([^\0]*)\0", ko)
    return [d for d in m.group(1).decode().split(",") if d] if m else []


def _norm(name: str) -> str:
    return name.replace("-", "_")


def _kernel_files(modules: set[str]) -> Callable[[str], bool]:
    def select(path: str) -> bool:
        if path.startswith("boot/vmlinuz-"):
            return True
        base = path.rsplit("/", 1)[-1]
        return path.startswith("lib/modules/") and base.endswith(".ko") and _norm(base[:-3]) in modules
    return select


def _build(folder: Path, kernel_pkg: str, pkgs: list[debs.Package], busybox: str | None) -> None:
    files = debs.fetch(pkgs)
    by_name = {p.name: p for p in pkgs}
    # kernel and modules: read the modules we want, then any dependency they name (a second pass
    # over the package only when a dependency was not in the first set)
    wanted = {_norm(m) for m in MODULES} | {"virtio", "virtio_ring", "virtio_pci_legacy_dev",
                                            "virtio_pci_modern_dev", "net_failover", "failover", "pvpanic"}
    modules: dict[str, bytes] = {}
    kernel = b""
    release = ""
    for _ in range(4):
        pkg = debs.DebFiles(files[kernel_pkg], _kernel_files(set(wanted)))
        for path, data in pkg.files.items():
            if path.startswith("boot/vmlinuz-"):
                kernel, release = data, path[len("boot/vmlinuz-"):]
            else:
                modules[_norm(path.rsplit("/", 1)[-1][:-3])] = data
        missing = {d for ko in modules.values() for d in map(_norm, _module_deps(ko))} - set(modules)
        if not missing:
            break
        wanted |= missing
    if not kernel:
        raise BuildError(f"{kernel_pkg} has no boot/vmlinuz-*")
    builtin = [m for m in MODULES if _norm(m) not in modules]
    # pvpanic is built into the cloud kernel; the others must be modules here
    absent = [m for m in builtin if m not in ("pvpanic-pci",)]
    if absent:
        raise BuildError(f"{kernel_pkg} lacks the modules {', '.join(absent)}")
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order or name not in modules:
            return
        for dep in _module_deps(modules[name]):
            visit(_norm(dep))
        order.append(name)

    for m in MODULES:
        visit(_norm(m))
    version = _kernel_version(kernel)

    arc = Archive()
    for d in ("proc", "sys", "dev", "tmp", "run", "root", "etc/dropbear", "var/log", "var/run", "home", "mnt",
              "bin", "sbin", "usr/bin", "usr/sbin"):
        arc.folder(d)
    arc.folder("tmp", 0o1777)
    arc.node("dev/console", stat.S_IFCHR | 0o600, 5, 1)  # the kernel opens it before /etc/rc mounts devtmpfs
    if busybox:
        bb = Path(busybox).read_bytes()
    else:
        bb = debs.DebFiles(files[BUSYBOX_PACKAGE], lambda p: p == "bin/busybox").read("bin/busybox")
    arc.file("bin/busybox", bb, 0o755)
    arc.symlink("init", "bin/busybox")
    arc.symlink("bin/sh", "busybox")
    for name, data in modules.items():
        arc.file(f"lib/modules/{name}.ko", data)
    arc.file("lib/modules/load", ("\n".join(order) + "\n").encode())
    libs: dict[str, debs.DebFiles] = {}
    for p in USERLAND:
        libs[p] = debs.DebFiles(files[p])
    for src, dst in LIBS.items():
        data = next((f.read(src) for f in libs.values() if src in f.files or src in f.links), None)
        if data is None:
            raise BuildError(f"no package provides {src}")
        arc.file(dst, data, 0o755)
    arc.symlink("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2")
    arc.file("usr/sbin/dropbear", libs["dropbear-bin"].read("usr/sbin/dropbear"), 0o755)
    arc.file("usr/lib/sftp-server", libs["openssh-sftp-server"].read("usr/lib/openssh/sftp-server"), 0o755)
    arc.file("etc/rc", _rc_script().encode(), 0o755)
    arc.file("etc/inittab", _inittab().encode())
    arc.file("etc/shells", b"/bin/sh\n/bin/ash\n")
    arc.file("etc/nsswitch.conf", b"passwd: files\ngroup: files\nshadow: files\nhosts: files\n")
    arc.file("etc/hosts", b"127.0.0.1 localhost\n")
    arc.file("etc/profile", _profile().encode())
    arc.file("etc/acpi/PWRF/00000080", b"#!/bin/sh\nexec /bin/busybox poweroff\n", 0o755)
    arc.file("sbin/anylogin", _anylogin().encode(), 0o755)
    arc.file("etc/os-release", (f'NAME="{OS_NAME}"\nPRETTY_NAME="{OS_PRETTY}"\nID=pyvirtctl-guest\n'
                                f'VERSION_ID="1"\nVERSION="1"\n').encode())
    arc.file("etc/issue", f"\n{OS_PRETTY}\nKernel \\r on an \\m\n\n".encode())
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "vmlinuz").write_bytes(kernel)
    (tmp / "initrd.cpio").write_bytes(arc.pack())
    (tmp / "image.json").write_text(json.dumps({
        "release": release, "version": version, "modules": order,
        "packages": {p.name: p.version for p in by_name.values()}}, indent=1))
    if not folder.exists():
        os.replace(tmp, folder)


def _kernel_version(image: bytes) -> str:
    """The `uname -v` text in a bzImage (its header points at the kernel version string)."""
    try:
        offset, = struct.unpack_from("<H", image, 0x20E)
        text = image[offset + 0x200: offset + 0x400].split(b"\0", 1)[0].decode()
    except (struct.error, UnicodeDecodeError):
        return ""
    # "6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) (gcc ...) #1 SMP PREEMPT_DYNAMIC Debian ..."
    m = re.search(r"(#\d+ .*)$", text)
    return m.group(1) if m else ""


def _rc_script() -> str:
    return r"""#!/bin/sh
# Run once by init (see /etc/inittab): bring the guest up.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
while read -r m; do insmod "/lib/modules/$m.ko" 2>/dev/null; done < /lib/modules/load
. /etc/guest.conf
hostname "$GUEST_HOSTNAME"
ip link set lo up
ip link set eth0 mtu "$GUEST_MTU" 2>/dev/null
ip link set eth0 up
ip addr add "$GUEST_IP/$GUEST_PREFIX" dev eth0
ip route add default via "$GUEST_GATEWAY"
syslogd -C64  # logins and sshd log here (`logread`), not on the console
dropbear -R -r /etc/dropbear/dropbear_ed25519_host_key -p 22 $GUEST_SSHD_FLAGS
acpid
echo "4 4 1 7" > /proc/sys/kernel/printk  # the console shows boot messages, then only warnings
"""


def _inittab(login: str = "") -> str:
    getty = f"/sbin/getty {login} " if login else "/sbin/getty "
    return (f"::sysinit:/etc/rc\nttyS0::respawn:{getty}-L 0 ttyS0 vt100\ntty1::respawn:{getty}0 tty1 linux\n"
            "::ctrlaltdel:/sbin/reboot\n::shutdown:/bin/sync\n")


def _profile() -> str:
    return r"""export PATH=/sbin:/usr/sbin:/bin:/usr/bin
export HOME="${HOME:-/root}"
if [ "$(id -u)" = 0 ]; then PS1='[\u@\h \W]# '; else PS1='[\u@\h \W]$ '; fi
export PS1
"""


def _anylogin() -> str:
    # getty runs LOGIN -- NAME; accept any password for an existing user, like the built-in guest does
    # when the VM's cloud-init sets none
    return r"""#!/bin/sh
user="$2"
[ -n "$user" ] || user="$1"
printf 'Password: '
stty -echo 2>/dev/null
read -r _password
stty echo 2>/dev/null
echo
if id "$user" >/dev/null 2>&1; then exec /bin/login -f "$user"; fi
echo 'Login incorrect'
sleep 1
"""


# ----------------------------------------------------------------------------------------------
# the per-guest overlay


@dataclass
class User:
    name: str
    password: str | None = None  # None: no password (locked, unless any password is accepted)
    keys: list[str] = field(default_factory=list)


@dataclass
class GuestConfig:
    hostname: str
    ip: str
    prefix: int
    gateway: str
    mac: str
    mtu: int
    users: list[User]
    any_password: bool = False  # no cloud-init passwords: any password logs in (console), blank for ssh
    host_key: bytes = b""  # the sshd's ed25519 private key: 32-byte seed (see dropbear_host_key)


def overlay(cfg: GuestConfig) -> bytes:
    """The per-guest cpio: /etc/guest.conf, users (passwd, group, shadow) and their SSH keys."""
    arc = Archive()
    flags = "-B" if cfg.any_password else ""
    arc.file("etc/guest.conf", (
        f"GUEST_HOSTNAME={_sh(cfg.hostname)}\nGUEST_IP={cfg.ip}\nGUEST_PREFIX={cfg.prefix}\n"
        f"GUEST_GATEWAY={cfg.gateway}\nGUEST_MAC={cfg.mac}\nGUEST_MTU={cfg.mtu}\nGUEST_SSHD_FLAGS={_sh(flags)}\n"
    ).encode())
    arc.file("etc/hostname", (cfg.hostname + "\n").encode())
    if cfg.host_key:
        arc.file("etc/dropbear/dropbear_ed25519_host_key", dropbear_host_key(cfg.host_key), 0o600)
    arc.file("etc/inittab", _inittab("-l /sbin/anylogin" if cfg.any_password else "").encode())
    passwd = ["root:x:0:0:root:/root:/bin/sh"]
    group = ["root:x:0:", "tty:x:5:", "wheel:x:10:root"]
    shadow = []
    uid = 1000
    for user in cfg.users:
        if user.password is not None:
            hashed = sha512_crypt(user.password)
        else:
            hashed = "" if cfg.any_password else "*"
        shadow.append(f"{user.name}:{hashed}:19000:0:99999:7:::")
        if user.name == "root":
            home, u = "/root", 0
        else:
            home, u = f"/home/{user.name}", uid
            passwd.append(f"{user.name}:x:{u}:{u}:{user.name}:{home}:/bin/sh")
            group.append(f"{user.name}:x:{u}:")
            arc.file(home.lstrip("/") + "/.profile", b"", 0o644, u, u)
            arc.entries[home.lstrip("/")].uid = u
            arc.entries[home.lstrip("/")].gid = u
            uid += 1
        if user.name == "root":
            arc.folder("root", 0o700)
        if user.keys:
            ssh = home.lstrip("/") + "/.ssh"
            arc.folder(ssh, 0o700)
            arc.entries[ssh].uid = arc.entries[ssh].gid = u
            arc.file(ssh + "/authorized_keys", ("\n".join(user.keys) + "\n").encode(), 0o600, u, u)
    if not any(u.name == "root" for u in cfg.users):
        shadow.insert(0, f"root:{'' if cfg.any_password else '*'}:19000:0:99999:7:::")
    arc.file("etc/passwd", ("\n".join(passwd) + "\n").encode())
    arc.file("etc/group", ("\n".join(group) + "\n").encode())
    arc.file("etc/shadow", ("\n".join(shadow) + "\n").encode(), 0o600)
    return arc.pack()


def dropbear_host_key(seed: bytes) -> bytes:
    """An ed25519 private key in dropbear's own file format (made here: dropbearkey takes ~2 s under TCG)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    name = b"ssh-ed25519"
    return struct.pack(">I", len(name)) + name + struct.pack(">I", 64) + seed + public


def host_public_key(seed: bytes) -> str:
    """The OpenSSH public key line (`ssh-ed25519 AAAA...`) of the host key made from ``seed``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
