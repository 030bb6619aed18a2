"""Debian packages for the guest: looked up with apt-cache, fetched with `apt-get download`, unpacked in Python.

Every package is kept in the cache folder under its SHA-256 (the one the archive's index lists), so
a package is downloaded once and a changed package is a new file. Nothing is installed on the
host: a `.deb` is an `ar` archive whose `data.tar.*` member holds the files; `DebFiles` reads
the members the guest needs (following symlinks inside the package).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class FetchError(RuntimeError):
    """A package could not be found or fetched (the message says what to do)."""


def cache_root() -> Path:
    """The user's cache folder for guest images ($XDG_CACHE_HOME/pyvirtctl/guests, ~/.cache/...)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pyvirtctl" / "guests"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str
    depends: str = ""


def _run(argv: list[str], timeout: float = 300) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, "LC_ALL": "C"})
    except FileNotFoundError:
        raise FetchError(f"{argv[0]} is not installed: the QEMU guest is built from Debian packages "
                         f"(apt-get download)") from None
    except subprocess.TimeoutExpired:
        raise FetchError(f"{' '.join(argv[:3])} did not finish in {timeout:.0f} s") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["failed"])[-1]
        raise FetchError(f"{' '.join(argv[:2])} {' '.join(argv[2:4])}: {last}")
    return out.stdout


def lookup(names: list[str]) -> dict[str, Package]:
    """The candidate version of each package, from `apt-cache show --no-all-versions`."""
    text = _run(["apt-cache", "show", "--no-all-versions", *names], timeout=60)
    found: dict[str, Package] = {}
    for para in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in para.splitlines():
            if line[:1].isspace() or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        name = fields.get("Package")
        if name and name not in found and fields.get("SHA256"):
            found[name] = Package(name, fields.get("Version", ""), fields["SHA256"], fields.get("Depends", ""))
    missing = [n for n in names if n not in found]
    if missing:
        raise FetchError(f"Debian package {missing[0]} not found (run apt-get update)")
    return found


def fetch(packages: list[Package]) -> dict[str, Path]:
    """The .deb file of each package, downloaded into the cache when it is not there yet."""
    folder = cache_root() / "debs"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {p.name: folder / f"{p.sha256}.deb" for p in packages}
    todo = [p for p in packages if not paths[p.name].exists()]
    if todo:
        with tempfile.TemporaryDirectory(dir=folder, prefix="download-") as tmp:
            os.chmod(tmp, 0o755)  # apt's sandbox user may write here
            argv = ["apt-get", "download", "-q", *[f"{p.name}={p.version}" for p in todo]]
            try:
                out = subprocess.run(argv, cwd=tmp, capture_output=True, text=True, timeout=600,
                                     env={**os.environ, "LC_ALL": "C"})
            except FileNotFoundError:
                raise FetchError("apt-get is not installed: the QEMU guest is built from Debian packages") from None
            if out.returncode != 0:
                errors = [line for line in out.stderr.splitlines() if line.startswith("E:")] or ["failed"]
                raise FetchError(f"apt-get download {' '.join(p.name for p in todo)}: {errors[-1]}")
            for p in todo:
                match = [f for f in os.listdir(tmp) if f.startswith(p.name + "_") and f.endswith(".deb")]
                if not match:
                    raise FetchError(f"apt-get download did not produce {p.name}")
                src = Path(tmp) / match[0]
                if sha256_file(src) != p.sha256:
                    raise FetchError(f"{p.name} {p.version}: checksum does not match the package index")
                shutil.move(str(src), paths[p.name])
    return paths


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _ar_members(data: bytes) -> dict[str, bytes]:
    if not data.startswith(b"!<arch>\n"):
        raise FetchError("not a Debian package (no ar header)")
    out: dict[str, bytes] = {}
    pos = 8
    while pos + 60 <= len(data):
        head = data[pos:pos + 60]
        name = head[:16].decode().strip().rstrip("/")
        size = int(head[48:58].decode().strip())
        out[name] = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
    return out


class DebFiles:
    """Selected files of one package's data archive, read in a single pass."""

    def __init__(self, deb: Path, select: Callable[[str], bool] | None = None) -> None:
        members = _ar_members(deb.read_bytes())
        data_name = next((n for n in members if n.startswith("data.tar")), None)
        if data_name is None:
            raise FetchError(f"{deb.name}: no data archive")
        self.files: dict[str, bytes] = {}
        self.links: dict[str, str] = {}
        self.modes: dict[str, int] = {}
        with tarfile.open(fileobj=io.BytesIO(members[data_name]), mode="r|*") as tar:
            for info in tar:
                path = info.name.lstrip("./")
                if info.issym():
                    self.links[path] = os.path.normpath(os.path.join(os.path.dirname(path), info.linkname)) \
                        if not info.linkname.startswith("/") else info.linkname.lstrip("/")
                elif info.isfile() and (select is None or select(path)):
                    f = tar.extractfile(info)
                    if f is not None:
                        self.files[path] = f.read()
                        self.modes[path] = info.mode

    def read(self, path: str) -> bytes:
        """A file's contents; symlinks in the package are followed."""
        seen = 0
        while path in self.links and seen < 10:
            path, seen = self.links[path], seen + 1
        if path not in self.files:
            raise FetchError(f"file {path} not in the package")
        return self.files[path]

    def names(self, prefix: str) -> list[str]:
        return sorted(p for p in self.files if p.startswith(prefix))
