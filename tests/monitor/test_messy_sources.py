"""Messy real sources through `monitor check --json`, against the replay server on 127.0.0.1: a bare
`&`, a broken item, an impossible date, duplicates that change places and tracking parameters never
blind a watch, and never alert anything that did not happen. Every body is a recording from tests/data
with one fault injected (steps in tests/data/faults/SOURCES.md)."""

from __future__ import annotations

import json

from tests.conftest import DATA, check_json, run_cli
from tests.monitor.conftest import DOJ
from tests.monitor.test_check_flows import NEW_ITEM, with_new_item

DOJ_TITLE = b"<title>Warren County Fraudster Sentenced to 10 Years\xe2\x80\x99 Imprisonment  </title>"
MDB = (DATA / "pacer_rss" / "mdb_2.xml").read_bytes()


def kinds(report: dict) -> list[tuple[str, str]]:
    return [(c["kind"], c["item"]["title"]) for c in report["watch"]["changes"]]


def test_bare_ampersand_yields_every_item_and_says_it_was_repaired(server, doj_config):
    """A title written "Smith & Jones" (not `&amp;`): the watch reads all 25 items, warns that the XML was
    malformed and repaired, and the correctly escaped feed later is the same content (no change)."""
    server.set("/news/rss", DOJ.replace(DOJ_TITLE, b"<title>Smith & Jones Sentenced</title>", 1))
    first = check_json(doj_config)
    assert first["ok"] and first["watch"]["items"] == 25
    [warning] = first["watch"]["warnings"]
    assert "XML was malformed (bare '&' at line 10)" in warning and "repaired" in warning

    server.set("/news/rss", DOJ.replace(DOJ_TITLE, b"<title>Smith &amp; Jones Sentenced</title>", 1))
    second = check_json(doj_config)
    assert second["ok"] and second["watch"]["warnings"] == [] and kinds(second) == []


def test_one_broken_item_yields_the_others_and_a_warning_naming_it(server, doj_config):
    """A feed whose item 3 has a mismatched tag: the check succeeds with the other 24 items and names
    item 3; nothing is alerted or recorded as changed (item 3 is still at the source, unread, not
    removed); when it is whole again it is not new either."""
    check_json(doj_config)
    broken = DOJ.replace(b"</title>", b"</titel>", 4).replace(b"</titel>", b"</title>", 3)
    server.set("/news/rss", broken)
    report = check_json(doj_config)
    assert report["ok"] and report["exit"] == 0 and report["watch"]["items"] == 24
    [warning] = report["watch"]["warnings"]
    assert 'item 3 "District of Arizona Charges 374 Individuals' in warning and "skipped" in warning
    assert kinds(report) == [] and report["deliveries"]["sent"] == 0

    server.set("/news/rss", DOJ)
    back = check_json(doj_config)
    assert back["ok"] and kinds(back) == [] and back["deliveries"]["sent"] == 0
    assert json.loads(run_cli("history", "--config", str(doj_config), "--all", "--json").out) == []


def test_a_date_in_the_year_9999_drops_that_date_only(server, doj_config):
    """A new item dated `Fri, 31 Dec 9999 23:00:00 -0500` (the year 10000 in UTC; it used to raise
    OverflowError and fail the watch): it is alerted without a date, with a warning; nothing else changes."""
    check_json(doj_config)
    dated = NEW_ITEM.replace(b"Thu, 06 Feb 2025 12:00:00 +0000", b"Fri, 31 Dec 9999 23:00:00 -0500")
    assert dated != NEW_ITEM
    server.set("/news/rss", DOJ.replace(b"<item>", dated + b"<item>", 1))
    report = check_json(doj_config)
    assert report["ok"] and report["exit"] == 0
    [change] = report["watch"]["changes"]
    assert change["kind"] == "added" and change["item"]["published"] is None
    assert change["item"]["title"] == "Justice Department Sues Illinois Over Sanctuary Laws"
    [warning] = report["watch"]["warnings"]
    assert "'Fri, 31 Dec 9999 23:00:00 -0500' is out of range" in warning and "Sues Illinois" in warning


def test_reordered_duplicates_give_no_update(server, doj_config):
    """A feed listing one link twice with two different descriptions: whichever order the source puts
    them in, check after check, no "updated" is alerted."""
    first_version = with_new_item(DOJ)
    second_version = NEW_ITEM.replace(b"filed suit against", b"sued")
    assert second_version != NEW_ITEM
    server.set("/news/rss", first_version.replace(b"</channel>", second_version + b"</channel>"))
    baseline = check_json(doj_config)
    assert baseline["ok"] and any("listed twice" in w for w in baseline["watch"]["warnings"])
    swapped = DOJ.replace(b"<item>", second_version + b"<item>", 1).replace(b"</channel>", NEW_ITEM + b"</channel>")
    for body in (swapped, first_version.replace(b"</channel>", second_version + b"</channel>"), swapped):
        server.set("/news/rss", body)
        report = check_json(doj_config)
        assert report["ok"] and kinds(report) == []


def test_tracking_parameters_on_every_link_change_nothing(server, doj_config):
    """DOJ adding `utm_source`, `utm_medium` and `fbclid` to every link: no change at all, and the
    recorded links stay clean."""
    check_json(doj_config, "--notify-baseline")
    tagged = DOJ.replace(b"</link>", b"?utm_source=rss&amp;utm_medium=feed&amp;fbclid=IwAR0x</link>")
    server.set("/news/rss", tagged)
    report = check_json(doj_config)
    assert report["ok"] and not report["watch"]["unchanged"] and kinds(report) == []
    history = json.loads(run_cli("history", "--config", str(doj_config), "--json", "-n", "100").out)
    assert len(history) == 25 and not any("utm_" in (c["item"]["url"] or "") for c in history)


def test_pacer_feed_with_a_bare_ampersand_in_a_case_name(server, write_config):
    """D. Md.'s feed with "A&E Television Networks" unescaped: the followed case's entry is read, with
    its name intact, and the warning says the feed was repaired."""
    broken = MDB.replace(b"A&amp;E Television", b"A&E Television")
    assert broken != MDB
    server.set("/cgi-bin/rss_outside.pl", broken)
    path = write_config(f"""watches:
  - id: dozier
    type: pacer_rss
    court: mdb
    cases: ["18-00079"]
    url: {server.url("/cgi-bin/rss_outside.pl")}
""")
    report = check_json(path, "--notify-baseline")
    assert report["ok"] and report["watch"]["items"] == 1
    [change] = report["watch"]["changes"]
    assert change["item"]["fields"]["case_name"] == "Dozier v. A&E Television Networks"
    assert any("bare '&'" in w and "repaired" in w for w in report["watch"]["warnings"])
