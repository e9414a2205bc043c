"""Daemon logging: text or JSON lines, the watch id on every line inside a check, secrets masked everywhere."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from monitor import logs
from tests.support.daemon import DaemonProcess


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in logs._QUIET + logs._SILENT}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in quiet.items():
        logging.getLogger(name).setLevel(lvl)
    logging.captureWarnings(False)


def test_format_follows_the_setting_and_the_terminal():
    """`auto` writes text to a terminal and JSON lines elsewhere; `text` and `json` force one."""
    assert logs.use_json("auto", Terminal()) is False
    assert logs.use_json("auto", io.StringIO()) is True
    assert logs.use_json("json", Terminal()) is True
    assert logs.use_json("text", io.StringIO()) is False


def test_json_lines_carry_the_watch_of_the_check_in_progress(restore_logging):
    """Inside a check every line carries its watch id, whichever logger writes it; outside, none."""
    stream = io.StringIO()
    logs.setup(0, "json", stream=stream)

    async def check(watch_id: str) -> None:
        with logs.watch_context(watch_id):
            await asyncio.sleep(0.01)
            logging.getLogger("watchers.feed").info("parsed %d items", 3)

    async def both() -> None:
        await asyncio.gather(check("sf-v-trump"), check("us-v-illinois"))
        logging.getLogger("monitor.engine").warning("failed", extra={"watch": "doj-news"})
        logging.getLogger("monitor.daemon").info("monitor running", extra={"listen": "127.0.0.1:9090"})

    asyncio.run(both())
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["logger"], r["msg"], r.get("watch")) for r in records] == [
        ("watchers.feed", "parsed 3 items", "sf-v-trump"),
        ("watchers.feed", "parsed 3 items", "us-v-illinois"),
        ("monitor.engine", "failed", "doj-news"),
        ("monitor.daemon", "monitor running", None),
    ]
    assert records[3]["listen"] == "127.0.0.1:9090" and records[0]["level"] == "info" and records[0]["ts"]


def test_text_lines_are_readable(restore_logging):
    """Text lines read `time LEVEL logger [watch]: message`."""
    stream = Terminal()
    logs.setup(0, "auto", stream=stream)
    with logs.watch_context("doj-news"):
        logging.getLogger("monitor.engine").warning("check failed: %s", "HTTP 503")
    line = stream.getvalue().strip()
    assert line.endswith("WARNING monitor.engine [doj-news]: check failed: HTTP 503"), line


def test_secrets_are_masked_in_messages_arguments_extras_and_tracebacks(restore_logging):
    """A configured secret never reaches the log, from any logger, in any part of a record."""
    stream = io.StringIO()
    secret = "xoxb-1234-abcdef-secret"
    logs.setup(2, "json", {secret}, stream=stream)
    logging.getLogger("httpx").info("HTTP Request: GET https://slack.com/api?token=%s", secret)
    logging.getLogger("notifiers.slack").warning("refused", extra={"url": f"https://x/?t={secret}"})
    try:
        raise RuntimeError(f"bad token {secret}")
    except RuntimeError:
        logging.getLogger("monitor.dispatch").exception("notifier %s failed", "newsroom")
    out = stream.getvalue()
    assert secret not in out
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["msg"] == "HTTP Request: GET https://slack.com/api?token=***"
    assert records[1]["url"] == "https://x/?t=***"
    assert "RuntimeError: bad token ***" in records[2]["exc"]


def test_the_daemon_never_logs_a_secret_from_the_config(server, write_config, tmp_path):
    """A token in a watch URL is masked in debug logs (httpx logs every URL) and in a source-down alert."""
    secret = "feed-token-7d1c9a"
    server.set(
        "/feed.xml",
        b"<rss version='2.0'><channel><title>t</title><item><title>A</title>"
        b"<link>https://example.org/a</link></item></channel></rss>",
    )
    server.set("/down.xml", b"no", status=500, content_type="text/plain")
    config = write_config(
        "daemon: {log_format: json, down_after: 1s}\nnotifiers: {terminal: {type: console}}\nwatches:\n"
        f"  - {{id: doj, type: feed, every: 1s, url: '{server.url('/feed.xml')}?key=${{FEED_KEY}}'}}\n"
        f"  - {{id: down, type: feed, every: 1s, url: '{server.url('/down.xml')}?key=${{FEED_KEY}}'}}\n"
    )
    daemon = DaemonProcess(config, tmp_path, env={"FEED_KEY": secret}, args=("-vv",))
    try:
        daemon.wait_log("baseline recorded", watch="doj")
        daemon.wait_log("key=***")
        daemon.wait_stdout("[Source down] down", timeout=8)
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert any(r.path.endswith(f"key={secret}") for r in server.requests)  # it was really used
    assert "key=***" in daemon.stdout()
    assert secret not in daemon.stderr() and secret not in daemon.stdout()


def test_secret_named_environment_variables_are_masked_too():
    """Values of variables named like secrets are masked even if no config references them; short or plain ones are
    not."""
    env = {
        "COURTLISTENER_TOKEN": "cl-0123456789",
        "SMTP_PASSWORD": "pw-abcdef",
        "SLACK_BOT_TOKEN": "",
        "HOME": "/home/monitor",
        "MY_API_KEY": "k-987654",
        "PIN_SECRET": "123",
    }
    assert logs.environment_secrets(env) == {"cl-0123456789", "pw-abcdef", "k-987654"}
