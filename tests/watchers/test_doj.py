"""The `doj` watcher: DOJ's press-release JSON API, recorded, replayed from 127.0.0.1 through the real CLI.

Derived bodies are made here from the recording by the functions below; each step is also written down
in tests/data/press/SOURCES.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ParseError
from monitor.models import Fetched
from tests.conftest import DATA, check_json, run_cli
from watchers.doj import DojConfig, DojWatcher

API = DATA / "press" / "doj" / "api_v1_press_releases_pagesize20_truncated_to_2.json"
RSS = DATA / "press" / "doj" / "justice_news_rss_2026-10-02.xml"
WH = DATA / "press" / "whitehouse" / "presidential_actions_feed_2026-10-02_first_item.xml"
RECORDED = json.loads(API.read_bytes())
BELL, SAWYER = (r["uuid"] for r in RECORDED["results"])  # Griffin Bell statement; S.C. trooper plea
PATH = "/api/v1/press_releases.json"


def query(page: int, pagesize: int) -> str:
    return f"{PATH}?pagesize={pagesize}&page={page}&sort=date&direction=DESC"


def drupal_json(data: Any) -> bytes:
    """Serialise as the DOJ API does: ASCII with `<` written `\\u003C` and `/` written `\\/`."""
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003C").replace("/", "\\/").encode()


def derived_page(indices: list[int], page: int, pagesize: int, edit=None) -> bytes:
    """The recording with `results` reduced to the given recorded results, and resultset page/pagesize set."""
    data = json.loads(API.read_bytes())
    data["results"] = [data["results"][i] for i in indices]
    data["metadata"]["resultset"].update(page=page, pagesize=str(pagesize))
    if edit:
        edit(data["results"])
    return drupal_json(data)


def check(path: Path, *extra: str) -> dict:
    return check_json(path, *extra)


def watch_report(report: dict) -> dict:
    [watch] = report["watches"]
    return watch


def history(path: Path, *extra: str) -> list[dict]:
    result = run_cli("history", "--config", str(path), "--json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.fixture
def doj_watch(server, write_config):
    def make(extra: str = "", pages: int = 1, pagesize: int = 2) -> Path:
        return write_config(f"""
watches:
  - id: doj-api
    type: doj
    url: {server.url(PATH)}
    pages: {pages}
    pagesize: {pagesize}
{extra}""")

    return make


def parse(body: bytes, **config: Any) -> list:
    watcher = DojWatcher(DojConfig(id="d", type="doj", **config))
    return watcher.parse(Fetched(url="https://www.justice.gov" + PATH, status=200, headers={}, body=body))


# ---------------------------------------------------------------- parsing


def test_recorded_page_items_and_fields():
    """Each release becomes an item keyed by DOJ's uuid with title, link, ISO date, teaser, agency and number."""
    bell, sawyer = parse(API.read_bytes())
    assert bell.key == f"doj:{BELL}"
    assert bell.title == (
        "Statement of Attorney General Michael B. Mukasey on the Death of Former Attorney General Griffin Bell"
    )
    assert bell.url == (
        "https://www.justice.gov/archives/opa/pr/statement-attorney-general-michael-b-mukasey-"
        "death-former-attorney-general-griffin-bell"
    )
    assert bell.published == "2009-01-05"  # epoch 1231156800 = noon UTC: DOJ dates are days
    assert bell.fields["agency"] == "Department of Justice: Office of the Attorney General"
    assert bell.fields["components"] == ["Office of the Attorney General"]
    assert bell.fields["number"] == "09-001"
    assert "topics" not in bell.fields  # `topic` is "" in the recording
    assert sawyer.fields["agency"] == "Department of Justice: Civil Rights Division"
    assert sawyer.summary.startswith("John B. Sawyer, a former trooper")


def test_teaser_c1_control_characters_are_mapped_back_to_punctuation():
    """The teaser's mis-decoded Windows-1252 apostrophe (U+0092) comes out as a real apostrophe."""
    [bell, _] = parse(API.read_bytes())
    assert "\x92" in RECORDED["results"][0]["teaser"]
    assert bell.summary.startswith('"Judge Bell’s long record of public service')


def test_escaped_html_body_is_text_for_filters_only():
    """The `\\u003C`-escaped HTML body is reduced to text in `_body` (no tags, no `&nbsp;`)."""
    [_, sawyer] = parse(API.read_bytes())
    body = sawyer.fields["_body"]
    assert body.startswith("WASHINGTON – John B. Sawyer")
    assert "apprehended in Sumter County" in body
    assert "<" not in body and "&nbsp;" not in body and "body" not in sawyer.fields


def test_summary_falls_back_to_body_when_teaser_is_empty():
    """A release without a teaser is summarised by the start of its body text."""
    data = json.loads(API.read_bytes())
    data["results"][1]["teaser"] = ""
    [_, sawyer] = parse(drupal_json(data))
    assert sawyer.summary.startswith("WASHINGTON – John B. Sawyer") and sawyer.summary.endswith("…")


def test_identity_falls_back_to_number_then_url():
    """Without a uuid the press-release number is the identity; without both, the canonical URL."""
    data = json.loads(API.read_bytes())
    data["results"][0]["uuid"] = ""
    data["results"][1]["uuid"] = data["results"][1]["number"] = ""
    bell, sawyer = parse(drupal_json(data))
    assert bell.key == "doj:number:09-001"
    assert sawyer.key == (
        "url:https://www.justice.gov/archives/opa/pr/former-south-carolina-highway-patrol-"
        "trooper-pleads-guilty-civil-rights-violation"
    )


@pytest.mark.parametrize(
    "component, expected",
    [
        (["Civil Rights Division"], [SAWYER]),
        (["civil rights division"], [SAWYER]),  # names are case-insensitive
        (["e99b9547-7d65-42c6-9404-68fab0db9543"], [BELL]),  # or a component uuid
        (["Office of Public Affairs"], []),  # OPA releases carry the division, not OPA
        ([], [BELL, SAWYER]),
    ],
)
def test_component_filter_by_name_or_uuid(component, expected):
    """`component` keeps releases of the named components (name or uuid), applied client-side."""
    assert [i.key.removeprefix("doj:") for i in parse(API.read_bytes(), component=component)] == expected


def test_topic_filter_drops_releases_without_that_topic():
    """`topic` keeps only releases with one of the topics; the recorded releases have none."""
    assert parse(API.read_bytes(), topic=["Civil Rights"]) == []


def test_page_urls_ask_newest_first_and_keep_own_parameters():
    """Each page asks `pagesize`, `page` (from 0) and newest-first, keeping query parameters of `url`."""
    watcher = DojWatcher(
        DojConfig(
            id="d",
            type="doj",
            pagesize=50,
            url="https://www.justice.gov/api/v1/press_releases.json?parameters%5Btitle%5D=Illinois",
        )
    )
    assert watcher.page_url(1) == (
        "https://www.justice.gov/api/v1/press_releases.json?pagesize=50&page=1&sort=date"
        "&direction=DESC&parameters%5Btitle%5D=Illinois"
    )
    assert DojWatcher(DojConfig(id="d", type="doj")).fetch_urls() == [
        "https://www.justice.gov/api/v1/press_releases.json?pagesize=50&page=0&sort=date&direction=DESC"
    ]


def _without_results() -> bytes:
    """The recording with its `results` key deleted."""
    data = json.loads(API.read_bytes())
    del data["results"]
    return drupal_json(data)


def _results_only() -> bytes:
    """The recording's `results` array alone, without the envelope."""
    return drupal_json(json.loads(API.read_bytes())["results"])


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "empty"),
        (RSS.read_bytes(), "got XML where"),
        (API.read_bytes()[:1000], "not valid JSON"),
        (_without_results(), r"no `results` list in the DOJ API response \(keys: metadata\)"),
        (_results_only(), r"\(the answer is a JSON list\)"),
    ],
    ids=["empty", "rss-instead", "truncated", "no-results", "bare-array"],
)
def test_malformed_bodies_are_clear_parse_errors(body, message):
    """Empty, XML, truncated, result-less or non-object bodies are ParseErrors that say what came."""
    with pytest.raises(ParseError, match=message):
        parse(body)


# ---------------------------------------------------------------- end to end through the CLI


def test_pages_through_two_pages(server, doj_watch):
    """With `pages: 2` both API pages are read (page 0 then page 1) and their releases are one list."""
    server.set(query(0, 1), derived_page([0], 0, 1), content_type="application/json")
    server.set(query(1, 1), derived_page([1], 1, 1), content_type="application/json")
    report = check(doj_watch(pages=2, pagesize=1), "--notify-baseline")
    watch = watch_report(report)
    assert report["exit"] == 0 and watch["items"] == 2
    assert [c["key"] for c in watch["changes"]] == [f"doj:{BELL}", f"doj:{SAWYER}"]
    assert [r.path for r in server.requests] == [query(0, 1), query(1, 1)]
    first = watch["changes"][0]["item"]
    assert first["fields"]["agency"] == "Department of Justice: Office of the Attorney General"
    assert "_body" not in first["fields"]  # transient: never stored or reported


def test_paging_stops_at_a_short_page(server, doj_watch):
    """A page with fewer results than `pagesize` is the last: no request is made for the next one."""
    server.set(query(0, 5), API, content_type="application/json")
    report = check(doj_watch(pages=3, pagesize=5))
    assert watch_report(report)["items"] == 2
    assert [r.path for r in server.requests] == [query(0, 5)]


def test_release_on_both_pages_is_one_item(server, doj_watch):
    """A release seen on two pages (the list shifted between requests) is kept once, without a warning."""
    server.set(query(0, 2), derived_page([0, 1], 0, 2), content_type="application/json")
    server.set(query(1, 2), derived_page([1, 0], 1, 2), content_type="application/json")
    watch = watch_report(check(doj_watch(pages=2, pagesize=2)))
    assert watch["items"] == 2 and watch["warnings"] == []


def test_edited_title_is_one_update_of_the_same_release(server, doj_watch):
    """A title corrected after publication (same uuid) is one `updated` change, recorded in history."""
    config = doj_watch()
    server.set(query(0, 2), API, content_type="application/json")
    assert watch_report(check(config))["baseline"]

    def retitle(results):
        results[0]["title"] = results[0]["title"].replace("Griffin Bell", "Griffin B. Bell")

    server.set(query(0, 2), derived_page([0, 1], 0, 20, edit=retitle), content_type="application/json")
    watch = watch_report(check(config))
    assert [(c["kind"], c["key"]) for c in watch["changes"]] == [("updated", f"doj:{BELL}")]
    assert watch["changes"][0]["changed"] == {
        "title": {
            "before": "Statement of Attorney General Michael B. Mukasey on the Death of Former Attorney General "
            "Griffin Bell",
            "after": "Statement of Attorney General Michael B. Mukasey on the Death of Former Attorney General "
            "Griffin B. Bell",
        }
    }
    assert [(c["kind"], c["key"]) for c in history(config)] == [("updated", f"doj:{BELL}")]


def test_moved_url_is_an_update_not_a_new_release(server, doj_watch):
    """A release whose URL changes (DOJ moved old releases under /archives/) keeps its identity."""
    config = doj_watch()
    moved = derived_page(
        [0, 1], 0, 20, edit=lambda rs: rs[0].update(url=rs[0]["url"].replace("/archives/opa/", "/opa/"))
    )
    server.set(query(0, 2), moved, content_type="application/json")
    check(config)
    server.set(query(0, 2), API, content_type="application/json")
    assert [(c["kind"], list(c["changed"])) for c in watch_report(check(config))["changes"]] == [("updated", ["url"])]


def test_release_that_drops_off_and_comes_back_is_not_new(server, doj_watch):
    """A release that leaves the page read and comes back later is neither new nor updated, and nothing is sent."""
    config = doj_watch()
    server.set(query(0, 2), API, content_type="application/json")
    check(config)
    server.set(query(0, 2), derived_page([1], 0, 20), content_type="application/json")
    gone = check(config)
    assert [c["kind"] for c in watch_report(gone)["changes"]] == ["removed"]
    assert gone["deliveries"]["sent"] == 0  # removals are not alerted by default
    server.set(query(0, 2), API, content_type="application/json")
    back = check(config)
    assert watch_report(back)["changes"] == [] and back["deliveries"]["sent"] == 0
    assert history(config) == []


def test_same_results_in_a_new_envelope_is_unchanged(server, doj_watch):
    """Only the results count: a response differing only in `executionTime` is an unchanged check."""
    config = doj_watch()
    server.set(query(0, 2), API, content_type="application/json")
    check(config)
    data = json.loads(API.read_bytes())
    data["executionTime"] = 0.25
    server.set(query(0, 2), drupal_json(data), content_type="application/json")
    assert watch_report(check(config))["unchanged"]


def _wh_content_html() -> bytes:
    """The HTML of the recorded White House post (`content:encoded`): a real HTML page body."""
    from lxml import etree

    encoded = etree.fromstring(WH.read_bytes()).find(".//{http://purl.org/rss/1.0/modules/content/}encoded")
    assert encoded is not None and encoded.text is not None
    return encoded.text.encode()


@pytest.mark.parametrize(
    "body, message",
    [
        (_wh_content_html(), "got an HTML page where the DOJ press-release API response (JSON) was expected"),
        (RSS.read_bytes(), "got XML where"),
        (API.read_bytes()[:2000], "is not valid JSON"),
        (_without_results(), "no `results` list"),
    ],
    ids=["html-page", "rss-instead", "truncated", "no-results"],
)
def test_malformed_api_response_fails_the_check_and_records_nothing(server, doj_watch, body, message):
    """A malformed answer exits 1 with a clear error, records no change, and keeps the snapshot intact."""
    config = doj_watch()
    server.set(query(0, 2), API, content_type="application/json")
    check(config)
    server.set(query(0, 2), body, content_type="text/html")
    report = check(config)
    watch = watch_report(report)
    assert report["exit"] == 1 and not report["ok"]
    assert not watch["ok"] and message in watch["error"] and watch["changes"] == []
    assert history(config, "--all") == []
    text = run_cli("check", "--config", str(config))
    assert text.code == 1 and "doj-api: FAILED: " in text.out and message in text.out
    server.set(query(0, 2), API, content_type="application/json")
    recovered = check(config)
    assert recovered["exit"] == 0 and watch_report(recovered)["changes"] == []


def test_malformed_first_check_records_no_baseline(server, doj_watch):
    """A malformed answer on the very first check fails (exit 1) and the next good one is still the baseline."""
    config = doj_watch()
    server.set(query(0, 2), _wh_content_html(), content_type="text/html")
    assert check(config)["exit"] == 1
    server.set(query(0, 2), API, content_type="application/json")
    assert watch_report(check(config))["baseline"]


def test_config_rejects_unknown_keys_and_oversized_pages(write_config):
    """Unknown keys and a pagesize over the API's 50 are configuration errors (exit 2) naming the key."""
    path = write_config("""
watches:
  - id: doj-api
    type: doj
    pagesize: 100
    components: [Civil Rights Division]
""")
    result = run_cli("validate", "--config", str(path))
    assert result.code == 2
    assert "pagesize" in result.err and "less than or equal to 50" in result.err
    assert "unknown key 'components'" in result.err and "component" in result.err


def test_component_filter_leaving_nothing_is_not_a_failure(server, doj_watch):
    """When the matching release scrolls out of the window read, the check succeeds; its leaving is recorded, not
    alerted."""
    config = doj_watch("    component: Civil Rights Division\n")
    server.set(query(0, 2), API, content_type="application/json")
    assert watch_report(check(config))["items"] == 1
    server.set(query(0, 2), derived_page([0], 0, 20), content_type="application/json")  # only the AG statement
    report = check(config)
    assert report["exit"] == 0 and [c["kind"] for c in watch_report(report)["changes"]] == ["removed"]
    assert report["deliveries"]["sent"] == 0


def test_component_filter_with_no_match_at_first_still_alerts_the_first_match(server, doj_watch):
    """A filtered watch that matched nothing on its first check alerts the first matching release later."""
    config = doj_watch("    component: Civil Rights Division\n")
    server.set(query(0, 2), derived_page([0], 0, 20), content_type="application/json")
    first = watch_report(check(config))
    assert first["baseline"] and first["items"] == 0
    server.set(query(0, 2), API, content_type="application/json")
    assert [(c["kind"], c["key"]) for c in watch_report(check(config))["changes"]] == [("added", f"doj:{SAWYER}")]


def test_changing_component_to_one_not_in_the_window_is_not_a_failure(server, doj_watch):
    """After `component` changes to one absent from the releases read, checks succeed and alert its first release."""
    server.set(query(0, 2), derived_page([0], 0, 20), content_type="application/json")
    assert watch_report(check(doj_watch("    component: Office of the Attorney General\n")))["items"] == 1
    config = doj_watch("    component: Civil Rights Division\n")
    for _ in range(2):
        report = check(config)
        assert report["exit"] == 0 and watch_report(report)["changes"] == [], watch_report(report)["error"]
    server.set(query(0, 2), API, content_type="application/json")
    report = check(config)  # the AG statement, matched under the old config, left at the re-baseline
    assert [(c["kind"], c["key"]) for c in watch_report(report)["changes"]] == [("added", f"doj:{SAWYER}")]
    assert report["deliveries"]["sent"] == 1
