"""`/metrics` of a real `monitor run`, read as Prometheus reads it (prometheus-client's own parser).

Pins the naming conventions (one `court_monitor_` prefix, `_total` counters, no `_created` twins, the
standard `process_*` series, no per-watch histogram) and that scheduled runs which never ran are
counted: skipped because the previous check was still running, and coalesced after a pause.
"""

from __future__ import annotations

import signal
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.daemon import DaemonProcess
from tests.test_daemon import config_text, rss

pytestmark = pytest.mark.slow

# our families (as the parser names them: counters without `_total`) and their types
OURS = {
    "court_monitor_checks": "counter",
    "court_monitor_changes": "counter",
    "court_monitor_check_duration_seconds": "histogram",
    "court_monitor_scheduler_runs": "counter",
    "court_monitor_watch_consecutive_failures": "gauge",
    "court_monitor_watch_down": "gauge",
    "court_monitor_watch_last_success_timestamp_seconds": "gauge",
    "court_monitor_api_budget_left": "gauge",
    "court_monitor_deliveries": "gauge",
    "court_monitor_delivery_attempts": "counter",
    "court_monitor_config_reloads": "counter",
    "court_monitor_scheduler_heartbeat_timestamp_seconds": "gauge",
    "court_monitor_build_info": "gauge",
}
PER_WATCH_GAUGES = (
    "court_monitor_watch_consecutive_failures",
    "court_monitor_watch_down",
    "court_monitor_watch_last_success_timestamp_seconds",
)


def scrape(daemon: DaemonProcess) -> dict:
    status, text = daemon.get("/metrics")
    assert status == 200
    return {family.name: family for family in text_string_to_metric_families(text)}


def runs(daemon: DaemonProcess, outcome: str) -> float:
    return daemon.metric("court_monitor_scheduler_runs_total", outcome=outcome) or 0.0


def test_metrics_follow_the_prometheus_conventions(server, write_config, tmp_path):
    """Every family is ours (`court_monitor_`) or standard (`process_`, `python_`), with the documented type;
    no `_created` series; process metrics are there; the check-duration histogram has no watch label,
    while the per-watch gauges keep theirs."""
    server.set("/feed.xml", rss("Complaint"))
    daemon = DaemonProcess(write_config(config_text(server, every="1s")), tmp_path)
    daemon.wait_log("baseline recorded", watch="doj")
    daemon.wait_for(lambda: daemon.metric("court_monitor_check_duration_seconds_count"), 30, "a timed check")
    families = scrape(daemon)

    assert {name: f.type for name, f in families.items() if name.startswith("court_monitor_")} == OURS
    strays = [name for name in families if not name.startswith(("court_monitor_", "process_", "python_"))]
    assert not strays, strays
    samples = [s for f in families.values() for s in f.samples]
    assert not [s.name for s in samples if s.name.endswith("_created")]
    assert not [name for name in families if name.endswith("_created")]
    for name in (
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
        "python_info",
    ):
        assert name in families and families[name].samples, name
    assert [s.name for s in families["court_monitor_checks"].samples if not s.name.endswith("_total")] == []

    for family in families.values():
        if family.type == "histogram":
            assert not [s for s in family.samples if "watch" in s.labels], family.name
    duration = families["court_monitor_check_duration_seconds"]
    assert {key for s in duration.samples for key in s.labels} == {"le"}
    assert {s.labels["outcome"] for s in families["court_monitor_scheduler_runs"].samples} == {
        "skipped_busy",
        "missed",
        "coalesced",
    }
    for name in PER_WATCH_GAUGES:
        assert [s.labels for s in families[name].samples] == [{"watch": "doj"}], name
    assert daemon.stop() == 0


def test_a_run_skipped_because_the_previous_check_still_runs_is_counted(server, write_config, tmp_path):
    """A 1-second watch whose source takes 3 s to answer: the runs that fall due meanwhile are dropped
    (never two checks of one watch at once) and counted as `skipped_busy`."""
    server.set("/feed.xml", rss("Complaint"), delay=3.0)
    daemon = DaemonProcess(write_config(config_text(server, every="1s")), tmp_path)
    daemon.wait_for(lambda: runs(daemon, "skipped_busy") >= 1, 30, "a skipped run to be counted")
    assert server.peak_in_flight["/feed.xml"] == 1
    assert daemon.stop() == 0


def test_runs_due_while_the_process_was_paused_are_counted_as_coalesced(server, write_config, tmp_path):
    """A daemon paused (SIGSTOP, as a suspended machine or a frozen container) for 3.5 intervals runs one
    check when it resumes, not four, and counts the runs it merged as `coalesced`."""
    server.set("/feed.xml", rss("Complaint"))
    daemon = DaemonProcess(write_config(config_text(server, every="1s")), tmp_path)
    daemon.wait_log("baseline recorded", watch="doj")
    before = runs(daemon, "coalesced")
    daemon.signal(signal.SIGSTOP)
    try:
        time.sleep(3.5)  # not a measurement: the pause that makes three or more runs fall due
    finally:
        daemon.signal(signal.SIGCONT)
    daemon.wait_for(lambda: runs(daemon, "coalesced") >= before + 1, 30, "coalesced runs to be counted")
    assert daemon.stop() == 0
