"""A raw-socket HTTP server on 127.0.0.1 that answers the way broken or hostile servers do.

`ReplayServer` speaks correct HTTP; this one writes whatever bytes a route's script says, so tests can
send what a well-behaved server library never would: a Content-Length that lies, a chunked body cut
off mid-chunk, header bytes that are not allowed, a body that trickles a byte at a time and never ends.

A route is a path mapped to a script: a function given the connected socket, after the request head
has been read, that writes what it likes; the connection is closed when it returns. `raw(bytes)` and
`trickle(...)` build the usual ones. Every request is recorded with its arrival time (`requests`).
Scripts stop when the client hangs up, when the server stops, and after at most `MAX_SECONDS`.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Script = Callable[[socket.socket, threading.Event], None]
MAX_SECONDS = 60.0  # no script runs longer, whatever the client does


@dataclass
class Arrival:
    path: str
    head: bytes
    at: float = field(default_factory=time.monotonic)


def raw(data: bytes) -> Script:
    """Send exactly these bytes, then close the connection."""

    def script(sock: socket.socket, stopping: threading.Event) -> None:
        sock.sendall(data)

    return script


def trickle(head: bytes, byte: bytes = b"x", every: float = 0.05) -> Script:
    """Send `head`, then one byte every `every` seconds until the client gives up (a slowloris body)."""

    def script(sock: socket.socket, stopping: threading.Event) -> None:
        sock.sendall(head)
        deadline = time.monotonic() + MAX_SECONDS
        while not stopping.wait(every) and time.monotonic() < deadline:
            sock.sendall(byte)

    return script


class HostileServer:
    def __init__(self) -> None:
        self.routes: dict[str, Script] = {}
        self.requests: list[Arrival] = []
        self._stopping = threading.Event()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(MAX_SECONDS)
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    data = sock.recv(4096)
                    if not data:
                        return
                    head += data
                path = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else "/"
                server.requests.append(Arrival(path, head))
                script = server.routes.get(path, raw(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
                with contextlib.suppress(OSError):  # the client hung up: what a hostile answer is for
                    script(sock, server._stopping)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, script: Script) -> str:
        """Serve `script` at `path`; returns the URL."""
        self.routes[path] = script
        return self.url(path)
