"""Streaming endpoints of the simulator: serial console, VNC (RFB 3.8) and screenshot, port-forward,
usbredir, and the API server's pods/attach and pods/exec.

``register_routes(app, sim)`` adds these routes to the simulator's aiohttp application:

* ``GET  .../virtualmachineinstances/{name}/console``            websocket, serial line (``serial.py``)
* ``GET  .../virtualmachineinstances/{name}/vnc?preserveSession=`` websocket, RFB server (``rfb.py``)
* ``GET  .../virtualmachineinstances/{name}/vnc/screenshot``     PNG of the same framebuffer
* ``GET  .../virtualmachineinstances/{name}/portforward/{port}[/{tcp|udp}]`` websocket tunnel
* ``GET  .../virtualmachines/{name}/portforward/{port}[/{tcp|udp}]``
* ``GET  .../virtualmachineinstances/{name}/usbredir``             websocket, usbredir guest end (``usbredir.py``)
* ``GET  /api/v1/namespaces/{ns}/pods/{name}/attach|exec``        websocket, channel protocol (``podexec.py``)

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
from .podexec import PodStreams

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

    # -- pods (attach / exec)

    def get_pod(self, ns: str, name: str) -> dict[str, Any] | None:
        return self._get("Pod", ns, name)

    def volume_size(self, ns: str, claim: str) -> int | None:
        volumes = getattr(self.sim, "volumes", None)
        info = volumes.info(ns, claim) if volumes is not None else None
        return int(info["size"]) if info else None

    def container_exited(self, ns: str, name: str, uid: str, container: str, exit_code: int) -> None:
        """The container's main process ended: the pod completes (restartPolicy Never)."""
        from pyvirtctl.sim.pods import terminate
        from pyvirtctl.sim.store import now_iso

        pod = self.get_pod(ns, name)
        if pod is None or pod["metadata"].get("uid") != uid:
            return
        now = now_iso()
        self.sim.store.mutate(self.sim.res("Pod"), ns, name, lambda p: terminate(p, container, exit_code, now))


def register_routes(app: web.Application, sim: Any, backend: Backend | None = None) -> StreamState:
    """Add the streaming routes to ``app``; ``sim`` is the simulator core object."""
    backend = backend or _SimBackend(sim)
    state = register(app, backend)
    app[STATE_KEY] = state
    hooks = getattr(sim, "reset_hooks", None)
    if hooks is not None:
        hooks.append(state.reset)
    if hasattr(backend, "get_pod"):
        pod_streams = PodStreams(backend)
        pod_streams.register(app)
        if hooks is not None:
            hooks.append(pod_streams.procs.reset)
    return state
