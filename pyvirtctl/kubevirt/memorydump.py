"""memory-dump (virtctl.md §2.15): the dump PVC's size and body, and the export that downloads it (pure)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from pyvirtctl.errors import CLIError
from pyvirtctl.kube.quantity import format_quantity, parse_quantity
from pyvirtctl.kubevirt.export import DEFAULT_READINESS_TIMEOUT, ExportInfo, Source

DEFAULT_OVERHEAD = "0.055"
DUMP_OVERHEAD = 100 * 1024 * 1024
MIB = 1024 * 1024
DOWNLOAD_RETRIES = 2  # virtctl's: the exporter pod may start just as the hotplug pod goes away (CNV-39141)


def export_name(vm: str, claim: str) -> str:
    return f"export-{vm}-{claim}"


def dump_export_info(vm: str, claim: str, namespace: str, output: str, raw: bool = False,
                     port_forward: bool = False, local_port: str = "0") -> ExportInfo:
    """The vmexport download virtctl's memory-dump runs for a finished dump in `claim`."""
    info = ExportInfo(name=export_name(vm, claim), namespace=namespace, source=Source.pvc(claim),
                      should_create=True, output=output, decompress=raw, retries=DOWNLOAD_RETRIES,
                      readiness_timeout=DEFAULT_READINESS_TIMEOUT)
    if port_forward:
        info.port_forward = True
        info.local_port = local_port
        info.service_url = f"127.0.0.1:{local_port}"
    return info


def pvc_size(memory: str | None, overhead: str) -> str:
    """The dump PVC size: (memory request + 100Mi) * (1 + overhead), rounded up to a whole MiB."""
    mem, fmt = parse_quantity(memory) if memory else (Fraction(0), "BinarySI")
    size = mem + DUMP_OVERHEAD
    try:
        oh = float(overhead)
    except ValueError:
        raise CLIError(
            f'failed to parse filesystem overhead as float: strconv.ParseFloat: parsing "{overhead}": invalid syntax'
        ) from None
    total = (1 + oh) * float(size)
    total = float(MIB) if total < MIB else math.ceil(total / MIB) * float(MIB)
    return format_quantity(int(total), fmt)


def cdi_overhead(cdi_config: dict[str, Any], storage_class: str) -> str:
    """CDIConfig status.filesystemOverhead for the storage class (or the global value)."""
    fso = (cdi_config.get("status") or {}).get("filesystemOverhead")
    if fso is None:
        raise CLIError("CDI config not initialized")
    if storage_class:
        per_class = fso.get("storageClass") or {}
        if storage_class in per_class:
            return str(per_class[storage_class])
    return str(fso.get("global", ""))


def pvc_body(name: str, namespace: str, size: str, storage_class: str, access_mode: str) -> dict[str, Any]:
    if access_mode:
        if access_mode == "ReadOnlyMany":
            raise CLIError(
                "cannot dump memory to a readonly pvc, use either ReadWriteOnce or ReadWriteMany if supported"
            )
        if access_mode not in ("ReadWriteOnce", "ReadWriteMany"):
            raise CLIError("invalid access mode, use either ReadWriteOnce or ReadWriteMany if supported")
    spec: dict[str, Any] = {
        "accessModes": [access_mode or "ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "kind": "PersistentVolumeClaim",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": None,
            "labels": {"cdi.kubevirt.io/applyStorageProfile": "true"},
        },
        "spec": spec,
        "status": {},
    }
