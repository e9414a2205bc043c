"""Micro-benchmarks the cycle benchmark cannot isolate: diffing a 10,000-entry docket, holding a 10,000-watch config.

    .venv/bin/python bench/probes.py diff [--entries 10000] [--runs 21]
    .venv/bin/python bench/probes.py config-memory --config /path/to/watches.yaml
    .venv/bin/python bench/probes.py http --base-url http://127.0.0.1:PORT [--transport aiohttp] [--loop uvloop]

Each prints one JSON object on standard output (`run.py --all` runs them and keeps the result).

`diff`: `monitor.diff.diff` of a stored snapshot of N docket entries (built with
`watchers.dockets.entry_item`, as the court watchers build them, then round-tripped through
`Item.to_dict`/`Item.from_dict` as `Store.load_items` does) against the freshly parsed listing of the same
docket with one new entry on top: the daemon's everyday case for a big docket. Median and range of
CPU time (`time.process_time`) and wall time over `runs` calls, after one warm-up. Also measured, to show
where the time goes: the content hash of one side alone (what `diff` computes twice today), and `diff`
when each stored item carries the hash the store already holds in `items.content_hash` (a stand-in
object; the code of `diff` is the real one).

`config-memory`: resident memory and CPU time of `monitor.config.load` on one config file, in this
process (VmRSS before and after, so the figure is what holding the loaded config costs).

`http`: CPU per request of the monitor's own `HttpClient.get` (per-host limit, caps, conditional GET)
against a running bench/server.py, 200s of the full bodies and then 304s, with httpx's default
transport or `httpx_aiohttp.AiohttpTransport`, on asyncio's event loop or uvloop: the request path
alone, without parsing, storing or start-up. `run.py --experiments` runs every combination, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

if sys.path and os.path.dirname(os.path.abspath(__file__)) == os.path.abspath(sys.path[0]):
    del sys.path[0]  # bench/'s own modules (content, report, ...) must not shadow anything the monitor imports


def docket(entries: int, *, first: int = 1) -> list[Any]:
    """A CourtListener/PACER docket of `entries` numbered entries, newest first, as the watchers build them."""
    from watchers.dockets import entry_item, parse_docket_number

    number = parse_docket_number("3:25-cv-01350")
    start = datetime(2025, 2, 7, tzinfo=UTC)
    kinds = [
        "ORDER granting",
        "MOTION to Dismiss",
        "DECLARATION of",
        "NOTICE of Appearance by",
        "STIPULATION and",
        "RESPONSE in Opposition re",
        "Minute Entry for proceedings held before",
        "TRANSCRIPT of Proceedings",
    ]
    out = []
    for n in range(first + entries - 1, first - 1, -1):
        kind = kinds[n % len(kinds)]
        text = (
            f"{kind} the motion filed by City and County of San Francisco (entry {n - 1}). Signed by Judge "
            f"William H. Orrick on {start + timedelta(hours=n):%m/%d/%Y}. Attachments: # 1 Exhibit A, "
            f"# 2 Proposed Order. (jdoe, COURT STAFF) (Filed on {start + timedelta(hours=n):%m/%d/%Y})"
        )
        out.append(
            entry_item(
                court="cand",
                docket=number,
                case_name="City and County of San Francisco v. Trump",
                entry_number=n,
                short_description=f"{kind} (entry {n})",
                description=text,
                date_filed=f"{start + timedelta(hours=n):%Y-%m-%d}",
                document_url=f"https://ecf.cand.uscourts.gov/doc1/035{n:09d}",
                docket_url="https://www.courtlistener.com/docket/69617389/city-and-county-of-san-francisco-v-trump/",
                pacer_case_id="443515",
                pacer_doc_id=f"035{n:09d}",
                source="courtlistener",
            )
        )
    return out


class _StoredHash:
    """An item as the store could hand it to `diff`: the stored `content_hash` column read, not recomputed."""

    __slots__ = ("_item", "content_hash")

    def __init__(self, item: Any, content_hash: str):
        self._item, self.content_hash = item, content_hash

    def __getattr__(self, name: str) -> Any:
        return getattr(self._item, name)


def _timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    fn()  # warm-up
    cpu, wall = [], []
    for _ in range(runs):
        gc.collect()
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return {
        "cpu_ms_median": statistics.median(cpu) * 1000,
        "cpu_ms_min": min(cpu) * 1000,
        "cpu_ms_max": max(cpu) * 1000,
        "wall_ms_median": statistics.median(wall) * 1000,
        "runs": runs,
    }


def diff_probe(entries: int, runs: int) -> dict[str, Any]:
    from monitor.diff import diff
    from monitor.models import Item
    from monitor.store import StoredItem

    now = datetime.now(UTC)
    stored_items = [Item.from_dict(i.to_dict()) for i in docket(entries)]  # as Store.load_items returns them
    previous = {i.key: StoredItem(i, True, now) for i in stored_items}
    current = docket(entries + 1)  # the docket as parsed now: the same entries, freshly built, one new on top
    result = diff("docket", previous, current, now=now)
    if len(result.changes) != 1 or result.changes[0].kind != "added" or len(result.seen) != entries:
        raise SystemExit(f"diff probe is wrong: {len(result.changes)} changes, {len(result.seen)} seen")
    hashes = {key: s.item.content_hash for key, s in previous.items()}
    with_stored_hash = {
        key: StoredItem(cast(Item, _StoredHash(s.item, hashes[key])), True, now) for key, s in previous.items()
    }  # the stand-in reads as the Item it wraps
    check = diff("docket", with_stored_hash, current, now=now)
    if len(check.changes) != 1 or len(check.seen) != entries:
        raise SystemExit("diff probe with stored hashes is wrong")
    return {
        "entries": entries,
        "diff": _timed(lambda: diff("docket", previous, current, now=now), runs),
        "one_side_content_hash": _timed(lambda: [i.content_hash for i in current], runs),
        "diff_with_stored_hash": _timed(lambda: diff("docket", with_stored_hash, current, now=now), runs),
    }


def _vm_rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def config_memory_probe(path: Path) -> dict[str, Any]:
    from monitor.config import load

    gc.collect()
    before, cpu = _vm_rss_kib(), time.process_time()
    config = load(path)
    cpu = time.process_time() - cpu
    gc.collect()
    after = _vm_rss_kib()
    watches = len(config.watches)
    return {
        "watches": watches,
        "config_mib": (after - before) / 1024,
        "kib_per_watch": (after - before) / max(watches, 1),
        "load_cpu_s": cpu,
    }


async def _http_rounds(urls: list[str], transport: str, rounds: int, per_host: int) -> dict[str, Any]:
    """`rounds` × (every URL unconditionally, then every URL with its ETag: all 304) through `HttpClient.get`."""
    from monitor.http import HttpClient, HttpSettings

    t = time.process_time()
    custom: Any = None  # an httpx transport, or None: `http.transport`'s choice
    if transport == "aiohttp":  # the monitor's own wrapper of httpx-aiohttp's transport (monitor/http_aiohttp.py)
        import httpx

        from monitor.http_aiohttp import MonitorAiohttpTransport

        custom = MonitorAiohttpTransport(httpx.Limits(max_connections=100, max_keepalive_connections=50))
    elif transport == "httpx":  # httpx's own transport (httpcore + anyio + h11), whatever `http.transport` says
        import httpx

        custom = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=100, max_keepalive_connections=50))
    elif transport == "none":  # httpx's own layers and the monitor's, no network at all: the floor of httpx as the API
        import httpx

        body = b"<rss>" + b"x" * 17_000 + b"</rss>"

        def answer(request: httpx.Request) -> httpx.Response:
            if request.headers.get("if-none-match") == '"v1"':
                return httpx.Response(304, headers={"etag": '"v1"'})
            return httpx.Response(200, headers={"etag": '"v1"', "content-type": "application/rss+xml"}, content=body)

        custom = httpx.MockTransport(answer)
    import_cpu = time.process_time() - t
    client = HttpClient(HttpSettings(per_host=per_host), transport=custom)
    ok, not_modified = [], []
    try:
        for _ in range(rounds + 1):  # the first round warms up (connections, caches) and is not counted
            t = time.process_time()
            got = await asyncio.gather(*(client.get(u) for u in urls))
            ok.append(time.process_time() - t)
            etags = [f.etag for f in got]
            t = time.process_time()
            again = await asyncio.gather(*(client.get(u, etag=e) for u, e in zip(urls, etags, strict=True)))
            not_modified.append(time.process_time() - t)
            if not all(f.not_modified for f in again) or any(f.status != 200 for f in got):
                raise SystemExit("http probe: expected 200s, then 304s for every URL")
    finally:
        await client.aclose()
    n = len(urls)
    return {
        "transport": transport,
        "per_host": per_host,
        "requests": n,
        "rounds": rounds,
        "import_cpu_ms": import_cpu * 1000,
        "ms_per_200": statistics.median(ok[1:]) / n * 1000,
        "ms_per_304": statistics.median(not_modified[1:]) / n * 1000,
    }


def http_probe(
    base_url: str, sources: int, transport: str, loop: str, rounds: int, per_host: int = 4
) -> dict[str, Any]:
    """CPU per request of the monitor's `HttpClient.get` (per-host limit, caps, conditional GET) against
    bench/server.py, with httpx's default transport or httpx-aiohttp's, on asyncio's loop or uvloop."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import content

    urls = [w["url"] for w in content.watches(sources, base_url.rstrip("/"))]
    t = time.process_time()
    if loop == "uvloop":
        import uvloop

        uvloop.install()
    loop_import = time.process_time() - t
    result = asyncio.run(_http_rounds(urls, transport, rounds, per_host))
    return {**result, "loop": loop, "loop_import_cpu_ms": loop_import * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="probe", required=True)
    p = sub.add_parser("diff", help="diff a docket of N entries against itself plus one new entry")
    p.add_argument("--entries", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=21)
    p = sub.add_parser("config-memory", help="memory held by one loaded config")
    p.add_argument("--config", type=Path, required=True)
    p = sub.add_parser("http", help="CPU per request of the monitor's HTTP client against bench/server.py")
    p.add_argument("--base-url", required=True, help="bench/server.py's address (its READY line)")
    p.add_argument("--sources", type=int, default=1000)
    p.add_argument(
        "--transport",
        choices=["httpx", "aiohttp", "none"],
        default="httpx",
        help="httpx's default transport, httpx-aiohttp's, or none (httpx.MockTransport: no network)",
    )
    p.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--per-host", type=int, default=4, help="the client's per-host limit (http.per_host)")
    args = parser.parse_args(argv)
    if args.probe == "diff":
        result = diff_probe(args.entries, args.runs)
    elif args.probe == "http":
        result = http_probe(args.base_url, args.sources, args.transport, args.loop, args.rounds, args.per_host)
    else:
        result = config_memory_probe(args.config)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
