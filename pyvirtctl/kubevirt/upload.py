"""image-upload: a local disk image (or archive) into a DataVolume or PVC through CDI's upload proxy.

The flow is virtctl's (pkg/virtctl/imageupload), request for request:

1. the PVC is read (`PVC ns/name not found ` when it is missing); for `dv`, its DataVolume too;
2. when missing and creation is allowed, the DataVolume (`spec.source.upload`, the `storage` API) or the PVC
   (CDI's upload annotations, label `cdi.kubevirt.io/applyStorageProfile`) is created after checking the
   storage class; an existing PVC without the upload annotation gets it (PUT);
3. the wait: for a PVC, its `cdi.kubevirt.io/storage.pod.ready` annotation; for a DataVolume, phase
   UploadReady (WaitForFirstConsumer / PendingPopulation fail unless force-bind); each round not ready lists
   the namespace's Events for `ProvisioningFailed` (PVC) and `ErrClaimNotValid` (DataVolume);
4. the proxy URL from `--uploadproxy-url` or the CDIConfig (`spec.uploadProxyURLOverride`, else
   `status.uploadProxyURL`); an UploadTokenRequest for the PVC;
5. the upload: HEAD `<proxy>/v1beta1/upload-async` (200: async; else POST `/v1beta1/upload`), then POST of
   the file, streamed (`application/octet-stream`, `Authorization: Bearer <token>`); a non-200 answer or a
   broken connection is retried (`--retry` times in all), a 401 after the first attempt refreshes the token
   (three times at most); a 401 on the first attempt is `authentication failed: ...`;
6. `--datasource`: the DataSource is created or JSON-patched to point at the PVC;
7. the wait for CDI's processing (`cdi.kubevirt.io/storage.pod.phase: Succeeded`).

Beyond virtctl: every argument, and the file, is checked before the first request (a missing, unreadable
or directory path fails at once); an image whose virtual size (a qcow2 header, also inside .gz/.xz, or a
raw image's length) exceeds `--size` is refused before anything is created, and one that exceeds an
existing PVC before the upload; compressed images are sent as they are (CDI decompresses them); the time
processing took is reported; `Uploader.interrupted()` says what state a Ctrl+C left the volume in.

Pure parts (options, image inspection, bodies, URLs) are plain functions; `Uploader` runs the flow on a
`Session`, printing virtctl's lines through `out` and the transfer through a `Progress`.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

from pyvirtctl.errors import ApiError, CLIError, InputError
from pyvirtctl.kube import paths
from pyvirtctl.kube.quantity import Quantity
from pyvirtctl.kube.request import Request
from pyvirtctl.kubevirt.waiting import poll_until

# annotations and labels CDI and virtctl use
ANN_UPLOAD_REQUEST = "cdi.kubevirt.io/storage.upload.target"
ANN_CONTENT_TYPE = "cdi.kubevirt.io/storage.contentType"
ANN_POD_PHASE = "cdi.kubevirt.io/storage.pod.phase"
ANN_POD_READY = "cdi.kubevirt.io/storage.pod.ready"
ANN_FORCE_BIND = "cdi.kubevirt.io/storage.bind.immediate.requested"
ANN_DELETE_AFTER_COMPLETION = "cdi.kubevirt.io/storage.deleteAfterCompletion"
ANN_USE_POPULATOR = "cdi.kubevirt.io/storage.usePopulator"
ANN_PVC_PRIME = "cdi.kubevirt.io/storage.populator.pvcPrime"
LABEL_APPLY_STORAGE_PROFILE = "cdi.kubevirt.io/applyStorageProfile"
LABEL_DEFAULT_INSTANCETYPE = "instancetype.kubevirt.io/default-instancetype"
LABEL_DEFAULT_INSTANCETYPE_KIND = "instancetype.kubevirt.io/default-instancetype-kind"
LABEL_DEFAULT_PREFERENCE = "instancetype.kubevirt.io/default-preference"
LABEL_DEFAULT_PREFERENCE_KIND = "instancetype.kubevirt.io/default-preference-kind"

UPLOAD_PATH_ASYNC = "/v1beta1/upload-async"
UPLOAD_PATH_SYNC = "/v1beta1/upload"
POLL_INTERVAL = 2.0  # virtctl's uploadReadyWaitInterval and processingWaitInterval
PROCESSING_TIMEOUT = 24 * 3600.0
MAX_TOKEN_REFRESHES = 3
OPTIMISTIC_LOCK = "the object has been modified; please apply your changes to the latest version and try again"
READ_SLICE = 1 << 20
JSON = "application/json"
PROCESSING_DONE = ("Uploading data completed successfully, waiting for processing to complete, you can hit "
                   "ctrl-c without interrupting the progress")
VOLUME_MODES = ("block", "filesystem")
ACCESS_MODES = ("ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod")


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class UploadOptions:
    """What to upload where, as virtctl's flags say it (after `parse_args`)."""

    kind: str  # "dv" or "pvc"
    name: str
    image_path: str
    archive: bool = False
    size: str = ""
    storage_class: str = ""
    access_mode: str = ""
    volume_mode: str = ""  # "", "block" or "filesystem"
    no_create: bool = False
    force_bind: bool = False
    uploadproxy_url: str = ""
    insecure: bool = False
    wait_secs: int = 300
    retries: int = 5
    datasource: bool = False
    default_instancetype: str = ""
    default_instancetype_kind: str = ""
    default_preference: str = ""
    default_preference_kind: str = ""

    @property
    def create_pvc(self) -> bool:
        return self.kind == "pvc"

    @property
    def content_type(self) -> str:
        return "archive" if self.archive else "kubevirt"

    @property
    def kind_name(self) -> str:
        return "PersistentVolumeClaim" if self.create_pvc else "DataVolume"


def parse_args(
    args: list[str],
    *,
    image_path: str = "",
    archive_path: str = "",
    size: str = "",
    pvc_size: str = "",
    pvc_name: str = "",
    block_volume: bool = False,
    volume_mode: str = "",
    access_mode: str = "",
    no_create: bool = False,
    default_instancetype: str = "",
    default_instancetype_kind: str = "",
    default_preference: str = "",
    default_preference_kind: str = "",
    **rest: Any,
) -> UploadOptions:
    """virtctl's parseArgs and validateDefaultInstancetypeArgs (same checks, same order, same words), then
    what pyvirtctl checks before the first request: the name, the size, a read-only access mode.

    `rest` takes the other UploadOptions fields (storage_class, force_bind, uploadproxy_url, insecure,
    wait_secs, retries, datasource). Raises InputError.
    """
    if size and pvc_size and size != pvc_size:
        raise InputError("--pvc-size and --size can not be specified at the same time")
    if pvc_size:
        size = pvc_size
    kind, name = "pvc", pvc_name
    archive = False
    if pvc_name:
        # the deprecated spelling: virtctl returns here, before the other checks (so --block-volume and
        # --archive-path are not looked at, and a missing --image-path fails when the file is opened)
        if args:
            raise InputError("cannot use --pvc-name and args")
    else:
        if block_volume:
            if not volume_mode:
                volume_mode = "block"
            elif volume_mode != "block":
                raise InputError(f"incompatible --volume-mode '{volume_mode}' and --block-volume")
        if volume_mode not in ("", *VOLUME_MODES):
            raise InputError(f"Invalid volume mode '{volume_mode}'. Valid values are 'block' and 'filesystem'.")
        if not image_path and not archive_path:
            raise InputError("either image-path or archive-path must be provided")
        if image_path and archive_path:
            raise InputError("cannot handle both image-path and archive-path, provide only one")
        if archive_path:
            archive = True
            image_path = archive_path
            if volume_mode == "block":
                raise InputError("In archive upload the volume mode should always be filesystem")
        if len(args) != 2:
            raise InputError("expecting two args")
        kind = args[0].lower()
        if kind not in ("dv", "pvc"):
            raise InputError(f"invalid resource type {args[0]}")
        name = args[1]
    if not default_instancetype and default_instancetype_kind:
        raise InputError("--default-instancetype must be provided with --default-instancetype-kind")
    if not default_preference and default_preference_kind:
        raise InputError("--default-preference must be provided with --default-preference-kind")
    if (default_instancetype or default_preference) and no_create:
        raise InputError("--default-instancetype and --default-preference cannot be used with --no-create")
    o = UploadOptions(kind=kind, name=name, image_path=image_path, archive=archive, size=size,
                      volume_mode=volume_mode, access_mode=access_mode, no_create=no_create,
                      default_instancetype=default_instancetype,
                      default_instancetype_kind=default_instancetype_kind,
                      default_preference=default_preference, default_preference_kind=default_preference_kind,
                      **rest)
    check_before_sending(o)
    return o


def check_before_sending(o: UploadOptions) -> None:
    """What virtctl finds only halfway through (after requests, or never), checked before the first one."""
    paths.check_name(o.name)
    if o.storage_class:
        paths.check_name(o.storage_class)
    if o.size:
        size_quantity(o.size)
    if not o.no_create and o.access_mode == "ReadOnlyMany":
        raise InputError("cannot upload to a readonly volume, use either ReadWriteOnce or ReadWriteMany if supported")
    if not o.no_create and o.access_mode and o.access_mode not in ACCESS_MODES:
        # what the API server would answer once the volume is created, said before anything is sent
        supported = ", ".join(f'"{m}"' for m in sorted(ACCESS_MODES))
        raise InputError(f'invalid --access-mode "{o.access_mode}": supported values: {supported}')


def size_quantity(size: str) -> Quantity:
    try:
        return Quantity.parse(size)
    except CLIError as e:
        raise InputError(f"validation failed for size={size}: {e.message}") from None


# --------------------------------------------------------------------------- the image file


@dataclass(frozen=True)
class ImageInfo:
    """What the file's first bytes say: its format, a compression around it, and the virtual size when it can
    be known without reading the whole file (a qcow2 header; a raw image's length)."""

    path: str
    size: int  # bytes on disk: what is sent
    format: str  # raw, qcow2, vmdk, vdi, vhd, vhdx, iso, tar, or unknown (inside a compression)
    compression: str = ""  # "", gzip, xz, zstd
    virtual_size: int | None = None


_MAGIC = (  # (format, offset, magic): CDI's pkg/image/filefmt.go, plus ISO 9660
    ("gzip", 0, b"\x1f\x8b"),
    ("zstd", 0, b"\x28\xb5\x2f\xfd"),
    ("xz", 0, b"\xfd7zXZ\x00"),
    ("qcow2", 0, b"QFI\xfb"),
    ("vmdk", 0, b"KDMV"),
    ("vdi", 0x40, b"\x7f\x10\xda\xbe"),
    ("vhd", 0, b"conectix"),
    ("vhdx", 0, b"vhdxfile"),
    ("tar", 257, b"ustar"),
)
_HEAD = 64 * 1024


def sniff(head: bytes) -> str:
    for name, offset, magic in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[0x8001:0x8006] == b"CD001":
        return "iso"
    return "raw"


def open_image(path: str) -> IO[bytes]:
    """The file, opened for reading; a path that cannot be read (or is a directory) is Go's error for it."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - the caller owns it
    except IsADirectoryError:
        raise InputError(f"read {path}: is a directory") from None
    except OSError as e:
        raise InputError(f"open {path}: {_os_reason(e)}") from None
    try:
        if os.path.isdir(path) or not _is_regular(fh):
            fh.close()
            raise InputError(f"read {path}: is a directory" if os.path.isdir(path) else
                             f"read {path}: not a regular file")
    except OSError as e:
        fh.close()
        raise InputError(f"read {path}: {_os_reason(e)}") from None
    return fh


def _is_regular(fh: IO[bytes]) -> bool:
    import stat  # noqa: PLC0415

    return stat.S_ISREG(os.fstat(fh.fileno()).st_mode)


def _os_reason(e: OSError) -> str:
    """Go's syscall texts (`no such file or directory`, `permission denied`)."""
    return (e.strerror or str(e)).lower()


def inspect_image(fh: IO[bytes], path: str) -> ImageInfo:
    """Read the first bytes (and, for gzip or xz, decompress just enough) to learn the format and size."""
    size = os.fstat(fh.fileno()).st_size
    try:
        fh.seek(0)
        head = fh.read(_HEAD)
        fh.seek(0)
    except OSError as e:
        raise InputError(f"read {path}: {_os_reason(e)}") from None
    fmt = sniff(head)
    compression = ""
    if fmt in ("gzip", "xz", "zstd"):
        compression = fmt
        inner = _decompress_head(head, fmt)
        fmt = sniff(inner) if inner else "unknown"
        if fmt == "raw":
            fmt = "unknown"  # only the whole stream could tell the length
        head = inner
    virtual: int | None = None
    if fmt == "qcow2" and len(head) >= 32:
        virtual = int.from_bytes(head[24:32], "big")
    elif fmt in ("raw", "iso") and not compression:
        virtual = size
    return ImageInfo(path=path, size=size, format=fmt, compression=compression, virtual_size=virtual)


def _decompress_head(head: bytes, fmt: str) -> bytes:
    try:
        if fmt == "gzip":
            import zlib  # noqa: PLC0415

            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
        if fmt == "xz":
            import lzma  # noqa: PLC0415

            return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(head, 4096)
    except Exception:  # noqa: BLE001 - a damaged stream: CDI will say so; we just do not know the size
        return b""
    return b""


def human_size(n: int) -> str:
    """`10Gi` when exact, else `10.50 GiB` (binary units), for messages."""
    for unit, shift in (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if n >= 1 << shift:
            if n % (1 << shift) == 0:
                return f"{n >> shift}{unit}"
            return f"{n / (1 << shift):.2f} {unit}B"
    return f"{n} bytes" if n != 1 else "1 byte"


def check_fits(info: ImageInfo, capacity: int, where: str, hint: str = "") -> None:
    """Refuse an image whose virtual size exceeds `capacity` bytes (CDI would, after the whole upload).

    `where` names the capacity (`--size=1Gi`, `PVC default/disk (1Gi)`)."""
    v = info.virtual_size
    if v is None or v <= capacity:
        return
    raise CLIError(f"{info.path}: the {info.format} image's virtual size is {human_size(v)} ({v} bytes), more than "
                   f"{where} ({capacity} bytes): CDI would refuse it after the upload" + (f"; {hint}" if hint else ""))


def quantity_bytes(text: str) -> int | None:
    try:
        value = Quantity.parse(text).value
    except CLIError:
        return None
    return int(value) if value >= 0 else None


# --------------------------------------------------------------------------- bodies and requests


def _sorted(m: dict[str, str]) -> dict[str, str]:
    return dict(sorted(m.items()))  # Go's encoding/json writes map keys sorted


def default_labels(o: UploadOptions) -> dict[str, str]:
    labels: dict[str, str] = {}
    if o.default_instancetype:
        labels[LABEL_DEFAULT_INSTANCETYPE] = o.default_instancetype
    if o.default_instancetype_kind:
        labels[LABEL_DEFAULT_INSTANCETYPE_KIND] = o.default_instancetype_kind
    if o.default_preference:
        labels[LABEL_DEFAULT_PREFERENCE] = o.default_preference
    if o.default_preference_kind:
        labels[LABEL_DEFAULT_PREFERENCE_KIND] = o.default_preference_kind
    return labels


def _meta(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        md["labels"] = _sorted(labels)
    if annotations:
        md["annotations"] = _sorted(annotations)
    return md


def datavolume_body(o: UploadOptions, namespace: str) -> dict[str, Any]:
    """virtctl's createUploadDataVolume: an upload source and the `storage` API."""
    storage: dict[str, Any] = {}
    if o.access_mode:
        storage["accessModes"] = [o.access_mode]
    storage["resources"] = {"requests": {"storage": str(size_quantity(o.size))}}
    if o.storage_class:
        storage["storageClassName"] = o.storage_class
    if o.volume_mode:
        storage["volumeMode"] = "Block" if o.volume_mode == "block" else "Filesystem"
    annotations = {ANN_FORCE_BIND: ""} if o.force_bind else {}
    return {
        "kind": "DataVolume",
        "apiVersion": "cdi.kubevirt.io/v1beta1",
        "metadata": _meta(o.name, namespace, default_labels(o), annotations),
        "spec": {"source": {"upload": {}}, "storage": storage, "contentType": o.content_type},
        "status": {},
    }


def pvc_body(o: UploadOptions, namespace: str) -> dict[str, Any]:
    """virtctl's createUploadPVC (storagetypes.RenderPVC plus CDI's upload annotations)."""
    spec: dict[str, Any] = {
        "accessModes": [o.access_mode or "ReadWriteOnce"],
        "resources": {"requests": {"storage": str(size_quantity(o.size))}},
    }
    if o.storage_class:
        spec["storageClassName"] = o.storage_class
    if o.volume_mode:
        spec["volumeMode"] = "Block" if o.volume_mode == "block" else "Filesystem"
    annotations = {ANN_UPLOAD_REQUEST: "", ANN_CONTENT_TYPE: o.content_type}
    if o.force_bind:
        annotations[ANN_FORCE_BIND] = ""
    labels = {LABEL_APPLY_STORAGE_PROFILE: "true", **default_labels(o)}
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "metadata": _meta(o.name, namespace, labels, annotations), "spec": spec, "status": {}}


def token_request_body(pvc: str) -> dict[str, Any]:
    return {"kind": "UploadTokenRequest", "apiVersion": "upload.cdi.kubevirt.io/v1beta1",
            "metadata": {"generateName": "token-for-virtctl-"}, "spec": {"pvcName": pvc}, "status": {}}


def datasource_body(o: UploadOptions, namespace: str) -> dict[str, Any]:
    return {"kind": "DataSource", "apiVersion": "cdi.kubevirt.io/v1beta1",
            "metadata": _meta(o.name, namespace, default_labels(o), {}),
            "spec": {"source": {"pvc": {"name": o.name, "namespace": namespace}}}, "status": {"source": {}}}


def datasource_patch(o: UploadOptions, namespace: str, current_labels: dict[str, str] | None) -> list[dict]:
    labels = dict(current_labels or {})
    labels.update(default_labels(o))
    return [
        {"op": "replace", "path": "/metadata/labels", "value": _sorted(labels)},
        {"op": "replace", "path": "/spec/source/pvc", "value": {"name": o.name, "namespace": namespace}},
    ]


def get(resource: paths.Resource, namespace: str | None, name: str) -> Request:
    return Request("GET", paths.ref(resource, namespace, name))


def create(resource: paths.Resource, namespace: str, body: dict[str, Any]) -> Request:
    return Request("POST", paths.collection(resource, namespace), body=body, content_type=JSON)


def events_list(namespace: str) -> Request:
    return Request("GET", paths.collection(paths.EVENTS, namespace))


def pvc_update(pvc: dict[str, Any]) -> Request:
    md = pvc.get("metadata") or {}
    return Request("PUT", paths.ref(paths.PVCS, md.get("namespace"), md.get("name", "")), body=pvc,
                   content_type=JSON)


def datasource_patch_request(namespace: str, name: str, patch: list[dict]) -> Request:
    return Request("PATCH", paths.ref(paths.DATASOURCES, namespace, name), body=patch,
                   content_type="application/json-patch+json")


# --------------------------------------------------------------------------- the proxy's URL (Go's net/url)


def go_url_parse(raw: str) -> tuple[str, str]:
    """(scheme, rest) as Go's url.Parse splits them, raising its errors (`parse "h:1": first path segment
    in URL cannot contain colon`, `missing protocol scheme`, control characters)."""

    def fail(why: str) -> CLIError:
        from pyvirtctl.gotext import go_quote  # noqa: PLC0415

        return CLIError(f"parse {go_quote(raw)}: {why}")

    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise fail("net/url: invalid control character in URL")
    url = raw.split("#", 1)[0]
    scheme, rest = "", url
    for i, c in enumerate(url):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                raise fail("missing protocol scheme")
            scheme, rest = url[:i].lower(), url[i + 1 :]
        break
    rest = rest.split("?", 1)[0]
    if not rest.startswith("/") and not scheme:
        if ":" in rest.split("/", 1)[0]:
            raise fail("first path segment in URL cannot contain colon")
    if rest.startswith("//"):
        host = rest[2:].split("/", 1)[0].rpartition("@")[2]
        if host.startswith("["):
            port = host.partition("]")[2]  # Go's validOptionalPort: "" or ":" followed by digits
        else:
            port = host[host.rfind(":"):] if ":" in host else ""
        if port and not (port.startswith(":") and (port == ":" or port[1:].isdigit())):
            from pyvirtctl.gotext import go_quote  # noqa: PLC0415

            raise fail(f"invalid port {go_quote(port)} after host")
    return scheme, rest


def _clean(path: str) -> str:
    """Go's path.Clean."""
    if not path:
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    text = "/".join(out)
    return ("/" + text) if rooted else (text or ".")


def with_path(url: str, suffix: str) -> str:
    """virtctl's ConstructUploadProxyPath[Async]: the URL with `suffix` joined to its path (path.Join),
    unless the URL already contains it; an opaque URL (`host:port` read as scheme:opaque) stays as is."""
    if suffix in url:
        return url
    from urllib.parse import urlsplit, urlunsplit  # noqa: PLC0415

    scheme, rest = go_url_parse(url)
    if scheme and not rest.startswith("/"):
        return url  # Go's URL.String() writes scheme:opaque and ignores the path
    parts = urlsplit(url)
    joined = _clean("/".join(p for p in (parts.path, suffix) if p)) if parts.path else suffix
    return urlunsplit((parts.scheme, parts.netloc, joined, parts.query, parts.fragment))


# --------------------------------------------------------------------------- progress and output


class Progress(Protocol):
    """How the transfer is shown: `start(total)`, `update(sent)` (bytes so far; back to 0 on a retry),
    `finish()` when the attempts are over, `abort()` when an error or Ctrl+C ends them early."""

    def start(self, total: int) -> None: ...

    def update(self, sent: int) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        pass

    def update(self, sent: int) -> None:
        pass

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


@dataclass
class UploadResult:
    namespace: str
    name: str
    kind: str  # DataVolume or PersistentVolumeClaim
    created: bool
    proxy_url: str
    sent: int  # bytes of the file sent in the successful attempt
    attempts: int
    upload_seconds: float
    processing_seconds: float | None  # None: processing did not finish (virtctl's "Timed out" case)
    datasource: str = ""  # "created" or "updated" when --datasource


@dataclass
class _State:
    """Where the flow is, for `Uploader.interrupted()`."""

    stage: str = "prepare"  # prepare, create, wait, token, upload, datasource, processing, done
    created: bool = False
    existed: bool = False
    sent: int = 0
    total: int = 0
    attempts: int = 0


# --------------------------------------------------------------------------- the flow


class Uploader:
    """virtctl image-upload's run, on a Session: `Uploader(session, options).run()`.

    `out(line)` receives virtctl's stdout lines (default: none); `progress` shows the transfer;
    `sleep`/`clock`/`poll_interval` are injectable for tests. Errors are CLIErrors with virtctl's words.
    """

    def __init__(self, session: Any, options: UploadOptions, *, namespace: str | None = None,
                 out: Callable[[str], None] | None = None, progress: Progress | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 poll_interval: float = POLL_INTERVAL, program: str = "virtctl") -> None:
        self.s = session
        self.o = options
        self.ns = namespace or session.namespace
        self.out = out or (lambda line: None)
        self.progress = progress or NoProgress()
        self.sleep = sleep
        self.clock = clock
        self.poll_interval = poll_interval
        self.program = program
        self.state = _State()
        self.info: ImageInfo | None = None
        self._fh: IO[bytes] | None = None

    # ---- entry

    def run(self) -> UploadResult:
        o = self.o
        paths.check_name(o.name)
        paths.check_segment(self.ns, "namespace")
        fh = self._fh = open_image(o.image_path)
        try:
            self.info = inspect_image(fh, o.image_path)
            return self._run(fh)
        finally:
            fh.close()
            self._fh = None

    def _run(self, fh: IO[bytes]) -> UploadResult:
        o, st = self.o, self.state
        pvc = self._get_and_validate_pvc()
        if pvc is None:
            if not o.size:
                raise CLIError("when creating a resource, the size must be specified")
            assert self.info is not None
            capacity = int(size_quantity(o.size).value)
            check_fits(self.info, capacity, f"--size={o.size}",
                       f"give --size={_at_least(self.info.virtual_size or 0)} or more")
            st.stage = "create"
            obj = self._create()
            st.created = True
            md = obj.get("metadata") or {}
            self.out(f"{o.kind_name} {md.get('namespace', self.ns)}/{md.get('name', o.name)} created")
        else:
            st.existed = True
            pvc = self._ensure_upload_annotation(pvc)
            self.out(f"Using existing PVC {self.ns}/{(pvc.get('metadata') or {}).get('name', o.name)}")
            requested = ((((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage"))
            holds = quantity_bytes(str(requested)) if requested is not None else None
            if holds is not None and self.info is not None:
                check_fits(self.info, holds, f"PVC {self.ns}/{o.name} ({requested})")
        st.stage = "wait"
        if o.create_pvc:
            self._wait_upload_server_ready()
        else:
            self._wait_dv_upload_ready()
        proxy = self._proxy_url()
        self.out(f"Uploading data to {proxy}")
        st.stage = "token"
        token = self._token()
        st.stage = "upload"
        started = self.clock()
        sent, attempts = self._upload(proxy, token, fh)
        upload_seconds = self.clock() - started
        datasource = ""
        if o.datasource:
            st.stage = "datasource"
            datasource = self._datasource()
        st.stage = "processing"
        self.out(PROCESSING_DONE)
        started = self.clock()
        try:
            self._wait_processing()
        except CLIError:
            self.out("Timed out waiting for post upload processing to complete, please check upload pod status "
                     "for progress")
            raise
        processing = self.clock() - started
        self.out(f"Processing took {_duration(processing)}")
        self.out(f"Uploading {o.image_path} completed successfully")
        st.stage = "done"
        return UploadResult(self.ns, o.name, o.kind_name, st.created, proxy, sent, attempts, upload_seconds,
                            processing, datasource)

    # ---- reading and creating

    def _send(self, req: Request) -> Any:
        return self.s.send(req)

    def _get_pvc(self) -> dict[str, Any]:
        return self._send(get(paths.PVCS, self.ns, self.o.name)).json()

    def _get_and_validate_pvc(self) -> dict[str, Any] | None:
        """The existing PVC to upload into, None when it must be created; virtctl's errors otherwise."""
        o = self.o
        try:
            pvc = self._get_pvc()
        except CLIError as e:
            self.out(f"PVC {self.ns}/{o.name} not found ")
            if isinstance(e, ApiError) and e.not_found and not o.no_create:
                return None
            raise
        if not o.create_pvc:
            pvc = self._validate_datavolume(pvc)
        ann = (pvc.get("metadata") or {}).get("annotations") or {}
        if ann.get(ANN_POD_PHASE) == "Succeeded":
            raise CLIError(f"PVC {o.name} already successfully imported/cloned/updated")
        if not o.no_create and ANN_UPLOAD_REQUEST not in ann:
            raise CLIError(f"PVC {o.name} not available for upload")
        if o.archive and ann.get(ANN_CONTENT_TYPE) != "archive":
            raise CLIError(f"PVC {o.name} doesn't have archive contentType annotation")
        return pvc

    def _validate_datavolume(self, pvc: dict[str, Any]) -> dict[str, Any]:
        o, ns = self.o, (pvc.get("metadata") or {}).get("namespace") or self.ns
        try:
            dv = self._send(get(paths.DATAVOLUMES, ns, o.name)).json()
        except ApiError as e:
            if not e.not_found:
                raise
            ann = (pvc.get("metadata") or {}).get("annotations") or {}
            if ann.get(ANN_DELETE_AFTER_COMPLETION) == "true" and ann.get(ANN_POD_PHASE) == "Succeeded":
                raise CLIError("DataVolume already garbage-collected: Assuming PVC "
                               f"{ns}/{o.name} is successfully populated") from None
            raise CLIError(f"No DataVolume is associated with the existing PVC {ns}/{o.name}") from None
        if ((dv.get("metadata") or {}).get("annotations") or {}).get(ANN_USE_POPULATOR) == "true":
            if (pvc.get("status") or {}).get("phase") == "Bound":
                raise CLIError(f"PVC {o.name} already successfully populated")
            prime = ((pvc.get("metadata") or {}).get("annotations") or {}).get(ANN_PVC_PRIME)
            if prime is None:
                raise CLIError(f"Unable to get PVC Prime name from PVC {ns}/{o.name}")
            try:
                return self._send(get(paths.PVCS, ns, prime)).json()
            except CLIError:
                raise CLIError(f"Unable to get PVC Prime {ns}/{o.name}") from None
        return pvc

    def _create(self) -> dict[str, Any]:
        o = self.o
        if o.create_pvc and o.access_mode == "ReadOnlyMany":
            raise CLIError("cannot upload to a readonly volume, use either ReadWriteOnce or ReadWriteMany if "
                           "supported")
        if not o.create_pvc:
            datavolume_body(o, self.ns)  # the size and access mode are checked before the storage class
            if o.access_mode == "ReadOnlyMany":
                raise CLIError("cannot upload to a readonly volume, use either ReadWriteOnce or ReadWriteMany if "
                               "supported")
        if o.storage_class:
            self._send(get(paths.STORAGECLASSES, None, o.storage_class))
        if o.create_pvc:
            return self._send(create(paths.PVCS, self.ns, pvc_body(o, self.ns))).json()
        return self._send(create(paths.DATAVOLUMES, self.ns, datavolume_body(o, self.ns))).json()

    def _ensure_upload_annotation(self, pvc: dict[str, Any]) -> dict[str, Any]:
        md = pvc.setdefault("metadata", {})
        ann = md.get("annotations")
        if ann is not None and ANN_UPLOAD_REQUEST in ann:
            return pvc
        md["annotations"] = dict(ann or {})
        md["annotations"][ANN_UPLOAD_REQUEST] = ""
        return self._send(pvc_update(pvc)).json()

    # ---- waiting

    def _poll(self, timeout: float, condition: Callable[[], bool]) -> None:
        poll_until(timeout, self.poll_interval, condition, self.clock, self.sleep)

    def _event_errors(self, pvc_name: str, dv_name: str) -> None:
        """virtctl's handleEventErrors: ProvisioningFailed on the PVC, ErrClaimNotValid on the DataVolume."""
        events = (self._send(events_list(self.ns)).json() or {}).get("items") or []
        pvc_uid = dv_uid = ""
        if pvc_name:
            try:
                pvc_uid = ((self._send(get(paths.PVCS, self.ns, pvc_name)).json() or {}).get("metadata") or {}).get(
                    "uid", "")
            except ApiError as e:
                if not e.not_found:
                    raise
        if dv_name:
            try:
                dv_uid = ((self._send(get(paths.DATAVOLUMES, self.ns, dv_name)).json() or {}).get("metadata")
                          or {}).get("uid", "")
            except ApiError as e:
                if not e.not_found:
                    raise
        for ev in events:
            obj = ev.get("involvedObject") or {}
            reason, message = ev.get("reason", ""), ev.get("message", "")
            if obj.get("kind") == "PersistentVolumeClaim" and obj.get("uid", "") == pvc_uid:
                if reason == "ProvisioningFailed" and OPTIMISTIC_LOCK not in message:
                    raise CLIError(f"Provisioning failed: {message}")
            if obj.get("kind") == "DataVolume" and obj.get("uid", "") == dv_uid and reason == "ErrClaimNotValid":
                raise CLIError(f"Claim not valid: {message}")

    def _wait_upload_server_ready(self) -> None:
        o = self.o

        def probe() -> tuple[bool, str] | None:
            try:
                pvc = self._get_pvc()
            except ApiError as e:
                if e.not_found:
                    return None
                raise
            value = ((pvc.get("metadata") or {}).get("annotations") or {}).get(ANN_POD_READY, "")
            return _go_bool(value), o.name

        self._wait_upload_pod(probe)

    def _wait_dv_upload_ready(self) -> None:
        o = self.o

        def probe() -> tuple[bool, str] | None:
            try:
                dv = self._send(get(paths.DATAVOLUMES, self.ns, o.name)).json()
            except ApiError as e:
                if e.not_found:
                    self.out(f"DV {o.name} not found... ")
                    return None
                raise
            status = dv.get("status") or {}
            phase = status.get("phase", "")
            if phase in ("WaitForFirstConsumer", "PendingPopulation") and not o.force_bind:
                raise CLIError(f"cannot upload to DataVolume in {phase} phase, make sure the PVC is Bound, or use "
                               "force-bind flag")
            return phase == "UploadReady", status.get("claimName", "")

        self._wait_upload_pod(probe)

    def _wait_upload_pod(self, probe: Callable[[], tuple[bool, str] | None]) -> None:
        """Poll `probe` ((ready, claim name), or None while the object is missing) until the upload pod is
        ready: the events of a claim that is not are checked, and the wait is announced once."""
        o = self.o
        logged = False

        def ready() -> bool:
            nonlocal logged
            seen = probe()
            if seen is None:
                return False
            done, claim = seen
            if not done:
                self._event_errors(claim, o.name)
                if not logged:
                    self.out(f"Waiting for PVC {o.name} upload pod to be ready...")
                    logged = True
            if done and logged:
                self.out("Pod now ready")
            return done

        self._poll(float(o.wait_secs), ready)

    def _wait_processing(self) -> None:
        def done() -> bool:
            pvc = self._get_pvc()
            ok = ((pvc.get("metadata") or {}).get("annotations") or {}).get(ANN_POD_PHASE) == "Succeeded"
            if ok:
                self.out("Processing completed successfully")
            return ok

        self._poll(PROCESSING_TIMEOUT, done)

    # ---- proxy URL and token

    def _proxy_url(self) -> str:
        url = self.o.uploadproxy_url
        if not url:
            cfg = self._send(get(paths.CDICONFIGS, None, "config")).json()
            override = (cfg.get("spec") or {}).get("uploadProxyURLOverride")
            url = override if override is not None else ((cfg.get("status") or {}).get("uploadProxyURL") or "")
            if not url:
                raise CLIError("uploadproxy URL not found")
        scheme, _ = go_url_parse(url)
        return url if scheme else f"https://{url}"

    def _token(self) -> str:
        answer = self._send(create(paths.UPLOAD_TOKEN_REQUESTS, self.ns, token_request_body(self.o.name))).json()
        return str((answer.get("status") or {}).get("token") or "")

    # ---- the upload

    def _transport(self) -> Any:
        ca = b"" if self.o.insecure else self.s.cluster_ca()
        transport = self.s.transport_for(ca_pem=ca or None, insecure=self.o.insecure, system_roots=True)
        return transport

    def _upload(self, proxy: str, token: str, fh: IO[bytes]) -> tuple[int, int]:
        """virtctl's uploadData: (bytes sent, attempts). `--retry` 0 still makes one attempt."""
        o, st = self.o, self.state
        total = os.fstat(fh.fileno()).st_size
        st.total = total
        transport = self._transport()
        self.out("")
        self.progress.start(total)
        retries = max(1, o.retries)
        refreshes = MAX_TOKEN_REFRESHES
        attempt = 0
        error: CLIError | None = None
        finished = False
        try:
            while attempt < retries:
                url = self._upload_url(transport, proxy, token)
                if attempt > 0:
                    self.progress.update(0)
                    self.sleep(attempt * random.randrange(50) / 1000.0)
                st.attempts = attempt + 1
                code, error = self._post(transport, url, token, fh, total)
                if error is None:
                    break
                if code == 401:
                    if attempt == 0 or refreshes == 0:
                        raise CLIError(f"authentication failed: {error.message}")
                    try:
                        token = self._token()
                    except CLIError as e:
                        raise CLIError(f"failed to get upload token: {e.message}") from None
                    refreshes -= 1
                attempt += 1
            finished = True
        finally:
            transport.close()
            if not finished:
                self.progress.abort()
        self.progress.finish()
        self.out("")
        if error is not None:
            raise CLIError(f"error uploading image after {o.retries} retries: {error.message}")
        return st.sent, st.attempts

    def _upload_url(self, transport: Any, proxy: str, token: str) -> str:
        """HEAD on the async endpoint: 200 means async; anything else (or no answer) the sync one."""
        url = with_path(proxy, UPLOAD_PATH_ASYNC)
        try:
            r = transport.request("HEAD", url, headers=self._headers(token), timeout=None)
            r.close()
            if r.status == 200:
                return url
        except CLIError:
            pass
        return with_path(proxy, UPLOAD_PATH_SYNC)

    def _headers(self, token: str) -> list[tuple[str, str]]:
        return [("User-Agent", self.s.user_agent), ("Authorization", f"Bearer {token}")]

    def _post(self, transport: Any, url: str, token: str, fh: IO[bytes], total: int) -> tuple[int, CLIError | None]:
        """One POST of the whole file: (status, None) on 200, else (status or 0, the error)."""
        st = self.state
        st.sent = 0
        try:
            fh.seek(0)
        except OSError as e:
            return 0, CLIError(f"seek {self.o.image_path}: {_os_reason(e)}")

        def advance(n: int) -> None:
            st.sent += n
            self.progress.update(st.sent)

        headers = [*self._headers(token), ("Content-Type", "application/octet-stream")]
        try:
            r = transport.request("POST", url, headers=headers, body=_chunks(fh, self.o.image_path),
                                  content_length=total, timeout=None, stream=True, progress=advance)
        except CLIError as e:
            return 0, _proxy_error(e)
        try:
            if r.status == 200:
                return 200, None
            body = r.read()
        except CLIError as e:
            return r.status, e
        finally:
            r.close()
        text = body.decode("utf-8", "replace")
        return r.status, CLIError(f"unexpected return value {r.status}, {text}")

    # ---- DataSource

    def _datasource(self) -> str:
        o = self.o
        try:
            ds = self._send(get(paths.DATASOURCES, self.ns, o.name)).json()
        except ApiError as e:
            if not e.not_found:
                raise
            self._send(create(paths.DATASOURCES, self.ns, datasource_body(o, self.ns)))
            self.out(f"Created a new DataSource {self.ns}/{o.name}")
            return "created"
        md = ds.get("metadata") or {}
        ns = md.get("namespace") or self.ns
        patch = datasource_patch(o, self.ns, md.get("labels"))
        self._send(datasource_patch_request(ns, md.get("name", o.name), patch))
        self.out(f"Updated an existing DataSource {ns}/{md.get('name', o.name)}")
        return "updated"

    # ---- Ctrl+C

    def interrupted(self) -> str:
        """What a Ctrl+C left behind, in one line (a quick look at the volume's phase when it exists)."""
        o, st = self.o, self.state
        what = f"{o.kind_name} {self.ns}/{o.name}"
        if st.stage == "prepare" or (st.stage == "create" and not st.created):
            return "image-upload interrupted: nothing was created"
        phase = self._phase_now()
        shown = f" (phase {phase})" if phase else ""
        again = (f"run `{self.program} image-upload {o.kind} {o.name} --no-create "
                 f"--{'archive' if o.archive else 'image'}-path={o.image_path}` to upload into it")
        if st.stage == "processing" or st.stage == "datasource":
            return (f"image-upload interrupted after the upload: CDI goes on processing the data into {what}{shown}; "
                    f"`kubectl get pvc {o.name} -n {self.ns}` shows when it is done")
        left = f"{what} was created and is kept" if st.created else f"{what} is unchanged"
        if st.stage == "upload" and st.total:
            sent = (f"after {human_size(st.sent)} of {human_size(st.total)} were sent"
                    if st.sent else "before any data was sent")
            return (f"image-upload interrupted {sent}: {left}{shown}, waiting for data; {again}, or delete it")
        when = "while waiting for the upload pod" if st.stage == "wait" else "before the upload started"
        return f"image-upload interrupted {when}: {left}{shown}; {again}, or delete it"

    def _phase_now(self) -> str:
        try:
            if self.o.create_pvc:
                pvc = self.s.request("GET", get(paths.PVCS, self.ns, self.o.name).path, timeout=3.0).json()
                ann = (pvc.get("metadata") or {}).get("annotations") or {}
                return str(ann.get(ANN_POD_PHASE) or (pvc.get("status") or {}).get("phase") or "")
            dv = self.s.request("GET", get(paths.DATAVOLUMES, self.ns, self.o.name).path, timeout=3.0).json()
            return str((dv.get("status") or {}).get("phase") or "")
        except Exception:  # noqa: BLE001 - best effort after a Ctrl+C
            return ""


PROXY_TLS_HINT = "; the upload proxy's certificate is not trusted: use --insecure to skip verifying it"


def _proxy_error(e: CLIError) -> CLIError:
    """The transport's TLS hints speak of the API server's flags; the upload proxy has --insecure."""
    from pyvirtctl.kube.tls import NAME_HINT, TLS_HINT  # noqa: PLC0415

    for hint in (TLS_HINT, NAME_HINT):
        if e.message.endswith(hint):
            return CLIError(e.message[: -len(hint)] + PROXY_TLS_HINT)
    return e


def _chunks(fh: IO[bytes], path: str) -> Iterator[bytes]:
    """The file in 1 MiB slices: one slice in memory at a time."""
    read = fh.read
    while True:
        try:
            data = read(READ_SLICE)
        except OSError as e:
            raise CLIError(f"read {path}: {_os_reason(e)}") from None
        if not data:
            return
        yield data


def _go_bool(text: str) -> bool:
    return text in ("1", "t", "T", "TRUE", "true", "True")


def _at_least(n: int) -> str:
    """The smallest whole size in binary units that holds n bytes (`10Gi`)."""
    for unit, shift in (("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if n >= 1 << shift:
            whole = -(-n // (1 << shift))
            return f"{whole}{unit}"
    return str(n)


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{sec}s"


__all__ = ["ImageInfo", "NoProgress", "Progress", "UploadOptions", "UploadResult", "Uploader", "check_fits",
           "datasource_body", "datavolume_body", "inspect_image", "open_image", "parse_args",
           "pvc_body", "token_request_body", "with_path"]
