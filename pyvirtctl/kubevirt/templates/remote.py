"""VirtualMachineTemplates on the cluster: the requests `template create` and `template process` send.

* `create_template_request`: POST a VirtualMachineTemplateRequest (template.kubevirt.io/v1beta1)
  asking virt-template to make a template from a VirtualMachine; the name is generated from the
  VM's (`generateName: <vm>-`).
* `fetch_template`: GET a VirtualMachineTemplate (for `--local` and `--print-params` with a name).
* `process_remote`: POST to the aggregated API's `process` subresource
  (`/apis/subresources.template.kubevirt.io/v1beta1/namespaces/NS/virtualmachinetemplates/NAME/process`,
  body `{"parameters": {...}}`), or to `create`, which also creates the VirtualMachine. The answer is
  a ProcessedVirtualMachineTemplate; its VirtualMachine is returned as client-go decodes it.

Errors carry virtctl's prefixes. Bodies are written as Go's json.Marshal writes the typed objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvirtctl.errors import prefixed
from pyvirtctl.kube import paths
from pyvirtctl.kube.request import Request

if TYPE_CHECKING:
    from pyvirtctl.kube.session import Session

JSON = "application/json"
_WARNING = re.compile(r'(\d{3}) \S+ "((?:[^"\\]|\\.)*)"(?: "[^"]*")?')
REQUEST_KIND = "VirtualMachineTemplateRequest"
REQUEST_RESOURCE = "virtualmachinetemplaterequest." + paths.TEMPLATE_GROUP


def template_request_body(namespace: str, vm_name: str, vm_namespace: str, name: str) -> dict[str, Any]:
    """The VirtualMachineTemplateRequest virtctl posts (field order and empty fields as Go writes them)."""
    spec: dict[str, Any] = {"virtualMachineRef": {}}
    if vm_namespace:
        spec["virtualMachineRef"]["namespace"] = vm_namespace
    if vm_name:
        spec["virtualMachineRef"]["name"] = vm_name
    if name:
        spec["templateName"] = name
    metadata: dict[str, Any] = {"generateName": vm_name + "-"}
    if namespace:
        metadata["namespace"] = namespace
    return {"kind": REQUEST_KIND, "apiVersion": paths.VM_TEMPLATE_REQUESTS.group + "/v1beta1",
            "metadata": metadata, "spec": spec}


def create_template_request(session: Session, namespace: str, vm_name: str, vm_namespace: str = "",
                            name: str = "") -> dict[str, Any]:
    """Create the request (the VM's namespace defaults to `namespace`); returns the created object."""
    prefix = "error creating VirtualMachineTemplateRequest: "
    body = template_request_body(namespace, vm_name, vm_namespace or namespace, name)
    with prefixed(prefix):
        ref = paths.collection(paths.VM_TEMPLATE_REQUESTS, namespace)
    req = Request("POST", ref, body=body, content_type=JSON, verb="post",
                  resource=paths.VM_TEMPLATE_REQUESTS.plural)
    return dict(session.send(req, error_prefix=prefix).json())


def fetch_template(session: Session, namespace: str, name: str) -> dict[str, Any]:
    """The VirtualMachineTemplate as the engine reads it (`engine.decode_template`'s shape)."""
    from pyvirtctl.kubevirt.templates.engine import template_from_api

    prefix = f"error fetching remote VirtualMachineTemplate {namespace}/{name}: "
    with prefixed(prefix):
        ref = paths.ref(paths.VM_TEMPLATES, namespace, name)
    req = Request("GET", ref, verb="get", resource=paths.VM_TEMPLATES.plural, name=name)
    obj = session.send(req, error_prefix=prefix).json()
    with prefixed(prefix):
        return template_from_api(obj)


def process_options(params: dict[str, str] | None) -> dict[str, Any]:
    """subresourcesv1beta1.ProcessOptions as json.Marshal writes it (`{}` without parameters)."""
    if not params:
        return {}
    return {"parameters": {k: params[k] for k in sorted(params, key=lambda s: s.encode("utf-8", "surrogateescape"))}}


def warnings(headers: Any) -> list[str]:
    """The texts of `Warning: 299 - "text"` response headers (RFC 7234; several may share a header)."""
    out: list[str] = []
    for value in headers.get_all("Warning") if hasattr(headers, "get_all") else [headers.get("Warning") or ""]:
        for m in _WARNING.finditer(value):
            text = re.sub(r"\\(.)", r"\1", m.group(2))
            if m.group(1) == "299" and text:
                out.append(text)
    return out


def process_remote(session: Session, namespace: str, name: str, params: dict[str, str] | None,
                   create: bool = False, warn: Callable[[str], None] | None = None) -> tuple[dict[str, Any], str]:
    """(the VirtualMachine as json.Marshal writes it, the template's message) from `process` or `create`.

    The server's warnings (parameters nothing references) go to `warn`."""
    from pyvirtctl.kubevirt.templates.engine import vm_from_api
    from pyvirtctl.kubevirt.templates.typed import TypedError, parse_json

    if create:
        prefix = f"error creating VirtualMachine from remote VirtualMachineTemplate {namespace}/{name}: "
    else:
        prefix = f"error processing remote VirtualMachineTemplate {namespace}/{name}: "
    sub = "create" if create else "process"
    with prefixed(prefix):
        ref = paths.ref(paths.VM_TEMPLATE_SUBRESOURCES, namespace, name, sub)
    req = Request("POST", ref, body=process_options(params), content_type=JSON, verb="post",
                  resource=paths.VM_TEMPLATE_SUBRESOURCES.plural, name=name)
    resp = session.send(req, error_prefix=prefix)
    for text in warnings(resp.headers):
        if warn is not None:
            warn(text)
    resp.json()  # the same checks (and errors) as any other answer
    answer = parse_json(resp.body)
    with prefixed(prefix):
        try:
            vm = vm_from_api(answer.get("virtualMachine"))
        except TypedError as e:
            from pyvirtctl.errors import ApiError

            raise ApiError(e.message) from None
    message = answer.get("message")
    return vm, message if isinstance(message, str) else ""


def kind_group(vm: dict[str, Any]) -> str:
    """`virtualmachine.kubevirt.io`: the VM's kind and API group, lower case (virtctl's getKindGroup)."""
    from pyvirtctl.errors import CLIError

    api_version = str(vm.get("apiVersion") or "")
    if api_version.count("/") > 1:
        raise CLIError(f"error parsing GroupVersion: unexpected GroupVersion string: {api_version}")
    group = api_version.split("/")[0] if "/" in api_version else ""
    return (str(vm.get("kind") or "") + "." + group).lower()
