"""Where a built manifest would be created: the seam for `create ... --apply`.

`collection_path(manifest, namespace)` is the URL path a POST of the manifest goes to (the printed
manifest is the request body as it is). A namespaced kind without `metadata.namespace` goes to the
client's namespace, as `kubectl create -f -` does.
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


def collection_path(manifest: dict[str, Any], namespace: str) -> str:
    """The collection path (GROUP/VERSION from the manifest's apiVersion) for a manifest built by this
    package, made by the one URL builder (kube/paths.py)."""
    plural, namespaced = COLLECTIONS[manifest["kind"]]
    group, _, version = str(manifest["apiVersion"]).partition("/")
    resource = paths.Resource(group, version, plural)
    ns = ((manifest.get("metadata") or {}).get("namespace") or namespace) if namespaced else None
    return paths.collection(resource, ns).path
