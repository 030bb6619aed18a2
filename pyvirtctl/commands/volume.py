"""addvolume / removevolume: hotplug a DataVolume or PVC into a running VM (virtctl.md §2.11-2.12).

The bodies come from `pyvirtctl.kubevirt.volume`, the requests from `pyvirtctl.kubevirt.requests`;
every name is checked before the first request.

Both send to the VM's subresource first and fall back to the VMI's on 404 (a standalone VMI), and
both retry up to 15 times when - and only when - the error text is exactly client-go's 422 sentence.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.commands.vm import DRY_RUN_HELP, DRY_RUN_LINE
from pyvirtctl.errors import ApiError, CLIError, InputError, prefixed
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube.request import Request
from pyvirtctl.kubevirt.requests import datavolume_request, hotplug_requests, pvc_request
from pyvirtctl.kubevirt.volume import AddVolumeOptions, add_volume_body, remove_volume_body, volume_source
from pyvirtctl.runtime import IO, session

MAX_ATTEMPTS = 15
RETRYABLE = "the server rejected our request due to an error in our request"

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


def source_requests(namespace: str, volume_name: str) -> tuple[Request, Request] | None:
    """The DataVolume and PVC lookups, or None when the name cannot be either (virtctl then reports
    that the volume is neither, without a request: client-go refuses the name)."""
    try:
        return datavolume_request(namespace, volume_name), pvc_request(namespace, volume_name)
    except CLIError:
        return None


def find_source(s: Any, lookups: tuple[Request, Request] | None, volume_name: str) -> dict:
    """DataVolume if the GET succeeds for any reason, else PVC, else virtctl's error."""
    for kind, request in zip(("dv", "pvc"), lookups or (), strict=False):
        try:
            s.send(request)
            return volume_source(kind, volume_name)
        except CLIError:
            pass
    raise CLIError(f"error adding volume, Volume {volume_name} is not a DataVolume or PersistentVolumeClaim")


def run_add_volume(o: AddVolumeOptions, s: Any, io: IO) -> None:
    if o.dry_run:
        io.print(DRY_RUN_LINE)
    lookups = source_requests(s.namespace, o.volume_name)
    if lookups is None:
        raise InputError(f"error adding volume, Volume {o.volume_name} is not a DataVolume or PersistentVolumeClaim")
    add_volume_body(o, {})  # the disk options are checked before any request (the source does not matter)
    with prefixed("error adding volume, "):
        hotplug_requests(s.namespace, o.vmi, "addvolume", {})  # so is the VM name
    source = find_source(s, lookups, o.volume_name)
    body = add_volume_body(o, source)
    send_with_retry(s, hotplug_requests(s.namespace, o.vmi, "addvolume", body), "adding")
    io.print(f"Successfully submitted add volume request to VM {o.vmi} for volume {o.volume_name}")


def run_remove_volume(vmi: str, volume_name: str, dry_run: bool, s: Any, io: IO) -> None:
    if dry_run:
        io.print(DRY_RUN_LINE)
    body = remove_volume_body(volume_name, dry_run)
    with prefixed("error removing volume, "):
        requests = hotplug_requests(s.namespace, vmi, "removevolume", body)
    send_with_retry(s, requests, "removing")
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
