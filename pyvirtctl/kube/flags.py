"""virtctl's global flags, listed once, and the Go duration syntax they use.

`GlobalFlags` holds kubectl's override flags exactly as typed (`--kubeconfig`, `--context`, `-s`,
`--token`, TLS, impersonation, `--request-timeout`, ...) and `-v`. Each field's metadata is the
flag's definition, and everything else reads it from here (`specs()`):

* the root command's options (`app.py`: spelling, shorthand, help, default, type);
* `ssh`/`scp`'s ProxyCommand (`passthrough`: which typed flags the child gets; `credential`: which
  travel in the environment instead of on a command line);
* completion's name cache (`cache_key`: the flags that select the cluster, user or namespace; never
  a secret).

`parse_go_duration` and `format_go_duration` are Go's time.ParseDuration and Duration.String,
`parse_request_timeout` is clientcmd's reading of `--request-timeout`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, NamedTuple

from pyvirtctl.errors import ConfigError

_TIMEOUT_ERROR = (
    "Invalid timeout value. Timeout must be a single integer in seconds, or an integer followed by a "
    "corresponding time unit (e.g. 1s | 2m | 3h)"
)


# --------------------------------------------------------------------------- global flags


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


_NS_PREFIX = re.compile(r"^(?:namespaces|namespace|ns)/(?=.)", re.IGNORECASE)


def strip_namespace_prefix(ns: str) -> str:
    """kubectl's `-n` normalisation: drop a leading `ns/`, `namespace/` or `namespaces/` if a name follows."""
    return _NS_PREFIX.sub("", ns, count=1)


# --------------------------------------------------------------------------- Go durations

_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # micro sign
    "\u03bcs": 1e-6,  # Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds. Raises ValueError with Go's message."""
    orig = text
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = 1.0
    if text[:1] in "+-" and text:
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if not text:
        raise ValueError(f'time: invalid duration "{orig}"')
    total = 0.0
    pos = 0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        assert m is not None
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise ValueError(f'time: invalid duration "{orig}"')
        if frac is not None and not whole and not frac:
            raise ValueError(f'time: invalid duration "{orig}"')
        if not unit:
            raise ValueError(f'time: missing unit in duration "{orig}"')
        # the unit runs until the next digit or dot
        if unit not in _DURATION_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{orig}"')
        value = float(f"{whole or '0'}.{frac or '0'}")
        total += value * _DURATION_UNITS[unit]
        pos = m.end()
    return sign * total


def format_go_duration(seconds: float) -> str:
    """Go's time.Duration.String(), e.g. 5 -> `5s`, 90 -> `1m30s`, 0.5 -> `500ms`, 3600 -> `1h0m0s`."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("\u00b5s", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _trim_fraction(ns, size) + unit
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    secs = _trim_fraction(rest, 10**9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}"
    if minutes:
        return f"{sign}{minutes}m{secs}"
    return sign + secs


def _trim_fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


def parse_request_timeout(text: str) -> float | None:
    """clientcmd.ParseTimeout: a bare non-negative integer is seconds, else a Go duration; 0 = none."""
    text = text.strip() if text else "0"
    seconds: float
    if re.fullmatch(r"[+]?\d+", text):
        seconds = float(int(text))
    else:
        try:
            seconds = parse_go_duration(text)
        except ValueError:
            raise ConfigError(_TIMEOUT_ERROR) from None
    return seconds if seconds > 0 else None
