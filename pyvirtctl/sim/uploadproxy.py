"""CDI's upload proxy for the simulator: a second HTTPS listener that takes disk images into PVCs.

`start()` serves it on its own port with its own certificate (signed by the simulator's CA, so a client
that trusts the cluster's CA trusts it too, and one that does not sees an unknown authority); its URL is
published as the CDIConfig's `status.uploadProxyURL` (cdi.py). It plays both CDI's cdi-uploadproxy and the
upload server pod behind it:

* paths (CDI's ProxyPaths): `/v1beta1/upload`, `/v1alpha1/upload` (sync), `/v1beta1/upload-async`,
  `/v1alpha1/upload-async`, `/v1beta1/upload-form[-async]`, `/v1alpha1/upload-form[-async]` (multipart,
  part `file`); `/healthz`; anything else is Go's `404 page not found`;
* `Authorization: Bearer <token>`: missing or malformed -> 400, unknown or expired -> 401; the token
  (from an UploadTokenRequest, cdi.py) names the namespace and PVC;
* the PVC must exist, be an upload target, not be done already, and its upload pod must be ready
  (waited for up to 10 s): else 503 with the proxy's message as the body;
* a PVC with `cdi.kubevirt.io/storage.contentType: archive` is sent to the upload server's archive
  endpoint, which takes only POST (so HEAD on `upload-async` answers 404 there, and virtctl falls back to
  the sync path, as against CDI);
* the upload server: HEAD on an async path -> 200; another upload in progress -> 503; the body is streamed
  into the PVC's bytes (`sim.volumes`) through `diskimage.ImageSink` (gzip and xz decompressed, the
  virtual size checked against the claim: 400 `Saving stream failed: effective image size is larger than
  the reported available storage: ...`; other failures 500 `Saving stream failed: ...`). A sync upload
  marks the PVC's pod Succeeded before answering 200; an async one answers 200 and finishes after one
  controller step (cdi.finish_later).

Every request is written to the simulator's request log with `"server": "uploadproxy"`, the bytes received
(`bytes`, and `seconds` from the first to the last of them: what benchmarks divide) and never the body;
the token is redacted like the API server's. Config knobs (`/_sim/config`): `upload_ready_wait` (seconds
the proxy waits for the upload pod, default 10), `upload_processing_seconds` (how long an async upload's
processing takes, default: the controller step `delay`), `upload_token_ttl` (cdi.py). Faults (faults.py) apply with
the proxy's paths and the PVC's namespace and name: `reset` (with `bytes`: after that much of the body),
`status`, `delay`, `expire_token`.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from pyvirtctl.sim import cdi
from pyvirtctl.sim.diskimage import ImageError, ImageSink

SYNC = frozenset(("/v1beta1/upload", "/v1alpha1/upload"))
ASYNC = frozenset(("/v1beta1/upload-async", "/v1alpha1/upload-async"))
FORM_SYNC = frozenset(("/v1beta1/upload-form", "/v1alpha1/upload-form"))
FORM_ASYNC = frozenset(("/v1beta1/upload-form-async", "/v1alpha1/upload-form-async"))
PROXY_PATHS = SYNC | ASYNC | FORM_SYNC | FORM_ASYNC
_BEARER = re.compile(r"(?i)^Bearer\s+([A-Za-z0-9\-._~+/]+)$")
READY_WAIT = 10.0  # the proxy waits this long for the upload pod to be ready
LOG_HEADERS = ("authorization", "content-type", "content-length", "transfer-encoding", "user-agent", "accept")
CHUNK = 1 << 20


class _Dropped(Exception):
    """The connection was cut on purpose (a fault)."""


def _text(status: int, text: str = "") -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain", charset="utf-8")


def _log_entry(request: web.Request) -> dict[str, Any]:
    headers = {}
    for k, v in request.headers.items():
        lk = k.lower()
        if lk in LOG_HEADERS:
            headers[lk] = "Bearer ***" if lk == "authorization" and v.lower().startswith("bearer ") else (
                "***" if lk == "authorization" else v)
    return {"server": "uploadproxy", "method": request.method, "path": request.path,
            "query": request.raw_path.partition("?")[2], "headers": headers, "body": None, "bytes": 0,
            "status": None}


async def handle(request: web.Request) -> web.StreamResponse:
    sim = request.app["sim"]
    entry = _log_entry(request)
    request["upload_log"] = entry
    try:
        response = await _handle(sim, request, entry)
    except _Dropped:
        entry["status"] = 0
        sim.record(entry)
        if request.transport is not None:
            request.transport.abort()
        raise web.HTTPInternalServerError() from None  # never sent: the connection is gone
    return response


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    entry = request.get("upload_log")
    if entry is not None and entry["status"] is None:
        entry["status"] = response.status
        request.app["sim"].record(entry)


async def _handle(sim: Any, request: web.Request, entry: dict) -> web.StreamResponse:
    path = request.path
    if path == "/healthz":
        return _text(200, "OK")
    if path not in PROXY_PATHS:
        return _text(404, "404 page not found\n")
    if request.method == "OPTIONS":  # CORS preflight (the proxy allows every origin)
        return web.Response(status=204, headers={"Access-Control-Allow-Origin": "*",
                                                 "Access-Control-Allow-Methods": "HEAD, GET, POST",
                                                 "Access-Control-Allow-Headers": "*"})
    header = request.headers.get("Authorization", "")
    if not header:
        return _text(400)
    m = _BEARER.match(header)
    if m is None:
        return _text(400)
    token = cdi.check_token(sim, m.group(1))
    if token is None:
        return _text(401)
    ns, name = token.namespace, token.pvc
    if not ns or not name:
        return _text(400)
    fault = sim.faults.for_request(request.method, path, ns, name)
    drop_after: int | None = None
    if fault is not None:
        spec = fault.spec
        if fault.action == "expire_token":
            return _text(401)
        if fault.action == "status":
            return _text(int(spec.get("status", 503)), str(spec.get("message") or ""))
        if fault.action == "delay":
            await _sleep_while_connected(request, float(spec.get("seconds", 1)))
        if fault.action == "reset":
            drop_after = int(spec.get("bytes") or 0)
            if drop_after <= 0:
                raise _Dropped()
    pvc, why = await _wait_ready(sim, ns, name)
    if why:
        return _text(503, why)
    assert pvc is not None
    ann = pvc["metadata"].get("annotations") or {}
    content = ann.get(cdi.ANN_CONTENT_TYPE, "")
    if content not in ("", "kubevirt", "archive"):
        return _text(503, f"rejecting upload request for PVC {name} - upload content-type {content} is invalid")
    archive = content == "archive"
    is_async = not archive and path in (ASYNC | FORM_ASYNC)
    form = not archive and path in (FORM_SYNC | FORM_ASYNC)
    if request.method == "HEAD" and is_async:
        return _text(200)
    if request.method != "POST":
        return _text(404)
    key = (ns, name)
    if key in sim.uploads.busy:
        return _text(503)
    sim.uploads.busy.add(key)
    try:
        result = await _receive(sim, request, entry, ns, name, pvc, archive, form, drop_after)
    finally:
        sim.uploads.busy.discard(key)
    if isinstance(result, web.StreamResponse):
        return result
    if is_async:
        cdi.finish_later(sim, ns, name, pvc["metadata"]["uid"])
    else:
        cdi.finish_upload(sim, ns, name, pvc["metadata"]["uid"])
    return _text(200)


async def _sleep_while_connected(request: web.Request, seconds: float) -> None:
    """A slow proxy (a fault): wait, but stop as soon as the client has gone."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if request.transport is None or request.transport.is_closing():
            raise _Dropped()
        await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))


async def _wait_ready(sim: Any, ns: str, name: str) -> tuple[dict | None, str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(sim.config.get("upload_ready_wait", READY_WAIT))
    while True:
        pvc, why = cdi.upload_ready(sim, ns, name)
        if why != "not ready":
            return pvc, why
        if loop.time() >= deadline:
            return pvc, "context deadline exceeded"
        await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))


async def _receive(sim: Any, request: web.Request, entry: dict, ns: str, name: str, pvc: dict, archive: bool,
                   form: bool, drop_after: int | None) -> web.StreamResponse | dict:
    stream: Any = request.content
    if form:
        try:
            reader = await request.multipart()
            part: Any = await reader.next()
            while part is not None and getattr(part, "name", None) != "file":
                part = await reader.next()
        except Exception:  # noqa: BLE001 - a body that is not multipart
            part = None
        if part is None:
            return _text(400)
        stream = part
    try:
        out = sim.volumes.writer(ns, name)
    except ValueError as e:
        return _text(500, f"Saving stream failed: {e}")
    sink = ImageSink(out, cdi.pvc_bytes(pvc), archive=archive)
    failed = True
    started = asyncio.get_running_loop().time()
    try:
        while True:
            data = await (stream.read_chunk(CHUNK) if form else stream.readany())
            if not data:
                break
            sink.write(data)
            entry["bytes"] = sink.received
            entry["seconds"] = round(asyncio.get_running_loop().time() - started, 4)
            if drop_after is not None and sink.received >= drop_after:
                raise _Dropped()
        summary = sink.close()
        failed = False
    except ImageError as e:
        return _stream_error(e)
    except BaseException:  # the client went away, or a fault cut the connection: the server restarts
        cdi.upload_failed(sim, ns, name, pvc["metadata"]["uid"])
        raise
    finally:
        out.close()
        if failed:
            sim.volumes.delete(ns, name)
    entry["image"] = summary
    return summary


def _stream_error(e: ImageError) -> web.Response:
    if e.no_capacity:
        return _text(400, "Saving stream failed: effective image size is larger than the reported available "
                          f"storage: {e.message}")
    return _text(500, f"Saving stream failed: {e.message}")


def build_app(sim: Any) -> web.Application:
    app = web.Application()
    app["sim"] = sim
    app.on_response_prepare.append(_on_prepare)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def start(sim: Any, host: str, port: int, ssl_context: Any) -> tuple[web.AppRunner, str]:
    """Serve the proxy; (runner to clean up, its URL)."""
    runner = web.AppRunner(build_app(sim), access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_address=True)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    shown = f"[{host}]" if ":" in host else host
    return runner, f"{'https' if ssl_context is not None else 'http'}://{shown}:{bound}"
