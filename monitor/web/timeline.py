"""A timeline: the items several watches saw, one entry per item key, with what each later update changed.

The same filing seen by a court's RSS feed and by CourtListener is one item key held by two watches
(`monitor/fusion.py`); here it is one entry listing both sightings ("which sources saw it and when")
and the `updated` changes recorded for it (each field's before -> after). A document preview
(`monitor.previews`: an update whose changed fields are all `preview_*`) is not shown as an update but
as the entry's preview: the page count, the first lines, the first page's picture and the free PDF.
Pure functions of what the store returned, shared by the case pages and the Atom feeds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.models import Change, Item
from monitor.previews import is_preview
from monitor.store.views import Mention, Sighting

_THUMBNAIL_REF = re.compile(r"^sha256:([0-9a-f]{64})$")

# What an update's field names mean to a reader.
FIELD_LABELS = {
    "title": "title",
    "url": "link",
    "summary": "text",
    "published": "date",
    "fields.description": "docket text",
    "fields.short_description": "short description",
    "fields.date_filed": "date filed",
    "fields.date_entered": "date entered",
    "fields.document_url": "document link",
    "fields.attachments": "attachments",
    "fields.case_name": "case name",
    "fields.assigned_to": "judge",
    "fields.date_terminated": "date terminated",
}


@dataclass(frozen=True, slots=True)
class Seen:
    watch_id: str
    first_seen_at: datetime
    present: bool


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Update:
    detected_at: datetime
    watch_id: str
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class Preview:
    """What a filing's free PDF says (`monitor.previews`): recorded after its alert, as an update."""

    detected_at: datetime
    watch_id: str
    pages: int | None
    excerpt: str | None
    thumbnail: str | None  # the picture's reference in the state database: `sha256:<hex>`
    url: str | None  # the free PDF

    @property
    def thumbnail_path(self) -> str | None:
        """Where the dashboard serves the first page's picture: `/previews/<hex>.png`."""
        match = _THUMBNAIL_REF.match(self.thumbnail or "")
        return f"/previews/{match.group(1)}.png" if match else None


def preview_of(change: Change) -> Preview:
    fields = change.item.fields
    pages = str(fields.get("preview_pages") or "")
    return Preview(
        change.detected_at,
        change.watch_id,
        int(pages) if pages.isdigit() else None,
        str(fields["preview_excerpt"]) if fields.get("preview_excerpt") else None,
        str(fields["preview_thumbnail"]) if fields.get("preview_thumbnail") else None,
        str(fields["preview_url"]) if fields.get("preview_url") else None,
    )


@dataclass
class Entry:
    key: str
    item: Item  # the fullest version any watch holds
    sightings: list[Seen] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    preview: Preview | None = None  # the newest document preview, if its PDF was read

    @property
    def number(self) -> str | None:
        value = self.item.fields.get("entry_number")
        return str(value) if value not in (None, "") else None

    @property
    def is_docket_entry(self) -> bool:
        return self.key.startswith("entry:")

    @property
    def label(self) -> str:
        if self.key.startswith("docket:"):
            return "Case record"
        if self.is_docket_entry:
            return f"#{self.number}" if self.number else "Minute entry"
        return ""

    @property
    def heading(self) -> str:
        """The entry's short text: a docket entry's short description, else the item's title."""
        if self.is_docket_entry:
            fields = self.item.fields
            return str(fields.get("short_description") or fields.get("description") or self.item.title)
        return self.item.title

    @property
    def text(self) -> str | None:
        """The long text, when it says more than the heading."""
        text = self.item.summary or self.item.fields.get("description")
        return str(text) if text and str(text) != self.heading else None

    @property
    def date(self) -> str | None:
        fields = self.item.fields
        value = fields.get("date_filed") or fields.get("date_entered") or self.item.published
        return str(value)[:10] if value else None

    @property
    def first_seen_at(self) -> datetime:
        return min(s.first_seen_at for s in self.sightings)

    @property
    def updated_at(self) -> datetime:
        """When the entry last changed: its newest update or preview, else its first sighting."""
        return max(
            [u.detected_at for u in self.updates]
            + [self.first_seen_at]
            + ([self.preview.detected_at] if self.preview else [])
        )

    @property
    def anchor(self) -> str:
        """A stable fragment id: `entry-140` for numbered docket entries, else one derived from the key."""
        if self.is_docket_entry and self.number and self.number.isdigit():
            return f"entry-{self.number}"
        return "item-" + hashlib.sha256(self.key.encode()).hexdigest()[:12]

    def links(self) -> list[tuple[str, str]]:
        """(label, url) of the document, its attachments, the docket and the source page."""
        fields = self.item.fields
        out: list[tuple[str, str]] = []
        if fields.get("document_url"):
            out.append(("Document", str(fields["document_url"])))
        for attachment in fields.get("attachments") or []:
            if isinstance(attachment, Mapping) and attachment.get("url"):
                label = f"Attachment {attachment.get('number') or ''}".strip()
                if attachment.get("description"):
                    label += f": {attachment['description']}"
                out.append((label, str(attachment["url"])))
        if fields.get("docket_url"):
            out.append(("Docket", str(fields["docket_url"])))
        if self.item.url and self.item.url not in {u for _, u in out}:
            out.append(("Source", self.item.url))
        return out

    def sort_key(self) -> tuple[str, int, datetime]:
        number = self.number or ""
        return (
            self.date or self.first_seen_at.date().isoformat(),
            int(number) if number.isdigit() else -1,
            self.first_seen_at,
        )


def _fullness(sighting: Sighting) -> tuple[int, int, int]:
    item = sighting.item
    return (len(item.fields.get("sources") or ()), len(item.fields), len(item.summary or ""))


def _shown(value: Any) -> str:
    if value in (None, "", [], {}):
        return "(none)"
    if isinstance(value, list):
        return "; ".join(_shown(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _update(change: Change) -> Update:
    fields = tuple(
        FieldChange(
            FIELD_LABELS.get(name, name.removeprefix("fields.").replace("_", " ")), _shown(before), _shown(after)
        )
        for name, (before, after) in change.field_changes().items()
    )
    return Update(change.detected_at, change.watch_id, fields)


def build(sightings: Iterable[Sighting], updates: Mapping[str, Sequence[Change]]) -> list[Entry]:
    """One entry per item key, newest first (by the source's date, then entry number, then first sight)."""
    by_key: dict[str, list[Sighting]] = {}
    for sighting in sightings:
        by_key.setdefault(sighting.item.key, []).append(sighting)
    entries = []
    for key, seen in by_key.items():
        fullest = max(seen, key=_fullness)
        changes = updates.get(key, ())
        previews = [preview_of(c) for c in changes if is_preview(c)]
        entry = Entry(
            key,
            fullest.item,
            sorted((Seen(s.watch_id, s.first_seen_at, s.present) for s in seen), key=lambda s: s.first_seen_at),
            [_update(c) for c in changes if not is_preview(c)],
            previews[-1] if previews else None,
        )
        entries.append(entry)
    entries.sort(key=Entry.sort_key, reverse=True)
    return entries


@dataclass(frozen=True, slots=True)
class Outline:
    """An item's place in a timeline, known before the item is read: its date, number, first sighting."""

    key: str
    date: str
    number: int
    first_seen_at: datetime


def outline(mentions: Iterable[Mention]) -> list[Outline]:
    """One line per item key, newest first: by the source's date (the latest any source gives), then the
    entry number, then the first sighting. Undated items count from the day they were first seen."""
    dates: dict[str, str] = {}
    first: dict[str, datetime] = {}
    numbers: dict[str, int] = {}
    for m in mentions:
        dates[m.key] = max(dates.get(m.key, ""), (m.published or "")[:10])
        first[m.key] = min(first[m.key], m.first_seen_at) if m.key in first else m.first_seen_at
        numbers[m.key] = m.number
    lines = [Outline(key, dates[key] or seen.date().isoformat(), numbers[key], seen) for key, seen in first.items()]
    return sorted(lines, key=lambda o: (o.date, o.number, o.first_seen_at), reverse=True)


def since(lines: Sequence[Outline], day: str | None) -> list[Outline]:
    """The lines dated on or after `day` (YYYY-MM-DD); all of them when `day` is empty."""
    return [line for line in lines if line.date >= day] if day else list(lines)
