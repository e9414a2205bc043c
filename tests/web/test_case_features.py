"""What the case-aware stages recorded, on the dashboard: related press releases, appeals and transfers, and
document previews; the store's new read-only views on both backends, the case page and feed in-process.

Changes are recorded through the store's own writers (`commit_check`, `add_pending_move`,
`start_following`, the preview queue), as the stages record them.
"""

from __future__ import annotations

import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import feedparser
import pytest

from monitor.models import Change, ChangeKind, Item
from monitor.previews import PREVIEW_FIELDS
from monitor.store import Store, views
from monitor.store.moves import NewMove
from monitor.web import atom, timeline
from monitor.web.pages import Dashboard, case_page
from tests.web.test_web import T0, TOKEN, config, filing, get, serving, write

GROUP = "case:ilnd:1:25-cv-01285"
CASE = "ilnd-1-25-cv-01285"
ILLINOIS = {
    "watch": "il-rss",
    "watches": ["il-rss", "il-cl"],
    "case": "U.S. v. Illinois",
    "display": "U.S. v. Illinois (N.D. Ill. 1:25-cv-01285)",
    "court": "ilnd",
    "docket_number": "1:25-cv-01285",
    "group": GROUP,
    "matched": "1:25-cv-01285",
}
SF = {
    **ILLINOIS,
    "court": "cand",
    "docket_number": "3:25-cv-01350",
    "group": "case:cand:3:25-cv-01350",
    "display": "SF v. Trump (N.D. Cal. 3:25-cv-01350)",
    "case": "SF v. Trump",
}
HOSTILE = "<script>window.__pwned=1</script> Sues Illinois"


def png(width: int = 2, height: int = 3) -> bytes:
    """A small valid grayscale PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def release(
    key: str, title: str, related: tuple[dict[str, Any], ...], at, kind: ChangeKind = "added", watch: str = "doj"
) -> Change:
    item = Item(
        key,
        title,
        url=f"https://www.justice.gov/opa/pr/{key.split(':')[-1]}",
        published="2025-02-06",
        fields={"agency": "Office of Public Affairs"},
    )
    before = Item(key, "Old title", url=item.url, published=item.published) if kind == "updated" else None
    return Change(
        watch,
        kind,
        item,
        before=before,
        changed_fields=("title",) if before else (),
        detected_at=at,
        uid=f"{key}-{kind}-{at.timestamp()}",
        related=related,
    )


def record_related(store: Store) -> None:
    """DOJ releases: two about U.S. v. Illinois (one later updated), one about SF v. Trump only; the case's own
    docket entry (its group is the case's, but it is not a release)."""
    first = release("doj:sues-illinois", HOSTILE, (ILLINOIS,), T0)
    other = release("doj:sf", "About San Francisco", (SF,), T0 + timedelta(minutes=1))
    both = release("doj:both", "About both cases", (SF, ILLINOIS), T0 + timedelta(minutes=2))
    write(store, "doj", [first.item, other.item, both.item], T0, [first, other, both])
    fixed = release("doj:sues-illinois", HOSTILE + " (corrected)", (ILLINOIS,), T0 + timedelta(hours=1), "updated")
    write(store, "doj", [fixed.item], T0 + timedelta(hours=1), [fixed])
    entry = Change("il-rss", "added", filing(3, "pacer_rss"), detected_at=T0, uid="entry-3")
    write(store, "il-rss", [entry.item], T0, [entry])


def record_appeal(store: Store) -> None:
    """The case's notice of appeal (pending, then followed with a created watch) and a transfer still pending."""
    trigger = {
        "key": "entry:ilnd:1:25-cv-01285:45",
        "entry_number": "45",
        "date": "2025-04-28",
        "text": "NOTICE OF APPEAL <b>to</b> 7th Cir.",
        "case_name": "United States v. Illinois",
        "watch": "il-rss",
    }
    appeal = NewMove("ilnd", "1:25-cv-01285", "appeal", "ca7", None, "il-rss", trigger["key"], trigger)
    pending = store.add_pending_move(appeal, T0)
    assert pending is not None
    found = NewMove("ilnd", "1:25-cv-01285", "appeal", "ca7", "25-1234", "il-rss", trigger["key"], trigger)
    watch = ("il-appeal-ca7-25-1234", {"type": "courtlistener", "court": "ca7", "docket_number": "25-1234"})
    assert store.start_following(found, [watch], None, [], T0 + timedelta(hours=2), resolves=[pending.id])
    transfer = NewMove(
        "ilnd",
        "1:25-cv-01285",
        "transfer",
        "txnd",
        None,
        "il-rss",
        "entry:ilnd:1:25-cv-01285:50",
        {"entry_number": "50", "text": "ORDER transferring case", "date": "2025-05-01"},
    )
    assert store.add_pending_move(transfer, T0 + timedelta(hours=3))


def record_preview(store: Store) -> tuple[str, bytes]:
    """Entry 2's free PDF read by the preview queue: its thumbnail kept, the preview change recorded."""
    alert = Change("il-cl", "added", filing(2, "courtlistener"), detected_at=T0, uid="entry-2")
    write(store, "il-cl", [alert.item], T0, [alert])
    url = "https://storage.courtlistener.com/recap/gov.uscourts.ilnd.1/gov.uscourts.ilnd.1.2.0.pdf"
    assert store.enqueue_previews([(alert, url)], T0) == 1
    [job] = store.claim_previews(T0, "test", hold=timedelta(minutes=1))
    picture = png()
    ref = store.preview_read(
        job.change.uid, "test", {"pages": 12, "excerpt": "ORDER <granting> the motion.", "url": url}, picture, 2, 3, T0
    )
    base = {k: v for k, v in alert.item.fields.items() if k not in PREVIEW_FIELDS}
    facts = {
        "preview_pages": 12,
        "preview_excerpt": "ORDER <granting> the motion.",
        "preview_thumbnail": ref,
        "preview_url": url,
    }
    after = Item(
        alert.item.key,
        alert.item.title,
        url=alert.item.url,
        published=alert.item.published,
        group=alert.item.group,
        fields={**base, **facts},
    )
    preview = Change(
        "il-cl",
        "updated",
        after,
        before=alert.item,
        detected_at=T0 + timedelta(minutes=5),
        uid="preview-2",
        changed_fields=tuple(f"fields.{k}" for k in facts),
    )
    assert store.record_preview(job.change.uid, "test", preview, [])
    return ref, picture


# ---------------------------------------------------------------- the views, on both backends


def test_related_changes_name_the_case_newest_first_once_per_item(store_url):
    """Only releases whose recorded `related` names the case, newest first, one per release (its latest
    change); never the case's own docket entries, never a release about another case alone."""
    store = Store.open(store_url)
    try:
        record_related(store)
        found = views.related_changes(store, GROUP)
        assert [(c.key, c.kind) for c in found] == [("doj:sues-illinois", "updated"), ("doj:both", "added")]
        assert found[0].item.title.endswith("(corrected)")
        assert [c.key for c in views.related_changes(store, "case:cand:3:25-cv-01350")] == ["doj:both", "doj:sf"]
        assert [c.key for c in views.related_changes(store, GROUP, limit=1)] == ["doj:sues-illinois"]
        assert views.related_changes(store, "case:ilnd:1:25-cv-0128") == []  # a prefix of the number is not the case
        assert views.related_changes(store, "case:il_d:1:25-cv-01285") == []  # LIKE's wildcards are literal
        assert [c.key for c in views.related_changes(store, GROUP, watch_ids=["doj"])] == [
            "doj:sues-illinois",
            "doj:both",
        ]
        assert views.related_changes(store, GROUP, watch_ids=["city"]) == []  # only these watches' changes
        assert views.related_changes(store, GROUP, watch_ids=[]) == []
    finally:
        store.close()


def test_case_moves_of_a_case_and_the_watches_made_for_them(store_url):
    """Where a case went (its appeal, followed; a transfer, pending), where the appeal came from, and the
    watch created for the appeal; all moves for the overview."""
    store = Store.open(store_url)
    try:
        record_appeal(store)
        went, came = views.case_moves_of(store, "ilnd", "1:25-cv-01285")
        assert [(m.kind, m.court, m.docket, m.status) for m in went] == [
            ("appeal", "ca7", "25-1234", "following"),
            ("transfer", "txnd", None, "pending"),
        ]
        assert came == []
        went_there, came_here = views.case_moves_of(store, "ca7", "25-1234")
        assert went_there == [] and [(m.origin_court, m.origin_docket) for m in came_here] == [
            ("ilnd", "1:25-cv-01285")
        ]
        made = views.created_watches(store, [m.id for m in went])
        assert made == {went[0].id: [("il-appeal-ca7-25-1234", False)], went[1].id: []}
        assert [m.status for m in views.all_case_moves(store)] == ["following", "pending"]
        assert views.created_watches(store, []) == {}
    finally:
        store.close()


def test_a_preview_is_the_entrys_preview_not_an_update():
    """The preview change gives the entry its pages, excerpt, picture and free PDF; it is not listed among
    the updates (fields before -> after); the Atom entry says what the document says."""
    stub, full = filing(2, "pacer_rss"), filing(2, "courtlistener", description="ORDER granting the motion.")
    text = Change(
        "il-cl",
        "updated",
        full,
        before=stub,
        changed_fields=("fields.description",),
        detected_at=T0 + timedelta(minutes=1),
        uid="u",
    )
    shown = Item(
        full.key,
        full.title,
        fields={
            **full.fields,
            "preview_pages": 3,
            "preview_excerpt": "ORDER ...",
            "preview_thumbnail": "sha256:" + "ab" * 32,
            "preview_url": "https://x/a.pdf",
        },
    )
    preview = Change(
        "il-cl",
        "updated",
        shown,
        before=full,
        detected_at=T0 + timedelta(minutes=5),
        uid="p",
        changed_fields=(
            "fields.preview_pages",
            "fields.preview_excerpt",
            "fields.preview_thumbnail",
            "fields.preview_url",
        ),
    )
    [entry] = timeline.build([views.Sighting("il-cl", full, True, T0, T0)], {full.key: [text, preview]})
    assert len(entry.updates) == 1 and entry.updates[0].fields[0].name == "docket text"
    assert entry.preview is not None and entry.preview.pages == 3 and entry.preview.excerpt == "ORDER ..."
    assert entry.preview.thumbnail_path == f"/previews/{'ab' * 32}.png" and entry.preview.url == "https://x/a.pdf"
    assert entry.updated_at == T0 + timedelta(minutes=5)
    odd = timeline.preview_of(
        Change(
            "x",
            "updated",
            Item("k", "t", fields={"preview_thumbnail": "../../etc"}),
            uid="o",
            changed_fields=("fields.preview_thumbnail",),
        )
    )
    assert odd.thumbnail_path is None  # only a sha256 reference becomes a path
    body = atom.render(
        name="c",
        title="t",
        self_url="http://127.0.0.1/f",
        page_url="http://127.0.0.1/",
        entries=[entry],
        watch_names={},
        entry_url=lambda e: "http://127.0.0.1/",
        now=T0,
    )
    assert b"Document preview (3 pages)" in body and b"Free PDF: https://x/a.pdf" in body


# ---------------------------------------------------------------- the case page, in-process


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    write(opened, "il-rss", [filing(1, "pacer_rss")], T0)
    yield opened
    opened.close()


def test_case_page_values_list_releases_moves_and_origin(store):
    """The case page's values: the related releases (title, agency, watch, date, matched words), the moves
    with their status, trigger and watches, and on the appeal's own page where it came from."""
    record_related(store)
    record_appeal(store)
    extra = "  - {id: il-appeal-ca7-25-1234, type: courtlistener, court: ca7, docket_number: '25-1234', token: ''}\n"
    dashboard = Dashboard(store, lambda: config(extra))
    data = case_page(dashboard, CASE)
    assert data is not None
    [first, second] = data["related"]
    assert (first.title, first.agency, first.watch_name, first.date, first.matched) == (
        HOSTILE + " (corrected)",
        "Department of Justice",
        "doj",
        "2025-02-06",
        "1:25-cv-01285",
    )
    assert second.key == "doj:both" and first.anchor.startswith("item-")
    appeal, transfer = data["moves"]
    assert (appeal.where, appeal.case_id, appeal.status_text) == ("No. 25-1234, 7th Cir.", "ca7-25-1234", "followed")
    assert appeal.trigger == "entry #45 (2025-04-28): \u201cNOTICE OF APPEAL <b>to</b> 7th Cir.\u201d"
    assert appeal.watches == [("il-appeal-ca7-25-1234", "il-appeal-ca7-25-1234", "courtlistener", False)]
    assert transfer.where == "N.D. Tex. (number not known yet)" and transfer.attention and not appeal.attention
    there = case_page(dashboard, "ca7-25-1234")
    assert there is not None and [m.origin_id for m in there["came_from"]] == [CASE]
    assert there["came_from"][0].trigger_anchor == "entry-45" and there["moves"] == []


def test_case_page_feed_and_picture_served_behind_the_token(store):
    """Served with a token: the case page lists the release (escaped), the appeal and the entry's preview
    with its picture; the picture is image/png, needs the token like the pages, and is 404 for an unknown
    or malformed reference; the case's Atom feed has the related release."""
    record_related(store)
    record_appeal(store)
    ref, picture = record_preview(store)
    guarded = Dashboard(store, lambda: config(env={"MONITOR_DASHBOARD_TOKEN": TOKEN}), exposed=True)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serving(guarded) as base:
        status, body = get(f"{base}/cases/{CASE}", auth)
        assert status == 200
        assert (
            "&lt;script&gt;window.__pwned=1&lt;/script&gt; Sues Illinois (corrected)" in body and "<script>" not in body
        )
        assert 'id="related"' in body and "Related press releases" in body
        assert 'href="/cases/ca7-25-1234"' in body and "No. 25-1234, 7th Cir." in body
        assert "NOTICE OF APPEAL &lt;b&gt;to&lt;/b&gt; 7th Cir." in body
        hexdigest = ref.removeprefix("sha256:")
        assert f'src="/previews/{hexdigest}.png"' in body and 'alt="First page of the document (12 pages)' in body
        assert "ORDER &lt;granting&gt; the motion." in body and "preview thumbnail" not in body

        request = urllib.request.Request(f"{base}/previews/{hexdigest}.png", headers=auth)
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and response.headers["Content-Type"] == "image/png"
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
            assert response.read() == picture
        assert get(f"{base}/previews/{hexdigest}.png")[0] == 401  # behind the same token as the pages
        assert get(f"{base}/previews/{'0' * 64}.png", auth)[0] == 404
        assert get(f"{base}/previews/..%2F..%2Fetc.png", auth)[0] == 404

        status, feed = get(f"{base}/feeds/cases/{CASE}.atom", auth)
        parsed = feedparser.parse(feed)
        assert status == 200 and not parsed.bozo
        titles = [e.title for e in parsed.entries]
        assert (
            HOSTILE + " (corrected)" in titles and "About both cases" in titles and "About San Francisco" not in titles
        )
        related = next(e for e in parsed.entries if e.title == "About both cases")
        assert related.id == atom.entry_id("doj:both")  # the same id as in the all-items feed
        anchor = timeline.Entry("doj:both", Item("doj:both", "About both cases")).anchor
        assert any(link.href.endswith(f"/cases/{CASE}#{anchor}") for link in related.links)
        preview_entry = next(e for e in parsed.entries if "Filing 2" in e.title)
        assert "Document preview (12 pages)" in preview_entry.content[0].value


def test_overview_lists_pending_moves_and_each_cases_appeal(store):
    """The overview says which appeals and transfers are still looked for (needs attention) and shows each
    case's moves on its row."""
    record_appeal(store)
    with serving(Dashboard(store, config)) as base:
        status, body = get(base + "/", {})
    assert status == 200
    attention = body.split('id="attention"', 1)[1].split("</section>", 1)[0]
    assert "N.D. Tex. (number not known yet)" in attention and "No. 25-1234" not in attention
    row = body.split(f'id="case-{CASE}"', 1)[1].split("</article>", 1)[0]
    assert "No. 25-1234, 7th Cir." in row and 'href="/cases/ca7-25-1234"' in row
    assert "number not known yet: looking for it" in row


def test_a_store_that_fails_to_give_the_picture_answers_404_not_a_traceback(store, monkeypatch):
    """The picture's read failing (the store down) is a 404 for the image, never a crash of the server."""

    def broken(ref: str) -> bytes:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(store, "preview_image", broken)
    with serving(Dashboard(store, config)) as base:
        assert get(f"{base}/previews/{'ab' * 32}.png")[0] == 404
        assert get(base + "/healthz")[0] == 200
