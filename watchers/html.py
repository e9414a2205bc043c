"""`html`: any web page that lists things (a press-release index, a news listing), by CSS selectors.

Keys:
- `url` (required): the listing page.
- `item` (required): CSS selector matching each listed thing, e.g. `div.views-row` or `ul.news > li`.
- `fields`: field name -> selector inside the item. `title` is required; `link`, `summary` and `date`
  have meaning in alerts, any other name is kept as an extra field. A selector gives the element's
  text; `selector @attr` gives an attribute (`a @href`), and a bare `@attr` reads the item itself.
  Default: `{title: "a", link: "a @href"}`.
- `key`: the field that identifies an item (default `link`, falling back to `title`). Links are made
  absolute against the page URL and canonicalised before they are used as identity.
- `agency`: a name to show on each item as its agency (e.g. "County of Santa Clara").
- `engine`: `lxml` (default; lxml.html with cssselect, about 20 times faster on a 30 KB page) or
  `bs4` (BeautifulSoup over lxml, with soupsieve's selectors such as `:-soup-contains("Sanctuary")`).

An item whose key field is empty is skipped and counted in the watch status (`skipped`), never dropped
silently. An item that cannot be read (a link no URL parser accepts) is skipped with a warning naming
it; a date that cannot be read (`watchers/dates.py` lists the formats: ISO 8601, `12/30/2022`,
`December 30, 2022`, RFC 822, ...) is left out of its item with a warning. Tracking parameters
(`utm_*`, `fbclid`, ...) are removed from links. A page where the item selector matches nothing (an
error page, a redesign) after it used to match is a failure, not the removal of every item.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar, Literal, cast

import lxml.html
from lxml import etree
from pydantic import Field, field_validator, model_validator

from monitor.errors import ParseError
from monitor.models import Fetched, Item
from watchers.base import Parsed, UrlWatchConfig, UrlWatcher, WatchConfig
from watchers.dates import iso_date
from watchers.listing import Problems, capped, label, read_each
from watchers.textutil import absolute_url, canonical_url, clean_url, squash

LINK_FIELDS = {"link", "url", "href"}


def split_spec(spec: str) -> tuple[str, str | None]:
    """`"h3 a @href"` -> ("h3 a", "href"); `"@href"` -> ("", "href"); `".teaser"` -> (".teaser", None)."""
    if "@" in spec:
        selector, attr = spec.rsplit("@", 1)
        return selector.strip(), attr.strip() or None
    return spec.strip(), None


@lru_cache(maxsize=512)
def _css(selector: str):
    from lxml.cssselect import CSSSelector

    return CSSSelector(selector, translator="html")


class HtmlConfig(UrlWatchConfig):
    url: str = Field(description="the listing page URL")
    item: str = Field(description="CSS selector for each listed item")
    fields: dict[str, str] = Field(default_factory=lambda: {"title": "a", "link": "a @href"})
    key: str | None = Field(None, description="field used as identity (default: link, else title)")
    engine: Literal["lxml", "bs4"] = "lxml"
    agency: str | None = Field(None, description="agency name shown on each item")

    @field_validator("fields")
    @classmethod
    def _needs_title(cls, value: dict[str, str]) -> dict[str, str]:
        if "title" not in value:
            raise ValueError('`fields` needs a `title` selector (e.g. title: "h3 a")')
        return value

    @model_validator(mode="after")
    def _selectors_compile(self) -> HtmlConfig:
        # Fail at validation, with the selector named, rather than at the first check.
        if self.engine == "lxml":
            for selector in [self.item, *(split_spec(spec)[0] for spec in self.fields.values())]:
                if selector:
                    try:
                        _css(selector)
                    except Exception as exc:  # noqa: BLE001 - cssselect raises several types; each is the user's selector
                        raise ValueError(
                            f"CSS selector {selector!r} is not supported by the lxml engine ({exc}); "
                            "fix it, or set `engine: bs4`"
                        ) from None
        return self


class HtmlWatcher(UrlWatcher):
    """Items of an HTML listing, picked by CSS selectors."""

    kind: ClassVar[str] = "html"
    Config: ClassVar[type[WatchConfig]] = HtmlConfig
    example: ClassVar[dict[str, Any]] = {
        "url": "{base}/news",
        "item": "div.views-row",
        "fields": {"title": "h3 a", "link": "h3 a @href", "date": "time @datetime"},
    }

    @property
    def settings(self) -> HtmlConfig:
        return cast(HtmlConfig, self.config)

    def parse(self, fetched: Fetched) -> list[Item]:
        return self.parse_with_info(fetched).items

    def parse_with_info(self, fetched: Fetched) -> Parsed:
        config = self.settings
        if not fetched.body.strip():
            raise ParseError(f"{fetched.url}: the page is empty")
        if config.engine == "bs4":
            rows = list(_bs4_rows(fetched.body, config.item, config.fields))
        else:
            rows = list(_lxml_rows(fetched.body, config.item, config.fields))
        if not rows and not config.allow_empty:
            # On a first check this is usually a wrong selector; later, an error page or a redesign.
            raise ParseError(
                f"{fetched.url}: the item selector {config.item!r} matches nothing on this page "
                "(a wrong selector, an error page, or a redesign?). Set allow_empty: true if the "
                "listing can really be empty."
            )
        warnings = Problems()
        keyless = 0

        def read(position: int, row: dict[str, str]) -> Item | None:
            nonlocal keyless
            item = self._item(row, fetched.url, warnings, position)
            keyless += item is None
            return item

        items = read_each(
            rows,
            read,
            warnings=warnings,
            url=fetched.url,
            name=lambda position, row: label(position, row.get("title"), row.get("link")),
        )
        info = {"matched": len(rows), "skipped": keyless} if keyless else {"matched": len(rows)}
        return Parsed(items, info, capped(warnings), incomplete=warnings.skipped > 0)

    def _item(
        self, row: dict[str, str], base_url: str, warnings: list[str] | None = None, position: int = 0
    ) -> Item | None:
        fields = {name: value for name, value in row.items() if value}
        for name in LINK_FIELDS & fields.keys():
            fields[name] = clean_url(absolute_url(base_url, fields[name])) or ""
        link = fields.get("link") or fields.get("url") or fields.get("href")
        key_field = getattr(self.config, "key", None)
        if key_field:
            value = fields.get(key_field)
            if not value:
                return None
            key = f"{key_field}:" + (canonical_url(value) if key_field in LINK_FIELDS else value.lower())
        elif link:
            key = "url:" + canonical_url(link)
        elif fields.get("title"):
            key = "title:" + fields["title"].lower()
        else:
            return None
        title = fields.pop("title", "") or link or ""
        summary = fields.pop("summary", None)
        date = fields.pop("date", None)
        for name in LINK_FIELDS:
            fields.pop(name, None)
        agency = getattr(self.config, "agency", None)
        if agency:
            fields["agency"] = agency
        published = iso_date(date, warnings, lambda: label(position, title, link))
        return Item(
            key=key,
            title=title,
            url=link,
            summary=summary,
            published=published,
            fields=fields,
            group=f"agency:{agency}" if agency else None,
        )


def _lxml_rows(body: bytes, item_selector: str, specs: Mapping[str, str]):
    try:
        document = lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"the page is not parseable HTML: {exc}") from exc
    compiled = {name: split_spec(spec) for name, spec in specs.items()}
    for element in _css(item_selector)(document):
        row: dict[str, str] = {}
        for name, (selector, attr) in compiled.items():
            target = element
            if selector:
                found = _css(selector)(element)
                target = found[0] if found else None
            if target is None:
                row[name] = ""
            elif attr:
                row[name] = squash(target.get(attr))
            else:
                row[name] = squash(target.text_content())
        yield row


def _bs4_rows(body: bytes, item_selector: str, specs: Mapping[str, str]):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "lxml")
    compiled = {name: split_spec(spec) for name, spec in specs.items()}
    for element in soup.select(item_selector):
        row: dict[str, str] = {}
        for name, (selector, attr) in compiled.items():
            target = element.select_one(selector) if selector else element
            if target is None:
                row[name] = ""
            elif attr:
                value = target.get(attr)
                row[name] = squash(" ".join(value) if isinstance(value, list) else value)
            else:
                row[name] = squash(target.get_text(" "))
        yield row
