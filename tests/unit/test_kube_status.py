"""client-go's error texts for non-2xx answers (spec/virtctl.md §1.6)."""

from __future__ import annotations

import json

import pytest

from pyvirtctl.kube.status import error_reason, error_text, go_quote

JSON = "application/json"


def status_body(message: str, reason: str = "NotFound", status: str = "Failure") -> bytes:
    return json.dumps(
        {"kind": "Status", "apiVersion": "v1", "status": status, "message": message, "reason": reason}
    ).encode()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (404, "the server could not find the requested resource"),
        (409, "the server reported a conflict"),
        (400, "the server rejected our request for an unknown reason"),
        (401, "the server has asked for the client to provide credentials"),
        (403, "unknown"),
        (422, "the server rejected our request due to an error in our request"),
        (405, "the server does not allow this method on the requested resource"),
        (503, "the server is currently unable to handle the request"),
        (
            504,
            "the server was unable to return a response in the time allotted, but may still be processing the request",
        ),
        (429, "the server has received too many requests and has asked us to try again later"),
        (500, 'an error on the server ("unknown") has prevented the request from succeeding'),
        (502, 'an error on the server ("unknown") has prevented the request from succeeding'),
        (406, "the server was unable to respond with a content type that the client supports"),
        (415, "unknown"),
        (418, "the server responded with the status code 418 but did not return more information"),
        (302, "the server responded with the status code 302 but did not return more information"),
    ],
)
def test_generic_texts_for_raw_reads(code: int, expected: str) -> None:
    body = status_body("the real message")
    assert error_text(code, body, JSON, decode_status=False) == expected


def test_decoded_status_message_wins() -> None:
    body = status_body('virtualmachines.kubevirt.io "testvm" not found')
    assert error_text(404, body, JSON) == 'virtualmachines.kubevirt.io "testvm" not found'
    assert error_reason(409, status_body("VM is not running", "Conflict"), JSON) == (
        "Conflict",
        "VM is not running",
    )
    # an empty Content-Type falls back to JSON, like client-go's default content type
    assert error_text(404, body, "") == 'virtualmachines.kubevirt.io "testvm" not found'


@pytest.mark.parametrize(
    ("body", "ctype", "expected"),
    [
        (status_body("ok", status="Success"), JSON, "the server reported a conflict"),
        (b'{"kind":"Pod"}', JSON, "the server reported a conflict"),
        (b"not json", JSON, "the server reported a conflict"),
        (b"", JSON, "the server reported a conflict"),
        (status_body("looks like a status"), "text/plain", "the server reported a conflict"),
    ],
)
def test_bodies_that_are_not_failure_statuses(body: bytes, ctype: str, expected: str) -> None:
    assert error_text(409, body, ctype) == expected


def test_text_body_is_quoted_in_5xx() -> None:
    assert (
        error_text(500, b'  boom "x"\n', "text/plain; charset=utf-8")
        == 'an error on the server ("boom \\"x\\"") has prevented the request from succeeding'
    )
    assert error_text(403, b"forbidden: user x\n", "text/plain") == "forbidden: user x"
    long_text = error_text(500, b"a" * 5000, "text/plain")  # client-go keeps the first 2048 bytes
    assert '("' + "a" * 2048 + '")' in long_text


def test_resource_suffix() -> None:
    assert (
        error_text(
            409, b"", JSON, decode_status=False, verb="GET", resource="virtualmachineinstances", name="testvm"
        )
        == "the server reported a conflict (get virtualmachineinstances.kubevirt.io testvm)"
    )
    assert (
        error_text(404, b"", JSON, decode_status=False, verb="PUT", resource="virtualmachines")
        == "the server could not find the requested resource (put virtualmachines.kubevirt.io)"
    )
    assert (
        error_text(404, b"", JSON, decode_status=False, verb="GET", resource="services", name="s", group="")
        == "the server could not find the requested resource (get services s)"
    )


def test_reasons() -> None:
    assert error_reason(409, b"", JSON, verb="POST")[0] == "AlreadyExists"
    assert error_reason(409, b"", JSON, verb="PUT")[0] == "Conflict"
    assert error_reason(500, b"", JSON)[0] == "InternalError"
    assert error_reason(418, b"", JSON)[0] == "Unknown"


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("a", '"a"'),
        ('"', '"\\""'),
        ("\\", '"\\\\"'),
        ("\n\t", '"\\n\\t"'),
        ("\x01", '"\\x01"'),
        ("é", '"é"'),
        ("\u200b", '"\\u200b"'),
    ],
)
def test_go_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted
