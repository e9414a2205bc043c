"""Shared values changed atomically by several processes at once (what an API budget is spent with), on both
backends."""

from __future__ import annotations

import contextlib
import multiprocessing
from typing import Any

from monitor.store import Store

PROCESSES = 4


def _count(raw: Any) -> tuple[dict[str, Any], int]:
    value = dict(raw or {})
    value["n"] = value.get("n", 0) + 1
    return value, value["n"]


def _take_one(raw: Any, limit: int) -> tuple[dict[str, Any], bool]:
    value = dict(raw or {})
    taken = value.get("taken", [])
    if len(taken) >= limit:
        return value, False
    return {**value, "taken": [*taken, len(taken)]}, True


def _worker(url: str, turns: int, limit: int, start: Any, results: Any) -> None:
    store = Store.open(url, migrate=False)
    try:
        start.wait(30)  # all processes go at once
        counted = [store.update_shared_value("_shared", "counter", _count) for _ in range(turns)]
        granted = sum(
            store.update_shared_value("_shared", "budget", lambda raw: _take_one(raw, limit)) for _ in range(turns)
        )
        results.put((counted, granted))
    finally:
        store.close()


def test_concurrent_processes_never_lose_an_update_nor_overspend(store_url):
    """Four processes changing one value at once: every increment counts once, and a budget of 30 is granted
    exactly 30 times among 80 requests (no two processes take the same last call)."""
    Store.open(store_url).close()  # migrate once
    turns, limit = 20, 30
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_worker, args=(store_url, turns, limit, start, results)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        start.set()
        outcomes = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
                worker.join(5)
    seen = sorted(n for counted, _ in outcomes for n in counted)
    assert seen == list(range(1, PROCESSES * turns + 1))  # each increment saw a value nobody else saw
    assert sum(granted for _, granted in outcomes) == limit
    store = Store.open(store_url)
    try:
        assert store.get_notifier_state("_shared", "counter") == {"n": PROCESSES * turns}
        assert len(store.get_notifier_state("_shared", "budget")["taken"]) == limit
    finally:
        store.close()


def test_a_failing_change_leaves_the_value_as_it_was(store_url):
    """An exception inside the change rolls the transaction back: nothing half-written."""
    store = Store.open(store_url)
    try:
        store.update_shared_value("_shared", "v", lambda raw: ({"a": 1}, None))

        def broken(raw: Any) -> tuple[Any, None]:
            raise RuntimeError("boom")

        with contextlib.suppress(RuntimeError):
            store.update_shared_value("_shared", "v", broken)
        assert store.get_notifier_state("_shared", "v") == {"a": 1}
    finally:
        store.close()
