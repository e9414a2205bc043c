"""`slack`: post alerts to a Slack channel through the Web API (slack-sdk), one thread per case.

Keys:
- `token` (required): the bot token, `xoxb-...`. Put `token: "${SLACK_BOT_TOKEN}"` in the config and
  the token in the environment; it is never logged, printed or stored.
- `channel` (required): where to post: a channel ID (`C0123456789`, best: it survives renames) or a
  name (`#sanctuary-cases`). Invite the bot to the channel first (`/invite @your-bot`).
- `base_url` (default `https://slack.com/api/`): the Web API base URL (a proxy, a test server).
- `thread_per_case` (default true): the first alert about a case (a docket's filings share a group,
  `case:<court>:<docket number>`) starts a thread; later alerts about that case are replies in it.
- `also_post_to_channel` (default false): send thread replies to the channel too ("Also send to
  #channel").
- `digest_threshold` (default 5): when one watch has this many changes or more due at once, post one
  digest message listing them instead of one message each.
- `timeout` (default 30): seconds for one Web API request.

Setting up the bot: create an app at https://api.slack.com/apps ("From scratch"), add the bot token
scope `chat:write` under "OAuth & Permissions", install it to the workspace, copy the "Bot User OAuth
Token" (`xoxb-...`) into `SLACK_BOT_TOKEN`, and invite the bot to the channel. Then
`monitor test-notifier NAME` checks the token (`auth.test`) and posts a test message.

What a message shows: a filing's case, court and docket number, entry number, dates, docket text,
links to the document and the docket, and its source; a press release's agency, title, date, summary
and link; an update's before -> after; the keywords that matched. Messages are Block Kit with a plain
`text` fallback (used by notifications and screen readers). Everything from a source is escaped
(`&`, `<`, `>`), and text is posted `verbatim`, so a filing or press release can never ping @channel,
mention anyone or forge a link; link previews (unfurling) are off.

Delivery (the outbox's at-least-once, DESIGN invariant 1):
- Posts are paced at one per second per channel, Slack's limit for `chat.postMessage`.
- HTTP 429: waits the `Retry-After` seconds, then tries again (a wait over 30 s is left to the
  outbox, which retries no earlier than Slack asked). HTTP 5xx, Slack's `internal_error`-style errors
  and connection failures: a few quick retries, then the outbox retries later with backoff.
- Errors retrying cannot fix (`invalid_auth`, `not_authed`, `account_inactive`, `token_revoked`,
  `missing_scope`, `channel_not_found`, `not_in_channel`, `is_archived`, `msg_too_long`, `no_text`,
  ...) fail the delivery at once, with Slack's error and what to do in `monitor deliveries`; fix the
  cause, then `monitor retry`.
- Slack has no idempotency key for messages: a post that Slack accepted but whose answer never
  arrived (a timeout, a crash right after) is posted again. That window is the only source of a
  duplicate.

Quirks handled here: a case's thread is remembered per notifier (`thread:<group>`), together with
the channel it lives in; after a change of `channel`, or when Slack no longer knows the thread
(`thread_not_found`), the next alert starts a new thread. If Slack rejects the blocks
(`invalid_blocks`), the alert is posted again as plain text rather than lost.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.error import URLError

from pydantic import Field, SecretStr, field_validator
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from monitor.errors import NotifyError
from monitor.http import parse_retry_after
from monitor.models import Delivery
from notifiers.base import Alert, Notifier, NotifierConfig
from notifiers.format import Content, describe, digest_headline, digest_line, plain_text

log = logging.getLogger(__name__)

# Slack's limits (https://api.slack.com/reference/block-kit/blocks)
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_FALLBACK_TEXT = 3000
MAX_DIGEST_LINES = 100
MAX_DIGEST_CHARS = 20000  # all digest lines together: well under what a message may carry
MAX_CHANGED_FIELDS = 10
MAX_URL = 1000

PACE_SECONDS = 1.0  # chat.postMessage: about one message per second per channel
RETRY_DELAYS = (0.5, 1.0, 2.0)  # waits before the 2nd, 3rd and 4th try of one send (5xx, network)
MAX_INLINE_WAIT = 30.0  # a longer Retry-After is left to the outbox
DEFAULT_RETRY_AFTER = 5.0  # a 429 without a usable Retry-After header

# Slack errors retrying cannot fix, with what to do about them.
PERMANENT_ERRORS = {
    "invalid_auth": "the bot token is not valid; check SLACK_BOT_TOKEN",
    "not_authed": "no bot token was sent; check SLACK_BOT_TOKEN",
    "account_inactive": "the bot's account or workspace is deactivated",
    "token_revoked": "the bot token was revoked; reinstall the app and update SLACK_BOT_TOKEN",
    "token_expired": "the bot token expired; update SLACK_BOT_TOKEN",
    "no_permission": "the token lacks a permission; add the chat:write scope and reinstall the app",
    "missing_scope": "the token lacks the chat:write scope; add it and reinstall the app",
    "not_allowed_token_type": "use a bot token (xoxb-...)",
    "channel_not_found": "the channel does not exist or the bot cannot see it; check `channel` "
                         "(a channel ID is safest) and invite the bot to it",
    "not_in_channel": "the bot is not a member of the channel; invite it with /invite @your-bot",
    "is_archived": "the channel is archived; unarchive it or change `channel`",
    "msg_too_long": "the message is too long",
    "no_text": "the message had no text",
    "restricted_action": "a workspace setting keeps the bot from posting in this channel",
    "restricted_action_read_only_channel": "the channel is read-only for the bot",
    "restricted_action_thread_only_channel": "the channel only allows thread replies",
    "restricted_action_non_threadable_channel": "the channel does not allow threads; set thread_per_case: false",
    "ekm_access_denied": "the workspace administrators suspended posting",
    "team_access_not_granted": "the token has no access to this workspace",
    "too_many_attachments": "the message had too many attachments",
    "invalid_arguments": "Slack rejected the request's arguments",
}
TRANSIENT_ERRORS = frozenset({"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout", "team_added_to_org"})
THREAD_ERRORS = frozenset({"thread_not_found", "invalid_thread_ts", "cannot_reply_to_message", "message_not_found"})
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"})


# ---------------------------------------------------------------- text


def escape(text: Any) -> str:
    """Slack's three control characters as entities: source text cannot mention, ping or link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """`text` escaped, cut (before escaping, so never inside an entity) to at most `limit` characters."""
    limit = max(limit, 1)
    out = escape(text)
    while len(out) > limit:
        keep = max(0, min(len(text) - 2, int(len(text) * limit / len(out)) - 2))
        text = text[:keep].rstrip() + "…"
        out = escape(text)
    return out


def link(url: str | None, label: str, limit: int = 300) -> str:
    """A mrkdwn link with an escaped label, or just the escaped label when there is no usable URL.

    Only http(s) URLs up to 1000 characters are linked (longer ones could not share a 3000-character block).
    """
    if not url or not url.lower().startswith(("http://", "https://")) or len(url) > MAX_URL:
        return fit(label, limit)
    safe = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return f"<{safe}|{fit(label, limit)}>"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text[:MAX_SECTION_TEXT])}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text[:MAX_SECTION_TEXT])]}


def _footer(content: Content) -> str:
    parts = []
    if content.matched:
        parts.append("Matched: " + fit(", ".join(content.matched), 500))
    parts.append("Watch: " + fit(content.watch_name, 200))
    return " · ".join(parts)


def alert_message(content: Content) -> tuple[str, list[dict[str, Any]]]:
    """One change as (fallback text, blocks)."""
    head = f"*{fit(content.headline, 300)}*"
    if content.title and content.kind != "status":
        head += "\n" + link(content.title_url, content.title, 1000)
    blocks = [_section(head)]
    if content.facts:
        fields = [_mrkdwn(f"*{escape(label)}*\n{fit(value, MAX_FIELD_TEXT - len(label) - 10)}")
                  for label, value in content.facts[:MAX_FIELDS]]
        blocks.append({"type": "section", "fields": fields})
    if content.body:
        blocks.append(_section(fit(content.body, MAX_SECTION_TEXT)))
    if content.changes:
        shown = content.changes[:MAX_CHANGED_FIELDS]
        half = max(40, (MAX_SECTION_TEXT - 100) // len(shown) // 2 - 30)
        lines = [f"• *{fit(c.label, 50)}*: {fit(c.before, half)} → {fit(c.after, half)}" for c in shown]
        if len(content.changes) > len(shown):
            lines.append(f"…and {len(content.changes) - len(shown)} more fields")
        blocks.append(_section("*What changed*\n" + "\n".join(lines)))
    if content.links:
        blocks.append(_section("  ·  ".join(link(x.url, x.label) for x in content.links)))
    blocks.append(_context(_footer(content)))
    return fit(plain_text(content), MAX_FALLBACK_TEXT), blocks


def digest_message(title: str, contents: Sequence[Content]) -> tuple[str, list[dict[str, Any]]]:
    """Many changes as one message within Slack's limits; what does not fit is counted, not dropped silently."""
    blocks: list[dict[str, Any]] = [_section(f"*{fit(title, 300)}*")]
    room = MAX_BLOCKS - 2  # the title above, the footer below
    lines = [f"• {link(c.title_url, digest_line(c), 300)}" for c in contents]
    shown, total_chars, chunk = 0, 0, ""
    for line in lines[:MAX_DIGEST_LINES]:
        if total_chars + len(line) > MAX_DIGEST_CHARS:
            break
        if chunk and len(chunk) + 1 + len(line) > MAX_SECTION_TEXT:
            if len(blocks) - 1 >= room:
                break
            blocks.append(_section(chunk))
            chunk = ""
        if not chunk and len(blocks) - 1 >= room:
            break
        chunk = f"{chunk}\n{line}" if chunk else line
        shown += 1
        total_chars += len(line)
    if chunk:
        blocks.append(_section(chunk))
    footer = []
    if shown < len(contents):
        footer.append(f"…and {len(contents) - shown} more (`monitor history` lists them all)")
    watches = list(dict.fromkeys(c.watch_name for c in contents))
    footer.append("Watch: " + fit(", ".join(watches), 500))
    blocks.append(_context(" · ".join(footer)))
    text_lines = [title] + [digest_line(c) for c in contents[:10]]
    if len(contents) > 10:
        text_lines.append(f"and {len(contents) - 10} more")
    return fit("\n".join(text_lines), MAX_FALLBACK_TEXT), blocks


# ---------------------------------------------------------------- pacing


class _Pacer:
    """Next free slot per (API, channel), shared by every Slack notifier of the process."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, str], float] = {}

    def blocked_for(self, key: tuple[str, str]) -> float:
        return max(0.0, self._next.get(key, 0.0) - time.monotonic())

    def reserve(self, key: tuple[str, str], interval: float) -> float:
        """Take the next slot; returns how long to wait for it."""
        now = time.monotonic()
        start = max(now, self._next.get(key, 0.0))
        self._next[key] = start + interval
        return start - now

    def block(self, key: tuple[str, str], seconds: float) -> None:
        self._next[key] = max(self._next.get(key, 0.0), time.monotonic() + seconds)


_PACER = _Pacer()


# ---------------------------------------------------------------- the notifier


class SlackConfig(NotifierConfig):
    token: SecretStr = Field(description="bot token (xoxb-...), from ${SLACK_BOT_TOKEN}")
    channel: str = Field(description="channel ID (C0123...) or #name")
    base_url: str = Field("https://slack.com/api/", description="Web API base URL")
    thread_per_case: bool = Field(True, description="one thread per case")
    also_post_to_channel: bool = Field(False, description="thread replies also go to the channel")
    digest_threshold: int = Field(5, ge=2, description="this many changes of one watch at once: one digest")
    timeout: float = Field(30.0, gt=0, le=300, description="seconds for one request")

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("the bot token is empty; set SLACK_BOT_TOKEN to the app's xoxb-... token")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() for c in value):
            raise ValueError("give a channel ID (C0123456789) or a name like #sanctuary-cases")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.lower().startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL, like https://slack.com/api/")
        return value if value.endswith("/") else value + "/"


class _ThreadGone(Exception):
    pass


class _BlocksRejected(Exception):
    pass


class SlackNotifier(Notifier):
    kind: ClassVar[str] = "slack"
    Config: ClassVar[type[NotifierConfig]] = SlackConfig

    def __init__(self, name: str, config: NotifierConfig, services: Any = None):
        super().__init__(name, config, services)
        cfg: SlackConfig = config  # type: ignore[assignment]
        self.cfg = cfg
        self._client = WebClient(token=cfg.token.get_secret_value(), base_url=cfg.base_url,
                                 timeout=max(1, math.ceil(cfg.timeout)), retry_handlers=[],
                                 logger=logging.getLogger(__name__ + ".sdk"))
        self._memory: dict[str, Any] = {}  # when no store is lent (a notifier built outside the core)
        self._key = (cfg.base_url, cfg.channel)

    # ------------------------------------------------------------ planning

    def plan(self, watch_id: str, watch_name: str, deliveries: Sequence[Delivery]) -> list[Alert]:
        """One message per change; a burst of `digest_threshold` or more becomes one digest."""
        if len(deliveries) >= self.cfg.digest_threshold:
            return [Alert(self.name, watch_id, watch_name, tuple(deliveries))]
        return super().plan(watch_id, watch_name, deliveries)

    def render(self, alert: Alert) -> tuple[str, list[dict[str, Any]]]:
        contents = [describe(c, alert.name_of(c.watch_id)) for c in alert.changes]
        if len(contents) == 1:
            return alert_message(contents[0])
        title = digest_headline(alert.changes, [alert.name_of(c.watch_id) for c in alert.changes])
        return digest_message(title, contents)

    # ------------------------------------------------------------ memory

    def _recall(self, key: str) -> Any:
        if self.services is None:
            return self._memory.get(key)
        return self.services.recall(self.name, key)

    def _remember(self, key: str, value: Any) -> None:
        if self.services is None:
            self._memory[key] = value
        else:
            self.services.remember(self.name, key, value)

    def _thread_of(self, group: str) -> str | None:
        ts = self._recall("thread:" + group)
        channel = self._recall("thread-channel:" + group)
        if not ts or (channel is not None and channel != self.cfg.channel):
            return None  # no thread yet, or it lives in the channel configured before
        return str(ts)

    def _start_thread(self, group: str, ts: str) -> None:
        self._remember("thread-channel:" + group, self.cfg.channel)
        self._remember("thread:" + group, ts)

    # ------------------------------------------------------------ sending

    async def send(self, alert: Alert) -> Mapping[str, Any] | None:
        text, blocks = self.render(alert)
        groups = {c.item.group for c in alert.changes}
        group = groups.pop() if len(groups) == 1 else None
        threaded = self.cfg.thread_per_case and bool(group)
        thread_ts = self._thread_of(group) if threaded and group else None
        try:
            data = await self._post_message(text, blocks, thread_ts)
        except _ThreadGone:
            log.warning("notifier %s: Slack no longer knows the thread of %s; starting a new one", self.name, group)
            thread_ts = None
            data = await self._post_message(text, blocks, None)
        if threaded and group and not thread_ts:
            self._start_thread(group, data["ts"])
        return {"ts": data["ts"], "channel": data.get("channel") or self.cfg.channel}

    async def _post_message(self, text: str, blocks: list[dict[str, Any]] | None, thread_ts: str | None) -> dict[str, Any]:
        payload: dict[str, Any] = dict(channel=self.cfg.channel, text=text, unfurl_links=False, unfurl_media=False,
                                       link_names=False, parse="none")
        if blocks:
            payload["blocks"] = blocks
        if thread_ts:
            payload["thread_ts"] = thread_ts
            if self.cfg.also_post_to_channel:
                payload["reply_broadcast"] = True
        try:
            return await self._call("chat_postMessage", payload)
        except _BlocksRejected as exc:
            log.error("notifier %s: Slack rejected the message blocks (%s); posting it as plain text", self.name, exc)
            payload.pop("blocks", None)
            return await self._call("chat_postMessage", payload)

    async def _call(self, method: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """One Web API call with pacing and a few retries; raises NotifyError (or _ThreadGone, _BlocksRejected)."""
        where = f"slack notifier {self.name!r}"
        attempts = len(RETRY_DELAYS) + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            blocked = _PACER.blocked_for(self._key)
            if blocked > MAX_INLINE_WAIT:
                raise NotifyError(f"{where}: Slack asked to wait {blocked:.0f}s before posting to {self.cfg.channel}",
                                  retry_after=blocked)
            await asyncio.sleep(_PACER.reserve(self._key, PACE_SECONDS))
            try:
                response = await asyncio.to_thread(getattr(self._client, method), **payload)
                return dict(response.data) if isinstance(response.data, dict) else {}
            except SlackApiError as exc:
                status = exc.response.status_code
                data = exc.response.data if isinstance(exc.response.data, dict) else {}
                error = str(data.get("error") or "")
                if status == 429 or error in ("ratelimited", "rate_limited"):
                    wait = _retry_after(exc.response.headers) or DEFAULT_RETRY_AFTER
                    _PACER.block(self._key, wait + 0.01)
                    if last or wait > MAX_INLINE_WAIT:
                        raise NotifyError(f"{where}: rate limited by Slack (HTTP 429); retry after {wait:g}s",
                                          retry_after=wait) from None
                    log.info("%s: rate limited; waiting %.1fs as Slack asked", where, wait)
                    continue
                if status >= 500 or error in TRANSIENT_ERRORS:
                    reason = f"HTTP {status}" if status >= 500 else error
                    if last:
                        raise NotifyError(f"{where}: Slack is having trouble ({reason}) after {attempts} tries; "
                                          "the outbox will retry") from None
                    log.info("%s: Slack answered %s; retrying", where, reason)
                    await asyncio.sleep(RETRY_DELAYS[attempt])
                    continue
                if error in THREAD_ERRORS and "thread_ts" in payload:
                    raise _ThreadGone(error) from None
                if error in BLOCK_ERRORS and "blocks" in payload:
                    details = "; ".join((data.get("response_metadata") or {}).get("messages") or [])[:300]
                    raise _BlocksRejected(f"{error}: {details}" if details else error) from None
                raise NotifyError(_permanent_message(where, status, error, self.cfg), permanent=True) from None
            except (URLError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", None) or exc or type(exc).__name__
                if last:
                    raise NotifyError(f"{where}: could not reach Slack at {self.cfg.base_url}: {reason}") from None
                log.info("%s: could not reach Slack (%s); retrying", where, reason)
                await asyncio.sleep(RETRY_DELAYS[attempt])
        raise AssertionError("unreachable")

    async def send_test(self) -> None:
        auth = await self._call("auth_test", {})
        who = auth.get("user") or auth.get("bot_id") or "the bot"
        text = escape(f"Test message from the court-filing monitor (notifier {self.name!r}, posting as {who}). "
                      "Alerts for this channel will look like the ones after this.")
        await self._post_message(text, None, None)

    async def aclose(self) -> None:
        return None


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            value = value[0] if isinstance(value, list) and value else value
            return parse_retry_after(str(value))
    return None


def _permanent_message(where: str, status: int, error: str, cfg: SlackConfig) -> str:
    if error:
        hint = PERMANENT_ERRORS.get(error, "see https://api.slack.com/methods/chat.postMessage#errors")
        if error in ("channel_not_found", "not_in_channel", "is_archived"):
            hint = f"channel {cfg.channel!r}: {hint}"
        if not error.isidentifier():  # a body that was not Slack's JSON (a proxy's error page)
            return f"{where}: {cfg.base_url} answered HTTP {status} with something other than Slack's API; check base_url"
        return f"{where}: Slack refused the message: {error} ({hint})"
    return f"{where}: {cfg.base_url} answered HTTP {status}; check base_url"
