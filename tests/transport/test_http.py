"""The transport's HTTP/1.1 against raw-socket servers that answer in odd ways.

Each server is a few lines of socket code (servers.py), so the bytes on the wire are exactly the
test's. The texts asserted are Go's (net/http) and client-go's, checked against the reference virtctl.
"""

from __future__ import annotations

import gzip
import io
import socket
import struct
import threading
import time

import pytest

from pyvirtctl.kube.transport import (
    AWAITING_HEADERS,
    BODY_ERROR,
    READING_BODY,
    Transport,
    TransportFailure,
)

from .servers import Peer, RawServer, closed_port, header_fields, keep_alive, ok

pytestmark = pytest.mark.timeout(60)


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


def get(url: str, **kw) -> tuple[int, bytes]:
    t = Transport()
    try:
        r = t.request("GET", url, **kw)
        return r.status, r.body
    finally:
        t.close()


# --------------------------------------------------------------------------- bodies and framing


def test_chunked_with_extensions_and_trailers_keeps_the_connection(servers):
    answer = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;name=value;other\r\nhello\r\n"
              b"7 ; ext\r\n, world\r\n"
              b"0\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n")
    srv = servers(keep_alive(lambda p, h, n: answer))
    t = Transport()
    assert t.request("GET", srv.url("/a")).body == b"hello, world"
    assert t.request("GET", srv.url("/b")).body == b"hello, world"
    t.close()
    assert srv.connections == 1  # the trailers were consumed: the connection stayed usable


def test_close_delimited_body_is_read_to_the_end_and_not_reused(servers):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        for part in (b"first ", b"second ", b"third"):
            peer.send(part)
            time.sleep(0.05)

    srv = servers(script)
    t = Transport()
    assert t.request("GET", srv.url()).body == b"first second third"
    assert t.request("GET", srv.url()).body == b"first second third"
    t.close()
    assert srv.connections == 2


@pytest.mark.parametrize(("answer", "connections"), [
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 2),  # HTTP/1.0: close after each answer
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", 1),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 2),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 1),
    (b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n{}", 1),  # no reason phrase (Go accepts it)
    (b"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", 1),  # bare LF line ends
])
def test_http_versions_and_connection_reuse(servers, answer, connections):
    srv = servers(keep_alive(lambda p, h, n: answer))
    t = Transport()
    for _ in range(2):
        r = t.request("GET", srv.url())
        assert (r.status, r.body) == (200, b"{}")
    t.close()
    assert srv.connections == connections


def test_http10_body_until_close(servers):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\": 1}")

    srv = servers(script)
    assert get(srv.url()) == (200, b'{"a": 1}')


def test_interim_answers_are_skipped(servers):
    srv = servers(keep_alive(lambda p, h, n: b"HTTP/1.1 100 Continue\r\n\r\n"
                             b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + ok(b"{}")))
    assert get(srv.url()) == (200, b"{}")


def test_expect_continue_sends_the_body_after_the_go_ahead(servers):
    def script(peer: Peer, index: int) -> None:
        head = peer.read_head()
        assert b"expect: 100-continue" in head.lower()
        assert peer.buf == b""  # nothing of the body before the go-ahead
        peer.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = peer.read_body(head)
        peer.send(ok(str(len(body)).encode()))

    srv = servers(script)
    t = Transport()
    r = t.request("PUT", srv.url(), body=b"x" * 100_000, headers=[("Expect", "100-continue")])
    assert (r.status, r.body) == (200, b"100000")
    assert srv.bodies == [b"x" * 100_000]


def test_expect_continue_refused_early_sends_no_body(servers):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope")
        time.sleep(0.5)
        peer.server.notes["after"] = len(peer.buf) + len(peer.sock.recv(65536, socket.MSG_DONTWAIT) or b"")

    srv = servers(script)
    r = Transport().request("PUT", srv.url(), body=io.BytesIO(b"y" * 1_000_000), content_length=1_000_000,
                            headers=[("Expect", "100-continue")])
    assert (r.status, r.body) == (401, b"nope")
    time.sleep(0.7)
    assert srv.notes.get("after") == 0


def test_split_segments_one_byte_at_a_time(servers):
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"3\r\n{\"a\r\n6\r\n\": [1]\r\n1\r\n}\r\n0\r\n\r\n")

    def script(peer: Peer, index: int) -> None:
        while peer.read_head() is not None:
            for b in answer:
                peer.send(bytes([b]))

    srv = servers(script)
    t = Transport()
    assert t.request("GET", srv.url()).body == b'{"a": [1]}'
    assert t.request("GET", srv.url()).body == b'{"a": [1]}'
    assert srv.connections == 1


def test_gzip_single_and_multi_member(servers):
    doc = b'{"kind":"APIGroupList","groups":[' + b'{"name":"x"},' * 200 + b'{"name":"y"}]}'
    members = gzip.compress(doc[:100]) + gzip.compress(doc[100:3000]) + gzip.compress(doc[3000:])

    def respond(peer, head, n):
        z = gzip.compress(doc) if n == 0 else members
        return (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(z)) + z

    srv = servers(keep_alive(respond))
    t = Transport()
    assert t.request("GET", srv.url()).body == doc
    assert t.request("GET", srv.url()).body == doc  # every member, not only the first
    r = t.request("GET", srv.url(), stream=True, decode=False)
    assert b"".join(r.iter_chunks()) == members  # decode=False: the bytes as sent (a download)


def test_gzip_chunked_and_corrupt(servers):
    z = gzip.compress(b"abc" * 1000)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(z[i:i + 7]), z[i:i + 7]) for i in range(0, len(z), 7)) + b"0\r\n\r\n"

    def respond(peer, head, n):
        if n == 0:
            return b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
        return b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!"

    srv = servers(keep_alive(respond))
    t = Transport()
    assert t.request("GET", srv.url()).body == b"abc" * 1000
    with pytest.raises(TransportFailure) as err:
        t.request("GET", srv.url())
    assert err.value.message == BODY_ERROR + "gzip: invalid header"


CONFLICT = 'net/http: HTTP/1.x transport connection broken: http: message cannot contain multiple Content-Length headers; got ["2" "3"]'


@pytest.mark.parametrize(("answer", "reason"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", CONFLICT),
    (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}",
     'net/http: HTTP/1.x transport connection broken: bad Content-Length "x"'),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}",
     'net/http: HTTP/1.x transport connection broken: bad Content-Length "2, 2"'),
    (b"HTTP/1.1 1000 X\r\nContent-Length: 2\r\n\r\n{}",
     'net/http: HTTP/1.x transport connection broken: malformed HTTP status code "1000"'),
    (b"HTTP/1.1 99 X\r\nContent-Length: 2\r\n\r\n{}",
     'net/http: HTTP/1.x transport connection broken: malformed HTTP status code "99"'),
    (b"hello there\r\n\r\n", 'net/http: HTTP/1.x transport connection broken: malformed HTTP status code "there"'),
    (b"HELLO\r\n\r\n", 'net/http: HTTP/1.x transport connection broken: malformed HTTP response "HELLO"'),
    (b"HTTP/1.1 200 OK\r\nContent-Type application/json\r\n\r\n",
     'net/http: HTTP/1.x transport connection broken: malformed MIME header: missing colon: "Content-Type application/json"'),
    (b"HTTP/1.1 200 OK\r\nContent-Ty", 'net/http: HTTP/1.x transport connection broken: malformed MIME header: missing colon: "Content-Ty"'),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
     'net/http: HTTP/1.x transport connection broken: unsupported transfer encoding: "gzip"'),
    (b"", "EOF"),
])
def test_malformed_answers_are_gos_errors(servers, answer, reason):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(answer)

    srv = servers(script)
    url = srv.url("/apis")
    with pytest.raises(TransportFailure) as err:
        Transport().request("PUT", url, body=b"{}")
    assert err.value.message == f'Put "{url}": {reason}'
    assert err.value.reason == reason


def test_duplicate_equal_content_lengths_are_fine(servers):
    srv = servers(keep_alive(lambda p, h, n: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"))
    assert get(srv.url()) == (200, b"{}")


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 204 No Content\r\n\r\nsurprise",  # a 204 with a body
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}\r\n",  # an extra CRLF after the body
    b"HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\n{}",  # a status outside 100-599
    b"HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\n{}",
])
def test_odd_answers_are_used_but_their_connection_is_not(servers, answer):
    srv = servers(keep_alive(lambda p, h, n: answer))
    t = Transport()
    statuses = [t.request("GET", srv.url()).status for _ in range(3)]
    t.close()
    assert statuses == [int(answer[9:12])] * 3
    assert srv.connections == 3


def test_a_body_shorter_than_announced(servers):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{}")

    srv = servers(script)
    with pytest.raises(TransportFailure) as err:
        Transport().request("GET", srv.url())
    assert err.value.message == BODY_ERROR + "unexpected EOF"  # client-go's words, no URL (as virtctl)


# --------------------------------------------------------------------------- keep-alive and retries


def stale_after_first(kind: str):
    """Answers the first request, then reads the next one and hangs up without answering."""

    def script(peer: Peer, index: int) -> None:
        head = peer.read_head()
        peer.read_body(head)
        if index == 0:
            peer.send(ok(b'{"n":1}'))
            head = peer.read_head()
            if head is not None:
                peer.read_body(head)
            if kind == "rst":
                peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        peer.send(ok(b'{"n":2}'))

    return script


@pytest.mark.parametrize("kind", ["eof", "rst"])
def test_get_on_a_stale_connection_is_sent_once_more(servers, kind):
    srv = servers(stale_after_first(kind))
    t = Transport()
    assert t.request("GET", srv.url("/one")).body == b'{"n":1}'
    assert t.request("GET", srv.url("/two")).body == b'{"n":2}'
    assert srv.connections == 2
    assert [h.split(b" ")[1] for h in srv.heads] == [b"/one", b"/two", b"/two"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_on_a_stale_connection_are_never_sent_again(servers, method):
    srv = servers(stale_after_first("eof"))
    t = Transport()
    assert t.request("GET", srv.url("/one")).body == b'{"n":1}'
    url = srv.url("/two")
    with pytest.raises(TransportFailure) as err:
        t.request(method, url, body=b"{}")
    assert err.value.message == f'{method[0] + method[1:].lower()} "{url}": EOF'
    time.sleep(0.2)
    assert srv.connections == 1
    assert len(srv.heads) == 2


def test_a_get_is_retried_only_once(servers):
    def script(peer: Peer, index: int) -> None:
        while peer.read_head() is not None:
            if index == 0 and len(peer.server.heads) == 1:
                peer.send(ok())
                continue
            return  # every later request: hang up without answering

    srv = servers(script)
    t = Transport()
    t.request("GET", srv.url())
    with pytest.raises(TransportFailure) as err:
        t.request("GET", srv.url())
    assert err.value.reason == "EOF"
    assert srv.connections == 2 and len(srv.heads) == 3


def test_a_fresh_connection_is_never_retried(servers):
    srv = servers(lambda peer, i: peer.read_head())
    with pytest.raises(TransportFailure) as err:
        Transport().request("GET", srv.url())
    assert err.value.reason == "EOF"
    assert srv.connections == 1


# --------------------------------------------------------------------------- deadlines


def test_a_trickling_body_fails_at_the_deadline(servers):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        peer.trickle(b" " * 100, 0.5)

    srv = servers(script)
    with pytest.raises(TransportFailure) as err:
        Transport().request("PUT", srv.url(), timeout=1.2)
    assert err.value.message == BODY_ERROR + READING_BODY
    assert err.value.timed_out and err.value.phase == "body"
    assert srv.trickled < 10  # a per-read timeout would have waited for all 100 bytes (50 s)


def test_a_trickling_head_fails_at_the_deadline(servers):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.trickle(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n", 0.3)

    srv = servers(script)
    url = srv.url("/apis?timeout=1s")
    with pytest.raises(TransportFailure) as err:
        Transport().request("GET", url, timeout=1.0)
    assert err.value.message == f'Get "{url}": {AWAITING_HEADERS}'
    assert srv.trickled < 10


def test_a_stream_deadline_covers_the_head_only(servers):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(6):
            peer.send(b"2\r\n%02d\r\n" % i)
            time.sleep(0.25)
        peer.send(b"0\r\n\r\n")

    srv = servers(script)
    r = Transport().request("GET", srv.url(), timeout=0.5, stream=True, read_timeout=5)
    assert b"".join(r.iter_chunks()) == b"000102030405"  # 1.5 s of body under a 0.5 s deadline


def test_a_stream_idle_limit(servers):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n")
        time.sleep(3)

    srv = servers(script)
    r = Transport().request("GET", srv.url(), stream=True, read_timeout=0.3)
    chunks = r.iter_chunks()
    assert next(chunks) == b"ab"
    with pytest.raises(TransportFailure) as err:
        next(chunks)
    assert err.value.timed_out and err.value.reason == READING_BODY


# --------------------------------------------------------------------------- addresses, headers


def test_ipv6_literal_server(servers):
    try:
        srv = servers(keep_alive(lambda p, h, n: ok(b"{}")), host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    assert get(srv.url("/apis")) == (200, b"{}")
    assert srv.heads[0].split(b"\r\n")[0] == b"GET /apis HTTP/1.1"
    assert header_fields(srv.heads[0])["host"] == f"[::1]:{srv.port}"
    port = srv.port
    srv.close()
    time.sleep(0.05)
    with pytest.raises(TransportFailure) as err:
        Transport().request("GET", f"http://[::1]:{port}/apis")
    assert err.value.reason == f"dial tcp [::1]:{port}: connect: connection refused"


def test_refused_and_unresolvable():
    port = closed_port()
    with pytest.raises(TransportFailure) as err:
        Transport().request("PUT", f"http://127.0.0.1:{port}/x")
    assert err.value.message == f'Put "http://127.0.0.1:{port}/x": dial tcp 127.0.0.1:{port}: connect: connection refused'
    with pytest.raises(TransportFailure) as err:
        Transport().request("GET", "http://nosuch.invalid/x")
    assert err.value.reason == "dial tcp: lookup nosuch.invalid: no such host"


def test_header_values_are_utf8(servers):
    srv = servers(keep_alive(lambda p, h, n: ok(b"{}")))
    Transport().request("GET", srv.url(), headers=[("Impersonate-User", "ユーザー"), ("Impersonate-Group", "é")])
    head = srv.heads[0]
    assert "Impersonate-User: ユーザー".encode() in head
    assert "Impersonate-Group: é".encode() in head


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("Impersonate-User", "a\nb", 'net/http: invalid header field value for "Impersonate-User"'),
    ("Authorization", "Bearer x\r\nX-Injected: 1", 'net/http: invalid header field value for "Authorization"'),
    ("Bad Name", "v", 'net/http: invalid header field name "Bad Name"'),
])
def test_invalid_headers_are_refused_before_sending(servers, key, value, reason):
    srv = servers(keep_alive(lambda p, h, n: ok()))
    url = srv.url("/x")
    with pytest.raises(TransportFailure) as err:
        Transport().request("PUT", url, headers=[(key, value)])
    assert err.value.message == f'Put "{url}": {reason}'
    assert "X-Injected" not in err.value.message
    time.sleep(0.1)
    assert srv.connections == 0


# --------------------------------------------------------------------------- streamed bodies


def test_streamed_file_upload_with_progress(servers, tmp_path):
    data = bytes(range(256)) * 40_000  # ~10 MiB
    path = tmp_path / "disk.img"
    path.write_bytes(data)

    def respond(peer, head, n):
        return ok(str(len(peer.server.bodies[-1])).encode())

    srv = servers(keep_alive(respond))
    seen: list[int] = []
    with open(path, "rb") as fh:
        r = Transport().request("POST", srv.url("/upload"), body=fh, progress=seen.append)
    assert r.body == str(len(data)).encode()
    assert srv.bodies[0] == data
    assert header_fields(srv.heads[0])["content-length"] == str(len(data))
    assert sum(seen) == len(data) and len(seen) > 10 and max(seen) <= 256 * 1024


def test_streamed_iterator_upload_is_chunked_and_lazy(servers):
    produced = [0]
    first_seen: list[int] = []
    piece = b"z" * (1 << 20)

    def pieces():
        for _ in range(64):
            produced[0] += 1
            yield piece

    def script(peer: Peer, index: int) -> None:
        head = peer.read_head()
        while not peer.buf:
            peer._more()
        first_seen.append(produced[0])
        body = peer.read_body(head)
        peer.send(ok(str(len(body)).encode()))

    srv = servers(script)
    r = Transport().request("PUT", srv.url(), body=pieces())
    assert r.body == str(64 << 20).encode()
    assert header_fields(srv.heads[0])["transfer-encoding"] == "chunked"
    assert first_seen[0] < 64  # the server read the start before the last piece was made


def test_streamed_download_arrives_piece_by_piece(servers):
    go_on = threading.Event()

    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n" + b"a" * 1_000_000)
        peer.server.notes["waited"] = go_on.wait(10)
        peer.send(b"b" * 1_000_000)

    srv = servers(script)
    r = Transport().request("GET", srv.url(), stream=True)
    got = 0
    seen: list[int] = []
    for chunk in r.iter_chunks(65536, progress=seen.append):
        got += len(chunk)
        if got >= 1_000_000:
            go_on.set()
    assert got == 2_000_000 and sum(seen) == got
    assert srv.notes["waited"] is True  # the first half was handed over before the second was sent


def test_an_early_answer_during_a_large_upload_is_returned(servers):
    def script(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!")
        peer.sock.shutdown(socket.SHUT_WR)
        time.sleep(0.3)

    srv = servers(script)
    r = Transport().request("POST", srv.url(), body=iter([b"q" * (1 << 20)] * 64))
    assert (r.status, r.body) == (413, b"too big!")


@pytest.mark.parametrize(("data", "announced"), [(b"a" * 10, 20), (b"a" * 30, 20)])
def test_a_body_that_does_not_match_its_length_is_refused(servers, data, announced):
    srv = servers(keep_alive(lambda p, h, n: ok()))
    url = srv.url("/upload")
    with pytest.raises(TransportFailure) as err:
        Transport().request("PUT", url, body=io.BytesIO(data), content_length=announced)
    assert err.value.message == f'Put "{url}": http: ContentLength={announced} with Body length {len(data)}'
    time.sleep(0.2)
    assert srv.bodies == []  # the server never got a complete (or an overlong) body


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_readinto_fills_the_buffer_then_reports_a_cut(servers, framing):
    """A download's loop: whole buffers from many TLS-record-sized reads; what arrived before a cut is
    handed over first, then the cut is the next call's error."""
    data = bytes(range(256)) * 1000
    if framing == "length":
        head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data)
        wire = data
    elif framing == "chunked":
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        wire = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 7000]), data[i:i + 7000]) for i in range(0, len(data), 7000))
        wire += b"0\r\n\r\n"
    else:
        head = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
        wire = data

    def whole(peer: Peer, index: int) -> None:
        peer.read_head()
        for i in range(0, len(wire), 1000):
            peer.send((head if i == 0 else b"") + wire[i:i + 1000])
        peer.sock.shutdown(socket.SHUT_WR)

    srv = servers(whole)
    r = Transport().request("GET", srv.url(), stream=True, decode=False)
    buf = bytearray(100_000)
    got = b""
    sizes = []
    while n := r.readinto(buf):
        sizes.append(n)
        got += bytes(buf[:n])
    assert got == data and sizes[:2] == [100_000, 100_000]
    assert r.readinto(buf) == 0

    def cut(peer: Peer, index: int) -> None:
        peer.read_head()
        peer.send(head + wire[:30_000])
        peer.sock.shutdown(socket.SHUT_RDWR)
        peer.sock.close()

    if framing == "close":
        return  # the end of the connection is the end of such a body
    srv2 = servers(cut)
    r = Transport().request("GET", srv2.url(), stream=True, decode=False)
    first = r.readinto(buf)
    assert 0 < first <= 30_000
    with pytest.raises(TransportFailure, match="unexpected EOF"):
        while r.readinto(buf):
            pass
