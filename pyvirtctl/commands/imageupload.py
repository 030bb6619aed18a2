"""`image-upload dv|pvc NAME --image-path=FILE | --archive-path=FILE`: a disk image into the cluster through
CDI's upload proxy (the flow is `pyvirtctl.kubevirt.upload`; this module reads the flags and shows the
transfer).

virtctl's flags, the deprecated ones included (`--pvc-name`, `--pvc-size`, `--block-volume`: hidden, and
announced on stdout when used, as pflag does). The bar (bytes, rate, ETA) is drawn on stdout when it is a
terminal; piped, the final state is one plain line. Ctrl+C stops the upload and says on stderr what state
the DataVolume or PVC is left in (exit status 130).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pyvirtctl import completion as comp
from pyvirtctl.goflags import go_command, maximum_args
from pyvirtctl.runtime import IO, session

EXAMPLE = (
    "  # Upload a local disk image to a newly created DataVolume:\n"
    "  {{ProgramName}} image-upload dv fedora-dv --size=10Gi --image-path=/images/fedora30.qcow2\n\n"
    "  # Upload a local disk image to an existing DataVolume\n"
    "  {{ProgramName}} image-upload dv fedora-dv --no-create --image-path=/images/fedora30.qcow2\n\n"
    "  # Upload a local disk image to a newly created PersistentVolumeClaim\n"
    "  {{ProgramName}} image-upload pvc fedora-pvc --size=10Gi --image-path=/images/fedora30.qcow2\n\n"
    "  # Upload a local disk image to a newly created PersistentVolumeClaim and label it with a default instance "
    "type and preference\n"
    "  {{ProgramName}} image-upload pvc fedora-pvc --size=10Gi --image-path=/images/fedora30.qcow2 "
    "--default-instancetype=n1.medium --default-preference=fedora\n\n"
    "  # Upload a local disk image to an existing PersistentVolumeClaim\n"
    "  {{ProgramName}} image-upload pvc fedora-pvc --no-create --image-path=/images/fedora30.qcow2\n\n"
    "  # Upload to a DataVolume with explicit URL to CDI Upload Proxy\n"
    "  {{ProgramName}} image-upload dv fedora-dv --uploadproxy-url=https://cdi-uploadproxy.mycluster.com "
    "--image-path=/images/fedora30.qcow2\n\n"
    "  # Upload a local disk archive to a newly created DataVolume:\n"
    "  {{ProgramName}} image-upload dv fedora-dv --size=10Gi --archive-path=/images/fedora30.tar"
)

DEPRECATED = {
    "pvc-name": "specify the name as the second argument instead.",
    "pvc-size": "use --size instead.",
    "block-volume": "specify volume mode (filesystem/block) with --volume-mode instead.",
}


@go_command(
    "image-upload",
    use="image-upload",
    short="Upload a VM image to a DataVolume/PersistentVolumeClaim.",
    example=EXAMPLE,
    args=maximum_args(2),
    go_types={"wait_secs": "uint", "retry": "uint"},
    deprecated=DEPRECATED,
)
def image_upload_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_upload_args)] = [],  # noqa: B006
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow insecure server connections when using HTTPS.")
    ] = False,
    uploadproxy_url: Annotated[
        str, typer.Option("--uploadproxy-url", help="The URL of the cdi-upload proxy service.")
    ] = "",
    pvc_name: Annotated[
        str, typer.Option("--pvc-name", hidden=True, help="The destination DataVolume/PVC name.")
    ] = "",
    pvc_size: Annotated[
        str, typer.Option("--pvc-size", hidden=True, help="The size of the PVC to create (ex. 10Gi, 500Mi).")
    ] = "",
    size: Annotated[
        str, typer.Option("--size", help="The size of the DataVolume to create (ex. 10Gi, 500Mi).")
    ] = "",
    storage_class: Annotated[str, typer.Option("--storage-class", help="The storage class for the PVC.")] = "",
    access_mode: Annotated[
        str, typer.Option("--access-mode", autocompletion=comp.complete_access_modes,
                          help="The access mode for the PVC.")
    ] = "",
    block_volume: Annotated[
        bool,
        typer.Option("--block-volume", hidden=True,
                     help="Create a PVC with VolumeMode=Block (default is the storageProfile default. for archive "
                          "upload default is filesystem)."),
    ] = False,
    volume_mode: Annotated[
        str,
        typer.Option("--volume-mode", autocompletion=comp.complete_volume_modes,
                     help="Specify the VolumeMode (block/filesystem) used to create the PVC. Default is the "
                          "storageProfile default. For archive upload default is filesystem."),
    ] = "",
    image_path: Annotated[
        str, typer.Option("--image-path", autocompletion=comp.complete_files, help="Path to the local VM image.")
    ] = "",
    archive_path: Annotated[
        str, typer.Option("--archive-path", autocompletion=comp.complete_files, help="Path to the local archive.")
    ] = "",
    no_create: Annotated[
        bool, typer.Option("--no-create", help="Don't attempt to create a new DataVolume/PVC.")
    ] = False,
    wait_secs: Annotated[
        int, typer.Option("--wait-secs", help="Seconds to wait for upload pod to start.")
    ] = 300,
    retry: Annotated[
        int,
        typer.Option("--retry", help="When upload server returns a transient error, we retry this number of "
                                     "times before giving up"),
    ] = 5,
    force_bind: Annotated[
        bool, typer.Option("--force-bind", help="Force bind the PVC, ignoring the WaitForFirstConsumer logic.")
    ] = False,
    datasource: Annotated[
        bool, typer.Option("--datasource", help="Create a DataSource pointing to the created DataVolume/PVC.")
    ] = False,
    default_instancetype: Annotated[
        str, typer.Option("--default-instancetype", help="The default instance type to associate with the image.")
    ] = "",
    default_instancetype_kind: Annotated[
        str,
        typer.Option("--default-instancetype-kind", help="The default instance type kind to associate with the "
                                                         "image."),
    ] = "",
    default_preference: Annotated[
        str, typer.Option("--default-preference", help="The default preference to associate with the image.")
    ] = "",
    default_preference_kind: Annotated[
        str,
        typer.Option("--default-preference-kind", help="The default preference kind to associate with the image."),
    ] = "",
) -> None:
    from pyvirtctl.kubevirt.upload import Uploader, parse_args
    from pyvirtctl.progname import program_name
    from pyvirtctl.progressbar import TransferBar

    s = session(ctx)  # virtctl builds the client before it looks at the arguments
    o = parse_args(
        list(args), image_path=image_path, archive_path=archive_path, size=size, pvc_size=pvc_size,
        pvc_name=pvc_name, block_volume=block_volume, volume_mode=volume_mode, access_mode=access_mode,
        no_create=no_create, default_instancetype=default_instancetype,
        default_instancetype_kind=default_instancetype_kind, default_preference=default_preference,
        default_preference_kind=default_preference_kind, storage_class=storage_class, force_bind=force_bind,
        uploadproxy_url=uploadproxy_url, insecure=insecure, wait_secs=wait_secs, retries=retry,
        datasource=datasource,
    )
    io = IO.std()
    bar = TransferBar(sys.stdout, terminal=sys.stdout.isatty())
    uploader = Uploader(s, o, out=io.print, progress=bar, program=program_name())
    try:
        uploader.run()
    except KeyboardInterrupt:
        bar.abort()
        sys.stdout.flush()
        io.eprint(uploader.interrupted())
        raise
