"""`Simulator`: the cluster state plus what serving it needs (request log, faults, controllers, reset).

Every HTTP handler module (api, admin, subresources, openapi, export, streams) receives one
`Simulator`; see `pyvirtctl/sim/server.py` for the plug-in contract.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web

from pyvirtctl.sim import cdi, routing
from pyvirtctl.sim.controllers import Controllers
from pyvirtctl.sim.faults import Faults
from pyvirtctl.sim.guests import GuestHooks
from pyvirtctl.sim.kstatus import clone
from pyvirtctl.sim.state import SimState
from pyvirtctl.sim.volumes import VolumeStore


class Simulator(SimState):
    """State shared by every handler: store, faults, config, request log, controllers."""

    def __init__(self, token: str, namespace: str = "default", delay: float = 0.0, seeds: list[str] | None = None,
                 deny: list[dict] | None = None, log_file: str | None = None, state_file: str | None = None,
                 url: str = "", guests: str = "builtin", guest_accel: str = "tcg") -> None:
        super().__init__(namespace=namespace, delay=delay, seeds=seeds, state_file=state_file)
        self.guests = GuestHooks(self, default=guests, factory=lambda sim: _qemu_runtime(sim, guest_accel))
        self.token = token
        self.deny = deny or []
        self.url = url
        self.faults = Faults()
        self.log: list[dict] = []
        self.log_file = log_file
        self._log_fh = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115
        self.reset_hooks: list[Callable[[], Any]] = []
        self.public_prefixes: tuple[str, ...] = ()
        self.ca_pem: bytes | None = None
        self.uploads = cdi.UploadState()  # CDI: upload tokens, uploads in progress
        self.upload_proxy_url = ""  # the upload proxy's URL (uploadproxy.py), published in the CDIConfig
        self.certs: Any = None  # pyvirtctl.sim.certs.ServerCerts of the HTTPS server (None over plain http)
        self.controllers = Controllers(self)
        self.store.subscribe(lambda *_: self.controllers.kick())
        self.store.subscribe(lambda *_: self._state_dirty())
        self._save_handle: asyncio.TimerHandle | None = None
        # the bytes of PVCs (uploads, exports): next to the --state file, else a temporary folder
        self.volumes = VolumeStore(state_file + ".volumes" if state_file else None)

    @staticmethod
    def status_response(code: int, reason: str | None, message: str, details: dict | None = None) -> web.Response:
        return routing.status_response(code, reason, message, details)

    # -- request log
    def record(self, entry: dict) -> None:
        self.log.append(entry)
        if self._log_fh:
            self._log_fh.write(json.dumps(entry) + "\n")
            self._log_fh.flush()

    def load_seeds(self) -> None:
        """The seeds, then the objects CDI's operator would have made where the seeds have none."""
        super().load_seeds()
        cdi.ensure_objects(self)

    def reset(self) -> None:
        self.uploads.reset()
        self.guests.reset()
        self.faults.clear()
        self.controllers.reset()
        self.store.clear()
        self.volumes.clear()
        self.guest_data.clear()
        self.log.clear()
        self.config.clear()
        self.config.update(clone(self.initial_config))
        for hook in list(self.reset_hooks):
            try:
                hook()
            except Exception as e:  # a broken hook must not break reset
                print(f"sim: reset hook failed: {e}", file=sys.stderr)
        self.load_seeds()

    def _state_dirty(self) -> None:
        if not self.state_file:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._save_handle is None:
            def _save() -> None:
                self._save_handle = None
                self.save_state()
            self._save_handle = loop.call_later(0.3, _save)


def _qemu_runtime(sim: Simulator, accel: str) -> Any:
    """The QEMU guest runtime, imported only when the first VMI runs as a QEMU guest."""
    from pyvirtctl.sim.qemu.runtime import QemuRuntime

    return QemuRuntime(sim, accel=accel)
