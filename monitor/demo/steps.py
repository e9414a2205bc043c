"""The demo's steps, in order: each one makes one thing happen, checks, and says what happened and why.

`STEPS` is the table `monitor demo` plays. A step has a `name`, a `run(scene)` that changes a source,
calls `scene.check()` and narrates, and optionally a `setup(sources)` that serves its sources as they
are before the demo begins and returns the watches it needs (every step's setup runs before the first
check, so the baseline covers every watch). To show a new feature, write one step function (and a
setup if it needs a source of its own), put its recorded data in `monitor/demo_data/` with its
provenance in SOURCES.md there, and insert one `Step(...)` line in `STEPS` where it belongs in the
story; `tests/test_demo.py` then runs it end to end. A step promises nothing it does not check:
`scene.expect(...)` stops the demo if the monitor did something else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.demo.courtlistener import CourtListenerStandIn
from monitor.demo.scene import Round, Scene
from monitor.demo.sources import DemoSources, demo_data
from monitor.models import Change

Watches = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    run: Callable[[Scene], None]
    setup: Callable[[DemoSources], Watches] | None = None


# ---------------------------------------------------------------- the followed case

# Chau v. Donovan, S.D.N.Y. 1:18-cv-03365: a case in the recorded S.D.N.Y. feed (three of its entries
# are there). Its newest entry, #3, is held back at first and then appears, as it did in the court's feed.
COURT = "nysd"
COURT_HOST = "ecf.nysd.uscourts.gov"
FEED_PATH = "/cgi-bin/rss_outside.pl"
DOCKET = "1:18-cv-03365"
CASE = "Chau v. Donovan"
ENTRY = 3
ENTRY_KEY = f"entry:{COURT}:{DOCKET}:{ENTRY}"
RSS_WATCH = "nysd-1-18-cv-03365-rss"  # the ids and names `monitor follow nysd 1:18-cv-03365` writes
CL_WATCH = "nysd-1-18-cv-03365"
CL_TOKEN = "demo-token-of-the-local-stand-in"  # the stand-in's; CourtListener itself never sees it
FEED_CONTENT_TYPE = "text/xml"  # the feed declares its own encoding (ISO-8859-1) in its XML prolog


def _without_newest_entry(feed: bytes, docket: str) -> bytes:
    """The feed as the court served it a little earlier: without the case's newest item, built before it."""
    items = list(re.finditer(rb"<item>.*?</item>\s*", feed, re.S))
    newest = next(m for m in items if docket.encode() in m.group())
    earlier = feed[:newest.start()] + feed[newest.end():]
    next_date = re.search(rb"<pubDate>(.*?)</pubDate>", earlier[newest.start():])
    if next_date:
        earlier = re.sub(rb"<lastBuildDate>.*?</lastBuildDate>",
                         b"<lastBuildDate>" + next_date.group(1) + b"</lastBuildDate>", earlier, count=1)
    return earlier


def setup_case(sources: DemoSources) -> Watches:
    feed = demo_data("sdny_1.xml")
    sources.publish(COURT_HOST, FEED_PATH, _without_newest_entry(feed, DOCKET), FEED_CONTENT_TYPE)
    docket = json.loads(demo_data("courtlistener_docket.json"))
    entries = json.loads(demo_data("courtlistener_entries.json"))
    sources.courtlistener = CourtListenerStandIn(docket, entries, token=CL_TOKEN, held_back=[ENTRY])
    name = f"{CASE} (S.D.N.Y.)"
    return [
        {"id": RSS_WATCH, "name": name, "type": "pacer_rss", "court": COURT, "cases": [DOCKET],
         "url": sources.url(COURT_HOST, FEED_PATH), "every": "5m"},
        {"id": CL_WATCH, "name": name, "type": "courtlistener", "court": COURT, "docket_number": DOCKET,
         "docket_id": docket["id"], "base_url": sources.courtlistener_url, "every": "15m",
         # a local stand-in: no CourtListener limits to respect (0: no limit in that window)
         "token": CL_TOKEN, "budget": {"per_minute": 0, "per_hour": 0, "per_day": 0}},
    ]


def _only_change(round_: Round, watch_id: str, kind: str, key: str | None, what: str) -> Change:
    """The one change of this check cycle, which must be `kind` of `key` (any key: None) from `watch_id`."""
    changes = round_.changes()
    Scene.expect(len(changes) == 1, f"exactly one change ({what}), got {[(c.watch_id, c.kind, c.key) for c in changes]}")
    change = changes[0]
    Scene.expect((change.watch_id, change.kind, change.key if key else None) == (watch_id, kind, key),
                 f"{what}: {kind} {key or ''} from {watch_id}, got {change.kind} {change.key} from {change.watch_id}")
    Scene.expect(round_.report.sent == 1, f"one alert delivered, got {round_.report.sent}")
    return change


def _channel_headline(change: Change, scene: Scene) -> str:
    """How Slack, email, webhooks and Apprise title this alert."""
    from notifiers.format import headline

    assert scene.config is not None
    return headline(change, scene.config.watch(change.watch_id).display_name())


def baseline(scene: Scene) -> None:
    scene.heading("First check of every watch: a silent baseline.")
    scene.say("Each watch records what its source lists now and alerts nothing: first sight is not news.")
    round_ = scene.check()
    Scene.expect(all(r.baseline for r in round_.results.values()), "every watch's first check to be its baseline")
    Scene.expect(not round_.changes(), "no alert on the baseline (no coverage gap either)")
    counts = {watch_id: r.item_count for watch_id, r in round_.results.items()}
    feed_items = _without_newest_entry(demo_data("sdny_1.xml"), DOCKET).count(b"<item>")
    scene.say(f"The court feed lists {feed_items} entries of many S.D.N.Y. cases, {counts.get(RSS_WATCH, 0)} of them in "
              f"{CASE}; CourtListener lists its docket and {counts.get(CL_WATCH, 1) - 1} entries. "
              "S.D.N.Y.'s feed publishes only some entry types, so a court-feed watch alone would now get a "
              "\"Coverage gap\" alert; the courtlistener watch of the same case sees the whole docket, so there is "
              "no gap to report. 0 alerts.")


def court_filing(scene: Scene) -> None:
    scene.heading(f"The court's RSS feed publishes a new filing in {CASE}: entry #{ENTRY}.")
    scene.sources.publish(COURT_HOST, FEED_PATH, demo_data("sdny_1.xml"), FEED_CONTENT_TYPE)
    scene.say("The feed is now exactly as S.D.N.Y. served it on 18 April 2018; its newest item, "
              f"entry #{ENTRY} of the case, was held back until now. The court-feed watch sees it first:")
    change = _only_change(scene.check(), RSS_WATCH, "added", ENTRY_KEY, f"a new filing #{ENTRY} from the court feed")
    scene.say(f"One filing, one alert. Slack and email title it \"{_channel_headline(change, scene)}\". "
              "CourtListener does not list the entry yet, so its watch found nothing new.")


def courtlistener_update(scene: Scene) -> None:
    scene.heading(f"CourtListener lists the same entry, with its full docket text.")
    assert scene.sources.courtlistener is not None
    scene.sources.courtlistener.publish_entry(ENTRY)
    scene.say(f"Same court, same case, same entry number: the same filing. So the courtlistener watch does not "
              f"announce it again; what CourtListener adds is one update of entry #{ENTRY}, before -> after:")
    change = _only_change(scene.check(), CL_WATCH, "updated", ENTRY_KEY, f"one update of filing #{ENTRY}")
    scene.say(f"One update (\"{_channel_headline(change, scene)}\"), never a second \"new filing\": whichever "
              "source sees a filing first alerts, and the other completes that alert.")


# ---------------------------------------------------------------- an agency

DOJ_HOST = "www.justice.gov"
DOJ_PATH = "/news/rss"
DOJ_WATCH = "doj-news"
DOJ_KEYWORDS = ["sanctuary", "Illinois", "Chicago", "Cook County", "San Francisco", "Santa Clara"]
# Written for the demo from the public facts of the suit (see monitor/demo_data/SOURCES.md).
NEW_RELEASE = b"""<item>
  <title>Justice Department Sues Illinois, Chicago and Cook County Over Sanctuary Policies</title>
  <link>https://www.justice.gov/opa/pr/justice-department-sues-illinois-chicago-and-cook-county</link>
  <description>The Justice Department filed a complaint in the Northern District of Illinois (United States v. Illinois, 1:25-cv-01285) challenging state and local laws that obstruct federal immigration enforcement.</description>
  <pubDate>Thu, 06 Feb 2025 12:00:00 +0000</pubDate>
  <guid isPermaLink="true">https://www.justice.gov/opa/pr/justice-department-sues-illinois-chicago-and-cook-county</guid>
</item>
"""
RSS_CONTENT_TYPE = "application/rss+xml; charset=utf-8"


def setup_agency(sources: DemoSources) -> Watches:
    sources.publish(DOJ_HOST, DOJ_PATH, demo_data("doj_news.xml"), RSS_CONTENT_TYPE)
    return [{"id": DOJ_WATCH, "name": "DOJ press releases", "type": "feed", "url": sources.url(DOJ_HOST, DOJ_PATH),
             "keywords": {"any": DOJ_KEYWORDS}}]


def press_release(scene: Scene) -> None:
    scene.heading("DOJ publishes a press release about a sanctuary-policy suit.")
    feed = demo_data("doj_news.xml").replace(b"<item>", NEW_RELEASE + b"<item>", 1)
    scene.sources.publish(DOJ_HOST, DOJ_PATH, feed, RSS_CONTENT_TYPE)
    scene.say(f"DOJ's recorded feed (25 real releases) with one more on top. The DOJ watch alerts only on releases "
              f"naming {', '.join(DOJ_KEYWORDS[:4])}, ...:")
    change = _only_change(scene.check(), DOJ_WATCH, "added", None, "a new press release")
    scene.say(f"One new release, one alert (\"{_channel_headline(change, scene)}\"); the 25 seen before stay quiet.")


def nothing_twice(scene: Scene) -> None:
    scene.heading("Checking everything once more.")
    round_ = scene.check()
    Scene.expect(not round_.changes() and round_.report.sent == 0, "no change and no alert on the last check")
    scene.say("0 changes, 0 alerts: nothing is ever sent twice.")


STEPS: list[Step] = [
    Step("baseline", baseline),
    Step("court-filing", court_filing, setup_case),
    Step("courtlistener-update", courtlistener_update),
    Step("press-release", press_release, setup_agency),
    Step("nothing-twice", nothing_twice),
]
