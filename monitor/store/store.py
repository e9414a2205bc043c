"""All SQL lives behind this one class: watch state, current items, change history and the outbox.

The SQL is SQLAlchemy Core, which both SQLite (the default) and PostgreSQL run. The one write that
matters most, `commit_check`, puts the new snapshot, the changes and one delivery row per (change,
notifier) in a single transaction (DESIGN invariant 1): a crash before it re-detects the change, a
crash after it delivers from the outbox.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from monitor.errors import StoreError
from monitor.models import Change, Item
from monitor.store import schema as s
from monitor.store.aio import AsyncStore
from monitor.store.locks import LeaseFile
from monitor.store.moves import MovesStore
from monitor.store.outbox import OutboxStore
from monitor.store.previews import PreviewStore
from monitor.store.replicas import ReplicaStore
from monitor.store.shared import SharedStateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchState:
    watch_id: str
    fingerprint: str = ""
    plugin_state: Mapping[str, Any] | None = None
    info: Mapping[str, Any] | None = None
    baseline_done: bool = False
    last_check_at: datetime | None = None
    last_success_at: datetime | None = None
    last_change_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    down_alerted: bool = False
    not_before: datetime | None = None
    item_count: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    leased_at: datetime | None = None
    gaps: Mapping[str, Any] | None = None  # monitor/gaps.py: open gaps and content-change times


@dataclass(frozen=True, slots=True)
class StoredItem:
    item: Item
    present: bool
    first_seen_at: datetime
    gone_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class CheckWrite:
    """Everything one successful, changed check writes, in one transaction."""

    watch_id: str
    fingerprint: str
    plugin_state: Mapping[str, Any]
    info: Mapping[str, Any] | None
    upserts: Sequence[Item]  # new or changed items, and items that came back
    seen: Sequence[str]  # keys present now whose stored row is unchanged (last_seen_at bump)
    gone: Sequence[str]  # keys present before, absent now
    changes: Sequence[Change]
    routes: Mapping[str, Sequence[str]]  # change uid -> notifier names (possibly empty)
    item_count: int
    at: datetime
    # Keys the store held for this watch when the check began (the engine has just loaded them): saves
    # a SELECT per check. None: look them up.
    known: frozenset[str] | None = None
    gaps: Mapping[str, Any] | None = None  # the watch's gap state after this check (None: unchanged)


# How long a SQLite write waits for another process's lock before giving up. Well below the daemon's
# 30 s heartbeat limit (though store calls run off the event loop anyway), and long enough for any
# ordinary transaction of another process to finish.
SQLITE_BUSY_TIMEOUT = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for messages
        return "<unparseable database URL>"


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///path` URL (None for PostgreSQL or an in-memory database)."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().absolute()


def create_engine(url: str) -> sa.Engine:
    """An engine for `sqlite:///path` or `postgresql://...` (driver psycopg 3).

    A SQLite file is created here if it does not exist yet, and from then on opened in `mode=rw`: if it
    is deleted under a running monitor, SQLite then refuses to open it instead of quietly creating an
    empty one (which would re-baseline every watch and lose what was new in between).
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            f"state database URL {url!r} is not valid: use sqlite:///path/monitor.db or postgresql://user@host/db"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    sqlite3.connect(path).close()
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(
                    f"cannot create the state database {path}: {getattr(exc, 'strerror', None) or exc} "
                    "(check that its directory exists and is writable, or set MONITOR_STATE)"
                ) from exc
            parsed = parsed.set(database="file:" + quote(str(path))).update_query_dict({"mode": "rw", "uri": "true"})
        engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() in ("psycopg2", "postgresql", "") or parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)
    raise StoreError(f"state database {_redact(url)}: unsupported backend {backend!r}; use sqlite:/// or postgresql://")


def _readable(database: str, error: BaseException) -> str | None:
    """A database error as one sentence for the user (what happened, what to do), or None to keep it."""
    text = str(getattr(error, "orig", None) or error).lower()
    if "database is locked" in text or "database table is locked" in text:
        return (
            f"the state database {database} is locked by another process; gave up after "
            f"{SQLITE_BUSY_TIMEOUT:g} s (another monitor, a backup tool or an open sqlite3 shell holding a "
            "write transaction?); the check is repeated at its next run"
        )
    if "readonly database" in text or "read-only" in text:
        return (
            f"the state database {database} cannot be written (the file or its directory is read-only, "
            "or the disk is full); fix its permissions, then the next check records again"
        )
    if "unable to open database file" in text:
        return (
            f"the state database {database} cannot be opened: it was deleted or moved, or its directory is "
            "not accessible; restore it from a backup, or restart the monitor to begin a new one (every "
            "watch then records a new silent baseline)"
        )
    if "disk i/o error" in text or "database disk image is malformed" in text or "file is not a database" in text:
        return f"the state database {database} is damaged or its disk failed ({text.strip()}); restore it from a backup"
    if "no such table" in text:
        return (
            f"the state database {database} has lost its tables (replaced by another file?); restore it "
            "from a backup, or point MONITOR_STATE at the right file"
        )
    return None


class Store(ReplicaStore, OutboxStore, SharedStateStore, MovesStore, PreviewStore):
    """The whole store: watch state, items and history here; leases, the outbox, shared counters, the moves
    of followed cases (appeals, transfers) and document previews in their mixins."""

    def __init__(self, engine: sa.Engine, url: str):
        self.engine = engine
        self.url = url
        self.display_url = _redact(url)
        self._state_updates: dict[tuple[str, ...], Any] = {}
        self._ensure_stmt: Any = None
        self._items_insert: tuple[str, dict[str, Callable[[Any], Any]]] | None = None
        self._aio: AsyncStore | None = None
        # Values masked in any text the store writes (errors, alerts): secrets stop here, once.
        self.secrets: set[str] = set()
        # The SQLite file this store opened (device, inode): a file deleted or replaced under a running
        # monitor is noticed at the next transaction instead of being written blindly.
        self.path = sqlite_path(url)
        self._identity: tuple[int, int] | None = None
        self._file_leases: LeaseFile | None = None
        self.lost: str | None = None
        sa.event.listen(engine, "handle_error", self._on_error)
        if self.path is not None:
            sa.event.listen(engine, "begin", self._guard)

    # ------------------------------------------------------------ leases
    # SQLite: leases are record locks on a side file (monitor/store/locks.py), instant and freed by the
    # kernel when a process dies; PostgreSQL: lease rows (monitor/store/replicas.py), across hosts.

    @property
    def file_leases(self) -> LeaseFile | None:
        if self.path is None:
            return None
        if self._file_leases is None:
            self._file_leases = LeaseFile.for_database(self.path)
        return self._file_leases

    def try_lease(self, watch_id: str, owner: str, now: datetime, *, hold: timedelta, min_interval: timedelta) -> bool:
        leases = self.file_leases
        if leases is not None:
            return leases.acquire(watch_id)
        return super().try_lease(watch_id, owner, now, hold=hold, min_interval=min_interval)

    def renew_lease(self, watch_id: str, owner: str, until: datetime) -> bool:
        leases = self.file_leases
        if leases is not None:
            return watch_id in leases.held()  # a file lock lasts as long as its process
        return super().renew_lease(watch_id, owner, until)

    def release_lease(self, watch_id: str, owner: str) -> None:
        leases = self.file_leases
        if leases is not None:
            leases.release(watch_id)
            return
        super().release_lease(watch_id, owner)

    def lease_many(self, watch_ids: Sequence[str], owner: str, now: datetime, *, hold: timedelta) -> set[str]:
        leases = self.file_leases
        if leases is not None:
            return {w for w in watch_ids if leases.acquire(w)}
        return super().lease_many(watch_ids, owner, now, hold=hold)

    def release_many(self, watch_ids: Sequence[str], owner: str) -> None:
        leases = self.file_leases
        if leases is not None:
            for watch_id in watch_ids:
                leases.release(watch_id)
            return
        super().release_many(watch_ids, owner)

    @property
    def aio(self) -> AsyncStore:
        """The same store for async code: each call runs off the event loop (see `monitor.store.aio`)."""
        if self._aio is None:
            self._aio = AsyncStore(self)
        return self._aio

    def mask(self, text: str | None) -> str | None:
        if not text or not self.secrets:
            return text
        from monitor.config import mask

        return mask(text, self.secrets)

    # ------------------------------------------------------------ the database file itself

    def _remember_identity(self) -> None:
        if self.path is not None:
            st = os.stat(self.path)
            self._identity = (st.st_dev, st.st_ino)

    def _guard(self, _conn: Any = None) -> None:
        """Refuse to go on with a SQLite file that is no longer the one this store opened."""
        if self.lost:
            raise StoreError(self.lost)
        if self.path is None or self._identity is None:
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.lost = (
                f"the state database {self.path} was deleted while the monitor was running; nothing "
                "more is recorded or sent until it is restored from a backup, or the monitor is "
                "restarted to begin a new one (every watch then records a new silent baseline)"
            )
            log.error("%s", self.lost)
            raise StoreError(self.lost) from None
        except OSError as exc:
            raise StoreError(f"the state database {self.path} cannot be reached: {exc.strerror}") from exc
        if (st.st_dev, st.st_ino) != self._identity:
            self.lost = (
                f"the state database {self.path} was replaced by another file while the monitor was "
                "running; restart the monitor to use the new file (if that was intended), or put the "
                "original back"
            )
            log.error("%s", self.lost)
            raise StoreError(self.lost)

    def _on_error(self, context: Any) -> None:
        """Database errors the user can act on become one readable StoreError, never SQL and a traceback."""
        if getattr(context, "is_pre_ping", False):
            return
        message = _readable(str(self.path) if self.path else self.display_url, context.original_exception)
        if message:
            raise StoreError(message) from context.original_exception

    def health(self) -> str | None:
        """Why the store cannot be used right now (deleted, replaced, read-only, unreachable), or None."""
        try:
            self._guard()
            if self.path is not None:
                for target in (self.path, self.path.parent):
                    if not os.access(target, os.W_OK):
                        return (
                            f"the state database {self.path} cannot be written ({target} is read-only); "
                            "fix its permissions"
                        )
            self.ping()
        except StoreError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure means unusable
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            return f"state database {self.display_url} unreachable: {reason}"
        return None

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        store = cls(create_engine(url), url)
        try:
            if migrate:
                store.migrate()
            else:
                store.check_version()
        except sa.exc.OperationalError as exc:
            store.engine.dispose()
            raise StoreError(f"cannot open the state database {store.display_url}: {exc.orig or exc}") from exc
        except BaseException:
            store.engine.dispose()
            raise
        store._remember_identity()
        return store

    def close(self) -> None:
        if self._aio is not None:
            self._aio.shutdown()
        self.engine.dispose()

    # ------------------------------------------------------------ schema

    def schema_version(self, conn: sa.Connection) -> int:
        if not sa.inspect(conn).has_table("meta"):
            return 0
        row = conn.execute(sa.select(s.meta.c.value).where(s.meta.c.key == "schema_version")).first()
        return int(row[0]) if row else 0

    def check_version(self) -> int:
        with self.engine.connect() as conn:
            version = self.schema_version(conn)
        if version > s.LATEST:
            raise StoreError(
                f"the state database {self.display_url} was written by a newer version of the monitor "
                f"(schema {version}; this version knows up to {s.LATEST}). Upgrade the monitor, or point "
                "MONITOR_STATE at another database."
            )
        return version

    def migrate(self) -> int:
        """Bring the schema up to date; returns the version. Safe with several replicas starting at once."""
        self.check_version()
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(727001)"))  # one migrator at a time
            s.meta.create(conn, checkfirst=True)
            version = self.schema_version(conn)
            if version > s.LATEST:
                raise StoreError(f"the state database {self.display_url} is at schema {version}, newer than {s.LATEST}")
            for number, description, step in s.MIGRATIONS:
                if number <= version:
                    continue
                log.info("migrating state database to schema %d (%s)", number, description)
                step(conn)
                if version == 0:
                    conn.execute(s.meta.insert().values(key="schema_version", value=str(number)))
                else:
                    conn.execute(s.meta.update().where(s.meta.c.key == "schema_version").values(value=str(number)))
                version = number
        return version

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    # ------------------------------------------------------------ watch state

    @staticmethod
    def _state_from_row(row: Any) -> WatchState:
        m = row._mapping
        return WatchState(**{name: m[name] for name in WatchState.__slots__})

    def load_states(self, watch_ids: Iterable[str] | None = None) -> dict[str, WatchState]:
        query = sa.select(s.watch_state)
        if watch_ids is not None:
            query = query.where(s.watch_state.c.watch_id.in_(list(watch_ids)))
        with self.engine.connect() as conn:
            return {row.watch_id: self._state_from_row(row) for row in conn.execute(query)}

    def _ensure_state(self, conn: sa.Connection, watch_id: str) -> None:
        self._ensure_states(conn, [watch_id])

    def _ensure_states(self, conn: sa.Connection, watch_ids: Sequence[str]) -> None:
        """Create missing watch_state rows: one INSERT ... ON CONFLICT DO NOTHING (SQLite 3.24+ and
        PostgreSQL), race-free across replicas, instead of a SELECT and a savepointed INSERT per watch."""
        if not watch_ids:
            return
        stmt = self._ensure_stmt
        if stmt is None:
            # Built once: a statement built per call costs its construction and its cache key every time.
            if self.dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                stmt = pg_insert(s.watch_state).on_conflict_do_nothing()
            else:
                from sqlalchemy.dialects.sqlite import insert

                stmt = insert(s.watch_state).on_conflict_do_nothing()
            self._ensure_stmt = stmt
        if len(watch_ids) == 1:
            conn.execute(stmt, {"watch_id": watch_ids[0]})
        else:
            conn.execute(stmt, [{"watch_id": w} for w in watch_ids])

    def _state_update(self, columns: tuple[str, ...]) -> Any:
        """`UPDATE watch_state SET <columns> WHERE watch_id = :w_id`, built once per set of columns (a
        statement built per call costs its construction and a fresh cache key every time)."""
        stmt = self._state_updates.get(columns)
        if stmt is None:
            stmt = self._state_updates[columns] = (
                s.watch_state.update()
                .where(s.watch_state.c.watch_id == sa.bindparam("w_id"))
                .values({c: sa.bindparam(c) for c in columns})
            )
        return stmt

    def record_unchanged(
        self,
        results: Sequence[tuple[str, str, Mapping[str, Any], Mapping[str, Any] | None, Mapping[str, Any] | None]],
        at: datetime,
    ) -> None:
        """Successful checks that found nothing new: (watch_id, fingerprint, plugin_state, info, gaps),
        batched: one executemany per set of columns, not two statements per watch."""
        if not results:
            return
        common = {
            "last_check_at": at,
            "last_success_at": at,
            "consecutive_failures": 0,
            "failing_since": None,
            "last_error": None,
            "not_before": None,
        }
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for watch_id, fingerprint, plugin_state, info, gaps in results:
            values: dict[str, Any] = dict(fingerprint=fingerprint, plugin_state=dict(plugin_state), **common)
            if info:
                values["info"] = dict(info)
            if gaps is not None:
                values["gaps"] = dict(gaps)
            groups.setdefault(tuple(values), []).append({"w_id": watch_id, **values})
        with self.engine.begin() as conn:
            self._ensure_states(conn, [r[0] for r in results])
            for columns, rows in groups.items():
                conn.execute(self._state_update(columns), rows)

    def record_failure(
        self, watch_id: str, error: str, at: datetime, *, not_before: datetime | None = None
    ) -> WatchState:
        error = self.mask(error) or ""
        with self.engine.begin() as conn:
            self._ensure_state(conn, watch_id)
            t = s.watch_state.c
            conn.execute(
                s.watch_state.update()
                .where(t.watch_id == watch_id)
                .values(
                    last_check_at=at,
                    last_error=error,
                    last_error_at=at,
                    consecutive_failures=t.consecutive_failures + 1,
                    failing_since=sa.func.coalesce(t.failing_since, at),
                    not_before=not_before,
                )
            )
            row = conn.execute(sa.select(s.watch_state).where(t.watch_id == watch_id)).one()
        return self._state_from_row(row)

    def set_not_before(self, watch_id: str, when: datetime | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(s.watch_state.update().where(s.watch_state.c.watch_id == watch_id).values(not_before=when))

    def forget_watch(self, watch_id: str) -> None:
        """Drop a watch's state and items (its history and deliveries stay)."""
        with self.engine.begin() as conn:
            conn.execute(s.items.delete().where(s.items.c.watch_id == watch_id))
            conn.execute(s.watch_state.delete().where(s.watch_state.c.watch_id == watch_id))

    # ------------------------------------------------------------ items

    def load_items(self, watch_id: str) -> dict[str, StoredItem]:
        t = s.items.c
        query = sa.select(t.key, t.data, t.present, t.first_seen_at, t.gone_since).where(t.watch_id == watch_id)
        with self.engine.connect() as conn:
            return {
                row.key: StoredItem(Item.from_dict(row.data), bool(row.present), row.first_seen_at, row.gone_since)
                for row in conn.execute(query)
            }

    def find_items(self, key: str, *, exclude_watch: str | None = None) -> list[tuple[str, StoredItem]]:
        """The same item (by key) as seen by other watches: for one timeline across sources."""
        t = s.items.c
        query = sa.select(t.watch_id, t.data, t.present, t.first_seen_at, t.gone_since).where(t.key == key)
        if exclude_watch:
            query = query.where(t.watch_id != exclude_watch)
        with self.engine.connect() as conn:
            return [
                (
                    row.watch_id,
                    StoredItem(Item.from_dict(row.data), bool(row.present), row.first_seen_at, row.gone_since),
                )
                for row in conn.execute(query)
            ]

    def find_items_many(
        self, keys: Sequence[str], *, exclude_watch: str | None = None
    ) -> dict[str, list[tuple[str, StoredItem]]]:
        """`find_items` for many keys in one query: key -> [(watch_id, item)] as other watches hold it."""
        t = s.items.c
        found: dict[str, list[tuple[str, StoredItem]]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys)), 500):
                query = sa.select(t.watch_id, t.key, t.data, t.present, t.first_seen_at, t.gone_since).where(
                    t.key.in_(chunk)
                )
                if exclude_watch:
                    query = query.where(t.watch_id != exclude_watch)
                for row in conn.execute(query.order_by(t.first_seen_at, t.watch_id)):
                    found.setdefault(row.key, []).append(
                        (
                            row.watch_id,
                            StoredItem(Item.from_dict(row.data), bool(row.present), row.first_seen_at, row.gone_since),
                        )
                    )
        return found

    def _insert_items(self, conn: sa.Connection, watch_id: str, items: Sequence[Item], at: datetime) -> None:
        """INSERT one watch's new item rows (present, first and last seen `at`).

        On SQLite the rows go to the driver directly, as SQLAlchemy would send them: the same SQL, each
        value through its column's own bind processor (the JSON serialiser, the UTC datetime, the
        boolean), but the values shared by every row (watch, `at`, `present`) processed once per call
        rather than once per row, and no per-row parameter dictionaries: a first cycle inserts 20,000
        rows. PostgreSQL keeps SQLAlchemy's own executemany."""
        if self.dialect != "sqlite":
            rows = [
                {
                    "watch_id": watch_id,
                    "key": i.key,
                    "content_hash": i.content_hash,
                    "data": i.to_dict(),
                    "present": True,
                    "first_seen_at": at,
                    "last_seen_at": at,
                    "gone_since": None,
                }
                for i in items
            ]
            conn.execute(s.items.insert(), rows)
            return
        if self._items_insert is None:
            self._items_insert = _driver_insert(s.items, conn.dialect)
        sql, process = self._items_insert
        w, present, first, last, gone = (
            process["watch_id"](watch_id),
            process["present"](True),
            process["first_seen_at"](at),
            process["last_seen_at"](at),
            process["gone_since"](None),
        )
        key, content_hash, data = process["key"], process["content_hash"], process["data"]
        conn.exec_driver_sql(
            sql,
            [
                (w, key(i.key), content_hash(i.content_hash), data(i.to_dict()), present, first, last, gone)
                for i in items
            ],
        )

    def commit_check(self, write: CheckWrite) -> list[int]:
        """Snapshot + changes + outbox rows in one transaction. Returns the new change ids."""
        at = write.at
        t = s.items.c
        change_ids: list[int] = []
        with self.engine.begin() as conn:
            self._ensure_state(conn, write.watch_id)
            if write.upserts:
                keys = [item.key for item in write.upserts]
                existing: set[str] | frozenset[str]
                if write.known is None:
                    existing = set()
                    for chunk in _chunks(keys, 500):
                        existing.update(
                            r[0]
                            for r in conn.execute(
                                sa.select(t.key).where(t.watch_id == write.watch_id, t.key.in_(chunk))
                            )
                        )
                else:
                    existing = write.known.intersection(keys)
                new_items = [i for i in write.upserts if i.key not in existing]
                if new_items:
                    self._insert_items(conn, write.watch_id, new_items, at)
                for item in write.upserts:
                    if item.key in existing:
                        conn.execute(
                            s.items.update()
                            .where(t.watch_id == write.watch_id, t.key == item.key)
                            .values(
                                content_hash=item.content_hash,
                                data=item.to_dict(),
                                present=True,
                                last_seen_at=at,
                                gone_since=None,
                            )
                        )
            for chunk in _chunks(list(write.seen), 500):
                conn.execute(
                    s.items.update().where(t.watch_id == write.watch_id, t.key.in_(chunk)).values(last_seen_at=at)
                )
            for chunk in _chunks(list(write.gone), 500):
                conn.execute(
                    s.items.update()
                    .where(t.watch_id == write.watch_id, t.key.in_(chunk))
                    .values(present=False, gone_since=at)
                )
            for change in write.changes:
                change_ids.append(self._insert_change(conn, change, write.routes.get(change.uid, ()), at=at))
            values: dict[str, Any] = {
                "fingerprint": write.fingerprint,
                "plugin_state": dict(write.plugin_state),
                "baseline_done": True,
                "last_check_at": at,
                "last_success_at": at,
                "consecutive_failures": 0,
                "failing_since": None,
                "last_error": None,
                "not_before": None,
                "item_count": write.item_count,
            }
            if write.info:
                values["info"] = dict(write.info)
            if write.gaps is not None:
                values["gaps"] = dict(write.gaps)
            if any(c.kind in ("added", "updated", "removed") for c in write.changes):
                values["last_change_at"] = at
            conn.execute(self._state_update(tuple(values)), {"w_id": write.watch_id, **values})
        return change_ids

    def record_gap_changes(
        self, watch_id: str, gaps: Mapping[str, Any], changes: Sequence[Change], notifiers: Sequence[str]
    ) -> None:
        """Gaps that opened or closed at a check that found nothing new: their alerts, their outbox rows and
        the watch's gap state, in one transaction (said once, even across a crash)."""
        with self.engine.begin() as conn:
            self._ensure_state(conn, watch_id)
            for change in changes:
                self._insert_change(conn, change, notifiers)
            conn.execute(s.watch_state.update().where(s.watch_state.c.watch_id == watch_id).values(gaps=dict(gaps)))

    def _insert_change(
        self, conn: sa.Connection, change: Change, notifiers: Sequence[str], *, at: datetime | None = None
    ) -> int:
        """The change's row and one pending outbox row per notifier, due `at` (default: when detected)."""
        due = at or change.detected_at
        result = conn.execute(
            s.changes.insert().values(
                uid=change.uid,
                watch_id=change.watch_id,
                kind=change.kind,
                key=change.key,
                detected_at=change.detected_at,
                data=change.to_dict(),
            )
        )
        change_id = s.inserted_id(result)
        if notifiers:
            conn.execute(
                s.deliveries.insert(),
                [
                    {
                        "change_id": change_id,
                        "notifier": n,
                        "status": "pending",
                        "attempts": 0,
                        "created_at": due,
                        "next_attempt_at": due,
                    }
                    for n in notifiers
                ],
            )
        return change_id

    def record_status_change(self, change: Change, notifiers: Sequence[str], *, down_alerted: bool) -> None:
        """A source_down / source_recovered alert, with its outbox rows and the watch's flag, at once."""
        with self.engine.begin() as conn:
            self._ensure_state(conn, change.watch_id)
            self._insert_change(conn, change, notifiers)
            conn.execute(
                s.watch_state.update()
                .where(s.watch_state.c.watch_id == change.watch_id)
                .values(down_alerted=down_alerted)
            )

    # ------------------------------------------------------------ history

    def history(
        self,
        *,
        watch_id: str | None = None,
        limit: int = 50,
        since: datetime | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[Change]:
        c = s.changes.c
        query = sa.select(c.data).order_by(c.id.desc()).limit(limit)
        if watch_id:
            query = query.where(c.watch_id == watch_id)
        if since:
            query = query.where(c.detected_at >= since)
        if kinds:
            query = query.where(c.kind.in_(list(kinds)))
        with self.engine.connect() as conn:
            return [Change.from_dict(row.data) for row in conn.execute(query)]


_COLUMN_ORDER = ("watch_id", "key", "content_hash", "data", "present", "first_seen_at", "last_seen_at", "gone_since")


def _same_value(value: Any) -> Any:
    return value


def _driver_insert(table: sa.Table, dialect: sa.Dialect) -> tuple[str, dict[str, Callable[[Any], Any]]]:
    """`table.insert()` as this (qmark) dialect compiles it, and each column's bind processor (identity
    where the type has none): what SQLAlchemy's own executemany would apply to each row."""
    compiled = table.insert().compile(dialect=dialect)
    if tuple(compiled.positiontup or ()) != _COLUMN_ORDER:
        raise RuntimeError(f"unexpected column order for {table.name}: {compiled.positiontup}")
    process: dict[str, Callable[[Any], Any]] = {}
    for column in table.c:
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        process[column.name] = processor or _same_value
    return str(compiled), process


def new_uid() -> str:
    return uuid.uuid4().hex


_T = TypeVar("_T")


def _chunks(values: list[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
