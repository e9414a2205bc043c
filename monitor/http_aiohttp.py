"""httpx over aiohttp: the monitor's `httpx.AsyncClient` sends its requests through aiohttp's HTTP/1.1 code.

Imported on the first request only (`monitor.http.LazyTransport`), so that `status`, `history` or `validate`
never load aiohttp. httpx stays the client API: headers, redirects, timeouts and errors are httpx's for
every caller; aiohttp only moves the bytes (its C parser and connection pool cost ~0.4 ms of CPU per
request less than httpcore + anyio + h11: bench/RESULTS.md).

`httpx_aiohttp.AiohttpTransport` is the base, with what the monitor's guarantees need changed:

- header names go out as given (`request.headers.raw`), not lower-cased;
- aiohttp never decompresses (`auto_decompress=False`): the raw, still encoded bytes reach
  `monitor.content_encoding`, which decodes them in bounded steps under the size and time caps;
- aiohttp's errors become the httpx errors httpx's own transport raises for the same failure (a refused
  connection is a `ConnectError`, a server that hangs up a `RemoteProtocolError`, ...), so the
  monitor's messages say what happened (the base class would call a refused connection a timeout);
- no cookie jar of aiohttp's own (httpx keeps the cookies, as it does over its own transport), no
  redirects (the monitor follows them itself, hop by hop), no proxies or netrc from the environment
  (`monitor.http` keeps httpx's own transport when a proxy variable is set);
- the URL goes out as httpx encoded it (no re-quoting), and TLS uses httpx's context (certifi, or
  `SSL_CERT_FILE` / `SSL_CERT_DIR`), made on the first https request;
- header limits as generous as httpcore's (h11 with 100 KiB for the whole head), not aiohttp's 8 KiB
  per line and 128 headers.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import AiohttpResponseStream
from yarl import URL

CHUNK = 64 * 1024  # the most one read hands over; content_encoding bounds what decoding makes of it
MAX_LINE = 64 * 1024  # a status or header line
MAX_HEADERS = 1000


def mapped(exc: BaseException) -> httpx.TransportError:
    """The httpx error its own transport raises for the failure that aiohttp reported as `exc`."""
    message = str(exc) or type(exc).__name__
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, TimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        kind = httpx.ProxyError
    elif isinstance(exc, aiohttp.ClientConnectorError):  # refused, no such host, TLS handshake failed
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        # hung up before or during the answer; a body shorter than announced; an answer that is not HTTP
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.NonHttpUrlClientError | aiohttp.InvalidURL):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientConnectionError | OSError):
        kind = httpx.ReadError  # reset by the peer, or closed, while the answer was coming
    else:
        kind = httpx.TransportError
    return kind(message)


class _Body(AiohttpResponseStream):
    """The response body as aiohttp receives it (de-chunked, never decompressed), errors mapped."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._aiohttp_response.content.iter_chunked(CHUNK):
                yield chunk
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise mapped(exc) from exc

    async def aclose(self) -> None:
        # Back to the pool if the body was read to its end; a connection with unread bytes is closed.
        try:
            await self._aiohttp_response.__aexit__(None, None, None)
        except (aiohttp.ClientError, OSError) as exc:
            raise mapped(exc) from exc


class MonitorAiohttpTransport(AiohttpTransport):
    """`AiohttpTransport` keeping httpx's behaviour where the monitor relies on it (module docstring)."""

    def __init__(self, limits: httpx.Limits) -> None:
        # verify=False here only spares the base class a CA bundle load; TLS uses `_tls()`, made on use
        super().__init__(verify=False, limits=limits)
        self._tls_context: ssl.SSLContext | None = None

    def _tls(self) -> ssl.SSLContext:
        if self._tls_context is None:
            self._tls_context = httpx.create_ssl_context(verify=True, trust_env=True)
        return self._tls_context

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("Content-Type",),  # none that httpx did not set
            auto_decompress=False,
            trust_env=False,
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
            max_headers=MAX_HEADERS,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        timeout = request.extensions.get("timeout", {})
        streamed = False
        data: bytes | httpx.AsyncByteStream | None = None
        # A body only where httpx framed one, as httpcore does: a redirected GET carries an empty stream
        # that aiohttp would otherwise send chunked, with a Content-Type.
        if "content-length" in request.headers or "transfer-encoding" in request.headers:
            try:
                data = request.content or None
            except httpx.RequestNotRead:
                data, streamed = request.stream, True  # type: ignore[assignment]
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if not (streamed and name.lower() == b"transfer-encoding")  # aiohttp chunks a stream itself
        ]
        try:
            response = await self.client.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"), sock_read=timeout.get("read"), connect=timeout.get("pool")
                ),
                ssl=self._tls() if request.url.scheme == "https" else True,
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise mapped(exc) from exc
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=extensions,
        )
