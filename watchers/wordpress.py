"""`wordpress`: the RSS feed of a WordPress site (an agency or city attorney press page), with categories.

Works for any WordPress feed: a site's `/feed/`, a category's `/category/<slug>/feed/`, a section's
`/<section>/feed/`. Used for the White House (see the `whitehouse` kind, which is this with a default
URL) and for the San Francisco City Attorney, whose feed URL `https://www.sfcityattorney.org/feed/`
follows the WordPress convention and has **not** been verified live.

Keys:
- `url` (required): the feed.
- `categories`: keep only items filed under one of these categories, by name (`Executive Orders`) or
  slug (`executive-orders`), case-insensitive. Default: every item.
- `agency`: the name shown as the item's agency (default: the site name from the feed title,
  "Presidential Actions – The White House" -> "The White House").
- `include_body` (default false): also store the post's text, so that edits to the body count as
  updates. Keyword rules can read it either way (`keywords.fields: [title, summary, _body]`).
- plus the keys every watch has (`every`, `notify`, `keywords`, ...).

Each item: title, link, date, summary (the excerpt), fields `agency`, `categories`, `author`. Its
identity is the post id from WordPress's permanent guid (`https://www.whitehouse.gov/?p=52161` ->
`wp:www.whitehouse.gov:52161`): WordPress never changes a guid, while a corrected title can change the
link's slug, so a correction is an `updated` change of the same post. Without a `?p=` guid the
canonical link is the identity, as in the `feed` kind.

Quirks handled here (seen in the recorded White House feed, https://www.whitehouse.gov/presidential-actions/feed/):
- `content:encoded` carries page chrome: the section's navigation menu ("Executive Orders",
  "Proclamations", ...) and a search form precede the text of every post. Navigation, forms, selects and
  the White House "topper" block are dropped before the text is used, else a keyword like "Executive
  Orders" would match every post.
- Excerpts end with WordPress's "The post <title> appeared first on <site>." line; it is removed.
- Category names are HTML-escaped inside CDATA (`Nominations &amp; Appointments`); they are unescaped.
- Only the newest posts are in a feed (WordPress default: 10); `?paged=2` pages further but is not read.
- When `categories` leaves nothing out of a feed, and the watch had matches before, the check counts as
  unchanged (the matches scrolled out of the feed) rather than as a source that suddenly lists nothing.
- Broken XML and unreadable posts are handled as in the `feed` kind (repaired, or skipped with a
  warning naming the post); tracking parameters are removed from links.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Any, ClassVar, cast
from urllib.parse import parse_qs, urlsplit

import lxml.html
from lxml import etree
from pydantic import Field

from monitor.models import Fetched, Item
from watchers.base import Parsed, UrlWatchConfig, UrlWatcher, WatchConfig
from watchers.feed import NS, channel_info, parse_entry, parse_xml, read_entries
from watchers.jsonapi import NameList
from watchers.listing import Problems, capped
from watchers.textutil import html_to_text, squash
from watchers.xmlsafe import text_of

_APPEARED_FIRST = re.compile(r"The post .+ appeared first on .+", re.DOTALL)
_CHROME = (
    "//nav",
    "//form",
    "//select",
    "//script",
    "//style",
    "//noscript",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' wp-block-whitehouse-topper ')]",
)
_SITE_SEPARATORS = (" – ", " - ", " | ", " — ")


class WordPressConfig(UrlWatchConfig):
    url: str = Field(description="the WordPress feed URL")
    categories: NameList = Field(
        default_factory=list, description="keep items in one of these categories (names or slugs)"
    )
    agency: str | None = Field(None, description="agency name shown on items (default: the site name)")
    include_body: bool = False


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", html.unescape(name).lower()).strip("-")


def post_key(guid: str) -> str | None:
    """`wp:<host>:<post id>` from a WordPress guid such as `https://site/?p=123`; None for other guids."""
    parts = urlsplit(guid.strip())
    if not parts.netloc:
        return None
    query = parse_qs(parts.query)
    for name in ("p", "page_id"):
        values = query.get(name)
        if values and values[0].isdigit():
            return f"wp:{parts.netloc.lower()}:{values[0]}"
    return None


def post_text(markup: str) -> str:
    """The visible text of a post's `content:encoded`, without navigation and site chrome."""
    if not markup.strip():
        return ""
    try:
        fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return html_to_text(markup)
    for path in _CHROME:
        for element in fragment.xpath(path):
            element.drop_tree()
    return strip_appeared_first(html_to_text(etree.tostring(fragment, encoding="unicode")))


def strip_appeared_first(text: str) -> str:
    """Drop WordPress's closing "The post <title> appeared first on <site>." line."""
    at = text.rfind("The post ")
    if at >= 0 and _APPEARED_FIRST.fullmatch(text[at:].strip()):
        return text[:at].rstrip()
    return text


def site_name(feed_title: str | None) -> str | None:
    """ "Presidential Actions – The White House" -> "The White House"; a bare site title as is."""
    if not feed_title:
        return None
    for separator in _SITE_SEPARATORS:
        if separator in feed_title:
            return feed_title.rsplit(separator, 1)[1].strip() or feed_title
    return feed_title


def _guid(entry: etree._Element) -> str:
    node = entry.find("guid")
    if node is None:
        node = entry.find(f"{{{NS['atom']}}}id")
    return squash(text_of(node)) if node is not None else ""


class WordPressWatcher(UrlWatcher):
    """Posts of a WordPress feed, keyed by post id, with their categories."""

    kind: ClassVar[str] = "wordpress"
    Config: ClassVar[type[WatchConfig]] = WordPressConfig
    default_agency: ClassVar[str | None] = None
    example: ClassVar[dict[str, Any]] = {"url": "{base}/feed/", "agency": "San Francisco City Attorney"}

    @property
    def settings(self) -> WordPressConfig:
        return cast(WordPressConfig, self.config)

    def _item(
        self, entry: etree._Element, base_url: str, agency: str | None, warnings: list[str], position: int
    ) -> Item | None:
        item = parse_entry(entry, base_url, warnings=warnings, position=position)
        if item is None:
            return None
        fields = {k: v for k, v in item.fields.items() if k not in ("_body", "body")}
        if categories := [squash(html.unescape(c)) for c in fields.get("categories", [])]:
            fields["categories"] = categories
        if agency:
            fields["agency"] = agency
        content = entry.find(f"{{{NS['content']}}}encoded")
        body = post_text(text_of(content)) if content is not None else ""
        if body:
            fields["body" if self.settings.include_body else "_body"] = body
        summary = strip_appeared_first(item.summary or "") or None
        key = post_key(_guid(entry)) or item.key
        host = urlsplit(base_url).netloc.lower().removeprefix("www.")
        return replace(item, key=key, summary=summary, fields=fields, group=f"agency:{host}" if host else None)

    def _selected(self, item: Item) -> bool:
        wanted = {slug(c) for c in self.settings.categories}
        return not wanted or any(slug(c) in wanted for c in item.fields.get("categories", []))

    def parse(self, fetched: Fetched) -> list[Item]:
        return self.parse_with_info(fetched).items

    def parse_with_info(self, fetched: Fetched) -> Parsed:
        warnings = Problems()
        root = parse_xml(fetched.body, fetched.url, warnings)
        feed = channel_info(root)
        agency = self.settings.agency or self.default_agency or site_name(feed.get("title"))
        posts = read_entries(
            root,
            fetched.url,
            warnings,
            lambda entry, position: self._item(entry, fetched.url, agency, warnings, position),
        )
        items = [i for i in posts if self._selected(i)]
        # source_count: `categories` leaving nothing is a quiet day for those categories, not a broken feed
        return Parsed(
            items,
            {"feed": feed, "entries": len(posts), "kept": len(items)},
            capped(warnings),
            source_count=len(posts),
            incomplete=warnings.skipped > 0,
        )
