"""Keyword rules (monitor/filters.py) on the agency watches: any, all, exclude, whole words and phrases.

Most tests run the real CLI over recordings replayed from 127.0.0.1 (the DOJ RSS feed through the core
`feed` kind, the DOJ API through `doj`, the White House feed through `whitehouse`, the Federal Register
through `federal_register`). The statute-citation cases use short texts written here, because no
recording quotes 8 U.S.C. 1373.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.filters import KeywordRules
from monitor.models import Fetched, Item
from tests.conftest import DATA, run_cli
from watchers.doj import DojConfig, DojWatcher

RSS = DATA / "press" / "doj" / "justice_news_rss_2026-10-02.xml"
API = DATA / "press" / "doj" / "api_v1_press_releases_pagesize20_truncated_to_2.json"
WH = DATA / "press" / "whitehouse" / "presidential_actions_feed_2026-10-02_first_item.xml"
FR = DATA / "federal_register" / "presidential_documents_since_2026-09-25.json"


@pytest.fixture
def fresh_config(write_config, tmp_path):
    """Each config written gets its own state database, so every first check is a first check."""
    count = iter(range(1000))

    def write(text: str) -> Path:
        n = next(count)
        return write_config(f"state: sqlite:///{tmp_path / f'state-{n}.db'}\n" + text, name=f"watches-{n}.yaml")

    return write


@pytest.fixture
def rss_watch(server, fresh_config):
    """A `feed` watch on the recorded DOJ "Justice News" RSS (25 items) with the given keyword rules."""
    server.set("/news/rss", RSS)

    def make(keywords: str) -> Path:
        return fresh_config(f"""
watches:
  - id: doj-news
    type: feed
    url: {server.url("/news/rss")}
    keywords: {keywords}
""")

    return make


def matched(path: Path) -> list[tuple[str, list[str]]]:
    """(title, matched terms) of every item the first check records, alerted as new."""
    result = run_cli("check", "--config", str(path), "--json", "--notify-baseline")
    assert result.code == 0, result.err + result.out
    [watch] = json.loads(result.out)["watches"]
    return [(c["item"]["title"], c["item"]["matched"]) for c in watch["changes"]]


def titles(path: Path) -> list[str]:
    return [title for title, _ in matched(path)]


def test_ice_does_not_match_police_or_justice(rss_watch):
    """ "ICE" is a whole word: "Police", "Justice", "Office" and "Services" in the feed do not match it."""
    assert matched(rss_watch("{any: [ICE]}")) == []


def test_any_is_case_insensitive_and_reports_the_term(rss_watch):
    """`any: [police]` matches "Police" in titles and descriptions, and the alert says "police" matched."""
    found = matched(rss_watch("{any: [police]}"))
    assert (
        "Former San Jose Police Department Employee Sentenced To 60 Months For Possession Of Child Pornography",
        ["police"],
    ) in found
    assert len(found) == 3


def test_phrase_matches_words_in_order_only(rss_watch):
    """ "Oneida County" matches the two Oneida County releases; "County Oneida" matches none."""
    assert titles(rss_watch('{any: ["Oneida County"]}')) == [
        "Oneida County Man Sentenced to Four Years in Federal Prison for Possessing Child Pornography",
        "Oneida County Man Sentenced for Possessing Child Pornography",
    ]
    assert titles(rss_watch('{any: ["County Oneida"]}')) == []
    assert len(titles(rss_watch('{any: ["oNEIDA   county"]}'))) == 2  # any case, any spacing in the term


def test_whole_word_across_hyphens(rss_watch):
    """ "immigration" matches "Immigration-Related" (a hyphen ends a word) and the weekly immigration report."""
    assert len(titles(rss_watch("{any: [immigration]}"))) == 2


def test_all_of(rss_watch):
    """`all` keeps items containing every term, and lists each of them as matched."""
    found = matched(rss_watch('{all: [sentenced, "child pornography"]}'))
    assert len(found) == 6 and all(terms == ["sentenced", "child pornography"] for _, terms in found)


def test_exclude(rss_watch):
    """`exclude` drops items containing the term even when `any` matches."""
    found = titles(rss_watch("{any: [sentenced], exclude: [pornography]}"))
    assert "Warren County Fraudster Sentenced to 10 Years’ Imprisonment" in found
    assert not any("Pornography" in t for t in found) and len(found) == 7


def test_alert_shows_matched_terms(rss_watch):
    """The alert printed by the console notifier ends with the terms that matched."""
    result = run_cli("check", "--config", str(rss_watch('{any: ["Tren de Aragua", Venezuelan]}')), "--notify-baseline")
    assert result.code == 0
    assert "Matched: Tren de Aragua, Venezuelan" in result.out
    assert "Matched: Venezuelan" in result.out  # the former congressman acting for Venezuela


# ---------------------------------------------------------------- bodies (`_body`)


@pytest.fixture
def api_watch(server, fresh_config):
    server.set(
        "/api/v1/press_releases.json?pagesize=50&page=0&sort=date&direction=DESC", API, content_type="application/json"
    )

    def make(keywords: str) -> Path:
        return fresh_config(f"""
watches:
  - id: doj-api
    type: doj
    url: {server.url("/api/v1/press_releases.json")}
    keywords: {keywords}
""")

    return make


def test_body_only_phrase_matches_through_body_field(api_watch):
    """ "Sumter County" (only in the release's body) matches when `_body` is among the fields, and is not stored."""
    config = api_watch('{any: ["Sumter County"], fields: [title, summary, _body]}')
    result = run_cli("check", "--config", str(config), "--json", "--notify-baseline")
    [change] = json.loads(result.out)["watches"][0]["changes"]
    assert (
        change["item"]["title"]
        == "Former South Carolina Highway Patrol Trooper Pleads Guilty to Civil Rights Violation"
    )
    assert change["item"]["matched"] == ["Sumter County"]
    assert "_body" not in change["item"]["fields"]


def test_ice_does_not_match_police_in_a_body(api_watch):
    """The body's "police officers" and "Justice Department" do not match "ICE"."""
    assert matched(api_watch("{any: [ICE], fields: [title, summary, _body]}")) == []
    assert len(matched(api_watch("{any: [police], fields: [title, summary, _body]}"))) == 1


def test_default_fields_read_the_transient_body(api_watch):
    """With the default `fields`, the body a watcher keeps in `_body` is searched (feed.py documents it so)."""
    assert len(matched(api_watch('{any: ["Sumter County"]}'))) == 1


def test_navigation_menu_does_not_match(server, fresh_config):
    """The White House page menu ("Executive Orders") in every post's HTML does not make a proclamation match."""
    server.set("/feed/", WH)
    base = f"""
watches:
  - id: wh
    type: whitehouse
    url: {server.url("/feed/")}
    keywords: {{any: [%s], fields: [title, summary, _body]}}
"""
    assert matched(fresh_config(base % '"Executive Orders"')) == []
    assert matched(fresh_config(base % '"National Manufacturing Day"')) == [
        ("National Manufacturing Day, 2026", ["National Manufacturing Day"])
    ]


def test_federal_register_title_phrase(server, write_config):
    """An executive order's title phrase selects that order among the Federal Register results."""
    server.set("/api/v1/documents.json", FR, content_type="application/json")
    config = write_config(f"""
watches:
  - id: fr
    type: federal_register
    url: {server.url("/api/v1/documents.json")}
    keywords: {{any: ["Era of Super Intelligence"]}}
""")
    assert matched(config) == [("Inaugurating the Era of Super Intelligence", ["Era of Super Intelligence"])]


# ---------------------------------------------------------------- statute citations and phrases (texts written here)


def hit(term: str, text: str, **rules) -> tuple[str, ...] | None:
    return KeywordRules(any=[term], **rules).compile().match(Item(key="k", title=text))


@pytest.mark.parametrize(
    "text",
    [
        "Complaint alleges violation of 8 U.S.C. 1373",
        "under 8 U.S.C.  1373 and the Tenth Amendment",  # two spaces
        "8 U.S.C.\n1373",  # a line break
        "8 U.S.C.\xa01373 (the no-cooperation statute)",  # a non-breaking space
        "(8 u.s.c. 1373)",
    ],
)
def test_statute_citation_matches(text):
    """ "8 U.S.C. 1373" matches the citation with any spacing, in any case, next to punctuation."""
    assert hit("8 U.S.C. 1373", text) == ("8 U.S.C. 1373",)


@pytest.mark.parametrize("text", ["28 U.S.C. 1373", "8 U.S.C. 13730", "8 USC 1373", "8 U.S.C. 1373a"])
def test_statute_citation_does_not_match_other_numbers(text):
    """A longer number before or after, or a different spelling, is not the citation."""
    assert hit("8 U.S.C. 1373", text) is None


def test_statute_citation_with_section_sign():
    """ "8 U.S.C. 1373" also matches the usual legal form "8 U.S.C. § 1373"."""
    assert hit("8 U.S.C. 1373", "in violation of 8 U.S.C. § 1373") == ("8 U.S.C. 1373",)


def test_cook_county_phrase():
    """ "Cook County" matches the phrase in any case, not "Cook" and "County" apart or reversed."""
    assert hit("Cook County", "Illinois, Chicago and COOK COUNTY sued") == ("Cook County",)
    assert hit("Cook County", "Cook County's sanctuary ordinance") == ("Cook County",)
    assert hit("Cook County", "the County of Cook") is None
    assert hit("Cook County", "a cook in Lake County") is None


def test_doj_component_and_keyword_rules_combine():
    """`component` filters in the watcher; keyword rules then apply to what is left (here the body)."""
    watcher = DojWatcher(DojConfig(id="d", type="doj", component=["Civil Rights Division"]))
    items = watcher.parse(Fetched(url="https://www.justice.gov/x", status=200, headers={}, body=API.read_bytes()))
    rules = KeywordRules(any=["excessive force"], fields=["title", "summary", "_body"]).compile()
    assert [i.matched for i in rules.apply(items)] == [("excessive force",)]
