"""The `wordpress` and `whitehouse` watchers on the recorded White House presidential-actions feed.

The recording holds one post (a proclamation). Feeds with more posts, or with edits, are derived from it
by the functions below; each step is also written down in tests/data/press/SOURCES.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.models import Fetched
from tests.conftest import DATA, check_json, run_cli
from watchers.whitehouse import DEFAULT_URL, WhiteHouseConfig, WhiteHouseWatcher
from watchers.wordpress import WordPressConfig, WordPressWatcher, post_key, site_name

FEED = (DATA / "press" / "whitehouse" / "presidential_actions_feed_2026-10-02_first_item.xml").read_bytes()
DOJ_API = (DATA / "press" / "doj" / "api_v1_press_releases_pagesize20_truncated_to_2.json").read_bytes()
FEED_URL = "https://www.whitehouse.gov/presidential-actions/feed/"
PROCLAMATION = "wp:www.whitehouse.gov:52161"
EO_COPY = "wp:www.whitehouse.gov:52160"
PATH = "/presidential-actions/feed/"


def _item(feed: bytes) -> bytes:
    start = feed.index(b"<item>")
    end = feed.index(b"</item>") + len(b"</item>")
    return feed[start:end]


def with_eo_copy(feed: bytes = FEED) -> bytes:
    """The recorded feed plus a copy of its post filed as an executive order (post 52160, slug `-eo`)."""
    copy = (
        _item(feed)
        .replace(b"<![CDATA[Proclamations]]>", b"<![CDATA[Executive Orders]]>")
        .replace(b"?p=52161", b"?p=52160")
        .replace(b"national-manufacturing-day-2026/", b"national-manufacturing-day-2026-eo/")
    )
    return feed.replace(b"</item>", b"</item>\n\t\t" + copy, 1)


def retitled(feed: bytes = FEED) -> bytes:
    """The recorded feed with the post's title corrected (and so its link slug), as WordPress does."""
    return feed.replace(
        b"<title>National Manufacturing Day, 2026</title>",
        b"<title>National Manufacturing Day, 2026 (Corrected)</title>",
    ).replace(b"national-manufacturing-day-2026/</link>", b"national-manufacturing-day-2026-corrected/</link>")


def parse(body: bytes = FEED, kind: str = "whitehouse", **config) -> list:
    watcher: WordPressWatcher
    if kind == "whitehouse":
        watcher = WhiteHouseWatcher(WhiteHouseConfig.model_validate({"id": "w", "type": "whitehouse", **config}))
    else:
        watcher = WordPressWatcher(WordPressConfig.model_validate({"id": "w", "type": "wordpress", **config}))
    return watcher.parse(Fetched(url=FEED_URL, status=200, headers={}, body=body))


def check(path: Path, *extra: str) -> dict:
    return check_json(path, *extra)


@pytest.fixture
def wh_watch(server, write_config):
    def make(extra: str = "") -> Path:
        return write_config(f"""
watches:
  - id: wh-actions
    type: whitehouse
    url: {server.url(PATH)}
{extra}""")

    return make


# ---------------------------------------------------------------- parsing


def test_recorded_post_fields():
    """The post is keyed by its WordPress id and carries title, link, date, agency, categories and a clean summary."""
    [post] = parse()
    assert post.key == PROCLAMATION
    assert post.title == "National Manufacturing Day, 2026"
    assert post.url == "https://www.whitehouse.gov/presidential-actions/2026/10/national-manufacturing-day-2026/"
    assert post.published == "2026-10-02T19:29:58+00:00"
    assert post.fields["agency"] == "The White House"
    assert post.fields["categories"] == ["Presidential Actions", "Proclamations"]
    assert post.summary.startswith("BY THE PRESIDENT OF THE UNITED STATES OF AMERICA A PROCLAMATION")
    assert post.summary.endswith("the men and women […]")  # "The post … appeared first on …" removed
    assert post.group == "agency:whitehouse.gov"


def test_body_for_filters_has_no_navigation_chrome():
    """`_body` is the post's text: the section menu and search form in `content:encoded` are dropped."""
    [post] = parse()
    body = post.fields["_body"]
    assert body.startswith("BY THE PRESIDENT OF THE UNITED STATES OF AMERICA A PROCLAMATION")
    assert "NOW, THEREFORE, I, DONALD J. TRUMP" in body
    for chrome in ("Executive Orders", "Nominations & Appointments", "Select Category", "appeared first on"):
        assert chrome not in body
    assert "body" not in post.fields


def test_include_body_stores_the_text():
    """`include_body: true` keeps the text as a stored `body` field."""
    [post] = parse(include_body=True)
    assert post.fields["body"].startswith("BY THE PRESIDENT") and "_body" not in post.fields


def test_generic_wordpress_agency_from_feed_title_or_config():
    """A `wordpress` watch names the site from the feed title, unless `agency` is set (e.g. the SF City Attorney)."""
    [post] = parse(kind="wordpress", url=FEED_URL)
    assert post.fields["agency"] == "The White House"
    [post] = parse(kind="wordpress", url=FEED_URL, agency="San Francisco City Attorney")
    assert post.fields["agency"] == "San Francisco City Attorney"
    assert site_name("City Attorney of San Francisco") == "City Attorney of San Francisco"


def test_post_keys_from_wordpress_guids():
    """`?p=<id>` (also with other parameters, or `page_id`) gives `wp:<host>:<id>`; other guids give none."""
    assert post_key("https://www.whitehouse.gov/?p=52161") == "wp:www.whitehouse.gov:52161"
    assert post_key("https://sfcityattorney.org/?post_type=news&p=987") == "wp:sfcityattorney.org:987"
    assert post_key("http://example.org/?page_id=12") == "wp:example.org:12"
    assert post_key("https://www.whitehouse.gov/presidential-actions/2026/10/x/") is None
    assert post_key("tag:example.org,2025:1") is None


def test_link_is_identity_without_a_post_id_guid():
    """A post whose guid is its permalink (no `?p=`) is keyed by its canonical link."""
    body = FEED.replace(
        b"https://www.whitehouse.gov/?p=52161",
        b"https://www.whitehouse.gov/presidential-actions/2026/10/national-manufacturing-day-2026/",
    )
    [post] = parse(body)
    assert post.key == "url:https://www.whitehouse.gov/presidential-actions/2026/10/national-manufacturing-day-2026/"


@pytest.mark.parametrize(
    "categories, expected",
    [
        (["Executive Orders"], [EO_COPY]),
        (["executive-orders"], [EO_COPY]),  # a slug works too
        ("Proclamations", [PROCLAMATION]),  # a single name is a one-element list
        (["Presidential Actions"], [PROCLAMATION, EO_COPY]),
        (["Presidential Memoranda"], []),
        ([], [PROCLAMATION, EO_COPY]),
    ],
)
def test_categories_filter(categories, expected):
    """`categories` keeps the posts filed under one of the named categories (name or slug, any case)."""
    assert [p.key for p in parse(with_eo_copy(), categories=categories)] == expected


def test_whitehouse_default_url_and_wordpress_needs_one():
    """`whitehouse` reads the public feed unless `url` is given; a `wordpress` watch without `url` is invalid."""
    assert WhiteHouseWatcher(WhiteHouseConfig(id="w", type="whitehouse")).fetch_urls() == [DEFAULT_URL]
    assert WhiteHouseWatcher(WhiteHouseConfig(id="w", type="whitehouse", url="http://127.0.0.1:1/f")).fetch_urls() == [
        "http://127.0.0.1:1/f"
    ]
    with pytest.raises(ValueError, match="url"):
        WordPressConfig.model_validate({"id": "w", "type": "wordpress"})


# ---------------------------------------------------------------- end to end through the CLI


def test_categories_filter_through_the_cli(server, wh_watch):
    """Only the executive order is alerted when `categories: [Executive Orders]`; its categories are in the alert."""
    server.set(PATH, with_eo_copy())
    config = wh_watch("    categories: [Executive Orders]\n")
    report = check(config, "--notify-baseline")
    assert report["exit"] == 0
    [change] = report["watch"]["changes"]
    assert change["key"] == EO_COPY and change["item"]["fields"]["categories"] == [
        "Presidential Actions",
        "Executive Orders",
    ]
    assert change["item"]["fields"]["agency"] == "The White House"
    text = run_cli("history", "--config", str(config))
    assert "Category: Presidential Actions, Executive Orders" in text.out


def test_categories_matching_nothing_is_a_baseline_then_unchanged(server, wh_watch):
    """A feed with no post in the categories is an empty baseline; losing the last match is recorded, not a failure."""
    config = wh_watch("    categories: [Executive Orders]\n")
    server.set(PATH, FEED)
    first = check(config)
    assert first["exit"] == 0 and first["watch"]["baseline"] and first["watch"]["items"] == 0
    server.set(PATH, with_eo_copy())
    assert [c["key"] for c in check(config)["watch"]["changes"]] == [EO_COPY]
    server.set(PATH, FEED)  # the executive order scrolled out of the feed
    third = check(config)
    assert third["exit"] == 0 and [c["kind"] for c in third["watch"]["changes"]] == ["removed"]
    assert third["deliveries"]["sent"] == 0


def test_edited_title_and_slug_is_one_update(server, wh_watch):
    """A corrected title (which also changes the link's slug) is one `updated` change of the same post."""
    config = wh_watch()
    server.set(PATH, FEED)
    check(config)
    server.set(PATH, retitled())
    [change] = check(config)["watch"]["changes"]
    assert change["kind"] == "updated" and change["key"] == PROCLAMATION
    assert set(change["changed"]) == {"title", "url"}
    assert change["changed"]["title"]["after"] == "National Manufacturing Day, 2026 (Corrected)"


def test_post_that_leaves_the_feed_and_returns_is_not_new(server, wh_watch):
    """A post that drops out of the feed and reappears is neither added nor updated."""
    config = wh_watch()
    server.set(PATH, with_eo_copy())
    check(config)
    server.set(PATH, FEED)
    assert [c["kind"] for c in check(config)["watch"]["changes"]] == ["removed"]
    server.set(PATH, with_eo_copy())
    back = check(config)
    assert back["watch"]["changes"] == [] and back["deliveries"]["sent"] == 0


def test_json_served_as_the_feed_fails_the_check(server, wh_watch):
    """A body that is not a feed (here DOJ's JSON) is a failed check with exit status 1, nothing recorded."""
    config = wh_watch()
    server.set(PATH, DOJ_API, content_type="application/json")
    report = check(config)
    assert report["exit"] == 1 and "not well-formed XML" in report["watch"]["error"]
    assert json.loads(run_cli("history", "--config", str(config), "--json", "--all").out) == []


def test_wordpress_kind_for_a_city_attorney_site(server, write_config):
    """A `wordpress` watch (as for the SF City Attorney) works on any WordPress feed, with its own agency name."""
    server.set("/feed/", FEED)
    config = write_config(f"""
watches:
  - id: sf-city-attorney
    type: wordpress
    url: {server.url("/feed/")}
    agency: San Francisco City Attorney
""")
    [change] = check(config, "--notify-baseline")["watch"]["changes"]
    assert change["item"]["fields"]["agency"] == "San Francisco City Attorney"
    assert change["key"] == PROCLAMATION  # the guid names whitehouse.gov: identity follows the guid, not the feed URL


def test_changing_categories_to_one_with_no_post_is_not_a_failure(server, wh_watch):
    """After `categories` changes to one the feed has no post in, checks succeed, and the first such post alerts."""
    server.set(PATH, FEED)
    assert check(wh_watch("    categories: [Proclamations]\n"))["watch"]["items"] == 1
    config = wh_watch("    categories: [Executive Orders]\n")
    for _ in range(2):
        report = check(config)
        assert report["exit"] == 0 and report["watch"]["changes"] == [], report["watch"]["error"]
    server.set(PATH, with_eo_copy())
    report = check(config)  # the proclamation, matched under the old config, left at the re-baseline
    assert [(c["kind"], c["key"]) for c in report["watch"]["changes"]] == [("added", EO_COPY)]
    assert report["deliveries"]["sent"] == 1
