"""The VirtualMachineExport controller: source checks, token Secret, exporter Service and "pod", status.

For each VirtualMachineExport (export.kubevirt.io/v1 and v1beta1 are one storage) it does what
KubeVirt's export controller does, one step per `sim.config["delay"]` seconds:

1. status `phase: Pending`, condition Ready=False `Initializing`, `ttlExpirationTime` (creation +
   `spec.ttlDuration`, default 2 h), and the Service `virt-export-<name>` (port 443 -> 8443, selector
   `kubevirt.io.virt-export-service: <name>`);
2. the source: a PersistentVolumeClaim (must exist and be bound, not used by a running VMI), a
   VirtualMachine (its claims; Pending `InUse` while its VMI runs, `Skipped` when it has no claim),
   a VirtualMachineSnapshot (ready to use; its volume copies are restored into claims
   `<export>-<claim>` owned by the export) - a VirtualMachineTemplate is never found here;
3. the token: `spec.tokenSecretRef` (virtctl creates `secret-<name>` right after the export) or a
   generated Secret `export-token-<name>`; the exporter waits until the Secret exists and reads the
   token when it starts, as a pod reads its mounted Secret (this kubelet never refreshes it: change
   the Secret afterwards and clients that read the new token get 401s);
4. the exporter pod `virt-export-<name>` (Pending, then Running): a real HTTPS server on a port of its
   own, certificate from the simulator's CA for `virt-export-<name>.<ns>.svc`, 127.0.0.1 and
   localhost; the pod's annotation `sim.pyvirtctl.io/portforward` maps its container port 8443 to it,
   so `pods/portforward` reaches it as it reaches a pod on a node;
5. `phase: Ready` with `status.links.internal` (`https://virt-export-<name>.<ns>.svc/...`) and
   `.external` (the API server's address: `https://<host:port>/api/export.kubevirt.io/v1/namespaces/
   <ns>/virtualmachineexports/<name>/...`, served by `pyvirtctl.sim.export.server` like the export
   proxy), each with `cert` (the CA), one entry per volume with its formats - `raw` (disk.img) and
   `gzip` (disk.img.gz) for KubeVirt disk images (block claims, `cdi.kubevirt.io/storage.contentType:
   kubevirt`, claims of DataVolumes), `dir` and `tar.gz` for other filesystem claims - and the
   `manifests` (`all` for VM and snapshot exports, `auth-header-secret` for every export). A claim
   that holds no bytes yet is seeded (`sim.config["export_size"]` bytes, default 1 MiB);
   `sim.config["export_formats"]` (a list) narrows the formats offered, e.g. `["raw"]` to measure a
   download that is not limited by the simulator's gzip;
6. at `ttlExpirationTime` the exporter stops (`phase: Terminated`, Ready=False `PodCompleted`); the
   export is deleted `sim.config["export_terminated_seconds"]` (default 1) seconds later.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as _dt
import json
import secrets
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from typing import Any

from pyvirtctl.sim import kstatus
from pyvirtctl.sim.kstatus import clone
from pyvirtctl.sim.snapshots import claim_of, seed_size, vm_volumes
from pyvirtctl.sim.store import now_iso

EXPORT_LABEL = "kubevirt.io.virt-export-service"
CONTENT_TYPE = "cdi.kubevirt.io/storage.contentType"
PF_ANNOTATION = "sim.pyvirtctl.io/portforward"
API_PREFIX = "/api/export.kubevirt.io/v1"
DEFAULT_TTL = 2 * 3600.0
POD_PORT = 8443
EXPORTER_IMAGE = "quay.io/kubevirt/virt-exportserver:v1.9.0"
WATCHED = frozenset({"VirtualMachineExport", "Secret", "PersistentVolumeClaim", "VirtualMachine",
                     "VirtualMachineInstance", "VirtualMachineSnapshot", "DataVolume"})
GROUPS = {"PersistentVolumeClaim": "", "VirtualMachine": "kubevirt.io",
          "VirtualMachineSnapshot": "snapshot.kubevirt.io", "VirtualMachineTemplate": "template.kubevirt.io"}


@dataclass
class Volume:
    """One exported claim."""

    pvc: dict
    name: str  # its name in the links (a snapshot's restored claim is named after the original)
    kubevirt: bool  # a disk image (raw, gzip) rather than a directory of files (dir, tar.gz)
    file: str = "disk.img"  # the file a directory export holds

    @property
    def claim(self) -> str:
        return str(self.pvc["metadata"]["name"])


@dataclass
class Source:
    volumes: list[Volume] = field(default_factory=list)
    available: bool = False  # populated and not in use
    reason: str = "Initializing"  # the Ready condition while no exporter runs
    message: str = ""
    condition: dict | None = None  # the source's own condition (PVC, VolumesCreated)
    vm: dict | None = None  # the VM whose manifest `manifests/all` describes
    vm_name: str | None = None  # status.virtualMachineName
    manifests: bool = False
    skipped: bool = False  # a VM (or snapshot) without claims: nothing to export

    @property
    def has_content(self) -> bool:
        return bool(self.volumes)


class Exporter:
    """The exporter pod of one export: its HTTPS server, once started."""

    def __init__(self, ns: str, name: str, uid: str) -> None:
        self.ns, self.name, self.uid = ns, name, uid
        self.pod = f"virt-export-{name}"
        self.phase = "Pending"
        self.port = 0
        self.runner: Any = None
        self.starting: asyncio.Task | None = None
        self.sock: Any = None
        self.since = 0.0
        self.token: str | None = None  # read from the token Secret when the pod starts (its mounted file)

    @property
    def running(self) -> bool:
        return self.phase == "Running" and self.port > 0

    async def stop(self) -> None:
        runner, self.runner = self.runner, None
        if self.starting is not None and not self.starting.done():
            self.starting.cancel()
        if runner is not None:
            await runner.cleanup()
        if self.sock is not None:
            self.sock.close()


def parse_time(text: str) -> float:
    return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.UTC).timestamp()


def format_time(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ttl(text: Any) -> float | None:
    """metav1.Duration's text (`1h0m0s`, `90s`, `1.5h`) in seconds; None when it cannot be read."""
    import re

    if not isinstance(text, str) or not text:
        return None
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(a + b for a, b in parts) != text.lstrip("+"):
        return None
    return sum(float(a) * units[b] for a, b in parts)


def _owner(obj: dict) -> dict:
    md = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": md["name"], "uid": md["uid"],
            "controller": True, "blockOwnerDeletion": True}


def _condition(ctype: str, status: str, reason: str, message: str, old: list[dict]) -> dict:
    """A condition; the transition time of the same condition in `old` is kept when nothing changed."""
    for c in old:
        if c.get("type") == ctype and (c.get("status"), c.get("reason", ""), c.get("message", "")) == (
                status, reason, message):
            return c
    c = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": now_iso()}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


class ExportController:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.exporters: dict[str, Exporter] = {}  # export uid -> its pod
        self.serve: Any = None  # set by the package: (request, sim, ns, name, tail, via) -> response
        self._pending: asyncio.Handle | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._terminated: dict[str, float] = {}  # export uid -> when it stopped
        self._ssl: dict[str, Any] = {}

    # ------------------------------------------------------------------ scheduling

    def on_event(self, etype: str, res: Any, obj: dict) -> None:
        if getattr(res, "kind", "") in WATCHED:
            self.schedule()

    def schedule(self, seconds: float = 0.0) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if seconds <= 0:
            if self._pending is None:
                self._pending = loop.call_soon(self._run)
            return
        when = loop.time() + seconds
        if self._timer is not None and self._timer.when() <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.schedule()

    def _run(self) -> None:
        self._pending = None
        try:
            self.reconcile_all()
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.schedule(0.5)

    @property
    def delay(self) -> float:
        return float(self.sim.config.get("delay") or 0)

    def _due(self, since: float) -> bool:
        """True once a step that began at `since` (loop time) has taken its delay; else wakes up then."""
        left = since + self.delay - asyncio.get_running_loop().time()
        if left <= 0:
            return True
        self.schedule(left + 0.001)
        return False

    # ------------------------------------------------------------------ reconcile

    def reconcile_all(self) -> None:
        res = self.sim.res("VirtualMachineExport")
        live = set()
        for vme in self.sim.store.list(res):
            live.add(vme["metadata"]["uid"])
            self.reconcile(vme)
        for uid in [u for u in self.exporters if u not in live]:
            self._drop_exporter(uid)
        for uid in [u for u in self._terminated if u not in live]:
            del self._terminated[uid]

    def reconcile(self, vme: dict) -> None:
        store, res = self.sim.store, self.sim.res("VirtualMachineExport")
        md = vme["metadata"]
        ns, name, uid = md["namespace"], md["name"], md["uid"]
        spec = vme.get("spec") or {}
        old = clone(vme.get("status") or {})
        loop_now = asyncio.get_running_loop().time()

        ttl = parse_ttl(spec.get("ttlDuration"))
        expires = parse_time(md["creationTimestamp"]) + (ttl if ttl is not None else DEFAULT_TTL)
        if uid in self._terminated:
            gone_at = self._terminated[uid] + float(self.sim.config.get("export_terminated_seconds", 1.0))
            if _wall() >= gone_at:
                try:
                    store.delete(res, ns, name)
                except kstatus.StatusError:
                    pass
                return
            self.schedule(gone_at - _wall() + 0.01)
            return

        source = self.resolve(vme)
        service = self._service(vme)
        token_ref = spec.get("tokenSecretRef") or old.get("tokenSecretRef")
        if not spec.get("tokenSecretRef") and source.available and source.has_content:
            token_ref = token_ref or f"export-token-{name}"
            self._generated_secret(vme, token_ref)
        secret = store.get(self.sim.res("Secret"), ns, token_ref) if token_ref else None

        exporter = self.exporters.get(uid)
        if _wall() >= expires:
            self._terminated[uid] = _wall()
            if exporter is not None:
                self._drop_exporter(uid, completed=True)
            self._set_status(vme, old, self._status(old, "Terminated", source, service, token_ref, expires,
                                                    ready=("False", "PodCompleted", "")))
            self.schedule(0.01)
            return
        self.schedule(expires - _wall() + 0.01)

        if exporter is None and source.available and source.has_content and secret is not None:
            exporter = self._create_exporter(vme, source, loop_now)
        elif exporter is not None and not source.available:
            self._drop_exporter(uid)
            exporter = None
        if exporter is not None and exporter.phase == "Pending" and self._due(exporter.since):
            self._start(exporter, token_ref or "")

        if exporter is not None and exporter.running:
            for v in source.volumes:
                if not self.sim.volumes.exists(ns, v.claim):
                    self.sim.volumes.seed(ns, v.claim, seed_size(self.sim))
            status = self._status(old, "Ready", source, service, token_ref, expires, ready=("True", "PodReady", ""))
            status["links"] = self.links(vme, source)
        elif exporter is not None:
            status = self._status(old, "Pending", source, service, token_ref, expires,
                                  ready=("False", "PodPending", ""))
        else:
            phase = "Skipped" if source.skipped else "Pending"
            status = self._status(old, phase, source, service, token_ref, expires,
                                  ready=("False", source.reason, source.message))
        self._set_status(vme, old, status)

    def _status(self, old: dict, phase: str, source: Source, service: dict | None, token_ref: str | None,
                expires: float, ready: tuple[str, str, str]) -> dict:
        """status in Go's field order: phase, links, tokenSecretRef, ttlExpirationTime, serviceName,
        virtualMachineName, conditions."""
        conds = old.get("conditions") or []
        st: dict[str, Any] = {"phase": phase, "links": {}}
        if token_ref:
            st["tokenSecretRef"] = token_ref
        st["ttlExpirationTime"] = format_time(expires)
        if service is not None:
            st["serviceName"] = service["metadata"]["name"]
        if source.vm_name is not None:
            st["virtualMachineName"] = source.vm_name
        st["conditions"] = [_condition("Ready", *ready, conds)]
        if source.condition is not None:
            c = source.condition
            st["conditions"].append(_condition(c["type"], c["status"], c["reason"], c.get("message", ""), conds))
        return st

    def _set_status(self, vme: dict, old: dict, status: dict) -> None:
        if status == old:
            return
        md = vme["metadata"]

        def fn(o: dict) -> None:
            o["status"] = status

        self.sim.store.mutate(self.sim.res("VirtualMachineExport"), md["namespace"], md["name"], fn)

    # ------------------------------------------------------------------ sources

    def resolve(self, vme: dict) -> Source:
        md = vme["metadata"]
        ns = md["namespace"]
        src = (vme.get("spec") or {}).get("source") or {}
        kind, name = src.get("kind", ""), src.get("name", "")
        store = self.sim.store
        pvcs = self.sim.res("PersistentVolumeClaim")
        if kind == "PersistentVolumeClaim":
            pvc = store.get(pvcs, ns, name)
            if pvc is None:
                return Source(condition={"type": "PVC", "status": "False", "reason": "PVCNotFound",
                                         "message": f"PersistentVolumeClaim {ns}/{name} not found"})
            s = Source(volumes=[self._volume(pvc, pvc["metadata"]["name"])])
            self._availability(s, ns, [pvc], f"PersistentVolumeClaim {ns}/{name}")
            bound = (pvc.get("status") or {}).get("phase", "Bound") == "Bound"
            s.condition = {"type": "PVC", "status": "True" if bound else "False",
                           "reason": "PVCBound" if bound else "PVCPending"}
            return s
        if kind == "VirtualMachine":
            vm = store.get(self.sim.res("VirtualMachine"), ns, name)
            if vm is None:
                return Source(reason="VMNotFound", message=f"Virtual Machine {ns}/{name} not found", vm_name=name,
                              manifests=True)
            claims = [c for c in (claim_of(v) for v in vm_volumes(vm)) if c]
            found = [p for p in (store.get(pvcs, ns, c) for c in claims) if p is not None]
            s = Source(volumes=[self._volume(p, p["metadata"]["name"]) for p in found], vm=vm, vm_name=name,
                       manifests=True)
            if not claims:
                s.available, s.skipped = True, True
                s.reason, s.message = "VMNoVolumes", f"Virtual Machine {ns}/{name} has no volumes"
                return s
            if len(found) < len(claims) or not all(self._populated(p) for p in found):
                s.reason = "VolumesNotPopulated"
                s.message = f"Not all volumes in the Virtual Machine {ns}/{name} are populated"
                return s
            vmi = store.get(self.sim.res("VirtualMachineInstance"), ns, name)
            if vmi is not None and (vmi.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                s.reason, s.message = "InUse", f"Virtual Machine {ns}/{name} is running"
                return s
            s.available = True
            return s
        if kind == "VirtualMachineSnapshot":
            return self._snapshot_source(vme, ns, name)
        if kind == "VirtualMachineTemplate":
            return Source(reason="VMTemplateNotFound", message=f"VirtualMachineTemplate {ns}/{name} not found",
                          manifests=True)
        return Source()

    def _snapshot_source(self, vme: dict, ns: str, name: str) -> Source:
        store = self.sim.store
        snap = store.get(self.sim.res("VirtualMachineSnapshot"), ns, name)
        not_found = {"type": "VolumesCreated", "status": "False", "reason": "VMSnapshotNoVolumes",
                     "message": f"VirtualMachineSnapshot {ns}/{name} does not contain any volume snapshots"}
        if snap is None:
            return Source(reason="VMSnapshotNotFound", message=f"VirtualMachineSnapshot {ns}/{name} not found",
                          condition=not_found, manifests=True)
        vm_name = ((snap.get("spec") or {}).get("source") or {}).get("name", "")
        sst = snap.get("status") or {}
        content = store.get(self.sim.res("VirtualMachineSnapshotContent"), ns,
                            sst.get("virtualMachineSnapshotContentName") or "")
        if not sst.get("readyToUse") or content is None:
            msg = f"VirtualMachineSnapshot {ns}/{name} is not ready to use"
            return Source(reason="NotAllPVCsCreated", message=msg, vm_name=vm_name, manifests=True,
                          condition={"type": "VolumesCreated", "status": "False", "reason": "NotAllPVCsCreated",
                                     "message": msg})
        backups = (content.get("spec") or {}).get("volumeBackups") or []
        export = vme["metadata"]["name"]
        volumes = []
        for b in backups:
            original = ((b.get("persistentVolumeClaim") or {}).get("metadata") or {}).get("name", "")
            pvc = self._restore(vme, b, f"{export}-{original}")
            if pvc is not None:
                # a snapshot only holds the VM's disks: KubeVirt content (volumeBackupIsKubeVirtContent)
                volumes.append(Volume(pvc=pvc, name=original, kubevirt=True))
        vm = store.get(self.sim.res("VirtualMachine"), ns, vm_name)
        s = Source(volumes=volumes, vm=vm, vm_name=vm_name, manifests=True, available=True,
                   condition={"type": "VolumesCreated", "status": "True", "reason": "AllPVCsReady"})
        if not backups:
            s.skipped = True
            s.reason, s.message = "VMSnapshotNoVolumes", not_found["message"]
            s.condition = not_found
        return s

    def _restore(self, vme: dict, backup: dict, claim: str) -> dict | None:
        """The claim a volume snapshot is restored into (created once, with the snapshot's bytes)."""
        ns = vme["metadata"]["namespace"]
        pvcs = self.sim.res("PersistentVolumeClaim")
        pvc = self.sim.store.get(pvcs, ns, claim)
        if pvc is not None:
            return pvc
        copy = backup.get("volumeSnapshotName") or ""
        src = backup.get("persistentVolumeClaim") or {}
        smd = src.get("metadata") or {}
        spec = clone(src.get("spec") or {})
        for k in ("volumeName", "dataSource", "dataSourceRef"):
            spec.pop(k, None)
        spec["dataSource"] = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": copy}
        body = {"metadata": {"name": claim, "namespace": ns, "ownerReferences": [_owner(vme)],
                             "annotations": clone(smd.get("annotations") or {}),
                             "labels": clone(smd.get("labels") or {})},
                "spec": spec}
        try:
            pvc = self.sim.store.create(pvcs, body)
        except kstatus.StatusError:
            return self.sim.store.get(pvcs, ns, claim)
        try:
            if self.sim.volumes.exists(ns, copy):
                self.sim.volumes.copy(ns, copy, ns, claim)
        except ValueError:
            pass
        return pvc

    def _volume(self, pvc: dict, name: str) -> Volume:
        ns, claim = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
        return Volume(pvc=pvc, name=name, kubevirt=self._kubevirt_content(pvc), file=self._dump_file(ns, claim))

    def _kubevirt_content(self, pvc: dict) -> bool:
        """KubeVirt's isKubevirtContentType: block claims, the content-type annotation, or a DataVolume owner."""
        if (pvc.get("spec") or {}).get("volumeMode") == "Block":
            return True
        ann = (pvc["metadata"].get("annotations") or {})
        if CONTENT_TYPE in ann:
            return ann[CONTENT_TYPE] in ("kubevirt", "")
        for ref in pvc["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "DataVolume" and ref.get("controller"):
                dv = self.sim.store.get(self.sim.res("DataVolume"), pvc["metadata"]["namespace"], ref.get("name"))
                if dv is not None:
                    return ((dv.get("spec") or {}).get("contentType") or "kubevirt") == "kubevirt"
        return False

    def _dump_file(self, ns: str, claim: str) -> str:
        """The memory dump a VM wrote to this claim, else `disk.img`."""
        for vm in self.sim.store.list(self.sim.res("VirtualMachine"), ns):
            req = (vm.get("status") or {}).get("memoryDumpRequest") or {}
            if req.get("claimName") == claim and req.get("fileName"):
                return str(req["fileName"])
        return "disk.img"

    def _populated(self, pvc: dict) -> bool:
        return (pvc.get("status") or {}).get("phase", "Bound") == "Bound"

    def _availability(self, s: Source, ns: str, pvcs: list[dict], what: str) -> None:
        if not all(self._populated(p) for p in pvcs):
            s.reason, s.message = "PVCPending", f"{what} is not populated"
            return
        claims = {p["metadata"]["name"] for p in pvcs}
        for vmi in self.sim.store.list(self.sim.res("VirtualMachineInstance"), ns):
            if (vmi.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            used = {claim_of(v) for v in ((vmi.get("spec") or {}).get("volumes") or [])}
            if claims & used:
                s.reason, s.message = "InUse", f"{what} is in use"
                return
        s.available = True

    # ------------------------------------------------------------------ objects

    def _service(self, vme: dict) -> dict | None:
        md = vme["metadata"]
        ns, name = md["namespace"], md["name"]
        svc_res = self.sim.res("Service")
        svc_name = f"virt-export-{name.replace('.', '-')}"
        svc = self.sim.store.get(svc_res, ns, svc_name)
        if svc is not None:
            return svc
        labels = {"kubevirt.io": "virt-exporter", **(md.get("labels") or {})}
        body = {"metadata": {"name": svc_name, "namespace": ns, "labels": labels,
                             "ownerReferences": [_owner(vme)]},
                "spec": {"ports": [{"name": "export", "protocol": "TCP", "port": 443, "targetPort": POD_PORT}],
                         "selector": {EXPORT_LABEL: name}}}
        if md.get("annotations"):
            body["metadata"]["annotations"] = clone(md["annotations"])
        try:
            return self.sim.store.create(svc_res, body)
        except kstatus.StatusError:
            return self.sim.store.get(svc_res, ns, svc_name)

    def _generated_secret(self, vme: dict, name: str) -> None:
        ns = vme["metadata"]["namespace"]
        res = self.sim.res("Secret")
        if self.sim.store.get(res, ns, name) is not None:
            return
        token = secrets.token_urlsafe(15)
        body = {"metadata": {"name": name, "namespace": ns, "ownerReferences": [_owner(vme)]},
                "data": {"token": base64.b64encode(token.encode()).decode()}, "type": "Opaque"}
        try:
            self.sim.store.create(res, body)
        except kstatus.StatusError:
            pass

    def _create_exporter(self, vme: dict, source: Source, now: float) -> Exporter:
        md = vme["metadata"]
        ns, name, uid = md["namespace"], md["name"], md["uid"]
        exporter = Exporter(ns, name, uid)
        exporter.since = now
        self.exporters[uid] = exporter
        env = [{"name": "CERT_FILE", "value": "/cert/tls.crt"}, {"name": "KEY_FILE", "value": "/cert/tls.key"},
               {"name": "TOKEN_FILE", "value": "/token/token"},
               {"name": "EXPORT_SECRET_DEF_URI", "value": "/manifests/secret"}]
        if source.manifests:
            env.append({"name": "EXPORT_VM_DEF_URI", "value": "/manifests/all"})
        for i, v in enumerate(source.volumes):
            base = f"/volumes/{v.claim}"
            env.append({"name": f"VOLUME{i}_EXPORT_PATH", "value": f"/export-volumes/{v.claim}"})
            if v.kubevirt:
                env += [{"name": f"VOLUME{i}_EXPORT_RAW_URI", "value": f"{base}/disk.img"},
                        {"name": f"VOLUME{i}_EXPORT_RAW_GZIP_URI", "value": f"{base}/disk.img.gz"}]
            else:
                env += [{"name": f"VOLUME{i}_EXPORT_ARCHIVE_URI", "value": f"{base}/disk.tar.gz"},
                        {"name": f"VOLUME{i}_EXPORT_DIR_URI", "value": f"{base}/dir/"}]
        labels = {EXPORT_LABEL: name, **(md.get("labels") or {})}
        body = {
            "metadata": {"name": exporter.pod, "namespace": ns, "labels": labels,
                         "annotations": clone(md.get("annotations") or {}), "ownerReferences": [_owner(vme)]},
            "spec": {"containers": [{"name": "exporter", "image": EXPORTER_IMAGE,
                                     "ports": [{"name": "export", "containerPort": POD_PORT, "protocol": "TCP"}],
                                     "env": env}],
                     "volumes": [{"name": v.claim, "persistentVolumeClaim": {"claimName": v.claim}}
                                 for v in source.volumes]},
            "status": {"phase": "Pending"},
        }
        pods = self.sim.res("Pod")
        try:
            self.sim.store.delete(pods, ns, exporter.pod)
        except kstatus.StatusError:
            pass
        try:
            self.sim.store.create(pods, body)
        except kstatus.StatusError:
            pass
        return exporter

    def _start(self, exporter: Exporter, token_ref: str) -> None:
        """Bind the exporter's port now (connections wait in the backlog) and serve it from a task."""
        import socket

        secret = self.sim.store.get(self.sim.res("Secret"), exporter.ns, token_ref)
        try:
            exporter.token = base64.b64decode(((secret or {}).get("data") or {}).get("token", "")).decode()
        except ValueError:
            exporter.token = ""

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        exporter.sock = sock
        exporter.port = sock.getsockname()[1]
        exporter.phase = "Running"
        exporter.starting = asyncio.get_running_loop().create_task(self._serve(exporter, sock))

        def running(o: dict) -> None:
            o["metadata"].setdefault("annotations", {})[PF_ANNOTATION] = json.dumps(
                {str(POD_PORT): f"127.0.0.1:{exporter.port}"})
            o["status"] = {"phase": "Running", "podIP": "127.0.0.1", "hostIP": "127.0.0.1",
                           "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None,
                                           "lastTransitionTime": now_iso()}],
                           "startTime": now_iso()}

        self.sim.store.mutate(self.sim.res("Pod"), exporter.ns, exporter.pod, running)

    async def _serve(self, exporter: Exporter, sock: Any) -> None:
        from aiohttp import web

        app = web.Application()

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.serve(request, self.sim, exporter.ns, exporter.name, request.match_info["tail"],
                                    "pod")

        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
        exporter.runner = runner
        try:
            await runner.setup()
            await web.SockSite(runner, sock, ssl_context=self._ssl_context(exporter)).start()
        except Exception:
            sock.close()
            await runner.cleanup()
            raise

    def _ssl_context(self, exporter: Exporter) -> Any:
        from pyvirtctl.sim.certs import issue, make_certs, ssl_context

        base = self.sim.certs
        if base is None or not base.ca_key_pem:
            base = self.sim.certs = make_certs([])
        svc = f"virt-export-{exporter.name}.{exporter.ns}.svc"
        return ssl_context(issue(base, [svc, "127.0.0.1", "localhost"], f"virt-export-{exporter.name}"),
                           tempfile.gettempdir())

    def _drop_exporter(self, uid: str, completed: bool = False) -> None:
        exporter = self.exporters.pop(uid, None)
        if exporter is None:
            return
        asyncio.get_running_loop().create_task(exporter.stop())
        pods = self.sim.res("Pod")
        if completed:
            def done(o: dict) -> None:
                o["status"] = {"phase": "Succeeded", "podIP": "127.0.0.1"}
            self.sim.store.mutate(pods, exporter.ns, exporter.pod, done)
            return
        try:
            self.sim.store.delete(pods, exporter.ns, exporter.pod)
        except kstatus.StatusError:
            pass

    def exporter_for(self, ns: str, name: str) -> Exporter | None:
        for e in self.exporters.values():
            if (e.ns, e.name) == (ns, name):
                return e
        return None

    async def close(self, _app: Any = None) -> None:
        for uid in list(self.exporters):
            exporter = self.exporters.pop(uid)
            await exporter.stop()

    def reset(self) -> None:
        for uid in list(self.exporters):
            exporter = self.exporters.pop(uid)
            try:
                asyncio.get_running_loop().create_task(exporter.stop())
            except RuntimeError:
                pass
        self._terminated.clear()

    # ------------------------------------------------------------------ links

    def external_base(self, ns: str, name: str) -> str:
        host = (self.sim.url or "").split("://", 1)[-1].rstrip("/")
        return f"{host}{API_PREFIX}/namespaces/{ns}/virtualmachineexports/{name}"

    @staticmethod
    def internal_base(ns: str, name: str) -> str:
        return f"virt-export-{name.replace('.', '-')}.{ns}.svc"

    def ca(self) -> str:
        ca = self.sim.certs.ca_pem if self.sim.certs is not None else self.sim.ca_pem
        return (ca.decode() if isinstance(ca, bytes) else (ca or "")).strip()

    def links(self, vme: dict, source: Source) -> dict:
        md = vme["metadata"]
        ns, name = md["namespace"], md["name"]
        return {"internal": self._link(self.internal_base(ns, name), "internal", source),
                "external": self._link(self.external_base(ns, name), "external", source)}

    def _link(self, base: str, kind: str, source: Source) -> dict:
        vols = []
        offered = self.sim.config.get("export_formats")  # e.g. ["raw"]: benchmarks of the raw path
        for v in source.volumes:
            root = f"https://{base}/volumes/{v.claim}"
            if v.kubevirt:
                formats = [{"format": "raw", "url": f"{root}/disk.img"}, {"format": "gzip", "url": f"{root}/disk.img.gz"}]
            else:
                formats = [{"format": "dir", "url": f"{root}/dir"}, {"format": "tar.gz", "url": f"{root}/disk.tar.gz"}]
            if offered:
                formats = [f for f in formats if f["format"] in offered]
            vols.append({"name": v.name, "formats": formats})
        link: dict[str, Any] = {"cert": self.ca(), "volumes": vols}
        manifests = []
        if source.manifests:
            manifests.append({"type": "all", "url": f"https://{base}/{kind}/manifests/all"})
        manifests.append({"type": "auth-header-secret", "url": f"https://{base}/{kind}/manifests/secret"})
        link["manifests"] = manifests
        return link


def _wall() -> float:
    import time

    return time.time()
