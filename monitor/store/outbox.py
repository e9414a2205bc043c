"""Store methods for the delivery outbox (claim, mark, retry) and the notifiers' small memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from monitor.models import Change, Delivery, utcnow
from monitor.store import schema as s


class OutboxStore:
    """Mixed into `Store` (which provides `engine` and `dialect`)."""

    engine: sa.Engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _deliveries(self, where: Any, *, limit: int | None = None, order: Any = None) -> list[Delivery]:
        d, c = s.deliveries.c, s.changes.c
        query = (
            sa.select(
                d.id,
                d.notifier,
                d.status,
                d.attempts,
                d.next_attempt_at,
                d.last_error,
                d.sent_at,
                c.data.label("change"),
            )
            .join(s.changes, s.changes.c.id == d.change_id)
            .where(where)
            .order_by(*(order if order is not None else [d.id]))
        )
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [
                Delivery(
                    id=r.id,
                    change=Change.from_dict(r.change),
                    notifier=r.notifier,
                    status=r.status,
                    attempts=r.attempts,
                    next_attempt_at=r.next_attempt_at,
                    last_error=r.last_error,
                    sent_at=r.sent_at,
                )
                for r in conn.execute(query)
            ]

    def due_deliveries(self, now: datetime, *, limit: int = 500) -> list[Delivery]:
        d = s.deliveries.c
        return self._deliveries(sa.and_(d.status == "pending", d.next_attempt_at <= now), limit=limit)

    def claim_deliveries(
        self, now: datetime, owner: str, *, hold: timedelta = timedelta(minutes=5), limit: int = 500
    ) -> list[Delivery]:
        """Due deliveries, claimed for `owner` so that no other replica sends them meanwhile."""
        d = s.deliveries.c
        free = sa.or_(d.claimed_until.is_(None), d.claimed_until < now, d.claimed_by == owner)
        due = sa.and_(d.status == "pending", d.next_attempt_at <= now, free)
        with self.engine.begin() as conn:
            query = sa.select(d.id).where(due).order_by(d.id).limit(limit)
            if self.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = [r[0] for r in conn.execute(query)]
            if not ids:
                return []
            conn.execute(
                s.deliveries.update().where(d.id.in_(ids), due).values(claimed_by=owner, claimed_until=now + hold)
            )
        mine = sa.and_(d.id.in_(ids), d.claimed_by == owner, d.status == "pending")
        return self._deliveries(mine)

    def claim_owners(self, now: datetime) -> set[str]:
        """Owners holding unexpired delivery claims or watch leases."""
        d, t = s.deliveries.c, s.watch_state.c
        with self.engine.connect() as conn:
            owners = {r[0] for r in conn.execute(sa.select(d.claimed_by).distinct().where(d.claimed_until >= now))}
            owners |= {r[0] for r in conn.execute(sa.select(t.lease_owner).distinct().where(t.lease_until >= now))}
        return {o for o in owners if o}

    def release_owner(self, owner: str) -> None:
        """Free every claim and lease of an owner known to be dead (a crashed process on this host)."""
        d, t = s.deliveries.c, s.watch_state.c
        with self.engine.begin() as conn:
            conn.execute(s.deliveries.update().where(d.claimed_by == owner).values(claimed_by=None, claimed_until=None))
            conn.execute(
                s.watch_state.update().where(t.lease_owner == owner).values(lease_owner=None, lease_until=None)
            )

    def pending_deliveries(self, *, limit: int = 200) -> list[Delivery]:
        return self._deliveries(s.deliveries.c.status == "pending", limit=limit)

    def failed_deliveries(self, *, limit: int = 200) -> list[Delivery]:
        return self._deliveries(s.deliveries.c.status == "failed", limit=limit)

    def recent_deliveries(self, statuses: Sequence[str] | None = None, *, limit: int = 50) -> list[Delivery]:
        """The newest deliveries (of the given statuses, or any), newest first: `monitor deliveries`."""
        d = s.deliveries.c
        where = d.status.in_(list(statuses)) if statuses else sa.true()
        return self._deliveries(where, limit=limit, order=[d.id.desc()])

    def delivery_statuses(self, delivery_ids: Sequence[int]) -> dict[int, str]:
        """id -> status of those of `delivery_ids` that exist."""
        d = s.deliveries.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(d.id, d.status).where(d.id.in_(list(delivery_ids))))
            return {row.id: row.status for row in rows}

    def next_due_at(self) -> datetime | None:
        d = s.deliveries.c
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.min(d.next_attempt_at)).where(d.status == "pending")).scalar()

    def mark_sent(self, delivery_ids: Sequence[int], at: datetime, result: Mapping[str, Any] | None = None) -> None:
        d = s.deliveries.c
        with self.engine.begin() as conn:
            conn.execute(
                s.deliveries.update()
                .where(d.id.in_(list(delivery_ids)))
                .values(
                    status="sent",
                    sent_at=at,
                    attempts=d.attempts + 1,
                    last_error=None,
                    result=dict(result) if result else None,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    def mask(self, text: str | None) -> str | None:
        raise NotImplementedError

    def mark_retry(self, delivery_ids: Sequence[int], error: str, next_at: datetime) -> None:
        error = self.mask(error) or ""  # a receiver's error page may echo the request's credentials
        d = s.deliveries.c
        with self.engine.begin() as conn:
            conn.execute(
                s.deliveries.update()
                .where(d.id.in_(list(delivery_ids)))
                .values(
                    attempts=d.attempts + 1,
                    last_error=error,
                    next_attempt_at=next_at,
                    claimed_by=None,
                    claimed_until=None,
                )
            )

    def postpone(self, delivery_ids: Sequence[int], until: datetime) -> None:
        """Hold deliveries back (a digest notifier) without counting an attempt."""
        d = s.deliveries.c
        with self.engine.begin() as conn:
            conn.execute(
                s.deliveries.update()
                .where(d.id.in_(list(delivery_ids)))
                .values(next_attempt_at=until, claimed_by=None, claimed_until=None)
            )

    def mark_failed(self, delivery_ids: Sequence[int], error: str) -> None:
        error = self.mask(error) or ""
        d = s.deliveries.c
        with self.engine.begin() as conn:
            conn.execute(
                s.deliveries.update()
                .where(d.id.in_(list(delivery_ids)))
                .values(status="failed", attempts=d.attempts + 1, last_error=error, claimed_by=None, claimed_until=None)
            )

    def retry_failed(self, delivery_ids: Sequence[int] | None = None, *, now: datetime | None = None) -> int:
        """Put failed deliveries back in the queue (all, or the given ids); returns how many."""
        d = s.deliveries.c
        where = d.status == "failed"
        if delivery_ids:
            where = sa.and_(where, d.id.in_(list(delivery_ids)))
        with self.engine.begin() as conn:
            result = conn.execute(
                s.deliveries.update().where(where).values(status="pending", attempts=0, next_attempt_at=now or utcnow())
            )
        return result.rowcount or 0

    def delivery_counts(self) -> dict[str, int]:
        d = s.deliveries.c
        with self.engine.connect() as conn:
            return {row[0]: row[1] for row in conn.execute(sa.select(d.status, sa.func.count()).group_by(d.status))}

    # ------------------------------------------------------------ notifier memory

    def get_notifier_state(self, notifier: str, key: str) -> Any:
        n = s.notifier_state.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(n.value).where(n.notifier == notifier, n.key == key)).first()
        return row[0] if row else None

    def set_notifier_state(self, notifier: str, key: str, value: Any) -> None:
        n = s.notifier_state.c
        with self.engine.begin() as conn:
            updated = conn.execute(
                s.notifier_state.update()
                .where(n.notifier == notifier, n.key == key)
                .values(value=value, updated_at=utcnow())
            )
            if not updated.rowcount:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            s.notifier_state.insert().values(
                                notifier=notifier, key=key, value=value, updated_at=utcnow()
                            )
                        )
                except sa.exc.IntegrityError:
                    conn.execute(
                        s.notifier_state.update()
                        .where(n.notifier == notifier, n.key == key)
                        .values(value=value, updated_at=utcnow())
                    )
