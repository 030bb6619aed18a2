"""Proxies and the session's callers on the one transport: CONNECT, https proxies (TLS inside TLS),
SOCKS5, HTTPS_PROXY/NO_PROXY for REST, watch, completion, websocket dials and downloads alike."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest

from pyvirtctl.errors import ApiError
from pyvirtctl.kube.config import GlobalFlags, load_config
from pyvirtctl.kube.session import Session
from pyvirtctl.kube.transport import Transport, TransportFailure
from pyvirtctl.streams.websocket import WebsocketError, open_subresource

from .servers import (
    Certs,
    Peer,
    RawServer,
    closed_port,
    connect_proxy,
    header_fields,
    make_certs,
    ok,
    socks5_proxy,
)

pytestmark = pytest.mark.timeout(60)

NAME = "api.example.test"  # resolves nowhere: only a proxy can reach the server by this name
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(payload: bytes) -> bytes:
    return bytes([0x82, len(payload)]) + payload


def api_script(peer: Peer, index: int) -> None:
    """A tiny API server: websocket upgrades, a watch stream, and JSON for everything else."""
    while (head := peer.read_head()) is not None:
        peer.read_body(head)
        fields = header_fields(head)
        path = head.split(b" ")[1].decode()
        if fields.get("upgrade", "").lower() == "websocket":
            accept = base64.b64encode(hashlib.sha1((fields["sec-websocket-key"] + GUID).encode()).digest())
            peer.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + frame(b"hello " + path.encode()))
            time.sleep(0.5)
            return
        if "watch=true" in path:
            event = json.dumps({"type": "ADDED", "object": {"metadata": {"name": "w"}}}).encode() + b"\n"
            peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"%x\r\n%s\r\n0\r\n\r\n" % (len(event), event))
            continue
        peer.send(ok(json.dumps({"kind": "List", "path": path, "items": [{"metadata": {"name": "vm1"}}]}).encode()))


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("api-certs"), ["localhost", "127.0.0.1", NAME])


@pytest.fixture(scope="module")
def proxy_certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("proxy-certs"), ["localhost", "127.0.0.1"])


@pytest.fixture
def servers():
    made: list[RawServer] = []

    def make(script, **kw) -> RawServer:
        srv = RawServer(script, **kw)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.close()
        assert not srv.errors, srv.errors


def connects(proxy: RawServer) -> list[str]:
    return [h.split(b"\r\n")[0].decode().rsplit(" ", 1)[0] for h in proxy.heads]


def session(env: dict[str, str] | None = None, **flags) -> Session:
    return Session(load_config(GlobalFlags(**flags), {"HOME": "/nonexistent", **(env or {})}), user_agent="t/1")


# --------------------------------------------------------------------------- http(s) proxies


def test_connect_proxy_with_credentials_for_an_https_server(servers, certs):
    api = servers(api_script, tls=certs.server_context())
    proxy = servers(connect_proxy(upstream=("127.0.0.1", api.port)))
    t = Transport(certs.client_context(), proxy=lambda url: f"http://us%40r:p%3Ass@127.0.0.1:{proxy.port}")
    r = t.request("GET", f"https://{NAME}:{api.port}/apis")
    assert r.status == 200 and json.loads(r.body)["path"] == "/apis"
    assert t.request("GET", f"https://{NAME}:{api.port}/again").status == 200
    assert connects(proxy) == [f"CONNECT {NAME}:{api.port}"]  # one tunnel, kept alive
    assert header_fields(proxy.heads[0])["proxy-authorization"] == "Basic " + base64.b64encode(b"us@r:p:ss").decode()
    assert header_fields(api.heads[0])["host"] == f"{NAME}:{api.port}"
    assert "proxy-authorization" not in header_fields(api.heads[0])  # never leaked to the server


def test_plain_http_server_through_a_proxy_uses_absolute_form(servers):
    api = servers(api_script)
    proxy = servers(connect_proxy(upstream=("127.0.0.1", api.port)))
    t = Transport(proxy=lambda url: f"http://u:p@127.0.0.1:{proxy.port}")
    assert t.request("GET", f"http://{NAME}:{api.port}/apis?x=1").status == 200
    line = api.heads[0].split(b"\r\n")[0].decode()
    assert line == f"GET http://{NAME}:{api.port}/apis?x=1 HTTP/1.1"  # what Go sends to an http proxy
    assert header_fields(api.heads[0])["proxy-authorization"] == "Basic " + base64.b64encode(b"u:p").decode()


@pytest.mark.parametrize(("answer", "reason"), [
    (b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", "Proxy Authentication Required"),
    (b"HTTP/1.1 403\r\n\r\n", "unknown status code"),
    (b"", "unexpected EOF"),
])
def test_connect_refused_by_the_proxy(servers, answer, reason):
    proxy = servers(connect_proxy(answer=answer))
    url = f"https://{NAME}:6443/apis"
    with pytest.raises(TransportFailure) as err:
        Transport(proxy=lambda u: f"http://127.0.0.1:{proxy.port}").request("PUT", url)
    assert err.value.message == f'Put "{url}": {reason}'


def test_unreachable_proxy():
    port = closed_port()
    with pytest.raises(TransportFailure) as err:
        Transport(proxy=lambda u: f"http://127.0.0.1:{port}").request("GET", f"https://{NAME}/x")
    assert err.value.reason == f"proxyconnect tcp: dial tcp 127.0.0.1:{port}: connect: connection refused"


def test_https_proxy_carries_tls_inside_tls(servers, certs, proxy_certs):
    api = servers(api_script, tls=certs.server_context())
    proxy = servers(connect_proxy(upstream=("127.0.0.1", api.port)), tls=proxy_certs.server_context())
    t = Transport(certs.client_context(), proxy=lambda url: f"https://localhost:{proxy.port}",
                  proxy_ssl_context=proxy_certs.client_context())
    for _ in range(3):
        r = t.request("POST", f"https://{NAME}:{api.port}/apis", body=b"x" * 300_000)
        assert r.status == 200
    assert api.bodies == [b"x" * 300_000] * 3
    assert proxy.connections == 1


def test_https_proxy_certificate_is_verified(servers, certs, proxy_certs):
    proxy = servers(connect_proxy(), tls=proxy_certs.server_context())
    t = Transport(certs.client_context(), proxy=lambda url: f"https://localhost:{proxy.port}",
                  proxy_ssl_context=certs.client_context())  # the wrong CA for the proxy
    with pytest.raises(TransportFailure) as err:
        t.request("GET", f"https://{NAME}/apis")
    assert err.value.reason == (
        "proxyconnect tcp: tls: failed to verify certificate: x509: certificate signed by unknown authority"
    )


def test_session_through_an_https_proxy_trusts_the_cluster_ca(servers, certs):
    """Go uses the cluster's TLS settings for an https proxy too: a proxy the cluster CA signed is trusted."""
    api = servers(api_script, tls=certs.server_context())
    proxy = servers(connect_proxy(upstream=("127.0.0.1", api.port)), tls=certs.server_context())
    s = session(server=f"https://{NAME}:{api.port}", certificate_authority=str(certs.ca), token="t",
                proxy_url=f"https://localhost:{proxy.port}")
    assert s.request("GET", "/apis").json()["path"] == "/apis"
    conn = open_subresource(s, "/ws")  # a websocket inside TLS inside TLS
    assert conn.recv() == b"hello /ws"
    conn.close()


# --------------------------------------------------------------------------- socks5


def test_socks5_with_credentials_lets_the_proxy_resolve(servers, certs):
    api = servers(api_script, tls=certs.server_context())
    proxy = servers(socks5_proxy(("127.0.0.1", api.port), user="alice", password="s3cret"))
    t = Transport(certs.client_context(), proxy=lambda url: f"socks5://alice:s3cret@127.0.0.1:{proxy.port}")
    assert t.request("GET", f"https://{NAME}:{api.port}/apis").status == 200
    assert proxy.notes["dest"] == f"{NAME}:{api.port}"
    assert proxy.notes["auth"] == ("alice", "s3cret")


def test_socks5_failures_in_gos_words(servers):
    proxy = servers(socks5_proxy(("127.0.0.1", 1), reply=5))
    with pytest.raises(TransportFailure) as err:
        Transport(proxy=lambda u: f"socks5://127.0.0.1:{proxy.port}").request("GET", f"https://{NAME}:6443/x")
    assert err.value.reason == f"socks connect tcp 127.0.0.1:{proxy.port}->{NAME}:6443: unknown error connection refused"
    guarded = servers(socks5_proxy(("127.0.0.1", 1), user="alice", password="right"))
    with pytest.raises(TransportFailure) as err:
        Transport(proxy=lambda u: f"socks5://alice:wrong@127.0.0.1:{guarded.port}").request("GET", f"https://{NAME}:6443/x")
    assert err.value.reason == (
        f"socks connect tcp 127.0.0.1:{guarded.port}->{NAME}:6443: username/password authentication failed"
    )
    port = closed_port()
    with pytest.raises(TransportFailure) as err:
        Transport(proxy=lambda u: f"socks5h://127.0.0.1:{port}").request("GET", f"https://{NAME}:6443/x")
    assert err.value.reason == f"proxyconnect tcp: dial tcp 127.0.0.1:{port}: connect: connection refused"


# --------------------------------------------------------------------------- one rule for every caller


def every_caller(s: Session, ca: bytes, server: str) -> list[str]:
    """REST, watch, completion, a websocket and a download; what each got back."""
    from pyvirtctl.completion.names import _fetch

    got = [s.request("GET", "/apis").json()["path"]]
    s.close()
    got += [name for _, obj in s.watch("/apis/kubevirt.io/v1/namespaces/default/virtualmachines", timeout=10)
            for name in [obj["metadata"]["name"]]]
    s.close()
    got.append(json.loads(_fetch(s.config, "/apis/kubevirt.io/v1/namespaces/default/virtualmachines"))["path"])
    conn = open_subresource(s, "/apis/x/console")
    got.append(conn.recv().decode())
    conn.close()
    download = s.transport_for(ca_pem=ca).request("GET", server + "/export/disk.img", stream=True)
    got.append(json.loads(b"".join(download.iter_chunks()))["path"])
    return got


EXPECTED = ["/apis", "w", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines", "hello /apis/x/console",
            "/export/disk.img"]


def test_https_proxy_environment_applies_to_every_caller(servers, certs):
    api = servers(api_script, tls=certs.server_context())
    proxy = servers(connect_proxy(upstream=("127.0.0.1", api.port)))
    server = f"https://{NAME}:{api.port}"
    s = session({"HTTPS_PROXY": f"127.0.0.1:{proxy.port}"}, server=server, certificate_authority=str(certs.ca),
                token="t")
    assert every_caller(s, certs.ca.read_bytes(), server) == EXPECTED
    assert connects(proxy) == [f"CONNECT {NAME}:{api.port}"] * 5


def test_socks5_proxy_url_applies_to_every_caller(servers, certs):
    api = servers(api_script, tls=certs.server_context())
    proxy = servers(socks5_proxy(("127.0.0.1", api.port)))
    server = f"https://{NAME}:{api.port}"
    s = session(server=server, certificate_authority=str(certs.ca), token="t",
                proxy_url=f"socks5://127.0.0.1:{proxy.port}")
    assert every_caller(s, certs.ca.read_bytes(), server) == EXPECTED
    assert proxy.connections == 5


def test_no_proxy_exempts_every_caller(servers, certs):
    proxy = servers(connect_proxy())
    s = session({"HTTPS_PROXY": f"127.0.0.1:{proxy.port}", "NO_PROXY": ".example.test"},
                server=f"https://{NAME}:6443", certificate_authority=str(certs.ca))
    from pyvirtctl.completion.names import _fetch

    calls = [
        lambda: s.request("GET", "/apis"),
        lambda: list(s.watch("/apis/x")),
        lambda: _fetch(s.config, "/apis/x"),
        lambda: open_subresource(s, "/apis/x/console"),
        lambda: s.transport_for().request("GET", f"https://{NAME}:6443/export"),
    ]
    for call in calls:
        with pytest.raises((TransportFailure, WebsocketError)) as err:
            call()
        assert f"lookup {NAME}: no such host" in str(err.value)  # dialed directly, not via the proxy
    assert proxy.connections == 0


# --------------------------------------------------------------------------- the session on the transport


def test_server_path_prefix_for_rest_websocket_and_completion(servers):
    from pyvirtctl.completion.names import _fetch

    api = servers(api_script)
    s = session(server=f"http://127.0.0.1:{api.port}/k8s/clusters/c-1", token="t")
    assert s.request("GET", "/apis/kubevirt.io/v1").json()["path"] == "/k8s/clusters/c-1/apis/kubevirt.io/v1"
    conn = open_subresource(s, "/apis/subresources.kubevirt.io/v1/namespaces/d/virtualmachineinstances/v/console")
    assert conn.recv() == b"hello /k8s/clusters/c-1/apis/subresources.kubevirt.io/v1/namespaces/d/virtualmachineinstances/v/console"
    conn.close()
    assert json.loads(_fetch(s.config, "/apis/x"))["path"] == "/k8s/clusters/c-1/apis/x"


def test_retry_after_is_honoured_up_to_ten_times(servers):
    def respond(status: int, times: int):
        def script(peer: Peer, index: int) -> None:
            while (head := peer.read_head()) is not None:
                peer.read_body(head)
                if len(peer.server.heads) <= times:
                    body = b'{"kind":"Status","status":"Failure","message":"slow down","code":%d}' % status
                    peer.send(b"HTTP/1.1 %d Busy\r\nRetry-After: 0\r\nContent-Type: application/json\r\n"
                              b"Content-Length: %d\r\n\r\n%s" % (status, len(body), body))
                else:
                    peer.send(ok(b'{"kind":"Status"}'))
        return script

    api = servers(respond(429, 2))
    s = session(server=f"http://127.0.0.1:{api.port}")
    assert s.request("PUT", "/x").status == 200
    assert len(api.heads) == 3
    api2 = servers(respond(503, 100))
    s2 = session(server=f"http://127.0.0.1:{api2.port}")
    with pytest.raises(ApiError) as err:
        s2.request("PUT", "/x")
    assert err.value.status == 503 and err.value.message == "slow down"
    assert len(api2.heads) == 11  # the request and ten retries, as client-go


def test_unconfigured_client_gets_kubectls_hint(run_cli_raw, tmp_path: Path):
    port = closed_port()
    r = run_cli_raw(["start", "vm1"], env={"KUBERNETES_MASTER": f"http://127.0.0.1:{port}", "KUBECONFIG": None})
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f'Error starting VirtualMachine Put "http://127.0.0.1:{port}/apis/subresources.kubevirt.io/v1/namespaces/'
        f'default/virtualmachines/vm1/start": dial tcp 127.0.0.1:{port}: connect: connection refused',
        f"The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?",
    ]
    # a configured server that refuses keeps virtctl's single line
    r = run_cli_raw(["--server", f"http://127.0.0.2:{port}", "start", "vm1"])
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "was refused" not in r.stderr
