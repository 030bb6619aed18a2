"""pyvirtctl: a virtctl-compatible command-line client for KubeVirt, and a local KubeVirt simulator."""

__version__ = "0.1.0"
