"""A small CourtListener stand-in for the demo: the REST API v4 calls a `courtlistener` watch makes.

- `GET /api/rest/v4/dockets/<id>/?fields=...`: the docket (the watch's cheap check: has its
  `date_modified` moved?);
- `GET /api/rest/v4/docket-entries/?docket=<id>&order_by=...&omit=...`: its entries, newest first, in
  CourtListener's list envelope (`count`, `next`, `previous`, `results`);
- `GET /api/rest/v4/api-usage/`: the account's usage, which a watch with a token reads to count other
  programs' calls in its budget (here: the calls made to this stand-in, in the free tier's windows).

All need `Authorization: Token <token>` and answer 401 with Django REST framework's texts otherwise,
as CourtListener does. The dockets and entries come from `monitor/demo_data/courtlistener_*.json`
(built in the shapes of recorded CourtListener answers: see SOURCES.md there); it serves any number
of dockets (`add_docket`). Entries can be held back and listed later (`publish_entry`), which moves the
docket's `date_modified` as CourtListener does when an entry is added. A RECAP document's
`filepath_local` is answered as a full URL on the demo's server (`storage_url`), so that a document
preview reads the PDF from there.

The test suite has a fuller stand-in (`tests/support/courtlistener_server.py`: search, the Atom feed,
rate limits); this one ships with the package, so it is kept to what the demo asks.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

API = "/api/rest/v4"
PUBLIC = "https://www.courtlistener.com"
STORAGE = "https://storage.courtlistener.com"
TOKEN = "demo-token-of-the-local-stand-in"  # the stand-in's; CourtListener itself never sees it
# a watch's budget for the local stand-in: no CourtListener limits to respect (0: no limit in that window)
NO_LIMITS = {"per_minute": 0, "per_hour": 0, "per_day": 0}


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
    """CourtListener's answers about the dockets added to it (`add_docket`), for one token."""

    def __init__(self, *, token: str = TOKEN, storage_url: str = STORAGE) -> None:
        self.token = token
        # where RECAP's files are served: `filepath_local` is answered as a full URL under it (see _with_files)
        self.storage_url = storage_url.rstrip("/")
        self._dockets: dict[int, dict[str, Any]] = {}
        self._entries: dict[int, list[dict[str, Any]]] = {}
        self._held_back: set[int] = set()  # entry ids not listed yet
        self._lock = threading.Lock()
        self.calls = 0  # API calls answered, for `/api-usage/`

    def add_docket(
        self, docket: Mapping[str, Any], entries: Iterable[Mapping[str, Any]], *, held_back: Iterable[int] = ()
    ) -> None:
        """Serve this docket and its entries; the entries numbered in `held_back` (entry numbers, or
        entry ids for unnumbered minute entries) are listed only once published."""
        with self._lock:
            self._dockets[docket["id"]] = dict(docket)
            self._entries[docket["id"]] = [dict(e) for e in entries]
            wanted = set(held_back)
            self._held_back |= {e["id"] for e in entries if e["entry_number"] in wanted or e["id"] in wanted}

    def docket(self, docket_id: int) -> dict[str, Any]:
        with self._lock:
            return dict(self._dockets[docket_id])

    def publish_entry(self, docket_id: int, entry: int) -> dict[str, Any]:
        """List a held-back entry (by entry number, or id) from now on; the docket's `date_modified`
        becomes the entry's, as CourtListener does when an entry is added."""
        with self._lock:
            docket = self._dockets[docket_id]
            found = next(e for e in self._entries[docket_id] if entry in (e["entry_number"], e["id"]))
            self._held_back.discard(found["id"])
            docket["date_modified"] = max(docket["date_modified"], found["date_modified"])
            docket["date_last_filing"] = max(docket.get("date_last_filing") or "", found["date_filed"])
            return found

    def answer(self, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, bytes]:
        """(HTTP status, JSON body) for a GET of `path` (below CourtListener's host) with `query`."""
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if auth is None:
            return self._json(401, {"detail": "Authentication credentials were not provided."})
        if auth != f"Token {self.token}":
            return self._json(401, {"detail": "Invalid token."})
        with self._lock:
            docket = re.fullmatch(rf"{API}/dockets/(\d+)/", path)
            if docket and int(docket.group(1)) in self._dockets:
                self.calls += 1
                return self._json(200, select_fields(self._dockets[int(docket.group(1))], query))
            wanted = query.get("docket") or ""
            if path == f"{API}/docket-entries/" and wanted.isdigit() and int(wanted) in self._dockets:
                self.calls += 1
                return self._json(200, self._entry_list(int(wanted), query))
            if path == f"{API}/api-usage/":
                return self._json(200, self._usage())
        return self._json(404, {"detail": "Not found."})

    def _usage(self) -> dict[str, Any]:
        """`/api-usage/` as CourtListener answers it: one row per throttle window of the account."""
        rows = [
            {
                "scope": "user",
                "rate": f"{limit}/{name}",
                "used": self.calls,
                "limit": limit,
                "remaining": max(0, limit - self.calls),
                "window_seconds": seconds,
                "reset_at": None,
                "blocked": False,
            }
            for limit, name, seconds in ((5, "min", 60), (50, "hour", 3600), (125, "day", 86400))
        ]
        return {"current_usage": rows, "historical_usage": {"total": self.calls}, "membership": None}

    def _entry_list(self, docket_id: int, query: Mapping[str, str]) -> dict[str, Any]:
        listed = [self._with_files(e) for e in self._entries[docket_id] if e["id"] not in self._held_back]
        # the order asked for (recap_sequence_number, entry_number, newest first); minute entries have no number
        listed.sort(key=lambda e: (e["recap_sequence_number"] or "", e["entry_number"] or 0), reverse=True)
        return {
            "count": f"{PUBLIC}{API}/docket-entries/?docket={docket_id}&count=on",
            "next": None,
            "previous": None,
            "results": [select_fields(e, query) for e in listed],
        }

    def _with_files(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """The entry with each RECAP document's `filepath_local` made a full URL under `storage_url`.

        CourtListener answers a path (`recap/gov.uscourts.dcd.178502/...pdf`, as the recorded answers
        show), which the watch reads as a file of https://storage.courtlistener.com/; a full URL it uses as
        given. So the demo's PDFs come from its own server, never from the internet."""
        out = copy.deepcopy(dict(entry))
        for document in out.get("recap_documents") or []:
            path = document.get("filepath_local")
            if path and not str(path).startswith(("http://", "https://")):
                document["filepath_local"] = f"{self.storage_url}/{str(path).lstrip('/')}"
        return out

    @staticmethod
    def _json(status: int, data: Any) -> tuple[int, bytes]:
        return status, json.dumps(data, indent=2).encode()
