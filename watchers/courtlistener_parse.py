"""CourtListener's answers turned into items: API JSON (dockets, docket entries, search results) and the Atom feed.

Pure functions of what CourtListener sent and of the case being followed (`Case`): no network, no
state. Every entry becomes the shared docket-entry item (`watchers.dockets.entry_item`), so the same
filing seen through the court's RSS feed and through CourtListener is one entry.

Quirks handled here (https://www.courtlistener.com/help/api/rest/, and the CourtListener source):
- `filepath_local` is a path under https://storage.courtlistener.com/ (the webhook payloads show it
  so); a full URL is used as given.
- Entry numbers are null for minute entries; the feed then titles them "Minute entry from <date>"
  and links `#minute-entry-<id>`. Feed dates are midnight Pacific of the date filed (a date, no time).
- RECAP-document search results (`type=rd`) are documents, not entries: main documents and
  attachments come separately and are grouped back into entries by `docket_entry_id`;
  `document_type` is a label there ("PACER Document", "Attachment"), an integer (1, 2) in the REST API.
- Case search results (`type=r`, the one search that answers without a token) name their fields in
  camelCase (`docketNumber`, `caseName`, `dateTerminated`, `assignedTo`) and give the docket's page
  as `docket_absolute_url` (CourtListener's tests, `recap_type_v4_api_keys`).
- The feed's title is "Docket updates for <case name>, <docket number>" (`cl/opinion_page/feeds.py`,
  `make_docket_title`); it is the only place the feed names the case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from monitor.errors import ParseError
from monitor.models import Item
from watchers.dockets import DocketNumber, case_group, entry_item, parse_docket_number
from watchers.feed import NS, channel_info, entries, feed_kind, parse_xml
from watchers.textutil import html_to_text, squash
from watchers.xmlsafe import text_of

STORAGE = "https://storage.courtlistener.com/"
SOURCE = "courtlistener"
_ENTRY_TITLE = re.compile(r"^Entry #\s*(?P<number>[^\s]+) in ")
_MINUTE_ANCHOR = re.compile(r"#minute-entry-(?P<id>\d+)$")


@dataclass(frozen=True, slots=True)
class Case:
    """The case as the items name it: court, number, names, and where its pages are."""

    court: str
    number: DocketNumber
    case_name: str  # the current caption (the docket item)
    label: str  # the caption entries are titled with: the first one seen, so a renamed case is one update
    base_url: str
    docket_path: str  # /docket/<id>/<slug>/ (the slug first seen)

    @property
    def docket_url(self) -> str:
        return self.base_url + self.docket_path

    def doc_url(self, doc: Mapping[str, Any] | None) -> str | None:
        if not doc:
            return None
        path = doc.get("filepath_local")
        if path:
            return path if str(path).startswith(("http://", "https://")) else STORAGE + str(path).lstrip("/")
        if doc.get("absolute_url"):
            path = doc["absolute_url"]
            slug = self.docket_path.rstrip("/").rpartition("/")[2]
            if slug and path.count("/") >= 4:  # /docket/<id>/<entry>[/<attachment>]/<slug>/: the slug first seen
                path = path.rstrip("/").rpartition("/")[0] + f"/{slug}/"
            return self.base_url + path
        return None

    def entry_page(self, number: Any, entry_id: Any) -> str:
        anchor = f"entry-{number}" if number not in (None, "") else f"minute-entry-{entry_id}"
        return f"{self.docket_url}?order_by=desc#{anchor}"


def results(data: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
    found = data.get("results")
    if not isinstance(found, list):
        raise ParseError(f"CourtListener's {what} answer has no `results` list (an error message instead?)")
    return [r for r in found if isinstance(r, dict)]


def docket_from_search(hit: Mapping[str, Any]) -> dict[str, Any]:
    """A case search result (`type=r`) in the shape of the dockets API's docket object."""
    return {
        "id": hit.get("docket_id"),
        "court_id": hit.get("court_id"),
        "docket_number": hit.get("docketNumber"),
        "case_name": hit.get("caseName"),
        "absolute_url": hit.get("docket_absolute_url"),
        "date_terminated": hit.get("dateTerminated"),
        "assigned_to_str": hit.get("assignedTo"),
    }


def docket_item(case: Case, docket: Mapping[str, Any]) -> Item:
    fields = {
        "court": case.court,
        "docket_number": case.number.canonical,
        "case_name": case.case_name,
        "assigned_to": docket.get("assigned_to_str") or None,
        "date_terminated": docket.get("date_terminated") or None,
        "docket_url": case.docket_url,
    }
    return Item(
        key=f"docket:{case.court}:{case.number.canonical}",
        title=f"{case.case_name} ({case.number.canonical})" + (" - terminated" if fields["date_terminated"] else ""),
        url=case.docket_url,
        group=case_group(case.court, case.number),
        fields={**{k: v for k, v in fields.items() if v is not None}, "source": SOURCE},
    )


def _entry(
    case: Case,
    *,
    number: Any,
    entry_id: Any,
    description: str | None,
    date_filed: str | None,
    main: Mapping[str, Any] | None,
    attachments: list[Mapping[str, Any]],
    pacer_seq: Any = None,
) -> Item:
    listed = [
        {
            k: v
            for k, v in (
                ("number", a.get("attachment_number")),
                ("description", squash(a.get("description")) or None),
                ("url", case.doc_url(a)),
            )
            if v not in (None, "")
        }
        for a in sorted(attachments, key=lambda a: a.get("attachment_number") or 0)
    ]
    return entry_item(
        court=case.court,
        docket=case.number,
        case_name=case.label,
        entry_number=number,
        short_description=squash((main or {}).get("description")) or None,
        description=squash(description) or None,
        date_filed=(date_filed or "")[:10] or None,
        document_url=case.doc_url(main) or case.entry_page(number, entry_id),
        docket_url=case.docket_url,
        pacer_doc_id=(main or {}).get("pacer_doc_id") or None,
        pacer_seq=pacer_seq,
        source=SOURCE,
        fallback_key=f"cl-{entry_id}" if entry_id else None,
        extra={"attachments": listed} if listed else None,
    )


def items_from_entries(case: Case, found: list[dict[str, Any]]) -> list[Item]:
    """Entries of the docket-entries API, with their nested RECAP documents."""
    items = []
    for entry in found:
        docs = [d for d in entry.get("recap_documents") or [] if isinstance(d, dict)]
        main = next((d for d in docs if d.get("document_type") == 1), None)
        items.append(
            _entry(
                case,
                number=entry.get("entry_number"),
                entry_id=entry.get("id"),
                description=entry.get("description"),
                date_filed=entry.get("date_filed"),
                main=main,
                pacer_seq=entry.get("pacer_sequence_number"),
                attachments=[d for d in docs if d.get("document_type") == 2],
            )
        )
    return items


def items_from_search(case: Case, found: list[dict[str, Any]]) -> list[Item]:
    """RECAP documents of the search API (`type=rd`), grouped back into entries."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for doc in found:
        # a search hit is a RECAP document: its `description` is the entry's docket text, its own
        # description is `short_description`
        doc = {**doc, "entry_description": doc.get("description"), "description": doc.get("short_description")}
        groups.setdefault(doc.get("docket_entry_id") or ("n", doc.get("entry_number")), []).append(doc)
    items = []
    for docs in groups.values():
        main = next((d for d in docs if not d.get("attachment_number")), None)
        first = main or docs[0]
        items.append(
            _entry(
                case,
                number=first.get("entry_number"),
                entry_id=first.get("docket_entry_id"),
                description=first.get("entry_description"),
                date_filed=first.get("entry_date_filed"),
                main=main,
                attachments=[d for d in docs if d.get("attachment_number")],
            )
        )
    return items


# ------------------------------------------------------------------ the Atom feed


@dataclass(frozen=True, slots=True)
class FeedEntry:
    number: str | None
    entry_id: str | None
    description: str
    date_filed: str | None
    pdf: str | None


@dataclass(frozen=True, slots=True)
class DocketFeed:
    """What `/docket/<id>/feed/` says: the case (from its title), the docket's page, the entries."""

    case_name: str | None
    docket_number: str | None  # as the title writes it; None when the title does not parse
    docket_path: str | None  # /docket/<id>/<slug>/ from the first entry's link
    entries: list[FeedEntry]


def parse_feed(body: bytes, url: str, docket_id: int, warnings: list[str] | None = None) -> DocketFeed:
    """The docket's Atom feed; broken XML is repaired and said in `warnings` (watchers/xmlsafe.py)."""
    root = parse_xml(body, url, warnings)
    if feed_kind(root) != "atom":
        raise ParseError(f"{url}: expected CourtListener's Atom docket feed, got another kind of feed")
    text = channel_info(root).get("title", "").removeprefix("Docket updates for ").strip()
    name, _, tail = text.rpartition(", ")
    number = tail if name and parse_docket_number(tail).valid else None
    nodes = entries(root)
    path = None
    if nodes:  # the docket's page, from the first entry's link (/docket/<id>/<slug>/?order_by=desc#entry-N)
        link_path = urlsplit(_link(nodes[0], "alternate") or "").path
        if link_path.startswith(f"/docket/{docket_id}/"):
            path = link_path
    return DocketFeed(
        case_name=(name if number else text) or None,
        docket_number=number,
        docket_path=path,
        entries=[_feed_entry(node, url) for node in nodes],
    )


def _feed_entry(node: etree._Element, url: str) -> FeedEntry:
    title_node = _first(node, "title")
    title = squash(text_of(title_node) if title_node is not None else "")
    link, enclosure = _link(node, "alternate"), _link(node, "enclosure")
    summary_node = _first(node, "summary")
    summary = html_to_text(text_of(summary_node)) if summary_node is not None else ""
    published_node = _first(node, "published")
    if published_node is None:
        published_node = _first(node, "updated")
    published = (published_node.text or "").strip()[:10] if published_node is not None else None
    match = _ENTRY_TITLE.match(title)
    minute = _MINUTE_ANCHOR.search(link or "")
    if match is None and not title.startswith("Minute entry") and minute is None:
        raise ParseError(
            f"{url}: an entry titled {title!r} is neither 'Entry #N in ...' nor 'Minute entry from "
            "...': has CourtListener changed its feed?"
        )
    return FeedEntry(
        number=match.group("number") if match else None,
        entry_id=minute.group("id") if minute else None,
        description=summary,
        date_filed=published,
        pdf=enclosure,
    )


def items_from_feed(case: Case, feed: DocketFeed) -> list[Item]:
    return [
        docket_item(case, {}),
        *(
            _entry(
                case,
                number=e.number,
                entry_id=e.entry_id,
                description=e.description,
                date_filed=e.date_filed,
                main={"filepath_local": e.pdf} if e.pdf else None,
                attachments=[],
            )
            for e in feed.entries
        ),
    ]


def _link(node: etree._Element, rel: str) -> str | None:
    for child in node.findall(f"{{{NS['atom']}}}link"):
        if child.get("rel", "alternate") == rel and child.get("href"):
            return child.get("href")
    return None


def _first(node: etree._Element, name: str) -> etree._Element | None:
    return node.find(f"{{{NS['atom']}}}{name}")
