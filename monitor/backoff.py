"""When a failing watch may be checked again: exponential back-off and `Retry-After`, from stored state.

Worked out from the watch's stored state (`consecutive_failures`, `last_check_at`, `not_before`), so
it survives restarts and every replica agrees.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.store import WatchState


def backoff_delay(interval: float, failures: int, cap: float) -> float:
    """Seconds from a failed check to the next one: `interval * 2^(failures-1)`, at most `cap`."""
    if failures <= 1:
        return interval
    return min(interval * 2 ** min(failures - 1, 32), max(cap, interval))


def hold_until(state: WatchState | None, interval: float, cap: float) -> datetime | None:
    """The earliest time a watch may be checked again, or None: `Retry-After`, and back-off while failing.

    Scheduled runs come on a fixed grid (plus jitter), so the back-off window ends half an interval early:
    a run is never skipped for arriving a little before the exact back-off time.
    """
    if state is None:
        return None
    holds = [state.not_before] if state.not_before else []
    if state.consecutive_failures >= 1 and state.last_check_at:
        delay = backoff_delay(interval, state.consecutive_failures, cap)
        holds.append(state.last_check_at + timedelta(seconds=delay - interval / 2))
    return max(holds) if holds else None
