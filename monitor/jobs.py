"""The daemon's schedule: one APScheduler job per enabled watch, and the count of runs that never ran.

`Jobs` is the scheduling part of `monitor.daemon.Daemon` (a mixin: the daemon holds the state). It keeps
the scheduler's jobs in step with the configuration (`_sync_jobs`, at start and after each reload): an
interval watch's first run is spread at random over `daemon.jitter` of its interval, or waits until its
interval has passed since its last recorded check; a cron watch gets up to `CRON_JITTER` seconds of
random delay on every run.

A watch's check is scheduled with `max_instances=1` and `coalesce=True`, so some scheduled runs do not
happen as scheduled. `RunAccounting` counts them in `court_monitor_scheduler_runs_total{outcome}`:

- `skipped_busy`: the watch's previous check was still running, or still waiting for one of the
  `daemon.max_checks` slots (APScheduler's `EVENT_JOB_MAX_INSTANCES`).
- `missed`: the run started later than its misfire grace, half the interval (`EVENT_JOB_MISSED`): the
  event loop was blocked, or the whole process was paused.
- `coalesced`: runs that fell due while the scheduler could not start them (a blocked loop, a
  suspended machine) and were merged into the one that ran. APScheduler 3.11 has no event for these:
  with `coalesce=True` it submits only the latest due run time (the one `scheduled_run_times` entry of
  `EVENT_JOB_SUBMITTED` or `EVENT_JOB_MAX_INSTANCES`) and drops the others silently. So they are
  counted here: the times the job's trigger fires between one submission and the next, less the one
  submitted.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.events import (
    EVENT_JOB_ADDED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_MODIFIED,
    EVENT_JOB_REMOVED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.metrics import Metrics
from monitor.models import aware as _aware
from monitor.models import utcnow
from monitor.schedule import Schedule

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.app import Runtime
    from monitor.config import Config
    from monitor.engine import WatchResult
    from monitor.store import WatchState
    from watchers import WatchConfig

CRON_JITTER = 60.0  # the most a cron watch's run is delayed at random

# the most fire times walked to count one gap (a week's suspension of a 1-minute watch is 10,080)
_MAX_WALK = 20_000


def internal_job(job_id: str) -> bool:
    """The daemon's own jobs (heartbeats) have ids starting with `_`, which no watch id can."""
    return job_id.startswith("_")


def fire_times_between(trigger: BaseTrigger, after: datetime, until: datetime, limit: int = _MAX_WALK) -> int:
    """How many times `trigger` fires after `after`, up to and including `until` (at most `limit`).

    Jitter is left out: it moves each run by less than the interval between runs, so it changes when the
    runs happen, not how many there are."""
    plain = copy.copy(trigger)
    if getattr(plain, "jitter", None):
        plain.jitter = None
    count, at = 0, after
    while count < limit:
        following = plain.get_next_fire_time(at, until)
        if following is None or following > until:
            break
        count, at = count + 1, following
    return count


class RunAccounting:
    """Counts the scheduled runs of watch checks that did not happen as scheduled (see the module doc).

    Attach it before the scheduler starts, so that it sees every job being added."""

    _EVENTS = (
        EVENT_JOB_ADDED
        | EVENT_JOB_MODIFIED
        | EVENT_JOB_REMOVED
        | EVENT_JOB_SUBMITTED
        | EVENT_JOB_MAX_INSTANCES
        | EVENT_JOB_MISSED
    )

    def __init__(
        self, scheduler: BaseScheduler, metrics: Metrics, ignore: Callable[[str], bool] = internal_job
    ) -> None:
        self.scheduler = scheduler
        self.metrics = metrics
        self.ignore = ignore
        # per job: the run times up to here are accounted for, and whether `at` itself is not yet
        # (a job's first run time is; a submitted run time is)
        self._accounted: dict[str, tuple[datetime, bool]] = {}
        scheduler.add_listener(self._on_event, self._EVENTS)

    def _on_event(self, event: JobEvent) -> None:
        if self.ignore(event.job_id):
            return
        if event.code in (EVENT_JOB_ADDED, EVENT_JOB_MODIFIED):
            job = self.scheduler.get_job(event.job_id)
            if job is not None and job.next_run_time is not None:
                self._accounted[event.job_id] = (job.next_run_time, True)
            else:
                self._accounted.pop(event.job_id, None)
        elif event.code == EVENT_JOB_REMOVED:
            self._accounted.pop(event.job_id, None)
        elif event.code == EVENT_JOB_MISSED:
            assert isinstance(event, JobExecutionEvent)
            self.metrics.observe_scheduler_run("missed")
        elif isinstance(event, JobSubmissionEvent) and event.scheduled_run_times:
            if event.code == EVENT_JOB_MAX_INSTANCES:
                self.metrics.observe_scheduler_run("skipped_busy", len(event.scheduled_run_times))
            self.metrics.observe_scheduler_run("coalesced", self._coalesced(event.job_id, event.scheduled_run_times))

    def _coalesced(self, job_id: str, run_times: list[datetime]) -> int:
        """Due runs dropped by coalescing before this submission of `run_times`."""
        latest = run_times[-1]
        since = self._accounted.get(job_id)
        self._accounted[job_id] = (latest, False)
        job = self.scheduler.get_job(job_id)
        if since is None or job is None:
            return 0  # nothing known to compare with (a job added before this listener)
        at, including = since
        due = fire_times_between(job.trigger, at, latest) + (1 if including and at <= latest else 0)
        return max(0, due - len(run_times))


@dataclass(frozen=True)
class _Job:
    schedule: str
    interval: float  # the interval, or a cron schedule's rough one (for back-off and jitter)


class Jobs:
    """The daemon's scheduling: its watches' jobs, in step with the configuration."""

    if TYPE_CHECKING:  # the daemon's state this part uses (set in `Daemon.__init__`)
        config: Config
        rt: Runtime | None
        scheduler: AsyncIOScheduler | None
        metrics: Metrics
        _jobs: dict[str, _Job]

        async def run_watch(self, watch_id: str) -> WatchResult | None: ...

    def _job_for(self, watch: WatchConfig) -> _Job:
        schedule: Schedule = watch.every or self.config.defaults.every
        interval = schedule.seconds if schedule.seconds is not None else schedule.nominal_seconds()
        return _Job(schedule.describe(), float(interval))  # a new time zone reschedules too

    async def _sync_jobs(self) -> tuple[list[str], list[str], list[str]]:
        """Make the scheduler's jobs match the configuration; returns (added, removed, rescheduled)."""
        assert self.scheduler is not None and self.rt is not None
        wanted = {w.id: w for w in self.config.watches if w.enabled}
        removed = [job_id for job_id in self._jobs if job_id not in wanted]
        for job_id in removed:
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
            del self._jobs[job_id]
            self.metrics.forget_watch(job_id)
        added: list[str] = []
        changed: list[str] = []
        states = await self.rt.store.aio.load_states(list(wanted)) if wanted else {}
        now = utcnow()
        for watch_id, watch in wanted.items():
            job = self._job_for(watch)
            if self._jobs.get(watch_id) == job:
                continue
            (changed if watch_id in self._jobs else added).append(watch_id)
            self._add_job(watch, job, states.get(watch_id), now)
            self._jobs[watch_id] = job
            self.metrics.add_watch(watch_id)
        return added, removed, changed

    def _add_job(self, watch: WatchConfig, job: _Job, state: WatchState | None, now: datetime) -> None:
        assert self.scheduler is not None
        schedule: Schedule = watch.every or self.config.defaults.every
        spread = self.config.daemon.jitter * job.interval
        options = {
            "id": watch.id,
            "name": f"check {watch.id}",
            "args": [watch.id],
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": max(1, int(job.interval / 2)),
            "replace_existing": True,
        }
        if schedule.cron:
            # a cron time is a time of day someone chose ("9:00 court time"): spread runs by a minute at
            # most, not by a fraction of the (day-long) interval
            self.scheduler.add_job(self.run_watch, schedule.trigger(jitter=min(spread, CRON_JITTER)), **options)
            return
        last = _aware(state.last_check_at) if state else None
        base = max(now, last + timedelta(seconds=job.interval)) if last else now
        first = base + timedelta(seconds=random.uniform(0, spread))
        # no per-run jitter: the random first run spreads the watches, and a steady phase keeps each watch's
        # checks one interval apart (which the replicas' lease rule relies on)
        trigger = IntervalTrigger(seconds=job.interval, start_date=first, timezone=UTC)
        self.scheduler.add_job(self.run_watch, trigger, next_run_time=first, **options)

    def _interval(self, watch_id: str) -> float:
        job = self._jobs.get(watch_id)
        if job is not None:
            return job.interval
        return self._job_for(self.config.watch(watch_id)).interval
