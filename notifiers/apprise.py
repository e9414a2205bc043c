"""`apprise`: alerts to any service the Apprise library knows, each given by one URL: Microsoft Teams,
Discord, Matrix, ntfy, Telegram, Pushover, Mattermost, Rocket.Chat, Signal, SMS gateways (Twilio,
Vonage, ...) and about a hundred more (https://github.com/caronc/apprise/wiki lists every URL form).

Keys:
- `urls` (required): a list of Apprise URLs (a single string works too), e.g.
  `ntfys://ntfy.sh/court-alerts`, `discord://${DISCORD_WEBHOOK_ID}/${DISCORD_WEBHOOK_TOKEN}`,
  `tgram://${TELEGRAM_BOT_TOKEN}/-1001234567890`, `msteams://...`. A URL carries the service's
  credentials, so each one is a secret: take it (or its token) from the environment, and know that it
  is never printed, logged or stored; errors name a URL by its place and service, `urls[1]
  (Discord)`. `monitor validate` checks each URL with Apprise: an unknown service, a URL its service
  cannot use, or a service that needs a Python package that is not installed is a configuration error.
- `title_prefix` (default none): put before every title, e.g. `"[cases]"`.
- `format` (default `text`): `text` sends plain text; `markdown` sends Markdown (bold facts, links
  with labels), which Apprise renders for services that show Markdown or HTML (Discord, Matrix,
  Telegram, Teams, email). Source text is escaped either way: a filing cannot add a link, an image or
  HTML.
- `digest` (default `immediate`), `daily_at`, `timezone`, `digest_threshold` (default 5): as for
  email (see `notifiers.digest`): a burst of `digest_threshold` changes of one watch is one message;
  `hourly` and `daily` hold everything in the outbox until the boundary and send one summary, grouped
  by case, then agency.
- `timeout` (default 30): seconds one service may take to accept a message.
- `previews` (default true): after the alert about a filing whose PDF is free, a second message with
  its page count, first lines and a link to the free PDF (`monitor.previews`); `false` opts out.

A message has a title (what happened: "New filing #112 in San Francisco v. Trump") and a body (the
facts, the docket text or summary, links, the keywords that matched). A source going down is sent as
a warning, its recovery as a success (services that show a type colour them).

Delivery: Apprise sends to each URL on its own. A URL that failed is retried by the outbox with
backoff; the URLs that already took the alert are remembered (by a fingerprint, never the URL) and
not sent it again. Apprise's `notify()` blocks and answers only true or false, so it runs in a worker
thread, and the reason of a failure is taken from what Apprise logged during that call ("Failed to
send JSON POST notification: Internal server error., error=500."), masked, into `monitor
deliveries`. A refusal that retrying cannot fix (HTTP 400, 401, 403, 404, 410: a revoked token, a
deleted webhook) fails the delivery at once; every other failure is retried. Apprise services have no
idempotency key: an alert a service accepted whose answer was lost is sent again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import unquote

import apprise
from apprise.plugins import N_MGR
from pydantic import AfterValidator, Field, SecretStr, field_validator

from monitor.config import mask
from monitor.errors import NotifyError
from notifiers.base import Alert, NotifierConfig
from notifiers.digest import DigestConfig, DigestScheduling
from notifiers.format import Content, describe, digest_headline, digest_line, digest_sections, plain_text

log = logging.getLogger(__name__)

WIKI = "https://github.com/caronc/apprise/wiki"
MAX_DIGEST_LINES = 100
MAX_BODY_CHARS = 20000  # Apprise splits or cuts further for each service's own limit
# HTTP answers that say the URL itself is wrong (a deleted webhook, a revoked token): retrying cannot help.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410})
_STATUS = re.compile(r"\berror=(\d{3})\b")
_URL_PARTS = re.compile(r"[/:@?&=#]")
_NOTIFY_TYPES = {"source_down": apprise.NotifyType.WARNING, "source_recovered": apprise.NotifyType.SUCCESS}


# ---------------------------------------------------------------- URLs and their secrets


_LOG_LOCK = threading.Lock()


@contextmanager
def _apprise_log(level: int = logging.WARNING) -> Iterator[list[str]]:
    """What Apprise logs while loading a URL, kept from the application's logs (it may quote the URL)."""
    with _LOG_LOCK:
        logger = logging.getLogger("apprise")
        lines: list[str] = []
        handler = logging.Handler(level)
        handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
        saved = logger.level, logger.propagate
        logger.addHandler(handler)
        logger.setLevel(min(level, logger.getEffectiveLevel()))
        logger.propagate = False
        try:
            yield lines
        finally:
            logger.removeHandler(handler)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]


@lru_cache(maxsize=256)
def url_secrets(url: str) -> frozenset[str]:
    """The URL and each part of it Apprise itself treats as private (tokens, passwords, keys: what its
    privacy form hides), plus custom header values (`+Header=value`): all masked wherever text is shown."""
    found = {url}
    with _apprise_log():
        plugin = apprise.Apprise.instantiate(url)
    if plugin is not None:
        full, private = plugin.url(privacy=False), plugin.url(privacy=True)
        whole, masked = _URL_PARTS.split(full), _URL_PARTS.split(private)
        if len(whole) == len(masked):
            found.update(a for a, b in zip(whole, masked, strict=True) if a != b)
        else:  # not aligned: mask every part of the URL but its scheme
            found.update(_URL_PARTS.split(full.partition("://")[2]))
    found.update(re.findall(r"[?&]\+[^=&]+=([^&]+)", url))
    found |= {unquote(part) for part in found}
    return frozenset(part for part in found if len(part) >= 4)


def _check_url(value: SecretStr) -> SecretStr:
    """A URL Apprise can use, or a ValueError that names the problem without quoting the URL."""
    url = value.get_secret_value().strip()
    if not url:
        raise ValueError("the URL is empty (is its environment variable set to nothing?)")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
        raise ValueError(
            f"not an Apprise URL: it starts with a service, like ntfys://, discord:// or tgram:// ({WIKI})"
        )
    if scheme not in N_MGR:
        raise ValueError(f"Apprise has no service {scheme}://; the services and their URL forms are listed at {WIKI}")
    plugin_class = N_MGR[scheme]
    if not plugin_class.enabled:
        needs = ", ".join((plugin_class.requirements or {}).get("packages_required") or []) or "an extra package"
        raise ValueError(f"Apprise's {scheme}:// service needs {needs}, which is not installed")
    with _apprise_log() as said:
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        reason = mask("; ".join(said[-2:]), set(_URL_PARTS.split(url.partition("://")[2])) | {url}) or "unusable"
        raise ValueError(f"not a valid {scheme}:// URL ({reason}); see {WIKI}")
    return SecretStr(url)


class AppriseConfig(DigestConfig):
    urls: list[Annotated[SecretStr, AfterValidator(_check_url)]] = Field(
        min_length=1, description="Apprise URLs; secrets, from the environment"
    )
    title_prefix: str = Field("", description="before every title, e.g. [cases]")
    format: Literal["text", "markdown"] = Field("text", description="text | markdown")
    timeout: float = Field(30.0, gt=0, le=300, description="seconds one service may take")

    @field_validator("urls", mode="before")
    @classmethod
    def _one_url(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("title_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return " ".join(value.split())

    def secret_values(self) -> set[str]:
        """Every URL and its private parts: joined to the configuration's secrets, masked in any output."""
        return {part for url in self.urls for part in url_secrets(url.get_secret_value())}


# ---------------------------------------------------------------- what a message says


# Enough to keep source text literal: no link or image without `[`, no HTML without `<`, no emphasis or
# code without `*`, `_`, `` ` ``, `~`; a heading only from a `#` at the start of a line. Periods, dashes
# and parentheses stay unescaped, so a title reads the same where a service shows Markdown as text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~|])")
_LEADING_HASH = re.compile(r"^(\s*)#", re.MULTILINE)


def md(text: str) -> str:
    """Source text as literal Markdown: it cannot make a link, an image, HTML, emphasis or a heading."""
    return _LEADING_HASH.sub(r"\1\\#", _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def md_link(label: str, url: str | None) -> str:
    if not url:
        return md(label)
    safe = url.replace("(", "%28").replace(")", "%29").replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")
    return f"[{md(label)}]({safe})"


def _body_text(content: Content) -> str:
    return "\n".join(plain_text(content).splitlines()[1:]).strip()  # the headline is the title


def _body_markdown(content: Content) -> str:
    parts = []
    if content.title and content.kind != "status":
        parts.append(f"**{md_link(content.title, content.title_url)}**")
    if content.facts:
        parts.append("\n".join(f"- **{md(label)}:** {md(value)}" for label, value in content.facts))
    if content.body:
        parts.append(md(content.body))
    if content.changes:
        parts.append(
            "**What changed**\n"
            + "\n".join(f"- **{md(c.label)}:** {md(c.before)} → {md(c.after)}" for c in content.changes)
        )
    if content.links:
        parts.append(" · ".join(md_link(x.label, x.url) for x in content.links))
    if content.matched:
        parts.append(f"_Matched: {md(', '.join(content.matched))}_")
    return "\n\n".join(parts)


def _digest_body(contents: Sequence[Content], markdown: bool, period: str | None) -> str:
    """One line per change, under a heading per case, then per agency; the rest counted, not dropped."""
    lines = [md(period) if markdown else period] if period else []
    shown = size = 0
    full = False
    for section in digest_sections(contents):
        if full:
            break
        heading = (
            f"**{md(section.heading)}** ({len(section.contents)})"
            if markdown
            else f"{section.heading} ({len(section.contents)})"
        )
        section_lines = [heading]
        for content in section.contents:
            if markdown:
                line = "- " + md_link(digest_line(content), content.title_url)
            else:
                line = f"- {digest_line(content)}" + (f"\n  {content.title_url}" if content.title_url else "")
            if shown >= MAX_DIGEST_LINES or size + len(line) > MAX_BODY_CHARS:
                full = True
                break
            section_lines.append(line)
            shown += 1
            size += len(line)
        if len(section_lines) > 1:
            lines += ["", *section_lines]
    if shown < len(contents):
        lines += ["", f"…and {len(contents) - shown} more (`monitor history` lists them all)"]
    watches = ", ".join(dict.fromkeys(c.watch_name for c in contents))
    lines += ["", md(f"Watch: {watches}") if markdown else f"Watch: {watches}"]
    return "\n".join(lines).strip()


# ---------------------------------------------------------------- the notifier


@dataclass(frozen=True)
class _Target:
    index: int
    service: str  # Apprise's name of the service: "Discord", "JSON"
    fingerprint: str  # remembers which URLs took an alert, without storing the URL
    client: apprise.Apprise  # one per URL: each URL's outcome is its own


@dataclass(frozen=True)
class _Failure:
    target: _Target
    reason: str
    permanent: bool


class AppriseNotifier(DigestScheduling):
    kind: ClassVar[str] = "apprise"
    Config: ClassVar[type[NotifierConfig]] = AppriseConfig

    def __init__(self, name: str, config: NotifierConfig, services: Any = None):
        super().__init__(name, config, services)
        self.cfg: AppriseConfig = config  # type: ignore[assignment]
        self._secrets = self.cfg.secret_values()
        self._targets: list[_Target] = []
        for index, secret in enumerate(self.cfg.urls):
            url = secret.get_secret_value()
            client = apprise.Apprise(asset=apprise.AppriseAsset(secure_logging=True))
            with _apprise_log():
                client.add(url)
            service = str(getattr(client[0], "service_name", "") or url.partition("://")[0]) if len(client) else "?"
            self._targets.append(_Target(index, service, hashlib.sha256(url.encode()).hexdigest()[:16], client))

    @property
    def where(self) -> str:
        return f"apprise notifier {self.name!r}"

    def render(self, alert: Alert) -> tuple[str, str, str]:
        """(title, body, Apprise notify type) of an alert of one change or many."""
        contents = [describe(c, alert.name_of(c.watch_id)) for c in alert.changes]
        markdown = self.cfg.format == "markdown"
        kinds = {c.kind for c in alert.changes}
        notify_type = (
            _NOTIFY_TYPES.get(kinds.pop(), apprise.NotifyType.INFO) if len(kinds) == 1 else apprise.NotifyType.INFO
        )
        if len(contents) == 1 and not self.scheduled:
            content = contents[0]
            title, body = content.headline, _body_markdown(content) if markdown else _body_text(content)
            body = body or content.headline
        else:
            title = digest_headline(alert.changes, [c.watch_name for c in contents])
            period = None
            if self.scheduled:
                title, period = self.summary_title(alert, title)
            body = _digest_body(contents, markdown, period)
        prefix = f"{self.cfg.title_prefix} " if self.cfg.title_prefix else ""
        return prefix + (md(title) if markdown else title), body, notify_type

    async def send(self, alert: Alert) -> Mapping[str, Any] | None:
        title, body, notify_type = self.render(alert)
        memory = "delivered:" + hashlib.sha256(alert.idempotency_key.encode()).hexdigest()[:24]
        done = set(await self.recall(memory) or [])
        pending = [t for t in self._targets if t.fingerprint not in done]
        failures = await self._notify(pending, title, body, notify_type)
        failed = {f.target.fingerprint for f in failures}
        delivered = done | {t.fingerprint for t in pending if t.fingerprint not in failed}
        if failures:
            if delivered != done:  # some URLs took it: a retry goes to the others only
                await self.remember(memory, sorted(delivered))
            raise self._error(failures)
        if done:
            await self.remember(memory, None)
        return {"services": [t.service for t in self._targets]}

    async def send_test(self) -> None:
        text = (
            f"Test message from the court-filing monitor (notifier {self.name!r}). "
            "Alerts for these services will look like the ones after this."
        )
        failures = await self._notify(
            self._targets, "Test message from the court-filing monitor", text, apprise.NotifyType.INFO
        )
        if failures:
            raise self._error(failures)

    async def _notify(self, targets: Sequence[_Target], title: str, body: str, notify_type: str) -> list[_Failure]:
        """Send to each target at once, each in a worker thread (Apprise blocks); the failures."""
        outcomes = await asyncio.gather(
            *(asyncio.to_thread(self._notify_one, t, title, body, notify_type) for t in targets)
        )
        return [f for f in outcomes if f is not None]

    def _notify_one(self, target: _Target, title: str, body: str, notify_type: str) -> _Failure | None:
        try:
            result = target.client.notify(
                body=body, title=title, notify_type=notify_type, body_format=self.cfg.format, timeout=self.cfg.timeout
            )
        except Exception as exc:  # noqa: BLE001 - a plugin's bug is this URL's failure, retried
            return _Failure(target, self._mask(f"{type(exc).__name__}: {exc}"), False)
        if result:
            return None
        said = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR", "CRITICAL")]
        if result.status == apprise.AppriseResultStatus.TIMEOUT:
            said.append(f"no answer within {self.cfg.timeout:g}s")
        statuses = {int(code) for line in said for code in _STATUS.findall(line)}
        permanent = bool(statuses) and statuses <= PERMANENT_STATUSES
        reason = "; ".join(dict.fromkeys(said))[-500:] or "Apprise reported a failure without a reason"
        return _Failure(target, self._mask(reason), permanent)

    def _mask(self, text: str) -> str:
        return mask(" ".join(text.split()), self._secrets)

    def _error(self, failures: Sequence[_Failure]) -> NotifyError:
        permanent = all(f.permanent for f in failures)
        detail = "; ".join(f"urls[{f.target.index}] ({f.target.service}) failed: {f.reason}" for f in failures)
        then = (
            "the service refused it: check the URL's token or webhook, then `monitor retry`"
            if permanent
            else "the outbox will retry"
        )
        return NotifyError(f"{self.where}: {detail}; {then}", permanent=permanent)
