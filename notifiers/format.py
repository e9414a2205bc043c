"""What an alert says, channel-neutral: shared by the Slack, email and webhook notifiers.

`describe(change, watch_name)` turns one `Change` into a `Content`: a headline that says what happened
("New filing #112 in San Francisco v. Trump", "Updated: filing #112 in ...", "New from DOJ news: ..."),
the item's own title and link, labelled facts, a body, the before -> after of an update, links and the
keyword terms that let the item through a filter. Each channel renders a `Content` its own way and
does its own escaping (Slack mrkdwn, HTML); everything here is plain, unescaped text.

What each kind of alert shows:
- a filing (an item with a docket number, or grouped by case): case name, court and docket number,
  entry number, dates filed and entered, the docket text, links to the document and the docket, and
  the source that saw it (`pacer_rss`, `courtlistener`, ...);
- a press release or any other item: the agency (or the watch's name), title, date, categories,
  summary and link; the followed cases it is about ("Related case: U.S. v. Illinois (N.D. Ill.
  1:25-cv-01285)") and the docket numbers it names that nobody follows, with the command to follow each;
- an update: the same facts, plus each changed field as before -> after;
- a source going down or recovering, a coverage gap opening or closing: what the watch says about it;
- a document preview (`monitor.previews`: an update whose changed fields are `preview_*`): the filing's
  facts with its page count, the first lines of its text as the body, a link to the free PDF, and a
  `Preview` with the thumbnail's reference (Slack uploads it, email shows it inline);
- the monitor following a case's appeal (or the court it was transferred to): "Now following the
  appeal: No. 25-1234, 9th Cir. — from <case>", with the watches it added and the entry that told of it.

`digest_headline` names a burst ("3 new items: DOJ news"), `digest_line` is one change as a single
line of a digest, and `digest_sections` orders a digest's changes for reading: each case with its
filings (and the releases about it: `Change.related`) first, then each agency with its other releases,
then anything else (a source down or back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from monitor.models import STATUS_KINDS, Change, Item
from monitor.previews import is_preview
from monitor.render import FIELD_LABELS, shorten
from monitor.render import LABELS as STATUS_LABELS
from watchers.courts import cite

ContentKind = Literal["filing", "release", "status"]

# Court ids (as PACER and CourtListener spell them) -> the usual citation form. Unknown ids are shown
# upper-cased; the table only needs the courts people actually follow.
COURTS = {
    "cand": "N.D. Cal.",
    "cacd": "C.D. Cal.",
    "caed": "E.D. Cal.",
    "casd": "S.D. Cal.",
    "ilnd": "N.D. Ill.",
    "ilcd": "C.D. Ill.",
    "ilsd": "S.D. Ill.",
    "dcd": "D.D.C.",
    "mad": "D. Mass.",
    "mdd": "D. Md.",
    "nysd": "S.D.N.Y.",
    "nyed": "E.D.N.Y.",
    "njd": "D.N.J.",
    "wawd": "W.D. Wash.",
    "waed": "E.D. Wash.",
    "ord": "D. Or.",
    "rid": "D.R.I.",
    "ctd": "D. Conn.",
    "paed": "E.D. Pa.",
    "txsd": "S.D. Tex.",
    "txwd": "W.D. Tex.",
    "txnd": "N.D. Tex.",
    "ca1": "1st Cir.",
    "ca2": "2d Cir.",
    "ca3": "3d Cir.",
    "ca4": "4th Cir.",
    "ca5": "5th Cir.",
    "ca6": "6th Cir.",
    "ca7": "7th Cir.",
    "ca8": "8th Cir.",
    "ca9": "9th Cir.",
    "ca10": "10th Cir.",
    "ca11": "11th Cir.",
    "cadc": "D.C. Cir.",
    "cafc": "Fed. Cir.",
    "scotus": "U.S. Supreme Court",
}

_CHANGE_LABELS = {"title": "Title", "summary": "Summary", "url": "Link", "published": "Date"}
_FIELD_LABELS = dict(FIELD_LABELS) | {"short_description": "Short description", "description": "Docket text"}


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Preview:
    """A filing's document preview: what the free PDF says, and its first page's thumbnail."""

    pages: int | None
    excerpt: str | None  # the first lines of text, whitespace squashed
    thumbnail: str | None  # the PNG's reference (`Notifier.preview_image`)
    url: str | None  # the free PDF (a RECAP copy)
    label: str  # "filing #112 in SF v. Trump": what it is a preview of


@dataclass(frozen=True, slots=True)
class Content:
    """One change, ready to render. All text is plain and unescaped."""

    kind: ContentKind
    change_kind: str  # added | updated | removed | source_down | source_recovered | gap_opened | gap_closed | following
    headline: str  # what happened, one line: a subject line, a Slack message's first line
    title: str  # the item's own title (for a filing: its short docket text)
    title_url: str | None
    facts: tuple[tuple[str, str], ...]  # (label, value), in display order
    body: str | None  # docket text, press-release summary
    changes: tuple[FieldChange, ...]  # an update's before -> after
    links: tuple[Link, ...]
    matched: tuple[str, ...]
    watch_name: str
    group: str | None
    # The followed cases a release is about, as (case group, heading): a digest lists it under the first.
    related: tuple[tuple[str, str], ...] = ()
    preview: Preview | None = None  # set for a document preview


def court_name(court: str | None) -> str:
    if not court:
        return ""
    return COURTS.get(court.lower(), court.upper())


def is_filing(item: Item) -> bool:
    return "docket_number" in item.fields or (item.group or "").startswith("case:")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value if v not in (None, ""))
    return str(value)


def _http(url: Any) -> str | None:
    """Only http(s) links are ever shown: a source cannot smuggle `javascript:` or `file:` links."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    return url if url.lower().startswith(("https://", "http://")) and len(url) <= 2000 else None


def _entry_label(item: Item) -> str:
    number = item.fields.get("entry_number")
    return f"filing #{number}" if number not in (None, "") else "docket entry"


def _filing_title(item: Item) -> str:
    """The docket text of the entry, without the case-name prefix `entry_item` puts in the title."""
    short = item.fields.get("short_description")
    if short:
        return shorten(str(short), 300)
    case = str(item.fields.get("case_name") or "")
    title = item.title
    if case and title.startswith(case + ": "):
        title = title[len(case) + 2 :]
    return shorten(title, 300)


def _source_name(item: Item, watch_name: str) -> str:
    return _text(item.fields.get("agency") or item.fields.get("author")) or watch_name


def headline(change: Change, watch_name: str) -> str:
    """What happened, in one line of at most 200 characters (newlines in source text become spaces)."""
    item = change.item
    if change.kind == "following":  # the title says it: "Now following the appeal: No. 25-1234, 9th Cir. — ..."
        return shorten(item.title, 200)
    if change.kind in STATUS_KINDS:
        label = STATUS_LABELS[change.kind]
        return shorten(f"{label}: {item.title}", 200)
    if is_filing(item):
        case = _text(item.fields.get("case_name")) or _text(item.fields.get("docket_number")) or watch_name
        entry = _entry_label(item)
        if is_preview(change):
            pages = item.fields.get("preview_pages")
            count = f" ({pages} page{'' if pages == 1 else 's'})" if isinstance(pages, int) else ""
            return shorten(f"Preview of {entry} in {case}{count}", 200)
        text = {
            "added": f"New {entry} in {case}",
            "updated": f"Updated: {entry} in {case}",
            "removed": f"Removed: {entry} in {case}",
        }.get(change.kind, f"{entry} in {case}")
        return shorten(text, 200)
    title = item.title or item.url or item.key
    text = {
        "added": f"New from {_source_name(item, watch_name)}: {title}",
        "updated": f"Updated: {title}",
        "removed": f"Removed: {title}",
    }.get(change.kind, title)
    return shorten(text, 200)


def _change_label(name: str) -> str:
    if name.startswith("fields."):
        short = name.removeprefix("fields.")
        return _FIELD_LABELS.get(short, short.replace("_", " ").capitalize())
    return _CHANGE_LABELS.get(name, name)


def _field_changes(change: Change) -> tuple[FieldChange, ...]:
    if change.kind != "updated":
        return ()
    return tuple(
        FieldChange(
            _change_label(name), shorten(_text(before), 300) or "(none)", shorten(_text(after), 300) or "(none)"
        )
        for name, (before, after) in change.field_changes().items()
    )


def describe(change: Change, watch_name: str) -> Content:
    item = change.item
    fields = item.fields
    facts: list[tuple[str, str]] = []
    links: list[Link] = []
    if change.kind in STATUS_KINDS:
        return Content(
            "status",
            change.kind,
            headline(change, watch_name),
            shorten(item.title, 300),
            None,
            (),
            shorten(item.summary, 1500) or None,
            (),
            (),
            (),
            watch_name,
            item.group,
        )
    if is_filing(item):
        kind: ContentKind = "filing"
        title = _filing_title(item)
        case = _text(fields.get("case_name"))
        court = court_name(fields.get("court"))
        docket = _text(fields.get("docket_number"))
        if case:
            facts.append(("Case", case))
        if court or docket:
            facts.append(("Court", " · ".join(p for p in (court, docket) if p)))
        if fields.get("entry_number") not in (None, ""):
            facts.append(("Entry", f"#{fields['entry_number']}"))
        if fields.get("date_filed"):
            facts.append(("Filed", _text(fields["date_filed"])))
        if fields.get("date_entered") and fields.get("date_entered") != fields.get("date_filed"):
            facts.append(("Entered", _text(fields["date_entered"])))
        source = _text(fields.get("sources") or fields.get("source"))
        if source:
            facts.append(("Source", source))
        description = _text(fields.get("description") or item.summary)
        body = shorten(description, 1500) if description and shorten(description, 300) != title else None
        document, docket_page = _http(fields.get("document_url")), _http(fields.get("docket_url"))
        if document:
            links.append(Link("Document", document))
        if docket_page:
            links.append(Link("Docket", docket_page))
        title_url = document or docket_page or _http(item.url)
    else:
        kind = "release"
        title = shorten(item.title or item.url or item.key, 300)
        facts.append(("Agency", _source_name(item, watch_name)))
        if item.published:
            facts.append(("Date", item.published))
        if fields.get("categories"):
            facts.append(("Categories", _text(fields["categories"])))
        body = shorten(item.summary, 1500) or None
        title_url = _http(item.url)
        if title_url:
            links.append(Link("Read it", title_url))
    facts += related_facts(change)
    preview = _preview(change) if kind == "filing" else None
    if preview is not None:  # the document speaks: its pages, its first lines, the free copy
        facts.append(("Pages", str(preview.pages or "?")))
        body = preview.excerpt
        if preview.url:  # the free copy first (and once: it is often the document link itself)
            links = [Link("Free PDF (RECAP)", preview.url), *(x for x in links if x.url != preview.url)]
            title_url = preview.url
        changes: tuple[FieldChange, ...] = ()
    else:
        changes = _field_changes(change)
    if changes:
        body = None  # the changes say it; the whole text again would bury them
    facts = [(label, shorten(value, 500)) for label, value in facts if value]  # one line each, whatever the source sent
    related = tuple((str(r["group"]), case_heading(r)) for r in change.related if r.get("group"))
    return Content(
        kind,
        change.kind,
        headline(change, watch_name),
        title,
        title_url,
        tuple(facts),
        body,
        changes,
        tuple(links),
        tuple(item.matched),
        watch_name,
        item.group,
        related,
        preview,
    )


def _cite(court: Any) -> str:
    return cite(str(court)) if court else ""


def related_facts(change: Change) -> list[tuple[str, str]]:
    """ "Related case: U.S. v. Illinois (N.D. Ill. 1:25-cv-01285)" for each followed case the item names, and
    "Not followed: 2:18-cv-02660 (E.D. Cal.): monitor follow caed 2:18-cv-02660" for each docket number
    nobody follows (see monitor/related.py)."""
    facts = []
    for case in change.related:
        where = " ".join(p for p in (_cite(case.get("court")), _text(case.get("docket_number"))) if p)
        name = _text(case.get("case"))
        facts.append(("Related case", f"{name} ({where})" if name and name != where else where))
    for docket in change.unfollowed:
        court = f" ({_cite(docket.get('court'))})" if docket.get("court") else ""
        facts.append(("Not followed", f"{_text(docket.get('docket_number'))}{court}: {_text(docket.get('command'))}"))
    return facts


def case_heading(case: Mapping[str, Any]) -> str:
    """A case's heading in a digest, as its filings' facts give it: `U.S. v. Illinois · N.D. Ill. · 1:25-cv-01285`."""
    parts = (_text(case.get("case")), _cite(case.get("court")), _text(case.get("docket_number")))
    return " · ".join(dict.fromkeys(p for p in parts if p))


def _preview(change: Change) -> Preview | None:
    if not is_preview(change):
        return None
    fields = change.item.fields
    pages = fields.get("preview_pages")
    case = _text(fields.get("case_name")) or _text(fields.get("docket_number"))
    label = f"{_entry_label(change.item)} in {case}" if case else _entry_label(change.item)
    return Preview(
        pages if isinstance(pages, int) else None,
        shorten(_text(fields.get("preview_excerpt")), 600) or None,
        _text(fields.get("preview_thumbnail")) or None,
        _http(fields.get("preview_url")),
        label,
    )


def digest_headline(changes: Sequence[Change], watch_names: Sequence[str]) -> str:
    """`3 new items: DOJ news`, `5 changes: SF v. Trump (3 new, 2 updated)`, across watches too."""
    names = list(dict.fromkeys(watch_names))
    where = ", ".join(names) if len(names) <= 3 else f"{len(names)} watches"
    count = len(changes)
    kinds = {k: sum(1 for c in changes if c.kind == k) for k in dict.fromkeys(c.kind for c in changes)}
    if set(kinds) == {"added"}:
        return shorten(f"{count} new item{'s' if count != 1 else ''}: {where}", 200)
    words = {
        "added": "new",
        "updated": "updated",
        "removed": "removed",
        "source_down": "source down",
        "source_recovered": "recovered",
        "gap_opened": "coverage gap",
        "gap_closed": "gap closed",
        "following": "now following",
    }
    detail = ", ".join(f"{n} {words.get(k, k)}" for k, n in kinds.items())
    return shorten(f"{count} change{'s' if count != 1 else ''}: {where} ({detail})", 200)


def digest_line(content: Content) -> str:
    """One change as one plain line: `#112 Order granting ... (filed 2025-04-24)`."""
    facts = dict(content.facts)
    if content.kind == "filing":
        entry = facts.get("Entry", "")
        when = facts.get("Filed")
        text = f"{entry} {content.title}".strip()
        text = f"{text} (filed {when})" if when else text
    elif content.kind == "release":
        when = facts.get("Date")
        text = f"{content.title} ({when})" if when else content.title
        if content.related and facts.get("Agency"):  # listed under its case: say whose release it is
            text = f"{facts['Agency']}: {text}"
    else:
        text = content.headline
    if content.preview is not None:
        text = f"Preview ({content.preview.pages or '?'} pages): " + text
    elif content.change_kind == "updated":
        text = "Updated: " + text
    elif content.change_kind == "removed":
        text = "Removed: " + text
    return shorten(text, 280)


def plain_text(content: Content) -> str:
    """The whole alert as plain text (an email's text part)."""
    lines = [content.headline, ""]
    if content.title and content.kind != "status":
        lines.append(content.title)
    lines += [f"{label}: {value}" for label, value in content.facts]
    if content.body:
        lines += ["", content.body]
    if content.changes:
        lines += ["", "What changed:"]
        lines += [f"  {c.label}: {c.before} -> {c.after}" for c in content.changes]
    if content.links:
        lines.append("")
        lines += [f"{link.label}: {link.url}" for link in content.links]
    if content.matched:
        lines += ["", f"Matched: {', '.join(content.matched)}"]
    return "\n".join(lines).strip()


@dataclass(frozen=True, slots=True)
class Section:
    """The changes of one case, one agency, or the rest, under a heading."""

    kind: Literal["case", "agency", "other"]
    heading: str
    contents: tuple[Content, ...]


def digest_sections(contents: Sequence[Content]) -> list[Section]:
    """A digest's changes grouped for reading: cases first, then agencies, then the rest (status alerts);
    each group in the order its first change arrived, the changes inside it in arrival order."""
    groups: dict[tuple[str, str], list[Content]] = {}
    headings: dict[tuple[str, str], str] = {}
    named_by_filing: set[tuple[str, str]] = set()
    for content in contents:
        facts = dict(content.facts)
        if content.kind == "filing":
            case = facts.get("Case") or facts.get("Court") or content.watch_name
            key = ("case", content.group or case)
            heading = " · ".join(p for p in (case, facts.get("Court") if facts.get("Case") else None) if p)
        elif content.kind == "release" and content.related:  # listed under the case it is about
            key, heading = ("case", content.related[0][0]), content.related[0][1]
        elif content.kind == "release":
            agency = facts.get("Agency") or content.watch_name
            key, heading = ("agency", content.group or agency), agency
        else:
            key, heading = ("other", ""), "Sources"
        groups.setdefault(key, []).append(content)
        if key not in headings or (content.kind == "filing" and key not in named_by_filing):
            headings[key] = heading  # a case is best named by its own filings, else by a release about it
            if content.kind == "filing":
                named_by_filing.add(key)
    order = {"case": 0, "agency": 1, "other": 2}
    ranked = sorted(groups, key=lambda k: order[k[0]])  # stable: arrival order within each kind
    return [Section(k[0], headings[k], tuple(groups[k])) for k in ranked]  # type: ignore[arg-type]
