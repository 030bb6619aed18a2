"""CDI (the Containerized Data Importer) for the simulator: its objects, the upload controller, upload tokens.

Objects every simulated cluster has (`ensure_objects`, after the seeds and on reset; a seed may bring its own):
  * StorageClass `standard` (the default one, Immediate binding) and `local` (WaitForFirstConsumer). A class
    whose provisioner is `sim.pyvirtctl.io/broken` never provisions: its claims stay Pending with a
    `ProvisioningFailed` event, as a failing CSI driver leaves them;
  * a StorageProfile per StorageClass (status.claimPropertySets: ReadWriteOnce + Filesystem; a profile a
    test empties makes DataVolumes on that class fail with CDI's `ErrClaimNotValid` event);
  * CDIConfig `config`: status.uploadProxyURL (this simulator's upload proxy, `uploadproxy.py`),
    filesystemOverhead and scratchSpaceStorageClass.

The upload controller (`reconcile`, from `Controllers.reconcile_all`; one step per `delay`, like the rest):
  * a DataVolume with `spec.source.upload` gets its PVC, rendered as CDI renders the `storage` API (default
    class, access and volume mode from the StorageProfile, Filesystem for archives), annotated
    `cdi.kubevirt.io/storage.upload.target` and `cdi.kubevirt.io/storage.contentType`, owned by the DV;
  * a PVC with the upload annotation that is Bound - or Pending on a WaitForFirstConsumer class with
    `cdi.kubevirt.io/storage.bind.immediate.requested` (`--force-bind`), which binds it - gets the upload
    pod `cdi-upload-<pvc>` and the annotations `cdi.kubevirt.io/storage.uploadPodName`,
    `cdi.kubevirt.io/storage.pod.phase` (Pending, Running, then Succeeded once the data is in) and
    `cdi.kubevirt.io/storage.pod.ready` (false, then true when the pod is ready to receive);
  * the DataVolume's phase follows its PVC: Pending, WaitForFirstConsumer (unbound on a WFFC class without
    force-bind), UploadScheduled, UploadReady, Succeeded (progress `100.0%`), with CDI's events.

Upload tokens (`issue_token` for POST .../uploadtokenrequests, which CDI's API server answers without storing
anything; `check_token` for the proxy) are bound to a namespace and PVC and live `upload_token_ttl` seconds
(config, default 300 like CDI's). `UploadState` remembers tokens and the uploads in progress.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from pyvirtctl.sim import kstatus, quantity
from pyvirtctl.sim.kstatus import clone

Controllers = Any  # pyvirtctl.sim.controllers.Controllers, which calls into this module

ANN_UPLOAD_REQUEST = "cdi.kubevirt.io/storage.upload.target"
ANN_CONTENT_TYPE = "cdi.kubevirt.io/storage.contentType"
ANN_POD_PHASE = "cdi.kubevirt.io/storage.pod.phase"
ANN_POD_READY = "cdi.kubevirt.io/storage.pod.ready"
ANN_POD_RESTARTS = "cdi.kubevirt.io/storage.pod.restarts"
ANN_UPLOAD_POD = "cdi.kubevirt.io/storage.uploadPodName"
ANN_IMMEDIATE = "cdi.kubevirt.io/storage.bind.immediate.requested"
ANN_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
BROKEN_PROVISIONER = "sim.pyvirtctl.io/broken"
PROVISIONER = "kubevirt.io.hostpath-provisioner"
UPLOAD_SERVER_IMAGE = "quay.io/kubevirt/cdi-uploadserver:v1.61.0"
DEFAULT_TOKEN_TTL = 300.0  # CDI's upload tokens live 5 minutes
CONTROLLER = "datavolume-upload-controller"


@dataclass
class Token:
    namespace: str
    pvc: str
    expires: float


@dataclass
class UploadState:
    """What CDI keeps outside objects: issued tokens, uploads in progress, failures already reported."""

    tokens: dict[str, Token] = field(default_factory=dict)
    busy: set[tuple[str, str]] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)  # uids whose failure event was emitted once

    def reset(self) -> None:
        self.tokens.clear()
        self.busy.clear()
        self.reported.clear()


# ------------------------------------------------------------------------------------------------ objects


def storage_class(name: str, binding: str = "Immediate", default: bool = False,
                  provisioner: str = PROVISIONER) -> dict:
    md: dict[str, Any] = {"name": name}
    if default:
        md["annotations"] = {ANN_DEFAULT_CLASS: "true"}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": md, "provisioner": provisioner,
            "reclaimPolicy": "Delete", "volumeBindingMode": binding}


def storage_profile(sc: dict) -> dict:
    name = sc["metadata"]["name"]
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "StorageProfile", "metadata": {"name": name},
            "spec": {},
            "status": {"storageClass": name, "provisioner": sc.get("provisioner", ""), "cloneStrategy": "copy",
                       "dataImportCronSourceFormat": "pvc",
                       "claimPropertySets": [{"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}]}}


def cdi_config(proxy_url: str, classes: list[str]) -> dict:
    status: dict[str, Any] = {
        "filesystemOverhead": {"global": "0.055", "storageClass": {c: "0.055" for c in classes}},
        "scratchSpaceStorageClass": "standard",
        "importProxy": {"HTTPProxy": "", "HTTPSProxy": "", "noProxy": "", "trustedCAProxy": ""},
        "defaultPodResourceRequirements": {"limits": {"cpu": "750m", "memory": "600M"},
                                           "requests": {"cpu": "100m", "memory": "60M"}},
    }
    if proxy_url:
        status["uploadProxyURL"] = proxy_url
    return {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "CDIConfig", "metadata": {"name": "config"},
            "spec": {"featureGates": ["HonorWaitForFirstConsumer"]}, "status": status}


def ensure_objects(sim: Any) -> None:
    """The storage classes, their profiles and the CDIConfig, where they are missing."""
    sc_res, cfg_res = sim.res("StorageClass"), sim.res("CDIConfig")
    if not sim.store.list(sc_res):
        sim.admin_apply(storage_class("standard", default=True))
        sim.admin_apply(storage_class("local", binding="WaitForFirstConsumer"))
    ensure_profiles(sim)
    url = getattr(sim, "upload_proxy_url", "")
    if sim.store.get(cfg_res, None, "config") is None:
        classes = [c["metadata"]["name"] for c in sim.store.list(sc_res)]
        sim.admin_apply(cdi_config(url, classes))
    elif url:
        sim.store.mutate(cfg_res, None, "config",
                         lambda o: o.setdefault("status", {}).__setitem__("uploadProxyURL", url))


def ensure_profiles(sim: Any) -> None:
    prof_res = sim.res("StorageProfile")
    for sc in sim.store.list(sim.res("StorageClass")):
        if sim.store.get(prof_res, None, sc["metadata"]["name"]) is None:
            sim.admin_apply(storage_profile(sc))


def default_class(sim: Any) -> dict | None:
    for sc in sim.store.list(sim.res("StorageClass")):
        if ((sc["metadata"].get("annotations") or {}).get(ANN_DEFAULT_CLASS)) == "true":
            return sc
    return None


def class_of(sim: Any, pvc: dict) -> dict | None:
    name = (pvc.get("spec") or {}).get("storageClassName")
    return sim.store.get(sim.res("StorageClass"), None, name) if name else None


def binds_later(sim: Any, pvc: dict) -> bool:
    """True when a new claim stays Pending: a WaitForFirstConsumer class, or a provisioner that fails."""
    sc = class_of(sim, pvc)
    if sc is None:
        return False
    return sc.get("volumeBindingMode") == "WaitForFirstConsumer" or sc.get("provisioner") == BROKEN_PROVISIONER


def pvc_bytes(pvc: dict) -> int | None:
    """The claim's size in bytes (its requested storage), what the upload server may fill."""
    size = quantity.parse((((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage"))
    return int(size) if size is not None else None


# ------------------------------------------------------------------------------------------------ tokens


def issue_token(sim: Any, namespace: str, body: dict) -> dict:
    """CDI's API server answer to an UploadTokenRequest: the request back, with a token for its PVC."""
    pvc = ((body.get("spec") or {}).get("pvcName")) or ""
    token = secrets.token_urlsafe(32)
    ttl = float(sim.config.get("upload_token_ttl", DEFAULT_TOKEN_TTL))
    sim.uploads.tokens[token] = Token(namespace, pvc, time.monotonic() + ttl)
    out = clone(body)
    out.setdefault("kind", "UploadTokenRequest")
    out.setdefault("apiVersion", "upload.cdi.kubevirt.io/v1beta1")
    md = out.setdefault("metadata", {})
    md.setdefault("creationTimestamp", None)
    out.setdefault("spec", {"pvcName": pvc})
    out["status"] = {"token": token}
    return out


def check_token(sim: Any, token: str) -> Token | None:
    """The token's claim, or None when it is unknown or expired (CDI allows 10 s of leeway)."""
    t = sim.uploads.tokens.get(token)
    if t is None or time.monotonic() > t.expires + 10.0:
        return None
    return t


def expire_tokens(sim: Any) -> None:
    for t in sim.uploads.tokens.values():
        t.expires = time.monotonic() - 3600


# ------------------------------------------------------------------------------------------------ upload state


def upload_ready(sim: Any, ns: str, name: str) -> tuple[dict | None, str]:
    """(PVC, "") when it can take an upload now, else (PVC or None, why not) in the proxy's words."""
    pvc = sim.store.get(sim.res("PersistentVolumeClaim"), ns, name)
    if pvc is None:
        return None, f"rejecting Upload Request for PVC {name} that doesn't exist"
    ann = pvc["metadata"].get("annotations") or {}
    if ANN_UPLOAD_REQUEST not in ann:
        return pvc, f"PVC {name} is not an upload target"
    if ann.get(ANN_POD_PHASE) == "Succeeded":
        return pvc, f"rejecting Upload Request for PVC {name} that already finished uploading"
    if ann.get(ANN_POD_READY) != "true":
        return pvc, "not ready"
    return pvc, ""


def finish_upload(sim: Any, ns: str, name: str, uid: str = "") -> None:
    """The upload server is done: the pod succeeded (and goes away), the PVC says so. With `uid`, only if
    the claim is still that one (not deleted, or replaced by a reset, meanwhile)."""
    pvc_res = sim.res("PersistentVolumeClaim")
    if uid and ((sim.store.get(pvc_res, ns, name) or {}).get("metadata") or {}).get("uid") != uid:
        return

    def done(o: dict) -> None:
        ann = o["metadata"].setdefault("annotations", {})
        ann[ANN_POD_PHASE] = "Succeeded"
        ann[ANN_POD_READY] = "false"

    pvc = sim.store.mutate(pvc_res, ns, name, done)
    pod_name = ((pvc or {}).get("metadata", {}).get("annotations") or {}).get(ANN_UPLOAD_POD)
    if pod_name and sim.store.get(sim.res("Pod"), ns, pod_name) is not None:
        sim.store.delete(sim.res("Pod"), ns, pod_name)
    if pvc is not None:
        sim.controllers.event(pvc, "UploadSucceeded", "Upload Successful", component="upload-controller")


def finish_later(sim: Any, ns: str, name: str, uid: str) -> None:
    """Async upload: the data is in; processing (conversion, resize) takes one controller step
    (or `upload_processing_seconds` from the config)."""
    delay = float(sim.config.get("upload_processing_seconds", sim.config.get("delay")) or 0)
    loop = asyncio.get_running_loop()
    if delay > 0:
        loop.call_later(delay, finish_upload, sim, ns, name, uid)
    else:
        loop.call_soon(finish_upload, sim, ns, name, uid)


def upload_failed(sim: Any, ns: str, name: str, uid: str = "") -> None:
    """The upload server stopped with an error (a broken stream in async mode): its pod restarts."""
    pvc_res = sim.res("PersistentVolumeClaim")
    if uid and ((sim.store.get(pvc_res, ns, name) or {}).get("metadata") or {}).get("uid") != uid:
        return

    def restart(o: dict) -> None:
        ann = o["metadata"].setdefault("annotations", {})
        ann[ANN_POD_RESTARTS] = str(int(ann.get(ANN_POD_RESTARTS, "0") or 0) + 1)

    sim.store.mutate(sim.res("PersistentVolumeClaim"), ns, name, restart)


# ------------------------------------------------------------------------------------------------ controller


def reconcile(ctl: Controllers) -> None:
    """One pass of CDI's controllers over DataVolumes with an upload source and upload PVCs."""
    sim = ctl.sim
    ensure_profiles(sim)
    for dv in sim.store.list(sim.res("DataVolume")):
        if ((dv.get("spec") or {}).get("source") or {}).get("upload") is not None:
            reconcile_upload_dv(ctl, dv)
    for pvc in sim.store.list(sim.res("PersistentVolumeClaim")):
        if (pvc.get("status") or {}).get("phase") == "Pending":
            _provisioning(ctl, pvc)
        if ANN_UPLOAD_REQUEST in (pvc["metadata"].get("annotations") or {}):
            reconcile_upload_pvc(ctl, pvc)


def _provisioning(ctl: Controllers, pvc: dict) -> None:
    sc = class_of(ctl.sim, pvc)
    uid = pvc["metadata"]["uid"]
    reported = ctl.sim.uploads.reported
    if sc is None or sc.get("provisioner") != BROKEN_PROVISIONER or uid in reported:
        return
    reported.add(uid)
    name = sc["metadata"]["name"]
    ctl.event(pvc, "ProvisioningFailed", f'failed to provision volume with StorageClass "{name}": rpc error: '
              "code = ResourceExhausted desc = the simulator's broken provisioner refuses every claim", "Warning",
              component=BROKEN_PROVISIONER)


def render_claim(ctl: Controllers, dv: dict) -> dict | None:
    """The PVC spec CDI makes from a DataVolume (None, after an ErrClaimNotValid event, when it cannot)."""
    sim = ctl.sim
    spec = dv.get("spec") or {}
    if spec.get("pvc") is not None:
        return clone(spec["pvc"])
    claim = clone(spec.get("storage") or {})
    claim.setdefault("resources", {"requests": {"storage": "1Gi"}})
    if spec.get("contentType") == "archive":
        if claim.get("volumeMode") == "Block":
            return _not_valid(ctl, dv, "ContentType Archive cannot have block volumeMode")
        claim["volumeMode"] = "Filesystem"
    sc_name = claim.get("storageClassName")
    sc = sim.store.get(sim.res("StorageClass"), None, sc_name) if sc_name else default_class(sim)
    if sc is None:
        if not claim.get("accessModes"):
            return _not_valid(ctl, dv, "PVC spec is missing accessMode and no storageClass to choose profile")
        return claim
    name = sc["metadata"]["name"]
    claim["storageClassName"] = name
    profile = sim.store.get(sim.res("StorageProfile"), None, name) or {}
    sets = (profile.get("status") or {}).get("claimPropertySets") or []
    modes, volume_mode = claim.get("accessModes"), claim.get("volumeMode")
    if not modes and not volume_mode:
        if not sets:
            return _not_valid(ctl, dv, "Spec is missing accessMode and volumeMode, cannot get access mode from "
                                       f"StorageProfile {name}")
        claim["accessModes"] = list(sets[0].get("accessModes") or [])
        claim["volumeMode"] = sets[0].get("volumeMode") or "Filesystem"
    elif not modes:
        match = [s for s in sets if s.get("volumeMode") == volume_mode]
        if not match:
            return _not_valid(ctl, dv, f"Spec is missing accessMode and cannot get access mode from StorageProfile {name}")
        claim["accessModes"] = list(match[0].get("accessModes") or [])
    elif not volume_mode:
        match = [s for s in sets if set(modes) <= set(s.get("accessModes") or [])]
        claim["volumeMode"] = (match[0].get("volumeMode") if match else None) or "Filesystem"
    return claim


def _not_valid(ctl: Controllers, dv: dict, message: str) -> dict | None:
    uid = dv["metadata"]["uid"]
    reported = ctl.sim.uploads.reported
    if uid not in reported:
        reported.add(uid)
        ctl.event(dv, "ErrClaimNotValid", message, "Warning", component=CONTROLLER)
    return None  # no claim


def reconcile_upload_dv(ctl: Controllers, dv: dict) -> None:
    sim = ctl.sim
    md = dv["metadata"]
    ns, name = md["namespace"], md["name"]
    pvc_res = sim.res("PersistentVolumeClaim")
    pvc = sim.store.get(pvc_res, ns, name)
    if pvc is None:
        if not ctl.gate(md["uid"]):
            return
        claim = render_claim(ctl, dv)
        if claim is None:
            _set_dv_status(ctl, dv, "Pending")
            return
        ann = {ANN_UPLOAD_REQUEST: "", ANN_CONTENT_TYPE: (dv.get("spec") or {}).get("contentType") or "kubevirt"}
        if ANN_IMMEDIATE in (md.get("annotations") or {}):
            ann[ANN_IMMEDIATE] = ""
        labels = {"app": "containerized-data-importer", "app.kubernetes.io/component": "storage",
                  "app.kubernetes.io/managed-by": "cdi-controller"}
        try:
            sim.store.create(pvc_res, {"metadata": {"name": name, "namespace": ns, "annotations": ann,
                                                    "labels": labels, "ownerReferences": [_owner(dv)]},
                                       "spec": claim})
        except kstatus.StatusError:
            return
        _set_dv_status(ctl, dv, "Pending")
        return
    ann = pvc["metadata"].get("annotations") or {}
    bound = (pvc.get("status") or {}).get("phase") == "Bound"
    pod_phase = ann.get(ANN_POD_PHASE)
    if pod_phase == "Succeeded":
        phase = "Succeeded"
    elif not bound:
        sc = class_of(sim, pvc)
        wffc = sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        phase = "WaitForFirstConsumer" if wffc and ANN_IMMEDIATE not in ann else "Pending"
    elif pod_phase == "Running" and ann.get(ANN_POD_READY) == "true":
        phase = "UploadReady"
    else:
        phase = "UploadScheduled"
    _set_dv_status(ctl, dv, phase, restarts=int(ann.get(ANN_POD_RESTARTS, "0") or 0))


_EVENTS = {
    "UploadScheduled": ("UploadScheduled", "Upload into {} scheduled"),
    "UploadReady": ("UploadReady", "Upload into {} ready"),
    "Succeeded": ("UploadSucceeded", "Successfully uploaded into {}"),
    "WaitForFirstConsumer": ("WaitForFirstConsumer", "PVC {} Pending"),
}


def _set_dv_status(ctl: Controllers, dv: dict, phase: str, restarts: int = 0) -> None:
    md = dv["metadata"]
    st = dv.get("status") or {}
    progress = "100.0%" if phase == "Succeeded" else "N/A"
    if st.get("phase") == phase and st.get("progress") == progress and int(st.get("restartCount", 0)) == restarts:
        return

    def fn(o: dict) -> None:
        s = o.setdefault("status", {})
        s["phase"] = phase
        s["progress"] = progress
        s["claimName"] = md["name"]
        if restarts:
            s["restartCount"] = restarts

    out = ctl.sim.store.mutate(ctl.sim.res("DataVolume"), md["namespace"], md["name"], fn)
    if out is not None and st.get("phase") != phase and phase in _EVENTS:
        reason, text = _EVENTS[phase]
        ctl.event(out, reason, text.format(md["name"]), component=CONTROLLER)


def reconcile_upload_pvc(ctl: Controllers, pvc: dict) -> None:
    sim = ctl.sim
    md = pvc["metadata"]
    ns, name, uid = md["namespace"], md["name"], md["uid"]
    ann = md.get("annotations") or {}
    if ann.get(ANN_POD_PHASE) == "Succeeded" or md.get("deletionTimestamp"):
        return
    bound = (pvc.get("status") or {}).get("phase") == "Bound"
    if not bound:
        sc = class_of(sim, pvc)
        if sc is not None and sc.get("provisioner") == BROKEN_PROVISIONER:
            return
        if ANN_IMMEDIATE not in ann:
            return  # CDI honours WaitForFirstConsumer: nothing happens until a consumer comes
    pvc_res, pod_res = sim.res("PersistentVolumeClaim"), sim.res("Pod")
    pod_name = ann.get(ANN_UPLOAD_POD)
    if not pod_name:
        if ctl.gate(uid):
            sim.store.mutate(pvc_res, ns, name, lambda o: o["metadata"].setdefault("annotations", {}).update(
                {ANN_UPLOAD_POD: f"cdi-upload-{name}"}))
        return
    pod = sim.store.get(pod_res, ns, pod_name)
    if pod is None:
        if not ctl.gate(uid):
            return
        try:
            sim.store.create(pod_res, _upload_pod(pod_name, ns, pvc, _owner(pvc)))
        except kstatus.StatusError:
            return
        sim.store.mutate(pvc_res, ns, name, lambda o: o["metadata"].setdefault("annotations", {}).update(
            {ANN_POD_PHASE: "Pending", ANN_POD_READY: "false"}))
        return
    if (pod.get("status") or {}).get("phase") == "Pending":
        if not ctl.gate(uid):
            return
        node = (sim.config.get("nodes") or ["node01"])[0]

        def run(o: dict) -> None:
            o.setdefault("spec", {})["nodeName"] = node
            o["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                           "containerStatuses": [{"name": "cdi-upload-server", "ready": True, "restartCount": 0,
                                                  "image": UPLOAD_SERVER_IMAGE, "started": True,
                                                  "state": {"running": {}}}]}

        sim.store.mutate(pod_res, ns, pod_name, run)

        def ready(o: dict) -> None:
            o["metadata"].setdefault("annotations", {}).update({ANN_POD_PHASE: "Running", ANN_POD_READY: "true"})
            st = o.setdefault("status", {})
            if st.get("phase") != "Bound":
                size = (((o.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
                o["spec"].setdefault("volumeName", "pvc-" + secrets.token_hex(8))
                o["status"] = {"phase": "Bound", "accessModes": o["spec"].get("accessModes") or ["ReadWriteOnce"],
                               "capacity": {"storage": size}}

        sim.store.mutate(pvc_res, ns, name, ready)


def _owner(obj: dict) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _upload_pod(name: str, ns: str, pvc: dict, owner: dict) -> dict:
    claim = pvc["metadata"]["name"]
    return {
        "metadata": {"name": name, "namespace": ns, "ownerReferences": [owner],
                     "labels": {"app": "containerized-data-importer", "cdi.kubevirt.io": "cdi-upload-server",
                                "cdi.kubevirt.io/uploadTarget": pvc["metadata"]["uid"], "service": name},
                     "annotations": {"cdi.kubevirt.io/storage.createdByUploadController": "yes"}},
        "spec": {"containers": [{"name": "cdi-upload-server", "image": UPLOAD_SERVER_IMAGE,
                                 "args": ["-v=1"], "ports": [{"containerPort": 8443, "protocol": "TCP"}]}],
                 "restartPolicy": "OnFailure",
                 "volumes": [{"name": "cdi-data-vol", "persistentVolumeClaim": {"claimName": claim}}]},
        "status": {"phase": "Pending"},
    }
