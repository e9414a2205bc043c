"""Plain-text rendering of changes, shared by the console, the `check` report and email/Slack fallbacks."""

from __future__ import annotations

from typing import Any

from monitor.models import Change
from monitor.previews import is_preview

LABELS = {
    "added": "New",
    "updated": "Updated",
    "removed": "Removed",
    "source_down": "Source down",
    "source_recovered": "Source recovered",
    "gap_opened": "Coverage gap",
    "gap_closed": "Gap closed",
    "following": "Following",
}

# Item fields worth a line in an alert, in this order, with their labels.
FIELD_LABELS = [
    ("case_name", "Case"),
    ("court", "Court"),
    ("docket_number", "Docket"),
    ("entry_number", "Entry"),
    ("date_filed", "Filed"),
    ("date_entered", "Entered"),
    ("agency", "Agency"),
    ("categories", "Category"),
    ("document_url", "Document"),
    ("docket_url", "Docket page"),
    ("source", "Source"),
]


def shorten(text: str | None, limit: int = 500) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Labels of an update's changed fields (`summary`, `fields.description`, ...), where the name is not plain.
CHANGE_LABELS = {
    "url": "link",
    "published": "date",
    "fields.description": "docket text",
    "fields.short_description": "short description",
}


def _value(value: Any) -> str:
    if value in (None, "", [], ()):
        return "(none)"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _cite(court: Any) -> str:
    from watchers.courts import cite

    return cite(str(court)) if court else ""


def field_changes(change: Change) -> list[tuple[str, Any, Any]]:
    """(label, before, after) of an update; a summary that only repeats a changed field's new text is left out
    (an entry's summary is its docket text: the change is said once)."""
    changed = change.field_changes()
    afters = [after for name, (_, after) in changed.items() if name != "summary"]
    return [
        (CHANGE_LABELS.get(name, name.removeprefix("fields.").replace("_", " ")), before, after)
        for name, (before, after) in changed.items()
        if not (name == "summary" and after in afters)
    ]


def field_change_lines(change: Change, limit: int = 200) -> list[str]:
    """An update's changes, one line each: `docket text: (none) -> NOTICE OF APPEARANCE ...`."""
    return [
        f"{label}: {shorten(_value(before), limit)} -> {shorten(_value(after), limit)}"
        for label, before, after in field_changes(change)
    ]


def headline(change: Change, watch_name: str | None = None) -> str:
    label = "Preview" if is_preview(change) else LABELS.get(change.kind, change.kind)
    title = shorten(change.item.title, 200) or change.key
    return f"[{label}] {watch_name or change.watch_id}: {title}"


def change_text(change: Change, watch_name: str | None = None) -> str:
    item = change.item
    lines = [headline(change, watch_name)]
    for name, label in FIELD_LABELS:
        value = item.fields.get("sources") or item.fields.get(name) if name == "source" else item.fields.get(name)
        if value not in (None, "", [], ()):
            lines.append(f"  {label}: {_value(value)}")
    if item.published and item.published not in (item.fields.get("date_filed"), item.fields.get("date_entered")):
        lines.append(f"  Date: {item.published}")
    if item.summary and change.kind != "updated":
        lines.append(f"  {shorten(item.summary)}")
    if is_preview(change):  # a document preview: its pages and first lines, not a before -> after
        lines.append(f"  Pages: {item.fields.get('preview_pages', '?')}")
        if item.fields.get("preview_excerpt"):
            lines.append(f"  Text: {shorten(str(item.fields['preview_excerpt']))}")
        if item.fields.get("preview_url"):
            lines.append(f"  Free PDF: {item.fields['preview_url']}")
    elif change.kind == "updated":
        lines += [f"  {line}" for line in field_change_lines(change)]
    if item.url:
        lines.append(f"  {item.url}")
    for case in change.related:
        where = " ".join(p for p in (_cite(case.get("court")), str(case.get("docket_number") or "")) if p)
        lines.append(f"  Related case: {case.get('case') or where} ({where})")
    for docket in change.unfollowed:
        court = f" ({_cite(docket.get('court'))})" if docket.get("court") else ""
        lines.append(f"  Not followed: {docket.get('docket_number')}{court}; to follow it: {docket.get('command')}")
    if item.matched:
        lines.append(f"  Matched: {', '.join(item.matched)}")
    return "\n".join(lines)
