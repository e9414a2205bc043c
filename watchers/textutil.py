"""Small text helpers shared by the parsers: HTML to plain text, dates to ISO 8601, URL identity."""

from __future__ import annotations

import email.utils
import html
import re
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")


def squash(text: str | None) -> str:
    # str.split() splits on exactly the characters `\s` matches in a str pattern, ~3x faster than re.sub
    return " ".join(text.split()) if text else ""


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment, entities decoded (`&amp;nbsp;` included), whitespace squashed."""
    if not markup:
        return ""
    if "<" in markup:
        try:
            fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
            for bad in fragment.xpath(".//script|.//style"):
                bad.drop_tree()
            markup = fragment.text_content()
        except (etree.ParserError, ValueError):
            markup = re.sub(r"<[^>]+>", " ", markup)
    # twice: feeds often escape HTML that itself holds entities (DOJ's `&amp;nbsp;`)
    return squash(html.unescape(html.unescape(markup)).replace("\xa0", " "))


def iso_date(value: str | None) -> str | None:
    """An RFC 822 (RSS) or ISO 8601 (Atom) date as ISO 8601, or the text unchanged if unparseable."""
    if not value:
        return None
    value = value.strip()
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if parsed.tzinfo is None:
        return parsed.isoformat()
    return parsed.astimezone(timezone.utc).isoformat()


def absolute_url(base: str, link: str | None) -> str | None:
    if not link:
        return None
    link = link.strip()
    if link.startswith(("https://", "http://")):  # already absolute (most feed links): nothing to join
        return link
    if link[:1] == "/" and link[1:2] != "/" and "/." not in link:  # root-relative, no dot segments
        return _origin(base) + link
    return urljoin(base, link) if link else None


@lru_cache(maxsize=256)
def _origin(base: str) -> str:
    """`scheme://host[:port]` of a page URL (its 20 links are joined against it)."""
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def canonical_url(url: str) -> str:
    """A URL as identity: no fragment, no tracking parameters, lower-case host, no default port."""
    parts = urlsplit(url.strip())
    query = "" if not parts.query else urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                                                  if not k.lower().startswith(_TRACKING)])
    netloc = parts.netloc.lower()
    if (parts.scheme == "http" and netloc.endswith(":80")) or (parts.scheme == "https" and netloc.endswith(":443")):
        netloc = netloc.rsplit(":", 1)[0]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))
