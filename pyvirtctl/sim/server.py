"""The simulator's HTTP(S) server: kube-apiserver + virt-api semantics over a real socket.

Modules, lowest layer first (each imports only those above it in this list; no cycles)
-----------------------------------------------------------------------------------
  kstatus, faults, certs, guestagent, patching, fieldmanager, tables, admission, defaults, openapi/
      pure helpers: Status bodies, faults, patches, managed fields, Table rows, webhooks, schemas
  resources   one descriptor per kind (REST names, printer columns, schema, defaulting, admission)
  store       versioned objects, selectors, watches
  state       SimState: store + settings + seeds/--state files
  templates   virt-template stand-in: template processing, the template/request controllers
  controllers virt-controller/virt-handler/CDI stand-ins (work on a SimState)
  core        Simulator: SimState + request log, faults, controllers, reset
  routing     paths -> Route, JSON/Status responses
  api, admin, subresources, export/, podforward, template_api, streams/   the HTTP handlers
              (spdy: podforward's framing)
  server      middleware and the aiohttp app;  __main__: the command line

Layout of a request
-------------------
Every request passes the middleware (`_middleware`) which, in this order:
  1. answers `/_sim/...` admin requests (bearer token checked, never logged, never faulted);
  2. records the request for the request log (the entry is written when the response headers
     go out, so a websocket upgrade is logged with status 101 at upgrade time);
  3. checks the bearer token (401 Status `Unauthorized`), then the --deny list (403 Status worded
     like kube-apiserver's RBAC), then injected faults;
  4. calls the route handler; a raised `kstatus.StatusError` becomes a JSON Status response.

Plug-in point for websocket streams (console, vnc, vnc/screenshot, port-forward, usbredir)
-----------------------------------------------------------------------------------------
When it builds the aiohttp app, `build_app` imports `pyvirtctl.sim.streams` if that package
exists and calls::

    pyvirtctl.sim.streams.register_routes(app: aiohttp.web.Application, sim: Simulator)

*before* it adds its own catch-all routes, so routes registered there win. Paths to register
(all under `/apis/subresources.kubevirt.io/{version}/namespaces/{namespace}/`)::

    virtualmachineinstances/{name}/console        virtualmachineinstances/{name}/vnc
    virtualmachineinstances/{name}/vnc/screenshot virtualmachineinstances/{name}/usbredir
    virtualmachineinstances/{name}/portforward/{port}[/{protocol}]
    virtualmachines/{name}/portforward/{port}[/{protocol}]

Without the streams package these paths still validate the VMI exactly like virt-api (404, 400
`VMI is not running`, 409 ... see streaming.md §5.2) and then answer 500 as virt-api does when
virt-handler (or the VM port) cannot be reached.

What a stream handler gets from `sim` (a `pyvirtctl.sim.core.Simulator`):
  * `sim.store` - the object store (`pyvirtctl.sim.store.Store`): `get(res, ns, name)`,
    `list(res, ns, label_selector=, field_selector=)`, `update(res, obj)`,
    `mutate(res, ns, name, fn)`, `watch(res, ns)`, `subscribe(cb)`. Resource descriptors:
    `sim.res("VirtualMachineInstance")` (or `pyvirtctl.sim.resources.by_kind`).
  * `pyvirtctl.sim.subresources.stream_precheck(sim, request, kind)` with kind in
    console|vnc|screenshot|usbredir|portforward: returns `(vmi_dict, None)` when the request may
    proceed, or `(None, response)` with the exact virt-api error response to return (JSON Status;
    text/plain 500 for screenshot).
  * `sim.portforward_target(vmi, port, protocol)` -> "host:port" or None, from the annotation
    `sim.pyvirtctl.io/portforward` on the VMI (or its VM).
  * `sim.faults.ws_drop_after(kind, ns, name) -> int | None` - bytes after which to drop the stream.
  * `sim.status_response(code, reason, message, details=None)` - a JSON Status `web.Response`.
  * `sim.config` - dict (delay, version, ...); `sim.reset_hooks` - append a callable to be run on
    `POST /_sim/reset` (drop sessions there); `sim.guest_agent(ns, name)` - guest agent data.
  * Auth and the request log already cover websocket upgrade requests (the middleware runs
    before the handler; the entry is logged with status 101 when the upgrade response is sent).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from aiohttp import web

from pyvirtctl.sim import admin, api, export, kstatus, podforward, template_api
from pyvirtctl.sim.core import Simulator
from pyvirtctl.sim.kstatus import StatusError
from pyvirtctl.sim.resources import SUBRESOURCE_GROUP
from pyvirtctl.sim.routing import Route, json_response, parse_path, request_verb
from pyvirtctl.sim.state import DEFAULT_VERSION, GA_ANNOTATION, PF_ANNOTATION, load_documents, parse_documents
from pyvirtctl.sim.store import SelectorError

# names other modules and older callers import from here
__all__ = ["DEFAULT_VERSION", "GA_ANNOTATION", "PF_ANNOTATION", "Simulator", "build_app", "json_response",
           "kubeconfig_text", "load_documents", "parse_documents", "parse_path"]

LOG_HEADERS = ("authorization", "content-type", "accept", "user-agent", "upgrade", "sec-websocket-protocol")


# ==============================================================================================
# middleware


def _redact(value: str) -> str:
    scheme, _, rest = value.partition(" ")
    return f"{scheme} ***" if rest else "***"


def _log_entry(request: web.Request, body: bytes) -> dict:
    headers = {}
    for k, v in request.headers.items():
        lk = k.lower()
        if lk in LOG_HEADERS or lk.startswith("impersonate-"):
            headers[lk] = _redact(v) if lk == "authorization" else v
    parsed: Any = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
    query = request.raw_path.partition("?")[2]
    if "x-kubevirt-export-token=" in query:  # an export token in the URL: never logged
        query = "&".join("x-kubevirt-export-token=***" if p.startswith("x-kubevirt-export-token=") else p
                         for p in query.split("&"))
    return {"method": request.method, "path": request.path, "query": query,
            "headers": headers, "body": parsed, "status": None}


def _authorized(sim: Simulator, request: web.Request) -> bool:
    # paths a plug-in serves with its own credentials (the export server's token header)
    if any(request.path.startswith(p) for p in getattr(sim, "public_prefixes", ())):
        return True
    auth = request.headers.get("Authorization", "")
    return auth == f"Bearer {sim.token}"


def _deny_match(sim: Simulator, request: web.Request, route: Route | None) -> web.Response | None:
    if not sim.deny:
        return None
    verb = request_verb(request.method, route, dict(request.query))
    if route is None:
        return None
    if route.group == SUBRESOURCE_GROUP:
        resource = route.plural
        sub = route.sub.split("/")[0] if route.sub else ""
        if route.sub.startswith("vnc/screenshot"):
            sub = "vnc/screenshot"
        if route.sub.startswith("evacuate/cancel"):
            sub = "evacuate/cancel"
    else:
        resource, sub = route.plural, route.sub
    for pat in sim.deny:
        def ok(field: str, value: str | None, pat: dict = pat) -> bool:
            want = pat.get(field)
            return want in (None, "", "*") or want == (value or "")

        res_ok = ok("resource", resource) or pat.get("resource") == f"{resource}/{sub}"
        if res_ok and ok("verb", verb) and ok("subresource", sub) and ok("namespace", route.namespace) \
                and ok("name", route.name):
            user = request.headers.get("Impersonate-User") or sim.config["user"]
            group = route.group
            gr = f"{resource}.{group}" if group else resource
            full = f"{resource}/{sub}" if sub else resource
            where = f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
            err = f'User "{user}" cannot {verb} resource "{full}" in API group "{group}" {where}'
            e = kstatus.forbidden(gr, route.name or "", err)
            return sim.status_response(e.code, e.reason, e.message, e.details)
    return None


async def _apply_fault(sim: Simulator, request: web.Request, route: Route | None) -> web.Response | None:
    f = sim.faults.for_request(request.method, request.path, route.namespace if route else None,
                               route.name if route else None)
    if f is None:
        return None
    spec = f.spec
    if f.action == "delay":
        await asyncio.sleep(float(spec.get("seconds", 1)))
        return None
    if f.action == "status":
        code = int(spec.get("status", 500))
        reason = kstatus.REASONS.get(code, "Unknown")
        msg = spec.get("message") or f"injected fault: {reason}"
        return sim.status_response(code, reason, msg)
    if f.action == "html":
        code = int(spec.get("status", 502))
        msg = spec.get("message") or "Bad Gateway"
        html = f"<html><head><title>{code} {msg}</title></head><body><h1>{msg}</h1></body></html>\n"
        return web.Response(text=html, status=code, content_type="text/html")
    if f.action == "empty":
        return web.Response(body=b"", status=int(spec.get("status", 200)), content_type="application/json")
    if f.action == "reset":
        partial = spec.get("bytes")
        if partial:
            # mid-response: the status line, headers promising a longer body, `bytes` of it, then the cut
            body = (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","message":"'
                    + b"x" * int(partial) + b'"}')
            resp = web.StreamResponse(status=int(spec.get("status", 200)),
                                      headers={"Content-Type": "application/json",
                                               "Content-Length": str(len(body) + 4096)})
            await resp.prepare(request)
            await resp.write(body[: int(partial)])
            await asyncio.sleep(0.05)
        if request.transport is not None:
            request.transport.abort()
        raise _Aborted()
    if f.action == "hang":
        deadline = asyncio.get_running_loop().time() + float(spec.get("seconds", 3600))
        while asyncio.get_running_loop().time() < deadline:
            if request.transport is None or request.transport.is_closing():
                raise _Aborted()
            await asyncio.sleep(0.05)
        return sim.status_response(504, "Timeout", "injected fault: hang ended")
    return None


class _Aborted(Exception):
    """The connection was dropped on purpose (fault); nothing more to send."""


def make_middleware(sim: Simulator):
    @web.middleware
    async def middleware(request: web.Request, handler):
        path = request.path
        if path.startswith("/_sim/") or path == "/_sim":
            if not _authorized(sim, request):
                e = kstatus.unauthorized()
                return sim.status_response(e.code, e.reason, e.message)
            return await _call(handler, request, sim)
        body = await request.read()
        entry = _log_entry(request, body)
        request["sim_log"] = entry
        try:
            if not _authorized(sim, request):
                e = kstatus.unauthorized()
                return sim.status_response(e.code, e.reason, e.message)
            route = parse_path(path)
            denied = _deny_match(sim, request, route)
            if denied is not None:
                return denied
            faulted = await _apply_fault(sim, request, route)
            if faulted is not None:
                return faulted
            return await _call(handler, request, sim)
        except _Aborted:
            _log_now(sim, entry)
            raise web.HTTPInternalServerError() from None  # never sent: the transport is gone
        except BaseException:
            _log_now(sim, entry)
            raise

    return middleware


def _log_now(sim: Simulator, entry: dict) -> None:
    if not entry.get("_logged"):
        entry["_logged"] = True
        sim.record({k: v for k, v in entry.items() if k != "_logged"})


async def _call(handler, request: web.Request, sim: Simulator) -> web.StreamResponse:
    try:
        return await handler(request)
    except StatusError as e:
        return sim.status_response(e.code, e.reason, e.message, e.details)
    except SelectorError as e:
        return sim.status_response(400, "BadRequest", str(e))


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    entry = request.get("sim_log")
    if entry is not None and not entry.get("_logged"):
        entry["_logged"] = True
        entry["status"] = response.status
        request.app["sim"].record({k: v for k, v in entry.items() if k != "_logged"})


# ==============================================================================================
# app


def build_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[make_middleware(sim)], client_max_size=64 * 1024 * 1024)
    app["sim"] = sim
    app.on_response_prepare.append(_on_prepare)
    admin.add_routes(app, sim)
    try:
        import pyvirtctl.sim.streams as streams_mod
    except ImportError as e:
        if e.name not in ("pyvirtctl.sim.streams",):
            raise
        streams_mod = None
    if streams_mod is not None and hasattr(streams_mod, "register_routes"):
        streams_mod.register_routes(app, sim)
    # VirtualMachineExport controller, exporter pods and the export proxy (pyvirtctl/sim/export/)
    export.register_routes(app, sim)
    # pods/portforward (SPDY in a websocket), how virtctl reaches an exporter pod with --port-forward
    podforward.register_routes(app, sim)
    # virt-template's aggregated API: VirtualMachineTemplates' process/create (pyvirtctl/sim/template_api.py)
    template_api.register_routes(app, sim)
    api.add_routes(app, sim)
    return app


def kubeconfig_text(url: str, token: str, namespace: str, ca_pem: bytes | None) -> str:
    cluster = f"    server: {url}\n"
    if ca_pem is not None:
        cluster += f"    certificate-authority-data: {base64.b64encode(ca_pem).decode()}\n"
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "- name: sim\n"
        "  cluster:\n"
        f"{cluster}"
        "contexts:\n"
        "- name: sim\n"
        "  context:\n"
        "    cluster: sim\n"
        "    user: sim\n"
        f"    namespace: {namespace}\n"
        "current-context: sim\n"
        "preferences: {}\n"
        "users:\n"
        "- name: sim\n"
        "  user:\n"
        f"    token: {token}\n"
    )

