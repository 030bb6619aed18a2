"""The root command's connection flags and the Go duration syntax they use.

`GlobalFlags` holds kubectl's override flags exactly as typed (`--kubeconfig`, `--context`, `-s`,
`--token`, TLS, impersonation, `--request-timeout`, ...); `parse_go_duration` and
`format_go_duration` are Go's time.ParseDuration and Duration.String, `parse_request_timeout`
is clientcmd's reading of `--request-timeout`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from pyvirtctl.errors import ConfigError

_TIMEOUT_ERROR = (
    "Invalid timeout value. Timeout must be a single integer in seconds, or an integer followed by a "
    "corresponding time unit (e.g. 1s | 2m | 3h)"
)


# --------------------------------------------------------------------------- global flags


@dataclass
class GlobalFlags:
    """The root command's connection flags, with the values as the user typed them."""

    kubeconfig: str = ""
    context: str = ""
    cluster: str = ""
    user: str = ""
    namespace: str = ""
    server: str = ""
    token: str = field(default="", repr=False)
    certificate_authority: str = ""
    client_certificate: str = ""
    client_key: str = ""
    insecure_skip_tls_verify: bool = False
    tls_server_name: str = ""
    proxy_url: str = ""
    request_timeout: str = "0"
    as_user: str = ""
    as_group: list[str] = field(default_factory=list)
    as_uid: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    disable_compression: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> GlobalFlags:
        """Build from a mapping keyed by field name; missing keys and None keep the default."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            value = params.get(f.name)
            if value is None:
                continue
            if f.name == "as_group":
                value = [value] if isinstance(value, str) else list(value)
            elif f.type in ("bool", bool):
                value = bool(value)
            else:
                value = str(value)
            kwargs[f.name] = value
        return cls(**kwargs)


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
