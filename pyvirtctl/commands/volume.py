"""addvolume / removevolume: hotplug a DataVolume or PVC into a running VM (virtctl.md §2.11-2.12).

Both send to the VM's subresource first and fall back to the VMI's on 404 (a standalone VMI), and
both retry up to 15 times when - and only when - the error text is exactly client-go's 422 sentence.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.commands.vm import DRY_RUN_HELP, DRY_RUN_LINE
from pyvirtctl.errors import ApiError, CLIError
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube.paths import CDI, CORE, vm_path, vmi_path
from pyvirtctl.kube.request import Request
from pyvirtctl.runtime import IO, session

MAX_ATTEMPTS = 15
RETRYABLE = "the server rejected our request due to an error in our request"
CACHE_MODES = ("none", "writethrough", "writeback")
MAX_NAME = 63

ADD_EXAMPLE = (
    "\t#Dynamically attach a volume to a running VM giving it a serial number to identify the volume inside the "
    "guest.\n  {{ProgramName}} addvolume fedora-dv --volume-name=example-dv --serial=1234567890\n\n"
    "  #Dynamically attach a volume to a running VM giving it an explicit disk name to be used in the disk/volume "
    "section of the VM spec.\n  {{ProgramName}} addvolume fedora-dv --volume-name=example-dv "
    "--disk-name=example-disk\n\n"
    "  #Dynamically attach a volume to a running VM, persisting it in the VM spec. At next VM restart the volume "
    "will be attached like any other volume.\n  {{ProgramName}} addvolume fedora-dv --volume-name=example-dv\n\n"
    "  #[deprecated]: Dynamically attach a volume to a running VM and persisting it in the VM spec. At next VM "
    "restart the volume will be attached like any other volume.\n  --persist flag has no effect and will be "
    "removed in future release. New default behavior will be to persist in VM spec even if flag is not "
    "provided.\n  {{ProgramName}} addvolume fedora-dv --volume-name=example-dv --persist\n\n"
    "  #Dynamically attach a volume with 'none' cache attribute to a running VM.\n"
    "  {{ProgramName}} addvolume fedora-dv --volume-name=example-dv --cache=none\n  "
)
REMOVE_EXAMPLE = (
    "  #Remove volume dynamically attached to a running VM and persisting it in the VM spec.\n"
    "  {{ProgramName}} removevolume fedora-dv --volume-name=example-dv\n  \n"
    "  #[deprecated] Remove volume dynamically attached to a running VM and persisting it in the VM spec.\n"
    "  --persist flag has no effect and will be removed in future release. New default behavior will be to "
    "persist in VM spec even if flag is not provided.\n"
    "  {{ProgramName}} removevolume fedora-dv --volume-name=example-dv --persist\n  "
)
PERSIST_HELP = "[deprecated] this flag has no effect and will be removed in a future release"


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


def volume_source(source_kind: str, volume_name: str) -> dict:
    """The hotpluggable volume source for a found DataVolume ("dv") or PVC ("pvc")."""
    if source_kind == "dv":
        return {"dataVolume": {"name": volume_name, "hotpluggable": True}}
    return {"persistentVolumeClaim": {"claimName": volume_name, "hotpluggable": True}}


def add_volume_body(o: AddVolumeOptions, source: dict) -> dict:
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


def remove_volume_body(volume_name: str, dry_run: bool) -> dict:
    body: dict[str, Any] = {"name": volume_name}
    if dry_run:
        body["dryRun"] = ["All"]
    return body


def datavolume_request(namespace: str, name: str) -> Request:
    return Request("GET", f"{CDI}/namespaces/{namespace}/datavolumes/{name}")


def pvc_request(namespace: str, name: str) -> Request:
    return Request("GET", f"{CORE}/namespaces/{namespace}/persistentvolumeclaims/{name}")


def hotplug_requests(namespace: str, vmi: str, action: str, body: dict) -> tuple[Request, Request]:
    """The VM subresource call and its standalone-VMI fallback."""
    return Request("PUT", vm_path(namespace, vmi, action), body=body), Request(
        "PUT", vmi_path(namespace, vmi, action), body=body
    )


def send_with_retry(
    s: Any, requests: tuple[Request, Request], what: str, sleep: Callable[[float], None] = time.sleep
) -> None:
    """virtctl's retry loop: VM call, VMI call on 404, retry only on the exact 422 text."""
    first, fallback = requests
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            try:
                s.send(first)
            except ApiError as e:
                if not e.not_found:
                    raise
                s.send(fallback)
            return
        except CLIError as e:
            if e.message != RETRYABLE:
                raise CLIError(f"error {what} volume, {e.message}") from None
            sleep(attempt * random.randint(0, 4) / 1000.0)
    raise CLIError(f"error {what} volume after {MAX_ATTEMPTS} retries")


def find_source(s: Any, namespace: str, volume_name: str) -> dict:
    """DataVolume if the GET succeeds for any reason, else PVC, else virtctl's error."""
    try:
        s.send(datavolume_request(namespace, volume_name))
        return volume_source("dv", volume_name)
    except CLIError:
        pass
    try:
        s.send(pvc_request(namespace, volume_name))
        return volume_source("pvc", volume_name)
    except CLIError:
        pass
    raise CLIError(f"error adding volume, Volume {volume_name} is not a DataVolume or PersistentVolumeClaim")


def run_add_volume(o: AddVolumeOptions, s: Any, io: IO) -> None:
    if o.dry_run:
        io.print(DRY_RUN_LINE)
    source = find_source(s, s.namespace, o.volume_name)
    body = add_volume_body(o, source)
    send_with_retry(s, hotplug_requests(s.namespace, o.vmi, "addvolume", body), "adding")
    io.print(f"Successfully submitted add volume request to VM {o.vmi} for volume {o.volume_name}")


def run_remove_volume(vmi: str, volume_name: str, dry_run: bool, s: Any, io: IO) -> None:
    if dry_run:
        io.print(DRY_RUN_LINE)
    body = remove_volume_body(volume_name, dry_run)
    send_with_retry(s, hotplug_requests(s.namespace, vmi, "removevolume", body), "removing")
    io.print(f"Successfully submitted remove volume request to VM {vmi} for volume {volume_name}")


@go_command("addvolume", use="addvolume VMI", short="add a volume to a running VM", example=ADD_EXAMPLE,
            args=exact_args(1))
def addvolume_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vm_names)],
    volume_name: Annotated[str, typer.Option("--volume-name", help="name of the volume source, either DV or PVC")] = ...,  # type: ignore[assignment]
    disk_name: Annotated[str, typer.Option("--disk-name", help="name used in the disk/volume section of spec")] = "",
    serial: Annotated[str, typer.Option("--serial", help="serial number you want to assign to the disk")] = "",
    cache: Annotated[
        str, typer.Option("--cache", autocompletion=comp.complete_disk_caches, help="caching options attribute control the cache mechanism")
    ] = "",
    persist: Annotated[bool, typer.Option("--persist", help=PERSIST_HELP)] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    disk_type: Annotated[
        str, typer.Option("--disk-type", autocompletion=comp.complete_disk_types, help="specifies disk type to be hotplugged (disk/lun). Disk by default.")
    ] = "disk",
    bus: Annotated[str, typer.Option("--bus", autocompletion=comp.complete_disk_buses, help="specifies disk bus. scsi by default.")] = "scsi",
) -> None:
    s = session(ctx)
    o = AddVolumeOptions(
        names[0], volume_name, disk_name=disk_name, serial=serial, cache=cache, disk_type=disk_type, bus=bus,
        dry_run=dry_run,
    )
    run_add_volume(o, s, IO.std())


@go_command("removevolume", use="removevolume VMI", short="remove a volume from a running VM",
            example=REMOVE_EXAMPLE, args=exact_args(1))
def removevolume_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vm_names)],
    volume_name: Annotated[str, typer.Option("--volume-name", help="name used in volumes section of spec")] = ...,  # type: ignore[assignment]
    persist: Annotated[bool, typer.Option("--persist", help=PERSIST_HELP)] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
) -> None:
    s = session(ctx)
    run_remove_volume(names[0], volume_name, dry_run, s, IO.std())
