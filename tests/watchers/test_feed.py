"""The generic `feed` watcher's parser: RSS 2.0, RSS 1.0, Atom, encodings, and hostile input."""

from __future__ import annotations

import pytest

from monitor.errors import ParseError
from monitor.models import Fetched
from tests.conftest import DATA
from watchers.feed import FeedConfig, FeedWatcher


def parse(body: bytes, url: str = "https://example.org/feed") -> list:
    watcher = FeedWatcher(FeedConfig(id="f", type="feed", url=url))
    return watcher.parse(Fetched(url=url, status=200, headers={}, body=body))


def test_doj_rss_items():
    """The recorded DOJ feed gives 25 items keyed by canonical link, with squashed titles and ISO dates."""
    items = parse((DATA / "core" / "doj_news.xml").read_bytes())
    assert len(items) == 25
    first = items[0]
    assert first.title == "Warren County Fraudster Sentenced to 10 Years’ Imprisonment"  # trailing spaces gone
    assert (
        first.key == "url:https://www.justice.gov/usao-ndny/pr/warren-county-fraudster-sentenced-10-years-imprisonment"
    )
    assert first.published == "2026-10-02T12:00:00+00:00"
    assert "Michael Conner" in first.summary
    assert len({i.key for i in items}) == 25


def test_doj_escaped_html_descriptions_become_text():
    """Descriptions holding escaped HTML (`&amp;nbsp;`) come out as plain text."""
    items = parse((DATA / "core" / "doj_news.xml").read_bytes())
    for item in items:
        assert "&nbsp;" not in (item.summary or "") and "<" not in (item.summary or "")


def test_wordpress_feed_categories_and_body_for_filters():
    """WordPress items carry their categories; the page body is kept for keyword filters only."""
    [item] = parse((DATA / "core" / "whitehouse_actions.xml").read_bytes())
    assert "Presidential Actions" in item.fields["categories"]
    assert "_body" in item.fields and "body" not in item.fields


def test_declared_latin1_encoding_is_honoured():
    """An ISO-8859-1 feed (as PACER serves) decodes by its declared encoding."""
    items = parse((DATA / "core" / "mdb_1_latin1.xml").read_bytes())
    assert any("Dundalk Café" in i.title for i in items)


def test_atom_feed():
    """Atom entries use the alternate link as identity and `published`/`updated` as the date."""
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Docket</title>
<entry><title>Entry #12 in City and County of San Francisco v. Trump</title>
<link rel="alternate" href="/docket/1/sf-v-trump/?order_by=desc#entry-12"/>
<id>tag:example,2025:12</id><updated>2025-03-14T07:00:00Z</updated>
<summary type="html">&lt;p&gt;ORDER granting motion&lt;/p&gt;</summary></entry>
</feed>"""
    [item] = parse(body, "https://www.courtlistener.com/docket/1/feed/")
    assert item.url == "https://www.courtlistener.com/docket/1/sf-v-trump/?order_by=desc#entry-12"
    assert item.key == "url:https://www.courtlistener.com/docket/1/sf-v-trump/?order_by=desc"
    assert item.summary == "ORDER granting motion" and item.published == "2025-03-14T07:00:00+00:00"


def test_rss1_rdf_feed():
    """RSS 1.0 (RDF) items are read, with dc:date."""
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.org/"><title>Notices</title></channel>
<item rdf:about="https://example.org/n/1"><title>Notice one</title><link>https://example.org/n/1</link>
<dc:date>2025-02-06T10:00:00-05:00</dc:date></item>
</rdf:RDF>"""
    [item] = parse(body)
    assert item.title == "Notice one" and item.published == "2025-02-06T15:00:00+00:00"


def test_entity_expansion_attack_is_refused():
    """A document declaring entities (billion laughs) is refused before parsing."""
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<rss><channel><item><title>&lol2;</title></item></channel></rss>"""
    with pytest.raises(ParseError, match="declares XML entities"):
        parse(bomb)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "HTML page"),
        (b"<rss><channel><item><title>unclosed", "not well-formed"),
        (b'{"results": []}', "not well-formed"),
        (b"<?xml version='1.0'?><catalog/>", "not an RSS or Atom feed"),
    ],
)
def test_malformed_input_is_a_clear_parse_error(body, message):
    """Empty, HTML, truncated, JSON and foreign XML bodies each give a ParseError saying what was wrong."""
    with pytest.raises(ParseError, match=message):
        parse(body)
