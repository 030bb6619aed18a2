"""virt-api's validating webhooks for VirtualMachines and VirtualMachineInstances (the common rules).

A webhook returns a `Verdict`: its name, the causes it denies the request for (kube-apiserver
turns them into `admission webhook "<name>" denied the request: <messages joined by ", ">`, 422)
and warnings (sent back as `Warning` headers). Messages and field paths are virt-api's.

Checked for a VM's template and for a new VMI: hostname/subdomain, memory and CPU requests and
limits, start strategy, networks vs interfaces, disks vs volumes (names, targets, buses, boot
order), volume sources, cloud-init data; for a VM also its run strategy (`running` xor
`runStrategy`, a known strategy) and its dataVolumeTemplates; a VMI's spec cannot change after
creation and the reserved `kubevirt.io/` labels cannot be set or changed by users.
Only API writes are admitted: the controllers (KubeVirt's own service accounts) and the admin
API are not.
"""

from __future__ import annotations

import base64
import re
from typing import Any, NamedTuple

from pyvirtctl.sim import quantity

VM_WEBHOOK = "virtualmachine-validator.kubevirt.io"
VMI_CREATE_WEBHOOK = "virtualmachineinstances-create-validator.kubevirt.io"
VMI_UPDATE_WEBHOOK = "virtualmachineinstances-update-validator.kubevirt.io"

RUN_STRATEGIES = ("Halted", "Manual", "Always", "RerunOnFailure", "Once")
RESERVED_LABELS = ("kubevirt.io/created-by", "kubevirt.io/migrationJobUID", "kubevirt.io/nodeName",
                   "kubevirt.io/migrationTargetNodeName", "kubevirt.io/schedulable", "kubevirt.io/install-strategy")
VOLUME_SOURCES = ("persistentVolumeClaim", "sysprep", "cloudInitNoCloud", "cloudInitConfigDrive", "containerDisk",
                  "ephemeral", "emptyDisk", "hostDisk", "dataVolume", "configMap", "secret", "downwardAPI",
                  "serviceAccount", "downwardMetrics", "memoryDump", "containerPath")
DISK_BUSES = ("virtio", "scsi", "sata", "usb")

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
              "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


class Verdict(NamedTuple):
    webhook: str
    causes: list[dict]
    warnings: list[str]


def _cause(reason: str, message: str, field: str = "") -> dict:
    c = {"reason": reason, "message": message}
    if field:
        c["field"] = field
    return c


def _invalid(message: str, field: str = "") -> dict:
    return _cause("FieldValueInvalid", message, field)


def _required(message: str, field: str = "") -> dict:
    return _cause("FieldValueRequired", message, field)


def _d(obj: Any, *keys: str) -> Any:
    for k in keys:
        obj = obj.get(k) if isinstance(obj, dict) else None
    return obj


def _list(value: Any) -> list:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


# ----------------------------------------------------------------------------------------------
# shared by the VM template and the VMI

def _dns(value: str, label: bool) -> list[str]:
    errs = []
    limit = 63 if label else 253
    if len(value) > limit:
        errs.append(f"must be no more than {limit} characters")
    if not (_LABEL if label else _SUBDOMAIN).match(value):
        errs.append(_LABEL_MSG if label else _SUBDOMAIN_MSG)
    return errs


def _resources(f: str, spec: dict) -> list[dict]:
    out: list[dict] = []
    res = _d(spec, "domain", "resources") or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    rq, lq = f + ".domain.resources.requests", f + ".domain.resources.limits"
    for which in ("memory", "cpu"):
        r, lm = quantity.parse(req.get(which)), quantity.parse(lim.get(which))
        if r is not None and r < 0:
            out.append(_invalid(f"{rq}.{which} '{quantity.canonical(req[which])}': must be greater than or equal "
                                f"to 0.", f"{rq}.{which}"))
        elif which == "memory" and r is not None and 0 < r < 1_000_000:
            out.append(_invalid(f"{rq}.memory '{quantity.canonical(req[which])}': must be greater than or equal "
                                f"to 1M.", f"{rq}.memory"))
        if lm is not None and lm < 0:
            out.append(_invalid(f"{lq}.{which} '{quantity.canonical(lim[which])}': must be greater than or equal "
                                f"to 0.", f"{lq}.{which}"))
        if r is not None and lm is not None and lm > 0 and r > lm:
            out.append(_invalid(f"{rq}.{which} '{quantity.canonical(req[which])}' is greater than {lq}.{which} "
                                f"'{quantity.canonical(lim[which])}'", f"{rq}.{which}"))
    return out


def _networks(f: str, spec: dict) -> list[dict]:
    out: list[dict] = []
    nets = _list(spec.get("networks"))
    ifaces = _list(_d(spec, "domain", "devices", "interfaces"))
    pod_ifaces = [n for n in nets if n.get("pod") is not None]
    if len(pod_ifaces) > 1:
        out.append(_invalid(f"more than one interface is connected to a pod network in {f}.interfaces",
                            f"{f}.interfaces"))
    for i, n in enumerate(nets):
        kinds = sum(1 for k in ("pod", "multus", "resourceClaim") if n.get(k) is not None)
        if kinds == 0:
            out.append(_required("should have a network type", f"{f}.networks[{i}]"))
        elif kinds > 1:
            out.append(_required("should have only one network type", f"{f}.networks[{i}]"))
        if isinstance(n.get("multus"), dict) and not n["multus"].get("networkName"):
            out.append(_required("CNI delegating plugin must have a networkName", f"{f}.networks[{i}]"))
    seen: set = set()
    for i, n in enumerate(nets):
        if n.get("name") in seen:
            out.append(_cause("FieldValueDuplicate", f'Network with name "{n.get("name")}" already exists, every '
                                                     f"network must have a unique name", f"{f}.networks[{i}].name"))
        seen.add(n.get("name"))
    iface_names = {x.get("name") for x in ifaces}
    for i, n in enumerate(nets):
        if n.get("name") not in iface_names:
            out.append(_required(f"{f}.networks[{i}].name '{n.get('name', '')}' not found.",
                                 f"{f}.networks[{i}].name"))
    seen = set()
    for i, x in enumerate(ifaces):
        if x.get("name") in seen:
            out.append(_cause("FieldValueDuplicate", "Only one interface can be connected to one specific network",
                              f"{f}.domain.devices.interfaces[{i}].name"))
        seen.add(x.get("name"))
    net_names = {n.get("name") for n in nets}
    for i, x in enumerate(ifaces):
        if x.get("name") not in net_names:
            out.append(_invalid(f"{f}.domain.devices.interfaces[{i}].name '{x.get('name', '')}' not found.",
                                f"{f}.domain.devices.interfaces[{i}].name"))
    return out


def _disk_target(disk: dict) -> tuple[str, dict | None]:
    for kind in ("disk", "lun", "cdrom"):
        if isinstance(disk.get(kind), dict):
            return kind, disk[kind]
    return "", None


def _disks(f: str, spec: dict) -> list[dict]:
    out: list[dict] = []
    disks = _list(_d(spec, "domain", "devices", "disks"))
    df = f + ".domain.devices.disks"
    for idx, disk in enumerate(disks):
        for other in range(idx):
            if disks[other].get("name") == disk.get("name"):
                out.append(_invalid(f"{df}[{idx}] and {df}[{other}] must not have the same Name.",
                                    f"{df}[{idx}].name"))
        if sum(1 for k in ("disk", "lun", "cdrom") if disk.get(k) is not None) > 1:
            out.append(_invalid(f"{df}[{idx}] can only have a single target type defined", f"{df}[{idx}]"))
        boot = disk.get("bootOrder")
        if isinstance(boot, int) and boot < 1:
            out.append(_invalid(f"{df}[{idx}] must have a boot order > 0, if supplied", f"{df}[{idx}].bootOrder"))
        kind, target = _disk_target(disk)
        bus = (target or {}).get("bus") or ""
        if bus == "ide":
            out.append(_invalid("IDE bus is not supported", f"{df}[{idx}].{kind}.bus"))
        elif bus == "virtio" and kind == "cdrom":
            out.append(_invalid("Bus type virtio is invalid for CD-ROM device", f"{df}[{idx}].cdrom.bus"))
        elif bus == "sata" and kind == "disk" and (target or {}).get("readonly"):
            out.append(_invalid("sata hard-disks do not support read-only.", f"{df}[{idx}].disk.bus"))
        elif bus and bus not in DISK_BUSES:
            out.append(_invalid(f"{df}[{idx}] is set with an unrecognized bus {bus}, must be one of: "
                                f"[virtio scsi sata usb]", f"{df}[{idx}].{kind}.bus"))
    return out


def _boot_order_and_volumes(f: str, spec: dict) -> list[dict]:
    out: list[dict] = []
    volumes = {v.get("name"): v for v in _list(spec.get("volumes"))}
    df = f + ".domain.devices.disks"
    orders: set = set()
    for idx, disk in enumerate(_list(_d(spec, "domain", "devices", "disks"))):
        vol = volumes.get(disk.get("name"))
        if vol is None:
            if disk.get("cdrom") is None:
                out.append(_invalid(f"{df}[{idx}].Name '{disk.get('name', '')}' not found.", f"{df}[{idx}].name"))
            else:
                out.append(_invalid("DeclarativeHotplugVolumes feature gate not enabled, cannot define an empty "
                                    "CD-ROM disk", f"{df}[{idx}].name"))
        elif disk.get("lun") is not None and vol.get("persistentVolumeClaim") is None and vol.get("dataVolume") is None:
            out.append(_invalid(f"{df}[{idx}].lun can only be mapped to a DataVolume or PersistentVolumeClaim volume.",
                                f"{df}[{idx}].lun"))
        boot = disk.get("bootOrder")
        if boot is not None:
            if boot in orders:
                out.append(_invalid(f"Boot order for {df}[{idx}].bootOrder already set for a different device.",
                                    f"{df}[{idx}].bootOrder"))
            orders.add(boot)
    return out


def _volumes(f: str, spec: dict) -> list[dict]:
    out: list[dict] = []
    vf = f + ".volumes"
    names: dict = {}
    for idx, vol in enumerate(_list(spec.get("volumes"))):
        name = vol.get("name")
        if name in names:
            out.append(_invalid(f"{vf}[{idx}] and {vf}[{names[name]}] must not have the same Name.",
                                f"{vf}[{idx}].name"))
        else:
            names[name] = idx
        if isinstance(vol.get("dataVolume"), dict) and not vol["dataVolume"].get("name"):
            out.append(_required("DataVolume 'name' must be set", f"{vf}[{idx}].name"))
        if sum(1 for s in VOLUME_SOURCES if vol.get(s) is not None) != 1:
            out.append(_invalid(f"{vf}[{idx}] must have exactly one source type set", f"{vf}[{idx}]"))
        for src in ("cloudInitNoCloud", "cloudInitConfigDrive"):
            ci = vol.get(src)
            if not isinstance(ci, dict):
                continue
            b64 = ci.get("userDataBase64")
            if b64:
                try:
                    base64.b64decode(b64, validate=True)
                except ValueError:
                    out.append(_invalid(f"{vf}[{idx}].{src}.userDataBase64.{src}.userDataBase64 is not a valid "
                                        f"base64 value.", f"{vf}[{idx}].{src}.userDataBase64"))
            sources = sum(1 for k in ("userData", "userDataBase64") if ci.get(k)) + \
                (1 if (ci.get("secretRef") or {}).get("name") else 0)
            if sources > 1:
                out.append(_invalid(f"{vf}[{idx}].{src} must have only one userdatasource set.", f"{vf}[{idx}].{src}"))
    return out


def _labels(f: str, metadata: dict, verb: str) -> list[dict]:
    labels = metadata.get("labels") or {}
    if isinstance(labels, dict) and any(k in labels for k in RESERVED_LABELS):
        return [_cause("FieldValueNotSupported",
                       f"{verb} of the following reserved kubevirt.io/ labels on a VMI object is prohibited",
                       f"{f}.labels")]
    return []


def validate_vmi_spec(f: str, spec: dict) -> list[dict]:
    """virt-api's ValidateVirtualMachineInstanceSpec (the common rules), for `spec` at path `f`."""
    out: list[dict] = []
    host = spec.get("hostname")
    if isinstance(host, str) and host:
        errs = _dns(host, label=True)
        if errs:
            out.append(_invalid(f"{f}.hostname does not conform to the kubernetes DNS_LABEL rules : "
                                f"{', '.join(errs)}", f"{f}.hostname"))
    sub = spec.get("subdomain")
    if isinstance(sub, str) and sub:
        errs = _dns(sub, label=False)
        if errs:
            out.append(_invalid(f"{f}.subdomain does not conform to the kubernetes DNS_SUBDOMAIN rules : "
                                f"{', '.join(errs)}", f"{f}.subdomain"))
    out += _resources(f, spec)
    strategy = spec.get("startStrategy")
    if strategy is not None:
        if strategy != "Paused":
            out.append(_invalid(f"{f}.startStrategy is set with an unrecognized option: {strategy}",
                                f"{f}.startStrategy"))
        elif spec.get("livenessProbe") is not None:
            out.append(_invalid(f"either {f}.startStrategy or {f}.livenessProbe should be provided.Pausing VMI with "
                                f"LivenessProbe is not supported", f"{f}.startStrategy"))
    out += _networks(f, spec)
    out += _boot_order_and_volumes(f, spec)
    out += _disks(f, spec)
    out += _volumes(f, spec)
    return out


# ----------------------------------------------------------------------------------------------
# the webhooks

def admit_vm(new: dict, old: dict | None) -> Verdict:
    """virtualmachine-validator.kubevirt.io (create and update)."""
    warnings: list[str] = []
    if _d(new, "metadata", "deletionTimestamp"):
        return Verdict(VM_WEBHOOK, [], warnings)
    spec = new.get("spec") or {}
    causes: list[dict] = []
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict):
        return Verdict(VM_WEBHOOK, [_required("missing virtual machine template.", "spec.template")], warnings)
    causes += _labels("spec.template.metadata", tmpl.get("metadata") or {}, "creation")
    causes += validate_vmi_spec("spec.template.spec", tmpl.get("spec") or {})
    names = {v.get("name"): v for v in _list(_d(tmpl, "spec", "volumes"))}
    claimed = {(_d(v, "persistentVolumeClaim", "claimName")) for v in names.values()} | \
        {(_d(v, "dataVolume", "name")) for v in names.values()}
    for idx, dv in enumerate(_list(spec.get("dataVolumeTemplates"))):
        name = _d(dv, "metadata", "name")
        if not name:
            causes.append(_required(f"'name' field must not be empty for DataVolumeTemplate entry "
                                    f"spec.dataVolumeTemplate[{idx}].name.", f"spec.dataVolumeTemplate[{idx}].name"))
        elif name not in claimed:
            causes.append(_required(f"DataVolumeTemplate entry spec.dataVolumeTemplate[{idx}] must be referenced in "
                                    f"the VMI template's 'volumes' list", f"spec.dataVolumeTemplate[{idx}]"))
    running, strategy = spec.get("running"), spec.get("runStrategy")
    if running is not None and strategy is not None:
        causes.append(_invalid("Running and RunStrategy are mutually exclusive. Note that Running is deprecated, "
                               "please use RunStrategy instead", "spec.running"))
    if running is None and strategy is None:
        causes.append(_invalid("RunStrategy must be specified", "spec.running"))
    if strategy is not None:
        if strategy == "WaitAsReceiver":
            causes.append(_invalid("Invalid RunStrategy (WaitAsReceiver), DecentralizedLiveMigration feature gate "
                                   "is not enabled in kubevirt resource", "spec.runStrategy"))
        elif strategy not in RUN_STRATEGIES:
            causes.append(_invalid(f"Invalid RunStrategy ({strategy})", "spec.runStrategy"))
    if not causes and running is not None:
        warnings.append("spec.running is deprecated, please use spec.runStrategy instead.")
    return Verdict(VM_WEBHOOK, causes, warnings)


def admit_vmi(new: dict, old: dict | None) -> Verdict:
    """virtualmachineinstances-create-validator / -update-validator.kubevirt.io."""
    if old is not None:
        if (new.get("spec") or {}) != (old.get("spec") or {}):
            return Verdict(VMI_UPDATE_WEBHOOK, [_cause("FieldValueNotSupported",
                                                       "update of VMI object is restricted")], [])
        before = {k: v for k, v in (_d(old, "metadata", "labels") or {}).items() if k in RESERVED_LABELS}
        after = {k: v for k, v in (_d(new, "metadata", "labels") or {}).items() if k in RESERVED_LABELS}
        if before != after:
            return Verdict(VMI_UPDATE_WEBHOOK, [_cause(
                "FieldValueNotSupported",
                "modification of the following reserved kubevirt.io/ labels on a VMI object is prohibited")], [])
        return Verdict(VMI_UPDATE_WEBHOOK, [], [])
    spec = new.get("spec") or {}
    causes = validate_vmi_spec("spec", spec)
    disks = {d.get("name") for d in _list(_d(spec, "domain", "devices", "disks"))} | \
        {x.get("name") for x in _list(_d(spec, "domain", "devices", "filesystems"))}
    for idx, vol in enumerate(_list(spec.get("volumes"))):
        if vol.get("memoryDump") is None and vol.get("name") not in disks:
            causes.append(_invalid(f"spec.domain.volumes[{idx}].name '{vol.get('name', '')}' not found.",
                                   f"spec.domain.volumes[{idx}].name"))
    memory = _d(spec, "domain", "memory") or {}
    request = quantity.parse(_d(spec, "domain", "resources", "requests", "memory"))
    if not request and memory.get("guest") is None and memory.get("hugepages") is None:
        causes.append(_required("no memory requested, at least one of 'spec.domain.memory.guest', "
                                "'spec.domain.memory.hugepages.pageSize' or 'spec.domain.resources.requests.memory' "
                                "must be set"))
    causes += _labels("metadata", new.get("metadata") or {}, "creation")
    return Verdict(VMI_CREATE_WEBHOOK, causes, [])
