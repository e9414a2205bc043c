"""An HTTP server on 127.0.0.1 that replays recorded pages, and can be told to misbehave.

Each route is a path (with its query string, if any) mapped to a `Route`: status, body, headers, an
optional delay. With `etag=True` it answers conditional GETs with 304 like a well-behaved server.
Every request is recorded (`requests`), so tests can count fetches and read headers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/xml"
    delay: float = 0.0
    etag: bool = False  # answer If-None-Match with 304 when the body is unchanged


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route | list[Route]] = {}
        self.default: Route | None = None  # answer for any path without a route
        self.requests: list[Seen] = []
        # requests being answered right now, and the most ever answered at once, per path: two checks of
        # one watch at the same moment show as 2 here, whatever the machine's speed
        self.in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.requests.append(Seen(self.command, self.path, dict(self.headers.items()), body))
                    route = server.routes.get(self.path)
                    if route is None:
                        route = server.routes.get(self.path.split("?")[0])
                    if route is None:
                        route = server.default
                    if isinstance(route, list):  # a sequence of answers, the last one repeats
                        route = route.pop(0) if len(route) > 1 else route[0]
                if route is None:
                    route = Route(b"not found", status=404, content_type="text/plain")
                if route.delay:
                    time.sleep(route.delay)
                headers = {"Content-Type": route.content_type, **route.headers}
                payload = route.body
                if route.etag:
                    tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                    headers["ETag"] = tag
                    if self.headers.get("If-None-Match") == tag:
                        self.send_response(304)
                        for k, v in headers.items():
                            if k.lower() != "content-type":
                                self.send_header(k, v)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                self.send_response(route.status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _serve_quietly(self) -> None:
                path = self.path.split("?")[0]
                with server._lock:
                    now = server.in_flight[path] = server.in_flight.get(path, 0) + 1
                    server.peak_in_flight[path] = max(now, server.peak_in_flight.get(path, 0))
                try:
                    self._serve()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): not the server's problem
                finally:
                    with server._lock:
                        server.in_flight[path] -= 1

            do_GET = do_POST = do_HEAD = _serve_quietly

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                import sys

                if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    return  # a client that hung up (timeouts, 500s read no further): not a server fault
                super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def set(self, path: str, body: bytes | str | Path = b"", **kwargs) -> Route:
        if isinstance(body, Path):
            body = body.read_bytes()
        elif isinstance(body, str):
            body = body.encode()
        route = Route(body=body, **kwargs)
        with self._lock:
            self.routes[path] = route
        return route

    def sequence(self, path: str, routes: list[Route]) -> None:
        with self._lock:
            self.routes[path] = list(routes)

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path or r.path.split("?")[0] == path)
