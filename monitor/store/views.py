"""Read-only queries for the dashboard and the Atom feeds, over the tables the monitor already writes.

Nothing here writes, and nothing here is needed by a check. Each function is synchronous SQLAlchemy
Core, to be run off the event loop (`await asyncio.to_thread(...)`), and runs the same on SQLite and
PostgreSQL: fields inside the JSON `data` column are read with SQLAlchemy's JSON path operators
(`json_extract` on SQLite, `->>` on PostgreSQL), so a page asks the database for the few rows it
shows instead of decoding every item.

A docket entry's key is `entry:<court>:<docket>:<entry>` and its `group` is `case:<court>:<docket>`
(`watchers/dockets.py`); a case's entries are one key range, which the `ix_items_key` index serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor.models import Change, Delivery, Item
from monitor.store import schema as s
from monitor.store.store import Store

ENTRY_PREFIX = "entry:"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Sighting:
    """One item as one watch holds it: "which sources saw it and when"."""

    watch_id: str
    item: Item
    present: bool  # still listed by the source (court RSS entries leave the feed's window after a day)
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class CaseHolding:
    """A watch that holds docket entries of a case (its `group`), and how many."""

    watch_id: str
    group: str
    entries: int


def _json_text(*path: str) -> sa.ColumnElement[str]:
    """`data -> path` as text, on both backends."""
    data = sa.type_coerce(s.items.c.data, sa.JSON)
    return (data[path[0]] if len(path) == 1 else data[tuple(path)]).as_string()


def _key_range(prefix: str) -> sa.ColumnElement[bool]:
    """Keys starting with `prefix` (which ends in ':'), as a range an index can serve (LIKE cannot, on SQLite)."""
    key = s.items.c.key
    return sa.and_(key >= prefix, key < prefix[:-1] + chr(ord(prefix[-1]) + 1))


_SIGHTING_COLUMNS = (s.items.c.watch_id, s.items.c.data, s.items.c.present, s.items.c.first_seen_at,
                     s.items.c.last_seen_at)


def _sighting(row: Any) -> Sighting:
    return Sighting(row.watch_id, Item.from_dict(row.data), bool(row.present), row.first_seen_at, row.last_seen_at)


def _newest_first() -> list[sa.ColumnElement[Any]]:
    """Newest first: by the source's date, then when first seen, then the longer (higher-numbered) key."""
    return [sa.nulls_last(_json_text("published").desc()), s.items.c.first_seen_at.desc(),
            sa.func.length(s.items.c.key).desc(), s.items.c.key.desc()]


def case_holdings(store: Store) -> list[CaseHolding]:
    """Every (watch, case) pair with docket entries, and how many entries the watch holds."""
    group = _json_text("group").label("grp")
    query = (sa.select(s.items.c.watch_id, group, sa.func.count().label("n"))
             .where(_key_range(ENTRY_PREFIX)).group_by(s.items.c.watch_id, group))
    with store.engine.connect() as conn:
        return [CaseHolding(r.watch_id, r.grp, r.n) for r in conn.execute(query) if r.grp]


def latest_by_group(store: Store) -> dict[str, Sighting]:
    """The newest docket entry of each case (by `group`), whichever watch holds it."""
    group = _json_text("group")
    rank = sa.func.row_number().over(partition_by=group, order_by=_newest_first()).label("rank")
    inner = sa.select(*_SIGHTING_COLUMNS, group.label("grp"), rank).where(_key_range(ENTRY_PREFIX)).subquery()
    query = sa.select(inner).where(inner.c.rank == 1)
    with store.engine.connect() as conn:
        return {row.grp: _sighting(row) for row in conn.execute(query) if row.grp}


def latest_by_watch(store: Store, watch_ids: Sequence[str], per_watch: int = 3) -> dict[str, list[Sighting]]:
    """The newest `per_watch` items of each watch (press releases, executive orders, ...)."""
    out: dict[str, list[Sighting]] = {w: [] for w in watch_ids}
    for chunk in _chunks(list(watch_ids)):
        rank = sa.func.row_number().over(partition_by=s.items.c.watch_id, order_by=[
            s.items.c.first_seen_at.desc(), sa.nulls_last(_json_text("published").desc()), s.items.c.key]).label("rank")
        inner = sa.select(*_SIGHTING_COLUMNS, rank).where(s.items.c.watch_id.in_(chunk)).subquery()
        query = sa.select(inner).where(inner.c.rank <= per_watch).order_by(inner.c.watch_id, inner.c.rank)
        with store.engine.connect() as conn:
            for row in conn.execute(query):
                out[row.watch_id].append(_sighting(row))
    return out


def case_entries(store: Store, court: str, docket: str) -> list[Sighting]:
    """Every sighting of every docket entry of one case (court + canonical docket number), by any watch."""
    query = sa.select(*_SIGHTING_COLUMNS).where(_key_range(f"{ENTRY_PREFIX}{court}:{docket}:"))
    with store.engine.connect() as conn:
        return [_sighting(row) for row in conn.execute(query)]


def docket_record(store: Store, court: str, docket: str) -> list[Sighting]:
    """The case itself as CourtListener describes it (`docket:<court>:<docket>`: judge, dates, caption)."""
    query = sa.select(*_SIGHTING_COLUMNS).where(s.items.c.key == f"docket:{court}:{docket}")
    with store.engine.connect() as conn:
        return [_sighting(row) for row in conn.execute(query)]


def watch_items(store: Store, watch_ids: Sequence[str] | None = None, *, limit: int = 100) -> list[Sighting]:
    """The newest items of some watches (or of all), newest first: for the Atom feeds."""
    query = sa.select(*_SIGHTING_COLUMNS).order_by(s.items.c.first_seen_at.desc(), *_newest_first()).limit(limit)
    if watch_ids is not None:
        query = query.where(s.items.c.watch_id.in_(list(watch_ids)))
    with store.engine.connect() as conn:
        return [_sighting(row) for row in conn.execute(query)]


def updates_of(store: Store, keys: Iterable[str]) -> dict[str, list[Change]]:
    """The `updated` changes recorded for these item keys, oldest first: what each update changed."""
    out: dict[str, list[Change]] = {}
    c = s.changes.c
    for chunk in _chunks(sorted(set(keys))):
        query = sa.select(c.data).where(c.kind == "updated", c.key.in_(chunk)).order_by(c.id)
        with store.engine.connect() as conn:
            for row in conn.execute(query):
                change = Change.from_dict(row.data)
                out.setdefault(change.key, []).append(change)
    return out


def outbox(store: Store, *, limit: int = 200) -> tuple[list[Delivery], list[Delivery], dict[str, int]]:
    """Pending and failed deliveries (the newest `limit` of each) and the count of every status."""
    pending = store._deliveries(s.deliveries.c.status == "pending", limit=limit, order=[s.deliveries.c.id.desc()])
    failed = store._deliveries(s.deliveries.c.status == "failed", limit=limit, order=[s.deliveries.c.id.desc()])
    return pending, failed, store.delivery_counts()


def shared_value(store: Store, key: str) -> Any:
    """State shared by all watches (the CourtListener call log), as the watchers keep it."""
    return store.get_notifier_state("_shared", key)


def _chunks(values: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
