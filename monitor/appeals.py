"""Following a case where it goes next: its appeal, a transfer, a remand (the stage `appeals`).

When a recorded entry of a followed case (a `pacer_rss` or `courtlistener` watch with `cases`, and
`follow_appeals` on, the default) tells of a notice of appeal, the appellate case number, a transfer or
a remand (`monitor/casemoves.py` reads the text), the monitor starts following the case there:

1. **The new docket number.** From the entry when it says it ("USCA Case Number 25-1234", "new case
   number 1:25-cv-02345"). Otherwise the move is remembered as *pending* (`monitor status` shows it)
   and looked for at once and then at the case's later checks, at most once an hour: in the new
   court's RSS feed (an entry whose case name names the same parties, numbered in or after the year
   of the notice), and, at most every 6 hours, through CourtListener's search (`type=r`, the new
   court, the followed docket number as the query: an appellate docket names its originating case).
   A move still not found after 30 days is given up (status says so; `monitor follow` does it by hand).
2. **The watches**, created in the database, never in the file (`monitor/autowatch.py` joins them to
   the configuration): a `pacer_rss` watch of the new court's feed when it has one (or the parent's
   `follow_appeals: {feed_url: ...}` mirror names one: most courts of appeals publish only orders and
   opinions, and the coverage-gap alerts say so), and a `courtlistener` watch when the case is
   followed through CourtListener or the court has no feed. Ids follow `monitor follow`'s:
   `<case>-appeal-ca9-25-1234` (CourtListener) and `<case>-appeal-ca9-25-1234-rss`, where `<case>` is
   the parent's id without `-rss`, so both watches of a case name the same appeal alike. Their first
   check is a silent baseline; their later filings alert like any other, to the parent's notifiers.
3. **One announcement** through the outbox, in the same transaction as the watches: "Now following
   the appeal: No. 25-1234, 9th Cir. — from City and County of San Francisco v. Trump, N.D. Cal.
   3:25-cv-01350" (a `following` change of the parent watch, in the case's Slack thread).

A move is recorded once per case, court and number, so the case's other watch seeing the same entry,
a later entry repeating the number or another replica changes nothing. `monitor unfollow <id>` stops a
created watch and is remembered: the same entries never start it again. Entries of a baseline (a
watch's first check) start nothing: a case's old, finished appeals are not followed. A move back to the
court the followed case itself came from (a remand to the district) is not a new case.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from monitor.casemoves import Move, read_move
from monitor.clsearch import PUBLIC_BASE as CL_PUBLIC
from monitor.clsearch import CourtListenerSearch, base_url
from monitor.errors import MonitorError
from monitor.models import Change, Item, utcnow
from monitor.render import shorten
from monitor.stages import Stage, StageRun
from monitor.store import new_uid
from monitor.store.moves import CaseMove, NewMove
from watchers import WATCHERS, WatchConfig
from watchers.base import WATCH_ID
from watchers.courts import COURTS, cite
from watchers.dockets import DocketNumber, case_group, parse_docket_number
from watchers.pacer_feed import harmonize_case_name, parse_feed
from watchers.pacer_rss import default_feed_url

log = logging.getLogger(__name__)

RETRY_EVERY = 3600.0  # a pending move's number is looked for at most this often per case
SEARCH_EVERY = 6  # ... and CourtListener searched at every this-many-th look (at most every 6 hours)
GIVE_UP_AFTER = timedelta(days=30)
DEFAULT_EVERY = {"pacer_rss": "5m", "courtlistener": "15m"}  # as `monitor follow` writes them
_TEXT_FIELDS = ("fields.short_description", "fields.description", "title")
# words that name no one in particular: "City of Chicago" and "City of Evanston" are not the same party
_GENERIC = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "in",
        "re",
        "et",
        "al",
        "v",
        "vs",
        "inc",
        "llc",
        "ltd",
        "co",
        "corp",
        "company",
        "city",
        "county",
        "state",
        "states",
        "united",
        "america",
        "usa",
        "us",
        "town",
        "village",
        "people",
        "department",
        "dept",
        "government",
        "commonwealth",
        "district",
        "board",
        "commission",
        "office",
        "agency",
        "secretary",
        "president",
        "administration",
        "federal",
        "national",
    ]
)


class FollowMoves(Stage):
    """Start following a case's appeal, transfer or remand when one of its entries tells of it."""

    name = "appeals"

    def __init__(self) -> None:
        # per state database and case: no look at its pending moves before this (monotonic clock)
        self._next_look: dict[tuple[str, str, str], float] = {}
        # The two watches of a case see the same entry in the same cycle: one at a time decides (per event loop)
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    async def after_commit(self, run: StageRun, changes: list[Change]) -> None:
        settings = getattr(run.watch, "follow_appeals", None)
        watcher = run.watchers.get(run.watch.id)
        if run.dry_run or settings is None or not settings.enabled or watcher is None:
            return
        cases = watcher.cases()
        if not cases:
            return
        found = [] if run.baseline else list(self._moves_in(run, changes, cases))
        lock = self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with lock:
            now = utcnow()
            for change, court, docket, move in found:
                await self._act(run, change, court, docket, move, now)
            await self._look_again(run, cases, now)

    # ------------------------------------------------------------ reading the changes

    def _moves_in(
        self, run: StageRun, changes: Iterable[Change], cases: Sequence[tuple[str, DocketNumber]]
    ) -> Iterable[tuple[Change, str, DocketNumber, Move]]:
        came_from = self._came_from(run)
        for change in changes:
            if change.kind not in ("added", "updated") or not change.key.startswith("entry:"):
                continue
            if change.kind == "updated" and not set(change.changed_fields) & set(_TEXT_FIELDS):
                continue  # a PDF or an attachment added: the text said nothing new
            fields = change.item.fields
            court, docket = str(fields.get("court") or ""), parse_docket_number(fields.get("docket_number"))
            if not any(court == c and docket.same_case(d) for c, d in cases):
                continue  # a case caught by `case_names`, not one the watch follows
            texts = [str(fields.get(k) or "") for k in ("short_description", "description")] or [change.item.title]
            moves = [m for m in (read_move(t, court=court, docket=docket) for t in texts if t) if m is not None]
            if not moves:
                continue
            move = next((m for m in moves if m.number), moves[0])
            if any(m.starts for m in moves) and not move.starts:
                move = Move(move.kind, move.court, move.number, True, move.refers_to)
            if came_from is not None and move.court == came_from:
                continue  # back where the followed case came from: that case is followed already
            yield change, court, docket, move

    @staticmethod
    def _came_from(run: StageRun) -> str | None:
        auto = run.config.auto.get(run.watch.id)
        return auto.move.origin_court if auto is not None else None

    async def _act(
        self, run: StageRun, change: Change, court: str, docket: DocketNumber, move: Move, now: datetime
    ) -> None:
        fields = change.item.fields
        text = next((str(fields[k]) for k in ("description", "short_description") if fields.get(k)), change.item.title)
        trigger = {
            "key": change.key,
            "entry_number": fields.get("entry_number"),
            "text": shorten(text, 500),
            "date": fields.get("date_filed") or fields.get("date_entered") or change.item.published,
            "case_name": fields.get("case_name"),
            "watch": run.watch.id,
        }
        new = NewMove(court, docket.canonical, move.kind, move.court, move.number, run.watch.id, change.key, trigger)
        db = run.store.aio
        pending = [
            p for p in await db.case_moves([(court, docket.canonical)], statuses=["pending"]) if p.court == move.court
        ]
        if move.number:
            about = [
                p.id for p in pending if move.refers_to is None or str(p.trigger.get("entry_number")) == move.refers_to
            ]
            await self._follow(run, new, now, resolves=about)
            return
        if not move.starts or (pending and move.kind != "appeal"):  # (a case is transferred to a court once)
            if pending:  # the court of appeals has opened the case: look for its number now, everywhere
                await self._resolve(run, pending[0], now, search=True)
                return
            started = await db.case_moves([(court, docket.canonical)], statuses=["following", "removed"])
            if any(m.court == move.court for m in started):
                return  # about an appeal already followed (or refused)
        added = await db.add_pending_move(new, now)
        if added is not None:
            log.info(
                "%s of %s %s to %s noted; looking for its docket number", move.kind, court, docket.canonical, move.court
            )
            await self._resolve(run, added, now, search=True)

    # ------------------------------------------------------------ pending moves

    async def _look_again(self, run: StageRun, cases: Sequence[tuple[str, DocketNumber]], now: datetime) -> None:
        """Pending moves of these cases whose time has come (at most one look an hour per case)."""
        keys = [(run.store.url, court, docket.canonical) for court, docket in cases]
        clock = time.monotonic()
        due_keys = [k for k in keys if self._next_look.get(k, 0.0) <= clock]
        if not due_keys:
            return
        pending = await run.store.aio.case_moves([k[1:] for k in due_keys], statuses=["pending"])
        for key in due_keys:
            self._next_look[key] = clock + RETRY_EVERY
        for move in pending:
            if move.next_try_at is None or move.next_try_at <= now:
                await self._resolve(run, move, now)

    async def _resolve(self, run: StageRun, move: CaseMove, now: datetime, *, search: bool = False) -> None:
        """Look for a pending move's new docket number; follow what is found, else try again later."""
        notes: list[str] = []
        found = await self._from_feed(run, move, notes)
        if not found and (search or move.tries % SEARCH_EVERY == 0):
            found = await self._from_courtlistener(run, move, notes)
        if found:
            for number, docket_id in found.items():
                new = NewMove(
                    move.origin_court,
                    move.origin_docket,
                    move.kind,
                    move.court,
                    number,
                    move.parent,
                    move.trigger_key,
                    move.trigger,
                )
                await self._follow(run, new, now, resolves=[move.id], docket_id=docket_id)
            return
        age = now - move.created_at
        abandon = age > GIVE_UP_AFTER
        note = "; ".join(notes) or "not found yet"
        if abandon:
            note = f"gave up after {GIVE_UP_AFTER.days} days ({note}); follow it by hand with `monitor follow`"
        await run.store.aio.retry_move_later(
            move.id, None if abandon else now + timedelta(seconds=RETRY_EVERY), note, now, abandon=abandon
        )

    def _feed_url(self, run: StageRun, court: str) -> str | None:
        template = run.watch.follow_appeals.feed_url  # type: ignore[attr-defined]
        if template:
            return template.format(court=court)
        known = COURTS.get(court)
        return default_feed_url(court) if known is not None and known.pacer and known.rss else None

    async def _from_feed(self, run: StageRun, move: CaseMove, notes: list[str]) -> dict[str, int | None]:
        url = self._feed_url(run, move.court)
        if url is None:
            return {}
        try:
            fetched = await run.http.get(url)
            feed = parse_feed(fetched.body, fetched.url, court=move.court)
        except MonitorError as exc:
            notes.append(f"{cite(move.court)} feed: {exc}")
            return {}
        found: dict[str, int | None] = {}
        for entry in feed.entries:
            number = parse_docket_number(entry.docket_number or entry.title_docket)
            if _candidate(move, number, entry.case_name):
                found.setdefault(number.canonical, None)
        if not found:
            notes.append(f"not in {cite(move.court)}'s RSS feed yet")
        return found

    async def _from_courtlistener(self, run: StageRun, move: CaseMove, notes: list[str]) -> dict[str, int | None]:
        court = COURTS.get(move.court)
        if court is None:
            return {}
        search = _search(run, _courtlistener_source(run, move.origin_court, parse_docket_number(move.origin_docket)))
        try:
            results = await search.search(f'"{move.origin_docket}"', court=court)
        except MonitorError as exc:
            notes.append(f"CourtListener: {exc}")
            return {}
        since = _trigger_day(move)
        found: dict[str, int | None] = {}
        for docket in results:
            if docket.courtlistener_court != court.courtlistener_id:
                continue
            if since and docket.date_filed and docket.date_filed < (since - timedelta(days=7)).isoformat():
                continue
            if _candidate(move, docket.docket, docket.case_name):
                found.setdefault(docket.docket.canonical, docket.docket_id)
        if not found:
            notes.append("not on CourtListener yet")
        return found

    # ------------------------------------------------------------ following

    async def _follow(
        self, run: StageRun, move: NewMove, now: datetime, *, resolves: Sequence[int] = (), docket_id: int | None = None
    ) -> None:
        assert move.docket is not None
        watches = await self._plan(run, move, docket_id)
        announcement = _announcement(run, move, [w for w, _ in watches], now) if watches else None
        started = await run.store.aio.start_following(
            move, watches, announcement, list(run.watch.notify or []), now, resolves=resolves
        )
        if started is None:
            return
        if announcement is not None:
            run.status_changes.append(announcement)
            log.info("%s", announcement.item.title)
        else:
            log.info(
                "%s of %s %s to %s %s: already followed by the configuration",
                move.kind,
                move.origin_court,
                move.origin_docket,
                move.court,
                move.docket,
            )

    async def _plan(self, run: StageRun, move: NewMove, docket_id: int | None) -> list[tuple[str, dict[str, Any]]]:
        """The watches that follow the case in its new court: (id, config) each, validated."""
        assert move.docket is not None
        parent = run.watch
        target = parse_docket_number(move.docket)
        followed = {w.type for w in run.config.watches if w.enabled and _follows(run, w, move.court, target)}
        stem = re.sub(r"-rss$", "", parent.id)
        base = _watch_id(f"{stem}-{move.kind}-{move.court}-{move.docket.replace(':', '-')}")
        settings = parent.follow_appeals  # type: ignore[attr-defined]
        # never a URL or token in the stored config (a mirror's address may carry a secret): the created
        # watch takes the feed mirror, and a courtlistener parent's address and token, from its parent
        shared = {
            "court": move.court,
            "follow_appeals": {"enabled": settings.enabled},
            "name": shorten(f"{parent.display_name()}: {move.kind}, {cite(move.court)} {move.docket}", 100),
        }
        origin = parse_docket_number(move.origin_docket)
        source = _courtlistener_source(run, move.origin_court, origin)
        plans: list[tuple[str, dict[str, Any]]] = []
        feed = self._feed_url(run, move.court)
        config: dict[str, Any]
        if feed is not None and "pacer_rss" not in followed:
            config = {
                "id": base + "-rss",
                "type": "pacer_rss",
                **shared,
                "cases": [move.docket],
                "every": _every(run, "pacer_rss", move.origin_court, origin),
            }
            plans.append((config["id"], config))
        if (source is not None or feed is None) and "courtlistener" not in followed:
            config = {
                "id": base,
                "type": "courtlistener",
                **shared,
                "docket_number": move.docket,
                "every": _every(run, "courtlistener", move.origin_court, origin),
            }
            if source is not None and source is not parent and source.base_url != CL_PUBLIC:  # type: ignore[attr-defined]
                config["base_url"] = source.base_url  # type: ignore[attr-defined]
            if docket_id is None:  # the id lets it work without a token, and for numbers CourtListener keys oddly
                docket_id = await self._docket_id(run, move, source)
            if docket_id is not None:
                config["docket_id"] = docket_id
            plans.append((config["id"], config))
        valid = []
        for watch_id, config in plans:
            try:
                WATCHERS[config["type"]].Config.model_validate({**config, "notify": []})
            except Exception as exc:  # noqa: BLE001 - a plan that does not validate is not created
                run.warnings.append(f"appeals: could not make the watch {watch_id}: {str(exc).splitlines()[0]}")
                continue
            valid.append((watch_id, {k: v for k, v in config.items() if k != "id"}))
        return valid

    async def _docket_id(self, run: StageRun, move: NewMove, source: WatchConfig | None) -> int | None:
        court = COURTS.get(move.court)
        if court is None or move.docket is None:
            return None
        try:
            found = await _search(run, source).by_number(court, parse_docket_number(move.docket))
        except MonitorError:
            return None
        return found[0].docket_id if len(found) == 1 else None


# ---------------------------------------------------------------- helpers


def _watch_id(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")[:96]
    return cleaned if WATCH_ID.match(cleaned) else "auto-" + cleaned[:90]


def _follows(run: StageRun, watch: WatchConfig, court: str, docket: DocketNumber) -> bool:
    watcher = run.watchers.get(watch.id) or WATCHERS[watch.type](watch)
    return any(c == court and d.same_case(docket) for c, d in watcher.cases())


def _courtlistener_source(run: StageRun, court: str, docket: DocketNumber) -> WatchConfig | None:
    """The watch whose CourtListener address and token the followed case uses: the parent, or the other
    watch of the same case when that is a courtlistener watch; None if the case is not followed there."""
    if run.watch.type == "courtlistener":
        return run.watch
    return next((w for w in run.config.watches if w.type == "courtlistener" and _follows(run, w, court, docket)), None)


def _search(run: StageRun, source: WatchConfig | None) -> CourtListenerSearch:
    """CourtListener's search where the followed case's courtlistener watch reads it, with its token
    (else $COURTLISTENER_BASE_URL or the public site, and $COURTLISTENER_TOKEN when set)."""
    if source is None:
        return CourtListenerSearch(run.http, base_url(None))
    token = source.token.get_secret_value() if source.token is not None else ""  # type: ignore[attr-defined]
    return CourtListenerSearch(run.http, source.base_url, token or None)  # type: ignore[attr-defined]


def _every(run: StageRun, kind: str, court: str, docket: DocketNumber) -> str:
    """The interval the followed case's watch of this kind uses, else `monitor follow`'s default."""
    same = next(
        (w for w in [run.watch, *run.config.watches] if w.type == kind and _follows(run, w, court, docket)), None
    )
    return str(same.every) if same is not None and same.every is not None else DEFAULT_EVERY[kind]


def _trigger_day(move: CaseMove) -> datetime | None:
    when = str((move.trigger or {}).get("date") or "")[:10]
    try:
        return datetime.fromisoformat(when) if when else None
    except ValueError:
        return None


def _candidate(move: CaseMove, number: DocketNumber, case_name: str) -> bool:
    """A docket of the new court that is this move's: numbered in or after the year of the entry that told
    of it (so never an older appeal of the same case), of the same kind of number, with the same parties."""
    if not number.valid:
        return False
    if COURTS.get(move.court) is not None and COURTS[move.court].kind == "appellate" and number.type is not None:
        return False
    day = _trigger_day(move) or move.created_at
    if int(number.year or 0) < day.year % 100:
        return False
    return same_parties(str(move.trigger.get("case_name") or ""), case_name)


def _sides(name: str) -> list[set[str]]:
    parts = re.split(r"\s+v\.?\s+|\s+vs\.?\s+", harmonize_case_name(name), flags=re.IGNORECASE)
    return [{w for w in re.findall(r"[a-z0-9]+", part.lower()) if len(w) > 1 and w not in _GENERIC} for part in parts]


def same_parties(followed: str, other: str) -> bool:
    """Whether two captions name the same parties: each side of the followed case shares a distinctive word
    with a different side of the other, in either order (an appeal may put the appellant first). Generic
    words ("City", "County", "United States") do not count; a side made only of them matches only such a
    side. "City and County of San Francisco v. Trump" and "City & County of San Francisco, et al. v.
    Donald J. Trump, et al." are the same; "United States v. City of Chicago" and "United States v. City
    of Evanston" are not."""
    mine, theirs = _sides(followed), _sides(other)
    if not mine or not theirs or not any(mine):
        return False

    def meets(a: set[str], b: set[str]) -> bool:
        return bool(a & b) if a and b else not a and not b

    if len(mine) == 1 or len(theirs) == 1:
        a, b = set().union(*mine), set().union(*theirs)
        return bool(a and b) and len(a & b) >= max(1, min(len(a), len(b)) // 2)
    first, second = mine[0], mine[1]
    return (meets(first, theirs[0]) and meets(second, theirs[1])) or (
        meets(first, theirs[1]) and meets(second, theirs[0])
    )


def _announcement(run: StageRun, move: NewMove, watch_ids: list[str], now: datetime) -> Change:
    """ "Now following the appeal: No. 25-1234, 9th Cir. — from City and County of San Francisco v. Trump,
    N.D. Cal. 3:25-cv-01350", once, to the parent's notifiers, in the case's thread."""
    trigger = move.trigger
    what = Move(move.kind, move.court, move.docket, True).describe()  # type: ignore[arg-type]
    case = str(trigger.get("case_name") or run.watch.display_name())
    title = f"Now following {what} — from {case}, {cite(move.origin_court)} {move.origin_docket}"
    entry = f"entry #{trigger['entry_number']}" if trigger.get("entry_number") else "an entry"
    when = f" ({str(trigger['date'])[:10]})" if trigger.get("date") else ""
    summary = (
        f"Found in {entry}{when} of {run.watch.display_name()}: "
        f"\u201c{shorten(str(trigger.get('text') or ''), 300)}\u201d. "
        f"Watches added: {', '.join(watch_ids)}. Their first check records a silent baseline; later "
        f"filings alert like any other. To stop: monitor unfollow {watch_ids[0]}."
    )
    origin = parse_docket_number(move.origin_docket)
    item = Item(
        key=f"following:{move.court}:{move.docket}",
        title=title,
        summary=summary,
        group=case_group(move.origin_court, origin),
        fields={
            "kind": move.kind,
            "to_court": move.court,
            "to_docket": move.docket,
            "origin_court": move.origin_court,
            "origin_docket": move.origin_docket,
            "watches": watch_ids,
        },
    )
    return Change(run.watch.id, "following", item, detected_at=now, uid=new_uid())
