"""Store methods for several replicas: watch leases and replica heartbeats."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa

from monitor.store import schema as s


class ReplicaStore:
    """Mixed into `Store` (which provides `engine` and `_ensure_state`)."""

    engine: sa.Engine

    def _ensure_state(self, conn: sa.Connection, watch_id: str) -> None:
        raise NotImplementedError

    def _ensure_states(self, conn: sa.Connection, watch_ids: Sequence[str]) -> None:
        raise NotImplementedError

    def try_lease(self, watch_id: str, owner: str, now: datetime, *, hold: timedelta, min_interval: timedelta) -> bool:
        """Claim a due watch for `owner`; True means this replica checks it now and nobody else does.

        Due means nobody started a check of it in the last `min_interval`. One atomic UPDATE, so it is
        race-free on PostgreSQL (a concurrent claimer blocks on the row, then re-reads it and finds the
        lease taken) and on SQLite (one writer at a time). A lease left by a replica that died expires
        after `hold`; then another replica takes the watch over.
        """
        t = s.watch_state.c
        with self.engine.begin() as conn:
            self._ensure_state(conn, watch_id)
            result = conn.execute(
                s.watch_state.update()
                .where(
                    t.watch_id == watch_id,
                    sa.or_(t.lease_until.is_(None), t.lease_until < now),
                    sa.or_(t.leased_at.is_(None), t.leased_at <= now - min_interval),
                )
                .values(lease_owner=owner, lease_until=now + hold, leased_at=now)
            )
        return result.rowcount == 1

    def lease_many(self, watch_ids: Sequence[str], owner: str, now: datetime, *, hold: timedelta) -> set[str]:
        """Lease every given watch that nobody else holds, at once; returns those now held by `owner`.

        For `monitor check`: whoever else holds a watch (a daemon, another `check`) is checking it right
        now, and checking it at the same time would read the same old snapshot and alert twice.
        """
        t = s.watch_state.c
        held: set[str] = set()
        with self.engine.begin() as conn:
            self._ensure_states(conn, list(watch_ids))
            for chunk in _chunks(list(watch_ids), 500):
                conn.execute(
                    s.watch_state.update()
                    .where(
                        t.watch_id.in_(chunk),
                        sa.or_(t.lease_until.is_(None), t.lease_until < now, t.lease_owner == owner),
                    )
                    .values(lease_owner=owner, lease_until=now + hold, leased_at=now)
                )
                held.update(
                    r[0]
                    for r in conn.execute(sa.select(t.watch_id).where(t.watch_id.in_(chunk), t.lease_owner == owner))
                )
        return held

    def release_many(self, watch_ids: Sequence[str], owner: str) -> None:
        t = s.watch_state.c
        with self.engine.begin() as conn:
            for chunk in _chunks(list(watch_ids), 500):
                conn.execute(
                    s.watch_state.update()
                    .where(t.watch_id.in_(chunk), t.lease_owner == owner)
                    .values(lease_owner=None, lease_until=None)
                )

    def heartbeat(self, owner: str, now: datetime, *, config_digest: str, version: str) -> None:
        """Record that replica `owner` is alive and which configuration it runs."""
        r = s.replicas.c
        with self.engine.begin() as conn:
            updated = conn.execute(
                s.replicas.update()
                .where(r.owner == owner)
                .values(last_seen=now, config_digest=config_digest, version=version)
            )
            if not updated.rowcount:
                conn.execute(
                    s.replicas.insert().values(
                        owner=owner, started_at=now, last_seen=now, config_digest=config_digest, version=version
                    )
                )

    def replicas(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(s.replicas).order_by(s.replicas.c.started_at))
            return [dict(row._mapping) for row in rows]

    def forget_replica(self, owner: str) -> None:
        """A replica shutting down cleanly: drop its heartbeat and hand back its leases at once."""
        t = s.watch_state.c
        with self.engine.begin() as conn:
            conn.execute(s.replicas.delete().where(s.replicas.c.owner == owner))
            conn.execute(
                s.watch_state.update().where(t.lease_owner == owner).values(lease_owner=None, lease_until=None)
            )

    def renew_lease(self, watch_id: str, owner: str, until: datetime) -> bool:
        """Extend a lease still held by `owner` (a long check); False if it was lost meanwhile."""
        t = s.watch_state.c
        with self.engine.begin() as conn:
            result = conn.execute(
                s.watch_state.update().where(t.watch_id == watch_id, t.lease_owner == owner).values(lease_until=until)
            )
        return result.rowcount == 1

    def release_lease(self, watch_id: str, owner: str) -> None:
        t = s.watch_state.c
        with self.engine.begin() as conn:
            conn.execute(
                s.watch_state.update()
                .where(t.watch_id == watch_id, t.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )


_T = TypeVar("_T")


def _chunks(values: list[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
