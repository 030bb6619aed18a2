"""The one HTTP session every command uses (client-go's REST client, minus the code generation).

* One urllib3 pool (PoolManager, ProxyManager or SOCKSProxyManager) per session, kept alive
  between requests; TLS verified by default.
* `Accept: application/json, */*`, client-go's User-Agent, gzip unless --disable-compression.
* Non-2xx answers become `ApiError` with client-go's text (status.py); no answer at all becomes
  `TransportError` with Go's wording: `Put "https://h/apis/...": dial tcp h:443: connect: connection refused`.
* websocket_options() hands the same TLS, auth and proxy settings to websocket-client.

urllib3 is imported when a session is created, not when this module is imported, so completion
and `--help` paths stay cheap; `kubernetes` is only imported by credentials.py for plugin users.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pyvirtctl.errors import ApiError, CLIError, ConfigError, TransportError
from pyvirtctl.kube import gojson, paths
from pyvirtctl.kube.config import ClusterConfig, GlobalFlags, format_go_duration, load_config, parse_proxy_url
from pyvirtctl.kube.status import error_reason
from pyvirtctl.version import KUBEVIRT_VERSION, go_arch, go_os

if TYPE_CHECKING:
    import ssl

WEBSOCKET_SUBPROTOCOL = "plain.kubevirt.io"
DIAL_TIMEOUT = 30.0  # client-go's dialer timeout
MAX_RETRY_AFTER = 10  # client-go retries a 429/5xx with Retry-After at most 10 times
_NEVER_MATCHES = "pyvirtctl.no-proxy.invalid"

def default_user_agent(argv0: str | None = None) -> str:
    """client-go's DefaultKubernetesUserAgent: `<command>/<version> (<os>/<arch>) kubernetes/<commit>`."""
    from pyvirtctl.progname import executable_name  # noqa: PLC0415

    return f"{executable_name(argv0)}/{KUBEVIRT_VERSION} ({go_os()}/{go_arch()}) kubernetes/$Format"


class Response:
    """A complete (already read) HTTP answer."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes, url: str = "") -> None:
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


def go_method(method: str) -> str:
    """Go's url.Error operation name: `Get`, `Put`, `Post`, ..."""
    return method[:1].upper() + method[1:].lower()


class Session:
    """REST calls, watches and websocket settings for one cluster config."""

    def __init__(self, config: ClusterConfig, user_agent: str | None = None) -> None:
        self.config = config
        self.user_agent = user_agent or default_user_agent()
        self._pool: Any = None
        self._direct: Any = None  # kube/direct.py's pool: REST calls without a proxy skip urllib3
        self._ssl_context: ssl.SSLContext | None = None
        # building the client validates TLS material now, like client-go's client constructor
        if config.is_tls and not config.exec_config:
            self._ssl_context = config.ssl_context()
        elif not config.server.lower().startswith(("http://", "https://")):
            scheme = urlsplit(config.server).scheme
            raise ConfigError(f"unsupported scheme {scheme!r} in server URL {config.server}")

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
        if self._pool is not None:
            self._pool.clear()
            self._pool = None
        if self._direct is not None:
            self._direct.clear()
            self._direct = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def _header_items(
        self, extra: Mapping[str, str] | None, content_type: str | None, url: str, method: str
    ) -> list[tuple[str, str]]:
        """The request headers as (name, value) pairs; auth headers may repeat (Impersonate-Group)."""
        items = [
            ("Accept", "application/json, */*"),
            ("User-Agent", self.user_agent),
            ("Accept-Encoding", "identity" if self.config.disable_compression else "gzip"),
        ]
        if content_type:
            items.append(("Content-Type", content_type))
        try:
            items.extend(self.config.auth_header_items())
        except ConfigError as exc:  # a credential plugin failed: Go reports it as the request's error
            raise TransportError(f'{go_method(method)} "{url}": {exc.message}', reason=exc.message) from None
        for key, value in (extra or {}).items():  # an explicit header replaces every earlier value
            items = [(k, v) for k, v in items if k.lower() != key.lower()]
            items.append((key, value))
        return items

    def _headers(
        self, extra: Mapping[str, str] | None, content_type: str | None, url: str, method: str
    ) -> Any:
        from urllib3 import HTTPHeaderDict  # noqa: PLC0415

        headers = HTTPHeaderDict()
        for key, value in self._header_items(extra, content_type, url, method):
            headers.add(key, value)
        return headers

    # ---- the pool

    def _ensure_tls(self, url: str, method: str) -> None:
        if self.config.is_tls and self._ssl_context is None:
            try:
                self._ssl_context = self.config.ssl_context()
            except ConfigError as exc:
                if self.config.exec_config:
                    raise TransportError(
                        f'{go_method(method)} "{url}": {exc.message}', reason=exc.message
                    ) from None
                raise

    def _ensure_direct(self, url: str, method: str) -> Any:
        """The http.client pool for plain REST calls, or None when a proxy applies (urllib3 then)."""
        if self._direct is not None:
            return self._direct
        if self.config.proxy_for(self.config.server):
            return None
        from pyvirtctl.kube.direct import DirectPool  # noqa: PLC0415

        self._ensure_tls(url, method)
        self._direct = DirectPool(self.config.server, self._ssl_context, self.config.tls_server_name or None)
        return self._direct

    def _ensure_pool(self, url: str, method: str) -> Any:
        if self._pool is not None:
            return self._pool
        import urllib3  # noqa: PLC0415

        self._ensure_tls(url, method)
        if self.config.insecure:
            # the user asked for it explicitly; virtctl prints no warning either
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        kw: dict[str, Any] = {"retries": False, "maxsize": 4, "block": False}
        if self._ssl_context is not None:
            kw["ssl_context"] = self._ssl_context
            if self.config.tls_server_name:
                kw["server_hostname"] = self.config.tls_server_name
        proxy = self.config.proxy_for(self.config.server)
        if not proxy:
            self._pool = urllib3.PoolManager(**kw)
            return self._pool
        try:
            scheme, host, port, user, password = parse_proxy_url(
                proxy.replace("socks5h://", "socks5://", 1) if proxy.startswith("socks5h://") else proxy
            )
        except ValueError as exc:
            raise ConfigError(f"invalid proxy URL {proxy!r}: {exc}") from None
        if scheme == "socks5":
            try:
                from urllib3.contrib.socks import SOCKSProxyManager  # noqa: PLC0415
            except ImportError:
                raise ConfigError(
                    "a socks5 proxy needs the PySocks package (pip install 'pyvirtctl[socks]')"
                ) from None
            auth = f"{_q(user)}:{_q(password)}@" if user or password else ""
            # socks5h: the proxy resolves the API server's name, as Go's SOCKS5 dialer does
            self._pool = SOCKSProxyManager(f"socks5h://{auth}{_host_port(host, port)}", **kw)
            return self._pool
        proxy_headers = None
        if user or password:
            proxy_headers = urllib3.make_headers(proxy_basic_auth=f"{user}:{password}")
        self._pool = urllib3.ProxyManager(
            f"{scheme}://{_host_port(host, port)}", proxy_headers=proxy_headers, **kw
        )
        return self._pool

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

    def _timeout(self, timeout: float | None, streaming: bool = False) -> Any:
        import urllib3  # noqa: PLC0415

        limit = timeout if timeout is not None else self.config.timeout
        if limit:
            if streaming:
                return urllib3.Timeout(connect=min(limit, DIAL_TIMEOUT), read=limit)
            return urllib3.Timeout(total=limit, connect=min(limit, DIAL_TIMEOUT))
        return urllib3.Timeout(connect=DIAL_TIMEOUT, read=None)

    def _send(
        self,
        method: str,
        url: str,
        data: bytes | None,
        content_type: str | None,
        extra_headers: Mapping[str, str] | None,
        timeout: float | None,
    ) -> Response:
        direct = self._ensure_direct(url, method)
        if direct is not None:
            items = self._header_items(extra_headers, content_type, url, method)
            limit = timeout if timeout is not None else self.config.timeout
            try:
                d = direct.request(method, url, data, items, connect_timeout=min(limit, DIAL_TIMEOUT) if limit
                                   else DIAL_TIMEOUT, read_timeout=limit or None)
            except Exception as exc:  # socket/ssl/http.client failures: the same texts as via urllib3
                reason = transport_reason(exc, url, self.config, timed=bool(timeout or self.config.timeout))
                raise TransportError(f'{go_method(method)} "{url}": {reason}', reason=reason) from None
            return Response(d.status, d.headers, d.data, url)
        pool = self._ensure_pool(url, method)
        hdrs = self._headers(extra_headers, content_type, url, method)
        try:
            r = pool.request(
                method,
                url,
                body=data,
                headers=hdrs,
                timeout=self._timeout(timeout),
                redirect=False,
                retries=False,
                preload_content=True,
                decode_content=True,
            )
        except Exception as exc:  # every urllib3/socket/ssl failure is a transport error
            reason = transport_reason(exc, url, self.config, timed=bool(timeout or self.config.timeout))
            raise TransportError(f'{go_method(method)} "{url}": {reason}', reason=reason) from None
        return Response(r.status, r.headers, r.data or b"", url)

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

        `watch=true` is added to the query. `timeout` bounds each wait for data (seconds).
        """
        items: list[tuple[str, Any]] = []
        if query:
            items.extend(query.items() if isinstance(query, Mapping) else query)
        if not any(k == "watch" for k, _ in items):
            items.append(("watch", "true"))
        url = self.url(path, items)
        pool = self._ensure_pool(url, "GET")
        hdrs = self._headers(None, None, url, "GET")
        try:
            r = pool.request(
                "GET",
                url,
                headers=hdrs,
                timeout=self._timeout(timeout, streaming=True),
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=True,
            )
        except Exception as exc:
            reason = transport_reason(exc, url, self.config, timed=bool(timeout or self.config.timeout))
            raise TransportError(f'Get "{url}": {reason}', reason=reason) from None
        try:
            if not 200 <= r.status <= 206:
                body = r.read()
                reason, message = error_reason(r.status, body, r.headers.get("Content-Type", ""), verb="GET")
                raise ApiError(credentials_hint(r.status, message), r.status, reason, body)
            buf = b""
            try:
                for chunk in r.stream(8192, decode_content=True):
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        event = _decode_event(line)
                        if event is not None:
                            yield event
            except ApiError:
                raise
            except Exception as exc:
                reason = transport_reason(exc, url, self.config, timed=True)
                raise TransportError(f'Get "{url}": {reason}', reason=reason) from None
            event = _decode_event(buf)
            if event is not None:
                yield event
        finally:
            r.release_conn()

    # ---- websockets

    def websocket_options(self, path: str, query: Any = None) -> tuple[str, dict[str, Any]]:
        """(ws[s] URL, kwargs for websocket.create_connection / WebSocket.connect).

        The URL keeps any path prefix of the server; TLS, auth, impersonation and proxy settings
        are the REST ones. The request timeout does not apply to websocket dials (as in virtctl).
        """
        import ssl  # noqa: PLC0415

        parts = urlsplit(self.config.server)
        scheme = {"https": "wss", "http": "ws"}.get(parts.scheme.lower())
        if scheme is None:
            raise ConfigError(
                f"unable to create request for remote execution: Unsupported Protocol {parts.scheme}"
            )
        if path and not path.startswith("/"):
            path = "/" + path
        url = f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{path}"
        encoded = paths.encode_query(query)
        if encoded:
            url += ("&" if "?" in path else "?") + encoded
        header = [f"{k}: {v}" for k, v in self.config.auth_header_items()]
        header.append(f"Sec-WebSocket-Protocol: {WEBSOCKET_SUBPROTOCOL}")
        options: dict[str, Any] = {"header": header, "suppress_origin": True}
        if scheme == "wss":
            if self._ssl_context is None:
                self._ssl_context = self.config.ssl_context()
            sslopt: dict[str, Any] = {"context": self._ssl_context}
            if self.config.insecure:
                sslopt["cert_reqs"] = ssl.CERT_NONE
                sslopt["check_hostname"] = False
            if self.config.tls_server_name:
                sslopt["server_hostname"] = self.config.tls_server_name
            options["sslopt"] = sslopt
        proxy = self.config.proxy_for(self.config.server)
        if not proxy:
            options["http_no_proxy"] = ["*"]  # do not let websocket-client read the environment itself
            return url, options
        try:
            pscheme, host, port, user, password = parse_proxy_url(
                proxy.replace("socks5h://", "socks5://", 1) if proxy.startswith("socks5h://") else proxy
            )
        except ValueError as exc:
            raise ConfigError(f"invalid proxy URL {proxy!r}: {exc}") from None
        if pscheme == "https":
            raise ConfigError(
                "websocket connections through an https:// proxy are not supported; use an http:// or socks5:// proxy"
            )
        options.update(
            http_proxy_host=host,
            http_proxy_port=port,
            proxy_type="socks5h" if pscheme == "socks5" else "http",
            http_no_proxy=[_NEVER_MATCHES],  # the proxy applies even to loopback, as in Go
        )
        if user or password:
            options["http_proxy_auth"] = (user, password)
        return url, options

    # ---- version probe

    def server_version(self, timeout: float | None = None) -> dict[str, Any]:
        """GET /apis/subresources.kubevirt.io (preferredVersion), then /apis/<gv>/version (raw bodies)."""
        group = self.request("GET", paths.SUBRESOURCES_GROUP_PATH, decode_status=False, timeout=timeout).json() or {}
        gv = ((group.get("preferredVersion") or {}).get("groupVersion")) or f"{paths.SUB_GROUP}/{paths.VERSION}"
        info = self.request("GET", paths.version_path(gv), decode_status=False, timeout=timeout).json()
        return info if isinstance(info, dict) else {}


# --------------------------------------------------------------------------- helpers


def _q(text: str) -> str:
    from urllib.parse import quote  # noqa: PLC0415

    return quote(text, safe="")


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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


def _dial_address(url: str, config: ClusterConfig | None = None) -> str:
    """The `host:port` Go names in dial errors: IPs as is, names resolved to their first address."""
    import ipaddress  # noqa: PLC0415
    import socket  # noqa: PLC0415

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    try:
        ipaddress.ip_address(host)
        return _host_port(host, port)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if infos:
            return _host_port(str(infos[0][4][0]), port)
    except OSError:
        pass
    return _host_port(host, port)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        nxt = getattr(cur, "reason", None)
        if isinstance(nxt, BaseException) and nxt not in seen:
            cur = nxt
            continue
        nested = [getattr(cur, "original_error", None), *getattr(cur, "args", ())]
        inner = next((v for v in nested if isinstance(v, BaseException) and v not in seen), None)
        cur = inner or cur.__cause__ or cur.__context__
    return seen


_TLS_HINT = "; use --certificate-authority to trust the cluster's CA (or --insecure-skip-tls-verify)"


def transport_reason(
    exc: BaseException, url: str, config: ClusterConfig | None = None, *, timed: bool = False
) -> str:
    """Go's net/http wording for a request that got no HTTP answer."""
    import errno  # noqa: PLC0415
    import socket  # noqa: PLC0415
    import ssl  # noqa: PLC0415

    import urllib3.exceptions as ue  # noqa: PLC0415

    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    proxied = any(isinstance(e, ue.ProxyError) for e in chain)
    prefix = "proxyconnect tcp: " if proxied and not any(isinstance(e, ssl.SSLError) for e in chain) else ""
    target = url
    if proxied and config is not None:
        proxy = config.proxy_for(url) or url
        target = proxy if "://" in proxy else "http://" + proxy

    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return _tls_verify_text(e, url, config)
    for e in chain:
        if isinstance(e, ue.NameResolutionError | socket.gaierror) or "NameResolutionError" in names:
            host = urlsplit(target).hostname or ""
            return f"{prefix}dial tcp: lookup {host}: no such host"
    for e in chain:
        if isinstance(e, OSError) and e.errno == errno.ECONNREFUSED:
            return f"{prefix}dial tcp {_dial_address(target, config)}: connect: connection refused"
        if isinstance(e, OSError) and e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            what = "no route to host" if e.errno == errno.EHOSTUNREACH else "network is unreachable"
            return f"{prefix}dial tcp {_dial_address(target, config)}: connect: {what}"
    for e in chain:
        if isinstance(e, ue.ConnectTimeoutError) and not isinstance(e, ue.NewConnectionError):
            text = f"{prefix}dial tcp {_dial_address(target, config)}: i/o timeout"
            return text + (" (Client.Timeout exceeded while awaiting headers)" if timed else "")
        if isinstance(e, ue.ReadTimeoutError | TimeoutError | socket.timeout):
            return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    for e in chain:
        if isinstance(e, ssl.SSLError):
            return _tls_error_text(e)
    for e in chain:
        if isinstance(e, ConnectionResetError):
            return "read: connection reset by peer"
        if isinstance(e, BrokenPipeError):
            return "write: broken pipe"
    if (
        "RemoteDisconnected" in names
        or "IncompleteRead" in names
        or "BadStatusLine" in names
        or any(isinstance(e, ue.ProtocolError) for e in chain)
    ):
        return "EOF"
    for e in chain:
        if isinstance(e, ue.ProxyError):
            text = str(e).split(": ", 1)[-1]
            return f"proxyconnect tcp: {text}"
    last = chain[-1]
    return " ".join(str(last).split()) or type(last).__name__


def _tls_verify_text(e: ssl.SSLCertVerificationError, url: str, config: ClusterConfig | None) -> str:
    code = getattr(e, "verify_code", 0)
    host = (
        (config.tls_server_name if config and config.tls_server_name else None)
        or urlsplit(url).hostname
        or ""
    )
    if code == 62 or "Hostname mismatch" in str(e) or "IP address mismatch" in str(e):
        names = _peer_names(url, config)
        if names:
            text = f"x509: certificate is valid for {', '.join(names)}, not {host}"
        else:
            text = f"x509: certificate is not valid for {host}"
        return (
            f"tls: failed to verify certificate: {text}; use --tls-server-name to check another name"
            " (or --certificate-authority for the right CA, or --insecure-skip-tls-verify)"
        )
    if code in (9, 10) or "expired" in str(e) or "not yet valid" in str(e):
        return (
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid" + _TLS_HINT
        )
    return "tls: failed to verify certificate: x509: certificate signed by unknown authority" + _TLS_HINT


def _peer_names(url: str, config: ClusterConfig | None) -> list[str]:
    """The names in the server certificate (for Go's `valid for a, b, not c`); [] if unavailable."""
    import socket  # noqa: PLC0415
    import ssl  # noqa: PLC0415

    if config is None or config.proxy_for(url):
        return []
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=config.tls_server_name or host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        if not der:
            return []
        from cryptography import x509  # noqa: PLC0415

        cert = x509.load_der_x509_certificate(der)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return [str(n) for n in san.get_values_for_type(x509.DNSName)] + [
            str(ip) for ip in san.get_values_for_type(x509.IPAddress)
        ]
    except Exception:
        return []


def _tls_error_text(e: ssl.SSLError) -> str:
    text = f"{e.reason or ''} {e}".upper()
    if "CERTIFICATE_REQUIRED" in text:
        return "remote error: tls: certificate required"
    if "BAD_CERTIFICATE" in text:
        return "remote error: tls: bad certificate"
    if "UNKNOWN_CA" in text:
        return "remote error: tls: unknown certificate authority"
    if "WRONG_VERSION_NUMBER" in text or "HTTP_REQUEST" in text:
        return "http: server gave HTTP response to HTTPS client"
    if "HANDSHAKE_FAILURE" in text:
        return "remote error: tls: handshake failure"
    if "UNEXPECTED_EOF" in text or "EOF" in text:
        return "EOF"
    return f"tls: {(e.reason or str(e)).lower().replace('_', ' ')}"
