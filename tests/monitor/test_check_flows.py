"""`monitor check` end to end against a real HTTP server on 127.0.0.1 replaying recorded sources."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, check_json, run_cli
from tests.monitor.conftest import DOJ

DOCKET = (DATA / "core" / "mad_193254_docket.html").read_bytes()

NEW_ITEM = b"""<item>
  <title>Justice Department Sues Illinois Over Sanctuary Laws</title>
  <link>https://www.justice.gov/opa/pr/justice-department-sues-illinois</link>
  <description>The Justice Department filed suit against the State of Illinois, Chicago and Cook County.</description>
  <pubDate>Thu, 06 Feb 2025 12:00:00 +0000</pubDate>
  <guid isPermaLink="true">https://www.justice.gov/opa/pr/justice-department-sues-illinois</guid>
</item>
"""


def with_new_item(feed: bytes) -> bytes:
    """The recorded feed with one item added at the top, as DOJ would publish it."""
    return feed.replace(b"<item>", NEW_ITEM + b"<item>", 1)


def check(path: Path, *extra: str) -> dict:
    return check_json(path, *extra)


def changes(report: dict, watch: str | None = None) -> list[tuple[str, str]]:
    return [
        (c["kind"], c["item"]["title"]) for w in report["watches"] if watch in (None, w["watch"]) for c in w["changes"]
    ]


def test_doj_feed_baseline_then_exactly_the_new_item_once(server, doj_config):
    """First check is a silent baseline; a new item is reported once; a third check reports nothing."""
    first = check(doj_config)
    assert first["ok"] and first["watches"][0]["baseline"] and changes(first) == []
    assert first["watches"][0]["items"] == 25

    server.set("/news/rss", with_new_item(DOJ))
    second = check(doj_config)
    assert changes(second) == [("added", "Justice Department Sues Illinois Over Sanctuary Laws")]
    assert second["deliveries"]["sent"] == 1

    third = check(doj_config)
    assert changes(third) == [] and third["deliveries"]["sent"] == 0


def test_console_alert_carries_title_link_and_date(server, doj_config):
    """The default console notifier prints the alert with its title, date and link."""
    check(doj_config)
    server.set("/news/rss", with_new_item(DOJ))
    result = run_cli("check", "--config", str(doj_config))
    assert result.code == 0
    assert "[New] doj-news: Justice Department Sues Illinois Over Sanctuary Laws" in result.out
    assert "https://www.justice.gov/opa/pr/justice-department-sues-illinois" in result.out
    assert "2025-02-06" in result.out


def test_failures_are_not_changes_and_recovery_does_not_realert(server, doj_config):
    """HTTP 500, an HTML error page with status 200 and an empty feed change nothing; the real feed returns quietly."""
    check(doj_config)
    server.set("/news/rss", b"<html><body>Internal error</body></html>", status=500, content_type="text/html")
    r500 = check(doj_config)
    assert r500["exit"] == 1 and "HTTP 500" in r500["watches"][0]["error"]

    server.set(
        "/news/rss", b"<!DOCTYPE html><html><body><h1>Access Denied</h1></body></html>", content_type="text/html"
    )
    page = check(doj_config)
    assert page["exit"] == 1 and "HTML page where a feed was expected" in page["watches"][0]["error"]

    empty = DOJ[: DOJ.index(b"<item>")] + b"</channel></rss>"
    server.set("/news/rss", empty)
    blank = check(doj_config)
    assert blank["exit"] == 1 and "lists no items now, but had 25" in blank["watches"][0]["error"]

    status = json.loads(run_cli("status", "--config", str(doj_config), "--json").out)["watches"][0]
    assert status["consecutive_failures"] == 3 and "no items" in status["last_error"]

    server.set("/news/rss", DOJ)
    back = check(doj_config)
    assert back["ok"] and changes(back) == []
    history = json.loads(run_cli("history", "--config", str(doj_config), "--all", "--json").out)
    assert history == [], "no change, and no removal, may be recorded for failures"


@pytest.fixture
def docket_config(server, write_config):
    server.set("/docket", DOCKET, content_type="text/html; charset=utf-8")
    return write_config(f"""
watches:
  - id: deerfield
    type: html
    url: {server.url("/docket")}
    item: "table[rules=all] tr:not(:first-child)"
    key: number
    fields:
      number: "td:nth-child(2)"
      title: "td:nth-child(3)"
      date: "td:nth-child(1)"
      link: "td:nth-child(2) a @href"
""")


def _rows(page: bytes) -> tuple[bytes, list[bytes], bytes]:
    start = page.index(b"<tr>", page.index(b"Docket Text"))
    end = page.index(b"</tbody></table>", start)
    rows = re.findall(rb"<tr>.*?</tr>\n?", page[start:end], flags=re.S)
    return page[:start], rows, page[start + sum(len(r) for r in rows) :]


def test_html_list_reordered_is_no_change_and_an_edit_is_one_update(server, docket_config):
    """Re-ordered rows change nothing; one edited entry text is one `updated` change with before and after."""
    first = check(docket_config)
    assert first["watches"][0]["items"] == 30

    head, rows, tail = _rows(DOCKET)
    server.set("/docket", head + b"".join(reversed(rows)) + tail, content_type="text/html")
    assert changes(check(docket_config)) == []

    edited = DOCKET.replace(
        b"Case transferred to Western Division (Springfield)", b"Case transferred to Central Division (Worcester)"
    )
    server.set("/docket", edited, content_type="text/html")
    report = check(docket_config)
    [change] = report["watches"][0]["changes"]
    assert change["kind"] == "updated"
    assert "Western Division" in change["changed"]["title"]["before"]
    assert "Central Division" in change["changed"]["title"]["after"]


def test_html_watch_reads_the_recorded_docket_entries(server, docket_config):
    """The html watcher's items match juriscraper's expected parse of the same page (numbers, links, dates)."""
    check(docket_config, "--notify-baseline")
    items = json.loads(run_cli("history", "--config", str(docket_config), "--json", "-n", "100").out)
    expected = json.loads((DATA / "core" / "mad_193254_docket.json").read_text())["docket_entries"]
    got = {c["item"]["fields"]["number"]: c["item"] for c in items}
    assert set(got) == {e["document_number"] for e in expected}
    first = got["1"]
    assert first["url"] == "https://ecf.mad.uscourts.gov/doc1/09508354944"
    assert first["title"].startswith("COMPLAINT against Trustees of Deerfield Academy")
    assert first["published"] == "10/25/2017" or first["published"].startswith("2017-10-25")


def test_pending_delivery_survives_a_crash_and_is_sent_once(server, doj_config):
    """Changes recorded by a run that died before delivering are delivered by the next run, exactly once."""
    import asyncio

    from monitor.app import runtime
    from monitor.config import load

    check(doj_config)
    server.set("/news/rss", with_new_item(DOJ))

    async def detect_only() -> None:  # the state a process killed right after its commit leaves behind
        async with runtime(load(doj_config)) as rt:
            await rt.engine.run_cycle()

    asyncio.run(detect_only())
    pending = run_cli("deliveries", "--config", str(doj_config), "--json")
    assert [d["status"] for d in json.loads(pending.out)] == ["pending"]

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    runs = [
        subprocess.run(
            [sys.executable, "-m", "monitor", "check", "--config", str(doj_config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        for _ in range(2)
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout.count("[New] doj-news: Justice Department Sues Illinois") == 1
    assert "Justice Department Sues Illinois" not in runs[1].stdout


def test_one_request_per_url_per_cycle(server, write_config):
    """Three watches on one URL share one request in a cycle."""
    server.set("/news/rss", DOJ)
    url = server.url("/news/rss")
    path = write_config(
        "watches:\n"
        + "".join(
            f"  - {{id: w{i}, type: feed, url: '{url}', keywords: {{any: [{word}]}}}}\n"
            for i, word in enumerate(["fraud", "sentenced", "Illinois"])
        )
    )
    check(path)
    assert server.count("/news/rss") == 1


def test_conditional_get_304_skips_parsing(server, write_config):
    """The ETag of the last answer is sent back; a 304 means unchanged."""
    server.set("/news/rss", DOJ, etag=True)
    path = write_config(f"watches:\n  - {{id: doj, type: feed, url: '{server.url('/news/rss')}'}}\n")
    check(path)
    report = check(path)
    assert report["watches"][0]["unchanged"]
    assert server.requests[-1].headers.get("If-None-Match", "").startswith('"')


def test_oversized_response_is_cut_off_with_a_clear_error(server, write_config):
    """A body over http.max_bytes is refused while streaming, with a message saying how to raise the cap."""
    server.set("/big", b"<rss>" + b"x" * 300_000 + b"</rss>")
    path = write_config(
        f"http: {{max_bytes: 100KB}}\nwatches:\n  - {{id: big, type: feed, url: '{server.url('/big')}'}}\n"
    )
    report = check(path)
    assert (
        report["exit"] == 1
        and "byte cap" in report["watches"][0]["error"]
        and "max_bytes" in report["watches"][0]["error"]
    )


def test_hostile_sources_each_fail_with_a_reason_and_the_rest_run(server, write_config):
    """A 16 KB `gzip, gzip` bomb, a redirect to data:, a body that never ends and a Content-Length that
    lies: `monitor check` prints FAILED with the reason for each, no traceback, and checks the good feed."""
    from tests.support.bombs import gzip_of, gzip_zeros
    from tests.support.hostile_server import HostileServer, raw, trickle

    server.set("/news/rss", DOJ)
    server.set("/bomb", gzip_of(gzip_zeros(6 * 1024)), headers={"Content-Encoding": "gzip, gzip"})
    server.set("/moved", b"", status=302, headers={"Location": "data:text/html,<h1>hi</h1>"})
    hostile = HostileServer().start()
    try:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
        hostile.route("/trickle", trickle(head + b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\n<\r\n"))
        hostile.route("/lie", raw(head + b"Content-Length: 90000\r\n\r\n" + DOJ[:4000]))
        path = write_config(f"""http: {{timeout: 2s, max_bytes: 1MB}}
watches:
  - {{id: good, type: feed, url: '{server.url("/news/rss")}'}}
  - {{id: bomb, type: feed, url: '{server.url("/bomb")}'}}
  - {{id: moved, type: feed, url: '{server.url("/moved")}'}}
  - {{id: trickle, type: feed, url: '{hostile.url("/trickle")}'}}
  - {{id: lie, type: feed, url: '{hostile.url("/lie")}'}}
""")
        result = run_cli("check", "--config", str(path))
    finally:
        hostile.stop()
    assert result.code == 1 and "Traceback" not in result.err + result.out
    failed = {line.split(":")[0]: line for line in result.out.splitlines() if ": FAILED: " in line}
    assert set(failed) == {"bomb", "moved", "trickle", "lie"}
    assert "decodes to more than the 1,048,576-byte cap" in failed["bomb"]
    assert "redirected to 'data:text/html" in failed["moved"] and "not a valid http or https address" in failed["moved"]
    assert "no complete answer" in failed["trickle"] and "within 2s" in failed["trickle"]
    assert "broken HTTP answer" in failed["lie"]
    report = check(path)
    assert {w["watch"]: w["ok"] for w in report["watches"]}["good"]


def test_min_delay_spaces_the_requests_of_a_check_to_one_host(server, write_config):
    """http.min_delay, or a watch's own min_delay (the larger applies), spaces a cycle's requests to one
    host: consecutive arrivals at the server are at least that far apart. (The client spaces the starts
    exactly; arrivals may drift from them by the time a busy machine takes to send: hence 1 s against 0.6.)"""
    for name in "abc":
        server.set(f"/{name}", with_new_item(DOJ) if name == "a" else DOJ)
    watches = "".join(
        f"  - {{id: {name}, type: feed, url: '{server.url('/' + name)}', min_delay: 1s}}\n" for name in "abc"
    )
    check(write_config("http: {min_delay: 0.1s}\nwatches:\n" + watches))
    times = sorted(seen.at for seen in server.requests)
    assert len(times) == 3 and min(b - a for a, b in itertools.pairwise(times)) >= 0.6

    server.requests.clear()
    check(write_config("http: {min_delay: 1s}\nwatches:\n" + watches.replace("min_delay: 1s", "min_delay: 0")))
    times = sorted(seen.at for seen in server.requests)
    assert len(times) == 3 and min(b - a for a, b in itertools.pairwise(times)) >= 0.6


def test_editing_min_delay_keeps_the_snapshot(server, write_config):
    """min_delay changes how politely a source is asked, not what it lists: no re-baseline."""
    server.set("/news/rss", DOJ)
    url = server.url("/news/rss")
    check(write_config(f"watches:\n  - {{id: doj, type: feed, url: '{url}'}}\n"))
    server.set("/news/rss", with_new_item(DOJ))
    report = check(write_config(f"watches:\n  - {{id: doj, type: feed, url: '{url}', min_delay: 2s}}\n"))
    assert not report["watch"]["baseline"] and not any(
        "configuration changed" in w for w in report["watch"]["warnings"]
    )
    assert changes(report) == [("added", "Justice Department Sues Illinois Over Sanctuary Laws")]


def test_slow_source_times_out_and_others_still_run(server, write_config):
    """A source slower than http.timeout fails with a timeout while the other watches complete."""
    server.set("/slow", DOJ, delay=3)
    server.set("/news/rss", DOJ)
    path = write_config(f"""http: {{timeout: 1s}}
watches:
  - {{id: slow, type: feed, url: '{server.url("/slow")}'}}
  - {{id: fast, type: feed, url: '{server.url("/news/rss")}'}}
""")
    report = check(path)
    by_id = {w["watch"]: w for w in report["watches"]}
    assert not by_id["slow"]["ok"] and "within 1s" in by_id["slow"]["error"]
    assert by_id["fast"]["ok"] and by_id["fast"]["items"] == 25


def test_429_retry_after_is_recorded(server, write_config):
    """A 429 is a failure whose Retry-After is kept, so the daemon does not call again too soon."""
    server.set("/news/rss", b"slow down", status=429, headers={"Retry-After": "120"}, content_type="text/plain")
    path = write_config(f"watches:\n  - {{id: doj, type: feed, url: '{server.url('/news/rss')}'}}\n")
    report = check(path)
    assert "rate limited (HTTP 429)" in report["watches"][0]["error"]
    from monitor.config import load
    from monitor.store import Store

    state = Store.open(load(path).state_url).load_states()["doj"]
    assert state.not_before is not None and state.last_check_at is not None
    assert state.not_before > state.last_check_at


def test_dry_run_records_and_sends_nothing(server, doj_config):
    """--dry-run prints what it would find but leaves the store untouched."""
    report = check(doj_config, "--dry-run")
    assert report["dry_run"] and report["watches"][0]["baseline"]
    again = check(doj_config)
    assert again["watches"][0]["baseline"], "the dry run must not have recorded the baseline"


def test_unknown_watch_id_is_a_usage_error(doj_config):
    """`monitor check NAME` with a name that is not configured exits 2 and lists the known ids."""
    result = run_cli("check", "--config", str(doj_config), "nope")
    assert result.code == 2 and "doj-news" in result.err


def test_alert_removals_option(server, write_config):
    """Removals are recorded always, and alerted only when the watch asks for it."""
    server.set("/news/rss", with_new_item(DOJ))
    path = write_config(
        f"watches:\n  - {{id: doj, type: feed, url: '{server.url('/news/rss')}', alert_removals: true}}\n"
    )
    check(path)
    server.set("/news/rss", DOJ)
    report = check(path)
    assert changes(report) == [("removed", "Justice Department Sues Illinois Over Sanctuary Laws")]
    assert report["deliveries"]["sent"] == 1


def test_keyword_filter_and_matched_terms(server, write_config):
    """Only items matching the keyword rules alert, and the alert says which terms matched."""
    server.set("/news/rss", DOJ)
    path = write_config(f"""watches:
  - id: doj-sanctuary
    type: feed
    url: {server.url("/news/rss")}
    keywords: {{any: [sanctuary, Cook County], exclude: [sentenced]}}
""")
    check(path)
    server.set("/news/rss", with_new_item(DOJ))
    report = check(path)
    [change] = report["watches"][0]["changes"]
    assert set(change["item"]["matched"]) == {"sanctuary", "Cook County"}


def test_check_delivers_every_due_alert_not_only_one_batch(server, doj_config):
    """A check that finds more new items than one outbox batch (50) delivers them all in the same run."""
    check(doj_config)
    burst = b"".join(
        NEW_ITEM.replace(b"justice-department-sues-illinois", f"release-{n}".encode()).replace(
            b"Sues Illinois", f"Sues Illinois ({n})".encode()
        )
        for n in range(60)
    )
    server.set("/news/rss", DOJ.replace(b"<item>", burst + b"<item>", 1))
    report = check(doj_config)
    assert len(changes(report)) == 60 and report["deliveries"]["sent"] == 60
    assert json.loads(run_cli("deliveries", "--config", str(doj_config), "--json").out) == []
