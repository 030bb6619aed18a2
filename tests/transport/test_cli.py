"""The transport's rules as a user meets them: the real CLI, a trickling server, non-ASCII impersonation."""

from __future__ import annotations

import pytest

from pyvirtctl.kube.transport import BODY_ERROR, READING_BODY

from .servers import Peer, RawServer

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def trickler():
    def script(peer: Peer, index: int) -> None:
        head = peer.read_head()
        if head is None:
            return
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        peer.trickle(b" " * 100, 0.5)

    srv = RawServer(script)
    yield srv
    srv.close()


def test_request_timeout_is_a_total_deadline(run_cli_raw, trickler):
    r = run_cli_raw(["--server", trickler.url(), "--request-timeout=2s", "start", "vm1"], timeout=60)
    assert r.returncode == 1
    assert r.stderr == f"Error starting VirtualMachine {BODY_ERROR}{READING_BODY}\n"
    assert trickler.trickled < 15  # one byte every 0.5 s would have kept a per-read timeout alive for 50 s


@pytest.mark.parametrize("user", ["é", "ユーザー"])
def test_impersonation_headers_are_utf8(sim, cli, user):
    r = cli("--as", user, "--as-group", "grüppe", "list")
    assert (r.returncode, r.stderr) == (0, "No resources found in default namespace.\n")
    headers = sim.requests()[-1]["headers"]
    assert headers["impersonate-user"] == user
    assert headers["impersonate-group"] == "grüppe"


def test_a_control_character_in_a_header_is_refused_before_sending(sim, cli):
    r = cli("--as", "a\nb", "list")
    assert r.returncode == 1
    assert r.stderr.endswith(': net/http: invalid header field value for "Impersonate-User"\n')
    assert r.stderr.count("\n") == 1
    assert sim.requests() == []
