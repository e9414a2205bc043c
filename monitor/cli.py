"""The `monitor` command. Exit status: 0 done, 1 a watch or delivery failed, 2 usage or configuration error."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor import __version__
from monitor.config import Config, load, mask
from monitor.errors import ConfigError, MonitorError, StoreError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", metavar="PATH",
                        help="configuration file (default: $MONITOR_CONFIG or config/watches.yaml)")
    common.add_argument("--verbose", "-v", action="count", default=0, help="more log output (-vv for debug)")

    parser = argparse.ArgumentParser(prog="monitor", description="Watch court dockets and agency pages; alert on what changed.")
    parser.add_argument("--version", action="version", version=f"monitor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("check", parents=[common], help="run one check cycle now and deliver alerts")
    p.add_argument("watches", nargs="*", metavar="WATCH_ID", help="only these watches (default: all enabled)")
    p.add_argument("--dry-run", action="store_true", help="detect and print, but record and send nothing")
    p.add_argument("--json", action="store_true", help="print a machine-readable report on stdout")
    p.add_argument("--notify-baseline", action="store_true", help="alert on a watch's first check too")

    p = sub.add_parser("run", parents=[common], help="run the daemon: scheduled checks, deliveries, /healthz, /metrics")
    p.add_argument("--listen", metavar="HOST:PORT",
                   help="address for /healthz, /readyz and /metrics (default: $MONITOR_LISTEN or daemon.listen; port 0 picks one)")
    p.add_argument("--once", action="store_true", help=argparse.SUPPRESS)

    sub.add_parser("validate", parents=[common], help="check the configuration and report every problem")

    p = sub.add_parser("status", parents=[common], help="per-watch status: last check, last change, failures")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("history", parents=[common], help="recorded changes, newest first")
    p.add_argument("watch", nargs="?", metavar="WATCH_ID")
    p.add_argument("--limit", "-n", type=int, default=20)
    p.add_argument("--all", action="store_true", help="include removals")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("deliveries", parents=[common], help="the delivery outbox: pending and failed deliveries")
    p.add_argument("--status", choices=["pending", "failed", "all"], default="all")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("retry", parents=[common], help="put failed deliveries back in the queue and send them")
    p.add_argument("ids", nargs="*", type=int, metavar="DELIVERY_ID", help="only these (default: all failed)")

    p = sub.add_parser("test-notifier", parents=[common], help="send a test message through a named notifier")
    p.add_argument("name", metavar="NOTIFIER")

    p = sub.add_parser("demo", parents=[common], help="a first taste, offline: replay recorded sources and show an alert")
    p.add_argument("--keep", metavar="DIR", help="keep the demo's state and config in DIR")
    return parser


def _setup_logging(verbose: int) -> None:
    level = logging.ERROR if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def entry() -> int:
    """The `monitor` command and `python -m monitor`: `main`, with the cyclic collector tuned for a run
    that ends. A check allocates hundreds of thousands of objects that live until it ends; the default
    threshold (700) scans them again and again, and finalisation collects everything once more at
    exit. A higher threshold and a freeze before exit save ~0.2 s of CPU in a check of 1,000 watches
    (bench/RESULTS.md). The daemon keeps the defaults; tests calling `main()` are unaffected."""
    if sys.argv[1:2] != ["run"]:
        gc.set_threshold(20_000, 50, 100)
    try:
        return main()
    finally:
        gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from monitor.daemon import main as run_main

        return run_main(args)
    _setup_logging(args.verbose)
    if args.command == "demo":
        from monitor.demo import run_demo

        return run_demo(keep=args.keep)
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"configuration error{'s' if len(exc.problems) > 1 else ''}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    handler = COMMANDS[args.command]
    try:
        return handler(config, args)
    except StoreError as exc:
        print(f"error: {mask(str(exc), config.secrets)}", file=sys.stderr)
        return EXIT_USAGE
    except MonitorError as exc:
        print(f"error: {mask(str(exc), config.secrets)}", file=sys.stderr)
        return EXIT_FAILED


# ------------------------------------------------------------------ commands


def cmd_validate(config: Config, args: argparse.Namespace) -> int:
    print(f"{config.path}: OK: {len(config.watches)} watches, {len(config.notifiers)} notifiers")
    for watch in config.watches:
        flags = "" if watch.enabled else " (disabled)"
        print(f"  {watch.id:<28} {watch.type:<14} every {watch.every!s:<8} -> {', '.join(watch.notify or []) or '(record only)'}{flags}")
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
    return [mask(w, config.secrets) for kind, watches in kinds.items() for w in WATCHERS[kind].validate_warnings(watches)]


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    known = {w.id for w in config.watches}
    unknown = [w for w in args.watches if w not in known]
    if unknown:
        print(f"error: no watch named {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known)) or 'none'})", file=sys.stderr)
        return EXIT_USAGE
    from notifiers.console import ConsoleNotifier

    ConsoleNotifier.force_stream = "stderr" if args.json else None  # keep stdout pure JSON
    try:
        results, report = asyncio.run(_check(config, args))
    finally:
        ConsoleNotifier.force_stream = None
    names = {w.id: w.display_name() for w in config.watches}
    ok = all(r.ok for r in results) and not report.failed and not report.retrying
    if args.json:
        out = {"ok": ok, "dry_run": args.dry_run, "watches": [r.to_dict() for r in results],
               "deliveries": report.to_dict()}
        print(mask(json.dumps(out, indent=2, ensure_ascii=False), config.secrets))
    else:
        print(mask(_check_text(results, report, names, args.dry_run), config.secrets))
    return EXIT_OK if ok else EXIT_FAILED


async def _check(config: Config, args: argparse.Namespace):
    from monitor.app import runtime
    from monitor.dispatch import DispatchReport

    async with runtime(config, dry_run=args.dry_run, notify_baseline=args.notify_baseline) as rt:
        results = await rt.engine.run_cycle(args.watches or None)
        report = DispatchReport() if args.dry_run else await rt.dispatcher.deliver_due(drain=True)
    return results, report


def _check_text(results, report, names: dict[str, str], dry_run: bool) -> str:
    from monitor.render import headline

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
                if change.kind == "updated":
                    for name, (before, after) in change.field_changes().items():
                        lines.append(f"      {name.removeprefix('fields.')}: {before!r} -> {after!r}")
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


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _open_store(config: Config):
    from monitor.store import Store

    return Store.open(config.state_url)


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from monitor.models import utcnow

    store = _open_store(config)
    try:
        states = store.load_states()
        counts = store.delivery_counts()
        replicas = store.replicas()
    finally:
        store.close()
    now = utcnow()
    live = {r["owner"] for r in replicas if (now - r["last_seen"]).total_seconds() < 60}
    replica_rows = [{"owner": r["owner"], "started": r["started_at"].isoformat(), "last_seen": r["last_seen"].isoformat(),
                     "config_digest": r["config_digest"][:12], "version": r["version"], "alive": r["owner"] in live}
                    for r in replicas]
    rows: list[dict[str, Any]] = []
    for watch in config.watches:
        st = states.get(watch.id)
        rows.append({
            "watch": watch.id, "type": watch.type, "every": str(watch.every), "enabled": watch.enabled,
            "last_check": st.last_check_at.isoformat() if st and st.last_check_at else None,
            "last_success": st.last_success_at.isoformat() if st and st.last_success_at else None,
            "last_change": st.last_change_at.isoformat() if st and st.last_change_at else None,
            "consecutive_failures": st.consecutive_failures if st else 0,
            "last_error": st.last_error if st else None,
            "not_before": st.not_before.isoformat() if st and st.not_before else None,
            "items": st.item_count if st else 0,
            "info": dict(st.info or {}) if st else {},
            "lease": _lease(st, live, now) if st and st.lease_owner else None,
        })
    if args.json:
        print(mask(json.dumps({"watches": rows, "deliveries": counts, "replicas": replica_rows}, indent=2,
                              ensure_ascii=False), config.secrets))
        return EXIT_OK
    print(f"{'WATCH':<28} {'LAST CHECK':<19} {'LAST CHANGE':<19} {'ITEMS':>5} {'FAILS':>5}  STATUS")
    for row, watch in zip(rows, config.watches):
        st = states.get(watch.id)
        status = "never checked" if not st else ("failing: " + (row["last_error"] or "")) if row["consecutive_failures"] else "ok"
        print(f"{row['watch']:<28} {_when(st.last_check_at if st else None):<19} "
              f"{_when(st.last_change_at if st else None):<19} {row['items']:>5} {row['consecutive_failures']:>5}  "
              f"{mask(status, config.secrets)}")
        for key, value in (row["info"] or {}).items():
            if key.startswith("_"):
                continue
            print(f"{'':<28}   {key}: {mask(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value, config.secrets)}")
        if row["lease"]:
            lease = row["lease"]
            print(f"{'':<28}   lease: {lease['owner']} until {lease['until']}{' (STALE)' if lease['stale'] else ''}")
    print("deliveries: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"))
    if replica_rows:
        print("replicas:")
        for r in replica_rows:
            print(f"  {r['owner']:<32} {'alive' if r['alive'] else 'STALE (no heartbeat for 60s)':<30} "
                  f"since {r['started'][:19]}  config {r['config_digest']}  v{r['version']}")
        digests = {r["config_digest"] for r in replica_rows if r["alive"]}
        if len(digests) > 1:
            print("  warning: live replicas run different configurations")
    return EXIT_OK


def _lease(state, live: set[str], now: datetime) -> dict[str, Any]:
    """Who holds a watch, and whether that lease is stale (expired, or its replica stopped beating)."""
    expired = state.lease_until is None or state.lease_until < now
    return {"owner": state.lease_owner, "until": state.lease_until.isoformat() if state.lease_until else None,
            "stale": expired or state.lease_owner not in live}


def cmd_history(config: Config, args: argparse.Namespace) -> int:
    from monitor.render import change_text

    store = _open_store(config)
    try:
        kinds = None if args.all else ["added", "updated", "source_down", "source_recovered"]
        changes = store.history(watch_id=args.watch, limit=args.limit, kinds=kinds)
    finally:
        store.close()
    if args.json:
        print(json.dumps([c.to_dict() for c in changes], indent=2, ensure_ascii=False))
        return EXIT_OK
    names = {w.id: w.display_name() for w in config.watches}
    if not changes:
        print("no changes recorded yet")
    for change in changes:
        print(f"{change.detected_at:%Y-%m-%d %H:%M:%S}  {change_text(change, names.get(change.watch_id))}")
    return EXIT_OK


def cmd_deliveries(config: Config, args: argparse.Namespace) -> int:
    store = _open_store(config)
    try:
        rows = []
        if args.status in ("pending", "all"):
            rows += store.pending_deliveries()
        if args.status in ("failed", "all"):
            rows += store.failed_deliveries()
    finally:
        store.close()
    if args.json:
        print(json.dumps([{
            "id": d.id, "notifier": d.notifier, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at.isoformat(), "last_error": d.last_error,
            "idempotency_key": d.idempotency_key, "change": d.change.to_dict()} for d in rows], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print("no pending or failed deliveries")
    for d in rows:
        print(f"#{d.id:<6} {d.status:<8} {d.notifier:<14} attempts {d.attempts:<3} next {_when(d.next_attempt_at)}  "
              f"{d.change.watch_id}: {d.change.item.title[:60]}")
        if d.last_error:
            print(f"        last error: {mask(d.last_error, config.secrets)}")
    return EXIT_OK


def cmd_retry(config: Config, args: argparse.Namespace) -> int:
    store = _open_store(config)
    try:
        count = store.retry_failed(args.ids or None)
    finally:
        store.close()
    print(f"{count} failed deliveries queued again")
    if not count:
        return EXIT_OK
    report = asyncio.run(_deliver(config))
    print(f"deliveries: {report.sent} sent, {report.retrying} to retry, {report.failed} failed")
    for error in report.errors:
        print(f"  {mask(error, config.secrets)}")
    return EXIT_OK if not (report.failed or report.retrying) else EXIT_FAILED


async def _deliver(config: Config):
    from monitor.app import runtime

    async with runtime(config) as rt:
        return await rt.dispatcher.deliver_due(drain=True)


def cmd_test_notifier(config: Config, args: argparse.Namespace) -> int:
    from monitor.errors import NotifyError

    if args.name not in config.notifiers:
        print(f"error: no notifier named {args.name!r} (known: {', '.join(sorted(config.notifiers))})", file=sys.stderr)
        return EXIT_USAGE

    async def send() -> None:
        from monitor.app import runtime

        async with runtime(config) as rt:
            await rt.dispatcher.notifiers[args.name].send_test()

    try:
        asyncio.run(send())
    except NotifyError as exc:
        print(f"test message through {args.name!r} failed: {mask(str(exc), config.secrets)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"test message sent through {args.name!r}")
    return EXIT_OK


COMMANDS = {
    "validate": cmd_validate,
    "check": cmd_check,
    "status": cmd_status,
    "history": cmd_history,
    "deliveries": cmd_deliveries,
    "retry": cmd_retry,
    "test-notifier": cmd_test_notifier,
}
