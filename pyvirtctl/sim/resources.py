"""The resource types the simulator serves, and the discovery documents built from them.

Each `Resource` is one REST collection and everything kind-specific about it, in one descriptor:
where it lives (group/version/plural), what objects in it are called (kind), whether it is
namespaced, which verbs and subresources it supports, the Table columns `kubectl get` shows
(`printers`), the OpenAPI definition that describes it (`schema`, see `pyvirtctl.sim.openapi`),
the defaulting done when one is created (`defaults`) and the validating webhook that admits
API writes (`admit`, see `pyvirtctl.sim.admission`). Adding a kind = adding one descriptor here
(plus, optionally, its schema and a controller).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyvirtctl.sim import admission, defaults, printers
from pyvirtctl.sim.tables import Column


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    has_status: bool = True
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    # Table columns (complete, Name included); empty = kube-apiserver's default for the kind's origin
    columns: tuple[Column, ...] = ()
    # OpenAPI definition name in pyvirtctl.sim.openapi (empty = a free-form object)
    schema: str = ""
    # (state, obj) -> None, run on every create (API, controllers, seeds)
    defaults: Callable[[Any, dict], None] | None = None
    # validating webhook for API writes: (new, old or None) -> admission.Verdict (name, causes, warnings)
    admit: Callable[[dict, dict | None], admission.Verdict] | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`virtualmachines.kubevirt.io` / `services`: how kube-apiserver names it in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kind_group(self) -> str:
        """`VirtualMachine.kubevirt.io` / `Service`: the qualified kind used in Invalid messages."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def is_crd(self) -> bool:
        return bool(self.group)

    @property
    def table_columns(self) -> tuple[Column, ...]:
        return self.columns or printers.PLAIN_CRD


KV = "kubevirt.io"
CDI = "cdi.kubevirt.io"
TEMPLATE = "template.kubevirt.io"

RESOURCES: tuple[Resource, ...] = (
    Resource(KV, "v1", "virtualmachines", "VirtualMachine", singular="virtualmachine",
             short_names=("vm", "vms"), subresources=("status",), columns=printers.VM,
             schema="kubevirt.v1.VirtualMachine", defaults=defaults.empty_status, admit=admission.admit_vm),
    Resource(KV, "v1", "virtualmachineinstances", "VirtualMachineInstance", singular="virtualmachineinstance",
             short_names=("vmi", "vmis"), subresources=("status",), columns=printers.VMI,
             schema="kubevirt.v1.VirtualMachineInstance", defaults=defaults.empty_status,
             admit=admission.admit_vmi),
    Resource(KV, "v1", "virtualmachineinstancemigrations", "VirtualMachineInstanceMigration",
             singular="virtualmachineinstancemigration", short_names=("vmim", "vmims"), subresources=("status",),
             columns=printers.VMIM, schema="kubevirt.v1.VirtualMachineInstanceMigration",
             defaults=defaults.migration),
    Resource(KV, "v1", "virtualmachineinstancereplicasets", "VirtualMachineInstanceReplicaSet",
             singular="virtualmachineinstancereplicaset", short_names=("vmirs", "vmirss"),
             subresources=("status", "scale"), columns=printers.VMIRS,
             schema="kubevirt.v1.VirtualMachineInstanceReplicaSet"),
    Resource(KV, "v1", "virtualmachineinstancepresets", "VirtualMachineInstancePreset",
             singular="virtualmachineinstancepreset", short_names=("vmipreset",), has_status=False),
    Resource(KV, "v1", "kubevirts", "KubeVirt", singular="kubevirt", short_names=("kv", "kvs"),
             subresources=("status",), columns=printers.KUBEVIRT),
    Resource("pool.kubevirt.io", "v1alpha1", "virtualmachinepools", "VirtualMachinePool",
             singular="virtualmachinepool", short_names=("vmpool",), subresources=("status", "scale"),
             columns=printers.VMPOOL),
    Resource("instancetype.kubevirt.io", "v1beta1", "virtualmachineinstancetypes", "VirtualMachineInstancetype",
             singular="virtualmachineinstancetype", short_names=("vminstancetype",), has_status=False),
    Resource("instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterinstancetypes",
             "VirtualMachineClusterInstancetype", namespaced=False, singular="virtualmachineclusterinstancetype",
             has_status=False),
    Resource("instancetype.kubevirt.io", "v1beta1", "virtualmachinepreferences", "VirtualMachinePreference",
             singular="virtualmachinepreference", has_status=False),
    Resource("instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterpreferences",
             "VirtualMachineClusterPreference", namespaced=False, singular="virtualmachineclusterpreference",
             has_status=False),
    Resource("export.kubevirt.io", "v1", "virtualmachineexports", "VirtualMachineExport",
             singular="virtualmachineexport", short_names=("vmexport",), subresources=("status",),
             columns=printers.VMEXPORT),
    Resource("export.kubevirt.io", "v1beta1", "virtualmachineexports", "VirtualMachineExport",
             singular="virtualmachineexport", short_names=("vmexport",), subresources=("status",),
             columns=printers.VMEXPORT),
    Resource("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots", "VirtualMachineSnapshot",
             singular="virtualmachinesnapshot", short_names=("vmsnapshot", "vmsnapshots"), subresources=("status",),
             columns=printers.VMSNAPSHOT),
    Resource("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshotcontents", "VirtualMachineSnapshotContent",
             singular="virtualmachinesnapshotcontent", short_names=("vmsnapshotcontent", "vmsnapshotcontents"),
             subresources=("status",)),
    Resource(CDI, "v1beta1", "datavolumes", "DataVolume", singular="datavolume", short_names=("dv", "dvs"),
             subresources=("status",), columns=printers.DATAVOLUME, defaults=defaults.datavolume),
    Resource(CDI, "v1beta1", "datasources", "DataSource", singular="datasource", subresources=("status",)),
    Resource(CDI, "v1beta1", "cdiconfigs", "CDIConfig", namespaced=False, singular="cdiconfig",
             subresources=("status",)),
    Resource(CDI, "v1beta1", "storageprofiles", "StorageProfile", namespaced=False, singular="storageprofile",
             subresources=("status",)),
    Resource("template.openshift.io", "v1", "templates", "Template", singular="template", has_status=False),
    # stored only: no clone controller (`create clone --apply` creates one; nothing clones)
    Resource("clone.kubevirt.io", "v1beta1", "virtualmachineclones", "VirtualMachineClone",
             singular="virtualmachineclone", short_names=("vmclone", "vmclones"), subresources=("status",),
             columns=printers.VMCLONE),
    Resource(TEMPLATE, "v1beta1", "virtualmachinetemplates", "VirtualMachineTemplate",
             singular="virtualmachinetemplate", short_names=("vmt", "vmts"), subresources=("status",),
             columns=printers.VMTEMPLATE),
    Resource(TEMPLATE, "v1beta1", "virtualmachinetemplaterequests", "VirtualMachineTemplateRequest",
             singular="virtualmachinetemplaterequest", short_names=("vmtr", "vmtrs"), subresources=("status",),
             columns=printers.VMTEMPLATE_REQUEST),
    Resource("upload.cdi.kubevirt.io", "v1beta1", "uploadtokenrequests", "UploadTokenRequest",
             singular="uploadtokenrequest", verbs=("create",), has_status=False),
    Resource("", "v1", "namespaces", "Namespace", namespaced=False, singular="namespace", short_names=("ns",),
             subresources=("status", "finalize"), columns=printers.NAMESPACE, schema="core.v1.Namespace",
             defaults=defaults.namespace),
    Resource("", "v1", "services", "Service", singular="service", short_names=("svc",), subresources=("status",),
             columns=printers.SERVICE, schema="core.v1.Service", defaults=defaults.service),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", singular="persistentvolumeclaim",
             short_names=("pvc",), subresources=("status",), columns=printers.PVC,
             schema="core.v1.PersistentVolumeClaim", defaults=defaults.pvc),
    Resource("", "v1", "events", "Event", singular="event", short_names=("ev",), has_status=False,
             columns=printers.EVENT, schema="core.v1.Event"),
    Resource("", "v1", "secrets", "Secret", singular="secret", has_status=False, columns=printers.SECRET,
             schema="core.v1.Secret", defaults=defaults.secret),
    Resource("", "v1", "configmaps", "ConfigMap", singular="configmap", short_names=("cm",), has_status=False,
             columns=printers.CONFIGMAP, schema="core.v1.ConfigMap"),
    Resource("", "v1", "pods", "Pod", singular="pod", short_names=("po",), subresources=("status",),
             columns=printers.POD, schema="core.v1.Pod", defaults=defaults.pod),
    Resource("", "v1", "nodes", "Node", namespaced=False, singular="node", short_names=("no",),
             subresources=("status",), columns=printers.NODE, schema="core.v1.Node"),
    Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False, singular="storageclass",
             short_names=("sc",), has_status=False, columns=printers.STORAGECLASS),
)

_BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND: dict[str, Resource] = {}
for _r in RESOURCES:
    _BY_KIND.setdefault(_r.kind.lower(), _r)
    _BY_KIND.setdefault(_r.plural, _r)
    for _s in _r.short_names:
        _BY_KIND.setdefault(_s, _r)


def lookup(group: str, version: str, plural: str) -> Resource | None:
    return _BY_PATH.get((group, version, plural))


def by_kind(kind: str, api_version: str | None = None) -> Resource | None:
    """Find a resource from a kind (`VirtualMachine`), a plural or a short name (any case)."""
    if api_version:
        group, _, version = api_version.rpartition("/")
        for r in RESOURCES:
            if r.kind == kind and r.group == group and r.version == version:
                return r
    return _BY_KIND.get(kind.lower())


def storage_key(res: Resource) -> str:
    """Objects of a group/kind share storage across API versions (export v1 and v1beta1)."""
    return f"{res.group}/{res.plural}"


# ----------------------------------------------------------------------------------------------
# discovery documents

SUBRESOURCE_GROUP = "subresources.kubevirt.io"
# virt-template's aggregated API: `process` and `create` of VirtualMachineTemplates
TEMPLATE_SUBRESOURCE_GROUP = "subresources.template.kubevirt.io"
_TEMPLATE_SUBRESOURCE_VERSIONS = ("v1beta1",)

# (resource path, kind, namespaced, verbs) served by virt-api, as its discovery lists them
_VIRT_API_SUBRESOURCES: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    ("expand-vm-spec", True, ("put",)),
    ("virtualmachineinstances/console", True, ("get",)),
    ("virtualmachineinstances/vnc", True, ("get",)),
    ("virtualmachineinstances/vnc/screenshot", True, ("get",)),
    ("virtualmachineinstances/portforward", True, ("get",)),
    ("virtualmachineinstances/pause", True, ("update",)),
    ("virtualmachineinstances/unpause", True, ("update",)),
    ("virtualmachineinstances/freeze", True, ("update",)),
    ("virtualmachineinstances/unfreeze", True, ("update",)),
    ("virtualmachineinstances/softreboot", True, ("update",)),
    ("virtualmachineinstances/reset", True, ("update",)),
    ("virtualmachineinstances/guestosinfo", True, ("get",)),
    ("virtualmachineinstances/userlist", True, ("get",)),
    ("virtualmachineinstances/filesystemlist", True, ("get",)),
    ("virtualmachineinstances/addvolume", True, ("update",)),
    ("virtualmachineinstances/removevolume", True, ("update",)),
    ("virtualmachineinstances/usbredir", True, ("get",)),
    ("virtualmachineinstances/evacuate/cancel", True, ("update",)),
    ("virtualmachineinstances/objectgraph", True, ("get",)),
    ("virtualmachines/start", True, ("update",)),
    ("virtualmachines/stop", True, ("update",)),
    ("virtualmachines/restart", True, ("update",)),
    ("virtualmachines/migrate", True, ("update",)),
    ("virtualmachines/addvolume", True, ("update",)),
    ("virtualmachines/removevolume", True, ("update",)),
    ("virtualmachines/memorydump", True, ("update",)),
    ("virtualmachines/removememorydump", True, ("update",)),
    ("virtualmachines/expand-spec", True, ("get",)),
    ("virtualmachines/portforward", True, ("get",)),
    ("virtualmachines/evacuate/cancel", True, ("update",)),
    ("virtualmachines/objectgraph", True, ("get",)),
)


def groups() -> dict[str, list[str]]:
    """group -> versions (first is preferred), in a stable order."""
    out: dict[str, list[str]] = {}
    for r in RESOURCES:
        if r.group:
            vs = out.setdefault(r.group, [])
            if r.version not in vs:
                vs.append(r.version)
    out[SUBRESOURCE_GROUP] = ["v1", "v1alpha3"]
    out[TEMPLATE_SUBRESOURCE_GROUP] = list(_TEMPLATE_SUBRESOURCE_VERSIONS)
    return out


def api_group(name: str) -> dict | None:
    versions = groups().get(name)
    if versions is None:
        return None
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list() -> dict:
    items = []
    for name in groups():
        g = api_group(name)
        assert g is not None
        del g["kind"], g["apiVersion"]
        items.append(g)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}


def resource_list(group: str, version: str) -> dict | None:
    gv = f"{group}/{version}" if group else version
    if group == SUBRESOURCE_GROUP:
        if version not in groups()[SUBRESOURCE_GROUP]:
            return None
        items = [{"name": name, "singularName": "", "namespaced": ns, "kind": "", "verbs": list(verbs)}
                 for name, ns, verbs in _VIRT_API_SUBRESOURCES]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}
    if group == TEMPLATE_SUBRESOURCE_GROUP:
        if version not in _TEMPLATE_SUBRESOURCE_VERSIONS:
            return None
        # the parent is a storage-less stand-in: only its subresources can be used
        items = [{"name": "virtualmachinetemplates", "singularName": "virtualmachinetemplate", "namespaced": True,
                  "kind": "VirtualMachineTemplate", "verbs": []}]
        items += [{"name": f"virtualmachinetemplates/{sub}", "singularName": "", "namespaced": True,
                   "kind": "ProcessedVirtualMachineTemplate", "verbs": ["create"]} for sub in ("create", "process")]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}
    items = []
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        entry: dict = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                       "verbs": list(r.verbs)}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        cluster_storage = not r.namespaced and r.group in (CDI, "storage.k8s.io")  # not in `all`
        if (r.group and not cluster_storage) or r.kind in ("Pod", "Service"):  # what `kubectl get all` lists
            entry["categories"] = ["all"]
        items.append(entry)
        for sub in r.subresources:
            items.append({"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                          "kind": r.kind if sub == "status" else "Scale", "verbs": ["get", "patch", "update"]})
    if not items:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}
