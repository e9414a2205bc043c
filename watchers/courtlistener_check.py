"""One check of a `courtlistener` watch: which calls it makes (with a token, without one), the state it keeps
between checks (the docket id, what the docket looked like, the feed's validators), what it warns
about, and the gaps it reports.

The watch's documentation is `watchers/courtlistener.py`; the HTTP side is `courtlistener_client.py`,
the quota `courtlistener_budget.py`, the parsing `courtlistener_parse.py`.

State kept (the watch's plugin state): `docket_id`, `court`, `docket_number`, `case_name`,
`entry_case_name` (the caption entries are titled with), `absolute_url` (the docket page first seen),
`resolved` (the id was looked up, so a 404 means "look again"), `date_modified` (the gate), `source`,
`recap_api`, `feed` (ETag, Last-Modified, body hash), `checked_at` and `since` (for the budget gap),
`refused_last`, `budget_gap` (the open gap's message), `setup` (a refused anonymous lookup: its message
and when to try again).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from monitor.errors import ConfigError, FetchError
from monitor.models import Item
from watchers import courtlistener_ledger as ledger
from watchers.base import CheckContext, CheckOutcome, Gap
from watchers.courtlistener_budget import CallBudget, Refusal
from watchers.courtlistener_client import TOKEN_ENV, TOKEN_PAGE, BudgetRefused, CourtListenerClient
from watchers.courtlistener_ledger import account_for, when
from watchers.courtlistener_parse import (
    Case,
    docket_item,
    items_from_entries,
    items_from_feed,
    items_from_search,
    parse_feed,
    results,
)
from watchers.dockets import parse_docket_number
from watchers.listing import Problems
from watchers.textutil import squash

if TYPE_CHECKING:
    from watchers.courtlistener import CourtListenerConfig

SETUP_RETRY = 24 * 3600.0  # an anonymous lookup CourtListener refused is tried again this much later


class CourtListenerCheck:
    """One check of one watch: the calls it makes, the state it keeps, what it warns about."""

    def __init__(self, cfg: CourtListenerConfig, token: str | None, ctx: CheckContext):
        self.cfg = cfg
        self.state: dict[str, Any] = dict(ctx.state)
        self.warnings: list[str] = []
        self.incomplete = False
        self.wanted = parse_docket_number(cfg.docket_number)
        self.account = account_for(cfg.base_url, token, cfg.windows())
        self.budget = CallBudget(ctx, cfg.id, self.account)
        self.client = CourtListenerClient(ctx, cfg.base_url, token, self.budget)
        self.budget.read_usage = self.client.api_usage

    async def run(self) -> CheckOutcome:
        try:
            if self.client.token is None or self.cfg.entries_via == "feed":
                return await self.via_feed()
            return await self.via_api()
        except BudgetRefused as exc:
            return self._refused(exc.refusal, exc.what)
        finally:
            await self.budget.finish()

    # ------------------------------------------------------------ outcomes

    def _info(self, source: str | None = None) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if self.state.get("docket_id"):
            info["docket_id"] = self.state["docket_id"]
            info["docket_url"] = self._docket_url()
        if source or self.state.get("source"):
            info["entries_via"] = source or self.state.get("source")
        if "recap_api" in self.state:
            info["recap_api_access"] = self.state["recap_api"]
        if self.budget.info:
            info["budget"] = dict(self.budget.info)
        return info

    def _outcome(self, items: list[Item] | None, source: str | None = None) -> CheckOutcome:
        return CheckOutcome(
            items=items,
            state=self.state,
            info=self._info(source),
            warnings=tuple(self.warnings),
            gaps=self._gaps(),
            incomplete=self.incomplete,
        )

    def _done(self, items: list[Item] | None, source: str | None = None) -> CheckOutcome:
        """The check ran through (changed or not)."""
        self._track(None)
        return self._outcome(items, source)

    def _refused(self, refusal: Refusal, what: str) -> CheckOutcome:
        """No check now (budget, Retry-After): unchanged, with the reason; what was learnt is kept."""
        t = ledger.now()
        later = f"; next try about {when(refusal.free_at, today=t)}" if refusal.free_at else ""
        self.warnings.append(f"{refusal.detail}: {what} skipped, no call made{later}")
        self._track(refusal)
        return self._outcome(None)

    def _track(self, refusal: Refusal | None) -> None:
        """Keep the `budget` gap: opened when the budget has kept the case unchecked for long; closed once the
        watch is checked at two attempts in a row (so a case the budget only lets through now and then keeps
        one open gap instead of opening and closing it at every check)."""
        t = ledger.now()
        self.state.setdefault("since", t)
        if refusal is None:
            if self.state.get("budget_gap") and not self.state.get("refused_last"):
                self.state.pop("budget_gap")
            self.state["refused_last"] = False
            self.state["checked_at"] = t
            return
        self.state["refused_last"] = True
        last = self.state.get("checked_at")
        if self.state.get("budget_gap") or t - (last or self.state["since"]) < self._gap_after():
            return
        name = self.cfg.display_name()
        since = f"not checked since {when(last, today=t)}" if last else "not checked yet"
        later = f"next check about {when(refusal.free_at, today=t)}" if refusal.free_at else "no check possible yet"
        self.state["budget_gap"] = f"{name} {since}; {later} ({refusal.detail})"

    def _gap_after(self) -> float:
        every = self.cfg.every.nominal_seconds() if self.cfg.every is not None else 600.0
        return max(3600.0, 2 * every)

    def _gaps(self) -> tuple[Gap, ...]:
        gaps = []
        if self.state.get("budget_gap"):
            gaps.append(Gap("budget", self.state["budget_gap"]))
        if self.state.get("setup"):
            gaps.append(Gap("setup", self.state["setup"]["message"]))
        return tuple(gaps)

    # ------------------------------------------------------------ the case

    def _case(self) -> Case:
        court = self.state.get("court") or self.cfg.court
        number = parse_docket_number(self.state.get("docket_number") or self.cfg.docket_number)
        if not court:
            raise ConfigError(
                f"watch {self.cfg.id!r}: CourtListener did not name the court of docket "
                f"{self.state.get('docket_id')}; add `court:` (like cand) to the watch"
            )
        if not number.valid and not number.text:
            raise ConfigError(
                f"watch {self.cfg.id!r}: no docket number known for CourtListener docket "
                f"{self.state.get('docket_id')}; add `docket_number:` to the watch"
            )
        case_name = self.state.get("case_name") or number.canonical
        # entry titles keep the first name seen, so a caption edited on CourtListener is one update of the
        # docket item, not an update of every entry
        label = self.state.setdefault("entry_case_name", case_name)
        return Case(
            court=court,
            number=number,
            case_name=case_name,
            label=label,
            base_url=self.cfg.base_url,
            docket_path=self._docket_path(),
        )

    def _docket_path(self) -> str:
        return self.state.get("absolute_url") or f"/docket/{self.state.get('docket_id')}/"

    def _docket_url(self) -> str:
        return self.cfg.base_url + self._docket_path()

    def _remember(self, docket: Mapping[str, Any]) -> None:
        """Keep what identifies the case (from a docket object of the API, or a search result)."""
        if docket.get("id"):
            self.state["docket_id"] = int(docket["id"])
        court = str(docket.get("court_id") or "").lower()
        if court and self.cfg.court and court != self.cfg.court:
            self.warnings.append(
                f"CourtListener files docket {self.state.get('docket_id')} under court {court!r}, "
                f"this watch says {self.cfg.court!r}: entries are keyed by the configured court"
            )
        if self.cfg.court or court:
            self.state["court"] = self.cfg.court or court
        number = docket.get("docket_number")
        if number and parse_docket_number(number).valid:
            self._check_number(number)
            self.state["docket_number"] = number
        if docket.get("case_name"):
            self.state["case_name"] = docket["case_name"]
        if docket.get("absolute_url"):
            # the page address carries a slug of the case name; the first one is kept (the site ignores the
            # slug), so that a renamed case does not change the link of every entry
            self.state.setdefault("absolute_url", docket["absolute_url"])

    def _check_number(self, number: str) -> None:
        if self.cfg.docket_number and not self.wanted.same_case(parse_docket_number(number)):
            self.warnings.append(
                f"CourtListener docket {self.state.get('docket_id')} is {number!r}, not "
                f"{self.cfg.docket_number!r} as configured: check docket_id"
            )

    async def _resolve(self) -> dict[str, Any]:
        """The docket of the configured court and number (once; kept in state)."""
        wanted = self.wanted
        court = cast(str, self.cfg.court)
        if self.client.token is not None:
            found, how = await self.client.find_dockets(court, wanted), f"docket_number_core={wanted.core}"
        else:
            found, how = await self.client.search_dockets(court, wanted), "the search API"
        matches = [d for d in found if wanted.same_case(parse_docket_number(d.get("docket_number")))]
        if not matches:
            names = ", ".join(sorted({str(d.get("docket_number")) for d in found})) or "none"
            raise FetchError(
                f"CourtListener has no docket {self.cfg.docket_number} in court {court} (looked up "
                f"with {how}; found: {names}). Check the court id and the number, or set docket_id "
                "from the docket's CourtListener address (/docket/<id>/...).",
                status=404,
            )
        exact = [d for d in matches if squash(d.get("docket_number")).lower() == wanted.text.lower()]
        chosen = (exact or matches)[0]
        if len(matches) > 1:
            others = ", ".join(
                f"{d.get('id')} ({d.get('docket_number')}: {d.get('case_name')})" for d in matches if d is not chosen
            )
            used = f"{chosen.get('id')} ({chosen.get('docket_number')}: {chosen.get('case_name')})"
            self.warnings.append(
                f"several CourtListener dockets match {court} {self.cfg.docket_number}: "
                f"using {used}; others: {others}. Set docket_id to choose one."
            )
        self._remember(chosen)
        self.state["resolved"] = True
        return chosen

    # ------------------------------------------------------------ with a token

    async def via_api(self) -> CheckOutcome:
        self.state.pop("setup", None)  # a token now: an anonymous lookup refused before no longer matters
        refusal = await self.budget.start(need=2)
        if refusal is not None:
            return self._refused(refusal, "the check")
        docket: dict[str, Any] | None = None
        if not self.state.get("docket_id"):
            if self.cfg.docket_id:
                self.state["docket_id"] = self.cfg.docket_id
            else:
                docket = await self._resolve()  # the lookup asks for the gate's fields: no gate call this time
        if docket is None:
            docket = await self._gate()
        if docket.get("date_modified") and docket.get("date_modified") == self.state.get("date_modified"):
            return self._done(None)
        # if the budget runs out before the entries are read, BudgetRefused leaves the old date_modified in
        # the state, so the next check reads them
        entry_items, source = await self._entries()
        self.state["date_modified"] = docket.get("date_modified")
        self.state["source"] = source
        return self._done([docket_item(self._case(), docket), *entry_items], source)

    async def _gate(self) -> dict[str, Any]:
        docket_id = self.state["docket_id"]
        try:
            docket = await self.client.docket(docket_id)
        except FetchError as exc:
            if exc.status != 404:
                raise
            if self.state.get("resolved") and self.cfg.court and self.cfg.docket_number:
                # CourtListener merges duplicate dockets: look the case up again
                self.warnings.append(f"CourtListener docket {docket_id} is gone (HTTP 404); looked the case up again")
                for key in ("docket_id", "resolved", "absolute_url", "date_modified"):
                    self.state.pop(key, None)
                return await self._resolve()
            raise FetchError(
                f"CourtListener has no docket {docket_id} (HTTP 404): check docket_id (the number in "
                "the docket's address, /docket/<id>/...)",
                status=404,
            ) from exc
        self._remember(docket)
        return docket

    async def _entries(self) -> tuple[list[Item], str]:
        via = self.cfg.entries_via
        docket_id = self.state["docket_id"]
        if via == "docket-entries" or (via == "auto" and self.state.get("recap_api") is not False):
            try:
                data = await self.client.entries(docket_id)
            except FetchError as exc:
                if exc.status != 403:
                    raise
                if via == "docket-entries":
                    raise FetchError(
                        "this CourtListener account has no access to the docket-entries API (HTTP "
                        '403; CourtListener grants "RECAP API access" on request): set entries_via '
                        "to auto or search",
                        status=403,
                    ) from exc
                self.state["recap_api"] = False
                self.warnings.append(
                    "this CourtListener account has no access to the docket-entries API (HTTP 403): "
                    "reading filings through the search API from now on"
                )
            else:
                self.state["recap_api"] = True
                return items_from_entries(self._case(), results(data, "docket entries")), "docket-entries"
        data = await self.client.search_documents(docket_id)
        return items_from_search(self._case(), results(data, "search")), "search"

    # ------------------------------------------------------------ the Atom feed (always without a token)

    async def via_feed(self) -> CheckOutcome:
        if not self.state.get("docket_id"):
            if self.cfg.docket_id:
                self.state["docket_id"] = self.cfg.docket_id
            else:
                refused = await self._resolve_for_feed()
                if refused is not None:
                    return refused
        previous = self.state.get("feed") or {}
        fetched = await self.client.feed(self.state["docket_id"], previous)
        if fetched.not_modified:
            return self._done(None, "feed")
        self.state["feed"] = {
            "etag": fetched.etag,
            "last_modified": fetched.last_modified,
            "body_hash": fetched.body_hash,
        }
        self.state["source"] = "feed"
        if fetched.body_hash == previous.get("body_hash"):
            return self._done(None, "feed")
        problems = Problems()
        feed = parse_feed(fetched.body, fetched.url, self.state["docket_id"], problems)
        self.warnings.extend(problems)
        if problems.skipped:  # a malformed entry left out: nothing may count as removed
            self.incomplete = True
        if feed.docket_number:
            self._check_number(feed.docket_number)
            self.state["docket_number"] = feed.docket_number
        if feed.case_name:
            self.state["case_name"] = feed.case_name
        if feed.docket_path:
            self.state.setdefault("absolute_url", feed.docket_path)
        return self._done(items_from_feed(self._case(), feed), "feed")

    async def _resolve_for_feed(self) -> CheckOutcome | None:
        """Look the docket id up (once) before the first feed read; an outcome when that cannot happen now."""
        t = ledger.now()
        setup = self.state.get("setup")
        if setup and t < setup.get("retry_at", 0):
            return self._outcome(None)  # CourtListener refused the anonymous lookup: said once, tried daily
        refusal = await self.budget.start(need=1)
        if refusal is not None:
            return self._refused(refusal, "the docket lookup")
        try:
            await self._resolve()
        except FetchError as exc:
            if self.client.token is not None or exc.status not in (401, 403):
                raise
            message = (
                f"{self.cfg.display_name()}: CourtListener does not look dockets up without a token (HTTP "
                f"{exc.status}), so this case is not followed: needs {TOKEN_ENV} or docket_id. Get a free "
                f"token at {TOKEN_PAGE} and export {TOKEN_ENV}=<key>, or set docket_id (the number in the "
                "docket's address, /docket/<id>/...)."
            )
            if not setup:
                self.warnings.append(message)
            self.state["setup"] = {"message": message, "retry_at": t + SETUP_RETRY}
            return self._outcome(None)
        self.state.pop("setup", None)
        return None
