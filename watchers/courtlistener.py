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
- `aliases`: other names of the case, as press releases write it (`U.S. v. State of Illinois`): a DOJ
  release or agency page naming the case by one of them, by the watch's `name`, by the case name
  CourtListener reports, or by its docket number is linked to the case (`monitor/related.py`).
  Editing aliases never re-baselines the watch.
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

The module is split by role: this one declares the watch (its keys, its checks of the configuration);
`courtlistener_check.py` is one check, `courtlistener_client.py` the HTTP calls, `courtlistener_budget.py`
and `courtlistener_ledger.py` the quota, `courtlistener_parse.py` the parsing (with its quirks).

Quirks handled (parsing quirks are in `watchers/courtlistener_parse.py`):
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
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, cast
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from watchers.base import AliasesField, CheckContext, CheckOutcome, FollowAppeals, WatchConfig, Watcher
from watchers.courtlistener_budget import BudgetConfig
from watchers.courtlistener_check import CourtListenerCheck
from watchers.courtlistener_client import TOKEN_ENV, TOKEN_PAGE, docket_url, lookup_url, search_lookup_url
from watchers.courtlistener_ledger import Window
from watchers.dockets import DocketNumber, parse_docket_number
from watchers.textutil import squash

PUBLIC_BASE = "https://www.courtlistener.com"
_COURT_ID = re.compile(r"^[a-z][a-z0-9]{1,15}$")


def _token_from_env() -> SecretStr | None:
    value = os.environ.get(TOKEN_ENV, "").strip()
    return SecretStr(value) if value else None


class CourtListenerConfig(WatchConfig):
    court: str | None = Field(None, description="CourtListener court id: cand, ilnd, dcd, ca9 ...")
    docket_number: str | None = Field(None, description="docket number, e.g. 3:25-cv-01350")
    docket_id: int | None = Field(None, gt=0, description="CourtListener docket id (instead of a lookup)")
    base_url: str = Field(PUBLIC_BASE, description="CourtListener's address (a mirror or local copy may stand in)")
    token: SecretStr | None = Field(
        default_factory=_token_from_env,
        description="API token; default $COURTLISTENER_TOKEN; none: search and Atom feed",
    )
    budget: BudgetConfig = Field(
        default_factory=BudgetConfig, description="the account's limits: tier, per_minute, per_hour, per_day"
    )
    daily_budget: int | None = Field(None, ge=1, le=10_000_000, description="old name of budget.per_day")
    per_minute: int | None = Field(None, ge=0, le=1_000_000, description="old name of budget.per_minute")
    entries_via: Literal["auto", "docket-entries", "search", "feed"] = Field(
        "auto", description="where filings are read: auto, docket-entries, search or feed"
    )
    aliases: AliasesField
    follow_appeals: FollowAppeals = Field(
        default_factory=FollowAppeals, description="follow the case's appeal, transfer or remand too (true/false)"
    )

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
            raise ValueError(
                "name the case: `court` and `docket_number` (like cand and 3:25-cv-01350), "
                "or CourtListener's `docket_id`"
            )
        for old, new, value in (
            ("daily_budget", "per_day", self.daily_budget),
            ("per_minute", "per_minute", self.per_minute),
        ):
            if value is not None and getattr(self.budget, new) is not None:
                raise ValueError(f"`{old}` is the old name of `budget.{new}`: give only `budget: {{{new}: N}}`")
        return self

    def windows(self) -> tuple[Window, ...]:
        """The account's limits: `budget`, with the old keys' values where given."""
        overrides = {
            k: v for k, v in (("per_day", self.daily_budget), ("per_minute", self.per_minute)) if v is not None
        }
        return (self.budget.model_copy(update=overrides) if overrides else self.budget).windows()


class CourtListenerWatcher(Watcher):
    """One case on CourtListener: docket-level facts and its entries."""

    kind: ClassVar[str] = "courtlistener"
    Config: ClassVar[type[WatchConfig]] = CourtListenerConfig
    example: ClassVar[dict[str, Any]] = {"court": "cand", "docket_number": "3:25-cv-01350", "base_url": "{base}"}
    # spending rules and credentials: changing them does not change what the docket lists
    neutral_keys: ClassVar[frozenset[str]] = frozenset({"budget", "daily_budget", "per_minute", "token", "aliases"})
    complete_dockets: ClassVar[bool] = True  # every entry of the docket, whatever the court's RSS feed shows
    lists_dockets: ClassVar[bool] = True

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
            lookup = search_lookup_url if self.token() is None else lookup_url
            return [lookup(cfg.base_url, cast(str, cfg.court), self.wanted())]
        if self.token() is None or cfg.entries_via == "feed":
            return [f"{cfg.base_url}/docket/{cfg.docket_id}/feed/"]
        return [docket_url(cfg.base_url, cfg.docket_id)]

    async def check(self, ctx: CheckContext) -> CheckOutcome:
        return await CourtListenerCheck(self.settings, self.token(), ctx).run()

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
                    f"{TOKEN_ENV}=<key>, or set docket_id (the number in the docket's address, /docket/<id>/...)."
                )
            if token is None and watch.docket_id is not None and not watch.court:
                warnings.append(
                    f"watch {watch.id!r}: without a token the case is read from its public feed, "
                    "which does not name the court: add `court:` (like cand)"
                )
            for old, new in (("daily_budget", "per_day"), ("per_minute", "per_minute")):
                if getattr(watch, old) is not None:
                    warnings.append(
                        f"watch {watch.id!r}: `{old}` is the old name of `budget: {{{new}: N}}`; "
                        "rename it (it is still read)"
                    )
            if token is not None:
                accounts.setdefault((watch.base_url, token), {}).setdefault(watch.windows(), []).append(watch.id)
        for budgets in accounts.values():
            if len(budgets) > 1:
                described = "; ".join(
                    f"{', '.join(ids)}: {' '.join(w.label for w in windows) or 'no limit'}"
                    for windows, ids in budgets.items()
                )
                warnings.append(
                    f"watches with the same CourtListener token give different budgets ({described}): "
                    "each call is checked against its own watch's limits; give them all the same `budget`"
                )
        return warnings

    # ------------------------------------------------------------ helpers

    def token(self) -> str | None:
        token = self.settings.token
        return token.get_secret_value() if token is not None else None

    def wanted(self) -> DocketNumber:
        return parse_docket_number(self.settings.docket_number)
