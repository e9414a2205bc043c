"""The CourtListener call log of one account and its rules, as pure functions of the stored log and the time.

`watchers/courtlistener_budget.py` says what the rules mean for users and spends the log through
`CheckContext.update_shared`, which runs each function here under the account's row lock: every
function takes the stored value and returns the new one with its result, and reads the clock itself,
as late as possible. The log is JSON: the call times (within the longest window), each watch's token
bucket, the account's bucket, checks' holds, a 429's end, and what /api-usage/ last said.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

MINUTE, HOUR, DAY = 60, 3600, 86400
ACTIVE = 1.5  # a watch that has not asked for this many pacing windows no longer holds a share
MIN_HEADROOM = 2.0  # enough for a first check (the lookup, then the entries)
RECENT = HOUR  # a watch that asked this lately is waiting for the account's next token too
HOLD = 300.0  # seconds a started check holds the further calls it may need, if it never says it is done
RECONCILE_EVERY = HOUR  # how often the account's usage is read from /api-usage/
RECONCILE_CLAIM = 300.0  # one replica reads it; others do not try again for this long
WINDOW_NAMES = {MINUTE: "min", HOUR: "hour", DAY: "day"}


def now() -> float:
    """The clock (seconds since the epoch). Tests replace it."""
    return time.time()


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
    buckets = {
        w: b for w, b in (data.get("buckets") or {}).items() if w in seen and isinstance(b, list) and len(b) == 2
    }
    holds = {
        h: v
        for h, v in (data.get("holds") or {}).items()
        if isinstance(v, list) and len(v) == 2 and v[0] > 0 and v[1] > t
    }
    blocked = data.get("blocked_until")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    account_bucket = data.get("account_bucket")
    return {
        "calls": calls,
        "seen": seen,
        "buckets": buckets,
        "holds": holds,
        "account_bucket": account_bucket if isinstance(account_bucket, list) and len(account_bucket) == 2 else None,
        "blocked_until": blocked if isinstance(blocked, (int, float)) and blocked > t else None,
        "usage": usage,
        "reconciled_at": data.get("reconciled_at"),
        "reconcile_claimed_at": data.get("reconcile_claimed_at"),
    }


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


def decide(
    raw: Any,
    *,
    watch_id: str,
    account: Account,
    need: int,
    pace: bool,
    take: bool = True,
    hold_id: str = "",
    clock: Callable[[], float] | None = None,
) -> tuple[dict[str, Any], Verdict]:
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
        return data, Verdict(
            False,
            "429",
            f"CourtListener asked to wait (HTTP 429) until {when(data['blocked_until'])}",
            data["blocked_until"],
            info=_info(data, account, t),
        )
    if not account.anonymous:
        reconcile = _reconcile_state(data, t)
        if reconcile == "due":
            data["reconcile_claimed_at"] = t
            return data, Verdict(False, reconcile=True, info=_info(data, account, t))
        if reconcile == "in progress":  # another check is reading /api-usage/: its answer is worth a second
            return data, Verdict(
                False,
                "reconciling",
                "reading CourtListener's count of this account's calls",
                t + 1,
                info=_info(data, account, t),
            )
    usage = data.get("usage") or {}
    if usage.get("blocked"):
        return data, Verdict(
            False,
            "blocked",
            "CourtListener reports this account's API access as blocked",
            t + RECONCILE_EVERY,
            info=_info(data, account, t),
        )
    worst: tuple[float, Window] | None = None
    usage_at = usage.get("at") or 0.0
    others_held = sum(count for h, (count, _) in data["holds"].items() if h != hold_id)
    calls = sorted(data["calls"] + [t] * others_held)  # what other checks hold counts as made now
    for window, extra in _effective(data, account.windows, t):
        free = _free_at(calls, t, window, extra, min(need, max(1, window.limit)), usage_at + window.seconds)
        if free > t and (worst is None or free > worst[0]):
            worst = (free, window)
    if worst is not None:
        spent = f"{worst[1].label} spent" + (
            " (other programs using this account included)" if _foreign(data, worst[1], t) else ""
        )
        return data, Verdict(
            False,
            "window",
            ("CourtListener budget without a token: " if account.anonymous else "CourtListener budget: ") + spent,
            worst[0],
            info=_info(data, account, t),
        )
    if pace and pace_window is not None:
        tokens, share, _ = _tokens(data, watch_id, pace_window, t)
        first = watch_id not in data["buckets"]
        # the account's tokens go to the watches that have waited longest first: leave one for each watch
        # asking lately that holds more of its own share than this one
        needier = (
            0
            if first
            else sum(
                1
                for other, seen in data["seen"].items()
                if other != watch_id and t - seen < RECENT and _tokens(data, other, pace_window, t)[0] > tokens
            )
        )
        pooled = 1.0 if first else _account_tokens(data, pace_window, t) - needier
        if tokens < 1 or pooled < 1:
            every = pace_window.seconds / share
            watches = len(data["seen"])
            detail = (
                f"CourtListener budget: {pace_window.label} shared by {watches} watch{'es' if watches > 1 else ''}"
                f", about one check of each every {duration(every)}"
            )
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


def release(
    raw: Any, *, account: Account, hold_id: str, clock: Callable[[], float] | None = None
) -> tuple[dict[str, Any], None]:
    """The check has ended: the calls it held and did not make are free again."""
    data = _load(raw, (clock or now)(), account.windows)
    data["holds"].pop(hold_id, None)
    return data, None


def record_settled(
    raw: Any, *, account: Account, at: float, clock: Callable[[], float] | None = None
) -> tuple[dict[str, Any], None]:
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
    """ "fresh" (read in the last hour), "in progress" (a check is reading it now), or "due"."""
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


def _whole(value: object) -> TypeGuard[int]:
    """An int in a JSON answer (true and false are not counts)."""
    return isinstance(value, int) and not isinstance(value, bool)


def record_usage(
    raw: Any, *, account: Account, asked_at: float, rows: Any, clock: Callable[[], float] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
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
        if not (_whole(seconds) and _whole(used) and _whole(limit)) or seconds <= 0:
            continue
        blocked = blocked or row.get("blocked") is True
        mine = sum(1 for c in data["calls"] if asked_at - seconds < c <= asked_at - 2)
        windows[str(seconds)] = {"extra": max(0, used - mine), "limit": limit, "used": used}
    data["usage"] = {"at": asked_at, "windows": windows, "blocked": blocked}
    data["reconciled_at"] = t
    return data, windows


def reconcile_failed(
    raw: Any, *, account: Account, clock: Callable[[], float] | None = None
) -> tuple[dict[str, Any], None]:
    """/api-usage/ could not be read: the log alone counts until the next try (in an hour)."""
    t = (clock or now)()
    data = _load(raw, t, account.windows)
    data["reconciled_at"] = t
    return data, None


def record_block(
    raw: Any, *, account: Account, seconds: float, clock: Callable[[], float] | None = None
) -> tuple[dict[str, Any], float]:
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
    out: dict[str, Any] = {
        "account": "anonymous" if account.anonymous else "token",
        "windows": windows,
        "left": left,
        "watches": max(1, len(data["seen"])),
    }
    if pace is not None:
        out["share"] = round(pace.limit / max(1, len(data["seen"])), 1)
    if data.get("blocked_until"):
        out["blocked_until"] = when(data["blocked_until"])
    return out


# ------------------------------------------------------------------ words


def when(epoch: float, *, today: float | None = None) -> str:
    """`14:05 UTC`, with the date when it is not the day of `today` (default: the same day as `epoch`)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    if today is not None and datetime.fromtimestamp(today, UTC).date() == moment.date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float) -> str:
    seconds = math.ceil(seconds)
    if seconds < 90:
        return f"{max(1, seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
