"""The benchmark's source server: HTTP/1.1 with keep-alive on 127.0.0.1, ETags and 304s, in its own process.

    python bench/server.py [--sources 1000] [--port 0] [--gzip]

Prints `READY http://127.0.0.1:PORT` on standard output once every body is built, then serves until
killed. All bodies (both phases) are built up front, with their ETags (and gzip copies with --gzip),
so a request costs the server a dict look-up and one write: the server never becomes the bottleneck
of the process being measured, and it runs in a separate process so that none of its CPU time is
counted against the monitor.

Routes:
- `/feeds/NNNN.xml`, `/pages/NNNN.html`: the sources (see bench/content.py); `If-None-Match` with the
  current ETag answers `304 Not Modified`.
- `/_control/phase/base`, `/_control/phase/changed`: switch every source to that phase (in the
  `changed` phase 10% of the sources list one new item).
- `/_control/stats`: JSON counters since the last `/_control/reset` (requests, 200s, 304s, 404s,
  bytes, connections), so the runner can check that a "nothing changed" cycle really was all 304s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import content


class Source:
    __slots__ = ("bodies", "content_type")

    def __init__(self, content_type: str):
        self.content_type = content_type
        self.bodies: dict[str, tuple[bytes, str, bytes | None]] = {}  # phase -> (body, etag, gzipped)


class SourceServer:
    def __init__(self, total: int, *, use_gzip: bool = False):
        self.phase = "base"
        self.use_gzip = use_gzip
        self.sources: dict[str, Source] = {}
        for phase in content.PHASES:
            for path, (body, ctype) in content.routes(total, phase).items():
                source = self.sources.setdefault(path, Source(ctype))
                same = source.bodies.get(content.PHASES[0])
                if same is not None and same[0] == body:  # unchanged in this phase: one copy (10,000 sources)
                    source.bodies[phase] = same
                    continue
                etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
                source.bodies[phase] = (body, etag, gzip.compress(body, 6, mtime=0) if use_gzip else None)
        self.reset()

    def reset(self) -> None:
        self.stats = {"requests": 0, "ok": 0, "not_modified": 0, "not_found": 0, "bytes": 0, "connections": 0}

    # ---------------------------------------------------------------- HTTP

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats["connections"] += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, version = lines[0].split(" ", 2)
                except ValueError:
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
                writer.write(self.respond(method, target, headers, close))
                await writer.drain()
                if close:
                    return
        except ConnectionError:
            pass
        finally:
            writer.close()

    def respond(self, method: str, target: str, headers: dict[str, str], close: bool) -> bytes:
        self.stats["requests"] += 1
        conn = b"Connection: close\r\n" if close else b"Connection: keep-alive\r\n"
        path = target.split("?", 1)[0]
        if path.startswith("/_control/"):
            return self.control(path, conn)
        source = self.sources.get(path)
        if source is None:
            self.stats["not_found"] += 1
            return (
                b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n" + conn + b"\r\nnot found"
            )
        body, etag, zipped = source.bodies[self.phase]
        encoding = b""
        if zipped is not None and "gzip" in headers.get("accept-encoding", ""):
            body, etag, encoding = zipped, etag[:-1] + '-gz"', b"Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
        common = (f"ETag: {etag}\r\nCache-Control: max-age=0, must-revalidate\r\n").encode() + conn
        if etag in (t.strip() for t in headers.get("if-none-match", "").split(",")):
            self.stats["not_modified"] += 1
            return b"HTTP/1.1 304 Not Modified\r\n" + common + b"\r\n"
        self.stats["ok"] += 1
        payload = b"" if method == "HEAD" else body
        self.stats["bytes"] += len(payload)
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: "
            + source.content_type.encode()
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n"
            + encoding
            + common
            + b"\r\n"
            + payload
        )

    def control(self, path: str, conn: bytes) -> bytes:
        parts = path.strip("/").split("/")
        answer: dict[str, Any]
        if parts[1:2] == ["phase"] and len(parts) == 3 and parts[2] in content.PHASES:
            self.phase = parts[2]
            answer = {"phase": self.phase}
        elif parts[1:] == ["stats"]:
            answer = {"phase": self.phase, **self.stats}
            answer["requests"] -= 1  # not counting this one
        elif parts[1:] == ["reset"]:
            self.reset()
            answer = {"reset": True}
        else:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n" + conn + b"\r\n"
        data = json.dumps(answer).encode()
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(data)).encode()
            + b"\r\n"
            + conn
            + b"\r\n"
            + data
        )


async def serve(total: int, port: int, use_gzip: bool) -> None:
    server_state = SourceServer(total, use_gzip=use_gzip)
    server = await asyncio.start_server(server_state.handle, "127.0.0.1", port, backlog=512)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY http://127.0.0.1:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=1000, help="number of sources (half feeds, half pages)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--gzip", action="store_true", help="serve gzip to clients that accept it")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.sources, args.port, args.gzip))
    return 0


if __name__ == "__main__":
    sys.exit(main())
