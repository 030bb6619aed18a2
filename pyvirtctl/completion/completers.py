"""The completers command modules attach (Typer `autocompletion` callbacks) and the per-TAB state
they may set. Cheap to import: the standard library only; names are fetched at TAB time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pyvirtctl.completion.names import list_names

# cobra's ShellCompDirective bits
NO_SPACE = 2
NO_FILE_COMP = 4

SHELLS = ("bash", "zsh", "fish", "powershell")

_ALIASES = {
    "vm": "vm",
    "vms": "vm",
    "virtualmachine": "vm",
    "virtualmachines": "vm",
    "vmi": "vmi",
    "vmis": "vmi",
    "virtualmachineinstance": "vmi",
    "virtualmachineinstances": "vmi",
    "vmirs": "vmirs",
    "vmirss": "vmirs",
    "virtualmachineinstancereplicaset": "vmirs",
    "virtualmachineinstancereplicasets": "vmirs",
    "dv": "dv",
    "pvc": "pvc",
}




class _Request:
    directive = NO_FILE_COMP

    @classmethod
    def reset(cls) -> None:
        cls.directive = NO_FILE_COMP


def want_files() -> None:
    """Let the shell fall back to file names when the completer offers nothing (e.g. scp sources)."""
    _Request.directive &= ~NO_FILE_COMP


def no_space() -> None:
    """Do not add a space after the candidate (it is a prefix such as ``vm/``)."""
    _Request.directive |= NO_SPACE


# =============================================================================================
# Completers commands attach (Typer autocompletion callbacks)

Completer = Callable[[Any, list[str], str], list[Any]]


def completed_args(ctx: Any) -> list[str]:
    """The positionals typed before the word being completed."""
    return list(ctx.meta.get("pyvirtctl.positionals") or [])


def _root_params(ctx: Any) -> dict[str, Any]:
    return dict(ctx.find_root().params)


def _match(items: Iterable[tuple[str, str]], incomplete: str) -> list[tuple[str, str]]:
    return [(v, h) for v, h in items if v.startswith(incomplete)]


# The VM states (printableStatus) in which a verb makes sense. A TAB offers those VMs first: when some
# of the matching names qualify only they are offered, otherwise every matching name (the user may
# know better, and a status can be stale by a second).
_VM_VERB_STATES: dict[str, Callable[[str], bool]] = {
    "start": lambda st: st == "Stopped",
    "stop": lambda st: st != "Stopped",
    "restart": lambda st: st != "Stopped",
    "migrate": lambda st: st == "Running",
    "migrate-cancel": lambda st: st == "Migrating",
    "pause": lambda st: st == "Running",
    "unpause": lambda st: st == "Paused",
}


def _for_verb(ctx: Any, kind: str, items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    wanted = _VM_VERB_STATES.get(getattr(ctx, "info_name", "") or "") if kind == "vm" else None
    if wanted is None:
        return items
    preferred = [(n, h) for n, h in items if wanted(h)]
    return preferred or items


def names_at(index: int, kind: str) -> Completer:
    """A completer for the names of `kind` (vm, vmi, vmirs, namespace) at positional `index` only."""

    def complete(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
        if len(completed_args(ctx)) != index:
            return []
        return _for_verb(ctx, kind, _match(list_names(_root_params(ctx), kind), incomplete))

    return complete


def names_anywhere(kind: str) -> Completer:
    """A completer for commands that take several names: every position, minus names already typed."""

    def complete(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
        typed = set(completed_args(ctx))
        items = [(n, h) for n, h in _match(list_names(_root_params(ctx), kind), incomplete) if n not in typed]
        return _for_verb(ctx, kind, items)

    return complete


complete_vm_names_many = names_anywhere("vm")
complete_vm_names_many.__doc__ = "Names of VirtualMachines at any position (bulk start/stop/restart)."
complete_vm_names = names_at(0, "vm")
complete_vm_names.__doc__ = "Names of VirtualMachines (first positional), with their printable status."
complete_vmi_names = names_at(0, "vmi")
complete_vmi_names.__doc__ = "Names of VirtualMachineInstances (first positional), with their phase."
complete_vmi_names_many = names_anywhere("vmi")
complete_vmi_names_many.__doc__ = "Names of VirtualMachineInstances at any position (bulk soft-reboot)."


def complete_namespaces(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    return _match(list_names(_root_params(ctx), "namespace"), incomplete)


def _kubeconfig_names(ctx: Any, kind: str, incomplete: str) -> list[tuple[str, str]]:
    try:
        from pyvirtctl.kube.config import GlobalFlags, kubeconfig_names

        names = kubeconfig_names(GlobalFlags.from_params(_root_params(ctx)), kind)  # type: ignore[arg-type]
    except Exception:
        return []
    return [(n, "") for n in names if n.startswith(incomplete)]


def complete_contexts(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    return _kubeconfig_names(ctx, "contexts", incomplete)


def complete_clusters(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    return _kubeconfig_names(ctx, "clusters", incomplete)


def complete_users(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    return _kubeconfig_names(ctx, "users", incomplete)


def complete_files(ctx: Any, args: list[str], incomplete: str) -> list[str]:
    want_files()
    return []


def choices(*values: str | tuple[str, str]) -> Completer:
    """A completer for a fixed set of flag values (strings or (value, description) pairs).

    Matching is by prefix and case-sensitive, like cobra and Typer; the canonical spelling is offered."""
    items = [(v, "") if isinstance(v, str) else v for v in values]

    def complete(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
        return [(v, h) for v, h in items if v.startswith(incomplete)]

    return complete


complete_service_types = choices("ClusterIP", "NodePort", "LoadBalancer")
complete_protocols = choices("TCP", "UDP")
complete_ip_families = choices("IPv4", "IPv6", "IPv4,IPv6", "IPv6,IPv4")
complete_ip_family_policies = choices("SingleStack", "PreferDualStack", "RequireDualStack")
complete_vnc_types = choices("tiger", "chicken", "real", "remote-viewer")
complete_output_formats = choices("json", "yaml")
complete_bool = choices("true", "false")
complete_list_outputs = choices("wide", "json", "yaml", "name")
complete_guest_outputs = choices(("json", "what virtctl prints"), "yaml", "table")
complete_disk_caches = choices("none", "writethrough", "writeback")
complete_disk_types = choices("disk", "lun")
complete_disk_buses = choices("scsi", "virtio")
complete_dump_formats = choices("gzip", "raw")
complete_export_formats = choices(("gzip", "gzip-compressed image (default)"), ("raw", "decompressed image"),
                                  ("oci", "OCI archive of a VM export"))
complete_manifest_formats = choices("yaml", "json")
complete_access_modes = choices("ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod")
complete_pull_policies = choices("IfNotPresent", "Always", "Never")
complete_pvc_names = names_at(0, "pvc")
complete_pvc_names.__doc__ = "Names of PersistentVolumeClaims (first positional), with their phase."


def complete_vm_name_values(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """VirtualMachine names as a flag's value (guestfs --vm)."""
    return _match(list_names(_root_params(ctx), "vm"), incomplete)


def local_usb_devices(root: str = "/sys/bus/usb/devices") -> list[tuple[str, str]]:
    """The USB devices of this machine as `vendor:product` (with the product's name), like `lsusb`."""
    import os

    out: dict[str, str] = {}
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return []
    for entry in entries:
        def read(field: str, entry: str = entry) -> str:
            try:
                with open(os.path.join(root, entry, field), encoding="utf-8", errors="replace") as fh:
                    return fh.read().strip()
            except OSError:
                return ""

        vendor, product = read("idVendor"), read("idProduct")
        if vendor and product:
            out.setdefault(f"{vendor}:{product}", " ".join(x for x in (read("manufacturer"), read("product")) if x))
    return sorted(out.items())


def complete_usbredir_args(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """usbredir DEVICE VMI: this machine's USB devices, then VMI names (--no-launch: the VMI first)."""
    typed = completed_args(ctx)
    no_launch = bool((getattr(ctx, "params", None) or {}).get("no_launch"))
    if no_launch or len(typed) == 1:
        return _match(list_names(_root_params(ctx), "vmi"), incomplete) if len(typed) == (0 if no_launch else 1) \
            else []
    if not typed:
        return _match(local_usb_devices(), incomplete)
    return []

_TYPE_HELP = {
    "vm": "VirtualMachine",
    "vmi": "VirtualMachineInstance",
    "vmirs": "VirtualMachineInstanceReplicaSet",
    "dv": "DataVolume",
    "pvc": "PersistentVolumeClaim",
}


def type_then_name(*kinds: str) -> Completer:
    """TYPE NAME commands: the first positional is one of `kinds`, the second a name of that type."""

    def complete(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
        typed = completed_args(ctx)
        if not typed:
            return [(k, _TYPE_HELP.get(k, "")) for k in kinds if k.startswith(incomplete.lower())]
        if len(typed) == 1:
            kind = _ALIASES.get(typed[0].lower())
            if kind in kinds:
                return _for_verb(ctx, kind, _match(list_names(_root_params(ctx), kind), incomplete))
        return []

    return complete


complete_pause_args = type_then_name("vm", "vmi")
complete_upload_args = type_then_name("dv", "pvc")
complete_upload_args.__doc__ = "image-upload dv|pvc NAME: the type, then existing DataVolumes or PVCs (--no-create)."
complete_volume_modes = choices("block", "filesystem")


def complete_memory_dump_args(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """memory-dump ACTION VM: the action, then VM names."""
    if not completed_args(ctx):
        return _match([("get", "dump the memory"), ("download", "download the last dump"),
                       ("remove", "drop the dump association")], incomplete)
    return names_anywhere("vm")(ctx, args, incomplete)


def complete_vmexport_args(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """vmexport FUNCTION NAME: the function, then names of VirtualMachineExports (delete, download)."""
    typed = completed_args(ctx)
    if not typed:
        return _match([("create", "create a VirtualMachineExport"), ("delete", "delete a VirtualMachineExport"),
                       ("download", "download a volume or the manifests")], incomplete)
    if len(typed) == 1 and typed[0].lower() in ("delete", "download"):
        return _match(list_names(_root_params(ctx), "vmexport"), incomplete)
    return []


complete_expose_args = type_then_name("vmi", "vm", "vmirs")
# kept under the name the design notes use
complete_type_then_name = complete_expose_args


def _target_candidates(ctx: Any, text: str, *, suffix: str = "") -> list[tuple[str, str]]:
    """`[user@]type/name[/namespace]` completion for the partial target `text`."""
    user, at, rest = text.rpartition("@")
    head = f"{user}{at}"
    parts = rest.split("/")
    if len(parts) == 1:
        no_space()
        return [(f"{head}{k}/", _TYPE_HELP[k]) for k in ("vmi", "vm") if k.startswith(parts[0].lower())]
    kind = _ALIASES.get(parts[0].lower())
    if kind not in ("vm", "vmi"):
        return []
    params = _root_params(ctx)
    if len(parts) == 2:
        if suffix:
            no_space()
        return [
            (f"{head}{parts[0]}/{n}{suffix}", h) for n, h in list_names(params, kind) if n.startswith(parts[1])
        ]
    if len(parts) == 3:
        if suffix:
            no_space()
        return [
            (f"{head}{parts[0]}/{parts[1]}/{n}{suffix}", "")
            for n, _ in list_names(params, "namespace")
            if n.startswith(parts[2])
        ]
    return []


def complete_target(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """port-forward and ssh: the first positional is `[user@]type/name[/namespace]`."""
    if completed_args(ctx):
        return []
    return _target_candidates(ctx, incomplete)


def complete_scp_args(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """scp SRC DST: a word that looks like a target (has `/` before any `:`, or `@`) completes as
    `[user@]type/name[/namespace]:`; anything else is a local path (the shell completes files)."""
    if len(completed_args(ctx)) > 1:
        return []
    if ":" in incomplete:
        want_files()  # a remote path: nothing to offer, let the shell decide
        return []
    looks_remote = "@" in incomplete or (
        "/" in incomplete and _ALIASES.get(incomplete.rpartition("@")[2].split("/")[0].lower()) is not None
    )
    if looks_remote:
        return _target_candidates(ctx, incomplete, suffix=":")
    want_files()
    kinds = [(f"{k}/", _TYPE_HELP[k]) for k in ("vmi", "vm") if incomplete and k.startswith(incomplete.lower())]
    if kinds:
        no_space()
    return kinds


def complete_shells(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    if completed_args(ctx):
        return []
    return [(s, "") for s in SHELLS if s.startswith(incomplete)]


def complete_command_names(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    root = ctx.find_root().command
    words = completed_args(ctx)
    registry = getattr(root, "registry", {})
    if not words:
        return [(n, registry[n][1] or "") for n in root.visible_names() if n.startswith(incomplete)]
    if len(words) == 1:
        prefix = words[0] + " "
        return [
            (n[len(prefix) :], s or "")
            for n, (_, s) in registry.items()
            if n.startswith(prefix) and n[len(prefix) :].startswith(incomplete)
        ]
    return []


# The root's global flags: value completers by parameter name (commands need not repeat these).
_FILE_FLAGS = ("kubeconfig", "certificate_authority", "client_certificate", "client_key")
GLOBAL_FLAG_COMPLETERS: dict[str, Completer] = {
    "namespace": complete_namespaces,
    "context": complete_contexts,
    "cluster": complete_clusters,
    "user": complete_users,
    **{name: complete_files for name in _FILE_FLAGS},
}


__all__ = [
    "NO_SPACE",
    "NO_FILE_COMP",
    "SHELLS",
    "want_files",
    "no_space",
    "Completer",
    "completed_args",
    "names_at",
    "names_anywhere",
    "complete_vm_names_many",
    "complete_vm_names",
    "complete_vmi_names",
    "complete_vmi_names_many",
    "complete_namespaces",
    "complete_contexts",
    "complete_clusters",
    "complete_users",
    "complete_files",
    "choices",
    "complete_service_types",
    "complete_protocols",
    "complete_ip_families",
    "complete_ip_family_policies",
    "complete_vnc_types",
    "complete_output_formats",
    "complete_bool",
    "complete_list_outputs",
    "complete_guest_outputs",
    "complete_disk_caches",
    "complete_disk_types",
    "complete_disk_buses",
    "complete_dump_formats",
    "complete_access_modes",
    "complete_pull_policies",
    "complete_pvc_names",
    "complete_vm_name_values",
    "local_usb_devices",
    "complete_usbredir_args",
    "type_then_name",
    "complete_pause_args",
    "complete_upload_args",
    "complete_volume_modes",
    "complete_memory_dump_args",
    "complete_vmexport_args",
    "complete_export_formats",
    "complete_manifest_formats",
    "complete_expose_args",
    "complete_type_then_name",
    "complete_target",
    "complete_scp_args",
    "complete_shells",
    "complete_command_names",
    "GLOBAL_FLAG_COMPLETERS",
]
