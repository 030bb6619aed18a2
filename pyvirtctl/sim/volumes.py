"""The bytes behind the simulator's PersistentVolumeClaims: what an upload wrote, what an export serves.

One file per claim under a root folder: `<root>/<namespace>/<claim>.img`. The root is the folder
next to the `--state` file (`<state>.volumes/`), so the bytes outlive a restart as the objects do, or
a temporary folder removed when the simulator exits. Nothing here keeps a volume in memory: writers
append chunks to the file, readers stream it.

* `writer(ns, claim)` - a binary file opened for writing (truncated); the upload proxy streams into it.
* `path(ns, claim)` - the file to stream from (exists only once something was written).
* `info(ns, claim)` - `{"namespace", "name", "size", "sha256"}` or None; the digest is computed once
  per file version (size + mtime) and cached.
* `seed(ns, claim, size)` - deterministic content (a SHA-256 counter stream), for exports of claims
  nobody uploaded to.
* `copy(ns, src, dst_ns, dst)` - a claim's bytes under another name (VM snapshots keep a copy; an
  export of a snapshot restores it into a new claim).
* `delete(ns, claim)` (with files others keep beside it, `<claim>.img.*`: the export server's gzip
  cache), `clear()` (on `POST /_sim/reset`).

The admin API serves `GET /_sim/volumes/{namespace}/{claim}` (info, 404 when there is none) and
`PUT /_sim/volumes/{namespace}/{claim}?size=N` (seed N bytes); see `admin.py`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from typing import IO, Any

_SAFE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")  # DNS-1123 names: nothing that walks the tree
_CHUNK = 1 << 20


def seed_bytes(namespace: str, claim: str, size: int) -> bytes:
    """Deterministic content for a claim: SHA-256 of (ns/claim, block counter), repeated to `size`."""
    return b"".join(_seed_blocks(namespace, claim, size))


def _seed_blocks(namespace: str, claim: str, size: int):
    key = f"{namespace}/{claim}".encode()
    block = 0
    left = size
    while left > 0:
        piece = hashlib.sha256(key + block.to_bytes(8, "big")).digest() * 2048  # 64 KiB
        yield piece[:left]
        left -= len(piece[:left])
        block += 1


class VolumeStore:
    def __init__(self, root: str | None = None) -> None:
        self._own = root is None
        self.root = root or tempfile.mkdtemp(prefix="pyvirtctl-sim-volumes-")
        os.makedirs(self.root, exist_ok=True)
        self._digests: dict[str, tuple[int, int, str]] = {}

    def _file(self, namespace: str, claim: str) -> str:
        if not (_SAFE.match(namespace) and _SAFE.match(claim)):
            raise ValueError(f"invalid volume name {namespace}/{claim}")
        return os.path.join(self.root, namespace, f"{claim}.img")

    def path(self, namespace: str, claim: str) -> str:
        return self._file(namespace, claim)

    def exists(self, namespace: str, claim: str) -> bool:
        return os.path.isfile(self._file(namespace, claim))

    def writer(self, namespace: str, claim: str) -> IO[bytes]:
        f = self._file(namespace, claim)
        os.makedirs(os.path.dirname(f), exist_ok=True)
        self._digests.pop(f, None)
        return open(f, "wb")  # noqa: SIM115 - the caller closes it

    def seed(self, namespace: str, claim: str, size: int) -> dict[str, Any]:
        with self.writer(namespace, claim) as out:
            for piece in _seed_blocks(namespace, claim, size):
                out.write(piece)
        info = self.info(namespace, claim)
        assert info is not None
        return info

    def info(self, namespace: str, claim: str) -> dict[str, Any] | None:
        f = self._file(namespace, claim)
        try:
            st = os.stat(f)
        except FileNotFoundError:
            return None
        cached = self._digests.get(f)
        if cached and cached[:2] == (st.st_size, st.st_mtime_ns):
            digest = cached[2]
        else:
            with open(f, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            self._digests[f] = (st.st_size, st.st_mtime_ns, digest)
        return {"namespace": namespace, "name": claim, "size": st.st_size, "sha256": digest}

    def copy(self, namespace: str, claim: str, dst_namespace: str, dst_claim: str) -> None:
        src = self._file(namespace, claim)
        with open(src, "rb") as fin, self.writer(dst_namespace, dst_claim) as fout:
            shutil.copyfileobj(fin, fout, _CHUNK)

    def delete(self, namespace: str, claim: str) -> None:
        f = self._file(namespace, claim)
        self._digests.pop(f, None)
        folder, base = os.path.split(f)
        beside = [os.path.join(folder, n) for n in os.listdir(folder) if n.startswith(base + ".")] \
            if os.path.isdir(folder) else []
        for path in (f, *beside):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def clear(self) -> None:
        self._digests.clear()
        for entry in os.listdir(self.root):
            shutil.rmtree(os.path.join(self.root, entry), ignore_errors=True)

    def close(self) -> None:
        """Remove the folder when it was a temporary one."""
        if self._own:
            shutil.rmtree(self.root, ignore_errors=True)
