"""URL paths of the KubeVirt and Kubernetes APIs (pure)."""

from __future__ import annotations

KV = "/apis/kubevirt.io/v1"
SUB = "/apis/subresources.kubevirt.io/v1"
CORE = "/api/v1"
CDI = "/apis/cdi.kubevirt.io/v1beta1"
EXPORT = "/apis/export.kubevirt.io/v1"


def _obj(base: str, namespace: str, plural: str, name: str, sub: str | None) -> str:
    path = f"{base}/namespaces/{namespace}/{plural}/{name}"
    return f"{path}/{sub}" if sub else path


def vm_path(namespace: str, name: str, sub: str | None = None) -> str:
    """The VirtualMachine object (kubevirt.io) or, with `sub`, its subresource (subresources.kubevirt.io)."""
    return _obj(SUB if sub else KV, namespace, "virtualmachines", name, sub)


def vmi_path(namespace: str, name: str, sub: str | None = None) -> str:
    """The VirtualMachineInstance object or, with `sub`, its subresource."""
    return _obj(SUB if sub else KV, namespace, "virtualmachineinstances", name, sub)


def kv_collection(namespace: str | None, plural: str) -> str:
    """A kubevirt.io collection, namespaced or across all namespaces (namespace None)."""
    return f"{KV}/namespaces/{namespace}/{plural}" if namespace is not None else f"{KV}/{plural}"


def core_collection(namespace: str | None, plural: str) -> str:
    return f"{CORE}/namespaces/{namespace}/{plural}" if namespace is not None else f"{CORE}/{plural}"
