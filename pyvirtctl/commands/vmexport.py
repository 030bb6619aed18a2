"""`vmexport create|delete|download NAME`: VirtualMachineExports and their downloads (virtctl.md §5).

The flow is `pyvirtctl.kubevirt.export` (shared with `memory-dump download`); this module checks the
flags in virtctl's order and with its words (`validate`), opens the output file before anything is
sent, and prints. Like virtctl, the progress lines go to stdout unless the data itself does (no
`--output`, or `--output -`): then they go to stderr. A progress bar is drawn on stderr only when it
is a terminal.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.errors import InputError
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube.flags import parse_go_duration
from pyvirtctl.kubevirt import export as vx
from pyvirtctl.runtime import session

EXAMPLE = (
    "# Create a VirtualMachineExport to export a volume from a virtual machine:\n"
    "\t{{ProgramName}} vmexport create vm1-export --vm=vm1\n\n"
    "\t# Create a VirtualMachineExport to export a volume from a virtual machine snapshot\n"
    "\t{{ProgramName}} vmexport create snap1-export --snapshot=snap1\n\n"
    "\t# Create a VirtualMachineExport to export a volume from a PVC\n"
    "\t{{ProgramName}} vmexport create pvc1-export --pvc=pvc1\n\n"
    "\t# Delete a VirtualMachineExport resource\n"
    "\t{{ProgramName}} vmexport delete snap1-export\n\n"
    "\t# Download a volume from an already existing VirtualMachineExport (--volume is optional when only one "
    "volume is available)\n"
    "\t{{ProgramName}} vmexport download vm1-export --volume=volume1 --output=disk.img.gz\n\n"
    "\t# Download a volume as before but through local port 5410\n"
    "\t{{ProgramName}} vmexport download vm1-export --volume=volume1 --output=disk.img.gz --port-forward "
    "--local-port=5410\n\n"
    "\t# Create a VirtualMachineExport and download the requested volume from it\n"
    "\t{{ProgramName}} vmexport download vm1-export --vm=vm1 --volume=volume1 --output=disk.img.gz\n\n"
    "\t# Create a VirtualMachineExport and get the VirtualMachine manifest in Yaml format\n"
    "\t{{ProgramName}} vmexport download vm1-export --vm=vm1 --manifest\n\n"
    "\t# Get the VirtualMachine manifest in Yaml format from an existing VirtualMachineExport including CDI "
    "header secret\n"
    "\t{{ProgramName}} vmexport download existing-export --include-secret --manifest"
)

CREATE, DELETE, DOWNLOAD = "create", "delete", "download"
ERR_INCOMPATIBLE = "the '{flag}' flag is incompatible with '{what}'"
ERR_INVALID = "{flag} is not a valid value, acceptable values are {values}"
ERR_KIND_REQUIRED = ("need to specify export kind when attempting to create a VirtualMachineExport "
                     "[--pvc|--vm|--snapshot|--vmtemplate]")
ERR_KIND_GIVEN = "should not specify export kind"
ERR_BINARY = ("warning: Binary output can mess up your terminal. Use '--output -' to output into stdout anyway "
              "or consider '--output <FILE>' to save to a file")


class Flags:
    """The command line as virtctl's package variables hold it."""

    def __init__(self, **kw: Any) -> None:
        self.vm: str = kw.get("vm", "")
        self.snapshot: str = kw.get("snapshot", "")
        self.pvc: str = kw.get("pvc", "")
        self.vmtemplate: str = kw.get("vmtemplate", "")
        self.output: str = kw.get("output", "")
        self.volume: str = kw.get("volume", "")
        self.format: str = kw.get("format", "")
        self.insecure: bool = kw.get("insecure", False)
        self.keep_vme: bool = kw.get("keep_vme", False)
        self.delete_vme: bool = kw.get("delete_vme", False)
        self.ttl: str = kw.get("ttl", "")
        self.manifest_output_format: str = kw.get("manifest_output_format", "")
        self.service_url: str = kw.get("service_url", "")
        self.port_forward: bool = kw.get("port_forward", False)
        self.local_port: str = kw.get("local_port", "0")
        self.retry: int = kw.get("retry", 0)
        self.include_secret: bool = kw.get("include_secret", False)
        self.manifest: bool = kw.get("manifest", False)
        self.labels: list[str] = list(kw.get("labels") or [])
        self.annotations: list[str] = list(kw.get("annotations") or [])
        self.readiness_timeout: str = kw.get("readiness_timeout", "")

    @property
    def has_source(self) -> bool:
        return bool(self.vm or self.snapshot or self.pvc or self.vmtemplate)


def _incompatible(flag: str, what: str) -> InputError:
    return InputError(ERR_INCOMPATIBLE.format(flag=flag, what=what))


def _common_download_only(f: Flags, what: str) -> None:
    checks = [("--output", bool(f.output)), ("--volume", bool(f.volume)), ("--insecure", f.insecure),
              ("--keep-vme", f.keep_vme), ("--delete-vme", f.delete_vme), ("--port-forward", f.port_forward),
              ("--local-port", f.local_port != "0"), ("--format", bool(f.format)),
              ("--service-url", bool(f.service_url)), ("--retry", f.retry != 0)]
    for flag, used in checks:
        if used:
            raise _incompatible(flag, what)


def validate(function: str, f: Flags) -> str:
    """virtctl's parseExportArguments up to the flag checks: the function (lower-cased) or an error."""
    fn = function.lower()
    if fn == CREATE:
        if not f.has_source:
            raise InputError(ERR_KIND_REQUIRED)
        _common_download_only(f, CREATE)
    elif fn == DELETE:
        if f.has_source:
            raise InputError(ERR_KIND_GIVEN)
        _common_download_only(f, DELETE)
        for flag, used in (("--readiness-timeout", bool(f.readiness_timeout)), ("--labels", bool(f.labels)),
                           ("--annotations", bool(f.annotations))):
            if used:
                raise _incompatible(flag, DELETE)
    elif fn == DOWNLOAD:
        _validate_download(f)
    else:
        raise InputError(f"invalid function '{fn}'")
    return fn


def _validate_download(f: Flags) -> None:
    if f.port_forward:
        try:
            port = int(f.local_port)
        except ValueError:
            port = -1
        if not f.local_port.lstrip("+-").isdigit() or not 0 <= port <= 65535:
            raise InputError(ERR_INVALID.format(flag="--local-port", values="valid port numbers"))
    if f.format not in ("", vx.GZIP, vx.RAW, vx.OCI):
        raise InputError(ERR_INVALID.format(flag="--format", values="gzip/raw/oci"))
    if f.format == vx.OCI:
        for flag, used in (("--volume", bool(f.volume)), ("--manifest", f.manifest), ("--pvc", bool(f.pvc))):
            if used:
                raise _incompatible(flag, "--format=oci")
    if f.retry < 0:
        raise InputError(ERR_INVALID.format(flag="--retry", values="positive integers"))
    if f.manifest:
        if f.volume:
            raise _incompatible("--volume", "--manifest")
        if f.manifest_output_format.lower() not in (vx.JSON, vx.YAML, ""):
            raise InputError(ERR_INVALID.format(flag="--manifest-output-format", values="json/yaml"))
        if f.pvc:
            raise _incompatible("--pvc", "--manifest")
    if not f.manifest and not f.output:
        raise InputError(ERR_BINARY)


def source_of(f: Flags) -> vx.Source | None:
    """getExportSource: the last of --vm, --snapshot, --pvc, --vmtemplate given (they exclude each other)."""
    src = None
    if f.vm:
        src = vx.Source.vm(f.vm)
    if f.snapshot:
        src = vx.Source.snapshot(f.snapshot)
    if f.pvc:
        src = vx.Source.pvc(f.pvc)
    if f.vmtemplate:
        src = vx.Source.vmtemplate(f.vmtemplate)
    return src


def export_info(fn: str, name: str, f: Flags, namespace: str) -> vx.ExportInfo:
    """initVMExportInfo without the output file: durations (Go's errors), labels, port-forward defaults."""
    info = vx.ExportInfo(
        name=name, namespace=namespace, source=source_of(f), should_create=fn == DOWNLOAD and f.has_source,
        insecure=f.insecure, keep_vme=f.keep_vme, delete_vme=f.delete_vme, include_secret=f.include_secret,
        manifest=f.manifest, decompress=f.format == vx.RAW, output=f.output if f.output != "-" else "",
        volume=f.volume, manifest_format=f.manifest_output_format.lower(), service_url=f.service_url,
        format=f.format, retries=f.retry, labels=vx.labels_map(f.labels),
        annotations=vx.labels_map(f.annotations, "--annotations"),
    )
    if f.port_forward:
        info.port_forward = True
        info.local_port = f.local_port
        if not info.service_url:
            info.service_url = f"127.0.0.1:{f.local_port}"
    try:
        if f.ttl:
            info.ttl = parse_go_duration(f.ttl)
        if f.readiness_timeout:
            info.readiness_timeout = parse_go_duration(f.readiness_timeout)
    except ValueError as e:
        raise InputError(str(e)) from None
    return info


# --------------------------------------------------------------------------- the run


def run(fn: str, info: vx.ExportInfo, s: Any, out: vx.OutputFile | None) -> None:
    messages = sys.stderr if info.to_stdout else sys.stdout

    def notify(line: str) -> None:
        messages.write(line + "\n")
        messages.flush()

    def progress(total: int | None) -> Any:
        from pyvirtctl.output import progress_bar

        return progress_bar(total, sys.stderr)

    exporter = vx.Exporter(s, info, notify=notify, log=sys.stderr, progress=progress)
    if fn == CREATE:
        exporter.create()
    elif fn == DELETE:
        exporter.delete()
    else:
        assert out is not None
        exporter.download(out)


@go_command(
    "vmexport",
    use="vmexport",
    short="Export a VM volume.",
    example=EXAMPLE,
    args=exact_args(2),
    exclusive=[["vm", "snapshot", "pvc", "vmtemplate"], ["keep-vme", "delete-vme"]],
    go_types={"labels": "strings", "annotations": "strings", "retry": "int"},
)
def vmexport_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vmexport_args)],
    vm: Annotated[str, typer.Option("--vm", autocompletion=comp.names_anywhere("vm"),
                                    help="Sets VirtualMachine as vmexport kind and specifies the vm name.")] = "",
    snapshot: Annotated[str, typer.Option("--snapshot", autocompletion=comp.names_anywhere("vmsnapshot"),
                                          help="Sets VirtualMachineSnapshot as vmexport kind and specifies the "
                                          "snapshot name.")] = "",
    pvc: Annotated[str, typer.Option("--pvc", autocompletion=comp.names_anywhere("pvc"),
                                     help="Sets PersistentVolumeClaim as vmexport kind and specifies the PVC "
                                     "name.")] = "",
    vmtemplate: Annotated[str, typer.Option("--vmtemplate", help="Sets VirtualMachineTemplate as vmexport kind and "
                                            "specifies the template name.")] = "",
    output: Annotated[str, typer.Option("--output", autocompletion=comp.complete_files,
                                        help="Specifies the output path of the volume to be downloaded.")] = "",
    volume: Annotated[str, typer.Option("--volume", help="Specifies the volume to be downloaded.")] = "",
    format: Annotated[str, typer.Option(  # noqa: A002 - the flag's name
        "--format", autocompletion=comp.complete_export_formats,
        help="Used to specify the format of the downloaded image. There's two options: gzip (default) and raw.")] = "",
    insecure: Annotated[bool, typer.Option("--insecure", help="When used with the 'download' option, specifies that "
                                           "the http request should be insecure.")] = False,
    keep_vme: Annotated[bool, typer.Option("--keep-vme", help="When used with the 'download' option, specifies that "
                                           "the vmexport object should always be retained after the download "
                                           "finishes.")] = False,
    delete_vme: Annotated[bool, typer.Option("--delete-vme", help="When used with the 'download' option, specifies "
                                             "that the vmexport object should always be deleted after the download "
                                             "finishes.")] = False,
    ttl: Annotated[str, typer.Option("--ttl", help="The time after the export was created that it is eligible to be "
                                     "automatically deleted, defaults to 2 hours by the server side if not "
                                     "specified")] = "",
    manifest_output_format: Annotated[str, typer.Option(
        "--manifest-output-format", autocompletion=comp.complete_manifest_formats,
        help="Manifest output format, defaults to Yaml. Valid options are yaml or json")] = "",
    service_url: Annotated[str, typer.Option(
        "--service-url", help="Specify service url to use in the returned manifest, instead of the external URL in "
        "the Virtual Machine export status. This is useful for NodePorts or if you don't have an external URL "
        "configured")] = "",
    port_forward: Annotated[bool, typer.Option(
        "--port-forward", help="Configures port-forwarding on a random port. Useful to download without proper "
        "ingress/route configuration")] = False,
    local_port: Annotated[str, typer.Option("--local-port", help="Defines the specific port to be used in "
                                            "port-forward.")] = "0",
    retry: Annotated[int, typer.Option("--retry", help="When export server returns a transient error, we retry this "
                                       "number of times before giving up")] = 0,
    include_secret: Annotated[bool, typer.Option(
        "--include-secret", help="When used with manifest and set to true include a secret that contains proper "
        "headers for CDI to import using the manifest")] = False,
    manifest: Annotated[bool, typer.Option("--manifest", help="Instead of downloading a volume, retrieve the VM "
                                           "manifest")] = False,
    labels: Annotated[list[str] | None, typer.Option("--labels", help="Specify custom labels to VM export object and "
                                                     "its associated pod")] = None,
    annotations: Annotated[list[str] | None, typer.Option(
        "--annotations", help="Specify custom annotations to VM export object and its associated pod")] = None,
    readiness_timeout: Annotated[str, typer.Option("--readiness-timeout", help="Specify maximum wait for VM export "
                                                   "object to be ready")] = "",
) -> None:
    f = Flags(vm=vm, snapshot=snapshot, pvc=pvc, vmtemplate=vmtemplate, output=output, volume=volume, format=format,
              insecure=insecure, keep_vme=keep_vme, delete_vme=delete_vme, ttl=ttl,
              manifest_output_format=manifest_output_format, service_url=service_url, port_forward=port_forward,
              local_port=local_port, retry=retry, include_secret=include_secret, manifest=manifest,
              labels=[x for v in labels or [] for x in (v if isinstance(v, list) else [v])],
              annotations=[x for v in annotations or [] for x in (v if isinstance(v, list) else [v])],
              readiness_timeout=readiness_timeout)
    fn = validate(args[0], f)
    # virtctl opens the output file right after the flag checks, before the durations and the client
    out = vx.OutputFile.open(f.output) if fn == DOWNLOAD and f.output not in ("", "-") else None
    try:
        info = export_info(fn, args[1], f, "")
        s = session(ctx)
        info.namespace = s.namespace
        vx.check_names(info)
        if fn == DOWNLOAD and out is None:
            out = vx.OutputFile.open("")
        run(fn, info, s, out)
    except BaseException:
        if out is not None:
            out.discard()
        raise
    finally:
        if out is not None:
            out.close()
