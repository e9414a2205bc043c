"""The state store, on SQLite and PostgreSQL alike: migrations, snapshots, history and the outbox."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.errors import StoreError
from monitor.models import Change, Item
from monitor.store import CheckWrite, Store, new_uid, schema

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def write(store: Store, watch: str, items: list[Item], changes: list[Change], notifiers=("terminal",), at=T0):
    store.commit_check(
        CheckWrite(
            watch_id=watch,
            fingerprint="fp",
            plugin_state={"etag": "x"},
            info={"feed": {"title": "t"}},
            upserts=items,
            seen=[],
            gone=[],
            changes=changes,
            routes={c.uid: list(notifiers) for c in changes},
            item_count=len(items),
            at=at,
        )
    )


def added(watch: str, item: Item) -> Change:
    return Change(watch, "added", item, detected_at=T0, uid=new_uid())


def test_fresh_database_is_migrated_to_latest(store_url):
    """Opening an empty database creates the schema and stamps its version."""
    store = Store.open(store_url)
    assert store.check_version() == schema.LATEST
    assert Store.open(store_url).migrate() == schema.LATEST  # idempotent


def test_newer_schema_is_refused(store_url):
    """A database written by a newer monitor is refused with a message saying what to do."""
    store = Store.open(store_url)
    with store.engine.begin() as conn:
        conn.execute(schema.meta.update().values(value=str(schema.LATEST + 1)))
    with pytest.raises(StoreError, match="newer version of the monitor"):
        Store.open(store_url)


def test_commit_check_writes_snapshot_changes_and_outbox_together(store_url):
    """One commit holds the items, the change and one delivery row per notifier."""
    store = Store.open(store_url)
    item = Item(key="k1", title="Complaint", url="https://x/1", fields={"entry_number": "1"})
    change = added("w", item)
    write(store, "w", [item], [change], notifiers=("terminal", "newsroom"))
    assert store.load_items("w")["k1"].item == item
    assert [c.uid for c in store.history()] == [change.uid]
    due = store.due_deliveries(T0 + timedelta(seconds=1))
    assert sorted(d.notifier for d in due) == ["newsroom", "terminal"]
    assert {d.idempotency_key for d in due} == {f"{change.uid}:terminal", f"{change.uid}:newsroom"}
    state = store.load_states()["w"]
    assert state.baseline_done and state.plugin_state == {"etag": "x"} and state.last_change_at == T0


def test_failed_transaction_leaves_nothing(store_url):
    """A commit that fails half-way (a duplicate change uid) leaves no items and no deliveries behind."""
    store = Store.open(store_url)
    item = Item(key="k1", title="One")
    change = added("w", item)
    write(store, "w", [item], [change])
    other = Item(key="k2", title="Two")
    with pytest.raises(sa.exc.IntegrityError):
        write(store, "w", [other], [Change("w", "added", other, detected_at=T0, uid=change.uid)])
    assert set(store.load_items("w")) == {"k1"}
    assert len(store.due_deliveries(T0 + timedelta(seconds=1))) == 1


def test_outbox_lifecycle(store_url):
    """Deliveries go pending -> retry -> failed -> re-queued -> sent, with attempts and reasons kept."""
    store = Store.open(store_url)
    item = Item(key="k1", title="One")
    write(store, "w", [item], [added("w", item)])
    [d] = store.claim_deliveries(T0, "me")
    assert store.claim_deliveries(T0, "someone-else") == [], "a claimed delivery is not handed out twice"
    store.mark_retry([d.id], "HTTP 500", T0 + timedelta(minutes=1))
    assert store.due_deliveries(T0 + timedelta(seconds=30)) == []
    [d] = store.claim_deliveries(T0 + timedelta(minutes=2), "me")
    store.mark_failed([d.id], "channel_not_found")
    [failed] = store.failed_deliveries()
    assert failed.attempts == 2 and failed.last_error == "channel_not_found"
    assert store.retry_failed(now=T0) == 1
    [d] = store.claim_deliveries(T0 + timedelta(minutes=3), "me")
    store.mark_sent([d.id], T0, {"ts": "1.2"})
    assert store.delivery_counts() == {"sent": 1}


def test_failure_counting_and_not_before(store_url):
    """Failures count up with the first failure time kept; a success resets them."""
    store = Store.open(store_url)
    store.record_failure("w", "HTTP 500", T0)
    state = store.record_failure("w", "HTTP 429", T0 + timedelta(minutes=5), not_before=T0 + timedelta(minutes=7))
    assert (
        state.consecutive_failures == 2 and state.failing_since == T0 and state.not_before == T0 + timedelta(minutes=7)
    )
    store.record_unchanged([("w", "fp", {}, None, None)], T0 + timedelta(minutes=10))
    state = store.load_states()["w"]
    assert state.consecutive_failures == 0 and state.failing_since is None and state.last_error is None


def test_items_seen_by_other_watches(store_url):
    """find_items returns the same key as held by other watches (for one timeline across sources)."""
    store = Store.open(store_url)
    item = Item(key="entry:cand:3:25-cv-01350:1", title="Complaint")
    write(store, "rss", [item], [])
    assert [w for w, _ in store.find_items(item.key, exclude_watch="cl")] == ["rss"]
    assert store.find_items(item.key, exclude_watch="rss") == []


def test_notifier_memory(store_url):
    """Notifier state (a Slack thread per case) is kept and overwritten."""
    store = Store.open(store_url)
    assert store.get_notifier_state("slack", "thread:case") is None
    store.set_notifier_state("slack", "thread:case", {"ts": "1"})
    store.set_notifier_state("slack", "thread:case", {"ts": "2"})
    assert store.get_notifier_state("slack", "thread:case") == {"ts": "2"}


def test_bad_url_is_a_clear_error():
    """An unsupported or malformed database URL says which forms are accepted."""
    with pytest.raises(StoreError, match="sqlite:///"):
        Store.open("mysql://localhost/x")
    with pytest.raises(StoreError, match="sqlite:///"):
        Store.open("not a url")


def test_unreachable_postgres_is_a_clear_error():
    """A PostgreSQL URL nobody answers on gives a StoreError naming the (password-free) URL."""
    with pytest.raises(StoreError, match=r"cannot open the state database postgresql://u:\*\*\*@127.0.0.1:1/x") as info:
        Store.open("postgresql://u:secret@127.0.0.1:1/x?connect_timeout=2")
    assert "secret" not in str(info.value)


@pytest.mark.postgres
def test_lease_is_exclusive_and_expires(pg_url):
    """A due watch is leased to one replica; the lease blocks others until released or expired; then it is due again
    after the interval."""
    store = Store.open(pg_url)
    hold, interval = timedelta(minutes=2), timedelta(minutes=5)
    assert store.try_lease("w", "a", T0, hold=hold, min_interval=interval)
    assert not store.try_lease("w", "b", T0 + timedelta(seconds=1), hold=hold, min_interval=interval)
    store.release_lease("w", "a")
    # released, but checked within the interval: not due for anyone
    assert not store.try_lease("w", "b", T0 + timedelta(minutes=4), hold=hold, min_interval=interval)
    assert store.try_lease("w", "b", T0 + timedelta(minutes=5), hold=hold, min_interval=interval)
    # b dies holding the lease: nobody takes it until the hold expires, then a does
    assert not store.try_lease("w", "a", T0 + timedelta(minutes=6, seconds=59), hold=hold, min_interval=timedelta(0))
    assert store.try_lease("w", "a", T0 + timedelta(minutes=7, seconds=1), hold=hold, min_interval=timedelta(0))


def test_schema_2_database_is_migrated_to_the_latest(store_url):
    """A database at schema 2 (before lease start times, gaps, followed appeals and previews) is upgraded in
    place, keeping its rows."""
    store = Store.open(store_url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE auto_watches"))
        conn.execute(sa.text("DROP TABLE case_moves"))
        conn.execute(sa.text("ALTER TABLE watch_state DROP COLUMN gaps"))
        conn.execute(sa.text("ALTER TABLE watch_state DROP COLUMN leased_at"))
        conn.execute(sa.text("DROP TABLE preview_jobs"))
        conn.execute(sa.text("DROP TABLE preview_images"))
        conn.execute(schema.meta.update().values(value="2"))
        conn.execute(sa.text("INSERT INTO watch_state (watch_id) VALUES ('old')"))
    store.close()
    store = Store.open(store_url)
    assert store.check_version() == schema.LATEST == 6 and "old" in store.load_states()
    assert store.try_lease("old", "a", T0, hold=timedelta(minutes=1), min_interval=timedelta(minutes=1))
    assert store.case_moves() == [] and store.auto_watches() == []


def test_heartbeats_and_clean_goodbye(store_url):
    """Replicas record heartbeats with their config digest; a clean shutdown drops them and their leases."""
    store = Store.open(store_url)
    store.heartbeat("host:1", T0, config_digest="abc", version="0.1.0")
    store.heartbeat("host:1", T0 + timedelta(seconds=10), config_digest="def", version="0.1.0")
    [replica] = store.replicas()
    assert replica["config_digest"] == "def" and replica["last_seen"] == T0 + timedelta(seconds=10)
    assert store.try_lease("w", "host:1", T0, hold=timedelta(minutes=2), min_interval=timedelta(minutes=5))
    store.forget_replica("host:1")
    assert store.replicas() == []
    assert all(state.lease_owner is None for state in store.load_states().values())


LEASE_HOLDER = """
import sys, time
from datetime import datetime, timedelta, timezone
from monitor.store import Store
store = Store.open(sys.argv[1])
assert store.try_lease("w", "other", datetime.now(timezone.utc), hold=timedelta(minutes=2), min_interval=timedelta(0))
print("held", flush=True)
time.sleep(60)
"""


def test_sqlite_leases_are_exclusive_across_processes_and_die_with_their_holder(tmp_path):
    """SQLite leases are file locks: another process holding a watch keeps it from us, and its death (SIGKILL)
    frees the watch at once, with no stale lease to wait out; one process cannot hold a watch twice."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store.open(url)
    hold, none = timedelta(minutes=2), timedelta(0)
    holder = subprocess.Popen(
        [sys.executable, "-c", LEASE_HOLDER, url],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not store.try_lease("w", "me", T0, hold=hold, min_interval=none)
        assert store.lease_many(["w", "x"], "me", T0, hold=hold) == {"x"}
        assert not store.try_lease("x", "me", T0, hold=hold, min_interval=none)  # held by this process already
    finally:
        holder.kill()
        holder.wait()
    assert store.try_lease("w", "me", T0, hold=hold, min_interval=none)
    store.release_many(["w", "x"], "me")
    assert store.lease_many(["w", "x"], "me", T0, hold=hold) == {"w", "x"}
    assert store.load_states() == {}  # nothing written to the database for a lease
