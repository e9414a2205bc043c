"""What a Slack message looks like: Block Kit blocks and a plain fallback, within Slack's limits.

Used by `notifiers.slack`. A single change is one message with a headline, the item's title as a link,
its facts as fields, the body, an update's before -> after, links and a footer (`alert_message`). Many
changes are one digest (`digest_message`): a title, an optional line saying what period a scheduled
summary covers, and one line per change, grouped under each case and then each agency when asked.
Everything from a source is escaped (`&`, `<`, `>`) and posted `verbatim`, so a filing can never ping
@channel, mention anyone or forge a link. What does not fit Slack's limits (50 blocks, 3,000
characters of section text) is counted in a closing "…and N more", never dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from notifiers.format import Content, digest_line, digest_sections, plain_text

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
        fields = [
            _mrkdwn(f"*{escape(label)}*\n{fit(value, MAX_FIELD_TEXT - len(label) - 10)}")
            for label, value in content.facts[:MAX_FIELDS]
        ]
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


def preview_comment(content: Content) -> str:
    """A document preview as the mrkdwn comment of its uploaded thumbnail: headline, filing, first lines,
    links (a file comment is mrkdwn text, not blocks)."""
    lines = [f"*{fit(content.headline, 300)}*"]
    if content.title:
        lines.append(link(content.title_url, content.title, 600))
    if content.body:
        lines.append("> " + fit(content.body, 1500))
    if content.links:
        lines.append("  ·  ".join(link(x.url, x.label) for x in content.links))
    return "\n".join(lines)


def _bullet(content: Content) -> str:
    return f"• {link(content.title_url, digest_line(content), 300)}"


def _digest_units(contents: Sequence[Content], grouped: bool) -> list[tuple[str, bool]]:
    """The lines of a digest as (mrkdwn text, starts a new block). Grouped: each case's or agency's
    heading opens a block, together with its first line, so a heading never ends a block alone."""
    if not grouped:
        return [(_bullet(c), False) for c in contents]
    units = []
    for section in digest_sections(contents):
        lines = [_bullet(c) for c in section.contents]
        units.append((f"*{fit(section.heading, 300)}* ({len(lines)})\n{lines[0]}", True))
        units += [(line, False) for line in lines[1:]]
    return units


def digest_message(
    title: str, contents: Sequence[Content], *, grouped: bool = False, subtitle: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Many changes as one message within Slack's limits; what does not fit is counted, not dropped silently.

    `grouped` puts the changes under a heading per case, then per agency (a summary across watches);
    `subtitle` is a line under the title (the period a scheduled summary covers).
    """
    blocks: list[dict[str, Any]] = [_section(f"*{fit(title, 300)}*")]
    if subtitle:
        blocks.append(_context(fit(subtitle, 300)))
    shown, total_chars, chunk = 0, 0, ""
    for text, fresh in _digest_units(contents, grouped)[:MAX_DIGEST_LINES]:
        if total_chars + len(text) > MAX_DIGEST_CHARS:
            break
        if chunk and (fresh or len(chunk) + 1 + len(text) > MAX_SECTION_TEXT):
            if len(blocks) + 3 > MAX_BLOCKS:  # this chunk, a new one, the footer
                break
            blocks.append(_section(chunk))
            chunk = ""
        if not chunk and len(blocks) + 2 > MAX_BLOCKS:  # a new chunk, the footer
            break
        chunk = f"{chunk}\n{text}" if chunk else text
        shown += 1
        total_chars += len(text)
    if chunk:
        blocks.append(_section(chunk))
    footer = []
    if shown < len(contents):
        footer.append(f"…and {len(contents) - shown} more (`monitor history` lists them all)")
    watches = list(dict.fromkeys(c.watch_name for c in contents))
    footer.append("Watch: " + fit(", ".join(watches), 500))
    blocks.append(_context(" · ".join(footer)))
    if grouped:  # the fallback text in the order the blocks show
        contents = [c for section in digest_sections(contents) for c in section.contents]
    text_lines = [title, *([subtitle] if subtitle else [])] + [digest_line(c) for c in contents[:10]]
    if len(contents) > 10:
        text_lines.append(f"and {len(contents) - 10} more")
    return fit("\n".join(text_lines), MAX_FALLBACK_TEXT), blocks
