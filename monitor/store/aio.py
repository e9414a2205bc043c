"""The store's async face: every call runs on the store's own threads, never on the event loop.

A database call can wait: SQLite waits up to its busy timeout while another process holds the write
lock, PostgreSQL waits on a row lock or a slow network. Run on the event loop, that wait would freeze
every watch, the dispatcher and `/healthz` with it. So async code never calls `Store` directly; it
awaits `store.aio.<method>(...)`, which runs the same method on threads kept for the store alone (the
default executor stays free for everything else, such as the readiness probe).

Reads and writes run on separate threads: a write waiting for another process's lock never holds up
the reads that let other checks go on (SQLite's WAL mode lets readers read while a writer writes).
SQLite leases are record locks on a file, taken without waiting: they run inline.

The calling task's context variables (the watch id that log lines carry) go with the call.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from monitor.store.store import Store

T = TypeVar("T")

READ_THREADS = 4
WRITE_THREADS = 2  # SQLite has one writer at a time anyway; PostgreSQL's pool is 5 + 5
# Methods that only read: they never wait for a writer's lock.
READS = frozenset(
    {
        "load_states",
        "load_items",
        "find_items",
        "find_items_many",
        "history",
        "pending_deliveries",
        "failed_deliveries",
        "due_deliveries",
        "delivery_counts",
        "next_due_at",
        "replicas",
        "get_notifier_state",
        "ping",
        "health",
        "schema_version",
        "check_version",
        "claim_owners",
        "case_moves",
        "auto_watches",
        "auto_watches_digest",
        "preview_candidates",
        "current_items",
        "delivery_statuses_of",
        "preview_image",
        "preview_jobs",
    }
)
LEASES = frozenset({"try_lease", "release_lease", "lease_many", "release_many", "renew_lease"})


class AsyncStore:
    """`await store.aio.load_items(watch_id)` is `store.load_items(watch_id)`, off the event loop."""

    def __init__(self, store: Store):
        self.sync = store
        self._reads = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="store-read")
        self._writes = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="store-write")

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Any function of the store's (a write, unless it is one of READS), on the store's threads."""
        return await self._run(self._writes, fn, *args, **kwargs)

    async def _run(self, executor: ThreadPoolExecutor, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(executor, functools.partial(context.run, fn, *args, **kwargs))

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.sync, name)
        if not callable(method):
            raise AttributeError(f"Store.{name} is not a method")
        if name in LEASES and self.sync.file_leases is not None:

            async def inline(*args: Any, **kwargs: Any) -> Any:
                return method(*args, **kwargs)  # a non-blocking fcntl call: no thread needed

            return inline
        executor = self._reads if name in READS else self._writes

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._run(executor, method, *args, **kwargs)

        call.__name__ = name
        return call

    def shutdown(self) -> None:
        """Stop taking calls; calls already running finish on their threads (each is one transaction)."""
        for executor in (self._reads, self._writes):
            executor.shutdown(wait=False, cancel_futures=True)
