"""Store methods for document previews (`monitor.previews`): the queue of filings to preview, thumbnails.

The queue is `preview_jobs`, one row per recorded filing change the worker has examined, keyed by the
change's uid (so examining a change twice, by two replicas or after a crash, adds nothing):
`none` (no free PDF, or one already previewed for that entry) | `pending` (to read) | `ready` (read;
waiting for its alert to be delivered) | `done` (the preview change is recorded) | `skipped` (the
reason is in `result`). Jobs are claimed like deliveries (`claimed_by`, `claimed_until`), and the
step that records the preview change marks its job `done` in the same transaction, only if it was
still `ready`: a preview is recorded, hence sent, once. Thumbnails are PNG bytes in `preview_images`,
keyed by their sha256, in the database itself so that every replica's notifiers can read them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from monitor.models import Change, Item
from monitor.store import schema as s

OPEN = ("pending", "ready")  # statuses the worker still has work for


@dataclass(frozen=True, slots=True)
class PreviewJob:
    change: Change  # the recorded change whose alert the preview follows
    url: str
    status: str  # pending | ready
    attempts: int
    result: Mapping[str, Any] | None


def image_ref(png: bytes) -> str:
    return "sha256:" + hashlib.sha256(png).hexdigest()


class PreviewStore:
    """Mixed into `Store` (which provides `engine`, `dialect`, `_insert_change` and the notifier memory)."""

    engine: sa.Engine

    if TYPE_CHECKING:  # provided by Store and OutboxStore

        @property
        def dialect(self) -> str: ...
        def _insert_change(self, conn: sa.Connection, change: Change, notifiers: Sequence[str]) -> int: ...
        def get_notifier_state(self, notifier: str, key: str) -> Any: ...
        def set_notifier_state(self, notifier: str, key: str, value: Any) -> None: ...

    # ------------------------------------------------------------ finding work

    def previews_since(self, now: datetime) -> datetime:
        """When previews were first worked on this database: changes recorded before that (an upgrade's
        history) are never previewed after the fact."""
        value = self.get_notifier_state("_previews", "since")
        if value:
            return datetime.fromisoformat(value)
        self.set_notifier_state("_previews", "since", now.isoformat())
        return now

    def preview_candidates(self, since: datetime, *, limit: int = 500) -> list[Change]:
        """Filing changes (added or updated docket entries) recorded since `since` that no job examined yet."""
        c, j = s.changes.c, s.preview_jobs.c
        query = (
            sa.select(c.data)
            .select_from(s.changes.outerjoin(s.preview_jobs, j.change_uid == c.uid))
            .where(
                j.change_uid.is_(None), c.kind.in_(["added", "updated"]), c.key.like("entry:%"), c.detected_at >= since
            )
            .order_by(c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [Change.from_dict(row.data) for row in conn.execute(query)]

    def current_items(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """(watch id, key) -> the item as that watch stores it now (a fused change carries the item as the
        first source saw it; the watch's own copy has what it found, such as a RECAP link)."""
        t = s.items.c
        wanted = set(pairs)
        found: dict[tuple[str, str], Item] = {}
        keys = sorted({key for _, key in wanted})
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                rows = conn.execute(sa.select(t.watch_id, t.key, t.data).where(t.key.in_(keys[start : start + 500])))
                for row in rows:
                    if (row.watch_id, row.key) in wanted:
                        found[(row.watch_id, row.key)] = Item.from_dict(row.data)
        return found

    def enqueue_previews(self, jobs: Sequence[tuple[Change, str | None]], now: datetime) -> int:
        """One job per examined change: `pending` with its free PDF, or `none` (no PDF, or this entry's PDF at
        that address is already queued or previewed). Changes already examined are left as they are.
        Returns how many were queued to read."""
        j = s.preview_jobs.c
        queued = 0
        with self.engine.begin() as conn:
            for change, url in jobs:
                if (
                    url is not None
                    and conn.execute(
                        sa.select(j.change_uid).where(j.key == change.key, j.url == url, j.status != "none").limit(1)
                    ).first()
                ):
                    url = None
                row = {
                    "change_uid": change.uid,
                    "watch_id": change.watch_id,
                    "key": change.key,
                    "url": url,
                    "status": "pending" if url else "none",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
                conn.execute(self._insert_new(s.preview_jobs), [row])
                queued += url is not None
        return queued

    def _insert_new(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        from sqlalchemy.dialects.sqlite import insert

        return insert(table).on_conflict_do_nothing()

    # ------------------------------------------------------------ working

    def claim_previews(self, now: datetime, owner: str, *, hold: timedelta, limit: int = 20) -> list[PreviewJob]:
        """Due open jobs, claimed for `owner` (no other replica works on them meanwhile), oldest first."""
        j, c = s.preview_jobs.c, s.changes.c
        free = sa.or_(j.claimed_until.is_(None), j.claimed_until < now, j.claimed_by == owner)
        due = sa.and_(j.status.in_(OPEN), j.next_attempt_at <= now, free)
        with self.engine.begin() as conn:
            query = sa.select(j.change_uid).where(due).order_by(j.created_at).limit(limit)
            if self.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            uids = [r[0] for r in conn.execute(query)]
            if not uids:
                return []
            conn.execute(
                s.preview_jobs.update()
                .where(j.change_uid.in_(uids), due)
                .values(claimed_by=owner, claimed_until=now + hold)
            )
            rows = conn.execute(
                sa.select(j.url, j.status, j.attempts, j.result, c.data)
                .join(s.changes, c.uid == j.change_uid)
                .where(j.change_uid.in_(uids), j.claimed_by == owner)
                .order_by(j.created_at)
            )
            return [PreviewJob(Change.from_dict(r.data), r.url, r.status, r.attempts, r.result) for r in rows]

    def _settle(self, uid: str, owner: str, *, release: bool = True, **values: Any) -> None:
        j = s.preview_jobs.c
        if release:
            values.update(claimed_by=None, claimed_until=None)
        with self.engine.begin() as conn:
            conn.execute(s.preview_jobs.update().where(j.change_uid == uid, j.claimed_by == owner).values(**values))

    def preview_read(
        self, uid: str, owner: str, result: Mapping[str, Any], png: bytes, width: int, height: int, now: datetime
    ) -> str:
        """The PDF was read: keep its thumbnail and facts; the job is `ready`. Returns the thumbnail's ref."""
        ref = image_ref(png)
        with self.engine.begin() as conn:
            conn.execute(
                self._insert_new(s.preview_images),
                [{"id": ref.removeprefix("sha256:"), "png": png, "width": width, "height": height, "created_at": now}],
            )
        # still claimed: the same pass goes on to record it once its alert is out
        self._settle(
            uid, owner, release=False, status="ready", result={**result, "thumbnail": ref}, next_attempt_at=now
        )
        return ref

    def preview_later(self, uid: str, owner: str, error: str, next_at: datetime) -> None:
        """Reading failed for a reason that may pass (the storage host down): try again at `next_at`."""
        j = s.preview_jobs.c
        self._settle(uid, owner, attempts=j.attempts + 1, result={"error": error}, next_attempt_at=next_at)

    def preview_skipped(self, uid: str, owner: str, reason: str) -> None:
        self._settle(uid, owner, status="skipped", result={"reason": reason})

    def preview_wait(self, uid: str, owner: str) -> None:
        """Read, but its alert is not delivered yet everywhere: let go of it until the next pass."""
        self._settle(uid, owner)

    def delivery_statuses_of(self, change_uid: str) -> dict[str, str]:
        """notifier -> status of the deliveries of one change."""
        d, c = s.deliveries.c, s.changes.c
        query = sa.select(d.notifier, d.status).join(s.changes, c.id == d.change_id).where(c.uid == change_uid)
        with self.engine.connect() as conn:
            return {row.notifier: row.status for row in conn.execute(query)}

    def record_preview(self, uid: str, owner: str, change: Change, notifiers: Sequence[str]) -> bool:
        """The preview change and its deliveries, and the job `done`, in one transaction; only if the job
        was still `ready` and ours (never twice). Returns whether it was recorded."""
        j = s.preview_jobs.c
        with self.engine.begin() as conn:
            done = conn.execute(
                s.preview_jobs.update()
                .where(j.change_uid == uid, j.status == "ready", j.claimed_by == owner)
                .values(status="done", preview_uid=change.uid, claimed_by=None, claimed_until=None)
            )
            if done.rowcount != 1:
                return False
            self._insert_change(conn, change, notifiers)
        return True

    # ------------------------------------------------------------ thumbnails and housekeeping

    def preview_image(self, ref: str) -> bytes | None:
        """A thumbnail's PNG by its ref (`sha256:<hex>`), or None once pruned."""
        i = s.preview_images.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(i.png).where(i.id == ref.removeprefix("sha256:"))).first()
        return bytes(row[0]) if row else None

    def prune_previews(self, before: datetime) -> None:
        """Forget finished jobs and thumbnails older than `before` (`previews.keep`)."""
        j, i = s.preview_jobs.c, s.preview_images.c
        with self.engine.begin() as conn:
            conn.execute(s.preview_jobs.delete().where(j.created_at < before, j.status.notin_(OPEN)))
            conn.execute(s.preview_images.delete().where(i.created_at < before))

    def preview_jobs(self, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The queue as rows (newest first), for tests and `monitor status`."""
        j = s.preview_jobs.c
        query = sa.select(s.preview_jobs).order_by(j.created_at.desc())
        if statuses:
            query = query.where(j.status.in_(list(statuses)))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
