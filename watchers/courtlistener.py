"""`courtlistener`: one federal case followed through CourtListener (Free Law Project), API v4 or Atom feed.

CourtListener's RECAP archive holds what PACER users, court RSS feeds and e-mail notices brought in:
the long docket text, the PDFs (free, at storage.courtlistener.com), attachments and older history.
Paired with a `pacer_rss` watch of the same case, the court feed gives the first, fast, short signal
and CourtListener completes it: the same filing is one entry for both (same key), so the second
source is an `updated` alert with what it adds (the long docket text, the PDF, the attachments) or
nothing at all, never a second "new filing".

Keys:
- `court` and `docket_number`: the case, e.g. `cand` and `3:25-cv-01350` (judge initials, padding and
  a missing office code are ignored). The CourtListener docket id is looked up once, with
  `/api/rest/v4/dockets/?court=<court>&docket_number_core=<core>`, and kept; if several dockets match
  (multi-defendant criminal cases, duplicate dockets), the one whose number is written the same is
  used, with a warning listing the others.
- `docket_id`: CourtListener's docket id instead (the number in the docket's address,
  `https://www.courtlistener.com/docket/<id>/<name>/`); no lookup then. `court` is still needed
  without a token (the Atom feed does not name the court, and entry keys do).
- `token`: the API token, sent as `Authorization: Token <key>`. Default: the `COURTLISTENER_TOKEN`
  environment variable when set; write `token: "${OTHER_VAR}"` to take it from another variable, or
  `token: ""` to use the public feed even when the variable is set. Never logged or stored.
  Without a token the watch reads only the public per-docket Atom feed.
- `daily_budget` (default 125, a free account's daily quota): API calls a day for all courtlistener
  watches together (give every watch the same value; each watch uses its own value as the cap).
- `per_minute` (default 5, a free account's limit): API calls a minute for all courtlistener
  watches; 0 turns the limit off (membership tiers allow 10-25).
- `entries_via` (default `auto`): where the filings are read. `docket-entries` (the docket-entries
  API: full text, attachments, sequence numbers; only for accounts CourtListener has granted "RECAP
  API access"), `search` (the search API, `type=rd`: open to every account), `feed` (the public Atom
  feed `/docket/<id>/feed/`: no token, no budget, 30 latest entries, no attachments), or `auto`:
  docket-entries, and from its first HTTP 403 on, search (remembered until the watch's
  configuration changes; after being granted access, set `entries_via: docket-entries`).
- `base_url` (default `https://www.courtlistener.com`): where CourtListener is; a mirror, a proxy or a
  recorded copy on a local server can stand in. Links in alerts are built on it too.
- `follow_appeals` (default true): follow the case's appeal, transfer or remand too, with watches the
  monitor creates when an entry tells of one (`monitor/appeals.py`); `false` turns it off. Editing it
  never re-baselines the watch.
- plus the keys every watch has (`every`, `notify`, `keywords`, ...).

What a check does, with a token:
1. Cheap gate: `GET /api/rest/v4/dockets/<id>/?fields=...` (one call). If the docket's
   `date_modified` is the one seen last time, the check ends there: nothing else is spent on a docket
   that has not changed.
2. Otherwise the first page (20) of entries, newest first:
   `/api/rest/v4/docket-entries/?docket=<id>&order_by=-recap_sequence_number,-entry_number&omit=recap_documents__plain_text`,
   or `/api/rest/v4/search/?type=rd&q=docket_id:<id>&order_by=entry_date_filed desc`.
Without a token (or with `entries_via: feed`): `GET <base_url>/docket/<id>/feed/`, conditionally (ETag,
Last-Modified, then the body's hash), spending no API budget.

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

The API budget (see `watchers/courtlistener_budget.py`): every API call counts, for all
courtlistener watches together, against `daily_budget` calls in any 24 hours and `per_minute` calls
a minute; the monitor never makes the call that would exceed them. Each watch gets an even share and
spends it evenly over the day: a check that would run ahead of its pro-rata share (plus a little
headroom) is skipped with a warning and no call; it is not a failure. Status shows the budget
(`used`, `limit`, `left`). An HTTP 429 fails the check with how long CourtListener asked to wait;
the daemon waits that long, and every courtlistener watch skips until then.

Quirks handled here (https://www.courtlistener.com/help/api/rest/, and the CourtListener source):
- `docket_number_core` (`2501350`) is the lookup key: docket numbers there may carry judge initials
  (`3:25-cv-01350-WHO`), and one number can name several dockets (freelawproject/bigcases2#18).
- Entries that reached CourtListener from a court RSS feed have an empty `description` until someone
  brings the docket page; the short description is on the main RECAP document.
- `filepath_local` is a path under https://storage.courtlistener.com/ (the webhook payloads show it
  so); a full URL is used as given.
- Entry numbers are null for minute entries; the feed then titles them "Minute entry from <date>"
  and links `#minute-entry-<id>`. Feed dates are midnight Pacific of the date filed (a date, no time).
- Search results are RECAP documents, not entries: main documents and attachments come separately
  and are grouped back into entries by `docket_entry_id`; `document_type` is a label there
  ("PACER Document", "Attachment"), an integer (1, 2) in the REST API.
- The docket-entries API answers HTTP 403 to accounts without RECAP API access; a 401 means the
  token itself was refused.
- Only the first page of entries is read: enough for alerts when the watch runs regularly. The gate
  watches the docket's `date_modified`; a change CourtListener makes to an entry without saving the
  docket too (possibly a PDF uploaded later: not verified against the live site) is seen with the
  next change to the docket.

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
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, cast
from urllib.parse import urlencode, urlsplit, urlunsplit

from lxml import etree
from pydantic import Field, SecretStr, field_validator, model_validator

from monitor.errors import ConfigError, FetchError, ParseError
from monitor.models import Item
from watchers.base import CheckContext, CheckOutcome, FollowAppeals, Watcher, WatchConfig
from watchers.courtlistener_budget import CallBudget
from watchers.dockets import DocketNumber, case_group, entry_item, parse_docket_number
from watchers.feed import NS, channel_info, entries, feed_kind, parse_xml
from watchers.textutil import html_to_text, squash

PUBLIC_BASE = "https://www.courtlistener.com"
STORAGE = "https://storage.courtlistener.com/"
API = "/api/rest/v4"
TOKEN_ENV = "COURTLISTENER_TOKEN"
SOURCE = "courtlistener"
# What the cheap gate asks for: enough for the docket item and for keys when only docket_id is known.
GATE_FIELDS = ("id,court_id,date_modified,date_last_filing,date_terminated,assigned_to_str,case_name,"
               "docket_number,absolute_url")
_COURT_ID = re.compile(r"^[a-z][a-z0-9]{1,15}$")
_ENTRY_TITLE = re.compile(r"^Entry #\s*(?P<number>[^\s]+) in ")
_MINUTE_ANCHOR = re.compile(r"#minute-entry-(?P<id>\d+)$")


def _token_from_env() -> SecretStr | None:
    value = os.environ.get(TOKEN_ENV, "").strip()
    return SecretStr(value) if value else None


class CourtListenerConfig(WatchConfig):
    court: str | None = Field(None, description="CourtListener court id: cand, ilnd, dcd, ca9 ...")
    docket_number: str | None = Field(None, description="docket number, e.g. 3:25-cv-01350")
    docket_id: int | None = Field(None, gt=0, description="CourtListener docket id (instead of a lookup)")
    base_url: str = Field(PUBLIC_BASE, description="CourtListener's address (a mirror or local copy may stand in)")
    token: SecretStr | None = Field(default_factory=_token_from_env,
                                    description="API token; default $COURTLISTENER_TOKEN; none: Atom feed only")
    daily_budget: int = Field(125, ge=1, le=1_000_000, description="API calls in any 24 hours, all watches together")
    per_minute: int = Field(5, ge=0, le=1000, description="API calls a minute, all watches together (0: no limit)")
    entries_via: Literal["auto", "docket-entries", "search", "feed"] = Field(
        "auto", description="where filings are read: auto, docket-entries, search or feed")
    follow_appeals: FollowAppeals = Field(default_factory=FollowAppeals,
                                          description="follow the case's appeal, transfer or remand too (true/false)")

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
        return self


class CourtListenerWatcher(Watcher):
    """One case on CourtListener: docket-level facts and its entries."""

    kind: ClassVar[str] = "courtlistener"
    Config: ClassVar[type[WatchConfig]] = CourtListenerConfig
    example: ClassVar[dict[str, Any]] = {"court": "cand", "docket_number": "3:25-cv-01350", "base_url": "{base}"}
    # spending rules and credentials: changing them does not change what the docket lists
    neutral_keys: ClassVar[frozenset[str]] = frozenset({"daily_budget", "per_minute", "token"})
    complete_dockets: ClassVar[bool] = True  # every entry of the docket, whatever the court's RSS feed shows

    @property
    def settings(self) -> CourtListenerConfig:
        return cast(CourtListenerConfig, self.config)

    def cases(self) -> list[tuple[str, DocketNumber]]:
        cfg = self.settings
        if cfg.court and cfg.docket_number:
            return [(cfg.court, parse_docket_number(cfg.docket_number))]
        return []

    def fetch_urls(self) -> list[str]:
        cfg = self.settings
        if cfg.docket_id is None:
            return [self._api_url("dockets/", court=cfg.court, docket_number_core=self._wanted().core)]
        if self._token() is None or cfg.entries_via == "feed":
            return [f"{cfg.base_url}/docket/{cfg.docket_id}/feed/"]
        return [self._api_url(f"dockets/{cfg.docket_id}/", fields=GATE_FIELDS)]

    async def check(self, ctx: CheckContext) -> CheckOutcome:
        run = _Check(self, ctx)
        if self._token() is None or self.settings.entries_via == "feed":
            return await run.via_feed()
        return await run.via_api()

    # ------------------------------------------------------------ helpers

    def _token(self) -> str | None:
        token = self.settings.token
        return token.get_secret_value() if token is not None else None

    def _wanted(self) -> DocketNumber:
        return parse_docket_number(self.settings.docket_number)

    def _api_url(self, path: str, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.settings.base_url}{API}/{path}" + (f"?{query}" if query else "")


class _Check:
    """One check of one watch: the calls it makes, the state it keeps, what it warns about."""

    def __init__(self, watcher: CourtListenerWatcher, ctx: CheckContext):
        self.w = watcher
        self.cfg = watcher.settings
        self.ctx = ctx
        self.state: dict[str, Any] = dict(ctx.state)
        self.warnings: list[str] = []
        self.budget = CallBudget(ctx, watcher.id, self.cfg.daily_budget, self.cfg.per_minute)
        token = watcher._token()
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"} if token else \
            {"Accept": "application/json"}

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
        if self.budget.made or (self.w._token() is not None and self.cfg.entries_via != "feed"):
            info["budget"] = self.budget.info()
        return info

    def _skip(self, reason: str) -> CheckOutcome:
        """No check now (budget, Retry-After): unchanged, with the reason; what was learnt is kept."""
        return CheckOutcome(items=None, state=self.state, info=self._info(), warnings=(*self.warnings, reason))

    # ------------------------------------------------------------ API calls

    async def _get_json(self, url: str, *, what: str) -> dict[str, Any] | None:
        """One API call, counted; None when the budget has no call left for it."""
        if not await self.budget.acquire():
            return None
        try:
            fetched = await self.ctx.fetch(url, headers=self.headers)
        except FetchError as exc:
            explained = self._explain(exc, what)
            if explained is exc:
                raise
            raise explained from exc
        try:
            data = fetched.json()
        except ValueError as exc:
            raise ParseError(f"{fetched.url}: CourtListener answered {what} with something that is not JSON "
                             "(an error or maintenance page?)") from exc
        if not isinstance(data, dict):
            raise ParseError(f"{fetched.url}: CourtListener answered {what} with JSON that is not an object")
        return data

    def _explain(self, exc: FetchError, what: str) -> FetchError:
        """A FetchError whose message says what to do; 429 also pauses every courtlistener watch."""
        if exc.status == 429:
            wait = exc.retry_after if exc.retry_after is not None else 60.0
            self.budget.block(wait)
            return FetchError(
                f"CourtListener is rate limiting this account (HTTP 429) on {what}: wait "
                f"{CallBudget.wait_text(wait)} (Retry-After: {wait:g} s) before calling it again; every "
                "courtlistener watch pauses until then. If this recurs, another program may be using the same "
                "account: lower daily_budget or per_minute.", status=429, retry_after=wait)
        if exc.status == 401:
            return FetchError(
                f"CourtListener refused the API token (HTTP 401) on {what}: check the token (the 40-character key "
                f"on your CourtListener profile's API page, in {TOKEN_ENV} or `token`; write the key alone, the "
                "monitor adds 'Token ')", status=401)
        return exc

    # ------------------------------------------------------------ the case

    def _case(self) -> tuple[str, DocketNumber, str]:
        court = self.state.get("court") or self.cfg.court
        number = parse_docket_number(self.state.get("docket_number") or self.cfg.docket_number)
        if not court:
            raise ConfigError(f"watch {self.w.id!r}: CourtListener did not name the court of docket "
                              f"{self.state.get('docket_id')}; add `court:` (like cand) to the watch")
        if not number.valid and not number.text:
            raise ConfigError(f"watch {self.w.id!r}: no docket number known for CourtListener docket "
                              f"{self.state.get('docket_id')}; add `docket_number:` to the watch")
        return court, number, self.state.get("case_name") or number.canonical

    def _label(self) -> str:
        """The case name in entry titles: the first one seen, kept, so that a caption edited on CourtListener is
        one update of the docket item, not an update of every entry."""
        self.state.setdefault("entry_case_name", self._case()[2])
        return self.state["entry_case_name"]

    def _docket_url(self) -> str:
        path = self.state.get("absolute_url") or f"/docket/{self.state.get('docket_id')}/"
        return self.cfg.base_url + path

    def _remember(self, docket: Mapping[str, Any]) -> None:
        """Keep what identifies the case (from a docket object of the API)."""
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
            wanted = self.w._wanted()
            if self.cfg.docket_number and not wanted.same_case(parse_docket_number(number)):
                self.warnings.append(f"CourtListener docket {self.state.get('docket_id')} is {number!r}, not "
                                     f"{self.cfg.docket_number!r} as configured: check docket_id")
            self.state["docket_number"] = number
        if docket.get("case_name"):
            self.state["case_name"] = docket["case_name"]
        if docket.get("absolute_url"):
            # the page address carries a slug of the case name; the first one is kept (the site ignores the
            # slug), so that a renamed case does not change the link of every entry
            self.state.setdefault("absolute_url", docket["absolute_url"])

    async def _resolve(self) -> dict[str, Any] | None:
        """The docket object of the configured court and number (once; kept in state). None: no budget."""
        wanted = self.w._wanted()
        url = self.w._api_url("dockets/", court=self.cfg.court, docket_number_core=wanted.core, fields=GATE_FIELDS)
        data = await self._get_json(url, what="the docket lookup")
        if data is None:
            return None
        results = [d for d in data.get("results") or [] if isinstance(d, dict)]
        matches = [d for d in results if wanted.same_case(parse_docket_number(d.get("docket_number")))]
        if not matches:
            found = ", ".join(sorted({str(d.get("docket_number")) for d in results})) or "none"
            raise FetchError(f"CourtListener has no docket {self.cfg.docket_number} in court {self.cfg.court} "
                             f"(looked up docket_number_core={wanted.core}; found: {found}). Check the court id and "
                             "the number, or set docket_id from the docket's CourtListener address "
                             "(/docket/<id>/...).", status=404)
        exact = [d for d in matches if squash(d.get("docket_number")).lower() == wanted.text.lower()]
        chosen = (exact or matches)[0]
        if len(matches) > 1:
            others = ", ".join(f"{d.get('id')} ({d.get('docket_number')}: {d.get('case_name')})"
                               for d in matches if d is not chosen)
            used = f"{chosen.get('id')} ({chosen.get('docket_number')}: {chosen.get('case_name')})"
            self.warnings.append(f"several CourtListener dockets match {self.cfg.court} {self.cfg.docket_number}: "
                                 f"using {used}; others: {others}. Set docket_id to choose one.")
        self._remember(chosen)
        self.state["resolved"] = True
        return chosen

    # ------------------------------------------------------------ with a token

    async def via_api(self) -> CheckOutcome:
        skip = self.budget.admit()
        if skip:
            return self._skip(skip)
        docket: dict[str, Any] | None = None
        if not self.state.get("docket_id"):
            if self.cfg.docket_id:
                self.state["docket_id"] = self.cfg.docket_id
            else:
                docket = await self._resolve()  # the lookup asks for the gate's fields: no gate call this time
                if docket is None:
                    return self._skip(self._no_budget("the docket lookup"))
        if docket is None:
            docket = await self._gate()
            if docket is None:
                return self._skip(self._no_budget("the docket check"))
        if docket.get("date_modified") and docket.get("date_modified") == self.state.get("date_modified"):
            return CheckOutcome(items=None, state=self.state, info=self._info(), warnings=tuple(self.warnings))
        read = await self._entries()
        if read is None:  # the budget ran out between the gate and the entries: the old date_modified is kept,
            return self._skip(self._no_budget("the docket's entries"))  # so the next check reads them
        entry_items, source = read
        self.state["date_modified"] = docket.get("date_modified")
        self.state["source"] = source
        items = [self._docket_item(docket), *entry_items]
        return CheckOutcome(items=items, state=self.state, info=self._info(source), warnings=tuple(self.warnings))

    def _no_budget(self, what: str) -> str:
        info = self.budget.info()
        if info.get("blocked_until"):  # another watch was just told 429
            return (f"CourtListener asked to wait (HTTP 429) until {info['blocked_until']}: {what} postponed, "
                    "no call made")
        return (f"the CourtListener budget has no call left for {what} ({info['used']} of {info['limit']} in the "
                "last 24 hours): will try again when calls free up")

    async def _gate(self) -> dict[str, Any] | None:
        docket_id = self.state["docket_id"]
        url = self.w._api_url(f"dockets/{docket_id}/", fields=GATE_FIELDS)
        try:
            docket = await self._get_json(url, what="the docket check")
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
        if docket is not None:
            self._remember(docket)
        return docket

    async def _entries(self) -> tuple[list[Item], str] | None:
        via = self.cfg.entries_via
        if via == "docket-entries" or (via == "auto" and self.state.get("recap_api") is not False):
            url = self.w._api_url("docket-entries/", docket=self.state["docket_id"],
                                  order_by="-recap_sequence_number,-entry_number", omit="recap_documents__plain_text")
            try:
                data = await self._get_json(url, what="the docket entries")
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
                if data is None:
                    return None
                self.state["recap_api"] = True
                return self._items_from_entries(_results(data, "docket entries")), "docket-entries"
        url = self.w._api_url("search/", type="rd", q=f"docket_id:{self.state['docket_id']}",
                              order_by="entry_date_filed desc")
        data = await self._get_json(url, what="the search for the docket's documents")
        if data is None:
            return None
        return self._items_from_search(_results(data, "search")), "search"

    # ------------------------------------------------------------ items

    def _docket_item(self, docket: Mapping[str, Any]) -> Item:
        court, number, case_name = self._case()
        fields = {
            "court": court,
            "docket_number": number.canonical,
            "case_name": case_name,
            "assigned_to": docket.get("assigned_to_str") or None,
            "date_terminated": docket.get("date_terminated") or None,
            "docket_url": self._docket_url(),
        }
        return Item(
            key=f"docket:{court}:{number.canonical}",
            title=f"{case_name} ({number.canonical})" + (" - terminated" if fields["date_terminated"] else ""),
            url=self._docket_url(),
            group=case_group(court, number),
            fields={**{k: v for k, v in fields.items() if v is not None}, "source": SOURCE},
        )

    def _doc_url(self, doc: Mapping[str, Any] | None) -> str | None:
        if not doc:
            return None
        path = doc.get("filepath_local")
        if path:
            return path if str(path).startswith(("http://", "https://")) else STORAGE + str(path).lstrip("/")
        if doc.get("absolute_url"):
            path = doc["absolute_url"]
            slug = self.state.get("absolute_url", "").rstrip("/").rpartition("/")[2]
            if slug and path.count("/") >= 4:  # /docket/<id>/<entry>[/<attachment>]/<slug>/
                path = path.rstrip("/").rpartition("/")[0] + f"/{slug}/"
            return self.cfg.base_url + path
        return None

    def _entry_page(self, number: Any, entry_id: Any) -> str:
        anchor = f"entry-{number}" if number not in (None, "") else f"minute-entry-{entry_id}"
        return f"{self._docket_url()}?order_by=desc#{anchor}"

    def _entry(self, *, number: Any, entry_id: Any, description: str | None, date_filed: str | None,
               main: Mapping[str, Any] | None, attachments: list[Mapping[str, Any]], pacer_seq: Any = None) -> Item:
        court, docket, _ = self._case()
        case_name = self._label()
        listed = [{k: v for k, v in (("number", a.get("attachment_number")),
                                     ("description", squash(a.get("description")) or None),
                                     ("url", self._doc_url(a))) if v not in (None, "")}
                  for a in sorted(attachments, key=lambda a: a.get("attachment_number") or 0)]
        return entry_item(
            court=court, docket=docket, case_name=case_name, entry_number=number,
            short_description=squash((main or {}).get("description")) or None,
            description=squash(description) or None,
            date_filed=(date_filed or "")[:10] or None,
            document_url=self._doc_url(main) or self._entry_page(number, entry_id),
            docket_url=self._docket_url(),
            pacer_doc_id=(main or {}).get("pacer_doc_id") or None,
            pacer_seq=pacer_seq,
            source=SOURCE,
            fallback_key=f"cl-{entry_id}" if entry_id else None,
            extra={"attachments": listed} if listed else None,
        )

    def _items_from_entries(self, results: list[dict[str, Any]]) -> list[Item]:
        items = []
        for entry in results:
            docs = [d for d in entry.get("recap_documents") or [] if isinstance(d, dict)]
            main = next((d for d in docs if d.get("document_type") == 1), None)
            items.append(self._entry(
                number=entry.get("entry_number"), entry_id=entry.get("id"), description=entry.get("description"),
                date_filed=entry.get("date_filed"), main=main, pacer_seq=entry.get("pacer_sequence_number"),
                attachments=[d for d in docs if d.get("document_type") == 2]))
        return items

    def _items_from_search(self, results: list[dict[str, Any]]) -> list[Item]:
        groups: dict[Any, list[dict[str, Any]]] = {}
        for doc in results:
            # a search hit is a RECAP document: its `description` is the entry's docket text, its own
            # description is `short_description`
            doc = {**doc, "entry_description": doc.get("description"), "description": doc.get("short_description")}
            groups.setdefault(doc.get("docket_entry_id") or ("n", doc.get("entry_number")), []).append(doc)
        items = []
        for entry_id, docs in groups.items():
            main = next((d for d in docs if not d.get("attachment_number")), None)
            first = main or docs[0]
            items.append(self._entry(
                number=first.get("entry_number"), entry_id=first.get("docket_entry_id"),
                description=first.get("entry_description"), date_filed=first.get("entry_date_filed"), main=main,
                attachments=[d for d in docs if d.get("attachment_number")]))
        return items

    # ------------------------------------------------------------ without a token: the Atom feed

    async def via_feed(self) -> CheckOutcome:
        if not self.state.get("docket_id"):
            if self.cfg.docket_id:
                self.state["docket_id"] = self.cfg.docket_id
            else:
                if self.w._token() is None:
                    self.warnings.append("no CourtListener token: looking the docket id up anonymously (set docket_id "
                                         "to avoid it)")
                try:
                    docket = await self._resolve()
                except FetchError as exc:
                    if exc.status not in (401, 403):
                        raise
                    raise FetchError(f"CourtListener does not look dockets up without a token (HTTP {exc.status}): set "
                                     f"docket_id (the number in the docket's address, /docket/<id>/...), or a token "
                                     f"({TOKEN_ENV})", status=exc.status) from exc
                if docket is None:
                    return self._skip(self._no_budget("the docket lookup"))
        url = f"{self.cfg.base_url}/docket/{self.state['docket_id']}/feed/"
        previous = self.state.get("feed") or {}
        fetched = await self.ctx.fetch(url, headers={"Accept": "application/atom+xml"}, etag=previous.get("etag"),
                                       last_modified=previous.get("last_modified"))
        if fetched.not_modified:
            return CheckOutcome(items=None, state=self.state, info=self._info("feed"), warnings=tuple(self.warnings))
        self.state["feed"] = {"etag": fetched.etag, "last_modified": fetched.last_modified,
                              "body_hash": fetched.body_hash}
        self.state["source"] = "feed"
        if fetched.body_hash == previous.get("body_hash"):
            return CheckOutcome(items=None, state=self.state, info=self._info("feed"), warnings=tuple(self.warnings))
        items = self._items_from_feed(fetched.body, fetched.url)
        return CheckOutcome(items=items, state=self.state, info=self._info("feed"), warnings=tuple(self.warnings))

    def _items_from_feed(self, body: bytes, url: str) -> list[Item]:
        root = parse_xml(body, url)
        if feed_kind(root) != "atom":
            raise ParseError(f"{url}: expected CourtListener's Atom docket feed, got another kind of feed")
        title = channel_info(root).get("title", "")
        self._remember_from_feed_title(title)
        nodes = entries(root)
        if nodes and not self.state.get("absolute_url"):
            # the docket's page, from the first entry's link (/docket/<id>/<slug>/?order_by=desc#entry-N)
            path = urlsplit(_link(nodes[0], "alternate") or "").path
            if path.startswith(f"/docket/{self.state['docket_id']}/"):
                self.state["absolute_url"] = path
        return [self._docket_item({}), *(self._feed_entry(node, url) for node in nodes)]

    def _remember_from_feed_title(self, title: str) -> None:
        """ "Docket updates for <case name>, <docket number>" (cl/opinion_page/feeds.py, make_docket_title)."""
        text = title.removeprefix("Docket updates for ").strip()
        name, _, tail = text.rpartition(", ")
        number = parse_docket_number(tail)
        if name and number.valid:
            wanted = self.w._wanted()
            if self.cfg.docket_number and not wanted.same_case(number):
                self.warnings.append(f"CourtListener docket {self.state.get('docket_id')} is {tail!r}, not "
                                     f"{self.cfg.docket_number!r} as configured: check docket_id")
            self.state["docket_number"] = tail
            self.state["case_name"] = name
        elif text:
            self.state["case_name"] = text

    def _feed_entry(self, node: etree._Element, url: str) -> Item:
        title = squash("".join(_first(node, "title").itertext()) if _first(node, "title") is not None else "")
        link, enclosure = _link(node, "alternate"), _link(node, "enclosure")
        summary_node = _first(node, "summary")
        summary = html_to_text("".join(summary_node.itertext())) if summary_node is not None else ""
        published_node = _first(node, "published")
        if published_node is None:
            published_node = _first(node, "updated")
        published = (published_node.text or "").strip()[:10] if published_node is not None else None
        match = _ENTRY_TITLE.match(title)
        number = match.group("number") if match else None
        minute = _MINUTE_ANCHOR.search(link or "")
        if number is None and not title.startswith("Minute entry") and minute is None:
            raise ParseError(f"{url}: an entry titled {title!r} is neither 'Entry #N in ...' nor 'Minute entry from "
                             "...': has CourtListener changed its feed?")
        return self._entry(number=number, entry_id=minute.group("id") if minute else None, description=summary,
                           date_filed=published, main={"filepath_local": enclosure} if enclosure else None,
                           attachments=[])


def _link(node: etree._Element, rel: str) -> str | None:
    for child in node.findall(f"{{{NS['atom']}}}link"):
        if child.get("rel", "alternate") == rel and child.get("href"):
            return child.get("href")
    return None


def _first(node: etree._Element, name: str) -> etree._Element | None:
    return node.find(f"{{{NS['atom']}}}{name}")


def _results(data: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
    results = data.get("results")
    if not isinstance(results, list):
        raise ParseError(f"CourtListener's {what} answer has no `results` list (an error message instead?)")
    return [r for r in results if isinstance(r, dict)]
