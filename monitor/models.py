"""The values that flow through the pipeline, named once and used everywhere.

`Watch` (config) -> fetch -> `Fetched` -> parse -> `Item`s -> diff -> `Change`s -> `Delivery` rows.
All are frozen: a stage never mutates what an earlier stage produced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, overload

ChangeKind = Literal[
    "added", "updated", "removed", "source_down", "source_recovered", "gap_opened", "gap_closed", "following"
]
# Changes about a watch itself (its source down, a blind spot, a case it now follows elsewhere: its
# appeal), not about an item the source lists.
STATUS_KINDS = frozenset({"source_down", "source_recovered", "gap_opened", "gap_closed", "following"})


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """A time read back from the store, in UTC: SQLite returns times without their zone."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True, slots=True)
class Fetched:
    """One HTTP response, as the watchers see it. `not_modified` is a 304 answer to a conditional GET."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def body_hash(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def json(self) -> Any:
        return json.loads(self.body)


# Item fields that say where or how an item was seen, not what it is: never part of its content.
NON_CONTENT_FIELDS = frozenset({"source", "sources"})


# `json.dumps` with these arguments, built once (`dumps` builds an encoder per call when given any).
_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a source lists: a docket entry, a press release, an executive order.

    `key` is the item's identity from what it *is* (court + case + entry number, an agency's document id,
    a canonical URL), never from a delivery artifact; `diff` compares items by key and content.
    `group` names what the item belongs to (a case, an agency) so that notifiers can thread and digest.
    `fields` holds the source-specific facts (docket number, entry number, agency, categories, ...).
    `matched` lists the keyword terms that let the item through a filter; it is not part of the content.
    """

    key: str
    title: str
    url: str | None = None
    summary: str | None = None
    published: str | None = None
    group: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    matched: tuple[str, ...] = ()

    def content(self) -> dict[str, Any]:
        """What counts as the item's content: a change in any of these is an `updated` change."""
        return {
            "title": self.title,
            "url": self.url,
            "summary": self.summary,
            "published": self.published,
            **{f"fields.{k}": v for k, v in self.fields.items() if k not in NON_CONTENT_FIELDS},
        }

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(_canonical(self.content()).encode()).hexdigest()[:32]

    def with_matched(self, terms: tuple[str, ...]) -> Item:
        return replace(self, matched=terms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "url": self.url,
            "summary": self.summary,
            "published": self.published,
            "group": self.group,
            "fields": dict(self.fields),
            "matched": list(self.matched),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        return cls(
            key=data["key"],
            title=data.get("title") or "",
            url=data.get("url"),
            summary=data.get("summary"),
            published=data.get("published"),
            group=data.get("group"),
            fields=dict(data.get("fields") or {}),
            matched=tuple(data.get("matched") or ()),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """What `diff` found: an item added, updated (with before and after) or removed.

    `source_down`, `source_recovered`, `gap_opened`, `gap_closed` and `following` (the monitor now follows
    the case's appeal or the court it went to) are changes too, about the watch itself, so that they
    travel through the same outbox as everything else.
    """

    watch_id: str
    kind: ChangeKind
    item: Item
    before: Item | None = None
    changed_fields: tuple[str, ...] = ()
    detected_at: datetime = field(default_factory=utcnow)
    uid: str = ""  # stable identity, set when the change is recorded; idempotency keys derive from it
    # Facts about the item found when it changed, not part of its content (monitor/related.py): the followed
    # cases it is about ({"watch", "watches", "case", "court", "docket_number", "group", "matched"}), and the
    # docket numbers it names that no watch follows ({"docket_number", "court", "command"}).
    related: tuple[Mapping[str, Any], ...] = ()
    unfollowed: tuple[Mapping[str, Any], ...] = ()

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def related_cases(self) -> list[str]:
        """The ids of the watches that follow the cases this item is about."""
        return list(dict.fromkeys(w for r in self.related for w in (r.get("watches") or [r.get("watch")]) if w))

    def field_changes(self) -> dict[str, tuple[Any, Any]]:
        """Before and after of each changed field, for an `updated` change."""
        if self.before is None:
            return {}
        old, new = self.before.content(), self.item.content()
        return {name: (old.get(name), new.get(name)) for name in self.changed_fields}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "uid": self.uid,
            "watch": self.watch_id,
            "kind": self.kind,
            "key": self.key,
            "detected_at": self.detected_at.isoformat(),
            "item": self.item.to_dict(),
            "related_cases": self.related_cases,
            "related": [dict(r) for r in self.related],
            "unfollowed": [dict(u) for u in self.unfollowed],
        }
        if self.before is not None:
            data["before"] = self.before.to_dict()
            data["changed"] = {k: {"before": b, "after": a} for k, (b, a) in self.field_changes().items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            watch_id=data["watch"],
            kind=data["kind"],
            item=Item.from_dict(data["item"]),
            before=Item.from_dict(data["before"]) if data.get("before") else None,
            changed_fields=tuple((data.get("changed") or {}).keys()),
            detected_at=datetime.fromisoformat(data["detected_at"]),
            uid=data.get("uid", ""),
            related=tuple(dict(r) for r in data.get("related") or ()),
            unfollowed=tuple(dict(u) for u in data.get("unfollowed") or ()),
        )


DeliveryStatus = Literal["pending", "sent", "failed"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: one change for one notifier."""

    id: int
    change: Change
    notifier: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    sent_at: datetime | None = None

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and restarts: the same change to the same notifier."""
        return f"{self.change.uid}:{self.notifier}"
