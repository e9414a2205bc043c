"""What the daemon's HTTP side asks of it: the liveness heartbeat, readiness, and the next run of a watch.

`Probes` is that part of `monitor.daemon.Daemon` (a mixin: the daemon holds the state). The server itself
(Starlette under uvicorn, in the daemon's event loop) is `monitor.health`; the dashboard is `monitor.web`.
- `/healthz` passes while `_beat` runs (a scheduler job every `HEARTBEAT` seconds): it never waits for
  the database, so a locked database cannot make the process look dead.
- `/readyz` asks `_ready`: the state database answers a ping within `READY_TIMEOUT` seconds.
- The dashboard shows `next_check` for every watch.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.config import mask

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.app import Runtime
    from monitor.config import Config
    from monitor.health import Heartbeat
    from monitor.metrics import Metrics

COUNTS_EVERY = 30.0  # refresh the outbox gauges at least this often
READY_TIMEOUT = 5.0  # a database that does not answer a ping within this is not ready


class Probes:
    """The daemon's answers to its probes and dashboard."""

    if TYPE_CHECKING:  # the daemon's state this part uses (set in `Daemon.__init__`)
        config: Config
        rt: Runtime | None
        scheduler: AsyncIOScheduler | None
        metrics: Metrics
        heartbeat: Heartbeat
        _stopping: bool
        _counts_at: float
        _counts_task: asyncio.Task | None

        async def _refresh_counts(self) -> None: ...

    async def _beat(self) -> None:
        """The liveness heartbeat: never waits for the database (a locked one must not make /healthz fail)."""
        self.heartbeat.beat()
        self.metrics.beat(time.time())
        if time.monotonic() - self._counts_at > COUNTS_EVERY and (
            self._counts_task is None or self._counts_task.done()
        ):
            self._counts_task = asyncio.get_running_loop().create_task(self._refresh_counts(), name="outbox gauges")

    def next_check(self, watch_id: str) -> datetime | None:
        """When the scheduler runs the watch next (None: not scheduled), for the dashboard."""
        job = self.scheduler.get_job(watch_id) if self.scheduler is not None else None
        return job.next_run_time if job is not None else None

    async def _ready(self) -> tuple[bool, str]:
        if self._stopping:
            return False, "shutting down"
        assert self.rt is not None
        store = self.rt.store
        try:
            # the default executor, not the store's threads: those may all be waiting on a lock
            problem = await asyncio.wait_for(asyncio.to_thread(store.health), READY_TIMEOUT)
        except TimeoutError:
            return False, f"state database {store.display_url} did not answer within {READY_TIMEOUT:g}s"
        if problem:
            return False, mask(problem, store.secrets | self.config.secrets)
        return True, "ready"
