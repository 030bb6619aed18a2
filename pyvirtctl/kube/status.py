"""client-go's texts for non-2xx answers (pure; spec/virtctl.md §1.6).

Two paths exist in client-go:

* decoded: when the body is a JSON `metav1.Status` with `status: Failure`, the error is its
  `message` (virt-api and kube-apiserver always send one);
* raw (`DoRaw`, used by `guestosinfo` and the version probe) or a body that is not such a Status:
  a generic sentence per status code, optionally followed by ` (<verb> <resource>.<group> <name>)`.
"""

from __future__ import annotations

from typing import Any

from pyvirtctl.gotext import go_quote

# client-go caps the body it quotes in generic 5xx texts
_MAX_UNSTRUCTURED_BODY = 2048

_GENERIC: dict[int, tuple[str, str]] = {
    409: ("Conflict", "the server reported a conflict"),
    404: ("NotFound", "the server could not find the requested resource"),
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    401: ("Unauthorized", "the server has asked for the client to provide credentials"),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
    422: ("Invalid", "the server rejected our request due to an error in our request"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: (
        "Timeout",
        "the server was unable to return a response in the time allotted, but may still be processing the request",
    ),
    429: ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
}


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def failure_status(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The failure `metav1.Status` in `body`, or None when client-go would not decode one."""
    import json  # noqa: PLC0415

    if not body:
        return None
    media = _media_type(content_type)
    # an empty Content-Type falls back to the client's own (JSON); other non-JSON types have no decoder
    if media and media != "application/json" and not media.endswith("+json"):
        return None
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict) or obj.get("kind") != "Status" or obj.get("status") != "Failure":
        return None
    return obj


def generic_text(
    status: int,
    body: bytes,
    content_type: str,
    *,
    verb: str = "",
    resource: str = "",
    name: str = "",
    group: str = "kubevirt.io",
) -> tuple[str, str]:
    """(reason, message) of client-go's NewGenericServerResponse for an unexpected answer."""
    server_message = "unknown"
    html = is_html(body, content_type)
    if html:
        server_message = html_summary(body)
    elif _media_type(content_type).startswith("text/"):
        server_message = body[:_MAX_UNSTRUCTURED_BODY].decode("utf-8", "replace").strip()
    reason = "Unknown"
    message = f"the server responded with the status code {status} but did not return more information"
    if status in _GENERIC:
        reason, message = _GENERIC[status]
    elif status == 403:
        reason, message = "Forbidden", _one_line(server_message)
    elif status == 406:
        reason = "NotAcceptable"
        message = _one_line(server_message)
        if not server_message or server_message == "unknown":
            message = "the server was unable to respond with a content type that the client supports"
    elif status == 415:
        reason, message = "UnsupportedMediaType", _one_line(server_message)
    elif status >= 500:
        reason = "InternalError"
        message = (
            f"an error on the server ({go_quote(server_message)}) has prevented the request from succeeding"
        )
    if status == 409 and verb.upper() == "POST":
        reason = "AlreadyExists"
    if resource:
        qualified = resource if "." in resource or not group else f"{resource}.{group}"
        message += f" ({verb.lower()} {qualified} {name})" if name else f" ({verb.lower()} {qualified})"
    if html:
        message += HTML_HINT
    return reason, message


# An HTML page is never an API server's answer: it comes from a proxy, a load balancer, an ingress or a
# login portal in between (kubevirt/kubevirt#6578). client-go quotes the whole page; we quote its title
# and say where it came from.
PROXY_ADVICE = (
    "a proxy, load balancer or login page is answering instead of the Kubernetes API; check the server URL"
    " and the proxy settings (--proxy-url, HTTPS_PROXY, NO_PROXY)"
)
HTML_HINT = f" (the answer was an HTML page: {PROXY_ADVICE})"
_MAX_HTML_SUMMARY = 200


def is_html(body: bytes, content_type: str) -> bool:
    """True for an HTML page (by Content-Type, or by its first bytes when the type says nothing useful)."""
    media = _media_type(content_type)
    if media in ("text/html", "application/xhtml+xml"):
        return True
    if media and media != "text/plain" and media != "application/octet-stream":
        return False
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def html_summary(body: bytes) -> str:
    """The page's <title> (or else its first heading, or its text), on one short line."""
    import html as htmllib  # noqa: PLC0415
    import re  # noqa: PLC0415

    text = body[: 64 * 1024].decode("utf-8", "replace")
    for pattern in (r"<title[^>]*>(.*?)</title>", r"<h1[^>]*>(.*?)</h1>"):
        m = re.search(pattern, text, re.IGNORECASE | re.DOTALL)
        if m:
            found = _one_line(htmllib.unescape(re.sub(r"<[^>]+>", " ", m.group(1))))
            if found:
                return _shorten(found)
    stripped = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", text, flags=re.IGNORECASE | re.DOTALL)
    stripped = _one_line(htmllib.unescape(re.sub(r"<[^>]+>", " ", stripped)))
    return _shorten(stripped) if stripped else "unknown"


def _one_line(text: str) -> str:
    """Whitespace (newlines included) collapsed: an error is printed as one line."""
    return " ".join(text.split())


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_HTML_SUMMARY else text[: _MAX_HTML_SUMMARY - 3] + "..."


def error_reason(
    status: int,
    body: bytes,
    content_type: str,
    *,
    decode_status: bool = True,
    verb: str = "",
    resource: str = "",
    name: str = "",
    group: str = "kubevirt.io",
) -> tuple[str, str]:
    """(reason, message) for a non-2xx answer; see the module docstring."""
    if decode_status:
        st = failure_status(body, content_type)
        if st is not None:
            return str(st.get("reason") or ""), str(st.get("message") or "")
    return generic_text(status, body, content_type, verb=verb, resource=resource, name=name, group=group)


def error_text(
    status: int,
    body: bytes,
    content_type: str,
    *,
    decode_status: bool = True,
    verb: str = "",
    resource: str = "",
    name: str = "",
    group: str = "kubevirt.io",
) -> str:
    """The message client-go's error for this answer prints."""
    return error_reason(
        status,
        body,
        content_type,
        decode_status=decode_status,
        verb=verb,
        resource=resource,
        name=name,
        group=group,
    )[1]
