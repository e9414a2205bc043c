"""Cases and agencies: how the dashboard groups the configured watches.

**A case** is a court and a docket number. Its id in URLs is both, lower case, with every run of other
characters made a `-`: court `ilnd` and `1:25-cv-01285` (or `1:25-cv-1285-JHL`, the same case) give
`ilnd-1-25-cv-01285`. Every watch that follows the case is grouped under it:

- `pacer_rss` watches list the cases they follow in `cases` (one feed watch may follow several);
- `courtlistener` watches name `court` and `docket_number`;
- and any watch that holds docket entries of a case follows it too: a `pacer_rss` watch that catches
  new suits by `case_names`, a `courtlistener` watch given only `docket_id`. These are found from the
  items' `group` (`case:<court>:<docket>`, set by `watchers/dockets.py`).

**An agency** is everything else (`feed`, `doj`, `wordpress`, `whitehouse`, `federal_register`, `html`
watches), grouped by the watch's `agency` key, else the agency its newest item names, else the watch's
name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from monitor.models import Item
from monitor.store.views import CaseHolding, Sighting
from watchers import WatchConfig
from watchers.dockets import parse_docket_number

DOCKET_KINDS = frozenset({"pacer_rss", "courtlistener"})
# Agencies of the kinds that have one fixed publisher (the others say it in `agency` or in their items).
KIND_AGENCIES = {
    "doj": "Department of Justice",
    "whitehouse": "The White House",
    "federal_register": "Federal Register",
}


def case_id(court: str, docket: str) -> str:
    """The case's id in URLs: `ilnd` + `1:25-cv-01285` -> `ilnd-1-25-cv-01285`."""
    return re.sub(r"[^a-z0-9]+", "-", f"{court}-{docket}".lower()).strip("-")


def group_case(group: str) -> tuple[str, str] | None:
    """`case:<court>:<docket>` -> (court, docket); None for other groups."""
    kind, _, rest = group.partition(":")
    court, _, docket = rest.partition(":")
    return (court, docket) if kind == "case" and court and docket else None


@dataclass
class Case:
    id: str
    court: str
    docket: str  # canonical: 1:25-cv-01285
    watch_ids: list[str] = field(default_factory=list)
    entries: int = 0  # docket entries held (by the watch that holds the most)

    @property
    def group(self) -> str:
        return f"case:{self.court}:{self.docket}"


def declared_cases(watch: WatchConfig) -> list[tuple[str, str]]:
    """The (court, canonical docket number) pairs a watch's configuration names."""
    court = getattr(watch, "court", None)
    if not court:
        return []
    if watch.type == "pacer_rss":
        return [(court, parse_docket_number(c).canonical) for c in getattr(watch, "cases", None) or []]
    number = getattr(watch, "docket_number", None)
    return [(court, parse_docket_number(number).canonical)] if number else []


def build_cases(watches: Sequence[WatchConfig], holdings: Iterable[CaseHolding]) -> list[Case]:
    """Every followed case, each with its watches in configuration order; in order of first mention."""
    order = {w.id: i for i, w in enumerate(watches)}
    cases: dict[tuple[str, str], Case] = {}
    for watch in watches:
        for court, docket in declared_cases(watch):
            case = cases.setdefault((court, docket), Case(case_id(court, docket), court, docket))
            if watch.id not in case.watch_ids:
                case.watch_ids.append(watch.id)
    for holding in holdings:
        where = group_case(holding.group)
        if where is None or holding.watch_id not in order:
            continue  # a watch since removed from the configuration: its items stay, it is not followed
        case = cases.setdefault(where, Case(case_id(*where), *where))
        if holding.watch_id not in case.watch_ids:
            case.watch_ids.append(holding.watch_id)
        case.entries = max(case.entries, holding.entries)
    for case in cases.values():
        case.watch_ids.sort(key=lambda w: order.get(w, len(order)))
    return list(cases.values())


def case_name(latest: Sighting | None, case: Case) -> str:
    """The case's name as the newest entry gives it, else its docket number."""
    name = (latest.item.fields.get("case_name") if latest else None) or ""
    return str(name) or f"{case.docket} ({case.court})"


@dataclass
class Agency:
    name: str
    watch_ids: list[str] = field(default_factory=list)


def agency_of(watch: WatchConfig, newest: Sighting | None, item: Item | None = None) -> str:
    """The watch's agency: its `agency` key, its kind's one publisher, the agency its newest item (or
    `item`) names, else the watch's name."""
    configured = getattr(watch, "agency", None)
    if configured:
        return str(configured)
    if watch.type in KIND_AGENCIES:
        return KIND_AGENCIES[watch.type]
    item = item or (newest.item if newest else None)
    named = item.fields.get("agency") if item else None
    return str(named) if named else watch.display_name()


def build_agencies(watches: Sequence[WatchConfig], newest: Mapping[str, Sequence[Sighting]]) -> list[Agency]:
    """The watches that are not about one case, grouped by agency, in order of first mention."""
    agencies: dict[str, Agency] = {}
    for watch in watches:
        if watch.type in DOCKET_KINDS:
            continue
        items = newest.get(watch.id) or []
        name = agency_of(watch, items[0] if items else None)
        agencies.setdefault(name, Agency(name)).watch_ids.append(watch.id)
    return list(agencies.values())
