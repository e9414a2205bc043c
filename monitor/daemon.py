"""`monitor run`: the long-running daemon — scheduled checks, the outbox dispatcher, probes and metrics.

How it runs
- **Scheduling**: APScheduler's `AsyncIOScheduler`, one job per enabled watch: an interval trigger for
  `every: 10m`, a cron trigger for `every: "*/15 8-18 * * 1-5"` (numeric weekdays mean what they mean to
  cron: 0 or 7 is Sunday) in the watch's `timezone` (`monitor.schedule`; intervals need no zone).
  Jobs run with `max_instances=1` (never two checks of one watch at once),
  `coalesce=True` (runs missed while the process was busy collapse into one) and a misfire grace of
  half the interval (a run later than that is dropped: the next one is nearer). Runs dropped for any
  of these reasons are counted (`monitor.jobs.RunAccounting`).
- **Jitter**: `daemon.jitter` is a fraction of the interval. The first run of each watch is spread at
  random over that fraction of its interval (or waits for the interval to pass since its last recorded
  check, so a restart loop never hammers a source); later runs keep that phase, so watches stay spread
  out. (Cron watches get a random delay up to the same fraction on every run.)
- **Several replicas** (one PostgreSQL database, no other service): every replica schedules every watch,
  and `Daemon.run_watch` first takes the watch's lease in the database (`Store.try_lease`: one atomic
  UPDATE). A watch is due when nobody started a check of it in the last `(1 - jitter) × 0.9` of its
  interval, so each watch is checked about once per interval by whichever replica comes first, and
  never by two at once. A lease is released when the check ends; one left by a replica that died
  expires after `daemon.lease`, and another replica takes the watch over. Deliveries are claimed the
  same way (`FOR UPDATE SKIP LOCKED`). Each replica records a heartbeat with a digest of its
  configuration (`monitor status` lists them and any stale lease), re-reads its configuration file
  every `daemon.config_poll` and reloads when it changed, and warns when replicas run different
  configurations.
- **Back-off**: a failing source is not checked again until `interval * 2^(failures-1)` (capped at
  `daemon.max_backoff`) has passed since its last check; scheduled runs that fall inside that window are
  skipped (metric outcome `skipped`). The window is computed from the watch's stored state
  (`consecutive_failures`, `last_check_at`), so it survives restarts and is the same for every replica,
  and the first success returns the watch to its normal interval. A `Retry-After` from the source is
  stored as `not_before` by the engine and honoured the same way.
- **Source down / recovered**: the engine records one `source_down` change when a watch has failed for
  `daemon.down_after`, and one `source_recovered` change at its next success, through the outbox.
- **Dispatcher**: a loop beside the scheduler: deliver what is due, then sleep until the next delivery
  is due (`store.next_due_at()`) or `DISPATCH_POLL` seconds, woken at once when a check records changes.
- **Signals**: SIGTERM or SIGINT stops scheduling, lets in-flight checks finish and the outbox drain, all
  within `daemon.shutdown_grace` seconds, then exits 0 (130 after SIGINT, as any command Ctrl-C stops).
  Work still running at the deadline is cancelled; every store write is one transaction, so a cancelled
  check records nothing and is simply done again after the restart, and a pending delivery stays in the
  outbox. A second signal stops waiting.
  SIGHUP reloads the configuration file: a valid one replaces the watches' jobs (added, removed,
  rescheduled) and the notifiers; an invalid one is rejected, its problems logged, and the running
  configuration stays. `state`, `http` and `daemon.listen` changes need a restart (a warning says so).
- **Probes and dashboard**: `/healthz`, `/readyz`, `/metrics`, and the dashboard and Atom feeds, on
  `daemon.listen` (`--listen` or `MONITOR_LISTEN` override it); see `monitor.health`, `monitor.metrics`
  and `monitor.web`.

The daemon is one class in four rooms: the lifecycle, the check and the dispatcher here; the scheduling
in `monitor.jobs` (`Jobs`), what the probes and the dashboard ask of it in `monitor.probes` (`Probes`),
and reloading the configuration with the replicas' heartbeat in `monitor.reload` (`Reloading`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor import logs
from monitor.app import Runtime, runtime
from monitor.backoff import hold_until
from monitor.config import Config, load
from monitor.dispatch import Dispatcher, DispatchReport
from monitor.engine import Engine, WatchResult
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.health import Endpoints, HealthServer, Heartbeat, parse_listen
from monitor.jobs import CRON_JITTER, Jobs, RunAccounting, _Job  # noqa: F401 - CRON_JITTER: the name stays here too
from monitor.metrics import CONTENT_TYPE, Metrics
from monitor.models import aware as _aware
from monitor.models import utcnow
from monitor.previews.worker import PreviewWorker
from monitor.probes import COUNTS_EVERY, READY_TIMEOUT, Probes  # noqa: F401 - READY_TIMEOUT: as CRON_JITTER
from monitor.reload import REPLICA_BEAT, Reloading, file_digest
from monitor.web.pages import Dashboard
from watchers import WatchConfig

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
HEARTBEAT = 5.0  # seconds between scheduler heartbeats
HEARTBEAT_MAX_AGE = 30.0  # /healthz fails when the last heartbeat is older than this
DISPATCH_POLL = 10.0  # the dispatcher looks at the outbox at least this often
DISPATCH_MIN_GAP = 1.0  # ... and at most this often when nothing it can claim is due
# COUNTS_EVERY and READY_TIMEOUT (monitor.probes), REPLICA_BEAT (monitor.reload), CRON_JITTER (monitor.jobs)


# ---------------------------------------------------------------- the daemon


class Daemon(Jobs, Probes, Reloading):
    """One process: a scheduler of checks, an outbox dispatcher and a probe server on one event loop."""

    def __init__(
        self,
        config: Config,
        *,
        listen: str | None = None,
        verbose: int = 0,
        secret_filter: logs.SecretFilter | None = None,
    ):
        self.config = config
        self.config_path = config.path
        self.listen = listen or config.daemon.listen
        self.verbose = verbose
        self.secret_filter = secret_filter
        self.metrics = Metrics()
        self.heartbeat = Heartbeat(HEARTBEAT_MAX_AGE)
        self.health: HealthServer | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.rt: Runtime | None = None
        self.engine: Engine | None = None
        self.dispatcher: Dispatcher | None = None
        self._jobs: dict[str, _Job] = {}
        self._inflight: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._stopping = False
        self._interrupted = False  # stopped by SIGINT (Ctrl-C): exit 130, as a shell expects
        self._draining = False
        self._delivering = False
        self._dispatch_lock = asyncio.Lock()
        self._reload_lock = asyncio.Lock()
        self._reload_tasks: set[asyncio.Task] = set()
        self._counts_at = 0.0
        self._counts_task: asyncio.Task | None = None
        self._slots = asyncio.Semaphore(config.daemon.max_checks)  # checks running at once
        self.previews: PreviewWorker | None = None  # document previews, after the alerts (monitor.previews)
        self._previews_task: asyncio.Task | None = None
        self.config_digest = file_digest(self.config_path)  # of the configuration running
        self._file_digest = self.config_digest  # of the file as last looked at (a broken edit is tried once)
        self._warned_digests: set[str] = set()
        self._config_checked = 0.0
        self._created_digest = ""  # of the watches the monitor created, as last scheduled

    @property
    def owner(self) -> str:
        """This replica's name in leases, claims and heartbeats: host:pid."""
        assert self.rt is not None
        return self.rt.dispatcher.owner

    # ------------------------------------------------------------ lifecycle

    async def serve(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit status."""
        try:
            host, port = parse_listen(self.listen)
        except ValueError as exc:
            log.error("%s", exc)
            return EXIT_USAGE
        async with runtime(self.config, respect_backoff=True) as rt:
            self.rt, self.engine, self.dispatcher = rt, rt.engine, rt.dispatcher
            self.config = rt.config  # with the watches the monitor created (an appeal of a followed case)
            self._created_digest = await rt.store.aio.auto_watches_digest()
            dashboard = Dashboard(rt.store, lambda: self.config, self.next_check, lambda: logs.all_secrets(self.config))
            self.health = HealthServer(
                Endpoints(self.heartbeat.probe, self._ready, self.metrics.render, CONTENT_TYPE), dashboard
            )
            try:
                bound = await self.health.start(host, port)
            except OSError as exc:
                log.error(
                    "cannot listen on %s for /healthz and /metrics: %s (set daemon.listen, --listen or "
                    "MONITOR_LISTEN to a free address)",
                    self.listen,
                    exc.strerror or exc,
                )
                return EXIT_FAILED
            self.scheduler = AsyncIOScheduler(timezone=UTC)
            RunAccounting(self.scheduler, self.metrics)  # runs skipped, missed or coalesced, in the metrics
            self._housekeeping(self.scheduler, self._beat, HEARTBEAT, "_heartbeat", "heartbeat")
            await self._sync_jobs()
            self._housekeeping(self.scheduler, self._replica_beat, REPLICA_BEAT, "_replica", "replica heartbeat")
            self.scheduler.start()
            dispatcher = asyncio.create_task(self._dispatch_loop(), name="dispatcher")
            self.previews = PreviewWorker(
                lambda: self.config, rt.store, rt.http, owner=self.owner, on_recorded=self._wake.set
            )
            self._previews_task = asyncio.create_task(self.previews.run_forever(self._stop), name="previews")
            self._install_signals()
            log.info(
                "monitor running: %d watches, notifiers: %s; state %s; dashboard, health and metrics on %s",
                len(self._jobs),
                ", ".join(sorted(self.dispatcher.notifiers)) or "none",
                rt.store.display_url,
                self.health.url,
                extra={"listen": f"{bound[0]}:{bound[1]}", "pid": os.getpid()},
            )
            await self._stop.wait()
            await self._shutdown(dispatcher)
            try:
                await rt.store.aio.forget_replica(self.owner)  # hand back any lease at once
            except Exception as exc:  # noqa: BLE001 - leases expire by themselves anyway
                log.debug("could not remove the replica heartbeat: %s", exc)
        log.info("stopped")
        return EXIT_INTERRUPTED if self._interrupted else EXIT_OK

    @staticmethod
    def _housekeeping(
        scheduler: AsyncIOScheduler, func: Callable[[], Awaitable[None]], seconds: float, job_id: str, name: str
    ) -> None:
        """A job of the daemon's own, every `seconds` from now: never two at once, a late run not made up."""
        scheduler.add_job(
            func,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=job_id,
            name=name,
            next_run_time=utcnow(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    async def run_once(self) -> int:
        """`monitor run --once`: every enabled watch once through `run_watch`, deliver, exit."""
        async with runtime(self.config, respect_backoff=True) as rt:
            self.rt, self.engine, self.dispatcher = rt, rt.engine, rt.dispatcher
            self.config = rt.config
            results = await asyncio.gather(*(self.run_watch(w.id) for w in self.config.watches if w.enabled))
            report = await self._deliver()
            if (
                self.config.previews.enabled
                and (await PreviewWorker(self.config, rt.store, rt.http, owner=self.owner).run_once()).recorded
            ):
                report.add(await self._deliver())
        ok = all(r is None or r.ok for r in results) and not (report.failed or report.retrying)
        return EXIT_OK if ok else EXIT_FAILED

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        if hasattr(signal, "SIGHUP"):
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)

    def request_stop(self, why: str = "stop requested") -> None:
        if self._stopping:
            log.warning("%s again: not waiting for in-flight work any longer", why)
            self._force.set()
            return
        self._stopping = True
        self._interrupted = why == "SIGINT"
        log.info(
            "%s: stopping; finishing in-flight checks and deliveries (up to %gs)",
            why,
            self.config.daemon.shutdown_grace,
        )
        self._stop.set()

    def _stopping_now(self) -> bool:
        """`_stopping` read again after an await (a signal may have set it meanwhile; mypy would keep
        the attribute as narrowed by a read before the await)."""
        return self._stopping

    def request_reload(self) -> None:
        if self._stopping:
            return
        task = asyncio.get_running_loop().create_task(self.reload(), name="reload")
        self._reload_tasks.add(task)
        task.add_done_callback(self._reload_tasks.discard)

    async def _shutdown(self, dispatcher: asyncio.Task) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.daemon.shutdown_grace
        assert self.scheduler is not None
        self.scheduler.pause()  # nothing new starts; running checks carry on
        if self._previews_task is not None:  # a preview is never worth holding a shutdown: it resumes after it
            self._previews_task.cancel()
            await asyncio.wait({self._previews_task}, timeout=2.0)
        if self._inflight:
            log.info("waiting for %d in-flight checks", len(self._inflight))
            pending = await self._wait(set(self._inflight), deadline)
            if pending:
                log.warning("cancelling %d checks still running at the shutdown deadline", len(pending))
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending, timeout=2.0)
        self._draining = True  # the dispatcher makes one last pass over the outbox, then returns
        self._wake.set()
        pending = await self._wait({dispatcher}, deadline)
        if pending:
            if self._delivering:
                log.warning(
                    "deliveries still running at the shutdown deadline were cancelled; they stay in the "
                    "outbox and go out after the restart"
                )
            dispatcher.cancel()
            await asyncio.wait({dispatcher}, timeout=2.0)
        self.scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # let the scheduler's shutdown callback run on the loop
        if self.health is not None:
            await self.health.close()
        for task in self._reload_tasks:
            task.cancel()
        if self.dispatcher is not None and self.rt is not None and self.dispatcher is not self.rt.dispatcher:
            await self.dispatcher.aclose()  # a reloaded one; runtime() closes the original

    async def _wait(self, tasks: set[asyncio.Task], deadline: float) -> set[asyncio.Task]:
        """Wait for all `tasks` until `deadline` or a second signal; returns those still running."""
        remaining = deadline - asyncio.get_running_loop().time()
        if tasks and remaining > 0 and not self._force.is_set():
            everything = asyncio.ensure_future(asyncio.wait(tasks))
            force = asyncio.ensure_future(self._force.wait())
            await asyncio.wait({everything, force}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            everything.cancel()  # stops waiting; the tasks themselves run on
            force.cancel()
        return {t for t in tasks if not t.done()}

    # ------------------------------------------------------------ the check

    async def run_watch(self, watch_id: str) -> WatchResult | None:
        """One scheduled check of one watch — the single seam a multi-replica lease will wrap.

        Skips the check while the watch backs off or a `Retry-After` holds; otherwise calls
        `Engine.check_one`, updates the metrics and wakes the dispatcher when something was recorded.
        Never raises: a failure is logged and counted, and the next run comes as scheduled.
        """
        engine = self.engine
        assert engine is not None and self.rt is not None
        try:
            watch = engine.config.watch(watch_id)
        except KeyError:
            return None  # removed by a reload after this run was scheduled
        if self._stopping:
            return None
        task = asyncio.current_task()
        store = self.rt.store
        with logs.watch_context(watch_id):
            try:
                now = utcnow()
                state = (await store.aio.load_states([watch_id])).get(watch_id)
                hold = _aware(hold_until(state, self._interval(watch_id), self.config.daemon.max_backoff))
                if hold is not None and hold > now:
                    self.metrics.observe_check(watch_id, "skipped", None)
                    log.debug(
                        "backing off until %s (%d failures in a row)",
                        hold.isoformat(timespec="seconds"),
                        state.consecutive_failures if state else 0,
                    )
                    return None
                # Bounded concurrency, taken before the lease: a run waits its turn (first come, first
                # served, so an overloaded replica still gets round to every watch) without holding the
                # watch's lease, so another replica may take the watch meanwhile. While it waits,
                # APScheduler drops this watch's further runs (max_instances=1): the queue stays bounded.
                async with self._slots:
                    if self._stopping_now():
                        return None
                    if task is not None:
                        self._inflight.add(task)
                    return await self._leased_check(watch, utcnow())
            except asyncio.CancelledError:
                if not self._stopping_now():
                    raise
                log.info("check cancelled at the shutdown deadline: nothing recorded, it runs again after the restart")
                return None
            except Exception as exc:  # the store is down, or a bug: log, count, and keep the schedule
                self.metrics.observe_check(watch_id, "failed", None)
                if store.lost and str(exc) == store.lost:
                    log.debug("check could not run: %s", exc)  # said once already, and /readyz says it
                elif isinstance(exc, MonitorError):
                    log.error("check could not run: %s", exc)
                else:
                    log.exception("check could not run")
                return None
            finally:
                if task is not None:
                    self._inflight.discard(task)

    async def _leased_check(self, watch: WatchConfig, now: datetime) -> WatchResult | None:
        """Take the watch's lease (skip if another replica checked or is checking it), check, release."""
        assert self.engine is not None and self.rt is not None
        store, watch_id = self.rt.store, watch.id
        due_gap = self._interval(watch_id) * (1 - self.config.daemon.jitter) * 0.9
        if not await store.aio.try_lease(
            watch_id,
            self.owner,
            now,
            hold=timedelta(seconds=self.config.daemon.lease),
            min_interval=timedelta(seconds=due_gap),
        ):
            self.metrics.observe_check(watch_id, "other_replica", None)
            log.debug("checked or being checked by another replica: skipped")
            return None
        renewing = asyncio.get_running_loop().create_task(self._renew(watch_id), name=f"lease {watch_id}")
        try:
            result = await self.engine.check_one(watch)
        finally:
            renewing.cancel()
            await store.aio.release_lease(watch_id, self.owner)
        await self._after_check(watch_id, result)
        return result

    async def _renew(self, watch_id: str) -> None:
        """Keep the lease of a check that runs long (a slow source, a busy machine): a lease that lapsed
        mid-check would let another replica check the same watch at the same time."""
        assert self.rt is not None
        hold = self.config.daemon.lease
        while True:
            await asyncio.sleep(hold / 3)
            try:
                if not await self.rt.store.aio.renew_lease(watch_id, self.owner, utcnow() + timedelta(seconds=hold)):
                    log.warning(
                        "lost the lease of this watch while checking it (another replica took it over "
                        "after daemon.lease = %gs): raise daemon.lease if checks take this long",
                        hold,
                    )
                    return
            except Exception as exc:  # noqa: BLE001 - the store is down: the check fails on its own
                log.debug("could not renew the lease: %s", exc)

    async def _after_check(self, watch_id: str, result: WatchResult) -> None:
        assert self.rt is not None
        if not result.ok:
            outcome = "failed"
        elif result.baseline:
            outcome = "baseline"
        elif result.changes:
            outcome = "changed"
        else:
            outcome = "unchanged"
        recorded = list(result.changes) + list(result.status_changes)
        self.metrics.observe_check(watch_id, outcome, result.seconds, (c.kind for c in recorded))
        for warning in result.warnings:
            (log.debug if warning.startswith("skipped:") else log.warning)("%s", warning)
        if result.ok and result.baseline and not result.alerting():
            log.info("baseline recorded: %d items (first check: no alerts)", result.item_count)
        elif result.changes:
            counts = {k: sum(1 for c in result.changes if c.kind == k) for k in ("added", "updated", "removed")}
            log.info("changes: %s (%d items)", ", ".join(f"{n} {k}" for k, n in counts.items() if n), result.item_count)
        else:
            log.debug("checked in %.2fs: %s", result.seconds, outcome)
        for change in result.status_changes:
            (log.info if change.kind == "following" else log.warning)(
                "%s: %s", change.kind.replace("_", " "), change.item.title
            )
        state = (await self.rt.store.aio.load_states([watch_id])).get(watch_id)
        if state is not None:
            self.metrics.observe_state(
                watch_id,
                consecutive_failures=state.consecutive_failures,
                down=state.down_alerted,
                last_success=_aware(state.last_success_at),
                info=state.info,
            )
        if recorded:
            self._wake.set()
        if any(c.kind == "following" for c in result.status_changes):
            await self.sync_created_watches()  # a watch this check created is scheduled at once

    # ------------------------------------------------------------ the dispatcher

    async def _dispatch_loop(self) -> None:
        """Deliver what is due; sleep until the next is due, a poll, or a wake-up; a last pass on shutdown."""
        while True:
            final = self._draining
            self._wake.clear()
            report = DispatchReport()
            next_due: datetime | None = None
            try:
                report = await self._deliver()
                next_due = _aware(await self.rt.store.aio.next_due_at()) if self.rt else None
            except Exception as exc:  # noqa: BLE001 - the store is down: try again later
                lost = self.rt is not None and self.rt.store.lost
                (log.debug if lost and str(exc) == lost else log.error)("delivering alerts failed: %s", exc)
                next_due = None
            if final:
                return
            delay = DISPATCH_POLL
            if next_due is not None:
                wait = (next_due - utcnow()).total_seconds()
                busy = report.sent or report.retrying or report.failed
                delay = min(DISPATCH_POLL, max(wait, 0.0 if busy else DISPATCH_MIN_GAP))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _deliver(self) -> DispatchReport:
        async with self._dispatch_lock:
            assert self.dispatcher is not None
            self._delivering = True
            try:
                report = await self.dispatcher.deliver_due()
            finally:
                self._delivering = False
        self.metrics.observe_dispatch(report.sent, report.retrying, report.failed)
        if report.sent:
            log.info("delivered %d alert%s", report.sent, "" if report.sent == 1 else "s")
            if self.previews is not None:
                self.previews.wake()  # a preview may have been waiting for this alert
        if report.sent or report.retrying or report.failed or time.monotonic() - self._counts_at > COUNTS_EVERY:
            await self._refresh_counts()
        return report

    async def _refresh_counts(self) -> None:
        if self.rt is None:
            return
        try:
            self._counts_at = time.monotonic()
            self.metrics.set_deliveries(await self.rt.store.aio.delivery_counts())
        except Exception as exc:  # noqa: BLE001 - a gauge must not break the loop
            log.debug("cannot count deliveries: %s", exc)


# ---------------------------------------------------------------- entry point


def main(args: argparse.Namespace) -> int:
    """`monitor run`. Exit status: 0 stopped cleanly (130 when by SIGINT); 1 could not start (state database
    unreachable, address in use), which a supervisor should retry, or `--once` saw a failure; 2 configuration
    error, which retrying cannot fix."""
    try:
        config = load(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"configuration error{'s' if len(exc.problems) > 1 else ''}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    if config.path is not None:
        config.path = Path(config.path).resolve()  # SIGHUP re-reads the same file even after a chdir
    secret_filter = logs.setup(getattr(args, "verbose", 0), config.daemon.log_format, logs.all_secrets(config))
    listen = getattr(args, "listen", None) or os.environ.get("MONITOR_LISTEN") or None
    daemon = Daemon(config, listen=listen, verbose=getattr(args, "verbose", 0), secret_filter=secret_filter)
    try:
        if getattr(args, "once", False):
            return asyncio.run(daemon.run_once())
        return asyncio.run(daemon.serve())
    except StoreError as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C before the handlers were installed
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
