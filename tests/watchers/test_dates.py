"""Dates as real sources write them: every recorded format reads; an unreadable or impossible date is
left out with a warning naming its item, and never raises."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import DATA
from watchers.dates import DateError, aware, iso_date, iso_day, parse_datetime


@pytest.mark.parametrize(
    "text, expected",
    [
        # RFC 822 as RSS writes it (PACER district feeds, DOJ, the White House)
        ("Tue, 09 Apr 2019 19:21:12 GMT", "2019-04-09T19:21:12+00:00"),
        ("Fri, 02 Oct 2026 12:00:00 +0000", "2026-10-02T12:00:00+00:00"),
        ("Thu, 6 Feb 2025 07:00:00 -0500", "2025-02-06T12:00:00+00:00"),
        ("06 Feb 2025 12:00 GMT", "2025-02-06T12:00:00+00:00"),
        ("Thu, 06 Feb 25 12:00:00 UT", "2025-02-06T12:00:00+00:00"),
        ("Thu, 06 Feb 2025 12:00:00 Z", "2025-02-06T12:00:00+00:00"),
        ("Fri, 03 Feb 2023 12:31:34 EST", "2023-02-03T17:31:34+00:00"),
        ("Fri, 03 Feb 2023 12:31:34 CST", "2023-02-03T18:31:34+00:00"),
        ("Mon, 06 Sep 2021 14:00:00 -0400 (EDT)", "2021-09-06T18:00:00+00:00"),
        ("Fri, 03 Feb 2023 12:31:34 -0000", "2023-02-03T12:31:34"),  # RFC 2822: zone unknown
        ("Fri, 03 Feb 2023", "2023-02-03T00:00:00"),
        # ISO 8601 / RFC 3339 (Atom, the JSON APIs)
        ("2026-10-02", "2026-10-02T00:00:00"),
        ("2026-10-02T19:29:58Z", "2026-10-02T19:29:58+00:00"),
        ("2025-02-06T10:00:00-05:00", "2025-02-06T15:00:00+00:00"),
        ("2025-02-06T10:00:00.250+0000", "2025-02-06T10:00:00.250000+00:00"),
        ("2025-02-06 10:00", "2025-02-06T10:00:00"),
        # US numeric and written dates (PACER docket reports, press pages)
        ("12/30/2022", "2022-12-30T00:00:00"),
        ("12/30/2022 3:05 PM", "2022-12-30T15:05:00"),
        ("December 30, 2022", "2022-12-30T00:00:00"),
        ("Dec. 30, 2022", "2022-12-30T00:00:00"),
        ("Sept. 30, 2022", "2022-09-30T00:00:00"),
        ("Friday, December 30, 2022", "2022-12-30T00:00:00"),
        ("30 December 2022", "2022-12-30T00:00:00"),
        ("July 1, 2025 at 10:15 AM ET", "2025-07-01T14:15:00+00:00"),  # ET is the region's clock: EDT in July
        ("  Fri, 02 Oct 2026\n 12:00:00 +0000 ", "2026-10-02T12:00:00+00:00"),
    ],
)
def test_real_formats_read(text, expected):
    """Each format a real source uses reads to the same ISO 8601 form, without a warning."""
    warnings: list[str] = []
    assert iso_date(text, warnings) == expected and warnings == []


@pytest.mark.parametrize(
    "text, reason",
    [
        ("Fri, 31 Dec 9999 23:00:00 -0500", "out of range"),  # the year 10000 in UTC (was OverflowError)
        ("9999-12-31T23:00:00-05:00", "out of range"),
        ("0001-01-01T00:30:00+01:00", "out of range"),
        ("Sat, 01 Jan 0000 00:00:00 GMT", "out of range"),  # email.utils reads this as 2000
        ("2022-13-01", "out of range"),
        ("13/01/2022", "out of range"),
        ("Thu, 30 Feb 2023 10:00:00 GMT", "out of range"),
        ("Thu, 02 Feb 2023 25:00:00 GMT", "out of range"),
        ("Thu, 02 Feb 2023 10:00:00 +2500", "impossible offset"),
        ("Thu, 02 Foo 2023 10:00:00 GMT", "unknown month"),
        ("yesterday", "not a date"),
        ("TBD", "not a date"),
    ],
)
def test_unreadable_dates_are_left_out_with_a_warning_naming_the_item(text, reason):
    """Garbage and impossible dates give None and one warning naming the item and the value, never an
    exception (an OverflowError here used to fail the whole watch)."""
    warnings: list[str] = []
    assert iso_date(text, warnings, 'item 3 "Smith v. Jones"') is None
    [warning] = warnings
    assert warning.startswith('item 3 "Smith v. Jones": the date') and repr(text) in warning and reason in warning
    assert "the date is left out, the item kept" in warning
    with pytest.raises(DateError):
        parse_datetime(text)


def test_absent_and_non_text_dates():
    """No date is None without a warning; a value that is not text (a JSON number) is a warning."""
    warnings: list[str] = []
    assert iso_date(None, warnings) is None and iso_date("  ", warnings) is None and warnings == []
    assert iso_day(20261002, warnings, "result 1") is None  # type: ignore[arg-type]
    assert warnings == ["result 1: the date '20261002' is a number, not text; the date is left out, the item kept"]


def test_the_item_is_named_only_when_a_warning_is_due():
    """The item's name may be given as a function: it is called only for a warning."""
    calls: list[int] = []

    def name() -> str:
        calls.append(1)
        return "item 1"

    warnings: list[str] = []
    iso_date("2026-10-02", warnings, name)
    assert calls == []
    iso_date("garbage", warnings, name)
    assert calls == [1] and warnings[0].startswith("item 1:")


def test_day_precision_keeps_the_day_as_written():
    """`iso_day` gives the day the source wrote, whatever its form (the Federal Register's dates)."""
    assert iso_day("2026-10-02") == "2026-10-02"
    assert iso_day("October 2, 2026") == "2026-10-02"
    assert iso_day("2026-10-02T23:30:00-05:00") == "2026-10-02"


def test_regional_zone_names_follow_the_region_calendar():
    """PACER's appellate courts write "EST" all year: read regionally, July's EST is EDT (-04:00), as
    juriscraper reads it; read as RFC 822 defines it, it is -05:00."""
    regional = aware("Mon, 03 Jul 2023 12:00:00 EST", regional=True)
    fixed = aware("Mon, 03 Jul 2023 12:00:00 EST")
    assert regional is not None and regional.utcoffset() == timedelta(hours=-4)
    assert fixed is not None and fixed.utcoffset() == timedelta(hours=-5)
    assert aware("2026-10-02") == datetime(2026, 10, 2, tzinfo=UTC)  # no zone: taken as UTC


def test_every_date_in_the_recorded_feeds_reads():
    """Every pubDate, lastBuildDate, dc:date, updated and published of the recordings reads, no warning."""
    found = set()
    for path in [*DATA.rglob("*.xml")]:
        text = path.read_bytes().decode("latin-1")
        found |= set(re.findall(r"<(?:pubDate|lastBuildDate|dc:date|updated|published)>([^<]+)<", text))
    assert len(found) > 100
    warnings: list[str] = []
    for value in found:
        assert iso_date(value, warnings) is not None and aware(value, warnings, regional=True) is not None
    assert warnings == []
