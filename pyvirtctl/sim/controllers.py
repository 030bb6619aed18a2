"""Small stand-ins for virt-controller, virt-handler, CDI and the garbage collector.

One asyncio task reconciles everything whenever the store changes (or a delayed step is due).
Each object advances at most one step per `config["delay"]` seconds, so with `--delay 0.5`
a started VM visibly goes Starting -> Running over ~2 s, and with delay 0 it is immediate
(every intermediate state is still written, so watchers see each transition).

VM lifecycle:   start -> VMI Pending -> Scheduling -> Scheduled -> Running (node, pod IP)
                stop  -> VMI gets deletionTimestamp -> Succeeded -> removed
Migration:      Pending -> Scheduling -> Scheduled -> PreparingTarget -> TargetReady -> Running
                -> Succeeded; the VMI moves to the target node, status.migrationState is filled.
Launcher pods:  a VMI in Scheduling gets a virt-launcher Pod (Pending); it runs on the VMI's node
                from Scheduled on, with the VMI's IP; it completes when the VMI stops (or migrates
                away, when the migration target's pod takes over) and is garbage-collected with
                the VMI. Nodes come from config["nodes"].
Other pods:     scheduled on a node whose labels match the nodeSelector (ContainerCreating), then
                Running with an IP (`pyvirtctl.sim.pods`); they stay Pending, Unschedulable, while a
                PVC they mount is missing or no node matches.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sys
import traceback
import uuid
from typing import TYPE_CHECKING, Any

from pyvirtctl.sim import kstatus, launcher, pods, templates
from pyvirtctl.sim.kstatus import clone
from pyvirtctl.sim.patching import merge_patch
from pyvirtctl.sim.store import now_iso, random_suffix

if TYPE_CHECKING:
    from pyvirtctl.sim.state import SimState

FINAL = ("Succeeded", "Failed")
ACTIVE_MIGRATION = ("", "Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running")
MIGRATION_STEPS = ["Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running", "Succeeded"]


selector_id = launcher.selector_id


def run_strategy(vm: dict) -> str:
    spec = vm.get("spec") or {}
    running, strategy = spec.get("running"), spec.get("runStrategy")
    if running is not None and strategy is not None:
        raise ValueError("running and runstrategy are mutually exclusive")
    if strategy:
        return strategy
    return "Always" if running else "Halted"


def has_condition(obj: dict, ctype: str, status: str | None = None) -> bool:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype and (status is None or c.get("status") == status):
            return True
    return False


def set_condition(obj: dict, ctype: str, status: str, reason: str = "", message: str = "") -> None:
    conds = obj.setdefault("status", {}).setdefault("conditions", [])
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = now_iso()
            c["status"] = status
            if reason:
                c["reason"] = reason
            else:
                c.pop("reason", None)
            if message:
                c["message"] = message
            else:
                c.pop("message", None)
            return
    c = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": now_iso()}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    conds.append(c)


def remove_condition(obj: dict, ctype: str) -> None:
    st = obj.get("status") or {}
    if "conditions" in st:
        st["conditions"] = [c for c in st["conditions"] if c.get("type") != ctype]


def is_final(vmi: dict | None) -> bool:
    return vmi is not None and (vmi.get("status") or {}).get("phase") in FINAL


def owner_ref(obj: dict, block: bool = True) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": block}


class Controllers:
    def __init__(self, sim: SimState) -> None:
        self.sim = sim
        self.store = sim.store
        self._event: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._wake_in: float | None = None
        self.last_step: dict[str, float] = {}
        self.vm_flags: dict[str, dict[str, bool]] = {}
        self.node_rr = 0
        self.ip_counter = 10
        self.pods: dict[str, str] = {}  # VMI uid -> name of its current virt-launcher pod
        self.pod_ips: dict[str, str] = {}  # VMI uid -> the pod (and guest) IP
        self.unpaused: dict[str, bool] = {}  # VMI uid -> what its pod's readiness gate says
        self.target_pods: dict[str, str] = {}  # migration uid -> the target's launcher pod

    # -- resources
    @property
    def POD(self):  # noqa: N802
        return self.sim.res("Pod")

    @property
    def VM(self):  # noqa: N802
        return self.sim.res("VirtualMachine")

    @property
    def VMI(self):  # noqa: N802
        return self.sim.res("VirtualMachineInstance")

    @property
    def VMIM(self):  # noqa: N802
        return self.sim.res("VirtualMachineInstanceMigration")

    # -- loop
    def kick(self) -> None:
        if self._event is not None:
            self._event.set()

    def start(self) -> None:
        self._event = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    def reset(self) -> None:
        self.last_step.clear()
        self.vm_flags.clear()
        self.node_rr = 0
        self.ip_counter = 10
        self.pods.clear()
        self.pod_ips.clear()
        self.unpaused.clear()
        self.target_pods.clear()

    async def _run(self) -> None:
        assert self._event is not None
        while True:
            self._event.clear()
            self._wake_in = None
            try:
                self.reconcile_all()
            except Exception:
                traceback.print_exc(file=sys.stderr)
                self._wake_in = 0.5
            await asyncio.sleep(0)
            if self._event.is_set():
                # a burst of writes (a client starting 100 VMs): let it land, then reconcile once
                await asyncio.sleep(0.002)
                continue
            try:
                await asyncio.wait_for(self._event.wait(), timeout=self._wake_in if self._wake_in else 5.0)
            except TimeoutError:
                pass

    def _wake(self, seconds: float) -> None:
        self._wake_in = seconds if self._wake_in is None else min(self._wake_in, seconds)

    def gate(self, key: str) -> bool:
        """True if the object `key` may take its next step now (one step per delay)."""
        delay = float(self.sim.config.get("delay") or 0)
        if delay <= 0:
            return True
        now = asyncio.get_running_loop().time()
        last = self.last_step.get(key)
        if last is None:
            self.last_step[key] = now
            self._wake(delay)
            return False
        if now - last >= delay:
            self.last_step[key] = now
            return True
        self._wake(last + delay - now + 0.001)
        return False

    # -- everything
    def reconcile_all(self) -> None:
        # The VM and VMI passes read the stored objects without copying them (they run after every
        # burst of writes, over every object): each reconcile_* only reads its argument and writes
        # through store.mutate/create/delete, which work on copies.
        self.sim.ensure_nodes()
        for vm in self.store.list(self.VM, copy=False):
            try:
                self.reconcile_vm(vm)
            except ValueError:
                pass
        for vmi in self.store.list(self.VMI, copy=False):
            self.reconcile_vmi(vmi)
        for mig in self.store.list(self.VMIM):
            self.reconcile_migration(mig)
        for rs in self.store.list(self.sim.res("VirtualMachineInstanceReplicaSet")):
            self.reconcile_rs(rs)
        # virt-template: templates become Ready, requests make templates (pyvirtctl/sim/templates.py)
        templates.reconcile(self.sim, self.gate)
        for dv in self.store.list(self.sim.res("DataVolume")):
            self.reconcile_dv(dv)
        for pod in self.store.list(self.POD, copy=False):
            if (pod.get("status") or {}).get("phase") == "Pending" and pods.is_plain(pod):
                self.reconcile_pod(pod)
        self.collect_garbage()
        for vm in self.store.list(self.VM, copy=False):  # read-only: it writes through store.mutate
            self.update_vm_status(vm)

    # ------------------------------------------------------------------------------------------
    # events

    def event(self, obj: dict, reason: str, message: str, etype: str = "Normal",
              component: str = "virtualmachine-controller") -> None:
        md = obj["metadata"]
        ns = md.get("namespace") or self.sim.namespace
        now = now_iso()
        ev = {"metadata": {"name": f"{md['name']}.{secrets.token_hex(8)}", "namespace": ns},
              "involvedObject": {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": md["name"],
                                 "namespace": ns, "uid": md.get("uid"),
                                 "resourceVersion": md.get("resourceVersion")},
              "reason": reason, "message": message, "type": etype, "count": 1,
              "source": {"component": component}, "firstTimestamp": now, "lastTimestamp": now,
              "reportingComponent": component, "reportingInstance": ""}
        try:
            self.sim.ensure_namespace(ns)
            self.store.create(self.sim.res("Event"), ev)
        except kstatus.StatusError:
            pass

    # ------------------------------------------------------------------------------------------
    # VirtualMachine

    def _flags(self, vm: dict) -> dict[str, bool]:
        return self.vm_flags.setdefault(vm["metadata"]["uid"], {})

    def create_vmi_for(self, vm: dict, paused: bool = False) -> dict | None:
        md = vm["metadata"]
        tmpl = clone((vm.get("spec") or {}).get("template") or {})
        tmd = tmpl.get("metadata") or {}
        spec = tmpl.get("spec") or {}
        spec.setdefault("domain", {}).setdefault("firmware", {}).setdefault("uuid", str(uuid.uuid4()))
        spec["domain"].setdefault("machine", {"type": "q35"})
        spec["domain"].setdefault("devices", {})
        if paused:
            spec["startStrategy"] = "Paused"
        labels = dict(tmd.get("labels") or {})
        labels["vmi.kubevirt.io/id"] = selector_id(md["name"])
        labels["kubevirt.io/created-by"] = md["uid"]
        annotations = dict(tmd.get("annotations") or {})
        annotations.setdefault("kubevirt.io/latest-observed-api-version", "v1")
        annotations.setdefault("kubevirt.io/storage-observed-api-version", "v1")
        vmi = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
               "metadata": {"name": md["name"], "namespace": md["namespace"], "labels": labels,
                            "annotations": annotations, "ownerReferences": [owner_ref(vm)],
                            "finalizers": ["kubevirt.io/virtualMachineControllerFinalize",
                                           "foregroundDeleteVirtualMachine"]},
               "spec": spec,
               "status": {"phase": "Pending", "guestOSInfo": {}, "qosClass": "Burstable",
                          "phaseTransitionTimestamps": [{"phase": "Pending",
                                                         "phaseTransitionTimestamp": now_iso()}]}}
        try:
            created = self.store.create(self.VMI, vmi)
        except kstatus.StatusError:
            return None
        self.event(vm, "SuccessfulCreate", f"Started the virtual machine by creating the new virtual machine "
                                           f"instance {md['name']}")
        return created

    def begin_stop(self, vmi: dict, by: dict | None = None) -> None:
        md = vmi["metadata"]
        if md.get("deletionTimestamp"):
            return
        if is_final(vmi):
            self.store.delete(self.VMI, md["namespace"], md["name"])
        else:
            self.store.mutate(self.VMI, md["namespace"], md["name"],
                              lambda o: o["metadata"].__setitem__("deletionTimestamp", now_iso()))
        if by is not None:
            self.event(by, "SuccessfulDelete", f"Stopped the virtual machine by deleting the virtual machine "
                                               f"instance {md['uid']}")

    def _set_vm_status(self, vm: dict, fn) -> None:
        md = vm["metadata"]
        self.store.mutate(self.VM, md["namespace"], md["name"], lambda o: fn(o.setdefault("status", {})))

    def reconcile_vm(self, vm: dict) -> None:
        md = vm["metadata"]
        ns, name, uid = md["namespace"], md["name"], md["uid"]
        strategy = run_strategy(vm)
        vmi = self.store.get(self.VMI, ns, name)
        if vmi is not None and not any(r.get("uid") == uid for r in vmi["metadata"].get("ownerReferences") or []):
            vmi_owned = False
        else:
            vmi_owned = True
        status = vm.get("status") or {}
        flags = self._flags(vm)
        self.process_volume_requests(vm, vmi)
        self.process_memory_dump(vm)
        reqs = status.get("stateChangeRequests") or []
        if reqs:
            r = reqs[0]
            if r.get("action") == "Stop":
                if vmi is not None and (not r.get("uid") or r["uid"] == vmi["metadata"]["uid"]):
                    if self.gate(uid):
                        self.begin_stop(vmi, by=vm)
                    return
                flags["stopped"] = True
                self._set_vm_status(vm, lambda s: s.__setitem__("stateChangeRequests", reqs[1:]) if reqs[1:]
                                    else s.pop("stateChangeRequests", None))
                return
            if r.get("action") == "Start":
                if vmi is not None and not is_final(vmi):
                    if vmi["metadata"].get("deletionTimestamp"):
                        return
                    self._set_vm_status(vm, lambda s: s.__setitem__("stateChangeRequests", reqs[1:]) if reqs[1:]
                                        else s.pop("stateChangeRequests", None))
                    return
                if vmi is not None:
                    if self.gate(uid):
                        self.begin_stop(vmi)
                    return
                if not self.gate(uid):
                    return
                paused = (r.get("data") or {}).get("paused") == "true"
                self.create_vmi_for(vm, paused=paused)
                flags["stopped"] = False
                flags["once_done"] = True
                self._set_vm_status(vm, lambda s: s.__setitem__("stateChangeRequests", reqs[1:]) if reqs[1:]
                                    else s.pop("stateChangeRequests", None))
                if strategy == "Halted":
                    def run(o: dict) -> None:
                        if "runStrategy" in o["spec"]:
                            o["spec"]["runStrategy"] = "Always"
                        else:
                            o["spec"]["running"] = True
                    self.store.mutate(self.VM, ns, name, run)
                return
        if not vmi_owned:
            return
        if strategy == "Halted":
            if vmi is not None and (is_final(vmi) or not vmi["metadata"].get("deletionTimestamp")):
                if self.gate(uid):
                    self.begin_stop(vmi, by=vm)
            return
        want = False
        if strategy == "Always":
            want = True
        elif strategy == "RerunOnFailure":
            want = not flags.get("stopped")
        elif strategy == "Once":
            want = not flags.get("once_done")
        if vmi is None:
            if want and self.gate(uid):
                self.create_vmi_for(vm)
                flags["once_done"] = True
            return
        phase = (vmi.get("status") or {}).get("phase")
        if (strategy == "Always" and phase in FINAL) or (strategy == "RerunOnFailure" and phase == "Failed"):
            if self.gate(uid):
                self.store.delete(self.VMI, ns, name)

    def update_vm_status(self, vm: dict) -> None:
        md = vm["metadata"]
        vmi = self.store.get(self.VMI, md["namespace"], md["name"])
        try:
            strategy = run_strategy(vm)
        except ValueError:
            return
        st = clone(vm.get("status") or {})
        old = clone(st)
        flags = self._flags(vm)
        vphase = (vmi.get("status") or {}).get("phase") if vmi else None
        if vmi is None:
            pending_start = any(r.get("action") == "Start" for r in st.get("stateChangeRequests") or [])
            wants = strategy == "Always" or (strategy == "RerunOnFailure" and not flags.get("stopped")) or \
                (strategy == "Once" and not flags.get("once_done"))
            printable = "Starting" if (pending_start or wants) else "Stopped"
        elif vmi["metadata"].get("deletionTimestamp") and vphase not in FINAL:
            printable = "Stopping"
        elif vphase in FINAL:
            printable = "Stopped" if vphase == "Succeeded" else "CrashLoopBackOff" if strategy == "Always" \
                else "Stopped"
        elif has_condition(vmi, "Paused", "True"):
            printable = "Paused"
        elif vphase == "Running":
            ms = (vmi.get("status") or {}).get("migrationState") or {}
            printable = "Migrating" if ms and not ms.get("completed") and not ms.get("failed") else "Running"
        else:
            printable = "Starting"
        st["printableStatus"] = printable
        st["runStrategy"] = strategy
        if vmi is not None and not is_final(vmi):
            st["created"] = True
        else:
            st.pop("created", None)
        ready = vmi is not None and vphase == "Running" and has_condition(vmi, "Ready", "True") \
            and not vmi["metadata"].get("deletionTimestamp")
        if ready:
            st["ready"] = True
        else:
            st.pop("ready", None)
        probe = {"status": st}
        if ready:
            set_condition(probe, "Ready", "True")
        else:
            reason = "VMINotExists" if vmi is None else "PodNotReady" if vphase != "Running" else "NotReady"
            set_condition(probe, "Ready", "False", reason,
                          "VMI does not exist" if vmi is None else "")
        if printable == "Paused":
            set_condition(probe, "Paused", "True", "PausedByUser", "VMI was paused by user")
        else:
            remove_condition(probe, "Paused")
        st = probe["status"]
        gen = md.get("generation")
        if gen is not None:
            st["observedGeneration"] = gen
            st["desiredGeneration"] = gen
        if st != old:
            self._set_vm_status(vm, lambda s: (s.clear(), s.update(st)))

    # ------------------------------------------------------------------------------------------
    # VirtualMachineInstance

    def _next_node(self, exclude: str | None = None) -> str:
        nodes = list(self.sim.config.get("nodes") or ["node01"])
        for _ in range(len(nodes) + 1):
            node = nodes[self.node_rr % len(nodes)]
            self.node_rr += 1
            if node != exclude or len(nodes) == 1:
                return node
        return nodes[0]

    def _node_index(self, node: str) -> int:
        nodes = list(self.sim.config.get("nodes") or ["node01"])
        return nodes.index(node) if node in nodes else 0

    # -- virt-launcher pods
    def _pod_name(self, vmi: dict) -> str | None:
        uid = vmi["metadata"]["uid"]
        name = self.pods.get(uid)
        if name is None:  # after a restart from --state: find it by label
            live = [p for p in self.store.list(self.POD, vmi["metadata"]["namespace"],
                                               f"kubevirt.io/created-by={uid}")
                    if (p.get("status") or {}).get("phase") not in FINAL
                    and not (p["metadata"].get("labels") or {}).get("kubevirt.io/migrationJobUID")]
            name = live[0]["metadata"]["name"] if live else None
            if name:
                self.pods[uid] = name
        return name

    def _create_pod(self, vmi: dict, migration_uid: str = "") -> dict | None:
        image = f"quay.io/kubevirt/virt-launcher:{self.sim.config['version']}"
        try:
            return self.store.create(self.POD, launcher.pod(vmi, image, migration_uid))
        except kstatus.StatusError:
            return None

    def _mutate_pod(self, ns: str, name: str | None, fn) -> dict | None:
        return self.store.mutate(self.POD, ns, name, fn) if name else None

    def _sync_pod_pause(self, vmi: dict) -> None:
        uid = vmi["metadata"]["uid"]
        unpaused = not has_condition(vmi, "Paused", "True")
        if self.unpaused.get(uid, True) == unpaused:
            return
        self.unpaused[uid] = unpaused
        self._mutate_pod(vmi["metadata"]["namespace"], self._pod_name(vmi),
                         lambda p: launcher.set_unpaused(p, unpaused, now_iso()))

    def _next_ip(self, node: str) -> str:
        nodes = list(self.sim.config.get("nodes") or ["node01"])
        idx = nodes.index(node) if node in nodes else 0
        self.ip_counter += 1
        return f"10.244.{idx}.{self.ip_counter % 250 + 2}"

    # -- other pods (scheduler + kubelet)
    def reconcile_pod(self, pod: dict) -> None:
        md = pod["metadata"]
        ns, name = md["namespace"], md["name"]
        if not self.gate(md["uid"]):
            return
        spec = pod.get("spec") or {}
        now = now_iso()
        if spec.get("nodeName"):
            ip = self._next_ip(spec["nodeName"])
            self._mutate_pod(ns, name, lambda p: pods.start(p, ip, now))
            return
        nodes = [n for n in self.store.list(self.sim.res("Node"), copy=False)]
        missing = [c for c in pods.claims(pod) if self.store.get(self.sim.res("PersistentVolumeClaim"), ns, c) is None]
        fitting = [n for n in nodes if pods.node_matches(n, spec.get("nodeSelector") or {})]
        if missing or not fitting:
            message = pods.missing_claim_message(missing[0], len(nodes)) if missing else pods.selector_message(
                len(nodes))
            conds = (pod.get("status") or {}).get("conditions") or []
            if not any(c.get("message") == message for c in conds):
                self._mutate_pod(ns, name, lambda p: pods.unschedulable(p, message, now))
            self._wake(1.0)  # the claim may appear later
            return
        wanted = {n["metadata"]["name"] for n in fitting}
        node = self._next_node()
        for _ in range(len(nodes)):
            if node in wanted:
                break
            node = self._next_node()
        if node not in wanted:
            node = sorted(wanted)[0]
        host_ip = launcher.node_ip(self._node_index(node))
        self._mutate_pod(ns, name, lambda p: pods.schedule(p, node, host_ip, now))

    def reconcile_vmi(self, vmi: dict) -> None:
        md = vmi["metadata"]
        ns, name, uid = md["namespace"], md["name"], md["uid"]
        st = vmi.get("status") or {}
        phase = st.get("phase", "")
        if md.get("deletionTimestamp"):
            if not self.gate(uid):
                return
            if phase not in FINAL and not self.sim.guests.stopped(vmi):
                return  # a real guest is powering off (the guest runtime kicks us when it is off)
            if phase not in FINAL:
                def finish(o: dict) -> None:
                    s = o.setdefault("status", {})
                    s["phase"] = "Succeeded"
                    s.setdefault("phaseTransitionTimestamps", []).append(
                        {"phase": "Succeeded", "phaseTransitionTimestamp": now_iso()})
                    set_condition(o, "Ready", "False", "PodTerminating")
                    remove_condition(o, "AgentConnected")
                    ms = s.get("migrationState")
                    if ms and not ms.get("completed"):
                        ms["failed"], ms["completed"] = True, True
                self.store.mutate(self.VMI, ns, name, finish)
                self._mutate_pod(ns, self._pod_name(vmi), lambda p: launcher.completed(p, now_iso()))
            else:
                self.store.delete(self.VMI, ns, name)
            return
        if phase in FINAL:
            return
        if phase == "Running":
            ms = st.get("migrationState") or {}
            if ms and not ms.get("completed") and ms.get("migrationUid") and not any(
                    m["metadata"]["uid"] == ms["migrationUid"] for m in self.store.list(self.VMIM, ns)):
                def abort(o: dict) -> None:
                    m = o["status"]["migrationState"]
                    m.update(abortRequested=True, abortStatus="Succeeded", completed=True, failed=True,
                             endTimestamp=now_iso())
                self.store.mutate(self.VMI, ns, name, abort)
                return
            if self.sim.guests.lost(vmi):
                self.admin_patch_vmi(ns, name, {"phase": "Failed", "reason": "GuestLost",
                                                "message": "its QEMU process is gone (the simulator restarted)"})
                return
            self._sync_pod_pause(vmi)
            self.sync_volume_status(vmi)
            return
        if not self.gate(uid):
            return
        nxt = {"": "Pending", "Pending": "Scheduling", "Scheduling": "Scheduled", "Scheduled": "Running"}.get(phase)
        if nxt is None:
            return
        if nxt == "Running":
            verdict, message = self.sim.guests.launch(vmi)
            if verdict == "wait":
                return  # a real guest is starting (the guest runtime kicks us when it is up)
            if verdict == "failed":
                self.admin_patch_vmi(ns, name, {"phase": "Failed", "reason": "GuestFailed", "message": message})
                return
        pod_uid = ""
        if nxt == "Scheduling" and self._pod_name(vmi) is None:
            created = self._create_pod(vmi)
            if created is not None:
                self.pods[uid] = created["metadata"]["name"]
        node = st.get("nodeName") or ""
        if nxt == "Scheduled":
            node = node or self._next_node()
            ip = self.pod_ips.setdefault(uid, self._next_ip(node))
            now = now_iso()
            started = self._mutate_pod(ns, self._pod_name(vmi), lambda p: launcher.scheduled(
                p, node, self._node_index(node), ip, now))
            pod_uid = started["metadata"]["uid"] if started else str(uuid.uuid4())

        def step(o: dict) -> None:
            s = o.setdefault("status", {})
            s["phase"] = nxt
            s.setdefault("phaseTransitionTimestamps", []).append(
                {"phase": nxt, "phaseTransitionTimestamp": now_iso()})
            labels = o["metadata"].setdefault("labels", {})
            labels.setdefault("vmi.kubevirt.io/id", selector_id(o["metadata"]["name"]))
            if nxt == "Scheduling":
                set_condition(o, "Ready", "False", "GuestNotRunning", "Guest VM is not reported as running")
            if nxt == "Scheduled":
                s["nodeName"] = node
                labels["kubevirt.io/nodeName"] = node
                s["activePods"] = {pod_uid: node}
            if nxt == "Running":
                run_node = s.get("nodeName") or node or self._next_node()
                s["nodeName"] = run_node
                ip = self.pod_ips.get(uid) or self._next_ip(run_node)
                if not s.get("interfaces"):
                    iface_name = "default"
                    ifaces = ((o.get("spec") or {}).get("domain") or {}).get("devices", {}).get("interfaces") or []
                    if ifaces:
                        iface_name = ifaces[0].get("name", "default")
                    s["interfaces"] = [{"infoSource": "domain, guest-agent", "interfaceName": "eth0",
                                        "ipAddress": ip, "ipAddresses": [ip], "mac": guest_mac(o["metadata"]["uid"]),
                                        "name": iface_name, "queueCount": 1, "linkState": "up"}]
                s["migrationMethod"] = "BlockMigration"
                s["migrationTransport"] = "Unix"
                s["launcherContainerImageVersion"] = f"quay.io/kubevirt/virt-launcher:{self.sim.config['version']}"
                set_condition(o, "Ready", "True")
                set_condition(o, "LiveMigratable", "True")
                if self._agent_enabled(o):
                    set_condition(o, "AgentConnected", "True")
                    ga = self.sim.guest_agent(o["metadata"]["namespace"], o["metadata"]["name"])["guestosinfo"]
                    s["guestOSInfo"] = {k: ga.get("os", {}).get(k2) for k, k2 in (
                        ("id", "id"), ("kernelRelease", "kernelRelease"), ("kernelVersion", "kernelVersion"),
                        ("machine", "machine"), ("name", "name"), ("prettyName", "prettyName"),
                        ("version", "version"), ("versionId", "versionId"))}
                if (o.get("spec") or {}).get("startStrategy") == "Paused":
                    set_condition(o, "Paused", "True", "PausedByUser", "VMI was paused by user")
                vols = self._volume_status(o, s.get("volumeStatus") or [])
                if vols:
                    s["volumeStatus"] = vols

        self.store.mutate(self.VMI, ns, name, step)

    def _agent_enabled(self, vmi: dict) -> bool:
        ann = vmi["metadata"].get("annotations") or {}
        val = ann.get("sim.pyvirtctl.io/guest-agent")
        if val is not None:
            return val.lower() not in ("false", "0", "no")
        return bool(self.sim.config.get("guest_agent", True))

    def _volume_status(self, vmi: dict, current: list[dict]) -> list[dict]:
        spec = vmi.get("spec") or {}
        by_name = {v.get("name"): v for v in current}
        out = []
        vd, sd = 0, 0
        for vol in spec.get("volumes") or []:
            vname = vol.get("name")
            hot = any((vol.get(k) or {}).get("hotpluggable") for k in ("dataVolume", "persistentVolumeClaim"))
            cur = by_name.get(vname)
            if hot:
                entry = cur or {"name": vname, "target": "", "phase": "Bound", "reason": "VolumeBound",
                                "message": "PVC is in phase Bound",
                                "hotplugVolume": {"attachPodName": f"hp-volume-{random_suffix()}",
                                                  "attachPodUID": str(uuid.uuid4())}}
                if entry.get("phase") == "Ready":
                    entry["target"] = entry.get("target") or f"sd{chr(ord('a') + sd)}"
                sd += 1
            else:
                entry = cur or {"name": vname, "target": f"vd{chr(ord('a') + vd)}"}
                vd += 1
            out.append(entry)
        # the backend-storage volume (persistent TPM/EFI state) has no spec volume: keep its entry
        out += [v for v in current if str(v.get("name", "")).startswith("persistent-state-for")]
        return out

    def sync_volume_status(self, vmi: dict) -> None:
        md = vmi["metadata"]
        st = vmi.get("status") or {}
        cur = st.get("volumeStatus") or []
        want = self._volume_status(vmi, clone(cur))
        # advance one hotplug volume phase per step
        for v in want:
            if "hotplugVolume" in v and v.get("phase") != "Ready":
                if not self.gate(f"{md['uid']}/vol/{v['name']}"):
                    break
                if v["phase"] == "Bound":
                    v.update(phase="AttachedToNode", reason="SuccessfulCreate",
                             message=f"Created hotplug attachment pod {v['hotplugVolume']['attachPodName']}, "
                                     f"for volume {v['name']}")
                else:
                    v.update(phase="Ready", reason="VolumeReady",
                             message=f"Successfully attach hotplugged volume {v['name']} to VM")
                break
        want = self._volume_status(vmi, want)
        if want != cur:
            self.store.mutate(self.VMI, md["namespace"], md["name"],
                              lambda o: o.setdefault("status", {}).__setitem__("volumeStatus", want))

    # ------------------------------------------------------------------------------------------
    # hotplug volumes and memory dumps (VM status requests)

    def process_volume_requests(self, vm: dict, vmi: dict | None) -> None:
        reqs = (vm.get("status") or {}).get("volumeRequests") or []
        if not reqs:
            return
        md = vm["metadata"]

        def apply(spec: dict) -> None:
            for r in reqs:
                apply_volume_request(spec, r)

        def on_vm(o: dict) -> None:
            tspec = o.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
            apply(tspec)
            o.setdefault("status", {}).pop("volumeRequests", None)

        self.store.mutate(self.VM, md["namespace"], md["name"], on_vm)
        if vmi is not None and not is_final(vmi):
            self.store.mutate(self.VMI, md["namespace"], md["name"], lambda o: apply(o.setdefault("spec", {})))

    def process_memory_dump(self, vm: dict) -> None:
        req = (vm.get("status") or {}).get("memoryDumpRequest")
        if not req:
            return
        phase = req.get("phase")
        if phase in ("Completed", "Failed"):
            return
        md = vm["metadata"]
        if not self.gate(f"{md['uid']}/memorydump"):
            return

        def step(o: dict) -> None:
            r = o["status"]["memoryDumpRequest"]
            if r.get("remove") or r.get("phase") == "Dissociating":
                o["status"].pop("memoryDumpRequest", None)
                return
            if r.get("phase") == "Associating":
                r["phase"] = "InProgress"
                r["startTimestamp"] = now_iso()
            elif r.get("phase") == "InProgress":
                r["phase"] = "Completed"
                r["endTimestamp"] = now_iso()
                stamp = r["endTimestamp"].replace("-", "").replace(":", "").replace("T", "-").rstrip("Z")
                r["fileName"] = f"{md['name']}-{r.get('claimName', '')}-{stamp}.memory.dump"

        self.store.mutate(self.VM, md["namespace"], md["name"], step)

    # ------------------------------------------------------------------------------------------
    # migrations

    def reconcile_migration(self, mig: dict) -> None:
        md = mig["metadata"]
        ns, name, uid = md["namespace"], md["name"], md["uid"]
        st = mig.get("status") or {}
        phase = st.get("phase", "")
        if phase in FINAL:
            return
        if not self.gate(uid):
            return
        vmi_name = (mig.get("spec") or {}).get("vmiName", "")
        vmi = self.store.get(self.VMI, ns, vmi_name)
        if vmi is None or (vmi.get("status") or {}).get("phase") != "Running" \
                or vmi["metadata"].get("deletionTimestamp"):
            self._fail_migration(mig, "VMI is not running" if vmi else f"VMI {vmi_name} does not exist")
            return
        vst = vmi.get("status") or {}
        ms = clone(vst.get("migrationState") or {})
        if phase not in ("", "Pending") and ms.get("migrationUid") != uid:
            self._fail_migration(mig, "migration state was taken over")
            return
        nxt = MIGRATION_STEPS[MIGRATION_STEPS.index(phase) + 1] if phase else "Pending"
        verdict, why = self.sim.guests.migration(vmi, mig, nxt)
        if verdict == "wait":
            return  # a real guest's migration is under way (the guest runtime kicks us)
        if verdict == "failed":
            self._fail_migration(mig, why)
            self._mark_vmi_migration_failed(vmi, uid, why)
            return
        now = now_iso()
        source = vst.get("nodeName", "")
        if nxt == "Pending":
            for other in self.store.list(self.VMIM, ns):
                if other["metadata"]["uid"] != uid and (other.get("spec") or {}).get("vmiName") == vmi_name \
                        and (other.get("status") or {}).get("phase", "") in ACTIVE_MIGRATION[1:]:
                    return  # another migration of this VMI is in flight: wait
        if nxt == "Scheduling":
            selector = (mig.get("spec") or {}).get("addedNodeSelector") or {}
            target = selector.get("kubernetes.io/hostname") or self._next_node(exclude=source)
            if target == source:
                target = self._next_node(exclude=source)
            target_pod = self._create_pod(vmi, migration_uid=uid)
            if target_pod is not None:
                self.target_pods[uid] = target_pod["metadata"]["name"]
            ms = {"migrationUid": uid, "sourceNode": source, "targetNode": target, "mode": "PreCopy",
                  "sourcePod": self._pod_name(vmi) or f"virt-launcher-{vmi_name}-{random_suffix()}",
                  "targetPod": self.target_pods.get(uid) or f"virt-launcher-{vmi_name}-{random_suffix()}",
                  "migrationConfiguration": {"allowAutoConverge": False, "allowPostCopy": False,
                                             "bandwidthPerMigration": "0", "completionTimeoutPerGiB": 150,
                                             "progressTimeout": 150}}
        target_pod_uid = ""
        if nxt == "PreparingTarget":
            ms["targetNodeAddress"] = self._next_ip(ms.get("targetNode", source))
            ms["targetDirectMigrationNodePorts"] = {"38079": 49152, "44131": 0}
            tnode, tip = ms.get("targetNode", source), ms["targetNodeAddress"]
            self._mutate_pod(ns, self.target_pods.get(uid), lambda p: launcher.scheduled(
                p, tnode, self._node_index(tnode), tip, now))
        if nxt == "Running":
            ms["startTimestamp"] = now
        new_ip = None
        ms.update(self.sim.guests.migration_report(vmi))
        if nxt == "Succeeded":
            ms["endTimestamp"] = now
            ms["completed"] = True
            ms["failed"] = False
            # a real guest configured its address itself and keeps it; the built-in one takes the target pod's
            new_ip = None if self.sim.guests.keeps_address(vmi) else ms.get("targetNodeAddress")
            vuid = vmi["metadata"]["uid"]
            self._mutate_pod(ns, self._pod_name(vmi), lambda p: launcher.completed(p, now))
            tname = self.target_pods.pop(uid, None)
            tpod = self.store.get(self.POD, ns, tname) if tname else None
            if tpod is not None:
                self.pods[vuid] = tname
                target_pod_uid = tpod["metadata"]["uid"]
                self._mutate_pod(ns, tname, lambda p: p["metadata"].get("labels", {}).pop(
                    "kubevirt.io/migrationJobUID", None))
            if new_ip:
                self.pod_ips[vuid] = new_ip

        def on_vmi(o: dict) -> None:
            s = o.setdefault("status", {})
            s["migrationState"] = ms
            if nxt == "Succeeded":
                target = ms["targetNode"]
                s["nodeName"] = target
                o["metadata"].setdefault("labels", {})["kubevirt.io/nodeName"] = target
                s["activePods"] = {target_pod_uid or str(uuid.uuid4()): target}
                if new_ip and s.get("interfaces"):
                    s["interfaces"][0]["ipAddress"] = new_ip
                    s["interfaces"][0]["ipAddresses"] = [new_ip]

        if nxt != "Pending":
            self.store.mutate(self.VMI, ns, vmi_name, on_vmi)

        def on_mig(o: dict) -> None:
            s = o.setdefault("status", {})
            s["phase"] = nxt
            s.setdefault("phaseTransitionTimestamps", []).append({"phase": nxt, "phaseTransitionTimestamp": now})
            if ms:
                s["migrationState"] = clone(ms)
        self.store.mutate(self.VMIM, ns, name, on_mig)
        if nxt == "Succeeded":
            self.event(vmi, "Migrated", f"The VirtualMachineInstance migrated to node {ms['targetNode']}.",
                       component="virt-handler")

    def _mark_vmi_migration_failed(self, vmi: dict, mig_uid: str, reason: str) -> None:
        md = vmi["metadata"]

        def fn(o: dict) -> None:
            ms = (o.get("status") or {}).get("migrationState")
            if ms and ms.get("migrationUid") == mig_uid and not ms.get("completed"):
                ms.update(completed=True, failed=True, endTimestamp=now_iso(), failureReason=reason)
        self.store.mutate(self.VMI, md["namespace"], md["name"], fn)

    def _fail_migration(self, mig: dict, reason: str) -> None:
        md = mig["metadata"]

        def on_mig(o: dict) -> None:
            s = o.setdefault("status", {})
            s["phase"] = "Failed"
            s.setdefault("phaseTransitionTimestamps", []).append({"phase": "Failed",
                                                                  "phaseTransitionTimestamp": now_iso()})
            set_condition(o, "Failed", "True", "MigrationFailed", reason)
        self.store.mutate(self.VMIM, md["namespace"], md["name"], on_mig)
        target = self.target_pods.pop(md["uid"], None)
        if target and self.store.get(self.POD, md["namespace"], target) is not None:
            self.store.delete(self.POD, md["namespace"], target)
        self.event(mig, "FailedMigration", reason, "Warning", component="migration-controller")

    # ------------------------------------------------------------------------------------------
    # replica sets, CDI, garbage collection

    def reconcile_rs(self, rs: dict) -> None:
        md = rs["metadata"]
        ns, uid = md["namespace"], md["uid"]
        spec = rs.get("spec") or {}
        replicas = spec.get("replicas", 1)
        owned = [v for v in self.store.list(self.VMI, ns)
                 if any(r.get("uid") == uid for r in v["metadata"].get("ownerReferences") or [])]
        live = [v for v in owned if not v["metadata"].get("deletionTimestamp") and not is_final(v)]
        if not spec.get("paused"):
            if len(live) < replicas and self.gate(uid):
                tmpl = clone(spec.get("template") or {})
                tmd = tmpl.get("metadata") or {}
                vmi = {"metadata": {"generateName": md["name"], "namespace": ns,
                                    "labels": dict(tmd.get("labels") or {}),
                                    "annotations": dict(tmd.get("annotations") or {}),
                                    "ownerReferences": [owner_ref(rs)]},
                       "spec": tmpl.get("spec") or {"domain": {"devices": {}}},
                       "status": {"phase": "Pending"}}
                created = self.store.create(self.VMI, vmi)
                self.event(rs, "SuccessfulCreate", f"Created virtual machine pod {created['metadata']['name']}",
                           component="virtualmachinereplicaset-controller")
            elif len(live) > replicas and self.gate(uid):
                victim = sorted(live, key=lambda v: v["metadata"]["creationTimestamp"])[-1]
                self.begin_stop(victim)
                self.event(rs, "SuccessfulDelete", f"Deleted virtual machine pod {victim['metadata']['name']}",
                           component="virtualmachinereplicaset-controller")
        ready = sum(1 for v in live if has_condition(v, "Ready", "True"))
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        st = {"replicas": len(live), "readyReplicas": ready,
              "labelSelector": ",".join(f"{k}={v}" for k, v in sel.items())}
        if spec.get("paused"):
            set_condition({"status": st}, "ReplicaPaused", "True", "Paused", "Replica set is paused")
        cur = rs.get("status") or {}
        if any(cur.get(k) != v for k, v in st.items()):
            self.store.mutate(self.sim.res("VirtualMachineInstanceReplicaSet"), ns, md["name"],
                              lambda o: o.setdefault("status", {}).update(st))

    def reconcile_dv(self, dv: dict) -> None:
        md = dv["metadata"]
        pvc_res = self.sim.res("PersistentVolumeClaim")
        if self.store.get(pvc_res, md["namespace"], md["name"]) is not None:
            return
        spec = dv.get("spec") or {}
        pvc_spec = clone(spec.get("pvc") or spec.get("storage") or {})
        pvc_spec.setdefault("resources", {"requests": {"storage": "1Gi"}})
        try:
            self.store.create(pvc_res, {"metadata": {"name": md["name"], "namespace": md["namespace"],
                                                     "ownerReferences": [owner_ref(dv)]},
                                        "spec": pvc_spec})
        except kstatus.StatusError:
            pass

    def collect_garbage(self) -> None:
        objs = self.store.all_objects()
        uids = {o["metadata"].get("uid") for _, o in objs}
        for res, o in objs:
            refs = o["metadata"].get("ownerReferences") or []
            if refs and all(r.get("uid") not in uids for r in refs):
                try:
                    self.store.delete(res, o["metadata"].get("namespace"), o["metadata"]["name"])
                except kstatus.StatusError:
                    pass

    # ------------------------------------------------------------------------------------------
    # admin patches (tests)

    def admin_patch_vmi(self, ns: str, name: str, body: dict) -> dict:
        vmi = self.store.get(self.VMI, ns, name)
        if vmi is None:
            raise kstatus.not_found(self.VMI.group_resource, name)
        if "guestAgent" in body:
            data = self.sim.guest_agent(ns, name)
            data = clone(data)
            for k, v in (body["guestAgent"] or {}).items():
                data[k] = v
            self.sim.guest_data[(ns, name)] = data
            body.setdefault("agentConnected", True)
        phase = body.get("phase")

        def patch(o: dict) -> None:
            s = o.setdefault("status", {})
            if phase:
                s["phase"] = phase
                s.setdefault("phaseTransitionTimestamps", []).append(
                    {"phase": phase, "phaseTransitionTimestamp": now_iso()})
                if phase == "Failed":
                    set_condition(o, "Ready", "False", body.get("reason") or "Failed", body.get("message", ""))
                    remove_condition(o, "AgentConnected")
            if body.get("reason"):
                s["reason"] = body["reason"]
            if "agentConnected" in body:
                if body["agentConnected"]:
                    set_condition(o, "AgentConnected", "True")
                else:
                    remove_condition(o, "AgentConnected")
            if "paused" in body:
                if body["paused"]:
                    set_condition(o, "Paused", "True", "PausedByUser", "VMI was paused by user")
                else:
                    remove_condition(o, "Paused")
            for key in ("labels", "annotations"):
                if key in body:
                    o["metadata"].setdefault(key, {}).update(body[key])
            if isinstance(body.get("status"), dict):
                o["status"] = merge_patch(s, body["status"])

        out = self.store.mutate(self.VMI, ns, name, patch) or vmi
        if phase == "Failed":
            self.event(out, body.get("reason") or "Failed", body.get("message") or "The VirtualMachineInstance "
                       "crashed.", "Warning", component="virt-handler")
        return out


def apply_volume_request(spec: dict, req: dict) -> None:
    """Apply an add/remove volume request to a VMI spec (or a VM template spec)."""
    vols = spec.setdefault("volumes", [])
    disks = spec.setdefault("domain", {}).setdefault("devices", {}).setdefault("disks", [])
    add = req.get("addVolumeOptions")
    rem = req.get("removeVolumeOptions")
    if add:
        name = add.get("name")
        if not any(v.get("name") == name for v in vols):
            src = clone(add.get("volumeSource") or {})
            vol: dict[str, Any] = {"name": name}
            vol.update(src)
            vols.append(vol)
        if not any(d.get("name") == name for d in disks):
            disk = clone(add.get("disk") or {})
            disk["name"] = name
            disks.append(disk)
    if rem:
        name = rem.get("name")
        gone = {v.get("name") for v in vols if v.get("name") == name or
                (v.get("dataVolume") or {}).get("name") == name or
                (v.get("persistentVolumeClaim") or {}).get("claimName") == name}
        spec["volumes"] = [v for v in vols if v.get("name") not in gone]
        spec["domain"]["devices"]["disks"] = [d for d in disks if d.get("name") not in gone]


def guest_mac(uid: str) -> str:
    """The MAC address the VMI's first interface reports (and a QEMU guest's NIC gets)."""
    h = hashlib.sha1(uid.encode()).hexdigest()
    return "02:" + ":".join(h[i:i + 2] for i in range(0, 10, 2))
