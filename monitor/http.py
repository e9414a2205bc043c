"""The only code that touches the network for sources: one shared async client, with caps.

- one `httpx.AsyncClient` for the process (connection reuse; HTTP keep-alive);
- a per-host concurrency limit, so a cycle of many watches never hammers one server;
- a time cap per request (connect, read, and a total deadline) and a size cap on the body, read as a
  stream so a huge or endless response is cut off without being held in memory;
- conditional GET (If-None-Match / If-Modified-Since);
- within one cycle, one request per distinct URL (and validators): watches that share a source share
  the response (`CycleFetcher`).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from monitor import __version__
from monitor.errors import FetchError
from monitor.models import Fetched

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"court-filing-monitor/{__version__} (+https://github.com/; polite polling)"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    timeout: float = 30.0  # total seconds for one request, headers and body
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    per_host: int = 4
    user_agent: str = DEFAULT_USER_AGENT


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


class HttpClient:
    """The process-wide client. Create once, share everywhere, `aclose()` at the end."""

    def __init__(self, settings: HttpSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings or HttpSettings()
        self._client = httpx.AsyncClient(
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            follow_redirects=True,
            transport=transport,
        )
        self._hosts: dict[str, asyncio.Semaphore] = {}

    @property
    def raw(self) -> httpx.AsyncClient:
        """The underlying httpx client, for notifiers that speak HTTP (webhooks)."""
        return self._client

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self.settings.per_host)
        return slot

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        cap_setting: str = "http.max_bytes",
        follow_redirects: bool = True,
    ) -> Fetched:
        """GET with caps. Raises FetchError for network failures, non-2xx answers and oversized bodies.

        `max_bytes` overrides the size cap for this request (`cap_setting` names the key that sets it, for
        the error); with `follow_redirects=False` a redirect is an error naming where it pointed.
        """
        request_headers = dict(headers or {})
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        async with self._host_slot(url):
            try:
                async with asyncio.timeout(self.settings.timeout):
                    return await self._get(url, request_headers, max_bytes or self.settings.max_bytes, cap_setting,
                                           follow_redirects)
            except TimeoutError:
                raise FetchError(f"no complete answer from {url} within {self.settings.timeout:g}s") from None
            except httpx.TimeoutException as exc:
                raise FetchError(f"timed out fetching {url} ({type(exc).__name__})") from exc
            except httpx.ConnectError as exc:
                raise FetchError(f"could not connect to {urlsplit(url).netloc} for {url}: {exc or 'refused'} "
                                 "(check the URL, the network and any proxy)") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"could not fetch {url}: {exc or type(exc).__name__}") from exc

    async def _get(self, url: str, headers: dict[str, str], cap: int, cap_setting: str, follow: bool) -> Fetched:
        async with self._client.stream("GET", url, headers=headers, follow_redirects=follow) as response:
            status = response.status_code
            if status == 304:
                # No body, but it must be read: a response closed unread takes its connection with it,
                # and every "unchanged" check would then open (and TLS-handshake) a new one.
                await response.aread()
                return Fetched(url=url, status=304, headers=dict(response.headers), body=b"", not_modified=True,
                               etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"))
            if not follow and 300 <= status < 400:
                where = response.headers.get("location", "nowhere")
                raise FetchError(f"{url}: redirected (HTTP {status}) to {where}; not followed", status=status)
            if not 200 <= status < 300:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                raise FetchError(f"{url}: {_reason(status)}", status=status, retry_after=retry_after)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise FetchError(f"{url}: response of {int(declared):,} bytes is over the {cap:,}-byte cap "
                                 f"(raise {cap_setting} if this source is really that large)")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise FetchError(f"{url}: response is over the {cap:,}-byte cap; stopped reading "
                                     f"(raise {cap_setting} if this source is really that large)")
                chunks.append(chunk)
            return Fetched(
                url=str(response.url),
                status=status,
                headers=dict(response.headers),
                body=b"".join(chunks),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )

    async def aclose(self) -> None:
        await self._client.aclose()


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

    def _start(self, key: tuple, url: str, headers: Mapping[str, str] | None, validators: tuple[str | None, str | None],
               now: float) -> asyncio.Task[Fetched]:
        self.requests += 1
        task = asyncio.ensure_future(self.client.get(url, headers=headers, etag=validators[0], last_modified=validators[1]))
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
    ) -> Fetched:
        try:
            return await self._fetch(url, headers, etag, last_modified)
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

    async def _fetch(self, url: str, headers: Mapping[str, str] | None, etag: str | None,
                     last_modified: str | None) -> Fetched:
        now = time.monotonic()
        self._purge(now)
        key = (url, tuple(sorted((headers or {}).items())))
        mine = (etag, last_modified)
        entry = self._cache.get(key)
        if entry is None or (self.ttl is not None and now - entry[0] > self.ttl):
            task = self._start(key, url, headers, mine, now)
        else:
            task = entry[2]
        # shield: one watch being cancelled must not cancel the request others are waiting on
        fetched = await asyncio.shield(task)
        if fetched.not_modified and self._cache.get(key, (0, mine))[1] != mine:
            # a 304 answers only the validators that were sent; this caller needs the body
            fresh = ("unconditional",) + key
            entry = self._cache.get(fresh)
            task = entry[2] if entry and (self.ttl is None or now - entry[0] <= self.ttl) else \
                self._start(fresh, url, headers, (None, None), now)
            fetched = await asyncio.shield(task)
        return fetched
