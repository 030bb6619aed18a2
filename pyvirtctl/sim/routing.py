"""Request paths -> `Route`s, and the small response helpers every handler module shares."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from pyvirtctl.sim import kstatus, resources
from pyvirtctl.sim.resources import SUBRESOURCE_GROUP, Resource


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(obj).encode(), status=status, content_type="application/json")


def status_response(code: int, reason: str | None, message: str, details: dict | None = None) -> web.Response:
    """A JSON `Status` response (kube-apiserver's error body)."""
    return web.Response(body=kstatus.status_json(code, reason, message, details), status=code,
                        content_type="application/json")


def error_response(e: kstatus.StatusError) -> web.Response:
    return status_response(e.code, e.reason, e.message, e.details)


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
