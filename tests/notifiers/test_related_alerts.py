"""Alerts about a release related to a followed case (issue 12): Slack posts it top-level and in the case's thread,
email digests list it under the case, every channel says "Related case: ...".

The release is a constructed DOJ API result (tests/data/press/doj/related_releases_constructed.json) read by the
real DOJ parser; its links come from the real `relate` over its text.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import Change, Delivery, utcnow
from monitor.related import FollowedCase, item_text, relate
from notifiers.base import Alert
from notifiers.webhook import payload
from tests.conftest import DATA
from tests.notifiers import SF, Outbox, added, config, deliver, filing, release
from tests.notifiers.test_slack import slack_config
from tests.support.slack_server import Answer
from watchers.dockets import parse_docket_number
from watchers.doj import release_item

CONSTRUCTED = json.loads((DATA / "press" / "doj" / "related_releases_constructed.json").read_text(encoding="utf-8"))
SF_RELEASE = CONSTRUCTED["results"][3]  # names No. 3:25-cv-01350-WHO
SF_CASE = FollowedCase("cand", parse_docket_number("3:25-cv-01350"), ["sf-v-trump"], "SF v. Trump", ["SF v. Trump"])
SF_GROUP = "case:cand:3:25-cv-01350"  # the group of the filings `filing()` builds


def related_release(at: datetime | None = None) -> Change:
    """The San Francisco release as the DOJ watch adds it, linked as the related stage links it."""
    item = release_item(SF_RELEASE)
    assert item is not None
    found = relate(item_text(item), [SF_CASE])
    assert [r["group"] for r in found.related] == [SF_GROUP]
    return replace(added("doj-news", item, at), related=found.related, unfollowed=found.unfollowed)


# ---------------------------------------------------------------- Slack


def test_release_is_posted_top_level_and_in_the_case_thread(tmp_path, slack):
    """A release naming a followed case is a top-level message (as every release is) and the same message as a
    reply in the case's thread; the reply does not go to the channel a second time."""
    box = Outbox.open(slack_config(tmp_path, slack, ", also_post_to_channel: true"))
    try:
        deliver(box, added("sf-v-trump", filing(1)))
        [parent] = slack.messages
        report = deliver(box, related_release())
        assert report.sent == 1 and not report.errors
        top, reply = slack.messages[1:]
        assert top.thread_ts is None and reply.thread_ts == parent.ts
        assert "reply_broadcast" not in reply.payload  # already in the channel once
        for message in (top, reply):
            assert (
                "Related case" in message.everything()
                and "SF v. Trump (N.D. Cal. 3:25-cv-01350)" in message.everything()
            )
            assert "Justice Department Statement on San Francisco Sanctuary Funding Case" in message.text
        row = box.rows()[-1]
        assert row["status"] == "sent" and row["result"]["ts"] == top.ts
        assert row["result"]["replies"] == {SF_GROUP: reply.ts}
    finally:
        box.close()


def test_a_case_without_a_thread_gets_none(tmp_path, slack):
    """The case has no thread yet: the release is one top-level message, and no thread is started for the case."""
    box = Outbox.open(slack_config(tmp_path, slack))
    try:
        deliver(box, related_release())
        [message] = slack.messages
        assert message.thread_ts is None
        assert box.store.get_notifier_state("newsroom", "thread:" + SF_GROUP) is None
        deliver(box, added("sf-v-trump", filing(1)))  # the case's first filing starts its thread as always
        assert slack.messages[-1].thread_ts is None
        assert box.store.get_notifier_state("newsroom", "thread:" + SF_GROUP) == slack.messages[-1].ts
    finally:
        box.close()


def test_a_failed_reply_is_retried_without_posting_the_release_twice(tmp_path, slack):
    """The top-level post succeeds, the reply fails (Slack 500s through every quick retry): the outbox retries the
    delivery, and the retry posts only the reply."""
    box = Outbox.open(slack_config(tmp_path, slack))
    try:
        deliver(box, added("sf-v-trump", filing(1)))
        [parent] = slack.messages
        slack.script(Answer.through(), *[Answer.http(500)] * 4)
        first = deliver(box, related_release())
        assert first.sent == 0 and first.retrying == 1
        assert len(slack.messages) == 2 and slack.replies(parent.ts) == []
        second = deliver(box, now=utcnow() + timedelta(hours=2))
        assert second.sent == 1
        assert len(slack.top_level()) == 2  # the case's filing and the release: the release once
        [reply] = slack.replies(parent.ts)
        assert "San Francisco Sanctuary Funding Case" in reply.text
        assert box.rows()[-1]["status"] == "sent"
    finally:
        box.close()


@pytest.mark.parametrize("setting", ["thread: none", "digest: daily"])
def test_no_replies_without_threads_or_in_a_summary(tmp_path, slack, setting):
    """`thread: none` posts everything top-level, and a scheduled summary is one top-level message: no reply."""
    box = Outbox.open(slack_config(tmp_path, slack, ", " + setting))
    try:
        box.store.set_notifier_state("newsroom", "thread:" + SF_GROUP, slack.post_directly("C0SANCTUARY", "a case").ts)
        deliver(box, related_release(), now=utcnow() + timedelta(days=2))
        assert [m.thread_ts for m in slack.messages[1:]] == [None]
    finally:
        box.close()


# ---------------------------------------------------------------- email, webhook


def test_email_digest_lists_the_release_under_its_case(tmp_path, smtp):
    """An hourly digest: the case's section holds its filing and the release about it; the agency's section holds
    the unrelated release; the release says which case it is about."""
    box = Outbox.open(
        config(
            tmp_path,
            f"  counsel: {{type: email, host: 127.0.0.1, port: {smtp.port}, "
            f"from: alerts@example.org, to: [litigation@example.org], digest: hourly}}",
        )
    )
    try:
        at = datetime(2025, 4, 25, 10, 20, tzinfo=UTC)
        box.record([added("sf-v-trump", filing(1), at=at)], at=at)
        box.record(
            [
                added("doj-news", release("Attorney General Announces Grants for Rural Police"), at=at),
                related_release(at),
            ],
            at=at,
        )
        report = deliver(box, now=datetime(2025, 4, 25, 11, 0, 5, tzinfo=UTC))
        assert report.sent == 3
        [mail] = smtp.messages
        text = mail.part("plain")
        case_heading = f"== {SF} · N.D. Cal. · 3:25-cv-01350 (2) =="
        order = [
            text.index(s)
            for s in (
                case_heading,
                f"New filing #1 in {SF}",
                "San Francisco Sanctuary Funding Case",
                "== DOJ Office of Public Affairs (1) ==",
                "Grants for Rural Police",
            )
        ]
        assert order == sorted(order)
        assert "Related case: SF v. Trump (N.D. Cal. 3:25-cv-01350)" in text
        html = mail.part("html")
        assert html.index("3:25-cv-01350 (2)</h2>") < html.index("Sanctuary Funding Case") < html.index("Rural Police")
    finally:
        box.close()


def test_single_email_joins_the_case_thread_and_webhook_carries_the_links(tmp_path, smtp):
    """One release by email: "Related case" in both parts and the case's References header; the webhook JSON carries
    `related_cases`, `related` and `unfollowed`."""
    box = Outbox.open(
        config(
            tmp_path,
            f"  counsel: {{type: email, host: 127.0.0.1, port: {smtp.port}, "
            f"from: alerts@example.org, to: [litigation@example.org]}}",
        )
    )
    try:
        deliver(box, added("sf-v-trump", filing(1)), related_release())
        filing_mail, release_mail = smtp.messages
        assert release_mail.message["References"] == filing_mail.message["References"]
        assert "Related case: SF v. Trump (N.D. Cal. 3:25-cv-01350)" in release_mail.part("plain")
        assert "SF v. Trump (N.D. Cal. 3:25-cv-01350)" in release_mail.part("html")
    finally:
        box.close()
    change = related_release()
    body = payload(Alert("hook", "doj-news", "DOJ news", (Delivery(1, change, "hook", "pending", 0, utcnow()),)))
    assert body["related_cases"] == ["sf-v-trump"] and body["related"][0]["group"] == SF_GROUP
    assert body["unfollowed"] == [] and "Related case: SF v. Trump" in body["message"]["text"]


def test_slack_summary_lists_the_release_under_its_case_with_its_agency():
    """A grouped Slack summary: the case's heading, its filing, then the release about it, said to be the agency's."""
    from notifiers.format import describe
    from notifiers.slack_blocks import digest_message

    contents = [
        describe(added("doj-news", release("Attorney General Announces Grants")), "DOJ news"),
        describe(added("sf-v-trump", filing(1)), "SF v. Trump"),
        describe(related_release(), "DOJ news"),
    ]
    text, blocks = digest_message("Daily summary", contents, grouped=True)
    lines = text.splitlines()
    assert lines[1].startswith("#1 Filing number 1")
    assert lines[2].startswith(
        "Department of Justice: Office of Public Affairs: Justice Department Statement on San Francisco"
    )
    assert lines[3].startswith("Attorney General Announces Grants")
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections[1].startswith(f"*{SF} · N.D. Cal. · 3:25-cv-01350* (2)")
