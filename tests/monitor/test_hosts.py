"""Politeness per host (`monitor.hosts`, through `HttpClient.get`): the minimum delay between the starts
of requests to one host, measured where it matters, on the server's side.

Timing here is asserted as invariants with slack (gaps at least min_delay less a tolerance; one host
served before another's queue drains), never as rates, so a busy 2-core machine does not flake them.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from monitor.errors import FetchError
from monitor.hosts import HostGate
from monitor.http import HttpClient, HttpSettings
from tests.conftest import DATA
from tests.support.http_server import ReplayServer

DOJ = (DATA / "core" / "doj_news.xml").read_bytes()
TOLERANCE = 0.1  # seconds: the client's clock starts a request a little before the server sees it


def gaps(server: ReplayServer) -> list[float]:
    """Seconds between consecutive request arrivals at the server."""
    times = sorted(seen.at for seen in server.requests)
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def get_all(client: HttpClient, urls: list[str], min_delay: float = 0.0) -> list:
    try:
        return await asyncio.gather(*(client.get(url, min_delay=min_delay) for url in urls), return_exceptions=True)
    finally:
        await client.aclose()


@pytest.mark.parametrize("global_delay, watch_delay", [(0.4, 0.0), (0.0, 0.4), (0.1, 0.4), (0.4, 0.1)])
def test_requests_to_one_host_start_at_least_min_delay_apart(server, global_delay, watch_delay):
    """Four requests to one host at once (per_host allows them all) arrive min_delay apart, the larger
    of http.min_delay and the watch's min_delay applying."""
    for name in "abcd":
        server.set(f"/{name}", DOJ)
    client = HttpClient(HttpSettings(min_delay=global_delay))
    results = asyncio.run(get_all(client, [server.url(f"/{name}") for name in "abcd"], min_delay=watch_delay))
    assert all(r.body == DOJ for r in results)
    assert len(server.requests) == 4
    assert min(gaps(server)) >= max(global_delay, watch_delay) - TOLERANCE, gaps(server)


def test_without_min_delay_requests_are_not_spaced(server):
    """The default (0) adds no waiting: the control for the test above, so that it can fail."""
    for name in "abcd":
        server.set(f"/{name}", DOJ, delay=0.3)
    client = HttpClient(HttpSettings())
    asyncio.run(get_all(client, [server.url(f"/{name}") for name in "abcd"]))
    assert min(gaps(server)) < 0.3 - TOLERANCE  # all four in flight at once, each answered in 0.3 s


def test_another_host_is_not_delayed_by_a_slow_hosts_queue(server):
    """Five requests queue at a host with min_delay 0.3s (1.2 s at least); a request to another host,
    made after them, is served before that queue drains."""
    other = ReplayServer().start()
    try:
        for name in "abcde":
            server.set(f"/{name}", DOJ)
        other.set("/feed", DOJ)

        async def run() -> None:
            client = HttpClient(HttpSettings(min_delay=0.3))
            queued = [asyncio.create_task(client.get(server.url(f"/{name}"))) for name in "abcde"]
            await asyncio.sleep(0)  # the five have taken their places in the queue
            try:
                await client.get(other.url("/feed"))
                await asyncio.gather(*queued)
            finally:
                await client.aclose()

        asyncio.run(run())
        assert other.requests[0].at < max(seen.at for seen in server.requests)
    finally:
        other.stop()


def test_every_redirect_hop_takes_its_turn(server):
    """A redirect to the same host is a second request to it: it too starts min_delay later."""
    server.set("/old", b"", status=301, headers={"Location": "/new"})
    server.set("/new", DOJ)
    client = HttpClient(HttpSettings(min_delay=0.4))
    [fetched] = asyncio.run(get_all(client, [server.url("/old")]))
    assert fetched.body == DOJ and [seen.path for seen in server.requests] == ["/old", "/new"]
    assert gaps(server)[0] >= 0.4 - TOLERANCE


def test_waiting_for_a_turn_does_not_count_against_the_time_cap(server):
    """http.timeout is for the source's answer: a request that waited 1.5 s for its turn at a polite
    host still has its whole second."""
    server.set("/a", DOJ)
    server.set("/b", DOJ)
    client = HttpClient(HttpSettings(timeout=1.0, min_delay=1.5))
    results = asyncio.run(get_all(client, [server.url("/a"), server.url("/b")]))
    assert [type(r) for r in results] == [type(results[0])] * 2 and not isinstance(results[0], FetchError)
    assert gaps(server)[0] >= 1.5 - TOLERANCE


def test_a_cancelled_wait_leaves_the_queue_and_frees_its_place():
    """A request cancelled while it waits for its turn (a watch stopped, a daemon shutting down) takes no
    slot with it: the next request, with no delay of its own, goes through."""

    async def run() -> None:
        gate = HostGate(per_host=1)
        await gate.enter()
        gate.leave()  # a first request has just started
        waiting = asyncio.create_task(gate.enter(delay=60))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.wait_for(gate.enter(), timeout=10)  # not 60 s: the cancelled one is gone
        gate.leave()
        await asyncio.wait_for(gate.enter(), timeout=10)  # and its slot was not leaked (per_host=1)

    asyncio.run(run())


def test_a_waiting_request_holds_no_concurrency_slot():
    """While a request waits out its delay it holds none of the host's slots: only the request in flight
    does; the waiter takes one when its time comes."""

    async def run() -> None:
        gate = HostGate(per_host=2)
        await gate.enter()  # request 1 is in flight
        polite = asyncio.create_task(gate.enter(delay=0.5))
        await asyncio.sleep(0.1)
        assert not polite.done() and gate.in_flight == 1  # waiting for its time, not sitting on a slot
        await asyncio.wait_for(polite, timeout=10)
        assert gate.in_flight == 2
        gate.leave()
        gate.leave()

    asyncio.run(run())
