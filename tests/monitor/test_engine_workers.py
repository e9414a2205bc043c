"""The check cycle runs `http.per_host` workers per host: order, isolation between hosts, cancellation."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from monitor.app import runtime
from monitor.config import load

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>https://example.org/1</link><guid>1</guid></item>
</channel></rss>"""


def _ok() -> httpx.Response:
    return httpx.Response(200, stream=httpx.ByteStream(FEED), headers={"Content-Type": "application/rss+xml"})


def _config(write_config, per_host: int):
    watches = "".join(
        f"  - id: {host}-{n}\n    type: feed\n    url: http://{host}.test/feed/{n}\n"
        for n in range(3)
        for host in ("slow", "fast")
    )
    return load(write_config(f"http:\n  per_host: {per_host}\nwatches:\n{watches}"))


def test_a_slow_host_never_holds_another_hosts_workers_and_results_keep_their_order(write_config):
    """With per_host 1, the slow host's first request hangs; every watch of the other host is checked
    meanwhile, the slow host never has two requests at once, and the results come in config order."""
    config = _config(write_config, per_host=1)
    release = asyncio.Event()
    in_flight = {"slow": 0, "fast": 0}
    most = {"slow": 0, "fast": 0}
    fast_done = asyncio.Event()
    fast_count = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal fast_count
        host = request.url.host.split(".")[0]
        in_flight[host] += 1
        most[host] = max(most[host], in_flight[host])
        try:
            if host == "slow":
                await release.wait()
            else:
                fast_count += 1
                if fast_count == 3:
                    fast_done.set()
            return _ok()
        finally:
            in_flight[host] -= 1

    async def go() -> list[str]:
        async with runtime(config, transport=httpx.MockTransport(handler)) as rt:
            cycle = asyncio.ensure_future(rt.engine.run_cycle())
            await asyncio.wait_for(fast_done.wait(), timeout=30)  # all of the fast host, the slow one stuck
            assert not release.is_set() and in_flight["slow"] == 1
            release.set()
            results = await asyncio.wait_for(cycle, timeout=30)
            assert all(r.ok for r in results), [r.error for r in results]
            return [r.watch_id for r in results]

    order = asyncio.run(go())
    assert order == [w.id for w in config.watches]
    assert most == {"slow": 1, "fast": 1}


def test_cancelling_the_cycle_cancels_its_checks_and_hands_back_the_leases(write_config):
    config = _config(write_config, per_host=2)
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await release.wait()
        return _ok()

    async def go() -> None:
        async with runtime(config, transport=httpx.MockTransport(handler)) as rt:
            cycle = asyncio.ensure_future(rt.engine.run_cycle())
            await asyncio.wait_for(started.wait(), timeout=30)
            cycle.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cycle
            release.set()  # the requests in flight (shared, so shielded) may end now
            # the leases were handed back: the next cycle checks every watch, none is "skipped"
            results = await asyncio.wait_for(rt.engine.run_cycle(), timeout=30)
            assert [r.watch_id for r in results] == [w.id for w in config.watches]
            assert all(r.ok and r.baseline for r in results), [(r.error, r.warnings) for r in results]

    asyncio.run(go())
