"""addvolume / removevolume bodies (virtctl.md §2.11-2.12): pure, validated in virtctl's order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyvirtctl.errors import CLIError

CACHE_MODES = ("none", "writethrough", "writeback")
MAX_NAME = 63


@dataclass(frozen=True)
class AddVolumeOptions:
    vmi: str
    volume_name: str
    disk_name: str = ""
    serial: str = ""
    cache: str = ""
    disk_type: str = "disk"
    bus: str = "scsi"
    dry_run: bool = False


def volume_source(source_kind: str, volume_name: str) -> dict[str, Any]:
    """The hotpluggable volume source for a found DataVolume ("dv") or PVC ("pvc")."""
    if source_kind == "dv":
        return {"dataVolume": {"name": volume_name, "hotpluggable": True}}
    return {"persistentVolumeClaim": {"claimName": volume_name, "hotpluggable": True}}


def add_volume_body(o: AddVolumeOptions, source: dict[str, Any]) -> dict[str, Any]:
    """Validate the disk options in virtctl's order and build AddVolumeOptions (raises CLIError)."""
    hotplug_name = o.disk_name or o.volume_name
    if len(hotplug_name) > MAX_NAME:
        if o.disk_name:
            raise CLIError(f"Invalid disk name {o.disk_name}, must not exceed 63 characters")
        raise CLIError(
            f"Invalid volume name {o.volume_name}, must not exceed 63 characters. "
            "Use in conjunction with --disk-name to specify a shorter name"
        )
    disk: dict[str, Any] = {"name": ""}
    if o.disk_type == "disk":
        if o.bus not in ("scsi", "virtio"):
            raise CLIError(f"Invalid bus type '{o.bus}' for disk. Only 'scsi' and 'virtio' are supported.")
        disk["disk"] = {"bus": o.bus}
    elif o.disk_type == "lun":
        if o.bus != "scsi":
            raise CLIError(f"Invalid bus type '{o.bus}' for LUN disk. Only 'scsi' bus is supported.")
        disk["lun"] = {"bus": "scsi"}
    else:
        raise CLIError(f"Invalid disk type '{o.disk_type}'. Only LUN and Disk are supported.")
    disk["serial"] = o.serial or hotplug_name
    if o.cache:
        if o.cache not in CACHE_MODES:
            raise CLIError(f"error adding volume, invalid cache value {o.cache}")
        disk["cache"] = o.cache
    body: dict[str, Any] = {"name": hotplug_name, "disk": disk, "volumeSource": source}
    if o.dry_run:
        body["dryRun"] = ["All"]
    return body


def remove_volume_body(volume_name: str, dry_run: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"name": volume_name}
    if dry_run:
        body["dryRun"] = ["All"]
    return body
