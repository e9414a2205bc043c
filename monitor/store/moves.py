"""Store methods for where followed cases went (appeals, transfers, remands) and the watches made for them.

A move is recorded once per (followed case, court, docket number): the unique key makes a second
sighting of the same appeal (by the case's other watch, or by another replica) a no-op, and a move
whose watches the user removed stays recorded as `removed`, so the entry that found it never starts it
again. Starting to follow is one transaction: the move, its watches and the announcement with its
outbox rows, so the announcement goes out exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor.models import Change
from monitor.store import schema as s


@dataclass(frozen=True, slots=True)
class CaseMove:
    id: int
    origin_court: str
    origin_docket: str
    kind: str
    court: str
    docket: str | None
    status: str  # pending | following | removed | abandoned
    parent: str
    trigger_key: str
    trigger: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    next_try_at: datetime | None = None
    tries: int = 0
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AutoWatch:
    """A watch the monitor created, with the move it follows."""

    id: str
    parent: str
    config: Mapping[str, Any]
    created_at: datetime
    move: CaseMove
    removed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewMove:
    origin_court: str
    origin_docket: str
    kind: str
    court: str
    docket: str | None
    parent: str
    trigger_key: str
    trigger: Mapping[str, Any]


def _move(row: Any) -> CaseMove:
    m = row._mapping
    return CaseMove(**{name: m[name] for name in CaseMove.__slots__})


class MovesStore:
    """Mixed into `Store` (which provides `engine` and `_insert_change`)."""

    engine: sa.Engine

    def _insert_change(self, conn: sa.Connection, change: Change, notifiers: Sequence[str]) -> int:
        raise NotImplementedError

    # ------------------------------------------------------------ reading

    def case_moves(
        self, origins: Sequence[tuple[str, str]] | None = None, *, statuses: Sequence[str] | None = None
    ) -> list[CaseMove]:
        """Moves of these followed cases ((court, canonical docket number); default all), oldest first."""
        c = s.case_moves.c
        query = sa.select(s.case_moves).order_by(c.id)
        if origins is not None:
            if not origins:
                return []
            query = query.where(
                sa.or_(*(sa.and_(c.origin_court == court, c.origin_docket == docket) for court, docket in origins))
            )
        if statuses is not None:
            query = query.where(c.status.in_(list(statuses)))
        with self.engine.connect() as conn:
            return [_move(row) for row in conn.execute(query)]

    def auto_watches(self, *, removed: bool = False) -> list[AutoWatch]:
        """The watches the monitor created (and, with `removed`, those the user removed too)."""
        a = s.auto_watches.c
        query = (
            sa.select(a.id, a.parent, a.config, a.created_at, a.removed_at, *s.case_moves.c)
            .join(s.case_moves, s.case_moves.c.id == a.move_id)
            .order_by(a.created_at, a.id)
        )
        if not removed:
            query = query.where(a.removed_at.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(query.set_label_style(sa.LABEL_STYLE_NONE)).all()
        watches = []
        for row in rows:
            m = row._mapping
            move = CaseMove(**{name: m[s.case_moves.c[name]] for name in CaseMove.__slots__})
            watches.append(AutoWatch(m[a.id], m[a.parent], m[a.config], m[a.created_at], move, m[a.removed_at]))
        return watches

    def auto_watches_digest(self) -> str:
        """Changes whenever a watch is created or removed: the daemon's cue to schedule them (one small query)."""
        a = s.auto_watches.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    sa.func.count(), sa.func.count(a.removed_at), sa.func.max(a.created_at), sa.func.max(a.removed_at)
                )
            ).one()
        return "|".join(str(v) for v in row)

    # ------------------------------------------------------------ writing

    def add_pending_move(self, move: NewMove, at: datetime) -> CaseMove | None:
        """Remember a move whose new docket number is not known yet; None if this entry was seen before."""
        c = s.case_moves.c
        with self.engine.begin() as conn:
            seen = conn.execute(
                sa.select(c.id).where(
                    c.origin_court == move.origin_court,
                    c.origin_docket == move.origin_docket,
                    c.trigger_key == move.trigger_key,
                    c.court == move.court,
                )
            ).first()
            if seen:
                return None
            inserted = conn.execute(
                s.case_moves.insert().values(
                    **_new_move(move, at), docket=None, status="pending", updated_at=at, next_try_at=at
                )
            )
            new_id = s.inserted_id(inserted)
            return _move(conn.execute(sa.select(s.case_moves).where(c.id == new_id)).one())

    def retry_move_later(
        self, move_id: int, next_try_at: datetime | None, note: str, at: datetime, *, abandon: bool = False
    ) -> None:
        c = s.case_moves.c
        values: dict[str, Any] = {"next_try_at": next_try_at, "note": note, "updated_at": at, "tries": c.tries + 1}
        if abandon:
            values["status"] = "abandoned"
        with self.engine.begin() as conn:
            conn.execute(s.case_moves.update().where(c.id == move_id, c.status == "pending").values(**values))

    def start_following(
        self,
        move: NewMove,
        watches: Sequence[tuple[str, Mapping[str, Any]]],
        announcement: Change | None,
        notifiers: Sequence[str],
        at: datetime,
        *,
        resolves: Sequence[int] = (),
    ) -> CaseMove | None:
        """Record the move with its docket number, create its watches and queue the announcement, in one
        transaction; pending moves in `resolves` become this one. None if this move (court and number)
        of this case is already recorded, whatever its status: it is followed once, and a move the user
        removed is never started again."""
        c, a = s.case_moves.c, s.auto_watches.c
        try:
            with self.engine.begin() as conn:
                known = conn.execute(
                    sa.select(c.id).where(
                        c.origin_court == move.origin_court,
                        c.origin_docket == move.origin_docket,
                        c.court == move.court,
                        c.docket == move.docket,
                    )
                ).first()
                if known:
                    if resolves:  # the pending ones were this move all along
                        conn.execute(s.case_moves.delete().where(c.id.in_(list(resolves)), c.status == "pending"))
                    return None
                taken = {r[0] for r in conn.execute(sa.select(a.id).where(a.id.in_([w for w, _ in watches])))}
                values = {"docket": move.docket, "status": "following", "updated_at": at, "next_try_at": None}
                pending = list(resolves)
                if pending:
                    move_id = pending[0]
                    conn.execute(
                        s.case_moves.update()
                        .where(c.id == move_id)
                        .values(**values, note=f"number found: {move.docket}")
                    )
                    if pending[1:]:
                        conn.execute(s.case_moves.delete().where(c.id.in_(pending[1:]), c.status == "pending"))
                else:
                    inserted = conn.execute(s.case_moves.insert().values(**_new_move(move, at), **values))
                    move_id = s.inserted_id(inserted)
                for watch_id, config in watches:
                    if watch_id not in taken:
                        conn.execute(
                            s.auto_watches.insert().values(
                                id=watch_id, move_id=move_id, parent=move.parent, config=dict(config), created_at=at
                            )
                        )
                if announcement is not None:
                    self._insert_change(conn, announcement, notifiers)
                return _move(conn.execute(sa.select(s.case_moves).where(c.id == move_id)).one())
        except sa.exc.IntegrityError:
            return None  # another process recorded the same move at the same moment

    def remove_auto_watches(self, watch_ids: Sequence[str], at: datetime) -> list[AutoWatch]:
        """Stop the given created watches (kept as removed: never created again); a move none of whose
        watches is left becomes `removed`. Returns the watches removed."""
        a, c = s.auto_watches.c, s.case_moves.c
        targets = [w for w in self.auto_watches() if w.id in set(watch_ids)]
        if not targets:
            return []
        with self.engine.begin() as conn:
            conn.execute(
                s.auto_watches.update()
                .where(a.id.in_([w.id for w in targets]), a.removed_at.is_(None))
                .values(removed_at=at)
            )
            for move_id in {w.move.id for w in targets}:
                left = conn.execute(
                    sa.select(sa.func.count()).where(a.move_id == move_id, a.removed_at.is_(None))
                ).scalar()
                if not left:
                    conn.execute(s.case_moves.update().where(c.id == move_id).values(status="removed", updated_at=at))
        return targets


def _new_move(move: NewMove, at: datetime) -> dict[str, Any]:
    """The columns of a new `case_moves` row that say which move of which case it is (pending or followed)."""
    return {
        "origin_court": move.origin_court,
        "origin_docket": move.origin_docket,
        "kind": move.kind,
        "court": move.court,
        "parent": move.parent,
        "trigger_key": move.trigger_key,
        "trigger": dict(move.trigger),
        "created_at": at,
        "tries": 0,
    }
