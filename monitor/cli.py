"""The `monitor` command: its options, its exit status, and what every one-shot command shares.

Exit status, the same for every command:
- 0 done;
- 1 a watch or delivery failed, or the state database cannot be used (unreachable, locked, written by a
  newer version): the same as `monitor run`, so a supervisor or a cron job retries both alike;
- 2 a usage or configuration error that retrying cannot fix: an invalid configuration, an unknown
  option, watch, notifier or delivery id;
- 130 interrupted (Ctrl-C): one line, `interrupted`, on standard error, never a traceback.

Output of the one-shot commands goes through `monitor.output`: every secret masked, times in UTC.
Logs go to standard error: warnings by default, `-v` adds information, `-vv` debugging and each HTTP
request. `monitor run` (the daemon) sets up its own logging: `monitor.daemon`, `monitor.logs`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence

from monitor import __version__
from monitor.errors import ConfigError, MonitorError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        "-c",
        metavar="PATH",
        help="configuration file (default: $MONITOR_CONFIG, else config/watches.yaml in the current directory)",
    )
    common.add_argument(
        "--verbose",
        "-v",
        action="count",
        default=0,
        help="more log output on stderr: -v progress, -vv debugging and each HTTP request (warnings are always shown)",
    )

    parser = argparse.ArgumentParser(
        prog="monitor",
        description="Watch court dockets and agency pages; alert on what changed.",
        epilog="Exit status: 0 done, 1 a watch or delivery failed or the state database "
        "cannot be used, 2 usage or configuration error, 130 interrupted.",
    )
    parser.add_argument(
        "--version", action="version", version=f"monitor {__version__}", help="print the version and exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "check",
        parents=[common],
        help="run one check cycle now and deliver alerts",
        description="Check all enabled watches (or the named ones) once, record what changed, "
        "deliver the alerts, and print a report.",
    )
    p.add_argument("watches", nargs="*", metavar="WATCH_ID", help="only these watches (default: all enabled)")
    p.add_argument("--dry-run", action="store_true", help="detect and print, but record and send nothing")
    p.add_argument(
        "--json",
        action="store_true",
        help="print a machine-readable report on stdout (console alerts then go to stderr)",
    )
    p.add_argument("--notify-baseline", action="store_true", help="alert on a watch's first check too")
    p.add_argument(
        "--force", action="store_true", help="check even the watches whose source asked us to wait (Retry-After)"
    )

    p = sub.add_parser(
        "run",
        parents=[common],
        help="run the daemon: scheduled checks, deliveries, /healthz, /metrics",
        description="Run until SIGTERM (exit 0) or Ctrl-C/SIGINT (exit 130); SIGHUP reloads the configuration.",
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="address for /healthz, /readyz and /metrics (default: $MONITOR_LISTEN or daemon.listen; port 0 picks one)",
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="check every enabled watch once the way the daemon does (leases, back-off), deliver, and exit",
    )

    sub.add_parser(
        "validate",
        parents=[common],
        help="check the configuration and report every problem",
        description="Load the configuration and report every problem at once, each with file, line "
        "and key path; exit 2 if there is any.",
    )

    p = sub.add_parser("status", parents=[common], help="per-watch status: last check, last change, failures")
    p.add_argument("--json", action="store_true", help="print machine-readable status on stdout")

    p = sub.add_parser("history", parents=[common], help="recorded changes, newest first")
    p.add_argument("watch", nargs="?", metavar="WATCH_ID", help="only this watch's changes (default: every watch)")
    p.add_argument("--limit", "-n", type=_positive, default=20, metavar="N", help="show the newest N (default 20)")
    p.add_argument("--all", action="store_true", help="include removals")
    p.add_argument("--json", action="store_true", help="print the changes as JSON on stdout")

    p = sub.add_parser("deliveries", parents=[common], help="the delivery outbox: pending, failed and sent deliveries")
    p.add_argument(
        "--status",
        choices=["pending", "failed", "sent", "all"],
        default=None,
        help="which deliveries to show (default: pending and failed, the ones still to go out or to look at)",
    )
    p.add_argument("--limit", "-n", type=_positive, default=50, metavar="N", help="show the newest N (default 50)")
    p.add_argument("--json", action="store_true", help="print the deliveries as JSON on stdout")

    p = sub.add_parser("retry", parents=[common], help="put failed deliveries back in the queue and send them")
    p.add_argument(
        "ids",
        nargs="*",
        type=int,
        metavar="DELIVERY_ID",
        help="only these (default: all failed); an unknown id is an error and nothing is retried",
    )

    p = sub.add_parser("test-notifier", parents=[common], help="send a test message through a named notifier")
    p.add_argument("name", metavar="NOTIFIER", help="the notifier's name in the configuration")

    p = sub.add_parser(
        "demo", parents=[common], help="a first taste, offline: replay recorded sources and show an alert"
    )
    p.add_argument("--keep", metavar="DIR", help="keep the demo's state and config in DIR")

    # following a case: monitor/follow.py
    courtlistener = argparse.ArgumentParser(add_help=False)
    courtlistener.add_argument(
        "--base-url",
        metavar="URL",
        help="CourtListener's address (default: $COURTLISTENER_BASE_URL or https://www.courtlistener.com)",
    )
    p = sub.add_parser(
        "follow",
        parents=[common, courtlistener],
        help="follow a case: add its court RSS and CourtListener watches to the config and record their baseline",
        description="WHAT is COURT DOCKET_NUMBER (ilnd 1:25-cv-01285), a CourtListener docket address or a "
        "PACER docket address (https://ecf.cand.uscourts.gov/cgi-bin/DktRpt.pl?...).",
    )
    p.add_argument(
        "what", nargs="+", metavar="WHAT", help="COURT DOCKET_NUMBER, or a CourtListener or PACER docket address"
    )
    p.add_argument(
        "--id", metavar="ID", help="watch id (the RSS watch gets ID-rss; default: from court and docket number)"
    )
    p.add_argument("--name", help="display name in alerts (default: the case name and court, from CourtListener)")
    p.add_argument(
        "--every",
        metavar="INTERVAL",
        help="check interval or cron for both watches (default: 5m RSS, 15m CourtListener)",
    )
    p.add_argument(
        "--notify", metavar="NAMES", help="comma-separated notifier names (default: defaults.notify; '' records only)"
    )
    p.add_argument("--no-rss", action="store_true", help="no court RSS watch")
    p.add_argument(
        "--no-courtlistener", action="store_true", help="no CourtListener watch (and no CourtListener lookup)"
    )
    p.add_argument(
        "--rss-url", metavar="URL", help="the court feed's address, if not the court's default (a mirror, a proxy)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the watches it would add; change nothing")
    p.add_argument(
        "--no-check",
        action="store_true",
        help="write the watches but do not check them now (their first check records the baseline)",
    )

    p = sub.add_parser(
        "unfollow", parents=[common], help="remove a watch and its pair (the same case's other source) from the config"
    )
    p.add_argument(
        "watch_id",
        metavar="WATCH_ID",
        help="the watch to remove; the watch of the same case from the other source goes too",
    )
    p.add_argument("--only", action="store_true", help="remove only this watch, not its pair")
    p.add_argument(
        "--forget", action="store_true", help="also delete their stored state and items (change history stays)"
    )

    p = sub.add_parser(
        "find",
        parents=[common, courtlistener],
        help="search CourtListener for a case; print the command that follows each",
    )
    p.add_argument(
        "query", metavar="QUERY", help='words of the case name or docket number, e.g. "San Francisco v. Trump"'
    )
    p.add_argument(
        "--court", metavar="COURT", help="only this court (CM/ECF id like cand, or a citation like 'N.D. Cal.')"
    )
    p.add_argument(
        "--limit",
        "-n",
        type=int,
        default=10,
        help="at most this many results (default 10; CourtListener gives 20 a page)",
    )
    return parser


def entry() -> int:
    """The `monitor` command and `python -m monitor`: `main`, with the cyclic collector tuned for a run
    that ends. A check allocates hundreds of thousands of objects that live until it ends; the default
    threshold (700) scans them again and again, and finalisation collects everything once more at
    exit. A higher threshold and a freeze before exit save ~0.2 s of CPU in a check of 1,000 watches
    (bench/RESULTS.md). The daemon keeps the defaults; tests calling `main()` are unaffected.

    After Ctrl-C the process ends at once: a worker thread still blocked in a database or network
    call would otherwise hold the interpreter's exit until that call gives up."""
    if sys.argv[1:2] != ["run"]:
        gc.set_threshold(20_000, 50, 100)
        _interrupt_watchdog()
    try:
        code = main()
    finally:
        gc.freeze()
    if code == EXIT_INTERRUPTED:
        _said_interrupted.set()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(EXIT_INTERRUPTED)
    return code


_said_interrupted = threading.Event()
INTERRUPT_GRACE = 1.0  # seconds the main thread has to wind up after Ctrl-C before the watchdog ends it


def _interrupt_watchdog() -> None:
    """Make Ctrl-C prompt even when the main thread cannot hear it.

    Python raises KeyboardInterrupt only between bytecodes, so a main thread inside a long C call (SQLite
    waiting up to 30 s on a lock the daemon holds) or joining a worker thread that is, would sit out
    that wait. The signal also wakes this thread (through the wakeup fd); if the process is still
    running `INTERRUPT_GRACE` later, it says `interrupted` and ends it with 130 itself."""
    if not hasattr(signal, "set_wakeup_fd") or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return  # started in the background with Ctrl-C ignored: nothing to watch for
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except ValueError:  # not the main thread
        return

    def watch() -> None:
        while signal.SIGINT not in os.read(read_end, 64):
            pass
        if _said_interrupted.wait(INTERRUPT_GRACE):
            return  # the main thread said it and is exiting
        _said_interrupted.set()
        os.write(2, b"interrupted\n")
        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, name="interrupt-watchdog", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "run":
            from monitor.daemon import main as run_main

            return run_main(args)
        return _one_shot(args)
    except BrokenPipeError:  # `monitor history | head`: the reader has what it wanted
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())  # no second error at exit
        return EXIT_OK
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the goodbye
        try:
            print("interrupted", file=sys.stderr, flush=True)
            _said_interrupted.set()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        return EXIT_INTERRUPTED


def _one_shot(args: argparse.Namespace) -> int:
    """A command other than `run`, with its output masked from the first line to the last."""
    from monitor import logs
    from monitor.output import masked_output

    with masked_output(logs.environment_secrets()) as streams:
        logs.setup_command(args.verbose)
        if args.command == "demo":
            from monitor.demo import run_demo

            return run_demo(keep=args.keep)
        try:
            from monitor.config import load

            config = load(args.config)
        except ConfigError as exc:
            print(f"configuration error{'s' if len(exc.problems) > 1 else ''}:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_USAGE
        secrets = logs.all_secrets(config)
        for stream in streams:
            stream.update(secrets)
        from monitor.commands import COMMANDS

        try:
            return COMMANDS[args.command](config, args)
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - sorted below; anything unexpected gets its traceback
            if _is_database_error(exc):
                print(database_problem(config.state_url, exc), file=sys.stderr)
            elif isinstance(exc, MonitorError):
                print(f"error: {exc}", file=sys.stderr)
            elif isinstance(exc, OSError):
                print(
                    f"error: {exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}", file=sys.stderr
                )
            else:
                print("error: an unexpected failure (a bug: please report it with what follows)", file=sys.stderr)
                traceback.print_exc()
            return EXIT_FAILED


def _is_database_error(exc: BaseException) -> bool:
    from monitor.errors import StoreError

    return isinstance(exc, StoreError) or type(exc).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3"))


def database_problem(url: str, exc: BaseException) -> str:
    """One line: which state database (password hidden), what went wrong, what to check."""
    from monitor.errors import StoreError

    try:
        from sqlalchemy.engine import make_url

        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for the message
        shown = "(an unparseable URL)"
    reason = str(getattr(exc, "orig", None) or exc).strip()
    reason = " ".join(reason.splitlines()[0].split()) if reason else type(exc).__name__
    if isinstance(exc, StoreError) and shown in reason:
        said = reason  # the store's own message names the database
    else:
        said = f"the state database {shown} cannot be used: {reason}"
    if "newer version" in said:  # the store's message says what to do
        return f"error: {said}"
    if url.startswith("sqlite"):
        return f"error: {said} (check the path in `state:` or MONITOR_STATE, and that this user may write there)"
    return (
        f"error: {said} (check that the database server is running and reachable from here, and that "
        "`state:` or MONITOR_STATE names the right one)"
    )
