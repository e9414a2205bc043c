"""A small CourtListener stand-in for the demo: the two REST API v4 calls a `courtlistener` watch makes.

- `GET /api/rest/v4/dockets/<id>/?fields=...`: the docket (the watch's cheap check: has its
  `date_modified` moved?);
- `GET /api/rest/v4/docket-entries/?docket=<id>&order_by=...&omit=...`: its entries, newest first, in
  CourtListener's list envelope (`count`, `next`, `previous`, `results`);
- `GET /api/rest/v4/api-usage/`: the account's usage, which a watch with a token reads to count other
  programs' calls in its budget (here: the calls made to this stand-in, in the free tier's windows).

Both need `Authorization: Token <token>` and answer 401 with Django REST framework's texts otherwise,
as CourtListener does. The docket and entries come from `monitor/demo_data/courtlistener_*.json`
(built in the shapes of recorded CourtListener answers: see SOURCES.md there). Entries can be held
back and listed later (`publish_entry`), which moves the docket's `date_modified` as CourtListener
does when an entry is added.

The test suite has a fuller stand-in (`tests/support/courtlistener_server.py`: search, the Atom feed,
rate limits); this one ships with the package, so it is kept to what the demo asks.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

API = "/api/rest/v4"
PUBLIC = "https://www.courtlistener.com"


def select_fields(obj: Mapping[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    """`fields=a,b` and `omit=x,y__z`, applied as CourtListener's drf-dynamic-fields applies them."""
    selected = copy.deepcopy(dict(obj))
    if query.get("fields"):
        wanted = set(query["fields"].split(","))
        selected = {k: v for k, v in selected.items() if k in wanted}
    for name in filter(None, (query.get("omit") or "").split(",")):
        head, _, nested = name.partition("__")
        if not nested:
            selected.pop(head, None)
        elif isinstance(selected.get(head), list):
            for child in selected[head]:
                child.pop(nested, None)
    return selected


class CourtListenerStandIn:
    def __init__(self, docket: Mapping[str, Any], entries: Iterable[Mapping[str, Any]], *, token: str,
                 held_back: Iterable[int] = ()) -> None:
        self.docket = dict(docket)
        self.token = token
        self._entries = [dict(e) for e in entries]
        self._held_back = set(held_back)
        self._lock = threading.Lock()
        self.calls = 0  # API calls answered, for `/api-usage/`

    def publish_entry(self, entry_number: int) -> dict[str, Any]:
        """List a held-back entry from now on; the docket's `date_modified` becomes the entry's."""
        with self._lock:
            entry = next(e for e in self._entries if e["entry_number"] == entry_number)
            self._held_back.discard(entry_number)
            self.docket["date_modified"] = max(self.docket["date_modified"], entry["date_modified"])
            self.docket["date_last_filing"] = max(self.docket.get("date_last_filing") or "", entry["date_filed"])
            return entry

    def answer(self, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, bytes]:
        """(HTTP status, JSON body) for a GET of `path` (below CourtListener's host) with `query`."""
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if auth is None:
            return self._json(401, {"detail": "Authentication credentials were not provided."})
        if auth != f"Token {self.token}":
            return self._json(401, {"detail": "Invalid token."})
        with self._lock:
            if path == f"{API}/dockets/{self.docket['id']}/":
                self.calls += 1
                return self._json(200, select_fields(self.docket, query))
            if path == f"{API}/docket-entries/" and query.get("docket") == str(self.docket["id"]):
                self.calls += 1
                return self._json(200, self._entry_list(query))
            if path == f"{API}/api-usage/":
                return self._json(200, self._usage())
        return self._json(404, {"detail": "Not found."})

    def _usage(self) -> dict[str, Any]:
        """`/api-usage/` as CourtListener answers it: one row per throttle window of the account."""
        rows = [{"scope": "user", "rate": f"{limit}/{name}", "used": self.calls, "limit": limit,
                 "remaining": max(0, limit - self.calls), "window_seconds": seconds, "reset_at": None, "blocked": False}
                for limit, name, seconds in ((5, "min", 60), (50, "hour", 3600), (125, "day", 86400))]
        return {"current_usage": rows, "historical_usage": {"total": self.calls}, "membership": None}

    def _entry_list(self, query: Mapping[str, str]) -> dict[str, Any]:
        listed = [e for e in self._entries if e["entry_number"] not in self._held_back]
        listed.sort(key=lambda e: (e["recap_sequence_number"], e["entry_number"]), reverse=True)  # the order asked for
        return {"count": f"{PUBLIC}{API}/docket-entries/?docket={self.docket['id']}&count=on", "next": None,
                "previous": None, "results": [select_fields(e, query) for e in listed]}

    @staticmethod
    def _json(status: int, data: Any) -> tuple[int, bytes]:
        return status, json.dumps(data, indent=2).encode()
