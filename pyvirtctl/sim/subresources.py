"""virt-api's subresources (`/apis/subresources.kubevirt.io/v1/...`), with virt-api's status codes
and messages (pkg/virt-api/rest in kubevirt/kubevirt)."""

from __future__ import annotations

import inspect
import json
import math
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pyvirtctl.sim import kstatus
from pyvirtctl.sim.controllers import (
    apply_volume_request,
    has_condition,
    is_final,
    remove_condition,
    run_strategy,
    set_condition,
)
from pyvirtctl.sim.kstatus import StatusError, clone
from pyvirtctl.sim.routing import Route, json_response, parse_path

if TYPE_CHECKING:
    from pyvirtctl.sim.core import Simulator

VM_GR = "virtualmachine.kubevirt.io"
VMI_GR = "virtualmachineinstance.kubevirt.io"
PVC_GR = "persistentvolumeclaim.kubevirt.io"
UNMARSHAL = "Can not unmarshal Request body to struct, error: {}"
STREAM_KINDS = ("console", "vnc", "usbredir", "portforward")


def _accepted() -> web.Response:
    return web.Response(status=202)


def _ok() -> web.Response:
    return web.Response(status=200)


def decode_opts(raw: bytes) -> dict:
    """virt-api's decodeBody: empty is fine ({}), YAML or JSON, anything else is a 400."""
    if not raw.strip():
        return {}
    try:
        obj = json.loads(raw)
    except ValueError as e:
        try:
            import yaml

            obj = yaml.safe_load(raw)
        except Exception:
            raise kstatus.bad_request(UNMARSHAL.format(e)) from None
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise kstatus.bad_request(UNMARSHAL.format(
            f"json: cannot unmarshal {type(obj).__name__} into Go value of type struct"))
    return obj


def dry_run_of(opts: dict) -> bool:
    dr = opts.get("dryRun") or []
    return isinstance(dr, list) and len(dr) > 0 and dr[0] == "All"


class Ctx:
    def __init__(self, sim: Simulator, request: web.Request, route: Route) -> None:
        self.sim, self.request, self.route = sim, request, route
        self.ns = route.namespace or ""
        self.name = route.name or ""
        self.VM = sim.res("VirtualMachine")
        self.VMI = sim.res("VirtualMachineInstance")

    def vm(self) -> dict:
        vm = self.sim.store.get(self.VM, self.ns, self.name)
        if vm is None:
            raise kstatus.not_found(VM_GR, self.name)
        return vm

    def vmi(self) -> dict:
        vmi = self.sim.store.get(self.VMI, self.ns, self.name)
        if vmi is None:
            raise kstatus.not_found(VMI_GR, self.name)
        return vmi

    def vmi_or_none(self) -> dict | None:
        return self.sim.store.get(self.VMI, self.ns, self.name)

    def vmi_for_vm(self) -> dict:
        vm = self.vm()
        if not (vm.get("status") or {}).get("created"):
            raise kstatus.conflict(VM_GR, self.name, "VMI is not started")
        return self.vmi()

    def strategy(self, vm: dict) -> str:
        try:
            return run_strategy(vm)
        except ValueError as e:
            raise kstatus.internal(str(e)) from None

    def set_vm_status(self, fn) -> None:
        self.sim.store.mutate(self.VM, self.ns, self.name, lambda o: fn(o.setdefault("status", {})))


# ==============================================================================================

async def dispatch(sim: Simulator, request: web.Request, route: Route) -> web.StreamResponse:
    if route.version not in ("v1", "v1alpha3"):
        raise kstatus.unknown_path()
    if route.namespace is None:
        raise kstatus.unknown_path()
    ctx = Ctx(sim, request, route)
    method = request.method
    if route.plural == "expand-vm-spec" and route.name is None:
        if method != "PUT":
            raise kstatus.method_not_allowed()
        return await expand_vm_spec(ctx)
    if route.plural not in ("virtualmachines", "virtualmachineinstances") or not route.name or not route.sub:
        raise kstatus.unknown_path()
    sub = route.sub
    kind = "vm" if route.plural == "virtualmachines" else "vmi"
    first = sub.split("/")[0]
    if first in STREAM_KINDS or sub == "vnc/screenshot":
        if method != "GET":
            raise kstatus.method_not_allowed()
        return stream_fallback(ctx, kind, sub)
    table = VM_HANDLERS if kind == "vm" else VMI_HANDLERS
    entry = table.get(sub)
    if entry is None:
        raise kstatus.unknown_path()
    want_method, fn = entry
    if method != want_method:
        raise kstatus.method_not_allowed()
    raw = await request.read()
    out = fn(ctx, raw)
    return await out if inspect.isawaitable(out) else out


# ----------------------------------------------------------------------------------------------
# VM lifecycle

def _change_requests(vm: dict, changes: list[dict]) -> dict:
    """The VM status after adding state change requests (virt-api's getChangeRequestJson)."""
    st = clone(vm.get("status") or {})
    meaningful = {k: v for k, v in st.items() if v not in (None, {}, [], "", False)}
    if not meaningful:
        st["stateChangeRequests"] = changes
    else:
        if st.get("stateChangeRequests"):
            if not (len(changes) == 1 and changes[0]["action"] == "Stop"):
                raise kstatus.internal("unable to complete request: stop/start already underway")
        st["stateChangeRequests"] = changes
    st.pop("startFailure", None)
    return st


def start_vm(ctx: Ctx, raw: bytes) -> web.Response:
    vm = ctx.vm()
    vmi = ctx.vmi_or_none()
    if vmi is not None:
        phase = (vmi.get("status") or {}).get("phase", "")
        if not is_final(vmi) and phase not in ("Unknown", ""):
            raise kstatus.conflict(VM_GR, ctx.name, "VM is already running")
    opts = decode_opts(raw)
    paused = bool(opts.get("paused"))
    dry = dry_run_of(opts)
    data = {"paused": "true"} if paused else {}
    strategy = ctx.strategy(vm)
    if strategy == "Halted":
        tmpl_paused = ((vm.get("spec") or {}).get("template") or {}).get("spec", {}).get("startStrategy") == "Paused"
        if paused and not tmpl_paused:
            st = _change_requests(vm, [{"action": "Start", "data": data}])
            if not dry:
                ctx.set_vm_status(lambda s: (s.clear(), s.update(st)))
        elif not dry:
            def run(o: dict) -> None:
                if (o.get("spec") or {}).get("runStrategy") is not None:
                    o["spec"]["runStrategy"] = "Always"
                else:
                    o.setdefault("spec", {})["running"] = True
            ctx.sim.store.mutate(ctx.VM, ctx.ns, ctx.name, run)
    elif strategy in ("RerunOnFailure", "Manual"):
        phase = (vmi.get("status") or {}).get("phase") if vmi else None
        needs_restart = (strategy == "RerunOnFailure" and phase == "Succeeded") or \
            (strategy == "Manual" and is_final(vmi))
        if strategy == "RerunOnFailure" and phase == "Failed":
            raise kstatus.conflict(VM_GR, ctx.name, "RerunOnFailure does not support starting VM from failed state")
        start: dict[str, Any] = {"action": "Start"}
        if data:
            start["data"] = data
        changes = [{"action": "Stop", "uid": vmi["metadata"]["uid"]}, start] if needs_restart and vmi else [start]
        st = _change_requests(vm, changes)
        if not dry:
            ctx.set_vm_status(lambda s: (s.clear(), s.update(st)))
    else:
        raise kstatus.conflict(VM_GR, ctx.name, f"{strategy} does not support manual start requests")
    return _accepted()


def stop_vm(ctx: Ctx, raw: bytes) -> web.Response:
    opts = decode_opts(raw)
    dry = dry_run_of(opts)
    vm = ctx.vm()
    strategy = ctx.strategy(vm)
    vmi = ctx.vmi_or_none()
    grace = opts.get("gracePeriod")
    old_grace = None
    if vmi is not None and not is_final(vmi) and grace is not None:
        old_grace = (vmi.get("spec") or {}).get("terminationGracePeriodSeconds")
        if not dry:
            ctx.sim.store.mutate(ctx.VMI, ctx.ns, ctx.name,
                                 lambda o: o.setdefault("spec", {}).__setitem__("terminationGracePeriodSeconds",
                                                                                 grace))
    if strategy == "Halted":
        if vmi is None or is_final(vmi):
            raise kstatus.conflict(VM_GR, ctx.name, "VM is not running")
        if grace is None or (old_grace is not None and grace >= old_grace):
            raise kstatus.conflict(VM_GR, ctx.name, "Halted only supports manual stop requests with a shorter "
                                                    "graceperiod")
        st = _change_requests(vm, [{"action": "Stop", "uid": vmi["metadata"]["uid"]}])
        if not dry:
            ctx.set_vm_status(lambda s: (s.clear(), s.update(st)))
    elif strategy in ("RerunOnFailure", "Manual"):
        if vmi is None or is_final(vmi):
            raise kstatus.conflict(VM_GR, ctx.name, "VM is not running")
        st = _change_requests(vm, [{"action": "Stop", "uid": vmi["metadata"]["uid"]}])
        if not dry:
            ctx.set_vm_status(lambda s: (s.clear(), s.update(st)))
    elif not dry:
        def halt(o: dict) -> None:
            if (o.get("spec") or {}).get("runStrategy") is not None:
                o["spec"]["runStrategy"] = "Halted"
            else:
                o.setdefault("spec", {})["running"] = False
        ctx.sim.store.mutate(ctx.VM, ctx.ns, ctx.name, halt)
    return _accepted()


def restart_vm(ctx: Ctx, raw: bytes) -> web.Response:
    opts = decode_opts(raw)
    grace = opts.get("gracePeriodSeconds")
    if grace is not None:
        if grace > 0:
            raise kstatus.bad_request("For force restart, only gracePeriod=0 is supported for now")
        if grace < 0:
            raise kstatus.bad_request("gracePeriod has to be greater or equal to 0")
    vm = ctx.vm()
    strategy = ctx.strategy(vm)
    if strategy in ("Halted", "Once"):
        raise kstatus.conflict(VM_GR, ctx.name, f"RunStategy {strategy} does not support manual restart requests")
    vmi = ctx.vmi_or_none()
    if vmi is None:
        raise kstatus.conflict(VM_GR, ctx.name, "VM is not running: Halted")
    st = _change_requests(vm, [{"action": "Stop", "uid": vmi["metadata"]["uid"]}, {"action": "Start"}])
    if not dry_run_of(opts):
        if grace == 0 and not is_final(vmi):  # --force --grace-period=0: the guest is killed, not shut down
            ctx.sim.store.mutate(ctx.VMI, ctx.ns, ctx.name, lambda o: o.setdefault("spec", {}).__setitem__(
                "terminationGracePeriodSeconds", 0))
        ctx.set_vm_status(lambda s: (s.clear(), s.update(st)))
    return _accepted()


def migrate_vm(ctx: Ctx, raw: bytes) -> web.Response:
    opts = decode_opts(raw)
    ctx.vm()
    vmi = ctx.vmi()
    if (vmi.get("status") or {}).get("phase") != "Running":
        raise kstatus.conflict(VM_GR, ctx.name, "VM is not running")
    spec: dict[str, Any] = {"vmiName": ctx.name}
    if opts.get("addedNodeSelector"):
        spec["addedNodeSelector"] = opts["addedNodeSelector"]
    mig = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceMigration",
           "metadata": {"generateName": "kubevirt-migrate-vm-", "namespace": ctx.ns}, "spec": spec}
    try:
        ctx.sim.store.create(ctx.sim.res("VirtualMachineInstanceMigration"), mig, dry_run=dry_run_of(opts))
    except StatusError as e:
        raise kstatus.internal(e.message) from None
    return _accepted()


# ----------------------------------------------------------------------------------------------
# VMI actions (through "virt-handler")

def _handler_reachable(vmi: dict) -> None:
    phase = (vmi.get("status") or {}).get("phase", "")
    if phase not in ("Running", "Scheduled"):
        raise kstatus.bad_request(f"Unable to connect to VirtualMachineInstance because phase is {phase} instead "
                                  f"of Running or Scheduled")


async def _guest_action(ctx: Ctx, vmi: dict, what: str) -> None:
    """Do it to a real guest too (QMP stop/cont/system_reset...); its error is virt-handler's 500."""
    problem = await ctx.sim.guests.action(vmi, what)
    if problem:
        raise kstatus.internal(problem)


async def pause_vmi(ctx: Ctx, raw: bytes) -> web.Response:
    opts = decode_opts(raw)
    vmi = ctx.vmi()
    if (vmi.get("status") or {}).get("phase") != "Running":
        raise kstatus.conflict(VMI_GR, ctx.name, "VM is not running")
    if (vmi.get("spec") or {}).get("livenessProbe") is not None:
        raise kstatus.forbidden(VMI_GR, ctx.name, "Pausing VMIs with LivenessProbe is currently not supported")
    if has_condition(vmi, "Paused"):
        raise kstatus.conflict(VMI_GR, ctx.name, "VMI is already paused")
    ms = (vmi.get("status") or {}).get("migrationState") or {}
    if ms and not ms.get("completed"):
        raise kstatus.conflict(VMI_GR, ctx.name, f"Cannot pause VM '{ctx.name}' because it is currently being "
                                                 f"migrated")
    _handler_reachable(vmi)
    if not dry_run_of(opts):
        await _guest_action(ctx, vmi, "pause")
        ctx.sim.store.mutate(ctx.VMI, ctx.ns, ctx.name,
                             lambda o: set_condition(o, "Paused", "True", "PausedByUser", "VMI was paused by user"))
    return _ok()


async def unpause_vmi(ctx: Ctx, raw: bytes) -> web.Response:
    vm = ctx.sim.store.get(ctx.VM, ctx.ns, ctx.name)
    if vm is not None and (vm.get("status") or {}).get("snapshotInProgress"):
        raise kstatus.conflict(VM_GR, ctx.name, "VM snapshot is in progress")
    vmi = ctx.vmi()
    if (vmi.get("status") or {}).get("phase") != "Running":
        raise kstatus.conflict(VMI_GR, ctx.name, "VMI is not running")
    if not has_condition(vmi, "Paused"):
        raise kstatus.conflict(VMI_GR, ctx.name, "VMI is not paused")
    opts = decode_opts(raw)
    _handler_reachable(vmi)
    if not dry_run_of(opts):
        await _guest_action(ctx, vmi, "unpause")

        def unpause(o: dict) -> None:
            remove_condition(o, "Paused")
            if (o.get("spec") or {}).get("startStrategy") == "Paused":
                o["spec"].pop("startStrategy")
        ctx.sim.store.mutate(ctx.VMI, ctx.ns, ctx.name, unpause)
    return _ok()


async def softreboot_vmi(ctx: Ctx, raw: bytes) -> web.Response:
    vmi = ctx.vmi()
    if (vmi.get("status") or {}).get("phase") != "Running":
        raise kstatus.conflict(VMI_GR, ctx.name, "VM is not running")
    if has_condition(vmi, "Paused", "True"):
        raise kstatus.conflict(VMI_GR, ctx.name, "VMI is paused")
    if not has_condition(vmi, "AgentConnected"):
        acpi = (((vmi.get("spec") or {}).get("domain") or {}).get("features") or {}).get("acpi") or {}
        if acpi.get("enabled") is False:
            raise kstatus.conflict(VMI_GR, ctx.name, "VMI neither have the agent connected nor the ACPI feature "
                                                     "enabled")
    _handler_reachable(vmi)
    await _guest_action(ctx, vmi, "softreboot")
    ctx.sim.controllers.event(vmi, "SoftRebooted", "VirtualMachineInstance soft rebooted", component="virt-handler")
    return _ok()


async def reset_vmi(ctx: Ctx, raw: bytes) -> web.Response:
    vmi = ctx.vmi()
    try:
        _handler_reachable(vmi)
    except StatusError as e:
        phase = (vmi.get("status") or {}).get("phase", "")
        raise kstatus.bad_request(f"Failed to reset non-running VMI with phase {phase}: {e.message}") from None
    await _guest_action(ctx, vmi, "reset")
    ctx.sim.controllers.event(vmi, "Reset", "VirtualMachineInstance reset", component="virt-handler")
    return _ok()


def freeze_vmi(ctx: Ctx, raw: bytes, unfreeze: bool = False) -> web.Response:
    vmi = ctx.vmi()
    if (vmi.get("status") or {}).get("phase") != "Running":
        raise kstatus.conflict(VMI_GR, ctx.name, "VMI is not running" if unfreeze else "VM is not running")
    _handler_reachable(vmi)
    if not unfreeze:
        decode_opts(raw)
    return _ok()


def _guest(ctx: Ctx, what: str) -> web.Response:
    vmi = ctx.vmi()
    if (vmi.get("status") or {}).get("phase") != "Running":
        raise kstatus.conflict(VMI_GR, ctx.name, "VMI is not running")
    if not has_condition(vmi, "AgentConnected"):
        raise kstatus.conflict(VMI_GR, ctx.name, "VMI does not have guest agent connected")
    return json_response(ctx.sim.guest_agent(ctx.ns, ctx.name)[what])


# ----------------------------------------------------------------------------------------------
# hotplug volumes

def _volume_source_name(src: dict) -> str:
    if src.get("dataVolume"):
        return src["dataVolume"].get("name", "")
    if src.get("persistentVolumeClaim"):
        return src["persistentVolumeClaim"].get("claimName", "")
    return ""


def _volume_exists(vol: dict, name: str) -> bool:
    return vol.get("name") == name or (vol.get("dataVolume") or {}).get("name") == name or \
        (vol.get("persistentVolumeClaim") or {}).get("claimName") == name


def _verify_volume(volumes: list[dict], req: dict) -> str | None:
    add, rem = req.get("addVolumeOptions"), req.get("removeVolumeOptions")
    found = False
    for vol in volumes:
        if add:
            src_name = _volume_source_name(add.get("volumeSource") or {})
            if vol.get("name") == add.get("name"):
                return f"Unable to add volume [{add['name']}] because volume with that name already exists"
            if src_name and ((vol.get("dataVolume") or {}).get("name") == src_name or
                             (vol.get("persistentVolumeClaim") or {}).get("claimName") == src_name):
                return f"Unable to add volume source [{src_name}] because it already exists"
        elif rem and _volume_exists(vol, rem.get("name", "")):
            hot = any((vol.get(k) or {}).get("hotpluggable") for k in ("dataVolume", "persistentVolumeClaim"))
            if not hot:
                return f"Unable to remove volume [{vol.get('name')}] because it is not hotpluggable"
            found = True
            break
    if rem and not found:
        return f"Unable to remove volume [{rem.get('name')}] because it does not exist"
    return None


def _volume_request(ctx: Ctx, raw: bytes, ephemeral: bool, remove: bool) -> web.Response:
    if not ctx.sim.config.get("hotplug_volumes", True):
        what = "Remove" if remove else "Add"
        raise kstatus.bad_request(f"Unable to {what} Volume because HotplugVolumes feature gate is not enabled.")
    opts = decode_opts(raw)
    if remove:
        if not opts.get("name"):
            raise kstatus.bad_request("RemoveVolumeOptions requires name to be set")
        req = {"removeVolumeOptions": opts}
    else:
        if not opts.get("name"):
            raise kstatus.bad_request("AddVolumeOptions requires name to be set")
        if opts.get("disk") is None:
            raise kstatus.bad_request("AddVolumeOptions requires disk to not be nil")
        if opts.get("volumeSource") is None:
            raise kstatus.bad_request("AddVolumeOptions requires VolumeSource to not be nil")
        opts["disk"]["name"] = opts["name"]
        src = opts["volumeSource"]
        for k in ("dataVolume", "persistentVolumeClaim"):
            if isinstance(src.get(k), dict):
                src[k]["hotpluggable"] = True
                break
        req = {"addVolumeOptions": opts}
    dry = dry_run_of(opts)
    if ephemeral:
        vmi = ctx.vmi()
        if (vmi.get("status") or {}).get("phase") != "Running":
            raise kstatus.conflict(VMI_GR, ctx.name, "VMI is not running")
        err = _verify_volume((vmi.get("spec") or {}).get("volumes") or [], req)
        if err:
            raise kstatus.conflict(VMI_GR, ctx.name, err)
        if not dry:
            ctx.sim.store.mutate(ctx.VMI, ctx.ns, ctx.name,
                                 lambda o: apply_volume_request(o.setdefault("spec", {}), req))
        return _accepted()
    vm = ctx.vm()
    tvols = (((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or []
    err = _verify_volume(tvols, req)
    if err:
        raise kstatus.conflict(VM_GR, ctx.name, err)
    existing = (vm.get("status") or {}).get("volumeRequests") or []
    name = opts["name"]
    new = []
    for r in existing:
        a, rm = r.get("addVolumeOptions"), r.get("removeVolumeOptions")
        if not remove:
            if a and a.get("name") == name:
                raise kstatus.conflict(VM_GR, ctx.name, f"add volume request for volume [{name}] already exists")
            if rm and rm.get("name") == name:
                raise kstatus.conflict(VM_GR, ctx.name, f"unable to add volume since a remove volume request for "
                                                        f"volume [{name}] already exists and is still being "
                                                        f"processed")
        else:
            if a and a.get("name") == name:
                continue
            if rm and rm.get("name") == name:
                raise kstatus.conflict(VM_GR, ctx.name, f"a remove volume request for volume [{name}] already "
                                                        f"exists and is still being processed")
        new.append(r)
    new.append(req)
    if not dry:
        ctx.set_vm_status(lambda s: s.__setitem__("volumeRequests", new))
    return _accepted()


# ----------------------------------------------------------------------------------------------
# memory dump

_QTY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_MULT = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "Ki": 2**10, "Mi": 2**20,
         "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "m": 0.001}


def quantity(text: Any) -> float:
    m = _QTY.match(str(text or "0").strip())
    if not m or m.group(2) not in _MULT:
        return 0.0
    return float(m.group(1)) * _MULT[m.group(2)]


def memorydump_vm(ctx: Ctx, raw: bytes) -> web.Response:
    if not ctx.sim.config.get("hotplug_volumes", True):
        raise kstatus.bad_request("Unable to memory dump because HotplugVolumes feature gate is not enabled.")
    opts = decode_opts(raw)
    vm = ctx.vm()
    claim = opts.get("claimName") or ""
    current = (vm.get("status") or {}).get("memoryDumpRequest")
    if not claim and current is None:
        raise kstatus.bad_request("Memory dump requires claim name to be set")
    if current is not None and claim and current.get("claimName") != claim:
        raise kstatus.conflict(VM_GR, ctx.name, f"can't request memory dump for pvc [{claim}] while pvc "
                                                f"[{current.get('claimName')}] is still associated as the memory "
                                                f"dump pvc")
    if current is not None and not claim:
        claim = current.get("claimName", "")
    vmi = ctx.vmi()
    if (vmi.get("status") or {}).get("phase") != "Running":
        raise kstatus.conflict(VMI_GR, ctx.name, "VMI is not running")
    pvc = ctx.sim.store.get(ctx.sim.res("PersistentVolumeClaim"), ctx.ns, claim)
    if pvc is None:
        raise kstatus.not_found(PVC_GR, claim)
    pspec = pvc.get("spec") or {}
    if pspec.get("volumeMode") == "Block":
        raise kstatus.conflict(PVC_GR, claim, "pvc should be filesystem pvc")
    if "ReadOnlyMany" in (pspec.get("accessModes") or []):
        raise kstatus.conflict(PVC_GR, claim, "pvc access mode can't be read only")
    mem = quantity((((vmi.get("spec") or {}).get("domain") or {}).get("resources") or {}).get("requests", {})
                   .get("memory") or ((vmi.get("spec") or {}).get("domain") or {}).get("memory", {}).get("guest"))
    expected = (mem + 100 * 2**20) * 1.055
    size = quantity(((pspec.get("resources") or {}).get("requests") or {}).get("storage"))
    if size < math.floor(expected / 1000) * 1000:
        raise kstatus.conflict(PVC_GR, claim, f"pvc size [{_fmt_k(size)}] should be bigger then "
                                              f"[{_fmt_k(expected)}]")
    if current is not None:
        if current.get("phase") == "Dissociating":
            raise kstatus.conflict(VM_GR, ctx.name, f"can't dump memory for pvc [{claim}] a remove memory dump "
                                                    f"request is in progress")
        if current.get("phase") not in ("Completed", "Failed"):
            raise kstatus.conflict(VM_GR, ctx.name, f"memory dump request for pvc [{claim}] already in progress")
    req = {"claimName": claim, "phase": "Associating"}
    ctx.set_vm_status(lambda s: s.__setitem__("memoryDumpRequest", req))
    return _accepted()


def _fmt_k(n: float) -> str:
    return f"{int(math.ceil(n / 1000))}k"


def remove_memorydump_vm(ctx: Ctx, raw: bytes) -> web.Response:
    vm = ctx.vm()
    current = (vm.get("status") or {}).get("memoryDumpRequest")
    if current is None:
        raise kstatus.conflict(VM_GR, ctx.name, f"can't remove memory dump association for vm {ctx.name}, no "
                                                f"association found")
    if current.get("remove"):
        raise kstatus.conflict(VM_GR, ctx.name, f"memory dump remove request for pvc [{current.get('claimName')}] "
                                                f"already exists")
    req = {"claimName": current.get("claimName", ""), "phase": "Dissociating", "remove": True}
    ctx.set_vm_status(lambda s: s.__setitem__("memoryDumpRequest", req))
    return _accepted()


# ----------------------------------------------------------------------------------------------
# expand, evacuate, objectgraph

def expand_spec(ctx: Ctx, raw: bytes) -> web.Response:
    vm = ctx.vm()
    vm["apiVersion"], vm["kind"] = "kubevirt.io/v1", "VirtualMachine"
    return json_response(vm)


async def expand_vm_spec(ctx: Ctx) -> web.Response:
    raw = await ctx.request.read()
    if not raw.strip():
        raise kstatus.bad_request(UNMARSHAL.format("EOF"))
    vm = decode_opts(raw)
    md = vm.setdefault("metadata", {})
    if md.get("namespace") and md["namespace"] != ctx.ns:
        raise kstatus.bad_request(f"VM namespace must be empty or {ctx.ns}")
    md["namespace"] = ctx.ns
    vm["apiVersion"], vm["kind"] = "kubevirt.io/v1", "VirtualMachine"
    return json_response(vm)


def _evacuate_cancel(ctx: Ctx, raw: bytes, vmi: dict) -> web.Response:
    node = (vmi.get("status") or {}).get("evacuationNodeName") or ""
    if not node:
        return _ok()
    opts = decode_opts(raw)
    if opts.get("evacuationNodeName") != node:
        raise kstatus.internal("testing value /status/evacuationNodeName failed: test failed")
    if not dry_run_of(opts):
        ctx.sim.store.mutate(ctx.VMI, ctx.ns, ctx.name,
                             lambda o: o.setdefault("status", {}).pop("evacuationNodeName", None))
    return _ok()


def objectgraph(ctx: Ctx, raw: bytes, kind: str) -> web.Response:
    """virt-api's order: the feature gate, the object, the options, then the graph (sim/objectgraph.py)."""
    from pyvirtctl.sim import objectgraph as og

    if not og.feature_gate_enabled(ctx.sim):
        raise kstatus.bad_request("ObjectGraph feature gate not enabled: Unable to return object graph.")
    obj = ctx.vm() if kind == "vm" else ctx.vmi()
    opts = decode_opts(raw)
    return json_response(og.object_graph(ctx.sim, obj, kind, opts))


VM_HANDLERS: dict[str, tuple[str, Any]] = {
    "start": ("PUT", start_vm),
    "stop": ("PUT", stop_vm),
    "restart": ("PUT", restart_vm),
    "migrate": ("PUT", migrate_vm),
    "addvolume": ("PUT", lambda c, r: _volume_request(c, r, ephemeral=False, remove=False)),
    "removevolume": ("PUT", lambda c, r: _volume_request(c, r, ephemeral=False, remove=True)),
    "memorydump": ("PUT", memorydump_vm),
    "removememorydump": ("PUT", remove_memorydump_vm),
    "expand-spec": ("GET", expand_spec),
    "evacuate/cancel": ("PUT", lambda c, r: _evacuate_cancel(c, r, c.vmi_for_vm())),
    "objectgraph": ("GET", lambda c, r: objectgraph(c, r, "vm")),
}

VMI_HANDLERS: dict[str, tuple[str, Any]] = {
    "pause": ("PUT", pause_vmi),
    "unpause": ("PUT", unpause_vmi),
    "softreboot": ("PUT", softreboot_vmi),
    "reset": ("PUT", reset_vmi),
    "freeze": ("PUT", freeze_vmi),
    "unfreeze": ("PUT", lambda c, r: freeze_vmi(c, r, unfreeze=True)),
    "guestosinfo": ("GET", lambda c, r: _guest(c, "guestosinfo")),
    "userlist": ("GET", lambda c, r: _guest(c, "userlist")),
    "filesystemlist": ("GET", lambda c, r: _guest(c, "filesystemlist")),
    "addvolume": ("PUT", lambda c, r: _volume_request(c, r, ephemeral=True, remove=False)),
    "removevolume": ("PUT", lambda c, r: _volume_request(c, r, ephemeral=True, remove=True)),
    "evacuate/cancel": ("PUT", lambda c, r: _evacuate_cancel(c, r, c.vmi())),
    "objectgraph": ("GET", lambda c, r: objectgraph(c, r, "vmi")),
}


# ----------------------------------------------------------------------------------------------
# websocket endpoints: validation (shared with pyvirtctl.sim.streams) and the no-streams fallback

def _stream_validate(ctx: Ctx, kind: str, vm_route: bool) -> dict:
    """Raise the StatusError virt-api would answer for this stream request, or return the VMI."""
    vmi = ctx.vmi_for_vm() if vm_route else ctx.vmi()
    st = vmi.get("status") or {}
    phase = st.get("phase", "")
    devices = (((vmi.get("spec") or {}).get("domain") or {}).get("devices") or {})
    if kind == "console":
        if devices.get("autoattachSerialConsole") is False:
            raise kstatus.bad_request("No serial consoles are present.")
        if phase == "Failed":
            raise kstatus.conflict(VMI_GR, ctx.name, "VMI is in failed status")
        if phase != "Running":
            raise kstatus.bad_request("VMI is not running")
    elif kind in ("vnc", "screenshot"):
        if devices.get("autoattachGraphicsDevice") is False:
            raise kstatus.bad_request("No graphics devices are present.")
        if phase != "Running":
            raise kstatus.bad_request("VMI is not running")
    elif kind == "usbredir":
        if not (devices.get("clientPassthrough") is not None):
            raise kstatus.conflict(VMI_GR, ctx.name, "Not configured with USB Redirection")
        if phase != "Running":
            raise kstatus.bad_request("VMI is not running")
    elif kind == "portforward":
        if phase != "Running":
            raise kstatus.bad_request("VMI is not running")
        if has_condition(vmi, "Paused", "True"):
            raise kstatus.conflict(VMI_GR, ctx.name, "VMI is paused")
        if not st.get("interfaces"):
            raise kstatus.bad_request("no network interfaces are present")
    return vmi


def stream_precheck(sim: Simulator, request: web.Request, kind: str) -> tuple[dict | None, web.Response | None]:
    route = parse_path(request.path)
    if route is None or route.namespace is None or not route.name:
        e = kstatus.unknown_path()
        return None, sim.status_response(e.code, e.reason, e.message, e.details)
    ctx = Ctx(sim, request, route)
    try:
        return _stream_validate(ctx, kind, route.plural == "virtualmachines"), None
    except StatusError as e:
        if kind == "screenshot":
            text = e.message
            return None, web.Response(text=text, status=500, content_type="text/plain")
        return None, sim.status_response(e.code, e.reason, e.message, e.details)


def stream_fallback(ctx: Ctx, kind: str, sub: str) -> web.Response:
    """Stream endpoints when pyvirtctl.sim.streams is absent: validate, then fail like an unreachable backend."""
    skind = "screenshot" if sub == "vnc/screenshot" else sub.split("/")[0]
    if skind == "portforward":
        parts = sub.split("/")
        if len(parts) < 2 or not parts[1].isdigit() or (len(parts) > 2 and parts[2] not in ("tcp", "udp")):
            raise kstatus.unknown_path()
    vmi, err = stream_precheck(ctx.sim, ctx.request, skind)
    if err is not None:
        return err
    assert vmi is not None
    st = vmi.get("status") or {}
    if skind == "portforward":
        ip = (st.get("interfaces") or [{}])[0].get("ipAddress", "")
        port = sub.split("/")[1]
        return _internal(ctx, f"dialing VM: dial tcp {ip}:{port}: connect: connection refused")
    node_ip = "192.168.66.10" + str(1 + (ctx.sim.config.get("nodes") or []).index(st.get("nodeName"))
                                    if st.get("nodeName") in (ctx.sim.config.get("nodes") or []) else 1)
    msg = f"dial tcp {node_ip}:8186: connect: connection refused"
    if skind == "screenshot":
        return web.Response(text=msg, status=500, content_type="text/plain")
    return _internal(ctx, msg)


def _internal(ctx: Ctx, msg: str) -> web.Response:
    e = kstatus.internal(msg)
    return ctx.sim.status_response(e.code, e.reason, e.message, e.details)

