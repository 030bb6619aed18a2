"""VirtualMachineExport for the simulator: the export controller and the export server's download URL.

A real cluster runs an exporter pod per VirtualMachineExport and publishes its URLs in
`status.links`; here the simulator's own HTTPS server plays the exporter. When an export of a
PersistentVolumeClaim is created it becomes Ready (after the configured step delay) with:

* `status.tokenSecretRef` = `spec.tokenSecretRef`;
* `status.links.external` / `.internal`: `cert` (the simulator's CA) and one volume named after the
  PVC with the `dir` and `tar.gz` formats, as KubeVirt offers for a PVC holding files such as a
  memory dump. The external URL points at this server:
  `/api/export.kubevirt.io/v1/namespaces/{ns}/virtualmachineexports/{name}/volumes/{pvc}/disk.tar.gz`.

The download is authorised by the `x-kubevirt-export-token` header (or `?x-kubevirt-export-token=`)
holding the `token` key of that secret, not by the API bearer token, so the path is registered as
public for the bearer check. It serves a gzip'd tar with one file, `memory.dump`, whose bytes are
`dump_bytes(ns, pvc, size)` (deterministic, so tests can compare); `sim.config["export_size"]`
sets the size (default 1 MiB).

Hook: `server.build_app` calls `register_routes(app, sim)` of this module.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import io
import tarfile
from typing import Any

from aiohttp import web

DOWNLOAD_PREFIX = "/api/export.kubevirt.io/"
DOWNLOAD_ROUTE = (
    "/api/export.kubevirt.io/v1/namespaces/{namespace}/virtualmachineexports/{name}/volumes/{volume}/{file}"
)
TOKEN_HEADER = "x-kubevirt-export-token"
DEFAULT_SIZE = 1 << 20
DUMP_FILE = "memory.dump"


def dump_bytes(namespace: str, pvc: str, size: int) -> bytes:
    """Deterministic content of the simulated dump: a SHA-256 counter stream seeded by ns/pvc."""
    seed = f"{namespace}/{pvc}".encode()
    out = bytearray()
    block = 0
    while len(out) < size:
        out += hashlib.sha256(seed + block.to_bytes(8, "big")).digest() * 64  # 2 KiB per hash
        block += 1
    return bytes(out[:size])


def archive_gz(namespace: str, pvc: str, size: int) -> bytes:
    """The `tar.gz` export of the PVC: a tar holding `memory.dump`, gzip-compressed."""
    data = dump_bytes(namespace, pvc, size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(DUMP_FILE)
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)


def _links(sim: Any, ns: str, name: str, pvc: str) -> dict:
    ca = getattr(sim, "ca_pem", None)
    cert = ca.decode() if isinstance(ca, bytes) else (ca or "")
    base = (sim.url or "").rstrip("/")
    ext = f"{base}/api/export.kubevirt.io/v1/namespaces/{ns}/virtualmachineexports/{name}/volumes/{pvc}"
    internal = f"https://virt-export-{name}.{ns}.svc/volumes/{pvc}"

    def link(url: str) -> dict:
        return {
            "cert": cert,
            "volumes": [
                {
                    "name": pvc,
                    "formats": [
                        {"format": "dir", "url": f"{url}/dir"},
                        {"format": "tar.gz", "url": f"{url}/disk.tar.gz"},
                    ],
                }
            ],
        }

    return {"external": link(ext), "internal": link(internal)}


def _make_ready(sim: Any, ns: str, name: str) -> None:
    res = sim.res("VirtualMachineExport")

    def fn(obj: dict) -> None:
        spec = obj.get("spec") or {}
        src = spec.get("source") or {}
        st = obj.setdefault("status", {})
        if src.get("kind") != "PersistentVolumeClaim":
            st["phase"] = "Skipped"
            return
        pvc = sim.store.get(sim.res("PersistentVolumeClaim"), ns, src.get("name", ""))
        if pvc is None:
            st["phase"] = "Pending"
            return
        st["phase"] = "Ready"
        if spec.get("tokenSecretRef"):
            st["tokenSecretRef"] = spec["tokenSecretRef"]
        st["serviceName"] = f"virt-export-{name}"
        st["links"] = _links(sim, ns, name, src["name"])
        st["conditions"] = [{"type": "Ready", "status": "True", "reason": "PodReady"}]

    try:
        sim.store.mutate(res, ns, name, fn)
    except Exception:  # the export was deleted meanwhile
        pass


def _on_event(sim: Any, etype: str, res: Any, obj: dict) -> None:
    if getattr(res, "kind", "") != "VirtualMachineExport" or etype != "ADDED":
        return
    md = obj.get("metadata") or {}
    ns, name = md.get("namespace", ""), md.get("name", "")
    delay = float(sim.config.get("delay") or 0)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if delay > 0:
        loop.call_later(delay, _make_ready, sim, ns, name)
    else:
        loop.call_soon(_make_ready, sim, ns, name)


def _token_of(sim: Any, ns: str, vme: dict) -> str | None:
    ref = (vme.get("status") or {}).get("tokenSecretRef") or ""
    secret = sim.store.get(sim.res("Secret"), ns, ref) if ref else None
    if secret is None:
        return None
    value = (secret.get("data") or {}).get("token")
    if value is None:
        return (secret.get("stringData") or {}).get("token")
    try:
        return base64.b64decode(value).decode()
    except ValueError:
        return None


async def download(request: web.Request) -> web.StreamResponse:
    sim = request.app["sim"]
    ns, name = request.match_info["namespace"], request.match_info["name"]
    volume, file = request.match_info["volume"], request.match_info["file"]
    vme = sim.store.get(sim.res("VirtualMachineExport"), ns, name)
    if vme is None or (vme.get("status") or {}).get("phase") != "Ready":
        return web.Response(status=404, text="export not found\n")
    token = request.headers.get(TOKEN_HEADER) or request.query.get(TOKEN_HEADER)
    expected = _token_of(sim, ns, vme)
    if not token or expected is None or token != expected:
        return web.Response(status=401, text="unauthorized\n")
    src = (vme.get("spec") or {}).get("source") or {}
    if volume != src.get("name") or file != "disk.tar.gz":
        return web.Response(status=404, text="not found\n")
    size = int(sim.config.get("export_size") or DEFAULT_SIZE)
    body = archive_gz(ns, volume, size)
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/x-gzip"})
    resp.content_length = len(body)
    await resp.prepare(request)
    chunk = 64 * 1024
    for i in range(0, len(body), chunk):
        await resp.write(body[i : i + chunk])
    await resp.write_eof()
    return resp


def register_routes(app: web.Application, sim: Any) -> None:
    sim.public_prefixes = (*getattr(sim, "public_prefixes", ()), DOWNLOAD_PREFIX)
    sim.store.subscribe(lambda etype, res, obj: _on_event(sim, etype, res, obj))
    app.router.add_get(DOWNLOAD_ROUTE, download)
