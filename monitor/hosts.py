"""Politeness per host: how many requests to one host at once, and how far apart they start.

Court and agency servers are small (PACER's CM/ECF servers are one per court), so beside the
concurrency limit (`http.per_host`) a request can ask that it start at least `delay` seconds after the
previous request to the same host started (`http.min_delay`, or a watch's own `min_delay`). Requests to
one host take their turn first come, first served; a request waiting for its turn holds no concurrency
slot and never delays another host, and cancelling it while it waits takes it out of the queue.
"""

from __future__ import annotations

import asyncio
import math


class HostGate:
    """The turn-taking of the requests to one host (scheme-less `host:port`)."""

    def __init__(self, per_host: int):
        self._slots = asyncio.Semaphore(per_host)
        self._queue = asyncio.Lock()  # asyncio's lock wakes its waiters in arrival order
        self._last_start = -math.inf  # loop time at which the last request was let through
        self.in_flight = 0  # requests let through and not yet done

    async def enter(self, delay: float = 0.0) -> None:
        """Wait for this request's turn: `delay` seconds after the last start, and a free slot.
        Pair with `leave()` once the response is read."""
        async with self._queue:
            if delay > 0:
                wait = self._last_start + delay - asyncio.get_running_loop().time()
                if wait > 0:
                    await asyncio.sleep(wait)
            # Only the head of the queue waits for a slot, and those behind it would need one too.
            await self._slots.acquire()
            self._last_start = asyncio.get_running_loop().time()
            self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
        self._slots.release()


class HostGates:
    """One gate per host, created on first use."""

    def __init__(self, per_host: int):
        self.per_host = per_host
        self._gates: dict[str, HostGate] = {}

    def __getitem__(self, host: str) -> HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = HostGate(self.per_host)
        return gate
