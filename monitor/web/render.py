"""HTML rendering: Jinja2 templates with autoescaping on, the filters they use, and the last-line secret scrub.

Every value a template prints is HTML-escaped unless a template says otherwise (none does), so text from
a source (a docket entry, a press-release title with `<script>` in it) shows as text. Links from
sources are only ever `http:` or `https:` (`weblink`): a `javascript:` URL is shown as text, never as
a link. `scrub` replaces every secret in a finished page or feed, in any spelling it could have there
(raw, HTML-escaped, URL-encoded), with `***`: a page can never carry a secret, whatever a template or
a source put in it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import jinja2
import markupsafe

# On every page: no script may run (even if escaping failed somewhere), no framing, no referrer to the
# sites the pages link to (a court's server need not learn the dashboard's address), nothing cached.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def when(value: datetime | None) -> str:
    """`2025-03-03 18:02 UTC`."""
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(value: datetime | None, now: datetime) -> str:
    """`5 min ago`, `in 3 h`, `just now`."""
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    span = abs(seconds)
    if span < 45:
        return "just now" if seconds >= 0 else "in a moment"
    if span < 5400:
        text = f"{round(span / 60)} min"
    elif span < 2 * 86400:
        text = f"{round(span / 3600)} h"
    else:
        text = f"{round(span / 86400)} days"
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def interval(seconds: float) -> str:
    """`90s`, `5m`, `1h30m`, `1d`: the config's own spelling."""
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60}m"
    return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m{seconds % 60}s"


def weblink(url: Any) -> str | None:
    """The URL if it is http(s), else None: the only links a source can put on a page."""
    text = str(url or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else None


environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every template, whatever its name
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(when=when, ago=ago, interval=interval, weblink=weblink)


def page(template: str, **context: Any) -> str:
    return environment.get_template(template).render(**context)


def _spellings(secret: str) -> set[str]:
    return {
        secret,
        str(markupsafe.escape(secret)),
        html.escape(secret, quote=False),
        quote(secret, safe=""),
        quote_plus(secret),
    }


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (4+ characters), in every spelling a page could hold it, replaced by ***."""
    spellings = {s for secret in secrets if len(secret) >= 4 for s in _spellings(secret)}
    for spelling in sorted(spellings, key=len, reverse=True):
        text = text.replace(spelling, "***")
    return text
