"""guestfs: a libguestfs-tools pod on a PVC, with an interactive shell attached (virtctl's `guestfs`).

virtctl's flow, as steps a caller drives (the CLI adapter prints between them):

1. `validate_guestfs(options)` - the pull policy and the --root/--uid/--gid/--fsGroup rules, with
   virtctl's words, before anything is sent (virtctl checks the ids only after its reads);
2. `resolve_image(session)` - virt-api's image data (`GET /apis/subresources.kubevirt.io`, then
   `/apis/<preferred version>/guestfs`: registry, tag, prefix and GsImage from the KubeVirt CR),
   unless --image was given; `image_from_info` assembles the reference;
3. `check_claim(session, ns, pvc)` - the PVC exists, no pod mounts it, block or filesystem (virtctl
   reads the PVC twice, and so does this);
4. `vm_scheduling(session, ns, vm)` - the VM's template labels, nodeSelector, affinity and
   tolerations (--vm);
5. `libguestfs_pod(...)` and `create_pod(...)` - the pod virtctl POSTs, field for field (Go's field
   order; the VM's scheduling parts re-encoded as the Go types would);
6. `wait_running(...)` - GET the pod until it leaves Pending (containers still waiting are reported);
7. `attach(session, ns, name)` - `pods/attach` (container libguestfs, stdin/stdout/stderr, TTY) over
   the channel protocol (streams/channel.py);
8. `delete_pod(session, ns, name)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from pyvirtctl.errors import ApiError, CLIError, InputError, TransportError
from pyvirtctl.kube import paths
from pyvirtctl.kubevirt.requests import (
    pod_attach_stream,
    pod_create_request,
    pod_delete_request,
    pod_get_request,
    pods_list_request,
    pvc_request,
    vm_get_request,
)

IMAGE_NAME = "libguestfs-tools"
POD_PREFIX = "libguestfs-tools"
CONTAINER = "libguestfs"
KVM_DEVICE = "devices.kubevirt.io/kvm"
PULL_POLICIES = ("Always", "Never", "IfNotPresent")
DEFAULT_PULL_POLICY = "IfNotPresent"
DISK_DIR = "/disk"
DISK_DEVICE = "/dev/vda"
ENTRYPOINT = "/entrypoint.sh"
WAIT_TIMEOUT = 500.0  # seconds, as virtctl
POLL_INTERVAL = 1.0  # seconds between pod reads (virtctl: 5)
PROMPT_HINT = "If you don't see a command prompt, try pressing enter."


class GuestfsOptions(NamedTuple):
    pvc: str
    image: str = ""
    kvm: bool = True
    pull_policy: str = DEFAULT_PULL_POLICY
    root: bool = False
    uid: str = ""
    gid: str = ""
    fs_group: str = ""
    vm: str = ""


class SecurityIds(NamedTuple):
    """The pod's runAsUser, runAsGroup and fsGroup (None: not set)."""

    uid: int | None
    gid: int | None
    fs_group: int | None


# --------------------------------------------------------------------------- pure parts


def pod_name(pvc: str) -> str:
    return f"{POD_PREFIX}-{pvc}"


def _go_int(text: str) -> int:
    from pyvirtctl.gostrconv import NumError, parse_int

    try:
        return parse_int(text, 10, 64)
    except NumError as exc:
        raise InputError(str(exc)) from None


def validate_guestfs(o: GuestfsOptions) -> SecurityIds:
    """virtctl's checks, in its order: pull policy, then the uid, gid and fsGroup rules."""
    if o.pull_policy not in PULL_POLICIES:
        raise InputError(f"Invalid pull policy: {o.pull_policy}")
    if o.root:
        if o.uid:
            raise InputError("cannot set uid if root is true")
        uid: int | None = 0
    else:
        uid = _go_int(o.uid) if o.uid else None
    # the gid needs the uid (the CRI ignores a group without a user)
    if o.gid and not o.uid:
        raise InputError("gid requires the uid to be set")
    if o.root and o.gid:
        raise InputError("cannot set gid id with root")
    gid = _go_int(o.gid) if o.gid else (0 if o.root else None)
    if o.root and o.fs_group:
        raise InputError("cannot set fsGroup id with root")
    fs_group = _go_int(o.fs_group) if o.fs_group else (0 if o.root else None)
    return SecurityIds(uid, gid, fs_group)


def image_from_info(info: dict[str, Any]) -> str:
    """virtctl's SetImage: GsImage as is, else [registry/]<prefix>libguestfs-tools(@digest|:tag)."""
    if info.get("gsImage"):
        return str(info["gsImage"])
    name = f"{info.get('imagePrefix') or ''}{IMAGE_NAME}"
    if info.get("digest"):
        name = f"{name}@{info['digest']}"
    elif info.get("tag"):
        name = f"{name}:{info['tag']}"
    else:
        raise CLIError("Neither the digest nor the tag for the image has been specified")
    return f"{info['registry']}/{name}" if info.get("registry") else name


def pods_using(pods: list[dict[str, Any]], pvc: str) -> list[dict[str, Any]]:
    """The pods with a volume from claim `pvc` (one entry per such volume, as virtctl counts)."""
    out = []
    for pod in pods:
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            if ((vol or {}).get("persistentVolumeClaim") or {}).get("claimName") == pvc:
                out.append(pod)
    return out


# Go's field order for the scheduling types a VM lends the pod. Each entry: field -> (sub-schema, zero).
# A sub-schema is None (a scalar or a list of scalars), "map" (keys sorted, as Go writes maps), a dict
# (a struct, or a pointer to one) or a one-element list (a list of that struct). `zero` is what Go
# writes for a missing field; OMIT marks the `omitempty` ones, left out when empty.
OMIT = object()
_S = dict[str, tuple[Any, Any]]
_REQUIREMENT: _S = {"key": (None, ""), "operator": (None, ""), "values": (None, OMIT)}
_NODE_TERM: _S = {"matchExpressions": ([_REQUIREMENT], OMIT), "matchFields": ([_REQUIREMENT], OMIT)}
_LABEL_SELECTOR: _S = {"matchLabels": ("map", OMIT), "matchExpressions": ([_REQUIREMENT], OMIT)}
_POD_TERM: _S = {"labelSelector": (_LABEL_SELECTOR, OMIT), "namespaces": (None, OMIT), "topologyKey": (None, ""),
                 "namespaceSelector": (_LABEL_SELECTOR, OMIT), "matchLabelKeys": (None, OMIT),
                 "mismatchLabelKeys": (None, OMIT)}
_POD_AFFINITY: _S = {
    "requiredDuringSchedulingIgnoredDuringExecution": ([_POD_TERM], OMIT),
    "preferredDuringSchedulingIgnoredDuringExecution": (
        [{"weight": (None, 0), "podAffinityTerm": (_POD_TERM, {})}], OMIT),
}
AFFINITY: _S = {
    "nodeAffinity": ({
        "requiredDuringSchedulingIgnoredDuringExecution": ({"nodeSelectorTerms": ([_NODE_TERM], None)}, OMIT),
        "preferredDuringSchedulingIgnoredDuringExecution": (
            [{"weight": (None, 0), "preference": (_NODE_TERM, {})}], OMIT),
    }, OMIT),
    "podAffinity": (_POD_AFFINITY, OMIT),
    "podAntiAffinity": (_POD_AFFINITY, OMIT),
}
TOLERATION: _S = {"key": (None, OMIT), "operator": (None, OMIT), "value": (None, OMIT), "effect": (None, OMIT),
                  "tolerationSeconds": (None, OMIT)}


def go_encode(value: Any, schema: Any) -> Any:
    """`value` as Go writes it after reading it into the typed struct `schema` describes: known fields
    only, in declaration order, empty `omitempty` ones left out, maps with sorted keys."""
    if schema is None:
        return value
    if schema == "map":
        return dict(sorted(value.items())) if isinstance(value, dict) else value
    if isinstance(schema, list):
        return [go_encode(v, schema[0]) for v in value] if isinstance(value, list) else value
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, (sub, zero) in schema.items():
        v = value.get(name)
        # a struct (pointer) that is there is written even when empty; other empty values count as unset
        present = v is not None and (isinstance(sub, dict) or v not in ("", [], {}))
        if present:
            out[name] = go_encode(v, sub)
        elif zero is not OMIT:
            out[name] = go_encode({}, sub) if isinstance(sub, dict) else zero
    return out


class Scheduling(NamedTuple):
    """What a VM lends the pod (virtctl's --vm)."""

    labels: dict[str, str] | None = None
    node_selector: dict[str, str] | None = None
    affinity: dict[str, Any] | None = None
    tolerations: list[dict[str, Any]] | None = None


def scheduling_from_vm(vm: dict[str, Any]) -> Scheduling:
    template = ((vm.get("spec") or {}).get("template")) or {}
    spec = template.get("spec") or {}
    return Scheduling(labels=(template.get("metadata") or {}).get("labels"), node_selector=spec.get("nodeSelector"),
                      affinity=spec.get("affinity"), tolerations=spec.get("tolerations"))


def libguestfs_pod(o: GuestfsOptions, image: str, ids: SecurityIds, block: bool,
                   scheduling: Scheduling | None = None) -> dict[str, Any]:
    """The Pod virtctl creates, with its fields in Go's order (the request body, byte for byte)."""
    sched = scheduling or Scheduling()
    metadata: dict[str, Any] = {"name": pod_name(o.pvc)}
    if sched.labels:
        metadata["labels"] = dict(sorted(sched.labels.items()))
    container: dict[str, Any] = {"name": CONTAINER, "image": image, "command": [ENTRYPOINT]}
    if not block:
        container["workingDir"] = DISK_DIR
    container["env"] = [
        {"name": "LIBGUESTFS_BACKEND", "value": "direct"},  # qemu directly, no libvirt
        {"name": "LIBGUESTFS_PATH", "value": "/usr/local/lib/guestfs/appliance"},
        {"name": "LIBGUESTFS_TMPDIR", "value": "/tmp/guestfs"},
        {"name": "HOME", "value": "/home/guestfs"},
    ]
    container["resources"] = {"limits": {KVM_DEVICE: "1"}} if o.kvm else {}
    mounts = [{"name": "libguestfs-tmp-dir", "mountPath": "/tmp/guestfs"},
              {"name": "guestfs", "mountPath": "/home/guestfs"}]
    if not block:
        mounts.append({"name": "volume", "mountPath": DISK_DIR})
    container["volumeMounts"] = mounts
    if block:
        container["volumeDevices"] = [{"name": "volume", "devicePath": DISK_DEVICE}]
    container["imagePullPolicy"] = o.pull_policy
    container["securityContext"] = {"capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": False}
    container["stdin"] = True
    container["tty"] = True
    spec: dict[str, Any] = {
        "volumes": [
            {"name": "volume", "persistentVolumeClaim": {"claimName": o.pvc}},
            {"name": "libguestfs-tmp-dir", "emptyDir": {}},
            {"name": "guestfs", "emptyDir": {}},
        ],
        "containers": [container],
        "restartPolicy": "Never",
    }
    if sched.node_selector:
        spec["nodeSelector"] = dict(sorted(sched.node_selector.items()))
    security: dict[str, Any] = {}
    if ids.uid is not None:
        security["runAsUser"] = ids.uid
    if ids.gid is not None:
        security["runAsGroup"] = ids.gid
    security["runAsNonRoot"] = not o.root
    if ids.fs_group is not None:
        security["fsGroup"] = ids.fs_group
    security["seccompProfile"] = {"type": "RuntimeDefault"}
    spec["securityContext"] = security
    if sched.affinity is not None:
        spec["affinity"] = go_encode(sched.affinity, AFFINITY)
    if sched.tolerations:
        spec["tolerations"] = [go_encode(t, TOLERATION) for t in sched.tolerations]
    return {"kind": "Pod", "apiVersion": "v1", "metadata": metadata, "spec": spec, "status": {}}


def mount_point(block: bool) -> str:
    return DISK_DEVICE if block else DISK_DIR


def waiting_lines(pod: dict[str, Any]) -> list[str]:
    """virtctl's report of the containers still waiting (trailing space included)."""
    out = []
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting is not None:
            out.append(f"Waiting for container {cs.get('name', '')} still in pending, reason: "
                       f"{waiting.get('reason', '')}, message: {waiting.get('message', '')} ")
    return out


# --------------------------------------------------------------------------- the calls


def resolve_image(session: Any) -> str:
    """The libguestfs-tools image virt-api names (the KubeVirt CR's registry, version, prefix, GsImage)."""
    try:
        group = session.request("GET", paths.SUBRESOURCES_GROUP_PATH, decode_status=False).json() or {}
        gv = ((group.get("preferredVersion") or {}).get("groupVersion")) or f"{paths.SUB_GROUP}/{paths.VERSION}"
        info = session.request("GET", paths.guestfs_path(gv), decode_status=False).json()
    except TransportError as exc:  # client-go unwraps a connection failure to its cause
        raise CLIError(f"could not get guestfs image info: {exc.reason}") from None
    except CLIError as exc:
        raise exc.wrap("could not get guestfs image info: ") from None
    return image_from_info(info if isinstance(info, dict) else {})


def check_claim(session: Any, namespace: str, pvc: str) -> bool:
    """The PVC exists and no pod uses it; True for a block volume."""
    try:
        session.send(pvc_request(namespace, pvc))
    except ApiError as exc:
        if exc.not_found:
            raise CLIError(f"The PVC {pvc} doesn't exist") from None
        raise
    items = session.send(pods_list_request(namespace)).json().get("items") or []
    if pods_using(items, pvc):
        raise CLIError(f"PVC {pvc} is used by another pod")
    claim = session.send(pvc_request(namespace, pvc)).json()
    return ((claim.get("spec") or {}).get("volumeMode") or "Filesystem") == "Block"


def vm_scheduling(session: Any, namespace: str, vm: str) -> Scheduling:
    return scheduling_from_vm(session.send(vm_get_request(namespace, vm)).json())


def create_pod(session: Any, namespace: str, pod: dict[str, Any]) -> dict[str, Any]:
    return session.send(pod_create_request(namespace, pod)).json()


def wait_running(
    session: Any,
    namespace: str,
    name: str,
    say: Callable[[str], None] = lambda line: None,
    timeout: float = WAIT_TIMEOUT,
    interval: float = POLL_INTERVAL,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Read the pod until it leaves Pending; anything but Running is virtctl's error."""
    deadline = clock() + timeout
    while True:
        try:
            pod = session.send(pod_get_request(namespace, name)).json()
        except CLIError as exc:
            raise CLIError(f"Pod is not in running state but got {exc.message}") from None
        phase = str((pod.get("status") or {}).get("phase") or "")
        if phase == "Running":
            return
        if phase != "Pending":
            raise CLIError(f"Pod is not in running state but got {phase}")
        for line in waiting_lines(pod):
            say(line)
        if clock() + interval > deadline:
            raise CLIError(f"timeout in waiting for the containers to be started in pod {name}")
        sleep(interval)


def attach(session: Any, namespace: str, name: str) -> Any:
    """A `streams.channel.RemoteCommand` on the pod's shell (TTY)."""
    from pyvirtctl.streams.channel import open_remote_command

    stream = pod_attach_stream(namespace, name, CONTAINER)
    return open_remote_command(session, stream.path, stream.query)


def delete_pod(session: Any, namespace: str, name: str) -> bool:
    """Delete the pod; False when that failed (virtctl ignores the error too)."""
    try:
        session.send(pod_delete_request(namespace, name))
    except CLIError:
        return False
    return True


class GuestfsShell:
    """The whole flow for a program: the pod is created and started on entry, deleted on exit.

        with GuestfsShell(session, "default", GuestfsOptions("disk1")) as shell:
            shell.send(b"ls -l\\n")          # the pod's TTY (a streams.channel.RemoteCommand)
            print(shell.recv())
        # the pod is gone

    `say` receives virtctl's lines (`Use image: ...`, `The PVC has been mounted at ...`, waiting
    containers); `attach=False` only prepares the pod (`.pod_name`) without a shell.
    """

    def __init__(self, session: Any, namespace: str, options: GuestfsOptions,
                 say: Callable[[str], None] = lambda line: None, attach: bool = True) -> None:
        self.session = session
        self.namespace = namespace
        self.options = options
        self.say = say
        self.want_shell = attach
        self.ids = validate_guestfs(options)
        self.pod_name = pod_name(options.pvc)
        self.created = False  # the pod exists (and is ours to delete)
        self.posted = False  # the pod was created at some point
        self.stream: Any = None
        pvc_request(namespace, options.pvc)  # names are checked before anything is sent
        pod_get_request(namespace, self.pod_name)

    def start(self) -> Any:
        o, s, ns = self.options, self.session, self.namespace
        image = o.image or resolve_image(s)
        self.say(f"Use image: {image} ")
        block = check_claim(s, ns, o.pvc)
        scheduling = vm_scheduling(s, ns, o.vm) if o.vm else None
        pod = libguestfs_pod(o, image, self.ids, block, scheduling)
        self.say(f"The PVC has been mounted at {mount_point(block)} ")
        create_pod(s, ns, pod)
        self.created = self.posted = True
        try:
            wait_running(s, ns, self.pod_name, self.say)
            if self.want_shell:
                self.stream = attach(s, ns, self.pod_name)
        except BaseException:
            self.stop()
            raise
        return self.stream

    def stop(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        if self.created:
            delete_pod(self.session, self.namespace, self.pod_name)
            self.created = False

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
