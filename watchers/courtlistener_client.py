"""CourtListener's HTTP side for one check: the calls a `courtlistener` watch makes, counted, with errors explained.

Every API call goes through `get_json`, which first takes a call from the account's budget
(`watchers/courtlistener_budget.py`) and then fetches through the core's shared client. Which calls
answer without a token (checked in CourtListener's source, `cl/search/api_views.py`): the search API
(`SearchV4ViewSet`, `AllowAny`, counted against the anonymous `100/day`) and the per-docket Atom feed
(a web page, no API quota). The dockets, docket-entries and RECAP-document APIs need a token
(`DjangoModelPermissions`: HTTP 401 without one); docket-entries also needs "RECAP API access" (HTTP
403 without it). `/api-usage/` needs a token and spends nothing of the quota.

The token is sent as `Authorization: Token <key>` and never appears in a message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from monitor.errors import FetchError, ParseError
from monitor.models import Fetched
from watchers.base import CheckContext
from watchers.courtlistener_budget import CallBudget, Refusal
from watchers.courtlistener_ledger import duration
from watchers.courtlistener_parse import docket_from_search, results
from watchers.dockets import DocketNumber

log = logging.getLogger(__name__)

API = "/api/rest/v4"
TOKEN_ENV = "COURTLISTENER_TOKEN"
TOKEN_PAGE = "https://www.courtlistener.com/profile/api-token/"
# What the cheap gate asks for: enough for the docket item and for keys when only docket_id is known.
GATE_FIELDS = (
    "id,court_id,date_modified,date_last_filing,date_terminated,assigned_to_str,case_name,docket_number,absolute_url"
)


class BudgetRefused(Exception):
    """The budget has no call for this now (not an error: the check is skipped and says why)."""

    def __init__(self, refusal: Refusal, what: str):
        self.refusal = refusal
        self.what = what
        super().__init__(refusal.detail)


def api_url(base_url: str, path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base_url}{API}/{path}" + (f"?{query}" if query else "")


def docket_url(base_url: str, docket_id: int) -> str:
    """The cheap gate: the docket's few fields that say whether anything changed."""
    return api_url(base_url, f"dockets/{docket_id}/", fields=GATE_FIELDS)


def lookup_url(base_url: str, court: str, number: DocketNumber) -> str:
    """Dockets of `court` with this number's core (judge initials and padding do not matter); needs a token."""
    return api_url(base_url, "dockets/", court=court, docket_number_core=number.core, fields=GATE_FIELDS)


def search_lookup_url(base_url: str, court: str, number: DocketNumber) -> str:
    """Cases of `court` by number through the search API (`type=r`): the lookup that works without a token.

    The number is sent as `25-cv-01350` (no office code, five digits): CourtListener matches it as a
    phrase of the indexed number (`match_phrase`, `cl/lib/elasticsearch_utils.py`), so that
    `3:25-cv-01350-WHO` is found, where `25-cv-1350` would find nothing."""
    query = f"{number.year}-{number.type}-{number.number:05d}" if number.type else number.canonical
    return api_url(base_url, "search/", type="r", court=court, docket_number=query)


class CourtListenerClient:
    """The calls of one check, against one account's budget."""

    def __init__(self, ctx: CheckContext, base_url: str, token: str | None, budget: CallBudget):
        self.ctx = ctx
        self.base_url = base_url
        self.token = token
        self.budget = budget
        self.headers = {"Accept": "application/json", **({"Authorization": f"Token {token}"} if token else {})}

    def url(self, path: str, **params: Any) -> str:
        return api_url(self.base_url, path, **params)

    async def get_json(self, url: str, *, what: str) -> dict[str, Any]:
        """One API call, counted. Raises BudgetRefused when the budget has no call for it now."""
        refusal = await self.budget.take()
        if refusal is not None:
            raise BudgetRefused(refusal, what)
        try:
            fetched = await self.ctx.fetch(url, headers=self.headers)
        except FetchError as exc:
            explained = await self._explain(exc, what)
            if explained is exc:
                raise
            raise explained from exc
        finally:
            await self.budget.settle()
        return _json_object(fetched, what)

    async def _explain(self, exc: FetchError, what: str) -> FetchError:
        """A FetchError whose message says what to do; 429 also pauses every watch of the account."""
        if exc.status == 429:
            wait = exc.retry_after if exc.retry_after is not None else 60.0
            await self.budget.block(wait)
            who = "this account" if self.token else "calls without a token from this address"
            return FetchError(
                f"CourtListener is rate limiting {who} (HTTP 429) on {what}: wait {duration(wait)} (Retry-After: "
                f"{wait:g} s) before calling it again; every courtlistener watch of the account pauses until then. "
                "If this recurs, another program may be using the same account: lower `budget` (per_minute, "
                "per_hour, per_day).",
                status=429,
                retry_after=wait,
            )
        if exc.status == 401 and self.token:
            return FetchError(
                f"CourtListener refused the API token (HTTP 401) on {what}: check the token (the 40-character key "
                f"on {TOKEN_PAGE}, in {TOKEN_ENV} or `token`; write the key alone, the monitor adds 'Token ')",
                status=401,
            )
        return exc

    async def api_usage(self) -> list[Any] | None:
        """`current_usage` of `/api-usage/` (the account's calls per throttle window), or None if unreadable.

        Not counted against the quota: CourtListener throttles it separately (10/min, 120/hour)."""
        if not self.token:
            return None
        url = self.url("api-usage/")
        try:
            fetched = await self.ctx.fetch(url, headers=self.headers)
            rows = _json_object(fetched, "the usage check").get("current_usage")
        except (FetchError, ParseError) as exc:
            log.warning(
                "CourtListener's usage could not be read (%s): counting this monitor's own calls only "
                "for the next hour",
                exc,
            )
            return None
        return rows if isinstance(rows, list) else None

    async def feed(self, docket_id: int, previous: Mapping[str, Any]) -> Fetched:
        """The public per-docket Atom feed, conditionally; no API quota."""
        return await self.ctx.fetch(
            f"{self.base_url}/docket/{docket_id}/feed/",
            headers={"Accept": "application/atom+xml"},
            etag=previous.get("etag"),
            last_modified=previous.get("last_modified"),
        )

    # ------------------------------------------------------------ the calls a check makes

    async def docket(self, docket_id: int) -> dict[str, Any]:
        return await self.get_json(docket_url(self.base_url, docket_id), what="the docket check")

    async def find_dockets(self, court: str, number: DocketNumber) -> list[dict[str, Any]]:
        data = await self.get_json(lookup_url(self.base_url, court, number), what="the docket lookup")
        return [d for d in data.get("results") or [] if isinstance(d, dict)]

    async def search_dockets(self, court: str, number: DocketNumber) -> list[dict[str, Any]]:
        data = await self.get_json(search_lookup_url(self.base_url, court, number), what="the docket lookup (search)")
        return [docket_from_search(hit) for hit in results(data, "search")]

    async def entries(self, docket_id: int) -> dict[str, Any]:
        return await self.get_json(
            self.url(
                "docket-entries/",
                docket=docket_id,
                order_by="-recap_sequence_number,-entry_number",
                omit="recap_documents__plain_text",
            ),
            what="the docket entries",
        )

    async def search_documents(self, docket_id: int) -> dict[str, Any]:
        return await self.get_json(
            self.url("search/", type="rd", q=f"docket_id:{docket_id}", order_by="entry_date_filed desc"),
            what="the search for the docket's documents",
        )


def _json_object(fetched: Fetched, what: str) -> dict[str, Any]:
    try:
        data = fetched.json()
    except ValueError as exc:
        raise ParseError(
            f"{fetched.url}: CourtListener answered {what} with something that is not JSON "
            "(an error or maintenance page?)"
        ) from exc
    if not isinstance(data, dict):
        raise ParseError(f"{fetched.url}: CourtListener answered {what} with JSON that is not an object")
    return data
