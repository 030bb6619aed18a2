"""What `version` reports for the client, and the version-mismatch hint virtctl prints on errors."""

from __future__ import annotations

import os
import sys

from pyvirtctl import __version__

# The KubeVirt release whose virtctl behaviour pyvirtctl reproduces; the mismatch hint compares
# its major.minor with the server's, as virtctl compares its own build version.
KUBEVIRT_VERSION = "v1.9.0"

MISMATCH = (
    "You are using a client virtctl version that is different from the KubeVirt version running in the cluster\n"
    "Client Version: {client}\n"
    "Server Version: {server}\n"
)


_GOARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i686": "386",
    "i386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "armv7l": "arm",
}


def go_os() -> str:
    """Go's GOOS for this machine (`linux`, `darwin`, `windows`)."""
    if sys.platform.startswith("linux"):
        return "linux"
    return "windows" if sys.platform == "win32" else sys.platform


def go_arch() -> str:
    """Go's GOARCH for this machine (`amd64`, `arm64`, ...)."""
    machine = (os.uname().machine if hasattr(os, "uname") else os.environ.get("PROCESSOR_ARCHITECTURE", "")).lower()
    return _GOARCH.get(machine, machine or "unknown")


def client_info() -> dict[str, str]:
    return {
        "gitVersion": KUBEVIRT_VERSION,
        "gitCommit": f"pyvirtctl-{__version__}",
        "gitTreeState": "clean",
        "buildDate": "2026-11-27T00:00:00Z",
        "goVersion": f"python{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}",
        "compiler": sys.implementation.name,
        "platform": f"{go_os()}/{go_arch()}",
    }


def major_minor(version: str) -> tuple[int, int] | None:
    """(major, minor) of a `vX.Y.Z[-...]` string, or None if it is not a semantic version."""
    v = version[1:] if version.startswith("v") else version
    parts = v.split("-", 1)[0].split("+", 1)[0].split(".")
    if len(parts) < 3:
        return None
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return None


def mismatch_hint(server_version: str, client_version: str = KUBEVIRT_VERSION) -> str | None:
    """virtctl's hint text when major.minor differ; None when they match or cannot be compared."""
    c, s = major_minor(client_version), major_minor(server_version)
    if c is None or s is None or c == s:
        return None
    return MISMATCH.format(client=client_version, server=server_version)
