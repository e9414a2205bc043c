"""The Apprise notifier through the real outbox, with Apprise's own json:// and form:// services posting to a
real HTTP server on 127.0.0.1 (the replay server records each request)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from apprise.conversion import markdown_to_html

from monitor.errors import ConfigError
from monitor.models import Change, Item, utcnow
from monitor.store import new_uid
from tests.conftest import run_cli
from tests.notifiers import SF, Outbox, added, config, deliver, filing, release
from tests.support.http_server import Route

PASSWORD = "literal-pass-1234"  # written into the URL itself, not taken from the environment
TOKEN = "env-token-5678"


def apprise_config(tmp_path, urls: list[str], extra: str = "", env: dict[str, str] | None = None):
    listed = ", ".join(json.dumps(u) for u in urls)
    return config(tmp_path, f"  phones: {{type: apprise, urls: [{listed}]{extra}}}", env=env)


def local(server, scheme: str, path: str) -> str:
    return f"{scheme}://127.0.0.1:{server.port}{path}"


def bodies(server, path: str) -> list[dict]:
    return [json.loads(r.body) for r in server.requests if r.path.split("?")[0] == path]


def test_new_filing_reaches_json_and_form_receivers(tmp_path, server):
    """One new filing is one message to each URL: the title says what happened, the body has the facts and links."""
    server.set("/json", b"{}", content_type="application/json")
    server.set("/form", b"ok", content_type="text/plain")
    box = Outbox.open(
        apprise_config(
            tmp_path,
            [local(server, "json", "/json"), local(server, "form", "/form")],
            extra=', title_prefix: "[cases]"',
        )
    )
    try:
        item = filing(
            112,
            text="Order granting motion for preliminary injunction",
            description="ORDER GRANTING PRELIMINARY INJUNCTION. Signed by Judge William H. Orrick.",
        )
        report = deliver(box, added("sf-v-trump", item.with_matched(("sanctuary",))))
        assert report.sent == 1 and not report.errors
        [sent] = bodies(server, "/json")
        assert sent["title"] == f"[cases] New filing #112 in {SF}" and sent["type"] == "info"
        for expected in (
            "Order granting motion for preliminary injunction",
            "Court: N.D. Cal. · 3:25-cv-01350",
            "Entry: #112",
            "Signed by Judge William H. Orrick",
            "Document: https://ecf.cand.uscourts.gov/doc1/035125800112",
            "Matched: sanctuary",
        ):
            assert expected in sent["message"], expected
        [form] = [r for r in server.requests if r.path == "/form"]
        fields = parse_qs(form.body.decode())
        assert fields["title"] == [f"[cases] New filing #112 in {SF}"] and "Entry: #112" in fields["message"][0]
        [row] = box.rows()
        assert row["status"] == "sent" and row["result"] == {"services": ["JSON", "Form"]}
    finally:
        box.close()


def test_500_is_retried_and_the_retry_goes_only_to_the_url_that_failed(tmp_path, server):
    """A receiver answering 500 leaves the delivery pending with Apprise's reason; the retry goes only to that URL,
    so the URL that took the alert gets it once."""
    server.set("/ok", b"{}", content_type="application/json")
    server.sequence(
        "/flaky",
        [
            Route(b"upstream trouble", status=500, content_type="text/plain"),
            Route(b"{}", content_type="application/json"),
        ],
    )
    box = Outbox.open(apprise_config(tmp_path, [local(server, "json", "/ok"), local(server, "json", "/flaky")]))
    try:
        report = deliver(box, added("doj-news", release("Justice Department Sues Illinois")))
        [row] = box.rows()
        assert report.retrying == 1 and row["status"] == "pending" and row["attempts"] == 1
        assert "urls[1] (JSON) failed" in row["last_error"] and "error=500" in row["last_error"]
        assert "urls[0]" not in row["last_error"]

        report = asyncio.run(box.deliver(utcnow() + timedelta(hours=2)))
        assert report.sent == 1 and box.rows()[0]["status"] == "sent"
        assert len(bodies(server, "/ok")) == 1 and len(bodies(server, "/flaky")) == 2
    finally:
        box.close()


@pytest.mark.parametrize("status, outcome", [(401, "failed"), (404, "failed"), (429, "pending"), (503, "pending")])
def test_refusals_fail_at_once_and_trouble_is_retried(tmp_path, server, status, outcome):
    """401/404 (a revoked token, a deleted webhook) fail the delivery on the first try; 429 and 5xx are retried."""
    server.set("/hook", b"no", status=status, content_type="text/plain")
    box = Outbox.open(apprise_config(tmp_path, [local(server, "json", "/hook")]))
    try:
        deliver(box, added("sf-v-trump", filing(1)))
        [row] = box.rows()
        assert row["status"] == outcome and row["attempts"] == 1 and f"error={status}" in row["last_error"]
    finally:
        box.close()


def test_unreachable_receiver_is_retried(tmp_path):
    """Connection refused is a temporary failure, with Apprise's reason."""
    box = Outbox.open(apprise_config(tmp_path, ["json://127.0.0.1:9/hook"]))
    try:
        report = deliver(box, added("sf-v-trump", filing(1)))
        assert report.retrying == 1 and "connection error" in box.rows()[0]["last_error"].lower()
    finally:
        box.close()


def test_url_credentials_are_masked_in_errors_logs_and_stored_rows(tmp_path, server, write_config, monkeypatch, caplog):
    """A URL's password (written literally) and a token from the environment are used, yet never appear in the
    stored error, the logs or `monitor deliveries`: every URL joins the configuration's secrets."""
    server.set("/down", b"down", status=500, content_type="text/plain")
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    url = f"json://monitor:{PASSWORD}@127.0.0.1:{server.port}/down?+X-Token=${{HOOK_TOKEN}}"
    path = write_config(f'notifiers:\n  phones: {{type: apprise, urls: ["{url}"]}}\nwatches: []\n')
    cfg = apprise_config(tmp_path, [url], env={"HOOK_TOKEN": TOKEN})
    assert PASSWORD in cfg.secrets and TOKEN in cfg.secrets
    box = Outbox.open(cfg)
    try:
        with caplog.at_level(logging.DEBUG):
            deliver(box, added("sf-v-trump", filing(1)))
        [request] = server.requests
        assert request.headers["X-Token"] == TOKEN and request.headers["Authorization"].startswith("Basic ")
        [row] = box.rows()
        assert row["status"] == "pending" and "error=500" in row["last_error"]
        for text in (row["last_error"], caplog.text):
            assert PASSWORD not in text and TOKEN not in text
        shown = run_cli("deliveries", "--config", str(path)).out + run_cli("validate", "--config", str(path)).out
        assert PASSWORD not in shown and TOKEN not in shown
    finally:
        box.close()


def test_unusable_urls_are_configuration_errors_that_do_not_quote_them(tmp_path, write_config):
    """`monitor validate` names each bad URL by its place: an unknown service, a URL its service cannot use,
    something that is not a URL; the URL (which holds credentials) is never echoed."""
    path = write_config("""
notifiers:
  phones:
    type: apprise
    urls: ["ntfys://ntfy.sh/court-alerts", "nosuch://secret-token-5678/x", "discord://only-an-id-9999",
           "secret-word-4321"]
watches: []
""")
    result = run_cli("validate", "--config", str(path))
    assert result.code == 2
    assert "notifiers.phones.urls[1]: Apprise has no service nosuch://" in result.err
    assert "notifiers.phones.urls[2]: not a valid discord:// URL" in result.err
    assert "notifiers.phones.urls[3]: not an Apprise URL" in result.err
    assert "urls[0]" not in result.err
    for secret in ("secret-token-5678", "only-an-id-9999", "secret-word-4321"):
        assert secret not in result.err + result.out
    with pytest.raises(ConfigError) as caught:
        apprise_config(tmp_path, ["json://127.0.0.1/x"], extra=", format: html")
    assert "'text' or 'markdown'" in str(caught.value)


def test_markdown_keeps_source_text_literal(tmp_path, server):
    """format: markdown labels links, yet a title cannot add a link, an image or HTML of its own."""
    server.set("/json", b"{}", content_type="application/json")
    box = Outbox.open(apprise_config(tmp_path, [local(server, "json", "/json")], extra=", format: markdown"))
    try:
        item = release(
            "Statement [click](https://evil.example) <img src=x onerror=alert(1)> *now*",
            url="https://www.justice.gov/opa/pr/statement",
        )
        deliver(box, added("doj-news", item))
        [sent] = bodies(server, "/json")
        message = sent["message"]
        assert r"\[click\](https://evil.example) \<img src=x onerror=alert(1)\> \*now\*" in message
        shown = markdown_to_html(message)  # as a service that renders Markdown shows it
        assert "<img" not in shown and 'href="https://evil.example"' not in shown and "<em>now" not in shown
        assert '<a href="https://www.justice.gov/opa/pr/statement">Read it</a>' in shown
        assert "[Read it](https://www.justice.gov/opa/pr/statement)" in message
        assert "- **Agency:** DOJ Office of Public Affairs" in message
        assert r"\<img" in sent["title"]
    finally:
        box.close()


def test_source_down_is_sent_as_a_warning(tmp_path, server):
    """A "source down" alert goes out with Apprise's warning type, so services that colour types show it."""
    server.set("/json", b"{}", content_type="application/json")
    box = Outbox.open(apprise_config(tmp_path, [local(server, "json", "/json")]))
    try:
        item = Item(
            key="status:doj-news",
            title="DOJ news has been failing since 2025-04-24 10:00 UTC",
            summary="HTTP 503 from www.justice.gov",
        )
        deliver(box, Change("doj-news", "source_down", item, detected_at=utcnow(), uid=new_uid()))
        [sent] = bodies(server, "/json")
        assert sent["type"] == "warning" and sent["title"].startswith("Source down: DOJ news")
        assert "HTTP 503" in sent["message"]
    finally:
        box.close()


def test_daily_digest_is_one_message_at_the_boundary_grouped_by_case_then_agency(tmp_path, server):
    """digest: daily holds deliveries in the outbox until daily_at, then sends one summary per URL."""
    server.set("/json", b"{}", content_type="application/json")
    box = Outbox.open(apprise_config(tmp_path, [local(server, "json", "/json")], extra=", digest: daily"))
    try:
        at = datetime(2025, 4, 24, 12, 0, tzinfo=UTC)
        box.record(
            [
                added("doj-news", release("Justice Department Sues Illinois"), at=at),
                added("sf-v-trump", filing(112, text="Order granting preliminary injunction"), at=at),
            ],
            at=at,
        )
        assert deliver(box, now=at + timedelta(hours=1)).sent == 0 and server.requests == []
        assert deliver(box, now=datetime(2025, 4, 25, 8, 0, 1, tzinfo=UTC)).sent == 2
        [sent] = bodies(server, "/json")
        assert sent["title"] == "Daily summary: 2 new items: DOJ news, SF v. Trump"
        message = sent["message"]
        assert message.startswith("Thu 24 Apr 08:00 – Fri 25 Apr 08:00 UTC")
        assert (
            message.index(f"{SF} · N.D. Cal. · 3:25-cv-01350 (1)")
            < message.index("#112 Order granting")
            < message.index("DOJ Office of Public Affairs (1)")
            < message.index("Justice Department Sues Illinois")
        )
    finally:
        box.close()


def test_test_notifier_sends_and_reports_failure_without_secrets(server, write_config):
    """`monitor test-notifier` sends a test message to each URL; a failing URL is reported, its password masked."""
    server.set("/json", b"{}", content_type="application/json")
    server.set("/down", b"down", status=500, content_type="text/plain")
    path = write_config(f"""
notifiers:
  phones: {{type: apprise, urls: ["{local(server, "json", "/json")}"]}}
  broken: {{type: apprise, urls: ["json://monitor:{PASSWORD}@127.0.0.1:{server.port}/down"]}}
watches: []
""")
    result = run_cli("test-notifier", "phones", "--config", str(path))
    assert result.code == 0, result.err
    assert "Test message" in bodies(server, "/json")[0]["title"]
    result = run_cli("test-notifier", "broken", "--config", str(path))
    assert result.code == 1 and "urls[0] (JSON) failed" in result.err and "error=500" in result.err
    assert PASSWORD not in result.err + result.out
