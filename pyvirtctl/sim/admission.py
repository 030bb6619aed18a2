"""virt-api's validating webhooks for VirtualMachines and VirtualMachineInstances."""

from __future__ import annotations

VM_WEBHOOK = "virtualmachine-validator.kubevirt.io"
VMI_CREATE_WEBHOOK = "virtualmachineinstances-create-validator.kubevirt.io"
VMI_UPDATE_WEBHOOK = "virtualmachineinstances-update-validator.kubevirt.io"


def admit_vm(new: dict, old: dict | None) -> tuple[str, list[dict]]:
    return VM_WEBHOOK, []


def admit_vmi(new: dict, old: dict | None) -> tuple[str, list[dict]]:
    return (VMI_UPDATE_WEBHOOK if old is not None else VMI_CREATE_WEBHOOK), []
