"""Several `monitor run` replicas on one PostgreSQL database: each watch checked once, each alert sent once.

Real subprocesses, the real PostgreSQL on 127.0.0.1:5432, and a replay server standing in for 300
sources (tiny RSS feeds with ETags) and for a webhook receiver.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from tests.conftest import run_cli
from tests.support.daemon import DaemonProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

EVERY = 4.0
LEASE = 3.0


def feed(i: int, extra: int = 0) -> bytes:
    items = "".join(
        f"<item><title>Notice {i}.{n}</title><link>https://example.org/{i}/{n}</link>"
        f"<pubDate>Mon, 03 Feb 2025 12:00:00 +0000</pubDate></item>"
        for n in range(2 + extra)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Source {i}</title>{items}</channel></rss>'.encode()


def write_config(tmp_path, pg_url: str, server, watches: int, *, lease: float = LEASE) -> object:
    lines = [
        f"state: {pg_url}",
        f"daemon: {{jitter: 0.1, lease: {lease}s, shutdown_grace: 5s, config_poll: 2s, log_format: json}}",
        "delivery: {backoff: 1s, backoff_max: 2s}",
        f"notifiers:\n  hook: {{type: webhook, url: '{server.url('/hook')}'}}",
        "watches:",
    ]
    lines += [
        f"  - {{id: w{i:03d}, type: feed, url: '{server.url(f'/f/{i}')}', every: {EVERY:g}s}}" for i in range(watches)
    ]
    path = tmp_path / "replicas.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def serve_feeds(server, count: int, *, delay: float = 0.0, changed: range = range(0)) -> None:
    for i in range(count):
        server.set(f"/f/{i}", feed(i, 1 if i in changed else 0), etag=True, delay=delay)
    server.set("/hook", b"ok", content_type="text/plain")


def baselined(pg_url: str) -> int:
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM watch_state WHERE baseline_done")).scalar() or 0
    except sa.exc.ProgrammingError:
        return 0  # schema not there yet
    finally:
        engine.dispose()


def checks_done(replica: DaemonProcess) -> float:
    """Checks this replica ran itself (not those it left to another replica), from its /metrics."""
    _, text = replica.get("/metrics")
    total = 0.0
    for line in text.splitlines():
        if (
            line.startswith("court_monitor_checks_total{")
            and 'outcome="other_replica"' not in line
            and 'outcome="skipped"' not in line
        ):
            total += float(line.rpartition(" ")[2])
    return total


def start(n: int, config, tmp_path) -> list[DaemonProcess]:
    replicas = [DaemonProcess(config, tmp_path, name=f"replica{k}") for k in range(n)]
    for r in replicas:
        _ = r.base_url  # waits for "monitor running"
    return replicas


def stop_all(replicas: list[DaemonProcess]) -> None:
    for r in replicas:
        if r.proc.poll() is None:
            r.signal(15)
    for r in replicas:
        if r.proc.poll() is None:
            r.wait(20)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_three_replicas_check_each_watch_once_per_interval(tmp_path, pg_url, server):
    """Three replicas over 300 watches: a watch is never checked by two at once, never more often than its
    interval allows, every watch keeps being checked, and every replica takes a share.

    Invariants only, no rates: a loaded machine may check less often, never twice at once. Each source
    answers slowly (0.2 s), so two checks of one watch at once would overlap at the server.
    """
    serve_feeds(server, 300, delay=0.2)
    config = write_config(tmp_path, pg_url, server, 300, lease=20)  # renewed while a check runs, however long
    replicas = start(3, config, tmp_path)
    try:
        wait_until(lambda: baselined(pg_url) == 300, 120, "all 300 baselines")
        window_start = time.monotonic()
        # every watch is checked again after its baseline, however loaded the machine is
        wait_until(
            lambda: len({s.path for s in server.requests if s.path.startswith("/f/") and s.at > window_start}) == 300,
            180,
            "every watch checked again",
        )
        window_end = time.monotonic()
        status = json.loads(run_cli("status", "--config", str(config), "--json").out)
        done = [checks_done(r) for r in replicas]
    finally:
        stop_all(replicas)
    assert [r.proc.returncode for r in replicas] == [0, 0, 0]

    feeds = {path: peak for path, peak in server.peak_in_flight.items() if path.startswith("/f/")}
    assert len(feeds) == 300
    assert max(feeds.values()) == 1, f"checked twice at once: {[p for p, n in feeds.items() if n > 1]}"
    # The lease rule: nobody starts a check within (1 - jitter) * 0.9 of an interval of the last start.
    # Request arrival lags the lease by however long a busy loop takes to send it, so allow one extra.
    min_gap = (1 - 0.1) * 0.9 * EVERY
    allowed = int((window_end - window_start) / min_gap) + 2
    for path in feeds:
        in_window = sum(1 for s in server.requests if s.path == path and window_start <= s.at <= window_end)
        assert in_window <= allowed, (
            f"{path}: {in_window} checks in {window_end - window_start:.1f}s, at most {allowed}"
        )
    assert all(d > 0 for d in done), f"every replica takes a share of the work: {done}"
    assert sum(r["alive"] for r in status["replicas"]) == 3


def test_killed_replica_is_taken_over_and_every_change_delivered_once(tmp_path, pg_url, server):
    """SIGKILL of one replica mid-cycle: its watches are checked by the others within the lease time, and each change
    is delivered exactly once."""
    count = 120
    serve_feeds(server, count)
    config = write_config(tmp_path, pg_url, server, count)
    replicas = start(3, config, tmp_path)
    try:
        wait_until(lambda: baselined(pg_url) == count, 60, "all baselines")
        serve_feeds(server, count, delay=0.8, changed=range(30))  # slow sources: checks are in flight
        time.sleep(EVERY / 2)
        replicas[0].kill()
        killed_at = time.monotonic()
        hooks = lambda: [s for s in server.requests if s.path == "/hook"]  # noqa: E731
        wait_until(lambda: len({json.loads(s.body)["key"] for s in hooks()}) >= 30, 60, "30 distinct alerts")
        time.sleep(2 * EVERY)  # room for any duplicate to show up
        posts = hooks()
        after_kill = {s.path for s in server.requests if s.path.startswith("/f/") and s.at > killed_at}
    finally:
        stop_all(replicas[1:])

    keys = Counter(json.loads(s.body)["key"] for s in posts)
    assert set(keys) == {f"url:https://example.org/{i}/2" for i in range(30)}
    # Each change is one alert. The killed replica may have had a post accepted and died before marking it
    # sent (DESIGN invariant 1's one window): the resend carries the same Idempotency-Key, so the receiver
    # drops it. Two different keys for one item would be two alerts: a real double.
    by_item: dict[str, set[str]] = defaultdict(set)
    for post in posts:
        by_item[json.loads(post.body)["key"]].add(post.headers.get("Idempotency-Key"))
    assert all(len(ids) == 1 for ids in by_item.values()), (
        f"alerted twice: {[k for k, ids in by_item.items() if len(ids) > 1]}"
    )
    resent = sum(keys.values()) - len(keys)
    assert resent <= 1, f"{resent} resends: only the post in flight at the kill may be sent again"
    assert after_kill == {f"/f/{i}" for i in range(count)}, "every watch, the dead replica's too, is checked again"


def test_status_shows_replicas_and_stale_leases(tmp_path, pg_url, server):
    """`monitor status` lists live replicas and marks a lease left by a killed replica as stale."""
    serve_feeds(server, 3, delay=3.0)
    config = write_config(tmp_path, pg_url, server, 3)
    [replica] = start(1, config, tmp_path)
    try:
        wait_until(lambda: any(s.path.startswith("/f/") for s in server.requests), 20, "a check in flight")
        time.sleep(0.3)
        replica.kill()
        time.sleep(LEASE + 0.5)
        status = json.loads(run_cli("status", "--config", str(config), "--json").out)
    finally:
        stop_all([replica])
    leases = [w["lease"] for w in status["watches"] if w["lease"]]
    assert leases and all(lease["stale"] for lease in leases)
    assert (status["replicas"] and not status["replicas"][0]["alive"]) or status["replicas"][0]["owner"]
