"""Store method for shared counters that several processes and replicas update: read, change, write, atomically.

An API budget shared by every watch of an account (CourtListener's calls per minute, hour and day) is
one small JSON value that every check reads and changes ("is there room? then count my call"). Two
processes doing that read-then-write at once would both see the last free call and both take it. So
the change runs inside one transaction that holds the value's row lock from the read to the write:

- PostgreSQL: `SELECT ... FOR UPDATE` on the row; a second replica's transaction waits on the lock
  and then reads the value the first one wrote.
- SQLite: the transaction starts with a write (a no-op UPDATE of the row), which takes SQLite's one
  write lock before anything is read: a second process waits (busy timeout) instead of reading a
  value about to change. (Reading first and writing later would let two readers both upgrade, and
  SQLite in WAL mode refuses the second upgrade outright.)

The value lives in `notifier_state` (no schema change), under a notifier name that no real notifier
can have (names starting with `_`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from monitor.models import utcnow
from monitor.store import schema as s

T = TypeVar("T")


class SharedStateStore:
    """Mixed into `Store` (which provides `engine`)."""

    engine: sa.Engine

    def update_shared_value(self, notifier: str, key: str, change: Callable[[Any], tuple[Any, T]]) -> T:
        """Apply `change(current value or None) -> (new value, result)` atomically; return the result.

        `change` runs inside the transaction, holding the row lock: keep it quick and free of I/O.
        It is called exactly once per successful transaction (a retried transaction calls it again
        with the value then current).
        """
        n = s.notifier_state.c
        where = sa.and_(n.notifier == notifier, n.key == key)
        self._ensure_shared_row(notifier, key)
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                row = conn.execute(sa.select(n.value).where(where).with_for_update()).first()
            else:
                conn.execute(s.notifier_state.update().where(where).values(updated_at=n.updated_at))
                row = conn.execute(sa.select(n.value).where(where)).first()
            current = row[0] if row else None
            new_value, result = change(current)
            conn.execute(s.notifier_state.update().where(where).values(value=new_value, updated_at=utcnow()))
        return result

    def _ensure_shared_row(self, notifier: str, key: str) -> None:
        """The row exists before anyone locks it (two first writers would otherwise race on the INSERT)."""
        n = s.notifier_state.c
        with self.engine.connect() as conn:
            if conn.execute(sa.select(n.key).where(n.notifier == notifier, n.key == key)).first():
                return
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    s.notifier_state.insert().values(notifier=notifier, key=key, value={}, updated_at=utcnow())
                )
        except sa.exc.IntegrityError:
            pass  # another process inserted it first: fine
