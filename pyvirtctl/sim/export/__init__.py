"""VirtualMachineExport in the simulator: the export controller, the exporter pods and the export proxy.

* `controller.py` - phases Pending -> Ready (-> Terminated after the TTL), the token Secret, the
  exporter Service and pod, `status.links` (read its docstring for the whole story);
* `server.py` - what an exporter serves (volumes raw / gzip / tar.gz / dir, manifests), on each
  exporter pod's own HTTPS port and under the external prefix of the API server's port;
* `manifests.py` - the VM manifests and the CDI header Secret, as YAML or JSON;
* VirtualMachineSnapshots (`pyvirtctl.sim.snapshots`) are taken here too, since only exports use them.

The exporter pods are reached through `pods/portforward` (`pyvirtctl.sim.podforward`), as virtctl's
`--port-forward` does. Their bytes come from `sim.volumes` (`pyvirtctl.sim.volumes`).

Hook: `server.build_app` calls `register_routes(app, sim)`; `sim.exports` is the controller.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pyvirtctl.sim import snapshots
from pyvirtctl.sim.export import server
from pyvirtctl.sim.export.controller import API_PREFIX, ExportController


def register_routes(app: web.Application, sim: Any) -> None:
    ctl = ExportController(sim)
    ctl.serve = server.serve
    sim.exports = ctl
    # the export proxy checks the export token itself, not the API bearer token
    sim.public_prefixes = (*getattr(sim, "public_prefixes", ()), API_PREFIX + "/")
    sim.store.subscribe(ctl.on_event)
    sim.reset_hooks.append(ctl.reset)
    app.on_cleanup.append(ctl.close)
    snapshots.register(sim)
    app.router.add_route("*", server.EXTERNAL_ROUTE, server.external)
