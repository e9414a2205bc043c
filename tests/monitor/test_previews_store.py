"""The preview queue and thumbnails in the state database, on SQLite and PostgreSQL: a filing change is
examined once, a job is worked by one owner at a time, a preview is recorded (hence sent) once, and the
thumbnail's bytes come back exactly as stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.models import Change, Item
from monitor.store import CheckWrite, Store, new_uid
from monitor.store.previews import image_ref

T0 = datetime(2025, 3, 3, 17, 0, tzinfo=UTC)
URL = "https://storage.courtlistener.com/recap/gov.uscourts.cand.0/gov.uscourts.cand.0.2.0.pdf"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8  # every byte value: a binary column must keep them all


def filing(key: str = "entry:cand:3:25-cv-01350:2") -> Item:
    return Item(
        key,
        "SF v. Trump: #2 Order",
        url=URL,
        group="case:cand:3:25-cv-01350",
        fields={"document_url": URL, "entry_number": "2"},
    )


def record(store: Store, change: Change, notifiers: list[str]) -> None:
    store.commit_check(
        CheckWrite(
            watch_id=change.watch_id,
            fingerprint="f",
            plugin_state={},
            info=None,
            upserts=[change.item],
            seen=[],
            gone=[],
            changes=[change],
            routes={change.uid: notifiers},
            item_count=1,
            at=change.detected_at,
        )
    )


def preview_of(change: Change) -> Change:
    item = change.item
    after = Item(item.key, item.title, item.url, group=item.group, fields={**item.fields, "preview_pages": 2})
    return Change(
        change.watch_id,
        "updated",
        after,
        before=item,
        changed_fields=("fields.preview_pages",),
        detected_at=T0,
        uid=new_uid(),
    )


def test_a_change_is_examined_once_and_its_job_worked_by_one_owner(store_url):
    """Candidates are the filing changes no job examined; enqueueing twice adds nothing; a claimed job is
    invisible to another owner until its claim runs out."""
    store = Store.open(store_url)
    try:
        change = Change("sf", "added", filing(), detected_at=T0, uid=new_uid())
        record(store, change, ["slack"])
        record(
            store, Change("doj", "added", Item("https://justice.gov/x", "A release"), detected_at=T0, uid=new_uid()), []
        )
        [candidate] = store.preview_candidates(T0 - timedelta(minutes=1))
        assert candidate.uid == change.uid and candidate.item.fields["document_url"] == URL
        assert store.enqueue_previews([(change, URL)], T0) == 1
        assert store.enqueue_previews([(change, URL)], T0) == 0  # already there: nothing added
        assert store.preview_candidates(T0 - timedelta(minutes=1)) == []
        [job] = store.claim_previews(T0, "a", hold=timedelta(minutes=1))
        assert job.url == URL and job.status == "pending" and job.change.uid == change.uid
        assert store.claim_previews(T0 + timedelta(seconds=30), "b", hold=timedelta(minutes=1)) == []
        assert [
            j.change.uid for j in store.claim_previews(T0 + timedelta(minutes=2), "b", hold=timedelta(minutes=1))
        ] == [change.uid]
    finally:
        store.close()


def test_the_same_pdf_of_the_same_entry_is_queued_once(store_url):
    """A second change of an entry (an update) with the PDF already queued is examined but not queued again."""
    store = Store.open(store_url)
    try:
        first = Change("sf", "added", filing(), detected_at=T0, uid=new_uid())
        second = Change(
            "sf", "updated", filing(), before=filing(), changed_fields=("summary",), detected_at=T0, uid=new_uid()
        )
        for change in (first, second):
            record(store, change, [])
        assert store.enqueue_previews([(first, URL), (second, URL)], T0) == 1
        assert {row["change_uid"]: row["status"] for row in store.preview_jobs()} == {
            first.uid: "pending",
            second.uid: "none",
        }
    finally:
        store.close()


def test_a_preview_is_recorded_once_with_its_thumbnail(store_url):
    """The job's owner records the preview and its deliveries once; another owner, or a second try, records
    nothing; the thumbnail's bytes come back unchanged."""
    store = Store.open(store_url)
    try:
        change = Change("sf", "added", filing(), detected_at=T0, uid=new_uid())
        record(store, change, ["slack", "email"])
        store.enqueue_previews([(change, URL)], T0)
        store.claim_previews(T0, "a", hold=timedelta(minutes=1))
        ref = store.preview_read(change.uid, "a", {"pages": 2}, PNG, 600, 777, T0)
        assert ref == image_ref(PNG) and store.preview_image(ref) == PNG
        assert store.delivery_statuses_of(change.uid) == {"slack": "pending", "email": "pending"}
        preview = preview_of(change)
        assert not store.record_preview(change.uid, "b", preview, ["slack"])  # not b's job
        assert store.record_preview(change.uid, "a", preview, ["slack"])
        assert not store.record_preview(change.uid, "a", preview_of(change), ["slack"])  # never twice
        [row] = store.preview_jobs()
        assert row["status"] == "done" and row["preview_uid"] == preview.uid and row["claimed_by"] is None
        [delivery] = [d for d in store.pending_deliveries() if d.change.uid == preview.uid]
        assert delivery.notifier == "slack" and delivery.change.changed_fields == ("fields.preview_pages",)
        store.prune_previews(T0 + timedelta(days=1))
        assert store.preview_image(ref) is None and store.preview_jobs() == []
    finally:
        store.close()


def test_previews_start_when_first_worked_and_never_reach_back(store_url):
    """The first pass on a database remembers its time: changes recorded before it are never previewed."""
    store = Store.open(store_url)
    try:
        assert store.previews_since(T0) == T0
        assert store.previews_since(T0 + timedelta(days=3)) == T0
    finally:
        store.close()
