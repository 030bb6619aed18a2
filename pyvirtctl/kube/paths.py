"""URL paths of the KubeVirt and Kubernetes APIs (pure string builders, no I/O).

`KV` is the KubeVirt object API, `SUB` the virt-api sub-resource API (`v1` is KubeVirt's
storage version, which virtctl always uses). Names are DNS-1123 labels, so no escaping is done,
like virtctl.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote_plus

KV_GROUP = "kubevirt.io"
SUB_GROUP = "subresources.kubevirt.io"
VERSION = "v1"
KV = f"/apis/{KV_GROUP}/{VERSION}"
SUB = f"/apis/{SUB_GROUP}/{VERSION}"
CORE = "/api/v1"

VMS = "virtualmachines"
VMIS = "virtualmachineinstances"
VMIRS = "virtualmachineinstancereplicasets"
MIGRATIONS = "virtualmachineinstancemigrations"
KUBEVIRTS = "kubevirts"


def _join(*parts: str | None) -> str:
    return "/".join(p.strip("/") for p in parts if p)


def kv_path(ns: str | None, resource: str, name: str | None = None) -> str:
    """`/apis/kubevirt.io/v1[/namespaces/{ns}]/{resource}[/{name}]`."""
    return "/" + _join(KV, f"namespaces/{ns}" if ns else None, resource, name)


def sub_path(ns: str, resource: str, name: str, sub: str) -> str:
    """`/apis/subresources.kubevirt.io/v1/namespaces/{ns}/{resource}/{name}/{sub}`."""
    return "/" + _join(SUB, f"namespaces/{ns}", resource, name, sub)


def vm_path(ns: str, name: str, sub: str | None = None) -> str:
    """The VM object, or with `sub` its sub-resource (`start`, `stop`, `portforward/22/tcp`, ...)."""
    return sub_path(ns, VMS, name, sub) if sub else kv_path(ns, VMS, name)


def vmi_path(ns: str, name: str, sub: str | None = None) -> str:
    """The VMI object, or with `sub` its sub-resource (`pause`, `console`, `vnc`, ...)."""
    return sub_path(ns, VMIS, name, sub) if sub else kv_path(ns, VMIS, name)


def vmis_path(ns: str) -> str:
    return kv_path(ns, VMIS)


def vms_path(ns: str) -> str:
    return kv_path(ns, VMS)


def migrations_path(ns: str, name: str | None = None) -> str:
    return kv_path(ns, MIGRATIONS, name)


def kubevirts_path(ns: str | None = None, name: str | None = None) -> str:
    return kv_path(ns, KUBEVIRTS, name)


def core_path(ns: str | None, resource: str, name: str | None = None) -> str:
    """`/api/v1[/namespaces/{ns}]/{resource}[/{name}]` (services, persistentvolumeclaims, ...)."""
    return "/" + _join(CORE, f"namespaces/{ns}" if ns else None, resource, name)


def group_path(group: str, version: str, ns: str | None, resource: str, name: str | None = None) -> str:
    """`/apis/{group}/{version}[/namespaces/{ns}]/{resource}[/{name}]` (e.g. CDI datavolumes)."""
    return "/" + _join("apis", group, version, f"namespaces/{ns}" if ns else None, resource, name)


SUBRESOURCES_GROUP_PATH = f"/apis/{SUB_GROUP}"


def version_path(group_version: str) -> str:
    """`/apis/<group>/<version>/version`, e.g. for `subresources.kubevirt.io/v1`."""
    return f"/apis/{group_version}/version"


def encode_query(query: Mapping[str, object] | Iterable[tuple[str, object]] | None) -> str:
    """Go's url.Values.Encode: keys sorted, values in order, QueryEscape (space as `+`).

    A value may be a list for repeated keys; booleans are written `true`/`false` like Go.
    """
    if not query:
        return ""
    items = list(query.items()) if isinstance(query, Mapping) else list(query)
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            text = ("true" if v else "false") if isinstance(v, bool) else str(v)
            grouped.setdefault(str(key), []).append(text)
    return "&".join(
        f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}" for k in sorted(grouped) for v in grouped[k]
    )


CDI = "/apis/cdi.kubevirt.io/v1beta1"
EXPORT = "/apis/export.kubevirt.io/v1"


def kv_collection(namespace: str | None, plural: str) -> str:
    """A kubevirt.io collection, namespaced or across all namespaces (namespace None)."""
    return f"{KV}/namespaces/{namespace}/{plural}" if namespace is not None else f"{KV}/{plural}"


def core_collection(namespace: str | None, plural: str) -> str:
    return f"{CORE}/namespaces/{namespace}/{plural}" if namespace is not None else f"{CORE}/{plural}"
