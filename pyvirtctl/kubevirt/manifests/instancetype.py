"""Instancetype and preference manifests (`create instancetype`, `create preference`).

Without `--namespaced` (or an explicit `-n`, which implies it) the cluster-wide kinds are built.
virtctl applies the optional flags in Go map order, which is random; with two bad flags at once
either error may come first there. Here the order is fixed: the one listed first below wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyvirtctl.errors import CLIError
from pyvirtctl.kube.quantity import Quantity
from pyvirtctl.kubevirt.manifests.params import ManifestError, flag_error, map_params, random_suffix

API_VERSION = "instancetype.kubevirt.io/v1beta1"
IOTHREADS_POLICIES = ("auto", "shared")
CPU_TOPOLOGIES = ("sockets", "cores", "threads", "spread", "any")
DEPRECATED_CPU_TOPOLOGIES = ("preferSockets", "preferCores", "preferThreads", "preferSpread", "preferAny")
DEVICE: dict[str, str] = {"name": "string", "devicename": "string"}


@dataclass
class InstancetypeOptions:
    cpu: int = 0
    memory: str = ""
    name: str | None = None  # None: instancetype-XXXXX / clusterinstancetype-XXXXX
    namespace: str = ""  # an explicit -n; makes the instancetype namespaced
    namespaced: bool = False
    gpu: list[str] = field(default_factory=list)
    hostdevice: list[str] = field(default_factory=list)
    iothreadspolicy: str | None = None  # None: not given


def _devices(flag: str, values: list[str]) -> list[dict[str, Any]]:
    out = []
    for text in values:
        obj = map_params(flag, text, DEVICE)
        if not obj.get("name"):
            raise flag_error(flag, "name must be specified")
        if not obj.get("devicename"):
            raise flag_error(flag, "deviceName must be specified")
        out.append({"name": obj["name"], "deviceName": obj["devicename"]})
    return out


def build_instancetype(opts: InstancetypeOptions, *, rand: Callable[[], str] = random_suffix) -> dict[str, Any]:
    namespaced = opts.namespaced or bool(opts.namespace)
    name = opts.name if opts.name is not None else ("instancetype-" if namespaced else "clusterinstancetype-") + rand()
    try:
        memory = Quantity.parse(opts.memory)
    except CLIError as e:
        raise ManifestError(e.message) from None
    if opts.cpu <= 0:
        raise ManifestError("cpu value must be greater than zero")
    spec: dict[str, Any] = {"cpu": {"guest": opts.cpu}, "memory": {"guest": str(memory)}}
    if opts.gpu:
        spec["gpus"] = _devices("gpu", opts.gpu)
    if opts.hostdevice:
        spec["hostDevices"] = _devices("hostdevice", opts.hostdevice)
    if opts.iothreadspolicy is not None:
        if opts.iothreadspolicy not in IOTHREADS_POLICIES:
            raise flag_error("iothreadspolicy", "IOThread must be of value auto or shared")
        spec["ioThreadsPolicy"] = opts.iothreadspolicy
    metadata: dict[str, Any] = {"name": name} if name else {}
    if namespaced and opts.namespace:
        metadata["namespace"] = opts.namespace
    kind = "VirtualMachineInstancetype" if namespaced else "VirtualMachineClusterInstancetype"
    return {"kind": kind, "apiVersion": API_VERSION, "metadata": metadata, "spec": spec}


@dataclass
class PreferenceOptions:
    name: str | None = None  # None: preference-XXXXX / clusterpreference-XXXXX
    namespace: str = ""
    namespaced: bool = False
    cpu_topology: str | None = None  # None: not given
    machine_type: str | None = None
    volume_storage_class: str | None = None


def build_preference(opts: PreferenceOptions, *, rand: Callable[[], str] = random_suffix) -> dict[str, Any]:
    namespaced = opts.namespaced or bool(opts.namespace)
    name = opts.name if opts.name is not None else ("preference-" if namespaced else "clusterpreference-") + rand()
    spec: dict[str, Any] = {}
    if opts.cpu_topology is not None:
        if opts.cpu_topology not in CPU_TOPOLOGIES + DEPRECATED_CPU_TOPOLOGIES:
            raise flag_error("cpu-topology", "CPU topology must have a value of sockets, cores, threads or spread")
        spec["cpu"] = {"preferredCPUTopology": opts.cpu_topology}
    if opts.machine_type is not None:
        spec["machine"] = {"preferredMachineType": opts.machine_type} if opts.machine_type else {}
    if opts.volume_storage_class is not None:
        spec["volumes"] = {"preferredStorageClassName": opts.volume_storage_class} if opts.volume_storage_class else {}
    metadata: dict[str, Any] = {"name": name} if name else {}
    if namespaced and opts.namespace:
        metadata["namespace"] = opts.namespace
    kind = "VirtualMachinePreference" if namespaced else "VirtualMachineClusterPreference"
    return {"kind": kind, "apiVersion": API_VERSION, "metadata": metadata, "spec": spec}
