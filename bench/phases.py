"""`monitor check` with a CPU-time breakdown by phase: `python bench/phases.py check --config ...`.

Wraps the core's synchronous stages with `time.process_time()` accumulators (no profiler, so no
profiler distortion), runs the real CLI, and writes the totals as JSON to $BENCH_PHASES_OUT (or
stderr). What is not in a named phase (the HTTP client, the event loop, the engine's glue) is reported
as `http + event loop + glue`: total minus everything named.

It patches only this process's copy of the classes and functions; nothing on disk changes.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import sys
import time

_started = time.process_time()  # the interpreter's own start-up is already in here
TOTALS: dict[str, float] = {"interpreter start": _started}
COUNTS: dict[str, int] = {}
_depth = [0]


def _timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _depth[0]:  # nested in another timed phase: counted there
            return fn(*args, **kwargs)
        _depth[0] += 1
        t = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            TOTALS[name] = TOTALS.get(name, 0.0) + time.process_time() - t
            COUNTS[name] = COUNTS.get(name, 0) + 1
            _depth[0] -= 1
    return wrapper


def _patch(owner, attr: str, name: str) -> None:
    if hasattr(owner, attr):
        setattr(owner, attr, _timed(name, getattr(owner, attr)))


def _report() -> None:
    total = time.process_time()
    named = sum(TOTALS.values())
    out = {"total": total, "phases": {**TOTALS, "http + event loop + glue": total - named}, "counts": COUNTS}
    text = json.dumps(out, indent=1)
    target = os.environ.get("BENCH_PHASES_OUT")
    if target:
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        print(text, file=sys.stderr)


def main() -> int:
    t = time.process_time()
    import monitor.app  # noqa: F401 - what `check` imports, measured as one phase
    import monitor.cli
    import monitor.dispatch
    import monitor.engine
    import monitor.store.store as store
    import notifiers  # noqa: F401
    import watchers

    TOTALS["imports"] = time.process_time() - t
    _patch(monitor.cli, "load", "config load + validation")
    for attr in ("load_states", "load_items", "find_items"):
        _patch(store.Store, attr, "store: reads")
    _patch(store.Store, "open", "store: open + migrate")
    _patch(store.Store, "commit_check", "store: commit_check (changed watches)")
    _patch(store.Store, "record_unchanged", "store: record_unchanged")
    for attr in ("claim_deliveries", "mark_sent", "mark_retry", "mark_failed", "postpone"):
        _patch(store.Store, attr, "store: outbox")
    for kind, cls in watchers.WATCHERS.items():
        if "parse_with_info" in cls.__dict__:
            _patch(cls, "parse_with_info", f"parse: {kind}")
    _patch(monitor.engine, "diff", "diff + fingerprint")
    _patch(monitor.engine, "fingerprint", "diff + fingerprint")
    atexit.register(_report)
    entry = getattr(monitor.cli, "entry", None)  # the command's own entry point, where there is one
    return entry() if entry else monitor.cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
