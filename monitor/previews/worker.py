"""The preview worker: finds filings with a free PDF, reads each once, and records its preview after the alert.

One pass (`run_once`), run by the daemon in a background task (woken by every check that records a
filing and by every delivery sent) and by `monitor check` after its deliveries:
1. **Find**: recorded filing changes (added or updated docket entries) that no job has examined yet,
   since previews were first worked on this database and at most `SWEEP_WINDOW` back. Each gets a job
   row, keyed by the change (the queue is derived from the recorded changes, so a crash between
   recording an alert and queuing its preview loses nothing). A job is `pending` when the entry has a
   PDF on one of `previews.hosts` (RECAP storage) not yet previewed, else `none`.
2. **Read** each pending job: download the PDF (at most `previews.max_bytes`, redirects not followed, no
   credentials: the CourtListener token never goes to the storage host, and no API budget is spent),
   then `monitor.previews.pdf.read_pdf` in a bounded child process. A hostile or broken file is
   `skipped` with a warning on its watch ("preview skipped: ..."), never a failed check; a storage host
   that is down is tried again (`RETRY_DELAYS`), then skipped.
3. **Record** each read job once its alert is delivered: when no delivery of the original change to a
   notifier that wants previews is still pending, the preview is recorded as an `updated` change of the
   same entry (fields `preview_pages`, `preview_excerpt`, `preview_thumbnail`, `preview_url`), routed
   to the notifiers whose delivery of the alert was sent and that have not opted out (`previews:
   false`), and the job is marked done in the same transaction. So the alert always goes first, and a
   preview is never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor import logs
from monitor.errors import FetchError
from monitor.models import Change, Item, utcnow
from monitor.previews import PREVIEW_FIELDS, is_preview
from monitor.previews.pdf import Unreadable, read_pdf
from monitor.store import new_uid
from monitor.store.previews import PreviewJob

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.http import HttpClient
    from monitor.previews.settings import PreviewsConfig
    from monitor.store import Store

log = logging.getLogger(__name__)

SWEEP_WINDOW = timedelta(days=1)  # how far back recorded changes are examined (a check commits well within it)
WAIT_POLL = 5.0  # seconds between looks at a read preview whose alert is still being delivered
IDLE_POLL = 60.0  # seconds between passes when nothing is waiting (a wake-up comes sooner)
PRUNE_EVERY = 3600.0
RETRY_DELAYS = (60.0, 300.0, 1800.0)  # a storage host that is down: tried again after these, then skipped
_SEALED = ("sealed", "ex parte")  # entries whose text begins so are not fetched (court-data.md, caution 12)
_WORKERS: weakref.WeakSet[PreviewWorker] = weakref.WeakSet()


def wake_workers() -> None:
    """Tell the preview workers of this process that a check recorded filings (called by the stage)."""
    for worker in list(_WORKERS):
        worker.wake()


@dataclass
class PreviewReport:
    """What one pass did: previews recorded, and warnings for the watches whose filings were skipped."""

    recorded: list[Change] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (watch id, "preview skipped: ...")
    waiting: int = 0  # read, waiting for their alert to be delivered


def free_pdf(item: Item | None, hosts: Sequence[str]) -> str | None:
    """The item's document link, if it is a PDF on a free host (never PACER: see PreviewsConfig.hosts)."""
    if item is None:
        return None
    url = item.fields.get("document_url")
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    return url.strip() if host in hosts or (parts.port and f"{host}:{parts.port}" in hosts) else None


def _sealed(item: Item) -> bool:
    text = str(item.fields.get("short_description") or item.fields.get("description") or "").strip().lower()
    return text.startswith(_SEALED)


class PreviewWorker:
    def __init__(
        self,
        config: Config | Callable[[], Config],
        store: Store,
        http: HttpClient,
        *,
        owner: str,
        on_recorded: Callable[[], None] | None = None,
    ):
        self._config = config
        self.store = store
        self.db = store.aio
        self.http = http
        self.owner = f"previews:{owner}"
        self.on_recorded = on_recorded
        self._wake = asyncio.Event()
        self._pruned = 0.0
        _WORKERS.add(self)

    @property
    def config(self) -> Config:
        return self._config() if callable(self._config) else self._config

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """The daemon's background task: a pass whenever woken, else every IDLE_POLL (WAIT_POLL while a
        read preview waits for its alert); never raises."""
        while not stop.is_set():
            self._wake.clear()
            report = PreviewReport()
            try:
                report = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the store is down, or a bug: try again later
                lost = self.store.lost and str(exc) == self.store.lost
                (log.debug if lost else log.warning)("previews: %s", exc, exc_info=not lost)
            delay = WAIT_POLL if report.waiting else IDLE_POLL
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()

    async def run_once(self) -> PreviewReport:
        """One pass: find new filings with a free PDF, read the due ones, record those whose alert went out."""
        report = PreviewReport()
        settings = self.config.previews
        if not settings.enabled:
            return report
        now = utcnow()
        await self._find(settings, now)
        await self._prune(settings, now)
        hold = timedelta(seconds=settings.timeout + 60)
        for job in await self.db.claim_previews(now, self.owner, hold=hold):
            with logs.watch_context(job.change.watch_id):
                await self._work(job, settings, report)
        return report

    # ------------------------------------------------------------ find

    async def _find(self, settings: PreviewsConfig, now: datetime) -> None:
        since = max(await self.db.call(self.store.previews_since, now), now - SWEEP_WINDOW)
        changes = await self.db.preview_candidates(since)
        if not changes:
            return
        current = await self.db.current_items([(c.watch_id, c.key) for c in changes])
        jobs: list[tuple[Change, str | None]] = []
        for change in changes:
            url = None
            if not is_preview(change) and not _sealed(change.item):
                # a filing fused with another source's sighting carries the first source's link (a PACER
                # page); the watch's own copy of the entry has the one it found (RECAP's)
                url = free_pdf(change.item, settings.hosts) or free_pdf(
                    current.get((change.watch_id, change.key)), settings.hosts
                )
            jobs.append((change, url))
        queued = await self.db.enqueue_previews(jobs, now)
        if queued:
            log.debug("previews: %d filing%s with a free PDF to read", queued, "" if queued == 1 else "s")

    async def _prune(self, settings: PreviewsConfig, now: datetime) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._pruned < PRUNE_EVERY and self._pruned:
            return
        self._pruned = loop.time()
        await self.db.prune_previews(now - timedelta(seconds=settings.keep))

    # ------------------------------------------------------------ read and record

    async def _work(self, job: PreviewJob, settings: PreviewsConfig, report: PreviewReport) -> None:
        uid = job.change.uid
        if job.status == "pending":
            result = await self._read(job, settings, report)
            if result is None:
                return
        else:
            result = dict(job.result or {})
        statuses = await self.db.delivery_statuses_of(uid)
        wanted = {name: status for name, status in statuses.items() if self._wants(name)}
        if any(status == "pending" for status in wanted.values()):
            report.waiting += 1
            await self.db.preview_wait(uid, self.owner)
            return
        change = self._preview_change(job, result)
        routes = [name for name, status in wanted.items() if status == "sent"]
        if await self.db.record_preview(uid, self.owner, change, routes):
            report.recorded.append(change)
            log.info(
                "preview of %s recorded (%s pages) for %s",
                job.change.key,
                result.get("pages"),
                ", ".join(routes) or "no notifier",
            )
            if self.on_recorded is not None:
                self.on_recorded()

    async def _read(self, job: PreviewJob, settings: PreviewsConfig, report: PreviewReport) -> dict[str, Any] | None:
        """Download and read the PDF; the job's facts when it worked, None when it was skipped or postponed."""
        uid, url = job.change.uid, job.url
        try:
            # No headers of ours beyond the client's own: no token, no cookie ever goes to the storage host.
            fetched = await self.http.get(
                url,
                headers={"Accept": "application/pdf"},
                max_bytes=settings.max_bytes,
                cap_setting="previews.max_bytes",
                follow_redirects=False,
            )
            document = await read_pdf(fetched.body, max_pages=settings.max_pages, timeout=settings.timeout)
        except FetchError as exc:
            transient = exc.status is None or exc.status == 429 or exc.status >= 500
            if transient and "byte cap" not in str(exc) and job.attempts < len(RETRY_DELAYS):
                delay = max(RETRY_DELAYS[job.attempts], exc.retry_after or 0.0)
                log.info("preview of %s postponed %.0fs: %s", job.change.key, delay, exc)
                await self.db.preview_later(uid, self.owner, str(exc), utcnow() + timedelta(seconds=delay))
                return None
            await self._skip(job, str(exc), report)
            return None
        except Unreadable as exc:
            await self._skip(job, str(exc), report)
            return None
        excerpt = self.store.mask(document.excerpt) or ""  # secrets stop where text enters the store
        result = {
            "pages": document.pages,
            "excerpt": excerpt,
            "url": url,
            "width": document.width,
            "height": document.height,
            "seconds": document.render_seconds,
        }
        ref = await self.db.preview_read(
            uid, self.owner, result, document.png, document.width, document.height, utcnow()
        )
        log.debug(
            "read %s: %d pages, %d-byte thumbnail, %.2fs in PDFium",
            url,
            document.pages,
            len(document.png),
            document.render_seconds,
        )
        return {**result, "thumbnail": ref}

    async def _skip(self, job: PreviewJob, reason: str, report: PreviewReport) -> None:
        reason = self.store.mask(reason) or reason
        warning = f"preview skipped: {reason}"
        if job.url not in reason:
            warning += f" ({job.url})"
        report.warnings.append((job.change.watch_id, warning))
        log.warning("%s", warning)
        await self.db.preview_skipped(job.change.uid, self.owner, reason)

    def _wants(self, notifier: str) -> bool:
        settings = self.config.notifiers.get(notifier)
        return settings is not None and getattr(settings, "previews", True)

    def _preview_change(self, job: PreviewJob, result: dict[str, Any]) -> Change:
        source = job.change.item
        facts = {
            "preview_pages": result.get("pages"),
            "preview_excerpt": result.get("excerpt") or None,
            "preview_thumbnail": result.get("thumbnail"),
            "preview_url": result.get("url"),
        }
        facts = {k: v for k, v in facts.items() if v not in (None, "")}
        base = {k: v for k, v in source.fields.items() if k not in PREVIEW_FIELDS}
        after = replace(source, fields={**base, **facts})
        before = replace(source, fields=base)
        return Change(
            job.change.watch_id,
            "updated",
            after,
            before=before,
            changed_fields=tuple(f"fields.{k}" for k in facts),
            detected_at=utcnow(),
            uid=new_uid(),
        )


def attach(results: Sequence[Any], report: PreviewReport) -> None:
    """Put a pass's previews and warnings on the check results of their watches (`monitor check` output)."""
    by_id = {r.watch_id: r for r in results}
    for change in report.recorded:
        if change.watch_id in by_id:
            by_id[change.watch_id].changes.append(change)
    for watch_id, warning in report.warnings:
        if watch_id in by_id:
            by_id[watch_id].warnings.append(warning)
