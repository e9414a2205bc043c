"""`monitor demo`: a first taste in seconds, with no tokens and no network.

It serves a recorded real source (DOJ's press-release feed) from a local HTTP server on 127.0.0.1,
runs the real check cycle against it twice (a silent baseline, then again after a new press release
appears), and shows the alert the console notifier prints. Same code path as `monitor check`.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Iterator

NEW_RELEASE = b"""<item>
  <title>Justice Department Sues Illinois, Chicago and Cook County Over Sanctuary Policies</title>
  <link>https://www.justice.gov/opa/pr/justice-department-sues-illinois-chicago-and-cook-county</link>
  <description>The Justice Department filed a complaint in the Northern District of Illinois (United States v. Illinois, 1:25-cv-01285) challenging state and local laws that obstruct federal immigration enforcement.</description>
  <pubDate>Thu, 06 Feb 2025 12:00:00 +0000</pubDate>
  <guid isPermaLink="true">https://www.justice.gov/opa/pr/justice-department-sues-illinois-chicago-and-cook-county</guid>
</item>
"""


@contextmanager
def _serve(pages: dict[str, bytes]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_demo(keep: str | None = None) -> int:
    from monitor.app import runtime
    from monitor.config import loads

    feed = resources.files("monitor").joinpath("demo_data/doj_news.xml").read_bytes()
    pages = {"/news/rss": feed}
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)

    with _serve(pages) as base:
        config_text = f"""# written by `monitor demo`
state: sqlite:///{workdir / 'demo.db'}
notifiers:
  terminal: {{type: console}}
watches:
  - id: doj-news
    name: DOJ press releases
    type: feed
    url: {base}/news/rss
    keywords: {{any: [sanctuary, Illinois, Chicago, Cook County, San Francisco, Santa Clara]}}
"""
        (workdir / "watches.yaml").write_text(config_text)
        config = loads(config_text, source=str(workdir / "watches.yaml"), env={})

        async def cycle():
            async with runtime(config) as rt:
                results = await rt.engine.run_cycle()
                report = await rt.dispatcher.deliver_due()
                return results, report

        print("1. Serving DOJ's recorded press-release feed (25 real items) on", base)
        print("   and checking it with the keywords sanctuary, Illinois, Chicago, Cook County, ...")
        results, _ = asyncio.run(cycle())
        result = results[0]
        if not result.ok:
            print(f"   check failed: {result.error}")
            return 1
        print(f"   First check: a silent baseline (first sight never alerts); {result.item_count} of the 25 items match.\n")

        pages["/news/rss"] = feed.replace(b"<item>", NEW_RELEASE + b"<item>", 1)
        print("2. DOJ publishes a new press release. Checking again, the alert:\n")
        results, report = asyncio.run(cycle())
        print(f"\n   {len(results[0].changes)} new item, {report.sent} alert delivered.\n")

        results, report = asyncio.run(cycle())
        print(f"3. Checking once more: {len(results[0].changes)} changes, {report.sent} alerts (nothing is sent twice).\n")

    print(f"State and config of this demo: {workdir}")
    print(f"  monitor history --config {workdir / 'watches.yaml'}")
    print("Next: edit config/watches.yaml, then `monitor check`. README.md explains every key.")
    return 0
