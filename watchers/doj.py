"""`doj`: U.S. Department of Justice press releases, through justice.gov's JSON API.

Source: `https://www.justice.gov/api/v1/press_releases.json`, documented at
https://www.justice.gov/developer/api-documentation/api_v1 (the documentation was read second-hand,
through a third-party summary; the request shape below is the one seen in recorded responses; no
request has been made to the live API from this project). Every request asks for the newest first:
`?pagesize=<pagesize>&page=<n>&sort=date&direction=DESC` (pages count from 0). Other query
parameters written in `url` (e.g. `parameters[title]=Illinois`) are kept and sent with every page.

Keys:
- `url` (optional): the API endpoint; default the public one above. A mirror or a recorded copy
  on a local server can stand in.
- `pages` (default 1, at most 20): how many pages to read per check. Reading stops early at a short
  page. More pages widen the window, so a burst of releases cannot push an item past the window
  between two checks; each page is one request (DOJ asks for at most 4 requests a second).
- `pagesize` (default 50, at most 50: the API silently clamps larger values).
- `component`: only releases from these DOJ components, by name (`Civil Rights Division`,
  `USAO - Northern District of Illinois`, case-insensitive) or by uuid. Default: all.
- `topic`: only releases with one of these topics, by name or uuid. Default: all.
- plus the keys every watch has (`every`, `notify`, `keywords`, ...).

Each item: key `doj:<uuid>` (DOJ's own id; else `doj:number:<press release number>`, else the
canonical URL), so a corrected title or a moved URL is an `updated` change of the same release, never
a new one. Title, link, date (`date`, an epoch at noon UTC, given as an ISO date: DOJ dates have day
precision only), summary (the teaser, else the start of the body), and fields `agency` ("Department of
Justice: <components>"), `components`, `topics`, `number`. The body, reduced to text, is in `_body`:
keyword rules can read it (`keywords.fields: [title, summary, _body]`), it is never stored, so edits
to the body alone alert nothing.

Quirks handled here (seen in recorded responses):
- `parameters[component]=376` is ignored by the API: a recorded call with it returned the whole
  archive (273,539 results) - so `component` and `topic` are applied here, on the results read.
  Note that the two recorded `/opa/pr/` releases are tagged with the originating office (`Civil Rights
  Division`, `Office of the Attorney General`), not with "Office of Public Affairs": to follow OPA,
  filter with keywords rather than `component: Office of Public Affairs`.
- Without `sort=date&direction=DESC` the API lists old releases first (the recorded call without it
  returned releases of January 2009).
- URLs are not a stable identity: the recorded 2009 releases live under `/archives/opa/pr/` and were
  last `changed` on 2025-02-05, consistent with the archive having been moved then; hence `uuid`.
- Bodies are HTML with every `<` escaped as `\\u003C`; JSON decoding restores it and the HTML is reduced
  to text. Teasers hold Windows-1252 bytes mis-decoded as C1 control characters (`Bell\\x92s`); they are
  mapped back (`Bell's`).
- `topic` (and possibly `component`) is `""`, not `[]`, when empty. Populated topics were not seen in
  any recording; they are read like components (`[{uuid, name}]`).
- `changed`, `created` and `executionTime` are not part of an item (a re-save or a move changes
  `changed` with nothing a reader would see; `executionTime` differs on every response), and only the
  results, not the envelope, are compared to skip an unchanged check.
- An HTML page where JSON was expected (justice.gov's HTML pages sit behind a bot challenge), a body
  that is not JSON, or JSON without `results`, is a ParseError: the check fails, nothing is recorded.
- When `component`/`topic` leave nothing out of the releases read, and the watch had matches before,
  the check counts as unchanged (the matches simply scrolled out of the window) rather than as a
  source that suddenly lists nothing.
- A release that cannot be read (a field of an unexpected type) is skipped with a warning naming it;
  the others are read. Tracking parameters (`utm_*`, ...) are removed from links. A release listed
  twice identically (pages shifted between requests) counts once; two different versions of one
  release are left to the diff, which chooses among them whatever their order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field

from monitor.errors import ParseError
from monitor.models import Fetched, Item
from watchers.base import CheckContext, CheckOutcome, UrlWatchConfig, UrlWatcher, WatchConfig
from watchers.jsonapi import NameList, load_json, result_name
from watchers.listing import Problems, capped, read_each, without_repeats
from watchers.textutil import canonical_url, clean_url, html_to_text, squash

DEFAULT_URL = "https://www.justice.gov/api/v1/press_releases.json"
AGENCY = "Department of Justice"
SUMMARY_CHARS = 400
_C1 = re.compile("[\x80-\x9f]")


class DojConfig(UrlWatchConfig):
    pages: int = Field(1, ge=1, le=20, description="pages to read per check")
    pagesize: int = Field(50, ge=1, le=50, description="results per page (the API's maximum is 50)")
    component: NameList = Field(default_factory=list, description="component names or uuids to keep")
    topic: NameList = Field(default_factory=list, description="topic names or uuids to keep")


def fix_c1(text: str) -> str:
    """Windows-1252 punctuation mis-decoded as C1 controls (`\\x92`) back to what was meant (`'`)."""
    return _C1.sub(lambda m: m.group().encode("latin-1").decode("cp1252", errors="replace"), text)


def _text(markup: Any) -> str:
    return html_to_text(fix_c1(markup)) if isinstance(markup, str) else ""


def _terms(value: Any) -> list[dict[str, str]]:
    """`component` / `topic`: a list of {uuid, name}, or "" when empty."""
    if not isinstance(value, list):
        return []
    return [
        {"uuid": str(v.get("uuid") or ""), "name": squash(str(v.get("name") or ""))}
        for v in value
        if isinstance(v, Mapping)
    ]


def _wanted(terms: list[dict[str, str]], wanted: Sequence[str]) -> bool:
    if not wanted:
        return True
    keys = {squash(w).lower() for w in wanted}
    return any(t["uuid"].lower() in keys or t["name"].lower() in keys for t in terms)


def _iso_day(epoch: Any) -> str | None:
    try:
        return datetime.fromtimestamp(int(str(epoch).strip()), UTC).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def release_item(raw: Mapping[str, Any]) -> Item | None:
    """One press release as an Item, or None when it has no id, number or URL to be known by."""
    uuid = squash(str(raw.get("uuid") or ""))
    number = squash(str(raw.get("number") or ""))
    url = clean_url(squash(str(raw.get("url") or "")) or None)
    if uuid:
        key = f"doj:{uuid}"
    elif number:
        key = f"doj:number:{number}"
    elif url:
        key = "url:" + canonical_url(url)
    else:
        return None
    components = _terms(raw.get("component"))
    topics = _terms(raw.get("topic"))
    body = _text(raw.get("body"))
    summary = _text(raw.get("teaser")) or _shorten(body)
    names = [c["name"] for c in components if c["name"]]
    fields: dict[str, Any] = {"agency": f"{AGENCY}: {', '.join(names)}" if names else AGENCY}
    if names:
        fields["components"] = names
    if topic_names := [t["name"] for t in topics if t["name"]]:
        fields["topics"] = topic_names
    if number:
        fields["number"] = number
    if body:
        fields["_body"] = body
    title = _text(raw.get("title")) or url or number or uuid
    return Item(
        key=key,
        title=title,
        url=url,
        summary=summary or None,
        published=_iso_day(raw.get("date")),
        group="agency:doj",
        fields=fields,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def page_results(fetched: Fetched) -> tuple[list[Mapping[str, Any]], int | None]:
    """The raw results of one API page and the total count the API reports (None if absent)."""
    data = load_json(fetched, "the DOJ press-release API response")
    if not isinstance(data, Mapping) or not isinstance(data.get("results"), list):
        found = (
            f"keys: {', '.join(sorted(data)) or 'none'}"
            if isinstance(data, Mapping)
            else f"the answer is a JSON {type(data).__name__}"
        )
        raise ParseError(
            f"{fetched.url}: no `results` list in the DOJ API response ({found}); "
            "is `url` the press_releases.json endpoint?"
        )
    metadata = _mapping(data.get("metadata"))
    status = _mapping(metadata.get("responseInfo")).get("status")
    if status is not None and str(status) != "200":
        raise ParseError(f"{fetched.url}: the DOJ API reports status {status} inside a 200 response")
    count = _mapping(metadata.get("resultset")).get("count")
    try:
        total = int(count) if count is not None else None
    except (TypeError, ValueError):
        total = None
    return [r for r in data["results"] if isinstance(r, Mapping)], total


class DojWatcher(UrlWatcher):
    """DOJ press releases from the justice.gov JSON API, newest first, several pages per check."""

    kind: ClassVar[str] = "doj"
    Config: ClassVar[type[WatchConfig]] = DojConfig
    default_url: ClassVar[str | None] = DEFAULT_URL
    example: ClassVar[dict[str, Any]] = {"url": "{base}/api/v1/press_releases.json", "pages": 2}

    @property
    def settings(self) -> DojConfig:
        return cast(DojConfig, self.config)

    def page_url(self, page: int) -> str:
        """The request for one page: our paging and sort first, then the URL's own parameters."""
        parts = urlsplit(self.url)
        own = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("page", "pagesize")]
        params = [("pagesize", str(self.settings.pagesize)), ("page", str(page))]
        if not any(k == "sort" for k, _ in own):
            params += [("sort", "date"), ("direction", "DESC")]
        return urlunsplit(parts._replace(query=urlencode(params + own)))

    def fetch_urls(self) -> list[str]:
        return [self.page_url(0)]

    def select(
        self, raws: Sequence[Mapping[str, Any]], warnings: list[str] | None = None, url: str = ""
    ) -> tuple[list[Item], int]:
        """Items for the releases that pass `component` and `topic`; and how many had no id. A release
        that cannot be read is skipped with a warning naming it (in `warnings`)."""
        config = self.settings
        skipped = 0

        def read(_: int, raw: Mapping[str, Any]) -> Item | None:
            nonlocal skipped
            if not (
                _wanted(_terms(raw.get("component")), config.component)
                and _wanted(_terms(raw.get("topic")), config.topic)
            ):
                return None
            item = release_item(raw)
            skipped += item is None
            return item

        items = read_each(
            raws,
            read,
            name=lambda position, raw: result_name(position, raw, "title", "url", "uuid"),
            warnings=[] if warnings is None else warnings,
            url=url or self.url,
            what="release",
        )
        # a release published between two page requests shifts the pages: the same release twice
        return without_repeats(items), skipped

    def parse(self, fetched: Fetched) -> list[Item]:
        """One page, pure: its releases that pass the filters."""
        return self.select(page_results(fetched)[0], url=fetched.url)[0]

    async def check(self, ctx: CheckContext) -> CheckOutcome:
        previous = ctx.state
        pagesize: int = self.settings.pagesize
        raws: list[Mapping[str, Any]] = []
        state: dict[str, Any] = {}
        total: int | None = None
        pages_read = 0
        for page in range(self.settings.pages):
            first = page == 0
            fetched = await ctx.fetch(
                self.page_url(page),
                etag=previous.get("etag") if first else None,
                last_modified=previous.get("last_modified") if first else None,
            )
            if fetched.not_modified:  # only page 0 is asked conditionally
                return CheckOutcome(items=None, state=previous)
            if first:
                state = {"etag": fetched.etag, "last_modified": fetched.last_modified}
            results, count = page_results(fetched)
            total = count if total is None else total
            raws.extend(results)
            pages_read += 1
            if len(results) < pagesize or (total is not None and (page + 1) * pagesize >= total):
                break
        digest = hashlib.sha256(json.dumps(raws, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        state["results_hash"] = digest
        if digest == previous.get("results_hash"):
            return CheckOutcome(items=None, state=state)
        warnings = Problems()
        items, skipped = self.select(raws, warnings, self.page_url(0))
        info: dict[str, Any] = {"read": len(raws), "pages": pages_read, "kept": len(items)}
        if total is not None:
            info["api_count"] = total
        if skipped:
            info["skipped"] = skipped
            warnings.append(f"{skipped} releases without uuid, number or url were skipped")
        # source_count: `component`/`topic` leaving nothing is a quiet day, not a broken source
        return CheckOutcome(
            items=items,
            state=state,
            info=info,
            warnings=capped(warnings),
            source_count=len(raws),
            incomplete=warnings.skipped > 0,
        )
