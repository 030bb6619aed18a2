"""What virt-api checks before it upgrades a streaming request, and the Status it answers with.

Pure functions over VMI/VM dicts. Each returns ``None`` when the request may go ahead, or a
:class:`Refusal` carrying the HTTP code, the Status ``reason``, the exact ``message`` and the
``details`` virt-api would send (streaming spec §5.2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PORTFORWARD_ANNOTATION = "sim.pyvirtctl.io/portforward"


@dataclass
class Refusal(Exception):
    code: int
    reason: str
    message: str
    details: dict[str, Any] | None = field(default=None)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def json(self) -> bytes:
        return json.dumps(self.body()).encode()


def _details(kind: str, name: str) -> dict[str, Any]:
    return {"name": name, "group": "kubevirt.io", "kind": kind}


def not_found(kind: str, name: str) -> Refusal:
    return Refusal(404, "NotFound", f'{kind}.kubevirt.io "{name}" not found', _details(kind, name))


def conflict(kind: str, name: str, err: str) -> Refusal:
    return Refusal(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {kind}.kubevirt.io "{name}": {err}',
        _details(kind, name),
    )


def bad_request(message: str) -> Refusal:
    return Refusal(400, "BadRequest", message)


def internal(err: str) -> Refusal:
    return Refusal(500, "InternalError", "Internal error occurred: " + err, {"causes": [{"message": err}]})


VMI_NOT_RUNNING = "VMI is not running"
ACTIVE_VNC = (
    "Can't connect to websocket (503): websocket: bad handshake: application info: "
    "Active VNC connection. Request denied."
)


def _devices(vmi: dict[str, Any]) -> dict[str, Any]:
    return (((vmi.get("spec") or {}).get("domain") or {}).get("devices")) or {}


def phase(vmi: dict[str, Any]) -> str:
    return str((vmi.get("status") or {}).get("phase") or "")


def is_paused(vmi: dict[str, Any]) -> bool:
    conditions = (vmi.get("status") or {}).get("conditions") or []
    return any((c or {}).get("type") == "Paused" for c in conditions)


def check_console(vmi: dict[str, Any], name: str) -> Refusal | None:
    if _devices(vmi).get("autoattachSerialConsole") is False:
        return bad_request("No serial consoles are present.")
    if phase(vmi) == "Failed":
        return conflict("virtualmachineinstance", name, "VMI is in failed status")
    if phase(vmi) != "Running":
        return bad_request(VMI_NOT_RUNNING)
    return None


def check_vnc(vmi: dict[str, Any], name: str) -> Refusal | None:
    if _devices(vmi).get("autoattachGraphicsDevice") is False:
        return bad_request("No graphics devices are present.")
    if phase(vmi) != "Running":
        return bad_request(VMI_NOT_RUNNING)
    return None


def check_usbredir(vmi: dict[str, Any], name: str) -> Refusal | None:
    if ((vmi.get("spec") or {}).get("architecture")) == "s390x":
        return conflict("virtualmachineinstance", name, "No USB support on s390x")
    if _devices(vmi).get("clientPassthrough") is None:
        return conflict("virtualmachineinstance", name, "Not configured with USB Redirection")
    if phase(vmi) != "Running":
        return bad_request(VMI_NOT_RUNNING)
    return None


def check_portforward(vmi: dict[str, Any], name: str) -> Refusal | None:
    if is_paused(vmi):
        return conflict("virtualmachineinstance", name, "VMI is paused")
    if not (vmi.get("status") or {}).get("interfaces"):
        return bad_request("no network interfaces are present")
    return None


def check_vm_started(vm: dict[str, Any], name: str) -> Refusal | None:
    if not (vm.get("status") or {}).get("created"):
        return conflict("virtualmachine", name, "VMI is not started")
    return None


def vmi_ip(vmi: dict[str, Any]) -> str:
    interfaces = (vmi.get("status") or {}).get("interfaces") or []
    first = interfaces[0] if interfaces else {}
    return str((first or {}).get("ipAddress") or "")


def _mapping(meta: dict[str, Any] | None) -> dict[str, str]:
    raw = ((meta or {}).get("annotations") or {}).get(PORTFORWARD_ANNOTATION)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def forward_target(
    port: int, proto: str, vmi: dict[str, Any], vm: dict[str, Any] | None
) -> tuple[str, int] | None:
    """The local ``(host, port)`` standing in for the VMI's port, from the annotation.

    The VMI's map wins over its VM's, which wins over the VM template's; a key without
    ``proto/`` means tcp.
    """
    merged: dict[str, str] = {}
    if vm:
        merged.update(_mapping((((vm.get("spec") or {}).get("template")) or {}).get("metadata")))
        merged.update(_mapping(vm.get("metadata")))
    merged.update(_mapping(vmi.get("metadata")))
    value = merged.get(f"{proto}/{port}")
    if value is None and proto == "tcp":
        value = merged.get(str(port))
    if not value:
        return None
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", value
    try:
        return (host.strip("[]") or "127.0.0.1", int(port_text))
    except ValueError:
        return None


def parse_bool(text: str | None) -> bool:
    """Go's strconv.ParseBool, with anything unparsable meaning false (as virt-api uses it)."""
    return (text or "") in ("1", "t", "T", "true", "TRUE", "True")
