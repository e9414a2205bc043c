"""The `pacer_rss` watcher: juriscraper-compatible parsing of real court feeds, case following, entry
identity, coverage warnings, and one request per court feed, against a replay server on 127.0.0.1."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from monitor.config import loads
from monitor.errors import ConfigError, ParseError
from monitor.models import Fetched, Item
from tests.conftest import DATA, run_cli
from watchers.pacer_feed import RssEntry, parse_feed
from watchers.pacer_rss import PacerRssConfig, PacerRssWatcher, default_feed_url

FEEDS = DATA / "pacer_rss"
EXPECTED = sorted(FEEDS.glob("*.json"))
RSS_PATH = "/cgi-bin/rss_outside.pl"


def court_of(feed: Path) -> str:
    # file names are juriscraper's (`sdny_1`); the CM/ECF court id of S.D.N.Y. is `nysd`
    name = feed.stem.split("_")[0]
    return {"sdny": "nysd"}.get(name, name)


def watcher(court: str, **keys) -> PacerRssWatcher:
    return PacerRssWatcher(PacerRssConfig(id="w", type="pacer_rss", court=court, **keys))


def items_of(feed: str, court: str, **keys) -> list[Item]:
    body = (FEEDS / feed).read_bytes()
    return watcher(court, **keys).parse(Fetched(url="https://ecf.example/rss", status=200, headers={}, body=body))


def as_juriscraper(entry: RssEntry) -> dict:
    """Our entry in the shape of juriscraper's expected JSON (it writes "" for absent strings)."""
    bk = entry.bankruptcy
    return {
        "docket_number": entry.docket_number,
        "case_name": entry.case_name,
        "pacer_case_id": entry.pacer_case_id,
        "document_number": entry.document_number,
        "short_description": entry.short_description,
        "pacer_doc_id": entry.pacer_doc_id or "",
        "pacer_seq_no": entry.pacer_seq_no,
        "date": entry.date_entered,
        "type": bk.type if bk else "",
        "office": bk.office if bk else "",
        "chapter": bk.chapter if bk else "",
        "trustee_str": bk.trustee if bk else "",
    }


def expected(docket: dict) -> dict:
    [entry] = docket["docket_entries"]
    return {
        "docket_number": docket["docket_number"],
        "case_name": docket["case_name"],
        "pacer_case_id": docket["pacer_case_id"],
        "document_number": entry["document_number"],
        "short_description": entry["short_description"],
        "pacer_doc_id": entry["pacer_doc_id"],
        "pacer_seq_no": entry["pacer_seq_no"],
        "date": datetime.fromisoformat(entry["date_filed"]),
        "type": docket["type"],
        "office": docket["office"],
        "chapter": docket["chapter"],
        "trustee_str": docket["trustee_str"],
    }


# ---------------------------------------------------------------- the parser against juriscraper


def test_all_recorded_feeds_are_here():
    """The ten recorded feeds with juriscraper's expected JSON are all present, so none goes untested."""
    assert [p.stem for p in EXPECTED] == [
        "ca11",
        "ca2_1",
        "ca4_1",
        "cadc",
        "cafc",
        "mdb_1",
        "mdb_2",
        "nyed_1",
        "nysb_1",
        "sdny_1",
    ]


@pytest.mark.parametrize("json_path", EXPECTED, ids=lambda p: p.stem)
def test_feed_parses_as_juriscraper_expects(json_path: Path):
    """Every recorded feed parses, entry by entry and field by field, to juriscraper's expected output."""
    feed = parse_feed(json_path.with_suffix(".xml").read_bytes(), "https://ecf.example/rss", court=court_of(json_path))
    want = [expected(d) for d in json.loads(json_path.read_text())]
    # juriscraper drops items without a docket number; none of these feeds has one
    got = [as_juriscraper(e) for e in feed.entries if e.docket_number]
    assert len(got) == len(want)
    for index, (ours, theirs) in enumerate(zip(got, want, strict=True)):
        assert ours == theirs, f"entry {index}"


def test_multi_event_items_become_one_entry():
    """S.D.N.Y.'s 358 items are 341 entries: a document filed as several CM/ECF events is one entry."""
    feed = parse_feed((FEEDS / "sdny_1.xml").read_bytes(), "u", court="nysd")
    assert feed.item_count == 358 and len(feed.entries) == 341
    [entry] = [e for e in feed.entries if e.docket_number == "1:17-cv-06954"]
    assert entry.events == ("Discovery", "Compel") and entry.short_description == "Compel AND Discovery"


def test_channel_coverage_and_build_date():
    """The channel description tells a full feed from a partial one, and lastBuildDate is read."""
    sdny = parse_feed((FEEDS / "sdny_1.xml").read_bytes(), "u", court="nysd").channel
    assert sdny.coverage == "partial" and "cmp" in sdny.entry_types and len(sdny.entry_types) == 27
    assert sdny.last_build == datetime.fromisoformat("2018-04-18T00:15:28+00:00")
    mdb = parse_feed((FEEDS / "mdb_1.xml").read_bytes(), "u", court="mdb").channel
    assert (mdb.coverage, mdb.entry_types) == ("all", ())
    nyed = parse_feed((FEEDS / "nyed_1.xml").read_bytes(), "u", court="nyed").channel
    assert nyed.coverage == "partial" and nyed.entry_types == ("complaints", "orders", "judgments")
    cadc = parse_feed((FEEDS / "cadc.xml").read_bytes(), "u", court="cadc").channel
    assert cadc.last_build == datetime.fromisoformat("2023-02-03T13:01:59-05:00")


def test_latin1_feed_decodes_by_its_declaration():
    """An ISO-8859-1 feed (as PACER serves them) decodes by its declared encoding."""
    body = (FEEDS / "mdb_2.xml").read_bytes().replace(b"A&amp;E Television Networks", "Peña Muñoz".encode("latin-1"))
    [entry] = parse_feed(body, "u", court="mdb").entries
    assert entry.case_name == "Dozier v. Peña Muñoz"


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><body><h1>PACER is down for maintenance</h1></body></html>",
        b"<html><head><title>Login</title></head></html>",
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>',
        b"",
    ],
    ids=["html-error", "html-login", "atom", "empty"],
)
def test_what_is_not_a_court_feed_is_a_parse_error(body: bytes):
    """An HTML error or login page, an empty body or another kind of feed is a ParseError, never 'no entries'."""
    with pytest.raises(ParseError):
        parse_feed(body, "https://ecf.cand.uscourts.gov/cgi-bin/rss_outside.pl", court="cand")


def test_malformed_docket_numbers_do_not_crash_and_are_kept():
    """A malformed or missing docket number neither crashes nor vanishes: the entry can still be followed."""
    body = (FEEDS / "sdny_1.xml").read_bytes()
    body = body.replace(b"<title>1:18-cv-03365 Chau", b"<title>5:18-~gr-00001 Chau", 1)
    body = body.replace(b"<title>1:17-cv-09141 Torres v.", b"<title>Torres v.", 1)
    w = watcher("nysd", cases=["5:18-~gr-00001"])
    items, info = w.parse_with_info(Fetched(url="u", status=200, headers={}, body=body))
    [item] = items
    assert item.key == "entry:nysd:5:18-~gr-00001:3" and item.fields["case_name"] == "Chau v. Donovan"
    assert info["unrecognised_docket_numbers"] == ["5:18-~gr-00001", "Torres"]


# ---------------------------------------------------------------- following cases


@pytest.mark.parametrize("written", ["1:18-mj-03122", "1:18-mj-03122-1", "18-mj-3122", "1:18-MJ-3122-ABC"])
def test_following_one_case_yields_exactly_its_entries(written: str):
    """Following one case in S.D.N.Y.'s 358-item feed gives that case's five entries, however it is written."""
    theirs = [d for d in json.loads((FEEDS / "sdny_1.json").read_text()) if d["docket_number"] == "1:18-mj-03122"]
    items = items_of("sdny_1.xml", "nysd", cases=[written])
    assert len(items) == len(theirs) == 5
    assert {i.fields.get("entry_number") for i in items} == {d["docket_entries"][0]["document_number"] for d in theirs}
    assert len({i.key for i in items}) == 5
    assert all(i.key.startswith("entry:nysd:1:18-mj-03122:") and i.group == "case:nysd:1:18-mj-03122" for i in items)
    assert all(
        i.fields["source"] == "pacer_rss" and i.fields["case_name"] == "United States v. Lopez De La Cruz"
        for i in items
    )


def test_item_shape_of_a_numbered_entry():
    """A numbered entry has the shared entry shape: date entered (not filed), doc1 and docket links, ids."""
    items = items_of("sdny_1.xml", "nysd", cases=["1:18-cv-03365"])
    notice = next(i for i in items if i.fields.get("entry_number") == "3")
    assert notice.key == "entry:nysd:1:18-cv-03365:3"
    assert notice.title == "Chau v. Donovan: #3 Notice of Appearance"
    assert notice.fields["date_entered"] == "2018-04-18T00:09:55+00:00" and "date_filed" not in notice.fields
    doc1 = "https://ecf.nysd.uscourts.gov/doc1/127122264358?caseid=492165&de_seq_num=10"
    assert notice.fields["document_url"] == doc1 and notice.url == doc1
    assert notice.fields["docket_url"] == "https://ecf.nysd.uscourts.gov/cgi-bin/DktRpt.pl?492165"
    assert notice.fields["pacer_doc_id"] == "127022264358" and notice.fields["pacer_case_id"] == "492165"


def test_text_only_entries_get_distinct_stable_keys():
    """Two text-only entries with the same text in one case are two entries, keyed by their guid sequence."""
    items = items_of("sdny_1.xml", "nysd", cases=["7:17-cv-05440"])
    texts = [i for i in items if i.fields["short_description"] == "Transmission to Docket Assistant Clerk"]
    assert len(items) == 5 and len(texts) == 2
    assert {i.key for i in texts} == {"entry:nysd:7:17-cv-05440:seq:245", "entry:nysd:7:17-cv-05440:seq:236"}
    multi = next(i for i in items if i.fields.get("entry_number") == "62")
    assert multi.fields["short_description"] == "Memo Endorsement AND ~Util - Set Deadlines"


def test_entries_without_any_number_fall_back_to_time_and_text():
    """E.D.N.Y. entries (no doc1 link, no sequence number) get keys from time entered and text, stable
    across parses and distinct from each other, with the configured court in the key."""
    theirs = [d for d in json.loads((FEEDS / "nyed_1.json").read_text()) if d["docket_number"] == "1:16-cv-03029"]
    first = items_of("nyed_1.xml", "nyed", cases=["1:16-cv-03029"])
    again = items_of("nyed_1.xml", "nyed", cases=["1:16-cv-03029-XYZ"])
    assert [i.key for i in first] == [i.key for i in again]
    assert len(first) == len(theirs) == 3 and len({i.key for i in first}) == 3
    assert all(
        re.fullmatch(r"entry:nyed:1:16-cv-03029:text:2018-05-22T\d\d:\d\d:\d\d\+00:00:[0-9a-f]{12}", i.key)
        for i in first
    )


def test_bankruptcy_and_appellate_keys():
    """Bankruptcy cases match with or without judge initials; an appellate link reading "Document" is
    keyed by its document id, a numbered one by its number."""
    with_initials = items_of("nysb_1.xml", "nysb", cases=["16-10992-smb"])
    without = items_of("nysb_1.xml", "nysb", cases=["16-10992"])
    assert with_initials and [i.key for i in with_initials] == [i.key for i in without]
    [food] = items_of("cadc.xml", "cadc", cases=["22-1214"])
    assert food.key == "entry:cadc:22-1214:doc:01208491112" and "entry_number" not in food.fields
    assert food.fields["case_name"] == "Food & Water Watch v. FERC"
    [opinion] = items_of("ca11.xml", "ca11", cases=["21-14262"])
    assert opinion.key == "entry:ca11:21-14262:23" and "pacer_case_id" not in opinion.fields


def test_recorded_copy_with_other_whitespace_is_the_same_entry():
    """CourtListener's re-indented copy of a D. Md. item (whitespace inside title and guid) gives the
    same entry, keyed by the guid's sequence number, as the original."""
    [original] = items_of("mdb_1.xml", "mdb", cases=["18-00079"])
    [reindented] = items_of("mdb_unnumbered_courtlistener.xml", "mdb", cases=["18-00079"])
    assert original.key == reindented.key and original.key.endswith(":seq:19")
    assert reindented.fields["case_name"] == "Dozier v. CN of Dundalk, Inc. d/b/a CNAC of D"


def test_case_name_watch():
    """`case_names` finds new and existing suits by whole words in the case name, case-insensitively."""
    theirs = [
        d
        for d in json.loads((FEEDS / "nyed_1.json").read_text())
        if re.search(r"(?<!\w)city of new york(?!\w)", d["case_name"], re.I)
    ]
    items = items_of("nyed_1.xml", "nyed", case_names=["city of NEW YORK"])
    assert len(items) == len(theirs) == 33
    assert all(i.matched == ("city of NEW YORK",) for i in items)
    assert not items_of("nyed_1.xml", "nyed", case_names=["City of New Yo"])
    # harmonised names count too: the court wrote "USA v. Shargorodskaya"
    assert any("Shargorodskaya" in i.title for i in items_of("nyed_1.xml", "nyed", case_names=["United States"]))


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "court, url",
    [
        ("cand", "https://ecf.cand.uscourts.gov/cgi-bin/rss_outside.pl"),
        ("ilnd", "https://ecf.ilnd.uscourts.gov/cgi-bin/rss_outside.pl"),
        ("nysb", "https://ecf.nysb.uscourts.gov/cgi-bin/rss_outside.pl"),
        ("ca9", "https://ecf.ca9.uscourts.gov/n/beam/servlet/TransportRoom?servlet=RSSGenerator"),
        ("cadc", "https://ecf.cadc.uscourts.gov/n/beam/servlet/TransportRoom?servlet=RSSGenerator"),
        ("cafc", "https://ecf.cafc.uscourts.gov/n/beam/servlet/TransportRoom?servlet=RSSGenerator"),
        ("nyed", "https://ecf.nyed.uscourts.gov/cgi-bin/readyDockets.pl"),
        ("ared", "https://ecf.ared.uscourts.gov/cgi-bin/rss_outside4.pl"),
    ],
)
def test_default_feed_url(court: str, url: str):
    """Each kind of court has its feed at its own default URL; `url` overrides it."""
    assert default_feed_url(court) == url == watcher(court.upper(), cases=["1:25-cv-1"]).url
    assert watcher(court, cases=["1:25-cv-1"], url="http://127.0.0.1:9/x").url == "http://127.0.0.1:9/x"


@pytest.mark.parametrize(
    "keys, message",
    [
        ("court: cand", "give `cases`"),
        ("court: cand\n    cases: [abc]", "'abc' is not a docket number"),
        ("court: 'ecf.cand'\n    cases: ['3:25-cv-01350']", "not a CM/ECF court id"),
        ("court: cand\n    cases: ['3:25-cv-01350']\n    alert_removals: true", "alert_removals cannot be used"),
        ("court: cand\n    case: ['3:25-cv-01350']", "unknown key 'case'"),
    ],
)
def test_config_errors_are_clear(keys: str, message: str):
    """A pacer_rss watch without anything to follow, or with a bad key or value, is refused with a reason."""
    with pytest.raises(ConfigError) as error:
        loads(f"watches:\n  - id: x\n    type: pacer_rss\n    {keys}\n")
    assert message in str(error.value)


# ---------------------------------------------------------------- through the CLI, against 127.0.0.1


def check(path: Path) -> dict:
    result = run_cli("check", "--config", str(path), "--json")
    assert result.code == 0, result.out + result.err
    return json.loads(result.out)


def later_sdny_feed() -> bytes:
    """sdny_1.xml an hour later: two new entries in Chau v. Donovan (#4, filed as two CM/ECF events, so
    two items; and a text-only minute entry), the oldest item rolled out of the window, a new build date."""
    item = (
        "<item>\n<title>1:18-cv-03365 Chau v. Donovan et al</title>\n"
        "<link>https://ecf.nysd.uscourts.gov/cgi-bin/DktRpt.pl?492165</link>\n<description>{desc}</description>\n"
        '<guid isPermaLink="true">https://ecf.nysd.uscourts.gov/cgi-bin/DktRpt.pl?492165&#x26;{seq}</guid>\n'
        "<pubDate>{date}</pubDate>\n</item>\n"
    )
    link = (
        "(&#x3C;a href=&#x22;https://ecf.nysd.uscourts.gov/doc1/127122265001?caseid=492165&#x26;de_seq_num=14"
        "&#x22; &#x3E;4&#x3C;/a&#x3E;)"
    )
    new = (
        item.format(desc=f"[Motion to Dismiss] {link}", seq=14, date="Wed, 18 Apr 2018 01:02:03 GMT")
        + item.format(
            desc=f"[Motion for Judgment on the Pleadings] {link}", seq=14, date="Wed, 18 Apr 2018 01:02:03 GMT"
        )
        + item.format(
            desc="[Order Scheduling Initial Pretrial Conference] ", seq=16, date="Wed, 18 Apr 2018 01:05:00 GMT"
        )
    )
    text = (FEEDS / "sdny_1.xml").read_bytes().decode("iso-8859-1")
    text = text.replace(
        "Wed, 18 Apr 2018 00:15:28 GMT</lastBuildDate>\n", "Wed, 18 Apr 2018 01:15:31 GMT</lastBuildDate>\n\n" + new, 1
    )
    last = text.rindex("<item>")
    text = text[:last] + text[text.index("</item>", last) + len("</item>\n") :]
    return text.encode("iso-8859-1")


def test_new_entries_alert_exactly_once(server, write_config):
    """First check is a silent baseline; a later feed with two new entries (three items) for the followed
    case alerts exactly those two; the same or a re-rendered feed after that alerts nothing."""
    server.set(RSS_PATH, FEEDS / "sdny_1.xml")
    path = write_config(f"""watches:
  - id: chau-rss
    type: pacer_rss
    court: nysd
    cases: ["1:18-cv-03365"]
    url: {server.url(RSS_PATH)}
""")
    [first] = check(path)["watches"]
    assert first["ok"] and first["baseline"] and first["changes"] == [] and first["items"] == 3

    later = later_sdny_feed()
    server.set(RSS_PATH, later)
    [second] = check(path)["watches"]
    assert [c["kind"] for c in second["changes"]] == ["added", "added"]
    assert {c["key"] for c in second["changes"]} == {"entry:nysd:1:18-cv-03365:4", "entry:nysd:1:18-cv-03365:seq:16"}
    motion = next(c["item"] for c in second["changes"] if c["key"].endswith(":4"))
    assert motion["fields"]["short_description"] == "Motion for Judgment on the Pleadings AND Motion to Dismiss"
    assert motion["fields"]["date_entered"] == "2018-04-18T01:02:03+00:00"

    [third] = check(path)["watches"]
    assert third["ok"] and third["changes"] == []

    rebuilt = later.replace(b"01:15:31 GMT</lastBuildDate>", b"01:35:02 GMT</lastBuildDate>")
    server.set(RSS_PATH, rebuilt)
    [fourth] = check(path)["watches"]
    assert fourth["ok"] and not fourth["unchanged"] and fourth["changes"] == []


def test_partial_feed_warning_and_status_info(server, write_config):
    """A followed case in a court whose feed lists only some entry types gets a warning, and status
    shows each feed's coverage and lastBuildDate; a full feed gets no warning."""
    server.set(RSS_PATH, FEEDS / "sdny_1.xml")
    server.set("/mdb" + RSS_PATH, FEEDS / "mdb_1.xml")
    path = write_config(f"""watches:
  - id: chau-rss
    type: pacer_rss
    court: nysd
    cases: ["1:18-cv-03365"]
    url: {server.url(RSS_PATH)}
  - id: dozier-rss
    type: pacer_rss
    court: mdb
    cases: ["18-00079"]
    url: {server.url("/mdb" + RSS_PATH)}
""")
    sdny, mdb = check(path)["watches"]
    [warning] = sdny["warnings"]
    assert "nysd's RSS feed lists only these entry types" in warning and "cmp" in warning
    assert mdb["warnings"] == []

    status = json.loads(run_cli("status", "--config", str(path), "--json").out)
    info = {w["watch"]: w["info"] for w in status["watches"]}
    assert info["chau-rss"]["coverage"] == "partial" and len(info["chau-rss"]["entry_types"]) == 27
    assert info["chau-rss"]["last_build_date"] == "2018-04-18T00:15:28+00:00"
    assert info["dozier-rss"]["coverage"] == "all" and "entry_types" not in info["dozier-rss"]


def test_one_request_per_court_feed_per_cycle(server, write_config):
    """Watches following different cases in one court's feed share one request per cycle, even when one
    of them is new (no stored validators) and the server offers ETags."""
    server.set(RSS_PATH, FEEDS / "sdny_1.xml", etag=True)
    server.set("/mdb" + RSS_PATH, FEEDS / "mdb_1.xml")
    watches = f"""watches:
  - id: chau
    type: pacer_rss
    court: nysd
    cases: ["1:18-cv-03365"]
    url: {server.url(RSS_PATH)}
  - id: dozier
    type: pacer_rss
    court: mdb
    cases: ["18-00079"]
    url: {server.url("/mdb" + RSS_PATH)}
"""
    lopez = f"""  - id: lopez
    type: pacer_rss
    court: nysd
    cases: ["1:18-mj-03122"]
    case_names: [MoMaCha]
    url: {server.url(RSS_PATH)}
"""
    check(write_config(watches))
    assert server.count(RSS_PATH) == 1 and server.count("/mdb" + RSS_PATH) == 1
    path = write_config(watches + lopez)  # a second case in the same court, followed from now on
    assert all(w["ok"] for w in check(path)["watches"])
    assert server.count(RSS_PATH) == 2 and server.count("/mdb" + RSS_PATH) == 2
    status = json.loads(run_cli("status", "--config", str(path), "--json").out)
    assert {w["watch"]: w["items"] for w in status["watches"]} == {"chau": 3, "dozier": 1, "lopez": 9}
