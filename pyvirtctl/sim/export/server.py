"""The export server: what virt-exportserver answers, for the exporter pods' own ports and the export proxy.

Paths (after `https://virt-export-<name>.<ns>.svc`, or after the external prefix
`/api/export.kubevirt.io/v1/namespaces/<ns>/virtualmachineexports/<name>` on the API server's port,
where the simulator plays virt-exportproxy):

    volumes/<claim>/disk.img        the bytes in `sim.volumes` (Content-Length, single byte ranges)
    volumes/<claim>/disk.img.gz     the same, gzip-compressed as it is sent (chunked; the result is kept
                                    beside the volume, so a second download streams it at disk speed)
    volumes/<claim>/disk.tar.gz     a directory export: a tar of `./` and its one file, gzip-compressed
    volumes/<claim>/dir/[file]      the directory: an HTML listing, or the file
    {internal,external}/manifests/all     VM and snapshot exports (`manifests.py`), YAML or JSON by Accept
    {internal,external}/manifests/secret  the CDI header Secret
    exportready                     the readiness probe (no token)

Every other path is Go's `404 page not found`. The token is the `token` key of the export's token
Secret as it was when the exporter started, sent as the `x-kubevirt-export-token` header or query parameter; a missing or wrong one is a
401 with an empty body. Through the external prefix an export whose exporter is not running answers
503. Requests on the pods' ports are added to the request log with `"server": "virt-export-<name>"`
(the token never is). The `cut_body` fault drops a download after that many body bytes.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import io
import os
import tarfile
import zlib
from typing import Any

from aiohttp import web

from pyvirtctl.sim.export import manifests
from pyvirtctl.sim.export.controller import API_PREFIX

TOKEN = "x-kubevirt-export-token"
CHUNK = 256 * 1024
NOT_FOUND = "404 page not found\n"


class _Cut(Exception):
    pass


def _token_of(sim: Any, ns: str, vme: dict) -> str | None:
    ref = (vme.get("status") or {}).get("tokenSecretRef") or ""
    secret = sim.store.get(sim.res("Secret"), ns, ref) if ref else None
    if secret is None:
        return None
    value = (secret.get("data") or {}).get("token")
    if value is None:
        return None
    try:
        return base64.b64decode(value).decode()
    except ValueError:
        return None


def _authorized(request: web.Request, expected: str | None) -> bool:
    if not expected:
        return False
    for given in (request.query.get(TOKEN, ""), request.headers.get(TOKEN, "")):
        if given and hmac.compare_digest(given.encode(), expected.encode()):
            return True
    return False


def _log(sim: Any, request: web.Request, via: str, name: str, status: int) -> None:
    if via != "pod":
        return  # the API server's middleware logs these
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() in ("accept", "user-agent")}
    query = "&".join(f"{k}=***" if k == TOKEN else f"{k}={v}" for k, v in request.query.items())
    sim.record({"method": request.method, "path": request.path, "query": query, "headers": headers,
                "body": None, "status": status, "server": f"virt-export-{name}"})


async def serve(request: web.Request, sim: Any, ns: str, name: str, tail: str, via: str) -> web.StreamResponse:
    """Answer one request for export ns/name; `via` is "pod" (the exporter's port) or "proxy"."""
    ctl = sim.exports
    vme = sim.store.get(sim.res("VirtualMachineExport"), ns, name)
    exporter = ctl.exporter_for(ns, name) if vme is not None else None
    if vme is None or exporter is None or not exporter.running:
        resp: web.StreamResponse = web.Response(status=503, text="export server is not running\n")
        _log(sim, request, via, name, 503)
        return resp
    source = ctl.resolve(vme)
    parts = [p for p in tail.split("/")]
    handler = _route(parts, source)
    if handler is None:
        _log(sim, request, via, name, 404)
        return web.Response(status=404, text=NOT_FOUND)
    if handler[0] != "ready" and not _authorized(request, exporter.token):
        _log(sim, request, via, name, 401)
        return web.Response(status=401, body=b"")
    kind, arg = handler
    if request.method not in ("GET", "HEAD") and kind != "ready":
        _log(sim, request, via, name, 400)
        return web.Response(status=400, body=b"")
    if kind == "ready":
        _log(sim, request, via, name, 200)
        return web.Response(status=200, text="OK")
    if kind in ("all", "secret"):
        link = parts[0]  # internal or external
        body = _manifest(sim, ctl, vme, source, kind, link, request.headers.get("Accept", ""))
        _log(sim, request, via, name, 200)
        return web.Response(status=200, body=body, content_type="text/plain", charset="utf-8")
    volume, extra = arg
    cut = sim.faults.body_cut_after(request.method, request.path)
    _log(sim, request, via, name, 200)
    try:
        return await _volume(request, sim, ns, volume, kind, extra, cut)
    except _Cut:
        if request.transport is not None:
            request.transport.abort()
        raise web.HTTPInternalServerError() from None  # never sent: the connection is gone


def _route(parts: list[str], source: Any) -> tuple[str, Any] | None:
    if parts == ["exportready"]:
        return "ready", None
    if len(parts) == 3 and parts[0] in ("internal", "external") and parts[1] == "manifests":
        if parts[2] == "all" and source.manifests:
            return "all", None
        if parts[2] == "secret":
            return "secret", None
        return None
    if len(parts) >= 3 and parts[0] == "volumes":
        vol = next((v for v in source.volumes if v.claim == parts[1]), None)
        if vol is None:
            return None
        rest = parts[2:]
        if vol.kubevirt and rest == ["disk.img"]:
            return "raw", (vol, None)
        if vol.kubevirt and rest == ["disk.img.gz"]:
            return "gzip", (vol, None)
        if not vol.kubevirt and rest == ["disk.tar.gz"]:
            return "archive", (vol, None)
        if not vol.kubevirt and rest[0] == "dir" and len(rest) <= 2:
            return "dir", (vol, rest[1] if len(rest) == 2 else "")
    return None


def _manifest(sim: Any, ctl: Any, vme: dict, source: Any, kind: str, link: str, accept: str) -> bytes:
    md = vme["metadata"]
    ns, name = md["namespace"], md["name"]
    exporter = ctl.exporter_for(ns, name)
    token = (exporter.token if exporter is not None else None) or _token_of(sim, ns, vme) or ""
    if kind == "secret":
        return manifests.render([manifests.header_secret(name, token)], accept)
    base = ctl.internal_base(ns, name) if link == "internal" else ctl.external_base(ns, name)
    objects = [manifests.ca_configmap(name, ctl.ca())]
    vm = source.vm
    if vm is not None:
        claims = [v.claim for v in source.volumes]
        objects.append(manifests.exported_vm(vm, name, base, claims))
        pvcs = {v.name: v.pvc for v in source.volumes}
        objects += manifests.exported_datavolumes(vm, pvcs, name, base)
    return manifests.render(objects, accept)


# --------------------------------------------------------------------------- volume bodies


async def _volume(request: web.Request, sim: Any, ns: str, vol: Any, kind: str, extra: str,
                  cut: int | None) -> web.StreamResponse:
    path = sim.volumes.path(ns, vol.claim)
    if not os.path.isfile(path):
        return web.Response(status=500, body=b"")
    size = os.path.getsize(path)
    if kind == "raw" or (kind == "dir" and extra == vol.file):
        return await _file(request, path, size, cut)
    if kind == "dir":
        if extra:
            return web.Response(status=404, text=NOT_FOUND)
        listing = f'<!doctype html>\n<meta name="viewport" content="width=device-width">\n<pre>\n' \
                  f'<a href="{vol.file}">{vol.file}</a>\n</pre>\n'
        return web.Response(status=200, text=listing, content_type="text/html", charset="utf-8")
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/x-gzip"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    if request.method == "HEAD":
        return resp
    sender = _Sender(resp, cut)
    if kind == "archive":
        await _compressed(sender, path, _tar_head(vol.file, size), b"\0" * ((-size) % 512 + 1024))
    else:
        await _gzip(sender, path)
    await resp.write_eof()
    return resp


async def _compressed(sender: _Sender, path: str, head: bytes = b"", tail: bytes = b"",
                      cache: Any = None) -> None:
    """gzip(head + file + tail) as it is made; zlib runs on another thread (it lets go of the GIL)."""
    loop = asyncio.get_running_loop()
    gz = zlib.compressobj(1, zlib.DEFLATED, 31)

    async def send(data: bytes) -> None:
        if cache is not None and data:
            cache.write(data)
        await sender.send(data)

    if head:
        await send(gz.compress(head))
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            await send(await loop.run_in_executor(None, gz.compress, chunk))
    await send(gz.compress(tail) + gz.flush())


async def _gzip(sender: _Sender, path: str) -> None:
    """disk.img.gz: compressed while sent, and kept beside the volume (`<claim>.img.gz`, valid for the
    file's size and mtime) so that the next download of the same bytes streams at disk speed."""
    st = os.stat(path)
    key = f"{st.st_size}:{st.st_mtime_ns}"
    cache, stamp = path + ".gz", path + ".gz.key"
    try:
        with open(stamp, encoding="utf-8") as fh:
            fresh = fh.read() == key and os.path.isfile(cache)
    except OSError:
        fresh = False
    if fresh:
        with open(cache, "rb") as f:
            while chunk := f.read(CHUNK):
                await sender.send(chunk)
        return
    partial = f"{cache}.{os.getpid()}.{id(sender)}.tmp"
    try:
        with open(partial, "wb") as out:
            await _compressed(sender, path, cache=out)
        os.replace(partial, cache)
        with open(stamp, "w", encoding="utf-8") as fh:
            fh.write(key)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


class _Sender:
    def __init__(self, resp: web.StreamResponse, cut: int | None) -> None:
        self.resp = resp
        self.left = cut

    async def send(self, data: bytes) -> None:
        if not data:
            return
        if self.left is not None:
            if len(data) >= self.left:
                await self.resp.write(data[: self.left])
                await self.resp.drain()
                raise _Cut()
            self.left -= len(data)
        await self.resp.write(data)


async def _file(request: web.Request, path: str, size: int, cut: int | None) -> web.StreamResponse:
    start, end = 0, size - 1
    status = 200
    rng = request.headers.get("Range", "")
    if rng.startswith("bytes=") and "," not in rng:
        a, _, b = rng[6:].partition("-")
        try:
            if a:
                start, end = int(a), (int(b) if b else size - 1)
            elif b:
                start, end = max(0, size - int(b)), size - 1
            if start > end or start >= size:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
            end = min(end, size - 1)
            status = 206
        except ValueError:
            start, end = 0, size - 1
    headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_length = end - start + 1
    await resp.prepare(request)
    if request.method == "HEAD":
        return resp
    sender = _Sender(resp, cut)
    left = end - start + 1
    with open(path, "rb") as f:
        f.seek(start)
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            await sender.send(chunk)
    await resp.write_eof()
    return resp


def _tar_head(file: str, size: int) -> bytes:
    """GNU tar's `tar Scv .` of a directory holding one file: the `./` entry, then the file's header."""
    out = io.BytesIO()
    d = tarfile.TarInfo("./")
    d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 0
    out.write(d.tobuf(tarfile.GNU_FORMAT))
    f = tarfile.TarInfo(f"./{file}")
    f.size, f.mode, f.mtime = size, 0o644, 0
    out.write(f.tobuf(tarfile.GNU_FORMAT))
    return out.getvalue()


# --------------------------------------------------------------------------- the export proxy


EXTERNAL_ROUTE = API_PREFIX + "/namespaces/{namespace}/virtualmachineexports/{name}/{tail:.*}"


async def external(request: web.Request) -> web.StreamResponse:
    sim = request.app["sim"]
    info = request.match_info
    return await serve(request, sim, info["namespace"], info["name"], info["tail"], "proxy")
