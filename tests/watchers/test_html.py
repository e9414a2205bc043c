"""The generic `html` watcher: items by CSS selector, fields by sub-selector or attribute."""

from __future__ import annotations

import json

import pytest

from monitor.models import Fetched
from tests.conftest import DATA
from watchers.dockets import normalize_pacer_doc_id
from watchers.html import HtmlConfig, HtmlWatcher

PAGE = (DATA / "core" / "mad_193254_docket.html").read_bytes()
EXPECTED = json.loads((DATA / "core" / "mad_193254_docket.json").read_text())["docket_entries"]
FIELDS = {
    "number": "td:nth-child(2)",
    "title": "td:nth-child(3)",
    "date": "td:nth-child(1)",
    "link": "td:nth-child(2) a @href",
}


def watcher(engine: str = "lxml", **extra) -> HtmlWatcher:
    return HtmlWatcher(
        HtmlConfig.model_validate(
            {
                "id": "h",
                "type": "html",
                "url": "https://ecf.mad.uscourts.gov/cgi-bin/DktRpt.pl?193254",
                "item": "table[rules=all] tr:not(:first-child)",
                "fields": FIELDS,
                "key": "number",
                "engine": engine,
                **extra,
            }
        )
    )


def parse(w: HtmlWatcher, body: bytes = PAGE):
    return w.parse_with_info(Fetched(url=w.url, status=200, headers={}, body=body))


@pytest.mark.parametrize("engine", ["lxml", "bs4"])
def test_docket_rows_match_the_expected_parse(engine):
    """Both engines find the 30 entries juriscraper found, with their numbers and document links."""
    items, info = parse(watcher(engine))
    assert info["matched"] == 30 and len(items) == 30
    by_number = {i.fields["number"]: i for i in items}
    for entry in EXPECTED:
        item = by_number[entry["document_number"]]
        if entry.get("pacer_doc_id"):
            # juriscraper normalises the 4th digit of PACER doc ids; the page links keep it
            assert normalize_pacer_doc_id(item.url.rsplit("/", 1)[1]) == entry["pacer_doc_id"]
        assert item.title.split()[:3] == entry["description"].split()[:3]


def test_relative_links_made_absolute():
    """Relative links resolve against the page URL and become the identity."""
    body = b'<ul class="news"><li><a href="/news/eleven-jurisdictions-join">Eleven jurisdictions join</a></li></ul>'
    w = HtmlWatcher(
        HtmlConfig(id="h", type="html", url="https://news.santaclaracounty.gov/news-releases", item="ul.news li")
    )
    [item] = w.parse(Fetched(url=w.url, status=200, headers={}, body=body))
    assert item.url == "https://news.santaclaracounty.gov/news/eleven-jurisdictions-join"
    assert item.key == "url:https://news.santaclaracounty.gov/news/eleven-jurisdictions-join"


def test_items_without_a_key_are_counted_not_dropped_silently():
    """An item whose key field is empty is skipped and counted in the status info."""
    body = b'<ul><li><a href="/a">A</a></li><li><span>no link</span></li></ul>'
    w = HtmlWatcher(
        HtmlConfig(
            id="h",
            type="html",
            url="https://x.org/",
            item="ul li",
            key="link",
            fields={"title": "a", "link": "a @href"},
        )
    )
    items, info = w.parse_with_info(Fetched(url=w.url, status=200, headers={}, body=body))
    assert len(items) == 1 and info == {"matched": 2, "skipped": 1}


def test_bs4_engine_supports_soupsieve_selectors():
    """`engine: bs4` accepts soupsieve's selectors such as :-soup-contains()."""
    body = (
        b'<div class="r"><a href="/1">Sanctuary suit filed</a></div><div class="r"><a href="/2">Parks update</a></div>'
    )
    w = HtmlWatcher(
        HtmlConfig(id="h", type="html", url="https://x.org/", item='div.r:-soup-contains("Sanctuary")', engine="bs4")
    )
    [item] = w.parse(Fetched(url=w.url, status=200, headers={}, body=body))
    assert item.title == "Sanctuary suit filed"
