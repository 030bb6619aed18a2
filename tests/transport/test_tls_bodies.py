"""Downloads over TLS: `Response.readinto` reads a segment's records straight from the TLS object
(transport `_segment`), so its framing, end-of-stream and idle-limit rules are checked here again with
a TLS server, next to the plain-socket cases in test_http.py."""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from pyvirtctl.kube.tls import TLSInTLS
from pyvirtctl.kube.transport import READING_BODY, Transport, TransportFailure, _record_reader

from .servers import Certs, Peer, RawServer, make_certs

pytestmark = pytest.mark.timeout(60)

DATA = bytes(range(256)) * 4000  # ~1 MiB: dozens of 16 KiB records per buffer


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("body-certs"), ["127.0.0.1"])


@pytest.fixture
def servers(certs):
    made: list[RawServer] = []

    def make(script) -> RawServer:
        srv = RawServer(script, tls=certs.server_context())
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.close()


def framed(framing: str, data: bytes) -> tuple[bytes, bytes]:
    if framing == "length":
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data), data
    if framing == "chunked":
        step = 70_000  # chunks that end inside TLS records and span several of them
        wire = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + step]), data[i:i + step]) for i in range(0, len(data), step))
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", wire + b"0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", data


def drain(r, size: int = 256 * 1024) -> tuple[bytes, list[int]]:
    buf = bytearray(size)
    got, sizes = bytearray(), []
    while n := r.readinto(buf):
        sizes.append(n)
        got += buf[:n]
    return bytes(got), sizes


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_readinto_over_tls_fills_whole_buffers(servers, certs, framing):
    head, wire = framed(framing, DATA)

    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(head)
        for i in range(0, len(wire), 50_000):  # several writes: records of every size
            peer.send(wire[i:i + 50_000])
        peer.sock.unwrap() if framing == "close" else time.sleep(0.3)  # close_notify ends a close body

    srv = servers(script)
    t = Transport(certs.client_context())
    r = t.request("GET", srv.url(), stream=True, decode=False)
    got, sizes = drain(r)
    assert got == DATA
    assert sizes[:3] == [256 * 1024] * 3  # whole buffers, not a record per call
    assert r.readinto(bytearray(10)) == 0
    t.close()


@pytest.mark.parametrize("framing", ["length", "chunked"])
@pytest.mark.parametrize("ending", ["close_notify", "reset"])
def test_a_tls_body_cut_short_hands_over_what_came_then_fails(servers, certs, framing, ending):
    head, wire = framed(framing, DATA)

    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(head + wire[:300_000])
        time.sleep(0.2)
        if ending == "close_notify":
            peer.sock.unwrap().close()  # a clean TLS end, inside the body
        else:
            peer.sock.shutdown(socket.SHUT_RDWR)  # no close_notify: a ragged end
            peer.sock.close()

    srv = servers(script)
    r = Transport(certs.client_context()).request("GET", srv.url(), stream=True, decode=False)
    buf = bytearray(1 << 20)
    first = r.readinto(buf)
    assert 250_000 < first <= 300_000  # what arrived, before the error
    assert bytes(buf[:first]) == DATA[:first]
    with pytest.raises(TransportFailure, match="unexpected EOF"):
        while r.readinto(buf):
            pass


def test_the_idle_limit_holds_inside_a_tls_segment(servers, certs):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + DATA[:20_000])
        time.sleep(3)

    srv = servers(script)
    r = Transport(certs.client_context()).request("GET", srv.url(), stream=True, decode=False, read_timeout=0.4)
    buf = bytearray(1 << 20)
    start = time.monotonic()
    assert r.readinto(buf) == 20_000  # handed over when the wait for more timed out
    with pytest.raises(TransportFailure) as err:
        r.readinto(buf)
    assert err.value.timed_out and err.value.reason == READING_BODY
    assert time.monotonic() - start < 2.5  # one idle limit each, never the server's 3 s


def test_the_record_reader_is_found_on_ssl_sockets_only(certs):
    """The fast path depends on ssl.SSLSocket keeping its TLS object in `_sslobj`: a Python that moved it
    would silently lose the fast path, so that is checked here."""
    a, b = socket.socketpair()
    try:
        assert _record_reader(a) is None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        wrapped = ctx.wrap_socket(a, do_handshake_on_connect=False)
        assert _record_reader(wrapped) is not None
        assert _record_reader(TLSInTLS(b, ctx, None)) is None
    finally:
        a.close()
        b.close()
