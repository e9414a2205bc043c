"""Promises the README makes, held by `monitor check` too: Retry-After, and secrets that never reach storage.

Against the replay server on 127.0.0.1; the state is a real SQLite file, read back directly.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from tests.conftest import check_json, run_cli
from tests.support.http_server import Route

TOKEN = "s3cr3t-token-value-9f8e7d"


def feed(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://example.org/{t.replace(' ', '-')}</link></item>" for t in titles
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Court</title>{items}</channel></rss>".encode()


def everything_stored(tmp_path) -> str:
    """Every row of every table of the state database, as text."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        with engine.connect() as conn:
            tables = [r[0] for r in conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'"))]
            return "\n".join(str(row) for table in tables for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')))
    finally:
        engine.dispose()


def test_check_honours_retry_after_and_force_overrides_it(server, write_config):
    """After a 429 with Retry-After: 3600, `monitor check` does not fetch again and says why; `--force` fetches
    and says it did so despite the wait."""
    server.sequence(
        "/feed",
        [
            Route(b"slow down", status=429, headers={"Retry-After": "3600"}, content_type="text/plain"),
            Route(feed("Complaint")),
        ],
    )
    config = write_config(f"watches:\n  - {{id: court, type: feed, url: '{server.url('/feed')}'}}\n")
    first = check_json(config)
    assert first["exit"] == 1 and "429" in first["watch"]["error"]
    for _ in range(2):
        again = check_json(config)
        assert again["exit"] == 0 and again["watch"]["unchanged"]
        assert "asked to wait until" in again["watch"]["warnings"][0] and "--force" in again["watch"]["warnings"][0]
    assert server.count("/feed") == 1
    forced = check_json(config, "--force")
    assert server.count("/feed") == 2
    assert forced["exit"] == 0 and forced["watch"]["baseline"]
    assert any("(--force)" in w for w in forced["watch"]["warnings"])


def test_a_token_in_the_watch_url_never_reaches_items_alerts_or_history(server, write_config, tmp_path, monkeypatch):
    """A listing fetched with `?token=...` whose links are relative (`#item-3`) would store the token in each
    item's link: it is masked where items enter the pipeline, so the database, the alert, `history --json`
    and the check report never hold it."""
    monkeypatch.setenv("LIST_TOKEN", TOKEN)
    page = (
        "<html><body><ul>"
        + "".join(f'<li class="r"><a href="#item-{n}">Release {n}</a></li>' for n in range(3))
        + "</ul></body></html>"
    )
    server.set("/list", page, content_type="text/html")
    config = write_config(
        'watches:\n  - id: county\n    type: html\n    url: "' + server.url("/list") + '?token=${LIST_TOKEN}"\n'
        "    item: li.r\n    key: title\n    fields: {title: a, link: 'a @href'}\n"
    )
    assert check_json(config)["exit"] == 0
    server.set(
        "/list",
        page.replace("<ul>", '<ul><li class="r"><a href="#item-9">Release 9</a></li>'),
        content_type="text/html",
    )
    result = run_cli("check", "--config", str(config), "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    [change] = report["watches"][0]["changes"]
    assert change["item"]["url"].endswith("token=***#item-9")
    assert TOKEN not in result.out + result.err
    history = run_cli("history", "--config", str(config), "--json")
    assert TOKEN not in history.out and "Release 9" in history.out
    assert TOKEN not in everything_stored(tmp_path)
    assert check_json(config)["watch"]["changes"] == []  # masked the same way each time: no false update


def test_a_receiver_echoing_our_credentials_does_not_get_them_stored(server, write_config, tmp_path, monkeypatch):
    """A webhook receiver whose 500 page echoes the request's Authorization header: the delivery's recorded
    error, `deliveries --json` and the check output never hold the credential."""
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    server.set("/feed", feed("Complaint"))
    server.set(
        "/hook",
        f"Internal error. Request headers: Authorization: Bearer {TOKEN}",
        status=500,
        content_type="text/plain",
    )
    config = write_config(
        f"notifiers:\n  cms:\n    type: webhook\n    url: {server.url('/hook')}\n"
        '    headers: {Authorization: "Bearer ${HOOK_TOKEN}"}\n'
        f"watches:\n  - {{id: court, type: feed, url: '{server.url('/feed')}'}}\n"
    )
    assert check_json(config)["exit"] == 0
    server.set("/feed", feed("Motion", "Complaint"))
    result = run_cli("check", "--config", str(config), "--json")
    assert result.code == 1  # the delivery failed and will be retried
    assert "HTTP 500" in result.out and TOKEN not in result.out + result.err
    deliveries = run_cli("deliveries", "--config", str(config), "--json")
    [row] = json.loads(deliveries.out)
    assert "Authorization: ***" in row["last_error"] and TOKEN not in deliveries.out
    assert TOKEN not in everything_stored(tmp_path)


def test_a_literal_header_value_is_a_secret_too(server, write_config, tmp_path):
    """A credential written into the config itself (not through ${VAR}) is masked the same way."""
    server.set("/feed", feed("Complaint"))
    server.set("/hook", f"echo: Bearer {TOKEN}", status=500, content_type="text/plain")
    config = write_config(
        f"notifiers:\n  cms:\n    type: webhook\n    url: {server.url('/hook')}\n"
        f'    headers: {{Authorization: "Bearer {TOKEN}"}}\n'
        f"watches:\n  - {{id: court, type: feed, url: '{server.url('/feed')}', notify_baseline: true}}\n"
    )
    result = run_cli("check", "--config", str(config), "--json")
    assert result.code == 1 and TOKEN not in result.out + result.err
    assert TOKEN not in everything_stored(tmp_path)
