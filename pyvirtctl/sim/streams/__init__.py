"""Streaming endpoints of the simulator: serial console, VNC (RFB 3.8) and screenshot, port-forward.

``register_routes(app, sim)`` adds these routes to the simulator's aiohttp application:

* ``GET  .../virtualmachineinstances/{name}/console``            websocket, serial line (``serial.py``)
* ``GET  .../virtualmachineinstances/{name}/vnc?preserveSession=`` websocket, RFB server (``rfb.py``)
* ``GET  .../virtualmachineinstances/{name}/vnc/screenshot``     PNG of the same framebuffer
* ``GET  .../virtualmachineinstances/{name}/portforward/{port}[/{tcp|udp}]`` websocket tunnel
* ``GET  .../virtualmachines/{name}/portforward/{port}[/{tcp|udp}]``

(all under ``/apis/subresources.kubevirt.io/{v1|v1alpha3}/namespaces/{ns}``). Port-forward targets
come from the annotation ``sim.pyvirtctl.io/portforward`` on the VMI, its VM or the VM's template,
a JSON map such as ``{"22": "127.0.0.1:2222", "udp/53": "127.0.0.1:5353"}`` (no ``proto/`` = tcp).

The endpoint state (console sessions, guest screens) is kept in ``app[STATE_KEY]``; its
``reset()`` (hooked into the simulator's reset) cuts all sessions and forgets guest state.
Settings and faults: see ``backend.py``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .backend import DEFAULTS, Backend
from .endpoints import StreamState, register

STATE_KEY = web.AppKey("pyvirtctl.sim.streams", StreamState)

__all__ = ["STATE_KEY", "StreamState", "register_routes"]


class _SimBackend:
    """Adapts the simulator core object to :class:`Backend`."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim

    def _get(self, kind: str, ns: str, name: str) -> dict[str, Any] | None:
        return self.sim.store.get(self.sim.res(kind), ns, name)

    def get_vmi(self, ns: str, name: str) -> dict[str, Any] | None:
        return self._get("VirtualMachineInstance", ns, name)

    def get_vm(self, ns: str, name: str) -> dict[str, Any] | None:
        return self._get("VirtualMachine", ns, name)

    def guest_osinfo(self, ns: str, name: str) -> dict[str, Any] | None:
        """The guest agent's `guestosinfo` answer for the VMI (what `virtctl guestosinfo` shows)."""
        data = self.sim.guest_agent(ns, name)
        return data.get("guestosinfo") if isinstance(data, dict) else None

    def guest(self, vmi: dict[str, Any]) -> Any:
        """The VMI's QEMU guest (pyvirtctl/sim/guests.py), or None for the built-in guest."""
        hooks = getattr(self.sim, "guests", None)
        return hooks.guest(vmi) if hooks is not None else None

    def drop_after(self, kind: str, ns: str, name: str) -> int | None:
        return self.sim.faults.ws_drop_after(kind, ns, name)

    def _setting(self, key: str) -> Any:
        config = getattr(self.sim, "config", None) or {}
        value = config.get(key) if isinstance(config, dict) else getattr(config, key, None)
        return DEFAULTS[key] if value is None else value

    def close_mode(self) -> str:
        return str(self._setting("stream_close"))

    def ping_interval(self) -> float:
        return float(self._setting("portforward_ping_interval"))

    def pong_timeout(self) -> float:
        return float(self._setting("portforward_pong_timeout"))

    def fragment_size(self) -> int:
        return int(self._setting("stream_fragment"))


def register_routes(app: web.Application, sim: Any, backend: Backend | None = None) -> StreamState:
    """Add the streaming routes to ``app``; ``sim`` is the simulator core object."""
    state = register(app, backend or _SimBackend(sim))
    app[STATE_KEY] = state
    hooks = getattr(sim, "reset_hooks", None)
    if hooks is not None:
        hooks.append(state.reset)
    return state
