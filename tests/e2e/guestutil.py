"""Shared set-up for the guest-agent / volume / memory-dump end-to-end tests."""

from __future__ import annotations

from pyvirtctl.sim.harness import SimProcess

VM = "testvm"


def vm_object(name: str = VM, memory: str = "1Gi", running: bool = True) -> dict:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "running": running,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "domain": {
                        "devices": {"disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}]},
                        "resources": {"requests": {"memory": memory}},
                    },
                    "volumes": [{"name": "rootdisk", "containerDisk": {"image": "example/disk"}}],
                },
            },
        },
    }


def has_condition(obj: dict | None, cond: str) -> bool:
    conds = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == cond and c.get("status") == "True" for c in conds)


def running_vm(sim: SimProcess, name: str = VM, memory: str = "1Gi") -> dict:
    """Create a running VM and wait until its VMI runs with the guest agent connected."""
    sim.apply(vm_object(name, memory))
    vmi = sim.wait_for(
        "VirtualMachineInstance", "default", name,
        lambda o: o is not None and (o.get("status") or {}).get("phase") == "Running"
        and has_condition(o, "AgentConnected"),
    )
    sim.clear_log()
    return vmi


def pvc(name: str, size: str = "2Gi") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }


def api_requests(sim: SimProcess) -> list[tuple[str, str]]:
    """(method, path) of every logged API request, in order."""
    return [(r["method"], r["path"]) for r in sim.requests()]
