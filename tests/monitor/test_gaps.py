"""Every gap is said out loud: once when it opens, once when it closes, through the outbox.

The rules are pure (`monitor.gaps.evaluate`); the end-to-end tests run `monitor check` against recorded
court feeds on the replay server and read what the console notifier printed.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from monitor.gaps import GapState, evaluate, stale_threshold
from tests.conftest import DATA, check_json, run_cli
from watchers.base import Gap

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SDNY = (DATA / "pacer_rss" / "sdny_1.xml").read_bytes()  # "Docket entries of type: adr,answer,..." (partial)


def hours(*offsets: float) -> list[str]:
    return [(T0 + timedelta(hours=h)).isoformat() for h in offsets]


# ---------------------------------------------------------------- the rules


def test_staleness_is_learned_with_a_wide_margin():
    """A source that changes every 2 hours is stale after 8 times that (16 h), never after less than a day,
    and never before six changes have shown its rhythm."""
    every_two_hours = hours(0, 2, 4, 6, 8, 10)
    assert stale_threshold(None, every_two_hours) == 24 * 3600  # 8 x 2 h = 16 h, but at least a day
    daily = hours(0, 24, 48, 72, 96, 120, 144)
    assert stale_threshold(None, daily) == 8 * 24 * 3600
    weekend = hours(0, 24, 48, 120, 144, 168)  # a three-day gap in the history: 3 x 72 h wins over 8 x 24 h
    assert stale_threshold(None, weekend) == 3 * 72 * 3600
    assert stale_threshold(None, hours(0, 1, 2)) is None
    assert stale_threshold(3600.0, []) == 3600.0 and stale_threshold(0.0, every_two_hours) is None


def test_a_stale_source_opens_once_and_closes_on_its_next_change():
    """Past the threshold the stale gap opens once; more quiet checks say nothing more; the next change closes it."""
    state = GapState(activity=hours(0, 24, 48, 72, 96, 120))
    quiet = T0 + timedelta(hours=120 + 8 * 24 + 1)
    state, opened = evaluate(state, name="DOJ news", now=quiet, content_changed=False, reported=None, stale_after=None)
    assert [(t.kind, t.opened) for t in opened] == [("stale", True)]
    assert "DOJ news has not changed since" in opened[0].message and "usually changes every 1 day" in opened[0].message
    state, again = evaluate(
        state, name="DOJ news", now=quiet + timedelta(hours=1), content_changed=False, reported=None, stale_after=None
    )
    assert again == []
    state, closed = evaluate(
        state, name="DOJ news", now=quiet + timedelta(hours=2), content_changed=True, reported=None, stale_after=None
    )
    assert [(t.kind, t.opened) for t in closed] == [("stale", False)] and "stale" not in state.open


def test_watcher_gaps_open_and_close_by_what_the_watcher_reports():
    """A gap the watcher reports opens once; None (cannot tell) keeps it; a report without it closes it."""
    budget = Gap("budget", "U.S. v. Illinois not checked since 14:05 UTC; next check about 09:00 UTC")
    state, opened = evaluate(GapState(), name="w", now=T0, content_changed=False, reported=(budget,), stale_after=0.0)
    assert [(t.kind, t.opened) for t in opened] == [("budget", True)]
    state, kept = evaluate(state, name="w", now=T0, content_changed=False, reported=None, stale_after=0.0)
    state, same = evaluate(state, name="w", now=T0, content_changed=False, reported=(budget,), stale_after=0.0)
    assert kept == [] and same == [] and "budget" in state.open
    state, closed = evaluate(state, name="w", now=T0, content_changed=True, reported=(), stale_after=0.0)
    assert [(t.kind, t.opened) for t in closed] == [("budget", False)] and state.open == {}


# ---------------------------------------------------------------- end to end


def sdny_config(write_config, server, *, paired: bool = False):
    server.set("/cgi-bin/rss_outside.pl", SDNY)
    text = (
        f"watches:\n  - {{id: chau-rss, type: pacer_rss, court: nysd, cases: ['1:18-cv-03365'],"
        f" url: '{server.url('/cgi-bin/rss_outside.pl')}'}}\n"
    )
    if paired:
        text += (
            "  - {id: chau, type: courtlistener, court: nysd, docket_number: '1:18-cv-03365', docket_id: 7,"
            f" base_url: '{server.url('')}', token: ''}}\n"
        )
    return write_config(text)


def test_a_partial_court_feed_is_said_once_to_the_alert_channel(server, write_config):
    """A followed case in a court whose feed lists only some entry types: one "coverage gap" alert at the
    first check (a baseline too), none at later checks."""
    config = sdny_config(write_config, server)
    first = run_cli("check", "--config", str(config))
    assert first.code == 0, first.err
    assert "[Coverage gap] chau-rss: chau-rss does not see every filing in 1:18-cv-03365\n" in first.out
    assert "publishes only these entry types: adr, answer," in first.out  # the alert's text
    assert "deliveries: 1 sent" in first.out
    server.set("/cgi-bin/rss_outside.pl", SDNY.replace(b"Recent Entries", b"Recent entries"))  # a changed body
    second = run_cli("check", "--config", str(config))
    assert "[Coverage gap]" not in second.out
    history = run_cli("history", "--config", str(config), "--json")
    assert history.out.count('"kind": "gap_opened"') == 1


def test_no_coverage_gap_when_courtlistener_follows_the_case(server, write_config):
    """The same case also followed by a courtlistener watch (complete dockets): no coverage gap."""
    config = sdny_config(write_config, server, paired=True)
    result = run_cli("check", "--config", str(config), "chau-rss")
    assert result.code == 0 and "[Coverage gap]" not in result.out


def test_stale_after_opens_once_and_a_new_item_closes_it(server, write_config):
    """`stale_after: 2s`: a source unchanged for longer is said once; its next new item closes the gap."""
    feed = "<?xml version='1.0'?><rss version='2.0'><channel><title>DOJ</title>{}</channel></rss>"
    item = "<item><title>{0}</title><link>https://example.org/{0}</link></item>"
    server.set("/rss", feed.format(item.format("One")), etag=True)
    config = write_config(f"watches:\n  - {{id: doj, type: feed, url: '{server.url('/rss')}', stale_after: 2s}}\n")
    assert check_json(config)["watch"]["baseline"]
    time.sleep(2.5)
    quiet = run_cli("check", "--config", str(config))
    assert "[Coverage gap] doj: doj has not changed since" in quiet.out and "deliveries: 1 sent" in quiet.out
    assert "[Coverage gap]" not in run_cli("check", "--config", str(config)).out
    server.set("/rss", feed.format(item.format("Two") + item.format("One")), etag=True)
    back = run_cli("check", "--config", str(config))
    assert "[New] doj: Two" in back.out and "deliveries: 2 sent" in back.out
    assert "[Gap closed] doj: doj: the source is changing again" in back.out
    kinds = [c["kind"] for c in json.loads(run_cli("history", "--config", str(config), "--json").out)]
    assert kinds.count("gap_opened") == 1 and kinds.count("gap_closed") == 1


def test_access_refused_alerts_at_once_not_after_down_after(server, write_config):
    """A source answering 401 or 403 (a revoked token, a site that blocks us) is a "source down" alert at the
    first failed check, not an hour later; its recovery is said once."""
    server.set("/rss", b"forbidden", status=403, content_type="text/plain")
    config = write_config(f"watches:\n  - {{id: county, type: feed, url: '{server.url('/rss')}'}}\n")
    first = run_cli("check", "--config", str(config))
    assert first.code == 1
    assert "[Source down] county: county refuses access (HTTP 403) since" in first.out
    assert "deliveries: 1 sent" in first.out
    assert "[Source down]" not in run_cli("check", "--config", str(config)).out
    server.set("/rss", "<?xml version='1.0'?><rss version='2.0'><channel><title>C</title></channel></rss>")
    recovered = run_cli("check", "--config", str(config))
    assert "[Source recovered] county" in recovered.out and "deliveries: 1 sent" in recovered.out


def test_status_shows_each_case_with_its_sources_and_coverage(server, write_config):
    """`monitor status` lists each followed case with the watches covering it, how completely, and open gaps."""
    config = sdny_config(write_config, server, paired=True)
    run_cli("check", "--config", str(config), "chau-rss")
    status = json.loads(run_cli("status", "--config", str(config), "--json").out)
    [case] = status["cases"]
    assert (case["court"], case["docket_number"]) == ("nysd", "1:18-cv-03365")
    coverage = {s["watch"]: s["coverage"] for s in case["sources"]}
    assert coverage["chau"] == "complete docket"
    assert coverage["chau-rss"].startswith("partial: adr, answer")
    text = run_cli("status", "--config", str(config)).out
    assert "cases:\n  nysd 1:18-cv-03365" in text and "complete docket" in text
