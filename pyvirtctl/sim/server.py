"""The simulator's HTTP(S) server: kube-apiserver + virt-api semantics over a real socket.

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

What a stream handler gets from `sim` (a `Simulator`):
  * `sim.store` - the object store (`pyvirtctl.sim.store.Store`): `get(res, ns, name)`,
    `list(res, ns, label_selector=, field_selector=)`, `update(res, obj)`,
    `mutate(res, ns, name, fn)`, `watch(res, ns)`, `subscribe(cb)`. Resource descriptors:
    `sim.res("VirtualMachineInstance")` (or `pyvirtctl.sim.resources.by_kind`).
  * `sim.stream_precheck(request, kind)` with kind in console|vnc|screenshot|usbredir|portforward:
    returns `(vmi_dict, None)` when the request may proceed, or `(None, response)` with the exact
    virt-api error response to return (JSON Status; text/plain 500 for screenshot).
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
import os
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web

from pyvirtctl.sim import kstatus, resources
from pyvirtctl.sim.faults import Faults
from pyvirtctl.sim.kstatus import StatusError, clone
from pyvirtctl.sim.resources import SUBRESOURCE_GROUP, Resource
from pyvirtctl.sim.store import SelectorError, Store, now_iso

DEFAULT_VERSION = "v1.9.0"
LOG_HEADERS = ("authorization", "content-type", "accept", "user-agent", "upgrade", "sec-websocket-protocol")
PF_ANNOTATION = "sim.pyvirtctl.io/portforward"
GA_ANNOTATION = "sim.pyvirtctl.io/guest-agent"


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(obj).encode(), status=status, content_type="application/json")


class Route:
    """A parsed resource path."""

    def __init__(self) -> None:
        self.group = ""
        self.version = ""
        self.namespace: str | None = None
        self.plural = ""
        self.name: str | None = None
        self.sub: str = ""
        self.res: Resource | None = None

    def subresource_kind(self) -> str:
        return self.sub.split("/")[0] if self.sub else ""


def parse_path(path: str) -> Route | None:
    segs = [s for s in path.split("/") if s]
    r = Route()
    if len(segs) >= 2 and segs[0] == "api":
        r.group, r.version, rest = "", segs[1], segs[2:]
    elif len(segs) >= 3 and segs[0] == "apis":
        r.group, r.version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    if not rest:
        return None
    if r.group == SUBRESOURCE_GROUP:
        if len(rest) >= 3 and rest[0] == "namespaces":
            r.namespace, r.plural = rest[1], rest[2]
            r.name = rest[3] if len(rest) > 3 else None
            r.sub = "/".join(rest[4:])
            return r
        r.plural = "/".join(rest)
        return r
    if rest[0] == "namespaces" and len(rest) >= 3 and resources.lookup(r.group, r.version, rest[2]):
        r.namespace, r.plural = rest[1], rest[2]
        r.name = rest[3] if len(rest) > 3 else None
        r.sub = "/".join(rest[4:])
    else:
        r.plural = rest[0]
        r.name = rest[1] if len(rest) > 1 else None
        r.sub = "/".join(rest[2:])
    r.res = resources.lookup(r.group, r.version, r.plural)
    return r


def request_verb(method: str, route: Route | None, query: dict) -> str:
    if method == "GET":
        if route is not None and route.name is None:
            return "watch" if query.get("watch") in ("true", "1") else "list"
        return "get"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())


class Simulator:
    """State shared by every handler: store, faults, config, request log, controllers."""

    def __init__(self, token: str, namespace: str = "default", delay: float = 0.0, seeds: list[str] | None = None,
                 deny: list[dict] | None = None, log_file: str | None = None, state_file: str | None = None,
                 url: str = "") -> None:
        self.token = token
        self.namespace = namespace
        self.seeds = seeds or []
        self.deny = deny or []
        self.url = url
        self.store = Store()
        self.faults = Faults()
        self.config: dict[str, Any] = {"delay": delay, "version": DEFAULT_VERSION, "guest_agent": True,
                                       "hotplug_volumes": True, "user": "sim-user", "nodes": ["node01", "node02"]}
        self.initial_config = clone(self.config)
        self.log: list[dict] = []
        self.log_file = log_file
        self._log_fh = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115
        self.state_file = state_file
        self.reset_hooks: list[Callable[[], Any]] = []
        self.guest_data: dict[tuple[str, str], dict] = {}
        self.store.create_hooks.append(self._defaults_on_create)
        from pyvirtctl.sim.controllers import Controllers

        self.controllers = Controllers(self)
        self.store.subscribe(lambda *_: self.controllers.kick())
        self.store.subscribe(lambda *_: self._state_dirty())
        self._save_handle: asyncio.TimerHandle | None = None

    # -- helpers for handlers and the streams module
    @staticmethod
    def res(kind: str) -> Resource:
        r = resources.by_kind(kind)
        if r is None:
            raise KeyError(kind)
        return r

    @staticmethod
    def status_response(code: int, reason: str | None, message: str, details: dict | None = None) -> web.Response:
        return web.Response(body=kstatus.status_json(code, reason, message, details), status=code,
                            content_type="application/json")

    def guest_agent(self, ns: str, name: str) -> dict:
        from pyvirtctl.sim.guestagent import default_data

        data = self.guest_data.get((ns, name))
        return data if data is not None else default_data(name)

    def portforward_target(self, vmi: dict, port: int, protocol: str = "tcp") -> str | None:
        md = vmi.get("metadata", {})
        sources = [md.get("annotations") or {}]
        vm = self.store.get(self.res("VirtualMachine"), md.get("namespace"), md.get("name", ""))
        if vm:
            sources.append(vm["metadata"].get("annotations") or {})
            sources.append(((vm.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations") or {})
        for ann in sources:
            raw = ann.get(PF_ANNOTATION)
            if not raw:
                continue
            try:
                mapping = json.loads(raw)
            except ValueError:
                continue
            key = str(port) if protocol == "tcp" else f"{protocol}/{port}"
            if key in mapping:
                return str(mapping[key])
            if f"tcp/{port}" in mapping and protocol == "tcp":
                return str(mapping[f"tcp/{port}"])
        return None

    async def stream_precheck(self, request: web.Request, kind: str) -> tuple[dict | None, web.Response | None]:
        from pyvirtctl.sim.subresources import stream_precheck

        return stream_precheck(self, request, kind)

    # -- request log
    def record(self, entry: dict) -> None:
        self.log.append(entry)
        if self._log_fh:
            self._log_fh.write(json.dumps(entry) + "\n")
            self._log_fh.flush()

    # -- objects
    def _defaults_on_create(self, res: Resource, obj: dict) -> None:
        from pyvirtctl.sim.defaults import apply_create_defaults

        apply_create_defaults(self, res, obj)

    def ensure_namespace(self, ns: str | None) -> None:
        if not ns:
            return
        nsres = self.res("Namespace")
        if self.store.get(nsres, None, ns) is None:
            self.store.create(nsres, {"metadata": {"name": ns}})

    def admin_apply(self, obj: dict) -> dict:
        """Create or replace an object as given, status included (admin API, seeds)."""
        kind = obj.get("kind")
        if not kind:
            raise kstatus.bad_request("Object 'Kind' is missing")
        res = resources.by_kind(kind, obj.get("apiVersion"))
        if res is None:
            raise kstatus.bad_request(f"unknown kind {kind!r}")
        obj = clone(obj)
        md = obj.setdefault("metadata", {})
        if res.namespaced:
            md.setdefault("namespace", self.namespace)
            self.ensure_namespace(md["namespace"])
        cur = self.store.get(res, md.get("namespace"), md.get("name", "")) if md.get("name") else None
        if cur is None:
            status = obj.get("status")
            created = self.store.create(res, obj)
            if status is not None and created.get("status") != status:
                created = self.store.mutate(res, md.get("namespace"), created["metadata"]["name"],
                                            lambda o: o.__setitem__("status", status)) or created
            return created
        md["resourceVersion"] = cur["metadata"]["resourceVersion"]
        if "status" not in obj and "status" in cur:
            obj["status"] = cur["status"]
        return self.store.update(res, obj)

    def load_seeds(self) -> None:
        self.ensure_namespace(self.namespace)
        for seed in self.seeds:
            for obj in load_documents(seed):
                self.admin_apply(obj)

    def reset(self) -> None:
        self.faults.clear()
        self.controllers.reset()
        self.store.clear()
        self.guest_data.clear()
        self.log.clear()
        self.config.clear()
        self.config.update(clone(self.initial_config))
        for hook in list(self.reset_hooks):
            try:
                hook()
            except Exception as e:  # a broken hook must not break reset
                print(f"sim: reset hook failed: {e}", file=sys.stderr)
        self.load_seeds()

    # -- --state persistence
    def load_state(self) -> bool:
        if not self.state_file or not os.path.exists(self.state_file):
            return False
        with open(self.state_file, encoding="utf-8") as f:
            data = json.load(f)
        for obj in data.get("objects", []):
            res = resources.by_kind(obj.get("kind", ""), obj.get("apiVersion"))
            if res is None:
                continue
            md = obj["metadata"]
            key = self.store._key(res, md.get("namespace"), md["name"])
            self.store.objects[key] = obj
            self.store.resource_of[resources.storage_key(res)] = res
        self.store.rv = max(self.store.rv, int(data.get("resourceVersion", 0)))
        return True

    def save_state(self) -> None:
        if not self.state_file:
            return
        objs = [obj for _, obj in self.store.all_objects()]
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"resourceVersion": self.store.rv, "objects": objs}, f)
        os.replace(tmp, self.state_file)

    def _state_dirty(self) -> None:
        if not self.state_file:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._save_handle is None:
            def _save() -> None:
                self._save_handle = None
                self.save_state()
            self._save_handle = loop.call_later(0.3, _save)


def load_documents(path: str) -> list[dict]:
    """Objects from a YAML/JSON file; `default` is the packaged demo seed."""
    if path == "default":
        path = os.path.join(os.path.dirname(__file__), "centos7-1905.yaml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return parse_documents(text)


def parse_documents(text: str) -> list[dict]:
    try:
        data = json.loads(text)
        docs = data if isinstance(data, list) else [data]
    except ValueError:
        import yaml

        docs = [d for d in yaml.safe_load_all(text) if d]
    out = []
    for d in docs:
        if isinstance(d, dict) and d.get("kind", "").endswith("List") and isinstance(d.get("items"), list):
            out.extend(d["items"])
        elif isinstance(d, dict):
            out.append(d)
    return out


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
    return {"method": request.method, "path": request.path, "query": request.raw_path.partition("?")[2],
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
    from pyvirtctl.sim import admin, api

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
    # VirtualMachineExport controller + the export server's download URL (pyvirtctl/sim/export.py)
    from pyvirtctl.sim import export

    export.register_routes(app, sim)
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


def now() -> str:
    return now_iso()
