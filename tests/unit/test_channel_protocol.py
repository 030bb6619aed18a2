"""The remote-command channel protocol (pods/attach) and the usbredir relay, without a server."""

from __future__ import annotations

import socket
import threading

import pytest

from pyvirtctl.errors import CLIError
from pyvirtctl.kubevirt import usbredir
from pyvirtctl.streams import channel
from pyvirtctl.streams.channel import RemoteCommand, RemoteCommandError, decode_status
from pyvirtctl.streams.relay import LOCAL_CLOSED, Outcome, Relay
from pyvirtctl.streams.websocket import StreamClosed

# --------------------------------------------------------------------------- error channel (client-go's decoder)


@pytest.mark.parametrize(
    ("message", "error", "code"),
    [
        (b'{"metadata":{},"status":"Success"}', None, None),
        (b'{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing '
         b'command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode",'
         b'"message":"3"}]}}', "command terminated with exit code 3", 3),
        (b'{"status":"Failure","message":"error attaching to container: boom","reason":"InternalError"}',
         "error attaching to container: boom", None),
        (b'{"status":"Failure","reason":"NonZeroExitCode"}', "error stream protocol error: details must be set", None),
        (b'{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"Other","message":"1"}]}}',
         "error stream protocol error: no ExitCode cause given", None),
        (b'{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"x"}]}}',
         'error stream protocol error: invalid exit code value "x"', None),
        (b'{"status":"Weird"}', "error stream protocol error: unknown error", None),
    ],
)
def test_decode_status(message, error, code):
    got = decode_status(message)
    if error is None:
        assert got is None
    else:
        assert (got.message, got.exit_code) == (error, code)


def test_decode_status_not_json():
    got = decode_status(b"garbage")
    assert got is not None and got.message.startswith("error stream protocol error: ")
    assert got.message.endswith(' in "garbage"')


@pytest.mark.parametrize(
    ("status", "body", "text"),
    [
        (403, b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"p\\" is '
              b'forbidden: User \\"u\\" cannot create resource \\"pods/attach\\"","reason":"Forbidden","code":403}',
         'pods "p" is forbidden: User "u" cannot create resource "pods/attach"'),
        (500, b'container not found ("libguestfs")\n', 'unable to upgrade connection: container not found ("libguestfs")'),
        (404, b"", "unable to upgrade connection: "),
    ],
)
def test_refused_upgrade_texts(status, body, text):
    err = channel.refused(status, {}, body)
    assert (err.message, err.status) == (text, status)


def test_resize_message():
    assert channel.resize_message(132, 40) == b'\x04{"Width":132,"Height":40}'


# --------------------------------------------------------------------------- RemoteCommand over a scripted connection


class Script:
    """A websocket Conn that replays messages, then a clean end (None) or an error."""

    def __init__(self, *messages, end=None, subprotocol="v5.channel.k8s.io"):
        self.messages = list(messages)
        self.end = end
        self.sent: list[bytes] = []
        self.subprotocol = subprotocol
        self.closed = False

    def recv(self, merge=False):
        if self.messages:
            return self.messages.pop(0)
        if self.end is not None:
            raise self.end
        return None

    def send(self, data):
        self.sent.append(bytes(data))

    def close(self):
        self.closed = True


def drain(rc: RemoteCommand) -> list[bytes]:
    out = []
    while (data := rc.recv()) is not None:
        out.append(data)
    return out


def test_output_then_success():
    rc = RemoteCommand(Script(b"\x01", b"\x01hello", b"\x02err", b"\x07ignored", b"\x03{\"status\":",
                              b'\x03"Success"}'))
    assert drain(rc) == [b"hello", b"err"]


def test_exit_code_failure_is_raised_at_the_end():
    rc = RemoteCommand(Script(b"\x01out", b'\x03{"status":"Failure","reason":"NonZeroExitCode","details":'
                                          b'{"causes":[{"reason":"ExitCode","message":"2"}]}}'))
    assert rc.recv() == b"out"
    with pytest.raises(RemoteCommandError) as e:
        rc.recv()
    assert (e.value.message, e.value.exit_code) == ("command terminated with exit code 2", 2)


def test_a_dropped_connection_is_client_gos_error_stream_error():
    rc = RemoteCommand(Script(b"\x01a", end=StreamClosed()))
    assert rc.recv() == b"a"
    with pytest.raises(RemoteCommandError) as e:
        rc.recv()
    assert e.value.message == ("error reading from error stream: next reader: websocket: close 1006 "
                               "(abnormal closure): unexpected EOF")


def test_input_resize_and_half_close():
    conn = Script()
    rc = RemoteCommand(conn)
    rc.send(b"ls\r")
    rc.resize(80, 24)
    rc.close_stdin()
    assert conn.sent == [b"\x00ls\r", b'\x04{"Width":80,"Height":24}', b"\xff\x00"]
    v4 = Script(subprotocol="v4.channel.k8s.io")
    RemoteCommand(v4).close_stdin()
    assert v4.sent == []  # v4 has no close signal


# --------------------------------------------------------------------------- usbredir parts


def test_usbredirect_arguments_are_virtctls():
    assert usbredir.client_args("0951:1666", "127.0.0.1:4000") == ["--device", "0951:1666", "--to", "127.0.0.1:4000"]
    assert usbredir.go_list(usbredir.client_args("02-03", "127.0.0.1:1")) == "[--device 02-03 --to 127.0.0.1:1]"


def test_missing_client_names_the_package():
    with pytest.raises(CLIError) as e:
        usbredir.find_client(which=lambda name: None)
    assert e.value.message == (
        'Error on finding usbredirect in $PATH: exec: "usbredirect": executable file not found in $PATH '
        "(install the usbredirect package, or start a usbredir client yourself with --no-launch)")
    assert usbredir.find_client(which=lambda name: "/usr/bin/" + name) == "/usr/bin/usbredirect"


class Pipe:
    """One side of a websocket as a queue of messages (the relay's `conn`)."""

    def __init__(self):
        self.inbox: list[bytes | None | Exception] = []
        self.cv = threading.Condition()
        self.sent: list[bytes] = []

    def push(self, item):
        with self.cv:
            self.inbox.append(item)
            self.cv.notify_all()

    def recv(self, merge=False):
        with self.cv:
            self.cv.wait_for(lambda: self.inbox, timeout=10)
            item = self.inbox.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def send(self, data):
        with self.cv:
            self.sent.append(bytes(data))
            self.cv.notify_all()

    def close(self):
        self.push(None)


def test_relay_buffers_early_data_and_reports_the_local_hang_up():
    conn, outcome = Pipe(), Outcome()
    connected: list[float] = []
    relay = Relay(conn, outcome, on_connect=connected.append)
    relay.start()
    conn.push(b"hello from the guest")  # before any client: kept
    host, port = relay.address.split(":")
    assert host == "127.0.0.1"
    client = socket.create_connection((host, int(port)))
    client.settimeout(5)
    assert client.recv(100) == b"hello from the guest"
    client.sendall(b"from the device")
    with conn.cv:
        conn.cv.wait_for(lambda: conn.sent, timeout=5)
    assert conn.sent == [b"from the device"]
    client.close()
    assert outcome.wait() is not None and outcome.error.message == LOCAL_CLOSED
    assert connected and connected[0] >= 0
    relay.close()


def test_relay_reports_the_server_end():
    conn, outcome = Pipe(), Outcome()
    relay = Relay(conn, outcome)
    relay.start()
    conn.push(StreamClosed())
    err = outcome.wait()
    assert err is not None and err.message == "websocket: close 1006 (abnormal closure): unexpected EOF"
    relay.close()
    conn2, outcome2 = Pipe(), Outcome()
    relay2 = Relay(conn2, outcome2)
    relay2.start()
    conn2.push(None)  # close 1000: a clean end
    assert outcome2.wait() is None
    relay2.close()


def test_outcome_keeps_the_first_report():
    o = Outcome()
    o.report(CLIError("first"))
    o.report(None)
    o.report(CLIError("third"))
    assert o.wait().message == "first"
