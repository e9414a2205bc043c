"""CourtListener's API quota, kept by the monitor: one account's calls, shared by all its `courtlistener` watches.

CourtListener throttles each account with several sliding windows at once (free accounts: 5 calls a
minute, 50 an hour and 125 a day; membership tiers more; `cl/settings/third_party/rest_framework.py`,
`cl/api/constants.py`) and anonymous callers by address (100 a day). A throttled call gets HTTP 429
with `Retry-After`. The monitor keeps its own log of the calls each account made, in the state database
that every watch, process and replica shares, and never makes the call that would be throttled:

- **Every window at once.** A call is made only while each window has room for it: fewer than
  `per_minute` calls in the last 60 s, `per_hour` in the last hour, `per_day` in the last 24 hours.
  The windows slide (Django REST framework's throttle keeps each request's time), so the log is a list
  of call times, not counters reset on the hour. A check starts only with room for two calls (the
  docket check, then its entries); a call may wait for a full window to free up, at most about a
  minute per check, else the check is skipped and said so.
- **Atomic across replicas.** Each decision ("room? then count my call") is one transaction holding
  the account's row lock (`CheckContext.update_shared`), so two watches, processes or replicas never
  take the same last call. A call is logged under the lock just before it is sent, and logged again at
  the time of its answer when that came more than 2 s later; each window is counted a little longer
  than it is (a tenth of it, at most 10 s). So the log never puts a call earlier than CourtListener
  counted it by more than that margin, and a slow request cannot free a window too soon.
- **What other programs spend is seen.** With a token, the account's real usage is read from
  `GET /api/rest/v4/api-usage/` (its own small throttle; it spends nothing of the quota) before the
  first call and then once an hour, by one replica at a time: calls CourtListener counted and the log
  does not (another program, a script, the browser extension on the same account) are added to the
  windows, and a limit CourtListener reports lower than the configured one (a smaller tier) wins.
- **Spread over the day, fairly.** The longest window's budget is split evenly among the watches of
  the account that asked in the last 1.5 windows, and each watch paces its share: a token bucket
  refilled at `share / window`, holding at most a tenth of the share (at least 2 calls, a first
  check). The account paces the whole too (a bucket refilled at `limit / window`, holding a twentieth
  of it; a new watch's first check does not wait for it but is paid from it), so that watches whose
  shares refill together do not all check in the same hour, and the first checks of 25 new watches are
  followed by a pause, not by a day spent by noon. A check starts only with a whole token of both; a
  check that finds nothing new costs one call, so quiet dockets are checked often and a busy one is
  slowed down, never the others.
- **Retry-After is for everyone.** A 429 anyway (another program on the account) stops every
  courtlistener watch of the account until the time CourtListener gave.

The watcher turns a refusal into a warning and, when a case goes unchecked for long, a `budget` gap.
The rules are pure functions of the stored log and the time, in `watchers/courtlistener_ledger.py`;
`CallBudget` here is one check's use of them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from watchers import courtlistener_ledger as ledger
from watchers.base import CheckContext
from watchers.courtlistener_ledger import (
    DAY,
    HOUR,
    MINUTE,
    Account,
    Verdict,
    Window,
    decide,
    reconcile_failed,
    record_block,
    record_settled,
    record_usage,
    release,
)

SETTLE_AFTER = 2.0  # a call answered later than this after it was logged is logged again at its answer
MAX_WAIT = 80.0  # seconds one check may wait for a window to free up, in all (one minute window and its margin)

# CourtListener's published per-account limits (cl/api/constants.py): per minute, hour, day (0: none).
TIERS: dict[str, tuple[int, int, int]] = {
    "free": (5, 50, 125),
    "member-1": (10, 75, 300),
    "member-2": (15, 150, 600),
    "member-3": (20, 250, 1000),
    "member-4": (25, 300, 1400),
    "edu": (20, 1000, 0),
}
Tier = Literal["free", "member-1", "member-2", "member-3", "member-4", "edu"]


async def sleep(seconds: float) -> None:
    """How a call waits for a window to free up. Tests replace it together with `courtlistener_ledger.now`."""
    await asyncio.sleep(seconds)


class BudgetConfig(BaseModel):
    """CourtListener's limits for the account of a watch's token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: Tier = Field("free", description="free, member-1 .. member-4 or edu: CourtListener's limits for it")
    per_minute: int | None = Field(
        None, ge=0, le=1_000_000, description="calls a minute (0: no limit); default: the tier's"
    )
    per_hour: int | None = Field(
        None, ge=0, le=1_000_000, description="calls an hour (0: no limit); default: the tier's"
    )
    per_day: int | None = Field(None, ge=0, le=10_000_000, description="calls a day (0: no limit); default: the tier's")

    def windows(self) -> tuple[Window, ...]:
        minute, hour, day = TIERS[self.tier]
        given = ((MINUTE, self.per_minute, minute), (HOUR, self.per_hour, hour), (DAY, self.per_day, day))
        return tuple(
            Window(seconds, value if value is not None else default)
            for seconds, value, default in given
            if (value if value is not None else default) > 0
        )


# ------------------------------------------------------------------ one check's use of the log


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a check could not call CourtListener now, and from when it may."""

    reason: str
    detail: str
    free_at: float | None


class CallBudget:
    """One check's calls against its account's shared log."""

    def __init__(
        self, ctx: CheckContext, watch_id: str, account: Account, read_usage: Callable[[], Awaitable[Any]] | None = None
    ):
        self.ctx = ctx
        self.watch_id = watch_id
        self.account = account
        self.read_usage = read_usage  # fetches /api-usage/'s `current_usage` rows (None: cannot)
        self.made = 0  # calls counted for this check
        self.info: Mapping[str, Any] = {}
        self._prepaid: float | None = None  # the call counted by `start`, not made yet: when it was logged
        self._waited = 0.0
        self._pending: float | None = None  # the call being made: when it was logged
        self._hold_id = uuid.uuid4().hex[:12]
        self._held = 0  # calls held at `start` and not made yet

    async def start(self, need: int) -> Refusal | None:
        """Admit a check that may make up to `need` calls, counting the first one: None if admitted."""
        refusal = await self._spend(need=need, pace=True)
        if refusal is None:
            self._prepaid, self._pending = self._pending, None
            self._held = need - 1
        return refusal

    async def finish(self) -> None:
        """The check has ended: free the calls it held and did not make (a docket found unchanged)."""
        if self._held > 0:
            self._held = 0
            await self.ctx.update_shared(
                self.account.key, lambda raw: release(raw, account=self.account, hold_id=self._hold_id)
            )

    async def take(self) -> Refusal | None:
        """One call (the one counted at `start` first): None if it may be made now. Call `settle` once it has
        been answered."""
        if self._prepaid is not None:
            self._pending, self._prepaid = self._prepaid, None
            return None
        refusal = await self._spend(need=1, pace=False)
        if refusal is None and self._held > 0:
            self._held -= 1
        return refusal

    async def settle(self) -> None:
        """The call taken last has been answered (or failed): if that took a while, log it at this time."""
        at, self._pending = self._pending, None
        if at is not None and ledger.now() - at > SETTLE_AFTER:
            await self.ctx.update_shared(self.account.key, lambda raw: record_settled(raw, account=self.account, at=at))

    async def _spend(self, *, need: int, pace: bool) -> Refusal | None:
        for _ in range(1000):  # bounded: each turn waits, reconciles once, or decides
            verdict: Verdict = await self.ctx.update_shared(
                self.account.key,
                lambda raw: decide(
                    raw, watch_id=self.watch_id, account=self.account, need=need, pace=pace, hold_id=self._hold_id
                ),
            )
            self.info = verdict.info
            if verdict.reconcile:
                await self._reconcile()
                continue
            if verdict.granted:
                self.made += 1
                self._pending = verdict.at
                return None
            wait = (verdict.free_at or 0.0) - ledger.now()
            if verdict.reason in ("window", "reconciling") and self._waited + wait <= MAX_WAIT:
                wait = max(0.5, wait + 0.5)
                self._waited += wait
                await sleep(wait)
                continue
            return Refusal(verdict.reason or "window", verdict.detail, verdict.free_at)
        raise RuntimeError("CourtListener budget: no decision after 1000 turns")  # cannot happen

    async def _reconcile(self) -> None:
        asked_at = ledger.now()
        rows = await self.read_usage() if self.read_usage is not None else None
        if rows is None:
            await self.ctx.update_shared(self.account.key, lambda raw: reconcile_failed(raw, account=self.account))
            return
        await self.ctx.update_shared(
            self.account.key, lambda raw: record_usage(raw, account=self.account, asked_at=asked_at, rows=rows)
        )

    async def block(self, seconds: float) -> float:
        """CourtListener said 429: every watch of the account pauses. Returns the time it may call again."""
        return await self.ctx.update_shared(
            self.account.key, lambda raw: record_block(raw, account=self.account, seconds=seconds)
        )
