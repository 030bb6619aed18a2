"""The session every command uses: client-go's REST client over the one transport (transport.py).

* One `Transport` per session (keep-alive connections, TLS verified by default, the proxy rule of the
  kubeconfig/--proxy-url/HTTPS_PROXY/NO_PROXY), shared by REST calls, watches and websocket dials
  (streams/websocket.py), and `transport_for()` for other hosts (export and upload servers).
* `Accept: application/json, */*`, client-go's User-Agent, gzip unless --disable-compression,
  `?timeout=` and a total deadline from --request-timeout.
* Non-2xx answers become `ApiError` with client-go's text (status.py); no answer at all becomes
  `TransportError` with Go's wording: `Put "https://h/apis/...": dial tcp h:443: connect: connection refused`.
* 429/5xx answers with Retry-After are retried, at most 10 times, as client-go does.

`kubernetes` is only imported by credentials.py for plugin users.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pyvirtctl.errors import ApiError, CLIError, ConfigError, TransportError
from pyvirtctl.kube import gojson, paths
from pyvirtctl.kube.config import (
    LEGACY_DEFAULT_SERVER,
    ClusterConfig,
    GlobalFlags,
    format_go_duration,
    load_config,
)
from pyvirtctl.kube.status import error_reason
from pyvirtctl.kube.transport import Transport, go_method
from pyvirtctl.version import KUBEVIRT_VERSION, go_arch, go_os

if TYPE_CHECKING:
    import ssl

MAX_RETRY_AFTER = 10  # client-go retries a 429/5xx with Retry-After at most 10 times
REFUSED_HINT = "The connection to the server {host} was refused - did you specify the right host or port?"

def default_user_agent(argv0: str | None = None) -> str:
    """client-go's DefaultKubernetesUserAgent: `<command>/<version> (<os>/<arch>) kubernetes/<commit>`."""
    from pyvirtctl.progname import executable_name  # noqa: PLC0415

    return f"{executable_name(argv0)}/{KUBEVIRT_VERSION} ({go_os()}/{go_arch()}) kubernetes/$Format"


class Response:
    """A complete (already read) HTTP answer."""

    def __init__(self, status: int, headers: Any, body: bytes, url: str = "") -> None:
        """`headers`: a mapping or the transport's Headers (case-insensitive `get`)."""
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url

    def json(self) -> Any:
        """The body as a JSON object; an empty, non-JSON or non-object body is an ApiError.

        Every caller reads an object (an API resource, a list, a Status), so anything else would
        only fail later with a Python error. Wording: client-go's `0-length response ...` for an empty
        body; an HTML page (a proxy's or a login portal's, kubevirt/kubevirt#6578) is named as such.
        """
        import json  # noqa: PLC0415

        from pyvirtctl.kube.status import PROXY_ADVICE, html_summary, is_html  # noqa: PLC0415

        if not self.body:
            raise ApiError(
                f"0-length response with status code: {self.status} and content type: {self.content_type}",
                self.status,
            )
        if is_html(self.body, self.content_type):
            raise ApiError(
                f"the server answered {self.url or 'the request'} with an HTML page"
                f" ({go_json_quote(html_summary(self.body))}) instead of JSON: {PROXY_ADVICE}",
                self.status,
                body=self.body,
            )
        try:
            obj = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ApiError(
                f"couldn't decode the server's answer to {self.url or 'the request'} as JSON:"
                f" {detail} (content type {self.content_type or 'unknown'!s})",
                self.status,
                body=self.body,
            ) from None
        if not isinstance(obj, dict):
            raise ApiError(
                f"json: cannot unmarshal {_json_kind(obj)} into an object (answer to {self.url or 'the request'})",
                self.status,
                body=self.body,
            )
        return obj

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "") or ""

    def __repr__(self) -> str:
        return f"Response(status={self.status}, {len(self.body)} bytes)"


def go_json_quote(text: str) -> str:
    from pyvirtctl.kube.status import go_quote  # noqa: PLC0415

    return go_quote(text)


def _json_kind(obj: Any) -> str:
    if isinstance(obj, list):
        return "array"
    if isinstance(obj, str):
        return "string"
    if isinstance(obj, bool):
        return "bool"
    if isinstance(obj, int | float):
        return "number"
    return "null"


UNAUTHORIZED_HINT = (
    " (the API server rejected the credentials: the token or client certificate may have expired"
    " or belong to another cluster; log in again or check the user in the kubeconfig)"
)


def credentials_hint(status: int, message: str) -> str:
    """A 401 says only `Unauthorized`; add what the user can do about it."""
    if status == 401 and "log in again" not in message:
        return message + UNAUTHORIZED_HINT
    return message


class Session:
    """REST calls and watches for one cluster config; its transport also dials the websockets."""

    def __init__(self, config: ClusterConfig, user_agent: str | None = None) -> None:
        self.config = config
        self.user_agent = user_agent or default_user_agent()
        ssl_context: ssl.SSLContext | None = None
        # building the client validates TLS material now, like client-go's client constructor
        if config.is_tls and not config.exec_config:
            ssl_context = config.ssl_context()
        elif not config.server.lower().startswith(("http://", "https://")):
            scheme = urlsplit(config.server).scheme
            raise ConfigError(f"unsupported scheme {scheme!r} in server URL {config.server}")
        self.transport = Transport.for_config(config, ssl_context, load_tls=False)

    # ---- construction

    @classmethod
    def from_flags(cls, flags: GlobalFlags, user_agent: str | None = None) -> Session:
        return cls(load_config(flags), user_agent=user_agent)

    @property
    def namespace(self) -> str:
        return self.config.namespace

    @property
    def server(self) -> str:
        return self.config.server

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transport_for(self, ca_pem: bytes | str | None = None, insecure: bool = False,
                      system_roots: bool = False) -> Transport:
        """A transport to another HTTPS host (an export or upload server): its own CA (or the system's,
        or none with `insecure`; with `system_roots` the system's and `ca_pem`), the session's proxy rule,
        no cluster credentials."""
        from pyvirtctl.kube.tls import client_context  # noqa: PLC0415

        ca = ca_pem.encode() if isinstance(ca_pem, str) else ca_pem
        ctx = client_context(ca_pem=ca if ca and ca.strip() else None, insecure=insecure, system_roots=system_roots)
        return Transport(ctx, proxy=self.config.proxy_for, proxy_ssl_context=self.transport.proxy_ssl_context)

    def cluster_ca(self) -> bytes:
        """The PEM of the cluster's CA from the kubeconfig (b"" when it names none or cannot be read)."""
        cfg = self.config
        if cfg.ca_data:
            return cfg.ca_data
        if cfg.ca_file:
            try:
                with open(cfg.ca_file, "rb") as fh:
                    return fh.read()
            except OSError:
                return b""
        return b""

    # ---- urls and headers

    def url(self, path: str, query: Any = None) -> str:
        """Server URL (keeping any path prefix) + path + Go-encoded query (+ client-go's timeout param)."""
        base = self.config.server.rstrip("/")
        if path and not path.startswith("/"):
            path = "/" + path
        items: list[tuple[str, Any]] = []
        if query:
            items.extend(query.items() if isinstance(query, Mapping) else query)
        if self.config.timeout:
            items.append(("timeout", format_go_duration(self.config.timeout)))
        encoded = paths.encode_query(items)
        if not encoded:
            return base + path
        return base + path + ("&" if "?" in path else "?") + encoded

    def header_items(
        self, extra: Mapping[str, str] | None = None, content_type: str | None = None, url: str = "",
        method: str = "GET",
    ) -> list[tuple[str, str]]:
        """The request headers as (name, value) pairs; auth headers may repeat (Impersonate-Group)."""
        items = [
            ("Accept", "application/json, */*"),
            ("User-Agent", self.user_agent),
            ("Accept-Encoding", "identity" if self.config.disable_compression else "gzip"),
        ]
        if content_type:
            items.append(("Content-Type", content_type))
        items.extend(self.auth_header_items(url, method))
        for key, value in (extra or {}).items():  # an explicit header replaces every earlier value
            items = [(k, v) for k, v in items if k.lower() != key.lower()]
            items.append((key, value))
        return items

    def auth_header_items(self, url: str = "", method: str = "GET") -> list[tuple[str, str]]:
        """Authorization and Impersonate-* headers; a failing credential plugin is the request's error."""
        try:
            return self.config.auth_header_items()
        except ConfigError as exc:  # Go reports it as the request's error
            raise TransportError(f'{go_method(method)} "{url}": {exc.message}', reason=exc.message) from None

    def ensure_tls(self, url: str = "", method: str = "GET") -> None:
        """Load the TLS settings now if the constructor could not (a credential plugin's certificate)."""
        if self.config.is_tls and self.transport.ssl_context is None:
            try:
                self.transport.ssl_context = self.config.ssl_context()
            except ConfigError as exc:
                if self.config.exec_config:
                    raise TransportError(
                        f'{go_method(method)} "{url}": {exc.message}', reason=exc.message
                    ) from None
                raise

    def _hinted(self, exc: TransportError) -> TransportError:
        """kubectl's hint when no cluster is configured and the default server (http://localhost:8080,
        or $KUBERNETES_MASTER) refuses the connection: the likely cause is a missing kubeconfig."""
        default = (self.config.env.get("KUBERNETES_MASTER") or LEGACY_DEFAULT_SERVER).rstrip("/")
        if self.config.server.rstrip("/") == default and exc.reason.endswith("connect: connection refused"):
            exc.hint = REFUSED_HINT.format(host=urlsplit(self.config.server).netloc)  # type: ignore[attr-defined]
        return exc

    # ---- requests

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Any = None,
        body: bytes | str | dict | list | None = None,
        content_type: str | None = None,
        decode_status: bool = True,
        verb: str = "",
        resource: str = "",
        name: str = "",
        group: str = "kubevirt.io",
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One API call. 2xx -> Response; other status -> ApiError; no answer -> TransportError."""
        method = method.upper()
        url = self.url(path, query)
        data: bytes | None
        if isinstance(body, dict | list):
            data = gojson.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        attempt = 0
        while True:
            resp = self._send(method, url, data, content_type, headers, timeout)
            retry_after = _retry_after(resp)
            if retry_after is not None and attempt < MAX_RETRY_AFTER:
                attempt += 1
                time.sleep(min(retry_after, 10))
                continue
            break
        if 200 <= resp.status <= 206:
            return resp
        reason, message = error_reason(
            resp.status,
            resp.body,
            resp.content_type,
            decode_status=decode_status,
            verb=verb or method,
            resource=resource,
            name=name,
            group=group,
        )
        raise ApiError(credentials_hint(resp.status, message), resp.status, reason, resp.body)

    def _send(
        self,
        method: str,
        url: str,
        data: bytes | None,
        content_type: str | None,
        extra_headers: Mapping[str, str] | None,
        timeout: float | None,
    ) -> Response:
        self.ensure_tls(url, method)
        items = self.header_items(extra_headers, content_type, url, method)
        limit = timeout if timeout is not None else self.config.timeout
        try:
            r = self.transport.request(method, url, headers=items, body=data, timeout=limit or None)
        except TransportError as exc:
            raise self._hinted(exc) from None
        return Response(r.status, r.headers, r.body, url)

    def send(self, req: Any, error_prefix: str = "", **kw: Any) -> Response:
        """Send a `pyvirtctl.kube.request.Request`; errors get virtctl's `error_prefix` in front."""

        try:
            return self.request(
                req.method,
                req.path,
                query=req.query or None,
                body=req.body,
                content_type=req.content_type,
                decode_status=req.decode_status,
                verb=req.verb,
                resource=req.resource,
                name=req.name,
                **kw,
            )
        except CLIError as e:
            if error_prefix:
                raise e.wrap(error_prefix) from None
            raise

    # ---- watch

    def watch(
        self, path: str, *, query: Any = None, timeout: float | None = None
    ) -> Iterator[tuple[str, dict]]:
        """Stream watch events as (type, object); ends when the server closes the stream.

        `watch=true` is added to the query. --request-timeout bounds the wait for the answer's head
        (a watch is a stream); `timeout` bounds each wait for data (seconds).
        """
        items: list[tuple[str, Any]] = []
        if query:
            items.extend(query.items() if isinstance(query, Mapping) else query)
        if not any(k == "watch" for k, _ in items):
            items.append(("watch", "true"))
        url = self.url(path, items)
        self.ensure_tls(url, "GET")
        headers = self.header_items(None, None, url, "GET")
        limit = self.config.timeout or timeout
        try:
            r = self.transport.request("GET", url, headers=headers, timeout=limit or None, stream=True,
                                       read_timeout=timeout)
        except TransportError as exc:
            raise self._hinted(exc) from None
        try:
            if not 200 <= r.status <= 206:
                body = r.read()
                reason, message = error_reason(r.status, body, r.headers.get("Content-Type", ""), verb="GET")
                raise ApiError(credentials_hint(r.status, message), r.status, reason, body)
            buf = b""
            for chunk in r.iter_chunks(65536):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    event = _decode_event(line)
                    if event is not None:
                        yield event
            event = _decode_event(buf)
            if event is not None:
                yield event
        finally:
            r.close()

    # ---- version probe

    def server_version(self, timeout: float | None = None) -> dict[str, Any]:
        """GET /apis/subresources.kubevirt.io (preferredVersion), then /apis/<gv>/version (raw bodies)."""
        group = self.request("GET", paths.SUBRESOURCES_GROUP_PATH, decode_status=False, timeout=timeout).json() or {}
        gv = ((group.get("preferredVersion") or {}).get("groupVersion")) or f"{paths.SUB_GROUP}/{paths.VERSION}"
        info = self.request("GET", paths.version_path(gv), decode_status=False, timeout=timeout).json()
        return info if isinstance(info, dict) else {}


# --------------------------------------------------------------------------- helpers


def _decode_event(line: bytes) -> tuple[str, dict] | None:
    import json  # noqa: PLC0415

    line = line.strip()
    if not line:
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    return str(obj.get("type") or ""), obj.get("object") or {}


def _retry_after(resp: Response) -> int | None:
    if resp.status != 429 and resp.status < 500:
        return None
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = int(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
