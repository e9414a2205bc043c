"""Check intervals: `90s`, `5m`, `1h`, `1d` (and combinations like `1h30m`), or a 5-field cron expression."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a cron schedule is used, not on every start-up
    from apscheduler.triggers.cron import CronTrigger

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)([smhd]))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str | int | float, *, allow_zero: bool = False) -> float:
    """Seconds in `text`: a number of seconds, or `90s`, `5m`, `1h30m`, `2d`. Raises ValueError.
    With `allow_zero`, 0 is accepted (a delay that is off)."""
    if isinstance(text, bool):
        raise ValueError("expected a duration like 90s, 5m or 1h")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        compact = text.strip().lower().replace(" ", "")
        if not _DURATION.match(compact):
            raise ValueError(f"{text!r} is not a duration; use a number with a unit: 90s, 5m, 1h, 1d")
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(compact))
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("a duration cannot be negative" if allow_zero else "a duration must be more than zero")
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
            try:
                cron_trigger(value)
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
        trigger = cron_trigger(self.cron)
        now = datetime.now(timezone.utc)
        first = trigger.get_next_fire_time(None, now)
        second = trigger.get_next_fire_time(first, first)
        return (second - first).total_seconds() if first and second else 3600.0

    def trigger(self, *, jitter: float | None = None) -> CronTrigger:
        """The APScheduler trigger of a cron schedule (intervals are scheduled by the daemon itself)."""
        assert self.cron is not None, "only cron schedules have a trigger"
        return cron_trigger(self.cron, jitter=jitter)

    def __str__(self) -> str:
        return self.text


def cron_dow(field: str) -> str:
    """A cron day-of-week field with numbers turned into names (0 and 7 are Sunday, as in cron).

    APScheduler 3 numbers weekdays from Monday = 0, so `1-5` would mean Tuesday to Saturday there;
    names mean the same to both.
    """
    if field in ("*", "?"):
        return "*"
    days: list[int] = []
    for part in field.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            low, high = 0, 6
        elif "-" in body:
            a, b = body.split("-", 1)
            low, high = _cron_day(a), _cron_day(b)
            if high == 0 and low > 0:  # "5-7": 7 is Sunday at the end of the week
                high = 7
        else:
            low = high = _cron_day(body)
            if step_text:
                high = 6
        if low > high:
            raise ValueError(f"day-of-week range {body!r} runs backwards")
        days.extend(d % 7 for d in range(low, high + 1, step))
    return ",".join(_CRON_DAYS[d] for d in sorted(set(days)))


def _cron_day(text: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7 if int(text) != 7 else 0
    if text[:3] in _CRON_DAYS:
        return _CRON_DAYS.index(text[:3])
    raise ValueError(f"{text!r} is not a day of the week (0-7 or sun-sat)")


def cron_trigger(expr: str, *, jitter: float | None = None) -> CronTrigger:
    """`CronTrigger.from_crontab` with cron's weekday numbering, in UTC."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) == 5:
        fields[4] = cron_dow(fields[4])
    trigger = CronTrigger.from_crontab(" ".join(fields), timezone=timezone.utc)
    trigger.jitter = jitter or None
    return trigger
