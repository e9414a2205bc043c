"""The only code that touches the network for sources: one shared async client, with caps.

- one `httpx.AsyncClient` for the process (connection reuse; HTTP keep-alive);
- politeness per host (`monitor.hosts`): a concurrency limit, so a cycle of many watches never hammers
  one server, and optionally a minimum delay between the starts of two requests to it;
- a time cap per request (connect, read, and a total deadline that also runs while decoding) and a size
  cap on the body, read as a stream and counted on the decoded bytes (`monitor.content_encoding`), so a
  huge, endless or compression-bomb response is cut off without being held in memory;
- redirects followed here, each hop checked (http and https only, at most MAX_REDIRECTS) and polite;
- every failure a server can cause is a FetchError naming the URL, never a traceback;
- conditional GET (If-None-Match / If-Modified-Since);
- within one cycle, one request per distinct URL (and validators): watches that share a source share
  the response (`CycleFetcher`).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from monitor import __version__
from monitor.content_encoding import BodyTooLarge, UndecodableBody, parse_encodings, read_decoded
from monitor.errors import ConfigError, FetchError
from monitor.hosts import HostGates
from monitor.models import Fetched

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"court-filing-monitor/{__version__} (+https://github.com/; polite polling)"
MAX_REDIRECTS = 10


@dataclass(frozen=True, slots=True)
class HttpSettings:
    timeout: float = 30.0  # total seconds for one request, headers and body
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    per_host: int = 4
    user_agent: str = DEFAULT_USER_AGENT
    min_delay: float = 0.0  # seconds between the starts of two requests to one host; 0: no spacing
    transport: str = "aiohttp"  # what moves the bytes under httpx: "aiohttp" (httpx-aiohttp) or "httpx" (its own)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _reason(status: int) -> str:
    if status == 429:
        return "rate limited (HTTP 429)"
    if status in (401, 403):
        return f"access refused (HTTP {status}); check the credentials or whether the source blocks bots"
    if status == 404:
        return "not found (HTTP 404); check the URL"
    if status >= 500:
        return f"server error (HTTP {status}); the source is having trouble, will retry"
    return f"unexpected HTTP status {status}"


@dataclass(frozen=True, slots=True)
class _Caps:
    """One request's own limits: the body's size cap (and the setting that sets it), whether to follow."""

    max_bytes: int
    setting: str
    follow_redirects: bool


TRANSPORTS = ("aiohttp", "httpx")
TRANSPORT_ENV = "MONITOR_HTTP_TRANSPORT"  # overrides `http.transport`, for trouble-shooting without editing


def _env_proxies() -> bool:
    """Whether the environment names a proxy for web requests (httpx's transport honours it)."""
    return any(key in ("http", "https", "all") for key in urllib.request.getproxies())


def transport_choice(settings: HttpSettings) -> str:
    """The transport requests go through: `$MONITOR_HTTP_TRANSPORT`, else `http.transport`; httpx's own
    when the environment sets a proxy (httpx only applies `*_PROXY` to its own transport)."""
    choice = os.environ.get(TRANSPORT_ENV, "").strip().lower() or settings.transport
    if choice not in TRANSPORTS:
        raise ConfigError(f"{TRANSPORT_ENV}={choice!r}: use one of {', '.join(TRANSPORTS)}")
    if choice == "aiohttp" and _env_proxies():
        return "httpx"
    return choice


class LazyTransport(httpx.AsyncBaseTransport):
    """httpx-aiohttp's transport (`monitor.http_aiohttp`), imported and built on the first request:
    aiohttp costs ~0.2 s of CPU and ~11 MiB to import, which commands that fetch nothing never pay."""

    def __init__(self, limits: httpx.Limits):
        self._limits = limits
        self._inner: httpx.AsyncBaseTransport | None = None

    def prepare(self) -> httpx.AsyncBaseTransport:
        """Import and build the transport now. `HttpClient.get` calls this before a request takes its turn
        at its host, so that the import's time never comes between the turn and the request going out
        (that would shrink the `min_delay` spacing the source sees)."""
        if self._inner is None:
            from monitor.http_aiohttp import MonitorAiohttpTransport

            self._inner = MonitorAiohttpTransport(self._limits)
        return self._inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # prepared here too for the raw client's callers (webhooks), which take no turns
        return await self.prepare().handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


class HttpClient:
    """The process-wide client. Create once, share everywhere, `aclose()` at the end."""

    def __init__(self, settings: HttpSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings or HttpSettings()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=50)
        self._lazy: LazyTransport | None = None
        if transport is None and transport_choice(self.settings) == "aiohttp":
            transport = self._lazy = LazyTransport(limits)
        self._client = httpx.AsyncClient(
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout),
            limits=limits,
            follow_redirects=True,  # for notifiers using `raw`; `get` follows redirects itself
            transport=transport,
            event_hooks={"response": [_refuse_unfollowable_redirect]},
        )
        self._gates = HostGates(self.settings.per_host)

    @property
    def raw(self) -> httpx.AsyncClient:
        """The underlying httpx client, for notifiers that speak HTTP (webhooks)."""
        return self._client

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        min_delay: float = 0.0,
        max_bytes: int | None = None,
        cap_setting: str = "http.max_bytes",
        follow_redirects: bool = True,
    ) -> Fetched:
        """GET with caps. Raises FetchError for network failures, non-2xx answers, oversized or broken
        bodies, and redirects that cannot be followed: never anything else for what a server does.

        `min_delay`: this request starts at least that many seconds after the previous request to the
        same host (the larger of it and `http.min_delay` applies), for every hop of a redirect.
        `max_bytes` overrides the size cap for this request (`cap_setting` names the key that sets it, for
        the error); with `follow_redirects=False` a redirect is an error naming where it pointed.
        """
        request_headers = dict(headers or {})
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        delay = max(self.settings.min_delay, min_delay)
        try:
            return await self._follow(
                url, request_headers, delay, _Caps(max_bytes or self.settings.max_bytes, cap_setting, follow_redirects)
            )
        except TimeoutError:
            raise FetchError(f"no complete answer from {url} within {self.settings.timeout:g}s") from None
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out fetching {url} ({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            raise FetchError(
                f"could not connect to {urlsplit(url).netloc} for {url}: {exc or 'refused'} "
                "(check the URL, the network and any proxy)"
            ) from exc
        except httpx.RemoteProtocolError as exc:
            raise FetchError(
                f"{url}: the server sent a broken HTTP answer ({exc}); "
                "if it persists, the source or a proxy in between is at fault"
            ) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"could not fetch {url}: {exc or type(exc).__name__}") from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"{url} is not a valid URL ({exc}); check the configured url") from exc

    async def _follow(self, url: str, headers: dict[str, str], delay: float, caps: _Caps) -> Fetched:
        """The request, and the redirects it leads to, each hop taking its turn at its own host.

        Redirects are followed here rather than by httpx, which reads (and decodes, uncapped) the body
        of every redirect response. The time cap counts time spent on the source, not turns waited."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(f"{url}: not an http or https URL; check the configured url")
        request = self._client.build_request("GET", url, headers=headers)
        if self._lazy is not None:
            self._lazy.prepare()  # before the first turn is taken (LazyTransport.prepare)
        remaining = self.settings.timeout
        loop = asyncio.get_running_loop()
        for _hop in range(MAX_REDIRECTS + 1):
            gate = self._gates[f"{request.url.host}:{request.url.port or ''}"]
            await gate.enter(delay)
            started = loop.time()
            try:
                async with asyncio.timeout(remaining):
                    response = await self._client.send(request, stream=True, follow_redirects=False)
                    try:
                        if response.next_request is None:
                            return await self._read(url, response, caps)
                        if not caps.follow_redirects:
                            where = response.headers.get("location", "nowhere")
                            raise FetchError(
                                f"{url}: redirected (HTTP {response.status_code}) to {where}; not followed",
                                status=response.status_code,
                            )
                        await _discard(response)  # keep the connection: a redirect's body is short
                    finally:
                        await response.aclose()
            finally:
                gate.leave()
            remaining -= loop.time() - started
            request = response.next_request
        raise FetchError(
            f"{url}: more than {MAX_REDIRECTS} redirects (a redirect loop?); the last went to {request.url}"
        )

    async def _read(self, url: str, response: httpx.Response, caps: _Caps) -> Fetched:
        status = response.status_code
        if status == 304:
            # No body, but it must be read: a response closed unread takes its connection with it,
            # and every "unchanged" check would then open (and TLS-handshake) a new one.
            await _discard(response)
            return Fetched(
                url=url,
                status=304,
                headers=dict(response.headers),
                body=b"",
                not_modified=True,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
        if not 200 <= status < 300:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise FetchError(f"{url}: {_reason(status)}", status=status, retry_after=retry_after)
        declared = response.headers.get("content-length")
        cap = caps.max_bytes
        if declared and declared.isdigit() and int(declared) > cap:
            raise FetchError(
                f"{url}: response of {int(declared):,} bytes is over the {cap:,}-byte cap "
                f"(raise {caps.setting} if this source is really that large)"
            )
        encodings = parse_encodings(response.headers.get_list("content-encoding"))
        try:
            body = await read_decoded(response.aiter_raw(), encodings, max_bytes=cap)
        except BodyTooLarge as exc:
            raise FetchError(
                f"{url}: {_too_large(exc)}; stopped reading (raise {caps.setting} if this source is really that large)"
            ) from None
        except UndecodableBody as exc:
            raise FetchError(f"{url}: {exc}") from None
        return Fetched(
            url=str(response.url),
            status=status,
            headers=dict(response.headers),
            body=body,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def _too_large(exc: BodyTooLarge) -> str:
    if not exc.encodings:
        return f"response is over the {exc.cap:,}-byte cap"
    if exc.decoded > exc.cap:
        return (
            f"response decodes to more than the {exc.cap:,}-byte cap (from {exc.wire:,} bytes of "
            f"{', '.join(exc.encodings)} received: a compression bomb, or a very large page)"
        )
    return f"response is over the {exc.cap:,}-byte cap before decoding ({', '.join(exc.encodings)})"


async def _discard(response: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read and drop a body that is not wanted (a 304's, a redirect's), undecoded. One longer than
    `limit` is left unread: closing the response then closes its connection instead."""
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > limit:
            return


async def _refuse_unfollowable_redirect(response: httpx.Response) -> None:
    """Turn a redirect to anything but http(s) into an ordinary httpx error, before httpx reads it.

    httpx prepares the next request as soon as it sees a redirect, even one it will not follow, and a
    Location such as `data:text/html,...` or `javascript:...` makes it raise `InvalidURL`, which is not
    an `httpx.HTTPError`: every caller's error handling would miss it and print a traceback. This hook
    runs first, for every user of the client (notifiers too)."""
    if not response.has_redirect_location:
        return
    location = response.headers["location"]
    try:
        target: httpx.URL | None = response.url.join(location)
    except httpx.InvalidURL:
        target = None
    if target is None or target.scheme not in ("http", "https") or not target.host:
        shown = location if len(location) <= 80 else location[:77] + "..."
        raise httpx.UnsupportedProtocol(
            f"redirected to {shown!r}, which is not a valid http or https address; only web redirects are followed",
            request=response.request,
        )


class CycleFetcher:
    """Shares responses: identical requests made by several watches are made once.

    Requests are keyed by URL and headers, not by validators, so a watch added today (no ETag yet) and
    one that has checked for months share the court's one request. A 304 only answers callers that sent
    the same validators; anyone else gets a fresh unconditional request. With `ttl`, responses are
    reused for that many seconds (the daemon, whose watches fire at different moments); without it,
    for the life of the object (one `check` cycle).

    `expected` (URL -> how many watches of the cycle will fetch it, from `Watcher.fetch_urls`) lets a
    cycle let go of a response once every watch that needs it has it, so that it holds the bodies being
    parsed rather than every body fetched (1,000 sources of 30 KB: 28 MiB less at the peak). A URL not
    announced is kept to the end, as before.
    """

    def __init__(self, client: HttpClient, *, ttl: float | None = None, expected: Mapping[str, int] | None = None):
        self.client = client
        self.ttl = ttl
        self._cache: dict[tuple, tuple[float, tuple[str | None, str | None], asyncio.Task[Fetched]]] = {}
        self._remaining = dict(expected or {}) if ttl is None else {}
        self._keys: dict[str, list[tuple]] = {}  # url -> its cache keys, for letting go of them
        self.requests = 0

    def _purge(self, now: float) -> None:
        if self.ttl is None:
            return
        for key in [k for k, (at, _, task) in self._cache.items() if now - at > self.ttl and task.done()]:
            del self._cache[key]

    def _start(
        self,
        key: tuple,
        url: str,
        headers: Mapping[str, str] | None,
        validators: tuple[str | None, str | None],
        now: float,
        min_delay: float,
    ) -> asyncio.Task[Fetched]:
        self.requests += 1
        task = asyncio.ensure_future(
            self.client.get(url, headers=headers, etag=validators[0], last_modified=validators[1], min_delay=min_delay)
        )
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved: no "never retrieved" noise
        self._cache[key] = (now, validators, task)
        if self._remaining:
            self._keys.setdefault(url, []).append(key)
        return task

    async def fetch(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        min_delay: float = 0.0,
    ) -> Fetched:
        """The response for this request, made now or shared. `min_delay` is the politeness delay of the
        watch asking (see `HttpClient.get`); a caller sharing a request already made does not wait."""
        try:
            return await self._fetch(url, headers, etag, last_modified, min_delay)
        finally:
            self._consumed(url)

    def _consumed(self, url: str) -> None:
        left = self._remaining.get(url)
        if left is None:
            return
        if left > 1:
            self._remaining[url] = left - 1
            return
        del self._remaining[url]
        for key in self._keys.pop(url, ()):
            entry = self._cache.get(key)
            if entry is not None and entry[2].done():
                del self._cache[key]

    async def _fetch(
        self, url: str, headers: Mapping[str, str] | None, etag: str | None, last_modified: str | None, min_delay: float
    ) -> Fetched:
        now = time.monotonic()
        self._purge(now)
        key = (url, tuple(sorted((headers or {}).items())))
        mine = (etag, last_modified)
        entry = self._cache.get(key)
        if entry is None or (self.ttl is not None and now - entry[0] > self.ttl):
            task = self._start(key, url, headers, mine, now, min_delay)
        else:
            task = entry[2]
        # shield: one watch being cancelled must not cancel the request others are waiting on
        fetched = await asyncio.shield(task)
        if fetched.not_modified and self._cache.get(key, (0, mine))[1] != mine:
            # a 304 answers only the validators that were sent; this caller needs the body
            fresh = ("unconditional", *key)
            entry = self._cache.get(fresh)
            task = (
                entry[2]
                if entry and (self.ttl is None or now - entry[0] <= self.ttl)
                else self._start(fresh, url, headers, (None, None), now, min_delay)
            )
            fetched = await asyncio.shield(task)
        return fetched
