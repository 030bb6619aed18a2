"""memory-dump get|download|remove VM (virtctl.md §2.15, the vmexport flow of §5).

get       optionally creates the PVC (sized from the VMI's memory + 100Mi + filesystem overhead),
          then asks virt-api to dump; with --output it continues as download.
download  waits for the dump to complete, exports the PVC through a VirtualMachineExport
          (token secret, HTTPS GET of the export link, export deleted afterwards) into --output;
          --format=raw decompresses the gzip stream. A progress bar is drawn on stderr only when
          stderr is a terminal.
remove    drops the association between the VM and the dump PVC.

virtctl's --port-forward download path (a SPDY port-forward to the exporter pod) is not
implemented: the flag is accepted for compatibility and rejected with a clear message.
"""

from __future__ import annotations

import base64
import math
import secrets
import string
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import IO, Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.errors import ApiError, CLIError
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube.paths import CDI, CORE, EXPORT, vm_path, vmi_path
from pyvirtctl.kube.quantity import format_quantity, parse_quantity
from pyvirtctl.kube.request import Request
from pyvirtctl.runtime import session

EXAMPLE = (
    "  #Dump memory of a virtual machine instance called 'myvm' to an existing pvc called 'memoryvolume'.\n"
    "  {{ProgramName}} memory-dump get myvm --claim-name=memoryvolume\n\n"
    "  #Create a PVC called 'memoryvolume' and dump the memory of a virtual machine instance called 'myvm' to "
    "it.\n  {{ProgramName}} memory-dump get myvm --claim-name=memoryvolume --create-claim\n\n"
    "  #Create and download memory dump to the given output file.\n"
    "  {{ProgramName}} memory-dump get myvm --claim-name=memoryvolume --create-claim "
    "--output=memoryDump.dump.gz\n\n"
    "  #Dump memory again to the same virtual machine with an already associated pvc(existing memory dump on vm "
    "status).\n  {{ProgramName}} memory-dump get myvm\n\n"
    "  #Download the last memory dump associated on the vm 'myvm' to the given output file.\n"
    "  {{ProgramName}} memory-dump download myvm --output=memoryDump.dump.gz\n\n"
    "  #Remove the association of the memory dump pvc (to be able to dump to another pvc).\n"
    "  {{ProgramName}} memory-dump remove myvm\n  "
)

FS_OVERHEAD_MSG = "Using default 5.5%% filesystem overhead for pvc size"  # virtctl prints the %% as is
DEFAULT_OVERHEAD = "0.055"
DUMP_OVERHEAD = 100 * 1024 * 1024
MIB = 1024 * 1024
POLL_INTERVAL = 2.0
DUMP_TIMEOUT = 600.0
EXPORT_TIMEOUT = 120.0
DOWNLOAD_RETRIES = 2
TOKEN_HEADER = "x-kubevirt-export-token"
PORT_FORWARD_UNSUPPORTED = (
    "--port-forward is not supported by pyvirtctl: download through the export's external link "
    "(configure an Ingress or Route for the export proxy)"
)

def pvc_size(memory: str | None, overhead: str) -> str:
    """The dump PVC size: (memory request + 100Mi) * (1 + overhead), rounded up to a whole MiB."""
    mem, fmt = parse_quantity(memory) if memory else (Fraction(0), "BinarySI")
    size = mem + DUMP_OVERHEAD
    try:
        oh = float(overhead)
    except ValueError:
        raise CLIError(
            f'failed to parse filesystem overhead as float: strconv.ParseFloat: parsing "{overhead}": invalid syntax'
        ) from None
    total = (1 + oh) * float(size)
    total = float(MIB) if total < MIB else math.ceil(total / MIB) * float(MIB)
    return format_quantity(int(total), fmt)


def cdi_overhead(cdi_config: dict, storage_class: str) -> str:
    """CDIConfig status.filesystemOverhead for the storage class (or the global value)."""
    fso = (cdi_config.get("status") or {}).get("filesystemOverhead")
    if fso is None:
        raise CLIError("CDI config not initialized")
    if storage_class:
        per_class = fso.get("storageClass") or {}
        if storage_class in per_class:
            return str(per_class[storage_class])
    return str(fso.get("global", ""))


# --------------------------------------------------------------------------- requests (pure)


def pvc_body(name: str, namespace: str, size: str, storage_class: str, access_mode: str) -> dict:
    if access_mode:
        if access_mode == "ReadOnlyMany":
            raise CLIError(
                "cannot dump memory to a readonly pvc, use either ReadWriteOnce or ReadWriteMany if supported"
            )
        if access_mode not in ("ReadWriteOnce", "ReadWriteMany"):
            raise CLIError("invalid access mode, use either ReadWriteOnce or ReadWriteMany if supported")
    spec: dict[str, Any] = {
        "accessModes": [access_mode or "ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "kind": "PersistentVolumeClaim",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": None,
            "labels": {"cdi.kubevirt.io/applyStorageProfile": "true"},
        },
        "spec": spec,
        "status": {},
    }


def memorydump_request(namespace: str, vm: str, claim: str) -> Request:
    return Request("PUT", vm_path(namespace, vm, "memorydump"), body={"claimName": claim, "phase": ""})


def remove_request(namespace: str, vm: str) -> Request:
    return Request("PUT", vm_path(namespace, vm, "removememorydump"))


def export_name(vm: str, claim: str) -> str:
    return f"export-{vm}-{claim}"


def export_path(namespace: str, name: str | None = None) -> str:
    base = f"{EXPORT}/namespaces/{namespace}/virtualmachineexports"
    return f"{base}/{name}" if name else base


def export_body(name: str, namespace: str, claim: str) -> dict:
    return {
        "kind": "VirtualMachineExport",
        "apiVersion": "export.kubevirt.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": {
            "source": {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": claim},
            "tokenSecretRef": f"secret-{name}",
        },
    }


def new_token(length: int = 20) -> str:
    alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
    return "".join(secrets.choice(alphabet) for _ in range(length))


def secret_body(export: dict, token: str) -> dict:
    md = export.get("metadata") or {}
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": f"secret-{md.get('name', '')}",
            "namespace": md.get("namespace", ""),
            "creationTimestamp": None,
            "ownerReferences": [
                {
                    "apiVersion": "export.kubevirt.io/v1",
                    "kind": "VirtualMachineExport",
                    "name": md.get("name", ""),
                    "uid": md.get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "data": {"token": base64.b64encode(token.encode()).decode()},
        "type": "Opaque",
    }


def export_delete_body() -> dict:
    return {"kind": "DeleteOptions", "apiVersion": "export.kubevirt.io/v1"}


def download_url(export: dict) -> tuple[str, str, bool]:
    """(url, cert, gzip) from the export's external link, picked the way virtctl picks it."""
    md = export.get("metadata") or {}
    where = f"'{md.get('namespace', '')}/{md.get('name', '')}'"
    links = ((export.get("status") or {}).get("links") or {}).get("external")
    volumes = (links or {}).get("volumes") or []
    if not volumes:
        raise CLIError(f"unable to access the volume info from {where} VirtualMachineExport")
    if len(volumes) > 1:
        raise CLIError(
            f"detected more than one downloadable volume in {where} VirtualMachineExport: "
            "Select the expected volume using the --volume flag"
        )
    url, chosen = "", ""
    for fmt in volumes[0].get("formats") or []:
        kind = fmt.get("format")
        if kind in ("gzip", "tar.gz", "raw"):
            url, chosen = fmt.get("url", ""), kind
        if kind in ("gzip", "tar.gz"):
            break
    if not url:
        raise CLIError(f"unable to get a valid URL from {where} VirtualMachineExport")
    return url, (links or {}).get("cert", ""), chosen != "raw"


# --------------------------------------------------------------------------- options / io


@dataclass
class DumpOptions:
    action: str
    vm: str
    claim_name: str = ""
    create_claim: bool = False
    port_forward: bool = False
    format: str = ""
    local_port: str = "0"
    storage_class: str = ""
    access_mode: str = ""
    output: str = ""


class Out:
    """virtctl's fmt.Print* lines (stdout) and the injectable clock for the polling loops."""

    def __init__(self, stream: IO[str] | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stdout
        self.sleep = sleep
        self.clock = clock

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


# --------------------------------------------------------------------------- get / remove


def _not_found(e: CLIError) -> bool:
    return isinstance(e, ApiError) and e.not_found


def create_claim(o: DumpOptions, s: Any, out: Out) -> None:
    ns = s.namespace
    vm = s.send(Request("GET", vm_path(ns, o.vm))).json()
    if ((vm or {}).get("status") or {}).get("memoryDumpRequest") is not None:
        raise CLIError("please remove current memory dump association before creating a new claim for a new memory dump")
    try:
        s.send(Request("GET", f"{CORE}/namespaces/{ns}/persistentvolumeclaims/{o.claim_name}"))
    except CLIError as e:
        if not _not_found(e):
            raise
    else:
        raise CLIError(f"PVC {ns}/{o.claim_name} already exists, check if it should be created if not remove create flag")
    vmi = s.send(Request("GET", vmi_path(ns, o.vm))).json()
    memory = (((((vmi or {}).get("spec") or {}).get("domain") or {}).get("resources") or {}).get("requests") or {}).get(
        "memory"
    )
    try:
        cdi = s.send(Request("GET", f"{CDI}/cdiconfigs/config")).json()
        overhead = cdi_overhead(cdi or {}, o.storage_class)
    except CLIError as e:
        if not _not_found(e):
            raise
        out.line(FS_OVERHEAD_MSG)
        overhead = DEFAULT_OVERHEAD
    size = pvc_size(str(memory) if memory is not None else None, overhead)
    body = pvc_body(o.claim_name, ns, size, o.storage_class, o.access_mode)
    s.send(
        Request("POST", f"{CORE}/namespaces/{ns}/persistentvolumeclaims", body=body, content_type="application/json")
    )
    out.line(f"PVC {ns}/{o.claim_name} created")


def run_get(o: DumpOptions, s: Any, out: Out) -> None:
    if o.create_claim:
        if not o.claim_name:
            raise CLIError("missing claim name")
        create_claim(o, s, out)
    s.send(memorydump_request(s.namespace, o.vm, o.claim_name), error_prefix="error dumping vm memory, ")
    out.line(f"Successfully submitted memory dump request of VM {o.vm}")
    if o.output:
        run_download(o, s, out)


def run_remove(o: DumpOptions, s: Any, out: Out) -> None:
    s.send(remove_request(s.namespace, o.vm), error_prefix="error removing memory dump association, ")
    out.line(f"Successfully submitted remove memory dump association of VM {o.vm}")


# --------------------------------------------------------------------------- download


def wait_for_dump(o: DumpOptions, s: Any, out: Out) -> str:
    deadline = out.clock() + DUMP_TIMEOUT
    while True:
        vm = s.send(Request("GET", vm_path(s.namespace, o.vm))).json()
        req = ((vm or {}).get("status") or {}).get("memoryDumpRequest")
        if req is not None:
            if req.get("phase") == "Completed":
                out.line("Memory dump completed successfully")
                return req.get("claimName") or ""
            # virtctl prints its still-empty claim variable here, hence the double space
            out.line(f"Waiting for memorydump  to complete, current phase: {req.get('phase', '')}...")
        if out.clock() >= deadline:
            raise CLIError("context deadline exceeded")
        out.sleep(POLL_INTERVAL)


def _get_export(s: Any, ns: str, name: str) -> dict | None:
    try:
        return s.send(Request("GET", export_path(ns, name))).json()
    except CLIError as e:
        if _not_found(e):
            return None
        raise


def create_export(s: Any, ns: str, name: str, claim: str, out: Out) -> bool:
    """Create the export and its token secret; False when it already existed (then it is kept)."""
    if _get_export(s, ns, name) is not None:
        return False
    created = s.send(
        Request("POST", export_path(ns), body=export_body(name, ns, claim), content_type="application/json")
    ).json()
    try:
        s.send(
            Request(
                "POST", f"{CORE}/namespaces/{ns}/secrets", body=secret_body(created, new_token()),
                content_type="application/json",
            )
        )
    except CLIError as e:
        if not (isinstance(e, ApiError) and e.status == 409):
            raise
    out.line(f"VirtualMachineExport '{ns}/{name}' created successfully")
    return True


def delete_export(s: Any, ns: str, name: str, out: Out) -> None:
    try:
        s.send(Request("DELETE", export_path(ns, name), body=export_delete_body(), content_type="application/json"))
    except CLIError as e:
        if _not_found(e):
            out.line(f"VirtualMachineExport '{ns}/{name}' does not exist")
        return  # virtctl defers this call and drops its error
    out.line(f"VirtualMachineExport '{ns}/{name}' deleted successfully")


def wait_for_export(s: Any, ns: str, name: str, out: Out) -> None:
    deadline = out.clock() + EXPORT_TIMEOUT
    while True:
        vme = _get_export(s, ns, name)
        if vme is None:
            out.line(f"couldn't get VM Export {name}, waiting for it to be created...")
        elif vme.get("status") is not None:
            st = vme["status"]
            if st.get("phase") != "Ready":
                out.line(f"waiting for VM Export {name} status to be ready...")
            elif not (st.get("links") or {}).get("external"):
                out.line(f"waiting for VM Export {name} external links to be available...")
            else:
                return
        if out.clock() >= deadline:
            raise CLIError("context deadline exceeded")
        out.sleep(POLL_INTERVAL)


def export_token(s: Any, ns: str, export: dict) -> str:
    ref = (export.get("status") or {}).get("tokenSecretRef") or ""
    secret = s.send(Request("GET", f"{CORE}/namespaces/{ns}/secrets/{ref}")).json()
    data = ((secret or {}).get("data") or {}).get("token", "")
    try:
        return base64.b64decode(data).decode()
    except ValueError:
        return ""


def http_get(s: Any, url: str, cert: str, token: str) -> Any:
    """GET the export link as a stream, verifying the server against the export's published CA (or the
    system's), through the session's proxy rule; no deadline (the download may take hours)."""
    transport = s.transport_for(ca_pem=cert)
    transport.max_idle = 0  # one download: its connection closes with the answer
    return transport.request("GET", url, headers=[(TOKEN_HEADER, token)], stream=True, decode=False)


_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def copy_body(resp: Any, dest: IO[bytes], decompress: bool, out: Out, progress: Any) -> None:
    """Stream the body into `dest`, gunzipping with --format=raw (a gzip stream may have members)."""
    if decompress:
        out.line("Decompressing image:")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if decompress else None
    for chunk in resp.iter_chunks(64 * 1024):
        progress(len(chunk))
        if inflater is None:
            dest.write(chunk)
            continue
        while chunk:
            dest.write(inflater.decompress(chunk))
            if inflater.eof:
                chunk = inflater.unused_data
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                chunk = b""
    if inflater is not None:
        try:
            dest.write(inflater.flush())
        except zlib.error as e:
            raise CLIError(f"gzip: {e}") from None


def _progress_bar(total: int | None) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A rich progress bar on stderr when it is a terminal; otherwise nothing is drawn."""
    if not sys.stderr.isatty():
        return (lambda n: None), (lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from pyvirtctl.output import use_colour

    console = Console(file=sys.stderr, no_color=not use_colour(sys.stderr))
    bar = Progress(
        TextColumn("Downloading file:"), BarColumn(), DownloadColumn(binary_units=True), TransferSpeedColumn(),
        console=console, transient=False,
    )
    task = bar.add_task("download", total=total)
    bar.start()
    return (lambda n: bar.advance(task, n)), bar.stop


def download_once(s: Any, ns: str, name: str, claim: str, o: DumpOptions, dest: IO[bytes], out: Out) -> bool:
    created = create_export(s, ns, name, claim, out)
    try:
        wait_for_export(s, ns, name, out)
        export = _get_export(s, ns, name)
        if export is None:
            raise CLIError(f"unable to get '{ns}/{name}' VirtualMachineExport")
        url, cert, gz = download_url(export)
        token = export_token(s, ns, export)
        resp = http_get(s, url, cert, token)
        try:
            if resp.status != 200:
                out.line(f"Bad status: {resp.status} {_REASONS.get(resp.status, resp.reason or '')}".rstrip())
                return False
            length = resp.headers.get("Content-Length")
            advance, stop = _progress_bar(int(length) if length and length.isdigit() else None)
            try:
                dest.seek(0)
                dest.truncate()
                copy_body(resp, dest, o.format == "raw" and gz, out, advance)
            finally:
                stop()
        finally:
            resp.close()
        out.line("Download finished successfully")
        return True
    finally:
        if created:
            delete_export(s, ns, name, out)


def run_download(o: DumpOptions, s: Any, out: Out) -> None:
    if not o.output:
        raise CLIError("missing outputFile to download the memory dump")
    if o.port_forward:
        raise CLIError(PORT_FORWARD_UNSUPPORTED)
    claim = wait_for_dump(o, s, out)
    if not claim:
        raise CLIError("claim name not on vm memory dump request")
    try:
        dest = open(o.output, "wb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise CLIError(f"open {o.output}: {(e.strerror or str(e)).lower()}") from None
    ns, name = s.namespace, export_name(o.vm, claim)
    with dest:
        for attempt in range(DOWNLOAD_RETRIES + 1):
            if download_once(s, ns, name, claim, o, dest, out):
                return
            if attempt < DOWNLOAD_RETRIES:
                out.line("Retrying...")
                out.sleep(2.0)
    raise CLIError("retry count reached, exiting unsuccessfully")


# --------------------------------------------------------------------------- command


def run_memory_dump(o: DumpOptions, s: Any, out: Out) -> None:
    if o.action == "get":
        run_get(o, s, out)
    elif o.action == "download":
        run_download(o, s, out)
    elif o.action == "remove":
        run_remove(o, s, out)
    else:
        raise CLIError(f"invalid action type {o.action}")


@go_command(
    "memory-dump",
    use="memory-dump get/download/remove (VM)",
    short="Dump the memory of a running VM to a pvc",
    example=EXAMPLE,
    args=exact_args(2),
)
def memory_dump_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_memory_dump_args)],
    claim_name: Annotated[str, typer.Option("--claim-name", help="pvc name to contain the memory dump")] = "",
    create_claim_flag: Annotated[
        bool, typer.Option("--create-claim", help="Create the pvc that will conatin the memory dump")
    ] = False,
    port_forward: Annotated[
        bool,
        typer.Option(
            "--port-forward", help="Configure and set port-forward in a random port to download the memory dump"
        ),
    ] = False,
    format: Annotated[  # noqa: A002 - the flag's name
        str, typer.Option("--format", autocompletion=comp.complete_dump_formats, help="Specifies the format of the memory dump download (gzipped or raw).")
    ] = "",
    local_port: Annotated[str, typer.Option("--local-port", help="Specify port for port-forward")] = "0",
    storage_class: Annotated[str, typer.Option("--storage-class", help="The storage class for the PVC.")] = "",
    access_mode: Annotated[str, typer.Option("--access-mode", autocompletion=comp.complete_access_modes, help="The access mode for the PVC.")] = "",
    output: Annotated[
        str, typer.Option("--output", help="Specifies the output path of the memory dump to be downloaded.")
    ] = "",
) -> None:
    s = session(ctx, error_prefix="cannot obtain KubeVirt client: ")
    o = DumpOptions(
        names[0], names[1], claim_name=claim_name, create_claim=create_claim_flag, port_forward=port_forward,
        format=format, local_port=local_port, storage_class=storage_class, access_mode=access_mode, output=output,
    )
    run_memory_dump(o, s, Out())
