"""The pure diff: identity by key, baseline silence, updates with before and after, removals recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.diff import diff, suspicious_empty
from monitor.models import Item
from monitor.store import StoredItem

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def item(n: int, title: str | None = None) -> Item:
    return Item(key=f"k{n}", title=title or f"Title {n}", url=f"https://example.org/{n}")


def snapshot(*items: Item, gone: tuple[str, ...] = ()) -> dict[str, StoredItem]:
    return {i.key: StoredItem(i, i.key not in gone, NOW) for i in items}


def test_first_sight_is_a_silent_baseline():
    """The first diff records every item and reports no change."""
    result = diff("w", {}, [item(1), item(2)], now=NOW, baseline=True)
    assert result.changes == [] and [i.key for i in result.upserts] == ["k1", "k2"]


def test_baseline_can_notify_when_asked():
    """With notify_baseline the first diff reports every item as added."""
    result = diff("w", {}, [item(1)], now=NOW, baseline=True, notify_baseline=True)
    assert [c.kind for c in result.changes] == ["added"]


def test_reordering_is_not_a_change():
    """The same items in another order produce no change."""
    result = diff("w", snapshot(item(1), item(2)), [item(2), item(1)], now=NOW)
    assert result.changes == [] and sorted(result.seen) == ["k1", "k2"]


def test_edited_title_is_one_update_with_before_and_after():
    """A changed title is one `updated` change carrying both versions."""
    result = diff("w", snapshot(item(1)), [item(1, "Corrected title")], now=NOW)
    [change] = result.changes
    assert change.kind == "updated" and change.changed_fields == ("title",)
    assert change.field_changes() == {"title": ("Title 1", "Corrected title")}


def test_item_that_comes_back_is_not_new():
    """An item that rolled off the listing and returns unchanged is not reported again."""
    result = diff("w", snapshot(item(1), item(2), gone=("k2",)), [item(1), item(2)], now=NOW)
    assert result.changes == [] and [i.key for i in result.upserts] == ["k2"]


def test_removal_is_recorded():
    """An item missing from the source is a `removed` change (alerting on it is the engine's choice)."""
    result = diff("w", snapshot(item(1), item(2)), [item(1)], now=NOW)
    assert [(c.kind, c.key) for c in result.changes] == [("removed", "k2")] and result.gone == ["k2"]


def test_duplicate_keys_yield_one_item_and_are_reported():
    """A source listing one key twice yields one item, and the duplicate is reported."""
    result = diff("w", {}, [item(1), item(1, "dupe")], now=NOW)
    assert len(result.changes) == 1 and result.duplicates == ["k1"]
    assert [i.key for i in result.upserts] == ["k1"]


def test_duplicate_versions_are_chosen_independently_of_order():
    """Two versions of one key: the same one is kept in either order, first sight or not."""
    one, other = item(1, "Version A"), item(1, "Version B")
    for previous in ({}, snapshot(item(2))):
        forward = diff("w", previous, [one, other], now=NOW).upserts
        backward = diff("w", previous, [other, one], now=NOW).upserts
        assert [i for i in forward if i.key == "k1"] == [i for i in backward if i.key == "k1"]


def test_reordered_duplicates_never_alert_updated():
    """Whichever version of a duplicated key is on record stays chosen while the source lists it: a
    source re-ordering an old and a new version of one item alerts nothing, check after check."""
    one, other = item(1, "Version A"), item(1, "Version B")
    for recorded in (one, other):
        for listing in ([one, other], [other, one]):
            result = diff("w", snapshot(recorded), listing, now=NOW)
            assert result.changes == [] and result.seen == ["k1"] and result.duplicates == ["k1"]


def test_an_incomplete_listing_removes_nothing():
    """When some listed items could not be read, what is missing is not taken as removed."""
    result = diff("w", snapshot(item(1), item(2)), [item(1, "Corrected")], now=NOW, complete=False)
    assert [c.kind for c in result.changes] == ["updated"] and result.gone == []


def test_empty_result_from_a_source_that_had_items_is_suspicious():
    """Zero items where there were some is flagged (treated as a failure by the engine)."""
    assert suspicious_empty(snapshot(item(1), item(2)), 0) == 2
    assert suspicious_empty(snapshot(item(1)), 1) == 0
    assert suspicious_empty({}, 0) == 0


def test_matched_terms_are_not_content():
    """Matching other keyword terms refreshes the row but is not an update."""
    before = snapshot(item(1).with_matched(("sanctuary",)))
    result = diff("w", before, [item(1).with_matched(("Chicago",))], now=NOW)
    assert result.changes == [] and [i.matched for i in result.upserts] == [("Chicago",)]


# ---------------------------------------------------------------- the equality fast path
# `diff` skips the content hash of items that are strictly equal; it must decide exactly as the hash does.


def _with_fields(n: int, **fields) -> Item:
    return Item(key=f"k{n}", title=f"Title {n}", url=f"https://example.org/{n}", fields=fields)


def test_a_value_changing_only_between_1_true_and_1_0_is_an_update():
    """Python has 1 == 1.0 == True; the content (canonical JSON) does not: each is an update."""
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"count": 1}, {"count": True}),
        ({"count": 1}, {"count": 1.0}),
        ({"count": 0}, {"count": False}),
        ({"counts": [1, 2]}, {"counts": [True, 2]}),
        ({"nested": {"a": 1}}, {"nested": {"a": 1.0}}),
    ]
    for n, (old, new) in enumerate(pairs):
        before, after = _with_fields(n, **old), _with_fields(n, **new)
        assert before == after and before.content_hash != after.content_hash  # what the fast path must see
        result = diff("w", snapshot(before), [after], now=NOW)
        assert [(c.kind, c.changed_fields) for c in result.changes] == [("updated", tuple(f"fields.{k}" for k in old))]
        assert result.upserts == [after]


def test_the_fast_path_decides_as_the_content_hash_does(monkeypatch):
    """Over equal, edited, retyped, re-sourced and re-matched items, `diff` with the fast path gives the
    same changes, upserts and seen keys as with every item hashed."""
    import monitor.diff as diff_module

    stored = [
        _with_fields(1, court="mad", number="1"),
        _with_fields(2, court="mad", pages=3, sealed=False),
        _with_fields(3, court="mad", pages=3),
        _with_fields(4, court="mad", source="pacer"),
        _with_fields(5, tags=["a", "b"]),
        _with_fields(6, tags=["a", "b"]),
        Item(key="k7", title="T", matched=("fraud",)),
        Item(key="k8", title="T", summary=None),
        _with_fields(9, ratio=0.5),
    ]
    stored = [Item.from_dict(i.to_dict()) for i in stored]  # as the store hands them back
    current = [
        _with_fields(1, court="mad", number="1"),  # unchanged
        _with_fields(2, court="mad", pages=3, sealed=0),  # False -> 0: changed content
        _with_fields(3, court="mad", pages="3"),  # 3 -> "3": changed content
        _with_fields(4, court="mad", source="courtlistener"),  # not content: a refresh at most
        _with_fields(5, tags=("a", "b")),  # a tuple: the same JSON, not a change
        _with_fields(6, tags=["b", "a"]),  # re-ordered list: changed
        Item(key="k7", title="T", matched=("fraud", "bribery")),  # matched: a refresh, not a change
        Item(key="k8", title="T", summary=""),  # None -> "": changed
        _with_fields(9, ratio=0.5),  # unchanged float
    ]
    previous = snapshot(*stored)

    def outcome(result):
        return (
            [(c.kind, c.item.key, c.changed_fields) for c in result.changes],
            [i.key for i in result.upserts],
            sorted(result.seen),
        )

    fast = outcome(diff("w", previous, current, now=NOW))
    monkeypatch.setattr(diff_module, "_same", lambda before, after: False)
    slow = outcome(diff("w", previous, current, now=NOW))
    assert fast == slow
    assert [key for _, key, _ in fast[0]] == ["k2", "k3", "k6", "k8"]
    assert fast[2] == ["k1", "k4", "k5", "k9"]
