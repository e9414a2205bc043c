"""Shared fixtures: a replay server, a config in a temp dir, and the CLI run in-process."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.http_server import ReplayServer

if TYPE_CHECKING:
    from tests.support.courtlistener_server import CourtListenerServer
    from tests.support.daemon import DaemonProcess
    from tests.support.slack_server import SlackServer
    from tests.support.smtp_server import SmtpServer

DATA = Path(__file__).parent / "data"


@pytest.fixture
def server():
    srv = ReplayServer().start()
    yield srv
    srv.stop()


# Stand-ins on 127.0.0.1 that tests in several directories use (a module may override one with its own,
# e.g. a CourtListener stand-in with dockets already added).


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    """A server speaking the Slack Web API, accepting the bot token the tests configure."""
    from tests.notifiers import SLACK_TOKEN
    from tests.support.slack_server import SlackServer

    server = SlackServer(token=SLACK_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """An SMTP server (aiosmtpd) that keeps what it receives."""
    from tests.support.smtp_server import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def cl() -> Iterator[CourtListenerServer]:
    """The CourtListener stand-in, empty: tests add the dockets and entries they need."""
    from tests.support.courtlistener_server import CourtListenerServer

    server = CourtListenerServer().start()
    yield server
    server.stop()


@pytest.fixture
def daemons(tmp_path) -> Iterator[Callable[..., DaemonProcess]]:
    """Start daemons; whatever is still running at the end of the test is killed."""
    from tests.support.daemon import DaemonProcess

    started: list[DaemonProcess] = []

    def start(config: Path, **kwargs: Any) -> DaemonProcess:
        daemon = DaemonProcess(config, tmp_path, name=f"daemon{len(started)}", **kwargs)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's config or state by accident."""
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    monkeypatch.delenv("MONITOR_STATE", raising=False)
    monkeypatch.chdir(tmp_path)
    from notifiers.console import ConsoleNotifier

    ConsoleNotifier.force_stream = None


@pytest.fixture(autouse=True)
def _no_real_recap_fetch(monkeypatch):
    """No test fetches a real RECAP PDF: recorded CourtListener data links storage.courtlistener.com, so
    previews read only documents served on this machine (the preview tests serve theirs on 127.0.0.1)."""
    from monitor.previews import worker

    real = worker.free_pdf

    def loopback_only(item, hosts):
        url = real(item, hosts)
        return url if url and url.split("/")[2].split(":")[0] in ("127.0.0.1", "localhost") else None

    loopback_only.__wrapped__ = real  # type: ignore[attr-defined]
    monkeypatch.setattr(worker, "free_pdf", loopback_only)


@pytest.fixture(autouse=True)
def _stop_daemons():
    """Whatever a test does (fails, times out), every `monitor run` it started is stopped afterwards (a
    daemon of a wider-scoped fixture, started before the test, is that fixture's to stop)."""
    from tests.support.daemon import RUNNING, stop_all_daemons

    before = set(RUNNING)
    yield
    if RUNNING - before:
        stop_all_daemons(RUNNING - before)


@pytest.fixture(autouse=True, scope="session")
def _stop_every_daemon_at_the_end():
    yield
    from tests.support.daemon import RUNNING, stop_all_daemons

    if RUNNING:
        stop_all_daemons(set(RUNNING))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*args: str) -> CliResult:
    """Run `monitor ARGS` in-process, capturing output."""
    from monitor.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def write_config(tmp_path):
    """Write a YAML config (with a state DB in the temp dir unless given) and return its path."""

    def write(text: str, name: str = "watches.yaml") -> Path:
        if "state:" not in text:
            text = f"state: sqlite:///{tmp_path / 'state.db'}\n" + text
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


PG_ADMIN_URL = os.environ.get("MONITOR_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
# One database per test run (pid in the name), so that two runs at once (two checkouts, CI beside a
# developer) never drop each other's schema. Databases of runs that died are dropped at the next start.
PG_TEST_PREFIX = "monitor_test_"
PG_TEST_DB = os.environ.get("MONITOR_TEST_PG_DB", f"{PG_TEST_PREFIX}{os.getpid()}")
_pg_state: dict[str, str | None] = {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pg_admin():
    import sqlalchemy as sa

    return sa.create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )


def _pg_available() -> str | None:
    """Create this run's test database once; None when PostgreSQL is there, else why not."""
    import sqlalchemy as sa

    if "problem" in _pg_state:
        return _pg_state["problem"]
    try:
        engine = _pg_admin()
        with engine.connect() as conn:
            names = [
                r[0]
                for r in conn.execute(
                    sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": PG_TEST_PREFIX + "%"}
                )
            ]
            for name in names:  # left behind by a run that was killed
                pid = name.removeprefix(PG_TEST_PREFIX)
                if name != PG_TEST_DB and pid.isdigit() and not _pid_alive(int(pid)):
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if PG_TEST_DB not in names:
                conn.execute(sa.text(f'CREATE DATABASE "{PG_TEST_DB}"'))
        engine.dispose()
        _pg_state["problem"] = None
    except Exception as exc:  # noqa: BLE001
        _pg_state["problem"] = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
    return _pg_state["problem"]


def pytest_sessionfinish(session, exitstatus):
    """Drop this run's database (only if this run created it: a given MONITOR_TEST_PG_DB is left alone)."""
    import sqlalchemy as sa

    if _pg_state.get("problem", "unused") is not None or "MONITOR_TEST_PG_DB" in os.environ:
        return
    try:
        engine = _pg_admin()
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)'))
        engine.dispose()
    except Exception:  # noqa: BLE001 - the next run drops it
        pass


@pytest.fixture
def pg_url():
    """A clean PostgreSQL database URL. In CI (CI=true) an unreachable server fails instead of skipping."""
    import sqlalchemy as sa

    problem = _pg_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_TEST_DB
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """The store's tests run against both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_url")


def check_json(path, *extra: str) -> dict:
    """`monitor check --json` on a config: the report, plus its exit status as `exit`, and `watch` when there
    is exactly one watch."""
    import json

    result = run_cli("check", "--config", str(path), "--json", *extra)
    assert result.code in (0, 1), result.err
    report = json.loads(result.out)
    report["exit"] = result.code
    if len(report["watches"]) == 1:
        report["watch"] = report["watches"][0]
    return report
