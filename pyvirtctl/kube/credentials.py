"""Credentials that need code: exec credential plugins and legacy auth-providers (OIDC, GCP).

Both are delegated to the official `kubernetes` package, imported here and only here, so that
runs with static credentials (token, client certificate, basic auth) never pay its import cost.
Like kubectl, a plugin runs at most once per process unless its credential has expired.
"""

from __future__ import annotations

import base64
import datetime as _dt
from typing import Any, Protocol

from pyvirtctl.errors import ConfigError


class PluginConfig(Protocol):
    """What the credential plugins need of a ClusterConfig (kube/config.py, which imports this module)."""

    server: str
    exec_config: dict[str, Any] | None
    auth_provider: dict[str, Any] | None

_EXEC_EXTENSION = "client.authentication.k8s.io/exec"


class PluginCredentials:
    """Runs the exec plugin / auth-provider of the selected user on demand and caches the result."""

    def __init__(self, config: PluginConfig) -> None:
        self.config = config
        self._status: dict[str, Any] | None = None
        self._expiry: _dt.datetime | None = None
        self._provider_token: str | None = None

    # ---- public

    def authorization(self) -> str:
        """The Authorization header value, or "" when the plugin supplied a client certificate."""
        if self.config.exec_config:
            token = self._exec_status().get("token")
            return f"Bearer {token}" if token else ""
        if self.config.auth_provider:
            return self._auth_provider_token()
        return ""

    def client_certificate(self) -> tuple[bytes, bytes] | None:
        """(cert PEM, key PEM) when the exec plugin answered with a certificate."""
        if not self.config.exec_config:
            return None
        status = self._exec_status()
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if cert and key:
            return str(cert).encode(), str(key).encode()
        return None

    # ---- exec plugins

    def _expired(self) -> bool:
        return self._expiry is not None and self._expiry <= _dt.datetime.now(_dt.UTC)

    def _exec_status(self) -> dict[str, Any]:
        if self._status is not None and not self._expired():
            return self._status
        exec_cfg = dict(self.config.exec_config or {})
        base = exec_cfg.pop("_base", None)
        cluster = exec_cfg.pop("_cluster", None)
        command = str(exec_cfg.get("command") or "")
        try:
            from kubernetes.config.exec_provider import ExecProvider  # noqa: PLC0415
            from kubernetes.config.kube_config import ConfigNode  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise ConfigError(
                f"getting credentials: the kubernetes package is required for exec plugins: {exc}"
            ) from None
        cluster_node = None
        if exec_cfg.get("provideClusterInfo") and cluster is not None:
            cluster_node = ConfigNode("cluster", _exec_cluster_info(cluster))
        try:
            provider = ExecProvider(ConfigNode("exec", exec_cfg), base, cluster_node)
            status = provider.run()
        except FileNotFoundError:
            hint = str(exec_cfg.get("installHint") or "").strip().splitlines()
            extra = f" ({hint[0]})" if hint else ""
            raise ConfigError(f"getting credentials: exec: executable {command} not found{extra}") from None
        except PermissionError as exc:
            raise ConfigError(
                f"getting credentials: exec: fork/exec {command}: {(exc.strerror or str(exc)).lower()}"
            ) from None
        except Exception as exc:  # the package raises ConfigException with its own text
            text = " ".join(str(exc).split())
            raise ConfigError(f"getting credentials: {text}") from None
        if not isinstance(status, dict) or not (
            status.get("token") or (status.get("clientCertificateData") and status.get("clientKeyData"))
        ):
            raise ConfigError("getting credentials: exec: plugin didn't return a token or cert/key pair")
        self._status = status
        self._expiry = _parse_time(status.get("expirationTimestamp"))
        return status

    # ---- auth-provider (oidc, gcp)

    def _auth_provider_token(self) -> str:
        if self._provider_token is not None:
            return self._provider_token
        provider = self.config.auth_provider or {}
        name = str(provider.get("name") or "")
        try:
            from kubernetes.client import Configuration  # noqa: PLC0415
            from kubernetes.config.kube_config import KubeConfigLoader  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover
            raise ConfigError(f"the kubernetes package is required for auth-provider {name}: {exc}") from None
        config_dict = {
            "current-context": "c",
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "clusters": [{"name": "c", "cluster": {"server": self.config.server}}],
            "users": [{"name": "u", "user": {"auth-provider": provider}}],
        }
        try:
            loader = KubeConfigLoader(config_dict=config_dict, active_context="c")
            client_cfg = Configuration()
            loader.load_and_set(client_cfg)
            value = client_cfg.auth_settings().get("BearerToken", {}).get("value") or ""
        except Exception as exc:
            text = " ".join(str(exc).split())
            raise ConfigError(f"getting credentials: auth-provider {name}: {text}") from None
        if not value:
            raise ConfigError(f'no Auth Provider found for name "{name}"')
        self._provider_token = value
        return value


def _exec_cluster_info(cluster: dict[str, Any]) -> dict[str, Any]:
    """The ExecCredential `spec.cluster` object (JSON-ready) for plugins with provideClusterInfo."""
    info: dict[str, Any] = {"server": cluster.get("server", "")}
    if cluster.get("tls-server-name"):
        info["tls-server-name"] = cluster["tls-server-name"]
    if cluster.get("insecure-skip-tls-verify"):
        info["insecure-skip-tls-verify"] = True
    ca = cluster.get("certificate-authority-data") or b""
    if ca:
        info["certificate-authority-data"] = base64.b64encode(ca).decode()
    if cluster.get("proxy-url"):
        info["proxy-url"] = cluster["proxy-url"]
    for ext in cluster.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == _EXEC_EXTENSION:
            info["config"] = ext.get("extension")
    return info


def _parse_time(value: Any) -> _dt.datetime | None:
    if not value:
        return None
    try:
        return _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
