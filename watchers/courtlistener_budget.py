"""CourtListener's API quota, kept by the monitor: one account's calls, shared by every `courtlistener` watch.

CourtListener throttles each account with sliding windows (free accounts: 5 calls a minute, 50 an hour,
125 a day; `cl/settings/third_party/rest_framework.py`); a throttled call gets HTTP 429 with
`Retry-After`. The monitor keeps its own log of the calls it made, in the state that all watches share
and that survives restarts (`CheckContext.get_shared`), and uses it so that it never makes the call
that would be throttled, and so that a day's calls are spread over the day instead of spent by noon:

- **Never more than the budget.** A call is made only while fewer than `daily_budget` calls were made
  in the last 24 hours. CourtListener's day is a sliding 24-hour window (Django REST framework's
  throttle keeps the time of each request), not the calendar day, so the log is one too: a counter
  reset at midnight UTC would let a busy evening and a busy morning add up to a 429.
- **A few a minute.** A call waits while `per_minute` calls were made in the last minute (the wait is
  under a minute; 0 turns this off for paid tiers with high limits).
- **Spread over the day, fairly.** The budget is split evenly among the watches that used the API in
  the last 36 hours, and each watch paces its share: it starts a check only while its calls stay
  within its pro-rata share of the time elapsed, plus some headroom. Formally a token bucket per
  watch: the share refills continuously (`share / 24 h`), up to a headroom of a tenth of the share
  (at least 3 calls, enough for a first check); each call takes one token; a check starts only with a
  whole token left. A check that finds nothing new costs one call, so quiet dockets are checked often
  and a busy one is slowed down, never the others.
- **Retry-After is for everyone.** When CourtListener answers 429 anyway (another program using the
  same account), every courtlistener watch waits until the time it gave.

The log is read and written without an `await` in between, so the watches of one process, which
run concurrently in one event loop, never both take the last call. Several replicas sharing one
PostgreSQL state could race on it; they should share the budget by giving each a `daily_budget` of
its part.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime, timezone
from typing import Any

from watchers.base import CheckContext

SHARED_KEY = "courtlistener:calls"
DAY = 24 * 3600.0
MINUTE = 60.0
ACTIVE = 36 * 3600.0  # a watch that has not asked for this long no longer holds a share
MIN_HEADROOM = 3.0


def now() -> float:
    """The clock (seconds since the epoch). Tests replace it."""
    return time.time()


async def sleep(seconds: float) -> None:
    """How a call waits for the per-minute limit. Tests replace it together with `now`."""
    await asyncio.sleep(seconds)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class CallBudget:
    """One watch's view of the shared call log, for one check."""

    def __init__(self, ctx: CheckContext, watch_id: str, limit: int, per_minute: int = 5):
        self.ctx = ctx
        self.watch_id = watch_id
        self.limit = limit
        self.per_minute = per_minute
        self.made = 0  # calls made by this check

    # ------------------------------------------------------------ the shared record

    def _load(self, t: float) -> dict[str, Any]:
        data = self.ctx.get_shared(SHARED_KEY) or {}
        calls = [c for c in data.get("calls") or [] if isinstance(c, list) and len(c) == 2 and t - c[0] < DAY]
        seen = {w: s for w, s in (data.get("seen") or {}).items() if t - s < ACTIVE}
        buckets = {w: b for w, b in (data.get("buckets") or {}).items() if w in seen}
        blocked = data.get("blocked_until")
        return {"calls": calls, "seen": seen, "buckets": buckets,
                "blocked_until": blocked if blocked and blocked > t else None}

    def _save(self, data: dict[str, Any]) -> None:
        self.ctx.set_shared(SHARED_KEY, data)

    def _share(self, data: dict[str, Any]) -> float:
        return self.limit / max(1, len(data["seen"]))

    def _headroom(self, share: float) -> float:
        return max(MIN_HEADROOM, share / 10)

    def _tokens(self, data: dict[str, Any], t: float) -> float:
        """This watch's tokens now: refilled at its share per day since it last spent, up to the headroom."""
        share = self._share(data)
        headroom = self._headroom(share)
        bucket = data["buckets"].get(self.watch_id)
        if bucket is None:
            return headroom
        tokens, at = bucket
        return min(headroom, tokens + share * max(0.0, t - at) / DAY)

    # ------------------------------------------------------------ the rules

    def admit(self) -> str | None:
        """Whether this watch may start a check now: None if so, else why not (for a warning)."""
        t = now()
        data = self._load(t)
        data["seen"][self.watch_id] = t
        try:
            if data["blocked_until"]:
                return (f"CourtListener asked to wait (HTTP 429) until {_when(data['blocked_until'])}: "
                        "check skipped, no call made")
            if len(data["calls"]) + min(2, self.limit) > self.limit:  # a changed docket needs two calls
                free_at = min(c[0] for c in data["calls"]) + DAY
                return (f"the CourtListener budget is spent ({len(data['calls'])} of {self.limit} calls in the "
                        f"last 24 hours): check skipped; calls free up from {_when(free_at)}")
            tokens = self._tokens(data, t)
            if tokens < 1:
                share = self._share(data)
                wait = (1 - tokens) * DAY / share
                return (f"pacing the CourtListener budget ({self.limit} calls a day, {share:g} for each of "
                        f"{len(data['seen'])} watches): check skipped, next one possible in about {_minutes(wait)} "
                        f"(checking every {_minutes(DAY / share)} or less often would fit the budget)")
            return None
        finally:
            self._save(data)

    async def acquire(self) -> bool:
        """Take one call from the budget, waiting for the per-minute limit; False if the day's budget is spent."""
        while True:
            t = now()
            data = self._load(t)
            if data["blocked_until"] or len(data["calls"]) >= self.limit:
                return False
            recent = sorted(c[0] for c in data["calls"] if t - c[0] < MINUTE)
            if self.per_minute and len(recent) >= self.per_minute:
                await sleep(recent[-self.per_minute] + MINUTE - t + 0.5)
                continue
            tokens = self._tokens(data, t)
            data["buckets"][self.watch_id] = [tokens - 1, t]
            data["calls"].append([t, self.watch_id])
            self._save(data)
            self.made += 1
            return True

    def block(self, seconds: float) -> float:
        """CourtListener said 429: no watch calls it again for `seconds`. Returns the time it may."""
        t = now()
        data = self._load(t)
        until = t + max(1.0, seconds)
        data["blocked_until"] = max(until, data["blocked_until"] or 0)
        self._save(data)
        return data["blocked_until"]

    def info(self) -> dict[str, Any]:
        """What status shows: calls used and left in the last 24 hours, and this watch's part."""
        t = now()
        data = self._load(t)
        used = len(data["calls"])
        out: dict[str, Any] = {
            "used": used, "limit": self.limit, "left": max(0, self.limit - used), "window": "24h",
            "this_watch": sum(1 for c in data["calls"] if c[1] == self.watch_id),
            "watches": max(1, len(data["seen"])),
            "share": round(self._share(data), 1),
        }
        if data["blocked_until"]:
            out["blocked_until"] = _when(data["blocked_until"])
        return out

    @staticmethod
    def wait_text(seconds: float) -> str:
        return _minutes(math.ceil(seconds))
