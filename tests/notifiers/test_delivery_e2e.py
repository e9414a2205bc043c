"""Alerts end to end: the real engine, store, outbox and notifiers against real servers on 127.0.0.1,
including a process killed in the middle of delivering."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import DATA, run_cli
from tests.notifiers import SF, SLACK_TOKEN, Outbox, added, config, filing
from tests.support.slack_server import SlackServer

REPO = Path(__file__).resolve().parents[2]
DOJ = (DATA / "core" / "doj_news.xml").read_bytes()


def rss_item(n: int, title: str | None = None) -> bytes:
    title = title or f"Justice Department statement number {n} on sanctuary jurisdictions"
    link = f"https://www.justice.gov/opa/pr/statement-{n}"
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>Statement {n} &amp; its summary.</description>"
        f"<pubDate>Thu, 06 Feb 2025 12:{n % 60:02d}:00 +0000</pubDate></item>\n"
    ).encode()


def with_items(feed: bytes, items: list[bytes]) -> bytes:
    """The recorded DOJ feed with new items on top, as DOJ would publish them."""
    return feed.replace(b"<item>", b"".join(items) + b"<item>", 1)


def test_new_filing_is_one_slack_message_and_one_email(tmp_path, slack, smtp):
    """A new filing goes out once to each channel, with the case, entry, dates, docket text and both links."""
    box = Outbox.open(
        config(
            tmp_path,
            '  newsroom: {type: slack, token: "${SLACK_BOT_TOKEN}", channel: "#sanctuary-cases", '
            f'base_url: "{slack.base_url}"}}\n'
            f"  counsel: {{type: email, host: 127.0.0.1, port: {smtp.port}, from: alerts@example.org, "
            "to: [litigation@example.org]}",
        )
    )
    try:
        item = filing(
            112,
            text="Order granting motion for preliminary injunction",
            description="ORDER GRANTING PRELIMINARY INJUNCTION. Signed by Judge William H. Orrick on 4/24/2025.",
        )
        box.record([added("sf-v-trump", item)])
        report = asyncio.run(box.deliver())
        assert report.sent == 2 and not report.errors
        [message], [mail] = slack.messages, smtp.messages
        document = "https://ecf.cand.uscourts.gov/doc1/035125800112"
        docket = "https://ecf.cand.uscourts.gov/cgi-bin/DktRpt.pl?449755"
        assert f"<{document}|Document>" in message.everything() and f"<{docket}|Docket>" in message.everything()
        assert mail.message["Subject"] == f"New filing #112 in {SF}"
        for text in (message.everything(), mail.part("plain"), mail.part("html")):
            for expected in (
                SF,
                "3:25-cv-01350",
                "#112",
                "2025-04-24",
                "Order granting motion for preliminary injunction",
                "Signed by Judge William H. Orrick",
                document,
                docket,
                "courtlistener",
            ):
                assert expected in text, expected
        assert {r["status"] for r in box.rows()} == {"sent"}
    finally:
        box.close()


def test_check_end_to_end_posts_the_new_item_to_slack(server, slack, write_config, monkeypatch):
    """`monitor check` on a replayed feed: the baseline is silent, the one new item is one Slack message, once."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    server.set("/news/rss", DOJ)
    path = write_config(f"""
notifiers:
  newsroom: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "#sanctuary-cases", base_url: "{slack.base_url}"}}
watches:
  - id: doj-news
    type: feed
    url: {server.url("/news/rss")}
    name: DOJ news
""")
    first = run_cli("check", "--config", str(path))
    assert first.code == 0 and slack.messages == []

    server.set("/news/rss", with_items(DOJ, [rss_item(1, "Justice Department Sues Illinois Over Sanctuary Laws")]))
    second = run_cli("check", "--config", str(path))
    assert second.code == 0, second.out + second.err
    assert "deliveries: 1 sent" in second.out
    [message] = slack.messages
    assert "New from DOJ news: Justice Department Sues Illinois Over Sanctuary Laws" in message.everything()
    assert "<https://www.justice.gov/opa/pr/statement-1|" in message.everything()
    assert "Statement 1 &amp; its summary." in message.everything()
    assert SLACK_TOKEN not in second.out + second.err

    third = run_cli("check", "--config", str(path))
    assert third.code == 0 and len(slack.messages) == 1


def test_check_with_40_new_items_posts_one_digest(server, slack, write_config, monkeypatch):
    """40 new items found by one check are one digest message within Slack's limits, and all 40 are marked sent."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    server.set("/news/rss", DOJ)
    path = write_config(f"""
notifiers:
  newsroom: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "#sanctuary-cases", base_url: "{slack.base_url}"}}
watches:
  - {{id: doj-news, type: feed, url: "{server.url("/news/rss")}"}}
""")
    assert run_cli("check", "--config", str(path)).code == 0
    server.set("/news/rss", with_items(DOJ, [rss_item(n) for n in range(1, 41)]))
    result = run_cli("check", "--config", str(path))
    assert result.code == 0, result.out + result.err
    assert "deliveries: 40 sent" in result.out
    [digest] = slack.messages
    assert "40 new items: doj-news" in digest.everything()
    assert all(f"statement-{n}|" in digest.everything() for n in range(1, 41))
    assert not [r for r in slack.requests if r.error]  # the fake Slack checked the block limits


# ---------------------------------------------------------------- killed while delivering

WORKER = '''
"""`monitor check` as a daemon restarted under the same identity runs it: check once, deliver what is due."""
import asyncio
import sys

from monitor.app import runtime
from monitor.config import load


async def main(path: str, owner: str) -> None:
    config = load(path)
    async with runtime(config, owner=owner) as rt:
        await rt.engine.run_cycle()
        report = await rt.dispatcher.deliver_due()
    print("delivered", report.to_dict(), flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2]))
'''


def _kill_setup(tmp_path: Path, server, slack) -> tuple[list[str], dict[str, str], list[str]]:
    urls = [f"https://www.justice.gov/opa/pr/statement-{n}" for n in (1, 2, 3)]
    server.set(
        "/news/rss",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>DOJ</title>'
        + b"".join(rss_item(n) for n in (1, 2, 3))
        + b"</channel></rss>",
    )
    (tmp_path / "watches.yaml").write_text(f"""
state: sqlite:///{tmp_path / "state.db"}
notifiers:
  newsroom: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "#sanctuary-cases", base_url: "{slack.base_url}"}}
watches:
  - {{id: doj-news, type: feed, url: "{server.url("/news/rss")}", notify_baseline: true}}
""")
    (tmp_path / "worker.py").write_text(WORKER)
    command = [sys.executable, str(tmp_path / "worker.py"), str(tmp_path / "watches.yaml"), "worker-1"]
    env = {**os.environ, "SLACK_BOT_TOKEN": SLACK_TOKEN, "PYTHONPATH": str(REPO)}
    return command, env, urls


def _run_until_held(command: list[str], env: dict[str, str], hold, cwd: Path) -> None:
    """Start the worker, wait until its second post is held in flight at the server, then SIGKILL it."""
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if not hold.arrived.wait(timeout=60):
            out, err = process.communicate(timeout=5) if process.poll() is not None else (b"", b"")
            pytest.fail(f"the worker never reached its second post: {out.decode()} {err.decode()}")
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _count(slack: SlackServer, urls: list[str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for message in slack.messages:
        for url in urls:
            if f"<{url}|" in message.everything():
                counts[url] += 1
    return {url: counts[url] for url in urls}


@pytest.mark.slow
def test_killed_while_a_post_is_in_flight_each_alert_arrives_exactly_once(tmp_path, server, slack):
    """SIGKILL while a post is in flight (before Slack accepted it): after a restart every alert arrives exactly
    once."""
    command, env, urls = _kill_setup(tmp_path, server, slack)
    hold = slack.hold(2, accept=False)
    _run_until_held(command, env, hold, tmp_path)
    slack.release()
    assert hold.done.wait(timeout=10)
    assert len(slack.abandoned) == 1 and len(slack.messages) == 1  # one posted, one died in flight, one never sent

    restarted = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr.decode()
    assert _count(slack, urls) == dict.fromkeys(urls, 1)
    box = Outbox.open(config(tmp_path, "  newsroom: {type: console}"))
    try:
        assert [r["status"] for r in box.rows()] == ["sent", "sent", "sent"]
    finally:
        box.close()


@pytest.mark.slow
def test_killed_after_slack_accepted_only_that_alert_is_repeated(tmp_path, server, slack):
    """SIGKILL after Slack accepted a post but before the outbox marked it: that alert (only) is sent again, none lost.

    This is DESIGN invariant 1's one window for a duplicate: Slack has no idempotency key to close it.
    """
    command, env, urls = _kill_setup(tmp_path, server, slack)
    hold = slack.hold(2, accept=True)
    _run_until_held(command, env, hold, tmp_path)
    slack.release()
    assert hold.done.wait(timeout=10)
    held_url = next(
        url for url in urls if f"<{url}|" in hold.request.payload["text"] + str(hold.request.payload["blocks"])
    )

    restarted = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr.decode()
    assert _count(slack, urls) == {url: 2 if url == held_url else 1 for url in urls}
