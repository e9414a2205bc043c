"""`monitor follow`, `monitor unfollow` and `monitor find`: following a case without writing YAML by hand.

`follow` works out the court and docket number from what it is given (`monitor.caseref`), asks
CourtListener for the case name and docket id (`monitor.clsearch`), adds the pair of watches a case
needs (the court's RSS feed, and CourtListener) to the configuration file without touching anything
else in it (`monitor.configedit`), validates the result before writing, and runs one check of the new
watches so that their first sight is a silent baseline.

Decisions worth knowing:
- Watch ids come from the case: `ilnd-1-25-cv-01285` (CourtListener) and `ilnd-1-25-cv-01285-rss`, or
  `--id BASE`; an id in use gets `-2`, `-3` ... A case already followed by both kinds of watch is left
  alone; a case followed by one kind gets the other.
- The courtlistener watch is written only with CourtListener's docket id, which lets it work without a
  token (the docket's public feed) and for courts whose CourtListener id differs. When CourtListener
  is unreachable (exit 1) or does not have the case yet (exit 0), the case is followed through the RSS
  feed alone; running the same command later adds the CourtListener watch.
- No RSS watch for courts PACER lists without a feed (`watchers.courts`), unless `--rss-url` names one.
- If the first check fails (the network), the watches stay written: the first successful check records
  the baseline instead. Exit status 0: the case is followed.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.caseref import CaseInputError, CaseRef, court_or_error, read_case
from monitor.clsearch import PUBLIC_BASE, CourtListenerSearch, FoundDocket, base_url
from monitor.config import Config, loads, mask
from monitor.configedit import ConfigEditError, add_watches, remove_watches, render_watch, write_atomically
from monitor.errors import ConfigError, FetchError
from monitor.http import HttpClient
from watchers.courts import Court
from watchers.dockets import DocketNumber, parse_docket_number

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_EVERY = {"pacer_rss": "5m", "courtlistener": "15m"}
CASE_KINDS = ("pacer_rss", "courtlistener")


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


@dataclass
class Case:
    """A case worked out as far as the sources allow, with what was learnt on the way."""

    court: Court
    docket: DocketNumber
    found: FoundDocket | None = None
    notes: list[str] = field(default_factory=list)
    courtlistener_failed: bool = False

    @property
    def label(self) -> str:
        where = f"{self.court.citation} {self.docket.canonical}"
        return f"{self.found.case_name} ({where})" if self.found and self.found.case_name else where


# ---------------------------------------------------------------- follow


def cmd_follow(config: Config, args: argparse.Namespace) -> int:
    base = base_url(args.base_url)
    try:
        ref = read_case(args.what, courtlistener_hosts=[urlsplit(base).hostname or ""])
    except CaseInputError as exc:
        _err(str(exc))
        return EXIT_USAGE
    path = config.path or Path("config/watches.yaml")
    text = path.read_text(encoding="utf-8")  # what the write checks against: no edit in between is lost
    try:
        case = asyncio.run(_resolve(ref, config, base, skip=args.no_courtlistener))
    except (FetchError, CaseInputError) as exc:
        _err(mask(str(exc), config.secrets))
        return EXIT_FAILED
    existing, watches = _plan(case, config, args, base)
    if not watches and existing:
        print(f"{case.label} is already followed by {', '.join(existing)}; nothing changed")
        return EXIT_FAILED if case.courtlistener_failed else EXIT_OK
    for note in case.notes:
        print(f"note: {note}", file=sys.stderr)
    if not watches:
        _err(f"nothing to follow {case.label} with (see the notes above); {path} is unchanged")
        return EXIT_FAILED
    comment = f"{case.label} (added by monitor follow on {datetime.now().astimezone().date().isoformat()})"
    new_text = add_watches(text, watches, comment)
    try:
        new_config = loads(new_text, source=str(path), path=path)
    except ConfigError as exc:
        _err(f"the new watches would not validate, so {path} is unchanged:")
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    block = "".join(render_watch(w) for w in watches)
    if args.dry_run:
        print(f"dry run: would add to {path}:\n{block}", end="")
        return EXIT_FAILED if case.courtlistener_failed else EXIT_OK
    try:
        write_atomically(path, new_text, was=text)
    except ConfigEditError as exc:
        _err(f"{exc}\nThe watches to add under `watches:`:\n{block}")
        return EXIT_FAILED
    print(f"following {case.label}" + (f"\n  {case.found.url}" if case.found else ""))
    print(f"added to {path}:")
    for watch in watches:
        source = "the court's RSS feed" if watch["type"] == "pacer_rss" else "CourtListener"
        print(f"  {watch['id']:<30} {source}, every {watch['every']}")
    if not args.no_check:
        _baseline(new_config, [w["id"] for w in watches])
    print(
        f"a running `monitor run` picks them up within daemon.config_poll (or at once on SIGHUP); "
        f"undo with: monitor unfollow {watches[-1]['id']}"
    )
    return EXIT_FAILED if case.courtlistener_failed else EXIT_OK


async def _resolve(ref: CaseRef, config: Config, base: str, *, skip: bool) -> Case:
    """Court, docket number and CourtListener docket; CourtListener is asked once at most."""
    http = HttpClient(config.http)
    try:
        search = CourtListenerSearch(http, base)
        if ref.docket_id is not None or ref.pacer_case_id is not None:
            return await _resolve_by_id(ref, search)
        assert ref.court is not None and ref.docket is not None
        case = Case(ref.court, ref.docket)
        if skip:
            return case
        try:
            matches = await search.by_number(ref.court, ref.docket)
        except FetchError as exc:
            case.courtlistener_failed = True
            case.notes.append(
                f"{exc}; following through the court's RSS feed only: run the same command "
                "again later to add the CourtListener watch"
            )
            return case
        if not matches:
            case.notes.append(
                f"CourtListener has no docket {ref.docket.canonical} in {ref.court} yet (it appears "
                "once its RSS feed or a RECAP user brings an entry); following through the court's "
                "RSS feed only: run the same command again later to add the CourtListener watch"
            )
            return case
        written = [m for m in matches if m.docket_number.strip().lower() == ref.docket.text.strip().lower()]
        case.found = (written or matches)[0]
        if len(matches) > 1:
            others = ", ".join(f"{m.docket_number} ({m.url})" for m in matches if m is not case.found)
            case.notes.append(
                f"several CourtListener dockets have this number; following {case.found.url}, "
                f"not {others} (follow one of those by its address instead)"
            )
        case.docket = _fuller(ref.docket, case.found.docket)
        return case
    finally:
        await http.aclose()


async def _resolve_by_id(ref: CaseRef, search: CourtListenerSearch) -> Case:
    if ref.docket_id is not None:
        found = await search.by_docket_id(ref.docket_id)
        if found is None:
            raise CaseInputError(f"CourtListener has no docket {ref.docket_id} ({ref.given})")
    else:
        assert ref.court is not None and ref.pacer_case_id is not None
        found = await search.by_pacer_case_id(ref.court, ref.pacer_case_id)
        if found is None:
            raise CaseInputError(
                f"CourtListener does not know PACER case {ref.pacer_case_id} of {ref.court}, so its "
                f"docket number is unknown here: give it instead, like: monitor follow "
                f"{ref.court.id} 1:25-cv-01285"
            )
    court = found.court
    if court is None:
        raise CaseInputError(
            f"CourtListener files docket {found.docket_id} under court {found.courtlistener_court!r}, "
            'which is not a federal court this monitor knows (see "Finding a court id")'
        )
    if not found.docket.valid:
        raise CaseInputError(
            f"CourtListener docket {found.docket_id} has no usable docket number ({found.docket_number!r})"
        )
    return Case(court, found.docket, found)


def _fuller(given: DocketNumber, found: DocketNumber) -> DocketNumber:
    """CourtListener's number when it adds the office code the user left out (25-cv-1285 -> 1:25-cv-01285)."""
    return found if found.valid and given.same_case(found) and (found.office or not given.office) else given


def _case_of(watch: Any) -> tuple[str, DocketNumber] | None:
    """(court, docket) a pacer_rss or courtlistener watch follows, if exactly one case."""
    if watch.type == "pacer_rss" and len(watch.cases) == 1 and not watch.case_names:
        return watch.court, parse_docket_number(watch.cases[0])
    if watch.type == "courtlistener" and watch.court and watch.docket_number:
        return watch.court, parse_docket_number(watch.docket_number)
    return None


def _follows(watch: Any, court: Court, docket: DocketNumber, docket_id: int | None) -> bool:
    if watch.type == "pacer_rss":
        return watch.court == court.id and any(docket.same_case(parse_docket_number(c)) for c in watch.cases)
    if watch.type == "courtlistener":
        if docket_id is not None and watch.docket_id == docket_id:
            return True
        return (
            watch.court in (court.id, court.courtlistener_id)
            and bool(watch.docket_number)
            and docket.same_case(parse_docket_number(watch.docket_number))
        )
    return False


def _plan(case: Case, config: Config, args: argparse.Namespace, base: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Ids of watches already following the case, and the watches to add."""
    docket_id = case.found.docket_id if case.found else None
    existing = {
        kind: [w.id for w in config.watches if w.type == kind and _follows(w, case.court, case.docket, docket_id)]
        for kind in CASE_KINDS
    }
    kinds = []
    if args.no_rss:
        pass
    elif existing["pacer_rss"]:
        case.notes.append(f"the court's RSS feed already covers it: {', '.join(existing['pacer_rss'])}")
    elif not case.court.pacer and not args.rss_url:
        case.notes.append(f"{case.court.citation} has no PACER RSS feed: following through CourtListener only")
    elif not case.court.rss and not args.rss_url:
        case.notes.append(
            f"PACER's court list names no RSS feed for {case.court.citation}: following through "
            "CourtListener only (give --rss-url if the court has one)"
        )
    else:
        kinds.append("pacer_rss")
    if args.no_courtlistener:
        pass
    elif existing["courtlistener"]:
        case.notes.append(f"CourtListener already covers it: {', '.join(existing['courtlistener'])}")
    elif case.found is not None:
        kinds.append("courtlistener")
    taken = {w.id for w in config.watches}
    stem = args.id or f"{case.court.id}-{case.docket.canonical.replace(':', '-')}"
    n = 1
    while {_watch_id(stem, n, k) for k in kinds} & taken:
        n += 1
    name = args.name or _short(case.found.case_name if case.found else "", case)
    watches = []
    for kind in kinds:
        watch: dict[str, Any] = {"id": _watch_id(stem, n, kind), "name": name, "type": kind, "court": case.court.id}
        if kind == "pacer_rss":
            watch["cases"] = [case.docket.canonical]
            if args.rss_url:
                watch["url"] = args.rss_url
        else:
            assert case.found is not None
            watch.update(docket_number=case.docket.canonical, docket_id=case.found.docket_id)
            if base != PUBLIC_BASE:
                watch["base_url"] = base
        watch["every"] = args.every or DEFAULT_EVERY[kind]
        if args.notify is not None:
            watch["notify"] = [n.strip() for n in args.notify.split(",") if n.strip()]
        watches.append(watch)
    return [i for ids in existing.values() for i in ids], watches


def _watch_id(stem: str, n: int, kind: str) -> str:
    base = stem if n == 1 else f"{stem}-{n}"
    return f"{base}-rss" if kind == "pacer_rss" else base


def _short(case_name: str, case: Case, limit: int = 80) -> str:
    if not case_name:
        return f"{case.court.citation} {case.docket.canonical}"
    if len(case_name) > limit:
        case_name = case_name[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return f"{case_name} ({case.court.citation})"


def _baseline(config: Config, watch_ids: list[str]) -> None:
    """One check of the new watches: their silent baseline. A failure leaves them for their first check."""
    from monitor.app import runtime

    async def check() -> list[Any]:
        async with runtime(config) as rt:
            return await rt.engine.run_cycle(watch_ids)

    try:
        results = asyncio.run(check())
    except Exception as exc:  # noqa: BLE001 - the watches are written; the state database may be down
        print(
            f"note: no first check now ({mask(str(exc), config.secrets)}); the watches record their baseline "
            "at their first check (monitor check, or the daemon)",
            file=sys.stderr,
        )
        return
    for result in results:
        if result.ok:
            print(f"  {result.watch_id}: baseline recorded: {result.item_count} items (first check: no alerts)")
        else:
            print(
                f"  {result.watch_id}: first check failed: {mask(result.error or '', config.secrets)}; the watch is "
                "saved and records its baseline at its first successful check",
                file=sys.stderr,
            )
        for warning in result.warnings:
            print(f"    warning: {mask(warning, config.secrets)}", file=sys.stderr)


# ---------------------------------------------------------------- unfollow


def cmd_unfollow(config: Config, args: argparse.Namespace) -> int:
    path = config.path or Path("config/watches.yaml")
    by_id = {w.id: w for w in config.watches}
    watch = by_id.get(args.watch_id)
    if watch is None:
        created = _unfollow_created(config, args)
        if created is not None:
            return created
        close = difflib.get_close_matches(args.watch_id, list(by_id), n=5)
        _err(f"no watch {args.watch_id!r} in {path}" + (f"; close ones: {', '.join(close)}" if close else ""))
        return EXIT_USAGE
    targets = [watch.id]
    case = _case_of(watch)
    if case and not args.only:
        court, docket = case
        targets += [
            w.id
            for w in config.watches
            if w.id != watch.id
            and w.type in CASE_KINDS
            and (c := _case_of(w)) is not None
            and c[0] == court
            and c[1].same_case(docket)
        ]
    text = path.read_text(encoding="utf-8")
    try:
        new_text = remove_watches(text, targets)
        loads(new_text, source=str(path), path=path)
        write_atomically(path, new_text, was=text)
    except ConfigEditError as exc:
        _err(str(exc))
        return EXIT_FAILED
    except ConfigError as exc:
        _err(f"{path} would not validate without {', '.join(targets)}, so it is unchanged:")
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    print(f"removed from {path}: {', '.join(targets)}")
    if args.forget:
        from monitor.store import Store

        store = Store.open(config.state_url)
        try:
            for watch_id in targets:
                store.forget_watch(watch_id)
        finally:
            store.close()
        print("their stored state and items are deleted (their change history stays: monitor history)")
    else:
        print("their state and change history stay in the database (monitor history ID); --forget deletes the state")
    return EXIT_OK


def _unfollow_created(config: Config, args: argparse.Namespace) -> int | None:
    """`unfollow` of a watch the monitor created (an appeal of a followed case): stopped in the database and
    remembered, so the entry that started it never starts it again. None if no such watch."""
    from monitor.autowatch import origin_text
    from monitor.models import utcnow
    from monitor.store import Store

    store = Store.open(config.state_url)
    try:
        created = {w.id: w for w in store.auto_watches()}
        auto = created.get(args.watch_id)
        if auto is None:
            return None
        targets = [auto.id] + (
            [] if args.only else [w.id for w in created.values() if w.move.id == auto.move.id and w.id != auto.id]
        )
        store.remove_auto_watches(targets, utcnow())
        if args.forget:
            for watch_id in targets:
                store.forget_watch(watch_id)
    finally:
        store.close()
    print(
        f"stopped following {', '.join(targets)} (created for the {origin_text(auto)}); the monitor will not "
        "start following it again"
    )
    if args.forget:
        print("their stored state and items are deleted (their change history stays: monitor history)")
    print("A running `monitor run` stops checking them within daemon.config_poll.")
    return EXIT_OK


# ---------------------------------------------------------------- find


def cmd_find(config: Config, args: argparse.Namespace) -> int:
    base = base_url(args.base_url)
    if args.limit < 1:
        _err(f"--limit {args.limit}: give a number of results, 1 or more")
        return EXIT_USAGE
    try:
        court = court_or_error(args.court) if args.court else None
    except CaseInputError as exc:
        _err(str(exc))
        return EXIT_USAGE

    async def search() -> list[FoundDocket]:
        http = HttpClient(config.http)
        try:
            return await CourtListenerSearch(http, base).search(args.query, court=court)
        finally:
            await http.aclose()

    try:
        found = asyncio.run(search())[: args.limit]
    except FetchError as exc:
        _err(mask(str(exc), config.secrets))
        return EXIT_FAILED
    if not found:
        where = f" in {court}" if court else ""
        print(
            f"no case on CourtListener matches {args.query!r}{where} (try fewer words"
            f"{', or no --court' if court else ''})"
        )
        return EXIT_FAILED
    extra = (f" --base-url {base}" if base != PUBLIC_BASE else "") + (f" --config {args.config}" if args.config else "")
    numbers = [(d.court.id if d.court else d.courtlistener_court, d.docket.canonical) for d in found]
    for n, docket in enumerate(found, 1):
        court_text = docket.court.citation if docket.court else docket.courtlistener_court
        dates = f"filed {docket.date_filed or '?'}" + (
            f", terminated {docket.date_terminated}" if docket.date_terminated else ""
        )
        print(f"{n}. {docket.case_name or '(no case name)'}")
        print(f"   {court_text} {docket.docket_number or '(no docket number)'} · {dates}")
        print(f"   {docket.url}")
        by_number = docket.court is not None and docket.docket.valid and numbers.count(numbers[n - 1]) == 1
        target = f"{docket.court.id} {docket.docket.canonical}" if by_number and docket.court else docket.url
        print(f"   monitor follow {target}{extra}")
    return EXIT_OK
