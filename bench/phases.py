"""`monitor check` with a CPU-time breakdown by phase: `python bench/phases.py check --config ...`.

Wraps the core's synchronous stages with `time.process_time()` accumulators (no profiler, so no
profiler distortion), runs the real CLI, and writes the totals as JSON to $BENCH_PHASES_OUT (or
stderr). What is not in a named phase (the HTTP client, the event loop, the engine's glue) is reported
as `http + event loop + glue`: total minus everything named. Wall time is kept for the same phases,
plus the time the event loop sat in `select` with nothing to do (waiting for the server): where a
phase's wall time exceeds its CPU time, the process was waiting (a disk flush, or a CPU taken by
another process), and the `select` figure is the time it had no work because no response had come.

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
_started_wall = time.perf_counter()
TOTALS: dict[str, float] = {"interpreter start": _started}
WALL: dict[str, float] = {}  # wall time in the same phases: where wall exceeds CPU, the process waited
COUNTS: dict[str, int] = {}
_depth = [0]


def _timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _depth[0]:  # nested in another timed phase: counted there
            return fn(*args, **kwargs)
        _depth[0] += 1
        t, w = time.process_time(), time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TOTALS[name] = TOTALS.get(name, 0.0) + time.process_time() - t
            WALL[name] = WALL.get(name, 0.0) + time.perf_counter() - w
            COUNTS[name] = COUNTS.get(name, 0) + 1
            _depth[0] -= 1

    return wrapper


def _watch_event_loop_idle() -> None:
    """Wall time the event loop spends in `select` with nothing ready: waiting for the network."""
    import selectors

    for cls in {selectors.DefaultSelector, selectors.SelectSelector}:
        original = cls.select

        def select(self, timeout=None, _original=original):
            w = time.perf_counter()
            try:
                return _original(self, timeout)
            finally:
                WALL[IDLE] = WALL.get(IDLE, 0.0) + time.perf_counter() - w

        cls.select = select  # type: ignore[method-assign]


IDLE = "event loop waiting for the network (select)"
RUNQUEUE = "(of the wall time above: runnable, waiting for a CPU)"


def _runqueue() -> float:
    """Seconds this process's threads were ready to run while other processes had the CPUs."""
    total = 0
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ():
        try:
            with open(f"/proc/self/task/{tid}/schedstat", "rb") as fh:
                total += int(fh.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def _patch(owner, attr: str, name: str) -> None:
    if hasattr(owner, attr):
        setattr(owner, attr, _timed(name, getattr(owner, attr)))


def _report() -> None:
    total, wall = time.process_time(), time.perf_counter() - _started_wall + _started
    named = sum(TOTALS.values())
    rest = "http + event loop + glue"
    walls = {**WALL, "interpreter start": _started}
    walls[rest] = wall - sum(walls.values())  # the loop's select waits are named apart: this is its busy time
    walls[RUNQUEUE] = _runqueue()
    out = {
        "total": total,
        "wall": wall,
        "phases": {**TOTALS, rest: total - named},
        "wall_phases": walls,
        "counts": COUNTS,
    }
    text = json.dumps(out, indent=1)
    target = os.environ.get("BENCH_PHASES_OUT")
    if target:
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        print(text, file=sys.stderr)


def main() -> int:
    t, w = time.process_time(), time.perf_counter()
    if os.environ.get("BENCH_VARIANT"):  # the candidate speed-ups of bench/variant.py, measured by phase too
        from variant import apply

        apply(set(os.environ["BENCH_VARIANT"].split(",")))
    import monitor.app
    import monitor.cli
    import monitor.dispatch
    import monitor.engine
    import monitor.store.store as store
    import notifiers  # noqa: F401
    import watchers

    TOTALS["imports"] = time.process_time() - t
    WALL["imports"] = time.perf_counter() - w
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
    _watch_event_loop_idle()
    atexit.register(_report)
    entry = getattr(monitor.cli, "entry", None)  # the command's own entry point, where there is one
    return entry() if entry else monitor.cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
