"""Dates as real sources write them, read into one form. A date that cannot be read, or that no
calendar can hold, is left out of its item with a warning: it never costs the item, nor the watch.

Formats read (each seen in a recorded source, or in the documentation of one):
- RFC 822 / 2822, as RSS `pubDate` writes it: `Tue, 09 Apr 2019 19:21:12 GMT` (PACER district feeds),
  `Fri, 03 Feb 2023 12:31:34 EST` (PACER appellate feeds), `Fri, 02 Oct 2026 12:00:00 +0000` (DOJ), with
  or without the weekday, the seconds or the zone, two- or four-digit years, zones GMT, UT, UTC, Z, a
  numeric offset, or a US zone name (EST/EDT, CST/CDT, MST/MDT, PST/PDT, AKST/AKDT, HST/HDT, AST/ADT,
  CHST, SST; ET, CT, MT, PT for the region's clock).
- ISO 8601 / RFC 3339, as Atom and the JSON APIs write it: `2026-10-02` (Federal Register),
  `2026-10-02T19:29:58Z`, `2025-02-06T10:00:00-05:00`, `...+0000`, fractions of a second.
- US numeric dates, as PACER docket reports write them: `12/30/2022`, `12/30/2022 10:15 AM`.
- Written dates, as press pages write them: `December 30, 2022`, `Dec. 30, 2022`, `Monday, December
  30, 2022`, `30 December 2022`, optionally `at 10:15 AM`.

A date with a zone comes out in UTC (`2026-10-02T12:00:00+00:00`); one without stays as written, with
no offset (`2022-12-30T00:00:00` for a day). An unknown zone name (`Fri, 03 Feb 2023 12:31:34 XYZ`)
keeps the written time without an offset, as Python's `email.utils` does.

Out of range means: no such day (month 13, 30 February), year 0 (which `email.utils` silently reads as
2000), or a moment that does not exist in UTC's calendar (31 Dec 9999 23:00 -05:00 is in the year
10000; converting it used to raise OverflowError and fail the whole watch).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class DateError(ValueError):
    """A date that cannot be read (its message says why, for the user)."""


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

_UTC_NAMES = {"GMT", "UT", "UTC", "Z"}
# Fixed offsets, as RFC 822 and Python's email.utils define them (a feed saying EST means -05:00).
_FIXED_HOURS = {
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AST": -4,
    "ADT": -3,
    "AKST": -9,
    "AKDT": -8,
    "HST": -10,
    "HDT": -9,
    "CHST": 10,
    "SST": -11,
}
# The region each name belongs to. Appellate courts stamp local time with a zone abbreviation whatever
# the season; like juriscraper (`parse_datetime_for_us_timezone`), `regional=True` reads the name as
# the region's clock, so "EST" in July is EDT. ET/CT/MT/PT name the region's clock by definition.
_REGIONS = {
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "ET": "America/New_York",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "CT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "MT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "PT": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "AKDT": "America/Anchorage",
    "HST": "Pacific/Honolulu",
    "HDT": "Pacific/Honolulu",
    "CHST": "Pacific/Guam",
    "SST": "Pacific/Pago_Pago",
    "AST": "America/Puerto_Rico",
}
_ALWAYS_REGIONAL = {"ET": -5, "CT": -6, "MT": -7, "PT": -8}  # (standard hours, if there is no tz database)

_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?\s*(?P<ampm>[ap]\.?m\.?)?"
_ZONE = r"(?P<zone>[+-]\d{2}:?\d{2}|[a-z]{1,5})"
_WEEKDAY = r"(?:[a-z]{2,9}\.?,?\s+)?"
# `Tue, 09 Apr 2019 19:21:12 GMT`, `9 Apr 2019`, `30 December 2022`, `Fri, 31-Dec-99 23:00 -0500 (EST)`
_DAY_MONTH_YEAR = re.compile(
    rf"^{_WEEKDAY}(?P<day>\d{{1,2}})[\s-]+(?P<month>[a-z]{{3,9}})\.?[\s-]+(?P<year>\d{{4}}|\d{{2}})"
    rf"(?:,?\s+(?:at\s+)?{_TIME})?(?:\s*{_ZONE})?(?:\s*\([^)]*\))?$",
    re.I,
)
# `December 30, 2022`, `Dec. 30, 2022 at 10:15 AM ET`, `Monday, December 30, 2022`
_MONTH_DAY_YEAR = re.compile(
    rf"^{_WEEKDAY}(?P<month>[a-z]{{3,9}})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})"
    rf"(?:,?\s+(?:at\s+)?{_TIME})?(?:\s*{_ZONE})?$",
    re.I,
)
# `12/30/2022`, `12/30/2022 10:15 AM` (month first: these are US sources)
_US_NUMERIC = re.compile(rf"^(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}})/(?P<year>\d{{4}})(?:\s+{_TIME})?$", re.I)
# ISO 8601 as datetime.fromisoformat reads it (Python 3.11: `Z`, `+0000`, fractions, week dates)
_ISO_START = re.compile(r"^[+-]?\d{4}-?(?:\d{2}|W\d{2})")


def _region(name: str) -> tzinfo:
    try:
        return ZoneInfo(_REGIONS[name])
    except ZoneInfoNotFoundError:  # no time-zone database on this system
        hours = _FIXED_HOURS.get(name, _ALWAYS_REGIONAL.get(name, 0))
        return timezone(timedelta(hours=hours))


@lru_cache(maxsize=256)  # a feed writes the same zone on every item
def _zone(text: str | None, regional: bool) -> tzinfo | None:
    """The zone a zone token names; None when absent, unknown, or RFC 2822's `-0000`."""
    if not text:
        return None
    name = text.upper()
    if name[0] in "+-":
        digits = name[1:].replace(":", "")
        if digits == "0000" and name[0] == "-":  # RFC 2822: "-0000" means the zone is not known
            return None
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:
            raise DateError(f"has an impossible offset {text}")
        return timezone(timedelta(minutes=-minutes if name[0] == "-" else minutes))
    if name in _UTC_NAMES:
        return UTC
    if name in _ALWAYS_REGIONAL or (regional and name in _REGIONS):
        return _region(name)  # the wall time as written, the offset from the region's calendar
    if name in _FIXED_HOURS:
        return timezone(timedelta(hours=_FIXED_HOURS[name]))
    return None  # an unknown name: the written time, without an offset


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # as email.utils reads two-digit years
        year += 1900 if year > 68 else 2000
    return year


def _build(found: re.Match[str], month: int, *, regional: bool) -> datetime:
    groups = found.groupdict()
    hours = int(groups["hour"] or 0)
    if groups["ampm"]:
        if not 1 <= hours <= 12:
            raise DateError("is out of range (hour with AM/PM)")
        hours = hours % 12 + (12 if groups["ampm"].lower().startswith("p") else 0)
    zone = _zone(groups.get("zone"), regional)
    try:
        return datetime(
            _year(groups["year"]),
            month,
            int(groups["day"]),
            hours,
            int(groups["minute"] or 0),
            int(groups["second"] or 0),
            tzinfo=zone,
        )
    except ValueError as exc:
        raise DateError(f"is out of range ({exc})") from None


def _month(name: str) -> int:
    month = _MONTHS.get(name.lower())
    if month is None:
        raise DateError(f"has an unknown month {name!r}")
    return month


def parse_datetime(text: str | None, *, regional: bool = False) -> datetime | None:
    """The moment a date string names; None for an empty one; DateError if unreadable or out of range.

    An aware result is always convertible to UTC. `regional=True` reads US zone names as the region's
    clock (PACER's appellate feeds); otherwise as RFC 822's fixed offsets.
    """
    if text is None:
        return None
    given: object = text  # from a parsed document (JSON, YAML), despite the annotation: say what it is
    if not isinstance(given, str):
        kind = {"int": "a number", "float": "a number", "bool": "true/false", "list": "a list", "dict": "an object"}
        raise DateError(f"is {kind.get(type(given).__name__, type(given).__name__)}, not text")
    text = " ".join(given.split())
    if not text:
        return None
    moment: datetime | None = None
    if (found := _DAY_MONTH_YEAR.match(text)) or (found := _MONTH_DAY_YEAR.match(text)):
        moment = _build(found, _month(found.group("month")), regional=regional)
    elif found := _US_NUMERIC.match(text):
        moment = _build(found, int(found.group("month")), regional=regional)
    elif _ISO_START.match(text):
        try:
            moment = datetime.fromisoformat(text[:-1] + "Z" if text[-1:] == "z" else text)
        except ValueError as exc:
            raise DateError(f"is out of range or not ISO 8601 ({exc})") from None
    else:
        # What the patterns above do not cover and email.utils reads (`Feb 03 2023 12:00:00 GMT`)
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            moment = None
        if moment is None:
            raise DateError("is not a date in any format this monitor reads")
    if moment.tzinfo is not None:
        try:
            moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise DateError("is out of range (it falls outside the years 1-9999 in UTC)") from None
    return moment


Where = str | Callable[[], str]  # the item a warning names, or how to name it (only if a warning is due)


def _read(value: object, warnings: list[str] | None, where: Where, regional: bool = False) -> datetime | None:
    """parse_datetime, with an unreadable date turned into a warning naming `where`, and None."""
    try:
        return parse_datetime(value, regional=regional)  # type: ignore[arg-type]
    except DateError as exc:
        if warnings is not None:
            shown = str(value) if len(str(value)) <= 60 else str(value)[:57] + "..."
            name = where() if callable(where) else where
            warnings.append(f"{name}: the date {shown!r} {exc}; the date is left out, the item kept")
        return None


def iso_date(value: str | None, warnings: list[str] | None = None, where: Where = "an item") -> str | None:
    """A date as ISO 8601 (in UTC when it has a zone); None when absent or unreadable. An unreadable
    or out-of-range date adds a warning naming `where` (the item) to `warnings`."""
    moment = _read(value, warnings, where)
    if moment is None or moment.tzinfo is None:
        return moment.isoformat() if moment else None
    return moment.astimezone(UTC).isoformat()


def iso_day(value: str | None, warnings: list[str] | None = None, where: Where = "an item") -> str | None:
    """A date as `YYYY-MM-DD` (the day as written), for sources with day precision; None when absent
    or unreadable, with a warning as in `iso_date`."""
    moment = _read(value, warnings, where)
    return moment.date().isoformat() if moment else None


def aware(
    value: str | None, warnings: list[str] | None = None, where: Where = "an item", *, regional: bool = False
) -> datetime | None:
    """A date as an aware datetime (a time without a zone is taken as UTC); None when absent or
    unreadable, with a warning as in `iso_date`."""
    moment = _read(value, warnings, where, regional)
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=UTC)
