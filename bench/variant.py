"""`monitor check` with candidate speed-ups applied in this process only, to measure them before the core adopts them.

    BENCH_VARIANT=aiohttp,uvloop python bench/variant.py check --config ...
    .venv/bin/python bench/run.py --variant aiohttp          # A/B against the unmodified command, interleaved

Candidates (comma-separated in $BENCH_VARIANT):
- `aiohttp` / `httpx`: which transport carries the shared `httpx.AsyncClient` (`MONITOR_HTTP_TRANSPORT`):
  httpx-aiohttp's (aiohttp's C HTTP/1.1 parser and connection pool; the monitor's default since issue 16)
  or httpx's own (httpcore + anyio + h11, the default before). `--variant httpx` measures the old path.
- `uvloop`: uvloop's event loop (libuv) instead of asyncio's default. Needs `pip install uvloop`.
- `checkpoint`: `PRAGMA wal_autocheckpoint=10000` on every SQLite connection (40 MB of WAL between
  checkpoints instead of 4 MB): a first cycle writes ~150 MB of WAL for a 28 MB database, and each
  automatic checkpoint is two `fdatasync` calls made while the event loop waits.
- `eager-tasks`: `asyncio.eager_task_factory` (Python 3.12+; ignored with a note on 3.11): a task that
  finishes without waiting never goes through the loop.

Nothing on disk changes: the patch is to this process's copy of `monitor.http.HttpClient`.
"""

from __future__ import annotations

import asyncio
import os
import sys

if sys.path and os.path.dirname(os.path.abspath(__file__)) == os.path.abspath(sys.path[0]):
    del sys.path[0]  # bench/'s own modules (content, report, ...) must not shadow anything the monitor imports


def apply(names: set[str]) -> None:
    unknown = names - {"aiohttp", "httpx", "uvloop", "eager-tasks", "checkpoint"}
    if unknown:
        raise SystemExit(f"bench/variant.py: unknown candidate(s) {', '.join(sorted(unknown))}")
    if "uvloop" in names:
        import uvloop

        uvloop.install()  # asyncio.run() then makes uvloop loops
    if "eager-tasks" in names:
        if not hasattr(asyncio, "eager_task_factory"):
            print("bench/variant.py: eager-tasks needs Python 3.12; not applied", file=sys.stderr)
        else:
            policy = asyncio.get_event_loop_policy()
            new_loop = policy.new_event_loop

            def eager_loop():
                loop = new_loop()
                loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
                return loop

            policy.new_event_loop = eager_loop  # type: ignore[method-assign]
    if "checkpoint" in names:
        import monitor.store.store as store

        pragmas = store._sqlite_pragmas

        def more_pragmas(dbapi_connection, record):
            pragmas(dbapi_connection, record)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.close()

        store._sqlite_pragmas = more_pragmas  # read by Store.open when it registers the connect hook
    if "aiohttp" in names and "httpx" in names:
        raise SystemExit("bench/variant.py: aiohttp and httpx are two choices of one transport")
    if "aiohttp" in names:
        os.environ["MONITOR_HTTP_TRANSPORT"] = "aiohttp"  # the default since it was adopted (monitor/http.py)
    if "httpx" in names:
        os.environ["MONITOR_HTTP_TRANSPORT"] = "httpx"  # httpx's own transport, as before


def main() -> int:
    apply(set(filter(None, os.environ.get("BENCH_VARIANT", "").split(","))))
    from monitor.cli import entry

    sys.argv[0] = "monitor"
    return entry()


if __name__ == "__main__":
    sys.exit(main())
