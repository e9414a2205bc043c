"""A CLI that tells the truth: every option explained, unknown ids and watches named as such, one exit
status for an unusable database, warnings shown, times with their zone, and no secret in any output."""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import _parser
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[1]
SECRET = "tok-7c1f3e9a52b84d"
UTC_TEXT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def rss(*links: str) -> bytes:
    items = "".join(f"<item><title>Order {n}</title><link>{link}</link></item>" for n, link in enumerate(links, 1))
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Court</title>{items}</channel></rss>".encode()


# ---------------------------------------------------------------- help


def test_every_option_of_every_command_has_help():
    """Walks the whole argparse tree: every command and every option or argument of each says what it does."""
    parser = _parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert {c.dest for c in commands._choices_actions} == set(commands.choices)
    missing = [c.dest for c in commands._choices_actions if not c.help]
    for name, sub in [("monitor", parser), *commands.choices.items()]:
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


# ---------------------------------------------------------------- the outbox


@pytest.fixture
def outbox(server, write_config):
    """One filing, three notifiers: the console sends it, a receiver answering 400 fails it, one answering 500
    leaves it pending for a retry."""
    server.set("/feed.xml", rss("https://ecf.example.gov/doc/1"))
    server.set("/refuses", b"bad request", status=400, content_type="text/plain")
    server.set("/down", b"down", status=500, content_type="text/plain")
    path = write_config(f"""
notifiers:
  terminal: {{type: console}}
  refuses: {{type: webhook, url: "{server.url("/refuses")}"}}
  down: {{type: webhook, url: "{server.url("/down")}"}}
watches:
  - {{id: court, type: feed, url: "{server.url("/feed.xml")}", notify_baseline: true}}
""")
    assert run_cli("check", "--config", str(path)).code == 1  # one failed, one to retry
    return path


def deliveries(path: Path, *args: str) -> list[dict]:
    result = run_cli("deliveries", "--config", str(path), "--json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_deliveries_shows_what_the_status_asks_for(outbox):
    """Default: pending and failed; `--status sent` the sent ones; `--status all` all three, newest first."""
    assert sorted(d["status"] for d in deliveries(outbox)) == ["failed", "pending"]
    assert [(d["status"], d["notifier"]) for d in deliveries(outbox, "--status", "sent")] == [("sent", "terminal")]
    everything = deliveries(outbox, "--status", "all")
    assert sorted(d["status"] for d in everything) == ["failed", "pending", "sent"]
    assert [d["id"] for d in everything] == sorted((d["id"] for d in everything), reverse=True)
    text = run_cli("deliveries", "--config", str(outbox), "--status", "all").out
    assert re.search(r"sent +terminal .* sent \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)


def test_deliveries_limit_says_when_there_are_more(outbox):
    """`--limit 2` shows the newest two and says how many there are in all."""
    assert len(deliveries(outbox, "--status", "all", "--limit", "2")) == 2
    text = run_cli("deliveries", "--config", str(outbox), "--status", "all", "--limit", "2").out
    assert "(the newest 2 of 3; --limit N shows more)" in text
    assert run_cli("deliveries", "--config", str(outbox), "--limit", "0").code == 2


def test_retry_of_an_unknown_delivery_id_says_so_and_retries_nothing(outbox):
    """`retry 999` exits 2 naming the id; the failed delivery stays failed, untouched."""
    result = run_cli("retry", "999", "--config", str(outbox))
    assert result.code == 2
    assert "no delivery #999" in result.err and "nothing was retried" in result.err
    assert [d["attempts"] for d in deliveries(outbox, "--status", "failed")] == [1]


def test_retry_of_a_delivery_that_did_not_fail_says_so(outbox):
    """Retrying a sent delivery is not an error, but the command says there was nothing to retry."""
    [sent] = deliveries(outbox, "--status", "sent")
    result = run_cli("retry", str(sent["id"]), "--config", str(outbox))
    assert result.code == 0
    assert f"delivery #{sent['id']} is sent, not failed: nothing to retry" in result.err
    assert "0 failed deliveries queued again" in result.out


def test_times_say_their_zone_in_text_and_json(outbox):
    """status, history and deliveries print UTC and say so; their JSON times carry +00:00."""
    status = run_cli("status", "--config", str(outbox))
    assert UTC_TEXT.search(status.out.splitlines()[1])
    row = json.loads(run_cli("status", "--config", str(outbox), "--json").out)["watches"][0]
    assert row["last_check"].endswith("+00:00") and row["last_change"].endswith("+00:00")
    history = run_cli("history", "--config", str(outbox))
    assert UTC_TEXT.match(history.out)
    [change] = json.loads(run_cli("history", "--config", str(outbox), "--json").out)
    assert change["detected_at"].endswith("+00:00")
    for delivery in deliveries(outbox, "--status", "all"):
        assert delivery["next_attempt_at"].endswith("+00:00")
        assert delivery["change"]["detected_at"].endswith("+00:00")
    assert deliveries(outbox, "--status", "sent")[0]["sent_at"].endswith("+00:00")


# ---------------------------------------------------------------- unknown names


def test_history_of_an_unknown_watch_is_a_usage_error(outbox):
    """`history nosuch` exits 2 and lists the known watches; a known watch with no changes is not an error."""
    result = run_cli("history", "nosuch", "--config", str(outbox))
    assert result.code == 2 and "no watch named 'nosuch' (known: court)" in result.err


def test_history_of_a_watch_removed_from_the_config_is_still_shown(outbox, write_config, server):
    """A watch taken out of the configuration keeps its recorded history, and `history` shows it."""
    path = write_config(f"watches:\n  - {{id: other, type: feed, url: '{server.url('/feed.xml')}'}}\n")
    result = run_cli("history", "court", "--config", str(path))
    assert result.code == 0 and "Order 1" in result.out


# ---------------------------------------------------------------- an unusable database


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "command", [["status"], ["history"], ["deliveries"], ["retry"], ["check"], ["test-notifier", "terminal"]]
)
def test_an_unreachable_database_exits_1_from_every_command(command, write_config, server):
    """Like the daemon, every command exits 1 with one line naming the database (password hidden) and what to check."""
    port = _closed_port()
    server.set("/feed.xml", rss("https://example.org/1"))
    path = write_config(
        f"state: postgresql://monitor:hunter2-password@127.0.0.1:{port}/monitor\n"
        f"notifiers: {{terminal: {{type: console}}}}\n"
        f"watches:\n  - {{id: a, type: feed, url: '{server.url('/feed.xml')}'}}\n"
    )
    result = run_cli(*command, "--config", str(path))
    assert result.code == 1, result.err
    [line] = result.err.splitlines()
    assert line.startswith("error: ") and f"postgresql://monitor:***@127.0.0.1:{port}/monitor" in line
    assert "check that the database server is running" in line
    assert "hunter2" not in result.err + result.out


def test_a_sqlite_path_that_cannot_be_made_exits_1(write_config, tmp_path):
    """A state path under a file (not a folder) is one clear line and exit 1, not a traceback."""
    (tmp_path / "afile").write_text("")
    path = write_config(f"state: sqlite:///{tmp_path / 'afile' / 'sub' / 'x.db'}\nwatches: []\n")
    result = run_cli("status", "--config", str(path))
    assert result.code == 1
    [line] = result.err.splitlines()
    assert "state database" in line and "check the path in `state:`" in line


# ---------------------------------------------------------------- logs


def test_warnings_show_by_default_and_http_requests_only_at_vv(server, write_config, tmp_path):
    """Default: warnings, no information lines; -v: information; -vv: each HTTP request (httpx) too."""
    server.set("/broken.xml", b"oops", status=500, content_type="text/plain")
    server.set("/feed.xml", rss("https://example.org/1"))

    def run(name: str, url: str, *verbose: str):
        path = write_config(
            f"state: sqlite:///{tmp_path / name}.db\nwatches:\n  - {{id: w, type: feed, url: '{url}'}}\n",
            name=f"{name}.yaml",
        )
        return run_cli("check", "--config", str(path), *verbose)

    failing = run("failing", server.url("/broken.xml"))
    assert "w: FAILED:" in failing.out and "check failed" not in failing.err  # said once, in the report
    server.set("/hook", b"down", status=500, content_type="text/plain")
    path = write_config(
        f"state: sqlite:///{tmp_path / 'quiet'}.db\nnotifiers: {{hook: {{type: webhook, url: "
        f"'{server.url('/hook')}'}}}}\nwatches:\n  - {{id: w, type: feed, url: '{server.url('/feed.xml')}', "
        "notify_baseline: true}\n",
        name="quiet.yaml",
    )
    quiet = run_cli("check", "--config", str(path))
    assert "WARNING monitor.dispatch: notifier hook:" in quiet.err  # a warning shows without -v
    assert "INFO" not in quiet.err
    info = run("info", server.url("/feed.xml"), "-v")
    assert "INFO monitor.store" in info.err and "HTTP Request" not in info.err
    debug = run("debug", server.url("/feed.xml"), "-vv")
    assert "INFO httpx: HTTP Request: GET " + server.url("/feed.xml") in debug.err


# ---------------------------------------------------------------- secrets


def test_check_vv_history_and_deliveries_never_print_the_token(server, tmp_path):
    """A watch URL with `?token=${TOKEN}`, a source that echoes it in its links, and a check at -vv in a real
    process: stdout and stderr (httpx's request log included) carry `***`, never the token; nor do
    `history --json` and `deliveries --json`."""
    server.set("/feed.xml", rss(f"https://court.example.gov/doc/1?token={SECRET}"))
    path = tmp_path / "watches.yaml"
    path.write_text(
        f"state: sqlite:///{tmp_path / 'state.db'}\n"
        f"watches:\n  - {{id: court, type: feed, url: '{server.url('/feed.xml')}?token=${{TOKEN}}', "
        f"notify_baseline: true}}\n"
    )
    env = {**os.environ, "TOKEN": SECRET, "PYTHONPATH": str(REPO)}
    check = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "-vv", "--config", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert "HTTP Request: GET" in check.stderr and "token=***" in check.stderr  # the line is there, masked
    assert "token=***" in check.stdout  # the console alert's link
    outputs = [check.stdout, check.stderr]
    for command in (["history", "--json"], ["deliveries", "--json", "--status", "all"]):
        result = subprocess.run(
            [sys.executable, "-m", "monitor", *command, "--config", str(path)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)
        outputs += [result.stdout, result.stderr]
    assert not [text for text in outputs if SECRET in text]


def test_a_traceback_is_masked_too(monkeypatch, write_config):
    """An unexpected failure prints its traceback (exit 1) through the same mask: the secret never shows."""
    from monitor import commands

    def broken(config, args):
        raise RuntimeError(f"could not reach https://api.example.org/?token={SECRET}")

    monkeypatch.setitem(commands.COMMANDS, "status", broken)
    path = write_config("watches:\n  - {id: a, type: feed, url: 'http://x/?token=${TOKEN}'}\n")
    monkeypatch.setenv("TOKEN", SECRET)
    result = run_cli("status", "--config", str(path))
    assert result.code == 1
    assert "Traceback" in result.err and "token=***" in result.err
    assert SECRET not in result.err + result.out


def test_masked_stream_sees_a_secret_written_in_pieces():
    """A secret split over several writes on one line is still masked; text is passed on line by line."""
    import io

    from monitor.output import MaskedStream

    target = io.StringIO()
    stream = MaskedStream(target, {SECRET})
    stream.write("GET /?token=" + SECRET[:5])
    assert target.getvalue() == ""
    stream.write(SECRET[5:] + " 200\nnext")
    assert target.getvalue() == "GET /?token=*** 200\n"
    stream.flush()
    assert target.getvalue().endswith("next")


def test_masked_stream_knows_a_secret_escaped_in_json_or_encoded_in_a_url():
    """A password with a quote, a backslash or a space is masked in JSON output and in a logged URL too."""
    import io
    import json as json_module
    from urllib.parse import quote

    from monitor.output import MaskedStream

    secret = 'pa"ss w\\rd-2025'
    target = io.StringIO()
    stream = MaskedStream(target, {secret})
    print(json_module.dumps({"error": f"login as {secret} refused"}), file=stream)
    print(f"HTTP Request: GET http://h/?key={quote(secret)} 200", file=stream)
    stream.flush()
    assert target.getvalue().splitlines() == [
        '{"error": "login as *** refused"}',
        "HTTP Request: GET http://h/?key=*** 200",
    ]


def test_a_reader_that_stops_early_is_not_an_error(write_config, tmp_path):
    """`monitor validate | head -0`: output to a closed pipe ends quietly with 0, no "Broken pipe" traceback."""
    path = write_config("watches:\n  - {id: a, type: feed, url: 'http://127.0.0.1:9/feed.xml'}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "validate", "--config", str(path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # long before the command writes its first line
    err = process.stderr.read()
    assert (process.wait(60), err) == (0, "")
