"""kubeconfig + flags -> ClusterConfig, following kubectl/client-go's clientcmd rules exactly.

Order of sources (clientcmd's deferred loading client config):

1. The kubeconfig files (`kubeconfig.py`: which files, typed reading, merging): `--kubeconfig FILE`
   (must exist), else every file of `$KUBECONFIG`, else `~/.kube/config`; the first file that
   defines a name, and the first that sets `current-context`, wins.
2. The command-line overrides (`flags.py`: `--context`, `--cluster`, `--user`, `-s`, `--token`,
   TLS flags, ...) are laid over the chosen context, cluster and user; the result is validated
   with client-go's `invalid configuration: ...` messages.
3. If the result is exactly client-go's legacy default (no kubeconfig, no overrides) and the process
   runs in a pod, the in-cluster config is used (`incluster.py`). Otherwise the default server is
   `http://localhost:8080` (or `$KUBERNETES_MASTER`).

Nothing here touches the network and no YAML library is needed for plain kubeconfigs; credentials
that need code (exec plugins, auth-provider/OIDC) are delegated to `credentials.py`, which imports
the `kubernetes` package only when such a user is actually selected.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from pyvirtctl.errors import ConfigError
from pyvirtctl.kube import incluster
from pyvirtctl.kube.flags import GlobalFlags, parse_request_timeout, strip_namespace_prefix

# moved to flags.py and kubeconfig.py; re-exported for the modules that import them from here
from pyvirtctl.kube.flags import format_go_duration as format_go_duration
from pyvirtctl.kube.flags import parse_go_duration as parse_go_duration
from pyvirtctl.kube.incluster import SERVICE_ACCOUNT_DIR
from pyvirtctl.kube.kubeconfig import RawKubeconfig, load_raw
from pyvirtctl.kube.kubeconfig import kubeconfig_names as kubeconfig_names
from pyvirtctl.kube.kubeconfig import os_error_text as _os_error_text
from pyvirtctl.kube.proxy import parse_proxy_url, proxy_from_environment

if TYPE_CHECKING:
    import ssl

LEGACY_DEFAULT_SERVER = "http://localhost:8080"


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


# --------------------------------------------------------------------------- the resolved config


@dataclass
class ClusterConfig:
    """Everything a session needs to talk to one API server (clientcmd's rest.Config)."""

    server: str = LEGACY_DEFAULT_SERVER
    namespace: str = "default"
    namespace_explicit: bool = False
    ca_file: str = ""
    ca_data: bytes = b""
    client_cert_file: str = ""
    client_cert_data: bytes = field(default=b"", repr=False)
    client_key_file: str = ""
    client_key_data: bytes = field(default=b"", repr=False)
    insecure: bool = False
    tls_server_name: str = ""
    proxy_url: str = ""
    timeout: float | None = None
    token: str = field(default="", repr=False)
    token_file: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    exec_config: dict[str, Any] | None = field(default=None, repr=False)
    auth_provider: dict[str, Any] | None = field(default=None, repr=False)
    impersonate_user: str = ""
    impersonate_groups: list[str] = field(default_factory=list)
    impersonate_uid: str = ""
    impersonate_extra: dict[str, list[str]] = field(default_factory=dict)
    disable_compression: bool = False
    context_name: str = ""
    cluster_name: str = ""
    user_name: str = ""
    in_cluster: bool = False
    kubeconfig_files: list[str] = field(default_factory=list)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    _credentials: Any = field(default=None, repr=False, compare=False)

    # ---- derived values

    @property
    def is_tls(self) -> bool:
        return self.server.lower().startswith("https://")

    @property
    def has_ca(self) -> bool:
        return bool(self.ca_file or self.ca_data)

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL for a request to `url`: --proxy-url / proxy-url, else the environment."""
        if self.proxy_url:
            return self.proxy_url
        return proxy_from_environment(url, self.env)

    def credentials(self) -> Any:
        """The plugin-backed credential source (exec / auth-provider), created on first use."""
        if self._credentials is None and (self.exec_config or self.auth_provider):
            from pyvirtctl.kube.credentials import PluginCredentials  # noqa: PLC0415

            self._credentials = PluginCredentials(self)
        return self._credentials

    def current_token(self) -> str:
        """The static bearer token; a tokenFile is re-read so rotated tokens are picked up."""
        if self.token_file and not self.token:
            try:
                with open(self.token_file, encoding="utf-8") as fh:
                    return fh.read().strip()
            except OSError:
                return self._loaded_file_token
        return self.token

    _loaded_file_token: str = field(default="", repr=False)

    def auth_header_items(self) -> list[tuple[str, str]]:
        """Authorization and Impersonate-* headers, repeated headers as separate items."""
        items: list[tuple[str, str]] = []
        token = self.current_token()
        if token:
            items.append(("Authorization", f"Bearer {token}"))
        elif self.username or self.password:
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            items.append(("Authorization", f"Basic {basic}"))
        else:
            creds = self.credentials()
            if creds is not None:
                value = creds.authorization()
                if value:
                    items.append(("Authorization", value))
        if self.impersonate_user:
            items.append(("Impersonate-User", self.impersonate_user))
            if self.impersonate_uid:
                items.append(("Impersonate-Uid", self.impersonate_uid))
            for group in self.impersonate_groups:
                items.append(("Impersonate-Group", group))
            for key, values in self.impersonate_extra.items():
                for value in values:
                    items.append((f"Impersonate-Extra-{_header_key_escape(key)}", value))
        return items

    def auth_headers(self) -> dict[str, str]:
        """Like auth_header_items as a dict; several groups are joined with ", " (display only --
        send auth_header_items() so each group is its own header line, as the API server expects)."""
        out: dict[str, str] = {}
        for key, value in self.auth_header_items():
            out[key] = f"{out[key]}, {value}" if key in out else value
        return out

    def client_cert_material(self) -> tuple[bytes, bytes] | None:
        """(cert PEM, key PEM) from files/data, or from an exec plugin that returned a certificate."""
        if self.client_cert_file or self.client_cert_data:
            cert = self.client_cert_data or _read_file(self.client_cert_file, "client-cert")
            key = self.client_key_data or _read_file(self.client_key_file, "client-key")
            return cert, key
        creds = self.credentials()
        if creds is not None:
            return creds.client_certificate()
        return None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS settings of client-go's transport: CA or system roots, client cert, insecure (tls.py)."""
        if not self.is_tls:
            return None
        if self.insecure and self.has_ca:
            raise ConfigError("specifying a root certificates file with the insecure flag is not allowed")
        from pyvirtctl.kube.tls import client_context  # noqa: PLC0415

        ca = None
        if self.has_ca and not self.insecure:
            ca = self.ca_data or _read_file(self.ca_file, "certificate-authority")
        return client_context(ca_pem=ca, insecure=self.insecure, client_cert=self.client_cert_material())


def _header_key_escape(key: str) -> str:
    # client-go percent-encodes bytes that are not legal in a header name
    legal = "!#$&'*+-.^_`|~"
    return quote(key, safe=legal)


def _read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"unable to read {what} {path}: {_os_error_text('open', path, exc)}") from None


# --------------------------------------------------------------------------- resolution


def _default_server(env: Mapping[str, str]) -> str:
    return env.get("KUBERNETES_MASTER") or LEGACY_DEFAULT_SERVER


class _Resolver:
    """clientcmd's DirectClientConfig over the merged kubeconfig plus the flag overrides."""

    def __init__(self, raw: RawKubeconfig, flags: GlobalFlags, env: Mapping[str, str]) -> None:
        self.raw = raw
        self.flags = flags
        self.env = env

    def context_name(self) -> tuple[str, bool]:
        if self.flags.context:
            return self.flags.context, True
        return self.raw.current_context, False

    def context(self, strict: bool) -> dict[str, Any]:
        name, required = self.context_name()
        merged: dict[str, Any] = {}
        if name in self.raw.contexts:
            merged.update({k: v for k, v in self.raw.contexts[name].items() if v})
        elif required and strict:
            raise ConfigError(f'context "{name}" does not exist')
        if self.flags.cluster:
            merged["cluster"] = self.flags.cluster
        if self.flags.user:
            merged["user"] = self.flags.user
        if self.flags.namespace:
            merged["namespace"] = strip_namespace_prefix(self.flags.namespace)
        return merged

    def user(self, strict: bool) -> tuple[str, dict[str, Any]]:
        name = self.flags.user or str(self.context(strict=False).get("user") or "")
        merged: dict[str, Any] = {}
        if name in self.raw.users:
            merged.update({k: v for k, v in self.raw.users[name].items() if v not in (None, "", [], {}, b"")})
        elif self.flags.user and strict:
            raise ConfigError(f'auth info "{name}" does not exist')
        f = self.flags
        for key, value in (
            ("token", f.token),
            ("as", f.as_user),
            ("as-uid", f.as_uid),
            ("username", f.username),
            ("password", f.password),
        ):
            if value:
                merged[key] = value
        if f.as_group:
            merged["as-groups"] = list(f.as_group)
        if f.client_certificate:
            merged["client-certificate"] = f.client_certificate
            merged.pop("client-certificate-data", None)
        if f.client_key:
            merged["client-key"] = f.client_key
            merged.pop("client-key-data", None)
        return name, merged

    def cluster(self, strict: bool) -> tuple[str, dict[str, Any]]:
        name = self.flags.cluster or str(self.context(strict=False).get("cluster") or "")
        merged: dict[str, Any] = {"server": _default_server(self.env)}
        if name in self.raw.clusters:
            merged.update({k: v for k, v in self.raw.clusters[name].items() if v not in (None, "", b"")})
        elif self.flags.cluster and strict:
            raise ConfigError(f'cluster "{name}" does not exist')
        f = self.flags
        for key, value in (
            ("server", f.server),
            ("proxy-url", f.proxy_url),
        ):
            if value:
                merged[key] = value
        if f.disable_compression:
            merged["disable-compression"] = True
        # --insecure-skip-tls-verify or --certificate-authority replace all CA/skip settings of the file
        if f.insecure_skip_tls_verify or f.certificate_authority:
            merged["insecure-skip-tls-verify"] = f.insecure_skip_tls_verify
            merged["certificate-authority"] = f.certificate_authority
            merged.pop("certificate-authority-data", None)
        # --tls-server-name, or --server alone, replaces the file's tls-server-name
        if f.tls_server_name or f.server:
            merged["tls-server-name"] = f.tls_server_name
        return name, merged

    def confirm_usable(self) -> None:
        errors: list[str] = []
        ctx_name = self.context_name()[0]
        if ctx_name and ctx_name not in self.raw.contexts:
            errors.append(f"context was not found for specified context: {ctx_name}")
        user_name, user = self.user(strict=False)
        errors.extend(_validate_user(user_name, user))
        cluster_name, cluster = self.cluster(strict=False)
        errors.extend(_validate_cluster(cluster_name, cluster))
        if errors:
            raise ConfigError(_invalid_configuration(errors))

    def namespace(self) -> tuple[str, bool]:
        if self.flags.namespace:
            return strip_namespace_prefix(self.flags.namespace), True
        self.confirm_usable()
        ns = str(self.context(strict=True).get("namespace") or "")
        return (ns or "default"), False


def _invalid_configuration(errors: list[str]) -> str:
    if len(errors) == 1:
        return f"invalid configuration: {errors[0]}"
    return f"invalid configuration: [{', '.join(errors)}]"


def _validate_cluster(name: str, cluster: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if not cluster.get("server"):
        errors.append(
            f'no server found for cluster "{name}"' if name else "default cluster has no server defined"
        )
    proxy = str(cluster.get("proxy-url") or "")
    if proxy:
        try:
            parse_proxy_url(proxy)
        except ValueError as exc:
            errors.append(f'invalid \'proxy-url\' "{proxy}" for cluster "{name}": {exc}')
    ca = str(cluster.get("certificate-authority") or "")
    if ca and cluster.get("certificate-authority-data"):
        errors.append(
            f"certificate-authority-data and certificate-authority are both specified for {name}. "
            "certificate-authority-data will override."
        )
    if ca and not _readable(ca):
        errors.append(f"unable to read certificate-authority {ca} for {name} due to {_open_error(ca)}")
    return errors


def _validate_user(name: str, user: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    methods = []
    if user.get("token"):
        methods.append("token")
    if user.get("username") or user.get("password"):
        methods.append("basicAuth")
    cert, cert_data = str(user.get("client-certificate") or ""), user.get("client-certificate-data")
    key, key_data = str(user.get("client-key") or ""), user.get("client-key-data")
    if cert or cert_data:
        if cert and cert_data:
            errors.append(
                f"client-cert-data and client-cert are both specified for {name}. client-cert-data will override."
            )
        if key and key_data:
            errors.append(
                f"client-key-data and client-key are both specified for {name}; client-key-data will override"
            )
        if not key and not key_data:
            errors.append(
                f"client-key-data or client-key must be specified for {name} to use the clientCert authentication method."
            )
        if cert and not _readable(cert):
            errors.append(f"unable to read client-cert {cert} for {name} due to {_open_error(cert)}")
        if key and not _readable(key):
            errors.append(f"unable to read client-key {key} for {name} due to {_open_error(key)}")
    exec_cfg = user.get("exec")
    if isinstance(exec_cfg, dict):
        if user.get("auth-provider"):
            errors.append(f"authProvider cannot be provided in combination with an exec plugin for {name}")
        if not exec_cfg.get("command"):
            errors.append(f"command must be specified for {name} to use exec authentication plugin")
        api_version = str(exec_cfg.get("apiVersion") or "")
        if not api_version:
            errors.append(f"apiVersion must be specified for {name} to use exec authentication plugin")
        for item in exec_cfg.get("env") or []:
            if not (isinstance(item, dict) and item.get("name")):
                errors.append(
                    f"env variable name must be specified for {name} to use exec authentication plugin"
                )
        mode = str(exec_cfg.get("interactiveMode") or "")
        if not mode and api_version.endswith(("/v1beta1", "/v1alpha1")):
            mode = "IfAvailable"  # defaulted for the beta API, required for v1
        if not mode:
            errors.append(f"interactiveMode must be specified for {name} to use exec authentication plugin")
        elif mode not in ("Never", "IfAvailable", "Always"):
            errors.append(f'invalid interactiveMode for {name}: "{mode}"')
    if len(methods) > 1:
        errors.append(
            f"more than one authentication method found for {name}; found [{' '.join(methods)}], only one is allowed"
        )
    if (user.get("as-uid") or user.get("as-groups") or user.get("as-user-extra")) and not user.get("as"):
        errors.append(f"requesting uid, groups or user-extra for {name} without impersonating a user")
    return errors


def _readable(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def _open_error(path: str) -> str:
    try:
        with open(path, "rb"):
            return ""
    except OSError as exc:
        return _os_error_text("open", path, exc)


def _normalise_server(server: str) -> str:
    """A server without a scheme is http (client-go's DefaultServerURL without TLS settings).

    A URL that cannot be parsed (`[`, a port out of range) is a configuration error, worded like Go's
    url.Parse: `parse "<url>": <reason>`.
    """
    try:
        parts = urlsplit(server)
        if not parts.scheme or not parts.netloc:
            server = "http://" + server
            parts = urlsplit(server)
        parts.port  # noqa: B018 - validates the port (ValueError when out of range or not a number)
    except ValueError as exc:
        reason = {"Invalid IPv6 URL": "missing ']' in host"}.get(str(exc), str(exc).lower())
        raise ConfigError(f'host must be a URL or a host:port pair: parse "{server}": {reason}') from None
    # clientcmd drops query and fragment when the URL has a path
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def load_config(
    flags: GlobalFlags,
    env: Mapping[str, str] | None = None,
    *,
    serviceaccount_dir: str = SERVICE_ACCOUNT_DIR,
) -> ClusterConfig:
    """Resolve the connection settings like `virtctl`'s client config (no network). ConfigError."""
    env = dict(_env(env))
    timeout = parse_request_timeout(flags.request_timeout)
    raw = load_raw(flags, env)
    res = _Resolver(raw, flags, env)
    # the order of client-go's DirectClientConfig.ClientConfig: named entries first, then validation
    user_name, user = res.user(strict=True)
    ctx = res.context(strict=True)
    cluster_name, cluster = res.cluster(strict=True)
    res.confirm_usable()
    namespace, explicit = res.namespace()

    cfg = ClusterConfig(
        server=_normalise_server(str(cluster.get("server") or _default_server(env))),
        namespace=namespace,
        namespace_explicit=explicit,
        timeout=timeout,
        context_name=res.context_name()[0],
        cluster_name=cluster_name,
        user_name=user_name,
        kubeconfig_files=list(raw.files),
        env=env,
        proxy_url=str(cluster.get("proxy-url") or ""),
        disable_compression=bool(cluster.get("disable-compression")),
    )
    if user.get("as"):
        cfg.impersonate_user = str(user["as"])
        cfg.impersonate_uid = str(user.get("as-uid") or "")
        cfg.impersonate_groups = [str(g) for g in user.get("as-groups") or []]
        extra = user.get("as-user-extra") or {}
        if isinstance(extra, dict):
            cfg.impersonate_extra = {
                str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in extra.items()
            }
    # client-go only reads credentials and server TLS settings for an https server
    if cfg.is_tls:
        _apply_user(cfg, user)
        cfg.ca_file = str(cluster.get("certificate-authority") or "")
        cfg.ca_data = cluster.get("certificate-authority-data") or b""
        if cfg.ca_file and cfg.ca_data:
            cfg.ca_file = ""  # the data wins
        cfg.insecure = bool(cluster.get("insecure-skip-tls-verify"))
        cfg.tls_server_name = str(cluster.get("tls-server-name") or "")
        if cfg.exec_config is not None:
            cfg.exec_config["_cluster"] = {
                "server": cfg.server,
                "tls-server-name": cfg.tls_server_name,
                "insecure-skip-tls-verify": cfg.insecure,
                "certificate-authority-data": cfg.ca_data
                or (_read_file(cfg.ca_file, "certificate-authority") if cfg.ca_file else b""),
                "proxy-url": cfg.proxy_url,
                "extensions": cluster.get("extensions") or [],
            }
    if cfg.insecure and cfg.has_ca:
        raise ConfigError("specifying a root certificates file with the insecure flag is not allowed")
    if (cfg.token or cfg.token_file) and (cfg.username or cfg.password):
        raise ConfigError("username/password or bearer token may be set, but not both")

    if _is_legacy_default(cfg, env) and incluster.possible(env, serviceaccount_dir):
        return _in_cluster_config(cfg, env, serviceaccount_dir)
    if not explicit and incluster.possible(env, serviceaccount_dir):
        # clientcmd: in a pod, a namespace not set explicitly by the kubeconfig comes from the pod
        ctx_ns = str(raw.contexts.get(res.context_name()[0], {}).get("namespace") or "")
        if not ctx_ns:
            cfg.namespace = incluster.namespace(env, serviceaccount_dir)
    _ = ctx
    return cfg


def _apply_user(cfg: ClusterConfig, user: dict[str, Any]) -> None:
    if user.get("token"):
        cfg.token = str(user["token"])
        cfg.token_file = str(user.get("tokenFile") or "")
    elif user.get("tokenFile"):
        cfg.token_file = str(user["tokenFile"])
        cfg._loaded_file_token = _read_token_file(cfg.token_file)
        cfg.token = ""
    if user.get("client-certificate") or user.get("client-certificate-data"):
        cfg.client_cert_file = str(user.get("client-certificate") or "")
        cfg.client_cert_data = user.get("client-certificate-data") or b""
        cfg.client_key_file = str(user.get("client-key") or "")
        cfg.client_key_data = user.get("client-key-data") or b""
        if cfg.client_cert_data:
            cfg.client_cert_file = ""
        if cfg.client_key_data:
            cfg.client_key_file = ""
    if user.get("username") or user.get("password"):
        cfg.username = str(user.get("username") or "")
        cfg.password = str(user.get("password") or "")
    if isinstance(user.get("auth-provider"), dict):
        cfg.auth_provider = dict(user["auth-provider"])
    if isinstance(user.get("exec"), dict):
        cfg.exec_config = dict(user["exec"])


def _read_token_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError as exc:
        raise ConfigError(_os_error_text("open", path, exc)) from None


def _is_legacy_default(cfg: ClusterConfig, env: Mapping[str, str]) -> bool:
    """True when the settings equal client-go's built-in default (nothing configured at all)."""
    return (
        cfg.server == _normalise_server(_default_server(env))
        and not (cfg.token or cfg.token_file or cfg.username or cfg.password)
        and not (cfg.client_cert_file or cfg.client_cert_data or cfg.exec_config or cfg.auth_provider)
        and not (cfg.ca_file or cfg.ca_data or cfg.insecure or cfg.tls_server_name)
        and not (cfg.impersonate_user or cfg.proxy_url or cfg.disable_compression)
        and cfg.timeout is None
    )


def _in_cluster_config(base: ClusterConfig, env: Mapping[str, str], sa_dir: str) -> ClusterConfig:
    where = incluster.settings(env, sa_dir)
    cfg = ClusterConfig(
        server=where.server,
        namespace=base.namespace if base.namespace_explicit else incluster.namespace(env, sa_dir),
        namespace_explicit=base.namespace_explicit,
        token_file=where.token_file,
        ca_file=where.ca_file,
        in_cluster=True,
        env=base.env,
    )
    cfg._loaded_file_token = _read_token_file(where.token_file)
    return cfg


def resolve_namespace(
    flags: GlobalFlags, env: Mapping[str, str] | None = None, *, serviceaccount_dir: str = SERVICE_ACCOUNT_DIR
) -> str:
    """The namespace a command would use (cheap: no certificates, no plugins; for completion too)."""
    env = _env(env)
    if flags.namespace:
        return strip_namespace_prefix(flags.namespace)
    raw = load_raw(flags, env)
    res = _Resolver(raw, flags, env)
    ctx_name = res.context_name()[0]
    ns = str(raw.contexts.get(ctx_name, {}).get("namespace") or "")
    if ns:
        return ns
    if incluster.possible(env, serviceaccount_dir):
        return incluster.namespace(env, serviceaccount_dir)
    return "default"
