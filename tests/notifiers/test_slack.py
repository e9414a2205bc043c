"""The Slack notifier against a server speaking the Slack Web API on 127.0.0.1, through the real outbox."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from monitor.errors import NotifyError
from monitor.models import Delivery, utcnow
from notifiers.base import Alert
from notifiers.format import describe
from notifiers.slack import MAX_BLOCKS, SlackNotifier, digest_message
from tests.conftest import run_cli
from tests.notifiers import SF, SLACK_TOKEN, Outbox, added, config, deliver, filing, release, updated
from tests.support.slack_server import Answer


def slack_config(tmp_path, slack, extra: str = "", name: str = "newsroom", channel: str = "#sanctuary-cases"):
    return config(
        tmp_path,
        f"""  {name}: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "{channel}",
    base_url: "{slack.base_url}"{extra}}}""",
    )


@pytest.fixture
def outbox(tmp_path, slack):
    box = Outbox.open(slack_config(tmp_path, slack))
    yield box
    box.close()


def test_new_filing_is_one_well_formed_message(outbox, slack):
    """A new filing becomes one Block Kit message with case, court, docket, entry, date, text, links and source."""
    item = filing(
        112,
        text="Order granting motion for preliminary injunction",
        description="ORDER GRANTING PRELIMINARY INJUNCTION. Signed by Judge William H. Orrick on 4/24/2025.",
    )
    report = deliver(outbox, added("sf-v-trump", item.with_matched(("sanctuary",))))

    assert report.sent == 1 and not report.errors
    [message] = slack.messages
    assert message.channel == "C0SANCTUARY" and message.thread_ts is None
    assert message.payload["unfurl_links"] is False and message.payload["unfurl_media"] is False
    everything = message.everything()
    for expected in (
        "New filing #112 in " + SF,
        "Order granting motion for preliminary injunction",
        "N.D. Cal.",
        "3:25-cv-01350",
        "#112",
        "2025-04-24",
        "Signed by Judge William H. Orrick",
        "courtlistener",
        "<https://ecf.cand.uscourts.gov/doc1/035125800112|Document>",
        "<https://ecf.cand.uscourts.gov/cgi-bin/DktRpt.pl?449755|Docket>",
        "Matched: sanctuary",
    ):
        assert expected in everything, expected
    assert message.text.startswith("New filing #112 in " + SF)  # the plain fallback
    assert len(message.blocks) <= MAX_BLOCKS
    assert all(t.get("verbatim") for b in message.blocks for t in [b.get("text") or {}, *b.get("fields", [])] if t)
    assert slack.posts()[0].headers["Authorization"] == f"Bearer {SLACK_TOKEN}"
    [row] = outbox.rows()
    assert row["status"] == "sent" and row["result"] == {"ts": message.ts, "channel": "C0SANCTUARY"}


def test_press_release_shows_agency_title_date_summary_and_link(outbox, slack):
    """A press release shows its agency, title, date, summary and link."""
    item = release(
        "Justice Department Sues Illinois Over Sanctuary Laws",
        summary="The Justice Department filed suit against the State of Illinois, Chicago and Cook County.",
    )
    deliver(outbox, added("doj-news", item))
    [message] = slack.messages
    everything = message.everything()
    assert "New from DOJ Office of Public Affairs: Justice Department Sues Illinois Over Sanctuary Laws" in everything
    assert "2025-02-06" in everything and "Chicago and Cook County" in everything
    assert f"<{item.url}|Justice Department Sues Illinois Over Sanctuary Laws>" in everything


def test_update_says_what_changed(outbox, slack):
    """An update lists each changed field as before -> after."""
    before = filing(7, text="Motion for preliminary injunction")
    after = filing(7, text="Amended motion for preliminary injunction")
    deliver(outbox, updated("sf-v-trump", before, after, ["fields.short_description"]))
    everything = slack.messages[0].everything()
    assert "Updated: filing #7 in " + SF in everything
    assert (
        "*Short description*: Motion for preliminary injunction → Amended motion for preliminary injunction"
        in everything
    )


def test_source_text_is_escaped(outbox, slack):
    """Source text cannot ping @channel, mention users or forge links: & < > arrive as entities."""
    item = filing(
        9,
        text="Notice <!channel> <@U024BE7LH> re: <https://evil.example|click> & more",
        description="Body <!here> <https://evil.example|click here> Smith & Wesson",
    )
    deliver(outbox, added("sf-v-trump", item))
    [message] = slack.messages
    raw = json.dumps(message.payload, ensure_ascii=False)
    for forbidden in ("<!channel>", "<!here>", "<@U024BE7LH>", "<https://evil.example|"):
        assert forbidden not in raw
    assert "&lt;!channel&gt;" in message.everything() and "&lt;https://evil.example|click&gt;" in message.everything()
    assert "Smith &amp; Wesson" in message.everything() and "&lt;!here&gt;" in message.text
    assert message.payload["link_names"] is False


def test_500_twice_then_ok_is_delivered_exactly_once(outbox, slack):
    """Two HTTP 500s are retried inside one send; the third try succeeds and exactly one message exists."""
    slack.script(Answer.http(500), Answer.http(500))
    report = deliver(outbox, added("sf-v-trump", filing(1)))
    assert report.sent == 1 and report.retrying == 0
    assert [r.answer for r in slack.posts()] == [500, 500, 200]
    assert len(slack.messages) == 1 and outbox.rows()[0]["status"] == "sent"


def test_429_waits_at_least_retry_after(outbox, slack):
    """A 429 with Retry-After: 2 is honoured: the next try comes at least 2 s later, and one message is posted."""
    slack.script(Answer.rate_limited(2))
    report = deliver(outbox, added("sf-v-trump", filing(1)))
    first, second = slack.posts()
    assert second.at - first.at >= 2.0
    assert report.sent == 1 and len(slack.messages) == 1


def test_long_retry_after_is_left_to_the_outbox(outbox, slack):
    """A Retry-After longer than the inline cap ends the send; the outbox waits at least that long."""
    slack.script(Answer.rate_limited(600))
    before = utcnow()
    report = deliver(outbox, added("sf-v-trump", filing(1)))
    assert report.retrying == 1 and len(slack.posts()) == 1 and not slack.messages
    [row] = outbox.rows()
    assert row["status"] == "pending" and "429" in row["last_error"]
    assert row["next_attempt_at"] >= before + timedelta(seconds=600)


def test_server_errors_exhausting_retries_leave_it_to_the_outbox(outbox, slack):
    """Persistent 5xx answers end in a transient failure: the delivery stays pending for a later retry."""
    slack.script(*[Answer.http(503)] * 4)
    report = deliver(outbox, added("sf-v-trump", filing(1)))
    assert report.retrying == 1 and report.failed == 0 and len(slack.posts()) == 4
    assert outbox.rows()[0]["status"] == "pending"


def test_channel_not_found_fails_with_reason_while_other_notifier_delivers(tmp_path, slack):
    """channel_not_found fails that delivery at once, with Slack's error; another notifier still delivers."""
    cfg = config(
        tmp_path,
        '  newsroom: {type: slack, token: "${SLACK_BOT_TOKEN}", channel: "#no-such-channel", '
        f'base_url: "{slack.base_url}"}}\n'
        f'  backup: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "#other", base_url: "{slack.base_url}"}}',
    )
    box = Outbox.open(cfg)
    try:
        report = deliver(box, added("sf-v-trump", filing(1)))
        assert report.sent == 1 and report.failed == 1
        rows = {r["notifier"]: r for r in box.rows()}
        assert rows["newsroom"]["status"] == "failed" and rows["newsroom"]["attempts"] == 1
        assert (
            "channel_not_found" in rows["newsroom"]["last_error"]
            and "#no-such-channel" in rows["newsroom"]["last_error"]
        )
        assert rows["backup"]["status"] == "sent"
        assert [m.channel for m in slack.messages] == ["C0OTHER"]
        assert len([r for r in slack.posts() if r.error == "channel_not_found"]) == 1  # not retried
    finally:
        box.close()


@pytest.mark.parametrize("error", ["invalid_auth", "not_in_channel", "is_archived", "account_inactive"])
def test_permanent_slack_errors_fail_at_once_without_the_token(tmp_path, slack, error, caplog):
    """Errors retrying cannot fix fail the delivery on the first try, name Slack's error and never echo the token."""
    slack.script(Answer.error(error))
    box = Outbox.open(slack_config(tmp_path, slack))
    try:
        with caplog.at_level(logging.DEBUG):
            report = deliver(box, added("sf-v-trump", filing(1)))
        [row] = box.rows()
        assert report.failed == 1 and row["status"] == "failed" and error in row["last_error"]
        assert SLACK_TOKEN not in row["last_error"] and SLACK_TOKEN not in caplog.text
    finally:
        box.close()


def test_connection_refused_is_transient(tmp_path):
    """No server at base_url: a few quick retries, then a transient NotifyError for the outbox."""
    cfg = config(
        tmp_path,
        """  newsroom: {type: slack, token: "${SLACK_BOT_TOKEN}", channel: "#x", base_url: "http://127.0.0.1:9/api/"}""",
    )
    notifier = SlackNotifier("newsroom", cfg.notifiers["newsroom"])
    alert = Alert(
        "newsroom",
        "sf-v-trump",
        "SF v. Trump",
        (Delivery(1, added("sf-v-trump", filing(1)), "newsroom", "pending", 0, utcnow()),),
    )
    with pytest.raises(NotifyError) as caught:
        asyncio.run(notifier.send(alert))
    assert not caught.value.permanent and "could not reach Slack" in str(caught.value)


def test_thread_per_case(tmp_path, slack):
    """The first alert of a case starts its thread; later alerts of that case reply in it; another case gets its own."""
    box = Outbox.open(slack_config(tmp_path, slack, extra=", also_post_to_channel: true"))
    try:
        deliver(box, added("sf-v-trump", filing(1)))
        deliver(box, added("sf-v-trump", filing(2)), added("sf-v-trump", filing(3)))
        deliver(
            box, added("sf-v-trump", filing(1, case="United States v. Illinois", docket="1:25-cv-01285", court="ilnd"))
        )
        first, second, third, other = slack.messages
        assert first.thread_ts is None and other.thread_ts is None
        assert second.thread_ts == first.ts and third.thread_ts == first.ts
        assert second.payload["reply_broadcast"] is True
        assert box.store.get_notifier_state("newsroom", "thread:case:cand:3:25-cv-01350") == first.ts
        assert box.store.get_notifier_state("newsroom", "thread:case:ilnd:1:25-cv-01285") == other.ts
    finally:
        box.close()


def test_thread_lost_or_channel_changed_starts_a_new_thread(tmp_path, slack):
    """A thread Slack no longer knows, or one in a previously configured channel, is replaced by a new thread."""
    box = Outbox.open(slack_config(tmp_path, slack))
    try:
        box.store.set_notifier_state("newsroom", "thread:case:cand:3:25-cv-01350", "1700000000.000001")
        deliver(box, added("sf-v-trump", filing(1)))
        assert [p.error for p in slack.posts()] == ["thread_not_found", None]
        assert slack.messages[0].thread_ts is None
        parent = slack.messages[0].ts
        assert box.store.get_notifier_state("newsroom", "thread:case:cand:3:25-cv-01350") == parent
    finally:
        box.close()
    moved = Outbox.open(slack_config(tmp_path, slack, channel="#other"))
    try:
        deliver(moved, added("sf-v-trump", filing(2)))
        assert slack.messages[-1].channel == "C0OTHER" and slack.messages[-1].thread_ts is None
    finally:
        moved.close()


def test_burst_is_one_digest_then_later_alerts_land_in_its_thread(outbox, slack):
    """40 changes of one watch at once are one digest message; later alerts about that case reply in its thread."""
    report = deliver(outbox, *[added("sf-v-trump", filing(n)) for n in range(1, 41)])
    assert report.sent == 40
    [digest] = slack.messages
    assert "40 new items: SF v. Trump" in digest.everything()
    assert all(f"#{n} Filing number {n}" in digest.everything() for n in range(1, 41))
    assert len(digest.blocks) <= MAX_BLOCKS and "more" not in digest.blocks[-1]["elements"][0]["text"]
    assert {r["result"]["ts"] for r in outbox.rows()} == {digest.ts}

    deliver(outbox, added("sf-v-trump", filing(41)))
    assert slack.messages[-1].thread_ts == digest.ts


def test_digest_stays_within_slack_limits_and_counts_the_rest(slack, tmp_path):
    """A huge burst is cut to fit Slack (50 blocks, 3000 characters a block) and says how many more there are."""
    long_text = "Declaration of counsel in support of the motion " * 8
    changes = [added("sf-v-trump", filing(n, text=long_text)) for n in range(1, 301)]
    contents = [describe(c, "SF v. Trump") for c in changes]
    _text, blocks = digest_message("300 new items: SF v. Trump", contents)
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    footer = blocks[-1]["elements"][0]["text"]
    shown = sum(b["text"]["text"].count("\n• ") + 1 for b in blocks[1:-1])
    assert f"and {300 - shown} more" in footer and shown > 10
    # and Slack takes it
    cfg = slack_config(tmp_path, slack)
    notifier = SlackNotifier("newsroom", cfg.notifiers["newsroom"])
    alert = Alert(
        "newsroom",
        "sf-v-trump",
        "SF v. Trump",
        tuple(Delivery(i, c, "newsroom", "pending", 0, utcnow()) for i, c in enumerate(changes)),
    )
    result = asyncio.run(notifier.send(alert))
    assert result is not None and result["ts"] == slack.messages[0].ts and not [p for p in slack.posts() if p.error]


def test_rejected_blocks_fall_back_to_plain_text(outbox, slack):
    """If Slack rejects the blocks, the alert is posted as plain text instead of being lost."""
    slack.script(Answer(body={"ok": False, "error": "invalid_blocks"}))
    deliver(outbox, added("sf-v-trump", filing(5)))
    [message] = slack.messages
    assert message.blocks == [] and message.text.startswith("New filing #5 in " + SF)


def test_posts_are_paced_one_per_second_per_channel(outbox, slack):
    """Consecutive posts to one channel are at least about a second apart."""
    deliver(outbox, *[added("doj-news", release(f"Release {n}")) for n in range(3)])
    arrivals = [m.at for m in slack.messages]
    assert len(arrivals) == 3
    assert all(b - a >= 0.8 for a, b in itertools.pairwise(arrivals))  # sent 1 s apart; arrival jitter allowed


def test_test_notifier_checks_the_token_and_posts(tmp_path, slack, write_config, monkeypatch):
    """`monitor test-notifier` calls auth.test and posts a test message; the token is never printed."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    path = write_config(f"""
notifiers:
  newsroom: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "#sanctuary-cases", base_url: "{slack.base_url}"}}
watches: []
""")
    result = run_cli("test-notifier", "newsroom", "--config", str(path))
    assert result.code == 0, result.err
    assert [r.method for r in slack.requests] == ["auth.test", "chat.postMessage"]
    assert "Test message" in slack.messages[0].text
    assert SLACK_TOKEN not in result.out + result.err

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong-token")
    result = run_cli("test-notifier", "newsroom", "--config", str(path))
    assert result.code == 1 and "invalid_auth" in result.err and "xoxb-wrong-token" not in result.err


def test_config_rejects_bad_settings(tmp_path):
    """Unknown keys, an empty token and a non-HTTP base_url are configuration errors that never echo the token."""
    from monitor.errors import ConfigError

    for block, expected in [
        ('  n: {type: slack, token: "${SLACK_BOT_TOKEN}", channel: "#c", colour: red}', "unknown key 'colour'"),
        ('  n: {type: slack, token: "", channel: "#c"}', "token is empty"),
        ('  n: {type: slack, token: "${SLACK_BOT_TOKEN}", channel: "#c", base_url: "ftp://x"}', "base_url"),
        ('  n: {type: slack, token: "${SLACK_BOT_TOKEN}"}', "channel: required key is missing"),
    ]:
        with pytest.raises(ConfigError) as caught:
            config(tmp_path, block)
        assert expected in str(caught.value) and SLACK_TOKEN not in str(caught.value)


# ---------------------------------------------------------------- threads belong to cases (issue 11)


def test_two_unrelated_releases_of_one_agency_are_two_top_level_messages(server, slack, write_config, monkeypatch):
    """`monitor check` on DOJ's recorded feed (agency set, so items are grouped `agency:...`): two releases found by
    two checks are two top-level messages, even with a thread recorded for that agency before the upgrade."""
    from tests.notifiers.test_delivery_e2e import DOJ, rss_item, with_items

    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    server.set("/news/rss", DOJ)
    path = write_config(f"""
notifiers:
  newsroom: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "#sanctuary-cases", base_url: "{slack.base_url}"}}
watches:
  - {{id: doj-news, type: feed, url: "{server.url("/news/rss")}", name: DOJ news, agency: Department of Justice}}
""")
    assert run_cli("check", "--config", str(path)).code == 0 and slack.messages == []
    # What an older version left: the agency's first release started a thread that captured later ones.
    old = slack.post_directly("C0SANCTUARY", "New from Department of Justice: an old release")
    box = Outbox.open(config(path.parent, "  newsroom: {type: console}"))
    try:
        box.store.set_notifier_state("newsroom", "thread:agency:Department of Justice", old.ts)
        box.store.set_notifier_state("newsroom", "thread-channel:agency:Department of Justice", "#sanctuary-cases")
    finally:
        box.close()

    first = rss_item(1, "Justice Department Sues Illinois Over Sanctuary Laws")
    server.set("/news/rss", with_items(DOJ, [first]))
    assert run_cli("check", "--config", str(path)).code == 0
    server.set("/news/rss", with_items(DOJ, [rss_item(2, "Attorney General Announces Grants for Rural Police"), first]))
    assert run_cli("check", "--config", str(path)).code == 0

    new = slack.messages[1:]
    assert len(new) == 2 and all(m.thread_ts is None for m in new)
    assert "Sues Illinois" in new[0].everything() and "Rural Police" in new[1].everything()
    assert slack.replies(old.ts) == []


def test_two_filings_of_one_case_share_one_thread_and_releases_stay_top_level(outbox, slack):
    """Default `thread: cases`: a case's filings are one thread; a release of the same check is top-level."""
    deliver(outbox, added("sf-v-trump", filing(1)), added("doj-news", release("Justice Department Sues Illinois")))
    deliver(outbox, added("sf-v-trump", filing(2)), added("doj-news", release("Statement on Sanctuary Cities")))
    top = slack.top_level()
    assert len(top) == 3 and len(slack.messages) == 4
    [parent] = [m for m in top if "filing #1" in m.text]
    [reply] = slack.replies(parent.ts)
    assert "filing #2" in reply.text
    assert outbox.store.get_notifier_state("newsroom", "thread:agency:DOJ Office of Public Affairs") is None
    assert len([m for m in top if "New from DOJ" in m.text]) == 2


@pytest.mark.parametrize(
    "setting, filings_threaded, releases_threaded",
    [
        ("thread: all", True, True),
        ("thread: none", False, False),
        ("thread_per_case: true", True, False),
        ("thread_per_case: false", False, False),
    ],
)
def test_thread_setting(tmp_path, slack, setting, filings_threaded, releases_threaded):
    """`thread: all` threads agencies too, `none` threads nothing; the old `thread_per_case` maps to cases / none."""
    box = Outbox.open(slack_config(tmp_path, slack, extra=", " + setting))
    try:
        deliver(box, added("sf-v-trump", filing(1)), added("doj-news", release("First release")))
        deliver(box, added("sf-v-trump", filing(2)), added("doj-news", release("Second release")))
        [second_filing] = [m for m in slack.messages if "filing #2" in m.text]
        [second_release] = [m for m in slack.messages if "Second release" in m.text]
        assert (second_filing.thread_ts is not None) == filings_threaded
        assert (second_release.thread_ts is not None) == releases_threaded
    finally:
        box.close()


def test_old_and_new_thread_keys_together_are_a_config_error(tmp_path):
    """Giving both `thread` and the old `thread_per_case` is a configuration error that names the new key."""
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        config(
            tmp_path,
            '  n: {type: slack, token: "${SLACK_BOT_TOKEN}", channel: "#c", thread: all, thread_per_case: true}',
        )
    assert "thread: cases | all | none" in str(caught.value) and "notifiers.n" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        config(tmp_path, '  n: {type: slack, token: "${SLACK_BOT_TOKEN}", channel: "#c", thread: cases-only}')
    assert "'cases', 'all' or 'none'" in str(caught.value)


# ---------------------------------------------------------------- scheduled summaries (issue 13)


def test_daily_summary_is_held_in_the_outbox_then_posted_once_grouped_by_case_then_agency(tmp_path, slack):
    """digest: daily holds every delivery in the database until daily_at (a restart loses nothing), then posts
    one top-level summary: the period it covers, each case with its filings, then each agency."""
    cfg = slack_config(tmp_path, slack, extra=', digest: daily, daily_at: "07:30", timezone: America/Los_Angeles')
    day = datetime(2025, 4, 24, 17, 0, tzinfo=UTC)  # 10:00 in Los Angeles (PDT)
    illinois = {"case": "United States v. Illinois", "docket": "1:25-cv-01285", "court": "ilnd"}
    changes = [
        added("sf-v-trump", filing(112, text="Order granting preliminary injunction"), at=day),
        added("doj-news", release("Justice Department Sues Illinois"), at=day + timedelta(hours=1)),
        added("sf-v-trump", filing(3, text="Complaint", **illinois), at=day + timedelta(hours=2)),
        added("sf-v-trump", filing(113, text="Notice of appeal"), at=day + timedelta(hours=3)),
    ]
    box = Outbox.open(cfg)
    try:
        box.record(changes, at=day)
        assert deliver(box, now=day + timedelta(hours=4)).sent == 0 and slack.messages == []
        boundary = datetime(2025, 4, 25, 14, 30, tzinfo=UTC)  # 07:30 PDT the next morning
        assert [(r["status"], r["next_attempt_at"], r["attempts"]) for r in box.rows()] == [
            ("pending", boundary, 0)
        ] * 4
    finally:
        box.close()  # as if the process died overnight

    box = Outbox.open(cfg)
    try:
        assert deliver(box, now=boundary - timedelta(seconds=1)).sent == 0
        report = deliver(box, now=boundary + timedelta(seconds=5))
        assert report.sent == 4 and not report.errors
        [summary] = slack.messages
        assert summary.thread_ts is None
        text = summary.everything()
        assert "Daily summary: 4 new items: SF v. Trump, DOJ news" in text
        assert "Thu 24 Apr 07:30 – Fri 25 Apr 07:30 America/Los_Angeles" in text
        shown = "\n".join(b["text"]["text"] for b in summary.blocks if b["type"] == "section")
        order = [
            shown.index(s)
            for s in (
                f"*{SF} · N.D. Cal. · 3:25-cv-01350* (2)",
                "#112 Order granting",
                "#113 Notice of appeal",
                "*United States v. Illinois · N.D. Ill. · 1:25-cv-01285* (1)",
                "*DOJ Office of Public Affairs* (1)",
                "Justice Department Sues Illinois",
            )
        ]
        assert order == sorted(order)
        assert {r["status"] for r in box.rows()} == {"sent"}
        assert deliver(box, now=boundary + timedelta(days=1)).sent == 0 and len(slack.messages) == 1
    finally:
        box.close()


def test_hourly_summary_of_a_busy_day_stays_within_slack_limits(tmp_path, slack):
    """A summary of many cases and agencies keeps to 50 blocks and 3,000 characters a block, says "…and N more",
    and Slack accepts it."""
    cfg = slack_config(tmp_path, slack, extra=", digest: hourly")
    at = datetime(2025, 4, 24, 10, 5, tzinfo=UTC)
    changes = [
        added(
            "sf-v-trump",
            filing(n, text="Declaration in support " * 12, case=f"Case {n} v. Trump", docket=f"3:25-cv-{n:05d}"),
            at=at,
        )
        for n in range(1, 41)
    ]
    changes += [added("doj-news", release(f"Release {n}", agency=f"Agency {n}"), at=at) for n in range(10)]
    box = Outbox.open(cfg)
    try:
        box.record(changes, at=at)
        report = deliver(box, now=at + timedelta(hours=1))
        assert report.sent == 50 and not [r for r in slack.requests if r.error]
        [summary] = slack.messages
        assert len(summary.blocks) <= MAX_BLOCKS
        assert all(len(b["text"]["text"]) <= 3000 for b in summary.blocks if b["type"] == "section")
        footer = summary.blocks[-1]["elements"][0]["text"]
        shown = sum(summary.everything().count(f"Case {n} v. Trump") > 0 for n in range(1, 41))
        shown += sum(f"Release {n}" in summary.everything() for n in range(10))
        assert 10 < shown < 50 and f"…and {50 - shown} more" in footer
        assert "Hourly summary: 50 new items" in summary.text and "10:00 – 11:00 UTC" in summary.everything()
    finally:
        box.close()
