"""Names for TAB from the cluster: one GET through the connection layer within a short deadline, and a
small per-cluster/namespace cache of names only (never credentials)."""

from __future__ import annotations

import os
from typing import Any

DEFAULT_TIMEOUT = 1.5  # seconds a TAB may wait for the API server
DEFAULT_CACHE_TTL = 10.0  # seconds names stay fresh in the cache





def _timeout() -> float:
    try:
        return max(0.05, float(os.environ.get("PYVIRTCTL_COMPLETION_TIMEOUT", DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def _cache_ttl() -> float:
    try:
        return max(0.0, float(os.environ.get("PYVIRTCTL_COMPLETION_CACHE_TTL", DEFAULT_CACHE_TTL)))
    except ValueError:
        return DEFAULT_CACHE_TTL


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pyvirtctl")


def _cache_key(params: dict[str, Any], kind: str, namespace: str) -> str:
    import hashlib
    import json

    from pyvirtctl.kube.flags import specs

    files = [params.get("kubeconfig") or ""] if params.get("kubeconfig") else (
        (os.environ.get("KUBECONFIG") or os.path.join(os.path.expanduser("~"), ".kube", "config")).split(os.pathsep)
    )
    stamps = []
    for f in files:
        try:
            st = os.stat(f)
            stamps.append([f, st.st_mtime_ns, st.st_size])
        except OSError:
            stamps.append([f, 0, 0])
    material = {
        "kind": kind,
        "namespace": namespace,
        # the flags that select a cluster, a user or a namespace (kube/flags.py); never a secret: the
        # key must not depend on (or leak a hash of) a credential
        "flags": {s.name: params.get(s.name) for s in specs() if s.cache_key and params.get(s.name)},
        "files": stamps,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _cache_read(key: str, ttl: float) -> list[tuple[str, str]] | None:
    import json
    import time

    if ttl <= 0:
        return None
    path = os.path.join(cache_dir(), f"names-{key}.json")
    try:
        st = os.stat(path)
        if time.time() - st.st_mtime > ttl or st.st_uid != os.getuid():
            return None
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return [(str(n), str(h)) for n, h in data["items"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cache_write(key: str, items: list[tuple[str, str]]) -> None:
    import json
    import time

    if _cache_ttl() <= 0:
        return
    d = cache_dir()
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        tmp = os.path.join(d, f".names-{key}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"items": items}, fh)
        os.replace(tmp, os.path.join(d, f"names-{key}.json"))
        # keep the directory small: drop entries nobody read for a day
        now = time.time()
        for name in os.listdir(d):
            p = os.path.join(d, name)
            if name.startswith("names-") and now - os.stat(p).st_mtime > 86400:
                os.unlink(p)
    except OSError:
        pass


def _describe(obj: dict[str, Any], kind: str) -> str:
    status = obj.get("status") or {}
    if kind == "vm":
        return str(status.get("printableStatus") or "")
    if kind in ("vmi", "namespace", "dv", "pvc", "vmexport", "vmsnapshot"):
        return str(status.get("phase") or "")
    return ""


def parse_list(body: bytes, kind: str) -> list[tuple[str, str]]:
    """(name, description) pairs from a List or a meta.k8s.io Table response, sorted by name."""
    import json

    doc = json.loads(body)
    out: list[tuple[str, str]] = []
    if doc.get("kind") == "Table":
        cols = [c.get("name", "") for c in doc.get("columnDefinitions") or []]
        want = next((i for i, c in enumerate(cols) if c in ("Status", "Phase")), None)
        for row in doc.get("rows") or []:
            cells = row.get("cells") or []
            name = ((row.get("object") or {}).get("metadata") or {}).get("name") or (cells[0] if cells else "")
            help_ = str(cells[want]) if want is not None and want < len(cells) else ""
            if name:
                out.append((str(name), help_))
    else:
        for item in doc.get("items") or []:
            name = (item.get("metadata") or {}).get("name")
            if name:
                out.append((str(name), _describe(item, kind)))
    out.sort()
    return out


_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _fetch(cfg: Any, path: str) -> bytes:
    """One GET through the connection layer's transport (TLS, proxy rule, auth); raises on any failure."""
    from pyvirtctl.kube.transport import Transport

    transport = Transport.for_config(cfg)
    headers = [
        # a Table answers with names and the status column only; plain JSON is the fallback
        ("Accept", _ACCEPT),
        ("User-Agent", "pyvirtctl-completion"),
        *cfg.auth_header_items(),  # Impersonate-Group may repeat: one header line each
    ]
    try:
        resp = transport.request("GET", cfg.server.rstrip("/") + path, headers=headers, timeout=_timeout())
    finally:
        transport.close()
    if resp.status != 200:
        raise OSError(f"HTTP {resp.status}")
    return resp.body


def _fetch_names(params: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    from pyvirtctl.kube import paths
    from pyvirtctl.kube.config import GlobalFlags, load_config

    cfg = load_config(GlobalFlags.from_params(params))
    ref = paths.collection(paths.BY_KIND[kind], None if kind == "namespace" else cfg.namespace)
    return parse_list(_fetch(cfg, ref.path), kind)


def list_names(params: dict[str, Any], kind: str, namespace: str | None = None) -> list[tuple[str, str]]:
    """Names of `kind` in the namespace the flags select (or `namespace`), [] on any problem.

    Waits at most the completion timeout; the answer is cached per cluster/user/namespace."""
    import threading

    params = dict(params)
    if namespace:
        params["namespace"] = namespace
    ttl = _cache_ttl()
    ns_hint = str(params.get("namespace") or "") if kind != "namespace" else ""
    key = _cache_key(params, kind, ns_hint)
    cached = _cache_read(key, ttl)
    if cached is not None:
        return cached
    result: list[list[tuple[str, str]]] = []

    def work() -> None:
        try:
            result.append(_fetch_names(params, kind))
        except BaseException:  # noqa: BLE001 - completion never reports errors
            pass

    t = threading.Thread(target=work, name="pyvirtctl-complete", daemon=True)
    t.start()
    t.join(_timeout())
    if not result:
        return []
    _cache_write(key, result[0])
    return result[0]
