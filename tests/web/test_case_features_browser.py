"""A case page in a real headless Chromium showing what the case-aware stages found: a related press release,
the case's appeal (followed by itself) and a document preview with its first page; against a real
`monitor run` on 127.0.0.1.

The case is *United States v. Google LLC* (D.D.C. 1:20-cv-03010), followed through the local CourtListener
stand-in (`tests/support/courtlistener_server.py`). Its data:
- the docket and its entries in CourtListener's shapes as the demo ships them
  (`monitor/demo_data/courtlistener_dcd_{docket,entries}.json`, built from the recorded PACER docket:
  provenance in `monitor/demo_data/SOURCES.md`), entry #1 at first, then the minute order of 2021-08-19
  with its RECAP copy: the typeset order `tests/data/previews/minute_order_dcd_1-20-cv-03010_2021-08-19.pdf`
  (`tests/data/previews/SOURCES.md`), served by a replay server that `previews.hosts` names;
- DOJ's recorded news feed (`tests/data/core/doj_news.xml`) with one release on top that names the case,
  **constructed** here (`RELEASE`);
- the case's appeal, **constructed** here: a CourtListener entry "USCA Case Number 25-5000 for 1436 Notice
  of Appeal to DC Circuit Court" and the D.C. Circuit's docket of 25-5000 on the stand-in; the circuit's
  RSS feed is the recorded `tests/data/pacer_rss/cadc.xml`, served where the watch's
  `follow_appeals: {feed_url: ...}` says (no such appeal is known to this project: the number is made up).

Set MONITOR_SCREENSHOTS=docs to refresh the README's screenshot of this page (docs/dashboard-case-features.png).
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.support.courtlistener_server import TOKEN as CL_TOKEN
from tests.support.courtlistener_server import CourtListenerServer
from tests.support.daemon import REPO, DaemonProcess
from tests.support.http_server import ReplayServer
from tests.web.test_dashboard_browser import _no_secret, _screenshot

pytestmark = pytest.mark.slow

DEMO_DATA = REPO / "monitor" / "demo_data"
CASE = "dcd-1-20-cv-03010"
APPEAL_CASE = "cadc-25-5000"
PDF = DATA / "previews" / "minute_order_dcd_1-20-cv-03010_2021-08-19.pdf"
RELEASE_TITLE = "Justice Department Statement on United States v. Google LLC"
RELEASE = f"""<item>
  <title>{RELEASE_TITLE}</title>
  <link>https://www.justice.gov/opa/pr/statement-united-states-v-google-llc</link>
  <description>The Justice Department's Antitrust Division commented on the proceedings in United States v. Google LLC, No. 1:20-cv-03010 (D.D.C.).</description>
  <pubDate>Thu, 19 Aug 2021 18:00:00 +0000</pubDate>
  <guid isPermaLink="true">https://www.justice.gov/opa/pr/statement-united-states-v-google-llc</guid>
</item>
""".encode()  # noqa: E501 - one element per line, as in the recorded feed


@dataclass
class Site:
    daemon: DaemonProcess
    base: str
    token: str
    secrets: dict[str, str]


def _config(tmp: Path, sources: ReplayServer, cl: CourtListenerServer, docket_id: int) -> Path:
    path = tmp / "watches.yaml"
    path.write_text(f"""\
state: sqlite:///{tmp / "state.db"}
defaults: {{every: 2s, notify: [terminal]}}
daemon: {{log_format: json, dashboard_auth: "${{MONITOR_DASHBOARD_TOKEN}}"}}
previews: {{hosts: ["127.0.0.1:{sources.port}"]}}
notifiers:
  terminal: {{type: console}}
watches:
  - id: google
    name: U.S. v. Google (D.D.C.)
    type: courtlistener
    court: dcd
    docket_number: "1:20-cv-03010"
    docket_id: {docket_id}
    base_url: "{cl.base_url}"
    per_minute: 0
    daily_budget: 5000
    follow_appeals: {{feed_url: "{sources.url("/{court}/rss")}"}}
  - id: doj-news
    name: DOJ news
    type: feed
    url: "{sources.url("/doj.xml")}"
    agency: Department of Justice
""")
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("case-features")
    values = {"MONITOR_DASHBOARD_TOKEN": "dash-" + secrets.token_hex(16), "COURTLISTENER_TOKEN": CL_TOKEN}
    sources, cl = ReplayServer().start(), CourtListenerServer().start()
    daemon: DaemonProcess | None = None
    try:
        docket = json.loads((DEMO_DATA / "courtlistener_dcd_docket.json").read_text())
        complaint, minute_order = json.loads((DEMO_DATA / "courtlistener_dcd_entries.json").read_text())
        cl.add_docket(**docket)
        cl.add_entry(docket["id"], complaint)
        doj = (DATA / "core" / "doj_news.xml").read_bytes()
        sources.set("/doj.xml", doj)
        sources.set("/cadc/rss", DATA / "pacer_rss" / "cadc.xml")
        recap = "/" + minute_order["recap_documents"][0]["filepath_local"]
        sources.set(recap, PDF.read_bytes(), content_type="application/pdf")

        daemon = DaemonProcess(_config(tmp, sources, cl, docket["id"]), tmp, env=values)
        for watch in ("google", "doj-news"):
            daemon.wait_log("baseline recorded", timeout=60, watch=watch)

        # a release naming the case
        sources.set("/doj.xml", doj.replace(b"<item>", RELEASE + b"<item>", 1))
        daemon.wait_log("changes: 1 added", timeout=30, watch="doj-news")

        # the minute order, with its free RECAP copy: the alert, then the preview
        order = copy.deepcopy(minute_order)
        order["recap_documents"][0]["filepath_local"] = sources.url(recap)
        cl.add_entry(docket["id"], order)
        daemon.wait_log("changes: 1 added", timeout=30, watch="google")
        daemon.wait_log("recorded (2 pages)", timeout=60)

        # the appeal: the D.C. Circuit opens it; the district clerk dockets its number
        cl.add_docket(
            id=900025000,
            court_id="cadc",
            docket_number="25-5000",
            docket_number_core="255000",
            case_name="United States v. Google LLC",
            slug="united-states-v-google-llc",
            date_filed="2025-09-10",
            original_court_info={"docket_number": "1:20-cv-03010"},
        )
        cl.add_entry(
            docket["id"],
            {
                "entry_number": 1437,
                "date_filed": "2025-09-10",
                "description": "USCA Case Number 25-5000 for 1436 Notice of Appeal to DC Circuit "
                "Court. (zrdj) (Entered: 09/10/2025)",
                "recap_documents": [
                    {
                        "document_type": 1,
                        "document_number": "1437",
                        "description": "USCA Case Number",
                        "is_available": False,
                    }
                ],
            },
        )
        daemon.wait_log("Now following the appeal", timeout=30)
        yield Site(daemon, daemon.base_url, values["MONITOR_DASHBOARD_TOKEN"], values)
    finally:
        if daemon is not None:
            daemon.kill()
        cl.stop()
        sources.stop()


def test_case_page_shows_the_related_release_the_appeal_and_the_preview(site, page, tmp_path):
    """The case page lists the DOJ release that names the case, the appeal the monitor follows (linked to the
    appeal's own page and its watches), and the minute order's preview: 2 pages, the order's first words,
    and its first page as a picture that loads (naturalWidth > 0) with alt text."""
    response = page.goto(f"{site.base}/cases/{CASE}")
    assert response.status == 200
    related = page.locator("#related ~ ul.related li")
    assert related.count() == 1
    assert related.locator("a").inner_text() == RELEASE_TITLE
    assert (
        related.locator("a").get_attribute("href")
        == "https://www.justice.gov/opa/pr/statement-united-states-v-google-llc"
    )
    assert "Department of Justice" in related.inner_text() and "2021-08-19" in related.inner_text()

    move = page.locator("#moves ~ ul.moves li")
    assert move.count() == 1
    assert move.locator(f"a[href='/cases/{APPEAL_CASE}']").inner_text() == "No. 25-5000, D.C. Cir."
    assert move.locator(".badge").inner_text().lower() == "following"
    watches = move.locator("a[href^='/watches#watch-']").all_inner_texts()
    assert len(watches) == 2 and all("appeal" in w for w in watches)  # CourtListener and the circuit's feed

    preview = page.locator("ol.timeline figure.preview")
    assert preview.count() == 1
    assert "2 pages" in preview.inner_text()
    assert "UNITED STATES DISTRICT COURT FOR THE DISTRICT OF COLUMBIA" in preview.locator(".excerpt").inner_text()
    image = preview.locator("img")
    assert image.get_attribute("alt").startswith("First page of the document (2 pages): UNITED STATES DISTRICT COURT")
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete", arg=image.element_handle(), timeout=10_000)
    assert image.evaluate("img => img.naturalWidth") > 0
    assert image.evaluate("img => img.naturalHeight") > image.evaluate("img => img.naturalWidth")  # a letter page
    _no_secret(site, page.content(), f"/cases/{CASE}")
    _screenshot(page, "case-features", tmp_path)


def test_the_appeals_own_page_says_where_it_came_from(site, page):
    """The created watches' case (the appeal) has its page, which says it is followed automatically and
    links back to the entry of the district case that told of it."""
    response = page.goto(f"{site.base}/cases/{APPEAL_CASE}")
    assert response.status == 200
    origin = page.locator("p.origin")
    assert "Followed automatically: the appeal of" in origin.inner_text()
    assert origin.locator(f"a[href='/cases/{CASE}#entry-1437']").count() == 1
    assert origin.locator(f"a[href='/cases/{CASE}']").inner_text() == "D.D.C. 1:20-cv-03010"


def test_overview_shows_the_cases_appeal(site, page):
    """The overview's case row says where the case went, and nothing about it needs attention."""
    page.goto(site.base + "/")
    row = page.locator(f"article.case:has(h3 a[href='/cases/{CASE}'])")
    assert "No. 25-5000, D.C. Cir." in row.locator("ul.moves").inner_text()
    # followed, not pending: no appeal or transfer is listed as needing attention
    assert page.locator(f"ul.attention a[href='/cases/{CASE}#moves']").count() == 0


def test_the_preview_picture_needs_the_token_and_is_a_png(site, page, browser):
    """The picture is served as image/png to a signed-in browser, and refused (401) without the token."""
    page.goto(f"{site.base}/cases/{CASE}")
    src = page.locator("figure.preview img").get_attribute("src")
    assert src.startswith("/previews/") and src.endswith(".png")
    response = page.goto(site.base + src)
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    assert response.body()[:8] == b"\x89PNG\r\n\x1a\n"
    anonymous = browser.new_context()
    try:
        assert anonymous.request.get(site.base + src).status == 401
    finally:
        anonymous.close()


def test_the_cases_feed_carries_the_related_release(site):
    """The case's Atom feed has the related release beside the filings (and the filing's preview text)."""
    import urllib.request

    import feedparser

    request = urllib.request.Request(
        f"{site.base}/feeds/cases/{CASE}.atom", headers={"Authorization": f"Bearer {site.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        feed = feedparser.parse(response.read())
    assert not feed.bozo
    titles = [e.title for e in feed.entries]
    assert RELEASE_TITLE in titles
    order = next(e for e in feed.entries if "MINUTE ORDER" in e.title)
    assert "Document preview (2 pages)" in order.content[0].value
