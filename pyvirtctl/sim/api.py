"""kube-apiserver side of the simulator: discovery, CRUD, list, watch, patch."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from aiohttp import web

from pyvirtctl.sim import kstatus, resources
from pyvirtctl.sim.kstatus import StatusError, clone
from pyvirtctl.sim.resources import SUBRESOURCE_GROUP, Resource
from pyvirtctl.sim.server import Route, Simulator, json_response, parse_path

KUBE_VERSION = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.4", "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
    "gitTreeState": "clean", "buildDate": "2024-12-10T11:38:07Z", "goVersion": "go1.22.9", "compiler": "gc",
    "platform": "linux/amd64",
}


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
        from pyvirtctl.sim import subresources

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
        return json_response(obj)
    if method == "POST":
        if route.name is not None:
            raise kstatus.method_not_allowed()
        body = await decode_object(request)
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
# discovery

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
            return {"registry": "quay.io/kubevirt", "tag": sim.config["version"], "digest": "", "imagePrefix": "",
                    "gsImage": ""}
        if parts[3] == "healthz":
            return {}
    return None


def virt_version(sim: Simulator) -> dict:
    return {"gitVersion": sim.config["version"], "gitCommit": "6f1b7d1a2a0f5cb5bf8a3d6e0c1b3f2a9d4e5c6b",
            "gitTreeState": "clean", "buildDate": "2025-06-01T00:00:00Z", "goVersion": "go1.23.9", "compiler": "gc",
            "platform": "linux/amd64"}


# ----------------------------------------------------------------------------------------------
# CRUD

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
    if "as=Table" in request.headers.get("Accept", ""):
        return json_response(as_table(res, items, meta))
    if not res.is_crd:
        for it in items:
            it.pop("apiVersion", None)
            it.pop("kind", None)
    return json_response({"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta, "items": items})


# additionalPrinterColumns of KubeVirt's CRDs (name, JSON path in the object, type)
_PRINTER_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "Namespace": [("Status", "status.phase", "string"), ("Age", "metadata.creationTimestamp", "date")],
    "VirtualMachine": [("Age", "metadata.creationTimestamp", "date"), ("Status", "status.printableStatus", "string"),
                       ("Ready", "status.conditions[Ready].status", "string")],
    "VirtualMachineInstance": [("Age", "metadata.creationTimestamp", "date"), ("Phase", "status.phase", "string"),
                               ("IP", "status.interfaces[0].ipAddress", "string"),
                               ("NodeName", "status.nodeName", "string"),
                               ("Ready", "status.conditions[Ready].status", "string")],
}


def _column(obj: dict, path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        key, _, index = part.partition("[")
        cur = (cur or {}).get(key) if isinstance(cur, dict) else None
        if index:
            index = index.rstrip("]")
            if index.isdigit():
                cur = cur[int(index)] if isinstance(cur, list) and len(cur) > int(index) else None
            else:
                cur = next((c for c in cur or [] if isinstance(c, dict) and c.get("type") == index), None)
    return cur if cur is not None else ""


def as_table(res: Resource, items: list[dict], meta: dict) -> dict:
    """A meta.k8s.io/v1 Table, as kube-apiserver serves `Accept: application/json;as=Table` (server-side
    printing with the CRD's printer columns; rows carry PartialObjectMetadata)."""
    columns = [("Name", "metadata.name", "string")] + _PRINTER_COLUMNS.get(res.kind, [
        ("Created At", "metadata.creationTimestamp", "date")])
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": meta.get("resourceVersion", "")},
        "columnDefinitions": [{"name": n, "type": t, "format": "name" if n == "Name" else "", "description": "",
                               "priority": 0} for n, _, t in columns],
        "rows": [{"cells": [_column(it, path) for _, path, _ in columns],
                  "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": it.get("metadata", {})}} for it in items],
    }


async def watch(sim: Simulator, request: web.Request, route: Route, res: Resource) -> web.StreamResponse:
    q = request.query
    w = sim.store.watch(res, route.namespace, q.get("labelSelector", ""), q.get("fieldSelector", ""),
                        q.get("resourceVersion", ""))
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    loop = asyncio.get_running_loop()
    try:
        timeout = float(q.get("timeoutSeconds") or 1800)
    except ValueError:
        timeout = 1800.0
    deadline = loop.time() + timeout
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
            await resp.write(json.dumps(ev).encode() + b"\n")
    except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        w.close()
    return resp


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
    obj = clone(body)
    md = obj.setdefault("metadata", {})
    if res.namespaced:
        md["namespace"] = route.namespace
    if res.has_status:
        obj.pop("status", None)
    created = sim.store.create(res, obj, dry_run=is_dry_run(request))
    return json_response(created, status=201)


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
    obj = _merge_subresource(res, route.sub, cur, body)
    return json_response(sim.store.update(res, obj, dry_run=is_dry_run(request)))


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


def scale_of(obj: dict) -> dict:
    md = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": md["name"], "namespace": md.get("namespace"), "uid": md.get("uid"),
                         "resourceVersion": md.get("resourceVersion"),
                         "creationTimestamp": md.get("creationTimestamp")},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0)}}


async def patch(sim: Simulator, request: web.Request, route: Route, res: Resource) -> web.Response:
    raw = await request.read()
    ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
    try:
        doc = json.loads(raw) if raw.strip() else None
    except ValueError as e:
        raise kstatus.bad_request(f"error decoding patch: {e}") from None
    cur = sim.store.get(res, route.namespace, route.name or "")
    if cur is None:
        raise kstatus.not_found(res.group_resource, route.name or "")
    if ctype == "application/json-patch+json":
        if not isinstance(doc, list):
            raise kstatus.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            patched = json_patch(cur, doc)
        except PatchTestFailed:
            raise kstatus.internal("jsonpatch test operation does not apply") from None
        except PatchError as e:
            raise StatusError(422, "Invalid", str(e)) from None
    elif ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                   "application/apply-patch+yaml"):
        if not isinstance(doc, dict):
            raise kstatus.bad_request("patch body must be a JSON object")
        patched = merge_patch(cur, doc)
    else:
        raise StatusError(415, "UnsupportedMediaType", f'the media type "{ctype}" is not supported for PATCH',
                          None)
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
    return json_response(sim.store.update(res, obj, dry_run=is_dry_run(request), check_rv=check_rv))


# ----------------------------------------------------------------------------------------------
# patch helpers

class PatchError(ValueError):
    pass


class PatchTestFailed(PatchError):
    pass


def merge_patch(target: Any, patch_doc: Any) -> Any:
    if not isinstance(patch_doc, dict):
        return clone(patch_doc)
    out = clone(target) if isinstance(target, dict) else {}
    for k, v in patch_doc.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> tuple[Any, str]:
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise PatchError(f"path element {p!r} not found") from None
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            raise PatchError(f"doc is missing path: {'/' + '/'.join(parts)}")
    return cur, parts[-1]


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent, last = _parent(doc, parts)
    if isinstance(parent, list):
        try:
            return parent[int(last)]
        except (ValueError, IndexError):
            raise PatchError("index out of range") from None
    if not isinstance(parent, dict) or last not in parent:
        raise PatchError(f"doc is missing path: {'/' + '/'.join(parts)}")
    return parent[last]


def json_patch(doc: Any, ops: list) -> Any:
    doc = clone(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("invalid patch operation")
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        if kind == "test":
            try:
                got = _get(doc, parts)
            except PatchError:
                got = None
            if got != op.get("value"):
                raise PatchTestFailed("testing value failed")
            continue
        if kind in ("move", "copy"):
            value = clone(_get(doc, _pointer(op.get("from", ""))))
            if kind == "move":
                doc = json_patch(doc, [{"op": "remove", "path": op.get("from")}])
            kind, op = "add", {"value": value}
        if not parts:
            if kind in ("add", "replace"):
                doc = clone(op.get("value"))
                continue
            raise PatchError("cannot remove the document root")
        parent, last = _parent(doc, parts)
        if kind == "add":
            if isinstance(parent, list):
                idx = len(parent) if last == "-" else int(last)
                if idx > len(parent):
                    raise PatchError("index out of range")
                parent.insert(idx, clone(op.get("value")))
            elif isinstance(parent, dict):
                parent[last] = clone(op.get("value"))
            else:
                raise PatchError("cannot add to a scalar")
        elif kind == "remove":
            _get(doc, parts)
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        elif kind == "replace":
            _get(doc, parts)
            if isinstance(parent, list):
                parent[int(last)] = clone(op.get("value"))
            else:
                parent[last] = clone(op.get("value"))
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc
