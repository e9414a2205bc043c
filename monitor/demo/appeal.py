"""The demo's appeal: a followed case is appealed, and the monitor follows the appeal by itself.

*Grabis v. Navient Solutions, LLC*, an adversary proceeding in the Bankruptcy Court for the Southern
District of New York (15-01420-jlg), is followed by its court's RSS feed alone (`nysb_1.xml`, recorded:
that court's feed lists every entry type, so no coverage gap). The recorded feed has the real
"Notice, Appeal (fee)" of 19 April 2018 in the case (entry #149): it is held back at first, then
appears. An appeal from a bankruptcy court goes to its district court, S.D.N.Y.; the watch's
`follow_appeals: {feed_url: ...}` points the watches the monitor creates at this demo's server, which
serves S.D.N.Y.'s recorded feed there. The district court's docket of the appeal (1:18-cv-03472, its
first entry and a later order) is **constructed** in S.D.N.Y.'s recorded markup
(`monitor/demo_data/SOURCES.md`): no recording of it exists.

Two steps: the notice appears (the filing's alert; the monitor finds the appeal in S.D.N.Y.'s feed by
its parties, creates a watch of it and announces "Now following the appeal: ..." once; the new watch's
first check is its silent baseline, and it says once what S.D.N.Y.'s partial feed cannot show), then
the appeal's next filing in S.D.N.Y.'s feed alerts from the created watch.
"""

from __future__ import annotations

from monitor.demo.courtfeeds import FEED_CONTENT_TYPE, FEED_PATH, FeedItem, feed_before, with_items
from monitor.demo.scene import Scene
from monitor.demo.sources import DemoSources, Watches, demo_data

BANKRUPTCY_HOST = "ecf.nysb.uscourts.gov"
DISTRICT_HOST = "ecf.nysd.uscourts.gov"
DOCKET = "15-01420"  # the feed writes 15-01420-jlg: the judge's initials do not make another case
CASE = "Grabis v. Navient Solutions"
WATCH = "nysb-15-01420-rss"  # the id `monitor follow nysb 15-01420` gives its court-feed watch
NOTICE_KEY = "entry:nysb:15-01420:149"
APPEAL_DOCKET = "1:18-cv-03472"
# Constructed (no recording): the district court's docket of the appeal, in S.D.N.Y.'s recorded markup.
_CAPTION, _CASE_ID = "Grabis v. Navient Solutions, LLC et al", 492580
DOCKETED = FeedItem(
    APPEAL_DOCKET,
    _CAPTION,
    _CASE_ID,
    short="Bankruptcy Appeal",
    entry=1,
    seq=1,
    doc_id="127122290001",
    when="Mon, 23 Apr 2018 15:02:11 GMT",
)
NEXT_ORDER = FeedItem(
    APPEAL_DOCKET,
    _CAPTION,
    _CASE_ID,
    short="Scheduling Order",
    entry=2,
    seq=4,
    doc_id="127122296745",
    when="Tue, 24 Apr 2018 18:41:37 GMT",
)
APPEAL_KEY = f"entry:nysd:{APPEAL_DOCKET}:{NEXT_ORDER.entry}"
ANNOUNCED = f"Now following the appeal: No. {APPEAL_DOCKET}, S.D.N.Y. — from Grabis v. Navient Solutions"


def _district_feed(*items: FeedItem) -> bytes:
    return with_items(demo_data("sdny_1.xml"), items)


def setup_appeal(sources: DemoSources) -> Watches:
    sources.publish(BANKRUPTCY_HOST, FEED_PATH, feed_before(demo_data("nysb_1.xml"), DOCKET), FEED_CONTENT_TYPE)
    return [
        {
            "id": WATCH,
            "name": f"{CASE} (Bankr. S.D.N.Y.)",
            "type": "pacer_rss",
            "court": "nysb",
            "cases": [DOCKET],
            "url": sources.url(BANKRUPTCY_HOST, FEED_PATH),
            "every": "5m",
            # where the watches the monitor creates read a court's feed: this server, under the court's host
            "follow_appeals": {"feed_url": sources.url("ecf.{court}.uscourts.gov", FEED_PATH)},
        }
    ]


def appeal(scene: Scene) -> None:
    scene.heading(f"A notice of appeal in {CASE}, followed by its court's feed alone.")
    scene.sources.publish(BANKRUPTCY_HOST, FEED_PATH, demo_data("nysb_1.xml"), FEED_CONTENT_TYPE)
    scene.sources.publish(DISTRICT_HOST, FEED_PATH, _district_feed(DOCKETED), FEED_CONTENT_TYPE)
    scene.say(
        "The bankruptcy court's feed is now as recorded on 19 April 2018, with the case's real \"Notice, Appeal "
        "(fee)\" (entry #149). An appeal from a bankruptcy court goes to its district court: S.D.N.Y.'s feed "
        f"lists the appeal's new docket, {APPEAL_DOCKET} (constructed for the demo). The watch's "
        "`follow_appeals: {feed_url: ...}` tells created watches where to read a court's feed (here, this "
        "demo's server):"
    )
    round_ = scene.check()
    notice, following, gap = Scene.expect_changes(
        round_,
        [(WATCH, "added", NOTICE_KEY), (WATCH, "following", None), (None, "gap_opened", None)],
        "the notice's alert, the announcement and the new watch's coverage gap",
    )
    created = [str(w) for w in following.item.fields.get("watches") or []]
    Scene.expect(
        following.item.title.startswith(ANNOUNCED), f"the announcement {ANNOUNCED!r}..., got {following.item.title!r}"
    )
    Scene.expect(
        created == [gap.watch_id] and gap.watch_id in round_.results and round_.results[gap.watch_id].baseline,
        f"one watch created and baselined at once, got {created}",
    )
    scene.say(
        f'Three alerts: the filing ("{Scene.channel_title(round_, notice)}"); the announcement, sent once, '
        f"in the case's Slack thread; and, from the new watch {created[0]} after its silent baseline, a "
        "coverage gap: S.D.N.Y.'s feed lists only some entry types and no CourtListener watch follows the "
        "appeal, so the monitor says once what it cannot see. The created watch lives in the state database "
        "(`monitor status` lists it, with where it came from; `monitor unfollow` stops it)."
    )


def appeal_filing(scene: Scene) -> None:
    scene.heading("The appeal's next filing, in S.D.N.Y.'s feed.")
    scene.sources.publish(DISTRICT_HOST, FEED_PATH, _district_feed(NEXT_ORDER, DOCKETED), FEED_CONTENT_TYPE)
    scene.say(
        f"S.D.N.Y. dockets a scheduling order in {APPEAL_DOCKET} (constructed). The watch the monitor created "
        "reads the feed like any other:"
    )
    round_ = scene.check()
    [change] = Scene.expect_changes(round_, [(None, "added", APPEAL_KEY)], "one new filing in the appeal")
    scene.say(
        f'One filing, one alert ("{Scene.channel_title(round_, change)}"), to the notifiers of the case\'s '
        "own watch. The announcement is not repeated."
    )
