"""The webhook notifier against a real HTTP server on 127.0.0.1, through the real outbox."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest

from monitor.models import utcnow
from tests.notifiers import SF, Outbox, added, config, deliver, filing, updated

HOOK_TOKEN = "hook-secret-4242"


@pytest.fixture
def outbox(tmp_path, server):
    box = Outbox.open(
        config(
            tmp_path,
            f"""  hook: {{type: webhook, url: "{server.url("/hook")}",
    headers: {{Authorization: "Bearer ${{HOOK_TOKEN}}", X-Team: newsroom}}}}""",
            env={"HOOK_TOKEN": HOOK_TOKEN},
        )
    )
    yield box
    box.close()


def test_each_change_is_posted_as_json_with_its_idempotency_key(outbox, server):
    """Each change is one POST: the change as JSON plus the watch name, with Idempotency-Key and configured headers."""
    server.set("/hook", b"", status=204)
    change = added("sf-v-trump", filing(112, text="Order granting motion for preliminary injunction"))
    report = deliver(outbox, change)
    assert report.sent == 1
    [request] = server.requests
    assert request.method == "POST" and request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == f"{change.uid}:hook"
    assert request.headers["Authorization"] == f"Bearer {HOOK_TOKEN}" and request.headers["X-Team"] == "newsroom"
    body = json.loads(request.body)
    assert body["uid"] == change.uid and body["kind"] == "added" and body["watch"] == "sf-v-trump"
    assert body["watch_name"] == "SF v. Trump" and body["idempotency_key"] == f"{change.uid}:hook"
    assert body["item"]["fields"]["entry_number"] == "112" and body["item"]["group"] == "case:cand:3:25-cv-01350"
    assert body["message"]["subject"] == f"New filing #112 in {SF}"
    assert outbox.rows()[0]["status"] == "sent"


def test_an_update_carries_before_and_after(outbox, server):
    """An update's JSON carries `before` and each changed field's before and after."""
    server.set("/hook", b"ok", status=200)
    deliver(
        outbox,
        updated("sf-v-trump", filing(7, text="Motion"), filing(7, text="Amended motion"), ["fields.short_description"]),
    )
    body = json.loads(server.requests[0].body)
    assert body["changed"] == {"fields.short_description": {"before": "Motion", "after": "Amended motion"}}
    assert body["before"]["fields"]["short_description"] == "Motion"


def test_429_honours_retry_after_and_retries_with_the_same_key(outbox, server):
    """429 with Retry-After leaves the delivery pending no sooner than asked; the retry sends the same
    Idempotency-Key."""
    server.set("/hook", b"slow down", status=429, headers={"Retry-After": "120"})
    before = utcnow()
    report = deliver(outbox, added("sf-v-trump", filing(1)))
    [row] = outbox.rows()
    assert report.retrying == 1 and row["status"] == "pending" and "429" in row["last_error"]
    assert row["next_attempt_at"] >= before + timedelta(seconds=120)

    server.set("/hook", b"", status=200)
    report = asyncio.run(outbox.deliver(utcnow() + timedelta(seconds=121)))
    assert report.sent == 1
    first, second = server.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


@pytest.mark.parametrize(
    "status, outcome",
    [
        (500, "pending"),
        (503, "pending"),
        (404, "failed"),
        (400, "failed"),
        (401, "failed"),
        (301, "failed"),
        (202, "sent"),
    ],
)
def test_status_codes_map_to_outcomes(outbox, server, status, outcome, caplog):
    """2xx is sent, 5xx is retried later, 3xx and other 4xx fail at once; no secret header value is ever shown."""
    server.set("/hook", b"<html>nope</html>", status=status, headers={"Location": "https://elsewhere.example/"})
    with caplog.at_level(logging.DEBUG):
        deliver(outbox, added("sf-v-trump", filing(1)))
    [row] = outbox.rows()
    assert row["status"] == outcome and len(server.requests) == 1
    if outcome != "sent":
        assert str(status) in row["last_error"]
        assert HOOK_TOKEN not in row["last_error"] and HOOK_TOKEN not in caplog.text


def test_unreachable_receiver_is_transient(tmp_path):
    """Connection refused is a temporary failure: the delivery stays pending."""
    box = Outbox.open(config(tmp_path, '  hook: {type: webhook, url: "http://127.0.0.1:9/hook"}'))
    try:
        report = deliver(box, added("sf-v-trump", filing(1)))
        assert report.retrying == 1 and "could not reach http://127.0.0.1:9" in box.rows()[0]["last_error"]
    finally:
        box.close()


def test_timeout_is_transient(tmp_path, server):
    """A receiver slower than `timeout` is a temporary failure."""
    server.set("/hook", b"", status=200, delay=1.5)
    box = Outbox.open(config(tmp_path, f'  hook: {{type: webhook, url: "{server.url("/hook")}", timeout: 0.3}}'))
    try:
        report = deliver(box, added("sf-v-trump", filing(1)))
        assert report.retrying == 1 and "no answer" in box.rows()[0]["last_error"]
    finally:
        box.close()


def test_config_rejects_bad_url_and_header(tmp_path):
    """A non-HTTP url or a header name with a colon is a configuration error."""
    from monitor.errors import ConfigError

    for block in (
        '  hook: {type: webhook, url: "ftp://example.org/x"}',
        '  hook: {type: webhook, url: "https://example.org/x", headers: {"Bad: name": x}}',
    ):
        with pytest.raises(ConfigError):
            config(tmp_path, block)
