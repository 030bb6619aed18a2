"""VirtualMachineExport: export a VM's, a snapshot's or a PVC's volumes and manifests (virtctl's vmexport).

The Python API behind `vmexport create|delete|download` and `memory-dump download`; usable without
the CLI:

    from pyvirtctl.kube.session import Session
    from pyvirtctl.kubevirt.export import ExportInfo, Exporter, Source, OutputFile

    s = Session.from_flags(flags)
    info = ExportInfo(name="e1", namespace="default", source=Source.pvc("disk1"), should_create=True,
                      output="disk.img.gz")
    with OutputFile.open(info.output) as out:
        Exporter(s, info, notify=print).download(out)

What it sends, in virtctl's order (virtctl.md §5):

* create: GET the export (it must not exist), POST it (`export.kubevirt.io/v1`, `tokenSecretRef:
  secret-<name>`, labels, annotations, `ttlDuration`), POST the token Secret `secret-<name>` (20
  random letters and digits, owned by the export; an existing one is kept);
* download: with a source, create first (an export that already exists is kept afterwards); with
  `port_forward`, wait for the export's Service, list its pods and forward a local port to the pod's
  8443 (`pyvirtctl.streams.podforward`); wait for `phase: Ready` and the link (GET every 2 s up to
  `readiness_timeout`); GET the export, GET the token Secret, then GET the volume's URL (or the
  manifest URLs) with the `x-kubevirt-export-token` header. The link is `status.links.external`, or
  `.internal` with a service URL (`--service-url`, or 127.0.0.1:<port> when port-forwarding) whose
  host then replaces the URL's. The format is gzip (`gzip` or `tar.gz`) when the server offers it,
  else `raw`; `decompress` gunzips while writing. A non-200 answer prints `Bad status: <status>` and
  the download is tried again (`retries` times); after the last try: `retry count reached, exiting
  unsuccessfully`. The export is deleted afterwards when it was created here (unless `keep_vme`) or
  when `delete_vme` says so; never after a manifest download.

Differences from virtctl (README "Differences from virtctl"): TLS is verified (against the link's
`cert`, and for the internal link against the exporter's service name) unless `insecure`; a body cut
mid-way is retried like a bad status when retries are left (virtctl gives up at once); a retried
download starts the file again; a download that fails removes the partial file; memory stays flat
(the body streams through a bounded gunzip).
"""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from pyvirtctl.errors import ApiError, CLIError, InputError, TransportError
from pyvirtctl.kube import paths
from pyvirtctl.kube.flags import format_go_duration
from pyvirtctl.kube.request import Request
from pyvirtctl.kubevirt.requests import create_request, delete_request, list_request
from pyvirtctl.kubevirt.waiting import poll_until

TOKEN_HEADER = "x-kubevirt-export-token"
API_VERSION = "export.kubevirt.io/v1"
GZIP, RAW, OCI = "gzip", "raw", "oci"
ARCHIVE_GZ, DIR = "tar.gz", "dir"
YAML, JSON = "yaml", "json"
ALL_MANIFESTS, AUTH_HEADER, OCI_MANIFEST = "all", "auth-header-secret", "oci"
POLL_INTERVAL = 2.0  # virtctl's processingWaitInterval
DEFAULT_READINESS_TIMEOUT = 120.0  # virtctl's DefaultProcessingWaitTotal
RETRY_PAUSE = 2.0
PORT_FORWARD_READY_TIMEOUT = 30.0
EXPORT_PORT = 443  # the exporter Service's port
CHUNK = 256 * 1024  # the download buffer, filled record by record (TLS hands out 16 KiB) and reused
WRITE_SLICE = 32 * 1024  # bytes per write(2), as Go's io.Copy: on Linux 6.x a larger write makes ext4 take a
# larger page-cache folio, served from the buddy allocator instead of the per-CPU lists of recently freed pages;
# on a VM whose free memory goes back to the host (virtio-balloon free page reporting) those pages must be
# faulted in again, and a 1 GiB download then spends 1-3 s more in the kernel in one run out of two (measured:
# 32 KiB writes 0.39-0.62 s of system time per GiB in 8 runs out of 8; 64 KiB 0.46-3.53 s; 256 KiB 0.31-3.46 s)
INFLATE_CAP = 32 * 1024  # gunzipped output per step: flat memory for any ratio. Larger steps made zlib build its
# output from several blocks joined into one (a second copy) and, once the heap was fragmented, made glibc grow
# and trim it around every step: 300,000 page faults per GiB with 256 KiB steps, 4,300 with 32 or 64 KiB

ERR_EXISTS = "VirtualMachineExport '{ns}/{name}' already exists"

_REASONS = {200: "OK", 206: "Partial Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 416: "Requested Range Not Satisfiable", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class Source(NamedTuple):
    """What an export exports (spec.source: a TypedLocalObjectReference)."""

    kind: str
    name: str
    api_group: str

    @classmethod
    def vm(cls, name: str) -> Source:
        return cls("VirtualMachine", name, "kubevirt.io")

    @classmethod
    def snapshot(cls, name: str) -> Source:
        return cls("VirtualMachineSnapshot", name, "snapshot.kubevirt.io")

    @classmethod
    def pvc(cls, name: str) -> Source:
        return cls("PersistentVolumeClaim", name, "")

    @classmethod
    def vmtemplate(cls, name: str) -> Source:
        return cls("VirtualMachineTemplate", name, "template.kubevirt.io")


@dataclass
class ExportInfo:
    """One vmexport run (virtctl's VMExportInfo). Durations are seconds."""

    name: str
    namespace: str
    source: Source | None = None
    should_create: bool = False
    insecure: bool = False
    keep_vme: bool = False
    delete_vme: bool = False
    include_secret: bool = False
    manifest: bool = False
    decompress: bool = False
    port_forward: bool = False
    local_port: str = "0"
    output: str = ""  # a file, or "" / "-" for stdout
    volume: str = ""
    manifest_format: str = ""  # yaml (default) or json
    service_url: str = ""
    format: str = ""  # gzip, raw or oci (oci: the OCI archive of a VM export)
    ttl: float | None = None
    retries: int = 0
    readiness_timeout: float = DEFAULT_READINESS_TIMEOUT
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def to_stdout(self) -> bool:
        return self.output in ("", "-")


class ExportExists(CLIError):
    pass


# --------------------------------------------------------------------------- pure builders


def secret_name(export: str) -> str:
    return f"secret-{export}"


def labels_map(items: list[str], flag: str = "--labels") -> dict[str, str]:
    """`k=v` entries (split at the first `=`) as a map. An entry without `=` or without a key is refused
    (virtctl drops it silently, so a typo loses a label without a word)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f'invalid {flag} entry "{item}": expected key=value')
        out[key] = value
    return out


def export_body(info: ExportInfo) -> dict[str, Any]:
    """The VirtualMachineExport virtctl posts (Go's field order; empty maps left out)."""
    md: dict[str, Any] = {"name": info.name, "namespace": info.namespace}
    if info.labels:
        md["labels"] = dict(info.labels)
    if info.annotations:
        md["annotations"] = dict(info.annotations)
    src = info.source or Source("", "", "")
    spec: dict[str, Any] = {"source": {"apiGroup": src.api_group, "kind": src.kind, "name": src.name},
                            "tokenSecretRef": secret_name(info.name)}
    if info.ttl is not None and info.ttl > 0:
        spec["ttlDuration"] = format_go_duration(info.ttl)
    return {"kind": "VirtualMachineExport", "apiVersion": API_VERSION, "metadata": md, "spec": spec}


def new_token(length: int = 20) -> str:
    """A random token of letters and digits, as KubeVirt's GenerateVMExportToken makes."""
    import secrets  # noqa: PLC0415 - only when an export is created (random and hashlib come with it)
    import string  # noqa: PLC0415

    alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
    return "".join(secrets.choice(alphabet) for _ in range(length))


def secret_body(export: dict[str, Any], token: str) -> dict[str, Any]:
    md = export.get("metadata") or {}
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": secret_name(md.get("name", "")),
            "namespace": md.get("namespace", ""),
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
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


def export_get_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.VMEXPORTS, namespace, name))


def export_create_request(info: ExportInfo) -> Request:
    return create_request(paths.VMEXPORTS, info.namespace, export_body(info))


def export_delete_request(namespace: str, name: str) -> Request:
    return delete_request(paths.VMEXPORTS, namespace, name, {"kind": "DeleteOptions", "apiVersion": API_VERSION})


def secret_create_request(namespace: str, export: dict[str, Any], token: str) -> Request:
    return create_request(paths.SECRETS, namespace, secret_body(export, token))


def secret_get_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.SECRETS, namespace, name))


def service_get_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.SERVICES, namespace, name))


def pods_list_request(namespace: str, selector: dict[str, str]) -> Request:
    """The pods a Service selects (labels.SelectorFromSet: `k=v` pairs sorted by key)."""
    return list_request(paths.PODS, namespace, selector=",".join(f"{k}={selector[k]}" for k in sorted(selector)))


def check_names(info: ExportInfo) -> None:
    """Every name that goes into a URL, checked before the first request (client-go's texts)."""
    export_get_request(info.namespace, info.name)
    if info.should_create:
        secret_get_request(info.namespace, secret_name(info.name))


def _where(export: dict[str, Any]) -> str:
    md = export.get("metadata") or {}
    return f"'{md.get('namespace', '')}/{md.get('name', '')}'"


def _links(export: dict[str, Any]) -> dict[str, Any]:
    return ((export.get("status") or {}).get("links")) or {}


def with_host(url: str, host: str) -> str:
    """The URL with its host:port replaced (virtctl's `manUrl.Host = serviceURL`)."""
    if not host:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def volume_url(export: dict[str, Any], info: ExportInfo) -> tuple[str, bool]:
    """(download URL, gunzip it) from the export's status, chosen as virtctl's GetUrlFromVirtualMachineExport.

    The external link unless a service URL is set, else the internal one; the volume named by
    `info.volume` (or the only one); its last gzip/tar.gz format, else its last raw one.
    """
    links = _links(export)
    link = links.get("external") if not info.service_url and links.get("external") else links.get("internal")
    volumes = (link or {}).get("volumes") or []
    if not volumes:
        raise CLIError(f"unable to access the volume info from {_where(export)} VirtualMachineExport")
    if len(volumes) > 1 and not info.volume:
        raise CLIError(f"detected more than one downloadable volume in {_where(export)} VirtualMachineExport: "
                       "Select the expected volume using the --volume flag")
    url, last = "", ""
    for vol in volumes:
        if len(volumes) != 1 and vol.get("name") != info.volume:
            continue
        for fmt in vol.get("formats") or []:
            last = fmt.get("format", "")
            if last in (GZIP, ARCHIVE_GZ, RAW):
                url = with_host(fmt.get("url", ""), info.service_url)
            if last in (GZIP, ARCHIVE_GZ):
                break
    if not url:
        raise CLIError(f"unable to get a valid URL from {_where(export)} VirtualMachineExport")
    return url, info.decompress and last != RAW


def manifest_urls(export: dict[str, Any], info: ExportInfo) -> dict[str, str]:
    """type -> URL of the export's manifests (external link, or internal with the service URL's host)."""
    link = _links(export).get("internal" if info.service_url else "external") or {}
    manifests = link.get("manifests") or []
    if not manifests:
        raise CLIError(f"unable to access the manifest info from {_where(export)} VirtualMachineExport")
    return {m.get("type", ""): with_host(m.get("url", ""), info.service_url) for m in manifests}


def link_cert(export: dict[str, Any], info: ExportInfo) -> str:
    link = _links(export).get("internal" if info.service_url else "external") or {}
    return str(link.get("cert") or "")


def internal_host(export: dict[str, Any]) -> str:
    """The exporter Service's name in the internal link (what its certificate is made for)."""
    link = _links(export).get("internal") or {}
    for vol in link.get("volumes") or []:
        for fmt in vol.get("formats") or []:
            if fmt.get("url"):
                return urlsplit(fmt["url"]).hostname or ""
    for man in link.get("manifests") or []:
        if man.get("url"):
            return urlsplit(man["url"]).hostname or ""
    return ""


def should_delete(info: ExportInfo) -> bool:
    """virtctl's shouldDeleteVMExport: never after a manifest; always with delete_vme; else if created here."""
    return not info.manifest and (info.delete_vme or (info.should_create and not info.keep_vme))


def target_port(service: dict[str, Any], pod: dict[str, Any], port: int = EXPORT_PORT) -> int:
    """The pod port behind a Service port (kubectl's LookupContainerPortNumberByServicePort)."""
    spec = service.get("spec") or {}
    svc_name = (service.get("metadata") or {}).get("name", "")
    for p in spec.get("ports") or []:
        if p.get("port") != port:
            continue
        if spec.get("clusterIP") == "None":
            return port
        target = p.get("targetPort")
        if target in (None, 0, ""):
            return int(p.get("port") or port)
        if isinstance(target, int):
            return target
        if isinstance(target, str) and target.isdigit():
            return int(target)
        for c in (pod.get("spec") or {}).get("containers") or []:
            for cp in c.get("ports") or []:
                if cp.get("name") == target:
                    return int(cp.get("containerPort") or 0)
        raise CLIError(f"Pod '{(pod.get('metadata') or {}).get('name', '')}' does not have a named port '{target}'")
    raise CLIError(f"Service {svc_name} does not have a service port {port}")


def status_text(status: int, reason: str) -> str:
    """Go's resp.Status: the code and the server's reason phrase."""
    return f"{status} {reason or _REASONS.get(status, '')}".rstrip()


# --------------------------------------------------------------------------- the output file


def _size(stream: IO[bytes]) -> int:
    import os

    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, ValueError):
        return 1  # unknown: empty it


class OutputFile:
    """Where a download goes: a file or stdout.

    `open()` checks the path the way virtctl's os.Create does, before anything is sent (the same
    `open PATH: ...` errors), but without emptying an existing file: `restart()` empties it when the
    first byte of a download arrives (and again for a retry). `discard()` removes what a failure left:
    a partial file, or a file this run created and never wrote.
    """

    def __init__(self, stream: IO[bytes], path: str = "", regular: bool = False, created: bool = False) -> None:
        self.stream = stream
        self.path = path
        self.regular = regular
        self.created = created  # the file did not exist before this run
        self.written = 0
        self.started = False

    @classmethod
    def open(cls, output: str) -> OutputFile:
        if output in ("", "-"):
            return cls(sys.stdout.buffer)
        import os
        import stat

        existed = os.path.lexists(output)
        try:
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as e:
            raise InputError(f"open {output}: {_os_words(e)}") from None
        try:
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except OSError:
            regular = False
        return cls(os.fdopen(fd, "wb"), output, regular, created=not existed)

    def write(self, data: bytes | memoryview) -> None:
        if not self.started:
            self.restart()
        size = len(data)
        if size <= WRITE_SLICE:
            self.stream.write(data)
        else:
            view = memoryview(data)
            for i in range(0, size, WRITE_SLICE):
                self.stream.write(view[i : i + WRITE_SLICE])
        self.written += size

    def restart(self) -> None:
        """Empty the file (a download's first byte, or a retry)."""
        self.started = True
        if self.regular:
            self.stream.seek(0)
            # an empty file is left alone: after a truncate to size 0, ext4 writes every dirty page back
            # when the file is closed (its replace-via-truncate guard), ~0.5 s per GiB at exit
            if self.written or _size(self.stream) > 0:
                self.stream.truncate()
            self.written = 0

    def discard(self) -> None:
        """After a failure: remove a regular file that holds a partial download or that this run made."""
        if not self.path or not self.regular or not (self.started or self.created):
            return
        import os

        try:
            self.stream.close()
            os.unlink(self.path)
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.stream.close() if self.path else self.stream.flush()
        except (OSError, ValueError):
            pass

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _os_words(e: OSError) -> str:
    """Go's syscall text: lower case strerror (`no such file or directory`, `is a directory`)."""
    return (e.strerror or str(e)).lower()


# --------------------------------------------------------------------------- the flow


Progress = Callable[[int | None], tuple[Callable[[int], None], Callable[[], None]]]


def _no_progress(total: int | None) -> tuple[Callable[[int], None], Callable[[], None]]:
    return (lambda n: None), (lambda: None)


class _BodyCut(Exception):
    """The answer's body ended early (connection cut): a transient failure."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Exporter:
    """Runs create / delete / download for one ExportInfo against a Session.

    `notify(line)` gets virtctl's progress lines (`VirtualMachineExport 'ns/n' created successfully`,
    `waiting for ...`, `Bad status: ...`); `log` the port-forwarder's lines (virtctl: stderr);
    `progress(total)` returns (advance(n), stop()) for a progress display; `sleep`/`clock` may be
    replaced in tests.
    """

    def __init__(self, session: Any, info: ExportInfo, notify: Callable[[str], None] = print,
                 log: IO[str] | None = None, progress: Progress = _no_progress,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.s = session
        self.info = info
        self.notify = notify
        self.log = log
        self.progress = progress
        self.sleep = sleep
        self.clock = clock
        self._server_name = ""  # TLS name to verify instead of the URL's host (internal link)

    # ---- API objects

    def get(self) -> dict[str, Any] | None:
        try:
            return self.s.send(export_get_request(self.info.namespace, self.info.name)).json()
        except ApiError as e:
            if e.not_found:
                return None
            raise

    def create(self) -> dict[str, Any]:
        """CreateVirtualMachineExport: refuses an existing export, posts it and its token Secret."""
        info = self.info
        if self.get() is not None:
            raise ExportExists(ERR_EXISTS.format(ns=info.namespace, name=info.name))
        created = self.s.send(export_create_request(info)).json() or {}
        try:
            self.s.send(secret_create_request(info.namespace, created, new_token()))
        except ApiError as e:
            if e.status != 409:
                raise
        self.notify(f"VirtualMachineExport '{info.namespace}/{info.name}' created successfully")
        return created

    def delete(self) -> bool:
        """DeleteVirtualMachineExport; False when there was nothing to delete."""
        info = self.info
        try:
            self.s.send(export_delete_request(info.namespace, info.name))
        except ApiError as e:
            if not e.not_found:
                raise
            self.notify(f"VirtualMachineExport '{info.namespace}/{info.name}' does not exist")
            return False
        self.notify(f"VirtualMachineExport '{info.namespace}/{info.name}' deleted successfully")
        return True

    def token(self, export: dict[str, Any]) -> str:
        ref = (export.get("status") or {}).get("tokenSecretRef") or ""
        secret = self.s.send(secret_get_request(self.info.namespace, ref)).json() or {}
        data = (secret.get("data") or {}).get("token", "")
        try:
            return base64.b64decode(data).decode()
        except ValueError:
            return ""

    # ---- waiting

    def _poll(self, timeout: float, condition: Callable[[], bool]) -> None:
        poll_until(timeout, POLL_INTERVAL, condition, self.clock, self.sleep)

    def wait_ready(self) -> None:
        """WaitForVirtualMachineExport: Ready, and the link the download will use."""
        info = self.info

        def ready() -> bool:
            vme = self.get()
            if vme is None:
                self.notify(f"couldn't get VM Export {info.name}, waiting for it to be created...")
                return False
            st = vme.get("status")
            if st is None:
                return False
            if st.get("phase") != "Ready":
                self.notify(f"waiting for VM Export {info.name} status to be ready...")
                return False
            kind = "internal" if info.service_url else "external"
            if not (st.get("links") or {}).get(kind):
                self.notify(f"waiting for VM Export {info.name} {kind} links to be available...")
                return False
            return True

        self._poll(info.readiness_timeout, ready)

    # ---- port-forward

    def _wait_service(self) -> dict[str, Any]:
        info = self.info
        found: dict[str, Any] = {}

        def ready() -> bool:
            vme = self.get()
            if vme is None:
                return False
            st = vme.get("status") or {}
            if vme.get("status") is None or st.get("phase") != "Ready":
                self.notify(f"waiting for VM Export {info.name} status to be ready...")
                return False
            svc_name = st.get("serviceName") or ""
            if not svc_name:
                self.notify(f"waiting for VM Export {info.name} service name to be set...")
                return False
            try:
                svc = self.s.send(service_get_request(info.namespace, svc_name)).json() or {}
            except ApiError as e:
                if e.not_found:
                    self.notify(f"waiting for service {svc_name} to be ready before port-forwarding...")
                    return False
                raise
            found.update(svc)
            self.notify(f"service {(svc.get('metadata') or {}).get('name', svc_name)} is ready for port-forwarding")
            return True

        self._poll(info.readiness_timeout, ready)
        return found

    def port_forward(self) -> Any:
        """setupPortForward: the exporter pod's port on a local one; sets the service URL to it."""
        from pyvirtctl.streams.podforward import PodForwarder

        info = self.info
        service = self._wait_service()
        selector = (service.get("spec") or {}).get("selector") or {}
        try:
            pods = (self.s.send(pods_list_request(info.namespace, selector)).json() or {}).get("items") or []
        except CLIError as e:
            raise CLIError(f"failed to list pods: {e}") from None
        if not pods:
            raise CLIError(f"no pods found for the service {(service.get('metadata') or {}).get('name', '')}")
        pod = pods[0]
        remote = target_port(service, pod)
        if not info.local_port.isdigit() or int(info.local_port) > 65535:  # memory-dump does not check it
            raise CLIError(f"Failed to setup port forward: Error parsing local port '{info.local_port}': "
                           f'strconv.ParseUint: parsing "{info.local_port}": '
                           + ("value out of range" if info.local_port.isdigit() else "invalid syntax"))
        local = int(info.local_port)
        forwarder = PodForwarder(self.s, info.namespace, (pod.get("metadata") or {}).get("name", ""), local, remote,
                                 self.log)
        port = forwarder.start()
        self.notify("Port forwarding is ready.")
        if info.local_port == "0":
            info.service_url = f"127.0.0.1:{port}"
        return forwarder

    # ---- download

    def download(self, out: OutputFile) -> None:
        """DownloadVirtualMachineExport: up to 1 + retries attempts; a failure removes a partial file."""
        info = self.info
        try:
            for attempt in range(info.retries + 1):
                if self._attempt(out, last=attempt >= info.retries):
                    return
                if attempt < info.retries:
                    self.notify("Retrying...")
                    self.sleep(RETRY_PAUSE)
            raise CLIError("retry count reached, exiting unsuccessfully")
        except BaseException:
            out.discard()
            raise

    def _attempt(self, out: OutputFile, last: bool) -> bool:
        info = self.info
        if info.should_create:
            try:
                self.create()
            except ExportExists:
                info.keep_vme = True  # an export that was already there is not ours to delete
        forwarder = None
        try:
            if info.port_forward:
                forwarder = self.port_forward()
            self.wait_ready()
            export = self.get()
            if export is None:
                raise CLIError(f"unable to get '{info.namespace}/{info.name}' VirtualMachineExport")
            if info.service_url:
                self._server_name = internal_host(export)
            if info.manifest:
                return self._manifests(export, out)
            return self._volume(export, out, last)
        finally:
            if forwarder is not None:
                forwarder.close()
            if should_delete(info):
                try:
                    self.delete()
                except CLIError:
                    pass  # virtctl defers the delete and drops its error

    def _get(self, export: dict[str, Any], url: str, headers: list[tuple[str, str]]) -> Any:
        """HandleHTTPGetRequest: the token from the Secret, then GET `url` verified against the link's CA."""
        token = self.token(export)
        transport = self.s.transport_for(ca_pem=link_cert(export, self.info), insecure=self.info.insecure)
        if self._server_name and not self.info.insecure:
            transport.server_hostname = self._server_name
        transport.max_idle = 0  # one request per transport, as virtctl makes a client per request
        return transport.request("GET", url, headers=[*headers, (TOKEN_HEADER, token)], stream=True, decode=False)

    def _manifests(self, export: dict[str, Any], out: OutputFile) -> bool:
        urls = manifest_urls(export, self.info)
        if out.started:
            out.restart()  # a retry writes the manifests again from the start (a file; stdout cannot)
        accept = "application/json" if self.info.manifest_format.lower() == JSON else "application/yaml"
        kinds = [ALL_MANIFESTS] + ([AUTH_HEADER] if self.info.include_secret else [])
        for kind in kinds:
            resp = self._get(export, urls.get(kind, ""), [("Accept", accept)])
            try:
                if resp.status != 200:
                    self.notify(f"Bad status: {status_text(resp.status, resp.reason)}")
                    return False
                for chunk in resp.iter_chunks(64 * 1024):
                    out.write(chunk)
            except TransportError as e:
                raise CLIError(getattr(e, "reason", "") or str(e)) from None
            finally:
                resp.close()
        out.stream.flush()
        return True

    def _volume(self, export: dict[str, Any], out: OutputFile, last: bool) -> bool:
        info = self.info
        if info.format == OCI:
            kind = ((export.get("spec") or {}).get("source") or {}).get("kind", "")
            if kind not in ("VirtualMachine", "VirtualMachineSnapshot", "VirtualMachineTemplate"):
                raise CLIError(f'OCI export is not supported for "{kind}" sources')
            oci = manifest_urls(export, info).get(OCI_MANIFEST)
            if not oci:
                raise CLIError(f"OCI export format not available for '{info.namespace}/{info.name}'")
            url, decompress = oci, False
        else:
            url, decompress = volume_url(export, info)
        try:
            resp = self._get(export, url, [])
        except TransportError as e:
            if last or not info.retries:
                raise
            self.notify(str(e))
            return False
        try:
            if resp.status != 200:
                self.notify(f"Bad status: {status_text(resp.status, resp.reason)}")
                return False
            if out.started:
                out.restart()  # a retry starts the file again
            length = resp.headers.get("Content-Length")
            advance, stop = self.progress(int(length) if length and length.isdigit() else None)
            try:
                self._copy(resp, out, decompress, advance)
            except _BodyCut as cut:
                if last or not info.retries:
                    raise CLIError(cut.reason) from None
                self.notify(cut.reason)
                return False
            finally:
                stop()
        finally:
            resp.close()
        out.stream.flush()
        self.notify("Download finished successfully")
        return True

    def _copy(self, resp: Any, out: OutputFile, decompress: bool, advance: Callable[[int], None]) -> None:
        """Stream the body into `out` through one reused buffer; gunzip it (every member, bounded
        output per step) when asked. Memory stays flat whatever the size or the compression ratio."""
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        gunzip = Gunzip(out.write) if decompress else None
        try:
            while n := resp.readinto(view):
                advance(n)
                if gunzip is None:
                    out.write(view[:n])
                    continue
                started = gunzip.started
                gunzip.feed(view[:n])
                if not started:
                    self.notify("Decompressing image:")
        except TransportError as e:
            raise _BodyCut(getattr(e, "reason", "") or str(e)) from None
        except OSError as e:
            raise CLIError(f"write {out.path or '/dev/stdout'}: {_os_words(e)}") from None
        if gunzip is not None:
            if not gunzip.started:
                raise CLIError("EOF")  # gzip.NewReader on an empty body
            if gunzip.inside:
                raise _BodyCut("unexpected EOF")


def inflate_module() -> Any:
    """zlib-ng's zlib-compatible module where it is installed, else the standard zlib. Same API, same
    stream format and error texts; zlib-ng's inflate and CRC-32 use the CPU's vector and carry-less
    multiply instructions: gunzipping a 1 GiB volume of incompressible data took 0.13 s of CPU here
    against the standard zlib's 0.31 s (Go's gzip.Reader: ~0.1 s), and long runs of zeros inflate
    faster still."""
    try:
        from zlib_ng import zlib_ng  # noqa: PLC0415

        return zlib_ng
    except ImportError:
        import zlib  # noqa: PLC0415

        return zlib


class Gunzip:
    """gzip decoding as Go's gzip.Reader does it (any number of members) with bounded output per step,
    so that a small, highly compressed body never needs more than INFLATE_CAP bytes of memory."""

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self.sink = sink
        self._zlib = inflate_module()
        self._d = self._zlib.decompressobj(16 + self._zlib.MAX_WBITS)
        self.started = False  # a member's header was read
        self.inside = False  # within a member (its end not seen yet)

    def feed(self, data: bytes | memoryview) -> None:
        # in slices of INFLATE_CAP: zlib keeps what a step did not take as a copy (unconsumed_tail), and
        # copies of a read larger than a step cost an mmap/munmap (or brk) and fresh pages each
        view = memoryview(data)
        for i in range(0, len(view), INFLATE_CAP):
            self._feed(view[i:i + INFLATE_CAP])

    def _feed(self, data: bytes | memoryview) -> None:
        while True:
            try:
                piece = self._d.decompress(data, INFLATE_CAP)
            except self._zlib.error as e:
                text = str(e)
                if "header" in text:
                    raise CLIError("gzip: invalid header") from None
                if "check" in text:
                    raise CLIError("gzip: invalid checksum") from None
                raise CLIError("flate: corrupt input") from None
            if data:
                self.started = self.inside = True
            if piece:
                self.sink(piece)
            if self._d.eof:
                data = self._d.unused_data
                self._d = self._zlib.decompressobj(16 + self._zlib.MAX_WBITS)
                self.inside = False
                if not data:
                    return
                continue
            data = self._d.unconsumed_tail
            if not data and len(piece) < INFLATE_CAP:
                return  # all input taken and no output held back
