"""Where a built manifest is created: `create ... --apply`.

`collection_ref(manifest, namespace)` is where a POST of the manifest goes (the printed manifest is
the request body as it is). A namespaced kind without `metadata.namespace` goes to the client's
namespace, as `kubectl create -f -` does. `created_line` is the line printed afterwards, in
virtctl's style (`VirtualMachine default/my-vm created`); `starts_on_create` says whether a
VirtualMachine's run strategy starts it as soon as it exists (what `--wait` waits for).
"""

from __future__ import annotations

from typing import Any

from pyvirtctl.kube import paths

# kind -> (plural, namespaced); the group/version comes from the manifest's apiVersion
COLLECTIONS: dict[str, tuple[str, bool]] = {
    "VirtualMachine": ("virtualmachines", True),
    "VirtualMachineInstancetype": ("virtualmachineinstancetypes", True),
    "VirtualMachineClusterInstancetype": ("virtualmachineclusterinstancetypes", False),
    "VirtualMachinePreference": ("virtualmachinepreferences", True),
    "VirtualMachineClusterPreference": ("virtualmachineclusterpreferences", False),
    "VirtualMachineClone": ("virtualmachineclones", True),
    "VirtualMachineTemplate": ("virtualmachinetemplates", True),
}


def target_namespace(manifest: dict[str, Any], namespace: str) -> str | None:
    """The namespace the manifest is created in (None for cluster-scoped kinds)."""
    _plural, namespaced = COLLECTIONS[manifest["kind"]]
    return ((manifest.get("metadata") or {}).get("namespace") or namespace) if namespaced else None


def collection_ref(manifest: dict[str, Any], namespace: str) -> paths.ApiRef:
    """The collection (GROUP/VERSION from the manifest's apiVersion) a manifest built by this package is
    created in, made by the one URL builder (kube/paths.py)."""
    plural, _namespaced = COLLECTIONS[manifest["kind"]]
    group, _, version = str(manifest["apiVersion"]).partition("/")
    return paths.collection(paths.Resource(group, version, plural), target_namespace(manifest, namespace))


def collection_path(manifest: dict[str, Any], namespace: str) -> str:
    return collection_ref(manifest, namespace).path


def display_name(obj: dict[str, Any]) -> str:
    """`NS/NAME` for a namespaced object, `NAME` for a cluster-scoped one."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or ""
    return f"{ns}/{meta.get('name') or ''}" if ns else str(meta.get("name") or "")


def created_line(obj: dict[str, Any]) -> str:
    """`VirtualMachine default/my-vm created` for the object the server created."""
    return f"{obj.get('kind') or ''} {display_name(obj)} created"


# run strategies that start a VirtualMachine as soon as it is created (Halted, Manual and
# WaitAsReceiver do not)
STARTING_RUN_STRATEGIES = ("Always", "RerunOnFailure", "Once")


def starts_on_create(vm: dict[str, Any]) -> bool:
    spec = vm.get("spec") or {}
    if spec.get("runStrategy"):
        return spec["runStrategy"] in STARTING_RUN_STRATEGIES
    return bool(spec.get("running"))
