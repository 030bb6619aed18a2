"""kube-apiserver side of the simulator: discovery, OpenAPI, CRUD, list, watch, patch, server-side apply.

A write (POST, PUT, PATCH) goes through the steps kube-apiserver takes:
  1. decode the body; check kind, name and namespace against the URL;
  2. field validation (`?fieldValidation=Strict|Warn|Ignore`, Warn when absent): fields the
     schema does not know fail the request (Strict) or come back as `Warning` headers; they are
     dropped either way;
  3. schema validation (wrong JSON types, missing required fields);
  4. managed fields: the writer (`?fieldManager=`, else the User-Agent) takes ownership of what
     it changed (`pyvirtctl.sim.fieldmanager`); server-side apply merges and checks conflicts;
  5. defaulting and name validation (the store), then the kind's validating webhook
     (`Resource.admit`, worded like virt-api's) - also for dry runs;
  6. the write, unless `dryRun=All`.
The admin API (`/_sim/...`), seeds and the controllers write to the store directly and skip 1-5.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from aiohttp import web

from pyvirtctl.sim import cdi, fieldmanager, kstatus, resources, subresources, tables
from pyvirtctl.sim.core import Simulator
from pyvirtctl.sim.kstatus import StatusError, clone
from pyvirtctl.sim.openapi import documents, validate
from pyvirtctl.sim.openapi.protobuf import CONTENT_TYPES as PROTOBUF_TYPES
from pyvirtctl.sim.patching import PatchError, PatchTestFailed, json_patch, merge_patch, strategic_merge_patch
from pyvirtctl.sim.resources import SUBRESOURCE_GROUP, Resource
from pyvirtctl.sim.routing import Route, json_response, parse_path
from pyvirtctl.sim.store import now_iso

KUBE_VERSION = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.4", "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
    "gitTreeState": "clean", "buildDate": "2024-12-10T11:38:07Z", "goVersion": "go1.22.9", "compiler": "gc",
    "platform": "linux/amd64",
}
APPLY_PATCH = "application/apply-patch+yaml"
UNSUPPORTED_PATCH = ("the body of the request was in an unknown format - accepted media types include: "
                     "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")


def add_routes(app: web.Application, sim: Simulator) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await handle(sim, request)

    app.router.add_route("*", "/{tail:.*}", handler)


def is_dry_run(request: web.Request, body: dict | None = None) -> bool:
    if "All" in request.query.getall("dryRun", []):
        return True
    return bool(body and "All" in (body.get("dryRun") or []))


async def decode_object(request: web.Request) -> dict:
    raw = await request.read()
    if not raw.strip():
        raise kstatus.bad_request("the body of the request was in an unknown format - accepted media types "
                                  "include: application/json, application/yaml, application/vnd.kubernetes.protobuf")
    ctype = request.headers.get("Content-Type", "")
    try:
        if "yaml" in ctype:
            import yaml

            obj = yaml.safe_load(raw)
        else:
            obj = json.loads(raw)
    except Exception as e:
        raise kstatus.bad_request(f"couldn't get version/kind; json parse error: {e}") from None
    if not isinstance(obj, dict):
        raise kstatus.bad_request("couldn't get version/kind; json parse error: json: cannot unmarshal "
                                  f"{type(obj).__name__} into Go value of type struct {{ APIVersion string "
                                  '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }')
    return obj


async def handle(sim: Simulator, request: web.Request) -> web.StreamResponse:
    path = request.path.rstrip("/") or "/"
    method = request.method
    if path == "/openapi" or path.startswith("/openapi/"):
        if method != "GET":
            raise kstatus.method_not_allowed()
        return openapi(request, path, bool(sim.config.get("server_field_validation", True)))
    disc = discovery(sim, path)
    if disc is not None:
        if method != "GET":
            raise kstatus.method_not_allowed()
        return json_response(disc)
    if path in ("/healthz", "/readyz", "/livez"):
        return web.Response(text="ok")
    route = parse_path(path)
    if route is None:
        raise kstatus.unknown_path()
    if route.group == SUBRESOURCE_GROUP:
        return await subresources.dispatch(sim, request, route)
    res = route.res
    if res is None:
        raise kstatus.unknown_path()
    if route.sub and route.sub not in res.subresources:
        raise kstatus.unknown_path()
    if route.namespace and sim.store.get(sim.res("Namespace"), None, route.namespace) is None \
            and method == "POST":
        raise kstatus.not_found("namespaces", route.namespace)
    if method == "GET":
        if route.name is None:
            if request.query.get("watch") in ("true", "1"):
                return await watch(sim, request, route, res)
            return list_objects(sim, request, route, res)
        obj = sim.store.get(res, route.namespace, route.name)
        if obj is None:
            raise kstatus.not_found(res.group_resource, route.name)
        if route.sub == "scale":
            return json_response(scale_of(obj))
        accept = request.headers.get("Accept", "")
        if tables.wants_table(accept) and not route.sub:
            return json_response(as_table(request, res, [obj], {"resourceVersion": str(sim.store.rv)}))
        return json_response(obj)
    if method == "POST":
        if route.name is not None:
            raise kstatus.method_not_allowed()
        body = await decode_object(request)
        if res.kind == "UploadTokenRequest":  # CDI's API server answers it and stores nothing
            return json_response(cdi.issue_token(sim, route.namespace or "", body))
        return create(sim, request, route, res, body)
    if method == "PUT":
        if route.name is None:
            raise kstatus.method_not_allowed()
        body = await decode_object(request)
        return update(sim, request, route, res, body)
    if method == "PATCH":
        if route.name is None:
            raise kstatus.method_not_allowed()
        return await patch(sim, request, route, res)
    if method == "DELETE":
        raw = await request.read()
        opts: dict = {}
        if raw.strip():
            try:
                opts = json.loads(raw)
            except ValueError as e:
                raise kstatus.bad_request(f"couldn't get version/kind; json parse error: {e}") from None
        dry = is_dry_run(request, opts if isinstance(opts, dict) else None)
        if route.name is None:
            items = [sim.store.delete(res, o["metadata"].get("namespace"), o["metadata"]["name"], dry_run=dry)
                     for o in sim.store.list(res, route.namespace, request.query.get("labelSelector", ""),
                                             request.query.get("fieldSelector", ""))]
            return json_response({"kind": res.list_kind, "apiVersion": res.api_version,
                                  "metadata": {"resourceVersion": str(sim.store.rv)}, "items": items})
        return json_response(sim.store.delete(res, route.namespace, route.name, dry_run=dry))
    raise kstatus.method_not_allowed()


# ----------------------------------------------------------------------------------------------
# discovery and OpenAPI

def discovery(sim: Simulator, path: str) -> dict | None:
    if path == "/version":
        return KUBE_VERSION
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": sim.url.split("://", 1)[-1]}]}
    if path == "/api/v1":
        return resources.resource_list("", "v1")
    if path == "/apis":
        return resources.api_group_list()
    parts = path.strip("/").split("/")
    if parts[0] != "apis":
        return None
    if len(parts) == 2:
        return resources.api_group(parts[1])
    if len(parts) == 3:
        return resources.resource_list(parts[1], parts[2])
    if len(parts) == 4 and parts[1] == SUBRESOURCE_GROUP and parts[2] in ("v1", "v1alpha3"):
        if parts[3] == "version":
            return virt_version(sim)
        if parts[3] == "guestfs":
            return guestfs_info(sim)
        if parts[3] == "healthz":
            return {}
    return None


def guestfs_info(sim: Simulator) -> dict:
    """virt-api's libguestfs-tools image data, from the KubeVirt CR's status (observed registry and
    version, and the deployment config's image prefix and GsImage) when there is a CR that has them."""
    info = {"registry": "quay.io/kubevirt", "tag": sim.config["version"], "digest": "", "imagePrefix": "",
            "gsImage": ""}
    for kv in sim.store.list(sim.res("KubeVirt")):
        st = kv.get("status") or {}
        info["registry"] = str(st.get("observedKubeVirtRegistry") or info["registry"])
        info["tag"] = str(st.get("observedKubeVirtVersion") or info["tag"])
        try:
            config = json.loads(st.get("observedDeploymentConfig") or "{}")
        except ValueError:
            config = {}
        if isinstance(config, dict):
            info["imagePrefix"] = str(config.get("imagePrefix") or "")
            info["gsImage"] = str(config.get("GsImage") or "")
        break
    return info


def virt_version(sim: Simulator) -> dict:
    return {"gitVersion": sim.config["version"], "gitCommit": "6f1b7d1a2a0f5cb5bf8a3d6e0c1b3f2a9d4e5c6b",
            "gitTreeState": "clean", "buildDate": "2025-06-01T00:00:00Z", "goVersion": "go1.23.9", "compiler": "gc",
            "platform": "linux/amd64"}


def openapi(request: web.Request, path: str, field_validation: bool = True) -> web.Response:
    """`/openapi/v2` (JSON or gnostic protobuf) and `/openapi/v3[/<group-version path>]`."""
    if path == "/openapi/v2":
        accept = request.headers.get("Accept", "")
        if any(t in accept for t in PROTOBUF_TYPES):
            return web.Response(body=documents.v2_protobuf_bytes(field_validation), content_type=PROTOBUF_TYPES[1])
        return web.Response(body=documents.v2_json_bytes(field_validation), content_type="application/json")
    if path == "/openapi/v3":
        return web.Response(body=documents.v3_index_bytes(field_validation), content_type="application/json")
    if path.startswith("/openapi/v3/"):
        body = documents.v3_path_document(path[len("/openapi/v3/"):], field_validation)
        if body is not None:
            return web.Response(body=body, content_type="application/json")
    return web.Response(status=404, text="404 page not found\n")


# ----------------------------------------------------------------------------------------------
# reads

def as_table(request: web.Request, res: Resource, items: list[dict], meta: dict, headers: bool = True) -> dict:
    include = request.query.get("includeObject") or "PartialObjectMetadata"
    if include not in tables.INCLUDE_OBJECT:
        raise kstatus.bad_request(f'includeObject: Unsupported value: "{include}": supported values: '
                                  '"None", "Object", "PartialObjectMetadata"')
    out = tables.table(res.table_columns, items, meta, include=include, headers=headers)
    out["apiVersion"] = "meta.k8s.io/" + tables.table_version(request.headers.get("Accept", ""))
    return out


def list_objects(sim: Simulator, request: web.Request, route: Route, res: Resource) -> web.Response:
    q = request.query
    items = sim.store.list(res, route.namespace, q.get("labelSelector", ""), q.get("fieldSelector", ""))
    meta: dict[str, Any] = {"resourceVersion": str(sim.store.rv)}
    limit = q.get("limit")
    if limit and limit.isdigit() and int(limit) > 0:
        start = 0
        if q.get("continue"):
            try:
                start = int(base64.urlsafe_b64decode(q["continue"].encode()).decode())
            except Exception:
                raise kstatus.bad_request("continue key is not valid: illegal base64 data") from None
        end = start + int(limit)
        if end < len(items):
            meta["continue"] = base64.urlsafe_b64encode(str(end).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        items = items[start:end]
    if tables.wants_table(request.headers.get("Accept", "")):
        return json_response(as_table(request, res, items, meta))
    if not res.is_crd:
        for it in items:
            it.pop("apiVersion", None)
            it.pop("kind", None)
    return json_response({"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta, "items": items})


async def watch(sim: Simulator, request: web.Request, route: Route, res: Resource) -> web.StreamResponse:
    """A watch stream; with `Accept: ...;as=Table` every event carries a one-row Table (column
    definitions in the first event only, as kube-apiserver sends them)."""
    q = request.query
    w = sim.store.watch(res, route.namespace, q.get("labelSelector", ""), q.get("fieldSelector", ""),
                        q.get("resourceVersion", ""))
    want_table = tables.wants_table(request.headers.get("Accept", ""))
    if want_table:
        as_table(request, res, [], {})  # reject a bad includeObject before the stream starts
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    loop = asyncio.get_running_loop()
    try:
        timeout = float(q.get("timeoutSeconds") or 1800)
    except ValueError:
        timeout = 1800.0
    deadline = loop.time() + timeout
    first = True
    try:
        while loop.time() < deadline:
            try:
                ev = await asyncio.wait_for(w.queue.get(), timeout=min(1.0, max(0.01, deadline - loop.time())))
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    break
                continue
            if ev is None:
                break
            if want_table and ev.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                obj = ev["object"]
                ev = {"type": ev["type"], "object": as_table(
                    request, res, [obj], {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")},
                    headers=first)}
                first = False
            await resp.write(json.dumps(ev).encode() + b"\n")
    except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        w.close()
    return resp


def scale_of(obj: dict) -> dict:
    md = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": md["name"], "namespace": md.get("namespace"), "uid": md.get("uid"),
                         "resourceVersion": md.get("resourceVersion"),
                         "creationTimestamp": md.get("creationTimestamp")},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0)}}


# ----------------------------------------------------------------------------------------------
# the write pipeline

class Write:
    """One write request: field validation mode, warnings, field manager, dry run."""

    def __init__(self, request: web.Request, res: Resource, route: Route) -> None:
        q = request.query
        self.res, self.route = res, route
        directive = q.get("fieldValidation", "") or "Warn"
        if directive not in ("Ignore", "Warn", "Strict"):
            raise kstatus.bad_request(f'invalid fieldValidation directive: "{directive}", must be one of '
                                      f'"Ignore", "Warn", "Strict"')
        self.directive = directive
        self.warnings: list[str] = []
        self.manager = q.get("fieldManager") or fieldmanager.manager_from_user_agent(
            request.headers.get("User-Agent", ""))
        if len(self.manager) > 128:
            raise kstatus.bad_request("fieldManager: Too long: may not be more than 128 bytes")
        self.dry_run = is_dry_run(request)
        self.type = documents.kind_type(res)
        self.sub = route.sub

    # -- 2 + 3: fields and types
    def check_fields(self, obj: dict, known: dict | None = None) -> dict:
        """Unknown fields (Strict: 400; Warn: warnings) are dropped; wrong types fail the request."""
        t = self.type
        unknown = validate.unknown_fields(t, obj)
        if known is not None:
            unknown = [u for u in unknown if u not in set(validate.unknown_fields(t, known))]
        if unknown:
            texts = [f'unknown field "{u}"' for u in unknown]
            if self.directive == "Strict":
                raise kstatus.bad_request("strict decoding error: " + ", ".join(texts))
            if self.directive == "Warn":
                self.warnings.extend(texts)
            obj = validate.prune(t, obj)
        return obj

    def check_types(self, obj: dict) -> None:
        errs = [e for e in validate.type_errors(self.type, obj)
                if not e[0].startswith("status") and not e[0].startswith("metadata")]
        if not errs:
            return
        res = self.res
        name = (obj.get("metadata") or {}).get("name") or self.route.name or ""
        if res.is_crd:
            raise kstatus.invalid(res.kind_group, name, errs)
        field, _reason, text = errs[0]
        got = text.split('"')[1] if '"' in text else "value"
        raise kstatus.bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                                  f"json: cannot unmarshal {got} into Go struct field {res.kind}.{field} of type "
                                  f"{validate.go_type_at(self.type, field)}")

    # -- 4: managed fields
    def scope(self) -> tuple[tuple[fieldmanager.Path, ...] | None, tuple[fieldmanager.Path, ...]]:
        status = (("f", "status"),)
        if self.sub == "status":
            return (status,), ()
        if "status" in self.res.subresources:
            return None, (status,)
        return None, ()

    def record(self, old: dict | None, new: dict) -> None:
        """An Update-operation entry for this request's manager (create, PUT, non-apply PATCH)."""
        md = new.setdefault("metadata", {})
        base = md.get("managedFields") if "managedFields" in md else (old or {}).get("metadata", {}).get(
            "managedFields")
        managers = fieldmanager.Managers(base)
        fieldmanager.record_update(self.type, _without_meta(old), _without_meta(new), managers, self.manager,
                                   self.res.api_version, self.sub, now_iso(), self.scope())
        md["managedFields"] = managers.encode()
        if not md["managedFields"]:
            del md["managedFields"]

    # -- 5: admission
    def admit(self, old: dict | None) -> Any:
        """The check the store runs after defaulting and name validation: schema types, then the webhook."""
        res = self.res

        def check(new: dict) -> None:
            self.check_types(new)
            if res.admit is None or self.sub:
                return
            verdict = res.admit(new, old)
            if verdict.causes:
                raise webhook_denied(verdict.webhook, verdict.causes)
            self.warnings.extend(verdict.warnings)
        return check

    def respond(self, obj: dict, status: int = 200) -> web.Response:
        resp = json_response(obj, status=status)
        for w in self.warnings:
            resp.headers.add("Warning", f'299 - "{_quote(w)}"')
        return resp


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _without_meta(obj: dict | None) -> dict | None:
    """The object as field management sees it (managedFields excluded)."""
    if obj is None:
        return None
    out = dict(obj)
    md = dict(out.get("metadata") or {})
    md.pop("managedFields", None)
    out["metadata"] = md
    return out


def webhook_denied(webhook: str, causes: list[dict]) -> StatusError:
    """How kube-apiserver reports a validating webhook's denial (virt-api's causes, at most 10)."""
    shown = causes[:10]
    msg = ", ".join(c["message"] for c in shown)
    if len(causes) > 10:
        msg += f", and {len(causes) - 10} more validation errors"
    return StatusError(422, "Invalid", f'admission webhook "{webhook}" denied the request: {msg}',
                       {"causes": [{k: c[k] for k in ("reason", "message", "field") if c.get(k)} for c in shown]})


def _check_body_target(route: Route, res: Resource, body: dict) -> None:
    kind = body.get("kind")
    if kind and kind != res.kind:
        raise kstatus.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({res.kind})")
    ns = (body.get("metadata") or {}).get("namespace")
    if res.namespaced and ns and ns != route.namespace:
        raise kstatus.bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")


def create(sim: Simulator, request: web.Request, route: Route, res: Resource, body: dict) -> web.Response:
    _check_body_target(route, res, body)
    if not isinstance(body.get("metadata", {}), dict):
        raise kstatus.bad_request("metadata must be an object")
    w = Write(request, res, route)
    obj = w.check_fields(clone(body))
    md = obj.setdefault("metadata", {})
    if res.namespaced:
        md["namespace"] = route.namespace
    if res.has_status:
        obj.pop("status", None)
    md.pop("managedFields", None)
    w.record(None, obj)
    created = sim.store.create(res, obj, dry_run=w.dry_run, check=w.admit(None))
    return w.respond(created, status=201)


def update(sim: Simulator, request: web.Request, route: Route, res: Resource, body: dict) -> web.Response:
    _check_body_target(route, res, body)
    md = body.setdefault("metadata", {})
    if md.get("name") and md["name"] != route.name:
        raise kstatus.bad_request(f"the name of the object ({md['name']}) does not match the name on the URL "
                                  f"({route.name})")
    md["name"] = route.name
    if res.namespaced:
        md["namespace"] = route.namespace
    cur = sim.store.get(res, route.namespace, route.name or "")
    if cur is None:
        raise kstatus.not_found(res.group_resource, route.name or "")
    w = Write(request, res, route)
    body = w.check_fields(body)
    obj = _merge_subresource(res, route.sub, cur, body)
    w.record(cur, obj)
    return w.respond(sim.store.update(res, obj, dry_run=w.dry_run, check=w.admit(cur)))


def _merge_subresource(res: Resource, sub: str, cur: dict, new: dict) -> dict:
    if sub == "status":
        out = clone(cur)
        out["status"] = clone(new.get("status"))
        if new.get("metadata", {}).get("resourceVersion"):
            out["metadata"]["resourceVersion"] = new["metadata"]["resourceVersion"]
        return out
    if sub == "scale":
        out = clone(cur)
        out.setdefault("spec", {})["replicas"] = (new.get("spec") or {}).get("replicas", 0)
        return out
    out = clone(new)
    if res.has_status:
        if "status" in cur:
            out["status"] = clone(cur["status"])
        else:
            out.pop("status", None)
    return out


async def patch(sim: Simulator, request: web.Request, route: Route, res: Resource) -> web.Response:
    raw = await request.read()
    ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
    if ctype == APPLY_PATCH:
        return server_side_apply(sim, request, route, res, raw)
    if ctype not in ("application/json-patch+json", "application/merge-patch+json",
                     "application/strategic-merge-patch+json"):
        raise StatusError(415, "UnsupportedMediaType", f'the media type "{ctype}" is not supported for PATCH', None)
    if ctype == "application/strategic-merge-patch+json" and res.is_crd:
        raise StatusError(415, "UnsupportedMediaType", UNSUPPORTED_PATCH, None)
    try:
        doc = json.loads(raw) if raw.strip() else None
    except ValueError as e:
        raise kstatus.bad_request(f"error decoding patch: {e}") from None
    cur = sim.store.get(res, route.namespace, route.name or "")
    if cur is None:
        raise kstatus.not_found(res.group_resource, route.name or "")
    w = Write(request, res, route)
    if ctype == "application/json-patch+json":
        if not isinstance(doc, list):
            raise kstatus.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            patched = json_patch(cur, doc)
        except PatchTestFailed:
            raise kstatus.internal("jsonpatch test operation does not apply") from None
        except PatchError as e:
            raise StatusError(422, "Invalid", str(e)) from None
    else:
        if not isinstance(doc, dict):
            raise kstatus.bad_request("patch body must be a JSON object")
        if ctype == "application/strategic-merge-patch+json":
            try:
                patched = strategic_merge_patch(w.type, cur, doc)
            except PatchError as e:
                raise kstatus.bad_request(str(e)) from None
        else:
            patched = merge_patch(cur, doc)
    if not isinstance(patched, dict):
        raise kstatus.bad_request("the patched object is not a JSON object")
    patched = w.check_fields(patched, known=cur)
    patched.setdefault("metadata", {})["name"] = cur["metadata"]["name"]
    if res.namespaced:
        patched["metadata"]["namespace"] = cur["metadata"]["namespace"]
    check_rv = bool(patched["metadata"].get("resourceVersion")) and \
        patched["metadata"]["resourceVersion"] != cur["metadata"]["resourceVersion"]
    if not check_rv:
        patched["metadata"].pop("resourceVersion", None)
    obj = _merge_subresource(res, route.sub, cur, patched) if route.sub else patched
    if not route.sub and res.has_status:
        obj["status"] = cur.get("status")
        if obj["status"] is None:
            obj.pop("status")
    w.record(cur, obj)
    return w.respond(sim.store.update(res, obj, dry_run=w.dry_run, check_rv=check_rv, check=w.admit(cur)))


def server_side_apply(sim: Simulator, request: web.Request, route: Route, res: Resource, raw: bytes) -> web.Response:
    """`PATCH` with `application/apply-patch+yaml`: create or merge, with field ownership and conflicts."""
    import yaml

    w = Write(request, res, route)
    if not request.query.get("fieldManager"):
        raise kstatus.bad_request("PATCH /apply requests require fieldManager to be set")
    force = request.query.get("force") in ("true", "1")
    try:
        config = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as e:
        raise kstatus.bad_request("error decoding patch: " + " ".join(str(e).split())) from None
    if not isinstance(config, dict):
        raise kstatus.bad_request("error decoding patch: the apply configuration must be an object")
    if config.get("apiVersion") != res.api_version:
        raise kstatus.bad_request(f"Incorrect version specified in apply patch. Specified patch version: "
                                  f"{config.get('apiVersion') or ''}, expected: {res.api_version}")
    if config.get("kind") != res.kind:
        raise kstatus.bad_request(f"the kind in the data ({config.get('kind') or ''}) does not match the expected "
                                  f"kind ({res.kind})")
    md = config.get("metadata")
    if md is not None and not isinstance(md, dict):
        raise kstatus.bad_request("metadata must be an object")
    md = md or {}
    if md.get("managedFields") is not None:
        raise kstatus.bad_request("metadata.managedFields must be nil")
    if md.get("name") and md["name"] != route.name:
        raise kstatus.bad_request(f"the name of the object ({md['name']}) does not match the name on the URL "
                                  f"({route.name})")
    if res.namespaced and md.get("namespace") and md["namespace"] != route.namespace:
        raise kstatus.bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
    unknown = validate.unknown_fields(w.type, config)
    if unknown:
        where = f"{route.namespace or ''}/{route.name}; {res.api_version}, Kind={res.kind}"
        if not res.group:
            where = f"{route.namespace or ''}/{route.name}; /{res.version}, Kind={res.kind}"
        raise StatusError(500, "", f"failed to create typed patch object ({where}): "
                                          + "\n".join(f".{u}: field not declared in schema" for u in unknown), None)
    cur = sim.store.get(res, route.namespace, route.name or "")
    live = _without_meta(cur)
    managers = fieldmanager.Managers((cur or {}).get("metadata", {}).get("managedFields"))
    new = fieldmanager.apply(w.type, live, config, managers, w.manager, res.api_version, force, now_iso(),
                             w.scope())
    nmd = new.setdefault("metadata", {})
    nmd["name"] = route.name
    if res.namespaced:
        nmd["namespace"] = route.namespace
    nmd["managedFields"] = managers.encode()
    if cur is None:
        if res.has_status:
            new.pop("status", None)
        created = sim.store.create(res, new, dry_run=w.dry_run, check=w.admit(None))
        return w.respond(created, status=201)
    if res.has_status:
        if cur.get("status") is not None:
            new["status"] = cur["status"]
        else:
            new.pop("status", None)
    nmd.pop("resourceVersion", None)
    return w.respond(sim.store.update(res, new, dry_run=w.dry_run, check_rv=False, check=w.admit(cur)))
