"""virtctl's global flags, listed once: names, spellings, help, and what each one is for.

`GlobalFlags` is the typed value set a run (or `Client.from_kubeconfig`) connects with. Each field's
metadata is the flag's definition, and everything else reads it from here:

* the root command's options (`app.py`: spelling, shorthand, help, default, type);
* `ssh`/`scp`'s ProxyCommand (`passthrough`: which typed flags the child gets; `credential`: which
  travel in the environment instead of on a command line);
* completion's name cache (`cache_key`: the flags that select the cluster, user or namespace; never
  a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, NamedTuple


def _flag(long: str, help: str, default: Any = "", *, short: str = "", path: bool = False,  # noqa: A002
          credential: bool = False, secret: bool = False, cache_key: bool = True,
          passthrough: bool = True) -> Any:
    meta = {"long": long, "short": short, "help": help, "path": path, "credential": credential,
            "secret": secret, "cache_key": cache_key and not secret, "passthrough": passthrough and not credential}
    if isinstance(default, list):
        return field(default_factory=list, metadata=meta)
    return field(default=default, metadata=meta, repr=not secret)


@dataclass
class GlobalFlags:
    """The root command's flags, with the values as the user typed them."""

    kubeconfig: str = _flag("--kubeconfig", "Path to the kubeconfig file to use for CLI requests.", path=True)
    context: str = _flag("--context", "The name of the kubeconfig context to use")
    cluster: str = _flag("--cluster", "The name of the kubeconfig cluster to use")
    user: str = _flag("--user", "The name of the kubeconfig user to use")
    # the ssh/scp target names its namespace itself, so -n is not handed to the ProxyCommand
    namespace: str = _flag("--namespace", "If present, the namespace scope for this CLI request", short="-n",
                           passthrough=False)
    server: str = _flag("--server", "The address and port of the Kubernetes API server", short="-s")
    token: str = _flag("--token", "Bearer token for authentication to the API server", credential=True, secret=True)
    certificate_authority: str = _flag(
        "--certificate-authority", "Path to a cert file for the certificate authority", path=True
    )
    client_certificate: str = _flag("--client-certificate", "Path to a client certificate file for TLS", path=True)
    client_key: str = _flag("--client-key", "Path to a client key file for TLS", path=True)
    insecure_skip_tls_verify: bool = _flag(
        "--insecure-skip-tls-verify",
        "If true, the server's certificate will not be checked for validity. "
        "This will make your HTTPS connections insecure",
        False,
    )
    tls_server_name: str = _flag(
        "--tls-server-name",
        "If provided, this name will be used to validate server certificate. If this is not provided, hostname "
        "used to contact the server is used.",
    )
    proxy_url: str = _flag("--proxy-url", "If provided, this URL will be used to connect via proxy")
    request_timeout: str = _flag(
        "--request-timeout",
        "The length of time to wait before giving up on a single server request. Non-zero values should contain "
        "a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.",
        "0",
        cache_key=False,
    )
    as_user: str = _flag("--as", "Username to impersonate for the operation")
    as_group: list[str] = _flag(
        "--as-group",
        "Group to impersonate for the operation, this flag can be repeated to specify multiple groups.",
        [],
    )
    as_uid: str = _flag("--as-uid", "UID to impersonate for the operation")
    username: str = _flag("--username", "Username for basic authentication to the API server", credential=True)
    password: str = _flag("--password", "Password for basic authentication to the API server", credential=True,
                          secret=True)
    disable_compression: bool = _flag(
        "--disable-compression", "If true, opt-out of response compression for all requests to the server", False,
        cache_key=False,
    )
    v: int = _flag("--v", "log level for V logs", 2, short="-v", cache_key=False, passthrough=False)

    @classmethod
    def names(cls) -> list[str]:
        """The Python names of every global flag (`as_user`, `kubeconfig`, ...)."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> GlobalFlags:
        """Build from a mapping keyed by field name; missing keys and None keep the default."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            value = params.get(f.name)
            if value is None:
                continue
            if f.type in ("list[str]", list):
                value = [value] if isinstance(value, str) else [str(v) for v in value]
            elif f.type in ("bool", bool):
                value = bool(value)
            elif f.type in ("int", int):
                value = int(value)
            else:
                value = str(value)
            kwargs[f.name] = value
        return cls(**kwargs)


class FlagSpec(NamedTuple):
    """One global flag's definition (from GlobalFlags' field metadata)."""

    name: str  # Python name
    long: str  # --as
    short: str  # -n or ""
    type: type
    default: Any
    help: str
    path: bool  # a file path (made absolute for a child process)
    credential: bool  # handed to a child in the environment, never on its command line
    secret: bool  # never printed, never part of a cache key
    cache_key: bool  # selects what a run sees (cluster, user, namespace)
    passthrough: bool  # handed to the ssh/scp ProxyCommand child when typed


_TYPES = {"str": str, "bool": bool, "int": int, "list[str]": list}


def specs() -> list[FlagSpec]:
    """Every global flag, in `GlobalFlags` order."""
    out = []
    for f in fields(GlobalFlags):
        m = f.metadata
        default = [] if f.default is MISSING else f.default
        out.append(FlagSpec(f.name, m["long"], m["short"], _TYPES.get(str(f.type), str), default, m["help"],
                            m["path"], m["credential"], m["secret"], m["cache_key"], m["passthrough"]))
    return out


def credential_env(name: str) -> str:
    """The environment variable a credential flag travels in to an ssh/scp ProxyCommand child."""
    return f"PYVIRTCTL_PROXY_{name.upper()}"
