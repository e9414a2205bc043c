"""What each page shows, built from the store and the running configuration (no HTML here).

Each `*_page` function reads the store (so it runs off the event loop: the app calls it through
`asyncio.to_thread`) and returns plain values for its template. Free text that can carry a secret (an
error message, a source URL, what a source reported) is masked here with the daemon's secrets; the app
masks the whole response once more before it leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.config import Config, mask
from monitor.models import Change, Delivery, utcnow
from monitor.store import Store, WatchState, views
from monitor.store.moves import CaseMove
from monitor.web import timeline
from monitor.web.cases import DOCKET_KINDS, Agency, Case, agency_of, build_agencies, build_cases, case_id, case_name
from monitor.web.health_view import Health, interval_of, watch_health
from watchers import WatchConfig
from watchers.courts import cite

PAGE_SIZE = 100  # timeline entries per page
FEED_SIZE = 100  # entries per Atom feed
ATTENTION_SHOWN = 50  # the overview lists this many watches that need attention, then counts the rest
RELATED_SHOWN = 50  # a case page lists this many related press releases (newest first)


@dataclass
class Dashboard:
    """What the web app needs from the daemon: the store, the running configuration (it changes on
    reload), when each watch is checked next, and the secrets to mask."""

    store: Store
    config: Callable[[], Config]
    next_check: Callable[[str], datetime | None] = lambda _watch_id: None
    secrets: Callable[[], set[str]] = set
    # Whether the address it is served on is reachable from other machines; None: the server decides
    # from the address it binds (a test may say True to try the rules for a public address on 127.0.0.1).
    exposed: bool | None = None
    clock: Callable[[], datetime] = utcnow


@dataclass
class WatchView:
    id: str
    name: str
    type: str
    health: Health
    state: WatchState | None
    interval: float
    url: str | None = None
    coverage: list[str] = field(default_factory=list)
    next_check: datetime | None = None

    @property
    def coverage_brief(self) -> str | None:
        """A few words for the overview: which entries a court feed lists, how CourtListener is read."""
        info = dict(self.state.info or {}) if self.state else {}
        brief = {"all": "every entry type", "partial": "some entry types only", "unknown": "coverage unknown"}
        if info.get("coverage") in brief:
            return brief[info["coverage"]]
        return f"via {info['entries_via']}" if info.get("entries_via") else None

    @property
    def failures(self) -> int:
        return self.state.consecutive_failures if self.state else 0

    @property
    def items(self) -> int:
        return self.state.item_count if self.state else 0


@dataclass
class CaseRow:
    case: Case
    name: str
    latest: timeline.Entry | None
    watches: list[WatchView]
    moves: list[MoveView] = field(default_factory=list)  # where the case went: its appeal, a transfer

    @property
    def health(self) -> Health:
        return min((w.health for w in self.watches), key=lambda h: h.rank, default=Health("waiting", "no watch"))


@dataclass
class AgencyRow:
    agency: Agency
    watches: list[WatchView]
    items: list[tuple[WatchView, views.Sighting]]


class _Context:
    """The configuration, state and secrets one page is built from."""

    def __init__(self, dashboard: Dashboard, states: Mapping[str, WatchState] | None = None):
        self.dashboard = dashboard
        self.config: Config = dashboard.config()
        self.secrets = dashboard.secrets() | set(self.config.secrets)
        self.now = dashboard.clock()
        self.states = dict(views.watch_states(dashboard.store) if states is None else states)
        self.default_interval = float(
            self.config.defaults.every.seconds or self.config.defaults.every.nominal_seconds()
        )
        self._views: dict[str, WatchView] = {}

    def mask(self, text: Any) -> str:
        return mask(str(text), self.secrets)

    def watch(self, watch: WatchConfig, *, next_check: bool = False) -> WatchView:
        view = self._views.get(watch.id)
        if view is None:
            state = self.states.get(watch.id)
            interval = interval_of(watch, self.default_interval)
            health = watch_health(watch, state, self.now, interval=interval, max_backoff=self.config.daemon.max_backoff)
            if health.level in ("failing", "down"):
                health = Health(health.level, self.mask(health.text), health.since)
            url = getattr(watch, "url", None)
            view = WatchView(
                watch.id,
                watch.display_name(),
                watch.type,
                health,
                state,
                interval,
                self.mask(url) if url else None,
                self.coverage(watch, state),
            )
            self._views[watch.id] = view
        if next_check and view.next_check is None and watch.enabled:
            view.next_check = self.dashboard.next_check(watch.id)
        return view

    def coverage(self, watch: WatchConfig, state: WatchState | None) -> list[str]:
        """What the source said about itself at its last check, in a few words each."""
        info = dict(state.info or {}) if state else {}
        out: list[str] = []
        coverage = info.get("coverage")
        if coverage == "all":
            out.append("court feed lists every entry type")
        elif coverage == "partial":
            out.append("court feed lists only: " + ", ".join(map(str, info.get("entry_types") or [])))
        elif coverage == "unknown":
            out.append("court feed coverage unknown")
        if info.get("last_build_date"):
            out.append(f"feed built {info['last_build_date']}")
        if info.get("entries_via"):
            out.append(f"entries via {info['entries_via']}")
        budget = info.get("budget")
        if isinstance(budget, Mapping) and "used" in budget:
            out.append(
                f"{budget.get('this_watch', '?')} of the {budget.get('used')} CourtListener calls in the last 24 hours"
            )
        return [self.mask(text) for text in out]


# ---------------------------------------------------------------- appeals, transfers, related releases

# What each status of a move means to a reader (`monitor/appeals.py`).
MOVE_STATUS = {
    "pending": "number not known yet: looking for it",
    "following": "followed",
    "removed": "stopped with monitor unfollow",
    "abandoned": "given up: follow it by hand",
}


@dataclass
class MoveView:
    """A followed case's appeal, transfer or remand (`case_moves`), with the watches made for it."""

    move: CaseMove
    where: str  # "No. 1:18-cv-03472, S.D.N.Y.", or "S.D.N.Y. (number not known yet)"
    case_id: str | None  # the new case's page, once its number is known
    origin: str  # "Bankr. S.D.N.Y. 15-01420"
    origin_id: str  # the followed case's page
    trigger: str  # the entry that told of it: "entry #149 (2018-04-19): “Notice, Appeal (fee)”"
    trigger_anchor: str | None  # that entry on the followed case's page
    note: str | None  # what the last look for a pending move's number found
    watches: list[tuple[str, str, str, bool]] = field(default_factory=list)  # (watch id, name, kind, removed)

    @property
    def kind(self) -> str:
        return self.move.kind

    @property
    def status(self) -> str:
        return self.move.status

    @property
    def status_text(self) -> str:
        return MOVE_STATUS.get(self.move.status, self.move.status)

    @property
    def attention(self) -> bool:
        return self.move.status in ("pending", "abandoned")


def move_view(ctx: _Context, move: CaseMove, watches: Sequence[tuple[str, bool]] = ()) -> MoveView:
    where = f"No. {move.docket}, {cite(move.court)}" if move.docket else f"{cite(move.court)} (number not known yet)"
    trigger = dict(move.trigger or {})
    number = str(trigger.get("entry_number") or "")
    said = f"entry #{number}" if number else "an entry"
    if trigger.get("date"):
        said += f" ({str(trigger['date'])[:10]})"
    if trigger.get("text"):
        said += f": \u201c{ctx.mask(trigger['text'])}\u201d"
    known = {w.id: (w.display_name(), w.type) for w in ctx.config.watches}
    return MoveView(
        move,
        where,
        case_id(move.court, move.docket) if move.docket else None,
        f"{cite(move.origin_court)} {move.origin_docket}",
        case_id(move.origin_court, move.origin_docket),
        said,
        f"entry-{number}" if number.isdigit() else None,
        ctx.mask(move.note) if move.note else None,
        [(w, *known.get(w, (w, "")), removed) for w, removed in watches],
    )


@dataclass
class RelatedView:
    """An agency item (a press release, an order) that names the case, as its change recorded it."""

    key: str
    title: str
    url: str | None
    watch_id: str
    watch_name: str
    agency: str
    date: str | None  # the item's own date, else when the monitor saw it
    seen_at: datetime
    matched: str | None  # the words that named the case: a docket number, a case name
    anchor: str


def agency_watches(config: Config) -> list[str]:
    """The watches whose items can name a case (`monitor/related.py` reads every kind but the docket ones)."""
    return [w.id for w in config.watches if w.type not in DOCKET_KINDS]


def related_view(ctx: _Context, change: Change, group: str) -> RelatedView:
    watch = next((w for w in ctx.config.watches if w.id == change.watch_id), None)
    item = change.item
    agency = agency_of(watch, None, item) if watch is not None else str(item.fields.get("agency") or change.watch_id)
    link = next((r for r in change.related if r.get("group") == group), {})
    return RelatedView(
        item.key,
        item.title or item.key,
        item.url,
        change.watch_id,
        watch.display_name() if watch is not None else change.watch_id,
        agency,
        str(item.published)[:10] if item.published else None,
        change.detected_at,
        str(link["matched"]) if link.get("matched") else None,
        timeline.Entry(item.key, item).anchor,
    )


# ---------------------------------------------------------------- the overview


def overview_page(dashboard: Dashboard) -> dict[str, Any]:
    store = dashboard.store
    ctx = _Context(dashboard)
    watches = ctx.config.watches
    by_id = {w.id: w for w in watches}
    holdings, latest = views.case_overview(store)
    cases = build_cases(watches, holdings)
    newest = views.latest_by_watch(store, agency_watches(ctx.config), per_watch=3)
    agencies = build_agencies(watches, newest)

    moves: dict[str, list[MoveView]] = {}
    for move in views.all_case_moves(store):
        view = move_view(ctx, move)
        moves.setdefault(view.origin_id, []).append(view)
    case_rows = []
    for case in cases:
        sighting = latest.get(case.group)
        entry = timeline.build([sighting], {})[0] if sighting else None
        case_rows.append(
            CaseRow(
                case,
                case_name(sighting, case),
                entry,
                [ctx.watch(by_id[w]) for w in case.watch_ids if w in by_id],
                [m for m in moves.get(case.id, []) if m.status != "removed"],
            )
        )
    names = {row.case.id: row.name for row in case_rows}
    in_cases = {w for case in cases for w in case.watch_ids}
    untied = [ctx.watch(w) for w in watches if w.type in DOCKET_KINDS and w.id not in in_cases]

    agency_rows = []
    for agency in agencies:
        views_ = [ctx.watch(by_id[w]) for w in agency.watch_ids]
        items = sorted(
            ((v, s) for v in views_ for s in newest.get(v.id, [])),
            key=lambda vs: (vs[1].first_seen_at, vs[1].item.published or ""),
            reverse=True,
        )
        agency_rows.append(AgencyRow(agency, views_, _unique(items)[:5]))

    attention = sorted(
        (ctx.watch(w) for w in watches if ctx.watch(w).health.attention), key=lambda v: (v.health.rank, v.id)
    )
    counts = store.delivery_counts()
    return {
        "now": ctx.now,
        "cases": case_rows,
        "untied": untied,
        "agencies": agency_rows,
        "attention": attention[:ATTENTION_SHOWN],
        "attention_more": max(0, len(attention) - ATTENTION_SHOWN),
        # appeals and transfers whose number is still looked for, or was given up on
        "open_moves": [(names.get(m.origin_id, m.origin), m) for ms in moves.values() for m in ms if m.attention],
        "budget": _budget(ctx.states, watches),
        "deliveries": {k: counts.get(k, 0) for k in ("pending", "failed", "sent")},
        "totals": {
            "watches": len(watches),
            "cases": len(cases),
            "agencies": len(agencies),
            "failing": sum(1 for v in attention if v.health.level in ("failing", "down")),
        },
    }


def _unique(items: list[tuple[WatchView, views.Sighting]]) -> list[tuple[WatchView, views.Sighting]]:
    """The same press release seen by two watches of one agency is listed once."""
    seen: set[str] = set()
    out = []
    for view, sighting in items:
        if sighting.item.key not in seen:
            seen.add(sighting.item.key)
            out.append((view, sighting))
    return out


def _budget(states: Mapping[str, WatchState], watches: list[WatchConfig]) -> dict[str, Any] | None:
    """The CourtListener budget as its watches last reported it (their status facts, `info["budget"]`):
    per window (minute, hour, day) the calls used of the limit, and how many are possible now."""
    latest = None
    for watch in watches:
        state = states.get(watch.id)
        if watch.type != "courtlistener" or not watch.enabled or state is None:
            continue
        budget = (state.info or {}).get("budget")
        if isinstance(budget, dict) and (latest is None or (state.last_check_at or 0) > latest[0]):  # type: ignore[operator]
            latest = (state.last_check_at, budget)
    return dict(latest[1]) if latest else None


# ---------------------------------------------------------------- a case


def find_case(dashboard: Dashboard, wanted: str) -> Case | None:
    """The case with this id: one the configuration names (no database read), else one found in the items."""
    watches = dashboard.config().watches
    case = next((c for c in build_cases(watches, []) if c.id == wanted), None)
    if case is None:
        case = next((c for c in build_cases(watches, views.case_holdings(dashboard.store)) if c.id == wanted), None)
    return case


@dataclass
class CaseTimeline:
    case: Case
    lines: list[timeline.Outline]  # every entry, newest first, not yet read
    record: timeline.Entry | None  # the case itself (CourtListener's docket: judge, dates)


def case_timeline(dashboard: Dashboard, case: Case) -> CaseTimeline:
    """The case's entries in order, and every configured watch that holds some (added to the case's)."""
    store = dashboard.store
    mentions = views.case_mentions(store, case.court, case.docket)
    order = {w.id: i for i, w in enumerate(dashboard.config().watches)}
    others = {m.watch_id for m in mentions if m.watch_id in order} - set(case.watch_ids)
    for holder in sorted(others, key=order.__getitem__):
        case.watch_ids.append(holder)
    records = {m.key for m in mentions if m.key.startswith("docket:")}
    record = read_entries(dashboard, list(records))
    return CaseTimeline(
        case, timeline.outline(m for m in mentions if m.key not in records), record[0] if record else None
    )


def read_entries(dashboard: Dashboard, keys: list[str]) -> list[timeline.Entry]:
    """These items read whole, with their updates, in the order of `keys`."""
    if not keys:
        return []
    store = dashboard.store
    place = {key: i for i, key in enumerate(keys)}
    entries = timeline.build(views.sightings_of(store, keys), views.updates_of(store, keys))
    return sorted(entries, key=lambda e: place[e.key])


def case_page(dashboard: Dashboard, case_id: str, *, since: str | None = None, page: int = 1) -> dict[str, Any] | None:
    case = find_case(dashboard, case_id)
    if case is None:
        return None
    found = case_timeline(dashboard, case)
    ctx = _Context(dashboard, states=dashboard.store.load_states(case.watch_ids))
    by_id = {w.id: w for w in ctx.config.watches}
    shown = timeline.since(found.lines, since)
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(1, page), pages)
    entries = read_entries(dashboard, [line.key for line in shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]])
    named = ([found.record] if found.record else []) + entries
    name = next(
        (str(e.item.fields["case_name"]) for e in named if e.item.fields.get("case_name")),
        f"{case.docket} ({case.court})",
    )
    went, came = views.case_moves_of(dashboard.store, case.court, case.docket)
    made = views.created_watches(dashboard.store, [m.id for m in went + came])
    related = views.related_changes(
        dashboard.store, case.group, watch_ids=agency_watches(ctx.config), limit=RELATED_SHOWN
    )
    return {
        "now": ctx.now,
        "case": case,
        "name": name,
        "record": found.record,
        "watches": [ctx.watch(by_id[w], next_check=True) for w in case.watch_ids if w in by_id],
        "watch_names": {w.id: w.display_name() for w in ctx.config.watches},
        "entries": entries,
        "total": len(shown),
        "all_total": len(found.lines),
        "since": since or "",
        "page": page,
        "pages": pages,
        "related": [related_view(ctx, change, case.group) for change in related],
        "related_more": len(related) >= RELATED_SHOWN,
        "moves": [move_view(ctx, m, made.get(m.id, [])) for m in went],  # where the case went
        "came_from": [move_view(ctx, m, made.get(m.id, [])) for m in came],  # it is the appeal of a followed case
    }


# ---------------------------------------------------------------- watches and deliveries


def watches_page(dashboard: Dashboard) -> dict[str, Any]:
    ctx = _Context(dashboard)
    rows = [ctx.watch(w, next_check=True) for w in ctx.config.watches]
    rows.sort(key=lambda v: (not v.health.attention or v.health.level == "waiting", v.health.rank))
    return {
        "now": ctx.now,
        "watches": rows,
        "errors": {v.id: ctx.mask(v.state.last_error) for v in rows if v.state and v.state.last_error},
    }


@dataclass
class DeliveryView:
    delivery: Delivery
    watch_name: str
    title: str
    error: str | None


def deliveries_page(dashboard: Dashboard) -> dict[str, Any]:
    ctx = _Context(dashboard, states={})
    pending, failed, counts = views.outbox(dashboard.store)
    names = {w.id: w.display_name() for w in ctx.config.watches}

    def view(d: Delivery) -> DeliveryView:
        return DeliveryView(
            d,
            names.get(d.change.watch_id, d.change.watch_id),
            d.change.item.title,
            ctx.mask(d.last_error) if d.last_error else None,
        )

    return {
        "now": ctx.now,
        "pending": [view(d) for d in pending],
        "failed": [view(d) for d in failed],
        "counts": {k: counts.get(k, 0) for k in ("pending", "failed", "sent")},
    }


# ---------------------------------------------------------------- feeds


def related_entries(dashboard: Dashboard, case: Case) -> list[timeline.Entry]:
    """The case's related releases as timeline entries (for its Atom feed): each item as its watches hold
    it now, with its updates; an item no watch holds any more, as its change recorded it."""
    changes = views.related_changes(
        dashboard.store, case.group, watch_ids=agency_watches(dashboard.config()), limit=FEED_SIZE
    )
    held = {e.key: e for e in read_entries(dashboard, [c.key for c in changes])}
    return [
        held.get(c.key) or timeline.Entry(c.key, c.item, [timeline.Seen(c.watch_id, c.detected_at, False)])
        for c in changes
    ]


def feed_entries(dashboard: Dashboard, watch_ids: list[str] | None) -> list[timeline.Entry]:
    """The newest items of these watches (of all, for None), one entry per item, newest first."""
    store = dashboard.store
    sightings = views.watch_items(store, watch_ids, limit=FEED_SIZE * 2)
    entries = timeline.build(sightings, views.updates_of(store, {s.item.key for s in sightings}))
    entries.sort(key=lambda e: e.updated_at, reverse=True)
    return entries[:FEED_SIZE]
