"""A server on 127.0.0.1 that speaks enough of the Slack Web API for slack-sdk's WebClient.

`chat.postMessage` and `auth.test`, checked the way Slack checks them: the bearer token, the channel
(by ID or name), the text or blocks (within Slack's Block Kit limits: 50 blocks, 3000 characters of
section text, 10 fields of 2000), and `thread_ts` (it must name a message in the channel). Accepted
messages are kept in `messages`; every request, accepted or not, in `requests`, with its arrival time
on `time.monotonic()`.

Failures are scripted per method, answered in order before normal service resumes:
`Answer.http(500)` (an error page), `Answer.rate_limited(2)` (429 with `Retry-After: 2`),
`Answer.error("channel_not_found")` (HTTP 200, `ok: false`). `hold(n)` stops the n-th next
`chat.postMessage` mid-flight until `release()`, for crash tests: with `accept=False` the message is
only accepted on release if its client is still connected (a request whose client died before the
server handled it never posts); with `accept=True` it is accepted first and only the answer is held
(the client dies after Slack posted: the one window where a duplicate is expected).
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Answer:
    status: int = 200
    body: dict[str, Any] | None = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def http(cls, status: int, text: str = "<html><body>upstream trouble</body></html>") -> Answer:
        return cls(status=status, raw=text.encode(), headers={"Content-Type": "text/html"})

    @classmethod
    def rate_limited(cls, retry_after: float) -> Answer:
        return cls(status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": f"{retry_after:g}"})

    @classmethod
    def error(cls, code: str) -> Answer:
        return cls(status=200, body={"ok": False, "error": code})

    @classmethod
    def through(cls) -> Answer:
        """In a script: answer this request as the server normally would (script what comes after it)."""
        return cls(status=0)


@dataclass
class Request:
    method: str  # the API method: chat.postMessage, auth.test
    headers: dict[str, str]
    payload: dict[str, Any]
    at: float  # time.monotonic() on arrival
    answer: int = 0  # HTTP status sent back (0: none, the client had gone)
    error: str | None = None


@dataclass
class Message:
    channel: str  # the channel ID
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    payload: dict[str, Any]
    at: float

    def everything(self) -> str:
        """Text and blocks as one string, for "does this appear anywhere" checks."""
        return self.text + "\n" + json.dumps(self.blocks, ensure_ascii=False)


@dataclass
class _Hold:
    remaining: int
    accept: bool
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)  # the held request has been handled
    request: Request | None = None


class SlackServer:
    def __init__(self, *, token: str = "xoxb-test-token", channels: dict[str, str] | None = None) -> None:
        self.token = token
        self.channels = dict(channels or {"sanctuary-cases": "C0SANCTUARY", "other": "C0OTHER"})  # name -> ID
        self.requests: list[Request] = []
        self.messages: list[Message] = []
        self.abandoned: list[Request] = []  # held requests whose client was gone when released
        self._scripts: dict[str, list[Answer]] = {}
        self._hold: _Hold | None = None
        self._lock = threading.Lock()
        self._counter = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                server._handle(self, raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/api/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # ------------------------------------------------------------ control

    def start(self) -> SlackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._hold:
            self._hold.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, *answers: Answer, method: str = "chat.postMessage") -> None:
        with self._lock:
            self._scripts.setdefault(method, []).extend(answers)

    def hold(self, nth: int = 1, *, accept: bool = False) -> _Hold:
        """Hold the n-th next chat.postMessage; wait on `.arrived`, then kill the client, then `release()`."""
        with self._lock:
            self._hold = _Hold(remaining=nth, accept=accept)
            return self._hold

    def release(self) -> None:
        if self._hold:
            self._hold.released.set()

    def posts(self) -> list[Request]:
        return [r for r in self.requests if r.method == "chat.postMessage"]

    def post_directly(self, channel: str, text: str) -> Message:
        """A message already in the channel (left by an earlier version, or a person): thread tests start from it."""
        with self._lock:
            self._counter += 1
            message = Message(channel, f"{int(time.time())}.{self._counter:06d}", text, [], None, {}, time.monotonic())
            self.messages.append(message)
            return message

    def top_level(self) -> list[Message]:
        return [m for m in self.messages if not m.thread_ts]

    def replies(self, ts: str) -> list[Message]:
        return [m for m in self.messages if m.thread_ts == ts]

    # ------------------------------------------------------------ serving

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        method = handler.path.split("?")[0].rsplit("/", 1)[-1]
        content_type = handler.headers.get("content-type", "")
        try:
            payload = json.loads(raw or b"{}") if "json" in content_type else dict(parse_qsl(raw.decode()))
        except ValueError:
            payload = {}
        request = Request(method, dict(handler.headers.items()), payload, time.monotonic())
        with self._lock:
            self.requests.append(request)
            script = self._scripts.get(method)
            scripted = script.pop(0) if script else None
            hold = None
            if method == "chat.postMessage" and self._hold and not self._hold.arrived.is_set():
                self._hold.remaining -= 1
                if self._hold.remaining == 0:
                    hold = self._hold
        if scripted is not None and scripted.status != 0:
            self._answer(handler, request, scripted)
            return
        if hold is None:
            self._answer(handler, request, self._serve(method, handler.headers, payload))
            return
        try:
            hold.request = request
            answer = self._serve(method, handler.headers, payload) if hold.accept else None
            hold.arrived.set()
            hold.released.wait(timeout=60)
            if answer is None:
                if _client_gone(handler.connection):
                    with self._lock:
                        self.abandoned.append(request)
                    handler.close_connection = True
                    return
                answer = self._serve(method, handler.headers, payload)
            self._answer(handler, request, answer)
        finally:
            hold.done.set()

    def _answer(self, handler: BaseHTTPRequestHandler, request: Request, answer: Answer) -> None:
        body = answer.raw if answer.raw is not None else json.dumps(answer.body or {}).encode()
        request.error = (answer.body or {}).get("error") if answer.body else None
        try:
            handler.send_response(answer.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **answer.headers}
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            request.answer = answer.status
        except OSError:  # the client is gone
            handler.close_connection = True

    def _serve(self, method: str, headers: Any, payload: dict[str, Any]) -> Answer:
        auth = headers.get("Authorization") or ""
        token = payload.get("token") or (auth[7:] if auth.startswith("Bearer ") else "")
        if not token:
            return Answer.error("not_authed")
        if token != self.token:
            return Answer.error("invalid_auth")
        if method == "auth.test":
            return Answer(body={"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "court-monitor",
                                "team_id": "T0TEST", "user_id": "U0BOT", "bot_id": "B0BOT"})
        if method != "chat.postMessage":
            return Answer.error("unknown_method")
        channel = self._channel(str(payload.get("channel") or ""))
        if channel is None:
            return Answer.error("channel_not_found")
        blocks = payload.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        text = payload.get("text") or ""
        if not text and not blocks:
            return Answer.error("no_text")
        if len(text) > 40000:
            return Answer.error("msg_too_long")
        problem = _block_problem(blocks)
        if problem:
            return Answer(body={"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": [problem]}})
        thread_ts = payload.get("thread_ts") or None
        with self._lock:
            if thread_ts and not any(m.ts == thread_ts and m.channel == channel and not m.thread_ts for m in self.messages):
                return Answer.error("thread_not_found")
            self._counter += 1
            ts = f"{int(time.time())}.{self._counter:06d}"
            self.messages.append(Message(channel, ts, text, blocks, thread_ts, payload, time.monotonic()))
        return Answer(body={"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "ts": ts}})

    def _channel(self, value: str) -> str | None:
        if value in self.channels.values():
            return value
        return self.channels.get(value.lstrip("#"))


def _block_problem(blocks: list[dict[str, Any]]) -> str | None:
    """What Slack would reject in these blocks, or None."""
    if len(blocks) > 50:
        return f"no more than 50 items allowed [json-pointer:/blocks] ({len(blocks)} given)"
    for index, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "section":
            text = (block.get("text") or {}).get("text", "")
            fields = block.get("fields") or []
            if not text and not fields:
                return f"section needs text or fields [json-pointer:/blocks/{index}]"
            if len(text) > 3000:
                return f"must be less than 3001 characters [json-pointer:/blocks/{index}/text/text]"
            if len(fields) > 10:
                return f"no more than 10 items allowed [json-pointer:/blocks/{index}/fields]"
            if any(len(f.get("text", "")) > 2000 for f in fields):
                return f"must be less than 2001 characters [json-pointer:/blocks/{index}/fields]"
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > 10:
                return f"context needs 1 to 10 elements [json-pointer:/blocks/{index}/elements]"
            if any(len(e.get("text", "")) > 3000 for e in elements):
                return f"must be less than 3001 characters [json-pointer:/blocks/{index}/elements]"
        elif kind == "header":
            if len((block.get("text") or {}).get("text", "")) > 150:
                return f"must be less than 151 characters [json-pointer:/blocks/{index}/text/text]"
        elif kind not in ("divider", "actions", "image", "rich_text"):
            return f"unknown block type {kind!r} [json-pointer:/blocks/{index}/type]"
    return None


def _client_gone(conn: socket.socket) -> bool:
    """True when the peer has closed (or reset) the connection: readable with nothing to read."""
    try:
        readable, _, _ = select.select([conn], [], [], 0)
        if not readable:
            return False
        return conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
