"""The demo's sources: HTTP servers on 127.0.0.1 standing in for the courts, CourtListener and DOJ.

Each real source is served under its own host name as the first part of the path, so the demo's
`watches.yaml` says which real address each watch stands in for; RECAP's storage, the one host document
previews may fetch from, has a server of its own:

    http://127.0.0.1:<port>/ecf.nysd.uscourts.gov/cgi-bin/rss_outside.pl   a court's RSS feed
    http://127.0.0.1:<port>/www.courtlistener.com/api/rest/v4/...          CourtListener's REST API
    http://127.0.0.1:<port2>/recap/...                                      RECAP's free copies of PDFs
    http://127.0.0.1:<port>/www.justice.gov/news/rss                        DOJ's press-release feed

A step serves its source as it is before the demo begins, then makes something happen by publishing a
new page (`publish`) or by telling the CourtListener stand-in to list an entry
(`courtlistener.publish_entry`). What is served is recorded real data or
built in the recorded shapes: `monitor/demo_data/SOURCES.md` says which is which.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.demo.courtlistener import CourtListenerStandIn

COURTLISTENER_HOST = "www.courtlistener.com"
STORAGE_HOST = "storage.courtlistener.com"
Watches = list[dict[str, Any]]  # what a step's setup returns: the watches it needs, as in watches.yaml


def demo_data(name: str) -> bytes:
    """A file of `monitor/demo_data/`, shipped with the package."""
    return resources.files("monitor").joinpath("demo_data", name).read_bytes()


@dataclass(frozen=True, slots=True)
class Page:
    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up is not the demo's business; its checks report what they saw


class DemoSources:
    """The local servers. Use as a context manager: they stop whatever happens.

    Two servers, because the monitor tells hosts apart: RECAP's storage (where document previews may
    fetch free PDFs: `previews.hosts`) has one of its own, as storage.courtlistener.com is not
    www.courtlistener.com; every other source is on the first."""

    def __init__(self) -> None:
        self._pages: dict[str, Page] = {}
        self._lock = threading.Lock()
        self._server = self._serve(prefix="")
        self._storage = self._serve(prefix=f"/{STORAGE_HOST}")  # its paths are RECAP's own: /recap/...
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.storage_host = f"127.0.0.1:{self._storage.server_address[1]}"
        # CourtListener's API; the steps add the dockets it serves
        self.courtlistener = CourtListenerStandIn(storage_url=self.url(STORAGE_HOST, ""))
        self._threads = [
            threading.Thread(target=server.serve_forever, name="demo-sources", daemon=True)
            for server in (self._server, self._storage)
        ]

    def _serve(self, *, prefix: str) -> _Server:
        """A server on 127.0.0.1 answering `sources.answer(prefix + path)`."""
        sources = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass  # the demo narrates; request lines would drown it

            def do_GET(self) -> None:
                answer = sources.answer(prefix + self.path, dict(self.headers.items()))
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        return _Server(("127.0.0.1", 0), Handler)

    def __enter__(self) -> DemoSources:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for server in (self._server, self._storage):
            server.shutdown()
            server.server_close()

    def url(self, host: str, path: str) -> str:
        """Where the stand-in for `https://<host><path>` is served."""
        if host == STORAGE_HOST:
            return f"http://{self.storage_host}{path}"
        return f"{self.base}/{host}{path}"

    @property
    def courtlistener_url(self) -> str:
        return f"{self.base}/{COURTLISTENER_HOST}"

    def publish(self, host: str, path: str, body: bytes, content_type: str) -> None:
        """Serve `body` for `https://<host><path>` from now on."""
        with self._lock:
            self._pages[f"/{host}{path}"] = Page(body, content_type)

    def answer(self, target: str, headers: Mapping[str, str]) -> Answer:
        parts = urlsplit(target)
        if parts.path.startswith(f"/{COURTLISTENER_HOST}/"):
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            status, body = self.courtlistener.answer(parts.path.removeprefix(f"/{COURTLISTENER_HOST}"), query, headers)
            return Answer(status, {"Content-Type": "application/json"}, body)
        with self._lock:
            page = self._pages.get(parts.path)
        if page is None:
            return Answer(404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>")
        return Answer(200, {"Content-Type": page.content_type}, page.body)
