"""The one URL builder: every API path pyvirtctl sends is made here, from checked parts.

A path is never formatted by hand anywhere else (a test scans the sources for it). Callers name the
parts - a `Resource` (group, version, plural) and an `ApiRef` (that resource plus namespace, name and
subresource parts) - and this module checks and escapes each part the way client-go's request builder
does:

* a name, a namespace or a subresource part may not be `.` or `..` and may not contain `/` or `%`
  (client-go's `IsValidPathSegmentName`), so `start ../../x` can never reach another resource; the
  errors are client-go's words (`invalid resource name "a/b": [may not contain '/']`,
  `invalid namespace ...`, `invalid subresource ...`, `resource name may not be empty`);
* everything else is percent-escaped like Go's `url.URL.EscapedPath`, so `?`, `#`, spaces and
  non-ASCII cannot end the path early.

The errors are `InputError`s: the command line is wrong, and nothing is sent.
`encode_query` is the one query encoder (Go's `url.Values.Encode`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple
from urllib.parse import quote, quote_plus

from pyvirtctl.errors import InputError
from pyvirtctl.gotext import go_quote

KV_GROUP = "kubevirt.io"
SUB_GROUP = "subresources.kubevirt.io"
CDI_GROUP = "cdi.kubevirt.io"
EXPORT_GROUP = "export.kubevirt.io"
VERSION = "v1"  # KubeVirt's storage version, which virtctl always uses

# Go's url.URL.EscapedPath keeps these in a path segment besides letters, digits and `-._~`
_GO_PATH_SAFE = "$&+,:;=@-._~"


def _problems(value: str) -> list[str]:
    """client-go's IsValidPathSegmentName."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def check_segment(value: str, what: str = "resource name") -> str:
    """`value` if it can be one path segment; else client-go's error (`invalid <what> "v": [...]`)."""
    problems = _problems(value)
    if problems:
        raise InputError(f"invalid {what} {go_quote(value)}: [{' '.join(problems)}]")
    return value


def check_name(name: str) -> str:
    """A resource name as client-go's `Request.Name` checks it (empty names included)."""
    if name == "":
        raise InputError("resource name may not be empty")
    return check_segment(name, "resource name")


def _escape(segment: str) -> str:
    # argv bytes that are not UTF-8 arrive surrogate-escaped: send the original bytes, as Go would
    return quote(segment.encode("utf-8", "surrogateescape"), safe=_GO_PATH_SAFE)


class Resource(NamedTuple):
    """A resource type: API group ("" for the core group), version and plural name."""

    group: str
    version: str
    plural: str

    @property
    def root(self) -> str:
        """`/api/v1` for the core group, else `/apis/<group>/<version>`."""
        if not self.group:
            return "/api/" + _escape(check_segment(self.version, "version"))
        return "/apis/" + _escape(check_segment(self.group, "group")) + "/" + _escape(
            check_segment(self.version, "version")
        )


VMS = Resource(KV_GROUP, VERSION, "virtualmachines")
VMIS = Resource(KV_GROUP, VERSION, "virtualmachineinstances")
VMIRS = Resource(KV_GROUP, VERSION, "virtualmachineinstancereplicasets")
MIGRATIONS = Resource(KV_GROUP, VERSION, "virtualmachineinstancemigrations")
KUBEVIRTS = Resource(KV_GROUP, VERSION, "kubevirts")
# virt-api's subresource API: the same plurals under another group
VM_SUBRESOURCES = Resource(SUB_GROUP, VERSION, "virtualmachines")
VMI_SUBRESOURCES = Resource(SUB_GROUP, VERSION, "virtualmachineinstances")
EXPAND_VM_SPEC = Resource(SUB_GROUP, VERSION, "expand-vm-spec")  # namespaced, no name
SERVICES = Resource("", "v1", "services")
PVCS = Resource("", "v1", "persistentvolumeclaims")
SECRETS = Resource("", "v1", "secrets")
PODS = Resource("", "v1", "pods")
EVENTS = Resource("", "v1", "events")
NAMESPACES = Resource("", "v1", "namespaces")
DATAVOLUMES = Resource(CDI_GROUP, "v1beta1", "datavolumes")
DATASOURCES = Resource(CDI_GROUP, "v1beta1", "datasources")
CDICONFIGS = Resource(CDI_GROUP, "v1beta1", "cdiconfigs")
UPLOAD_TOKEN_REQUESTS = Resource("upload.cdi.kubevirt.io", "v1beta1", "uploadtokenrequests")
STORAGECLASSES = Resource("storage.k8s.io", "v1", "storageclasses")
VMEXPORTS = Resource(EXPORT_GROUP, VERSION, "virtualmachineexports")
VMSNAPSHOTS = Resource("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots")
OCP_TEMPLATES = Resource("template.openshift.io", "v1", "templates")  # OpenShift, for `template convert`
# virt-template: VirtualMachineTemplates, the requests that make them from a VM, and the aggregated
# API serving their `process` and `create` subresources
TEMPLATE_GROUP = "template.kubevirt.io"
VM_TEMPLATES = Resource(TEMPLATE_GROUP, "v1beta1", "virtualmachinetemplates")
VM_TEMPLATE_REQUESTS = Resource(TEMPLATE_GROUP, "v1beta1", "virtualmachinetemplaterequests")
VM_TEMPLATE_SUBRESOURCES = Resource("subresources." + TEMPLATE_GROUP, "v1beta1", "virtualmachinetemplates")

# the plural of each kind a user may type (expose, pause, port-forward, image-upload, vmexport, completion)
BY_KIND = {"vm": VMS, "vmi": VMIS, "vmirs": VMIRS, "namespace": NAMESPACES, "vmt": VM_TEMPLATES, "dv": DATAVOLUMES,
           "pvc": PVCS, "vmexport": VMEXPORTS, "vmsnapshot": VMSNAPSHOTS}


class ApiRef:
    """One API path as parts; building it checks every part (client-go's order: namespace, name,
    subresource). `namespace=None` (or "", as client-go) is the cluster scope / every namespace.
    Immutable and compared by value."""

    __slots__ = ("resource", "namespace", "name", "subresource")

    def __init__(self, resource: Resource, namespace: str | None = None, name: str | None = None,
                 subresource: tuple[str, ...] = ()) -> None:
        if namespace:
            check_segment(namespace, "namespace")
        if name is not None:
            check_name(name)
        check_segment(resource.plural, "resource")
        for part in subresource:
            check_segment(part, "subresource")
        if subresource and name is None:
            raise InputError("a subresource needs a resource name")
        set_ = object.__setattr__
        set_(self, "resource", resource)
        set_(self, "namespace", namespace)
        set_(self, "name", name)
        set_(self, "subresource", tuple(subresource))

    resource: Resource
    namespace: str | None
    name: str | None
    subresource: tuple[str, ...]

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("ApiRef is immutable")

    def _key(self) -> tuple[object, ...]:
        return (self.resource, self.namespace, self.name, self.subresource)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiRef) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"ApiRef({self.path!r})"

    @property
    def path(self) -> str:
        parts = [self.resource.root]
        if self.namespace:
            parts += ["namespaces", _escape(self.namespace)]
        parts.append(_escape(self.resource.plural))
        if self.name is not None:
            parts.append(_escape(self.name))
        parts += [_escape(p) for p in self.subresource]
        return "/".join(parts)


def ref(
    resource: Resource, namespace: str | None = None, name: str | None = None, *subresource: str
) -> ApiRef:
    """Shorthand: `ref(VM_SUBRESOURCES, "default", "vm1", "start")`."""
    return ApiRef(resource, namespace, name, tuple(subresource))


def vm(namespace: str, name: str, *subresource: str) -> ApiRef:
    """The VirtualMachine object, or with `subresource` its virt-api subresource (`start`, ...)."""
    return ApiRef(VM_SUBRESOURCES if subresource else VMS, namespace, name, tuple(subresource))


def vmi(namespace: str, name: str, *subresource: str) -> ApiRef:
    """The VirtualMachineInstance object, or with `subresource` its subresource (`pause`, `vnc`, ...)."""
    return ApiRef(VMI_SUBRESOURCES if subresource else VMIS, namespace, name, tuple(subresource))


def collection(resource: Resource, namespace: str | None) -> ApiRef:
    """A collection in one namespace, or across all namespaces with `namespace=None`."""
    return ApiRef(resource, namespace)


def group_path(group: str) -> str:
    """`/apis/<group>`: the group's discovery document (preferredVersion)."""
    return "/apis/" + _escape(check_segment(group, "group"))


SUBRESOURCES_GROUP_PATH = group_path(SUB_GROUP)


def version_path(group_version: str) -> str:
    """`/apis/<group>/<version>/version`, e.g. for `subresources.kubevirt.io/v1` (from discovery)."""
    group, _, version = group_version.partition("/")
    return Resource(group, version or VERSION, "version").root + "/version"


def guestfs_path(group_version: str) -> str:
    """`/apis/<group>/<version>/guestfs`: virt-api's libguestfs-tools image data (version from discovery)."""
    group, _, version = group_version.partition("/")
    return Resource(group, version or VERSION, "guestfs").root + "/guestfs"


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
