"""Ctrl-C: every command stops at once with status 130 and one line, `interrupted`, never a traceback.

Real `python -m monitor` processes are sent SIGINT (what Ctrl-C sends) while they wait on a source or a
receiver that answers only after a minute, so an exit well before that is the proof of "at once".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.daemon import DaemonProcess
from tests.support.http_server import ReplayServer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SLOW = 60.0  # seconds the slow source and receiver take to answer: far longer than any wait below
FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title></channel></rss>"


@contextmanager
def _sigint_not_ignored() -> Iterator[None]:
    """Children inherit an ignored SIGINT (a test run started in the background ignores it): start them
    with the default disposition, as a terminal's Ctrl-C finds them."""
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if previous == signal.SIG_IGN:
            signal.signal(signal.SIGINT, previous)


@pytest.fixture
def monitor(tmp_path):
    """Start `python -m monitor ARGS`; whatever is still running at the end is killed."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        with _sigint_not_ignored():
            process = subprocess.Popen(
                [sys.executable, "-m", "monitor", *args],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def interrupt(process: subprocess.Popen) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=SLOW / 3)  # far sooner than the slow side would answer
    return process.returncode, out, err


def test_ctrl_c_during_a_fetch_exits_130_with_one_line(server: ReplayServer, write_config, monitor):
    """`check` interrupted while a source is still answering: exit 130, stderr is exactly `interrupted`."""
    server.set("/slow.xml", FEED, delay=SLOW)
    path = write_config(f"watches:\n  - {{id: slow, type: feed, url: '{server.url('/slow.xml')}'}}\n")
    process = monitor("check", "--config", str(path))
    wait_until(lambda: server.count("/slow.xml") >= 1 or process.poll() is not None, "the fetch to start")
    code, out, err = interrupt(process)
    assert (code, err) == (130, "interrupted\n"), out + err


def test_ctrl_c_while_a_notifier_waits_on_its_receiver_exits_130(server: ReplayServer, write_config, monitor):
    """`test-notifier` interrupted while the webhook receiver is slow to answer: exit 130, one line."""
    server.set("/hook", b"ok", delay=SLOW, content_type="text/plain")
    path = write_config(f"notifiers:\n  hook: {{type: webhook, url: '{server.url('/hook')}'}}\nwatches: []\n")
    process = monitor("test-notifier", "hook", "--config", str(path))
    wait_until(lambda: server.count("/hook") >= 1 or process.poll() is not None, "the test message to be posted")
    code, out, err = interrupt(process)
    assert (code, err) == (130, "interrupted\n"), out + err


def _has_open(pid: int, path: Path) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) == str(path) for fd in fds.iterdir())
    except OSError:  # the process ended, or a descriptor closed while we looked
        return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the database being opened")
def test_ctrl_c_while_the_database_is_locked_exits_130_at_once(write_config, monitor, tmp_path):
    """`deliveries` waiting on a SQLite lock another process holds (up to 30 s, inside C, where Python cannot
    raise KeyboardInterrupt) still exits 130 with one line within seconds of Ctrl-C."""
    import sqlite3

    path = write_config("watches: []\n")
    database = tmp_path / "state.db"
    first = monitor("deliveries", "--config", str(path))
    assert first.wait(60) == 0, first.communicate()  # the schema exists; now lock it as a busy writer would
    lock = sqlite3.connect(database, isolation_level=None)
    try:
        lock.execute("PRAGMA locking_mode=EXCLUSIVE")
        lock.execute("BEGIN EXCLUSIVE")
        lock.execute("UPDATE meta SET value = value")
        process = monitor("deliveries", "--config", str(path))
        wait_until(lambda: _has_open(process.pid, database) or process.poll() is not None, "the database to be opened")
        time.sleep(0.5)  # now in SQLite's busy wait: it cannot get further while the lock is held
        assert process.poll() is None, process.communicate()
        code, out, err = interrupt(process)
    finally:
        lock.close()
    assert (code, err) == (130, "interrupted\n"), out + err


def test_the_daemon_exits_130_on_sigint_and_0_on_sigterm(server: ReplayServer, write_config, tmp_path):
    """`monitor run` stops gracefully on either signal; Ctrl-C (SIGINT) exits 130 as a shell expects, SIGTERM 0."""
    server.set("/feed.xml", FEED)
    path = write_config(
        f"daemon: {{log_format: json}}\nwatches:\n  - {{id: w, type: feed, url: '{server.url('/feed.xml')}', "
        f"every: 1h}}\n"
    )
    results = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with _sigint_not_ignored():
            daemon = DaemonProcess(path, tmp_path, name=f"daemon-{sig.name}")
        try:
            daemon.wait_log("monitor running", timeout=30)
            daemon.signal(sig)
            results[sig.name] = daemon.wait(30)
            assert "Traceback" not in daemon.stderr()
            daemon.wait_log("stopped")
        finally:
            daemon.kill()
    assert results == {"SIGINT": 130, "SIGTERM": 0}
