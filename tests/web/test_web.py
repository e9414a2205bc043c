"""The dashboard's parts without a daemon: case grouping, timelines, the store's read-only views on both
backends, the access rules, the secret scrub, the Atom writer, and the server in-process on 127.0.0.1.

Items are built with the watchers' own constructors (`entry_item`), for the shipped example cases.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.config import loads
from monitor.errors import ConfigError
from monitor.health import Endpoints, HealthServer
from monitor.models import Change, Item
from monitor.store import CheckWrite, Store, views
from monitor.web import atom, render, timeline
from monitor.web.access import Access, is_loopback
from monitor.web.cases import build_agencies, build_cases, case_id
from monitor.web.pages import Dashboard
from watchers.dockets import entry_item, parse_docket_number

T0 = datetime(2025, 3, 3, 18, 0, tzinfo=UTC)
ILLINOIS = parse_docket_number("1:25-cv-01285")
TOKEN = "a-dashboard-token-0123456789"


def filing(number: int, source: str, **more: Any) -> Item:
    return entry_item(
        court="ilnd",
        docket=ILLINOIS,
        case_name="United States v. Illinois",
        entry_number=number,
        short_description=more.pop("short", f"Filing {number}"),
        date_filed=f"2025-02-{number:02d}",
        source=source,
        **more,
    )


def write(store: Store, watch_id: str, items: list[Item], at: datetime, changes: Sequence[Change] = ()) -> None:
    store.commit_check(CheckWrite(watch_id, "f", {}, None, items, [], [], list(changes), {}, len(items), at))


def config(text: str = "", env: dict[str, str] | None = None):
    return loads(
        "watches:\n"
        "  - {id: il-rss, type: pacer_rss, court: ilnd, cases: ['1:25-cv-1285-JHL']}\n"
        "  - {id: il-cl, type: courtlistener, court: ilnd, docket_number: '1:25-cv-01285', token: ''}\n"
        "  - {id: chicago-suits, type: pacer_rss, court: ilnd, case_names: [City of Chicago]}\n"
        "  - {id: doj, type: doj}\n"
        "  - {id: city, type: feed, url: 'https://example.org/feed', agency: City Attorney}\n" + text,
        env=env or {},
    )


# ---------------------------------------------------------------- cases and agencies


def test_every_spelling_of_a_case_is_one_case_with_all_its_watches():
    """RSS `cases`, CourtListener's court + docket_number and a watch that merely holds the case's entries
    group under one case id; entries held by a watch no longer configured are not a follower."""
    holdings = [
        views.CaseHolding("chicago-suits", "case:ilnd:1:25-cv-01285", 3),
        views.CaseHolding("il-cl", "case:ilnd:1:25-cv-01285", 12),
        views.CaseHolding("removed-watch", "case:ilnd:1:25-cv-01285", 40),
        views.CaseHolding("chicago-suits", "case:ilnd:1:25-cv-04000", 1),
    ]
    cases = build_cases(config().watches, holdings)
    assert [c.id for c in cases] == ["ilnd-1-25-cv-01285", "ilnd-1-25-cv-04000"]
    assert cases[0].watch_ids == ["il-rss", "il-cl", "chicago-suits"]
    assert cases[0].entries == 12 and cases[1].watch_ids == ["chicago-suits"]
    assert case_id("cand", "3:25-cv-01350") == "cand-3-25-cv-01350" == case_id("CAND", "3:25-CV-01350")


def test_agencies_are_grouped_by_publisher():
    """A kind with one publisher names it; `agency` wins; otherwise the newest item's agency, else the name."""
    newest = {
        "wp": [
            views.Sighting("wp", Item("wp:1", "Post", fields={"agency": "San Francisco City Attorney"}), True, T0, T0)
        ]
    }
    extra = (
        "  - {id: wp, type: wordpress, url: 'https://example.org/feed/'}\n"
        "  - {id: county, name: Santa Clara news, type: html, url: 'https://example.org/', item: div}\n"
    )
    agencies = build_agencies(config(extra).watches, newest)
    assert [(a.name, a.watch_ids) for a in agencies] == [
        ("Department of Justice", ["doj"]),
        ("City Attorney", ["city"]),
        ("San Francisco City Attorney", ["wp"]),
        ("Santa Clara news", ["county"]),
    ]


# ---------------------------------------------------------------- the store's views and timelines


def test_views_read_a_case_across_sources_on_both_backends(store_url):
    """The case's entries, each watch's sightings, the newest entry per case, the newest items per watch
    and the recorded updates, with the same answers on SQLite and PostgreSQL."""
    store = Store.open(store_url)
    try:
        write(store, "il-rss", [filing(n, "pacer_rss") for n in (1, 2, 10)], T0)
        stub, full = (
            filing(2, "pacer_rss"),
            filing(2, "courtlistener", description="MOTION for Preliminary Injunction."),
        )
        update = Change(
            "il-cl",
            "updated",
            full,
            before=stub,
            changed_fields=("summary", "fields.description"),
            detected_at=T0 + timedelta(hours=1),
            uid="u-1",
        )
        write(store, "il-cl", [full], T0 + timedelta(hours=1), [update])
        write(
            store,
            "doj",
            [
                Item("doj:1", "Press release", published="2025-03-01"),
                Item("doj:2", "Older release", published="2025-01-01"),
            ],
            T0,
        )

        holdings, latest = views.case_overview(store)
        assert {(h.watch_id, h.group): h.entries for h in holdings} == {
            ("il-rss", "case:ilnd:1:25-cv-01285"): 3,
            ("il-cl", "case:ilnd:1:25-cv-01285"): 1,
        }
        assert latest["case:ilnd:1:25-cv-01285"].item.key == "entry:ilnd:1:25-cv-01285:2", "the one seen last"
        assert [s.item.key for s in views.latest_by_watch(store, ["doj"], per_watch=1)["doj"]] == ["doj:1"]
        mentions = views.case_mentions(store, "ilnd", "1:25-cv-01285")
        assert sorted((m.watch_id, m.number) for m in mentions) == [
            ("il-cl", 2),
            ("il-rss", 1),
            ("il-rss", 2),
            ("il-rss", 10),
        ]
        assert views.case_mentions(store, "ilnd", "1:25-cv-0128") == []  # a prefix of the number is another case
        lines = timeline.outline(mentions)
        assert [(line.number, line.date) for line in lines] == [
            (10, "2025-02-10"),
            (2, "2025-02-02"),
            (1, "2025-02-01"),
        ]
        assert [line.number for line in timeline.since(lines, "2025-02-02")] == [10, 2]
        keys = [line.key for line in lines]
        sightings = views.sightings_of(store, keys)
        updates = views.updates_of(store, keys)
        assert list(updates) == ["entry:ilnd:1:25-cv-01285:2"]

        entries = timeline.build(sightings, updates)
        assert [e.key for e in entries] == keys, "build and outline agree on the order"
        two = entries[1]
        assert [s.watch_id for s in two.sightings] == ["il-rss", "il-cl"]
        assert two.text == "MOTION for Preliminary Injunction.", "the fullest version is shown"
        [changed] = two.updates
        assert ("docket text", "(none)", "MOTION for Preliminary Injunction.") in [
            (f.name, f.before, f.after) for f in changed.fields
        ]
        assert two.updated_at == T0 + timedelta(hours=1) and two.anchor == "entry-2"
        assert views.group_of_key("entry:cand:3:25-cv-01350:seq:584") == "case:cand:3:25-cv-01350"
        assert views.group_of_key("entry:ca9:21-14262:3") == "case:ca9:21-14262"
        states = views.watch_states(store)
        assert states["il-rss"].item_count == 3 and states["il-rss"].plugin_state is None
    finally:
        store.close()


# ---------------------------------------------------------------- access, secrets, feeds


def test_access_rules_for_loopback_public_and_token():
    """Loopback without a token is open; a public address without one is off; with a token, only a bearer
    header or a basic-auth password that matches (and the user name, when one is set) gets in."""
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("monitor.internal")
    assert Access(None, None, exposed=False).verdict(None) == "ok"
    assert Access(None, None, exposed=True).verdict(f"Bearer {TOKEN}") == "off"

    def basic(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    guarded = Access(TOKEN, None, exposed=True)
    assert guarded.verdict(f"Bearer {TOKEN}") == "ok" == guarded.verdict(basic("anyone", TOKEN))
    for refused in (None, "", f"Bearer {TOKEN[:-1]}", basic("anyone", "wrong"), "Basic !!!", f"Token {TOKEN}"):
        assert guarded.verdict(refused) == "login", refused
    named = Access(TOKEN, "newsroom", exposed=False)
    assert named.verdict(basic("newsroom", TOKEN)) == "ok" and named.verdict(basic("other", TOKEN)) == "login"


def test_dashboard_auth_config_forms_and_errors():
    """`dashboard_auth` takes a ${VAR} string, {token_env}, or falls back to $MONITOR_DASHBOARD_TOKEN; the
    token joins the masked secrets; a missing variable, a short token or a wrong key is a clear error."""
    env = {"DASH": TOKEN}
    for text in ('daemon: {dashboard_auth: "${DASH}"}\n', "daemon: {dashboard_auth: {token_env: DASH}}\n"):
        loaded = loads(text, env=env)
        auth = loaded.daemon.dashboard_auth
        assert auth is not None and auth.secret() == TOKEN and TOKEN in loaded.secrets
    auth = loads("watches: []\n", env={"MONITOR_DASHBOARD_TOKEN": TOKEN}).daemon.dashboard_auth
    assert auth is not None and auth.secret() == TOKEN
    assert loads("watches: []\n", env={"MONITOR_DASHBOARD_TOKEN": ""}).daemon.dashboard_auth is None
    problems = {
        "daemon: {dashboard_auth: {token_env: UNSET}}\n": "environment variable UNSET is not set",
        'daemon: {dashboard_auth: "short"}\n': "too short (5 characters): use at least 12",
        "daemon: {dashboard_auth: {tokn: x}}\n": "allowed keys here: token, token_env, username",
        "daemon: {dashboard_auth: {}}\n": "give `token`",
    }
    for text, message in problems.items():
        with pytest.raises(ConfigError, match=r"daemon\.dashboard_auth") as caught:
            loads(text, env={})
        assert message in str(caught.value)


def test_scrub_masks_a_secret_in_every_spelling_a_page_could_hold():
    """A secret is replaced as is, HTML-escaped and URL-encoded (both ways); too short a value is left alone."""
    secret = "p&ss<word>/é 1"
    page = (
        f"raw {secret} html {render.markupsafe.escape(secret)} url {render.quote(secret, safe='')} "
        f"plus {render.quote_plus(secret)}"
    )
    scrubbed = render.scrub(page + " abc", {secret, "abc"})
    assert scrubbed == "raw *** html *** url *** plus *** abc"


def test_atom_writer_drops_characters_xml_cannot_carry_and_keeps_ids():
    """Control characters from a source are dropped; an entry's id is a UUID5 of its key, the same in any feed."""
    import feedparser

    sighting = views.Sighting(
        "doj",
        Item("doj:1", "Bad \x00\x08 title <b>", url="javascript:alert(1)", summary="text \x1b here"),
        True,
        T0,
        T0,
    )
    entries = timeline.build([sighting], {})
    body = atom.render(
        name="all",
        title="t",
        self_url="http://127.0.0.1/feeds/all.atom",
        page_url="http://127.0.0.1/",
        entries=entries,
        watch_names={},
        entry_url=lambda e: "http://127.0.0.1/watches",
        now=T0,
    )
    feed = feedparser.parse(body)
    assert not feed.bozo and feed.entries[0].title == "Bad  title <b>"
    assert feed.entries[0].id == atom.entry_id("doj:1") == f"urn:uuid:{atom.uuid.uuid5(atom.NAMESPACE, 'doj:1')}"
    assert feed.entries[0].link == "http://127.0.0.1/watches", "a javascript: link is never the entry's link"


# ---------------------------------------------------------------- served in-process


@contextmanager
def serving(dashboard: Dashboard | None, live: bool = True) -> Iterator[str]:
    """A HealthServer on 127.0.0.1:0 on its own event loop in a thread; yields its base URL."""

    async def probe() -> tuple[bool, str]:
        return live, "ok"

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = HealthServer(Endpoints(probe, probe, lambda: b"monitor_up 1\n"), dashboard)
    try:
        host, port = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(30)
        yield f"http://{host}:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    write(opened, "il-rss", [filing(1, "pacer_rss"), filing(2, "pacer_rss")], T0)
    yield opened
    opened.close()


def test_public_address_without_a_token_shows_how_to_set_one(store, browser, caplog):
    """Served as if on 0.0.0.0 with no token: every page is refused with the way to turn it on (in the
    browser and in the log); the probes and /metrics still answer. Given a token, it asks for it."""
    dashboard = Dashboard(store, config, exposed=True)
    with caplog.at_level(logging.WARNING, logger="monitor.health"), serving(dashboard) as base:
        assert "MONITOR_DASHBOARD_TOKEN" in caplog.text and "dashboard is off" in caplog.text
        context = browser.new_context()
        try:
            tab = context.new_page()
            response = tab.goto(base + "/")
            assert response.status == 403
            assert tab.locator("h1").inner_text() == "The dashboard is off"
            assert "openssl rand -hex 16" in tab.locator("main").inner_text()
            assert tab.goto(base + "/feeds/all.atom").status == 403
            assert tab.goto(base + "/cases/ilnd-1-25-cv-01285").status == 403
            assert tab.goto(base + "/healthz").status == 200 and tab.goto(base + "/metrics").status == 200
        finally:
            context.close()

    guarded = Dashboard(store, lambda: config(env={"MONITOR_DASHBOARD_TOKEN": TOKEN}), exposed=True)
    with serving(guarded) as base:
        assert get(base + "/")[0] == 401
        status, body = get(base + "/cases/ilnd-1-25-cv-01285", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "Filing 2" in body and TOKEN not in body


def test_loopback_without_a_token_is_open_and_only_get_is_allowed(store):
    """On 127.0.0.1 with no token the pages answer; POST is refused (read-only); unknown paths are 404."""
    with serving(Dashboard(store, config)) as base:
        assert get(base + "/")[0] == 200
        assert get(base + "/cases/ilnd-1-25-cv-01285")[0] == 200
        assert get(base + "/cases/ilnd-9-99-cv-99999")[0] == 404
        assert get(base + "/feeds/watches/nope.atom")[0] == 404
        request = urllib.request.Request(base + "/watches", data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 405


def test_a_slow_database_read_never_holds_up_the_probes(store, monkeypatch):
    """While a page waits on the database (in a worker thread), /healthz still answers at once: the event
    loop the daemon checks on is never blocked by a page."""
    entered, release = threading.Event(), threading.Event()
    read = views.watch_states

    def held(store_: Store):  # a database that holds a lock until the test lets it go
        entered.set()
        assert release.wait(30), "never released"
        return read(store_)

    monkeypatch.setattr(views, "watch_states", held)
    slow = store
    with serving(Dashboard(slow, config)) as base:
        result: dict[str, Any] = {}
        page = threading.Thread(target=lambda: result.update(page=get(base + "/watches", timeout=40)))
        page.start()
        try:
            assert entered.wait(20), "the page never reached the database"
            assert get(base + "/healthz", timeout=10) == (200, "ok\n")  # answered while the page is stuck
            assert "page" not in result
        finally:
            release.set()
            page.join(40)
        assert result["page"][0] == 200
