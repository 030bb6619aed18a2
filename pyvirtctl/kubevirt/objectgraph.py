"""`objectgraph NAME [--vmi]`: the objects a VM or VMI depends on, from virt-api's `objectgraph`
subresource.

virtctl sends a GET *with a JSON body* (`ObjectGraphOptions`: `includeOptionalNodes`, and
`labelSelector.matchLabels` from `--selector`) to `.../virtualmachines/NAME/objectgraph` (or
`virtualmachineinstances`), decodes the answer into the `ObjectGraphNode` type and prints it again:
JSON indented by two spaces or YAML (sigs.k8s.io/yaml), plus a newline. Printing through the type
means Go's field order (`objectReference`, `labels`, `optional`, `children`), unknown fields dropped
and `apiGroup` always present.

Each node is labelled `kubevirt.io/dependency-type` = compute | storage | config | network, which is
what `--selector` filters on; instancetype, preference and network-attachment nodes are optional.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from pyvirtctl.errors import InputError, prefixed
from pyvirtctl.kube import paths
from pyvirtctl.kube.request import Request

if TYPE_CHECKING:
    from pyvirtctl.kube.session import Session

OUTPUT_FORMATS = ("json", "yaml")
DEPENDENCY_LABEL = "kubevirt.io/dependency-type"
DEPENDENCY_TYPES = ("compute", "storage", "config", "network")


class ObjectGraphOptions(NamedTuple):
    name: str
    vmi: bool = False
    exclude_optional: bool = False
    selector: dict[str, str] | None = None
    output: str = "json"


def check_output(output: str) -> None:
    if output not in OUTPUT_FORMATS:
        raise InputError(f"unsupported output format: {output} (must be 'json' or 'yaml')")


def request_body(o: ObjectGraphOptions) -> dict[str, Any]:
    body: dict[str, Any] = {"includeOptionalNodes": not o.exclude_optional}
    if o.selector:
        body["labelSelector"] = {"matchLabels": dict(sorted(o.selector.items()))}
    return body


def objectgraph_request(o: ObjectGraphOptions, namespace: str) -> Request:
    builder = paths.vmi if o.vmi else paths.vm
    return Request("GET", builder(namespace, o.name, "objectgraph"), body=request_body(o))


def error_prefix(o: ObjectGraphOptions) -> str:
    kind = "VirtualMachineInstance" if o.vmi else "VirtualMachine"
    return f"error listing object graph of {kind} {o.name}: "


def _reference(ref: Any) -> dict[str, Any]:
    ref = ref if isinstance(ref, dict) else {}
    out: dict[str, Any] = {"apiGroup": ref.get("apiGroup"), "kind": ref.get("kind") or "",
                           "name": ref.get("name") or ""}
    if ref.get("namespace") is not None:
        out["namespace"] = ref["namespace"]
    return out


def go_node(node: Any) -> dict[str, Any]:
    """An ObjectGraphNode as Go marshals it after decoding (struct order, empty fields left out)."""
    node = node if isinstance(node, dict) else {}
    out: dict[str, Any] = {}
    for key in ("kind", "apiVersion"):
        if isinstance(node.get(key), str) and node[key]:
            out[key] = node[key]
    out["objectReference"] = _reference(node.get("objectReference"))
    labels = node.get("labels")
    if isinstance(labels, dict) and labels:
        out["labels"] = {str(k): str(v) for k, v in sorted(labels.items())}
    if isinstance(node.get("optional"), bool):
        out["optional"] = node["optional"]
    children = node.get("children")
    if isinstance(children, list) and children:
        out["children"] = [go_node(c) for c in children]
    return out


def render(graph: dict[str, Any], output: str) -> str:
    """What virtctl prints (with its final newline)."""
    from pyvirtctl.output import go_json, go_yaml

    node = go_node(graph)
    if output == "yaml":
        return go_yaml(node) + "\n"
    return go_json(node, "  ") + "\n"


def object_graph(session: Session, namespace: str, o: ObjectGraphOptions) -> dict[str, Any]:
    """The graph as virt-api answers it (a nested ObjectGraphNode)."""
    prefix = error_prefix(o)
    with prefixed(prefix):
        request = objectgraph_request(o, namespace)
    return dict(session.send(request, error_prefix=prefix).json())
