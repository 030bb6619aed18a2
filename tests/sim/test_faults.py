"""Injected HTTP faults."""

from __future__ import annotations

import http.client
import ssl
from urllib.parse import urlparse

import pytest

from tests.sim.util import KV, call


def test_status_fault_once_then_clear(sim):
    sim.fault({"match": {"method": "GET", "path_regex": "/virtualmachines$"}, "action": "status", "status": 503,
               "message": "try later", "times": 1})
    status, body = call(sim, "GET", KV + "/virtualmachines")
    assert status == 503 and body["message"] == "try later" and body["reason"] == "ServiceUnavailable"
    assert call(sim, "GET", KV + "/virtualmachines")[0] == 200
    sim.fault({"match": {"name": "x"}, "action": "status", "status": 500})
    assert call(sim, "GET", KV + "/virtualmachines/x")[0] == 500
    assert call(sim, "GET", KV + "/virtualmachines/y")[0] == 404
    sim.clear_faults()
    assert call(sim, "GET", KV + "/virtualmachines/x")[0] == 404


def test_html_and_empty(sim):
    sim.fault({"action": "html", "status": 502, "times": 1})
    status, headers, raw = sim.request("GET", "/version")
    assert status == 502 and headers["Content-Type"].startswith("text/html") and raw.startswith(b"<html>")
    sim.fault({"action": "empty", "times": 1})
    status, _, raw = sim.request("GET", "/version")
    assert status == 200 and raw == b""


def test_delay_fault_still_answers(sim):
    sim.fault({"action": "delay", "seconds": 0.2, "times": 1})
    assert call(sim, "GET", "/version")[0] == 200


def _conn(sim, timeout: float) -> http.client.HTTPSConnection:
    u = urlparse(sim.url)
    return http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout,
                                       context=ssl.create_default_context(cafile=sim.ca_file))


def test_reset_and_hang(sim):
    sim.fault({"action": "reset", "times": 1})
    conn = _conn(sim, 5)
    conn.request("GET", "/version", headers={"Authorization": f"Bearer {sim.token}"})
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
        conn.getresponse().read()
    sim.fault({"action": "hang", "seconds": 5, "times": 1})
    conn = _conn(sim, 0.5)
    conn.request("GET", "/version", headers={"Authorization": f"Bearer {sim.token}"})
    with pytest.raises(TimeoutError):
        conn.getresponse()
    conn.close()
    assert call(sim, "GET", "/version")[0] == 200


def test_ws_drop_after_is_stored_not_applied_to_http(sim):
    listed = sim.fault({"match": {"kind": "console", "name": "vm1"}, "action": "drop_ws_after", "bytes": 100})
    assert listed[0]["action"] == "drop_ws_after" and listed[0]["bytes"] == 100
    assert call(sim, "GET", "/version")[0] == 200


def test_bad_fault_spec(sim):
    with pytest.raises(Exception, match="unknown fault action"):
        sim.fault({"action": "explode"})
    with pytest.raises(Exception, match="times must be a positive integer"):
        sim.fault({"action": "status", "times": 0})
