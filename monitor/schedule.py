"""Check intervals: `90s`, `5m`, `1h`, `1d` (and combinations like `1h30m`), or a 5-field cron expression."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)([smhd]))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str | int | float) -> float:
    """Seconds in `text`: a number of seconds, or `90s`, `5m`, `1h30m`, `2d`. Raises ValueError."""
    if isinstance(text, bool):
        raise ValueError("expected a duration like 90s, 5m or 1h")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        compact = text.strip().lower().replace(" ", "")
        if not _DURATION.match(compact):
            raise ValueError(f"{text!r} is not a duration; use a number with a unit: 90s, 5m, 1h, 1d")
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(compact))
    if seconds <= 0:
        raise ValueError("a duration must be more than zero")
    return seconds


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a watch is checked: every `seconds`, or on a `cron` expression (minute hour day month weekday)."""

    text: str
    seconds: float | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, value: str | int | float) -> Schedule:
        if isinstance(value, str) and len(value.split()) == 5:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value, timezone="UTC")
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a valid cron expression: {exc}") from None
            return cls(text=value, cron=value)
        seconds = parse_duration(value)
        if seconds < 1:
            raise ValueError(f"{value!r} is too often: the shortest interval is 1s (and be polite: most sources want 5m or more)")
        return cls(text=str(value), seconds=seconds)

    def nominal_seconds(self) -> float:
        """The interval, or for cron a rough one (used for back-off caps and lease lengths)."""
        if self.seconds is not None:
            return self.seconds
        from apscheduler.triggers.cron import CronTrigger
        from datetime import datetime, timezone

        trigger = CronTrigger.from_crontab(self.cron, timezone="UTC")
        now = datetime.now(timezone.utc)
        first = trigger.get_next_fire_time(None, now)
        second = trigger.get_next_fire_time(first, first)
        return (second - first).total_seconds() if first and second else 3600.0

    def __str__(self) -> str:
        return self.text
