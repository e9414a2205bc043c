"""Related cases: a press release, an executive order or any agency item linked to the followed case it is about.

Every new or updated item of a watch that does not list docket entries itself (DOJ, the White House,
the Federal Register, city and county pages, any `feed` / `html` watch) is read, title, summary and
whole text (`_body`, which is never stored), for

- docket numbers, as people write them: `No. 1:25-cv-01285`, `Case No. 25-cv-01350`,
  `3:25-cv-01350-WHO`, `25-cv-1350`, `No. 25-1234 (9th Cir.)` (`watchers.dockets.find_docket_numbers`).
  A number matches a followed case when it is the same case (`DocketNumber.same_case`: judge initials,
  padding and a missing office code aside) and the court written right with it, if any, is the case's
  court. When two followed cases share a number in different courts, the courts the text names decide.
- the names of followed cases (`monitor.captions`): each case watch's `name` (without the court in
  parentheses), its `aliases`, and the case name its source reports (CourtListener's, the court feed's).

A match is recorded on the `Change`, never in the item (the item's content must not change when the
set of followed cases does): `related` lists the cases, with the watches that follow each
(`related_cases` in `check --json`); `unfollowed` lists docket numbers nobody follows, with the command
that would follow each (`monitor follow ilnd 1:25-cv-01285`, or `monitor find "25-1234"` when the text
does not say which court). Notifiers show both ("Related case: U.S. v. Illinois (N.D. Ill.
1:25-cv-01285)"); Slack also posts the item in the case's thread, and digests list it under the case.

A case is followed when any watch of the configuration follows it, enabled or not (the case is still
the user's; `monitor follow` treats it as followed too). The text is read off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from monitor.captions import find_captions, is_caption, short_name
from monitor.models import NON_CONTENT_FIELDS, Change, Item
from monitor.stages import Stage, StageRun
from watchers.courts import cite, find_courts, lookup
from watchers.dockets import DocketMention, DocketNumber, case_group, find_docket_numbers, parse_docket_number

if TYPE_CHECKING:
    from monitor.store import WatchState
    from watchers import WatchConfig, Watcher


@dataclass
class FollowedCase:
    """One case of the configuration, with every watch that follows it and every name it goes by."""

    court: str  # CM/ECF id
    docket: DocketNumber
    watches: list[str] = field(default_factory=list)
    label: str = ""  # how alerts name it: the watch's name, else the case name the source reports
    names: list[str] = field(default_factory=list)  # captions to look for in text

    @property
    def group(self) -> str:
        return case_group(self.court, self.docket)

    @property
    def where(self) -> str:
        return f"{cite(self.court)} {self.docket.canonical}"

    @property
    def display(self) -> str:
        """`U.S. v. Illinois (N.D. Ill. 1:25-cv-01285)`."""
        return f"{self.label} ({self.where})" if self.label else self.where

    def link(self, matched: str) -> dict[str, Any]:
        return {
            "watch": self.watches[0],
            "watches": list(self.watches),
            "case": self.label or self.where,
            "display": self.display,
            "court": self.court,
            "docket_number": self.docket.canonical,
            "group": self.group,
            "matched": matched,
        }


def _court_id(court: str) -> str:
    found = lookup(court)
    return found.id if found else court.strip().lower()


def _cases_of(watcher: Watcher, state: WatchState | None) -> list[tuple[str, DocketNumber]]:
    cases = watcher.cases()
    if not cases and state is not None and state.plugin_state:  # a courtlistener watch given only docket_id
        court, number = state.plugin_state.get("court"), state.plugin_state.get("docket_number")
        if court and number and parse_docket_number(number).valid:
            cases = [(str(court), parse_docket_number(number))]
    return [(_court_id(court), docket) for court, docket in cases]


def _reported_names(docket: DocketNumber, state: WatchState | None, single: bool) -> list[str]:
    """The case name the watch's source reported: CourtListener's (`case_name`), the court feed's (`case_names`)."""
    plugin = (state.plugin_state if state is not None else None) or {}
    names = [
        str(n) for key, n in (plugin.get("case_names") or {}).items() if docket.same_case(parse_docket_number(key))
    ]
    if single and plugin.get("case_name"):
        names.append(str(plugin["case_name"]))
    return names


def followed_cases(
    watches: Sequence[WatchConfig], watchers: Mapping[str, Watcher], states: Mapping[str, WatchState]
) -> list[FollowedCase]:
    """The configuration's cases, in config order: watches of one case (court feed and CourtListener) merged."""
    found: list[FollowedCase] = []
    for watch in watches:
        watcher = watchers.get(watch.id)
        if watcher is None or not watcher.lists_dockets:
            continue
        state = states.get(watch.id)
        cases = _cases_of(watcher, state)
        single = len(cases) == 1
        for court, docket in cases:
            case = next((c for c in found if c.court == court and c.docket.same_case(docket)), None)
            if case is None:
                case = FollowedCase(court, docket)
                found.append(case)
            elif docket.office and not case.docket.office:
                case.docket = docket  # the fuller number: 1:25-cv-01285 rather than 25-cv-1285
            case.watches.append(watch.id)
            own = [short_name(watch.name)] if single and watch.name else []
            reported = _reported_names(docket, state, single)
            aliases = list(getattr(watch, "aliases", None) or []) if single else []
            if not case.label:
                case.label = next((n for n in own + reported if n and not n.endswith("…")), "")
            for name in own + aliases + reported:
                if name and name not in case.names and is_caption(name):
                    case.names.append(name)
    return found


# ---------------------------------------------------------------- reading an item


def item_text(item: Item, fields: Mapping[str, Any] | None = None) -> str:
    """Everything an item says, for reading: title, summary and its text fields (with `_body`, when given
    the fields as the watcher made them). Links are left out."""
    parts = [item.title or "", item.summary or ""]
    for key, value in (fields if fields is not None else item.fields).items():
        if key in NON_CONTENT_FIELDS:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        parts += [v for v in values if isinstance(v, str) and not v.lower().startswith(("http://", "https://"))]
    return "\n\n".join(p for p in parts if p.strip())


@dataclass(frozen=True, slots=True)
class Relations:
    related: tuple[dict[str, Any], ...] = ()
    unfollowed: tuple[dict[str, Any], ...] = ()


def relate(text: str, cases: Sequence[FollowedCase]) -> Relations:
    """The followed cases `text` is about (by docket number or by name), and the docket numbers it names
    that no case of `cases` is; each in the order the text first names it."""
    courts = find_courts(text)
    mentions = find_docket_numbers(text, courts)
    named_courts = {c.court for c in courts}
    hits: list[tuple[int, FollowedCase, str]] = []
    unfollowed: list[DocketMention] = []
    for mention in mentions:
        # a court named right with the number decides; one named further off only breaks a tie
        matches = [
            c
            for c in cases
            if c.docket.same_case(mention.docket) and not (mention.court_close and mention.court != c.court)
        ]
        if len(matches) > 1:  # one number followed in two courts: the courts the text names say which
            nearby = [c for c in matches if c.court == mention.court]
            matches = nearby or [c for c in matches if c.court in named_courts] or matches
        if matches:
            hits += [(mention.start, case, mention.docket.text) for case in matches]
        else:
            unfollowed.append(mention)
    owners: dict[str, list[FollowedCase]] = {}
    for case in cases:
        for name in case.names:
            owners.setdefault(name, []).append(case)
    for caption in find_captions(text, list(owners)):
        hits += [(caption.start, case, caption.text) for case in owners[caption.name]]
    related: dict[str, dict[str, Any]] = {}
    for _, case, matched in sorted(hits, key=lambda h: h[0]):
        related.setdefault(case.group, case.link(matched))
    return Relations(tuple(related.values()), _unfollowed(unfollowed, named_courts))


def _unfollowed(mentions: Sequence[DocketMention], named_courts: set[str]) -> tuple[dict[str, Any], ...]:
    """One entry per case: the court written with the number, else the one court the whole text names."""
    only = next(iter(named_courts)) if len(named_courts) == 1 else None
    out: list[tuple[str | None, DocketNumber]] = []
    for mention in mentions:
        court = mention.court or only
        same = next(
            (i for i, (c, d) in enumerate(out) if d.same_case(mention.docket) and (c == court or not c or not court)),
            None,
        )
        if same is None:
            out.append((court, mention.docket))
        elif court and not out[same][0]:
            out[same] = (court, out[same][1])
    return tuple(_suggestion(court, docket) for court, docket in out)


def _suggestion(court: str | None, docket: DocketNumber) -> dict[str, Any]:
    number = docket.canonical
    command = f"monitor follow {court} {number}" if court else f'monitor find "{number}"'
    return {"docket_number": number, "court": court, "command": command}


# ---------------------------------------------------------------- the stage


def _read(change: Change) -> bool:
    return change.kind in ("added", "updated") and not (change.item.group or "").startswith("case:")


class RelatedCases(Stage):
    """Links each new or updated agency item to the followed cases it names (see the module docstring)."""

    name = "related"

    async def before_commit(self, run: StageRun, changes: list[Change]) -> list[Change]:
        watcher = run.watchers.get(run.watch.id)
        if watcher is None or watcher.lists_dockets or not any(_read(c) for c in changes):
            return changes
        case_watches = [
            w for w in run.config.watches if run.watchers.get(w.id) is not None and run.watchers[w.id].lists_dockets
        ]
        states = await run.store.aio.load_states([w.id for w in case_watches]) if case_watches else {}
        cases = followed_cases(case_watches, run.watchers, states)
        texts = {c.uid: item_text(c.item, run.texts.get(c.key)) for c in changes if _read(c)}
        found = await asyncio.to_thread(lambda: {uid: relate(text, cases) for uid, text in texts.items()})
        out = []
        for change in changes:
            relations = found.get(change.uid)
            if relations is not None and (relations.related or relations.unfollowed):
                change = replace(change, related=relations.related, unfollowed=relations.unfollowed)
            out.append(change)
        return out
