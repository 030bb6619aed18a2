"""Write an initramfs: a cpio archive in the kernel's "newc" format, in pure Python.

The kernel unpacks every archive it finds in the initrd one after the other, so a cached base
archive and a small per-VM archive can simply be concatenated (see `image.py`).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass


@dataclass
class Entry:
    path: str  # without a leading slash
    mode: int  # full st_mode (file type and permission bits)
    data: bytes = b""  # file contents, or the target of a symlink
    uid: int = 0
    gid: int = 0
    rdev: tuple[int, int] = (0, 0)  # a device node's major and minor


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


class Archive:
    """Entries in order; parent folders are added implicitly (mode 0755)."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def _parents(self, path: str) -> None:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            folder = "/".join(parts[:i])
            if folder not in self.entries:
                self.entries[folder] = Entry(folder, stat.S_IFDIR | 0o755)

    def folder(self, path: str, mode: int = 0o755) -> None:
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = Entry(path, stat.S_IFDIR | mode)

    def file(self, path: str, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = Entry(path, stat.S_IFREG | mode, data, uid, gid)

    def symlink(self, path: str, target: str) -> None:
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = Entry(path, stat.S_IFLNK | 0o777, target.encode())

    def node(self, path: str, mode: int, major: int = 0, minor: int = 0) -> None:
        """A device node or fifo (``mode`` carries the type)."""
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = Entry(path, mode, rdev=(major, minor))

    def pack(self) -> bytes:
        out = bytearray()
        ino = 1
        for entry in self.entries.values():
            out += _header(ino, entry, entry.path)
            out += entry.data + _pad4(len(entry.data))
            ino += 1
        out += _header(ino, Entry("TRAILER!!!", 0), "TRAILER!!!")
        out += b"\0" * (-len(out) % 512)
        return bytes(out)


def _header(ino: int, entry: Entry, name: str) -> bytes:
    encoded = name.encode() + b"\0"
    fields = (ino, entry.mode, entry.uid, entry.gid, 1, 0, len(entry.data), 0, 0, *entry.rdev, len(encoded), 0)
    head = b"070701" + b"".join(b"%08X" % f for f in fields)
    return head + encoded + _pad4(len(head) + len(encoded))
