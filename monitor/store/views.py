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

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from monitor.models import Change, Delivery, Item
from monitor.store import schema as s
from monitor.store.moves import CaseMove
from monitor.store.store import Store, WatchState

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
    text: sa.ColumnElement[str] = (data[path[0]] if len(path) == 1 else data[tuple(path)]).as_string()
    return text


def _key_range(prefix: str, key: sa.ColumnElement[str] = s.items.c.key) -> sa.ColumnElement[bool]:
    """Keys starting with `prefix` (which ends in ':'), as a range an index can serve (LIKE cannot, on SQLite)."""
    return sa.and_(key >= prefix, key < prefix[:-1] + chr(ord(prefix[-1]) + 1))


_SIGHTING_COLUMNS = (
    s.items.c.watch_id,
    s.items.c.data,
    s.items.c.present,
    s.items.c.first_seen_at,
    s.items.c.last_seen_at,
)


def _sighting(row: Any) -> Sighting:
    return Sighting(row.watch_id, Item.from_dict(row.data), bool(row.present), row.first_seen_at, row.last_seen_at)


# `entry:<court>:<docket>:...` and `docket:<court>:<docket>`, where <docket> is canonical (watchers/dockets.py:
# `3:25-cv-01350`, `25-cv-01350`, `21-14262`): the case is read off the key, without decoding the item.
_CASE_KEY = re.compile(r"^(?:entry|docket):([^:]+):((?:\d{1,2}:)?\d{2}-(?:[a-z~]{1,5}-\d{5}|\d{1,6}))(?::(.*))?$")


def group_of_key(key: str) -> str | None:
    """`case:<court>:<docket>` for a docket entry's key with a canonical docket number, else None."""
    match = _CASE_KEY.match(key)
    return f"case:{match.group(1)}:{match.group(2)}" if match else None


def _entry_number(key: str) -> int:
    match = _CASE_KEY.match(key)
    tail = match.group(3) if match else None
    return int(tail) if tail and tail.isdigit() else -1


def _scan_cases(store: Store) -> tuple[dict[tuple[str, str], int], dict[str, tuple[Any, int, str, str]]]:
    """One pass over the docket entries' keys: how many entries each watch holds of each case, and each
    case's latest entry as (first seen, number, key, watch). No item is decoded, except the rare entry
    whose docket number is not canonical (its group is then read from the item)."""
    t = s.items.c
    # First-seen times as the database stores them: only compared with each other, and converting 20,000
    # SQLite timestamps to datetimes would cost more than the rest of the scan.
    first_seen_raw = sa.type_coerce(t.first_seen_at, sa.String)
    counts: dict[tuple[str, str], int] = {}
    best: dict[str, tuple[Any, int, str, str]] = {}

    def count(watch_id: str, group: str, key: str, first_seen: Any, number: int) -> None:
        counts[watch_id, group] = counts.get((watch_id, group), 0) + 1
        rank = (first_seen, number, key, watch_id)
        if group not in best or rank > best[group]:
            best[group] = rank

    undecided: list[str] = []
    with store.engine.connect() as conn:
        for watch_id, key, first_seen in conn.execute(
            sa.select(t.watch_id, t.key, first_seen_raw).where(_key_range(ENTRY_PREFIX))
        ):
            match = _CASE_KEY.match(key)
            if match is None:
                undecided.append(key)
                continue
            court, docket, tail = match.groups()
            count(watch_id, f"case:{court}:{docket}", key, first_seen, int(tail) if tail and tail.isdigit() else -1)
        for chunk in _chunks(undecided):
            query = sa.select(t.watch_id, t.key, first_seen_raw, _json_text("group")).where(t.key.in_(chunk))
            for watch_id, key, first_seen, group in conn.execute(query):
                if group:
                    count(watch_id, group, key, first_seen, -1)
    return counts, best


def case_holdings(store: Store) -> list[CaseHolding]:
    """Every (watch, case) pair with docket entries, and how many entries the watch holds."""
    counts, _ = _scan_cases(store)
    return [CaseHolding(w, g, n) for (w, g), n in counts.items()]


def case_overview(store: Store) -> tuple[list[CaseHolding], dict[str, Sighting]]:
    """`case_holdings`, and the latest entry of each case: the one seen most recently, the highest-numbered
    of those seen at once (a docket's numbers follow the order of filing). Only those are read whole."""
    counts, best = _scan_cases(store)
    wanted = {(watch_id, key) for _, _, key, watch_id in best.values()}
    found = {(x.watch_id, x.item.key): x for x in sightings_of(store, {key for _, key in wanted})}
    latest = {group: found[watch_id, key] for group, (_, _, key, watch_id) in best.items() if (watch_id, key) in found}
    return [CaseHolding(w, g, n) for (w, g), n in counts.items()], latest


def latest_by_watch(store: Store, watch_ids: Sequence[str], per_watch: int = 3) -> dict[str, list[Sighting]]:
    """The newest `per_watch` items of each watch (press releases, executive orders, ...)."""
    out: dict[str, list[Sighting]] = {w: [] for w in watch_ids}
    for chunk in _chunks(list(watch_ids)):
        rank = (
            sa.func.row_number()
            .over(
                partition_by=s.items.c.watch_id,
                order_by=[s.items.c.first_seen_at.desc(), sa.nulls_last(_json_text("published").desc()), s.items.c.key],
            )
            .label("rank")
        )
        inner = sa.select(*_SIGHTING_COLUMNS, rank).where(s.items.c.watch_id.in_(chunk)).subquery()
        query = sa.select(inner).where(inner.c.rank <= per_watch).order_by(inner.c.watch_id, inner.c.rank)
        with store.engine.connect() as conn:
            for row in conn.execute(query):
                out[row.watch_id].append(_sighting(row))
    return out


@dataclass(frozen=True, slots=True)
class Mention:
    """An item held by a watch, without its content: enough to order and filter a timeline."""

    watch_id: str
    key: str
    first_seen_at: datetime
    published: str | None

    @property
    def number(self) -> int:
        return _entry_number(self.key)


def case_mentions(store: Store, court: str, docket: str) -> list[Mention]:
    """Every docket entry of one case (court + canonical docket number) held by any watch, and the case's
    own record (`docket:<court>:<docket>`, from CourtListener: judge, dates, caption)."""
    t = s.items.c
    query = sa.select(t.watch_id, t.key, t.first_seen_at, _json_text("published")).where(
        sa.or_(_key_range(f"{ENTRY_PREFIX}{court}:{docket}:"), t.key == f"docket:{court}:{docket}")
    )
    with store.engine.connect() as conn:
        return [Mention(*row) for row in conn.execute(query)]


def sightings_of(store: Store, keys: Iterable[str]) -> list[Sighting]:
    """Every watch's copy of these items, read whole."""
    out: list[Sighting] = []
    for chunk in _chunks(sorted(set(keys))):
        with store.engine.connect() as conn:
            out += [
                _sighting(row) for row in conn.execute(sa.select(*_SIGHTING_COLUMNS).where(s.items.c.key.in_(chunk)))
            ]
    return out


def watch_states(store: Store) -> dict[str, WatchState]:
    """Every watch's state without its plugin state (a watcher's own memory, which no page shows)."""
    columns = [c for c in s.watch_state.c if c.name != "plugin_state" and c.name in WatchState.__slots__]
    names = [c.name for c in columns]
    with store.engine.connect() as conn:
        return {row[0]: WatchState(**dict(zip(names, row, strict=True))) for row in conn.execute(sa.select(*columns))}


def watch_items(store: Store, watch_ids: Sequence[str] | None = None, *, limit: int = 100) -> list[Sighting]:
    """The items some watches (or all) saw last, newest first: for the Atom feeds. The newest are picked by
    key and time alone, then only those are read whole (sorting whole items would sort every item's data)."""
    t = s.items.c
    query = sa.select(t.watch_id, t.key).order_by(t.first_seen_at.desc(), t.key.desc()).limit(limit)
    if watch_ids is not None:
        query = query.where(t.watch_id.in_(list(watch_ids)))
    with store.engine.connect() as conn:
        picked = [(row.watch_id, row.key) for row in conn.execute(query)]
    place = {pair: i for i, pair in enumerate(picked)}
    found = [x for x in sightings_of(store, {key for _, key in picked}) if (x.watch_id, x.item.key) in place]
    return sorted(found, key=lambda x: place[x.watch_id, x.item.key])


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


# ---------------------------------------------------------------- what the case-aware stages recorded


def related_changes(
    store: Store, group: str, *, watch_ids: Sequence[str] | None = None, limit: int = 100
) -> list[Change]:
    """The agency items (press releases, orders, ...) linked to the case `group` (`case:<court>:<docket>`)
    by the related-cases stage (`monitor/related.py`: the change's `related`), newest first, one per item
    (its latest change). The link is recorded with the change, never in the item, so it is read here.

    Only the changes of `watch_ids` are read when given (the agency watches: their index spares the
    scan of every docket entry's change); a text match on the stored change (the quoted group, in the
    JSON of either backend) picks the few candidate rows; each is then decoded and kept only if its
    `related` names the case."""
    c = s.changes.c
    quoted = '"' + group.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + '"'
    query = (
        sa.select(c.data)
        .where(
            c.kind.in_(["added", "updated"]),
            ~_key_range(ENTRY_PREFIX, c.key),
            ~_key_range("docket:", c.key),
            sa.cast(c.data, sa.Text).like(f"%{quoted}%", escape="\\"),
        )
        .order_by(c.id.desc())
    )
    if watch_ids is not None:
        if not watch_ids:
            return []
        query = query.where(c.watch_id.in_(list(watch_ids)))
    found: dict[str, Change] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            change = Change.from_dict(row.data)
            if change.key not in found and any(r.get("group") == group for r in change.related):
                found[change.key] = change
                if len(found) >= limit:
                    break
    return list(found.values())


def case_moves_of(store: Store, court: str, docket: str) -> tuple[list[CaseMove], list[CaseMove]]:
    """Where the case (court, canonical docket number) went (its appeals, transfers, remands; oldest
    first) and where it came from (the moves that lead to it: it is the appeal of a followed case)."""
    c = s.case_moves.c
    query = (
        sa.select(s.case_moves)
        .where(
            sa.or_(
                sa.and_(c.origin_court == court, c.origin_docket == docket),
                sa.and_(c.court == court, c.docket == docket),
            )
        )
        .order_by(c.id)
    )
    with store.engine.connect() as conn:
        moves = [_case_move(row) for row in conn.execute(query)]
    went = [m for m in moves if (m.origin_court, m.origin_docket) == (court, docket)]
    came = [m for m in moves if (m.court, m.docket) == (court, docket)]
    return went, came


def all_case_moves(store: Store) -> list[CaseMove]:
    """Every recorded move of a followed case, oldest first (a small table: one row per appeal or transfer)."""
    with store.engine.connect() as conn:
        return [_case_move(row) for row in conn.execute(sa.select(s.case_moves).order_by(s.case_moves.c.id))]


def created_watches(store: Store, move_ids: Iterable[int]) -> dict[int, list[tuple[str, bool]]]:
    """The watches created for these moves: move id -> [(watch id, removed)], in order of creation."""
    wanted = sorted(set(move_ids))
    out: dict[int, list[tuple[str, bool]]] = {m: [] for m in wanted}
    if not wanted:
        return out
    a = s.auto_watches.c
    query = sa.select(a.move_id, a.id, a.removed_at).where(a.move_id.in_(wanted)).order_by(a.created_at, a.id)
    with store.engine.connect() as conn:
        for move_id, watch_id, removed_at in conn.execute(query):
            out[move_id].append((watch_id, removed_at is not None))
    return out


def _case_move(row: Any) -> CaseMove:
    m = row._mapping
    return CaseMove(**{name: m[name] for name in CaseMove.__slots__})


def outbox(store: Store, *, limit: int = 200) -> tuple[list[Delivery], list[Delivery], dict[str, int]]:
    """Pending and failed deliveries (the newest `limit` of each) and the count of every status."""
    pending = store._deliveries(s.deliveries.c.status == "pending", limit=limit, order=[s.deliveries.c.id.desc()])
    failed = store._deliveries(s.deliveries.c.status == "failed", limit=limit, order=[s.deliveries.c.id.desc()])
    return pending, failed, store.delivery_counts()


def shared_value(store: Store, key: str) -> Any:
    """State shared by all watches (the CourtListener call log), as the watchers keep it."""
    return store.get_notifier_state("_shared", key)


_T = TypeVar("_T")


def _chunks(values: list[_T], size: int = _CHUNK) -> Iterator[list[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
