"""Finding cases on CourtListener, for `monitor follow` and `monitor find`: its v4 search API.

Every question is one `GET <base>/api/rest/v4/search/?type=r&...` (dockets, each with up to three of
its documents): by words (`q=San Francisco v. Trump`, optionally `court=cand`), by docket number
(`court=ilnd&docket_number=1:25-cv-01285`), by CourtListener docket id (`q=docket_id:69645013`) or by
PACER case id (`q=pacer_case_id:434215&court=cand`). `docket_id` is a documented search field;
`pacer_case_id` is a field of the docket search results and is assumed to be searchable the same
way (not verified against the live site: without a network, this was built on the stand-in). The search
API answers anonymous requests too; `COURTLISTENER_TOKEN` is sent when set (`Authorization: Token <key>`),
so the calls count against that account rather than the anonymous allowance (100 a day). The watcher's
own API budget (`watchers/courtlistener_budget.py`) is not touched: these are one-off calls a person asks
for.

Search results name the court by CourtListener's id (`arb` for Arizona bankruptcy); `FoundDocket.court`
maps it back to the CM/ECF id the watches use (`watchers.courts`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from monitor.errors import FetchError
from monitor.http import HttpClient
from watchers.courts import Court, by_courtlistener_id
from watchers.dockets import DocketNumber, parse_docket_number

PUBLIC_BASE = "https://www.courtlistener.com"
BASE_ENV = "COURTLISTENER_BASE_URL"
TOKEN_ENV = "COURTLISTENER_TOKEN"
SEARCH = "/api/rest/v4/search/"


@dataclass(frozen=True, slots=True)
class FoundDocket:
    """One docket in CourtListener's search results."""

    docket_id: int
    courtlistener_court: str
    docket_number: str
    case_name: str
    date_filed: str | None
    date_terminated: str | None
    url: str

    @property
    def court(self) -> Court | None:
        return by_courtlistener_id(self.courtlistener_court)

    @property
    def docket(self) -> DocketNumber:
        return parse_docket_number(self.docket_number)


def base_url(given: str | None) -> str:
    """`--base-url`, else $COURTLISTENER_BASE_URL, else the public site; without a trailing slash."""
    return (given or os.environ.get(BASE_ENV) or PUBLIC_BASE).strip().rstrip("/")


class CourtListenerSearch:
    """The few searches follow and find make. Network failures raise FetchError with what to do."""

    def __init__(self, http: HttpClient, base: str, token: str | None = None):
        self.http = http
        self.base = base.rstrip("/")
        self.token = token if token is not None else (os.environ.get(TOKEN_ENV, "").strip() or None)
        self.calls = 0

    async def search(
        self, query: str | None = None, *, court: Court | None = None, docket_number: str | None = None
    ) -> list[FoundDocket]:
        params = {
            "type": "r",
            "q": query or "",
            "court": court.courtlistener_id if court else None,
            "docket_number": docket_number,
        }
        url = f"{self.base}{SEARCH}?" + urlencode({k: v for k, v in params.items() if v is not None})
        return [d for d in (self._docket(r) for r in await self._results(url)) if d is not None]

    async def by_docket_id(self, docket_id: int) -> FoundDocket | None:
        found = [d for d in await self.search(f"docket_id:{docket_id}") if d.docket_id == docket_id]
        return found[0] if found else None

    async def by_pacer_case_id(self, court: Court, pacer_case_id: str) -> FoundDocket | None:
        found = await self.search(f"pacer_case_id:{pacer_case_id}", court=court)
        found = [d for d in found if d.courtlistener_court == court.courtlistener_id]
        return found[0] if len(found) == 1 else None

    async def by_number(self, court: Court, docket: DocketNumber) -> list[FoundDocket]:
        """Dockets of that court with that number, judge initials and padding aside (several for a
        multi-defendant criminal case or a duplicate docket)."""
        found = await self.search(court=court, docket_number=docket.canonical)
        return [d for d in found if d.courtlistener_court == court.courtlistener_id and docket.same_case(d.docket)]

    # ------------------------------------------------------------ plumbing

    async def _results(self, url: str) -> list[dict[str, Any]]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        self.calls += 1
        try:
            fetched = await self.http.get(url, headers=headers)
        except FetchError as exc:
            raise FetchError(self._explain(exc), status=exc.status, retry_after=exc.retry_after) from exc
        try:
            data = json.loads(fetched.body)
        except ValueError:
            raise FetchError(f"{self.base} did not answer with JSON (is it CourtListener? see --base-url)") from None
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise FetchError(f"{self.base} answered without search results (is it CourtListener? see --base-url)")
        return [r for r in data["results"] if isinstance(r, dict)]

    def _explain(self, exc: FetchError) -> str:
        if exc.status == 401 and self.token:
            return (
                f"CourtListener refused the token in ${TOKEN_ENV} (HTTP 401): check it (the 40-character key "
                "on your CourtListener profile's API page)"
            )
        if exc.status in (401, 403):
            return (
                f"CourtListener asks for an API token (HTTP {exc.status}): export {TOKEN_ENV}=<key> "
                "(free account; the key is on your profile's API page)"
            )
        if exc.status == 429:
            wait = f" in {exc.retry_after:.0f} s" if exc.retry_after else " later"
            return f"CourtListener is rate limiting these requests (HTTP 429): try again{wait}"
        return f"could not search CourtListener at {self.base}: {exc}"

    def _docket(self, result: dict[str, Any]) -> FoundDocket | None:
        try:
            docket_id = int(result["docket_id"])
        except (KeyError, TypeError, ValueError):
            return None
        path = str(result.get("docket_absolute_url") or f"/docket/{docket_id}/")
        return FoundDocket(
            docket_id=docket_id,
            courtlistener_court=str(result.get("court_id") or "").lower(),
            docket_number=str(result.get("docketNumber") or ""),
            case_name=" ".join(str(result.get("caseName") or result.get("case_name_full") or "").split()),
            date_filed=_day(result.get("dateFiled")),
            date_terminated=_day(result.get("dateTerminated")),
            url=path if path.startswith("http") else self.base + path,
        )


def _day(value: Any) -> str | None:
    return str(value)[:10] if value else None
