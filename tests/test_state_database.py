"""The state database is part of the process: a lock, a deletion or a second `check` never costs an alert.

Real processes against a real SQLite file: `monitor check` and `monitor run` subprocesses, another
process holding SQLite's write lock, the file deleted or replaced under a running daemon.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from monitor.store.store import _readable
from tests.conftest import run_cli
from tests.support.daemon import REPO, DaemonProcess

pytestmark = pytest.mark.slow


def rss(items: dict[str, str]) -> bytes:
    """A feed of link -> title."""
    body = "".join(
        f"<item><title>{title}</title><link>https://example.org/{link}</link></item>" for link, title in items.items()
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Court</title>{body}</channel></rss>".encode()


def check_process(config: Path, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MONITOR_STATE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "check", "--config", str(config), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
    )


def history(config: Path) -> list[dict]:
    result = run_cli("history", "--config", str(config), "--json", "-n", "500")
    assert result.code == 0, result.err
    return json.loads(result.out)


# ---------------------------------------------------------------- two checks at once


@pytest.mark.parametrize("edit", ["updated", "added"])
def test_two_checks_at_once_alert_once(server, write_config, tmp_path, edit):
    """Two `monitor check` processes at once on one SQLite state (a cron job and a person): every change is
    recorded and alerted once; the process that lost the race says the watch was skipped, and neither crashes."""
    items = {f"e{n}": f"Entry {n}" for n in range(20)}
    server.set("/feed", rss(items))
    config = write_config(f"watches:\n  - {{id: court, type: feed, url: '{server.url('/feed')}'}}\n")
    assert run_cli("check", "--config", str(config)).code == 0  # the baseline
    if edit == "updated":
        changed = {link: f"{title} (corrected)" for link, title in items.items()}
    else:
        changed = {**{f"n{n}": f"New entry {n}" for n in range(20)}, **items}
    server.set("/feed", rss(changed), delay=8)  # slow: the two checks overlap, however slowly they start
    before = server.count("/feed")
    first = check_process(config, tmp_path)
    deadline = time.monotonic() + 60
    while server.count("/feed") == before and time.monotonic() < deadline:  # the first one is fetching
        time.sleep(0.02)
    second = check_process(config, tmp_path)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    codes = [p.returncode for p in (first, second)]
    assert codes == [0, 0], [err.decode() for _, err in outputs]
    assert not any(b"Traceback" in err for _, err in outputs)
    reports = [json.loads(out) for out, _ in outputs]
    warnings = [w for r in reports for w in r["watches"][0]["warnings"]]
    assert any("skipped: another process is checking this watch" in w for w in warnings), warnings
    recorded = [c for c in history(config) if c["kind"] == edit]
    assert len(recorded) == 20, f"{len(recorded)} {edit} changes recorded for 20 edits"
    assert sum(r["deliveries"]["sent"] for r in reports) == 20


def test_a_check_killed_mid_cycle_does_not_hold_its_watches(server, write_config, tmp_path):
    """A `monitor check` killed while checking leaves no lease behind: the next check runs at once."""
    server.set("/feed", rss({"a": "A"}), delay=30)
    config = write_config(f"watches:\n  - {{id: court, type: feed, url: '{server.url('/feed')}'}}\n")
    victim = check_process(config, tmp_path)
    deadline = time.monotonic() + 60
    while server.count("/feed") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.kill()
    victim.communicate()
    server.set("/feed", rss({"a": "A"}))
    result = run_cli("check", "--config", str(config), "--json")
    report = json.loads(result.out)["watches"][0]
    assert report["baseline"] and not report["warnings"], report


# ---------------------------------------------------------------- a lock held by another process


LOCK_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # SQLite's write lock, as a backup or a long transaction holds it
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
print("released", flush=True)
"""


def test_a_lock_held_12s_by_another_process_blocks_nothing_but_writes(server, write_config, tmp_path):
    """While another process holds the SQLite write lock for 12 s, /healthz answers within a second, watches
    keep fetching, a write that waits too long fails with one readable line (no SQL, no traceback), and a
    change made meanwhile is alerted once afterwards."""
    server.set("/a", rss({"a1": "Complaint"}))
    server.set("/b", rss({"b1": "Press release"}))
    config = write_config(
        "defaults: {every: 1s}\ndaemon: {log_format: json}\nnotifiers: {terminal: {type: console}}\nwatches:\n"
        f"  - {{id: court, type: feed, url: '{server.url('/a')}'}}\n"
        f"  - {{id: agency, type: feed, url: '{server.url('/b')}'}}\n"
    )
    daemon = DaemonProcess(config, tmp_path)
    daemon.wait_log("baseline recorded", watch="court", timeout=60)
    daemon.wait_log("baseline recorded", watch="agency", timeout=60)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(tmp_path / "state.db"), "12"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        server.set("/a", rss({"a2": "Motion to dismiss", "a1": "Complaint"}))
        fetched_before = server.count("/b")
        slowest = 0.0
        while time.monotonic() - locked_at < 11:
            started = time.monotonic()
            with urllib.request.urlopen(daemon.base_url + "/healthz", timeout=5) as response:
                assert response.status == 200
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.25)
        fetched_during = server.count("/b") - fetched_before
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.kill()
        holder.wait()
    assert slowest < 1.0, f"/healthz took {slowest:.2f}s while the database was locked"
    assert fetched_during >= 1, "the other watch stopped fetching while the database was locked"
    daemon.wait_stdout("[New] court: Motion to dismiss", timeout=60)
    checks = server.count("/a")
    daemon.wait_for(lambda: server.count("/a") >= checks + 2, 30, "more checks, none alerting again")
    assert daemon.stop() == 0
    assert daemon.stdout().count("Motion to dismiss") == 1
    stderr = daemon.stderr()
    assert "Traceback" not in stderr and "UPDATE " not in stderr and "INSERT " not in stderr, stderr[-3000:]
    gave_up = [r["msg"] for r in daemon.logs() if "locked by another process" in r.get("msg", "")]
    assert all("gave up after 10 s" in m for m in gave_up)


# ---------------------------------------------------------------- the file deleted or replaced


def test_a_deleted_state_database_is_noticed_not_silently_recreated(server, write_config, tmp_path):
    """Deleting the state database under a running daemon turns /readyz to 503 naming the file and what to
    do; the daemon never creates a fresh database behind the user's back (which would re-baseline and
    lose what is new)."""
    server.set("/a", rss({"a1": "Complaint"}))
    config = write_config(
        "defaults: {every: 1s}\ndaemon: {log_format: json}\nnotifiers: {terminal: {type: console}}\n"
        f"watches:\n  - {{id: court, type: feed, url: '{server.url('/a')}'}}\n"
    )
    daemon = DaemonProcess(config, tmp_path)
    daemon.wait_log("baseline recorded", watch="court", timeout=60)
    assert daemon.get("/readyz")[0] == 200
    database = tmp_path / "state.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    server.set("/a", rss({"a2": "Motion", "a1": "Complaint"}))
    _status, text = daemon.wait_for(lambda: (r := daemon.get("/readyz"))[0] == 503 and r, 30, "/readyz to fail")
    assert str(database) in text and "deleted" in text and "restored from a backup" in text
    time.sleep(3)  # three more scheduled runs
    assert not database.exists(), "a fresh database was created silently"
    assert "[New] court: Motion" not in daemon.stdout()
    assert daemon.stop() == 0
    said = [r for r in daemon.logs() if "was deleted while the monitor was running" in r.get("msg", "")]
    assert 1 <= len(said) <= 2, "said once (at most once more by the dispatcher), not at every scheduled run"


def test_a_replaced_state_database_is_noticed(server, write_config, tmp_path):
    """Another file moved over the state database under a running daemon: /readyz says it was replaced."""
    server.set("/a", rss({"a1": "Complaint"}))
    config = write_config(
        "defaults: {every: 1s}\ndaemon: {log_format: json}\nnotifiers: {terminal: {type: console}}\n"
        f"watches:\n  - {{id: court, type: feed, url: '{server.url('/a')}'}}\n"
    )
    daemon = DaemonProcess(config, tmp_path)
    daemon.wait_log("baseline recorded", watch="court", timeout=60)
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    os.replace(other, tmp_path / "state.db")
    _status, text = daemon.wait_for(lambda: (r := daemon.get("/readyz"))[0] == 503 and r, 30, "/readyz to fail")
    assert "replaced" in text
    assert daemon.stop() == 0


def test_database_errors_read_as_sentences():
    """SQLite's own errors become sentences that say what happened and what to do."""
    for raw, expected in [
        ("database is locked", "locked by another process"),
        ("attempt to write a readonly database", "cannot be written"),
        ("unable to open database file", "deleted or moved"),
        ("disk I/O error", "damaged or its disk failed"),
        ("no such table: watch_state", "lost its tables"),
    ]:
        message = _readable("/data/monitor.db", sqlite3.OperationalError(raw))
        assert message and expected in message and "/data/monitor.db" in message
    assert _readable("/data/monitor.db", sqlite3.OperationalError("syntax error")) is None


def test_check_on_a_locked_database_is_one_readable_line(server, write_config, tmp_path):
    """`monitor check` while another process holds the write lock past the busy timeout: the watch fails
    with one readable line, exit status 1, no traceback; the next check records the change."""
    server.set("/a", rss({"a1": "Complaint"}))
    config = write_config(f"watches:\n  - {{id: court, type: feed, url: '{server.url('/a')}'}}\n")
    assert run_cli("check", "--config", str(config)).code == 0
    server.set("/a", rss({"a2": "Motion", "a1": "Complaint"}))
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(tmp_path / "state.db"), "14"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        process = check_process(config, tmp_path)
        out, err = process.communicate(timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert process.returncode == 1
    assert b"Traceback" not in err and b"UPDATE" not in out + err
    report = json.loads(out)["watches"][0]
    assert "locked by another process; gave up after 10 s" in report["error"]
    again = json.loads(run_cli("check", "--config", str(config), "--json").out)["watches"][0]
    assert [c["item"]["title"] for c in again["changes"]] == ["Motion"]
