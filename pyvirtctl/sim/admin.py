"""The `/_sim/...` admin API used by tests (bearer-token protected, never in the request log)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from pyvirtctl.sim import kstatus, resources
from pyvirtctl.sim.core import Simulator
from pyvirtctl.sim.faults import FaultSpecError
from pyvirtctl.sim.routing import json_response
from pyvirtctl.sim.state import parse_documents


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        try:
            return parse_documents(text)
        except Exception as e:
            raise kstatus.bad_request(f"cannot parse body: {e}") from None


def add_routes(app: web.Application, sim: Simulator) -> None:
    r = app.router

    async def post_objects(request: web.Request) -> web.Response:
        body = await _body(request)
        objs = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
        if isinstance(body, dict) and body.get("kind", "").endswith("List") and "items" in body:
            objs = body["items"]
        out = [sim.admin_apply(o) for o in objs]
        return json_response(out)

    async def get_objects(request: web.Request) -> web.Response:
        kind = request.query.get("kind", "")
        res = resources.by_kind(kind) if kind else None
        if kind and res is None:
            raise kstatus.bad_request(f"unknown kind {kind!r}")
        ns = request.query.get("namespace") or None
        if res is not None:
            return json_response(sim.store.list(res, ns, request.query.get("labelSelector", "")))
        items = [sim.store.present(rr, o) for rr, o in sim.store.all_objects()
                 if not ns or o["metadata"].get("namespace") == ns]
        return json_response(items)

    async def delete_object(request: web.Request) -> web.Response:
        res = resources.by_kind(request.match_info["kind"])
        if res is None:
            raise kstatus.bad_request(f"unknown kind {request.match_info['kind']!r}")
        ns = request.match_info["namespace"]
        return json_response(sim.store.delete(res, None if ns in ("-", "_") else ns, request.match_info["name"]))

    async def post_fault(request: web.Request) -> web.Response:
        body = await _body(request)
        specs = body if isinstance(body, list) else [body]
        try:
            for s in specs:
                sim.faults.add(s)
        except FaultSpecError as e:
            raise kstatus.bad_request(str(e)) from None
        return json_response(sim.faults.as_json())

    async def get_faults(request: web.Request) -> web.Response:
        return json_response(sim.faults.as_json())

    async def delete_faults(request: web.Request) -> web.Response:
        sim.faults.clear()
        return json_response([])

    async def post_reset(request: web.Request) -> web.Response:
        sim.reset()
        return json_response({"ok": True})

    async def post_config(request: web.Request) -> web.Response:
        body = await _body(request) or {}
        if not isinstance(body, dict):
            raise kstatus.bad_request("config must be a JSON object")
        if "delay" in body:
            body["delay"] = float(body["delay"])
        sim.config.update(body)
        sim.controllers.kick()
        return json_response(sim.config)

    async def get_config(request: web.Request) -> web.Response:
        return json_response(sim.config)

    async def get_log(request: web.Request) -> web.Response:
        return json_response(sim.log)

    async def delete_log(request: web.Request) -> web.Response:
        sim.log.clear()
        return json_response([])

    async def post_vmi(request: web.Request) -> web.Response:
        body = await _body(request) or {}
        if not isinstance(body, dict):
            raise kstatus.bad_request("body must be a JSON object")
        ns, name = request.match_info["namespace"], request.match_info["name"]
        return json_response(sim.controllers.admin_patch_vmi(ns, name, body))

    r.add_post("/_sim/objects", post_objects)
    r.add_get("/_sim/objects", get_objects)
    r.add_delete("/_sim/objects/{kind}/{namespace}/{name}", delete_object)
    r.add_post("/_sim/faults", post_fault)
    r.add_get("/_sim/faults", get_faults)
    r.add_delete("/_sim/faults", delete_faults)
    r.add_post("/_sim/reset", post_reset)
    r.add_post("/_sim/config", post_config)
    r.add_get("/_sim/config", get_config)
    r.add_get("/_sim/log", get_log)
    r.add_delete("/_sim/log", delete_log)
    r.add_post("/_sim/vmi/{namespace}/{name}", post_vmi)

    async def get_volume(request: web.Request) -> web.Response:
        ns, claim = request.match_info["namespace"], request.match_info["claim"]
        try:
            info = sim.volumes.info(ns, claim)
        except ValueError as e:
            raise kstatus.bad_request(str(e)) from None
        if info is None:
            raise kstatus.StatusError(404, "NotFound", f"no bytes stored for volume {ns}/{claim}")
        return json_response(info)

    async def put_volume(request: web.Request) -> web.Response:
        ns, claim = request.match_info["namespace"], request.match_info["claim"]
        size = request.query.get("size", "")
        if not size.isdigit():
            raise kstatus.bad_request("size must be a number of bytes")
        try:
            return json_response(sim.volumes.seed(ns, claim, int(size)))
        except ValueError as e:
            raise kstatus.bad_request(str(e)) from None

    r.add_get("/_sim/volumes/{namespace}/{claim}", get_volume)
    r.add_put("/_sim/volumes/{namespace}/{claim}", put_volume)
