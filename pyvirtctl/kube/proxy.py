"""Which proxy a request goes through: client-go's `proxy-url` checks and Go's ProxyFromEnvironment.

Pure rules, no network: `parse_proxy_url` validates a kubeconfig/--proxy-url value the way
client-go does, `proxy_from_environment` picks HTTPS_PROXY/HTTP_PROXY for a URL unless NO_PROXY
(or loopback) exempts it. The transport (transport.py) asks `ClusterConfig.proxy_for(url)`, which
combines the two, for every request it sends: REST, watch, completion, websocket dials, downloads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}


def parse_proxy_url(value: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, username, password) of a proxy URL; ValueError with client-go's reason."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "socks5"):
        raise ValueError(f'unsupported scheme "{parts.scheme}", must be http, https, or socks5')
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f'invalid port in proxy url "{value}"') from None
    if not host:
        raise ValueError(f'host is required in proxy url "{value}"')
    return (
        parts.scheme,
        host,
        port or DEFAULT_PORTS[parts.scheme],
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


def split_proxy_url(value: str) -> tuple[str, str, int, str, str]:
    """Like parse_proxy_url, also for what the environment may hold (`socks5h://`, no scheme)."""
    if "://" not in value:
        value = "http://" + value
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == "socks5h":
        scheme = "socks5"
    if scheme not in ("http", "https", "socks5"):
        raise ValueError(f'unsupported scheme "{parts.scheme}", must be http, https, or socks5')
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f'invalid port in proxy url "{value}"') from None
    host = parts.hostname or ""
    if not host:
        raise ValueError(f'host is required in proxy url "{value}"')
    return scheme, host, port or DEFAULT_PORTS[scheme], unquote(parts.username or ""), unquote(parts.password or "")


def _env_get(env: Mapping[str, str], name: str) -> str:
    return env.get(name.upper()) or env.get(name.lower()) or ""


def proxy_from_environment(url: str, env: Mapping[str, str] | None = None) -> str | None:
    """Go's http.ProxyFromEnvironment for `url`: HTTPS_PROXY for https, HTTP_PROXY for http.

    localhost and loopback addresses are never proxied; NO_PROXY lists hosts, domains (`.x.org`,
    `x.org`, `*.x.org`), IPs and CIDRs, each optionally with `:port`; `*` disables proxies.
    """
    env = os.environ if env is None else env
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    secure = parts.scheme in ("https", "wss")
    proxy = _env_get(env, "https_proxy" if secure else "http_proxy")
    if not proxy or not host:
        return None
    if host == "localhost" or is_loopback(host):
        return None
    if no_proxy_match(host, port, _env_get(env, "no_proxy")):
        return None
    parsed = urlsplit(proxy)
    if parsed.scheme not in ("http", "https", "socks5", "socks5h") or not parsed.hostname:
        proxy = "http://" + proxy  # Go: a proxy without a scheme is an http proxy
    return proxy


def is_loopback(host: str) -> bool:
    import ipaddress  # noqa: PLC0415

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def no_proxy_match(host: str, port: int, no_proxy: str) -> bool:
    """True if `host:port` is exempted by a NO_PROXY value (Go's httpproxy matching rules)."""
    import ipaddress  # noqa: PLC0415

    ip = None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            try:
                if ip is not None and ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry_host, entry_port = entry, 0
        m = re.fullmatch(r"(.*):(\d+)", entry)
        if m and not entry.count(":") > 1:
            entry_host, entry_port = m.group(1), int(m.group(2))
        if entry_port and entry_port != port:
            continue
        try:
            entry_ip = ipaddress.ip_address(entry_host.strip("[]"))
        except ValueError:
            entry_ip = None
        if entry_ip is not None:
            if entry_ip == ip:
                return True
            continue
        if entry_host.startswith("*."):
            entry_host = entry_host[1:]
        bare = entry_host.lstrip(".")
        if host == bare or host.endswith("." + bare):
            return True
    return False
