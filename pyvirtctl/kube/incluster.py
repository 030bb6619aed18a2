"""In-cluster configuration: the service account a pod gets, as client-go's rest.InClusterConfig reads it.

Used when nothing else is configured (no kubeconfig file, no override flags) and the process runs in
a pod: `KUBERNETES_SERVICE_HOST` / `_PORT` are set and the service-account token file exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True)
class InClusterSettings:
    """Where a pod's API server, token and CA are (the token is read by the caller)."""

    server: str
    token_file: str
    ca_file: str  # "" when the pod has no ca.crt


def possible(env: Mapping[str, str], sa_dir: str = SERVICE_ACCOUNT_DIR) -> bool:
    """True in a pod: the service host and port variables and the token file are all there."""
    return (
        bool(env.get("KUBERNETES_SERVICE_HOST"))
        and bool(env.get("KUBERNETES_SERVICE_PORT"))
        and os.path.isfile(os.path.join(sa_dir, "token"))
    )


def namespace(env: Mapping[str, str], sa_dir: str = SERVICE_ACCOUNT_DIR) -> str:
    """The pod's namespace: $POD_NAMESPACE, else the service account's namespace file, else default."""
    if env.get("POD_NAMESPACE"):
        return env["POD_NAMESPACE"]
    try:
        with open(os.path.join(sa_dir, "namespace"), encoding="utf-8") as fh:
            ns = fh.read().strip()
        if ns:
            return ns
    except OSError:
        pass
    return "default"


def settings(env: Mapping[str, str], sa_dir: str = SERVICE_ACCOUNT_DIR) -> InClusterSettings:
    """https://<service host>:<port> (IPv6 hosts bracketed), the token file and the CA file."""
    host, port = env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    ca_path = os.path.join(sa_dir, "ca.crt")
    return InClusterSettings(
        server=f"https://{hostport}",
        token_file=os.path.join(sa_dir, "token"),
        ca_file=ca_path if os.path.isfile(ca_path) else "",
    )
