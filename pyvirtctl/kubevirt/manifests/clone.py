"""The VirtualMachineClone manifest of `create clone`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyvirtctl.kubevirt.manifests.params import ManifestError, random_suffix

API_VERSION = "clone.kubevirt.io/v1beta1"
SOURCE_TYPES = ("vm", "VM", "VirtualMachine", "virtualmachine", "snapshot", "VirtualMachineSnapshot",
                "vmsnapshot", "VMSnapshot")
TARGET_TYPES = ("vm", "VM", "VirtualMachine", "virtualmachine")
_VM_TYPES = frozenset(TARGET_TYPES)
_SNAPSHOT_TYPES = frozenset(SOURCE_TYPES) - _VM_TYPES


@dataclass
class CloneOptions:
    source_name: str = ""
    name: str = ""  # empty: clone-XXXXX
    namespace: str = ""  # an explicit -n
    target_name: str = ""
    source_type: str = ""  # empty: vm
    target_type: str = ""  # empty: vm
    label_filter: list[str] = field(default_factory=list)
    annotation_filter: list[str] = field(default_factory=list)
    template_label_filter: list[str] = field(default_factory=list)
    template_annotation_filter: list[str] = field(default_factory=list)
    new_mac_address: list[str] = field(default_factory=list)
    new_smbios_serial: str = ""


def _reference(kind_text: str, name: str, source: bool) -> dict[str, Any]:
    if kind_text in _VM_TYPES:
        return {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": name}
    if source and kind_text in _SNAPSHOT_TYPES:
        return {"apiGroup": "snapshot.kubevirt.io", "kind": "VirtualMachineSnapshot", "name": name}
    if source:
        raise ManifestError(f"source type {kind_text} is not supported. Supported types: vm, vmsnapshot")
    raise ManifestError(f"target type {kind_text} is not supported. Supported types: vm")


def _mac_addresses(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in values:
        parts = text.split(":")
        if len(parts) != 2:
            raise ManifestError(
                f"newMacAddress parameter {text} is invalid: exactly one ':' is expected. "
                "For example: 'interface0:address0'"
            )
        iface, address = parts
        if not iface:
            raise ManifestError(f"newMacAddress parameter {text} has empty interface name")
        if not address:
            raise ManifestError(f"newMacAddress parameter {text} has empty address name")
        out[iface] = address
    return out


def build_clone(opts: CloneOptions, *, rand: Callable[[], str] = random_suffix) -> dict[str, Any]:
    name = opts.name or "clone-" + rand()
    if not opts.source_name:
        raise ManifestError("source name must not be empty")
    spec: dict[str, Any] = {
        "source": _reference(opts.source_type or "vm", opts.source_name, True),
        "target": _reference(opts.target_type or "vm", opts.target_name, False),
    }
    if opts.annotation_filter:
        spec["annotationFilters"] = list(opts.annotation_filter)
    if opts.label_filter:
        spec["labelFilters"] = list(opts.label_filter)
    template: dict[str, Any] = {}
    if opts.template_annotation_filter:
        template["annotationFilters"] = list(opts.template_annotation_filter)
    if opts.template_label_filter:
        template["labelFilters"] = list(opts.template_label_filter)
    spec["template"] = template
    macs = _mac_addresses(opts.new_mac_address)
    if macs:
        spec["newMacAddresses"] = macs
    if opts.new_smbios_serial:
        spec["newSMBiosSerial"] = opts.new_smbios_serial
    metadata: dict[str, Any] = {"name": name}
    if opts.namespace:
        metadata["namespace"] = opts.namespace
    return {"kind": "VirtualMachineClone", "apiVersion": API_VERSION, "metadata": metadata, "spec": spec, "status": {}}
