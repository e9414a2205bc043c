"""`slack`: post alerts to a Slack channel through the Web API (slack-sdk), one thread per case.

Keys:
- `token` (required): the bot token, `xoxb-...`. Put `token: "${SLACK_BOT_TOKEN}"` in the config and
  the token in the environment; it is never logged, printed or stored.
- `channel` (required): where to post: a channel ID (`C0123456789`, best: it survives renames) or a
  name (`#sanctuary-cases`). Invite the bot to the channel first (`/invite @your-bot`).
- `base_url` (default `https://slack.com/api/`): the Web API base URL (a proxy, a test server).
- `thread` (default `cases`): which alerts are threaded. `cases`: the first alert about a case (a
  docket's filings share a group, `case:<court>:<docket number>`) starts a thread, later alerts about
  that case reply in it; press releases, Federal Register documents, other agency items and "source
  down/recovered" alerts are top-level messages, so unrelated news is never buried in an old thread.
  `all`: agency items are threaded per agency too (the behaviour before `thread` existed). `none`: every
  alert is a top-level message. The old key `thread_per_case` still works (`true` is `cases`, `false`
  is `none`); give one of the two, not both.
- `also_post_to_channel` (default false): send thread replies to the channel too ("Also send to
  #channel").
- `digest` (default `immediate`), `daily_at` (default `08:00`), `timezone` (default `UTC`),
  `digest_threshold` (default 5): as for email (see `notifiers.digest`). `immediate`: one message per
  change, and a burst of `digest_threshold` or more changes of one watch is one digest message.
  `hourly` / `daily`: everything is held in the outbox until the boundary, then posted as one summary,
  e.g. at 08:00 "Daily summary: 14 new items: ..." with the period it covers, grouped under each case,
  then each agency, one line per change with its link. A summary is always a top-level message.
- `timeout` (default 30): seconds for one Web API request.

Setting up the bot: the app manifest `deploy/slack-app-manifest.yaml` creates the app in one paste
(https://api.slack.com/apps -> "Create New App" -> "From an app manifest" -> pick the workspace ->
paste it). Or "From scratch": add the bot token scope `chat:write` under "OAuth & Permissions". Install
it to the workspace, copy the "Bot User OAuth Token" (`xoxb-...`) into `SLACK_BOT_TOKEN`, and invite the
bot to the channel. Then `monitor test-notifier NAME` checks the token (`auth.test`) and posts a test
message.

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

Related cases: a press release (or any agency item) that names a followed case (`monitor/related.py`)
is posted top-level as usual, and also as a reply in that case's thread when the case has one (none is
started for it). What has been posted is remembered per alert (`related-posts:<idempotency key>`), so
a retry after a failed reply posts only the missing reply. Digest messages are not replied anywhere.

Document previews (`previews`, default true; `false` opts this notifier out; see `monitor.previews`):
after the alert about a filing whose PDF is free, the first page's thumbnail is uploaded into the
case's thread (`files.getUploadURLExternal`, the upload, `files.completeUploadExternal`, through
slack-sdk's `files_upload_v2`; the bot needs the `files:write` scope, which the manifest grants) with
the page count, the first lines of text and a link to the free PDF as its comment. Uploads go to the
channel's ID: a channel given by name (`#cases`) is known by its ID from the first message posted.
Without `files:write`, or with the thumbnail gone (`previews.keep`), the preview is posted as text.

Quirks handled here: a case's thread is remembered per notifier (`thread:<group>`), together with
the channel it lives in (`thread-channel:<group>`); threads an agency got before `thread` existed are
still in the database but are only used again with `thread: all`; after a change of `channel`, or when
Slack no longer knows the thread (`thread_not_found`), the next alert starts a new thread. If Slack
rejects the blocks (`invalid_blocks`), the alert is posted again as plain text rather than lost.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import math
import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.error import URLError

from pydantic import Field, SecretStr, field_validator, model_validator
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from monitor.errors import NotifyError
from monitor.http import parse_retry_after
from notifiers.base import Alert, NotifierConfig
from notifiers.digest import DigestConfig, DigestScheduling
from notifiers.format import describe, digest_headline
from notifiers.slack_blocks import MAX_BLOCKS, alert_message, digest_message, escape, preview_comment

__all__ = ["MAX_BLOCKS", "SlackConfig", "SlackNotifier", "alert_message", "digest_message", "thread_group"]

log = logging.getLogger(__name__)

# The bot token scopes the Web API calls here need (chat.postMessage, files.*; auth.test needs none). The app
# manifest deploy/slack-app-manifest.yaml grants these, and tests check that it does.
BOT_SCOPES = ("chat:write", "files:write")  # files:write: document previews' thumbnails

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
    "restricted_action_non_threadable_channel": "the channel does not allow threads; set thread: none",
    "ekm_access_denied": "the workspace administrators suspended posting",
    "team_access_not_granted": "the token has no access to this workspace",
    "too_many_attachments": "the message had too many attachments",
    "invalid_arguments": "Slack rejected the request's arguments",
}
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")  # public, private, direct: what uploads need
THREAD_ERRORS = frozenset({"thread_not_found", "invalid_thread_ts", "cannot_reply_to_message", "message_not_found"})
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"})


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


ThreadMode = Literal["cases", "all", "none"]
CASE_GROUP = "case:"  # a docket's items share the group case:<court>:<docket number> (watchers/dockets.py)


class SlackConfig(DigestConfig):
    token: SecretStr = Field(description="bot token (xoxb-...), from ${SLACK_BOT_TOKEN}")
    channel: str = Field(description="channel ID (C0123...) or #name")
    base_url: str = Field("https://slack.com/api/", description="Web API base URL")
    thread: ThreadMode = Field("cases", description="cases: a thread per case; all: per case or agency; none")
    also_post_to_channel: bool = Field(False, description="thread replies also go to the channel")
    timeout: float = Field(30.0, gt=0, le=300, description="seconds for one request")

    @model_validator(mode="before")
    @classmethod
    def _old_thread_key(cls, data: Any) -> Any:
        """`thread_per_case`, the key before `thread`, still works: true is `thread: cases`, false `none`."""
        if not isinstance(data, dict) or "thread_per_case" not in data:
            return data
        data = dict(data)
        old = data.pop("thread_per_case")
        if "thread" in data:
            raise ValueError("thread_per_case is the old name of `thread`: keep only `thread: cases | all | none`")
        if not isinstance(old, bool):
            raise ValueError("thread_per_case must be true or false; its new form is `thread: cases | all | none`")
        data["thread"] = "cases" if old else "none"
        return data

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


def thread_group(alert: Alert, mode: str) -> str | None:
    """The group whose thread an alert replies in (or starts), or None for a top-level message.

    `cases`: only the alerts of one case (a docket's filings); press releases, Federal Register
    documents, other agency items and "source down" alerts are top-level messages, so that news is
    never buried in an old thread. `all`: any alert whose changes share one group. `none`: never.
    """
    groups = {c.item.group for c in alert.changes}
    group = groups.pop() if len(groups) == 1 else None
    if mode == "none" or not group or (mode == "cases" and not group.startswith(CASE_GROUP)):
        return None
    return group


class SlackNotifier(DigestScheduling):
    kind: ClassVar[str] = "slack"
    Config: ClassVar[type[NotifierConfig]] = SlackConfig

    def __init__(self, name: str, config: NotifierConfig, services: Any = None):
        super().__init__(name, config, services)
        cfg: SlackConfig = config  # type: ignore[assignment]
        self.cfg = cfg
        self._client = WebClient(
            token=cfg.token.get_secret_value(),
            base_url=cfg.base_url,
            timeout=max(1, math.ceil(cfg.timeout)),
            retry_handlers=[],
            logger=logging.getLogger(__name__ + ".sdk"),
        )
        self._key = (cfg.base_url, cfg.channel)
        self._channel_id: str | None = cfg.channel if CHANNEL_ID.match(cfg.channel) else None

    def render(self, alert: Alert) -> tuple[str, list[dict[str, Any]]]:
        """One change: its full message. A burst: one digest. A scheduled digest: a summary grouped by
        case, then agency, saying which period it covers."""
        contents = [describe(c, alert.name_of(c.watch_id)) for c in alert.changes]
        headline = digest_headline(alert.changes, [alert.name_of(c.watch_id) for c in alert.changes])
        if self.scheduled:
            title, period = self.summary_title(alert, headline)
            return digest_message(title, contents, grouped=True, subtitle=period)
        if len(contents) == 1:
            return alert_message(contents[0])
        return digest_message(headline, contents, grouped=len({c.group for c in contents}) > 1)

    # ------------------------------------------------------------ threads

    async def _thread_of(self, group: str) -> str | None:
        ts = await self.recall("thread:" + group)
        channel = await self.recall("thread-channel:" + group)
        if not ts or (channel is not None and channel != self.cfg.channel):
            return None  # no thread yet, or it lives in the channel configured before
        return str(ts)

    async def _start_thread(self, group: str, ts: str) -> None:
        await self.remember("thread-channel:" + group, self.cfg.channel)
        await self.remember("thread:" + group, ts)

    # ------------------------------------------------------------ sending

    async def send(self, alert: Alert) -> Mapping[str, Any] | None:
        text, blocks = self.render(alert)
        # A scheduled summary is the channel's news of the day (or hour): always top-level.
        group = None if self.scheduled else thread_group(alert, self.cfg.thread)
        threads = await self._related_threads(alert, group)
        if not threads:
            return await self._post(alert, text, blocks, group)
        # Posted in two places: what is done is remembered per alert, so a retry after a failed reply
        # posts only what is missing (never the top-level message twice).
        key = "related-posts:" + alert.idempotency_key
        done = dict(await self.recall(key) or {})
        if "ts" not in done:
            done.update(await self._post(alert, text, blocks, group))
            await self.remember(key, done)
        replies = dict(done.get("replies") or {})
        for case_group, thread_ts in threads.items():
            if case_group in replies:
                continue
            try:
                data = await self._post_message(text, blocks, thread_ts, broadcast=False)
            except _ThreadGone:  # the case's thread is gone: the top-level post stands, no new thread
                log.warning(
                    "notifier %s: Slack no longer knows the thread of %s; not replying there", self.name, case_group
                )
                replies[case_group] = None
            else:
                replies[case_group] = data["ts"]
            done["replies"] = replies
            await self.remember(key, done)
        return {
            "ts": done["ts"],
            "channel": done.get("channel") or self.cfg.channel,
            "replies": {g: ts for g, ts in replies.items() if ts},
        }

    async def _post(self, alert: Alert, text: str, blocks: list[dict[str, Any]], group: str | None) -> dict[str, Any]:
        """The alert's own message (or its document preview's thumbnail): in its group's thread (starting
        it), or top-level."""
        thread_ts = await self._thread_of(group) if group else None
        uploaded = await self._upload_preview(alert, thread_ts)
        if uploaded is not None:
            return uploaded
        try:
            data = await self._post_message(text, blocks, thread_ts)
        except _ThreadGone:
            log.warning("notifier %s: Slack no longer knows the thread of %s; starting a new one", self.name, group)
            thread_ts = None
            data = await self._post_message(text, blocks, None)
        if group and not thread_ts:
            await self._start_thread(group, data["ts"])
        await self._learn_channel_id(data.get("channel"))
        return {"ts": data["ts"], "channel": data.get("channel") or self.cfg.channel}

    # ------------------------------------------------------------ previews

    async def _learn_channel_id(self, channel_id: Any) -> None:
        """Uploads need the channel's ID; Slack names it in every answer to a post: kept once."""
        if not isinstance(channel_id, str) or not CHANNEL_ID.match(channel_id) or channel_id == self._channel_id:
            return
        self._channel_id = channel_id
        await self.remember("channel-id:" + self.cfg.channel, channel_id)

    async def _upload_preview(self, alert: Alert, thread_ts: str | None) -> dict[str, Any] | None:
        """A document preview as its thumbnail in the thread, with the text as the comment; None when this
        alert is not one, or it must go as text (no thumbnail, no channel ID yet, no files:write)."""
        if self.scheduled or len(alert.changes) != 1 or not getattr(self.cfg, "previews", True):
            return None
        change = alert.changes[0]
        content = describe(change, alert.name_of(change.watch_id))
        if content.preview is None:
            return None
        png = await self.preview_image(content.preview.thumbnail)
        channel_id = self._channel_id or await self.recall("channel-id:" + self.cfg.channel)
        if png is None or not channel_id:
            log.info(
                "notifier %s: posting the preview of %s as text (%s)",
                self.name,
                content.preview.label,
                "its thumbnail is gone" if png is None else "the channel's ID is not known yet",
            )
            return None
        self._channel_id = channel_id
        slug = re.sub(r"[^A-Za-z0-9]+", "-", content.preview.label).strip("-")[:80] or "filing"
        payload: dict[str, Any] = {
            "channel": channel_id,
            "file": png,
            "filename": f"{slug}-page-1.png",
            "title": f"First page of {content.preview.label}",
            "alt_txt": f"First page of {content.preview.label}"[:1000],
            "initial_comment": preview_comment(content),
        }
        if thread_ts:
            payload["thread_ts"] = thread_ts
        try:
            try:
                data = await self._call("files_upload_v2", payload)
            except _ThreadGone:
                payload.pop("thread_ts")
                data = await self._call("files_upload_v2", payload)
        except NotifyError as exc:
            if not exc.permanent:
                raise
            hint = (
                " (the app needs the files:write scope: reinstall it from deploy/slack-app-manifest.yaml)"
                if "missing_scope" in str(exc) or "no_permission" in str(exc)
                else ""
            )
            log.warning(
                "notifier %s: could not upload the preview's thumbnail: %s%s; posting it as text", self.name, exc, hint
            )
            return None
        files = [f for f in data.get("files") or [] if isinstance(f, dict)]
        return {"file": files[0].get("id") if files else None, "channel": channel_id, "thread_ts": thread_ts}

    async def _related_threads(self, alert: Alert, group: str | None) -> dict[str, str]:
        """The threads of the followed cases a single alert is about (a press release naming a case), other
        than its own: it is replied there too. A case without a thread yet gets none (nothing to reply to)."""
        if self.scheduled or self.cfg.thread == "none" or len(alert.changes) != 1:
            return {}
        threads = {}
        for case in alert.changes[0].related:
            case_group = str(case.get("group") or "")
            if case_group.startswith(CASE_GROUP) and case_group != group and case_group not in threads:
                ts = await self._thread_of(case_group)
                if ts:
                    threads[case_group] = ts
        return threads

    async def _post_message(
        self, text: str, blocks: list[dict[str, Any]] | None, thread_ts: str | None, *, broadcast: bool | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "channel": self.cfg.channel,
            "text": text,
            "unfurl_links": False,
            "unfurl_media": False,
            "link_names": False,
            "parse": "none",
        }
        if blocks:
            payload["blocks"] = blocks
        if thread_ts:
            payload["thread_ts"] = thread_ts
            if self.cfg.also_post_to_channel if broadcast is None else broadcast:
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
                raise NotifyError(
                    f"{where}: Slack asked to wait {blocked:.0f}s before posting to {self.cfg.channel}",
                    retry_after=blocked,
                )
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
                        raise NotifyError(
                            f"{where}: rate limited by Slack (HTTP 429); retry after {wait:g}s", retry_after=wait
                        ) from None
                    log.info("%s: rate limited; waiting %.1fs as Slack asked", where, wait)
                    continue
                if status >= 500 or error in TRANSIENT_ERRORS:
                    reason = f"HTTP {status}" if status >= 500 else error
                    if last:
                        raise NotifyError(
                            f"{where}: Slack is having trouble ({reason}) after {attempts} tries; the outbox will retry"
                        ) from None
                    log.info("%s: Slack answered %s; retrying", where, reason)
                    await asyncio.sleep(RETRY_DELAYS[attempt])
                    continue
                if error in THREAD_ERRORS and "thread_ts" in payload:
                    raise _ThreadGone(error) from None
                if error in BLOCK_ERRORS and "blocks" in payload:
                    details = "; ".join((data.get("response_metadata") or {}).get("messages") or [])[:300]
                    raise _BlocksRejected(f"{error}: {details}" if details else error) from None
                raise NotifyError(_permanent_message(where, status, error, self.cfg), permanent=True) from None
            except (URLError, OSError, http.client.HTTPException, SlackRequestError) as exc:  # the last: an upload
                reason = str(getattr(exc, "reason", None) or exc or type(exc).__name__)
                if last:
                    raise NotifyError(f"{where}: could not reach Slack at {self.cfg.base_url}: {reason}") from None
                log.info("%s: could not reach Slack (%s); retrying", where, reason)
                await asyncio.sleep(RETRY_DELAYS[attempt])
        raise AssertionError("unreachable")

    async def send_test(self) -> None:
        auth = await self._call("auth_test", {})
        who = auth.get("user") or auth.get("bot_id") or "the bot"
        text = escape(
            f"Test message from the court-filing monitor (notifier {self.name!r}, posting as {who}). "
            "Alerts for this channel will look like the ones after this."
        )
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
            return (
                f"{where}: {cfg.base_url} answered HTTP {status} with something other than Slack's API; check base_url"
            )
        return f"{where}: Slack refused the message: {error} ({hint})"
    return f"{where}: {cfg.base_url} answered HTTP {status}; check base_url"
