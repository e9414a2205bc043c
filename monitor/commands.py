"""The one-shot commands: `check`, `validate`, `status`, `history`, `deliveries`, `retry`, `test-notifier`.

Each takes the loaded configuration and the parsed arguments and returns the exit status
(`monitor.cli`). They print plainly: the masking of secrets happens once, where the text leaves the
process (`monitor.output`), and times come from `monitor.output.when` / `iso` (UTC, said so).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import datetime
from typing import Any

from monitor.config import Config
from monitor.output import iso, utc, when

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger(__name__)


def _known(names: Any) -> str:
    return ", ".join(sorted(names)) or "none"


def _open_store(config: Config):
    from monitor.store import Store

    return Store.open(config.state_url)


def cmd_validate(config: Config, args: argparse.Namespace) -> int:
    print(f"{config.path}: OK: {len(config.watches)} watches, {len(config.notifiers)} notifiers")
    for watch in config.watches:
        flags = "" if watch.enabled else " (disabled)"
        every = watch.every.describe() if watch.every else "-"
        notify = ", ".join(watch.notify or []) or "(record only)"
        print(f"  {watch.id:<28} {watch.type:<14} every {every:<8} -> {notify}{flags}")
    for name, notifier in config.notifiers.items():
        print(f"  notifier {name}: {notifier.type}")
    for warning in _validate_warnings(config):
        print(f"warning: {warning}")
    return EXIT_OK


def _validate_warnings(config: Config) -> list[str]:
    """What each watcher kind has to say about its watches (valid, but missing a credential, ...)."""
    from watchers import WATCHERS

    kinds: dict[str, list] = {}
    for watch in config.watches:
        kinds.setdefault(watch.type, []).append(watch)
    return [warning for kind, watches in kinds.items() for warning in WATCHERS[kind].validate_warnings(watches)]


# ---------------------------------------------------------------- check


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    known = {w.id for w in config.watches}
    if any(w not in known for w in args.watches):  # perhaps a watch the monitor created (an appeal)
        from monitor.autowatch import join_store

        store = _open_store(config)
        try:
            known |= {w.id for w in join_store(config, store).watches}
        finally:
            store.close()
    unknown = [w for w in args.watches if w not in known]
    if unknown:
        print(f"error: no watch named {', '.join(map(repr, unknown))} (known: {_known(known)})", file=sys.stderr)
        return EXIT_USAGE
    from notifiers.console import ConsoleNotifier

    ConsoleNotifier.force_stream = "stderr" if args.json else None  # keep stdout pure JSON
    try:
        results, report, names = asyncio.run(_check(config, args))
    finally:
        ConsoleNotifier.force_stream = None
    names = {w.id: w.display_name() for w in config.watches} | names
    ok = all(r.ok for r in results) and not report.failed and not report.retrying
    if args.json:
        out = {
            "ok": ok,
            "dry_run": args.dry_run,
            "watches": [r.to_dict() for r in results],
            "deliveries": report.to_dict(),
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(_check_text(results, report, names, args.dry_run))
    return EXIT_OK if ok else EXIT_FAILED


async def _check(config: Config, args: argparse.Namespace):
    from monitor.app import runtime
    from monitor.dispatch import DispatchReport

    async with runtime(
        config, dry_run=args.dry_run, notify_baseline=args.notify_baseline, respect_backoff=not args.force
    ) as rt:
        rt.engine.log_failures = False  # each failure is a FAILED line of the report
        results = await rt.engine.run_cycle(args.watches or None)
        if any(c.kind == "following" for r in results for c in r.status_changes):
            # Watches this cycle created (a followed case's appeal): their silent baseline now, so that
            # whatever the new docket gets from here on alerts at the next check.
            from monitor.autowatch import join_async
            from monitor.engine import Engine

            joined = await join_async(rt.config, rt.store)
            new = [w.id for w in joined.watches if w.id in joined.auto and w.id not in rt.config.auto]
            if new:
                engine = Engine(joined, rt.store, rt.http, respect_backoff=not args.force)
                engine.log_failures = False
                results += await engine.run_cycle(new)
            rt.config = joined
            rt.dispatcher.add_names(joined)  # their alerts say the new watches' names
        report = DispatchReport() if args.dry_run else await rt.dispatcher.deliver_due(drain=True)
        if not args.dry_run and config.previews.enabled:  # after the alerts: previews follow them
            from monitor.previews.worker import PreviewWorker, attach

            try:
                previews = await PreviewWorker(config, rt.store, rt.http, owner=rt.dispatcher.owner).run_once()
            except Exception as exc:  # noqa: BLE001 - a preview is never worth failing the check; next time
                log.warning("previews: %s", exc)
            else:
                attach(results, previews)
                if previews.recorded:
                    report.add(await rt.dispatcher.deliver_due(drain=True))
    return results, report, {w.id: w.display_name() for w in rt.config.watches}


def _check_text(results, report, names: dict[str, str], dry_run: bool) -> str:
    from monitor.previews import is_preview
    from monitor.render import field_change_lines, headline, shorten

    lines = []
    for r in results:
        if not r.ok:
            lines.append(f"{r.watch_id}: FAILED: {r.error}")
        elif r.unchanged:
            lines.append(f"{r.watch_id}: unchanged")
        elif r.baseline and not r.alerting():
            lines.append(f"{r.watch_id}: baseline recorded: {r.item_count} items (first check: no alerts)")
        else:
            counts = {k: sum(1 for c in r.changes if c.kind == k) for k in ("added", "updated", "removed")}
            summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no changes"
            lines.append(f"{r.watch_id}: {summary} ({r.item_count} items)")
            for change in r.alerting():
                lines.append(f"  {headline(change, names.get(r.watch_id))}")
                if is_preview(change):
                    fields = change.item.fields
                    lines.append(
                        f"      {fields.get('preview_pages', '?')} pages: "
                        f"{shorten(str(fields.get('preview_excerpt') or '(no text: a scan?)'), 160)}"
                    )
                elif change.kind == "updated":
                    lines.extend(f"      {line}" for line in field_change_lines(change))
        for warning in r.warnings:
            lines.append(f"  warning: {warning}")
        for change in r.status_changes:
            lines.append(f"  {headline(change, names.get(r.watch_id))}")
    if dry_run:
        lines.append("dry run: nothing recorded, nothing sent")
    elif report.sent or report.retrying or report.failed:
        lines.append(f"deliveries: {report.sent} sent, {report.retrying} to retry, {report.failed} failed")
        lines.extend(f"  {e}" for e in report.errors)
    failed = sum(1 for r in results if not r.ok)
    lines.append(f"{len(results)} watches checked, {failed} failed")
    return "\n".join(lines)


# ---------------------------------------------------------------- status


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from monitor.autowatch import join_store, origin_text
    from monitor.models import utcnow

    store = _open_store(config)
    try:
        config = join_store(config, store)  # with the watches the monitor created (an appeal)
        states = store.load_states()
        counts = store.delivery_counts()
        replicas = store.replicas()
        moves = store.case_moves(statuses=["pending", "abandoned"])
    finally:
        store.close()
    now = utcnow()
    live = {r["owner"] for r in replicas if (now - utc(r["last_seen"])).total_seconds() < 60}
    replica_rows = [
        {
            "owner": r["owner"],
            "started": iso(r["started_at"]),
            "last_seen": iso(r["last_seen"]),
            "config_digest": r["config_digest"][:12],
            "version": r["version"],
            "alive": r["owner"] in live,
        }
        for r in replicas
    ]
    rows: list[dict[str, Any]] = []
    for watch in config.watches:
        st = states.get(watch.id)
        rows.append(
            {
                "watch": watch.id,
                "type": watch.type,
                "every": watch.every.describe() if watch.every else None,
                "enabled": watch.enabled,
                "last_check": iso(st.last_check_at) if st else None,
                "last_success": iso(st.last_success_at) if st else None,
                "last_change": iso(st.last_change_at) if st else None,
                "consecutive_failures": st.consecutive_failures if st else 0,
                "last_error": st.last_error if st else None,
                "not_before": iso(st.not_before) if st else None,
                "items": st.item_count if st else 0,
                "info": dict(st.info or {}) if st else {},
                "lease": _lease(st, live, now) if st and st.lease_owner else None,
                "gaps": dict((st.gaps or {}).get("open") or {}) if st else {},
            }
        )
        if watch.id in config.auto:
            auto = config.auto[watch.id]
            rows[-1]["followed_automatically"] = {
                "origin": origin_text(auto),
                "kind": auto.move.kind,
                "parent": auto.parent,
                "from_case": f"{auto.move.origin_court} {auto.move.origin_docket}",
                "entry": auto.move.trigger,
                "since": iso(auto.created_at),
            }
    cases = _case_rows(config, states)
    pending = [_pending_row(m) for m in moves]
    if args.json:
        for source in (source for case in cases for source in case["sources"]):
            del source["_last_change"]
        print(
            json.dumps(
                {
                    "watches": rows,
                    "cases": cases,
                    "pending_moves": pending,
                    "deliveries": counts,
                    "replicas": replica_rows,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    print(f"{'WATCH':<28} {'LAST CHECK':<23} {'LAST CHANGE':<23} {'ITEMS':>5} {'FAILS':>5}  STATUS")
    for row, watch in zip(rows, config.watches, strict=True):
        st = states.get(watch.id)
        status = (
            "never checked"
            if not st
            else ("failing: " + (row["last_error"] or ""))
            if row["consecutive_failures"]
            else "ok"
        )
        print(
            f"{row['watch']:<28} {when(st.last_check_at if st else None):<23} "
            f"{when(st.last_change_at if st else None):<23} {row['items']:>5} "
            f"{row['consecutive_failures']:>5}  {status}"
        )
        for key, value in (row["info"] or {}).items():
            if key.startswith("_"):
                continue
            print(f"{'':<28}   {key}: {json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value}")
        if row["lease"]:
            lease = row["lease"]
            print(
                f"{'':<28}   lease: {lease['owner']} until {when(st.lease_until)}{' (STALE)' if lease['stale'] else ''}"
            )
        for kind, gap in row["gaps"].items():
            print(f"{'':<28}   GAP ({kind}, since {gap.get('since', '?')[:16]}): {gap.get('message', '')}")
        if "followed_automatically" in row:
            print(
                f"{'':<28}   followed automatically: {row['followed_automatically']['origin']}; "
                f"`monitor unfollow {watch.id}` stops it"
            )
    if cases:
        print("cases:")
        for case in cases:
            print(f"  {case['court']} {case['docket_number']}")
            for source in case["sources"]:
                print(
                    f"    {source['watch']:<26} {source['type']:<14} {source['coverage']:<40} "
                    f"last saw something {when(source['_last_change'])}"
                )
    if pending:
        print("appeals and transfers not followed yet:")
        for move in pending:
            print(f"  {move['from_case']}: {move['what']} ({move['entry']}); {move['status']}")
    print("deliveries: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"))
    if replica_rows:
        print("replicas:")
        for r, raw in zip(replica_rows, replicas, strict=True):
            print(
                f"  {r['owner']:<32} {'alive' if r['alive'] else 'STALE (no heartbeat for 60s)':<30} "
                f"since {when(raw['started_at'])}  config {r['config_digest']}  v{r['version']}"
            )
        digests = {r["config_digest"] for r in replica_rows if r["alive"]}
        if len(digests) > 1:
            print("  warning: live replicas run different configurations")
    return EXIT_OK


def _case_rows(config: Config, states: dict[str, Any]) -> list[dict[str, Any]]:
    """Per followed case (court and docket number): which watches cover it, how completely, and when each
    last saw something new."""
    from watchers import WATCHERS

    cases: list[dict[str, Any]] = []
    for watch in config.watches:
        if not watch.enabled:
            continue
        watcher = WATCHERS[watch.type](watch)
        st = states.get(watch.id)
        info = dict(st.info or {}) if st else {}
        gaps = ((st.gaps or {}).get("open") or {}) if st else {}
        if watcher.complete_dockets:
            coverage = "complete docket"
        elif info.get("coverage") == "partial":
            coverage = "partial: " + ", ".join(info.get("entry_types") or [])
        elif info.get("coverage") == "all":
            coverage = "every entry type"
        else:
            coverage = "not known yet" if not st or not st.last_success_at else str(info.get("coverage") or "unknown")
        if gaps:
            coverage += " (gap: " + ", ".join(gaps) + ")"
        for court, docket in watcher.cases():
            case = next((c for c in cases if c["court"] == court and c["_docket"].same_case(docket)), None)
            if case is None:
                case = {"court": court, "docket_number": docket.canonical, "_docket": docket, "sources": []}
                cases.append(case)
            case["sources"].append(
                {
                    "watch": watch.id,
                    "type": watch.type,
                    "coverage": coverage[:200],
                    "last_change": iso(st.last_change_at) if st else None,
                    "last_success": iso(st.last_success_at) if st else None,
                    "_last_change": st.last_change_at if st else None,
                }
            )
    for case in cases:
        del case["_docket"]
    return cases


def _pending_row(move: Any) -> dict[str, Any]:
    """A move of a followed case whose new docket number is not known yet (or was given up on)."""
    from monitor.casemoves import Move

    trigger = move.trigger or {}
    entry = f"entry #{trigger['entry_number']}" if trigger.get("entry_number") else "an unnumbered entry"
    when = str(trigger.get("date") or "")[:10]
    if move.status == "pending":
        status = f"pending: {move.note or 'looking for its number'}; next look {when_next(move.next_try_at)}"
    else:
        status = move.note or "given up"
    return {
        "from_case": f"{move.origin_court} {move.origin_docket}",
        "kind": move.kind,
        "court": move.court,
        "what": Move(move.kind, move.court, None, True).describe(),
        "parent": move.parent,
        "entry": f"{entry}{', ' + when if when else ''}",
        "text": trigger.get("text"),
        "status": status,
        "next_try": iso(move.next_try_at),
        "since": iso(move.created_at),
    }


def when_next(value: datetime | None) -> str:
    return when(value) if value is not None else "at the next check"


def _lease(state, live: set[str], now: datetime) -> dict[str, Any]:
    """Who holds a watch, and whether that lease is stale (expired, or its replica stopped beating)."""
    expired = state.lease_until is None or utc(state.lease_until) < now
    return {
        "owner": state.lease_owner,
        "until": iso(state.lease_until),
        "stale": expired or state.lease_owner not in live,
    }


# ---------------------------------------------------------------- history and the outbox


def cmd_history(config: Config, args: argparse.Namespace) -> int:
    from monitor.render import change_text

    kinds = (
        None
        if args.all
        else ["added", "updated", "source_down", "source_recovered", "gap_opened", "gap_closed", "following"]
    )
    store = _open_store(config)
    try:
        changes = store.history(watch_id=args.watch, limit=args.limit, kinds=kinds)
        # A watch no longer configured still shows its history; a name never recorded is a mistake.
        unknown = (
            args.watch is not None
            and not changes
            and args.watch not in {w.id for w in config.watches}
            and not store.history(watch_id=args.watch, limit=1)
        )
    finally:
        store.close()
    if unknown:
        print(f"error: no watch named {args.watch!r} (known: {_known(w.id for w in config.watches)})", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(
            json.dumps(
                [{**c.to_dict(), "detected_at": iso(c.detected_at)} for c in changes], indent=2, ensure_ascii=False
            )
        )
        return EXIT_OK
    names = {w.id: w.display_name() for w in config.watches}
    if not changes:
        print("no changes recorded yet" + (f" for {args.watch}" if args.watch else ""))
    for change in changes:
        print(f"{when(change.detected_at)}  {change_text(change, names.get(change.watch_id))}")
    return EXIT_OK


_SHOWN = {
    None: ["pending", "failed"],
    "pending": ["pending"],
    "failed": ["failed"],
    "sent": ["sent"],
    "all": ["pending", "failed", "sent"],
}


def cmd_deliveries(config: Config, args: argparse.Namespace) -> int:
    statuses = _SHOWN[args.status]
    store = _open_store(config)
    try:
        rows = store.recent_deliveries(statuses, limit=args.limit)
        total = sum(n for status, n in store.delivery_counts().items() if status in statuses)
    finally:
        store.close()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": d.id,
                        "notifier": d.notifier,
                        "status": d.status,
                        "attempts": d.attempts,
                        "next_attempt_at": iso(d.next_attempt_at),
                        "sent_at": iso(d.sent_at),
                        "last_error": d.last_error,
                        "idempotency_key": d.idempotency_key,
                        "change": {**d.change.to_dict(), "detected_at": iso(d.change.detected_at)},
                    }
                    for d in rows
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    if not rows:
        print(f"no {'' if args.status == 'all' else ' or '.join(statuses) + ' '}deliveries")
    for d in rows:
        at = f"sent {when(d.sent_at)}" if d.status == "sent" else f"next {when(d.next_attempt_at)}"
        print(
            f"#{d.id:<6} {d.status:<8} {d.notifier:<14} attempts {d.attempts:<3} {at}  "
            f"{d.change.watch_id}: {d.change.item.title[:60]}"
        )
        if d.last_error:
            print(f"        last error: {d.last_error}")
    if total > len(rows):
        print(f"(the newest {len(rows)} of {total}; --limit N shows more)")
    return EXIT_OK


def cmd_retry(config: Config, args: argparse.Namespace) -> int:
    store = _open_store(config)
    try:
        if args.ids:
            statuses = store.delivery_statuses(args.ids)
            unknown = [i for i in args.ids if i not in statuses]
            if unknown:
                listed = ", ".join(f"#{i}" for i in unknown)
                print(
                    f"error: no delivery {listed} (see `monitor deliveries --status all`); nothing was retried",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            for delivery_id in args.ids:
                if statuses[delivery_id] != "failed":
                    print(
                        f"delivery #{delivery_id} is {statuses[delivery_id]}, not failed: nothing to retry",
                        file=sys.stderr,
                    )
        count = store.retry_failed(args.ids or None)
    finally:
        store.close()
    print(f"{count} failed deliveries queued again")
    if not count:
        return EXIT_OK
    report = asyncio.run(_deliver(config))
    print(f"deliveries: {report.sent} sent, {report.retrying} to retry, {report.failed} failed")
    for error in report.errors:
        print(f"  {error}")
    return EXIT_OK if not (report.failed or report.retrying) else EXIT_FAILED


async def _deliver(config: Config):
    from monitor.app import runtime

    async with runtime(config) as rt:
        return await rt.dispatcher.deliver_due(drain=True)


def cmd_test_notifier(config: Config, args: argparse.Namespace) -> int:
    from monitor.errors import NotifyError

    if args.name not in config.notifiers:
        print(f"error: no notifier named {args.name!r} (known: {_known(config.notifiers)})", file=sys.stderr)
        return EXIT_USAGE

    async def send() -> None:
        from monitor.app import runtime

        async with runtime(config) as rt:
            await rt.dispatcher.notifiers[args.name].send_test()

    try:
        asyncio.run(send())
    except NotifyError as exc:
        print(f"test message through {args.name!r} failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"test message sent through {args.name!r}")
    return EXIT_OK


def cmd_follow(config: Config, args: argparse.Namespace) -> int:
    from monitor.follow import cmd_follow as follow

    return follow(config, args)


def cmd_unfollow(config: Config, args: argparse.Namespace) -> int:
    from monitor.follow import cmd_unfollow as unfollow

    return unfollow(config, args)


def cmd_find(config: Config, args: argparse.Namespace) -> int:
    from monitor.follow import cmd_find as find

    return find(config, args)


COMMANDS = {
    "follow": cmd_follow,
    "unfollow": cmd_unfollow,
    "find": cmd_find,
    "validate": cmd_validate,
    "check": cmd_check,
    "status": cmd_status,
    "history": cmd_history,
    "deliveries": cmd_deliveries,
    "retry": cmd_retry,
    "test-notifier": cmd_test_notifier,
}
