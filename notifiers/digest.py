"""When a notifier sends: at once, or held in the outbox for an hourly or daily digest.

Shared by every notifier that offers digests (email, Slack, Apprise), so the keys mean the same thing
everywhere:
- `digest`: `immediate` (default: one message per change; a burst of `digest_threshold`, default 5, or
  more changes of one watch found at once is one message), `hourly` (changes are held until the next
  full hour, then everything pending goes out in one message, across watches), or `daily` (held until
  `daily_at`, default `08:00`, in `timezone`, default `UTC`, e.g. `America/Los_Angeles`).
- Holding is done by the outbox, not in memory: `due_at` tells the dispatcher to postpone a delivery
  to the boundary, so a crash or restart before it loses nothing and a digest is sent by the first
  dispatcher run after the boundary (`monitor run` on its own; with cron'd `monitor check`, the first
  check after it). Holding is not an attempt; a retry after a failed send keeps its own backoff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from monitor.models import Delivery
from monitor.previews import is_preview
from notifiers.base import Alert, Notifier, NotifierConfig

DigestMode = Literal["immediate", "hourly", "daily"]


class DigestConfig(NotifierConfig):
    """The digest keys, for a notifier's config model to inherit."""

    digest: DigestMode = Field("immediate", description="immediate | hourly | daily")
    daily_at: str = Field("08:00", description="HH:MM, for digest: daily")
    timezone: str = Field("UTC", description="IANA zone for daily_at and hour boundaries")
    digest_threshold: int = Field(
        5, ge=2, description="immediate mode: this many changes of one watch at once are one message"
    )

    @field_validator("daily_at")
    @classmethod
    def _daily_at(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day; use HH:MM, like 08:00") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like America/Los_Angeles") from None
        return value


def next_boundary(when: datetime, digest: str, zone: ZoneInfo, daily_at: time) -> datetime:
    """The first hour (or day at `daily_at`) boundary strictly after `when`, in UTC."""
    local = when.astimezone(zone)
    if digest == "hourly":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC) + timedelta(hours=1)
    today = datetime.combine(local.date(), daily_at, tzinfo=zone)
    boundary = today if today > local else datetime.combine(local.date() + timedelta(days=1), daily_at, tzinfo=zone)
    return boundary.astimezone(UTC)


def previous_boundary(when: datetime, digest: str, zone: ZoneInfo, daily_at: time) -> datetime:
    """The last boundary at or before `when`, in UTC: where the digest period holding `when` began."""
    local = when.astimezone(zone)
    if digest == "hourly":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    today = datetime.combine(local.date(), daily_at, tzinfo=zone)
    boundary = today if today <= local else datetime.combine(local.date() - timedelta(days=1), daily_at, tzinfo=zone)
    return boundary.astimezone(UTC)


class DigestScheduling(Notifier):
    """`due_at`, `plan` and `plan_all` for a notifier whose config is a `DigestConfig`."""

    def __init__(self, name: str, config: NotifierConfig, services: object = None):
        super().__init__(name, config, services)  # type: ignore[arg-type]
        digest: DigestConfig = config  # type: ignore[assignment]
        self.schedule = digest
        self.zone = ZoneInfo(digest.timezone)
        self.daily_time = time.fromisoformat(digest.daily_at)

    @property
    def scheduled(self) -> bool:
        """True for an hourly or daily digest: everything is held and sent as one summary."""
        return self.schedule.digest != "immediate"

    def due_at(self, delivery: Delivery) -> datetime:
        """Immediate: now. A digest: the first boundary after the change was found (retries wait longer)."""
        if not self.scheduled:
            return delivery.next_attempt_at
        boundary = next_boundary(delivery.change.detected_at, self.schedule.digest, self.zone, self.daily_time)
        return max(boundary, delivery.next_attempt_at)

    def plan(self, watch_id: str, watch_name: str, deliveries: Sequence[Delivery]) -> list[Alert]:
        """One message per change; a burst of `digest_threshold` or more becomes one digest. Document
        previews always stand alone: each carries its own thumbnail."""
        previews = [d for d in deliveries if is_preview(d.change)]
        rest = [d for d in deliveries if not is_preview(d.change)]
        singles = [Alert(self.name, watch_id, watch_name, (d,)) for d in previews]
        if len(rest) >= self.schedule.digest_threshold:
            return [Alert(self.name, watch_id, watch_name, tuple(rest)), *singles]
        return super().plan(watch_id, watch_name, rest) + singles

    def plan_all(self, due: Mapping[str, tuple[str, Sequence[Delivery]]]) -> list[Alert]:
        """A scheduled digest sends everything due in one message, across watches."""
        if not self.scheduled or not due:
            return super().plan_all(due)
        names = {watch_id: name for watch_id, (name, _) in due.items()}
        deliveries = tuple(d for _, batch in due.values() for d in batch)
        if len(names) == 1:
            ((watch_id, name),) = names.items()
            return [Alert(self.name, watch_id, name, deliveries, names)]
        return [Alert(self.name, "*", ", ".join(names.values()), deliveries, names)]

    def period(self, alert: Alert) -> tuple[datetime, datetime]:
        """The span a scheduled digest covers, in the configured zone: from the boundary before its first
        change to the boundary after its last (more than a day or an hour when sending was held up)."""
        found = [c.detected_at for c in alert.changes]
        start = previous_boundary(min(found), self.schedule.digest, self.zone, self.daily_time)
        end = next_boundary(max(found), self.schedule.digest, self.zone, self.daily_time)
        return start.astimezone(self.zone), end.astimezone(self.zone)

    def summary_title(self, alert: Alert, headline: str) -> tuple[str, str]:
        """("Daily summary: 12 new items: SF v. Trump, DOJ news", "Wed 23 Apr 08:00 – Thu 24 Apr 08:00 UTC")."""
        start, end = self.period(alert)
        what = "Daily summary" if self.schedule.digest == "daily" else "Hourly summary"
        same_day = start.date() == end.date()
        span = f"{start:%a %d %b %H:%M} – {end:%H:%M}" if same_day else f"{start:%a %d %b %H:%M} – {end:%a %d %b %H:%M}"
        return f"{what}: {headline}", f"{span} {self.schedule.timezone}"
