"""A server on 127.0.0.1 that speaks enough of the Slack Web API for slack-sdk's WebClient.

`chat.postMessage`, `auth.test` and the file upload flow (`files.getUploadURLExternal`, a POST of the
bytes to the upload URL it hands out, `files.completeUploadExternal` sharing the file into a channel or
a thread with a comment: kept in `messages` too, with its `files`), checked the way Slack checks them:
the bearer token, the channel (by ID or name), the text or blocks (within Slack's Block Kit limits: 50
blocks, 3000 characters of section text, 10 fields of 2000), and `thread_ts` (it must name a message in
the channel). Accepted messages are kept in `messages`; every request, accepted or not, in `requests`,
with its arrival time on `time.monotonic()`.

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
    files: list[UploadedFile] = field(default_factory=list)  # shared by files.completeUploadExternal

    def everything(self) -> str:
        """Text and blocks as one string, for "does this appear anywhere" checks."""
        return self.text + "\n" + json.dumps(self.blocks, ensure_ascii=False)


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int  # what files.getUploadURLExternal was told
    alt_txt: str | None
    data: bytes | None = None  # what was POSTed to the upload URL
    title: str | None = None


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
        self.files: dict[str, UploadedFile] = {}  # by id: every upload started
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
        self.upload_base = f"http://127.0.0.1:{self.port}/upload/"  # as files.slack.com/upload/v1/... is
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

    def uploads(self) -> list[Message]:
        """Messages that shared an uploaded file."""
        return [m for m in self.messages if m.files]

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        if handler.path.startswith("/upload/"):
            self._receive_upload(handler, raw)
            return
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
            return Answer(
                body={
                    "ok": True,
                    "url": "https://test.slack.com/",
                    "team": "Test",
                    "user": "court-monitor",
                    "team_id": "T0TEST",
                    "user_id": "U0BOT",
                    "bot_id": "B0BOT",
                }
            )
        if method == "files.getUploadURLExternal":
            return self._upload_url(payload)
        if method == "files.completeUploadExternal":
            return self._complete_upload(payload)
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
            if thread_ts and not any(
                m.ts == thread_ts and m.channel == channel and not m.thread_ts for m in self.messages
            ):
                return Answer.error("thread_not_found")
            self._counter += 1
            ts = f"{int(time.time())}.{self._counter:06d}"
            self.messages.append(Message(channel, ts, text, blocks, thread_ts, payload, time.monotonic()))
        return Answer(body={"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "ts": ts}})

    def _upload_url(self, payload: dict[str, Any]) -> Answer:
        filename, length = str(payload.get("filename") or ""), str(payload.get("length") or "")
        if not filename or not length.isdigit() or int(length) < 1:
            return Answer.error("invalid_arguments")
        with self._lock:
            self._counter += 1
            file_id = f"F0{self._counter:08d}"
            self.files[file_id] = UploadedFile(file_id, filename, int(length), payload.get("alt_txt") or None)
        return Answer(body={"ok": True, "upload_url": self.upload_base + file_id, "file_id": file_id})

    def _receive_upload(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        file_id = handler.path.split("?")[0].rsplit("/", 1)[-1]
        with self._lock:
            self.requests.append(
                Request("upload", dict(handler.headers.items()), {"file_id": file_id}, time.monotonic())
            )
            upload = self.files.get(file_id)
            ok = upload is not None and upload.data is None and len(raw) == upload.length
            if ok and upload is not None:
                upload.data = raw
        answer = Answer(
            status=200 if ok else 400,
            raw=(f"OK - {len(raw)}" if ok else "bad upload").encode(),
            headers={"Content-Type": "text/plain"},
        )
        self._answer(handler, self.requests[-1], answer)

    def _complete_upload(self, payload: dict[str, Any]) -> Answer:
        try:
            listed = json.loads(payload.get("files") or "[]")
        except ValueError:
            return Answer.error("invalid_arguments")
        channel = str(payload.get("channel_id") or "")
        if channel and channel not in self.channels.values():  # an ID only: names are not accepted here
            return Answer.error("channel_not_found")
        thread_ts = payload.get("thread_ts") or None
        with self._lock:
            entries = [f for f in listed if isinstance(f, dict)]
            found = [self.files.get(str(f.get("id"))) for f in entries]
            uploads = [u for u in found if u is not None and u.data is not None]
            if not entries or len(uploads) < len(entries):  # none listed, or one not uploaded (or not complete)
                return Answer.error("file_upload_not_completed" if entries else "invalid_arguments")
            if thread_ts and not any(
                m.ts == thread_ts and m.channel == channel and not m.thread_ts for m in self.messages
            ):
                return Answer.error("invalid_thread_ts")
            for upload, entry in zip(uploads, entries, strict=True):
                upload.title = entry.get("title")
            if channel:
                self._counter += 1
                ts = f"{int(time.time())}.{self._counter:06d}"
                self.messages.append(
                    Message(
                        channel,
                        ts,
                        str(payload.get("initial_comment") or ""),
                        [],
                        thread_ts,
                        payload,
                        time.monotonic(),
                        files=uploads,
                    )
                )
        return Answer(body={"ok": True, "files": [{"id": u.id, "title": u.title} for u in uploads]})

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
