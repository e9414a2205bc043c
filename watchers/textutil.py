"""Small text helpers shared by the parsers: HTML to plain text, URL identity (dates: `watchers.dates`).

Tracking parameters (`utm_*`, `fbclid`, `gclid`, `mc_cid`, ... : `TRACKING_PARAMETERS`) say how a reader
came to a link, not what it links to. `clean_url` removes them from every link a watcher keeps (an
item's `url` and its link fields) and `canonical_url` from every key, so a source that starts tagging
its links for a campaign changes nothing. Ordinary parameters (`?p=123`, `id=`) are kept as written.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import parse_qsl, unquote_plus, urlencode, urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

# Campaign and click-tracking parameters of the common analytics, ad and mail tools (Google Analytics
# and Ads, Meta, Microsoft, Yandex, Mailchimp, HubSpot, Marketo, Instagram, Twitter, Vero, Piwik/Matomo).
TRACKING_PREFIXES = ("utm_", "__hs")  # utm_source, utm_medium, ...; HubSpot's __hstc, __hssc, __hsfp
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "hsctatracking",
        "mkt_tok",
        "igshid",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "_openstat",
        "wickedid",
        "vero_id",
        "vero_conv",
        "pk_campaign",
        "pk_kwd",
        "pk_source",
        "pk_medium",
        "pk_content",
        "mtm_campaign",
        "mtm_kwd",
        "mtm_source",
        "mtm_medium",
        "mtm_content",
    }
)


def is_tracking(name: str) -> bool:
    """Whether a query parameter name is a tracking parameter (case-insensitive, percent-decoded)."""
    if "%" in name or "+" in name:
        name = unquote_plus(name)
    name = name.lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


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


def clean_url(url: str | None) -> str | None:
    """A link without its tracking parameters; otherwise exactly as written (other parameters, their
    order and encoding, the fragment). The same string when there is nothing to remove."""
    if not url or "?" not in url:
        return url
    base, _, rest = url.partition("?")
    query, hash_, fragment = rest.partition("#")
    fields = query.replace(";", "&").split("&")
    kept = [f for f in fields if not (f and is_tracking(f.partition("=")[0]))]
    if len(kept) == len(fields):
        return url
    separator = ";" if ";" in query and "&" not in query else "&"
    cleaned = separator.join(f for f in kept if f)
    return base + ("?" + cleaned if cleaned else "") + hash_ + fragment


def canonical_url(url: str) -> str:
    """A URL as identity: no fragment, no tracking parameters, lower-case host, no default port."""
    parts = urlsplit(clean_url(url.strip()) or "")
    query = (
        ""
        if not parts.query
        else urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k)])
    )
    netloc = parts.netloc.lower()
    if (parts.scheme == "http" and netloc.endswith(":80")) or (parts.scheme == "https" and netloc.endswith(":443")):
        netloc = netloc.rsplit(":", 1)[0]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))
