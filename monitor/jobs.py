"""The daemon's schedule: one APScheduler job per enabled watch, and the count of runs that never ran.

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
from collections.abc import Callable
from datetime import datetime

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

from monitor.metrics import Metrics

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
