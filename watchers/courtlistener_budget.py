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
Everything here except `CallBudget` is a pure function of the stored log and the time.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from watchers.base import CheckContext

MINUTE, HOUR, DAY = 60, 3600, 86400
ACTIVE = 1.5  # a watch that has not asked for this many pacing windows no longer holds a share
MIN_HEADROOM = 2.0  # enough for a first check (the lookup, then the entries)
RECENT = HOUR  # a watch that asked this lately is waiting for the account's next token too
HOLD = 300.0  # seconds a started check holds the further calls it may need, if it never says it is done
SETTLE_AFTER = 2.0  # a call answered later than this after it was logged is logged again at its answer
MAX_WAIT = 80.0  # seconds one check may wait for a window to free up, in all (one minute window and its margin)
RECONCILE_EVERY = HOUR  # how often the account's usage is read from /api-usage/
RECONCILE_CLAIM = 300.0  # one replica reads it; others do not try again for this long
WINDOW_NAMES = {MINUTE: "min", HOUR: "hour", DAY: "day"}

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


def now() -> float:
    """The clock (seconds since the epoch). Tests replace it."""
    return time.time()


async def sleep(seconds: float) -> None:
    """How a call waits for a window to free up. Tests replace it together with `now`."""
    await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Window:
    """At most `limit` calls in any `seconds`."""

    seconds: int
    limit: int

    @property
    def label(self) -> str:
        name = WINDOW_NAMES.get(self.seconds)
        return f"{self.limit}/{name}" if name else f"{self.limit}/{self.seconds}s"

    @property
    def margin(self) -> float:
        """How much longer than itself the window is counted (a later-arriving request stays inside)."""
        return min(10.0, self.seconds / 10)


ANONYMOUS = (Window(DAY, 100),)  # CourtListener's `anon: 100/day`, per address


class BudgetConfig(BaseModel):
    """CourtListener's limits for the account of a watch's token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: Tier = Field("free", description="free, member-1 .. member-4 or edu: CourtListener's limits for it")
    per_minute: int | None = Field(None, ge=0, le=1_000_000, description="calls a minute (0: no limit); default: the tier's")
    per_hour: int | None = Field(None, ge=0, le=1_000_000, description="calls an hour (0: no limit); default: the tier's")
    per_day: int | None = Field(None, ge=0, le=10_000_000, description="calls a day (0: no limit); default: the tier's")

    def windows(self) -> tuple[Window, ...]:
        minute, hour, day = TIERS[self.tier]
        given = ((MINUTE, self.per_minute, minute), (HOUR, self.per_hour, hour), (DAY, self.per_day, day))
        return tuple(Window(seconds, value if value is not None else default)
                     for seconds, value, default in given if (value if value is not None else default) > 0)


@dataclass(frozen=True, slots=True)
class Account:
    """Whose calls these are: a token's account on one CourtListener, or anonymous callers of it."""

    key: str  # where its log is kept in the shared state (never the token itself)
    anonymous: bool
    windows: tuple[Window, ...]


def account_for(base_url: str, token: str | None, windows: tuple[Window, ...]) -> Account:
    if token is None:
        site = hashlib.sha256(base_url.encode()).hexdigest()[:12]
        return Account(f"courtlistener:anonymous:{site}", True, ANONYMOUS)
    digest = hashlib.sha256(f"{base_url}\0{token}".encode()).hexdigest()[:16]  # not reversible to the token
    return Account(f"courtlistener:account:{digest}", False, windows)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One decision on the log: granted, or why not and from when it may be."""

    granted: bool
    reason: str | None = None  # "window", "pacing", "429", "blocked"
    detail: str = ""  # for people: "125/day spent", ...
    free_at: float | None = None
    reconcile: bool = False  # read /api-usage/ first (this caller claimed it)
    info: Mapping[str, Any] = field(default_factory=dict)
    at: float | None = None  # the time the granted call was logged at


# ------------------------------------------------------------------ the log, as pure functions


def _load(raw: Any, t: float, windows: Sequence[Window]) -> dict[str, Any]:
    data = dict(raw) if isinstance(raw, Mapping) else {}
    horizon = max((w.seconds + w.margin for w in windows), default=0.0)
    calls = sorted(c for c in data.get("calls") or [] if isinstance(c, (int, float)) and t - c < horizon)
    pace = _pace_window(windows)
    active = ACTIVE * (pace.seconds if pace else DAY)
    seen = {w: s for w, s in (data.get("seen") or {}).items() if isinstance(s, (int, float)) and t - s < active}
    buckets = {w: b for w, b in (data.get("buckets") or {}).items() if w in seen and isinstance(b, list) and len(b) == 2}
    holds = {h: v for h, v in (data.get("holds") or {}).items()
             if isinstance(v, list) and len(v) == 2 and v[0] > 0 and v[1] > t}
    blocked = data.get("blocked_until")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    account_bucket = data.get("account_bucket")
    return {"calls": calls, "seen": seen, "buckets": buckets, "holds": holds,
            "account_bucket": account_bucket if isinstance(account_bucket, list) and len(account_bucket) == 2 else None,
            "blocked_until": blocked if isinstance(blocked, (int, float)) and blocked > t else None,
            "usage": usage, "reconciled_at": data.get("reconciled_at"),
            "reconcile_claimed_at": data.get("reconcile_claimed_at")}


def _pace_window(windows: Sequence[Window]) -> Window | None:
    return max(windows, key=lambda w: w.seconds, default=None)


def _effective(data: Mapping[str, Any], windows: Sequence[Window], t: float) -> list[tuple[Window, int]]:
    """The windows to respect now, each with the calls other programs made in it (from /api-usage/)."""
    usage = data.get("usage") or {}
    reported = usage.get("windows") or {}
    at = usage.get("at") or 0.0
    out: dict[int, tuple[Window, int]] = {w.seconds: (w, 0) for w in windows}
    for seconds_text, row in reported.items():
        seconds = int(seconds_text)
        extra = int(row.get("extra") or 0) if t < at + seconds else 0
        limit = row.get("limit")
        mine = out.get(seconds)
        window = mine[0] if mine else None
        if isinstance(limit, int) and limit >= 0 and (window is None or limit < window.limit):
            window = Window(seconds, limit)  # CourtListener says this account may do less
        if window is not None:
            out[seconds] = (window, extra)
    return [out[s] for s in sorted(out)]


def _in_window(calls: Sequence[float], t: float, window: Window) -> list[float]:
    start = t - window.seconds - window.margin
    return [c for c in calls if c > start]


def _free_at(calls: Sequence[float], t: float, window: Window, extra: int, need: int, usage_end: float) -> float:
    """When this window will have room for `need` more calls."""
    inside = _in_window(calls, t, window)
    excess = len(inside) + extra + need - window.limit
    if excess <= 0:
        return t
    candidates = []
    if extra and len(inside) + need <= window.limit:
        candidates.append(usage_end)  # the other programs' calls will have left the window
    if excess <= len(inside):
        candidates.append(inside[excess - 1] + window.seconds + window.margin)
    return min(candidates) if candidates else max(usage_end, t + window.seconds)


def _tokens(data: Mapping[str, Any], watch_id: str, pace: Window, t: float) -> tuple[float, float, float]:
    """This watch's tokens now, its share of the pacing window, and its headroom."""
    share = pace.limit / max(1, len(data["seen"]))
    headroom = max(MIN_HEADROOM, share / 10)
    bucket = data["buckets"].get(watch_id)
    if bucket is None:
        return headroom, share, headroom
    tokens, at = bucket
    return min(headroom, tokens + share * max(0.0, t - at) / pace.seconds), share, headroom


def _account_tokens(data: Mapping[str, Any], pace: Window, t: float) -> float:
    """The account's tokens now: refilled at the pacing window's rate, holding a twentieth of it. What keeps
    the watches' checks from bunching up: each waits for its own share and for the account's. A watch's
    first check does not wait for the account (a new watch gets its baseline at once) but is paid from it,
    so the first checks of many new watches are followed by a pause that keeps the window's average."""
    capacity = max(MIN_HEADROOM, pace.limit / 20)
    bucket = data.get("account_bucket")
    if bucket is None:
        return capacity
    tokens, at = bucket
    return min(capacity, tokens + pace.limit * max(0.0, t - at) / pace.seconds)


def decide(raw: Any, *, watch_id: str, account: Account, need: int, pace: bool, take: bool = True,
           hold_id: str = "", clock: Callable[[], float] | None = None) -> tuple[dict[str, Any], Verdict]:
    """Whether `watch_id` may make a call now (with room for `need`), and the log with it counted if so.

    A check that starts with `need` > 1 (`hold_id` given) makes its first call and holds the others, so
    that checks starting at the same moment cannot each take a first call and leave each other no room
    for the second: a later call of the check (`pace` False) uses its hold. Holds count as calls made
    now; they are released when the check ends (`release`), or after HOLD seconds if it never does.
    Runs under the account's lock; the time is read here, as late as possible."""
    t = (clock or now)()
    data = _load(raw, t, account.windows)
    data["seen"][watch_id] = t
    pace_window = _pace_window(account.windows)
    held = data["holds"].get(hold_id) if hold_id else None
    if held and not pace:  # a call this check reserved when it started
        held[0] -= 1
        if held[0] <= 0:
            del data["holds"][hold_id]
        return data, _granted(data, account, watch_id, pace_window, t)
    if data["blocked_until"]:
        return data, Verdict(False, "429", f"CourtListener asked to wait (HTTP 429) until {when(data['blocked_until'])}",
                             data["blocked_until"], info=_info(data, account, t))
    if not account.anonymous:
        reconcile = _reconcile_state(data, t)
        if reconcile == "due":
            data["reconcile_claimed_at"] = t
            return data, Verdict(False, reconcile=True, info=_info(data, account, t))
        if reconcile == "in progress":  # another check is reading /api-usage/: its answer is worth a second
            return data, Verdict(False, "reconciling", "reading CourtListener's count of this account's calls",
                                 t + 1, info=_info(data, account, t))
    usage = data.get("usage") or {}
    if usage.get("blocked"):
        return data, Verdict(False, "blocked", "CourtListener reports this account's API access as blocked",
                             t + RECONCILE_EVERY, info=_info(data, account, t))
    worst: tuple[float, Window] | None = None
    usage_at = usage.get("at") or 0.0
    others_held = sum(count for h, (count, _) in data["holds"].items() if h != hold_id)
    calls = sorted(data["calls"] + [t] * others_held)  # what other checks hold counts as made now
    for window, extra in _effective(data, account.windows, t):
        free = _free_at(calls, t, window, extra, min(need, max(1, window.limit)), usage_at + window.seconds)
        if free > t and (worst is None or free > worst[0]):
            worst = (free, window)
    if worst is not None:
        spent = f"{worst[1].label} spent" + (" (other programs using this account included)"
                                             if _foreign(data, worst[1], t) else "")
        return data, Verdict(False, "window", ("CourtListener budget without a token: " if account.anonymous
                                               else "CourtListener budget: ") + spent, worst[0],
                             info=_info(data, account, t))
    if pace and pace_window is not None:
        tokens, share, _ = _tokens(data, watch_id, pace_window, t)
        first = watch_id not in data["buckets"]
        # the account's tokens go to the watches that have waited longest first: leave one for each watch
        # asking lately that holds more of its own share than this one
        needier = 0 if first else sum(
            1 for other, seen in data["seen"].items()
            if other != watch_id and t - seen < RECENT and _tokens(data, other, pace_window, t)[0] > tokens)
        pooled = 1.0 if first else _account_tokens(data, pace_window, t) - needier
        if tokens < 1 or pooled < 1:
            every = pace_window.seconds / share
            watches = len(data["seen"])
            detail = (f"CourtListener budget: {pace_window.label} shared by {watches} watch{'es' if watches > 1 else ''}"
                      f", about one check of each every {duration(every)}")
            wait = max((1 - tokens) * every, (1 - pooled) * pace_window.seconds / pace_window.limit)
            return data, Verdict(False, "pacing", detail, t + wait, info=_info(data, account, t))
    if not take:
        return data, Verdict(True, info=_info(data, account, t))
    if hold_id and need > 1:
        data["holds"][hold_id] = [need - 1, t + HOLD]
    return data, _granted(data, account, watch_id, pace_window, t)


def _granted(data: dict[str, Any], account: Account, watch_id: str, pace_window: Window | None, t: float) -> Verdict:
    """Count a call made now (and take it from the watch's share)."""
    data["calls"].append(t)
    if pace_window is not None:
        tokens, _, _ = _tokens(data, watch_id, pace_window, t)
        data["buckets"][watch_id] = [tokens - 1, t]
        data["account_bucket"] = [_account_tokens(data, pace_window, t) - 1, t]
    return Verdict(True, info=_info(data, account, t), at=t)


def release(raw: Any, *, account: Account, hold_id: str,
            clock: Callable[[], float] | None = None) -> tuple[dict[str, Any], None]:
    """The check has ended: the calls it held and did not make are free again."""
    data = _load(raw, (clock or now)(), account.windows)
    data["holds"].pop(hold_id, None)
    return data, None


def record_settled(raw: Any, *, account: Account, at: float,
                   clock: Callable[[], float] | None = None) -> tuple[dict[str, Any], None]:
    """A call logged at `at` has been answered now: log it at now instead. CourtListener counted it somewhere in
    between, so the log's time is then never earlier than CourtListener's, however long the request took."""
    t = (clock or now)()
    data = _load(raw, t, account.windows)
    if at in data["calls"]:
        data["calls"].remove(at)
        data["calls"].append(t)
        data["calls"].sort()
    return data, None


def _reconcile_state(data: Mapping[str, Any], t: float) -> str:
    """"fresh" (read in the last hour), "in progress" (a check is reading it now), or "due"."""
    done, claimed = data.get("reconciled_at"), data.get("reconcile_claimed_at")
    if isinstance(done, (int, float)) and t - done < RECONCILE_EVERY:
        return "fresh"
    if isinstance(claimed, (int, float)) and t - claimed < RECONCILE_CLAIM:
        return "in progress"
    return "due"  # never read, read over an hour ago, or its reader gave up (a replica that died)


def _foreign(data: Mapping[str, Any], window: Window, t: float) -> int:
    usage = data.get("usage") or {}
    row = (usage.get("windows") or {}).get(str(window.seconds)) or {}
    return int(row.get("extra") or 0) if t < (usage.get("at") or 0) + window.seconds else 0


def record_usage(raw: Any, *, account: Account, asked_at: float, rows: Any,
                 clock: Callable[[], float] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fold what /api-usage/ said (asked at `asked_at`) into the log: calls CourtListener counted that the
    log does not are other programs'; its limits may be lower than configured. Returns the log and a
    summary. Calls logged in the last seconds before asking may not have reached CourtListener yet, so
    they are left out of the comparison: that can only over-count the others' calls, never under-count."""
    t = (clock or now)()
    data = _load(raw, t, account.windows)
    windows: dict[str, dict[str, Any]] = {}
    blocked = False
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping) or row.get("scope") != "user":
            continue
        seconds, used, limit = row.get("window_seconds"), row.get("used"), row.get("limit")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (seconds, used, limit)) or seconds <= 0:
            continue
        blocked = blocked or row.get("blocked") is True
        mine = sum(1 for c in data["calls"] if asked_at - seconds < c <= asked_at - 2)
        windows[str(seconds)] = {"extra": max(0, used - mine), "limit": limit, "used": used}
    data["usage"] = {"at": asked_at, "windows": windows, "blocked": blocked}
    data["reconciled_at"] = t
    return data, windows


def reconcile_failed(raw: Any, *, account: Account, clock: Callable[[], float] | None = None) -> tuple[dict[str, Any], None]:
    """/api-usage/ could not be read: the log alone counts until the next try (in an hour)."""
    t = (clock or now)()
    data = _load(raw, t, account.windows)
    data["reconciled_at"] = t
    return data, None


def record_block(raw: Any, *, account: Account, seconds: float,
                 clock: Callable[[], float] | None = None) -> tuple[dict[str, Any], float]:
    """CourtListener said 429: nobody calls it for `seconds`; the real usage is read again next time."""
    t = (clock or now)()
    data = _load(raw, t, account.windows)
    data["blocked_until"] = max(t + max(1.0, seconds), data["blocked_until"] or 0.0)
    data["reconciled_at"] = data["reconcile_claimed_at"] = None  # it counted more than we did: look again
    return data, data["blocked_until"]


def _info(data: Mapping[str, Any], account: Account, t: float) -> dict[str, Any]:
    """What status shows: per window used and limit, calls possible now, the pacing share."""
    windows = []
    left = None
    for window, extra in _effective(data, account.windows, t):
        used = len(_in_window(data["calls"], t, window)) + extra
        windows.append({"window": window.label, "used": used, **({"by_other_programs": extra} if extra else {})})
        left = max(0, window.limit - used) if left is None else min(left, max(0, window.limit - used))
    pace = _pace_window(account.windows)
    out: dict[str, Any] = {"account": "anonymous" if account.anonymous else "token", "windows": windows,
                           "left": left, "watches": max(1, len(data["seen"]))}
    if pace is not None:
        out["share"] = round(pace.limit / max(1, len(data["seen"])), 1)
    if data.get("blocked_until"):
        out["blocked_until"] = when(data["blocked_until"])
    return out


# ------------------------------------------------------------------ one check's use of the log


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a check could not call CourtListener now, and from when it may."""

    reason: str
    detail: str
    free_at: float | None


class CallBudget:
    """One check's calls against its account's shared log."""

    def __init__(self, ctx: CheckContext, watch_id: str, account: Account,
                 read_usage: Callable[[], Awaitable[Any]] | None = None):
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
            await self.ctx.update_shared(self.account.key, lambda raw: release(
                raw, account=self.account, hold_id=self._hold_id))

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
        if at is not None and now() - at > SETTLE_AFTER:
            await self.ctx.update_shared(self.account.key, lambda raw: record_settled(raw, account=self.account, at=at))

    async def _spend(self, *, need: int, pace: bool) -> Refusal | None:
        for _ in range(1000):  # bounded: each turn waits, reconciles once, or decides
            verdict: Verdict = await self.ctx.update_shared(self.account.key, lambda raw: decide(
                raw, watch_id=self.watch_id, account=self.account, need=need, pace=pace, hold_id=self._hold_id))
            self.info = verdict.info
            if verdict.reconcile:
                await self._reconcile()
                continue
            if verdict.granted:
                self.made += 1
                self._pending = verdict.at
                return None
            wait = (verdict.free_at or 0.0) - now()
            if verdict.reason in ("window", "reconciling") and self._waited + wait <= MAX_WAIT:
                wait = max(0.5, wait + 0.5)
                self._waited += wait
                await sleep(wait)
                continue
            return Refusal(verdict.reason or "window", verdict.detail, verdict.free_at)
        raise RuntimeError("CourtListener budget: no decision after 1000 turns")  # cannot happen

    async def _reconcile(self) -> None:
        asked_at = now()
        rows = await self.read_usage() if self.read_usage is not None else None
        if rows is None:
            await self.ctx.update_shared(self.account.key, lambda raw: reconcile_failed(raw, account=self.account))
            return
        await self.ctx.update_shared(self.account.key, lambda raw: record_usage(
            raw, account=self.account, asked_at=asked_at, rows=rows))

    async def block(self, seconds: float) -> float:
        """CourtListener said 429: every watch of the account pauses. Returns the time it may call again."""
        return await self.ctx.update_shared(self.account.key, lambda raw: record_block(
            raw, account=self.account, seconds=seconds))


# ------------------------------------------------------------------ words


def when(epoch: float, *, today: float | None = None) -> str:
    """`14:05 UTC`, with the date when it is not the day of `today` (default: the same day as `epoch`)."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    if today is not None and datetime.fromtimestamp(today, timezone.utc).date() == moment.date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float) -> str:
    seconds = math.ceil(seconds)
    if seconds < 90:
        return f"{max(1, seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
