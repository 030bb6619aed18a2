"""`permitted-devices`: the host devices a VMI may be given, from the KubeVirt CR.

virtctl lists the KubeVirt CRs of the *client's* namespace only (so the command usually needs
`-n kubevirt`), takes the first, and prints the `resourceName`s of
`spec.configuration.permittedHostDevices.pciHostDevices` ("Host Devices") and of `.mediatedDevices`
("GPU Devices"), each list joined by ", ".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from pyvirtctl.errors import CLIError
from pyvirtctl.gotext import go_quote
from pyvirtctl.kube import paths
from pyvirtctl.kube.request import Request

if TYPE_CHECKING:
    from pyvirtctl.kube.session import Session


class PermittedDevices(NamedTuple):
    host_devices: list[str]  # PCI devices' resource names
    gpu_devices: list[str]  # mediated devices' resource names


def kubevirts_request(namespace: str) -> Request:
    return Request("GET", paths.collection(paths.KUBEVIRTS, namespace))


def from_kubevirt(kv: dict[str, Any]) -> PermittedDevices:
    permitted = ((kv.get("spec") or {}).get("configuration") or {}).get("permittedHostDevices")
    if not isinstance(permitted, dict):
        return PermittedDevices([], [])

    def names(key: str) -> list[str]:
        items = permitted.get(key)
        return [str((d or {}).get("resourceName") or "") for d in items if isinstance(d, dict)] \
            if isinstance(items, list) else []

    return PermittedDevices(names("pciHostDevices"), names("mediatedDevices"))


def render(devices: PermittedDevices) -> str:
    """virtctl's text, trailing spaces included."""
    return (f"Permitted Devices: \nHost Devices: \n{', '.join(devices.host_devices)} \n"
            f"GPU Devices: \n{', '.join(devices.gpu_devices)}\n")


def permitted_devices(session: Session, namespace: str) -> PermittedDevices:
    """The devices of the first KubeVirt CR of `namespace`."""
    items = [i for i in session.send(kubevirts_request(namespace)).json().get("items") or [] if isinstance(i, dict)]
    if not items:
        raise CLIError(f"no KubeVirt resource in {go_quote(namespace)} namespace")
    return from_kubevirt(items[0])
