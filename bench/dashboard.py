"""How long the dashboard takes to answer, at 1,000 watches and 10,000 docket entries.

    .venv/bin/python bench/dashboard.py [--state sqlite:///path | postgresql://...] [--runs 15]

Builds a state database the size the issue names, through the store's own write path
(`Store.commit_check`, as checks write it):
- 500 cases, each followed by a `pacer_rss` watch (250 of them, two cases each) and a `courtlistener`
  watch (500): 10,000 docket entries in all, each seen by both sources (20,000 item rows); one big
  case holds 1,018 of them, the others 18. Entry texts are taken, in turn, from the recorded S.D.N.Y.
  feed's parse (`tests/data/pacer_rss/sdny_1.json`);
- 2,000 of the entries were later completed by CourtListener: an `updated` change each, with before
  and after;
- 250 agency watches (`feed`, `doj`, `federal_register`, `wordpress`, `html`) of 20 items each, titles
  from the recorded DOJ feed (`bench/data/justice_news_rss_2026-10-02.xml`);
- 50 failing watches; one delivery per case with updates, 50 of them failed (about 450 pending).

Then serves it as the daemon does (HealthServer: Starlette under uvicorn, on 127.0.0.1:0, its own
event loop in a thread) and times each page from an HTTP client: `--runs` requests after two warm-up
ones, median and slowest wall time, and the median CPU time the process spent per request. Everything
runs on this machine and stops by itself. Results are printed as a Markdown table and written to
bench/results/dashboard-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config import loads  # noqa: E402
from monitor.health import Endpoints, HealthServer  # noqa: E402
from monitor.models import Change, Item  # noqa: E402
from monitor.store import CheckWrite, Store  # noqa: E402
from monitor.store import schema as s  # noqa: E402
from monitor.web.cases import case_id  # noqa: E402
from monitor.web.pages import Dashboard  # noqa: E402
from watchers.dockets import entry_item, parse_docket_number  # noqa: E402

CASES, ENTRIES, BIG_CASE, UPDATED, AGENCY_WATCHES, AGENCY_ITEMS = 500, 10_000, 1_018, 2_000, 250, 20
NOW = datetime.now(UTC).replace(microsecond=0)
AGENCY_KINDS = ["feed", "doj", "federal_register", "wordpress", "html"]


def docket(n: int) -> str:
    return f"1:25-cv-{n + 1000:05d}"


def config_text(state: str) -> str:
    lines = [f"state: {state}", "defaults: {every: 10m}", "watches:"]
    for w in range(CASES // 2):
        lines.append(
            f"  - {{id: rss-{w}, type: pacer_rss, court: ilnd, cases: ['{docket(2 * w)}', '{docket(2 * w + 1)}']}}"
        )
    for c in range(CASES):
        lines.append(f"  - {{id: cl-{c}, type: courtlistener, court: ilnd, docket_number: '{docket(c)}', token: ''}}")
    for a in range(AGENCY_WATCHES):
        kind = AGENCY_KINDS[a % len(AGENCY_KINDS)]
        keys = (
            ""
            if kind in ("doj", "federal_register")
            else (f", url: 'https://agency{a}.example.org/news', agency: 'Agency {a % 40}'")
        )
        keys += ", item: 'div.views-row'" if kind == "html" else ""
        lines.append(f"  - {{id: agency-{a}, type: {kind}{keys}}}")
    return "\n".join(lines) + "\n"


def texts() -> list[tuple[str, str]]:
    parsed = json.loads((ROOT / "tests/data/pacer_rss/sdny_1.json").read_text())
    out = [
        (e.get("short_description") or "Docket entry", e.get("description") or "")
        for d in parsed
        for e in d["docket_entries"]
    ]
    return out or [("Order", "ORDER.")]


def titles() -> list[str]:
    tree = ElementTree.parse(ROOT / "bench/data/justice_news_rss_2026-10-02.xml")
    return [" ".join((t.text or "").split()) for t in tree.iter("title")][1:]


def build(store: Store) -> None:
    sample, headlines = texts(), titles()
    per_case = [BIG_CASE] + [(ENTRIES - BIG_CASE) // (CASES - 1)] * (CASES - 1)
    updated = 0
    for c, count in enumerate(per_case):
        number = parse_docket_number(docket(c))
        name = f"United States v. Defendant {c}"
        rss, cl, changes = [], [], []
        for n in range(1, count + 1):
            short, long = sample[(c * 31 + n) % len(sample)]
            day = (NOW - timedelta(days=count - n)).date().isoformat()
            stub = entry_item(
                court="ilnd",
                docket=number,
                case_name=name,
                entry_number=n,
                short_description=short,
                date_entered=day,
                source="pacer_rss",
                document_url=f"https://ecf.ilnd.uscourts.gov/doc1/0671{c:04d}{n:04d}",
            )
            full = entry_item(
                court="ilnd",
                docket=number,
                case_name=name,
                entry_number=n,
                short_description=short,
                description=long or f"{short.upper()} filed by {name}.",
                date_filed=day,
                source="courtlistener",
                document_url=stub.fields["document_url"],
            )
            rss.append(stub)
            cl.append(full)
            if updated < UPDATED and n % 5 == 0:
                changes.append(
                    Change(
                        f"cl-{c}",
                        "updated",
                        full,
                        before=stub,
                        changed_fields=("summary", "fields.description", "fields.date_filed"),
                        detected_at=NOW - timedelta(hours=1),
                        uid=f"u-{c}-{n}",
                    )
                )
                updated += 1
        write(store, f"rss-{c // 2}", rss, [])
        write(store, f"cl-{c}", cl, changes, routes={ch.uid: ["newsroom"] for ch in changes[:1]})
    for a in range(AGENCY_WATCHES):
        items = [
            Item(
                key=f"https://agency{a}.example.org/news/{i}",
                title=headlines[(a + i) % len(headlines)],
                url=f"https://agency{a}.example.org/news/{i}",
                published=(NOW - timedelta(days=i)).date().isoformat(),
                fields={"agency": f"Agency {a % 40}"},
            )
            for i in range(AGENCY_ITEMS)
        ]
        write(store, f"agency-{a}", items, [])
    for a in range(50):
        store.record_failure(
            f"agency-{a * 5}",
            f"server error (HTTP 503) from https://agency{a * 5}.example.org/news",
            NOW - timedelta(minutes=5),
        )
    with store.engine.begin() as conn:  # some of the routed deliveries failed for good
        ids = [r[0] for r in conn.execute(s.deliveries.select().with_only_columns(s.deliveries.c.id).limit(50))]
        conn.execute(
            s.deliveries.update()
            .where(s.deliveries.c.id.in_(ids))
            .values(status="failed", attempts=8, last_error="Slack said channel_not_found")
        )


def write(store: Store, watch_id: str, items: list[Item], changes: list[Change], routes: dict | None = None) -> None:
    store.commit_check(
        CheckWrite(
            watch_id,
            "f",
            {},
            {"coverage": "all"} if watch_id.startswith("rss") else None,
            items,
            [],
            [],
            changes,
            routes or {},
            len(items),
            NOW - timedelta(minutes=2),
        )
    )


def serve(dashboard: Dashboard) -> tuple[str, Callable[[], None]]:
    async def probe() -> tuple[bool, str]:
        return True, "ok"

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = HealthServer(Endpoints(probe, probe), dashboard)
    host, port = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(30)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    return f"http://{host}:{port}", stop


def timed(url: str, runs: int) -> dict[str, float]:
    """Wall time of each request, and the CPU time this process (server and client) spent on it: the wall
    time grows with whatever else the machine runs; the CPU time much less."""
    seconds, cpu, size = [], [], 0
    for attempt in range(runs + 2):
        started, cpu_started = time.perf_counter(), time.process_time()
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
            assert response.status == 200, (url, response.status)
        if attempt >= 2:
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        size = len(body)
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "cpu_ms": round(statistics.median(cpu) * 1000, 1),
        "kb": round(size / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", help="database URL (default: a fresh SQLite file in a temp dir)")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = args.state or f"sqlite:///{tmp}/dashboard.db"
        config = loads(config_text(state), env={})
        store = Store.open(state)
        started = time.perf_counter()
        if not store.load_states():
            build(store)
        print(f"state built in {time.perf_counter() - started:.0f}s: {len(config.watches)} watches", file=sys.stderr)
        nexts = {w.id: NOW + timedelta(minutes=w_i % 10) for w_i, w in enumerate(config.watches)}
        base, stop = serve(Dashboard(store, lambda: config, nexts.get))
        typical, big = case_id("ilnd", docket(7)), case_id("ilnd", docket(0))
        pages = {
            "/": "overview",
            f"/cases/{typical}": "case (18 entries)",
            f"/cases/{big}": f"case ({BIG_CASE} entries, first page of 100)",
            "/watches": "watches (1,000 rows)",
            "/deliveries": "deliveries",
            "/feeds/all.atom": "Atom: everything",
            f"/feeds/cases/{big}.atom": "Atom: the big case",
        }
        try:
            results = {label: timed(base + path, args.runs) for path, label in pages.items()}
        finally:
            stop()
            store.close()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{os.cpu_count()} cores, load average {load:.1f}; {args.runs} requests a page\n")
    print("| page | median | slowest | CPU (median) | size |\n|---|---:|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['median_ms']:.0f} ms | {r['max_ms']:.0f} ms | {r['cpu_ms']:.0f} ms | {r['kb']} KB |")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"dashboard-{datetime.now().astimezone().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(
        json.dumps({"state": state.split(":")[0], "runs": args.runs, "load": load, "pages": results}, indent=2)
    )
    print(f"\nwritten to {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
