"""The dashboard in a real headless Chromium, against a real `monitor run` on 127.0.0.1 fed recorded data.

One daemon serves the whole module. Its sources are local servers replaying real recordings:
- D.D.C.'s RSS feed (the channel and entry 140 of NVLSP v. United States, 1:16-cv-00745, as
  `tests/watchers/test_courtlistener.py` builds them from the recorded webhook) and the local
  CourtListener with the recorded docket 4214664; CourtListener then adds the recorded entry 140,
  which is one `updated` change of the entry the RSS feed brought (docket text: none -> the long text);
- S.D.N.Y.'s recorded RSS feed (`tests/data/pacer_rss/sdny_1.xml`), two of its cases followed;
- DOJ's recorded news feed (`tests/data/core/doj_news.xml`); after its baseline a copy of its first
  release appears at a new address with its title double-escaped, as some feeds do, so that the stored
  title of the new item holds a literal `<script>` and an `<img onerror>`;
- a city press room that answers HTTP 500 at a URL carrying a secret key, and a webhook receiver that
  answers 500 (a pending delivery with its error).

The daemon requires a token (`daemon.dashboard_auth`); the browser signs in with HTTP basic auth.
Set MONITOR_SCREENSHOTS=docs to refresh the README's screenshots (docs/dashboard-*.png), or to a
directory to keep them there.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA
from tests.support.courtlistener_server import TOKEN as CL_TOKEN
from tests.support.courtlistener_server import CourtListenerServer, recorded
from tests.support.daemon import REPO, DaemonProcess
from tests.support.http_server import ReplayServer
from tests.watchers.test_courtlistener import DCD_RSS, ENTRY_140_RSS, RECORDED_ID

pytestmark = pytest.mark.slow

HOSTILE = "<script>window.__pwned = 1</script> Warren County <img src=x onerror=window.__pwned=2> Fraudster Sentenced"
NVLSP = "dcd-1-16-cv-00745"
MOMA = "nysd-1-18-cv-03364"


@dataclass
class Site:
    daemon: DaemonProcess
    base: str
    token: str
    secrets: dict[str, str]  # name -> value: none may appear on any page

    def fetch(self, path: str, *, token: str | None = None) -> tuple[int, str, dict[str, str]]:
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {token or self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode(), {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), {k.lower(): v for k, v in exc.headers.items()}


def _config(tmp: Path, sources: ReplayServer, cl: CourtListenerServer) -> Path:
    path = tmp / "watches.yaml"
    path.write_text(f"""\
state: sqlite:///{tmp / "state.db"}
defaults: {{every: 2s, notify: [terminal, cms]}}
daemon: {{log_format: json, dashboard_auth: "${{MONITOR_DASHBOARD_TOKEN}}"}}
# entry 140's RECAP copy is on storage.courtlistener.com: no test fetches from the internet
previews: {{hosts: ["127.0.0.1:{sources.port}"]}}
notifiers:
  terminal: {{type: console}}
  cms:
    type: webhook
    url: "{sources.url("/hook")}"
    headers: {{Authorization: "Bearer ${{HOOK_TOKEN}}"}}
watches:
  - id: nvlsp-rss
    name: D.D.C. court feed
    type: pacer_rss
    court: dcd
    cases: ["1:16-cv-00745"]
    url: "{sources.url("/dcd/rss_outside.pl")}"
  - id: nvlsp-cl
    name: NVLSP on CourtListener
    type: courtlistener
    court: dcd
    docket_id: {RECORDED_ID}
    base_url: "{cl.base_url}"
    per_minute: 0
    daily_budget: 5000
  - id: sdny-rss
    name: S.D.N.Y. court feed
    type: pacer_rss
    court: nysd
    cases: ["1:18-cv-03364", "1:18-cv-3358-ABC"]
    url: "{sources.url("/nysd/rss_outside.pl")}"
  - id: doj-news
    name: DOJ news
    type: feed
    url: "{sources.url("/doj.xml")}"
    agency: Department of Justice
  - id: city-press
    name: City press room
    type: feed
    url: "{sources.url("/private.xml")}?key=${{FEED_KEY}}"
    agency: City Attorney
""")
    return path


def _with_hostile_release(feed: bytes) -> bytes:
    """The feed with a copy of its first release at a new address, its title double-escaped HOSTILE."""
    start, end = feed.index(b"<item>"), feed.index(b"</item>") + len(b"</item>")
    first = feed[start:end].decode()
    escaped = HOSTILE.replace("&", "&amp;").replace("<", "&amp;lt;").replace(">", "&amp;gt;")
    copy = re.sub(r"<title>.*?</title>", f"<title>{escaped}</title>", first, count=1, flags=re.S).replace(
        "warren-county-fraudster-sentenced-10-years-imprisonment", "warren-county-fraudster-escaped-title"
    )
    return feed[:start] + copy.encode() + feed[start:]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("dashboard")
    values = {
        "MONITOR_DASHBOARD_TOKEN": "dash-" + secrets.token_hex(16),
        "HOOK_TOKEN": "hook-" + secrets.token_hex(16),
        "FEED_KEY": "feedkey-" + secrets.token_hex(12),
        "COURTLISTENER_TOKEN": CL_TOKEN,
    }
    sources, cl = ReplayServer().start(), CourtListenerServer().start()
    daemon: DaemonProcess | None = None
    try:
        sources.set("/dcd/rss_outside.pl", DCD_RSS.format(items=""))
        sources.set("/nysd/rss_outside.pl", DATA / "pacer_rss" / "sdny_1.xml")
        doj = (DATA / "core" / "doj_news.xml").read_bytes()
        sources.set("/doj.xml", doj)
        sources.set(
            "/private.xml", b"<html><body>Internal Server Error</body></html>", status=500, content_type="text/html"
        )
        sources.set("/hook", b'{"error": "receiver down"}', status=500, content_type="application/json")
        cl.add_docket(**recorded("docket_detail_4214664.json"))  # the docket, without entry 140 yet

        daemon = DaemonProcess(_config(tmp, sources, cl), tmp, env=values)
        for watch in ("nvlsp-rss", "nvlsp-cl", "sdny-rss", "doj-news"):
            daemon.wait_log("baseline recorded", timeout=60, watch=watch)
        sources.set("/doj.xml", _with_hostile_release(doj))
        daemon.wait_log("changes: 1 added", timeout=30, watch="doj-news")
        sources.set("/dcd/rss_outside.pl", DCD_RSS.format(items=ENTRY_140_RSS))  # the court feed lists entry 140
        daemon.wait_log("changes: 1 added", timeout=30, watch="nvlsp-rss")
        [entry] = recorded("docket_alert_v2.json")["payload"]["results"]
        cl.add_entry(RECORDED_ID, entry)  # ... and CourtListener brings its long text
        daemon.wait_log("changes: 1 updated", timeout=30, watch="nvlsp-cl")
        daemon.wait_for(lambda: sources.count("/hook") >= 1, 30, "a delivery attempt to the webhook")
        built = Site(daemon, daemon.base_url, values["MONITOR_DASHBOARD_TOKEN"], values)
        built.daemon.wait_for(
            lambda: "HTTP 500" in built.fetch("/deliveries")[1], 30, "the failed attempt on /deliveries"
        )
        yield built
    finally:
        if daemon is not None:
            daemon.kill()
        cl.stop()
        sources.stop()


def _screenshot(tab: Any, name: str, tmp_path: Path) -> Path:
    """A full-page PNG in the test's temp dir, and in docs/ for the README when MONITOR_SCREENSHOTS=docs."""
    wanted = os.environ.get("MONITOR_SCREENSHOTS")
    target = (REPO / "docs" if wanted == "docs" else Path(wanted)) if wanted else tmp_path
    target.mkdir(exist_ok=True)
    path = target / f"dashboard-{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def _no_secret(site: Site, text: str, where: str) -> None:
    for name, value in site.secrets.items():
        assert value not in text, f"{name} appears on {where}"


# ---------------------------------------------------------------- pages


def test_overview_shows_cases_agencies_budget_and_failures_first(site, page, tmp_path):
    """The overview lists each case with its latest filing and sources, the agencies with their newest
    items, the CourtListener budget, and the failing source at the top, its secret masked."""
    response = page.goto(site.base + "/")
    assert response.status == 200
    assert page.locator("h1").inner_text() == "Overview"
    attention = page.locator("ul.attention")
    assert "City press room" in attention.inner_text() and attention.locator(".badge-failing").count() == 1
    sections = [h.inner_text() for h in page.locator("main h2").all()]
    assert sections[0] == "Needs attention" and "Cases" in sections and "Agencies" in sections
    nvlsp = page.locator(f"article.case:has(a[href='/cases/{NVLSP}'])")
    assert "1:16-cv-00745" in nvlsp.inner_text()
    assert "#140" in nvlsp.locator(".latest").inner_text()
    assert {"D.D.C. court feed", "NVLSP on CourtListener"} <= set(nvlsp.locator("ul.sources a").all_inner_texts())
    moma = page.locator(f"article.case:has(a[href='/cases/{MOMA}'])")
    assert "The Museum of Modern Art v. MoMaCha IP LLC" in moma.inner_text()
    assert page.locator("a[href='/cases/nysd-1-18-cv-03358']").count() == 1  # "1:18-cv-3358-ABC" is that case
    assert "calls possible now" in page.locator("#budget + p").inner_text()
    agencies = page.locator("article.agency h3").all_inner_texts()
    assert agencies == ["Department of Justice", "City Attorney"]
    _no_secret(site, page.content(), "/")
    _screenshot(page, "overview", tmp_path)


def test_case_timeline_shows_sources_and_an_update_before_and_after(site, page, tmp_path):
    """A case page lists its entries newest first; entry 140 names both sources that saw it and shows
    CourtListener's update as before -> after."""
    response = page.goto(f"{site.base}/cases/{NVLSP}")
    assert response.status == 200
    entry = page.locator("#entry-140")
    assert entry.locator("h3").inner_text().startswith("#140")
    seen = entry.locator(".seen").inner_text()
    assert "D.D.C. court feed" in seen and "NVLSP on CourtListener" in seen
    update = entry.locator(".update")
    assert "by NVLSP on CourtListener" in update.inner_text()
    row = update.locator("dt:text-is('docket text') + dd")
    assert row.locator("del").inner_text() == "(none)"
    assert row.locator("ins").inner_text().startswith("MOTION for Settlement Preliminary Approval")
    links = dict(
        zip(
            entry.locator("ul.links a").all_inner_texts(),
            entry.locator("ul.links a").evaluate_all("els => els.map(e => e.href)"),
            strict=True,
        )
    )
    assert links["Document"].startswith("https://") and "Docket" in links
    sources = page.locator("#sources ~ div table tbody tr")
    assert sources.count() == 2
    _screenshot(page, "case", tmp_path)

    page.goto(f"{site.base}/cases/{MOMA}")
    numbers = page.locator("ol.timeline .number").all_inner_texts()
    assert numbers and all(n.startswith("#") for n in numbers)
    dates = page.locator("ol.timeline .meta time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert dates == sorted(dates, reverse=True), "newest first"


def test_since_filter_is_a_labelled_form(site, page):
    """'What has happened since ...?': the labelled date field narrows the timeline; a bad date says so."""
    page.goto(f"{site.base}/cases/{MOMA}")
    every = page.locator("ol.timeline > li").count()
    page.get_by_label("Entries dated on or after").fill("2099-01-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"since=2099-01-01"))
    assert page.locator("ol.timeline > li.empty").count() == 1
    page.goto(f"{site.base}/cases/{MOMA}?since=February")
    assert "must be a date like 2025-02-01" in page.locator(".problem").inner_text()
    assert page.locator("ol.timeline > li").count() == every


def test_hostile_item_text_is_shown_literally_and_never_runs(site, page):
    """A title holding <script> and <img onerror> is printed as text: no script runs, no image appears."""
    page.goto(site.base + "/")
    item = page.locator("article.agency ul.items li", has_text="Warren County")
    assert "<script>window.__pwned = 1</script>" in item.inner_text()
    assert "<img src=x onerror=window.__pwned=2>" in item.inner_text()
    assert item.locator("script, img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    csp = page.goto(site.base + "/watches").headers["content-security-policy"]
    assert "default-src 'none'" in csp


def test_watches_and_deliveries_show_state_with_secrets_masked(site, page):
    """/watches has every watch with last and next check, failures and its error; /deliveries the pending
    webhook delivery with its attempts and error; neither shows a secret or a notifier's settings."""
    page.goto(site.base + "/watches")
    rows = page.locator("table.watches tbody tr")
    assert rows.count() == 5
    failing = page.locator("#watch-city-press")
    assert failing.locator("td[data-label='Failures']").inner_text() != "0"
    assert "server error (HTTP 500)" in failing.locator("td[data-label='Last error']").inner_text()
    assert "key=***" in failing.inner_text()
    assert page.locator("#watch-nvlsp-cl td[data-label='Next check'] time").count() == 1
    _no_secret(site, page.content(), "/watches")

    page.goto(site.base + "/deliveries")
    pending = page.locator("#pending ~ div table tbody tr")
    assert pending.count() >= 1
    first = pending.first
    assert first.locator("td[data-label='Notifier']").inner_text() == "cms"
    assert int(first.locator("td[data-label='Attempts']").inner_text()) >= 1
    assert "HTTP 500" in first.locator("td[data-label='Last error']").inner_text()
    html = page.content()
    _no_secret(site, html, "/deliveries")
    assert "Authorization" not in html and "/hook" not in html  # no notifier settings


def test_every_page_loads_without_a_secret(site, page):
    """Each page and feed answers 200 in the browser, has one h1 (pages), and carries no secret."""
    for path in (
        "/",
        f"/cases/{NVLSP}",
        f"/cases/{MOMA}",
        "/watches",
        "/deliveries",
        "/feeds/all.atom",
        f"/feeds/cases/{NVLSP}.atom",
        "/feeds/watches/doj-news.atom",
    ):
        response = page.goto(site.base + path)
        assert response.status == 200, path
        body = response.text()
        _no_secret(site, body, path)
        if not path.endswith(".atom"):
            assert page.locator("h1").count() == 1, path
            assert page.locator("html").get_attribute("lang") == "en"
    assert page.goto(site.base + "/cases/nope").status == 404


def test_pages_fit_a_phone_screen(site, browser):
    """On a 390-pixel-wide phone no page scrolls sideways: tables become stacked cards."""
    context = browser.new_context(
        http_credentials={"username": "reader", "password": site.token},
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
    )
    try:
        tab = context.new_page()
        for path in ("/", f"/cases/{NVLSP}", "/watches", "/deliveries"):
            tab.goto(site.base + path)
            width = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], f"{path} is {width[0]}px wide on a {width[1]}px screen"
    finally:
        context.close()


# ---------------------------------------------------------------- access


def test_without_the_token_nothing_but_the_probes_answers(site, browser):
    """No credentials, or a wrong token: 401 with how to sign in, on pages and feeds alike; the probes
    and /metrics stay open; the right token as a bearer header works too."""
    context = browser.new_context()
    try:
        tab = context.new_page()
        # Headless Chromium turns an auth challenge it cannot answer into a network error; fetched by the
        # browser's HTTP client and handed to the page as is, the 401 page renders as a person sees it
        # after cancelling the password prompt.
        tab.route("**/*", lambda route: route.fulfill(response=route.fetch()))
        for path in ("/", f"/cases/{NVLSP}", "/feeds/all.atom", "/nowhere"):
            response = tab.goto(site.base + path)
            assert response.status == 401, path
            assert response.headers["www-authenticate"].startswith("Basic")
            assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "needs its token" in tab.locator("h1").inner_text()
        assert tab.goto(site.base + "/healthz").status == 200
        assert tab.goto(site.base + "/readyz").status == 200
        assert tab.goto(site.base + "/metrics").status == 200
    finally:
        context.close()
    wrong = base64.b64encode(b"reader:not-the-token-at-all").decode()
    refused = browser.new_context()
    try:  # the browser's own HTTP client: a page would turn a refused password into a network error
        for header in (f"Basic {wrong}", "Bearer not-the-token-at-all", f"Bearer {site.token}x", "Token x"):
            assert refused.request.get(site.base + "/", headers={"Authorization": header}).status == 401, header
    finally:
        refused.close()
    bearer = browser.new_context(extra_http_headers={"Authorization": f"Bearer {site.token}"})
    try:
        assert bearer.new_page().goto(site.base + "/watches").status == 200
    finally:
        bearer.close()


# ---------------------------------------------------------------- feeds


def test_atom_feeds_parse_and_keep_their_entry_ids(site):
    """The feeds are valid Atom to a feed reader (feedparser), and an entry keeps its id across renders
    and across feeds; the updated entry says what changed."""
    import feedparser

    parsed = {}
    for path in ("/feeds/all.atom", f"/feeds/cases/{NVLSP}.atom", "/feeds/watches/doj-news.atom"):
        status, body, headers = site.fetch(path)
        assert status == 200 and headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(body)
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        assert feed.version == "atom10" and feed.feed.id and feed.entries, path
        assert all(e.id and e.title and e.link and e.updated_parsed for e in feed.entries), path
        again = feedparser.parse(site.fetch(path)[1])
        assert [e.id for e in again.entries] == [e.id for e in feed.entries], f"{path}: ids changed between renders"
        parsed[path] = feed
    case = {e.id: e for e in parsed[f"/feeds/cases/{NVLSP}.atom"].entries}
    everything = {e.id: e for e in parsed["/feeds/all.atom"].entries}
    entry_140 = next(e for e in case.values() if "#140" in e.title)
    assert entry_140.id in everything, "one id for the entry in every feed"
    assert "docket text: (none) -> MOTION for Settlement" in entry_140.content[0].value
    hostile = next(e for e in parsed["/feeds/watches/doj-news.atom"].entries if "Warren County" in e.title)
    assert hostile.title.startswith("<script>")  # text to the reader; it is the reader's to escape
    assert site.fetch("/feeds/cases/nope.atom")[0] == 404
    assert parsed["/feeds/all.atom"].feed.title.startswith("Court-filing monitor")
