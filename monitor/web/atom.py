"""Atom 1.0 feeds (RFC 4287) of timeline entries, for feed readers and a CMS to subscribe to.

- One Atom entry per item (a docket entry, a press release), not per sighting or change: its `id` is
  `urn:uuid:` + a UUID5 of the item's key, so it is the same in every render, on every replica, in the
  all-items feed and in the case's feed, and whichever source saw the item first. An update keeps the
  id and moves `updated`, which is what a feed reader shows as "updated".
- `published` is when the monitor first saw the item; `updated` its latest recorded update.
- The `alternate` link is the document or the source page (http and https only); the `related` link
  is the item on the dashboard. The summary is the item's text; the content says which sources saw
  it, what each update changed (before -> after) and, for a filing whose free PDF was read, its
  document preview (pages, first lines), as plain text.
- Everything is text escaped by lxml; characters XML cannot carry are dropped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from lxml import etree

from monitor.web.timeline import Entry

ATOM = "http://www.w3.org/2005/Atom"
# Fixed for ever: entry ids derive from it and must never change.
NAMESPACE = uuid.UUID("6f1b6f64-3c8e-5d63-9a38-7c3e0c4a8d51")
GENERATOR = "court-filing-monitor"
EntryUrl = Callable[[Entry], str]  # where an entry lives on the dashboard
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def entry_id(key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, key)}"


def feed_id(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, 'feed:' + name)}"


def _text(value: object) -> str:
    return _NOT_XML.sub("", str(value))


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _web(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("http://", "https://")) else None


def _add(parent: etree._Element, tag: str, text: object | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _text(text)
    return element


def _content(entry: Entry, watch_names: Mapping[str, str]) -> str:
    lines = []
    if entry.text:
        lines.append(entry.text)
    if entry.date:
        lines.append(f"Dated {entry.date}.")
    for seen in entry.sightings:
        lines.append(f"Seen by {watch_names.get(seen.watch_id, seen.watch_id)} at {_stamp(seen.first_seen_at)}.")
    for update in entry.updates:
        lines.append(f"Updated at {_stamp(update.detected_at)} by {watch_names.get(update.watch_id, update.watch_id)}:")
        lines += [f"  {f.name}: {f.before} -> {f.after}" for f in update.fields]
    if entry.preview is not None:
        preview = entry.preview
        pages = f"{preview.pages} page{'' if preview.pages == 1 else 's'}" if preview.pages else "pages unknown"
        lines.append(f"Document preview ({pages}), read at {_stamp(preview.detected_at)}:")
        lines.append(f"  {preview.excerpt}" if preview.excerpt else "  (no text: a scan?)")
        if _web(preview.url):
            lines.append(f"  Free PDF: {preview.url}")
    return "\n".join(lines)


def render(
    *,
    name: str,
    title: str,
    self_url: str,
    page_url: str,
    entries: Sequence[Entry],
    watch_names: Mapping[str, str],
    entry_url: EntryUrl,
    now: datetime,
) -> bytes:
    """The feed as UTF-8 bytes. `name` identifies the feed (its id derives from it)."""
    # None is the default namespace's key, as lxml documents it; lxml-stubs allow only str keys
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})  # type: ignore[dict-item]
    _add(feed, "id", feed_id(name))
    _add(feed, "title", title)
    _add(feed, "updated", _stamp(max((e.updated_at for e in entries), default=now)))
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=page_url)
    author = _add(feed, "author")
    _add(author, "name", GENERATOR)
    _add(feed, "generator", GENERATOR)
    for entry in entries:
        element = _add(feed, "entry")
        _add(element, "id", entry_id(entry.key))
        _add(element, "title", entry.item.title or entry.heading)
        _add(element, "updated", _stamp(entry.updated_at))
        _add(element, "published", _stamp(entry.first_seen_at))
        own = entry_url(entry)
        source = _web(entry.item.fields.get("document_url")) or _web(entry.item.url)
        _add(element, "link", rel="alternate", type="text/html", href=source or own)
        if source:
            _add(element, "link", rel="related", type="text/html", href=own)
        for term in (entry.item.fields.get("court"), entry.item.fields.get("agency")):
            if term:
                _add(element, "category", term=str(term))
        _add(element, "summary", entry.text or entry.heading, type="text")
        _add(element, "content", _content(entry, watch_names), type="text")
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
