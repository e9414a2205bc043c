"""A tiny HTTP server for probes and scraping: `/healthz`, `/readyz`, `/metrics`.

- `GET /healthz` — liveness: 200 while the process is alive *and* its scheduler is ticking (a heartbeat
  job ran recently), else 503. A wedged event loop does not answer at all, which a probe also counts
  as a failure. Restart the process when this fails.
- `GET /readyz` — readiness: 200 when the state database answers (`store.ping()`), else 503 with the
  reason. Not ready also while shutting down.
- `GET /metrics` — Prometheus text format (see `monitor.metrics` for the names).

It runs on the daemon's own event loop with `asyncio.start_server`: no framework, no thread, nothing
to configure but the address (`daemon.listen`, `--listen` or `MONITOR_LISTEN`; port 0 picks a free port
and the bound address is logged). Only GET and HEAD; each connection answers one request and closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[tuple[bool, str]]]
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
_MAX_REQUEST = 8192
_READ_TIMEOUT = 5.0


def parse_listen(text: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (all interfaces) -> (host, port). Raises ValueError."""
    value = text.strip()
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not an address to listen on; use HOST:PORT, like 127.0.0.1:9090 or 0.0.0.0:9090")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port)


class Heartbeat:
    """Updated by a scheduler job; alive while the last beat is younger than `max_age` seconds."""

    def __init__(self, max_age: float, clock: Callable[[], float] = time.monotonic):
        self.max_age = max_age
        self._clock = clock
        self.last: float | None = None

    def beat(self) -> None:
        self.last = self._clock()

    def age(self) -> float | None:
        return None if self.last is None else self._clock() - self.last

    async def probe(self) -> tuple[bool, str]:
        age = self.age()
        if age is None:
            return False, "scheduler not started yet"
        if age > self.max_age:
            return False, f"scheduler stalled: last heartbeat {age:.0f}s ago (limit {self.max_age:.0f}s)"
        return True, f"ok: scheduler heartbeat {age:.1f}s ago"


@dataclass
class Endpoints:
    live: Probe
    ready: Probe
    metrics: Callable[[], bytes] | None = None
    metrics_content_type: str = "text/plain; version=0.0.4; charset=utf-8"


class HealthServer:
    def __init__(self, endpoints: Endpoints):
        self.endpoints = endpoints
        self._server: asyncio.base_events.Server | None = None
        self.address: tuple[str, int] | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind and serve; returns the bound (host, port) — the real port when `port` is 0."""
        self._server = await asyncio.start_server(self._handle, host, port, limit=_MAX_REQUEST)
        sockname = self._server.sockets[0].getsockname()
        self.address = (sockname[0], sockname[1])
        return self.address

    @property
    def url(self) -> str:
        assert self.address is not None
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
                return
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(parts) != 3:
                await self._respond(writer, 400, b"bad request\n", head_only=False)
                return
            method, target, _version = parts
            if method not in ("GET", "HEAD"):
                await self._respond(writer, 405, b"only GET and HEAD\n", head_only=False, extra={"Allow": "GET, HEAD"})
                return
            status, body, content_type = await self._route(target.split("?", 1)[0])
            await self._respond(writer, status, body, head_only=method == "HEAD", content_type=content_type)
        except Exception:  # noqa: BLE001 - a probe must never take the daemon down
            log.exception("health endpoint failed")
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _route(self, path: str) -> tuple[int, bytes, str]:
        text = "text/plain; charset=utf-8"
        if path in ("/healthz", "/livez"):
            ok, why = await self.endpoints.live()
            return (200 if ok else 503), f"{why}\n".encode(), text
        if path == "/readyz":
            ok, why = await self.endpoints.ready()
            return (200 if ok else 503), f"{why}\n".encode(), text
        if path == "/metrics" and self.endpoints.metrics is not None:
            return 200, self.endpoints.metrics(), self.endpoints.metrics_content_type
        return 404, b"not found: try /healthz, /readyz or /metrics\n", text

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, status: int, body: bytes, *, head_only: bool,
                       content_type: str = "text/plain; charset=utf-8", extra: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": content_type, "Content-Length": str(len(body)), "Connection": "close",
                   "Cache-Control": "no-store", **(extra or {})}
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"] + [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body))
        try:
            await writer.drain()
        except ConnectionError:
            pass
