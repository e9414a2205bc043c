"""The demo's sources: one HTTP server on 127.0.0.1 standing in for the court, CourtListener and DOJ.

Each real source is served under its own host name as the first part of the path, so the demo's
`watches.yaml` says which real address each watch stands in for:

    http://127.0.0.1:<port>/ecf.nysd.uscourts.gov/cgi-bin/rss_outside.pl   the court's RSS feed
    http://127.0.0.1:<port>/www.courtlistener.com/api/rest/v4/...          CourtListener's REST API
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
    """The local server. Use as a context manager: the server stops whatever happens."""

    def __init__(self) -> None:
        self.courtlistener: CourtListenerStandIn | None = None  # set by the step that serves CourtListener
        self._pages: dict[str, Page] = {}
        self._lock = threading.Lock()
        sources = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass  # the demo narrates; request lines would drown it

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                answer = sources.answer(self.path, dict(self.headers.items()))
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-sources", daemon=True)

    def __enter__(self) -> DemoSources:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, host: str, path: str) -> str:
        """Where the stand-in for `https://<host><path>` is served."""
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
        if self.courtlistener is not None and parts.path.startswith(f"/{COURTLISTENER_HOST}/"):
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            status, body = self.courtlistener.answer(parts.path.removeprefix(f"/{COURTLISTENER_HOST}"), query, headers)
            return Answer(status, {"Content-Type": "application/json"}, body)
        with self._lock:
            page = self._pages.get(parts.path)
        if page is None:
            return Answer(404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>")
        return Answer(200, {"Content-Type": page.content_type}, page.body)
