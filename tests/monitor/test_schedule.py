"""Schedules people write: intervals with units, cron read exactly as cron reads it, and cron in a time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config import loads
from monitor.errors import ConfigError
from monitor.schedule import Schedule, check_timezone, cron_fields
from tests.monitor.test_config import schedule_of

UTC = UTC
LA = ZoneInfo("America/Los_Angeles")


def error(value) -> str:
    with pytest.raises(ValueError) as info:
        Schedule.parse(value)
    return str(info.value)


def fires(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    """The next `count` fire times after `start`, in UTC: pure computation on the trigger, no waiting."""
    trigger, times, previous, now = schedule.trigger(), [], None, start
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now)
        times.append(previous.astimezone(UTC))
        now = previous
    return times


# ---------------------------------------------------------------- intervals


@pytest.mark.parametrize("value", [5, "5", 0.5, " 30 "])
def test_a_bare_number_is_an_error_that_names_the_units(value):
    """`every: 5` used to mean five seconds silently; now it asks "5 what?" and shows the units."""
    message = error(value)
    number = str(value).strip()
    assert message.startswith(f"{number} what?")
    assert all(f"{number}{unit}" in message for unit in "smhd")


def test_intervals_with_units_still_parse():
    """90s, 5m, 1h30m and 1d are seconds as before."""
    assert [Schedule.parse(v).seconds for v in ("90s", "5m", "1h30m", "1d", "1h 30m")] == [90, 300, 5400, 86400, 5400]


def test_a_four_field_cron_is_named_as_cron():
    """A cron expression with a field missing says cron has five fields, not "not a duration"."""
    assert "cron has 5 fields" in error("0 9 * *") and "this has 4" in error("0 9 * *")


# ---------------------------------------------------------------- cron fields


def test_cron_names_are_exact_and_case_insensitive():
    """`mon`..`sun` and `jan`..`dec` in any case; `monkey` (accepted as Monday before) and `january` are errors."""
    assert cron_fields("0 9 * JAN-mar Mon-FRI") == ("0", "9", "*", "1,2,3", "mon,tue,wed,thu,fri")
    monkey = error("0 9 * * monkey")
    assert "'monkey' is not a valid day-of-week" in monkey
    assert "sun, mon, tue, wed, thu, fri, sat" in monkey and "0 and 7 are Sunday" in monkey
    assert "jan, feb, mar" in error("0 9 * january *")


def test_cron_numbers_are_checked_against_each_fields_range():
    """A number outside its field's range names the field and the range."""
    assert "'61' in the minute field is out of range: use 0-59" in error("61 * * * *")
    assert "hour field is out of range: use 0-23" in error("0 24 * * *")
    assert "day-of-month field is out of range: use 1-31" in error("0 9 0 * *")
    assert "day-of-week field is out of range" in error("0 9 * * 8")


def test_cron_ranges_steps_and_lists():
    """Ranges, steps (`*/n`, `a-b/n`, `a/n`) and lists expand as in cron; a zero step or a backwards range is an
    error."""
    assert cron_fields("*/15 8-18/2 1,15 * *")[:3] == ("0,15,30,45", "8,10,12,14,16,18", "1,15")
    assert cron_fields("5/20 * * * *")[0] == "5,25,45"
    assert "at least 1" in error("*/0 * * * *")
    assert "runs backwards" in error("0 18-8 * * *")
    assert "empty item" in error("0 9,,10 * * *")


def test_cron_weekday_0_and_7_are_sunday():
    """0 and 7 are both Sunday; `5-7` and `fri-sun` run Friday to Sunday."""
    assert cron_fields("0 9 * * 0")[4] == cron_fields("0 9 * * 7")[4] == "sun"
    assert cron_fields("0 9 * * 5-7")[4] == cron_fields("0 9 * * fri-sun")[4] == "sun,fri,sat"


def test_a_date_that_never_comes_is_an_error():
    """`0 9 31 2 *` would never run: said at validation, not discovered by a silent daemon."""
    assert "never" in error("0 9 31 2 *") and "feb" in error("0 9 31 2 *")


def test_both_day_fields_restricted_fire_on_either_as_in_cron():
    """`0 9 13 * fri` is every 13th and every Friday (cron's rule), not only Friday the 13th."""
    start = datetime(2025, 6, 1, tzinfo=UTC)  # a Sunday
    assert fires(Schedule.parse("0 9 13 * fri"), start, 3) == [
        datetime(2025, 6, 6, 9, tzinfo=UTC),
        datetime(2025, 6, 13, 9, tzinfo=UTC),
        datetime(2025, 6, 20, 9, tzinfo=UTC),
    ]


# ---------------------------------------------------------------- time zones


def test_cron_in_a_time_zone_follows_daylight_saving_time():
    """`0 9 * * 1-5` in America/Los_Angeles is 9:00 court time on weekdays: 17:00 UTC in winter, 16:00 UTC
    once daylight saving time starts (Sunday 9 March 2025), with no weekend runs."""
    schedule = Schedule.parse("0 9 * * 1-5").in_zone("America/Los_Angeles")
    start = datetime(2025, 3, 6, 18, tzinfo=UTC)  # Thursday 10:00 PST, after that day's run
    assert fires(schedule, start, 3) == [
        datetime(2025, 3, 7, 17, tzinfo=UTC),  # Friday 09:00 PST (UTC-8)
        datetime(2025, 3, 10, 16, tzinfo=UTC),  # Monday 09:00 PDT (UTC-7)
        datetime(2025, 3, 11, 16, tzinfo=UTC),
    ]
    autumn = datetime(2025, 10, 31, 18, tzinfo=UTC)  # Friday; PDT ends Sunday 2 November
    assert fires(schedule, autumn, 1) == [datetime(2025, 11, 3, 17, tzinfo=UTC)]
    assert all(t.astimezone(LA).hour == 9 for t in fires(schedule, start, 10))


def test_cron_defaults_to_utc():
    """Without a time zone, cron is read in UTC, as before."""
    assert fires(Schedule.parse("0 9 * * 1-5"), datetime(2025, 3, 7, 12, tzinfo=UTC), 1) == [
        datetime(2025, 3, 10, 9, tzinfo=UTC)
    ]


@pytest.mark.parametrize(
    "name, suggestion",
    [
        ("america/los_angeles", "America/Los_Angeles"),
        ("Los_Angeles", "America/Los_Angeles"),
        ("America/Chicgo", "America/Chicago"),
    ],
)
def test_an_unknown_time_zone_suggests_close_names(name, suggestion):
    """A misspelt, wrongly cased or city-only zone is an error that suggests the IANA name meant."""
    with pytest.raises(ValueError) as info:
        check_timezone(name)
    assert f"{name!r} is not a time zone" in str(info.value) and suggestion in str(info.value)


def test_timezone_in_defaults_and_per_watch():
    """`defaults.timezone` applies to every cron watch; a watch's own `timezone` wins; a bad one is a config error."""
    config = loads(
        """
defaults: {timezone: America/Chicago}
watches:
  - {id: court, type: feed, url: 'http://x/', every: '0 9 * * 1-5', timezone: America/Los_Angeles}
  - {id: other, type: feed, url: 'http://x/', every: '30 8 * * *'}
  - {id: interval, type: feed, url: 'http://x/', every: 5m}
""",
        env={},
    )
    assert schedule_of(config, "court").timezone == "America/Los_Angeles"
    assert schedule_of(config, "other").timezone == "America/Chicago"
    assert schedule_of(config, "court").describe() == "0 9 * * 1-5 (America/Los_Angeles)"
    assert schedule_of(config, "interval").seconds == 300
    with pytest.raises(ConfigError) as info:
        loads(
            "watches:\n  - {id: x, type: feed, url: 'http://x/', every: '0 9 * * *', timezone: Pacific/Nowhere}\n",
            env={},
        )
    assert "watches[0].timezone: 'Pacific/Nowhere' is not a time zone" in info.value.problems[0]


def test_the_daemons_job_runs_in_the_watchs_zone(tmp_path):
    """The daemon's cron job for a watch carries the watch's zone, and a new zone after a reload reschedules it."""
    import asyncio

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.daemon import Daemon
    from monitor.store import Store

    text = (
        "state: sqlite:///{db}\nwatches:\n  - {{id: court, type: feed, url: 'http://x/', every: '0 9 * * 1-5', "
        "timezone: {zone}}}\n"
    )
    daemon = Daemon(loads(text.format(db=tmp_path / "s.db", zone="America/Los_Angeles"), env={}))
    store = Store.open(daemon.config.state_url)

    async def schedule() -> None:
        daemon.rt = type("Rt", (), {"store": store})()
        daemon.scheduler = AsyncIOScheduler(timezone=UTC)
        daemon.scheduler.start(paused=True)  # jobs are computed, never run
        try:
            await daemon._sync_jobs()
            trigger = daemon.scheduler.get_job("court").trigger
            assert trigger.timezone == LA
            nine_am = datetime(2025, 3, 7, 17, tzinfo=UTC)  # 09:00 PST; the daemon's jitter may delay a run
            fire = trigger.get_next_fire_time(None, datetime(2025, 3, 7, 12, tzinfo=UTC))
            assert nine_am <= fire <= nine_am + timedelta(seconds=trigger.jitter or 0)

            daemon.config = loads(text.format(db=tmp_path / "s.db", zone="America/New_York"), env={})
            assert await daemon._sync_jobs() == ([], [], ["court"])
            assert daemon.scheduler.get_job("court").trigger.timezone == ZoneInfo("America/New_York")
        finally:
            daemon.scheduler.shutdown(wait=False)

    try:
        asyncio.run(schedule())
    finally:
        store.close()
