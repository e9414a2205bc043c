"""Related cases (issue 12): agency items linked to the followed cases they name, through the real engine.

The DOJ releases are served by the replay server in the recorded DOJ API envelope
(tests/data/press/doj/api_v1_...json); the releases naming cases are constructed in the recording's shape
(tests/data/press/doj/related_releases_constructed.json, see SOURCES.md), the release naming no case is a
real recorded one (the Griffin Bell statement).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.config import loads
from monitor.related import FollowedCase, followed_cases, item_text, relate
from monitor.store import Store
from tests.conftest import DATA, check_json, run_cli
from tests.support.courtlistener_server import TOKEN, CourtListenerServer
from tests.watchers.test_doj import API, PATH, drupal_json
from watchers import WATCHERS
from watchers.dockets import parse_docket_number

RECORDED = json.loads(API.read_bytes())["results"]
BELL, SAWYER = RECORDED  # real 2009 releases: a statement on Griffin Bell, a trooper's plea; no case named
CONSTRUCTED = {
    r["uuid"][-1]: r
    for r in json.loads((DATA / "press" / "doj" / "related_releases_constructed.json").read_text(encoding="utf-8"))[
        "results"
    ]
}
BY_NUMBER, BY_ALIAS, UNFOLLOWED, SF_BY_NUMBER = (CONSTRUCTED[k] for k in "1234")
REPO = Path(__file__).resolve().parents[2]


def page(results: list[dict[str, Any]]) -> bytes:
    """The recorded API envelope holding these results, serialised as the DOJ API does."""
    data = json.loads(API.read_bytes())
    data["results"] = results
    return drupal_json(data)


CASES = """
  - id: illinois-rss
    name: Illinois sanctuary case (N.D. Ill.)   # not a caption: only the alias names the case
    type: pacer_rss
    court: ilnd
    cases: ["1:25-cv-01285"]
    aliases: ["U.S. v. State of Illinois"]
    enabled: false
  - id: sf-v-trump
    name: SF v. Trump (N.D. Cal.)
    type: courtlistener
    court: cand
    docket_number: "3:25-cv-01350"
    token: ""
    enabled: false
"""


@pytest.fixture
def doj_config(server, write_config):
    server.set(PATH, page([SAWYER]), content_type="application/json")
    return write_config(f"""
notifiers:
  terminal: {{type: console}}
watches:
{CASES}
  - id: doj-api
    name: DOJ press releases
    type: doj
    url: "{server.url(PATH)}"
""")


def by_uuid(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["key"].removeprefix("doj:"): c for w in report["watches"] for c in w["changes"]}


def test_releases_are_linked_to_the_cases_they_name_by_number_or_by_alias(server, doj_config):
    """`monitor check --json`: a release naming a followed docket number and one naming a followed case by an alias
    are linked (`related_cases`), a release naming neither is not, and one naming an unfollowed docket number says
    so with the command that would follow it; the console alert says the same."""
    assert check_json(doj_config)["watch"]["baseline"]
    server.set(
        PATH, page([BY_NUMBER, BY_ALIAS, UNFOLLOWED, SF_BY_NUMBER, BELL, SAWYER]), content_type="application/json"
    )
    result = run_cli("check", "--config", str(doj_config), "--json")
    assert result.code == 0, result.err
    changes = by_uuid(json.loads(result.out))
    assert len(changes) == 5 and {c["kind"] for c in changes.values()} == {"added"}

    by_number = changes[BY_NUMBER["uuid"]]
    assert by_number["related_cases"] == ["illinois-rss"] and by_number["unfollowed"] == []
    [case] = by_number["related"]
    assert case == {
        "watch": "illinois-rss",
        "watches": ["illinois-rss"],
        "case": "Illinois sanctuary case",
        "display": "Illinois sanctuary case (N.D. Ill. 1:25-cv-01285)",
        "court": "ilnd",
        "docket_number": "1:25-cv-01285",
        "group": "case:ilnd:1:25-cv-01285",
        "matched": "1:25\u2013cv\u201301285",
    }  # found in the body, written with en dashes

    by_alias = changes[BY_ALIAS["uuid"]]
    assert by_alias["related_cases"] == ["illinois-rss"]
    assert by_alias["related"][0]["matched"] == "U.S. v. State of Illinois"

    assert changes[SF_BY_NUMBER["uuid"]]["related_cases"] == ["sf-v-trump"]
    assert changes[SF_BY_NUMBER["uuid"]]["related"][0]["matched"] == "3:25-cv-01350-WHO"

    neither = changes[BELL["uuid"]]
    assert neither["related_cases"] == [] and neither["related"] == [] and neither["unfollowed"] == []

    unfollowed = changes[UNFOLLOWED["uuid"]]
    assert unfollowed["related_cases"] == []
    assert unfollowed["unfollowed"] == [
        {"docket_number": "2:18-cv-02660", "court": "caed", "command": "monitor follow caed 2:18-cv-02660"}
    ]

    assert (
        "Related case: Illinois sanctuary case (N.D. Ill. 1:25-cv-01285)" in result.err
    )  # console alert (--json: stderr)
    assert "Related case: SF v. Trump (N.D. Cal. 3:25-cv-01350)" in result.err
    assert "Not followed: 2:18-cv-02660 (E.D. Cal.); to follow it: monitor follow caed 2:18-cv-02660" in result.err
    assert result.err.count("Related case:") == 3

    history = json.loads(run_cli("history", "--config", str(doj_config), "--json", "-n", "10").out)
    stored = {c["key"].removeprefix("doj:"): c for c in history}
    assert stored[BY_ALIAS["uuid"]]["related_cases"] == ["illinois-rss"]  # recorded with the change
    store = Store.open(loads(doj_config.read_text()).state_url)
    try:
        items = store.load_items("doj-api")
    finally:
        store.close()
    assert all("related" not in json.dumps(s.item.to_dict()) for s in items.values())  # never in the item


def test_editing_aliases_or_the_followed_cases_changes_no_item(server, doj_config):
    """Aliases are a neutral key (no re-baseline), and reading the same releases again after the followed cases
    changed is no update: the links live on the change, not in the item."""
    check_json(doj_config)
    releases = [BY_NUMBER, BY_ALIAS, SAWYER]
    server.set(PATH, page(releases), content_type="application/json")
    [doj] = [w for w in check_json(doj_config)["watches"] if w["watch"] == "doj-api"]
    assert [c["related_cases"] for c in doj["changes"]] == [["illinois-rss"], ["illinois-rss"]]
    text = doj_config.read_text().replace(
        'aliases: ["U.S. v. State of Illinois"]', 'aliases: ["United States v. Illinois", "U.S. v. Pritzker"]'
    )
    doj_config.write_text(text.replace('docket_number: "3:25-cv-01350"', 'docket_number: "3:25-cv-01351"'))
    server.set(PATH, page(list(reversed(releases))), content_type="application/json")  # parsed and diffed again
    report = check_json(doj_config)
    assert report["exit"] == 0
    [doj] = [w for w in report["watches"] if w["watch"] == "doj-api"]
    assert doj["changes"] == [] and not doj["baseline"]
    assert not any("configuration changed" in w for w in doj["warnings"])


def test_a_case_followed_by_courtlistener_id_is_found_by_the_name_courtlistener_reports(
    server, write_config, monkeypatch
):
    """A courtlistener watch given only `docket_id`, no name and no aliases: after its first check, its court, number
    and the case name CourtListener reports are known, and a release naming the case that way is linked."""
    cl = CourtListenerServer().start()
    try:
        cl.add_docket(
            id=900001350,
            court_id="cand",
            docket_number="3:25-cv-01350",
            docket_number_core="2501350",
            case_name="City and County of San Francisco v. Trump",
            absolute_url="/docket/900001350/city-and-county-of-san-francisco-v-trump/",
        )
        monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
        server.set(PATH, page([SAWYER]), content_type="application/json")
        path = write_config(f"""
watches:
  - {{id: cl-case, type: courtlistener, docket_id: 900001350, base_url: "{cl.base_url}"}}
  - {{id: doj-api, type: doj, url: "{server.url(PATH)}"}}
""")
        assert check_json(path)["exit"] == 0
        # the San Francisco release, with its docket number replaced by the case's name
        by_name = dict(
            SF_BY_NUMBER,
            uuid="00000000-0000-4000-8000-000000000005",
            body=SF_BY_NUMBER["body"].replace("No. 3:25-cv-01350-WHO", "City and County of San Francisco v. Trump"),
        )
        server.set(PATH, page([by_name, SAWYER]), content_type="application/json")
        report = check_json(path, "doj-api")
        [change] = report["watch"]["changes"]
        assert change["related_cases"] == ["cl-case"]
        assert change["related"][0]["matched"] == "City and County of San Francisco v. Trump"
        assert change["related"][0]["display"] == "City and County of San Francisco v. Trump (N.D. Cal. 3:25-cv-01350)"
    finally:
        cl.stop()


# ---------------------------------------------------------------- deciding, without the engine


def case(court: str, number: str, *names: str, watch: str = "w") -> FollowedCase:
    return FollowedCase(court, parse_docket_number(number), [watch], names[0] if names else "", list(names))


def groups(text: str, cases: list[FollowedCase]) -> list[str]:
    return [r["group"] for r in relate(text, cases).related]


def test_one_number_followed_in_two_courts_is_decided_by_the_court_the_text_names():
    """Two followed cases share `25-cv-1350`: the court written with the number, or named in the text, decides;
    a court written right with the number that is neither case's court links neither."""
    cases = [case("cand", "3:25-cv-01350", watch="sf"), case("mad", "1:25-cv-01350", watch="boston")]
    assert groups("Order in No. 25-cv-1350 (D. Mass.).", cases) == ["case:mad:1:25-cv-01350"]
    assert groups("The Northern District of California ruled today in No. 25-cv-1350, a sanctuary case.", cases) == [
        "case:cand:3:25-cv-01350"
    ]
    assert groups("A ruling in No. 25-cv-1350.", cases) == ["case:cand:3:25-cv-01350", "case:mad:1:25-cv-01350"]
    elsewhere = relate("An order in No. 25-cv-1350 (D. Or.).", cases)
    assert elsewhere.related == () and elsewhere.unfollowed == (
        {"docket_number": "25-cv-01350", "court": "ord", "command": "monitor follow ord 25-cv-01350"},
    )
    assert groups("Order in No. 1:25-cv-01350 (N.D. Cal.).", cases) == []  # another office: another case


def test_an_unfollowed_number_without_a_court_suggests_finding_it():
    """A docket number nobody follows, with no court in the text, gets `monitor find`; each case is listed once."""
    found = relate("Appeal No. 25-1234 was argued; Appeal No. 25-1234 is pending.", [])
    assert found.unfollowed == ({"docket_number": "25-1234", "court": None, "command": 'monitor find "25-1234"'},)


def test_a_party_named_alone_links_nothing():
    """ "Illinois", "Chicago", "Trump" alone, however often, never link a case."""
    cases = [case("ilnd", "1:25-cv-01285", "U.S. v. Illinois"), case("cand", "3:25-cv-01350", "San Francisco v. Trump")]
    text = "The United States sued Illinois, Chicago and Cook County; San Francisco sued President Trump."
    assert relate(text, cases).related == ()


def test_the_whole_text_is_read_but_links_are_not():
    """An item's text is its title, summary and text fields (the body included when given), without its links."""
    from monitor.models import Item

    item = Item(
        "k",
        "Title",
        url="https://example.org/1:25-cv-01285",
        summary="Summary",
        fields={"agency": "USAO - Northern District of Illinois", "document_url": "https://x/25-cv-1"},
    )
    text = item_text(item, {**item.fields, "_body": "The body names No. 1:25-cv-01285."})
    assert "The body names" in text and "USAO - Northern District of Illinois" in text and "https://" not in text


def test_the_shipped_config_links_releases_about_its_cases():
    """config/watches.yaml follows U.S. v. Illinois and SF v. Trump with aliases: the constructed releases link to
    them by number and by name, the recorded one to neither."""
    config = loads((REPO / "config" / "watches.yaml").read_text(encoding="utf-8"), env={})
    watchers = {w.id: WATCHERS[w.type](w) for w in config.watches}
    cases = followed_cases(config.watches, watchers, {})
    assert [(c.court, c.docket.canonical, c.watches) for c in cases] == [
        ("cand", "3:25-cv-01350", ["sf-v-trump-rss", "sf-v-trump"]),
        ("ilnd", "1:25-cv-01285", ["us-v-illinois-rss", "us-v-illinois"]),
    ]
    from watchers.doj import release_item

    def related(raw: dict[str, Any]) -> list[str]:
        item = release_item(raw)
        assert item is not None
        return [r["case"] for r in relate(item_text(item), cases).related]

    assert related(BY_NUMBER) == ["U.S. v. Illinois"] and related(BY_ALIAS) == ["U.S. v. Illinois"]
    assert related(SF_BY_NUMBER) == ["SF v. Trump"] and related(BELL) == [] and related(UNFOLLOWED) == []
    by_alias = dict(BELL, body="<p>The ruling in City and County of San Francisco v. Trump stands.</p>")
    assert related(by_alias) == ["SF v. Trump"]


@pytest.mark.parametrize(
    "watch, expected",
    [
        (
            '{id: w, type: courtlistener, court: ilnd, docket_number: "1:25-cv-01285", aliases: ["Illinois"]}',
            "'Illinois' is not a case name: write both parties",
        ),
        (
            '{id: w, type: pacer_rss, court: ilnd, cases: ["1:25-cv-01285", "1:25-cv-01286"], '
            'aliases: ["U.S. v. Illinois"]}',
            "aliases name one case, and this watch follows 2",
        ),
        ('{id: w, type: doj, aliases: ["U.S. v. Illinois"]}', "aliases"),
    ],
)
def test_aliases_are_checked(tmp_path, watch, expected):
    """An alias must be a case name (a bare party would link every release naming it), belongs to a watch of one
    case, and only case watches have the key; each error names the watch and says what to write."""
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        loads(f"state: sqlite:///{tmp_path / 's.db'}\nwatches:\n  - {watch}\n", env={})
    message = str(caught.value)
    assert expected in message and "watches" in message


def test_a_release_in_the_doj_rss_feed_is_linked_as_the_demo_shows_it(server, write_config):
    """The recorded DOJ RSS feed read by a `feed` watch (title and teaser only, no body), with the constructed
    release naming U.S. v. Illinois put on top: linked to the case, which a disabled court-feed watch follows."""
    feed = (DATA / "core" / "doj_news.xml").read_bytes()
    item = (DATA / "press" / "doj" / "related_release_rss_item_constructed.xml").read_bytes()
    server.set("/news/rss", feed)
    path = write_config(f"""
notifiers:
  terminal: {{type: console}}
watches:
  - {{id: us-v-illinois-rss, name: U.S. v. Illinois (N.D. Ill.), type: pacer_rss, court: ilnd, cases: ["1:25-cv-01285"],
     enabled: false}}
  - {{id: doj-news, name: DOJ press releases, type: feed, url: "{server.url("/news/rss")}"}}
""")
    assert check_json(path)["watch"]["baseline"]
    server.set("/news/rss", feed.replace(b"<item>", item + b"<item>", 1))
    result = run_cli("check", "--config", str(path), "--json")
    [change] = json.loads(result.out)["watches"][0]["changes"]
    assert change["related_cases"] == ["us-v-illinois-rss"]
    assert change["related"][0]["matched"] == "United States v. Illinois"  # named first, then by number
    assert "Related case: U.S. v. Illinois (N.D. Ill. 1:25-cv-01285)" in result.err


def test_the_case_name_a_court_feed_reports_is_kept_and_used(server, write_config):
    """A `pacer_rss` watch with no name and no aliases follows a case of the recorded S.D.N.Y. feed: the feed's case
    name ("Torres v. Bronx Lebanon Hospital Center") is kept in the watch's state, and a release naming the case so
    is linked to it; a release naming another case of that feed, which nobody follows, is not."""
    server.set("/cgi-bin/rss_outside.pl", (DATA / "pacer_rss" / "sdny_1.xml").read_bytes())
    server.set(PATH, page([SAWYER]), content_type="application/json")
    path = write_config(f"""
watches:
  - {{id: torres, type: pacer_rss, court: nysd, cases: ["17-cv-9141"], url: "{server.url("/cgi-bin/rss_outside.pl")}"}}
  - {{id: doj-api, type: doj, url: "{server.url(PATH)}"}}
""")
    assert check_json(path)["exit"] == 0
    store = Store.open(loads(path.read_text()).state_url)
    try:
        plugin_state = store.load_states(["torres"])["torres"].plugin_state
        assert plugin_state is not None and plugin_state["case_names"] == {
            "17-cv-09141": "Torres v. Bronx Lebanon Hospital Center"
        }
    finally:
        store.close()
    # the recorded Bell statement with a sentence naming the case added (and one naming an unfollowed case of the feed)
    torres = dict(
        BELL,
        uuid="00000000-0000-4000-8000-000000000006",
        body=BELL["body"] + "<p>A settlement was reached in Torres v. Bronx Lebanon Hospital Center.</p>",
    )
    other = dict(
        BELL,
        uuid="00000000-0000-4000-8000-000000000007",
        body=BELL["body"] + "<p>A settlement was reached in Chau v. Donovan.</p>",
    )
    server.set(PATH, page([torres, other, SAWYER]), content_type="application/json")
    changes = by_uuid(check_json(path, "doj-api"))
    assert changes[torres["uuid"]]["related_cases"] == ["torres"]
    assert changes[torres["uuid"]]["related"][0]["case"] == "Torres v. Bronx Lebanon Hospital Center"
    assert changes[other["uuid"]]["related_cases"] == []
