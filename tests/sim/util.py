"""Small helpers for talking to the simulator with plain HTTP clients."""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any
from urllib.parse import urlparse

KV = "/apis/kubevirt.io/v1/namespaces/default"
SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"
CORE = "/api/v1/namespaces/default"


def call(sim, method: str, path: str, body: Any = None, headers: dict | None = None, token: str | None = None):
    """(status, parsed JSON body or raw bytes)."""
    status, hdrs, raw = sim.request(method, path, body, headers=headers, token=token)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


def vm(name: str, running: bool | None = None, strategy: str | None = None, labels: dict | None = None) -> dict:
    spec: dict = {"template": {"metadata": {"labels": {"app": name, **(labels or {})}},
                               "spec": {"domain": {"devices": {"interfaces": [{"name": "default", "bridge": {}}]},
                                                   "resources": {"requests": {"memory": "128Mi"}}},
                                        "networks": [{"name": "default", "pod": {}}]}}}
    if running is not None:
        spec["running"] = running
    if strategy is not None:
        spec["runStrategy"] = strategy
    if running is None and strategy is None:
        spec["runStrategy"] = "Halted"  # virt-api refuses a VM with neither (RunStrategy must be specified)
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def phase(obj: dict | None) -> str | None:
    return None if obj is None else (obj.get("status") or {}).get("phase")


def printable(obj: dict | None) -> str | None:
    return None if obj is None else (obj.get("status") or {}).get("printableStatus")


def open_stream(sim, path: str) -> http.client.HTTPResponse:
    """Open a streaming GET (watch); read lines with resp.readline()."""
    u = urlparse(sim.url)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=sim.ca_file)
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {sim.token}"})
    return conn.getresponse()


def read_events(resp: http.client.HTTPResponse, until, limit: int = 200) -> list[dict]:
    """Read watch events until until(events) is true (bounded by `limit` events and the socket timeout)."""
    events: list[dict] = []
    for _ in range(limit):
        line = resp.readline()
        if not line:
            break
        events.append(json.loads(line))
        if until(events):
            break
    return events
