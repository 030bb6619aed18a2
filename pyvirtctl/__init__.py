"""pyvirtctl: a virtctl-compatible command-line client for KubeVirt, and a local KubeVirt simulator.

The Python API is `pyvirtctl.Client` (see pyvirtctl/kubevirt/); importing this package stays cheap:
the client module is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Client":
        from pyvirtctl.kubevirt.client import Client

        return Client
    raise AttributeError(f"module 'pyvirtctl' has no attribute {name!r}")
