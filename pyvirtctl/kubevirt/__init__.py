"""The Python API and everything the CLI commands stand on, with no CLI loaded.

    from pyvirtctl.kubevirt import Client      # also: from pyvirtctl import Client

Modules: `requests` (pure request builders: options -> Request), `client` (Client,
VirtualMachine, VirtualMachineInstance, WaitError), `waiting` (`--wait`: watch-based waits),
`bulk` (acting on several targets), `lifecycle` (the verbs bulk runs), `expose`, `volume`,
`memorydump`, `export`, `console`. Nothing here imports Typer, click or the command modules.
Importing the package is cheap: the client module loads on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Client", "VirtualMachine", "VirtualMachineInstance", "WaitError"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pyvirtctl.kubevirt import client

        return getattr(client, name)
    raise AttributeError(f"module 'pyvirtctl.kubevirt' has no attribute {name!r}")
