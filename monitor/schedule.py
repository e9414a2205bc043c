"""When a watch is checked: an interval (`90s`, `5m`, `1h`, `1d`, `1h30m`) or a 5-field cron expression.

Intervals need a unit: `every: 5` is an error ("5 what?"), never five seconds. An interval does not
depend on a time zone; a cron expression runs in its watch's `timezone` (an IANA name such as
`America/Los_Angeles`, default UTC), so `0 9 * * 1-5` there is 9:00 court time on weekdays, summer
and winter alike.

Cron fields are checked exactly as cron reads them: numbers in each field's range, the names `jan`..`dec`
and `sun`..`sat` (any case, nothing else: `monkey` is an error), `*`, ranges `a-b`, steps `*/n`,
`a-b/n` and `a/n`, and lists `a,b`. Weekday 0 and 7 are Sunday, as in cron (APScheduler 3 counts
from Monday: the fields are translated for it here, so validation and the daemon agree). As in cron,
when both day-of-month and day-of-week are restricted, a day matching either one fires.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a cron schedule is used, not on every start-up
    from apscheduler.triggers.base import BaseTrigger

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)([smhd]))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_BARE_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
DEFAULT_TIMEZONE = "UTC"


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


# ---------------------------------------------------------------- time zones


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone (`America/Los_Angeles`, `UTC`); else ValueError naming close ones."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    close = close_timezones(name)
    hint = (
        f"did you mean {' or '.join(close)}?"
        if close
        else "use an IANA name like America/Los_Angeles, America/Chicago or UTC"
    )
    raise ValueError(f"{name!r} is not a time zone; {hint}")


def close_timezones(name: str, n: int = 3) -> list[str]:
    """IANA names close to `name`: same spelling in another case, the same city, or a near miss."""
    from zoneinfo import available_timezones

    zones = sorted(available_timezones())
    by_lower = {z.lower(): z for z in zones}
    wanted = name.strip().lower().replace(" ", "_")
    found = [by_lower[wanted]] if wanted in by_lower else []
    found += [z for z in zones if z.lower().rsplit("/", 1)[-1] == wanted.rsplit("/", 1)[-1] and z not in found]
    found += [
        by_lower[m]
        for m in difflib.get_close_matches(wanted, list(by_lower), n=n, cutoff=0.75)
        if by_lower[m] not in found
    ]
    return found[:n]


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


# ---------------------------------------------------------------- schedules


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a watch is checked: every `seconds`, or on a `cron` expression (minute hour day month weekday)
    read in `timezone` (cron only: an interval is the same in every zone)."""

    text: str
    seconds: float | None = None
    cron: str | None = None
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def parse(cls, value: str | int | float) -> Schedule:
        if isinstance(value, bool):
            raise ValueError("expected an interval like 90s, 5m, 1h, or a cron expression like '*/10 * * * *'")
        if isinstance(value, (int, float)) or _BARE_NUMBER.match(value):
            number = str(value).strip()
            raise ValueError(f"{number} what? An interval needs a unit: {number}s, {number}m, {number}h or {number}d")
        fields = value.split()
        if len(fields) == 5:
            try:
                cron_fields(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a valid cron expression: {exc}") from None
            return cls(text=value, cron=value)
        try:
            seconds = parse_duration(value)
        except ValueError:
            if len(fields) >= 3:  # meant as cron (`5 minutes` and `1h 30m` were meant as intervals)
                raise ValueError(
                    f"{value!r} is neither an interval (90s, 5m, 1h) nor a cron expression: cron has 5 "
                    f"fields (minute hour day-of-month month day-of-week), this has {len(fields)}"
                ) from None
            raise
        if seconds < 1:
            raise ValueError(
                f"{value!r} is too often: the shortest interval is 1s (and be polite: most sources want 5m or more)"
            )
        return cls(text=str(value), seconds=seconds)

    def in_zone(self, name: str | None) -> Schedule:
        """This schedule read in time zone `name` (None: unchanged)."""
        return self if not name or name == self.timezone else replace(self, timezone=name)

    def describe(self) -> str:
        """The text, and for a cron schedule outside UTC its zone: `0 9 * * 1-5 (America/Los_Angeles)`."""
        if self.cron and self.timezone != DEFAULT_TIMEZONE:
            return f"{self.text} ({self.timezone})"
        return self.text

    def nominal_seconds(self) -> float:
        """The interval, or for cron a rough one (used for back-off caps and lease lengths)."""
        if self.seconds is not None:
            return self.seconds
        return _nominal(self.cron, self.timezone)

    def trigger(self, *, jitter: float | None = None) -> BaseTrigger:
        """The APScheduler trigger of a cron schedule, in its time zone (intervals are scheduled by the daemon)."""
        assert self.cron is not None, "only cron schedules have a trigger"
        return cron_trigger(self.cron, jitter=jitter, timezone=self.timezone)

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=256)
def _nominal(cron: str, timezone: str) -> float:
    trigger = cron_trigger(cron, timezone=timezone)
    now = datetime.now(UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first) if first else None
    return (second - first).total_seconds() if first and second else 3600.0


# ---------------------------------------------------------------- cron fields


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] is the value `first_named + i`
    first_named: int = 0

    def value(self, text: str) -> int:
        lowered = text.lower()
        if lowered.isdigit():
            number = int(lowered)
            if self.low <= number <= self.high:
                return number
            raise ValueError(f"{text!r} in the {self.name} field is out of range: use {self.allowed()}")
        if lowered in self.names:
            return self.names.index(lowered) + self.first_named
        raise ValueError(f"{text!r} is not a valid {self.name}: use {self.allowed()}")

    def allowed(self) -> str:
        numbers = f"{self.low}-{self.high}"
        if self.name == "day-of-week":
            numbers += " (0 and 7 are Sunday)"
        return f"{numbers} or {', '.join(self.names)}" if self.names else numbers


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day-of-week", 0, 7, _CRON_DAYS, 0),
)


def _expand(text: str, spec: _Field) -> list[int]:
    """The values one cron field selects, sorted; ValueError naming the field and what it accepts."""
    weekday = spec.name == "day-of-week"
    values: set[int] = set()
    for part in text.split(","):
        body, slash, step_text = part.partition("/")
        if not body:
            raise ValueError(f"{text!r}: an empty item in the {spec.name} field")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"{part!r}: the step in the {spec.name} field must be a whole number of at least 1")
            step = int(step_text)
        if body in ("*", "?"):
            low, high = spec.low, (6 if weekday else spec.high)
        elif "-" in body:
            first, last = body.split("-", 1)
            low, high = spec.value(first), spec.value(last)
            if weekday and high == 0 and low > 0:  # "5-7", "fri-sun": Sunday at the end of the week
                high = 7
            if low > high:
                raise ValueError(f"{body!r} in the {spec.name} field runs backwards")
        else:
            low = spec.value(body)
            high = (6 if weekday else spec.high) if slash else low  # "a/n": from a to the end, every n
        values.update(range(low, high + 1, step))
    if weekday:
        values = {v % 7 for v in values}
    return sorted(values)


@lru_cache(maxsize=256)
def cron_fields(expr: str) -> tuple[str, str, str, str, str]:
    """The five fields of `expr` checked and spelled for APScheduler 3: numbers, weekday names; `*` kept.

    Raises ValueError saying which field is wrong and what it accepts."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron has 5 fields (minute hour day-of-month month day-of-week), this has {len(fields)}")
    out = []
    expanded = []
    for text, spec in zip(fields, _FIELDS, strict=True):
        values = _expand(text, spec)
        expanded.append(values)
        if text in ("*", "?"):
            out.append("*")
        elif spec.name == "day-of-week":
            out.append(",".join(_CRON_DAYS[v] for v in values))
        else:
            out.append(",".join(map(str, values)))
    days, months = expanded[2], expanded[3]
    if not fields[4].startswith(("*", "?")) and not fields[2].startswith(("*", "?")):
        pass  # either day field may match: some day always comes
    elif min(days) > max(_MONTH_DAYS[m - 1] for m in months):
        raise ValueError(
            f"day {min(days)} never comes in {', '.join(_MONTHS[m - 1] for m in months)}: it would never run"
        )
    return out[0], out[1], out[2], out[3], out[4]


def cron_dow(field: str) -> str:
    """A cron day-of-week field as APScheduler 3 names (0 and 7 are Sunday, as in cron); `*` stays `*`."""
    return cron_fields(f"* * * * {field}")[4]


def cron_trigger(expr: str, *, jitter: float | None = None, timezone: str = DEFAULT_TIMEZONE) -> BaseTrigger:
    """APScheduler's trigger for a cron expression read as cron reads it, in `timezone` (an IANA name).

    Both day fields restricted (`0 9 1 * mon`): cron fires on a day matching either, so this is the
    union of two triggers; otherwise one CronTrigger."""
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, weekday = cron_fields(expr)
    fields = expr.split()
    tz = zone(timezone)
    if not fields[2].startswith(("*", "?")) and not fields[4].startswith(("*", "?")):
        return OrTrigger(
            [
                CronTrigger(minute=minute, hour=hour, day=day, month=month, timezone=tz),
                CronTrigger(minute=minute, hour=hour, month=month, day_of_week=weekday, timezone=tz),
            ],
            jitter=jitter or None,
        )
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=tz, jitter=jitter or None
    )
