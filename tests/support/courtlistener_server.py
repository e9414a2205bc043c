"""A stand-in for CourtListener on 127.0.0.1: the REST API v4 endpoints a watch uses, and the Atom feed.

It answers with JSON shaped like CourtListener's (tests/data/courtlistener/SOURCES.md says which
parts are recorded and which are built from the documented fields):

- `GET /api/rest/v4/dockets/?court=..&docket_number_core=..[&fields=..]` and `/api/rest/v4/dockets/<id>/`
- `GET /api/rest/v4/docket-entries/?docket=<id>&order_by=..[&omit=recap_documents__plain_text]`
  (20 a page; HTTP 403 while `recap_api_access` is False, as for accounts without that permission)
- `GET /api/rest/v4/search/?type=rd&q=docket_id:<id>&order_by=entry_date_filed desc` (RECAP documents)
- `GET /api/rest/v4/search/?type=r&q=..&court=..&docket_number=..` (dockets: what `monitor find` and
  `monitor follow` ask; words of `q` must all be in the case name or number, or in the originating
  docket number of an appellate docket, `original_court_info.docket_number`: CourtListener's search of
  RECAP dockets covers their entries' text, where an appellate docket names the case it came from
  ("notice of appeal filed in 3:25-cv-01350"); the stand-in reads it from that field. Not verified
  against the live site.)
- `GET /api/rest/v4/search/?type=r&court=<ids>&docket_number=<number>` (cases, with up to 3 documents)
- `GET /api/rest/v4/api-usage/`: the token's calls per throttle window, as CourtListener reports them
- `GET /docket/<id>/feed/`: the Atom feed, rendered as Django's Atom1Feed renders `DocketFeed`
  (cl/opinion_page/feeds.py); no token needed.

Who may call what, as CourtListener's views say (`cl/search/api_views.py`): the search API answers
without a token (`AllowAny`; `anonymous_search=False` makes it refuse, as if that changed); the other
API endpoints answer HTTP 401 without one, and HTTP 401 to a wrong token.

Throttling, as CourtListener's (Django REST framework's sliding windows, `ExceptionalUserRateThrottle`):
`rates` gives the windows per caller kind, e.g. `{"user": ["5/min", "50/hour", "125/day"], "anon":
["100/day"]}`, or for one token (its own tier) under the token; a call over any window answers HTTP 429
with the Retry-After of that window. Each token is one caller, every anonymous call another. Time is
`clock()` (a test's clock, or the real one). `rate_limit()` forces the next answers to be 429.
`spend_elsewhere()` counts calls another program made with the same token. Every request is recorded
with its time and headers (`requests`).

Data is edited through `add_docket`, `add_entry`, `update_entry` and `update_docket`; like
CourtListener, adding or changing an entry bumps the docket's `date_modified`.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from monitor.demo.courtlistener import select_fields

DATA = Path(__file__).parent.parent / "data" / "courtlistener"
PUBLIC = "https://www.courtlistener.com"
API = "/api/rest/v4"
PAGE = 20
TOKEN = "0123456789abcdef0123456789abcdef01234567"  # a made-up 40-character key


# CourtListener's full_name and citation_string of the courts the tests use (courts/<id>.json in
# /work/shared/fixtures/courtlistener for dcd; the others written the same way)
COURT_NAMES = {
    "dcd": ("District Court, District of Columbia", "D.D.C."),
    "cand": ("District Court, N.D. California", "N.D. Cal."),
    "ilnd": ("District Court, N.D. Illinois", "N.D. Ill."),
    "nysd": ("District Court, S.D. New York", "S.D.N.Y."),
    "arb": ("United States Bankruptcy Court, D. Arizona", "Bankr. D. Ariz."),
}


def _words(text: str | None) -> set[str]:
    """Lower-case words, numbers without leading zeros: how the search matches here."""
    return {w.lstrip("0") or "0" if w.isdigit() else w for w in re.findall(r"[a-z0-9]+", (text or "").lower())}


def recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def options_fields() -> dict[str, Any]:
    return recorded("options_v4_fields.json")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float = 0.0  # the server's clock when it arrived
    status: int = 0  # what it was answered

    @property
    def authorization(self) -> str | None:
        for name, value in self.headers.items():
            if name.lower() == "authorization":
                return value
        return None

    @property
    def is_api(self) -> bool:
        """A call counted against the quota (the usage check has its own throttle and is not)."""
        return self.path.startswith(API + "/") and self.path != API + "/api-usage/"

    @property
    def caller(self) -> str:
        auth = self.authorization
        return auth.removeprefix("Token ") if auth else "anon"


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """DRF's "5/min", "50/hour", "125/day" (only the period's first letter counts) as (calls, seconds)."""
    calls, _, period = rate.partition("/")
    return int(calls), _PERIODS[period.strip()[0]]


def words(text: str) -> list[str]:
    """What an Elasticsearch text field indexes of a docket number: its words, lowercased."""
    return re.findall(r"[a-z0-9]+", text.lower())


def phrase_match(field_text: str, query: str, slop: int = 1) -> bool:
    """`match_phrase` with `slop` (CourtListener's docket_number filter): the query's words in this order,
    with at most `slop` other words among them."""
    have, want = words(field_text), words(query)
    if not want:
        return True
    for start, word in enumerate(have):
        if word != want[0]:
            continue
        position, skipped, matched = start + 1, 0, True
        for wanted in want[1:]:
            while position < len(have) and have[position] != wanted and skipped < slop:
                position, skipped = position + 1, skipped + 1
            if position >= len(have) or have[position] != wanted:
                matched = False
                break
            position += 1
        if matched:
            return True
    return False


def _docket_template() -> dict[str, Any]:
    """The recorded docket (docs example, D.D.C. 1:16-cv-00745) with the fields the docs example predates."""
    docket = recorded("docket_detail_4214664.json")
    missing = {
        "docket_number_raw": "",
        "docket_number_source": 0,
        "federal_dn_office_code": "",
        "federal_dn_case_type": "",
        "federal_dn_judge_initials_assigned": "",
        "federal_dn_judge_initials_referred": "",
        "federal_defendant_number": None,
        "parent_docket": None,
    }
    fields = options_fields()["dockets"]["fields"]
    docket.update({k: v for k, v in missing.items() if k not in docket})
    return {k: docket[k] for k in fields}  # in the schema's order


def rest_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A RECAP document as the REST API nests it: the webhook's fields plus resource_uri, tags, plain_text."""
    fields = options_fields()["docket-entries"]["nested_recap_documents_fields"]
    full = {
        "resource_uri": f"{PUBLIC}{API}/recap-documents/{doc['id']}/",
        "tags": [],
        "plain_text": "",
        "acms_document_guid": "",
        **doc,
    }
    return {k: full.get(k) for k in fields}


def rest_entry(entry: dict[str, Any], docket_id: int) -> dict[str, Any]:
    """A docket entry as the REST API gives it: the webhook's fields plus resource_uri, tags, time_filed."""
    fields = options_fields()["docket-entries"]["fields"]
    full = {
        "resource_uri": f"{PUBLIC}{API}/docket-entries/{entry['id']}/",
        "tags": [],
        "time_filed": None,
        **entry,
        "docket": f"{PUBLIC}{API}/dockets/{docket_id}/",
        "recap_documents": [rest_document(d) for d in entry.get("recap_documents") or []],
    }
    return {k: full.get(k) for k in fields}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client closing a kept-alive connection is normal; anything else is printed as usual
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class CourtListenerServer:
    def __init__(
        self,
        *,
        token: str | None = TOKEN,
        tokens: Sequence[str] = (),
        recap_api_access: bool = True,
        anonymous_search: bool = True,
        rates: Mapping[str, Sequence[str]] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.tokens = {t for t in (token, *tokens) if t}
        self.recap_api_access = recap_api_access
        self.anonymous_search = anonymous_search
        self.rates = {kind: [parse_rate(r) for r in values] for kind, values in (rates or {}).items()}
        self.clock = clock
        self.dockets: dict[int, dict[str, Any]] = {}
        self.entries: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[Request] = []
        self.history: dict[str, list[float]] = {}  # caller -> times of its counted calls (DRF's throttle history)
        self._throttle: list[float] = []  # Retry-After of the next throttled answers
        self._clock = datetime(2025, 3, 3, 9, 0, tzinfo=timezone(timedelta(hours=-8)))
        self._ids = 3_000_000_000
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                request = Request("GET", parts.path, query, dict(self.headers.items()))
                with server._lock:
                    request.at = server.clock()
                    server.requests.append(request)
                    status, headers, body = server._answer(request)
                    request.status = status
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> CourtListenerServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------ what was asked

    def api_requests(self, path: str | None = None) -> list[Request]:
        """Calls counted against a quota (not the usage check), optionally only those under `path`."""
        return [r for r in self.requests if r.is_api and (path is None or r.path.startswith(API + path))]

    def usage_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path == API + "/api-usage/"]

    def throttled(self) -> list[Request]:
        return [r for r in self.requests if r.status == 429]

    def feed_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/feed/")]

    # ------------------------------------------------------------ behaviour

    def rate_limit(self, retry_after: float = 120, times: int = 1) -> None:
        """The next `times` API calls answer HTTP 429 with this Retry-After."""
        with self._lock:
            self._throttle.extend([retry_after] * times)

    def spend_elsewhere(self, calls: int, token: str = TOKEN) -> None:
        """Another program made `calls` calls with this token just now: they count in its windows."""
        with self._lock:
            self.history.setdefault(token, []).extend([self.clock()] * calls)

    def _windows(self, caller: str) -> list[tuple[int, int]]:
        """A caller's throttle windows: its own (a token's membership tier), else those of its kind."""
        return self.rates.get(caller) or self.rates.get("anon" if caller == "anon" else "user", [])

    def _throttle_wait(self, caller: str, now: float) -> float | None:
        """DRF's check, for each of the caller's windows: None if the call may pass (it is then counted)."""
        windows = self._windows(caller)
        history = self.history.setdefault(caller, [])
        waits = []
        for calls, seconds in windows:
            inside = [t for t in history if t > now - seconds]
            if len(inside) >= calls:
                waits.append(seconds - (now - min(inside)))
        if waits:
            return max(waits)
        history.append(now)
        return None

    # ------------------------------------------------------------ data

    def _tick(self) -> str:
        self._clock += timedelta(minutes=7, microseconds=123)
        return self._clock.isoformat()

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def add_docket(self, **fields: Any) -> dict[str, Any]:
        """A docket: the recorded one's shape, with these fields replaced."""
        docket = _docket_template()
        docket.update(fields)
        docket_id = docket["id"]
        docket["resource_uri"] = f"{PUBLIC}{API}/dockets/{docket_id}/"
        docket["court"] = f"{PUBLIC}{API}/courts/{docket['court_id']}/"
        docket.setdefault("absolute_url", f"/docket/{docket_id}/{docket.get('slug')}/")
        with self._lock:
            self.dockets[docket_id] = docket
            self.entries.setdefault(docket_id, [])
        return docket

    def update_docket(self, docket_id: int, **fields: Any) -> None:
        with self._lock:
            self.dockets[docket_id].update(fields, date_modified=self._tick())

    def add_entry(self, docket_id: int, entry: dict[str, Any]) -> dict[str, Any]:
        """A docket entry in the webhook's shape (ids, dates and sequence numbers filled in when missing)."""
        with self._lock:
            entry = copy.deepcopy(entry)
            now = self._tick()
            entry.setdefault("id", self._next_id())
            entry.setdefault("date_created", now)
            entry.setdefault("date_modified", now)
            entry.setdefault("recap_documents", [])
            entry.setdefault("pacer_sequence_number", None)
            sequence = f"{entry.get('date_filed')}.{len(self.entries[docket_id]) + 1:03d}"
            entry.setdefault("recap_sequence_number", sequence)
            for doc in entry["recap_documents"]:
                doc.setdefault("id", self._next_id())
            self.entries[docket_id].append(entry)
            docket = self.dockets[docket_id]
            docket["date_modified"] = now
            if entry.get("date_filed") and (docket.get("date_last_filing") or "") < entry["date_filed"]:
                docket["date_last_filing"] = entry["date_filed"]
            return entry

    def update_entry(self, docket_id: int, entry_number: int, **fields: Any) -> dict[str, Any]:
        """Change an entry (e.g. an RSS stub getting its long text); `documents` replaces its RECAP documents."""
        with self._lock:
            entry = next(e for e in self.entries[docket_id] if e.get("entry_number") == entry_number)
            documents = fields.pop("documents", None)
            if documents is not None:
                for doc in documents:
                    doc.setdefault("id", self._next_id())
                entry["recap_documents"] = documents
            now = self._tick()
            entry.update(fields, date_modified=now)
            self.dockets[docket_id]["date_modified"] = now
            return entry

    def load_recorded(self) -> int:
        """Docket 4214664 (recorded docs example) with entry 140 (recorded webhook payload). Returns its id."""
        docket = self.add_docket(**recorded("docket_detail_4214664.json"))
        [entry] = recorded("docket_alert_v2.json")["payload"]["results"]
        with self._lock:
            self.entries[docket["id"]].append(entry)
        return docket["id"]

    # ------------------------------------------------------------ answers

    def _json(self, status: int, data: Any, **headers: str) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(data, indent=2).encode()
        return (
            status,
            {"Content-Type": "application/json", "Vary": "Accept, Cookie", "Allow": "GET, HEAD, OPTIONS", **headers},
            body,
        )

    def _answer(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        path = request.path
        if not path.startswith(API + "/"):
            if path.startswith("/docket/") and path.endswith("/feed/"):
                return self._feed(path)
            return 404, {"Content-Type": "text/html"}, b"<!DOCTYPE html><html><body>Not found</body></html>"
        auth = request.authorization
        rest = path[len(API) :]
        anonymous_ok = rest == "/search/" and self.anonymous_search
        if auth is None and not anonymous_ok:
            return self._json(
                401,
                {"detail": "Authentication credentials were not provided."},
                **{"WWW-Authenticate": 'Basic realm="api"'},
            )
        if auth is not None and auth.removeprefix("Token ") not in self.tokens:
            return self._json(401, {"detail": "Invalid token."}, **{"WWW-Authenticate": 'Basic realm="api"'})
        if rest == "/api-usage/":
            return self._json(200, self._usage(request.caller))
        if self._throttle:
            wait = self._throttle.pop(0)
            return self._json(
                429,
                {"detail": f"Request was throttled. Expected available in {wait:g} seconds."},
                **{"Retry-After": f"{wait:g}"},
            )
        over = self._throttle_wait(request.caller, request.at)
        if over is not None:
            seconds = max(1, round(over))
            return self._json(
                429,
                {"detail": f"Request was throttled. Expected available in {seconds} seconds."},
                **{"Retry-After": str(seconds)},
            )
        if rest == "/dockets/":
            return self._dockets(request.query)
        if rest.startswith("/dockets/"):
            return self._docket(rest, request.query)
        if rest == "/docket-entries/":
            if not self.recap_api_access:
                return self._json(403, {"detail": "You do not have permission to perform this action."})
            return self._docket_entries(request.query)
        if rest == "/search/":
            return self._search(request.query)
        return self._json(404, {"detail": "Not found."})

    def _usage(self, caller: str) -> dict[str, Any]:
        """`/api-usage/` (rows as courtlistener-api-client's tests show them: scope, rate, used, limit, remaining,
        window_seconds, reset_at, blocked)."""
        now = self.clock()
        history = self.history.get(caller, [])
        names = {1: "sec", 60: "min", 3600: "hour", 86400: "day"}
        rows = []
        for calls, seconds in self._windows(caller):
            inside = [t for t in history if t > now - seconds]
            reset = datetime.fromtimestamp(min(inside) + seconds, UTC).isoformat() if inside else None
            rows.append(
                {
                    "scope": "user",
                    "rate": f"{calls}/{names.get(seconds, seconds)}",
                    "used": len(inside),
                    "limit": calls,
                    "remaining": max(calls - len(inside), 0),
                    "window_seconds": seconds,
                    "reset_at": reset,
                    "blocked": False,
                }
            )
        rows.append(
            {
                "scope": "api_usage",
                "rate": "10/min",
                "used": 1,
                "limit": 10,
                "remaining": 9,
                "window_seconds": 60,
                "reset_at": None,
                "blocked": False,
            }
        )
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        return {
            "current_usage": rows,
            "historical_usage": {day: len(history), "total": len(history)},
            "membership": None,
        }

    _select = staticmethod(select_fields)  # `fields=` and `omit=`, as the demo's stand-in applies them

    def _list_url(self, path: str, query: dict[str, str], **extra: str) -> str:
        return f"{PUBLIC}{API}{path}?" + urlencode({**query, **extra})

    def _dockets(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        found = [
            d
            for d in self.dockets.values()
            if (not query.get("court") or d["court_id"] == query["court"])
            and (not query.get("docket_number_core") or d["docket_number_core"] == query["docket_number_core"])
            and (not query.get("docket_number") or d["docket_number"] == query["docket_number"])
        ]
        return self._json(
            200,
            {
                "count": self._list_url("/dockets/", query, count="on"),
                "next": None,
                "previous": None,
                "results": [self._select(d, query) for d in found],
            },
        )

    def _docket(self, rest: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        try:
            docket_id = int(rest.strip("/").split("/")[1])
        except (IndexError, ValueError):
            return self._json(404, {"detail": "Not found."})
        docket = self.dockets.get(docket_id)
        if docket is None:
            return self._json(404, {"detail": "No Docket matches the given query."})
        return self._json(200, self._select(docket, query))

    def _ordered(self, docket_id: int) -> list[dict[str, Any]]:
        """-recap_sequence_number, -entry_number (the docket-entries order asked for, and the feed's)."""
        return sorted(
            self.entries.get(docket_id, []),
            key=lambda e: (e.get("recap_sequence_number") or "", e.get("entry_number") or 0),
            reverse=True,
        )

    def _docket_entries(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        docket_id = int(query.get("docket") or 0)
        results = [self._select(rest_entry(e, docket_id), query) for e in self._ordered(docket_id)]
        more = len(results) > PAGE
        return self._json(
            200,
            {
                "count": self._list_url("/docket-entries/", query, count="on"),
                "next": self._list_url("/docket-entries/", query, page="2") if more else None,
                "previous": None,
                "results": results[:PAGE],
            },
        )

    def _search(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        q = query.get("q", "")
        if query.get("type") == "r":
            return self._search_dockets(query)
        if query.get("type") != "rd" or not q.startswith("docket_id:"):
            return self._json(
                400,
                {"detail": "this stand-in only answers type=rd&q=docket_id:<id> and type=r&court=..&docket_number=.."},
            )
        docket_id = int(q.split(":", 1)[1])
        docs = []
        entries = sorted(self.entries.get(docket_id, []), key=lambda e: e.get("date_filed") or "", reverse=True)
        for entry in entries:
            for doc in entry.get("recap_documents") or []:
                docs.append(self._search_result(docket_id, entry, doc))
        return self._json(
            200,
            {
                "count": len(docs),
                "next": None if len(docs) <= PAGE else self._list_url("/search/", query, cursor="cz0yMA=="),
                "previous": None,
                "results": docs[:PAGE],
            },
        )

    def _search_dockets(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """`type=r`: dockets matching `q` (words of the case name or docket number, or `docket_id:<id>` /
        `pacer_case_id:<id>`), `court` (space-separated ids) and `docket_number` (its words)."""
        q = query.get("q", "").strip()
        courts = set(query.get("court", "").split())
        fielded = re.fullmatch(r"(docket_id|pacer_case_id):(\d+)", q)
        found = []
        for docket in self.dockets.values():
            if courts and docket["court_id"] not in courts:
                continue
            if query.get("docket_number") and not phrase_match(docket["docket_number"], query["docket_number"]):
                continue
            if fielded:
                value = docket["id"] if fielded.group(1) == "docket_id" else docket.get("pacer_case_id")
                if str(value) != fielded.group(2):
                    continue
            elif q and not _words(q) <= (
                _words(docket["case_name"])
                | _words(docket["docket_number"])
                | _words((docket.get("original_court_info") or {}).get("docket_number"))
            ):
                continue
            found.append(self._docket_result(docket))
        return self._json(200, {"count": len(found), "next": None, "previous": None, "results": found[:PAGE]})

    def _first_documents(self, docket: dict[str, Any]) -> list[dict[str, Any]]:
        """Up to 3 of a docket's documents, as nested in a `type=r` search result (without `docket_id`)."""
        docs = [
            self._search_result(docket["id"], e, d)
            for e in self._ordered(docket["id"])
            for d in e.get("recap_documents") or []
        ][:3]
        for doc in docs:
            doc.pop("docket_id", None)
        return docs

    def _docket_result(self, docket: dict[str, Any]) -> dict[str, Any]:
        """One docket as `DocketESResultSerializer` (search v4, type=r) gives it: the keys of
        `recap_type_v4_api_keys` in cl/lib/test_helpers.py, with up to 3 of its documents."""
        name, citation = COURT_NAMES.get(docket["court_id"], (docket["court_id"], docket["court_id"]))
        created = docket.get("date_created")
        return {
            "assignedTo": docket.get("assigned_to_str") or None,
            "assigned_to_id": None,
            "attorney": [],
            "attorney_id": [],
            "caseName": docket.get("case_name") or "",
            "case_name_full": docket.get("case_name_full") or "",
            "cause": docket.get("cause") or "",
            "chapter": None,
            "court": name,
            "court_citation_string": citation,
            "court_id": docket["court_id"],
            "dateArgued": None,
            "dateFiled": docket.get("date_filed"),
            "dateTerminated": docket.get("date_terminated"),
            "docketNumber": docket.get("docket_number") or "",
            "docket_absolute_url": docket.get("absolute_url"),
            "docket_id": docket["id"],
            "firm": [],
            "firm_id": [],
            "jurisdictionType": docket.get("jurisdiction_type") or "",
            "juryDemand": docket.get("jury_demand") or "",
            "pacer_case_id": str(docket.get("pacer_case_id") or ""),
            "party": [],
            "party_id": [],
            "referredTo": None,
            "referred_to_id": None,
            "suitNature": docket.get("nature_of_suit") or "",
            "trustee_str": None,
            "meta": {"timestamp": created, "date_created": created, "score": {"bm25": 1.0}, "more_docs": False},
            "recap_documents": self._first_documents(docket),
        }

    @staticmethod
    def _search_result(docket_id: int, entry: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
        """One RECAP document as `RECAPDocumentESResultSerializer` (search v4, type=rd) gives it."""
        created = doc.get("date_created") or entry.get("date_created")
        return {
            "absolute_url": doc.get("absolute_url"),
            "attachment_number": doc.get("attachment_number") or None,
            "cites": [],
            "description": entry.get("description") or "",
            "docket_entry_id": entry["id"],
            "docket_id": docket_id,
            "document_number": int(doc["document_number"]) if doc.get("document_number") else None,
            "document_type": "PACER Document" if doc.get("document_type") == 1 else "Attachment",
            "entry_date_filed": entry.get("date_filed"),
            "entry_number": entry.get("entry_number"),
            "filepath_local": doc.get("filepath_local") or None,
            "id": doc["id"],
            "is_available": bool(doc.get("is_available")),
            "meta": {"timestamp": created, "date_created": created, "score": {"bm25": 1.0}},
            "pacer_doc_id": doc.get("pacer_doc_id") or "",
            "page_count": doc.get("page_count") or None,
            "short_description": doc.get("description") or "",
            "snippet": "",
        }

    def _feed(self, path: str) -> tuple[int, dict[str, str], bytes]:
        try:
            docket_id = int(path.strip("/").split("/")[1])
        except (IndexError, ValueError):
            return 404, {"Content-Type": "text/html"}, b"<!DOCTYPE html><html><body>Not found</body></html>"
        docket = self.dockets.get(docket_id)
        if docket is None:
            return 404, {"Content-Type": "text/html"}, b"<!DOCTYPE html><html><body>Unable to find docket</body></html>"
        title = ", ".join(s for s in (docket["case_name"][:100], docket["docket_number"]) if s and s.strip())
        docket_url = PUBLIC + docket["absolute_url"]
        items = [e for e in self._ordered(docket_id) if e.get("date_filed")][:30]
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-us">',
            f"<title>Docket updates for {escape(title)}</title>",
            f'<link href="{PUBLIC}/" rel="alternate"></link>',
            f'<link href="{PUBLIC}/docket/{docket_id}/feed/" rel="self"></link>',
            f"<id>{PUBLIC}/</id>",
        ]
        updated = max((e["date_filed"] for e in items), default=None)
        if updated:
            parts.append(f"<updated>{updated}T00:00:00-08:00</updated>")
        parts.append(
            "<author><name>Free Law Project</name><email>feeds@courtlistener.com</email></author>"
            "<rights>Created for the public domain by Free Law Project</rights>"
        )
        for entry in items:
            number = entry.get("entry_number")
            main = next((d for d in entry.get("recap_documents") or [] if d.get("document_type") == 1), None)
            preface = f"Entry #{number}" if number else f"Minute entry from {entry['date_filed']}"
            anchor = f"entry-{number}" if number else f"minute-entry-{entry['id']}"
            link = f"{docket_url}?order_by=desc#{anchor}"
            description = entry.get("description") or (main or {}).get("description") or ""
            date = f"{entry['date_filed']}T00:00:00-08:00"
            parts.append(
                f"<entry><title>{escape(preface)} in {escape(title)}</title>"
                f'<link href="{escape(link)}" rel="alternate"></link>'
                f"<published>{date}</published><updated>{date}</updated><id>{escape(link)}</id>"
                f'<summary type="html">{escape(description)}</summary>'
            )
            if number and main and main.get("filepath_local"):
                pdf = "https://storage.courtlistener.com/" + escape(main["filepath_local"])
                parts.append(f'<link length="0" href="{pdf}" rel="enclosure" type="application/pdf"></link>')
            parts.append("</entry>")
        parts.append("</feed>")
        return 200, {"Content-Type": "application/atom+xml; charset=utf-8"}, "".join(parts).encode()
