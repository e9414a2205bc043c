"""A followed case's appeal (or transfer) followed automatically, end to end: `monitor check --json` against a
replayed district feed, a replayed circuit feed and the local CourtListener stand-in, with a real database.

The feeds are built here from recorded ones (tests/data/pacer_rss/SOURCES.md), by stated mechanical
edits: the district feed is `sdny_1.xml`'s channel and item markup with the court changed to N.D. Cal.
(description "Docket entries of type: all") and items written for City and County of San Francisco v.
Trump; the circuit feed is `ca2_1.xml` (Second Circuit: "orders, opinions") with the court changed to the
Ninth Circuit and items for its cases. CourtListener dockets and entries are constructed in the shape the
stand-in takes (tests/data/courtlistener/SOURCES.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.store import Store
from tests.conftest import DATA, check_json, run_cli
from tests.support.courtlistener_server import TOKEN, CourtListenerServer
from tests.support.daemon import DaemonProcess

FEEDS = DATA / "pacer_rss"
SF_NAME = "City and County of San Francisco v. Trump"
SF_ID = 69000001


# ---------------------------------------------------------------- feeds built from recorded ones


def district_feed(*items: tuple[int, str, str]) -> bytes:
    """A cand feed in sdny_1.xml's markup: (entry number, short description, pubDate) per item of 3:25-cv-01350."""
    text = (FEEDS / "sdny_1.xml").read_bytes().decode("iso-8859-1")
    head, _, rest = text.partition("<item>")
    template = "<item>" + rest.split("</item>")[0] + "</item>\n"
    types = re.search(r"Docket entries of type: [^<]*", head)
    assert types is not None
    head = (
        head.replace("Southern District of New York", "Northern District of California")
        .replace("ecf.nysd.", "ecf.cand.")
        .replace(types.group(0), "Docket entries of type: all")
    )
    body = ""
    for number, short, when in items:
        item = template.replace("1:18-cv-03365 Chau v. Donovan et al", "3:25-cv-01350 " + SF_NAME)
        item = item.replace("ecf.nysd.", "ecf.cand.").replace("492165", "434215")
        item = item.replace("[Notice of Appearance]", f"[{short}]").replace("&#x3E;3&#x3C;", f"&#x3E;{number}&#x3C;")
        item = item.replace("de_seq_num=10", f"de_seq_num={number * 3}").replace("&#x26;10<", f"&#x26;{number * 3}<")
        item = item.replace("Wed, 18 Apr 2018 00:09:55 GMT", when)
        body += item
    return (head + body + "</channel>\n</rss>\n").encode("iso-8859-1")


def circuit_feed(*items: tuple[str, str, str, int, str]) -> bytes:
    """A ca9 feed in ca2_1.xml's markup: (number, caption, short description, entry number, pubDate) per item."""
    text = (FEEDS / "ca2_1.xml").read_bytes().decode("iso-8859-1")
    head, _, rest = text.partition("<item>")
    template = "<item>" + rest.split("</item>")[0] + "</item>\n"
    head = head.replace("2nd Circuit", "9th Circuit").replace("ecf.ca2.", "ecf.ca9.")
    body = ""
    for number, caption, short, entry, when in items:
        # escaped once more than XML needs, as PACER does (cadc.xml: "Food &amp;amp; Water Watch")
        caption = caption.replace("&", "&amp;amp;")
        item = template.replace("22-3054 Haller v. U.S. Department of Health and Human Services", f"{number} {caption}")
        item = item.replace("caseNum=22-3054", f"caseNum={number}").replace("ecf.ca2.", "ecf.ca9.")
        item = item.replace("[So-Ordered Scheduling Notification FILED]", f"[{short}]")
        item = item.replace("00209229396'>27", f"0090{entry:07d}'>{entry}").replace(
            "Fri, 03 Feb 2023 11:52:07 EST", when
        )
        body += item
    return (head + body + "</channel>\n</rss>\n").encode("iso-8859-1")


OTHER_APPEALS = [  # in the circuit's feed all along: not this case's new appeal
    ("24-5678", "City and County of San Francisco v. Trump", "Order filed", 40, "Wed, 30 Apr 2025 09:01:00 PDT"),
    ("25-1300", "City of Chicago v. Trump", "Order filed", 7, "Wed, 30 Apr 2025 09:05:00 PDT"),
]
APPEAL = ("25-1234", "City & County of San Francisco, et al. v. Donald J. Trump, et al.")
NOTICE = (45, "Notice of Appeal to the 9th Circuit", "Mon, 28 Apr 2025 17:10:00 GMT")
USCA = (46, "USCA Case Number", "Wed, 30 Apr 2025 16:02:00 GMT")


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def cl() -> Iterator[CourtListenerServer]:
    server = CourtListenerServer().start()
    server.add_docket(
        id=SF_ID,
        court_id="cand",
        docket_number="3:25-cv-01350",
        docket_number_core="2501350",
        case_name=SF_NAME,
        slug="city-and-county-of-san-francisco-v-trump",
        date_filed="2025-02-07",
        absolute_url=f"/docket/{SF_ID}/city-and-county-of-san-francisco-v-trump/",
    )
    server.add_entry(
        SF_ID,
        {
            "entry_number": 1,
            "date_filed": "2025-02-07",
            "description": "COMPLAINT against Donald J. Trump. Filed by City and County of San Francisco.",
            "recap_documents": [
                {
                    "document_type": 1,
                    "document_number": "1",
                    "description": "Complaint",
                    "pacer_doc_id": "035125550001",
                    "is_available": False,
                }
            ],
        },
    )
    yield server
    server.stop()


def add_appeal_docket(cl: CourtListenerServer) -> None:
    """The Ninth Circuit's docket of the appeal, as CourtListener has it once RECAP brought it."""
    cl.add_docket(
        id=69000050,
        court_id="ca9",
        docket_number="25-1234",
        docket_number_core="2501234",
        case_name="City & County of San Francisco, et al. v. Trump, et al.",
        date_filed="2025-04-29",
        slug="city-county-of-san-francisco-v-trump",
        original_court_info={"docket_number": "3:25-cv-01350"},
    )


def add_cl_entry(cl: CourtListenerServer, number: int, date: str, long_text: str, short: str) -> None:
    cl.add_entry(
        SF_ID,
        {
            "entry_number": number,
            "date_filed": date,
            "description": long_text,
            "recap_documents": [
                {
                    "document_type": 1,
                    "document_number": str(number),
                    "description": short,
                    "pacer_doc_id": f"0351255500{number:02d}",
                    "is_available": False,
                }
            ],
        },
    )


def config_for(
    write_config, server, cl: CourtListenerServer | None, *, follow: str | None = None, rss: bool = True
) -> Path:
    follow = follow or f"{{feed_url: '{server.url('/{court}/rss')}'}}"
    watches = ""
    if rss:
        watches += (
            f"  - {{id: sf-v-trump-rss, name: 'SF v. Trump (N.D. Cal.)', type: pacer_rss, court: cand,\n"
            f"     cases: ['3:25-cv-01350'], url: '{server.url('/cand/rss')}', follow_appeals: {follow}}}\n"
        )
    if cl is not None:
        watches += (
            f"  - {{id: sf-v-trump, name: 'SF v. Trump (N.D. Cal.)', type: courtlistener, court: cand,\n"
            f"     docket_number: '3:25-cv-01350', base_url: '{cl.base_url}', token: '{TOKEN}',\n"
            f"     per_minute: 0, daily_budget: 100000, follow_appeals: {follow}}}\n"
        )
    return write_config(f"notifiers: {{terminal: {{type: console}}}}\nwatches:\n{watches}")


def following(report: dict) -> list[str]:
    return [c["item"]["title"] for w in report["watches"] for c in w["status_changes"] if c["kind"] == "following"]


def added(report: dict, watch: str) -> list[str]:
    return [
        c["item"]["title"]
        for w in report["watches"]
        if w["watch"] == watch
        for c in w["changes"]
        if c["kind"] == "added"
    ]


def status(config: Path) -> dict[str, Any]:
    result = run_cli("status", "--config", str(config), "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def history_kinds(config: Path) -> list[str]:
    result = run_cli("history", "--config", str(config), "--json", "-n", "200")
    return [c["kind"] for c in json.loads(result.out)]


ANNOUNCED = (
    "Now following the appeal: No. 25-1234, 9th Cir. — from City and County of San Francisco v. Trump, "
    "N.D. Cal. 3:25-cv-01350"
)


# ---------------------------------------------------------------- the appeal, its number in the docket text


def test_usca_number_starts_following_the_appeal_announced_once_and_its_next_filing_alerts(server, cl, write_config):
    """The court feed's "Notice of Appeal" leaves the appeal pending; CourtListener's long text of the "USCA Case
    Number" entry gives 25-1234: two watches are created (the circuit's feed and CourtListener), announced
    once, listed in status with where they came from, baselined silently; the circuit's next order alerts."""
    server.set("/cand/rss", district_feed())
    server.set("/ca9/rss", circuit_feed(*OTHER_APPEALS))
    config = config_for(write_config, server, cl)
    first = check_json(config)
    assert first["ok"] and following(first) == []

    server.set("/cand/rss", district_feed(NOTICE))
    add_cl_entry(
        cl,
        45,
        "2025-04-28",
        "NOTICE OF APPEAL to the 9th Circuit Court of Appeals filed by Donald J. Trump. "
        "(Appeal fee of $605 receipt number ACANDC-20155555 paid.)",
        "Notice of Appeal to the 9th Circuit",
    )
    second = check_json(config)
    assert following(second) == []
    assert [m["court"] for m in status(config)["pending_moves"]] == ["ca9"]  # noted, number not known yet

    server.set("/cand/rss", district_feed(USCA, NOTICE))
    add_appeal_docket(cl)
    add_cl_entry(
        cl,
        46,
        "2025-04-30",
        "USCA Case Number 25-1234 Ninth Circuit for 45 Notice of Appeal to the 9th "
        "Circuit, filed by Donald J. Trump. (cp, COURT STAFF) (Filed on 4/30/2025)",
        "USCA Case Number",
    )
    third = check_json(config)
    assert following(third) == [ANNOUNCED]
    created = {"sf-v-trump-appeal-ca9-25-1234", "sf-v-trump-appeal-ca9-25-1234-rss"}
    baselines = {w["watch"]: w for w in third["watches"] if w["watch"] in created}
    assert set(baselines) == created and all(w["baseline"] and not w["changes"] for w in baselines.values()), baselines

    now = status(config)
    assert now["pending_moves"] == []
    auto = {w["watch"]: w["followed_automatically"] for w in now["watches"] if "followed_automatically" in w}
    assert set(auto) == created
    assert {a["from_case"] for a in auto.values()} == {"cand 3:25-cv-01350"}
    # where they came from: the notice of appeal that started it (its number came with entry #46)
    assert all(
        a["origin"].startswith("appeal of sf-v-trump") and a["origin"].endswith("(entry #45, 2025-04-28)")
        for a in auto.values()
    ), auto
    text = run_cli("status", "--config", str(config)).out
    assert "followed automatically: appeal of sf-v-trump" in text

    server.set("/ca9/rss", circuit_feed((*APPEAL, "Order filed", 12, "Fri, 02 May 2025 10:15:00 PDT"), *OTHER_APPEALS))
    fourth = check_json(config)
    assert [t.split(": ", 1)[1] for t in added(fourth, "sf-v-trump-appeal-ca9-25-1234-rss")] == ["#12 Order filed"]
    assert following(fourth) == []
    fifth = check_json(config)
    assert following(fifth) == [] and history_kinds(config).count("following") == 1  # said once, ever


def test_the_announcement_reaches_the_parents_notifiers_with_what_was_added(server, cl, write_config):
    """The console notifier prints "Now following the appeal ..." once, naming the watches and the entry."""
    server.set("/cand/rss", district_feed())
    server.set("/ca9/rss", circuit_feed(*OTHER_APPEALS))
    config = config_for(write_config, server, cl, rss=False)
    check_json(config)
    add_appeal_docket(cl)
    add_cl_entry(
        cl,
        46,
        "2025-04-30",
        "USCA Case Number 25-1234 Ninth Circuit for 45 Notice of Appeal to the 9th Circuit, filed by Donald J. Trump.",
        "USCA Case Number",
    )
    result = run_cli("check", "--config", str(config))
    assert result.code == 0, result.err
    assert result.out.count(ANNOUNCED) >= 1
    assert "sf-v-trump-appeal-ca9-25-1234" in result.out and "entry #46" in result.out
    again = run_cli("check", "--config", str(config))
    assert ANNOUNCED not in again.out


# ---------------------------------------------------------------- pending, then found in the circuit's feed


def test_a_notice_without_number_is_pending_then_found_in_the_circuits_feed(server, write_config, monkeypatch):
    """Followed through the court feed alone: the notice of appeal is pending (shown in status); a check later
    the circuit's feed lists the new appeal (same parties, numbered this year): it is followed. An older
    appeal of the same parties (24-5678) and another case (City of Chicago v. Trump) are not."""
    import monitor.appeals

    monkeypatch.setattr(monitor.appeals, "RETRY_EVERY", 0.0)  # "an hour later", without waiting an hour
    server.set("/cand/rss", district_feed())
    server.set("/ca9/rss", circuit_feed(*OTHER_APPEALS))
    config = config_for(write_config, server, None)
    check_json(config)
    server.set("/cand/rss", district_feed(NOTICE))
    second = check_json(config)
    assert following(second) == []
    [pending] = status(config)["pending_moves"]
    assert (
        pending["what"] == "the appeal: 9th Cir. (number not known yet)" and pending["entry"] == "entry #45, 2025-04-28"
    )
    assert "not in 9th Cir.'s RSS feed yet" in pending["status"]
    text = run_cli("status", "--config", str(config)).out
    assert "appeals and transfers not followed yet:" in text and "cand 3:25-cv-01350: the appeal: 9th Cir." in text

    server.set(
        "/ca9/rss",
        circuit_feed(
            (*APPEAL, "Docketed Cause and Entered Appearances of Counsel", 1, "Tue, 29 Apr 2025 09:00:00 PDT"),
            *OTHER_APPEALS,
        ),
    )
    third = check_json(config)  # the district feed is unchanged: the pending look comes round anyway
    assert following(third) == [ANNOUNCED]
    assert [w["watch"] for w in third["watches"]][-1] == "sf-v-trump-appeal-ca9-25-1234-rss"  # RSS only: no CL watch
    assert status(config)["pending_moves"] == []

    server.set(
        "/ca9/rss",
        circuit_feed(
            (*APPEAL, "Order filed", 5, "Fri, 02 May 2025 10:15:00 PDT"),
            (*APPEAL, "Docketed Cause and Entered Appearances of Counsel", 1, "Tue, 29 Apr 2025 09:00:00 PDT"),
            *OTHER_APPEALS,
        ),
    )
    fourth = check_json(config)
    assert [t.split(": ", 1)[1] for t in added(fourth, "sf-v-trump-appeal-ca9-25-1234-rss")] == ["#5 Order filed"]


def test_pending_moves_are_looked_for_at_most_once_an_hour(server, write_config):
    """Checks in quick succession look in the circuit's feed once, not at every check."""
    server.set("/cand/rss", district_feed())
    server.set("/ca9/rss", circuit_feed(*OTHER_APPEALS))
    config = config_for(write_config, server, None)
    check_json(config)
    server.set("/cand/rss", district_feed(NOTICE))
    check_json(config)
    looks = server.count("/ca9/rss")
    for _ in range(3):
        check_json(config)
    assert looks == 1 and server.count("/ca9/rss") == looks


# ---------------------------------------------------------------- off, removed, refused


def test_follow_appeals_false_follows_nothing(server, cl, write_config):
    """With `follow_appeals: false` a notice of appeal and the USCA number are alerted like any filing, and
    nothing is pending, created or announced."""
    server.set("/cand/rss", district_feed())
    server.set("/ca9/rss", circuit_feed(*OTHER_APPEALS))
    config = config_for(write_config, server, cl, follow="false")
    check_json(config)
    server.set("/cand/rss", district_feed(USCA, NOTICE))
    add_appeal_docket(cl)
    add_cl_entry(
        cl, 46, "2025-04-30", "USCA Case Number 25-1234 Ninth Circuit for 45 Notice of Appeal.", "USCA Case Number"
    )
    report = check_json(config)
    assert added(report, "sf-v-trump-rss") and following(report) == []
    assert [w["watch"] for w in report["watches"]] == ["sf-v-trump-rss", "sf-v-trump"]
    assert status(config)["pending_moves"] == [] and server.count("/ca9/rss") == 0


def test_follow_appeals_is_neutral_and_validated(server, write_config):
    """Turning `follow_appeals` off and on never re-baselines; a mirror address without {court} is refused
    with the key named."""
    server.set("/cand/rss", district_feed())
    config = config_for(write_config, server, None)
    check_json(config)
    config.write_text(config.read_text().replace(f"{{feed_url: '{server.url('/{court}/rss')}'}}", "false"))
    report = check_json(config)
    assert not report["watch"]["baseline"] and "configuration changed" not in " ".join(report["watch"]["warnings"])
    config.write_text(config.read_text().replace("follow_appeals: false", "follow_appeals: {feed_url: 'http://x/rss'}"))
    result = run_cli("validate", "--config", str(config))
    assert result.code == 2 and "follow_appeals.feed_url" in result.err and "{court}" in result.err


def test_unfollowed_created_watches_are_gone_and_never_created_again(server, cl, write_config):
    """`monitor unfollow` of a created watch removes it and its pair; later entries naming the same appeal
    (an order of the court of appeals) do not bring them back, and status no longer lists them."""
    server.set("/cand/rss", district_feed())
    server.set("/ca9/rss", circuit_feed(*OTHER_APPEALS))
    config = config_for(write_config, server, cl)
    check_json(config)
    add_appeal_docket(cl)
    add_cl_entry(
        cl, 46, "2025-04-30", "USCA Case Number 25-1234 Ninth Circuit for 45 Notice of Appeal.", "USCA Case Number"
    )
    assert following(check_json(config)) == [ANNOUNCED]

    result = run_cli("unfollow", "sf-v-trump-appeal-ca9-25-1234-rss", "--config", str(config))
    assert result.code == 0, result.err
    assert "sf-v-trump-appeal-ca9-25-1234-rss" in result.out and "sf-v-trump-appeal-ca9-25-1234" in result.out
    assert "will not start following it again" in result.out
    watches = [w["watch"] for w in status(config)["watches"]]
    assert watches == ["sf-v-trump-rss", "sf-v-trump"]

    add_cl_entry(
        cl,
        50,
        "2025-05-02",
        "ORDER of USCA as to 45 Notice of Appeal: the motion for a stay pending appeal is DENIED. (USCA No. 25-1234)",
        "Order of USCA",
    )
    report = check_json(config)
    assert following(report) == [] and [w["watch"] for w in report["watches"]] == ["sf-v-trump-rss", "sf-v-trump"]
    assert run_cli("check", "sf-v-trump-appeal-ca9-25-1234", "--config", str(config)).code == 2  # unknown now


# ---------------------------------------------------------------- transfers


def test_a_transfer_with_its_new_number_is_followed_in_the_new_court(server, cl, write_config):
    """ "Transfer of case to the Northern District of Illinois. New Case # assigned: 1:25cv2345" (S.D. Tex.'s
    wording, txsd_docket.json): N.D. Ill. 1:25-cv-02345 is followed through its feed and CourtListener."""
    server.set("/cand/rss", district_feed())
    server.set("/ilnd/rss", district_feed())  # any court feed; the new case is not in it yet
    config = config_for(write_config, server, cl, rss=False)
    check_json(config)
    add_cl_entry(
        cl,
        60,
        "2025-05-05",
        "Transfer of case to Northern District of Illinois. New Case # assigned: "
        "1:25cv2345 and received on 5/5/2025., filed.",
        "Case Transferred Out",
    )
    report = check_json(config)
    assert following(report) == [
        "Now following the transfer: No. 1:25-cv-02345, N.D. Ill. — from City and County of "
        "San Francisco v. Trump, N.D. Cal. 3:25-cv-01350"
    ]
    auto = {w["watch"]: w for w in status(config)["watches"] if "followed_automatically" in w}
    assert set(auto) == {"sf-v-trump-transfer-ilnd-1-25-cv-02345", "sf-v-trump-transfer-ilnd-1-25-cv-02345-rss"}


def test_a_transfer_without_number_is_found_through_courtlistener(server, cl, write_config):
    """ "Interdistrict transfer to Northern District of Illinois" (no number): pending, then found through
    CourtListener's search of N.D. Ill. (the transferred case names the case it came from); the
    CourtListener watch is created with that docket's id."""
    server.set("/cand/rss", district_feed())
    server.set("/ilnd/rss", district_feed())
    config = config_for(write_config, server, cl, rss=False)
    check_json(config)
    add_cl_entry(
        cl,
        61,
        "2025-05-05",
        "Interdistrict transfer to Northern District of Illinois. Case transferred electronically, filed.",
        "Case Transferred Out",
    )
    report = check_json(config)
    assert following(report) == [] and [m["kind"] for m in status(config)["pending_moves"]] == ["transfer"]

    cl.add_docket(
        id=69000077,
        court_id="ilnd",
        docket_number="1:25-cv-02345",
        docket_number_core="2502345",
        case_name=SF_NAME,
        date_filed="2025-05-06",
        slug="sf-v-trump",
        original_court_info={"docket_number": "3:25-cv-01350"},
    )
    add_cl_entry(
        cl, 62, "2025-05-07", "Transfer of case to Northern District of Illinois, filed.", "Case Transferred Out"
    )
    report = check_json(config)
    assert following(report) == [
        "Now following the transfer: No. 1:25-cv-02345, N.D. Ill. — from City and County of "
        "San Francisco v. Trump, N.D. Cal. 3:25-cv-01350"
    ]
    store = Store.open(f"sqlite:///{config.parent / 'state.db'}")
    try:
        configs = {w.id: dict(w.config) for w in store.auto_watches()}
    finally:
        store.close()
    assert configs["sf-v-trump-transfer-ilnd-1-25-cv-02345"]["docket_id"] == 69000077
    stored = json.dumps(configs)
    assert "token" not in stored and TOKEN not in stored and "url" not in stored  # nothing secret in the database
    searches = [r for r in cl.api_requests("/search/") if r.query.get("type") == "r"]
    assert searches and all(r.query.get("court") == "ilnd" for r in searches)


# ---------------------------------------------------------------- the daemon


@pytest.mark.slow
def test_the_daemon_schedules_a_created_watch_without_a_restart(server, cl, write_config, tmp_path):
    """A real `monitor run`: CourtListener's "USCA Case Number 25-1234" entry creates the appeal's watches, the
    daemon schedules them at once (no restart, no SIGHUP), and the circuit's next order is printed once."""
    server.set("/cand/rss", district_feed())
    server.set("/ca9/rss", circuit_feed(*OTHER_APPEALS))
    config = config_for(write_config, server, cl)
    config.write_text(
        config.read_text().replace("notifiers:", "defaults: {every: 2s}\ndaemon: {log_format: json}\nnotifiers:", 1)
    )
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_log("baseline recorded", timeout=60, watch="sf-v-trump")
        add_appeal_docket(cl)
        add_cl_entry(
            cl, 46, "2025-04-30", "USCA Case Number 25-1234 Ninth Circuit for 45 Notice of Appeal.", "USCA Case Number"
        )
        daemon.wait_stdout("Now following the appeal: No. 25-1234, 9th Cir.", timeout=60)
        daemon.wait_log("baseline recorded", timeout=60, watch="sf-v-trump-appeal-ca9-25-1234-rss")
        server.set(
            "/ca9/rss", circuit_feed((*APPEAL, "Order filed", 12, "Fri, 02 May 2025 10:15:00 PDT"), *OTHER_APPEALS)
        )
        daemon.wait_stdout("#12 Order filed", timeout=60)
        assert daemon.stdout().count("#12 Order filed") == 1
        assert daemon.stdout().count("Now following the appeal") == 1
        assert daemon.stop() == 0
    finally:
        daemon.kill()
