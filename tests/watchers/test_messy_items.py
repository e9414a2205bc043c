"""One bad item never blinds a watch, in every parser: an unreadable item is skipped with a warning
naming it, a bad date drops only that date, and tracking parameters are neither identity nor content.
Every body is a recording from tests/data with one fault injected (steps in tests/data/faults/SOURCES.md)."""

from __future__ import annotations

import json
import re

import pytest

from monitor.errors import ParseError
from monitor.models import Fetched
from tests.conftest import DATA
from watchers.doj import DojConfig, DojWatcher
from watchers.federal_register import FederalRegisterConfig, FederalRegisterWatcher
from watchers.feed import FeedConfig, FeedWatcher
from watchers.html import HtmlConfig, HtmlWatcher
from watchers.pacer_rss import PacerRssConfig, PacerRssWatcher
from watchers.textutil import canonical_url, clean_url
from watchers.wordpress import WordPressConfig, WordPressWatcher

DOJ_RSS = (DATA / "core" / "doj_news.xml").read_bytes()
WH = (DATA / "press" / "whitehouse" / "presidential_actions_feed_2026-10-02_first_item.xml").read_bytes()
DOCKET = (DATA / "core" / "mad_193254_docket.html").read_bytes()
SDNY = (DATA / "pacer_rss" / "sdny_1.xml").read_bytes()
DOJ_API = json.loads((DATA / "press" / "doj" / "api_v1_press_releases_pagesize20_truncated_to_2.json").read_bytes())
FR = json.loads((DATA / "federal_register" / "presidential_documents_since_2026-09-25.json").read_bytes())
BROKEN_LINK = "https://[www.justice.gov/broken"  # no URL parser accepts it (an unclosed IPv6 host)
Y9999 = "Fri, 31 Dec 9999 23:00:00 -0500"  # the year 10000 in UTC: an OverflowError used to fail the watch


def parsed(watcher, body: bytes, url: str):
    return watcher.parse_with_info(Fetched(url=url, status=200, headers={}, body=body))


def feed(body: bytes):
    return parsed(
        FeedWatcher(FeedConfig(id="f", type="feed", url="https://www.justice.gov/news/rss")),
        body,
        "https://www.justice.gov/news/rss",
    )


def wordpress(body: bytes):
    return parsed(
        WordPressWatcher(WordPressConfig(id="w", type="wordpress", url="https://www.whitehouse.gov/feed/")),
        body,
        "https://www.whitehouse.gov/feed/",
    )


def docket(body: bytes, key: str | None = "number"):
    return parsed(
        HtmlWatcher(
            HtmlConfig(
                id="h",
                type="html",
                url="https://ecf.mad.uscourts.gov/cgi-bin/DktRpt.pl?193254",
                item="table[rules=all] tr:not(:first-child)",
                key=key,
                fields={
                    "number": "td:nth-child(2)",
                    "title": "td:nth-child(3)",
                    "date": "td:nth-child(1)",
                    "link": "td:nth-child(2) a @href",
                },
            )
        ),
        body,
        "https://ecf.mad.uscourts.gov/cgi-bin/DktRpt.pl?193254",
    )


def pacer(body: bytes):
    watcher = PacerRssWatcher(
        PacerRssConfig.model_validate({"id": "p", "type": "pacer_rss", "court": "nysd", "case_names": ["v."]})
    )
    return parsed(watcher, body, "https://ecf.nysd.uscourts.gov/cgi-bin/rss_outside.pl")


def doj(data: dict):
    warnings: list[str] = []
    return DojWatcher(DojConfig(id="d", type="doj")).select(data["results"], warnings, "u"), warnings


def fr(data: dict):
    watcher = FederalRegisterWatcher(
        FederalRegisterConfig(id="fr", type="federal_register", presidential_document_type=[])
    )
    warnings: list[str] = []
    return watcher.select(data["results"], warnings, "u"), warnings


def nth_link(body: bytes, n: int, new: bytes) -> bytes:
    """The body with the n-th (0-based) `<link>...</link>` text replaced."""
    start = -1
    for _ in range(n + 1):
        start = body.index(b"<link>", start + 1)
    end = body.index(b"</link>", start)
    return body[: start + 6] + new + body[end:]


# ---------------------------------------------------------------- one unreadable item


def test_feed_item_that_cannot_be_read_is_skipped_and_named():
    """A DOJ item whose link no URL parser accepts: the other 24 items are read, the warning names it."""
    clean = feed(DOJ_RSS)
    result = feed(nth_link(DOJ_RSS, 3, BROKEN_LINK.encode()))  # link 0 is the channel's: item 3
    assert result.items == [i for i in clean.items if i.key != clean.items[2].key]
    assert result.incomplete  # item 3 is still at the source: the diff must not take it as removed
    [warning] = result.warnings
    assert "1 item of 25 could not be read and was skipped (the others were read): " in warning
    assert f'item 3 "{clean.items[2].title[:40]}' in warning and "Invalid IPv6 URL" in warning


def test_feed_whose_every_item_fails_is_an_error_not_an_empty_feed():
    """Every item unreadable: a ParseError naming the first, never an empty listing."""
    body = DOJ_RSS
    for n in range(1, 26):
        body = nth_link(body, n, BROKEN_LINK.encode())
    with pytest.raises(ParseError, match="none of the 25 items of the source could be read"):
        feed(body)


def test_wordpress_post_that_cannot_be_read_is_skipped_and_named():
    """A second post whose link is unreadable: the recorded post is read, the broken one is named."""
    start, end = WH.index(b"<item>"), WH.index(b"</item>") + len(b"</item>")
    broken = (
        WH[start:end]
        .replace(b"?p=52161", b"?p=52160")
        .replace(b"<link>https://www.whitehouse.gov/", b"<link>https://[www.whitehouse.gov/")
    )
    result = wordpress(WH[:end] + b"\n\t\t" + broken + WH[end:])
    assert [i.key for i in result.items] == ["wp:www.whitehouse.gov:52161"]
    assert 'item 2 "National Manufacturing Day, 2026"' in result.warnings[0]
    assert result.source_count == 1


def test_html_row_that_cannot_be_read_is_skipped_and_named():
    """A docket row whose link (its identity) is unreadable: the other 29 rows are read, the warning
    names the row."""
    clean = docket(DOCKET, key=None)
    first_link = DOCKET.index(b"https://ecf.mad.uscourts.gov/doc1/")
    result = docket(DOCKET[:first_link] + b"https://[ecf" + DOCKET[first_link + len(b"https://ecf") :], key=None)
    assert len(clean.items) == 30 and result.items == clean.items[1:]
    assert "1 item of 30 could not be read" in result.warnings[0] and 'item 1 "COMPLAINT' in result.warnings[0]


def test_pacer_item_that_is_malformed_is_skipped_and_named():
    """S.D.N.Y.'s feed with one item's title tag broken: the other entries are the recording's."""
    clean = pacer(SDNY)
    broken = SDNY.replace(b"</title>", b"</titel>", 3).replace(b"</titel>", b"</title>", 2)  # item 2
    result = pacer(broken)
    assert result.items == [i for i in clean.items if i != clean.items[1]]
    assert "1 malformed item of the source skipped" in result.warnings[0] and "item 2" in result.warnings[0]


def test_doj_release_that_cannot_be_read_is_skipped_and_named():
    """A release with no uuid or number and an unreadable URL: the other release is read, this one named."""
    data = json.loads(json.dumps(DOJ_API))
    data["results"][0].update(uuid="", number="", url=BROKEN_LINK)
    (items, skipped), warnings = doj(data)
    assert [i.key for i in items] == [f"doj:{DOJ_API['results'][1]['uuid']}"] and skipped == 0
    assert warnings and "1 release of 2 could not be read" in warnings[0] and "result 1" in warnings[0]


def test_federal_register_document_that_cannot_be_read_is_skipped_and_named():
    """A document whose abstract is a list, not text: the other five are read, this one is named."""
    data = json.loads(json.dumps(FR))
    data["results"][0]["abstract"] = ["not", "text"]
    (items, _outside, _skipped), warnings = fr(data)
    assert len(items) == len(FR["results"]) - 1
    assert f"1 document of {len(FR['results'])} could not be read" in warnings[0]
    assert FR["results"][0]["title"][:30] in warnings[0]


# ---------------------------------------------------------------- a bad date drops only that date


def test_feed_date_out_of_range_drops_the_date_only():
    """An item dated 31 Dec 9999 23:00 -05:00 keeps everything but its date; the others are untouched."""
    clean = feed(DOJ_RSS)
    start = DOJ_RSS.index(b"<pubDate>") + len(b"<pubDate>")
    body = DOJ_RSS[:start] + Y9999.encode() + DOJ_RSS[DOJ_RSS.index(b"</pubDate>", start) :]
    result = feed(body)
    assert result.items[0].published is None and result.items[0].title == clean.items[0].title
    assert result.items[1:] == clean.items[1:] and not result.incomplete
    [warning] = result.warnings
    assert warning.startswith(f'item 1 "{clean.items[0].title}": the date {Y9999!r} is out of range')


@pytest.mark.parametrize("bad", [Y9999, "not a date", "Thu, 31 Feb 2018 10:00:00 GMT"])
def test_pacer_entry_with_a_bad_date_keeps_everything_else(bad):
    """A PACER entry whose pubDate is unreadable or impossible loses `date_entered` only."""
    clean = pacer(SDNY)
    start = SDNY.index(b"<pubDate>") + len(b"<pubDate>")
    result = pacer(SDNY[:start] + bad.encode() + SDNY[SDNY.index(b"</pubDate>", start) :])
    assert len(result.items) == len(clean.items)
    changed = [(a, b) for a, b in zip(clean.items, result.items, strict=True) if a != b]
    [(before, after)] = changed
    assert "date_entered" in before.fields and "date_entered" not in after.fields
    assert after.title == before.title and repr(bad) in result.warnings[0]


def test_html_dates_in_us_form_are_read():
    """The docket's `10/25/2017` dates are read as dates (they used to be kept as text)."""
    items = docket(DOCKET).items
    assert all(i.published and i.published[4] == "-" for i in items)
    assert {i.published for i in items if i.fields["number"] == "1"} == {"2017-10-25T00:00:00"}


def test_federal_register_bad_publication_date_drops_the_date_only():
    """An unreadable `publication_date` leaves the document's date out, with a warning naming it."""
    data = json.loads(json.dumps(FR))
    data["results"][0]["publication_date"] = "2026-13-45"
    (items, _, _), warnings = fr(data)
    assert len(items) == len(FR["results"]) and items[0].published is None
    assert "'2026-13-45' is out of range" in warnings[0]


# ---------------------------------------------------------------- tracking parameters


@pytest.mark.parametrize(
    "url, clean",
    [
        ("https://www.justice.gov/opa/pr/x?utm_source=rss&utm_medium=feed", "https://www.justice.gov/opa/pr/x"),
        ("https://www.whitehouse.gov/?p=52161&utm_campaign=eo#main", "https://www.whitehouse.gov/?p=52161#main"),
        ("https://x.org/a?id=7&fbclid=IwAR0x&page=2&gclid=Cj0&mc_cid=1&mc_eid=2", "https://x.org/a?id=7&page=2"),
        ("https://x.org/a?_ga=2.1&_hsenc=p2&_hsmi=3&mkt_tok=e&msclkid=m&dclid=d&yclid=y&igshid=i", "https://x.org/a"),
        ("https://x.org/a?UTM_Source=x&q=utm_source", "https://x.org/a?q=utm_source"),
        ("https://x.org/a;jsessionid=1?id=5;fbclid=abc", "https://x.org/a;jsessionid=1?id=5"),
        ("https://x.org/a?p=123&id=9", "https://x.org/a?p=123&id=9"),
        (
            "https://ecf.nysd.uscourts.gov/cgi-bin/DktRpt.pl?4921",
            "https://ecf.nysd.uscourts.gov/cgi-bin/DktRpt.pl?4921",
        ),
    ],
)
def test_tracking_parameters_are_removed_and_nothing_else(url, clean):
    """Tracking parameters go (any case); ordinary ones, their order, fragment and path stay as written."""
    assert clean_url(url) == clean
    assert canonical_url(url) == canonical_url(clean)


def test_tracking_parameters_on_every_feed_link_change_nothing():
    """DOJ adding `utm_*` and `fbclid` to every link: the same keys and the same items as before."""
    tagged = DOJ_RSS.replace(b"</link>", b"?utm_source=rss&amp;utm_medium=feed&amp;fbclid=x</link>")
    assert tagged.count(b"utm_source") == 26
    assert feed(tagged).items == feed(DOJ_RSS).items


def test_tracking_parameters_on_every_docket_link_change_nothing():
    """An HTML listing whose links all gain tracking parameters lists the same items."""
    tagged, count = re.subn(
        rb'(href="https://ecf\.mad\.uscourts\.gov/doc1/\d+)"', rb'\1?utm_source=x&amp;gclid=y"', DOCKET
    )
    assert count >= 20
    assert docket(tagged).items == docket(DOCKET).items


def test_tracking_parameters_on_json_links_change_nothing():
    """DOJ's `url` and the Federal Register's `html_url`/`pdf_url` with tracking parameters: same items."""
    data = json.loads(json.dumps(DOJ_API))
    for raw in data["results"]:
        raw["url"] += "?utm_source=api&mc_cid=1"
    assert doj(data)[0][0] == doj(DOJ_API)[0][0]
    data = json.loads(json.dumps(FR))
    for raw in data["results"]:
        raw["html_url"] += "?utm_source=api"
        raw["pdf_url"] += "?utm_campaign=x&_ga=1"
    assert fr(data)[0][0] == fr(FR)[0][0]
