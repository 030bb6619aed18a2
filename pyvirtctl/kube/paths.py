"""URL paths of the KubeVirt and Kubernetes APIs (pure string builders, no I/O).

`KV` is the KubeVirt object API, `SUB` the virt-api sub-resource API (`v1` is KubeVirt's
storage version, which virtctl always uses). User-typed names and namespaces go through `segment()`:
client-go's checks (no `/`, `%`, `.`, `..`) and Go's path escaping.
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


# Go's url.URL.EscapedPath keeps these in a path segment besides letters, digits and `-._~`
_GO_PATH_SAFE = "$&+,:;=@-._~"


def segment(value: str, what: str = "resource name") -> str:
    """One path segment from a user-typed name or namespace, checked and escaped like client-go.

    client-go refuses `.`, `..` and names containing `/` or `%` (they would change which resource the
    URL names: `start ../../x` must never reach another path); everything else is percent-escaped, so
    `?`, `#`, spaces and non-ASCII cannot end the path early.
    """
    from urllib.parse import quote  # noqa: PLC0415

    from pyvirtctl.errors import CLIError  # noqa: PLC0415

    if value in (".", ".."):
        problems = [f"may not be '{value}'"]
    else:
        problems = [f"may not contain '{c}'" for c in ("/", "%") if c in value]
    if problems:
        from pyvirtctl.goflags import go_quote  # noqa: PLC0415

        raise CLIError(f"invalid {what} {go_quote(value)}: [{' '.join(problems)}]")
    return quote(value.encode("utf-8", "surrogateescape"), safe=_GO_PATH_SAFE)


def _ns(ns: str) -> str:
    return "namespaces/" + segment(ns, "namespace")


def _name(name: str | None) -> str | None:
    return segment(name) if name else name


def kv_path(ns: str | None, resource: str, name: str | None = None) -> str:
    """`/apis/kubevirt.io/v1[/namespaces/{ns}]/{resource}[/{name}]`."""
    return "/" + _join(KV, _ns(ns) if ns else None, resource, _name(name))


def sub_path(ns: str, resource: str, name: str, sub: str) -> str:
    """`/apis/subresources.kubevirt.io/v1/namespaces/{ns}/{resource}/{name}/{sub}`."""
    return "/" + _join(SUB, _ns(ns), resource, _name(name), sub)


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
    return "/" + _join(CORE, _ns(ns) if ns else None, resource, _name(name))


def group_path(group: str, version: str, ns: str | None, resource: str, name: str | None = None) -> str:
    """`/apis/{group}/{version}[/namespaces/{ns}]/{resource}[/{name}]` (e.g. CDI datavolumes)."""
    return "/" + _join("apis", group, version, _ns(ns) if ns else None, resource, _name(name))


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
    def q(text: str) -> str:
        # argv bytes that are not UTF-8 arrive surrogate-escaped: send the original bytes, as Go would
        return quote_plus(text.encode("utf-8", "surrogateescape"), safe="")

    return "&".join(f"{q(k)}={q(v)}" for k in sorted(grouped) for v in grouped[k])


CDI = "/apis/cdi.kubevirt.io/v1beta1"
EXPORT = "/apis/export.kubevirt.io/v1"


def kv_collection(namespace: str | None, plural: str) -> str:
    """A kubevirt.io collection, namespaced or across all namespaces (namespace None)."""
    return f"{KV}/{_ns(namespace)}/{plural}" if namespace is not None else f"{KV}/{plural}"


def core_collection(namespace: str | None, plural: str) -> str:
    return f"{CORE}/{_ns(namespace)}/{plural}" if namespace is not None else f"{CORE}/{plural}"
