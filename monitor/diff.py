"""What changed: a pure function of the previous snapshot and the current items.

Invariants (DESIGN.md 2-4):
- identity, not appearance: items are compared by `key`, so re-ordering or re-rendering never changes
  anything; an item that rolled off a feed's window and comes back is not new; when a source lists
  one key twice with different contents, the version kept does not depend on the order either;
- a failure is not a change: the caller never calls `diff` for a failed check, and `suspicious_empty`
  turns "the source suddenly lists nothing" into a failure instead of a mass removal;
- first sight is a baseline: the first diff of a watch records everything and reports nothing, unless
  asked to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.models import Change, Item
from monitor.store import StoredItem


@dataclass(frozen=True, slots=True)
class DiffResult:
    changes: list[Change]
    upserts: list[Item]  # rows to write: new, changed, or back from absence
    seen: list[str]  # present and unchanged
    gone: list[str]  # present before, absent now
    duplicates: list[str] = field(default_factory=list)  # keys listed twice by the source (one kept: `preferred`)


def _strictly_equal(a: Any, b: Any) -> bool:
    """`a == b` with the types of every value alike, so that the canonical JSON of both is the same:
    Python has `1 == 1.0 == True` (and `(1,) != [1]`), JSON tells `1`, `1.0` and `true` apart."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is str:
        return bool(a == b)
    if kind is dict:
        return a.keys() == b.keys() and all(_strictly_equal(value, b[key]) for key, value in a.items())
    if kind is list or kind is tuple:
        return len(a) == len(b) and all(map(_strictly_equal, a, b))
    return bool(a == b)


_CONTAINERS = frozenset({dict, list, tuple})


def _same(before: Item, after: Item) -> bool:
    """Whether two versions of an item certainly have the same content (so the same content hash).

    `==` first (the dataclass's fields compared in C: it rejects a changed item at once), then the types
    of the content's values, which `==` does not look at. False means "compare the hashes", not "changed"."""
    if before != after:
        return False
    if (
        type(before.title) is not type(after.title)
        or type(before.url) is not type(after.url)
        or type(before.summary) is not type(after.summary)
        or type(before.published) is not type(after.published)
    ):
        return False
    old, new = before.fields, after.fields
    kinds = list(map(type, old.values()))
    if kinds != list(map(type, map(new.__getitem__, old))):  # the same keys: the items are equal
        return False
    return _CONTAINERS.isdisjoint(kinds) or all(_strictly_equal(value, new[key]) for key, value in old.items())


def changed_fields(before: Item, after: Item) -> tuple[str, ...]:
    old, new = before.content(), after.content()
    return tuple(name for name in dict.fromkeys([*old, *new]) if not _strictly_equal(old.get(name), new.get(name)))


def preferred(one: Item, other: Item, stored: StoredItem | None) -> Item:
    """Of two versions of one key in one listing, the one to keep, whatever their order: the version
    already recorded if it is one of them (so a source listing an old and a new version is not an
    update every time it re-orders them), else the smaller content hash, then the smaller terms."""

    def rank(item: Item) -> tuple[bool, bool, str, tuple[str, ...]]:
        if stored is None:
            return False, False, item.content_hash, item.matched
        return (
            item.content_hash != stored.item.content_hash,
            item.matched != stored.item.matched,
            item.content_hash,
            item.matched,
        )

    return one if rank(one) <= rank(other) else other


def diff(
    watch_id: str,
    previous: Mapping[str, StoredItem],
    current: Sequence[Item],
    *,
    now: datetime,
    baseline: bool = False,
    notify_baseline: bool = False,
    complete: bool = True,
) -> DiffResult:
    """Changes between the stored snapshot and what the source lists now.

    `baseline` is True on a watch's first successful check: everything is recorded, and changes are
    only reported when `notify_baseline` is set. `complete` is False when some listed items could not
    be read: nothing is then taken as removed (the unread ones may be among the missing).
    """
    changes: list[Change] = []
    upserts: list[Item] = []
    seen: list[str] = []
    duplicates: list[str] = []
    listed: dict[str, Item] = {}  # one version per key, in the order keys first appear
    for item in current:
        kept = listed.get(item.key)
        if kept is None:
            listed[item.key] = item
        else:
            duplicates.append(item.key)
            listed[item.key] = preferred(kept, item, previous.get(item.key))
    current_keys = listed.keys()

    for item in listed.values():
        stored = previous.get(item.key)
        if stored is None:
            upserts.append(item)
            if not baseline or notify_baseline:
                changes.append(Change(watch_id, "added", item, detected_at=now))
            continue
        before = stored.item
        # Strictly equal items have equal content: the common case (nothing changed) costs a comparison,
        # not two canonical serialisations. Unequal ones (new text, or only a non-content field such as
        # `source` or `matched`) are decided by the content hash, as before.
        if not _same(before, item) and before.content_hash != item.content_hash:
            upserts.append(item)
            fields = changed_fields(before, item)
            if not baseline or notify_baseline:
                changes.append(Change(watch_id, "updated", item, before=before, changed_fields=fields, detected_at=now))
        elif not stored.present or before.matched != item.matched:
            upserts.append(item)  # back in the listing (not new), or matched other terms: refresh the row
        else:
            seen.append(item.key)

    gone = [key for key, stored in previous.items() if stored.present and key not in current_keys] if complete else []
    if not baseline:
        changes.extend(Change(watch_id, "removed", previous[key].item, detected_at=now) for key in gone)
    return DiffResult(changes, upserts, seen, gone, duplicates)


def suspicious_empty(previous: Mapping[str, StoredItem], parsed_count: int) -> int:
    """How many items the source had if it now lists none: an error page or a broken parse, not news."""
    if parsed_count:
        return 0
    return sum(1 for stored in previous.values() if stored.present)
