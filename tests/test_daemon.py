"""`monitor run` end to end: a real daemon subprocess against sources replayed on 127.0.0.1.

Alerts go to the console notifier, so they are read from the daemon's standard output; its logs are
JSON lines on standard error. Intervals are 1-2 s to keep the file well under a minute.
"""

from __future__ import annotations

import signal
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from monitor.backoff import backoff_delay, hold_until
from monitor.schedule import cron_dow, cron_trigger
from monitor.store import WatchState
from tests.support.http_server import Route

pytestmark = pytest.mark.slow


def rss(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://example.org/{t.replace(' ', '-')}</link></item>" for t in titles
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>DOJ</title>{items}</channel></rss>".encode()


def config_text(server, *, every: str = "2s", daemon: str = "", watches: str | None = None) -> str:
    watches = watches or f"  - {{id: doj, type: feed, url: '{server.url('/feed.xml')}'}}\n"
    return (
        f"defaults: {{every: {every}}}\n"
        f"daemon: {{log_format: json{', ' + daemon if daemon else ''}}}\n"
        f"notifiers: {{terminal: {{type: console}}}}\n"
        f"watches:\n{watches}"
    )


# ---------------------------------------------------------------- end to end


def test_new_filing_alerts_once(server, write_config, daemons):
    """A filing added to a watched feed is printed once by the console notifier at a later check."""
    server.set("/feed.xml", rss("Complaint", "Motion to dismiss"))
    daemon = daemons(write_config(config_text(server, every="2s")))
    daemon.wait_log("baseline recorded", watch="doj")
    server.set("/feed.xml", rss("Order granting preliminary injunction", "Complaint", "Motion to dismiss"))
    daemon.wait_stdout("[New] doj: Order granting preliminary injunction", timeout=30)
    daemon.wait_for(lambda: server.count("/feed.xml") >= 4, 30, "more checks")  # none of which alerts again
    assert daemon.stdout().count("Order granting preliminary injunction") == 1
    daemon.signal(signal.SIGINT)
    assert daemon.wait(10) == 130  # Ctrl-C stops it cleanly, with the status of an interrupted command


def test_probes_and_metrics(server, write_config, daemons):
    """/healthz and /readyz answer 200 while the daemon runs, and /metrics counts checks, changes and deliveries."""
    server.set("/feed.xml", rss("Complaint"))
    daemon = daemons(write_config(config_text(server, every="1s")))
    daemon.wait_log("baseline recorded", watch="doj")
    server.set("/feed.xml", rss("Answer", "Complaint"))
    daemon.wait_stdout("[New] doj: Answer")
    assert daemon.get("/healthz")[0] == 200
    assert daemon.get("/readyz") == (200, "ready\n")
    assert daemon.get("/nope")[0] == 404
    daemon.wait_for(lambda: daemon.metric("court_monitor_deliveries", status="sent") == 1.0, 35, "the outbox gauge")
    assert daemon.metric("court_monitor_checks_total", watch="doj", outcome="baseline") == 1.0
    assert daemon.metric("court_monitor_checks_total", watch="doj", outcome="changed") == 1.0
    assert daemon.metric("court_monitor_changes_total", kind="added") == 1.0
    assert daemon.metric("court_monitor_delivery_attempts_total", result="sent") == 1.0
    assert daemon.metric("court_monitor_check_duration_seconds_count") >= 2
    assert daemon.metric("court_monitor_watch_consecutive_failures", watch="doj") == 0.0
    assert daemon.metric("court_monitor_scheduler_heartbeat_timestamp_seconds") > time.time() - 30
    assert daemon.stop() == 0


@pytest.mark.parametrize("grace", ["10s", "1s"], ids=["check-finishes", "check-cancelled"])
def test_sigterm_during_a_check_exits_0_and_the_alert_goes_out_once(server, write_config, daemons, grace):
    """SIGTERM while a check is in flight exits 0 within the grace; the change is alerted exactly once across the
    restart."""
    server.set("/feed.xml", rss("Complaint"))
    config = write_config(config_text(server, every="1s", daemon=f"shutdown_grace: {grace}"))
    first = daemons(config)
    first.wait_log("baseline recorded", watch="doj")
    before = server.count("/feed.xml")
    server.set("/feed.xml", rss("Notice of appeal", "Complaint"), delay=3.0)
    first.wait_for(lambda: server.count("/feed.xml") > before, 5, "a slow check to start")
    signalled = time.monotonic()
    first.signal(signal.SIGTERM)
    assert first.wait(15) == 0
    took = time.monotonic() - signalled
    assert not [r for r in first.logs() if r.get("level") in ("error", "critical", "raw")], first.dump()
    if grace == "10s":  # the check finished and its alert was delivered on the way out
        assert took < 10.0 + 5  # the grace, and the time a busy machine takes to exit
        assert "[New] doj: Notice of appeal" in first.stdout()
    else:  # cancelled at the deadline: nothing recorded, so the restart detects it again
        assert took < 3.0 + 5  # before the slow check (3 s) could have finished on a quiet machine
        assert "Notice of appeal" not in first.stdout()
        assert any("cancelling 1 checks" in r["msg"] for r in first.logs())

    server.set("/feed.xml", rss("Notice of appeal", "Complaint"))
    second = daemons(config)
    checks = server.count("/feed.xml")
    second.wait_for(lambda: server.count("/feed.xml") >= checks + 2, 30, "two checks after the restart")
    if grace == "1s":
        second.wait_stdout("[New] doj: Notice of appeal")
    assert second.stop() == 0
    alerts = (first.stdout() + second.stdout()).count("Notice of appeal")
    assert alerts == 1, first.dump() + second.dump()
    from monitor.store import Store

    store = Store.open(f"sqlite:///{config.parent / 'state.db'}")
    try:
        assert store.delivery_counts() == {"sent": 1}
    finally:
        store.close()


def test_a_second_sigterm_stops_waiting(server, write_config, daemons):
    """A second SIGTERM cancels the in-flight check at once instead of waiting out the grace, and still exits 0."""
    server.set("/feed.xml", rss("Complaint"), delay=8.0)
    daemon = daemons(write_config(config_text(server, every="1s")))
    daemon.wait_for(lambda: server.count("/feed.xml") >= 1, 10, "a slow check to start")
    daemon.signal(signal.SIGTERM)
    daemon.wait_log("waiting for 1 in-flight checks")
    signalled = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(10) == 0
    assert time.monotonic() - signalled < 8.0  # before the slow check (8 s) would have finished
    daemon.wait_log("not waiting for in-flight work any longer")


def test_sighup_rejects_a_broken_config_and_applies_a_good_one(server, write_config, daemons):
    """SIGHUP with an invalid config logs its problems and keeps the old watches; a valid one adds a watch."""
    server.set("/feed.xml", rss("Complaint"))
    server.set("/other.xml", rss("Press release"))
    daemon = daemons(write_config(config_text(server, every="1s")))
    daemon.wait_log("baseline recorded", watch="doj")

    broken = f"  - {{id: doj, type: feed, colour: red, url: '{server.url('/feed.xml')}'}}\n"
    write_config(config_text(server, every="1s", watches=broken))
    daemon.signal(signal.SIGHUP)
    daemon.wait_log("configuration rejected")
    daemon.wait_log("unknown key 'colour'")
    checks = server.count("/feed.xml")
    daemon.wait_for(lambda: server.count("/feed.xml") >= checks + 2, 30, "the old watch to keep running")

    write_config(
        config_text(
            server,
            every="1s",
            watches=(
                f"  - {{id: doj, type: feed, url: '{server.url('/feed.xml')}'}}\n"
                f"  - {{id: city-attorney, type: feed, url: '{server.url('/other.xml')}'}}\n"
            ),
        )
    )
    daemon.signal(signal.SIGHUP)
    daemon.wait_log("configuration reloaded")
    daemon.wait_log("baseline recorded", watch="city-attorney")
    server.set("/other.xml", rss("Statement on the ruling", "Press release"))
    daemon.wait_stdout("[New] city-attorney: Statement on the ruling", timeout=30)
    assert daemon.metric("court_monitor_config_reloads_total", result="error") == 1.0
    assert daemon.metric("court_monitor_config_reloads_total", result="ok") == 1.0
    assert daemon.stop() == 0


def test_a_source_down_longer_than_the_threshold_alerts_once_and_recovers_once(server, write_config, daemons):
    """A source failing past down_after gives one "source down" alert, backs off, and one "recovered" alert on
    success."""
    server.set("/feed.xml", b"overloaded", status=503, content_type="text/plain")
    daemon = daemons(write_config(config_text(server, every="1s", daemon="down_after: 3s, max_backoff: 2s")))
    daemon.wait_stdout("[Source down] doj", timeout=30)
    failing = server.count("/feed.xml")
    time.sleep(3.0)  # more failed checks: no second alert
    assert server.count("/feed.xml") - failing <= 2  # backed off: every 2 s at most, not every 1 s
    assert daemon.metric("court_monitor_checks_total", watch="doj", outcome="skipped") >= 1
    assert daemon.metric("court_monitor_watch_down", watch="doj") == 1.0
    server.set("/feed.xml", rss("Complaint"))
    daemon.wait_stdout("[Source recovered] doj", timeout=30)
    daemon.wait_for(
        lambda: daemon.metric("court_monitor_checks_total", watch="doj", outcome="unchanged"),
        30,
        "a check after recovery",
    )
    assert daemon.stop() == 0
    out = daemon.stdout()
    assert out.count("[Source down]") == 1 and out.count("[Source recovered]") == 1, out


def test_retry_after_is_honoured(server, write_config, daemons):
    """A 429 with Retry-After: 3 holds the next check of a 1-second watch back for three seconds."""
    server.sequence(
        "/feed.xml",
        [
            Route(b"slow down", status=429, headers={"Retry-After": "3"}, content_type="text/plain"),
            Route(rss("Complaint")),
        ],
    )
    daemon = daemons(write_config(config_text(server, every="1s")))
    daemon.wait_for(lambda: server.count("/feed.xml") >= 2, 30, "the second check")
    first, second = [s.at for s in server.requests if s.path == "/feed.xml"][:2]
    assert second - first >= 2.5  # held back by Retry-After (3 s), never sooner, however fast the machine
    daemon.wait_log("baseline recorded", watch="doj")
    assert daemon.stop() == 0


def test_an_unreachable_state_database_exits_1(server, write_config, daemons):
    """With the state database unreachable at startup the daemon says so and exits 1, for its supervisor to retry."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = daemons(
        write_config(config_text(server)),
        env={"MONITOR_STATE": f"postgresql://monitor:hunter2-password@127.0.0.1:{port}/monitor"},
    )
    assert daemon.wait(20) == 1
    assert "cannot open the state database" in daemon.stderr()
    assert "hunter2-password" not in daemon.stderr()


# ---------------------------------------------------------------- scheduling rules, in-process


def test_backoff_doubles_from_the_interval_up_to_the_cap():
    """Back-off is interval * 2^(failures-1), capped at max_backoff, and the plain interval on a first failure."""
    assert [backoff_delay(60, n, 600) for n in range(7)] == [60, 60, 120, 240, 480, 600, 600]
    assert backoff_delay(60, 10_000, 3600) == 3600


def test_hold_until_combines_retry_after_and_backoff():
    """A watch is held until the later of its Retry-After time and its back-off window (which ends half an interval
    early)."""
    now = datetime(2025, 2, 7, 18, 0, tzinfo=UTC)
    assert hold_until(None, 60, 600) is None
    assert hold_until(WatchState("w", last_check_at=now), 60, 600) is None
    failing = WatchState("w", last_check_at=now, consecutive_failures=3)
    assert hold_until(failing, 60, 600) == now + timedelta(seconds=240 - 30)
    later = now + timedelta(hours=1)
    assert hold_until(WatchState("w", last_check_at=now, consecutive_failures=3, not_before=later), 60, 600) == later


def test_cron_weekdays_mean_what_they_mean_to_cron():
    """Numeric cron weekdays count from Sunday = 0 (APScheduler 3 counts from Monday), so 1-5 is Monday to Friday."""
    assert cron_dow("1-5") == "mon,tue,wed,thu,fri"
    assert cron_dow("0") == cron_dow("7") == "sun"
    assert cron_dow("5-7") == "sun,fri,sat"
    assert cron_dow("sat,sun") == "sun,sat"
    assert cron_dow("*/2") == "sun,tue,thu,sat"
    assert cron_dow("*") == "*"
    friday = datetime(2025, 2, 7, 18, 0, tzinfo=UTC)  # a Friday
    fire = cron_trigger("0 9 * * 1-5").get_next_fire_time(None, friday)
    assert fire == datetime(2025, 2, 10, 9, 0, tzinfo=UTC)  # Monday, not Saturday
