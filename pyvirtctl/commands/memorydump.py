"""memory-dump get|download|remove VM (virtctl.md §2.15, the vmexport flow of §5).

get       optionally creates the PVC (sized from the VMI's memory + 100Mi + filesystem overhead),
          then asks virt-api to dump; with --output it continues as download.
download  waits for the dump to complete, then downloads the PVC with the vmexport flow of
          `pyvirtctl.kubevirt.export` (export `export-<vm>-<claim>` and its token secret, HTTPS GET
          of the export link - or of the exporter pod through --port-forward -, export deleted
          afterwards) into --output; --format=raw decompresses the gzip stream. A progress bar is
          drawn on stderr only when stderr is a terminal.
remove    drops the association between the VM and the dump PVC.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.errors import ApiError, CLIError, prefixed
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kube import paths
from pyvirtctl.kubevirt import export as vx
from pyvirtctl.kubevirt.memorydump import DEFAULT_OVERHEAD, cdi_overhead, dump_export_info, pvc_body, pvc_size
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
    elif o.action == "download" and o.output:
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


def run_download(o: DumpOptions, s: Any, out: Out) -> None:
    """virtctl's downloadMemoryDump: wait for the dump, then the vmexport download of its claim
    (`export-<vm>-<claim>`, created and deleted here, 2 retries) through `pyvirtctl.kubevirt.export`."""
    if not o.output:
        raise CLIError("missing outputFile to download the memory dump")
    claim = wait_for_dump(o, s, out)
    if not claim:
        raise CLIError("claim name not on vm memory dump request")
    info = dump_export_info(o.vm, claim, s.namespace, o.output, raw=o.format == "raw",
                            port_forward=o.port_forward, local_port=o.local_port)
    vx.check_names(info)
    dest = vx.OutputFile.open(o.output)
    with dest:
        exporter = vx.Exporter(s, info, notify=out.line, log=sys.stderr, progress=_progress, sleep=out.sleep,
                               clock=out.clock)
        exporter.download(dest)


def _progress(total: int | None) -> Any:
    from pyvirtctl.output import progress_bar

    return progress_bar(total, sys.stderr)


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
