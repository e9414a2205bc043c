"""`courtlistener`: one federal case followed through CourtListener (Free Law Project), API v4 or Atom feed.

CourtListener's RECAP archive holds what PACER users, court RSS feeds and e-mail notices brought in:
the long docket text, the PDFs (free, at storage.courtlistener.com), attachments and older history.
Paired with a `pacer_rss` watch of the same case, the court feed gives the first, fast, short signal
and CourtListener completes it: the same filing is one entry for both (same key), so the second
source is an `updated` alert with what it adds (the long docket text, the PDF, the attachments) or
nothing at all, never a second "new filing".

Keys:
- `court` and `docket_number`: the case, e.g. `cand` and `3:25-cv-01350` (judge initials, padding and
  a missing office code are ignored). CourtListener's docket id is looked up once and kept: with a
  token by `/api/rest/v4/dockets/?court=<court>&docket_number_core=<core>`, without one through the
  search API (`/api/rest/v4/search/?type=r&court=<court>&docket_number=<number>`). If several dockets
  match (multi-defendant criminal cases, duplicate dockets), the one whose number is written the same
  is used, with a warning listing the others.
- `docket_id`: CourtListener's docket id instead (the number in the docket's address,
  `https://www.courtlistener.com/docket/<id>/<name>/`); no lookup then. `court` is still needed
  without a token (the Atom feed does not name the court, and entry keys do).
- `token`: the API token, sent as `Authorization: Token <key>`. Default: the `COURTLISTENER_TOKEN`
  environment variable when set; write `token: "${OTHER_VAR}"` to take it from another variable, or
  `token: ""` to go without. Never logged or stored. A free one is on
  https://www.courtlistener.com/profile/api-token/ after signing up.
- `budget`: the account's limits, all respected at once: `tier` (`free`, the default: 5 calls a
  minute, 50 an hour, 125 a day; `member-1` 10/75/300, `member-2` 15/150/600, `member-3`
  20/250/1000, `member-4` 25/300/1400, `edu` 20/1000/none), and `per_minute`, `per_hour`,
  `per_day` to override one (0: no limit in that window). Shared by every courtlistener watch with the
  same token: give them the same `budget`. See `watchers/courtlistener_budget.py`.
- `daily_budget` and `per_minute`: the old names of `budget.per_day` and `budget.per_minute`, still
  read (`monitor validate` suggests the new ones).
- `entries_via` (default `auto`): where the filings are read. `docket-entries` (the docket-entries
  API: full text, attachments, sequence numbers; only for accounts CourtListener has granted "RECAP
  API access"), `search` (the search API, `type=rd`: open to every account), `feed` (the public Atom
  feed `/docket/<id>/feed/`: 30 latest entries, no attachments, no API quota), or `auto`:
  docket-entries, and from its first HTTP 403 on, search (remembered until the watch's configuration
  changes; after being granted access, set `entries_via: docket-entries`).
- `base_url` (default `https://www.courtlistener.com`): where CourtListener is; a mirror, a proxy or a
  recorded copy on a local server can stand in. Links in alerts are built on it too.
- plus the keys every watch has (`every`, `notify`, `keywords`, ...).

What a check does, with a token:
1. Cheap gate: `GET /api/rest/v4/dockets/<id>/?fields=...` (one call). If the docket's
   `date_modified` is the one seen last time, the check ends there: nothing else is spent on a docket
   that has not changed.
2. Otherwise the first page (20) of entries, newest first:
   `/api/rest/v4/docket-entries/?docket=<id>&order_by=-recap_sequence_number,-entry_number&omit=recap_documents__plain_text`,
   or `/api/rest/v4/search/?type=rd&q=docket_id:<id>&order_by=entry_date_filed desc`.
Without a token (or with `entries_via: feed`): `GET <base_url>/docket/<id>/feed/`, conditionally (ETag,
Last-Modified, then the body's hash), spending no API quota; the docket id is looked up once through
the search API, which CourtListener answers without a token (100 calls a day per address).

When a check cannot run:
- The budget has no call for it (every window is counted, for all watches of the account, across
  replicas): the check is skipped with a warning, which is not a failure. When a case has gone
  unchecked for over an hour (and over two of its intervals) because of the budget, a `budget` gap
  opens, e.g. "U.S. v. Illinois not checked since 14:05 UTC; next check about 09:00 UTC (CourtListener
  budget: 125/day spent)"; it closes once the watch is checked at two attempts in a row.
- Without a token, CourtListener refuses the anonymous lookup (HTTP 401/403): one `setup` gap, "needs
  COURTLISTENER_TOKEN or docket_id", said once; the lookup is tried again a day later, and no check
  fails meanwhile.
- HTTP 429 anyway: the check fails with how long CourtListener asked to wait, and every
  courtlistener watch of the account waits that long.

Items:
- one per docket entry, built by `watchers.dockets.entry_item` like every court watcher's: key
  `entry:<court>:<case>:<entry number>` (unnumbered entries: `...:seq:<pacer_sequence_number>`, else
  `...:text:cl-<CourtListener entry id>`); `description` = the long docket text, `short_description`
  = the main document's description; `document_url` = the PDF on storage.courtlistener.com when
  CourtListener has it, else the entry's CourtListener page; `docket_url`; `pacer_doc_id`;
  `attachments` = a list of {number, description, url}. An entry first seen as an RSS stub (no long
  text) and later completed is one `updated` alert, never a second new filing.
- one for the docket itself, key `docket:<court>:<case>`, with `case_name`, `assigned_to` (the judge)
  and `date_terminated`: a case closed or reopened, a judge reassigned, a caption changed are
  `updated` alerts of that item. Entry titles and links keep the case name and page address first
  seen, so a renamed case is that one update, not an update of every entry. (Without a token the
  feed tells only the case name.)

Quirks handled here (parsing quirks are in `watchers/courtlistener_parse.py`):
- `docket_number_core` (`2501350`) is the token lookup's key: docket numbers there may carry judge
  initials (`3:25-cv-01350-WHO`), and one number can name several dockets (freelawproject/bigcases2#18).
  The search lookup matches the number as a phrase, so it is sent without office code and padded
  (`25-cv-01350`). Neither lookup was verified against the live site.
- Entries that reached CourtListener from a court RSS feed have an empty `description` until someone
  brings the docket page; the short description is on the main RECAP document.
- The docket-entries API answers HTTP 403 to accounts without RECAP API access; a 401 means the
  token itself was refused.
- Only the first page of entries is read: enough for alerts when the watch runs regularly. The gate
  watches the docket's `date_modified`; a change CourtListener makes to an entry without saving the
  docket too (possibly a PDF uploaded later: not verified against the live site) is seen with the
  next change to the docket.
- CourtListener merges duplicate dockets: a looked-up docket that answers 404 is looked up again.

Example:

    - id: sf-v-trump
      type: courtlistener
      court: cand
      docket_number: "3:25-cv-01350"
      every: 15m
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, cast
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from monitor.errors import ConfigError, FetchError
from monitor.models import Item
from watchers import courtlistener_budget as budget
from watchers.base import CheckContext, CheckOutcome, Gap, Watcher, WatchConfig
from watchers.courtlistener_budget import BudgetConfig, CallBudget, Refusal, Window, account_for, when
from watchers.courtlistener_client import (TOKEN_ENV, TOKEN_PAGE, BudgetRefused, CourtListenerClient, docket_url,
                                           lookup_url, search_lookup_url)
from watchers.courtlistener_parse import (Case, docket_item, items_from_entries, items_from_feed, items_from_search,
                                          parse_feed, results)
from watchers.dockets import DocketNumber, parse_docket_number
from watchers.textutil import squash

PUBLIC_BASE = "https://www.courtlistener.com"
_COURT_ID = re.compile(r"^[a-z][a-z0-9]{1,15}$")
SETUP_RETRY = 24 * 3600.0  # an anonymous lookup CourtListener refused is tried again this much later


def _token_from_env() -> SecretStr | None:
    value = os.environ.get(TOKEN_ENV, "").strip()
    return SecretStr(value) if value else None


class CourtListenerConfig(WatchConfig):
    court: str | None = Field(None, description="CourtListener court id: cand, ilnd, dcd, ca9 ...")
    docket_number: str | None = Field(None, description="docket number, e.g. 3:25-cv-01350")
    docket_id: int | None = Field(None, gt=0, description="CourtListener docket id (instead of a lookup)")
    base_url: str = Field(PUBLIC_BASE, description="CourtListener's address (a mirror or local copy may stand in)")
    token: SecretStr | None = Field(default_factory=_token_from_env,
                                    description="API token; default $COURTLISTENER_TOKEN; none: search and Atom feed")
    budget: BudgetConfig = Field(default_factory=BudgetConfig,
                                 description="the account's limits: tier, per_minute, per_hour, per_day")
    daily_budget: int | None = Field(None, ge=1, le=10_000_000, description="old name of budget.per_day")
    per_minute: int | None = Field(None, ge=0, le=1_000_000, description="old name of budget.per_minute")
    entries_via: Literal["auto", "docket-entries", "search", "feed"] = Field(
        "auto", description="where filings are read: auto, docket-entries, search or feed")

    @field_validator("court", mode="before")
    @classmethod
    def _court(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            if not _COURT_ID.match(value):
                raise ValueError(f"{value!r} is not a CourtListener court id; use ids like cand, ilnd, dcd or ca9")
        return value

    @field_validator("docket_number")
    @classmethod
    def _docket_number(cls, value: str | None) -> str | None:
        if value is not None and not parse_docket_number(value).valid:
            raise ValueError(f"{value!r} is not a docket number; write it like 3:25-cv-01350 or 25-cv-1350")
        return squash(value) if value else value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) address like https://www.courtlistener.com")
        return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.lower().startswith("token "):  # pasted with the header's prefix
                value = value[6:].strip()
            return value or None
        return value

    @model_validator(mode="after")
    def _which_case(self) -> CourtListenerConfig:
        if self.docket_id is None and not (self.court and self.docket_number):
            raise ValueError("name the case: `court` and `docket_number` (like cand and 3:25-cv-01350), "
                             "or CourtListener's `docket_id`")
        for old, new, value in (("daily_budget", "per_day", self.daily_budget),
                                ("per_minute", "per_minute", self.per_minute)):
            if value is not None and getattr(self.budget, new) is not None:
                raise ValueError(f"`{old}` is the old name of `budget.{new}`: give only `budget: {{{new}: N}}`")
        return self

    def windows(self) -> tuple[Window, ...]:
        """The account's limits: `budget`, with the old keys' values where given."""
        overrides = {k: v for k, v in (("per_day", self.daily_budget), ("per_minute", self.per_minute)) if v is not None}
        return (self.budget.model_copy(update=overrides) if overrides else self.budget).windows()


class CourtListenerWatcher(Watcher):
    """One case on CourtListener: docket-level facts and its entries."""

    kind: ClassVar[str] = "courtlistener"
    Config: ClassVar[type[WatchConfig]] = CourtListenerConfig
    example: ClassVar[dict[str, Any]] = {"court": "cand", "docket_number": "3:25-cv-01350", "base_url": "{base}"}
    # spending rules and credentials: changing them does not change what the docket lists
    neutral_keys: ClassVar[frozenset[str]] = frozenset({"budget", "daily_budget", "per_minute", "token"})

    @property
    def settings(self) -> CourtListenerConfig:
        return cast(CourtListenerConfig, self.config)

    def fetch_urls(self) -> list[str]:
        cfg = self.settings
        if cfg.docket_id is None:
            lookup = search_lookup_url if self.token() is None else lookup_url
            return [lookup(cfg.base_url, cast(str, cfg.court), self.wanted())]
        if self.token() is None or cfg.entries_via == "feed":
            return [f"{cfg.base_url}/docket/{cfg.docket_id}/feed/"]
        return [docket_url(cfg.base_url, cfg.docket_id)]

    async def check(self, ctx: CheckContext) -> CheckOutcome:
        return await _Check(self, ctx).run()

    @classmethod
    def validate_warnings(cls, watches: Sequence[WatchConfig]) -> list[str]:
        warnings = []
        accounts: dict[tuple[str, str | None], dict[tuple[Window, ...], list[str]]] = {}
        for watch in cast(Sequence[CourtListenerConfig], watches):
            token = watch.token.get_secret_value() if watch.token else None
            if token is None and watch.docket_id is None:
                warnings.append(
                    f"watch {watch.id!r}: needs {TOKEN_ENV} or docket_id to be sure to work: without either, the "
                    "docket id is looked up through CourtListener's public search (100 calls a day per address, if "
                    "CourtListener keeps it open to anonymous callers) and the case is followed through its public "
                    f"feed (30 latest entries, no attachments). Get a free token at {TOKEN_PAGE} and export "
                    f"{TOKEN_ENV}=<key>, or set docket_id (the number in the docket's address, /docket/<id>/...).")
            if token is None and watch.docket_id is not None and not watch.court:
                warnings.append(f"watch {watch.id!r}: without a token the case is read from its public feed, "
                                "which does not name the court: add `court:` (like cand)")
            for old, new in (("daily_budget", "per_day"), ("per_minute", "per_minute")):
                if getattr(watch, old) is not None:
                    warnings.append(f"watch {watch.id!r}: `{old}` is the old name of `budget: {{{new}: N}}`; "
                                    "rename it (it is still read)")
            if token is not None:
                accounts.setdefault((watch.base_url, token), {}).setdefault(watch.windows(), []).append(watch.id)
        for budgets in accounts.values():
            if len(budgets) > 1:
                described = "; ".join(f"{', '.join(ids)}: {' '.join(w.label for w in windows) or 'no limit'}"
                                      for windows, ids in budgets.items())
                warnings.append(f"watches with the same CourtListener token give different budgets ({described}): "
                                "each call is checked against its own watch's limits; give them all the same `budget`")
        return warnings

    # ------------------------------------------------------------ helpers

    def token(self) -> str | None:
        token = self.settings.token
        return token.get_secret_value() if token is not None else None

    def wanted(self) -> DocketNumber:
        return parse_docket_number(self.settings.docket_number)


class _Check:
    """One check of one watch: the calls it makes, the state it keeps, what it warns about."""

    def __init__(self, watcher: CourtListenerWatcher, ctx: CheckContext):
        self.w = watcher
        self.cfg = watcher.settings
        self.state: dict[str, Any] = dict(ctx.state)
        self.warnings: list[str] = []
        token = watcher.token()
        self.account = account_for(self.cfg.base_url, token, self.cfg.windows())
        self.budget = CallBudget(ctx, watcher.id, self.account)
        self.client = CourtListenerClient(ctx, self.cfg.base_url, token, self.budget)
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
        return CheckOutcome(items=items, state=self.state, info=self._info(source), warnings=tuple(self.warnings),
                            gaps=self._gaps())

    def _done(self, items: list[Item] | None, source: str | None = None) -> CheckOutcome:
        """The check ran through (changed or not)."""
        self._track(None)
        return self._outcome(items, source)

    def _refused(self, refusal: Refusal, what: str) -> CheckOutcome:
        """No check now (budget, Retry-After): unchanged, with the reason; what was learnt is kept."""
        t = budget.now()
        later = f"; next try about {when(refusal.free_at, today=t)}" if refusal.free_at else ""
        self.warnings.append(f"{refusal.detail}: {what} skipped, no call made{later}")
        self._track(refusal)
        return self._outcome(None)

    def _track(self, refusal: Refusal | None) -> None:
        """Keep the `budget` gap: opened when the budget has kept the case unchecked for long; closed once the
        watch is checked at two attempts in a row (so a case the budget only lets through now and then keeps
        one open gap instead of opening and closing it at every check)."""
        t = budget.now()
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
            raise ConfigError(f"watch {self.w.id!r}: CourtListener did not name the court of docket "
                              f"{self.state.get('docket_id')}; add `court:` (like cand) to the watch")
        if not number.valid and not number.text:
            raise ConfigError(f"watch {self.w.id!r}: no docket number known for CourtListener docket "
                              f"{self.state.get('docket_id')}; add `docket_number:` to the watch")
        case_name = self.state.get("case_name") or number.canonical
        # entry titles keep the first name seen, so a caption edited on CourtListener is one update of the
        # docket item, not an update of every entry
        label = self.state.setdefault("entry_case_name", case_name)
        return Case(court=court, number=number, case_name=case_name, label=label, base_url=self.cfg.base_url,
                    docket_path=self._docket_path())

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
            self.warnings.append(f"CourtListener files docket {self.state.get('docket_id')} under court {court!r}, "
                                 f"this watch says {self.cfg.court!r}: entries are keyed by the configured court")
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
        if self.cfg.docket_number and not self.w.wanted().same_case(parse_docket_number(number)):
            self.warnings.append(f"CourtListener docket {self.state.get('docket_id')} is {number!r}, not "
                                 f"{self.cfg.docket_number!r} as configured: check docket_id")

    async def _resolve(self) -> dict[str, Any]:
        """The docket of the configured court and number (once; kept in state)."""
        wanted = self.w.wanted()
        court = cast(str, self.cfg.court)
        if self.client.token is not None:
            found, how = await self.client.find_dockets(court, wanted), f"docket_number_core={wanted.core}"
        else:
            found, how = await self.client.search_dockets(court, wanted), "the search API"
        matches = [d for d in found if wanted.same_case(parse_docket_number(d.get("docket_number")))]
        if not matches:
            names = ", ".join(sorted({str(d.get("docket_number")) for d in found})) or "none"
            raise FetchError(f"CourtListener has no docket {self.cfg.docket_number} in court {court} (looked up "
                             f"with {how}; found: {names}). Check the court id and the number, or set docket_id "
                             "from the docket's CourtListener address (/docket/<id>/...).", status=404)
        exact = [d for d in matches if squash(d.get("docket_number")).lower() == wanted.text.lower()]
        chosen = (exact or matches)[0]
        if len(matches) > 1:
            others = ", ".join(f"{d.get('id')} ({d.get('docket_number')}: {d.get('case_name')})"
                               for d in matches if d is not chosen)
            used = f"{chosen.get('id')} ({chosen.get('docket_number')}: {chosen.get('case_name')})"
            self.warnings.append(f"several CourtListener dockets match {court} {self.cfg.docket_number}: "
                                 f"using {used}; others: {others}. Set docket_id to choose one.")
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
            raise FetchError(f"CourtListener has no docket {docket_id} (HTTP 404): check docket_id (the number in "
                             "the docket's address, /docket/<id>/...)", status=404) from exc
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
                    raise FetchError("this CourtListener account has no access to the docket-entries API (HTTP "
                                     "403; CourtListener grants \"RECAP API access\" on request): set entries_via "
                                     "to auto or search", status=403) from exc
                self.state["recap_api"] = False
                self.warnings.append("this CourtListener account has no access to the docket-entries API (HTTP 403): "
                                     "reading filings through the search API from now on")
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
        self.state["feed"] = {"etag": fetched.etag, "last_modified": fetched.last_modified,
                              "body_hash": fetched.body_hash}
        self.state["source"] = "feed"
        if fetched.body_hash == previous.get("body_hash"):
            return self._done(None, "feed")
        feed = parse_feed(fetched.body, fetched.url, self.state["docket_id"])
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
        t = budget.now()
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
            message = (f"{self.cfg.display_name()}: CourtListener does not look dockets up without a token (HTTP "
                       f"{exc.status}), so this case is not followed: needs {TOKEN_ENV} or docket_id. Get a free "
                       f"token at {TOKEN_PAGE} and export {TOKEN_ENV}=<key>, or set docket_id (the number in the "
                       "docket's address, /docket/<id>/...).")
            if not setup:
                self.warnings.append(message)
            self.state["setup"] = {"message": message, "retry_at": t + SETUP_RETRY}
            return self._outcome(None)
        self.state.pop("setup", None)
        return None
