"""The manifests an exporter serves (`manifests/all`, `manifests/secret`), rendered as virt-exportserver does.

`manifests/all` (VM and snapshot exports) is what another cluster needs to import the VM: a ConfigMap
`export-ca-cm-<export>` holding the CA of the link (`ca.pem`), the VM (metadata cut down to name,
namespace, labels and annotations; status emptied; each DataVolume template's source replaced by an
HTTP source pointing at the volume's `disk.img.gz`), and a DataVolume per claim the VM uses that no
template creates. Every HTTP source names the CA ConfigMap and the header Secret
`header-secret-<export>`, which `manifests/secret` serves: `stringData.token` =
`x-kubevirt-export-token:<token>`, the header CDI adds to its requests.

Rendering follows virt-exportserver: with `Accept: application/yaml` each object as YAML (sorted keys,
as sigs.k8s.io/yaml writes them) followed by `---`; otherwise one `List` as JSON indented by four
spaces, objects in Go's field order.
"""

from __future__ import annotations

import json
from typing import Any

from pyvirtctl.sim.kstatus import clone
from pyvirtctl.sim.snapshots import claim_of, vm_volumes

YAML = "application/yaml"
# VirtualMachineSpec's fields in Go's order (json.Marshal of the typed object)
_VM_SPEC_ORDER = ("running", "runStrategy", "instancetype", "preference", "template", "dataVolumeTemplates",
                  "updateVolumesStrategy")


def ca_configmap(export: str, ca: str) -> dict:
    return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": f"export-ca-cm-{export}"},
            "data": {"ca.pem": ca}}


def header_secret(export: str, token: str) -> dict:
    return {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": f"header-secret-{export}"},
            "stringData": {"token": f"x-kubevirt-export-token:{token}"}}


def _http_source(url: str, cm: str, secret: str) -> dict:
    return {"http": {"url": url, "certConfigMap": cm, "secretExtraHeaders": [secret]}}


def exported_vm(vm: dict, export: str, base: str, claims: list[str]) -> dict:
    """The VM as the exporter describes it; `claims`: the exported claims in the order of the pod's volumes."""
    md = vm.get("metadata") or {}
    meta: dict[str, Any] = {"name": md.get("name", ""), "namespace": md.get("namespace", "")}
    for key in ("labels", "annotations"):
        if md.get(key):
            meta[key] = clone(md[key])
    spec_in = clone(vm.get("spec") or {})
    spec = {k: spec_in.pop(k) for k in _VM_SPEC_ORDER if k in spec_in}
    spec.update(spec_in)
    templates = spec.get("dataVolumeTemplates") or []
    for i, tpl in enumerate(templates):
        tspec = tpl.setdefault("spec", {})
        tspec.pop("sourceRef", None)
        # virt-exportserver pairs the i-th template with the i-th exported volume
        gz = f"/volumes/{claims[i]}/disk.img.gz" if i < len(claims) else ""
        tspec["source"] = _http_source(f"https://{base}{gz}", f"export-ca-cm-{export}", f"header-secret-{export}")
    return {"kind": "VirtualMachine", "apiVersion": "kubevirt.io/v1", "metadata": meta, "spec": spec, "status": {}}


def exported_datavolumes(vm: dict, pvcs: dict[str, dict], export: str, base: str) -> list[dict]:
    """A DataVolume for each claim of the VM that no DataVolume template makes."""
    templated = {((t.get("metadata") or {}).get("name")) for t in (vm.get("spec") or {}).get("dataVolumeTemplates")
                 or []}
    out = []
    for vol in vm_volumes(vm):
        claim = claim_of(vol)
        if not claim or claim in templated or claim not in pvcs:
            continue
        pspec = pvcs[claim].get("spec") or {}
        storage: dict[str, Any] = {}
        if pspec.get("accessModes"):
            storage["accessModes"] = list(pspec["accessModes"])
        storage["resources"] = clone(pspec.get("resources") or {})
        if pspec.get("volumeMode"):
            storage["volumeMode"] = pspec["volumeMode"]
        out.append({
            "kind": "DataVolume", "apiVersion": "cdi.kubevirt.io/v1beta1",
            "metadata": {"name": claim, "namespace": (vm.get("metadata") or {}).get("namespace", "")},
            "spec": {"source": _http_source(f"https://{base}/volumes/{claim}/disk.img.gz", f"export-ca-cm-{export}",
                                            f"header-secret-{export}"),
                     "storage": storage},
            "status": {},
        })
    return out


# --------------------------------------------------------------------------- rendering


def render(objects: list[dict], accept: str) -> bytes:
    if accept == YAML:
        return b"".join(to_yaml(o).encode() + b"---\n" for o in objects)
    doc = {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": objects}
    return go_json_indent(doc).encode()


def go_json_indent(obj: Any) -> str:
    """json.MarshalIndent(obj, "", "    "): Go escapes <, > and & and keeps other characters."""
    text = json.dumps(obj, indent=4, ensure_ascii=False, separators=(",", ": "))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_yaml(obj: Any) -> str:
    """sigs.k8s.io/yaml's output: keys sorted, block style, multi-line strings as literal blocks."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        if "\n" in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    Dumper.add_representer(str, text)
    return yaml.dump(obj, Dumper=Dumper, default_flow_style=False, sort_keys=True, allow_unicode=True,
                     width=1 << 30)
