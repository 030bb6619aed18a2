"""The VirtualMachine manifest of `create vm`: options -> checks -> a JSON-shaped dict.

The flow is virtctl's, step for step, because the step order decides which error a bad command
line gets and what the manifest looks like:

1. the name (``vm-`` + five random characters when none is given) and the guest memory;
2. the flags that were given, in this order: run strategy, instancetype, preference, containerdisk
   volumes, PVC volumes, the deprecated ``--volume-datasource``/``--volume-clone-pvc``/``--volume-blank``
   (rewritten into ``--volume-import`` entries, with a warning), imported volumes, the sysprep volume,
   access credentials (which may switch on ``--ga-manage-ssh`` or pick ``--cloud-init``);
3. the cloud-init volume (generated ``#cloud-config`` user data, or the given base64 data);
4. instancetype/preference inference from the first boot volume.

Dicts are built in the Go structs' field order so that JSON output reads like `json.Marshal`;
YAML output sorts keys anyway. Nothing here touches files, the network or the terminal: the
password file is read through the `read_file` callable and warnings go to `warn`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from pyvirtctl.errors import CLIError
from pyvirtctl.kube.quantity import Quantity
from pyvirtctl.kubevirt.manifests.params import (
    ManifestError,
    Spec,
    dns1123_label_errors,
    flag_error,
    map_params,
    param_by_name,
    random_suffix,
    split_params,
    split_prefixed_name,
    supported,
)

RUN_STRATEGIES = ("Always", "Manual", "Halted", "Once", "RerunOnFailure")
CLOUD_INIT_TYPES = ("nocloud", "configdrive", "none")
INSTANCETYPE_KINDS = ("virtualmachineinstancetype", "virtualmachineclusterinstancetype")
PREFERENCE_KINDS = ("virtualmachinepreference", "virtualmachineclusterpreference")
SYSPREP_TYPES = ("configmap", "secret")
ACCESS_CRED_TYPES = ("ssh", "password")
ACCESS_CRED_METHODS = ("ga", "nocloud", "configdrive")

CLOUD_INIT_DISK = "cloudinitdisk"
SYSPREP_DISK = "sysprepdisk"
CLOUD_CONFIG_HEADER = "#cloud-config"
GA_MANAGE_SSH_RUNCMD = "\nruncmd:\n  - [ setsebool, -P, 'virt_qemu_ga_manage_ssh', 'on' ]"

# parameter grammars (Go struct field order)
VOLUME_SOURCE: Spec = {"name": "string", "src": "string", "bootorder": "uint"}
SYSPREP_SOURCE: Spec = {"src": "string", "type": "string"}
ACCESS_CREDENTIAL: Spec = {"type": "string", "src": "string", "method": "string", "user": "string"}
DATA_VOLUME_SOURCE: Spec = {"name": "string", "src": "string", "size": "quantity", "type": "string", "bootorder": "uint"}
_TAIL: Spec = {"size": "quantity", "type": "string", "name": "string", "bootorder": "uint"}
IMPORT_SPECS: dict[str, Spec] = {
    "blank": dict(_TAIL),
    "gcs": {"secretref": "string", "url": "string", **_TAIL},
    "http": {
        "certconfigmap": "string",
        "extraheaders": "list",
        "secretextraheaders": "list",
        "secretref": "string",
        "url": "string",
        **_TAIL,
    },
    "imageio": {"certconfigmap": "string", "diskid": "string", "secretref": "string", "url": "string", **_TAIL},
    "pvc": DATA_VOLUME_SOURCE,
    "registry": {
        "certconfigmap": "string",
        "imagestream": "string",
        "pullmethod": "string",
        "secretref": "string",
        "url": "string",
        **_TAIL,
    },
    "s3": {"certconfigmap": "string", "secretref": "string", "url": "string", **_TAIL},
    "vddk": {
        "backingfile": "string",
        "initimageurl": "string",
        "secretref": "string",
        "thumbprint": "string",
        "url": "string",
        "uuid": "string",
        **_TAIL,
    },
    "snapshot": DATA_VOLUME_SOURCE,
    "ds": DATA_VOLUME_SOURCE,
}
IMPORT_TYPES = tuple(IMPORT_SPECS)
_SIZE_OPTIONAL = frozenset({"pvc", "snapshot", "ds"})

# flags whose handlers run (when given) in this order; later ones may change the earlier's effects
_FLAG_ORDER = (
    "run-strategy",
    "instancetype",
    "preference",
    "volume-containerdisk",
    "volume-pvc",
    "volume-datasource",
    "volume-clone-pvc",
    "volume-blank",
    "volume-import",
    "volume-sysprep",
    "access-cred",
)


def volume_import_help() -> str:
    """The `Supported parameters:` block of `--volume-import`'s help."""
    lines = ["Specify the source for DataVolume. Can be provided multiple times.", "Supported parameters:"]
    lines += [f"  type {t} - {supported(s)}" for t, s in IMPORT_SPECS.items()]
    return "\n".join(lines)


@dataclass
class VMOptions:
    """`create vm`'s flags. `given` names the flags typed on the command line (cobra's Changed);
    a field that differs from its default counts as given too."""

    name: str = ""
    namespace: str = ""  # set only by an explicit -n/--namespace, as virtctl does
    run_strategy: str = "Always"
    termination_grace_period: int = 180
    memory: str = "512Mi"
    instancetype: str = ""
    infer_instancetype: bool = True
    infer_instancetype_from: str = ""
    preference: str = ""
    infer_preference: bool = True
    infer_preference_from: str = ""
    volume_containerdisk: list[str] = field(default_factory=list)
    volume_pvc: list[str] = field(default_factory=list)
    volume_import: list[str] = field(default_factory=list)
    volume_sysprep: str = ""
    user: str = ""
    password_file: str = ""
    ssh_key: list[str] = field(default_factory=list)
    ga_manage_ssh: bool = False
    access_cred: list[str] = field(default_factory=list)
    cloud_init: str = "nocloud"
    cloud_init_user_data: str = ""
    cloud_init_network_data: str = ""
    volume_datasource: list[str] = field(default_factory=list)
    volume_clone_pvc: list[str] = field(default_factory=list)
    volume_blank: list[str] = field(default_factory=list)
    given: frozenset[str] = frozenset()


_DEFAULTS = VMOptions()


def _changed_flags(opts: VMOptions) -> set[str]:
    out = set(opts.given)
    for f in fields(VMOptions):
        if f.name in ("given", "namespace"):
            continue
        if getattr(opts, f.name) != getattr(_DEFAULTS, f.name):
            out.add(f.name.replace("_", "-"))
    return out


class _Builder:
    def __init__(
        self,
        opts: VMOptions,
        read_file: Callable[[str], bytes] | None,
        warn: Callable[[str], None],
        rand: Callable[[], str],
    ) -> None:
        self.o = opts
        self.changed = _changed_flags(opts)
        self.read_file = read_file
        self.warn = warn
        self.rand = rand
        self.boot_orders: dict[int, str] = {}
        # values the access-credential step may change, as cobra's Flags().Set would
        self.cloud_init = opts.cloud_init
        self.ga_manage_ssh = opts.ga_manage_ssh
        self.volume_import = list(opts.volume_import)

    # ------------------------------------------------------------------ the VM skeleton
    def new_vm(self) -> dict[str, Any]:
        o = self.o
        try:
            memory = Quantity.parse(o.memory)
        except CLIError as e:
            raise flag_error("memory", e.message) from None
        self.name = o.name or "vm-" + self.rand()
        metadata: dict[str, Any] = {"name": self.name}
        if o.namespace:
            metadata["namespace"] = o.namespace
        self.domain: dict[str, Any] = {"resources": {}, "memory": {"guest": str(memory)}, "devices": {}}
        self.vmi_spec: dict[str, Any] = {"domain": self.domain, "terminationGracePeriodSeconds": o.termination_grace_period}
        self.spec: dict[str, Any] = {"runStrategy": o.run_strategy, "template": {"metadata": {}, "spec": self.vmi_spec}}
        return {"kind": "VirtualMachine", "apiVersion": "kubevirt.io/v1", "metadata": metadata, "spec": self.spec, "status": {}}

    @property
    def volumes(self) -> list[dict[str, Any]]:
        return self.vmi_spec.setdefault("volumes", [])

    def volume_exists(self, name: str) -> bool:
        return any(v["name"] == name for v in self.vmi_spec.get("volumes", []))

    def volume_should_not_exist(self, flag: str, name: str) -> None:
        if self.volume_exists(name):
            raise flag_error(flag, f'there is already a volume with name "{name}"')

    def add_boot_order(self, flag: str, name: str, boot_order: int | None) -> None:
        if boot_order is None:
            return
        if boot_order == 0:
            raise flag_error(flag, "bootorder must be greater than 0")
        if boot_order in self.boot_orders:
            raise flag_error(flag, f"bootorder {boot_order} was specified multiple times")
        self.domain["devices"].setdefault("disks", []).append({"name": name, "bootOrder": boot_order})
        self.boot_orders[boot_order] = name

    @staticmethod
    def check_label(flag: str, name: str) -> None:
        errs = dns1123_label_errors(name)
        if errs:
            raise flag_error(flag, f'invalid name "{name}": {",".join(errs)}')

    # ------------------------------------------------------------------ flag handlers
    def run_strategy(self) -> None:
        for rs in RUN_STRATEGIES:
            if rs.lower() == self.o.run_strategy.lower():
                self.spec["runStrategy"] = rs
                return
        raise flag_error(
            "run-strategy",
            f'invalid run strategy "{self.o.run_strategy}", supported values are: {", ".join(RUN_STRATEGIES)}',
        )

    def _matcher(self, flag: str, value: str, kinds: tuple[str, ...], what: str) -> dict[str, Any]:
        try:
            kind, name = split_prefixed_name(value)
        except ManifestError as e:
            raise flag_error(flag, e.message) from None
        kind = kind.lower()
        if kind and kind not in kinds:
            raise flag_error(flag, f'invalid {what} kind "{kind}", supported values are: {", ".join(kinds)}')
        matcher: dict[str, Any] = {"name": name}
        if kind:
            matcher["kind"] = kind
        return matcher

    def instancetype(self) -> None:
        matcher = self._matcher("instancetype", self.o.instancetype, INSTANCETYPE_KINDS, "instancetype")
        self.domain.pop("memory", None)
        self.spec["instancetype"] = matcher

    def preference(self) -> None:
        self.spec["preference"] = self._matcher("preference", self.o.preference, PREFERENCE_KINDS, "preference")

    def containerdisks(self) -> None:
        flag = "volume-containerdisk"
        for i, text in enumerate(self.o.volume_containerdisk):
            src = map_params(flag, text, VOLUME_SOURCE)
            if not src.get("src"):
                raise flag_error(flag, "src must be specified")
            name = src.get("name") or f"{self.name}-containerdisk-{i}"
            self.check_label(flag, name)
            self.volume_should_not_exist(flag, name)
            self.volumes.append({"name": name, "containerDisk": {"image": src["src"]}})
            self.add_boot_order(flag, name, src.get("bootorder"))

    def pvcs(self) -> None:
        flag = "volume-pvc"
        for text in self.o.volume_pvc:
            src = map_params(flag, text, VOLUME_SOURCE)
            if not src.get("src"):
                raise flag_error(flag, "src must be specified")
            try:
                namespace, claim = split_prefixed_name(src["src"])
            except ManifestError as e:
                raise flag_error(flag, f"src invalid: {e.message}") from None
            if namespace:
                raise flag_error(flag, f'not allowed to specify namespace of pvc "{claim}"')
            name = src.get("name") or claim
            self.check_label(flag, name)
            self.volume_should_not_exist(flag, name)
            self.volumes.append({"name": name, "persistentVolumeClaim": {"claimName": claim}})
            self.add_boot_order(flag, name, src.get("bootorder"))

    def _alias(self, flag: str, vol_type: str, values: list[str]) -> None:
        self.warn(f"Flag --{flag} has been deprecated, use flag --volume-import instead\n")
        for value in values:
            if value == "":
                raise flag_error("volume-import", "params may not be empty")
            # prepended, which is how virtctl keeps its documented boot order
            self.volume_import.insert(0, f"type:{vol_type},{value}")
        self.changed.add("volume-import")

    def datasources(self) -> None:
        self._alias("volume-datasource", "ds", self.o.volume_datasource)

    def clone_pvcs(self) -> None:
        self._alias("volume-clone-pvc", "pvc", self.o.volume_clone_pvc)

    def blanks(self) -> None:
        self._alias("volume-blank", "blank", self.o.volume_blank)

    def imported_volumes(self) -> None:
        flag = "volume-import"
        for text in self.volume_import:
            try:
                src_type = param_by_name("type", text)
            except ManifestError as e:
                raise flag_error(flag, e.message) from None
            if src_type is None:
                raise flag_error(flag, "type must be specified")
            if src_type not in IMPORT_SPECS:
                raise flag_error(flag, f'invalid volume import type "{src_type}", see help for supported values')
            dv_spec, boot_order = _IMPORT_SOURCES[src_type](text)
            size = split_params(text).get("size")
            if size is None and src_type not in _SIZE_OPTIONAL:
                raise flag_error(flag, "size must be specified")
            name = split_params(text).get("name")
            if name is None:
                name = "imported-volume-" + self.rand()
            self.create_data_volume(dv_spec, size or "", name)
            self.add_boot_order(flag, name, boot_order)

    def create_data_volume(self, dv_spec: dict[str, Any], size: str, name: str) -> None:
        flag = "volume-import"
        self.check_label(flag, name)
        self.volume_should_not_exist(flag, name)
        storage: dict[str, Any] = {"resources": {}}
        if size:
            storage["resources"] = {"requests": {"storage": str(Quantity.parse(size))}}
        dv_spec["storage"] = storage
        self.spec.setdefault("dataVolumeTemplates", []).append({"metadata": {"name": name}, "spec": _ordered(dv_spec, _DV_SPEC_ORDER)})
        self.volumes.append({"name": name, "dataVolume": {"name": name}})

    def sysprep(self) -> None:
        flag = "volume-sysprep"
        src = map_params(flag, self.o.volume_sysprep, SYSPREP_SOURCE)
        if not src.get("src"):
            raise flag_error(flag, "src must be specified")
        try:
            namespace, name = split_prefixed_name(src["src"])
        except ManifestError as e:
            raise flag_error(flag, f"src invalid: {e.message}") from None
        if namespace:
            raise flag_error(flag, f'not allowed to specify namespace of configmap or secret "{name}"')
        src_type = src.get("type") or "configmap"
        self.volume_should_not_exist(flag, SYSPREP_DISK)
        lowered = src_type.lower()
        if lowered == "configmap":
            sysprep = {"configMap": {"name": src["src"]}}
        elif lowered == "secret":
            sysprep = {"secret": {"name": src["src"]}}
        else:
            raise flag_error(
                flag, f'invalid sysprep source type "{src_type}", supported values are: configmap, secret'
            )
        self.volumes.append({"name": SYSPREP_DISK, "sysprep": sysprep})

    def access_creds(self) -> None:
        flag = "access-cred"
        for text in self.o.access_cred:
            src = map_params(flag, text, ACCESS_CREDENTIAL)
            secret = src.get("src", "")
            if not secret:
                raise flag_error(flag, "src must be specified")
            try:
                namespace, name = split_prefixed_name(secret)
            except ManifestError as e:
                raise flag_error(flag, f"src invalid: {e.message}") from None
            if namespace:
                raise flag_error(flag, f'not allowed to specify namespace of secret "{name}"')
            cred_type = src.get("type", "")
            if cred_type.lower() in ("ssh", ""):
                cred = self.ssh_credential(src)
            elif cred_type.lower() == "password":
                cred = self.password_credential(src)
            else:
                raise flag_error(
                    flag, f'invalid access credential type "{cred_type}", supported values are: ssh, password'
                )
            self.vmi_spec.setdefault("accessCredentials", []).append(cred)

    def ssh_credential(self, src: dict[str, Any]) -> dict[str, Any]:
        flag = "access-cred"
        method = src.get("method", "")
        lowered = method.lower()
        if lowered in ("ga", ""):
            user = src.get("user") or self.o.user
            if not user:
                raise flag_error(
                    flag, 'user must be specified with access credential ssh method ga ("--user" flag or param "user")'
                )
            if "ga-manage-ssh" not in self.changed:
                self.ga_manage_ssh = True
                self.changed.add("ga-manage-ssh")
            propagation: dict[str, Any] = {"qemuGuestAgent": {"users": [user]}}
        elif lowered in ("nocloud", "configdrive"):
            if src.get("user"):
                raise flag_error(flag, "user cannot be specified with selected access credential type and method")
            if "cloud-init" not in self.changed:
                self.cloud_init = lowered
                self.changed.add("cloud-init")
            if self.cloud_init.lower() != lowered:
                raise flag_error(
                    flag, f"method param and value passed to --cloud-init have to match: {lowered} vs {self.cloud_init}"
                )
            propagation = {"noCloud": {}} if lowered == "nocloud" else {"configDrive": {}}
        else:
            raise flag_error(
                flag,
                f'invalid access credentials ssh method "{method}", supported values are: ga, nocloud, configdrive',
            )
        return {"sshPublicKey": {"source": {"secret": {"secretName": src["src"]}}, "propagationMethod": propagation}}

    def password_credential(self, src: dict[str, Any]) -> dict[str, Any]:
        flag = "access-cred"
        method = src.get("method", "")
        if method and method.lower() != "ga":
            raise flag_error(flag, f'invalid access credentials password method "{method}", supported values are: ga')
        if src.get("user"):
            raise flag_error(flag, "user cannot be specified with selected access credential type and method")
        return {
            "userPassword": {
                "source": {"secret": {"secretName": src["src"]}},
                "propagationMethod": {"qemuGuestAgent": {}},
            }
        }

    # ------------------------------------------------------------------ cloud-init
    def cloud_init_flags_changed(self) -> bool:
        return bool(
            self.changed
            & {"user", "password-file", "ssh-key", "ga-manage-ssh", "cloud-init", "cloud-init-user-data",
               "cloud-init-network-data"}
        )

    def cloud_init_volume(self) -> None:
        if not self.cloud_init_flags_changed():
            return
        if "password-file" in self.changed:
            self.warn("WARNING: --password-file: The password is stored in cleartext in the VM definition!\n")
        if self.volume_exists(CLOUD_INIT_DISK):
            raise ManifestError(f'there is already a volume with name "{CLOUD_INIT_DISK}"')
        kind = self.cloud_init.lower()
        if kind == "none":
            if self.changed & {"password-file", "ssh-key", "ga-manage-ssh", "cloud-init-user-data",
                               "cloud-init-network-data"}:
                self.warn(
                    "WARNING: --cloud-init: was set to none, not creating a data source although other "
                    "cloud-init options were set"
                )
            return
        if kind not in ("nocloud", "configdrive"):
            raise flag_error(
                "cloud-init",
                f'invalid cloud-init data source type "{self.cloud_init}", supported values are: '
                "nocloud, configdrive, none",
            )
        source: dict[str, Any] = {}
        if self.o.cloud_init_user_data:
            source["userDataBase64"] = self.o.cloud_init_user_data
        else:
            source["userData"] = self.cloud_config()
        if self.o.cloud_init_network_data:
            source["networkDataBase64"] = self.o.cloud_init_network_data
        if "cloud-init" not in self.changed and source.get("userData") == CLOUD_CONFIG_HEADER and "networkDataBase64" not in source:
            return  # nothing but the header: no volume unless asked for
        key = "cloudInitNoCloud" if kind == "nocloud" else "cloudInitConfigDrive"
        self.volumes.append({"name": CLOUD_INIT_DISK, key: source})

    def cloud_config(self) -> str:
        o = self.o
        config = CLOUD_CONFIG_HEADER
        if o.user:
            config += "\nuser: " + o.user
        if o.password_file:
            if self.read_file is None:
                raise flag_error("password-file", f"open {o.password_file}: no reader for the password file")
            try:
                data = self.read_file(o.password_file)
            except ManifestError as e:
                raise flag_error("password-file", e.message) from None
            password = _go_trim_space(data.decode("utf-8", "surrogateescape"))
            if password:
                config += f"\npassword: {password}\nchpasswd: {{ expire: False }}"
        if o.ssh_key:
            config += "\nssh_authorized_keys:" + "".join("\n  - " + key for key in o.ssh_key)
        if self.ga_manage_ssh:
            config += GA_MANAGE_SSH_RUNCMD
        return config

    # ------------------------------------------------------------------ inference
    def infer(self) -> None:
        o = self.o
        explicit_it = bool(self.changed & {"infer-instancetype", "infer-instancetype-from"})
        explicit_pref = bool(self.changed & {"infer-preference", "infer-preference-from"})
        infer_from = o.infer_instancetype_from
        if o.infer_instancetype and not o.instancetype and "memory" not in self.changed:
            try:
                infer_from = infer_from or self.infer_from_volume()
                self.check_inferable(infer_from)
                matcher: dict[str, Any] = {"inferFromVolume": infer_from}
                if explicit_it:
                    self.domain.pop("memory", None)  # the inferred instancetype sets the memory
                else:
                    matcher["inferFromVolumeFailurePolicy"] = "Ignore"
                self.spec["instancetype"] = matcher
            except ManifestError:
                if explicit_it:
                    raise
        if o.infer_preference and not o.preference:
            try:
                pref_from = o.infer_preference_from or self.infer_from_volume()
                self.check_inferable(pref_from)
                matcher = {"inferFromVolume": pref_from}
                if not explicit_pref:
                    matcher["inferFromVolumeFailurePolicy"] = "Ignore"
                self.spec["preference"] = matcher
            except ManifestError:
                if explicit_pref:
                    raise

    def infer_from_volume(self) -> str:
        volumes = self.vmi_spec.get("volumes", [])
        if not volumes:
            raise ManifestError("at least one volume is needed to infer an instance type or preference")
        if self.boot_orders:
            return self.boot_orders[min(self.boot_orders)]
        return volumes[0]["name"]

    def check_inferable(self, name: str) -> None:
        vol = next((v for v in self.vmi_spec.get("volumes", []) if v["name"] == name), None)
        if vol is None:
            raise ManifestError(f'there is no volume with name "{name}"')
        if "dataVolume" in vol:
            for dvt in self.spec.get("dataVolumeTemplates", []):
                if dvt["metadata"]["name"] != vol["dataVolume"]["name"]:
                    continue
                spec = dvt["spec"]
                source = spec.get("source") or {}
                if any(k in source for k in ("pvc", "registry", "snapshot")):
                    return
                if (spec.get("sourceRef") or {}).get("kind") == "DataSource":
                    return
                raise ManifestError(
                    "this datavolume is not valid to infer an instancetype or preference from (source needs to "
                    "be PVC, Registry or Snapshot, sourceRef needs to be DataSource)"
                )
            return
        if "persistentVolumeClaim" in vol:
            return
        raise ManifestError("inference of instancetype or preference works only with datasources, datavolumes or pvcs")

    # ------------------------------------------------------------------ all together
    def build(self) -> dict[str, Any]:
        vm = self.new_vm()
        handlers = {
            "run-strategy": self.run_strategy,
            "instancetype": self.instancetype,
            "preference": self.preference,
            "volume-containerdisk": self.containerdisks,
            "volume-pvc": self.pvcs,
            "volume-datasource": self.datasources,
            "volume-clone-pvc": self.clone_pvcs,
            "volume-blank": self.blanks,
            "volume-import": self.imported_volumes,
            "volume-sysprep": self.sysprep,
            "access-cred": self.access_creds,
        }
        for flag in _FLAG_ORDER:
            if flag in self.changed:
                handlers[flag]()
        self.cloud_init_volume()
        self.infer()
        return _finish(vm)


def build_vm(
    opts: VMOptions,
    *,
    read_file: Callable[[str], bytes] | None = None,
    warn: Callable[[str], None] | None = None,
    rand: Callable[[], str] = random_suffix,
) -> dict[str, Any]:
    """The VirtualMachine for `opts` (virtctl's `create vm`), or ManifestError with virtctl's text.

    `read_file(path)` returns the password file's bytes or raises ManifestError with Go's
    os.ReadFile text; `warn(text)` receives virtctl's stderr warnings (newline included when
    virtctl prints one) at the moment virtctl prints them.
    """
    return _Builder(opts, read_file, warn or (lambda _text: None), rand).build()


# --------------------------------------------------------------------------- import sources

_DV_SPEC_ORDER = ("source", "sourceRef", "pvc", "storage")
_VM_SPEC_ORDER = ("runStrategy", "instancetype", "preference", "template", "dataVolumeTemplates")
_VMI_SPEC_ORDER = ("domain", "terminationGracePeriodSeconds", "volumes", "accessCredentials")
_VOLUME_ORDER = ("name", "persistentVolumeClaim", "cloudInitNoCloud", "cloudInitConfigDrive", "sysprep",
                 "containerDisk", "dataVolume")
_CLOUD_INIT_ORDER = ("userDataBase64", "userData", "networkDataBase64")


def _ordered(d: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    out = {k: d[k] for k in order if k in d}
    out.update((k, v) for k, v in d.items() if k not in out)
    return out


def _finish(vm: dict[str, Any]) -> dict[str, Any]:
    spec = vm["spec"]
    vmi = spec["template"]["spec"]
    vmi["volumes"] = [
        _ordered({k: (_ordered(v, _CLOUD_INIT_ORDER) if k.startswith("cloudInit") else v) for k, v in vol.items()},
                 _VOLUME_ORDER)
        for vol in vmi.get("volumes", [])
    ]
    if not vmi["volumes"]:
        del vmi["volumes"]
    spec["template"]["spec"] = _ordered(vmi, _VMI_SPEC_ORDER)
    vm["spec"] = _ordered(spec, _VM_SPEC_ORDER)
    return vm


def _source(flag: str, text: str, spec: Spec) -> dict[str, Any]:
    return map_params(flag, text, spec)


def _blank(text: str) -> tuple[dict[str, Any], int | None]:
    src = _source("volume-import", text, IMPORT_SPECS["blank"])
    return {"source": {"blank": {}}}, src.get("bootorder")


def _url_source(kind: str, key: str, text: str, build: Callable[[dict[str, Any]], dict[str, Any]]) -> tuple[dict[str, Any], int | None]:
    src = _source("volume-import", text, IMPORT_SPECS[kind])
    if not src.get("url"):
        raise flag_error("volume-import", f"url is required with {kind} volume source")
    return {"source": {key: build(src)}}, src.get("bootorder")


def _drop_empty(d: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k in keep or v not in ("", None, [])}


def _gcs(text: str) -> tuple[dict[str, Any], int | None]:
    return _url_source("gcs", "gcs", text, lambda s: _drop_empty(
        {"url": s["url"], "secretRef": s.get("secretref", "")}, ("url",)))


def _http(text: str) -> tuple[dict[str, Any], int | None]:
    return _url_source("http", "http", text, lambda s: _drop_empty({
        "url": s["url"],
        "secretRef": s.get("secretref", ""),
        "certConfigMap": s.get("certconfigmap", ""),
        "extraHeaders": s.get("extraheaders"),
        "secretExtraHeaders": s.get("secretextraheaders"),
    }, ("url",)))


def _s3(text: str) -> tuple[dict[str, Any], int | None]:
    return _url_source("s3", "s3", text, lambda s: _drop_empty({
        "url": s["url"], "secretRef": s.get("secretref", ""), "certConfigMap": s.get("certconfigmap", "")}, ("url",)))


def _imageio(text: str) -> tuple[dict[str, Any], int | None]:
    src = _source("volume-import", text, IMPORT_SPECS["imageio"])
    if not src.get("url") or not src.get("diskid"):
        raise flag_error("volume-import", "url and diskid are both required with imageio volume source")
    body = _drop_empty({
        "url": src["url"],
        "diskId": src["diskid"],
        "secretRef": src.get("secretref", ""),
        "certConfigMap": src.get("certconfigmap", ""),
    }, ("url", "diskId"))
    return {"source": {"imageio": body}}, src.get("bootorder")


def _registry(text: str) -> tuple[dict[str, Any], int | None]:
    src = _source("volume-import", text, IMPORT_SPECS["registry"])
    pull = src.get("pullmethod", "")
    if pull and pull not in ("pod", "node"):
        raise flag_error("volume-import", "pullmethod must be set to pod or node")
    url, stream = src.get("url", ""), src.get("imagestream", "")
    if bool(url) == bool(stream):
        raise flag_error("volume-import", "exactly one of url or imagestream must be defined")
    body = _drop_empty({
        "url": url,
        "imageStream": stream,
        "pullMethod": pull,
        "secretRef": src.get("secretref", ""),
        "certConfigMap": src.get("certconfigmap", ""),
    })
    return {"source": {"registry": body}}, src.get("bootorder")


def _vddk(text: str) -> tuple[dict[str, Any], int | None]:
    src = _source("volume-import", text, IMPORT_SPECS["vddk"])
    for key in ("url", "uuid", "thumbprint", "secretref", "backingfile"):
        if not src.get(key):
            raise flag_error("volume-import", f"{key} is required with vddk volume source")
    body = _drop_empty({
        "url": src["url"],
        "uuid": src["uuid"],
        "backingFile": src["backingfile"],
        "thumbprint": src["thumbprint"],
        "secretRef": src["secretref"],
        "initImageURL": src.get("initimageurl", ""),
    })
    return {"source": {"vddk": body}}, src.get("bootorder")


def _namespaced_source(text: str, kind: str) -> tuple[str, str, int | None]:
    src = _source("volume-import", text, DATA_VOLUME_SOURCE)
    if not src.get("src"):
        raise flag_error("volume-import", "src must be specified")
    try:
        namespace, name = split_prefixed_name(src["src"])
    except ManifestError as e:
        raise flag_error("volume-import", f"src invalid: {e.message}") from None
    if not namespace:
        raise flag_error("volume-import", f'namespace of {kind} "{name}" must be specified')
    return name, namespace, src.get("bootorder")


def _pvc(text: str) -> tuple[dict[str, Any], int | None]:
    name, namespace, boot = _namespaced_source(text, "pvc")
    return {"source": {"pvc": {"namespace": namespace, "name": name}}}, boot


def _snapshot(text: str) -> tuple[dict[str, Any], int | None]:
    name, namespace, boot = _namespaced_source(text, "snapshot")
    return {"source": {"snapshot": {"namespace": namespace, "name": name}}}, boot


def _datasource(text: str) -> tuple[dict[str, Any], int | None]:
    src = _source("volume-import", text, DATA_VOLUME_SOURCE)
    if not src.get("src"):
        raise flag_error("volume-import", "src must be specified")
    try:
        namespace, name = split_prefixed_name(src["src"])
    except ManifestError as e:
        raise flag_error("volume-import", f"src invalid: {e.message}") from None
    ref: dict[str, Any] = {"kind": "DataSource"}
    if namespace:
        ref["namespace"] = namespace
    ref["name"] = name
    return {"sourceRef": ref}, src.get("bootorder")


_IMPORT_SOURCES: dict[str, Callable[[str], tuple[dict[str, Any], int | None]]] = {
    "blank": _blank,
    "gcs": _gcs,
    "http": _http,
    "imageio": _imageio,
    "pvc": _pvc,
    "registry": _registry,
    "s3": _s3,
    "vddk": _vddk,
    "snapshot": _snapshot,
    "ds": _datasource,
}


def _go_trim_space(text: str) -> str:
    """strings.TrimSpace: ASCII and Unicode white space at both ends."""
    return text.strip(" \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                      "\u200a\u2028\u2029\u202f\u205f\u3000")
