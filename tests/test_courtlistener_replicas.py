"""Three `monitor run` replicas on one PostgreSQL database share CourtListener budgets: together they never make
more calls than any window of an account allows.

Real subprocesses, the real PostgreSQL on 127.0.0.1:5432, and the local CourtListener enforcing each
token's windows the way CourtListener does (HTTP 429 past any of them), in real time. The windows are
the shape of a free account's (a minute, an hour, a day) with small limits, so that each binds within
two minutes: account A's hour, account B's day, both accounts' minute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.courtlistener_server import TOKEN, CourtListenerServer
from tests.support.daemon import DaemonProcess
from tests.test_replicas import checks_done, wait_until
from tests.watchers.test_courtlistener_budget import add_cases, busiest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOKEN_B = "fedcba9876543210fedcba9876543210fedcba98"  # a second made-up account
A = {"per_minute": 4, "per_hour": 8, "per_day": 125}  # the hour binds
B = {"per_minute": 4, "per_hour": 50, "per_day": 6}  # the day binds
WATCHES_A, WATCHES_B = 25, 5


def rates(budget: dict[str, int]) -> list[str]:
    return [f"{budget['per_minute']}/min", f"{budget['per_hour']}/hour", f"{budget['per_day']}/day"]


@pytest.fixture
def cl() -> Iterator[CourtListenerServer]:
    server = CourtListenerServer(tokens=[TOKEN_B], rates={TOKEN: rates(A), TOKEN_B: rates(B)}).start()
    yield server
    server.stop()


@pytest.fixture
def replicas(tmp_path) -> Iterator[list[DaemonProcess]]:
    """Started replicas, each stopped at the end whatever happens (SIGTERM, then SIGKILL)."""
    started: list[DaemonProcess] = []
    yield started
    for replica in started:
        if replica.proc.poll() is None:
            replica.signal(15)
    for replica in started:
        try:
            replica.wait(20)
        except AssertionError:
            replica.kill()


def write_config(tmp_path, pg_url: str, cl: CourtListenerServer):
    lines = [
        f"state: {pg_url}",
        "daemon: {jitter: 0.1, lease: 5s, shutdown_grace: 5s, config_poll: 2s, log_format: json}",
        "watches:",
    ]
    for n in range(WATCHES_A + WATCHES_B):
        account = {"budget": A} if n < WATCHES_A else {"budget": B, "token": "${CL_TOKEN_B}"}
        watch = {
            "id": f"case{n:02d}",
            "type": "courtlistener",
            "base_url": cl.base_url,
            "docket_id": 900100000 + n,
            "court": "dcd",
            "every": "3s",
            **account,
        }
        lines.append("  - " + json.dumps(watch))
    path = tmp_path / "cl-replicas.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_three_replicas_never_exceed_any_window_of_either_account(tmp_path, pg_url, cl, replicas, capsys):
    """Three replicas checking 30 watches of two accounts every 3 seconds: CourtListener counts no more calls in
    any minute, hour or day than each account allows, never throttles, and each account gets what it may."""
    add_cases(cl, WATCHES_A + WATCHES_B)
    config = write_config(tmp_path, pg_url, cl)
    env = {"COURTLISTENER_TOKEN": TOKEN, "CL_TOKEN_B": TOKEN_B}
    replicas.extend(DaemonProcess(config, tmp_path, name=f"replica{k}", env=env) for k in range(3))
    for replica in replicas:
        _ = replica.base_url  # waits for "monitor running"

    def calls(token: str) -> list[float]:
        return [r.at for r in cl.api_requests() if r.caller == token and r.status == 200]

    # each account's cap reached: A's hour (8 calls) and B's day (6) take a second minute, after the first rolls
    wait_until(
        lambda: len(calls(TOKEN)) >= A["per_hour"] and len(calls(TOKEN_B)) >= B["per_day"],
        180,
        "both accounts at their caps",
    )
    time.sleep(8)  # room for a call too many to show up
    done = [checks_done(r) for r in replicas]
    for replica in replicas:
        assert replica.proc.poll() is None, replica.dump()

    figures: dict[str, Any] = {}
    for name, token, budget in (("A", TOKEN, A), ("B", TOKEN_B, B)):
        times = calls(token)
        figures[name] = {
            "calls": len(times),
            "max_per_minute": busiest(times, 60),
            "max_per_hour": busiest(times, 3600),
            "max_per_day": busiest(times, 86400),
            "span_s": round(max(times) - min(times), 1),
        }
        assert figures[name]["max_per_minute"] <= budget["per_minute"]
        assert figures[name]["max_per_hour"] <= budget["per_hour"]
        assert figures[name]["max_per_day"] <= budget["per_day"]
        assert figures[name]["span_s"] >= 60  # the minute window rolled and let the next calls through
    figures["throttled"] = len(cl.throttled())
    figures["checks_per_replica"] = done
    with capsys.disabled():
        print(f"\n3 replicas, 2 accounts: {figures}")
    assert figures["A"]["calls"] == A["per_hour"] and figures["B"]["calls"] == B["per_day"]
    assert figures["throttled"] == 0
    assert sum(1 for d in done if d > 0) >= 2  # the replicas shared the work
