"""Broken XML from real sources: repaired and said, or read item by item, never silently emptied; and
still refused when hostile, HTML, empty or cut short. Every body is a recording from tests/data with
one fault injected (each step is listed in tests/data/faults/SOURCES.md)."""

from __future__ import annotations

import logging

import pytest

from monitor.errors import ParseError
from monitor.models import Fetched
from tests.conftest import DATA
from watchers.feed import FeedConfig, FeedWatcher, entries
from watchers.pacer_feed import parse_feed
from watchers.xmlsafe import parse_xml

DOJ = (DATA / "core" / "doj_news.xml").read_bytes()
DOJ_TITLE = b"<title>Warren County Fraudster Sentenced to 10 Years\xe2\x80\x99 Imprisonment  </title>"
PHP_WARNING = (
    b"\n<br />\n<b>Warning</b>:  Cannot modify header information - headers already sent by (output "
    b"started at /var/www/html/feed.php:3) in <b>/var/www/html/feed.php</b> on line <b>12</b><br />\n"
)


def feed(body: bytes, url: str = "https://www.justice.gov/news/rss"):
    """The `feed` watcher's parse: items and warnings."""
    watcher = FeedWatcher(FeedConfig(id="f", type="feed", url=url))
    parsed = watcher.parse_with_info(Fetched(url=url, status=200, headers={}, body=body))
    return parsed.items, parsed.warnings


def retitled(title: bytes, body: bytes = DOJ) -> bytes:
    """The DOJ recording with its first item's title replaced."""
    assert DOJ_TITLE in body
    return body.replace(DOJ_TITLE, b"<title>" + title + b"</title>", 1)


CLEAN_ITEMS, CLEAN_WARNINGS = feed(DOJ)


def test_well_formed_recordings_are_parsed_strictly_without_warnings():
    """Every recorded feed is well-formed: it is parsed once, strictly, and no repair is reported."""
    assert CLEAN_WARNINGS == ()
    for path in [*(DATA / "pacer_rss").glob("*.xml"), *(DATA / "core").glob("*.xml"), *(DATA / "press").rglob("*.xml")]:
        if "_item_" in path.name:
            continue  # one <item> to splice into a feed (its namespaces are the feed's), not a document
        warnings: list[str] = []
        parse_xml(path.read_bytes(), str(path), warnings)
        assert warnings == [], path.name


def test_bare_ampersands_in_a_title_are_escaped_and_the_repair_is_said():
    """ "H&M HENNES & MAURITZ" in a title: every item is read, the title keeps its ampersands, and a
    warning says the source was malformed, where, and that it was repaired."""
    items, warnings = feed(retitled(b"H&M HENNES & MAURITZ v. Smith & Jones"))
    assert len(items) == 25 and items[0].title == "H&M HENNES & MAURITZ v. Smith & Jones"
    assert [i.key for i in items] == [i.key for i in CLEAN_ITEMS]
    [warning] = warnings
    assert "malformed (bare '&' at line 10)" in warning and "repaired: 3 bare '&' escaped" in warning


def test_a_pacer_feed_with_a_bare_ampersand_parses_to_the_recorded_entries():
    """D. Md.'s feed with "A&amp;E Television Networks" written "A&E" (a court that forgot to escape)
    gives exactly the entries of the recording, juriscraper's expected output included."""
    clean = (DATA / "pacer_rss" / "mdb_2.xml").read_bytes()
    broken = clean.replace(b"A&amp;E Television", b"A&E Television")
    assert broken != clean
    good, repaired = parse_feed(clean, "u", court="mdb"), parse_feed(broken, "u", court="mdb")
    assert repaired.entries == good.entries and repaired.item_count == good.item_count
    assert any("A&E Television Networks" in e.case_name for e in repaired.entries)
    assert good.warnings == () and "bare '&'" in repaired.warnings[0]


def test_ampersand_in_an_atom_link_and_html_entities():
    """A bare `&` in an Atom href and HTML entities XML does not know (`&nbsp;`, `&eacute;`) are read as
    the characters they mean."""
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Docket</title><entry><title>Caf&eacute;&nbsp;v. '
        b'Jones</title><link href="https://example.org/d?id=7&page=2"/><id>1</id></entry></feed>'
    )
    [item], [warning] = feed(body)
    assert item.title == "Café v. Jones" and item.url == "https://example.org/d?id=7&page=2"
    assert "1 bare '&' escaped" in warning and "2 HTML entities replaced" in warning


def test_control_characters_are_removed():
    """Characters XML 1.0 forbids (a vertical tab, SUB, NUL, `&#11;` pasted from a word processor) are
    dropped; the rest of the feed is unchanged."""
    items, [warning] = feed(retitled(b"Warren County\x0b Fraudster\x1a Sentenced\x00 to 10&#11; Years"))
    assert items[0].title == "Warren County Fraudster Sentenced to 10 Years"
    assert items[1:] == CLEAN_ITEMS[1:] and "4 characters XML does not allow removed" in warning


def test_text_after_the_root_element_is_dropped():
    """A PHP warning after `</rss>`, or a second copy of the feed, is dropped; the items are the recording's."""
    for body in (DOJ + PHP_WARNING, DOJ + b"\n" + DOJ):
        items, [warning] = feed(body)
        assert items == CLEAN_ITEMS and "text after the end of the root element (from line" in warning


@pytest.mark.parametrize(
    "prefix, words",
    [
        (b"\n\n  ", "whitespace before the XML declaration"),
        (PHP_WARNING, "text before the XML declaration"),
    ],
)
def test_text_before_the_xml_declaration_is_dropped(prefix, words):
    """Whitespace or a PHP notice before `<?xml ...?>` (a WordPress plugin's stray output) is dropped."""
    items, [warning] = feed(prefix + DOJ)
    assert items == CLEAN_ITEMS and words in warning


def test_a_byte_order_mark_is_fine():
    """A UTF-8 byte-order mark before the declaration is read as such, without a warning."""
    assert feed(b"\xef\xbb\xbf" + DOJ) == (CLEAN_ITEMS, ())


def test_bytes_invalid_in_the_declared_encoding_are_read_as_windows_1252():
    """A UTF-8 feed with Windows-1252 quotes pasted in (bytes 0x93/0x94) still reads, quotes included."""
    items, [warning] = feed(retitled(b"Warren County \x93Fraudster\x94 & Co"))
    assert items[0].title == "Warren County \u201cFraudster\u201d & Co"
    assert "bytes not valid in utf-8 (from line 10) read as Windows-1252" in warning


def test_cdata_is_left_alone_by_the_repairs():
    """`&` and `<` inside CDATA are text: a repair elsewhere in the feed does not touch them."""
    items, _ = feed(retitled(b"<![CDATA[Smith & Jones <b>bold</b> &amp; co]]> & more"))
    assert items[0].title == "Smith & Jones bold & co & more"


def test_one_malformed_item_is_skipped_and_named_the_others_are_read():
    """A mismatched tag inside item 3: the other 24 items are the recording's, and the warning names the
    skipped item by title and line."""
    third = CLEAN_ITEMS[2]
    body = DOJ.replace(b"</title>", b"</titel>", 4).replace(b"</titel>", b"</title>", 3)  # channel, items 1-2 fixed
    items, [warning] = feed(body)
    assert items == [i for i in CLEAN_ITEMS if i.key != third.key]
    assert "1 malformed item of the source skipped (the others were read)" in warning
    assert f'item 3 "{third.title[:60]}' in warning and "at line 25 (Opening and ending tag mismatch" in warning


def test_an_item_left_open_is_skipped_the_next_one_is_read():
    """An item whose `</item>` is missing is skipped; the item after it is not swallowed."""
    body = DOJ.replace(b"</item>", b"", 1)
    items, [warning] = feed(body)
    assert items == CLEAN_ITEMS[1:] and "its end tag is missing" in warning


def test_a_feed_whose_every_item_is_malformed_is_an_error():
    """When no item is well-formed, the check fails: it must not look like a feed that lists nothing."""
    with pytest.raises(ParseError, match="none of its 25 items is well-formed XML"):
        feed(DOJ.replace(b"</title>", b"</titel>"))  # the channel's title too: its header is recovered


def test_a_document_cut_short_is_an_error_not_a_shorter_feed():
    """A download cut in the middle is refused: its last item would be half a text and the rest 'gone'."""
    with pytest.raises(ParseError, match=r"not well-formed.*ends before its root element does"):
        feed(DOJ[: len(DOJ) // 2])


def test_a_broken_channel_header_is_recovered_and_named_items_stay_exact():
    """A mismatched tag outside any item: the header alone is read in lxml's recovery mode (named in
    the warning); the items, parsed strictly, are exactly the recording's. (Recovery mode over the
    whole document would drop the `&amp;` starting item 2's description.)"""
    items, [warning] = feed(DOJ.replace(b"<language>en</language>", b"<language>en</lang>", 1))
    assert items == CLEAN_ITEMS and "header (outside its items) read in lxml's recovery mode" in warning


def test_a_header_broken_so_that_items_would_land_out_of_place_is_an_error():
    """An unclosed channel title would hold the items in recovery mode, where no reader looks: an error,
    never an empty feed."""
    with pytest.raises(ParseError, match="repairs were tried and did not help"):
        feed(DOJ.replace(b"<title>Justice News</title>", b"<title>Justice News", 1))


@pytest.mark.parametrize(
    "body, message",
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "&b;&b;">]>'
            b"<rss><channel><title>&a; & x</title></channel></rss>",
            "declares XML entities",
        ),
        (
            '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "x">]><rss>&a; & </rss>'.encode("utf-16"),
            "declares XML entities",
        ),
        (b"<!DOCTYPE html><html><body>Smith & Jones: please log in</body></html>", "HTML page"),
        (b"\n<html><body>Error & more</body></html>", "HTML page"),
        (b"  \n ", "empty"),
    ],
)
def test_hostile_html_and_empty_bodies_are_refused_not_repaired(body, message):
    """Entity declarations (also UTF-16 encoded), HTML pages and empty bodies are refused even when a
    repair would make them parse."""
    with pytest.raises(ParseError, match=message):
        feed(body)


def test_without_a_warnings_list_a_repair_is_logged(caplog):
    """Callers that do not collect warnings (CourtListener's feed, for now) still get the repair, logged."""
    with caplog.at_level(logging.WARNING, logger="watchers.xmlsafe"):
        root = parse_xml(retitled(b"Smith & Jones"), "https://example.org/feed")
    assert len(entries(root)) == 25
    assert any("https://example.org/feed" in r.getMessage() and "bare '&'" in r.getMessage() for r in caplog.records)
