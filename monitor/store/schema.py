"""The database schema and its versioned migrations, the same for SQLite and PostgreSQL.

Each migration is a function of a connection, applied in its own transaction, recorded in `meta`.
A database stamped with a newer version than this code knows is refused with a clear error, so an
older monitor can never scribble over a newer schema.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores text and forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONType(sa.TypeDecorator[Any]):
    """JSON on SQLite, JSONB on PostgreSQL. The PostgreSQL dialect (and every driver module its package
    imports) is loaded only when a PostgreSQL database is used: ~25 ms off every SQLite run."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def _watch_state_v1_columns() -> list[sa.Column[Any]]:
    """watch_state as schema 1 made it (fresh Column objects each call: a column has one table)."""
    return [
        sa.Column("watch_id", sa.String(100), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, server_default=""),
        sa.Column("plugin_state", JSONType, nullable=True),
        sa.Column("info", JSONType, nullable=True),
        sa.Column("baseline_done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_check_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("last_change_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", UTCDateTime),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failing_since", UTCDateTime),
        sa.Column("down_alerted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("not_before", UTCDateTime),  # Retry-After or back-off: no check before this time
        sa.Column("item_count", sa.Integer, nullable=False, server_default="0"),
        # leases, for several replicas sharing one database
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until", UTCDateTime),
    ]


watch_state = sa.Table(
    "watch_state",
    metadata,
    *_watch_state_v1_columns(),
    sa.Column("leased_at", UTCDateTime),  # added by migration 3: when the current lease was taken
    sa.Column("gaps", JSONType),  # added by migration 4: open coverage gaps and content-change times
)

items = sa.Table(
    "items",
    metadata,
    sa.Column("watch_id", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(500), primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("present", sa.Boolean, nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("gone_since", UTCDateTime),
    sa.Index("ix_items_key", "key"),
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(64), nullable=False, unique=True),
    sa.Column("watch_id", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("key", sa.String(500), nullable=False),
    sa.Column("detected_at", UTCDateTime, nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Index("ix_changes_watch", "watch_id", "detected_at"),
    sa.Index("ix_changes_detected", "detected_at"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("change_id", sa.Integer, sa.ForeignKey("changes.id", ondelete="CASCADE"), nullable=False),
    sa.Column("notifier", sa.String(100), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("result", JSONType),
    sa.Column("claimed_by", sa.String(200)),
    sa.Column("claimed_until", UTCDateTime),
    sa.UniqueConstraint("change_id", "notifier", name="uq_delivery_change_notifier"),
    sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
)

# Per-notifier memory: a Slack thread per case, the last digest sent, ...
notifier_state = sa.Table(
    "notifier_state",
    metadata,
    sa.Column("notifier", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(500), primary_key=True),
    sa.Column("value", JSONType, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


# Running `monitor run` processes sharing this database, with the configuration each has loaded.
replicas = sa.Table(
    "replicas",
    metadata,
    sa.Column("owner", sa.String(200), primary_key=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("config_digest", sa.String(64), nullable=False, server_default=""),
    sa.Column("version", sa.String(32), nullable=False, server_default=""),
)


# Where followed cases went (monitor/appeals.py): an appeal, a transfer or a remand found in a docket
# entry; `pending` until the new docket number is known, then `following` (its watches in
# auto_watches), `removed` once the user unfollowed all of them (never started again), `abandoned`
# when the number was not found in time.
case_moves = sa.Table(
    "case_moves",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("origin_court", sa.String(20), nullable=False),
    sa.Column("origin_docket", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # appeal | transfer | remand
    sa.Column("court", sa.String(20), nullable=False),
    sa.Column("docket", sa.String(100)),  # NULL while pending
    sa.Column("status", sa.String(20), nullable=False),  # pending | following | removed | abandoned
    sa.Column("parent", sa.String(100), nullable=False),  # the watch whose entry told of it
    sa.Column("trigger_key", sa.String(500), nullable=False),  # that entry's item key
    sa.Column("trigger", JSONType, nullable=False),  # entry number, text, date, case name
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("next_try_at", UTCDateTime),  # pending: when to look for the number again
    sa.Column("tries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("note", sa.Text),  # what the last look found, for `monitor status`
    sa.UniqueConstraint("origin_court", "origin_docket", "court", "docket", name="uq_case_moves_target"),
    sa.Index("ix_case_moves_origin", "origin_court", "origin_docket"),
)

# Watches the monitor created at run time (the appeal of a followed case ...): joined to the file's
# watches when a configuration is loaded for checking; a file watch with the same id wins.
auto_watches = sa.Table(
    "auto_watches",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("move_id", sa.Integer, sa.ForeignKey("case_moves.id", ondelete="CASCADE"), nullable=False),
    sa.Column("parent", sa.String(100), nullable=False),
    sa.Column("config", JSONType, nullable=False),  # the watch's keys, validated by its watcher's model on load
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("removed_at", UTCDateTime),  # `monitor unfollow`: kept, so the same entry never brings it back
)

# Document previews (monitor/previews): one row per recorded filing change the preview worker examined
# (the queue: pending -> ready -> done, or skipped; `none` when it had no free PDF), and the thumbnails.
preview_jobs = sa.Table(
    "preview_jobs",
    metadata,
    sa.Column("change_uid", sa.String(64), primary_key=True),  # the change whose alert the preview follows
    sa.Column("watch_id", sa.String(100), nullable=False),
    sa.Column("key", sa.String(500), nullable=False),  # the item (entry) key
    sa.Column("url", sa.Text),  # the free PDF (None: nothing to preview)
    sa.Column("status", sa.String(10), nullable=False),  # none | pending | ready | done | skipped
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("result", JSONType),  # ready/done: pages, excerpt, thumbnail; skipped: the reason
    sa.Column("preview_uid", sa.String(64)),  # the preview change, once recorded
    sa.Column("claimed_by", sa.String(200)),
    sa.Column("claimed_until", UTCDateTime),
    sa.Index("ix_preview_jobs_due", "status", "next_attempt_at"),
    sa.Index("ix_preview_jobs_key", "key"),
)

preview_images = sa.Table(
    "preview_images",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the PNG: the same image is kept once
    sa.Column("png", sa.LargeBinary, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The id of the one row an INSERT added (SQLAlchemy types the primary key as optional: for a
    single-row INSERT on these tables it never is)."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    new_id: int = key[0]
    return new_id


def _v1(conn: sa.Connection) -> None:
    # The tables as they were in schema 1: later migrations add to them, so `watch_state` is built
    # without the columns they add.
    sa.Table("watch_state", sa.MetaData(), *_watch_state_v1_columns()).create(conn)
    metadata.create_all(conn, tables=[items, changes, deliveries, notifier_state])


def _v2(conn: sa.Connection) -> None:
    replicas.create(conn)


def _v3(conn: sa.Connection) -> None:
    # When the current lease was taken: replicas use it to check a watch once per interval.
    column_type = UTCDateTime().impl.compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE watch_state ADD COLUMN leased_at {column_type}"))


def _v4(conn: sa.Connection) -> None:
    # Blind spots said out loud (monitor/gaps.py): which are open, and when the content last changed.
    column_type = JSONType().load_dialect_impl(conn.dialect).compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE watch_state ADD COLUMN gaps {column_type}"))


def _v5(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[case_moves, auto_watches])


def _v6(conn: sa.Connection) -> None:
    # Document previews: the queue of filings whose free PDF is read after the alert, and thumbnails.
    metadata.create_all(conn, tables=[preview_jobs, preview_images])


# (version, description, function). Append only; never edit a released migration.
MIGRATIONS: list[tuple[int, str, Callable[[sa.Connection], None]]] = [
    (1, "initial schema", _v1),
    (2, "replica heartbeats", _v2),
    (3, "lease start times", _v3),
    (4, "coverage gaps", _v4),
    (5, "appeals and transfers followed automatically", _v5),
    (6, "document previews", _v6),
]
LATEST = MIGRATIONS[-1][0]
