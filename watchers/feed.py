"""`feed`: any RSS 2.0, RSS 1.0 (RDF) or Atom feed: agency news, WordPress sites, per-docket feeds.

Keys:
- `url` (required): the feed.
- `agency`: a name to show on each item as its agency (e.g. "Department of Justice").
- `include_body` (default false): also keep the full `content:encoded` / Atom `content` text on each item
  (keyword rules always see it; keeping it makes edits to the body count as updates).
- plus the keys every watch has (`every`, `notify`, `keywords`, ...).

Each item's identity is its canonical link (fragment and tracking parameters removed), else its guid or
Atom id, else its title: re-ordering or a rolling window never produces a false change.

Quirks handled here: the encoding declared in the XML prolog is honoured (PACER and many government
feeds are ISO-8859-1); escaped HTML in descriptions is reduced to text (DOJ's `&amp;nbsp;`); titles are
whitespace-squashed (DOJ titles carry trailing spaces); tracking parameters (`utm_*`, `fbclid`, ...)
are removed from links. Safety: documents that declare XML entities are refused (entity-expansion
"billion laughs" attacks), no DTD or network access is ever used, and an HTML page served where a feed
should be (an error or login page with status 200) is a clear error, never an empty feed.

Broken feeds (see `watchers/xmlsafe.py`): a bare `&` ("H&M HENNES & MAURITZ"), control characters, junk
after the root element and the like are repaired, and a malformed item is skipped with a warning
naming it. An item that cannot be read for any other reason is skipped the same way, and an unreadable
date is left out of its item with a warning (`watchers/dates.py`); a feed whose every item fails is a
failure, never an empty feed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from lxml import etree
from pydantic import Field

from monitor.errors import ParseError
from monitor.models import Fetched, Item
from watchers.base import Parsed, UrlWatchConfig, UrlWatcher, WatchConfig
from watchers.dates import iso_date
from watchers.listing import Problems, capped, label, read_each
from watchers.textutil import absolute_url, canonical_url, clean_url, html_to_text, squash
from watchers.xmlsafe import parse_xml, text_of

__all__ = [
    "FeedConfig",
    "FeedWatcher",
    "channel_info",
    "entries",
    "entry_name",
    "feed_kind",
    "parse_entry",
    "parse_xml",
    "read_entries",
]

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rss1": "http://purl.org/rss/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "content": "http://purl.org/rss/1.0/modules/content/",
}


class FeedConfig(UrlWatchConfig):
    url: str = Field(description="the feed URL")
    agency: str | None = Field(None, description="agency name shown on each item")
    include_body: bool = False


_PLAIN_NS = frozenset({NS["atom"], NS["rss1"]})  # where a plain name (`title`) may live, besides no namespace


def _split(tag: Any) -> tuple[str | None, str]:
    """(namespace, lower-case local name) of a tag, by string operations: an `etree.QName` per child
    per lookup was a third of the feed parser's time."""
    if not isinstance(tag, str):  # comments, processing instructions
        return None, ""
    if tag[:1] == "{":
        namespace, _, local = tag[1:].partition("}")
        return namespace, local.lower()
    return None, tag.lower()


def _local(tag: Any) -> str:
    return _split(tag)[1]


def _text(element: etree._Element | None) -> str:
    return "" if element is None else text_of(element)


def _child(
    parent: etree._Element, *names: str, plain: Mapping[str, etree._Element] | None = None
) -> etree._Element | None:
    """First child whose local name or `prefix:name` matches, ignoring namespace for plain names.
    `plain`: `_plain_children(parent)`, when the caller looks up several names in one parent."""
    for name in names:
        if ":" in name:
            prefix, local = name.split(":", 1)
            found = parent.find(f"{{{NS[prefix]}}}{local}")
        elif plain is not None:
            found = plain.get(name)
        else:
            found = None
            for child in parent:
                namespace, local = _split(child.tag)
                if local == name and (namespace is None or namespace in _PLAIN_NS):
                    found = child
                    break
        if found is not None:
            return found
    return None


def _plain_children(parent: etree._Element) -> dict[str, etree._Element]:
    """The first child of each local name among those `_child` finds by a plain name (no namespace, or
    Atom's or RSS 1.0's): one pass over an entry's children instead of one per name looked up."""
    found: dict[str, etree._Element] = {}
    for child in parent:
        namespace, local = _split(child.tag)
        if (namespace is None or namespace in _PLAIN_NS) and local not in found:
            found[local] = child
    return found


def feed_kind(root: etree._Element) -> str:
    name = _local(root.tag)
    if name == "rss":
        return "rss"
    if name == "feed":
        return "atom"
    if name == "rdf":
        return "rdf"
    if name == "html":
        raise ParseError("got an HTML page where a feed was expected (an error or login page?)")
    raise ParseError(f"not an RSS or Atom feed (root element <{name}>)")


def entries(root: etree._Element) -> list[etree._Element]:
    kind = feed_kind(root)
    if kind == "rss":
        channel = _child(root, "channel")
        return [] if channel is None else [c for c in channel if _local(c.tag) == "item"]
    if kind == "rdf":
        return [c for c in root if _local(c.tag) == "item"]
    return [c for c in root if _local(c.tag) == "entry"]


def channel_info(root: etree._Element) -> dict[str, str]:
    """Title, description and build date of an RSS channel or Atom feed."""
    kind = feed_kind(root)
    head = _child(root, "channel") if kind in ("rss", "rdf") else root
    if head is None:
        return {}
    out = {}
    for key, names in (
        ("title", ("title",)),
        ("description", ("description", "subtitle")),
        ("updated", ("lastbuilddate", "pubdate", "updated", "dc:date")),
    ):
        node = _child(head, *names)
        if node is not None and _text(node).strip():
            out[key] = squash(_text(node))
    return out


def _atom_link(entry: etree._Element) -> str | None:
    fallback = None
    for link in entry:
        if _local(link.tag) != "link":
            continue
        rel = link.get("rel", "alternate")
        if rel == "alternate":
            return link.get("href")
        fallback = fallback or link.get("href")
    return fallback


def entry_name(position: int, entry: etree._Element) -> str:
    """How warnings name an item: its title, else its link, else its place in the feed."""
    link = _atom_link(entry) if _local(entry.tag) == "entry" else _text(_child(entry, "link"))
    return label(position, squash(html_to_text(_text(_child(entry, "title")))), squash(link))


def parse_entry(
    entry: etree._Element,
    base_url: str,
    *,
    include_body: bool = False,
    warnings: list[str] | None = None,
    position: int = 0,
) -> Item | None:
    """One RSS item or Atom entry as an Item, or None if it has nothing to identify it by. A date that
    cannot be read is left out, with a warning naming the item (by `position`) in `warnings`."""
    is_atom = _local(entry.tag) == "entry"
    plain = _plain_children(entry)
    title = squash(html_to_text(_text(_child(entry, "title", plain=plain))))
    if is_atom:
        link = _atom_link(entry)
        guid = squash(_text(_child(entry, "id", plain=plain)))
        summary_node = _child(entry, "summary", plain=plain)
        body_node = _child(entry, "content", plain=plain)
        date = _text(_child(entry, "published", "updated", plain=plain))
        author_node = _child(entry, "author", plain=plain)
        author = squash(_text(_child(author_node, "name"))) if author_node is not None else ""
        categories = [c.get("term") or c.get("label") or "" for c in entry if _local(c.tag) == "category"]
    else:
        link = squash(_text(_child(entry, "link", plain=plain))) or None
        guid = squash(_text(_child(entry, "guid", plain=plain)))
        summary_node = _child(entry, "description", plain=plain)
        body_node = _child(entry, "content:encoded")
        date = _text(_child(entry, "pubdate", "dc:date", plain=plain))
        author = squash(_text(_child(entry, "author", "dc:creator", plain=plain)))
        categories = [squash(_text(c)) for c in entry if _local(c.tag) == "category"]
    url = clean_url(absolute_url(base_url, link))
    summary = html_to_text(_text(summary_node))
    body = html_to_text(_text(body_node)) if body_node is not None else ""
    if url:
        key = "url:" + canonical_url(url)
    elif guid:
        key = "guid:" + guid
    elif title:
        key = "title:" + title.lower()
    else:
        return None
    fields: dict[str, Any] = {}
    if categories := [c for c in categories if c]:
        fields["categories"] = categories
    if author:
        fields["author"] = author
    if body:
        fields["body" if include_body else "_body"] = body
    return Item(
        key=key,
        title=title or url or guid,
        url=url,
        summary=summary or None,
        published=iso_date(date, warnings, lambda: label(position, title, url)),
        fields=fields,
    )


def with_agency(item: Item, agency: str | None) -> Item:
    if not agency:
        return item
    return Item(
        key=item.key,
        title=item.title,
        url=item.url,
        summary=item.summary,
        published=item.published,
        group=item.group or f"agency:{agency}",
        fields={**item.fields, "agency": agency},
        matched=item.matched,
    )


class FeedWatcher(UrlWatcher):
    """RSS 2.0, RSS 1.0 and Atom feeds."""

    kind: ClassVar[str] = "feed"
    Config: ClassVar[type[WatchConfig]] = FeedConfig
    example: ClassVar[dict[str, Any]] = {"url": "{base}/news/rss"}

    def parse(self, fetched: Fetched) -> list[Item]:
        return self.parse_with_info(fetched).items

    def parse_with_info(self, fetched: Fetched) -> Parsed:
        warnings = Problems()
        root = parse_xml(fetched.body, fetched.url, warnings)
        include_body = getattr(self.config, "include_body", False)
        agency = getattr(self.config, "agency", None)
        items = read_entries(
            root,
            fetched.url,
            warnings,
            lambda entry, position: parse_entry(
                entry, fetched.url, include_body=include_body, warnings=warnings, position=position
            ),
        )
        return Parsed(
            [with_agency(i, agency) for i in items],
            {"feed": channel_info(root)},
            capped(warnings),
            incomplete=warnings.skipped > 0,
        )


def read_entries(
    root: etree._Element, url: str, warnings: list[str], read: Callable[[etree._Element, int], Item | None]
) -> list[Item]:
    """`read(entry, its position)` for each entry of a feed, each on its own (see `watchers.listing`);
    an entry with nothing to identify it by (no link, guid or title) is named in a warning too."""
    unnamed: list[str] = []

    def one(position: int, entry: etree._Element) -> Item | None:
        item = read(entry, position)
        if item is None:
            unnamed.append(entry_name(position, entry))
        return item

    items = read_each(entries(root), one, name=entry_name, warnings=warnings, url=url)
    if unnamed:
        warnings.append(f"{len(unnamed)} item(s) with no link, guid or title skipped: {', '.join(unnamed[:5])}")
    return items
