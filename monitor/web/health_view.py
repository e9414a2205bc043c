"""How the dashboard judges a watch: ok, failing, down, waiting, quiet, never checked, or off.

One function, used by every page, so the overview's "needs attention" list, the case pages and
`/watches` always agree.

- **down**: failing for longer than `daemon.down_after` (a "source down" alert went out);
- **failing**: the last check failed (the error is shown, secrets masked);
- **waiting**: not checked before a time the source asked for (`Retry-After`) or the back-off sets, or
  never checked yet (a new watch, a daemon just started);
- **quiet**: no successful check for three intervals (at least 15 minutes) though none failed: checks
  skipped (the CourtListener budget, another replica that stopped) or a stalled scheduler;
- **ok**; **off** for `enabled: false`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.backoff import hold_until
from monitor.store import WatchState
from watchers import WatchConfig

QUIET_INTERVALS = 3
QUIET_MIN = timedelta(minutes=15)
# Most urgent first: the order of the overview's "needs attention" list.
LEVELS = ("down", "failing", "quiet", "waiting", "ok", "off")


@dataclass(frozen=True, slots=True)
class Health:
    level: str  # one of LEVELS
    text: str  # what to show beside the level
    since: datetime | None = None  # failing since / waiting until / quiet since

    @property
    def attention(self) -> bool:
        return self.level in ("down", "failing", "quiet", "waiting")

    @property
    def rank(self) -> int:
        return LEVELS.index(self.level)


def interval_of(watch: WatchConfig, default_seconds: float) -> float:
    schedule = watch.every
    if schedule is None:
        return default_seconds
    return float(schedule.seconds if schedule.seconds is not None else schedule.nominal_seconds())


def watch_health(
    watch: WatchConfig, state: WatchState | None, now: datetime, *, interval: float, max_backoff: float
) -> Health:
    if not watch.enabled:
        return Health("off", "disabled (enabled: false)")
    if state is None or state.last_check_at is None:
        return Health("waiting", "not checked yet")
    if state.consecutive_failures:
        level = "down" if state.down_alerted else "failing"
        noun = "failure" if state.consecutive_failures == 1 else "failures in a row"
        return Health(
            level,
            f"{state.consecutive_failures} {noun}: {state.last_error or 'unknown error'}",
            state.failing_since or state.last_error_at,
        )
    hold = hold_until(state, interval, max_backoff)
    if hold is not None and hold > now:
        return Health("waiting", "the source asked to wait (Retry-After)", hold)
    last_ok = state.last_success_at or state.last_check_at
    if now - last_ok > max(QUIET_MIN, timedelta(seconds=QUIET_INTERVALS * interval)):
        return Health("quiet", "no successful check for over three intervals (checks skipped or not running)", last_ok)
    return Health("ok", "ok", last_ok)
