"""`federal_register`: documents published in the Federal Register (by default: executive orders).

Source: the Federal Register API, `https://www.federalregister.gov/api/v1/documents.json`
(documentation: https://www.federalregister.gov/developers/documentation/api/v1 - parameter names
taken from third-party copies of it and from recorded responses; no request has been made to the
live API from this project). No key, no documented rate limit.

Keys (each becomes one of the API's `conditions`):
- `url` (optional): the documents endpoint; default the public one above. A mirror or a recorded copy
  can stand in; every further page is fetched from the same host (see paging below).
- `document_type` (default `[PRESDOCU]`): `conditions[type][]`: PRESDOCU (presidential documents),
  RULE, PRORULE (proposed rules), NOTICE.
- `presidential_document_type` (default `[executive_order]` when `document_type` is PRESDOCU, else
  none): `conditions[presidential_document_type][]`: executive_order, proclamation, memorandum,
  notice, determination, ... Set `[]` for every presidential document.
- `agencies`: `conditions[agencies][]`, agency slugs as in the API (`justice-department`,
  `homeland-security-department`, `executive-office-of-the-president`).
- `since`: `conditions[publication_date][gte]`, a date (YYYY-MM-DD).
- `per_page` (default 20, at most 1000) and `pages` (default 1, at most 20): the newest `per_page`
  documents are read, then `next_page_url` is followed up to `pages` pages in all.
- plus the keys every watch has (`every`, `notify`, `keywords`, ...).
Parameters already written in `url` are kept and win over these keys.

The request always asks for the newest first (`order=newest`) and for the fields used below
(`fields[]=...`). Each item: key `fr:<document_number>` (the Federal Register's own document number,
e.g. `fr:2026-20321`); title; link (`html_url`); date (`publication_date`); summary (the abstract, or
"Executive Order 14434, signed 2026-09-29, published 2026-10-02, FR Doc. 2026-20321"); fields `agency`,
`agencies`, `document_number`, `executive_order_number` (a string, EOs only), `signing_date`,
`publication_date`, `subtype` ("Executive Order", "Proclamation", "Notice", "Determination", ...),
`citation`, `html_url`, `pdf_url`.

Quirks handled here:
- Paging: `count` stops at 10,000 and deep pages use a `search_after_cursor` in `next_page_url`
  (recorded), so `next_page_url` is followed as given, never rebuilt - but on the configured `url`'s
  scheme and host, so that a mirror or local copy is used for every page, not only the first.
- The conditions are checked again on what each document says (`type`, `subtype`,
  `publication_date`), so that a mirror or an over-broad answer cannot widen the watch; agencies are
  not re-checked (the API also matches sub-agencies, which the document's own list may not name).
- An HTML page (the site sometimes answers "Request Access" pages with status 200, per a third-party
  report), a body that is not JSON, or JSON without `results` (other than an answer with `count: 0`)
  is a ParseError: the check fails, nothing is recorded.
- A document that cannot be read (a field of an unexpected type) is skipped with a warning naming it;
  an unreadable `publication_date` is left out of the item's date with a warning. Tracking
  parameters (`utm_*`, ...) are removed from `html_url` and `pdf_url`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field

from monitor.errors import ParseError
from monitor.models import Fetched, Item
from watchers.base import CheckContext, CheckOutcome, UrlWatchConfig, UrlWatcher, WatchConfig
from watchers.dates import iso_day
from watchers.jsonapi import NameList, load_json, result_name
from watchers.listing import Problems, capped, label, read_each, without_repeats
from watchers.textutil import clean_url, html_to_text, squash

DEFAULT_URL = "https://www.federalregister.gov/api/v1/documents.json"
FIELDS = (
    "abstract",
    "agencies",
    "citation",
    "document_number",
    "executive_order_number",
    "html_url",
    "pdf_url",
    "publication_date",
    "signing_date",
    "subtype",
    "title",
    "type",
)
# conditions[type][] codes and the `type` the API writes on each document
TYPE_NAMES = {"PRESDOCU": "Presidential Document", "RULE": "Rule", "PRORULE": "Proposed Rule", "NOTICE": "Notice"}


Names = NameList


class FederalRegisterConfig(UrlWatchConfig):
    document_type: Names = Field(default_factory=lambda: ["PRESDOCU"], description="conditions[type][]")
    presidential_document_type: Names | None = Field(
        None, description="conditions[presidential_document_type][] (default executive_order for PRESDOCU)"
    )
    agencies: Names = Field(default_factory=list, description="conditions[agencies][] (agency slugs)")
    since: date | None = Field(None, description="conditions[publication_date][gte]")
    per_page: int = Field(20, ge=1, le=1000)
    pages: int = Field(1, ge=1, le=20)

    def presidential_types(self) -> list[str]:
        if self.presidential_document_type is not None:
            return list(self.presidential_document_type)
        return ["executive_order"] if [t.upper() for t in self.document_type] == ["PRESDOCU"] else []


def _slug(text: str) -> str:
    return "_".join(text.lower().split())


def document_item(raw: Mapping[str, Any], warnings: list[str] | None = None, position: int = 0) -> Item | None:
    """One Federal Register document as an Item, or None without a document number. An unreadable
    `publication_date` is left out of the item's date, with a warning naming it in `warnings`."""
    number = squash(str(raw.get("document_number") or ""))
    if not number:
        return None
    agencies = [
        squash(str(a.get("name") or a.get("raw_name") or ""))
        for a in raw.get("agencies") or []
        if isinstance(a, Mapping)
    ]
    agencies = [a for a in agencies if a]
    subtype = squash(str(raw.get("subtype") or "")) or None
    eo = raw.get("executive_order_number")
    eo = squash(str(eo)) if eo not in (None, "") else None
    fields: dict[str, Any] = {
        "agency": ", ".join(agencies) if agencies else "Federal Register",
        "agencies": agencies,
        "document_number": number,
        "executive_order_number": eo,
        "subtype": subtype,
        "signing_date": raw.get("signing_date"),
        "publication_date": raw.get("publication_date"),
        "citation": raw.get("citation"),
        "html_url": clean_url(raw.get("html_url")),
        "pdf_url": clean_url(raw.get("pdf_url")),
    }
    fields = {k: v for k, v in fields.items() if v not in (None, "", [])}
    summary = html_to_text(raw.get("abstract") or "") or _describe(fields)
    slugs = [a.get("slug") for a in raw.get("agencies") or [] if isinstance(a, Mapping) and a.get("slug")]
    title = squash(str(raw.get("title") or "")) or f"FR Doc. {number}"
    published = iso_day(
        raw.get("publication_date"), warnings, lambda: label(position, title, f"FR Doc. {number}", kind="document")
    )
    return Item(
        key=f"fr:{number}",
        title=title,
        url=clean_url(raw.get("html_url")) or None,
        summary=summary,
        published=published,
        group=f"agency:{slugs[0]}" if slugs else "agency:federal-register",
        fields=fields,
    )


def _describe(fields: Mapping[str, Any]) -> str:
    """ "Executive Order 14434, signed 2026-09-29, published 2026-10-02, FR Doc. 2026-20321"."""
    what = fields.get("subtype") or "Document"
    if fields.get("executive_order_number"):
        what = f"Executive Order {fields['executive_order_number']}"
    parts = [what]
    if fields.get("signing_date"):
        parts.append(f"signed {fields['signing_date']}")
    if fields.get("publication_date"):
        parts.append(f"published {fields['publication_date']}")
    parts.append(f"FR Doc. {fields['document_number']}")
    if fields.get("citation"):
        parts.append(str(fields["citation"]))
    return ", ".join(parts)


def page_results(fetched: Fetched) -> tuple[list[Mapping[str, Any]], str | None, Mapping[str, Any]]:
    """One API page: its raw documents, its `next_page_url`, and what it says about itself."""
    data = load_json(fetched, "the Federal Register API response")
    if not isinstance(data, Mapping):
        raise ParseError(f"{fetched.url}: the Federal Register API answered a {type(data).__name__}, not an object")
    results = data.get("results")
    if results is None and data.get("count") == 0:
        results = []  # the API leaves `results` out when nothing matches
    if not isinstance(results, list):
        problem = f"errors: {data['errors']}" if data.get("errors") else f"keys: {', '.join(sorted(data)) or 'none'}"
        raise ParseError(
            f"{fetched.url}: no `results` list in the Federal Register API response ({problem}); "
            "is `url` the documents.json endpoint?"
        )
    about = {k: data[k] for k in ("count", "description", "total_pages") if k in data}
    next_url = data.get("next_page_url")
    return [r for r in results if isinstance(r, Mapping)], next_url if isinstance(next_url, str) else None, about


class FederalRegisterWatcher(UrlWatcher):
    """Federal Register documents matching a set of conditions, newest first."""

    kind: ClassVar[str] = "federal_register"
    Config: ClassVar[type[WatchConfig]] = FederalRegisterConfig
    default_url: ClassVar[str | None] = DEFAULT_URL
    example: ClassVar[dict[str, Any]] = {"url": "{base}/api/v1/documents.json", "since": "2025-01-20"}

    @property
    def settings(self) -> FederalRegisterConfig:
        return cast(FederalRegisterConfig, self.config)

    def first_url(self) -> str:
        """The configured URL with the conditions, paging and field list added (the URL's own win)."""
        config = self.settings
        parts = urlsplit(self.url)
        own = parse_qsl(parts.query, keep_blank_values=True)
        have = {k for k, _ in own}
        ours: list[tuple[str, str]] = [("per_page", str(config.per_page)), ("order", "newest")]
        ours += [("conditions[type][]", t) for t in config.document_type]
        ours += [("conditions[presidential_document_type][]", t) for t in config.presidential_types()]
        ours += [("conditions[agencies][]", a) for a in config.agencies]
        if config.since:
            ours.append(("conditions[publication_date][gte]", config.since.isoformat()))
        ours += [("fields[]", f) for f in FIELDS]
        params = own + [(k, v) for k, v in ours if k not in have]
        return urlunsplit(parts._replace(query=urlencode(params)))

    def fetch_urls(self) -> list[str]:
        return [self.first_url()]

    def on_configured_host(self, next_url: str) -> str:
        """`next_page_url` moved onto the scheme and host of the configured URL (a mirror stays a mirror)."""
        configured, given = urlsplit(self.url), urlsplit(next_url)
        return urlunsplit(given._replace(scheme=configured.scheme, netloc=configured.netloc))

    def select(
        self, raws: Sequence[Mapping[str, Any]], warnings: list[str] | None = None, url: str = ""
    ) -> tuple[list[Item], int, int]:
        """Items for documents that meet the conditions; how many failed them; how many had no number.
        A document that cannot be read is skipped with a warning naming it (in `warnings`)."""
        config = self.settings
        types = {TYPE_NAMES[t.upper()] for t in config.document_type if t.upper() in TYPE_NAMES}
        known_types = all(t.upper() in TYPE_NAMES for t in config.document_type)
        subtypes = {_slug(t) for t in config.presidential_types()}
        since = config.since.isoformat() if config.since else None
        outside = skipped = 0
        notes = [] if warnings is None else warnings

        def read(position: int, raw: Mapping[str, Any]) -> Item | None:
            nonlocal outside, skipped
            kind, subtype, published = raw.get("type"), raw.get("subtype"), raw.get("publication_date")
            if (
                (known_types and types and isinstance(kind, str) and kind not in types)
                or (
                    subtypes
                    and kind == "Presidential Document"
                    and isinstance(subtype, str)
                    and _slug(subtype) not in subtypes
                )
                or (since and isinstance(published, str) and published < since)
            ):
                outside += 1
                return None
            item = document_item(raw, notes, position)
            skipped += item is None
            return item

        items = read_each(
            raws,
            read,
            warnings=notes,
            url=url or self.url,
            what="document",
            name=lambda position, raw: result_name(position, raw, "title", "document_number"),
        )
        return without_repeats(items), outside, skipped

    def parse(self, fetched: Fetched) -> list[Item]:
        """One page, pure: its documents that meet the conditions."""
        return self.select(page_results(fetched)[0], url=fetched.url)[0]

    async def check(self, ctx: CheckContext) -> CheckOutcome:
        previous = ctx.state
        url: str | None = self.first_url()
        raws: list[Mapping[str, Any]] = []
        state: dict[str, Any] = {}
        about: Mapping[str, Any] = {}
        pages = 0
        while url and pages < self.settings.pages:
            first = pages == 0
            fetched = await ctx.fetch(
                url,
                etag=previous.get("etag") if first else None,
                last_modified=previous.get("last_modified") if first else None,
            )
            if fetched.not_modified:
                return CheckOutcome(items=None, state=previous)
            results, next_url, page_about = page_results(fetched)
            if first:
                state = {"etag": fetched.etag, "last_modified": fetched.last_modified}
                about = page_about
            raws.extend(results)
            pages += 1
            url = self.on_configured_host(next_url) if next_url else None
        digest = hashlib.sha256(json.dumps(raws, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        state["results_hash"] = digest
        if digest == previous.get("results_hash"):
            return CheckOutcome(items=None, state=state)
        warnings = Problems()
        items, outside, skipped = self.select(raws, warnings, self.first_url())
        info: dict[str, Any] = {**about, "read": len(raws), "pages": pages}
        if outside:
            info["outside_conditions"] = outside
            warnings.append(
                f"{outside} documents in the answer did not meet the configured conditions and were left out"
            )
        if skipped:
            info["skipped"] = skipped
            warnings.append(f"{skipped} documents without a document_number were skipped")
        return CheckOutcome(
            items=items, state=state, info=info, warnings=capped(warnings), incomplete=warnings.skipped > 0
        )
