"""The probe server and the metrics, in-process: real sockets on 127.0.0.1, a real (unreachable) database."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request
from email.message import Message
from types import SimpleNamespace
from typing import cast

import pytest

from monitor.app import Runtime
from monitor.config import loads
from monitor.daemon import Daemon
from monitor.errors import ConfigError
from monitor.health import Endpoints, HealthServer, Heartbeat, parse_listen
from monitor.metrics import Metrics, budget_left
from monitor.store import Store
from monitor.store.store import create_engine


def fetch(url: str, method: str = "GET") -> tuple[int, str, Message]:
    """Status, body and headers (looked up case-insensitively, as HTTP header names are)."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers


async def serving(endpoints: Endpoints, paths: list[tuple[str, str]]) -> list[tuple[int, str, Message]]:
    """Start a HealthServer on a free port, make the requests from a thread, and close it."""
    server = HealthServer(endpoints)
    host, port = await server.start("127.0.0.1", 0)
    try:
        return [await asyncio.to_thread(fetch, f"http://{host}:{port}{path}", method) for method, path in paths]
    finally:
        await server.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_listen_addresses_parse():
    """`host:port`, `[v6]:port` and `:port` are accepted, and anything else is a config error naming the key."""
    assert parse_listen("127.0.0.1:9090") == ("127.0.0.1", 9090)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)
    assert parse_listen("[::1]:9090") == ("::1", 9090)
    assert parse_listen(":9090") == ("0.0.0.0", 9090)
    for bad in ("9090", "localhost", "host:http", "host:70000"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    with pytest.raises(ConfigError, match=r"daemon\.listen: .*HOST:PORT"):
        loads("daemon: {listen: 'localhost'}\n")


def test_endpoints_answer_with_status_and_reason():
    """/healthz and /readyz answer 200 or 503 with the probe's reason, /metrics its text, others 404, POST 405."""
    live = {"ok": True}

    async def probe_live():
        return live["ok"], "ok" if live["ok"] else "scheduler stalled"

    async def probe_ready():
        return False, "state database unreachable"

    async def scenario():
        endpoints = Endpoints(probe_live, probe_ready, lambda: b"monitor_up 1\n", "text/plain; version=0.0.4")
        first = await serving(
            endpoints,
            [
                ("GET", "/healthz"),
                ("GET", "/readyz"),
                ("GET", "/metrics"),
                ("GET", "/healthz?verbose=1"),
                ("HEAD", "/healthz"),
                ("GET", "/"),
                ("POST", "/healthz"),
            ],
        )
        live["ok"] = False
        second = await serving(endpoints, [("GET", "/healthz")])
        return first, second

    first, second = asyncio.run(scenario())
    assert [(s, b) for s, b, _ in first[:4]] == [
        (200, "ok\n"),
        (503, "state database unreachable\n"),
        (200, "monitor_up 1\n"),
        (200, "ok\n"),
    ]
    assert first[2][2]["Content-Type"] == "text/plain; version=0.0.4"
    assert first[4][:2] == (200, "")
    assert first[5][0] == 404 and "/healthz" in first[5][1]
    assert first[6][0] == 405
    assert second[0][:2] == (503, "scheduler stalled\n")


def test_heartbeat_goes_stale():
    """Liveness fails before the first heartbeat and when the last one is older than its limit."""
    now = [100.0]
    beat = Heartbeat(30, clock=lambda: now[0])
    assert asyncio.run(beat.probe())[0] is False
    beat.beat()
    now[0] += 29
    assert asyncio.run(beat.probe())[0] is True
    now[0] += 2
    ok, why = asyncio.run(beat.probe())
    assert ok is False and "31s ago" in why


def test_readyz_is_503_when_the_state_database_is_unreachable(tmp_path):
    """Readiness pings the state database: 200 for a working SQLite file, 503 naming it (password hidden) when
    unreachable."""
    config = loads("watches: []\n")

    def ready(url: str, store: Store) -> tuple[bool, str]:
        daemon = Daemon(config)
        daemon.rt = cast(Runtime, SimpleNamespace(store=store))  # readiness reads only the store
        return asyncio.run(daemon._ready())

    good = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert ready(good.url, good) == (True, "ready")
    finally:
        good.close()
    url = f"postgresql://monitor:s3cret-pw@127.0.0.1:{closed_port()}/monitor"
    down = Store(create_engine(url), url)
    try:
        ok, why = ready(url, down)
    finally:
        down.close()
    assert ok is False
    assert why.startswith("state database postgresql://monitor:***@127.0.0.1:") and " unreachable: " in why
    assert "s3cret-pw" not in why


def test_metrics_expose_budget_and_forget_removed_watches():
    """The budget gauge reads info["budget"]["left"], and a removed watch's gauges disappear from /metrics."""
    assert budget_left({"budget": {"left": 97, "limit": 125}}) == 97.0
    assert budget_left({"budget": {"left": "many"}}) is None and budget_left(None) is None
    metrics = Metrics()
    metrics.add_watch("sf-v-trump")
    metrics.observe_check("sf-v-trump", "changed", 0.42, ["added", "added", "source_down"])
    metrics.observe_state(
        "sf-v-trump", consecutive_failures=0, down=False, last_success=None, info={"budget": {"left": 97}}
    )
    metrics.set_deliveries({"sent": 3, "pending": 1})
    text = metrics.render().decode()
    for line in (
        'court_monitor_checks_total{outcome="changed",watch="sf-v-trump"} 1.0',
        'court_monitor_checks_total{outcome="failed",watch="sf-v-trump"} 0.0',
        'court_monitor_changes_total{kind="added"} 2.0',
        'court_monitor_changes_total{kind="source_down"} 1.0',
        "court_monitor_check_duration_seconds_count 1.0",
        'court_monitor_api_budget_left{watch="sf-v-trump"} 97.0',
        'court_monitor_deliveries{status="pending"} 1.0',
        'court_monitor_deliveries{status="failed"} 0.0',
    ):
        assert _normalised(line) in _normalised_lines(text), line
    metrics.forget_watch("sf-v-trump")
    assert 'court_monitor_api_budget_left{watch="sf-v-trump"}' not in metrics.render().decode()


def _normalised(line: str) -> str:
    """A sample line with its labels sorted (prometheus-client keeps declaration order)."""
    key, _, value = line.rpartition(" ")
    name, _, labels = key.partition("{")
    labels = ",".join(sorted(labels.rstrip("}").split(","))) if labels else ""
    return f"{name}{{{labels}}} {value}"


def _normalised_lines(text: str) -> set[str]:
    return {_normalised(line) for line in text.splitlines() if line and not line.startswith("#")}
