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
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.errors import ApiError, CLIError, prefixed
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube import paths
from pyvirtctl.kubevirt.export import (
    TOKEN_HEADER,
    download_url,
    export_create_request,
    export_delete_request,
    export_get_request,
    export_name,
    new_token,
    secret_create_request,
    secret_get_request,
)
from pyvirtctl.kubevirt.memorydump import DEFAULT_OVERHEAD, cdi_overhead, pvc_body, pvc_size
from pyvirtctl.kubevirt.requests import (
    cdiconfig_request,
    create_request,
    memorydump_request,
    pvc_request,
    remove_memorydump_request,
    vm_get_request,
    vmi_get_request,
)
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
POLL_INTERVAL = 2.0
DUMP_TIMEOUT = 600.0
EXPORT_TIMEOUT = 120.0
DOWNLOAD_RETRIES = 2
PORT_FORWARD_UNSUPPORTED = (
    "--port-forward is not supported by pyvirtctl: download through the export's external link "
    "(configure an Ingress or Route for the export proxy)"
)

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
    vm = s.send(vm_get_request(ns, o.vm)).json()
    if ((vm or {}).get("status") or {}).get("memoryDumpRequest") is not None:
        raise CLIError("please remove current memory dump association before creating a new claim for a new memory dump")
    try:
        s.send(pvc_request(ns, o.claim_name))
    except CLIError as e:
        if not _not_found(e):
            raise
    else:
        raise CLIError(f"PVC {ns}/{o.claim_name} already exists, check if it should be created if not remove create flag")
    vmi = s.send(vmi_get_request(ns, o.vm)).json()
    memory = (((((vmi or {}).get("spec") or {}).get("domain") or {}).get("resources") or {}).get("requests") or {}).get(
        "memory"
    )
    try:
        cdi = s.send(cdiconfig_request()).json()
        overhead = cdi_overhead(cdi or {}, o.storage_class)
    except CLIError as e:
        if not _not_found(e):
            raise
        out.line(FS_OVERHEAD_MSG)
        overhead = DEFAULT_OVERHEAD
    size = pvc_size(str(memory) if memory is not None else None, overhead)
    body = pvc_body(o.claim_name, ns, size, o.storage_class, o.access_mode)
    s.send(create_request(paths.PVCS, ns, body))
    out.line(f"PVC {ns}/{o.claim_name} created")


def check_names(o: DumpOptions, namespace: str) -> None:
    """Every name that will be part of a URL, checked before the first request (client-go's texts)."""
    if o.action == "get":
        if o.create_claim:
            if not o.claim_name:
                return  # run_get reports the missing claim name first
            vm_get_request(namespace, o.vm)  # create_claim's first requests (virtctl adds no prefix)
            pvc_request(namespace, o.claim_name)
        with prefixed("error dumping vm memory, "):
            memorydump_request(namespace, o.vm, o.claim_name)
    elif o.action == "remove":
        with prefixed("error removing memory dump association, "):
            remove_memorydump_request(namespace, o.vm)
    elif o.action == "download" and o.output and not o.port_forward:
        vm_get_request(namespace, o.vm)


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
    s.send(remove_memorydump_request(s.namespace, o.vm), error_prefix="error removing memory dump association, ")
    out.line(f"Successfully submitted remove memory dump association of VM {o.vm}")


# --------------------------------------------------------------------------- download


def wait_for_dump(o: DumpOptions, s: Any, out: Out) -> str:
    deadline = out.clock() + DUMP_TIMEOUT
    while True:
        vm = s.send(vm_get_request(s.namespace, o.vm)).json()
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
        return s.send(export_get_request(ns, name)).json()
    except CLIError as e:
        if _not_found(e):
            return None
        raise


def create_export(s: Any, ns: str, name: str, claim: str, out: Out) -> bool:
    """Create the export and its token secret; False when it already existed (then it is kept)."""
    if _get_export(s, ns, name) is not None:
        return False
    created = s.send(export_create_request(ns, name, claim)).json()
    try:
        s.send(secret_create_request(ns, created, new_token()))
    except CLIError as e:
        if not (isinstance(e, ApiError) and e.status == 409):
            raise
    out.line(f"VirtualMachineExport '{ns}/{name}' created successfully")
    return True


def delete_export(s: Any, ns: str, name: str, out: Out) -> None:
    try:
        s.send(export_delete_request(ns, name))
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
    secret = s.send(secret_get_request(ns, ref)).json()
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
    check_names(o, s.namespace)
    run_memory_dump(o, s, Out())
