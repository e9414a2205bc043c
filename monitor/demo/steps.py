"""The demo's steps, in order: each one makes one thing happen, checks, and says what happened and why.

`STEPS` is the table `monitor demo` plays. A step has a `name`, a `run(scene)` that changes a source,
calls `scene.check()` and narrates, and optionally a `setup(sources)` that serves its sources as they
are before the demo begins and returns the watches it needs (every step's setup runs before the first
check, so the baseline covers every watch). To show a new feature, write one step function (and a
setup if it needs a source of its own), put its recorded data in `monitor/demo_data/` with its
provenance in SOURCES.md there, and insert one `Step(...)` line in `STEPS` where it belongs in the
story; `tests/test_demo.py` then runs it end to end. A step promises nothing it does not check:
`scene.expect(...)` and `scene.expect_changes(...)` stop the demo if the monitor did something else.

This module has the followed case (a court filing and its CourtListener update), the agency (a press
release about a followed case) and the last check; `monitor/demo/appeal.py` the appeal of a followed
case and `monitor/demo/preview.py` a document preview.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from monitor.demo.appeal import appeal, appeal_filing, setup_appeal
from monitor.demo.courtfeeds import FEED_CONTENT_TYPE, FEED_PATH, feed_before
from monitor.demo.courtlistener import NO_LIMITS, TOKEN
from monitor.demo.preview import document_preview, setup_preview
from monitor.demo.scene import Scene
from monitor.demo.sources import DemoSources, Watches, demo_data


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
DOCKET = "1:18-cv-03365"
CASE = "Chau v. Donovan"
ENTRY = 3
ENTRY_KEY = f"entry:{COURT}:{DOCKET}:{ENTRY}"
RSS_WATCH = "nysd-1-18-cv-03365-rss"  # the ids and names `monitor follow nysd 1:18-cv-03365` writes
CL_WATCH = "nysd-1-18-cv-03365"
CL_DOCKET_ID = 900003365  # the id in monitor/demo_data/courtlistener_docket.json (made up: see SOURCES.md)


def setup_case(sources: DemoSources) -> Watches:
    feed = demo_data("sdny_1.xml")
    sources.publish(COURT_HOST, FEED_PATH, feed_before(feed, DOCKET), FEED_CONTENT_TYPE)
    docket = json.loads(demo_data("courtlistener_docket.json"))
    entries = json.loads(demo_data("courtlistener_entries.json"))
    sources.courtlistener.add_docket(docket, entries, held_back=[ENTRY])
    name = f"{CASE} (S.D.N.Y.)"
    return [
        {
            "id": RSS_WATCH,
            "name": name,
            "type": "pacer_rss",
            "court": COURT,
            "cases": [DOCKET],
            "url": sources.url(COURT_HOST, FEED_PATH),
            "every": "5m",
        },
        {
            "id": CL_WATCH,
            "name": name,
            "type": "courtlistener",
            "court": COURT,
            "docket_number": DOCKET,
            "docket_id": docket["id"],
            "base_url": sources.courtlistener_url,
            "every": "15m",
            "token": TOKEN,
            "budget": NO_LIMITS,
        },
    ]


def baseline(scene: Scene) -> None:
    scene.heading("First check of every watch: a silent baseline.")
    scene.say("Each watch records what its source lists now and alerts nothing: first sight is not news.")
    round_ = scene.check()
    Scene.expect(all(r.baseline for r in round_.results.values()), "every watch's first check to be its baseline")
    Scene.expect(not round_.changes(), "no alert on the baseline (no coverage gap either)")
    counts = {watch_id: r.item_count for watch_id, r in round_.results.items()}
    feed_items = feed_before(demo_data("sdny_1.xml"), DOCKET).count(b"<item>")
    scene.say(
        f"The court feed lists {feed_items} entries of many S.D.N.Y. cases, {counts.get(RSS_WATCH, 0)} of them in "
        f"{CASE}; CourtListener lists its docket and {counts.get(CL_WATCH, 1) - 1} entries. "
        "S.D.N.Y.'s feed publishes only some entry types, so a court-feed watch alone would now get a "
        '"Coverage gap" alert; the courtlistener watch of the same case sees the whole docket, so there is '
        "no gap to report. The other watches record their sources likewise. 0 alerts."
    )


def court_filing(scene: Scene) -> None:
    scene.heading(f"The court's RSS feed publishes a new filing in {CASE}: entry #{ENTRY}.")
    scene.sources.publish(COURT_HOST, FEED_PATH, demo_data("sdny_1.xml"), FEED_CONTENT_TYPE)
    scene.say(
        "The feed is now exactly as S.D.N.Y. served it on 18 April 2018; its newest item, "
        f"entry #{ENTRY} of the case, was held back until now. The court-feed watch sees it first:"
    )
    round_ = scene.check()
    [change] = Scene.expect_changes(
        round_, [(RSS_WATCH, "added", ENTRY_KEY)], f"a new filing #{ENTRY} from the court feed"
    )
    scene.say(
        f'One filing, one alert. Slack and email title it "{Scene.channel_title(round_, change)}". '
        "CourtListener does not list the entry yet, so its watch found nothing new."
    )


def courtlistener_update(scene: Scene) -> None:
    scene.heading("CourtListener lists the same entry, with its full docket text.")
    scene.sources.courtlistener.publish_entry(CL_DOCKET_ID, ENTRY)
    scene.say(
        f"Same court, same case, same entry number: the same filing. So the courtlistener watch does not "
        f"announce it again; what CourtListener adds is one update of entry #{ENTRY}, before -> after:"
    )
    round_ = scene.check()
    [change] = Scene.expect_changes(round_, [(CL_WATCH, "updated", ENTRY_KEY)], f"one update of filing #{ENTRY}")
    scene.say(
        f'One update ("{Scene.channel_title(round_, change)}"), never a second "new filing": whichever '
        "source sees a filing first alerts, and the other completes that alert."
    )


# ---------------------------------------------------------------- an agency

DOJ_HOST = "www.justice.gov"
DOJ_PATH = "/news/rss"
DOJ_WATCH = "doj-news"
DOJ_KEYWORDS = ["sanctuary", "Illinois", "Chicago", "Cook County", "San Francisco", "Santa Clara"]
# Written for the demo from the public facts of the suit (see monitor/demo_data/SOURCES.md).
NEW_RELEASE_TEXT = (
    "The Justice Department filed a complaint in the Northern District of Illinois (United States v. Illinois, "
    "1:25-cv-01285) challenging state and local laws that obstruct federal immigration enforcement."
)
NEW_RELEASE = f"""<item>
  <title>Justice Department Sues Illinois, Chicago and Cook County Over Sanctuary Policies</title>
  <link>https://www.justice.gov/opa/pr/justice-department-sues-illinois-chicago-and-cook-county</link>
  <description>{NEW_RELEASE_TEXT}</description>
  <pubDate>Thu, 06 Feb 2025 12:00:00 +0000</pubDate>
  <guid isPermaLink="true">https://www.justice.gov/opa/pr/justice-department-sues-illinois-chicago-and-cook-county</guid>
</item>
""".encode()
RSS_CONTENT_TYPE = "application/rss+xml; charset=utf-8"


# The case the release is about, followed by the demo too: United States v. Illinois, N.D. Ill. 1:25-cv-01285.
# No recording of N.D. Ill.'s feed exists (README, "What could not be verified"), so its court-feed watch
# stays disabled here; a case is followed whether its watch is enabled or not, so releases link to it.
RELATED_WATCH = "ilnd-1-25-cv-01285-rss"
RELATED_NAME = "U.S. v. Illinois (N.D. Ill.)"
RELATED_CASE = "U.S. v. Illinois (N.D. Ill. 1:25-cv-01285)"  # how alerts name it


def setup_agency(sources: DemoSources) -> Watches:
    sources.publish(DOJ_HOST, DOJ_PATH, demo_data("doj_news.xml"), RSS_CONTENT_TYPE)
    return [
        {
            "id": DOJ_WATCH,
            "name": "DOJ press releases",
            "type": "feed",
            "url": sources.url(DOJ_HOST, DOJ_PATH),
            "keywords": {"any": DOJ_KEYWORDS},
        },
        {
            "id": RELATED_WATCH,
            "name": RELATED_NAME,
            "type": "pacer_rss",
            "court": "ilnd",
            "cases": ["1:25-cv-01285"],
            "url": sources.url("ecf.ilnd.uscourts.gov", FEED_PATH),
            "every": "5m",
            "enabled": False,
        },
    ]


def press_release(scene: Scene) -> None:
    scene.heading("DOJ publishes a press release about a followed case.")
    feed = demo_data("doj_news.xml").replace(b"<item>", NEW_RELEASE + b"<item>", 1)
    scene.sources.publish(DOJ_HOST, DOJ_PATH, feed, RSS_CONTENT_TYPE)
    scene.say(
        f"DOJ's recorded feed (25 real releases) with one more on top. The DOJ watch alerts only on releases "
        f"naming {', '.join(DOJ_KEYWORDS[:4])}, ...; every alerted release is also read for the cases the "
        f'monitor follows, by docket number and by name. This one names "United States v. Illinois, '
        f'1:25-cv-01285", followed here by the watch {RELATED_WATCH} (disabled in the demo: no recording of '
        "that court's feed exists, and a case counts as followed either way):"
    )
    round_ = scene.check()
    [change] = Scene.expect_changes(round_, [(DOJ_WATCH, "added", None)], "a new press release")
    linked = [case.get("display") for case in change.related]
    Scene.expect(linked == [RELATED_CASE], f"the release linked to {RELATED_CASE}, got {linked}")
    scene.say(
        f'One new release, one alert ("{Scene.channel_title(round_, change)}"), which says "Related case: '
        f"{RELATED_CASE}\"; Slack posts it in that case's thread too, and the dashboard lists it on the "
        "case's page. The 25 releases seen before stay quiet."
    )


def nothing_twice(scene: Scene) -> None:
    scene.heading("Checking everything once more.")
    round_ = scene.check()
    Scene.expect(not round_.changes() and round_.report.sent == 0, "no change and no alert on the last check")
    scene.say("0 changes, 0 alerts: nothing is ever sent twice.")


STEPS: list[Step] = [
    Step("baseline", baseline),
    Step("court-filing", court_filing, setup_case),
    Step("courtlistener-update", courtlistener_update),
    Step("document-preview", document_preview, setup_preview),
    Step("press-release", press_release, setup_agency),
    Step("appeal", appeal, setup_appeal),
    Step("appeal-filing", appeal_filing),
    Step("nothing-twice", nothing_twice),
]
