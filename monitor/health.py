"""The daemon's HTTP side: probes and metrics, and the dashboard beside them, on `daemon.listen`.

- `GET /healthz` — liveness: 200 while the process is alive *and* its scheduler is ticking (a heartbeat
  job ran recently), else 503. A wedged event loop does not answer at all, which a probe also counts
  as a failure. Restart the process when this fails.
- `GET /readyz` — readiness: 200 when the state database answers (`store.ping()`), else 503 with the
  reason. Not ready also while shutting down.
- `GET /metrics` — Prometheus text format (see `monitor.metrics` for the names).
- The dashboard and the Atom feeds (`monitor.web`), when the daemon hands over a `Dashboard`.

The app is Starlette (ASGI) served by uvicorn as a task on the daemon's own event loop: no thread, no
process, no signal handlers of its own (the daemon keeps SIGTERM, SIGINT and SIGHUP). The listening
sockets are bound here, before serving, so an address in use is an `OSError` at start, port 0 picks a
free port, and `address` is the one really bound (which the daemon logs). Only GET and HEAD.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.web.pages import Dashboard

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[tuple[bool, str]]]
_MAX_REQUEST = 16384  # bytes of request head; more is refused
_MAX_CONNECTIONS = 100  # concurrent connections; more are answered 503
_CLOSE_GRACE = 2  # seconds open requests get to finish when the daemon stops (uvicorn takes whole ones)


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
    """The probes (and, given a `Dashboard`, the dashboard) served by uvicorn on the running event loop."""

    def __init__(self, endpoints: Endpoints, dashboard: Dashboard | None = None):
        self.endpoints = endpoints
        self.dashboard = dashboard
        self.address: tuple[str, int] | None = None
        self._server: Any = None
        self._task: asyncio.Task | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind and serve; returns the bound (host, port) — the real port when `port` is 0."""
        import uvicorn

        from monitor.web.access import is_loopback
        from monitor.web.app import build_app

        sockets = _bind(host, port)
        sockname = sockets[0].getsockname()
        self.address = (sockname[0], sockname[1])
        if self.dashboard is not None and self.dashboard.exposed is None:
            self.dashboard.exposed = not is_loopback(host)
        app = build_app(self.endpoints, self.dashboard, listen=f"{host}:{self.address[1]}")
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=_CLOSE_GRACE,
            timeout_keep_alive=5,
            limit_concurrency=_MAX_CONNECTIONS,
            h11_max_incomplete_event_size=_MAX_REQUEST,
        )
        self._server = _embedded(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=sockets), name="http")
        while not self._server.started:
            if self._task.done():
                for sock in sockets:
                    sock.close()
                self._task.result()  # raises what stopped it
                raise OSError(f"the HTTP server on {host}:{port} stopped while starting")
            await asyncio.sleep(0.01)
        self._warn_if_closed(host)
        return self.address

    def _warn_if_closed(self, host: str) -> None:
        if self.dashboard is None or not self.dashboard.exposed:
            return
        if self.dashboard.config().daemon.dashboard_auth is None:
            from monitor.config import DASHBOARD_TOKEN_ENV

            log.warning(
                "the dashboard is off: %s is reachable from other machines and no token is set. Set %s "
                "(at least 12 random characters, e.g. `openssl rand -hex 16`) or daemon.dashboard_auth, "
                "and restart; /healthz, /readyz and /metrics answer meanwhile",
                self.url,
                DASHBOARD_TOKEN_ENV,
            )

    @property
    def url(self) -> str:
        assert self.address is not None
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def close(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), _CLOSE_GRACE + 2)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=1)
        except Exception as exc:  # noqa: BLE001 - closing must not fail the shutdown
            log.debug("the HTTP server stopped with an error: %s", exc)
        self._server = self._task = None


def _embedded(config: Any) -> Any:
    """A uvicorn Server without its signal handling (the daemon installs its own). Imported here, not at
    the top: `monitor.config` imports this module, and `monitor check` never needs uvicorn."""
    import contextlib

    import uvicorn

    class EmbeddedServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return EmbeddedServer(config)


def _bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address `host` resolves to (as asyncio.start_server binds), port 0
    resolved once so that all of them share it. Raises OSError (address in use, unknown host)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    seen: set[Any] = set()
    try:
        for family, kind, proto, _name, address in infos:
            if (family, address[:2]) in seen:
                continue
            seen.add((family, address[:2]))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets
