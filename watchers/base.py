"""What every watcher is: a typed config model, and `check`, which fetches through the core and parses.

A watcher never opens its own connection: it asks the `CheckContext` to fetch, which shares one HTTP
client, enforces size and time caps and per-host limits, and makes sure that watches sharing a URL share
one request per cycle. Parsing is a pure function of the fetched bytes, so it is testable offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from monitor.filters import KeywordRules
from monitor.models import Fetched, Item
from monitor.schedule import Schedule, check_timezone, parse_duration

if TYPE_CHECKING:
    from watchers.dockets import DocketNumber


def _to_schedule(value: Any) -> Any:
    if isinstance(value, Schedule) or value is None:
        return value
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return Schedule.parse(value)
    raise ValueError("expected an interval like 90s, 5m, 1h, or a cron expression like '*/10 * * * *'")


ScheduleField = Annotated[Schedule, BeforeValidator(_to_schedule), PlainSerializer(str)]
# An IANA time zone name (`America/Los_Angeles`, `UTC`), checked against the zone database.
TimezoneField = Annotated[str, AfterValidator(check_timezone)]
# A delay that may be 0 (off): seconds, or 2s, 1m ...
DelayField = Annotated[float, BeforeValidator(lambda value: parse_duration(value, allow_zero=True))]

T = TypeVar("T")

WATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class WatchConfig(BaseModel):
    """Keys every watch accepts. Each watcher extends this with its own keys; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: str = Field(description="stable, unique id (letters, digits, . _ -); state is kept under it")
    type: str = Field(description="the watcher kind")
    name: str | None = Field(None, description="display name used in alerts (default: the id)")
    every: ScheduleField | None = Field(None, description="check interval or cron; default from `defaults`")
    timezone: TimezoneField | None = Field(
        None,
        description="IANA time zone a cron `every` runs in (intervals need none); default from `defaults`, else UTC",
    )
    notify: list[str] | None = Field(None, description="notifier names; default from `defaults`")
    keywords: KeywordRules | None = Field(None, description="keyword rules: any / all / exclude")
    alert_removals: bool = Field(False, description="also alert when an item disappears from the source")
    notify_baseline: bool = Field(False, description="alert on the first check too, instead of a silent baseline")
    allow_empty: bool = Field(False, description="accept an empty result from a source that had items")
    stale_after: float | None = Field(
        None,
        description="say so once when the source has not changed for this "
        "long: a duration, `auto` (learned from the source's rhythm, the "
        "default) or `off`",
    )
    min_delay: DelayField = Field(
        0.0,
        description="least time between the starts of two requests to this "
        "watch's host (the larger of this and http.min_delay applies)",
    )
    enabled: bool = True

    @field_validator("stale_after", mode="before")
    @classmethod
    def _stale_after(cls, value: Any) -> float | None:
        from monitor.gaps import parse_stale_after

        return parse_stale_after(value)

    def display_name(self) -> str:
        return self.name or self.id


def _aliases(value: list[str]) -> list[str]:
    from monitor.captions import is_caption
    from watchers.textutil import squash

    cleaned = [squash(v) for v in value]
    for alias in cleaned:
        if not is_caption(alias):
            raise ValueError(
                f'{alias!r} is not a case name: write both parties with a "v.", like '
                "'United States v. Illinois' (or 'In re ...'); a party alone would match too much"
            )
    return cleaned


# `aliases` of a watch that follows one case: other names people write it by, for finding the case in
# press releases and agency pages (monitor/related.py).
AliasesField = Annotated[
    list[str],
    AfterValidator(_aliases),
    Field(
        default_factory=list,
        description="other names of the case, e.g. U.S. v. State of Illinois (for related press releases)",
    ),
]


class FollowAppeals(BaseModel):
    """`follow_appeals` of a case watch: follow where the case goes next (its appeal, a transfer, a
    remand) with watches the monitor creates (`monitor/appeals.py`). `true` (the default) or `false`, or a
    mapping for a feed mirror: `{feed_url: "https://mirror.example/{court}/rss"}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="follow appeals, transfers and remands of the case")
    feed_url: str | None = Field(
        None,
        description="where the new court's RSS feed is read, `{court}` standing for "
        "its id (a mirror); default: the court's own CM/ECF feed",
    )

    @model_validator(mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return {"enabled": value}
        if value is None:
            return {"enabled": False}
        return value

    @field_validator("feed_url")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = value.strip()
        if not value.lower().startswith(("http://", "https://")) or "{court}" not in value:
            raise ValueError(
                f"{value!r}: give an http(s) address with {{court}} where the court id goes, like "
                "https://mirror.example/{court}/rss"
            )
        try:
            value.format(court="cand")
        except (KeyError, IndexError, ValueError):
            raise ValueError(f"{value!r}: only {{court}} may stand in braces") from None
        return value


class UrlWatchConfig(WatchConfig):
    url: str | None = Field(None, description="the source URL (overrides the public default)")


@dataclass(frozen=True, slots=True)
class Gap:
    """A blind spot the people who get the alerts must hear about, once when it opens and once when it
    closes (a court feed that publishes only some entry types; an API budget spent, so a case goes
    unchecked until a given time). At most one open gap per `kind` per watch."""

    kind: str  # e.g. "coverage", "budget"; the engine adds its own: "stale", "access"
    message: str  # said when it opens: what is not seen, since when, what to do about it


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What one check of one watch found.

    `items` is None when the source is unchanged since the last check (304, or the same bytes): the
    engine then skips the diff. `state` is the watcher's own state to keep for next time (HTTP
    validators, a resolved docket id, an API budget). `info` is shown in status (feed coverage, budget
    left); `warnings` are shown to the user and logged.
    """

    items: list[Item] | None
    state: Mapping[str, Any] = field(default_factory=dict)
    # How many items the source listed before the watcher kept only its own (a court feed lists every
    # case): the "suddenly empty" guard looks at this, so a quiet case in a busy feed is not a failure.
    source_count: int | None = None
    info: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    # The watcher's gaps open as of this check, all of them (a kind it reported before and not now has
    # closed); None when this check cannot tell (a 304 answer), so whatever was open stays open.
    gaps: tuple[Gap, ...] | None = None
    # Some listed items could not be read (skipped, each named in `warnings`): what `items` lacks may
    # still be at the source, so the diff takes nothing as removed.
    incomplete: bool = False


class CheckContext(Protocol):
    """What the core hands a watcher for one check."""

    watch_id: str
    state: Mapping[str, Any]

    async def fetch(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched: ...

    def get_shared(self, key: str) -> Any:
        """State shared by all watches and kept across runs (an API's daily call budget)."""

    def set_shared(self, key: str, value: Any) -> None: ...

    async def update_shared(self, key: str, change: Callable[[Any], tuple[Any, T]]) -> T:
        """Change shared state atomically across watches, processes and replicas: `change(current value or
        None) -> (new value, result)` runs under the value's lock (quick, no I/O); returns the result.
        What an API budget is spent with, so that no two checks take the same last call."""
        ...


class Watcher:
    """Base class. Subclasses set `kind`, `Config`, and implement `check` (or `parse`, via UrlWatcher)."""

    kind: ClassVar[str]
    Config: ClassVar[type[WatchConfig]] = WatchConfig
    # A minimal working config (without id/type), used in the docs and by the contract test that runs
    # every watcher against a misbehaving local server. "{base}" stands for that server's base URL.
    example: ClassVar[dict[str, Any]] = {}
    # Config keys of this kind that do not change what it lists (a token, a budget): editing them keeps
    # the watch's snapshot and state instead of re-baselining it.
    neutral_keys: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: WatchConfig):
        self.config = config

    @property
    def id(self) -> str:
        return self.config.id

    # True for a source that lists every entry of a docket (CourtListener): a case it follows has no
    # coverage gap, whatever a partial court feed of the same case misses.
    complete_dockets: ClassVar[bool] = False
    # True for a watcher whose items are the docket entries of the cases it follows (pacer_rss,
    # courtlistener): its cases count as followed, and its items are never read for related cases
    # (`monitor/related.py`); every other watch's items are.
    lists_dockets: ClassVar[bool] = False

    def fetch_urls(self) -> list[str]:
        """The URLs a check will fetch first (for display and for grouping shared sources)."""
        return []

    def cases(self) -> list[tuple[str, DocketNumber]]:
        """The cases this watch follows, as (court, docket number): for pairing sources of one case."""
        return []

    @classmethod
    def validate_warnings(cls, watches: Sequence[WatchConfig]) -> list[str]:
        """Warnings `monitor validate` prints about this kind's watches (all of them at once, so that a
        problem between watches can be seen too): valid, but will not work as the user probably expects
        (a credential missing, an old key name). One message per problem, naming the watch."""
        return []

    async def check(self, ctx: CheckContext) -> CheckOutcome:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a UrlWatcher's parser found in one body.

    `warnings` reach the user like a check's (a repaired feed, a skipped item, a date left out);
    `source_count` and `incomplete` are as in CheckOutcome. It unpacks as `(items, info)`, the shape
    `parse_with_info` returned before parsers could warn, so `items, info = parse_with_info(...)` works.
    """

    items: list[Item]
    info: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    source_count: int | None = None
    incomplete: bool = False

    def __iter__(self) -> Iterator[Any]:
        return iter((self.items, self.info))


class UrlWatcher(Watcher):
    """A watcher that reads one URL per check and parses it: feeds, HTML listings, simple JSON.

    Conditional GET: the ETag and Last-Modified of the last good response are sent back; a 304, or a
    body byte-identical to the last one, means "unchanged" and skips parsing and diffing altogether.
    """

    Config: ClassVar[type[WatchConfig]] = UrlWatchConfig
    default_url: ClassVar[str | None] = None

    @property
    def url(self) -> str:
        url = getattr(self.config, "url", None) or self.default_url
        if not url:
            raise ValueError(f"watch {self.id!r}: no url configured")
        return url

    def fetch_urls(self) -> list[str]:
        return [self.url]

    def request_headers(self) -> Mapping[str, str] | None:
        return None

    async def check(self, ctx: CheckContext) -> CheckOutcome:
        previous = ctx.state
        fetched = await ctx.fetch(
            self.url,
            headers=self.request_headers(),
            etag=previous.get("etag"),
            last_modified=previous.get("last_modified"),
        )
        if fetched.not_modified:
            return CheckOutcome(items=None, state=previous)
        body_hash = fetched.body_hash
        state = {"etag": fetched.etag, "last_modified": fetched.last_modified, "body_hash": body_hash}
        if body_hash == previous.get("body_hash"):
            return CheckOutcome(items=None, state=state)
        parsed = self.parse_with_info(fetched)
        if not isinstance(parsed, Parsed):  # a plugin's parse_with_info written as a plain (items, info)
            parsed = Parsed(*parsed)
        return CheckOutcome(
            items=parsed.items,
            state=state,
            info=parsed.info,
            warnings=parsed.warnings,
            source_count=parsed.source_count,
            incomplete=parsed.incomplete,
        )

    def parse(self, fetched: Fetched) -> list[Item]:
        """Pure: the items in a fetched body. Raises ParseError when the body is not what it should be."""
        raise NotImplementedError

    def parse_with_info(self, fetched: Fetched) -> Parsed | tuple[list[Item], Mapping[str, Any]]:
        """Items, facts about the source worth showing in status (a feed's title, its coverage) and
        warnings for the user. Overriding it with a plain `(items, info)` tuple works too."""
        return Parsed(self.parse(fetched))
