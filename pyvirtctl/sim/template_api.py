"""virt-template's aggregated API in the simulator: the `process` and `create` subresources.

    POST /apis/subresources.template.kubevirt.io/v1beta1/namespaces/{ns}/virtualmachinetemplates/{name}/process
    POST .../create

The body is a ProcessOptions (`{}` or `{"parameters": {"K": "V"}}`, JSON or YAML); the answer a
ProcessedVirtualMachineTemplate `{kind, apiVersion, templateRef: {namespace, name}, virtualMachine,
message}`. `create` also creates the VirtualMachine in the namespace (through the same pipeline as a
POST of it: field checks, defaults, virt-api's webhook) and answers with the created object. Errors
are virt-template's (see `pyvirtctl.sim.templates`): 400 for a body that is not ProcessOptions, 500
`error getting VirtualMachineTemplate: ...` when the template cannot be read, 409/422 from processing,
500 `error creating VirtualMachine: ...`. Unused parameters come back as `Warning` headers.

Hook: `server.build_app` calls `register_routes(app, sim)`.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from pyvirtctl.sim import kstatus, templates
from pyvirtctl.sim.kstatus import StatusError, clone
from pyvirtctl.sim.resources import TEMPLATE_SUBRESOURCE_GROUP
from pyvirtctl.sim.routing import Route, json_response

PREFIX = f"/apis/{TEMPLATE_SUBRESOURCE_GROUP}/v1beta1/namespaces/{{namespace}}/virtualmachinetemplates/{{name}}"
PROCESSED_KIND = "ProcessedVirtualMachineTemplate"


def register_routes(app: web.Application, sim: Any) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return await handle(sim, request)
        except StatusError as e:
            return sim.status_response(e.code, e.reason, e.message, e.details)

    app.router.add_route("*", PREFIX + "/{sub}", handler)


def _options(raw: bytes) -> dict[str, str]:
    if not raw.strip():
        raise kstatus.bad_request("error parsing ProcessOptions: EOF")
    try:
        if raw.lstrip()[:1] == b"{":
            body = json.loads(raw)
        else:
            import yaml

            body = yaml.safe_load(raw)
    except Exception as e:  # noqa: BLE001 - any syntax error is the client's
        raise kstatus.bad_request(f"error parsing ProcessOptions: {e}") from None
    if not isinstance(body, dict):
        raise kstatus.bad_request("error parsing ProcessOptions: json: cannot unmarshal "
                                  f"{type(body).__name__} into Go value of type v1beta1.ProcessOptions")
    params = body.get("parameters") or {}
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise kstatus.bad_request("error parsing ProcessOptions: json: cannot unmarshal parameters into Go struct "
                                  "field ProcessOptions.parameters of type map[string]string")
    return {str(k): v for k, v in params.items()}


async def handle(sim: Any, request: web.Request) -> web.StreamResponse:
    ns, name, sub = request.match_info["namespace"], request.match_info["name"], request.match_info["sub"]
    if sub not in ("process", "create"):
        raise kstatus.unknown_path()
    if request.method != "POST":
        raise kstatus.method_not_allowed()
    given = _options(await request.read())
    tpl = sim.store.get(sim.res("VirtualMachineTemplate"), ns, name)
    if tpl is None:
        raise kstatus.internal(f'error getting VirtualMachineTemplate: virtualmachinetemplates.{templates.GROUP} '
                               f'"{name}" not found')
    vm_res = sim.res("VirtualMachine")

    vm, message, warnings = templates.process_template(tpl, given, lambda vm: conversion_error(vm_res, vm))
    if sub == "create":
        vm = _create_vm(sim, request, ns, vm)
    answer: dict[str, Any] = {"kind": PROCESSED_KIND, "apiVersion": f"{TEMPLATE_SUBRESOURCE_GROUP}/v1beta1",
                              "templateRef": {"namespace": ns, "name": name}, "virtualMachine": vm}
    if message:
        answer["message"] = message
    resp = json_response(answer)
    for w in warnings:
        resp.headers.add("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return resp


_GO_WORDS = {"integer": "number", "number": "number", "boolean": "bool", "string": "string", "object": "object",
             "array": "array"}
_VMI_SPEC = "spec.template.spec."


def conversion_error(vm_res: Any, vm: dict) -> str:
    """Why Go's typed conversion would refuse the processed object (from the simulator's schema): the
    first wrong type, else the unknown fields; "" when it converts."""
    from pyvirtctl.sim.openapi import documents, validate

    t = documents.kind_type(vm_res)
    for path, reason, _text in validate.type_errors(t, vm):
        if reason != "FieldValueTypeInvalid":
            continue
        value: Any = vm
        for part in path.replace("]", "").replace("[", ".").split("."):
            value = value[int(part)] if isinstance(value, list) else value.get(part) if isinstance(value, dict) else None
        got = _GO_WORDS.get(validate.json_type(value), "object")
        go_type = validate.go_type_at(t, path)
        if path.startswith(_VMI_SPEC):
            field = path[len(_VMI_SPEC):].replace("]", "").replace("[", ".")
            return f"json: cannot unmarshal {got} into Go struct field VMISpecAlias.{field} of type {go_type}"
        return f"unrecognized type: {go_type}"
    unknown = validate.unknown_fields(t, vm)
    return "strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in sorted(unknown)) if unknown else ""


def _create_vm(sim: Any, request: web.Request, ns: str, vm: dict) -> dict:
    """Create the processed VM as a POST of it would (the API module's create), or virt-template's 500."""
    from pyvirtctl.sim import api

    route = Route()
    route.group, route.version, route.namespace, route.plural = "kubevirt.io", "v1", ns, "virtualmachines"
    route.res = sim.res("VirtualMachine")
    try:
        if sim.store.get(sim.res("Namespace"), None, ns) is None:
            raise kstatus.not_found("namespaces", ns)
        resp = api.create(sim, request, route, route.res, clone(vm))
    except StatusError as e:
        raise kstatus.internal(f"error creating VirtualMachine: {e.message}") from None
    body = resp.body
    assert isinstance(body, bytes)
    created: dict = json.loads(body)
    return created
