"""The CourtListener budget: every window (minute, hour, day) at once, for all watches of an account, the
account's real usage read from /api-usage/, 429 for everyone, pacing, and the `budget` gap.

The rules are tested on the log alone (fast), then end to end: the engine's real check cycles against the
local CourtListener, which throttles like CourtListener, with one simulated clock for both; the calls are
counted where CourtListener would count them, on the server.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import watchers.courtlistener_budget as budget_mod
import watchers.courtlistener_ledger as ledger_mod
from monitor.app import runtime
from monitor.config import load
from monitor.engine import _Context
from monitor.http import CycleFetcher
from monitor.models import Fetched
from tests.conftest import run_cli
from tests.support.courtlistener_server import TOKEN, CourtListenerServer
from watchers.base import CheckOutcome
from watchers.courtlistener import CourtListenerConfig
from watchers.courtlistener_budget import BudgetConfig, CallBudget
from watchers.courtlistener_ledger import DAY, HOUR, MINUTE, Window, account_for, decide, record_block, record_usage

FREE = (Window(MINUTE, 5), Window(HOUR, 50), Window(DAY, 125))
FREE_RATES = {"user": ["5/min", "50/hour", "125/day"], "anon": ["100/day"]}


class Clock:
    """One simulated clock for the budget and the server. Sleepers wake at their own time: the clock moves to
    the latest wake-up asked for, as concurrent sleeps would.

    In the end-to-end simulations time stands still within a cycle instead (`stand_still`): a sleeper moving
    the shared clock by a minute while another check's request is on its way would make that request reach
    the server a simulated minute late, which no real network does. Waiting is tested on the log alone here,
    and in real time by the replicas test."""

    def __init__(self) -> None:
        self.t = datetime(2025, 3, 3, 17, 0, tzinfo=UTC).timestamp()

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        wake = self.t + seconds
        await asyncio.sleep(0)
        self.t = max(self.t, wake)

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def stand_still(self, seconds: float) -> None:
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    monkeypatch.delenv("COURTLISTENER_TOKEN", raising=False)
    c = Clock()
    monkeypatch.setattr(ledger_mod, "now", c.now)
    monkeypatch.setattr(budget_mod, "sleep", c.sleep)
    return c


def busiest(times: list[float], seconds: float) -> int:
    """The most calls in any `seconds` (CourtListener's sliding window)."""
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


class SharedOnly:
    """A CheckContext whose shared state works, in memory (JSON round trips, as the store does): all the budget
    uses. Anything else is unused by the budget; a fetch fails the test."""

    watch_id = "w"
    state: Mapping[str, Any] = {}

    def __init__(self) -> None:
        self.shared: dict[str, Any] = {}

    async def fetch(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        raise AssertionError(f"the budget fetched {url}")

    def get_shared(self, key: str) -> Any:
        return json.loads(json.dumps(self.shared.get(key)))

    def set_shared(self, key: str, value: Any) -> None:
        self.shared[key] = json.loads(json.dumps(value))

    async def update_shared(self, key: str, change: Any) -> Any:
        value, result = change(json.loads(json.dumps(self.shared.get(key))))
        self.shared[key] = json.loads(json.dumps(value))
        return result


def token_account(windows=FREE):
    return account_for("https://www.courtlistener.com", TOKEN, windows)


async def one_check(ctx: SharedOnly, watch_id: str, calls: int, account=None, *, log: list[float] | None = None) -> int:
    """A check that would make `calls` calls: how many it made."""
    budget = CallBudget(ctx, watch_id, account or token_account())
    if await budget.start(need=min(2, calls)) is not None:
        return 0
    made = 0
    for _ in range(calls):
        if await budget.take() is not None:
            break
        made += 1
        if log is not None:
            log.append(ledger_mod.now())
    return made


# ------------------------------------------------------------------ the rules, on the log alone


def test_every_window_holds_at_once_for_many_watches(clock):
    """25 watches trying two calls every 3 minutes for two days: never more than 5 in any minute, 50 in any hour,
    125 in any day, and the budget is used, not starved."""
    ctx = SharedOnly()
    log: list[float] = []

    async def two_days() -> None:
        for _ in range(2 * 24 * 20):
            for n in range(25):
                await one_check(ctx, f"w{n}", 2, log=log)
            clock.advance(180)

    asyncio.run(two_days())
    assert busiest(log, MINUTE) <= 5 and busiest(log, HOUR) <= 50 and busiest(log, DAY) <= 125
    first_day = [t for t in log if t < log[0] + DAY]
    assert len(first_day) >= 115, len(first_day)


def test_pacing_spreads_one_watch_over_the_day(clock):
    """One watch checked every minute spends its 125 calls evenly: never more than pro-rata plus headroom."""
    ctx = SharedOnly()
    log: list[float] = []
    start = clock.now()

    async def two_days() -> None:
        for _ in range(2 * 24 * 60):
            await one_check(ctx, "w", 1, log=log)
            elapsed = clock.now() - start
            if elapsed < DAY:
                assert len(log) <= 125 * elapsed / DAY + 13
            clock.advance(60)

    asyncio.run(two_days())
    assert 120 <= len([t for t in log if t - start < DAY]) <= 125
    assert len([t for t in log if t - start < 6 * HOUR]) <= 125 / 4 + 13


def test_share_is_fair_whoever_asks_first(clock):
    """Watches asking in a fixed order every 5 minutes get even shares of a 60-a-day budget."""
    ctx = SharedOnly()
    account = token_account((Window(DAY, 60),))
    made = {"a": 0, "b": 0, "c": 0}

    async def one_day() -> None:
        for _ in range(24 * 12):
            for name in made:
                made[name] += await one_check(ctx, name, 1, account)
            clock.advance(300)

    asyncio.run(one_day())
    assert sum(made.values()) <= 60 and min(made.values()) >= 15, made


def test_a_full_minute_is_waited_for_within_a_check(clock):
    """A check whose second call finds the minute full waits for it (about a minute), instead of wasting the first."""
    ctx = SharedOnly()
    for n in range(2):
        asyncio.run(one_check(ctx, f"w{n}", 2))  # 4 calls this minute
    start = clock.now()
    assert asyncio.run(one_check(ctx, "late", 2)) == 2
    assert 60 <= clock.now() - start <= budget_mod.MAX_WAIT + 1


def test_calls_by_other_programs_count(clock):
    """/api-usage/ says the account made 100 calls today that this monitor did not: only 25 more are made today,
    and status says who spent them."""
    ctx = SharedOnly()
    account = token_account()
    made = 0

    async def read_usage():  # what CourtListener counts: the other program's 100 and ours
        used = 100 + made
        return [
            {
                "scope": "user",
                "rate": "125/day",
                "used": used,
                "limit": 125,
                "remaining": 125 - used,
                "window_seconds": DAY,
                "reset_at": None,
                "blocked": False,
            },
            {
                "scope": "api_usage",
                "rate": "10/min",
                "used": 9,
                "limit": 10,
                "remaining": 1,
                "window_seconds": 60,
                "reset_at": None,
                "blocked": False,
            },
        ]

    for _ in range(24 * 20):
        budget = CallBudget(ctx, "w", account, read_usage)
        if asyncio.run(budget.start(need=1)) is None:
            made += 1
        clock.advance(180)
    assert made == 25
    assert {"window": "125/day", "used": 125, "by_other_programs": 100} in budget.info["windows"]


def test_a_lower_limit_reported_by_courtlistener_wins(clock):
    """Configured as a member-4 account (25 a minute), but CourtListener reports 5 a minute: 5 it is."""
    account = token_account(BudgetConfig(tier="member-4").windows())
    log, _ = record_usage(
        {},
        account=account,
        asked_at=clock.now(),
        rows=[{"scope": "user", "window_seconds": 60, "used": 0, "limit": 5, "blocked": False}],
    )
    granted = 0
    for n in range(10):
        log, verdict = decide(log, watch_id=f"w{n}", account=account, need=1, pace=False, take=True)
        granted += verdict.granted
    assert granted == 5 and "5/min spent" in verdict.detail


def test_429_stops_every_watch_of_the_account_then_usage_is_read_again(clock):
    """After a 429 no watch of the account calls until Retry-After has passed; then the real usage is read first."""
    account = token_account()
    log, _ = record_usage({}, account=account, asked_at=clock.now(), rows=[])
    log, until = record_block(log, account=account, seconds=600)
    log, verdict = decide(log, watch_id="other", account=account, need=2, pace=True, take=True)
    assert not verdict.granted and verdict.reason == "429" and verdict.free_at == until == clock.now() + 600
    clock.advance(601)
    log, verdict = decide(log, watch_id="other", account=account, need=2, pace=True, take=True)
    assert verdict.reconcile  # /api-usage/ first: CourtListener counted more than we did
    anonymous = account_for("https://www.courtlistener.com", None, FREE)
    assert anonymous.windows == (Window(DAY, 100),) and anonymous.key != account.key


def test_the_token_is_not_in_the_shared_state():
    """The account's log is kept under a digest: the token itself is never stored."""
    assert TOKEN not in token_account().key


def test_budget_config_tiers_overrides_and_old_keys():
    """`budget.tier` sets the three windows, a window can be overridden or switched off, the old keys still work
    and a conflict names the new key."""
    assert BudgetConfig().windows() == FREE
    assert [w.label for w in BudgetConfig(tier="member-2").windows()] == ["15/min", "150/hour", "600/day"]
    assert [w.label for w in BudgetConfig(tier="edu").windows()] == ["20/min", "1000/hour"]
    assert [w.label for w in BudgetConfig(per_hour=0, per_day=300).windows()] == ["5/min", "300/day"]
    watch = {"id": "w", "type": "courtlistener", "docket_id": 1}
    old = CourtListenerConfig.model_validate({**watch, "daily_budget": 16, "per_minute": 2})
    assert [w.label for w in old.windows()] == ["2/min", "50/hour", "16/day"]
    with pytest.raises(ValueError, match=r"`daily_budget` is the old name of `budget.per_day`"):
        CourtListenerConfig.model_validate({**watch, "daily_budget": 16, "budget": {"per_day": 10}})


def test_a_misspelt_budget_key_names_the_right_ones(write_config):
    """`budget: {per_hr: 10}` is a configuration error listing the budget's keys."""
    path = write_config("watches:\n  - {id: w, type: courtlistener, docket_id: 1, budget: {per_hr: 10}}\n")
    result = run_cli("validate", "--config", str(path))
    assert result.code == 2 and "per_hr" in result.err and "per_hour" in result.err and "tier" in result.err


# ------------------------------------------------------------------ end to end, against the local CourtListener


def watches_yaml(cl: CourtListenerServer, count: int, *, every: str = "15m", **extra: Any) -> str:
    lines = ["watches:"]
    for n in range(count):
        keys = {
            "id": f"case{n:02d}",
            "type": "courtlistener",
            "base_url": cl.base_url,
            "docket_id": 900100000 + n,
            "court": "dcd",
            "every": every,
            **extra,
        }
        lines.append("  - " + json.dumps(keys))
    return "\n".join(lines) + "\n"


def add_cases(cl: CourtListenerServer, count: int) -> None:
    for n in range(count):
        cl.add_docket(
            id=900100000 + n,
            court_id="dcd",
            docket_number=f"1:25-cv-{n + 1:05d}",
            docket_number_core=f"25{n + 1:05d}",
            case_name=f"Case {n} v. United States",
            absolute_url=f"/docket/{900100000 + n}/case-{n}/",
            slug=f"case-{n}",
        )


def new_filing(cl: CourtListenerServer, docket_id: int, number: int) -> None:
    cl.add_entry(
        docket_id,
        {"entry_number": number, "date_filed": "2025-03-03", "description": f"ORDER {number}", "recap_documents": []},
    )


async def simulate(
    path: Path, cl: CourtListenerServer, clock: Clock, *, hours: float, step: float, busy: float = 0.3, seed: int = 11
) -> dict[str, int]:
    """Check cycles every `step` seconds for `hours`, with a share `busy` of the dockets changing before each:
    how often each watch ran through."""
    rng = random.Random(seed)
    checked: dict[str, int] = {}
    config = load(path)
    filings = 1000
    async with runtime(config) as rt:
        end = clock.now() + hours * HOUR
        while clock.now() < end:
            for docket_id in list(cl.dockets):
                if rng.random() < busy:
                    filings += 1
                    new_filing(cl, docket_id, filings)
            for result in await rt.engine.run_cycle():
                assert result.ok, result.error
                if not any("skipped, no call made" in w for w in result.warnings):
                    checked[result.watch_id] = checked.get(result.watch_id, 0) + 1
            clock.advance(step)
    return checked


@pytest.fixture
def throttled_cl(clock, monkeypatch):
    """The local CourtListener throttling like CourtListener's free tier, on the simulated clock (which stands
    still within a cycle)."""
    monkeypatch.setattr(budget_mod, "sleep", clock.stand_still)
    server = CourtListenerServer(rates=FREE_RATES, clock=clock.now).start()
    yield server
    server.stop()


def test_25_watches_of_one_account_never_exceed_any_window(throttled_cl, clock, write_config, monkeypatch, capsys):
    """25 watches of one free account, checked every 5 minutes for 30 simulated hours while their dockets keep
    changing: CourtListener counts at most 5 calls in any minute, 50 in any hour, 125 in any day, never
    throttles, and every case is checked, slowly but fairly."""
    cl = throttled_cl
    monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
    add_cases(cl, 25)
    path = write_config(watches_yaml(cl, 25))
    checked = asyncio.run(simulate(path, cl, clock, hours=30, step=300))
    times = [r.at for r in cl.api_requests()]
    figures: dict[str, Any] = {
        "calls": len(times),
        "max_per_minute": busiest(times, MINUTE),
        "max_per_hour": busiest(times, HOUR),
        "max_per_day": busiest(times, DAY),
        "throttled": len(cl.throttled()),
        "usage_checks": len(cl.usage_requests()),
        "checks_per_watch_min": min(checked.values()),
        "checks_per_watch_max": max(checked.values()),
    }
    start = times[0]
    figures["calls_per_6h"] = [
        sum(1 for t in times if k * 6 * HOUR <= t - start < (k + 1) * 6 * HOUR) for k in range(5)
    ]
    with capsys.disabled():
        print(f"\n25 watches, 1 free account, 30 simulated hours: {figures}")
    assert figures["max_per_minute"] <= 5 and figures["max_per_hour"] <= 50 and figures["max_per_day"] <= 125
    assert figures["throttled"] == 0
    assert figures["max_per_day"] >= 120  # the budget is used, not starved
    assert min(figures["calls_per_6h"][:4]) >= 10  # and spread over the day, not spent by morning
    assert len(checked) == 25 and figures["checks_per_watch_min"] >= 3  # every case, fairly (5 calls a day each)
    assert figures["checks_per_watch_max"] - figures["checks_per_watch_min"] <= 1
    assert 2 <= figures["usage_checks"] <= 31  # the account's usage read about once an hour, not per call


def test_calls_by_other_programs_on_the_account_are_seen(throttled_cl, clock, write_config, monkeypatch):
    """Another program has spent 120 of the account's 125 calls today: the monitor reads /api-usage/, makes only
    what is left, and CourtListener never throttles it."""
    cl = throttled_cl
    monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
    add_cases(cl, 3)
    cl.spend_elsewhere(120)
    path = write_config(watches_yaml(cl, 3))
    asyncio.run(simulate(path, cl, clock, hours=6, step=600, busy=1.0))
    assert len(cl.throttled()) == 0
    assert 4 <= len(cl.api_requests()) <= 5  # 125 - 120 (a check starts only with room for two calls)
    status = json.loads(run_cli("status", "--config", str(path), "--json").out)
    [day] = [w for w in status["watches"][0]["info"]["budget"]["windows"] if w["window"] == "125/day"]
    assert day["by_other_programs"] == 120 and day["used"] >= 124


def test_a_429_pauses_every_watch_of_the_account(clock, write_config, monkeypatch):
    """CourtListener answers 429 to one watch: every watch of the account waits the Retry-After, without calls."""
    cl = CourtListenerServer(clock=clock.now).start()
    try:
        monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
        add_cases(cl, 3)
        path = write_config(watches_yaml(cl, 3))
        assert run_cli("check", "--config", str(path)).code == 0
        clock.advance(3600)
        cl.rate_limit(retry_after=600)  # one answer: watches already on their way may still pass
        first = json.loads(run_cli("check", "--config", str(path), "--json").out)
        assert any("HTTP 429" in (w["error"] or "") for w in first["watches"])
        before = len(cl.requests)
        clock.advance(300)
        second = json.loads(run_cli("check", "--config", str(path), "--json").out)
        assert len(cl.requests) == before
        assert all(w["ok"] and "asked to wait" in w["warnings"][0] for w in second["watches"])
        clock.advance(301)
        # --force: the engine also holds the watch that got the 429 until its Retry-After in real time,
        # which this simulated clock cannot move; the account's pause (the simulated one) is over
        third = json.loads(run_cli("check", "--config", str(path), "--json", "--force").out)
        assert all(w["ok"] and not any(x.startswith("skipped") for x in w["warnings"]) for w in third["watches"]), (
            json.dumps(third["watches"])
        )
        assert len(cl.requests) > before, json.dumps(third["watches"])
    finally:
        cl.stop()


# ------------------------------------------------------------------ the budget gap


async def check_watch(path: Path, watch_id: str, state: dict[str, Any]) -> CheckOutcome:
    """One check of one watch through the engine's real context (store, shared HTTP client): its outcome."""
    config = load(path)
    async with runtime(config) as rt:
        watcher = rt.engine.watchers[watch_id]
        return await watcher.check(_Context(watch_id, state, CycleFetcher(rt.http), rt.store))


def one_case_yaml(cl: CourtListenerServer, **budget: int) -> str:
    return (
        "watches:\n  - "
        + json.dumps(
            {
                "id": "us-v-illinois",
                "name": "U.S. v. Illinois",
                "type": "courtlistener",
                "base_url": cl.base_url,
                "docket_id": 900100000,
                "every": "15m",
                "budget": budget,
            }
        )
        + "\n"
    )


def test_budget_gap_opens_stays_while_the_case_is_paced_and_closes_when_checks_resume(clock, write_config, monkeypatch):
    """A day's budget of 4 calls for a case checked every 15 minutes (and changing each time): once it has gone
    unchecked for an hour, one `budget` gap says since when and until when; it stays open (one alert, not one per
    check) while the budget lets the case through only now and then, and closes once a bigger budget lets it be
    checked twice in a row."""
    cl = CourtListenerServer(clock=clock.now).start()
    try:
        monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
        add_cases(cl, 1)
        path = write_config(one_case_yaml(cl, per_day=4))
        state: dict[str, Any] = {}
        outcomes = []
        for n in range(36):  # nine hours, every 15 minutes, the docket changing each time
            new_filing(cl, 900100000, 100 + n)
            outcome = asyncio.run(check_watch(path, "us-v-illinois", state))
            state = dict(outcome.state)
            outcomes.append(outcome)
            clock.advance(900)
        assert outcomes[0].items is not None and outcomes[0].gaps == ()  # 17:00: checked (2 calls)
        assert all(o.items is None for o in outcomes[1:24])  # the 4 a day are paced: one check each 6 hours
        assert outcomes[4].gaps is not None
        [gap] = outcomes[4].gaps  # 18:00: unchecked for an hour
        assert gap.kind == "budget" and gap.message == (
            "U.S. v. Illinois not checked since 17:00 UTC; next check about 23:00 UTC (CourtListener budget: "
            "4/day shared by 1 watch, about one check of each every 6.0 h)"
        )
        assert all(o.gaps == () for o in outcomes[:4])
        assert all(o.gaps == (gap,) for o in outcomes[4:])  # open, and the same, through the checks at 23:00
        assert any(o.items is not None for o in outcomes[24:])

        path = write_config(one_case_yaml(cl, per_day=125))  # a bigger budget (budget is no re-baseline)
        closed = None
        for n in range(8):
            outcome = asyncio.run(check_watch(path, "us-v-illinois", state))
            state = dict(outcome.state)
            if outcome.gaps == ():
                closed = n
                break
            clock.advance(900)
        assert closed is not None and closed >= 1  # checked twice in a row: closed
    finally:
        cl.stop()


def test_budget_gap_names_the_spent_window(clock, write_config, monkeypatch):
    """Another program spent the day's 125 calls: the case is not checked, and the gap says the window is spent."""
    monkeypatch.setattr(budget_mod, "sleep", clock.stand_still)
    cl = CourtListenerServer(rates=FREE_RATES, clock=clock.now).start()
    try:
        monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
        add_cases(cl, 1)
        cl.spend_elsewhere(125)
        path = write_config(one_case_yaml(cl))
        state: dict[str, Any] = {}
        for _ in range(5):
            outcome = asyncio.run(check_watch(path, "us-v-illinois", state))
            state = dict(outcome.state)
            clock.advance(900)
        assert cl.api_requests() == [] and len(cl.usage_requests()) >= 1 and outcome.gaps is not None
        [gap] = outcome.gaps
        assert gap.message == (
            "U.S. v. Illinois not checked yet; next check about 2025-03-04 18:00 UTC (CourtListener "
            "budget: 125/day spent (other programs using this account included))"
        )
    finally:
        cl.stop()


def test_setup_gap_when_nothing_anonymous_works(clock, write_config):
    """Without a token, when CourtListener refuses the anonymous lookup, the watch reports one `setup` gap saying
    what to set, and keeps reporting it (open) without calling again."""
    cl = CourtListenerServer(anonymous_search=False, clock=clock.now).start()
    try:
        add_cases(cl, 1)
        path = write_config(
            "watches:\n  - "
            + json.dumps(
                {
                    "id": "sf",
                    "type": "courtlistener",
                    "base_url": cl.base_url,
                    "court": "dcd",
                    "docket_number": "1:25-cv-00001",
                }
            )
            + "\n"
        )
        first = asyncio.run(check_watch(path, "sf", {}))
        assert first.gaps is not None
        [gap] = first.gaps
        assert gap.kind == "setup" and "needs COURTLISTENER_TOKEN or docket_id" in gap.message
        again = asyncio.run(check_watch(path, "sf", dict(first.state)))
        assert again.gaps == (gap,) and again.warnings == () and len(cl.requests) == 1
        clock.advance(DAY + 1)  # a day later the lookup is tried again
        asyncio.run(check_watch(path, "sf", dict(again.state)))
        assert len(cl.requests) == 2
    finally:
        cl.stop()


# ------------------------------------------------------------------ monitor validate


def test_validate_warns_once_per_watch_that_needs_a_token(write_config, monkeypatch):
    """`monitor validate` accepts the configuration and warns, once per watch, about what will not work as
    expected: no token and no docket id, a feed without a court, old key names, one account with two budgets."""
    monkeypatch.delenv("COURTLISTENER_TOKEN", raising=False)
    path = write_config("""watches:
  - {id: sf, type: courtlistener, court: cand, docket_number: "3:25-cv-01350"}
  - {id: il, type: courtlistener, court: ilnd, docket_number: "1:25-cv-01285"}
  - {id: by-id, type: courtlistener, docket_id: 123, court: dcd}
  - {id: no-court, type: courtlistener, docket_id: 124}
  - {id: old, type: courtlistener, docket_id: 125, token: abc, daily_budget: 100}
  - {id: paid, type: courtlistener, docket_id: 126, token: abc, budget: {tier: member-1}}
""")
    result = run_cli("validate", "--config", str(path))
    assert result.code == 0, result.err
    warnings = [line for line in result.out.splitlines() if line.startswith("warning:")]
    needs = [w for w in warnings if "needs COURTLISTENER_TOKEN or docket_id" in w]
    assert len(needs) == 2 and "'sf'" in needs[0] and "'il'" in needs[1]
    assert "https://www.courtlistener.com/profile/api-token/" in needs[0]
    assert any("'no-court'" in w and "add `court:`" in w for w in warnings)
    assert any("'old'" in w and "`daily_budget` is the old name of `budget: {per_day: N}`" in w for w in warnings)
    assert any("same CourtListener token give different budgets" in w and "old" in w and "paid" in w for w in warnings)
    assert len(warnings) == 5
    assert "abc" not in result.out  # the token is masked

    monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
    result = run_cli("validate", "--config", str(path))
    assert not any("needs COURTLISTENER_TOKEN" in line for line in result.out.splitlines())


def test_budget_gap_is_alerted_once_and_its_end_once(clock, write_config, monkeypatch):
    """Through `monitor check` and the outbox: the budget gap reaches the alert channel once when it opens
    (whatever number of paced checks follow) and once when the case is checked again."""
    cl = CourtListenerServer(clock=clock.now).start()
    try:
        monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
        add_cases(cl, 1)
        path = write_config(one_case_yaml(cl, per_day=4))
        printed = []
        for n in range(12):  # three hours, every 15 minutes, the docket changing each time
            new_filing(cl, 900100000, 100 + n)
            printed.append(run_cli("check", "--config", str(path)).out)
            clock.advance(900)
        path = write_config(one_case_yaml(cl, per_day=125))
        for n in range(8):
            new_filing(cl, 900100000, 200 + n)
            printed.append(run_cli("check", "--config", str(path)).out)
            clock.advance(900)
        history = json.loads(run_cli("history", "--config", str(path), "--json", "-n", "200").out)
        kinds = [c["kind"] for c in history]
        assert kinds.count("gap_opened") == 1 and kinds.count("gap_closed") == 1, kinds
        opened = next(c for c in history if c["kind"] == "gap_opened")
        assert opened["item"]["title"].startswith("U.S. v. Illinois not checked since 17:00 UTC")
        alerts = "".join(printed)
        assert alerts.count("[Coverage gap] U.S. v. Illinois: U.S. v. Illinois not checked since") >= 1
        assert alerts.count("[Gap closed] U.S. v. Illinois") >= 1
        assert "deliveries: 0 sent" not in alerts
        status = json.loads(run_cli("deliveries", "--config", str(path), "--json", "--status", "pending").out)
        assert status == []  # every gap alert was delivered
    finally:
        cl.stop()
