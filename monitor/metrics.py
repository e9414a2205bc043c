"""Prometheus metrics of `monitor run`, in their own registry (never the process-global one).

Names follow Prometheus' conventions: one prefix of our own, `court_monitor_` (a bare `monitor_`
collides with other exporters), base units, `_total` on counters, and no `_created` twin series (the
text format carries them as separate gauges that only double the series count). The standard
`process_*` (CPU, memory, file descriptors, start time) and `python_*` (version, garbage collector)
series come from prometheus-client's own collectors, registered on the same registry.

| metric | type | labels | what |
|---|---|---|---|
| `court_monitor_checks_total` | counter | watch, outcome | checks by outcome [1] |
| `court_monitor_changes_total` | counter | kind | recorded changes by kind [2] |
| `court_monitor_check_duration_seconds` | histogram | | wall time of one check, fetch to record, all watches together |
| `court_monitor_scheduler_runs_total` | counter | outcome | scheduled checks that did not run as scheduled [3] |
| `court_monitor_watch_consecutive_failures` | gauge | watch | failed checks in a row (0 when healthy) |
| `court_monitor_watch_down` | gauge | watch | 1 after a `source_down` alert, 0 after recovery |
| `court_monitor_watch_last_success_timestamp_seconds` | gauge | watch | Unix time of the last successful check |
| `court_monitor_api_budget_left` | gauge | watch | API calls left today, for watches that report a budget |
| `court_monitor_deliveries` | gauge | status | outbox rows by status: `pending`, `sent`, `failed` |
| `court_monitor_delivery_attempts_total` | counter | result | dispatcher outcomes: `sent`, `retrying`, `failed` |
| `court_monitor_config_reloads_total` | counter | result | SIGHUP reloads: `ok`, `error` |
| `court_monitor_scheduler_heartbeat_timestamp_seconds` | gauge | | last scheduler heartbeat (what /healthz checks) |
| `court_monitor_build_info` | gauge | version | always 1 |

[1] `changed`, `unchanged`, `baseline`, `failed`, `skipped` (backing off), `other_replica` (another replica
has it). [2] `added`, `updated`, `removed`, `source_down`, `source_recovered`. [3] `skipped_busy`, `missed`,
`coalesced`.

The check-duration histogram has no `watch` label on purpose: one bucket set per watch (14 series
each) multiplies with every watch for little gain; a slow watch shows in its logs and its
`last_success` gauge. Per-watch series are kept where one number per watch is the point (the gauges,
and the checks counter that alerts are built on).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import Metric

from monitor import __version__

PREFIX = "court_monitor_"
CONTENT_TYPE = CONTENT_TYPE_LATEST
OUTCOMES = ("changed", "unchanged", "baseline", "failed", "skipped")
# Why a scheduled run of a watch's check did not happen as scheduled (`monitor.jobs.RunAccounting`).
SCHEDULER_OUTCOMES = ("skipped_busy", "missed", "coalesced")
_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_PER_WATCH_GAUGES = ("consecutive_failures", "down", "last_success", "budget_left")
# the metric types prometheus-client gives a `_created` sample
_WITH_CREATED = ("counter", "histogram", "summary")


def budget_left(info: Mapping[str, Any] | None) -> float | None:
    """`info["budget"]["left"]` as a number, if the watcher reports an API budget."""
    budget = (info or {}).get("budget")
    left = budget.get("left") if isinstance(budget, Mapping) else None
    if isinstance(left, (int, float)) and not isinstance(left, bool):
        return float(left)
    return None


class _WithoutCreated:
    """A registry as scraped, without the `_created` samples of its counters and histograms.

    A view instead of `prometheus_client.disable_created_metrics()`, which switches them off for every
    registry in the process (and a library or a test may want them)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():  # fresh Metric objects on every collect: ours to change
            if family.type in _WITH_CREATED:
                created = family.name + "_created"
                family.samples = [s for s in family.samples if s.name != created]
            yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r, p = self.registry, PREFIX
        self.checks = Counter(p + "checks", "Checks by watch and outcome.", ["watch", "outcome"], registry=r)
        self.changes = Counter(p + "changes", "Recorded changes by kind.", ["kind"], registry=r)
        self.duration = Histogram(
            p + "check_duration_seconds",
            "Wall time of one check, all watches together.",
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.scheduler_runs = Counter(
            p + "scheduler_runs", "Scheduled checks that did not run as scheduled.", ["outcome"], registry=r
        )
        self.consecutive_failures = Gauge(
            p + "watch_consecutive_failures", "Failed checks in a row.", ["watch"], registry=r
        )
        self.down = Gauge(p + "watch_down", "1 while a source-down alert stands.", ["watch"], registry=r)
        self.last_success = Gauge(
            p + "watch_last_success_timestamp_seconds", "Unix time of the last successful check.", ["watch"], registry=r
        )
        self.budget_left = Gauge(
            p + "api_budget_left", "API calls left in the current budget window.", ["watch"], registry=r
        )
        self.deliveries = Gauge(p + "deliveries", "Outbox deliveries by status.", ["status"], registry=r)
        self.delivery_attempts = Counter(p + "delivery_attempts", "Dispatcher outcomes.", ["result"], registry=r)
        self.reloads = Counter(p + "config_reloads", "Configuration reloads (SIGHUP).", ["result"], registry=r)
        self.heartbeat = Gauge(p + "scheduler_heartbeat_timestamp_seconds", "Last scheduler heartbeat.", registry=r)
        Gauge(p + "build_info", "Version of the monitor.", ["version"], registry=r).labels(__version__).set(1)
        # the standard process_* and python_* series, as the global registry would have them
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self._exposed = _WithoutCreated(r)
        for result in ("ok", "error"):
            self.reloads.labels(result)
        for outcome in SCHEDULER_OUTCOMES:
            self.scheduler_runs.labels(outcome)
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
            with contextlib.suppress(KeyError):
                gauge.remove(watch_id)

    def observe_check(self, watch_id: str, outcome: str, seconds: float | None, kinds: Iterable[str] = ()) -> None:
        self.checks.labels(watch_id, outcome).inc()
        if seconds is not None:
            self.duration.observe(seconds)
        for kind in kinds:
            self.changes.labels(kind).inc()

    def observe_state(
        self,
        watch_id: str,
        *,
        consecutive_failures: int,
        down: bool,
        last_success: datetime | None,
        info: Mapping[str, Any] | None,
    ) -> None:
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

    def observe_scheduler_run(self, outcome: str, count: int = 1) -> None:
        """Count scheduled runs that did not happen as scheduled (`SCHEDULER_OUTCOMES`)."""
        if count > 0:
            self.scheduler_runs.labels(outcome).inc(count)

    def beat(self, at: float) -> None:
        self.heartbeat.set(at)

    def render(self) -> bytes:
        return generate_latest(self._exposed)
