"""The OpenAPI documents kube-apiserver publishes, built from the resource descriptors and the type model.

* `/openapi/v3` lists one document per group-version (`v3_index`); each (`v3_group_version`) holds
  the paths of that group-version's resources and, in `components.schemas`, the kinds with their
  `x-kubernetes-group-version-kind`. kubectl reads it for `explain`, to learn that the server
  validates fields itself (`fieldValidation` on every PATCH operation), and for the strategic merge
  patches `kubectl apply` computes for built-in kinds.
* `/openapi/v2` is one Swagger 2.0 document (`v2_document`), served as JSON or, when asked, as the
  gnostic protobuf client-go requests (`protobuf.encode_document`).

Custom resources (KubeVirt, CDI) are published as kube-apiserver publishes CRDs: the whole schema
inline, only `metadata` referring to ObjectMeta. Built-in kinds use named definitions (`$ref`).
Everything is built on first request and cached. With `field_validation=False` the documents do not
offer `?fieldValidation` (an older kube-apiserver): kubectl then validates on the client, from
`/openapi/v2` (the simulator's config key `server_field_validation`).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from pyvirtctl.sim import resources
from pyvirtctl.sim.openapi import core as _core  # noqa: F401 - registers the core/meta types
from pyvirtctl.sim.openapi import kubevirt as _kubevirt  # noqa: F401 - registers the KubeVirt types
from pyvirtctl.sim.openapi.model import DEFS, T, resolve
from pyvirtctl.sim.resources import Resource

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
FREE_FORM = T("object", open=True)


def _reverse_group(group: str) -> str:
    return ".".join(reversed(group.split(".")))


def public_name(name: str) -> str:
    """`core.v1.ServiceSpec` -> `io.k8s.api.core.v1.ServiceSpec`; `meta.v1.X` -> apimachinery's name."""
    prefix, _, rest = name.partition(".")
    if prefix == "meta":
        return "io.k8s.apimachinery.pkg.apis.meta." + rest
    if prefix == "core":
        return "io.k8s.api.core." + rest
    return name


def kind_definition_name(res: Resource) -> str:
    """The definition name of a kind: `io.k8s.api.core.v1.Service`, `io.kubevirt.v1.VirtualMachine`."""
    if not res.group:
        return f"io.k8s.api.core.{res.version}.{res.kind}"
    return f"{_reverse_group(res.group)}.{res.version}.{res.kind}"


def kind_type(res: Resource) -> T:
    """The model type of a kind (free-form when the kind has no schema)."""
    if res.schema and res.schema in DEFS:
        return DEFS[res.schema]
    return T("object", "", fields={"apiVersion": T("string", "Version of the schema this object follows."),
                                   "kind": T("string", "Kind of the object."),
                                   "metadata": T("ref", "Standard object metadata.", ref="meta.v1.ObjectMeta")},
             open=True)


# ----------------------------------------------------------------------------------------------
# type model -> OpenAPI schema objects

class _Emitter:
    """Converts model types to schema dicts; collects the named definitions referred to."""

    def __init__(self, v3: bool, inline: bool) -> None:
        self.v3 = v3
        self.inline = inline
        self.named: dict[str, dict] = {}
        self._pending: list[str] = []

    def ref(self, public: str) -> str:
        return ("#/components/schemas/" if self.v3 else "#/definitions/") + public

    def _ref_field(self, public: str, description: str) -> dict:
        if not description:
            return {"$ref": self.ref(public)}
        if self.v3:
            return {"allOf": [{"$ref": self.ref(public)}], "description": description}
        return {"$ref": self.ref(public), "description": description}

    def want(self, name: str) -> str:
        public = public_name(name)
        if public not in self.named and name not in self._pending:
            self._pending.append(name)
        return public

    def flush(self) -> None:
        while self._pending:
            name = self._pending.pop()
            public = public_name(name)
            if public in self.named:
                continue
            self.named[public] = {}  # placeholder against recursion
            self.named[public] = self.schema(DEFS[name])

    def schema(self, t: T, description: str | None = None) -> dict:
        desc = t.description if description is None else description
        if t.type == "ref":
            if t.ref.startswith("meta.") or not self.inline:
                return self._ref_field(self.want(t.ref), desc)
            target = resolve(t)
            assert target is not None
            return self.schema(target, desc or target.description)
        out: dict[str, Any] = {}
        if desc:
            out["description"] = desc
        if t.type == "object":
            out["type"] = "object"
            if t.fields:
                out["properties"] = {k: self.schema(v) for k, v in t.fields.items()}
            if t.required:
                out["required"] = list(t.required)
            if t.open:
                out["x-kubernetes-preserve-unknown-fields"] = True
        elif t.type == "map":
            out["type"] = "object"
            assert t.values is not None
            out["additionalProperties"] = self.schema(t.values, "")
        elif t.type == "array":
            out["type"] = "array"
            assert t.items is not None
            out["items"] = self.schema(t.items, "")
            if t.list_type:
                out["x-kubernetes-list-type"] = t.list_type
            if t.list_keys:
                out["x-kubernetes-list-map-keys"] = list(t.list_keys)
            if t.patch_key:
                out["x-kubernetes-patch-merge-key"] = t.patch_key
            if t.patch_strategy:
                out["x-kubernetes-patch-strategy"] = t.patch_strategy
        elif t.type == "int-or-string":
            if self.inline:
                if self.v3:  # Swagger 2.0 has no anyOf: kube-apiserver leaves the type out there
                    out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
                    if t.pattern:
                        out["pattern"] = t.pattern
                out["x-kubernetes-int-or-string"] = True
            else:
                public = QUANTITY if t.pattern else INT_OR_STRING
                self.named.setdefault(public, {"type": "string", "format": "int-or-string"} if not t.pattern
                                      else {"type": "string", "description": "A quantity: 1Gi, 500m, 2."})
                return self._ref_field(public, desc)
        else:
            out["type"] = t.type
            if t.format:
                out["format"] = t.format
            if t.enum:
                out["enum"] = list(t.enum)
        return out


def _gvk(res: Resource) -> dict:
    return {"group": res.group, "kind": res.kind, "version": res.version}


def _kind_schemas(em: _Emitter, res: Resource) -> dict[str, dict]:
    """The kind and its List as schema objects (and, through `em`, what they refer to)."""
    name = kind_definition_name(res)
    kind = em.schema(kind_type(res))
    kind["x-kubernetes-group-version-kind"] = [_gvk(res)]
    lst = {"description": f"A list of {res.kind} objects.", "type": "object", "required": ["items"],
           "properties": {"apiVersion": {"type": "string", "description": "Version of the schema."},
                          "kind": {"type": "string", "description": "Kind of the object."},
                          "items": {"type": "array", "items": {"$ref": em.ref(name)},
                                    "description": f"The {res.kind} objects."},
                          "metadata": em._ref_field(em.want("meta.v1.ListMeta"), "Standard list metadata.")},
           "x-kubernetes-group-version-kind": [{"group": res.group, "kind": res.list_kind,
                                               "version": res.version}]}
    return {name: kind, name + "List": lst}


# ----------------------------------------------------------------------------------------------
# paths

_PARAMS = {
    "dryRun": "When present (All), the request is validated and admitted but nothing is stored.",
    "fieldManager": "Name of the actor making the change, recorded in managedFields.",
    "fieldValidation": "What to do with unknown or duplicate fields: Ignore, Warn or Strict.",
    "force": "Server-side apply: take ownership of fields other managers own (resolves conflicts).",
    "labelSelector": "Only objects whose labels match.",
    "fieldSelector": "Only objects whose fields match.",
    "watch": "Stream changes instead of returning a list.",
    "resourceVersion": "Version to read at or watch from.",
    "limit": "Maximum number of items in one response.",
    "continue": "Token from a previous page.",
}

_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json")


def _query(v3: bool, name: str) -> dict:
    t = "boolean" if name in ("force", "watch") else "integer" if name == "limit" else "string"
    if v3:
        return {"name": name, "in": "query", "description": _PARAMS[name], "schema": {"type": t, "uniqueItems": True}}
    return {"name": name, "in": "query", "description": _PARAMS[name], "type": t, "uniqueItems": True}


def _path_param(v3: bool, name: str) -> dict:
    desc = "name of the object" if name == "name" else "object name and auth scope, such as for teams and projects"
    if v3:
        return {"name": name, "in": "path", "description": desc, "required": True,
                "schema": {"type": "string", "uniqueItems": True}}
    return {"name": name, "in": "path", "description": desc, "required": True, "type": "string", "uniqueItems": True}


def _operation(v3: bool, ref: str, action: str, gvk: dict, op_id: str, query: tuple[str, ...],
               body: bool = False, patch: bool = False, strategic: bool = False) -> dict:
    op: dict[str, Any] = {"description": f"{action} {gvk['kind']}", "operationId": op_id,
                          "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}
    params = [_query(v3, q) for q in query]
    types = (*_PATCH_TYPES, "application/strategic-merge-patch+json") if strategic else _PATCH_TYPES
    body_ref = ref if not patch else ("#/components/schemas/" if v3 else "#/definitions/") + META + "Patch"
    if v3:
        if body:
            op["requestBody"] = {"content": {ct: {"schema": {"$ref": body_ref}}
                                             for ct in (types if patch else ("*/*",))}, "required": True}
        op["responses"] = {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}}
    else:
        if body:
            params.insert(0, {"name": "body", "in": "body", "required": True, "schema": {"$ref": body_ref}})
        if patch:
            op["consumes"] = list(types)
        op["produces"] = ["application/json", "application/yaml"]
        op["responses"] = {"200": {"description": "OK", "schema": {"$ref": ref}}}
    if params:
        op["parameters"] = params
    return op


def _resource_paths(v3: bool, res: Resource, field_validation: bool = True) -> dict[str, dict]:
    prefix = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    base = f"{prefix}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"{prefix}/{res.plural}"
    ref = ("#/components/schemas/" if v3 else "#/definitions/") + kind_definition_name(res)
    list_ref = ref + "List"
    gvk = _gvk(res)
    verbs = set(res.verbs)
    stem = f"{res.kind}{'Namespaced' if res.namespaced else ''}"
    strategic = not res.group
    write = ("dryRun", "fieldManager", "fieldValidation") if field_validation else ("dryRun", "fieldManager")
    paths: dict[str, dict] = {}
    coll: dict[str, Any] = {}
    if "list" in verbs:
        coll["get"] = _operation(v3, list_ref, "list", gvk, f"list{stem}",
                                 ("labelSelector", "fieldSelector", "watch", "resourceVersion", "limit", "continue"))
    if "create" in verbs:
        coll["post"] = _operation(v3, ref, "post", gvk, f"create{stem}", write, body=True)
    if "deletecollection" in verbs:
        coll["delete"] = _operation(v3, ref, "deletecollection", gvk, f"deleteCollection{stem}",
                                    ("dryRun", "labelSelector", "fieldSelector"))
    if coll:
        coll["parameters"] = [_path_param(v3, "namespace")] if res.namespaced else []
        paths[base] = coll
    item: dict[str, Any] = {}
    if "get" in verbs:
        item["get"] = _operation(v3, ref, "get", gvk, f"read{stem}", ())
    if "update" in verbs:
        item["put"] = _operation(v3, ref, "put", gvk, f"replace{stem}", write, body=True)
    if "patch" in verbs:
        item["patch"] = _operation(v3, ref, "patch", gvk, f"patch{stem}", (*write, "force"), body=True, patch=True,
                                   strategic=strategic)
    if "delete" in verbs:
        item["delete"] = _operation(v3, ref, "delete", gvk, f"delete{stem}", ("dryRun",))
    if item:
        item["parameters"] = [_path_param(v3, "name")] + ([_path_param(v3, "namespace")] if res.namespaced else [])
        paths[base + "/{name}"] = item
    if "status" in res.subresources and "update" in verbs:
        paths[base + "/{name}/status"] = {
            "get": _operation(v3, ref, "get", gvk, f"read{stem}Status", ()),
            "put": _operation(v3, ref, "put", gvk, f"replace{stem}Status", write, body=True),
            "patch": _operation(v3, ref, "patch", gvk, f"patch{stem}Status", (*write, "force"), body=True,
                                patch=True, strategic=strategic),
            "parameters": item["parameters"],
        }
    if res.namespaced and "list" in verbs:
        paths[f"{prefix}/{res.plural}"] = {
            "get": _operation(v3, list_ref, "list", gvk, f"list{res.kind}ForAllNamespaces",
                              ("labelSelector", "fieldSelector", "watch", "resourceVersion", "limit", "continue")),
        }
    return paths


def _meta_defs(em: _Emitter) -> None:
    em.want("meta.v1.ObjectMeta")
    em.want("meta.v1.ListMeta")
    em.flush()
    em.named.setdefault(META + "Patch", {"description": "A patch document: its type is given by the Content-Type.",
                                         "type": "object"})


# ----------------------------------------------------------------------------------------------
# documents

def group_versions() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for r in resources.RESOURCES:
        if (r.group, r.version) not in out:
            out.append((r.group, r.version))
    return out


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@cache
def v3_group_version_bytes(group: str, version: str, field_validation: bool = True) -> bytes | None:
    members = [r for r in resources.RESOURCES if r.group == group and r.version == version]
    if not members:
        return None
    schemas: dict[str, dict] = {}
    paths: dict[str, dict] = {}
    em = _Emitter(v3=True, inline=bool(group))
    for r in members:
        schemas.update(_kind_schemas(em, r))
        paths.update(_resource_paths(True, r, field_validation))
    _meta_defs(em)
    schemas.update(em.named)
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.31.4"}, "paths": paths,
           "components": {"schemas": dict(sorted(schemas.items()))}}
    return json.dumps(doc, separators=(",", ":")).encode()


def v3_group_version(group: str, version: str, field_validation: bool = True) -> dict | None:
    raw = v3_group_version_bytes(group, version, field_validation)
    return None if raw is None else json.loads(raw)


@cache
def v3_index_bytes(field_validation: bool = True) -> bytes:
    paths = {}
    for g, v in group_versions():
        raw = v3_group_version_bytes(g, v, field_validation)
        assert raw is not None
        digest = hashlib.sha512(raw).hexdigest()[:128].upper()
        paths[_gv_path(g, v)] = {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}?hash={digest}"}
    return json.dumps({"paths": paths}, separators=(",", ":")).encode()


@cache
def v2_document(field_validation: bool = True) -> dict:
    definitions: dict[str, dict] = {}
    paths: dict[str, dict] = {}
    # one emitter per origin: built-ins refer to named types, custom resources inline theirs
    builtin, crd = _Emitter(v3=False, inline=False), _Emitter(v3=False, inline=True)
    for r in resources.RESOURCES:
        em = crd if r.group else builtin
        definitions.update(_kind_schemas(em, r))
        paths.update(_resource_paths(False, r, field_validation))
    for em in (builtin, crd):
        _meta_defs(em)
        definitions.update(em.named)
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.31.4"},
            "paths": paths, "definitions": dict(sorted(definitions.items()))}


@cache
def v2_json_bytes(field_validation: bool = True) -> bytes:
    return json.dumps(v2_document(field_validation), separators=(",", ":")).encode()


@cache
def v2_protobuf_bytes(field_validation: bool = True) -> bytes:
    from pyvirtctl.sim.openapi.protobuf import encode_document

    return encode_document(v2_document(field_validation))


def v3_path_document(path: str, field_validation: bool = True) -> bytes | None:
    """The document for `/openapi/v3/<path>` (`api/v1`, `apis/kubevirt.io/v1`), or None."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return v3_group_version_bytes("", parts[1], field_validation)
    if len(parts) == 3 and parts[0] == "apis":
        return v3_group_version_bytes(parts[1], parts[2], field_validation)
    return None
