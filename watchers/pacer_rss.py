"""`pacer_rss`: new docket entries in followed cases, from a federal court's public CM/ECF RSS feed.

Source: each court's CM/ECF server publishes one court-wide RSS feed of the docket entries of roughly
the last 24 hours (no per-case feed exists; PACER login and fees are not needed for the feed itself,
only for the documents it links to). It is the fastest free signal that something was filed.

Keys:
- `court` (required): the CM/ECF court id: `cand`, `ilnd`, `nysd`, `nysb`, `ca9`, `cadc` ... (the
  `ecf.<court>.uscourts.gov` host name). It is also the court in every entry's key, so a
  `courtlistener` watch of the same case must name the same court (PACER and CourtListener ids differ
  for a few courts: `azb`/`arb`, `cofc`/`uscfc`, `neb`/`nebraskab`).
- `cases`: docket numbers to follow. `3:25-cv-01350`, `3:25-cv-01350-WHO` and `25-cv-1350` name the
  same case (judge initials, zero padding and the office code are ignored).
- `case_names`: words or phrases looked for, case-insensitively and as whole words, in the case names
  of the feed (as the court writes them, and as harmonised: "USA" also reads "United States"), e.g.
  `City of Chicago` to catch new suits naming the city. Give `cases`, `case_names`, or both.
- `aliases` (with one case in `cases`): other names of the case, as press releases write it (`U.S. v.
  State of Illinois`), for linking agency items to it (see the `courtlistener` watcher, and
  `monitor/related.py`). The case names the feed reports are used too, and kept in the watch's state.
- `url` (optional): the feed URL, if not the court's default:
  district and bankruptcy `https://ecf.<court>.uscourts.gov/cgi-bin/rss_outside.pl`; appellate
  `https://ecf.<court>.uscourts.gov/n/beam/servlet/TransportRoom?servlet=RSSGenerator`; E.D.N.Y.
  `https://ecf.nyed.uscourts.gov/cgi-bin/readyDockets.pl`; E.D. Ark. `.../cgi-bin/rss_outside4.pl`.
- `follow_appeals` (default true): when an entry of a followed case tells of a notice of appeal, the
  appellate case number, a transfer or a remand, follow the case there too, with watches the monitor
  creates (`monitor/appeals.py`); `false` turns it off; `{feed_url: "https://mirror/{court}/rss"}` reads
  the new court's feed from a mirror. Editing it never re-baselines the watch.
- plus the keys every watch has (`every`, `notify`, `keywords`, ...). `allow_empty` defaults to true
  here (a followed case with nothing filed today is normal); `alert_removals` is refused (entries leave
  the feed's 24-hour window every day; that is not a removal from the docket).

Each entry is one alert, keyed by what it is (court, case, entry number; else PACER's sequence number;
else the document id; else the time entered and the text), so the same filing seen later through
CourtListener is the same entry, not a second alert. Status shows the feed's coverage (all entries or
which types) and its lastBuildDate.

Quirks handled (details in `watchers/pacer_feed.py`):
- Coverage: each court picks the entry types it publishes; the channel description says "Docket
  entries of type: all" or a list (S.D.N.Y. lists 27 types; most circuits only opinions/orders). A
  followed case in a partial feed gets a warning: pair it with a `courtlistener` watch.
  https://github.com/freelawproject/courtlistener/blob/main/cl/recap_rss/tasks.py (update_entry_types)
- A multi-event entry (e.g. a motion filed as "Compel" and "Discovery") appears as several identical
  items; it is one entry, described "Compel AND Discovery" as juriscraper and CourtListener do.
- `pubDate` is the date the entry was *entered*, stored as `date_entered`, never as the date filed.
  https://github.com/freelawproject/courtlistener/issues/6872
- Text-only (minute) entries have no document link and no number: they are told apart by the
  sequence number in their guid (`DktRpt.pl?<case id>&<seq>`), else by time entered and text.
- E.D.N.Y. links `show_case_doc` instead of `doc1` (no document id); appellate courts link `docs1`
  and sometimes print "Document" instead of a number; bankruptcy descriptions start with
  `Type: bk Office: 1 Chapter: 7`. https://github.com/freelawproject/juriscraper/issues/218
- Feeds are ISO-8859-1; the declared encoding is honoured. An HTML error or login page is a failure,
  never an empty feed. A bare `&` in a case name, control characters or junk after `</rss>` are
  repaired (with a warning); a malformed or unreadable item is skipped with a warning naming it, the
  other entries are read; an unreadable or impossible `pubDate` leaves `date_entered` out of that
  entry only. A feed whose every item fails is a failure.
- An entry listed twice with different content (re-entered) counts once: the later-entered version,
  whatever the order of the feed.
- PACER ignores ETag / Last-Modified (https://github.com/freelawproject/juriscraper/issues/195), so no
  validators are sent: every watch of a court then makes the identical request, which the core turns
  into one request per court per cycle however many watches follow that court. An unchanged body is
  recognised by its hash and skipped.

Example:

    - id: sf-v-trump-rss
      type: pacer_rss
      court: cand
      cases: ["3:25-cv-01350"]
      every: 5m
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any, ClassVar, cast

from pydantic import Field, field_validator, model_validator

from monitor.models import Fetched, Item
from watchers.base import (
    AliasesField,
    CheckContext,
    CheckOutcome,
    FollowAppeals,
    Gap,
    Parsed,
    UrlWatchConfig,
    UrlWatcher,
    WatchConfig,
)
from watchers.dockets import DocketNumber, entry_item, parse_docket_number
from watchers.listing import Problems, capped, label, read_each
from watchers.pacer_feed import FeedChannel, ParsedFeed, RssEntry, is_appellate, parse_feed
from watchers.textutil import squash

_COURT_ID = re.compile(r"^[a-z][a-z0-9]{1,5}$")


def default_feed_url(court: str) -> str:
    """The court's public RSS feed (juriscraper `PacerRssFeed.url`)."""
    if court == "nyed":
        # E.D.N.Y. runs its own feed software ("readyDockets"); rss_outside.pl is not its feed
        return "https://ecf.nyed.uscourts.gov/cgi-bin/readyDockets.pl"
    if court == "ared":
        # E.D. Ark.'s default feed has only orders and opinions; rss_outside4.pl has all entries
        return "https://ecf.ared.uscourts.gov/cgi-bin/rss_outside4.pl"
    if is_appellate(court):
        return f"https://ecf.{court}.uscourts.gov/n/beam/servlet/TransportRoom?servlet=RSSGenerator"
    return f"https://ecf.{court}.uscourts.gov/cgi-bin/rss_outside.pl"


class PacerRssConfig(UrlWatchConfig):
    court: str = Field(description="CM/ECF court id: cand, ilnd, nysd, nysb, ca9, cadc ...")
    cases: list[str] = Field(default_factory=list, description="docket numbers to follow, e.g. 3:25-cv-01350")
    case_names: list[str] = Field(
        default_factory=list, description="whole words or phrases to find in case names, e.g. City of Chicago"
    )
    allow_empty: bool = Field(True, description="a followed case with nothing in today's feed is normal")
    aliases: AliasesField
    follow_appeals: FollowAppeals = Field(
        default_factory=FollowAppeals, description="follow the case's appeal, transfer or remand too (true/false)"
    )

    @field_validator("court", mode="before")
    @classmethod
    def _court(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            if not _COURT_ID.match(value):
                raise ValueError(
                    f"{value!r} is not a CM/ECF court id; use the ecf.<court>.uscourts.gov "
                    "name, like cand, ilnd, nysd or ca9"
                )
        return value

    @field_validator("cases")
    @classmethod
    def _cases(cls, value: list[str]) -> list[str]:
        cleaned = [squash(v) for v in value]
        for case in cleaned:
            if not any(c.isdigit() for c in case):
                raise ValueError(f"{case!r} is not a docket number; write it like 3:25-cv-01350 or 25-cv-1350")
        return cleaned

    @field_validator("case_names")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        cleaned = [squash(v) for v in value]
        if not all(cleaned):
            raise ValueError("case_names has an empty entry; give words like 'City of Chicago'")
        return cleaned

    @model_validator(mode="after")
    def _something_to_follow(self) -> PacerRssConfig:
        if not self.cases and not self.case_names:
            raise ValueError(
                "give `cases` (docket numbers to follow, like 3:25-cv-01350) or `case_names` "
                "(words to find in case names, like City of Chicago), or both: a court feed "
                "is not watched whole"
            )
        if self.alert_removals:
            raise ValueError(
                "alert_removals cannot be used with pacer_rss: entries leave the feed's 24-hour "
                "window every day, which is not a removal from the docket"
            )
        if self.aliases and len(self.cases) != 1:
            raise ValueError(
                f"aliases name one case, and this watch follows {len(self.cases)} (`cases`): put them "
                "on a watch of that case alone (its courtlistener watch, or a pacer_rss watch with "
                "one case)"
            )
        return self


def _preferred(one: Item, other: Item) -> Item:
    """Of two versions of one entry: the later entered (ISO 8601 in UTC, so compared as text), else the
    one with the smaller content hash. Either way the same one whatever order they come in."""
    entered, other_entered = str(one.fields.get("date_entered") or ""), str(other.fields.get("date_entered") or "")
    if entered != other_entered:
        return one if entered > other_entered else other
    return one if one.content_hash <= other.content_hash else other


def _whole_words(term: str) -> re.Pattern[str]:
    # lookarounds rather than \b, so that terms ending in punctuation ("Inc.") still match whole
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in term.split()) + r"(?!\w)", re.I)


class PacerRssWatcher(UrlWatcher):
    """Followed cases in one court's CM/ECF RSS feed."""

    kind: ClassVar[str] = "pacer_rss"
    Config: ClassVar[type[WatchConfig]] = PacerRssConfig
    example: ClassVar[dict[str, Any]] = {
        "court": "cand",
        "cases": ["3:25-cv-01350"],
        "url": "{base}/cgi-bin/rss_outside.pl",
    }
    neutral_keys: ClassVar[frozenset[str]] = frozenset({"aliases"})
    lists_dockets: ClassVar[bool] = True

    def __init__(self, config: WatchConfig):
        super().__init__(config)
        settings = cast(PacerRssConfig, config)
        self.court = settings.court
        self.cases_followed: list[DocketNumber] = [parse_docket_number(c) for c in settings.cases]
        self.names = [(term, _whole_words(term)) for term in settings.case_names]

    @property
    def url(self) -> str:
        return getattr(self.config, "url", None) or default_feed_url(self.court)

    def cases(self) -> list[tuple[str, DocketNumber]]:
        return [(self.court, case) for case in self.cases_followed]

    async def check(self, ctx: CheckContext) -> CheckOutcome:
        # No validators (PACER ignores them): the request is the same for every watch of this court,
        # so the cycle's fetcher makes it once (DESIGN invariant 5).
        fetched = await ctx.fetch(self.url, headers=self.request_headers())
        if fetched.not_modified:  # a proxy or mirror may still answer 304
            return CheckOutcome(items=None, state=ctx.state)
        state: dict[str, Any] = {"body_hash": fetched.body_hash}
        names = dict(ctx.state.get("case_names") or {})
        if fetched.body_hash == ctx.state.get("body_hash"):
            return CheckOutcome(items=None, state={**state, "case_names": names} if names else state)
        parsed = self.parse_with_info(fetched)
        names.update(self.case_names(parsed.items))
        if names:
            state["case_names"] = names
        return CheckOutcome(
            items=parsed.items,
            state=state,
            info=parsed.info,
            warnings=parsed.warnings,
            incomplete=parsed.incomplete,
            gaps=self.gaps(parsed.info),
        )

    def case_names(self, items: list[Item]) -> dict[str, str]:
        """The case name the court's feed gives each followed case (by its docket number as configured), kept in
        the watch's state: a press release naming the case that way is linked to it (monitor/related.py)."""
        names: dict[str, str] = {}
        for item in items:
            number, name = item.fields.get("docket_number"), item.fields.get("case_name")
            if not name:
                continue
            for case in self.cases_followed:
                if case.same_case(parse_docket_number(number)):
                    names.setdefault(case.canonical, str(name))
        return names

    def gaps(self, info: Mapping[str, Any]) -> tuple[Gap, ...]:
        """A followed case in a court whose feed publishes only some entry types: filings of the other
        types are never seen here (the engine says so once, unless a CourtListener watch covers the case)."""
        if info.get("coverage") != "partial" or not self.cases_followed:
            return ()
        cases = ", ".join(case.canonical for case in self.cases_followed)
        return (
            Gap(
                "coverage",
                f"{self.config.display_name()} does not see every filing in {cases}. "
                f"The court's RSS feed ({self.court}) publishes only these entry types: "
                f"{', '.join(info.get('entry_types') or [])}. Add a courtlistener watch of the case "
                "for its complete docket.",
            ),
        )

    def parse_with_info(self, fetched: Fetched) -> Parsed:
        feed = parse_feed(fetched.body, fetched.url, court=self.court)
        warnings = Problems()
        warnings.extend(feed.warnings)
        items, info = self.read(feed, warnings)
        return Parsed(
            items, info, capped([*warnings, *self.warnings(feed)]), incomplete=feed.skipped + warnings.skipped > 0
        )

    def parse(self, fetched: Fetched) -> list[Item]:
        return self.parse_with_info(fetched).items

    # ------------------------------------------------------------ matching

    def follows(self, entry: RssEntry) -> tuple[bool, tuple[str, ...]]:
        """Whether the entry is in a followed case, and the case-name terms that matched."""
        numbers = [parse_docket_number(n) for n in (entry.docket_number, entry.title_docket) if n]
        by_number = any(case.same_case(number) for case in self.cases_followed for number in numbers)
        terms = tuple(
            term
            for term, pattern in self.names
            if pattern.search(entry.raw_case_name) or pattern.search(entry.case_name)
        )
        return by_number or bool(terms), terms

    def to_item(self, entry: RssEntry) -> Item:
        docket = parse_docket_number(entry.docket_number or entry.title_docket)
        entered = entry.date_entered.astimezone(UTC).isoformat() if entry.date_entered else None
        text = squash(entry.short_description)
        # a text-only entry with no sequence number (E.D.N.Y.) is known by when it was entered and what
        # it says; a multi-event entry's text is sorted, so the key is stable
        fallback = f"{entered or 'undated'}:{hashlib.sha256(text.lower().encode()).hexdigest()[:12]}"
        return entry_item(
            court=self.court,
            docket=docket,
            case_name=entry.case_name,
            entry_number=entry.entry_number,
            short_description=text or None,
            date_entered=entered,
            document_url=entry.document_url,
            docket_url=entry.docket_url,
            pacer_case_id=entry.pacer_case_id,
            pacer_doc_id=entry.pacer_doc_id,
            pacer_seq=entry.pacer_seq_no or entry.guid_seq,
            source=self.kind,
            fallback_key=fallback,
        )

    def read(self, feed: ParsedFeed, warnings: list[str] | None = None) -> tuple[list[Item], dict[str, Any]]:
        """The followed cases' entries, one item per entry, and the feed's facts for status. An entry
        that cannot be made an item is skipped with a warning naming it (in `warnings`)."""

        def followed(_: int, entry: RssEntry) -> Item | None:
            follows, terms = self.follows(entry)
            if not follows:
                return None
            item = self.to_item(entry)
            return item.with_matched(terms) if terms else item

        found = read_each(
            feed.entries,
            followed,
            warnings=[] if warnings is None else warnings,
            url=self.url,
            name=lambda position, entry: label(position, f"{entry.title_docket} {entry.raw_case_name}"),
            what="entry",
        )
        items: dict[str, Item] = {}
        repeated = 0
        for item in found:
            if item.key in items:
                # PACER sometimes lists an entry twice. The later-entered version wins, else the smaller
                # content: never the first listed, so a re-ordered feed cannot flip it (an "updated").
                repeated += 1
                item = _preferred(items[item.key], item)
            items[item.key] = item
        return list(items.values()), self._info(feed, len(items), repeated)

    # ------------------------------------------------------------ status

    @staticmethod
    def _info(feed: ParsedFeed, followed: int, repeated: int) -> dict[str, Any]:
        channel = feed.channel
        info: dict[str, Any] = {
            "feed": channel.title,
            "coverage": channel.coverage,
            "last_build_date": channel.last_build.isoformat() if channel.last_build else channel.last_build_text,
            "feed_items": feed.item_count,
            "feed_entries": len(feed.entries),
            "followed_entries": followed,
        }
        if channel.coverage == "partial":
            info["entry_types"] = list(channel.entry_types)
        elif channel.coverage == "unknown":
            info["description"] = channel.description
        if repeated:
            info["repeated_entries"] = repeated
        unrecognised = sorted({e.title_docket for e in feed.entries if not e.docket_number})
        if unrecognised:
            info["unrecognised_docket_numbers"] = unrecognised[:10]
        return info

    def warnings(self, feed: ParsedFeed) -> tuple[str, ...]:
        channel: FeedChannel = feed.channel
        out: list[str] = []
        if not feed.item_count:
            out.append(f"{self.court}'s RSS feed lists no entries at all (a quiet day, or the court's feed is down)")
        if channel.coverage == "partial":
            out.append(
                f"{self.court}'s RSS feed lists only these entry types: {', '.join(channel.entry_types)}; "
                "filings of other types show up only through a courtlistener watch of the case "
                "(without one, a coverage gap is alerted)"
            )
        elif channel.coverage == "unknown":
            out.append(
                f"cannot tell from {self.court}'s feed description ({channel.description!r}) whether it "
                "lists all docket entries; other filings may not show up here"
            )
        host = re.match(r"https?://ecf\.([a-z0-9]+)\.uscourts\.gov", channel.link or "")
        if host and host.group(1) != self.court:
            out.append(
                f"the feed at {self.url} is {host.group(1)}'s, but this watch says court: {self.court} "
                "(entries are keyed by the configured court); check `court` and `url`"
            )
        return tuple(out)
