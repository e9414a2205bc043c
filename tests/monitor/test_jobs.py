"""`monitor.jobs`: counting scheduled runs that never ran, with a real APScheduler on a real event loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.jobs import RunAccounting, fire_times_between
from monitor.metrics import Metrics
from monitor.schedule import cron_trigger


def counted(metrics: Metrics, outcome: str) -> float:
    return metrics.scheduler_runs.labels(outcome)._value.get()


async def _noop() -> None:
    return None


def run_scheduler(add_jobs, until) -> Metrics:
    """Start a scheduler with the jobs `add_jobs(scheduler, now)` adds; stop once `until(metrics)` holds."""
    metrics = Metrics()

    async def main() -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        RunAccounting(scheduler, metrics)
        add_jobs(scheduler, datetime.now(UTC))
        scheduler.start()
        try:
            for _ in range(600):  # up to a minute on a very busy machine; normally a few loop turns
                if until(metrics):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.2)  # anything else it would count, it has counted by now
        finally:
            scheduler.shutdown(wait=False)

    asyncio.run(main())
    return metrics


def test_runs_that_fell_due_together_are_counted_as_coalesced():
    """A 100-second job whose first run was due 350 s ago has four runs due; one runs, three are coalesced."""

    def add(scheduler, now):
        start = now - timedelta(seconds=350)
        scheduler.add_job(
            _noop,
            IntervalTrigger(seconds=100, start_date=start, timezone=UTC),
            id="court",
            next_run_time=start,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    metrics = run_scheduler(add, lambda m: counted(m, "coalesced") > 0)
    assert counted(metrics, "coalesced") == 3
    assert counted(metrics, "missed") == 0 and counted(metrics, "skipped_busy") == 0


def test_a_run_later_than_its_grace_is_counted_as_missed_and_internal_jobs_are_not_counted():
    """A run 10 s late with a 1 s misfire grace is dropped and counted as `missed`; the daemon's own jobs
    (ids starting with `_`) are left out of the count."""

    def add(scheduler, now):
        late = now - timedelta(seconds=10)
        for job_id in ("court", "_heartbeat"):
            scheduler.add_job(
                _noop,
                IntervalTrigger(seconds=60, start_date=late, timezone=UTC),
                id=job_id,
                next_run_time=late,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=1,
            )

    metrics = run_scheduler(add, lambda m: counted(m, "missed") > 0)
    assert counted(metrics, "missed") == 1
    assert counted(metrics, "coalesced") == 0


def test_fire_times_between_counts_interval_and_cron_runs_without_their_jitter():
    """Runs in (after, until]: interval ticks, cron ticks of a jittered trigger, both-day-fields cron."""
    at = datetime(2025, 3, 3, 0, 7, tzinfo=UTC)  # a Monday
    hour = timedelta(hours=1)
    interval = IntervalTrigger(seconds=600, start_date=at, timezone=UTC)
    assert fire_times_between(interval, at, at + hour) == 6
    assert fire_times_between(interval, at, at + timedelta(seconds=599)) == 0
    jittered = cron_trigger("*/15 * * * *", jitter=60, timezone="UTC")
    assert fire_times_between(jittered, at, at + hour) == 4  # 00:15, 00:30, 00:45, 01:00
    assert jittered.jitter == 60  # the trigger itself is left as it was
    either_day = cron_trigger("0 9 1 * 1", timezone="UTC")  # the 1st of the month or a Monday, at 9:00
    # March 2025's five Mondays from the 3rd to the 31st, and April 1 (a Tuesday)
    assert fire_times_between(either_day, at, datetime(2025, 4, 2, tzinfo=UTC)) == 5 + 1
    assert fire_times_between(interval, at, at + timedelta(days=365), limit=100) == 100
