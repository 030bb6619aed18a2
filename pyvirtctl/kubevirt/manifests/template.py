"""`template convert`: an OpenShift Template -> a VirtualMachineTemplate (template.kubevirt.io/v1beta1).

The Template is decoded into OpenShift's typed struct (`decode.decode`), so its single object keeps
its exact JSON (a RawExtension) and the rest is typed: name, namespace, labels and annotations of the
metadata, the message and the parameters carry over; everything else is dropped, as virtctl does.
"""

from __future__ import annotations

from typing import Any

from pyvirtctl.kubevirt.manifests.decode import Schema, decode, raw_to_value
from pyvirtctl.kubevirt.manifests.params import ManifestError
from pyvirtctl.output import RawJSON

API_VERSION = "template.kubevirt.io/v1beta1"

_STRING_MAP: Schema = ("map", "string", "map[string]string")
OBJECT_META: Schema = (
    "struct",
    {
        "name": "string",
        "generateName": "string",
        "namespace": "string",
        "selfLink": "string",
        "uid": "string",
        "resourceVersion": "string",
        "generation": "int64",
        "deletionGracePeriodSeconds": "int64",
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": ("list", "string", "[]string"),
    },
    "v1.ObjectMeta",
)
PARAMETER_FIELDS = ("name", "displayName", "description", "value", "generate", "from", "required")
PARAMETER: Schema = (
    "struct",
    {**{f: "string" for f in PARAMETER_FIELDS[:-1]}, "required": "bool"},
    "v1.Parameter",
)
OCP_TEMPLATE: Schema = (
    "struct",
    {
        "kind": "string",
        "apiVersion": "string",
        "metadata": OBJECT_META,
        "message": "string",
        "objects": ("list", "raw", "[]runtime.RawExtension"),
        "parameters": ("list", PARAMETER, "[]v1.Parameter"),
        "labels": _STRING_MAP,
    },
    "v1.Template",
)


def decode_template(data: bytes) -> dict[str, Any]:
    """An OpenShift Template from a file's bytes (YAML or JSON), as Go's typed decoding sees it."""
    return decode(data, OCP_TEMPLATE, "Template")


def parameters_json(params: list[Any] | None) -> list[dict[str, Any]]:
    """[]v1beta1.Parameter as json.Marshal writes it (Go field order, empty fields left out)."""
    out = []
    for p in params or []:
        p = p or {}
        item: dict[str, Any] = {"name": p.get("name") or ""}
        for key in PARAMETER_FIELDS[1:-1]:
            if p.get(key):
                item[key] = p[key]
        if p.get("required"):
            item["required"] = True
        out.append(item)
    return out


def convert_template(tpl: dict[str, Any]) -> dict[str, Any]:
    """The VirtualMachineTemplate for a decoded Template; its virtualMachine stays RawJSON (or None).

    Render it with `render_yaml` / `render_json` (the raw object is re-read or re-indented there).
    """
    meta = tpl.get("metadata") or {}
    metadata: dict[str, Any] = {}
    for key in ("name", "namespace"):
        if meta.get(key):
            metadata[key] = meta[key]
    for key in ("labels", "annotations"):
        if meta.get(key):
            metadata[key] = meta[key]
    objects = tpl.get("objects") or []
    if len(objects) != 1:
        raise ManifestError(f"template must contain exactly one object, found {len(objects)}")
    spec: dict[str, Any] = {"virtualMachine": objects[0]}
    params = parameters_json(tpl.get("parameters"))
    if params:
        spec["parameters"] = params
    if tpl.get("message"):
        spec["message"] = tpl["message"]
    out: dict[str, Any] = {"kind": "VirtualMachineTemplate", "apiVersion": API_VERSION}
    if metadata:
        out["metadata"] = metadata
    out["spec"] = spec
    return out


def yaml_view(vmt: dict[str, Any]) -> dict[str, Any]:
    """The converted template with its raw object read back as values (what go_yaml needs)."""
    spec = dict(vmt["spec"])
    raw = spec.get("virtualMachine")
    spec["virtualMachine"] = raw_to_value(raw) if isinstance(raw, RawJSON) else raw
    return {**vmt, "spec": spec}
