"""`email`: send alerts by email (SMTP, through aiosmtplib), one per change or as a digest.

Keys:
- `host` (required), `port` (default 465 with `tls`, 587 with `starttls`, else 25).
- `starttls` (default false): upgrade the connection with STARTTLS (port 587, most providers); the
  upgrade is required, never optional, so nobody in between can strip it.
- `tls` (default false): implicit TLS from the first byte (port 465). Not together with `starttls`.
- `verify` (default true): verify the server's certificate and name. `ca_file`: a PEM bundle to trust
  instead of the system's (a relay with a private CA). Turn `verify` off only for a relay you trust.
- `username`, `password`: from the environment (`"${SMTP_USER}"`, `"${SMTP_PASSWORD}"`); never logged or
  printed. Credentials are refused over an unencrypted connection unless the host is this machine.
- `from` (required; `sender` is the same key): the sender, `alerts@example.org` or
  `Court monitor <alerts@example.org>`.
- `to` (required): a list of recipients (they are the only envelope recipients, whatever a message says).
- `subject_prefix` (default none): put before every subject, e.g. `"[cases]"`.
- `digest`: `immediate` (default: one email per change; a burst of `digest_threshold` (default 5) or
  more changes of one watch is one email), `hourly` (changes are held until the next full hour, then
  everything pending goes out in one email, across watches), or `daily` (held until `daily_at`, default
  `08:00`, in `timezone`, default `UTC`, e.g. `America/Los_Angeles`). A digest is sent by the
  dispatcher's first run after the boundary (`monitor run` does that on its own; with cron'd
  `monitor check`, by the first check after it). Everything is held, "source down" alerts included;
  `monitor deliveries` lists what is waiting.
- `timeout` (default 30): seconds for the SMTP conversation.

Subjects say what happened: "New filing #112 in San Francisco v. Trump", "Updated: filing #112 in ...",
"New from DOJ news: Justice Department Sues Illinois ...", "3 new items: DOJ news". Each email has a
plain-text and an HTML part with the same content (see `notifiers.format`). Messages are built with the
standard library's `EmailMessage`, which refuses line breaks in headers; subjects are squashed to one
line first, so a title carrying "\\nBcc: someone" cannot add a header or a recipient.

Delivery: SMTP 4xx answers and connection problems are temporary (the outbox retries with backoff);
5xx answers (authentication failed, sender or all recipients refused, message rejected) fail the
delivery at once with the server's reply. If only some recipients are refused, the email counts as sent
and the refused addresses are logged and kept with the delivery. The Message-ID is derived from the
deliveries' idempotency key, so if a crash between the server accepting a message and the outbox
recording it causes a resend, the copy carries the same Message-ID and most mail systems show it once.
Alerts about one case share a `References` header, so mail clients thread them; a press release about a
followed case (`monitor/related.py`) joins that case's thread, and shows "Related case: ...". A digest
of several cases or agencies is grouped: each case with its filings and the releases about it, then each
agency with its other items.

Document previews (`previews`, default true; `false` opts this notifier out; see `monitor.previews`):
after the alert about a filing whose PDF is free, a second email shows its page count, its first
lines and the first page as an image inside the message (multipart/related, `cid:`: no remote image
for the mail client to fetch or block), linked to the free PDF.
"""

from __future__ import annotations

import email.policy
import hashlib
import html
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr
from typing import Any, ClassVar

import aiosmtplib
from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from monitor.errors import NotifyError
from monitor.render import shorten
from notifiers.base import Alert, NotifierConfig
from notifiers.digest import DigestConfig, DigestScheduling
from notifiers.format import Content, describe, digest_headline, digest_sections, plain_text

log = logging.getLogger(__name__)

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# SMTP's policy (CRLF, 7-bit safe: non-ASCII text is encoded, so no server needs 8BITMIME), but lines are
# not folded before 998 characters (RFC 5322's hard limit): the standard folding at 78 moves a long
# subject to a continuation line, which some parsers read back with a leading space.
POLICY = email.policy.SMTP.clone(max_line_length=998, cte_type="7bit")


def _address(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("an address may not contain a line break")
    _, addr = parseaddr(value)
    if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
        raise ValueError(f"{value!r} is not an email address")
    return value.strip()


class EmailConfig(DigestConfig):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)  # `from`, or `sender`

    host: str = Field(description="SMTP server")
    port: int | None = Field(None, ge=1, le=65535, description="default 465 (tls), 587 (starttls) or 25")
    starttls: bool = Field(False, description="upgrade with STARTTLS (required when set)")
    tls: bool = Field(False, description="implicit TLS (port 465)")
    verify: bool = Field(True, description="verify the server certificate")
    ca_file: str | None = Field(None, description="PEM bundle to trust instead of the system CAs")
    username: SecretStr | None = Field(None, description="from ${SMTP_USER}")
    password: SecretStr | None = Field(None, description="from ${SMTP_PASSWORD}")
    sender: str = Field(alias="from", description="the From address")
    to: list[str] = Field(min_length=1, description="recipients")
    subject_prefix: str = Field("", description="before every subject, e.g. [cases]")
    timeout: float = Field(30.0, gt=0, le=600)

    @field_validator("to", mode="before")
    @classmethod
    def _to_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("subject_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return " ".join(value.split())

    @model_validator(mode="after")
    def _transport(self) -> EmailConfig:
        if self.tls and self.starttls:
            raise ValueError("choose one of tls (implicit TLS, port 465) and starttls (port 587)")
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        if self.username is not None and not (self.tls or self.starttls) and self.host.lower() not in _LOCAL_HOSTS:
            raise ValueError("refusing to send the SMTP password unencrypted: set starttls: true or tls: true")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (465 if self.tls else 587 if self.starttls else 25)


def _hash(text: str, size: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


# ---------------------------------------------------------------- rendering


_STYLE_MUTED = "color:#555;font-size:13px"
THUMBNAIL_SHOWN = 300  # pixels wide in the message (the PNG is twice that, sharp on high-density screens)


def _href(url: str | None, label: str) -> str:
    if url and url.lower().startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a>'
    return html.escape(label)


def content_html(content: Content, *, heading: bool = True, image_cid: str | None = None) -> str:
    """One change as HTML; `image_cid` shows a preview's thumbnail, attached to the message under that id."""
    e = html.escape
    out = []
    if heading:
        out.append(f'<h2 style="font-size:18px">{e(content.headline)}</h2>')
    if content.title and content.kind != "status":
        out.append(f'<p style="font-size:16px"><strong>{_href(content.title_url, content.title)}</strong></p>')
    if content.facts:
        rows = "".join(
            f'<tr><th align="left" style="padding-right:12px">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in content.facts
        )
        out.append(f"<table>{rows}</table>")
    if content.preview is not None and image_cid:
        alt = e(f"First page of {content.preview.label}", quote=True)
        image = (
            f'<img src="cid:{image_cid}" width="{THUMBNAIL_SHOWN}" alt="{alt}" '
            'style="border:1px solid #ccc;max-width:100%">'
        )
        link = content.preview.url
        out.append(f'<p><a href="{e(link, quote=True)}">{image}</a></p>' if link else f"<p>{image}</p>")
    if content.body and content.preview is not None:
        out.append(
            f'<blockquote style="{_STYLE_MUTED};border-left:3px solid #ccc;margin-left:0;padding-left:12px">'
            f"{e(content.body)}</blockquote>"
        )
    elif content.body:
        out.append(f"<p>{e(content.body)}</p>")
    if content.changes:
        items = "".join(
            f"<li><strong>{e(c.label)}</strong>: <del>{e(c.before)}</del> &rarr; <ins>{e(c.after)}</ins></li>"
            for c in content.changes
        )
        out.append(f"<p>What changed:</p><ul>{items}</ul>")
    if content.links:
        out.append("<p>" + " &middot; ".join(_href(x.url, x.label) for x in content.links) + "</p>")
    if content.matched:
        out.append(f'<p style="{_STYLE_MUTED}">Matched: {e(", ".join(content.matched))}</p>')
    return "\n".join(out)


def _page(body: str, footer: str) -> str:
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif;line-height:1.4">\n'
        f'{body}\n<hr><p style="{_STYLE_MUTED}">{html.escape(footer)}</p>\n</body></html>\n'
    )


def render(alert: Alert, cids: Mapping[str, str] | None = None) -> tuple[str, str, str, Content | None]:
    """(subject, text, html, content of a single-change alert) for an alert of one or many changes; `cids`
    maps a preview's thumbnail reference to the Content-ID it is attached under."""
    contents = [describe(c, alert.name_of(c.watch_id)) for c in alert.changes]
    watches = list(dict.fromkeys(c.watch_name for c in contents))
    footer = f"Sent by the court-filing monitor (watch: {', '.join(watches)})."
    cids = cids or {}

    def cid(content: Content) -> str | None:
        return cids.get(content.preview.thumbnail or "") if content.preview else None

    if len(contents) == 1:
        content = contents[0]
        return (
            content.headline,
            f"{plain_text(content)}\n\n-- \n{footer}\n",
            _page(content_html(content, image_cid=cid(content)), footer),
            content,
        )
    subject = digest_headline(alert.changes, [c.watch_name for c in contents])
    text_parts = [subject, ""]
    html_parts = [f'<h2 style="font-size:18px">{html.escape(subject)}</h2>']
    sections = digest_sections(contents)
    index = 0
    for section in sections:
        if len(sections) > 1:  # each case (with the releases about it), then each agency
            text_parts += [f"== {section.heading} ({len(section.contents)}) ==", ""]
            html_parts.append(
                f'<h2 style="font-size:17px;margin-top:28px;border-bottom:1px solid #ccc">'
                f"{html.escape(section.heading)} ({len(section.contents)})</h2>"
            )
        for content in section.contents:
            index += 1
            text_parts += [
                f"{index}. {content.headline}",
                *(f"   {line}" for line in plain_text(content).splitlines()[1:]),
                "",
            ]
            html_parts.append(
                f'<h3 style="font-size:16px;margin-top:24px">{index}. {html.escape(content.headline)}</h3>'
                + content_html(content, heading=False, image_cid=cid(content))
            )
    return subject, "\n".join(text_parts) + f"\n-- \n{footer}\n", _page("\n".join(html_parts), footer), None


# ---------------------------------------------------------------- the notifier


class EmailNotifier(DigestScheduling):
    kind: ClassVar[str] = "email"
    Config: ClassVar[type[NotifierConfig]] = EmailConfig

    def __init__(self, name: str, config: NotifierConfig, services: Any = None):
        super().__init__(name, config, services)
        self.cfg: EmailConfig = config  # type: ignore[assignment]
        self._domain = parseaddr(self.cfg.sender)[1].rpartition("@")[2] or "localhost"

    # ------------------------------------------------------------ messages

    def build_message(self, alert: Alert, images: Mapping[str, bytes] | None = None) -> EmailMessage:
        """The email for an alert; `images` (thumbnail reference -> PNG) are shown inline where a preview
        refers to them."""
        images = dict(images or {})
        cids = {ref: f"{ref.removeprefix('sha256:')[:32]}.preview@{self._domain}" for ref in images}
        subject, text, markup, content = render(alert, cids)
        related = [(cids[ref], png) for ref, png in images.items() if f"cid:{cids[ref]}" in markup]
        # a release about a followed case joins the case's mail thread
        group = (content.related[0][0] if content.related else content.group) if content else _common_group(alert)
        return self._message(subject, text, markup, alert.idempotency_key, group, related)

    async def _images(self, alert: Alert) -> dict[str, bytes]:
        """The thumbnails of the previews in an alert, from the store (gone ones are left out)."""
        if not getattr(self.cfg, "previews", True):
            return {}
        refs = {
            str(c.item.fields["preview_thumbnail"]) for c in alert.changes if c.item.fields.get("preview_thumbnail")
        }
        images = {ref: await self.preview_image(ref) for ref in sorted(refs)}
        return {ref: png for ref, png in images.items() if png}

    def _message(
        self,
        subject: str,
        text: str,
        markup: str,
        key: str,
        group: str | None,
        related: list[tuple[str, bytes]] | None = None,
    ) -> EmailMessage:
        message = EmailMessage(policy=POLICY)
        prefix = f"{self.cfg.subject_prefix} " if self.cfg.subject_prefix else ""
        message["Subject"] = shorten(prefix + subject, 250)  # one line: no header can be smuggled in
        message["From"] = self.cfg.sender
        message["To"] = ", ".join(self.cfg.to)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = f"<{_hash(key)}.alert@{self._domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
        if group:
            thread = f"<{_hash(group, 24)}.case@{self._domain}>"
            message["References"] = thread
            message["In-Reply-To"] = thread
        message.set_content(text)
        message.add_alternative(markup, subtype="html")
        if related:  # the HTML part becomes multipart/related: the HTML and the images it shows by cid:
            html_part = list(message.iter_parts())[1]  # after the plain text
            for cid, png in related:
                html_part.add_related(
                    png, "image", "png", cid=f"<{cid}>", filename="first-page.png", disposition="inline"
                )
        return message

    # ------------------------------------------------------------ sending

    async def send(self, alert: Alert) -> Mapping[str, Any] | None:
        message = self.build_message(alert, await self._images(alert))
        refused = await self._deliver(message)
        result: dict[str, Any] = {"message_id": message["Message-ID"]}
        if refused:
            result["refused"] = refused
        return result

    async def send_test(self) -> None:
        text = (
            f"Test message from the court-filing monitor (notifier {self.name!r}).\n"
            "Alerts will come from this address, to these recipients.\n"
        )
        markup = _page(f"<p>{html.escape(text)}</p>", "Sent by the court-filing monitor.")
        key = f"test:{datetime.now(UTC).isoformat()}:{self.name}"
        await self._deliver(self._message("Test message from the court-filing monitor", text, markup, key, None))

    async def _deliver(self, message: EmailMessage) -> list[str]:
        """Send; returns refused recipients when some (not all) were refused. Raises NotifyError."""
        cfg = self.cfg
        where = f"email notifier {self.name!r} ({cfg.host}:{cfg.effective_port})"
        try:
            errors, _ = await aiosmtplib.send(
                message.as_bytes(policy=POLICY),  # flattened here: aiosmtplib would fold at 78
                sender=parseaddr(cfg.sender)[1],
                recipients=[addr for _, addr in getaddresses(cfg.to)],
                hostname=cfg.host,
                port=cfg.effective_port,
                username=cfg.username.get_secret_value() if cfg.username else None,
                password=cfg.password.get_secret_value() if cfg.password else None,
                use_tls=cfg.tls,
                start_tls=cfg.starttls,
                validate_certs=cfg.verify,
                cert_bundle=cfg.ca_file,
                timeout=cfg.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            permanent = all(code >= 500 for code in codes)
            raise NotifyError(f"{where}: every recipient was refused: {detail}", permanent=permanent) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise NotifyError(
                f"{where}: login refused ({exc.code} {exc.message}); check SMTP username and password",
                permanent=exc.code >= 500,
            ) from None
        except aiosmtplib.SMTPSenderRefused as exc:
            raise NotifyError(
                f"{where}: sender {exc.sender} refused ({exc.code} {exc.message}); check `from`",
                permanent=exc.code >= 500,
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            what = "message refused" if isinstance(exc, aiosmtplib.SMTPDataError) else "server said"
            temporary = exc.code < 500 or isinstance(exc, aiosmtplib.SMTPConnectResponseError)
            raise NotifyError(f"{where}: {what} {exc.code} {exc.message}", permanent=not temporary) from None
        except aiosmtplib.SMTPNotSupported as exc:
            raise NotifyError(f"{where}: {exc}; check starttls/tls for this server", permanent=True) from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # connection, TLS, timeouts: try again later
            raise NotifyError(f"{where}: could not send: {exc or type(exc).__name__}") from None
        refused = [f"{rcpt}: {response.code} {response.message}" for rcpt, response in (errors or {}).items()]
        if refused:
            log.warning("%s: some recipients were refused: %s", where, "; ".join(refused))
        return refused


def _common_group(alert: Alert) -> str | None:
    groups = {c.item.group for c in alert.changes}
    return groups.pop() if len(groups) == 1 else None
