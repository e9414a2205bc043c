"""Prometheus metrics of `monitor run`, in their own registry (never the process-global one).

Names (all prefixed `monitor_`):

| metric | type | labels | what |
|---|---|---|---|
| `monitor_checks_total` | counter | watch, outcome | checks by outcome: `changed`, `unchanged`, `baseline`, `failed`, `skipped` (backing off), `other_replica` (another replica has it) |
| `monitor_changes_total` | counter | kind | recorded changes: `added`, `updated`, `removed`, `source_down`, `source_recovered` |
| `monitor_check_duration_seconds` | histogram | watch | wall time of one check (fetch, parse, diff, record) |
| `monitor_watch_consecutive_failures` | gauge | watch | failed checks in a row (0 when healthy) |
| `monitor_watch_down` | gauge | watch | 1 after a `source_down` alert, 0 after recovery |
| `monitor_watch_last_success_timestamp_seconds` | gauge | watch | Unix time of the last successful check |
| `monitor_api_budget_left` | gauge | watch | API calls left today, for watches that report a budget |
| `monitor_deliveries` | gauge | status | outbox rows by status: `pending`, `sent`, `failed` |
| `monitor_delivery_attempts_total` | counter | result | dispatcher outcomes: `sent`, `retrying`, `failed` |
| `monitor_config_reloads_total` | counter | result | SIGHUP reloads: `ok`, `error` |
| `monitor_scheduler_heartbeat_timestamp_seconds` | gauge | | last scheduler heartbeat (what /healthz checks) |
| `monitor_build_info` | gauge | version | always 1 |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from monitor import __version__

CONTENT_TYPE = CONTENT_TYPE_LATEST
OUTCOMES = ("changed", "unchanged", "baseline", "failed", "skipped")
_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_PER_WATCH_GAUGES = ("consecutive_failures", "down", "last_success", "budget_left")


def budget_left(info: Mapping[str, Any] | None) -> float | None:
    """`info["budget"]["left"]` as a number, if the watcher reports an API budget."""
    budget = (info or {}).get("budget")
    left = budget.get("left") if isinstance(budget, Mapping) else None
    if isinstance(left, (int, float)) and not isinstance(left, bool):
        return float(left)
    return None


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.checks = Counter("monitor_checks", "Checks by watch and outcome.", ["watch", "outcome"], registry=r)
        self.changes = Counter("monitor_changes", "Recorded changes by kind.", ["kind"], registry=r)
        self.duration = Histogram("monitor_check_duration_seconds", "Wall time of one check.", ["watch"],
                                  buckets=_DURATION_BUCKETS, registry=r)
        self.consecutive_failures = Gauge("monitor_watch_consecutive_failures", "Failed checks in a row.",
                                          ["watch"], registry=r)
        self.down = Gauge("monitor_watch_down", "1 while a source-down alert stands.", ["watch"], registry=r)
        self.last_success = Gauge("monitor_watch_last_success_timestamp_seconds",
                                  "Unix time of the last successful check.", ["watch"], registry=r)
        self.budget_left = Gauge("monitor_api_budget_left", "API calls left in the current budget window.",
                                 ["watch"], registry=r)
        self.deliveries = Gauge("monitor_deliveries", "Outbox deliveries by status.", ["status"], registry=r)
        self.delivery_attempts = Counter("monitor_delivery_attempts", "Dispatcher outcomes.", ["result"], registry=r)
        self.reloads = Counter("monitor_config_reloads", "Configuration reloads (SIGHUP).", ["result"], registry=r)
        self.heartbeat = Gauge("monitor_scheduler_heartbeat_timestamp_seconds", "Last scheduler heartbeat.",
                               registry=r)
        Gauge("monitor_build_info", "Version of the monitor.", ["version"], registry=r).labels(__version__).set(1)
        for result in ("ok", "error"):
            self.reloads.labels(result)
        for result in ("sent", "retrying", "failed"):
            self.delivery_attempts.labels(result)
        for status in ("pending", "sent", "failed"):
            self.deliveries.labels(status)

    def add_watch(self, watch_id: str) -> None:
        """Expose a watch's series at 0 before its first check, so rate() and alerts see them from the start."""
        for outcome in OUTCOMES:
            self.checks.labels(watch_id, outcome)
        self.consecutive_failures.labels(watch_id)
        self.down.labels(watch_id)

    def forget_watch(self, watch_id: str) -> None:
        """A watch was removed from the configuration: drop its gauges (counters stay, as Prometheus expects)."""
        for name in _PER_WATCH_GAUGES:
            gauge: Gauge = getattr(self, name)
            try:
                gauge.remove(watch_id)
            except KeyError:
                pass

    def observe_check(self, watch_id: str, outcome: str, seconds: float | None, kinds: Iterable[str] = ()) -> None:
        self.checks.labels(watch_id, outcome).inc()
        if seconds is not None:
            self.duration.labels(watch_id).observe(seconds)
        for kind in kinds:
            self.changes.labels(kind).inc()

    def observe_state(self, watch_id: str, *, consecutive_failures: int, down: bool,
                      last_success: datetime | None, info: Mapping[str, Any] | None) -> None:
        self.consecutive_failures.labels(watch_id).set(consecutive_failures)
        self.down.labels(watch_id).set(1 if down else 0)
        if last_success is not None:
            self.last_success.labels(watch_id).set(last_success.timestamp())
        left = budget_left(info)
        if left is not None:
            self.budget_left.labels(watch_id).set(left)

    def observe_dispatch(self, sent: int, retrying: int, failed: int) -> None:
        for result, count in (("sent", sent), ("retrying", retrying), ("failed", failed)):
            if count:
                self.delivery_attempts.labels(result).inc(count)

    def set_deliveries(self, counts: Mapping[str, int]) -> None:
        for status in set(counts) | {"pending", "sent", "failed"}:
            self.deliveries.labels(status).set(counts.get(status, 0))

    def beat(self, at: float) -> None:
        self.heartbeat.set(at)

    def render(self) -> bytes:
        return generate_latest(self.registry)
