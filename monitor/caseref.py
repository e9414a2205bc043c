"""What `monitor follow` is given, read into a case: court, docket number, CourtListener or PACER ids.

Accepted forms:

- `COURT DOCKET_NUMBER` (one or two arguments): `ilnd 1:25-cv-01285`, `N.D. Ill. 25-cv-1285`; the court
  as a CM/ECF id, a CourtListener id or a citation (see `watchers.courts`).
- a CourtListener address: a docket page `https://www.courtlistener.com/docket/<id>/<slug>/` (or one of
  its entries, `/docket/<id>/<entry>/<slug>/`), the API's `/api/rest/v4/dockets/<id>/`, or a RECAP file
  `https://storage.courtlistener.com/recap/gov.uscourts.<court>.<pacer case id>/...`.
- a PACER address on `ecf.<court>.uscourts.gov` (or `pacer.<court>...`): a docket report or query
  (`/cgi-bin/DktRpt.pl?<pacer case id>`, `iquery.pl?...`, a document link with `caseid=`), or an
  appellate case page with `caseNum=<docket number>`.

PACER's case id (the number after `DktRpt.pl?`) is not the docket number: it is translated through
CourtListener (see `monitor.clsearch`). Nothing here touches the network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from monitor.errors import MonitorError
from watchers.courts import Court, close_to, lookup
from watchers.dockets import DocketNumber, parse_docket_number

_PACER_HOST = re.compile(r"^(?:ecf|pacer)\.(?P<court>[a-z0-9]+)\.uscourts\.gov$")
_CL_DOCKET_PATH = re.compile(r"^/docket/(?P<id>\d+)(?:/|$)")
_CL_API_PATH = re.compile(r"^/api/rest/v\d/dockets/(?P<id>\d+)/?$")
_RECAP_FILE = re.compile(r"gov\.uscourts\.(?P<court>[a-z0-9]+)\.(?P<case>\d+)")
_CASE_ID_KEYS = ("caseid", "case_id")
_NUMBER_KEYS = ("casenum", "case_num", "casenumber", "case_number")
EXAMPLES = "write it like 1:25-cv-01285 (district), 25-10001 (bankruptcy) or 25-1234 (appeals)"


class CaseInputError(MonitorError):
    """What was given does not name a case (a usage error: exit status 2)."""


@dataclass(frozen=True, slots=True)
class CaseRef:
    """A case as far as the input tells it; `monitor.follow` completes it through CourtListener."""

    given: str
    court: Court | None = None
    docket: DocketNumber | None = None
    docket_id: int | None = None  # CourtListener's
    pacer_case_id: str | None = None


def court_or_error(text: str) -> Court:
    court = lookup(text)
    if court is None:
        close = close_to(text)
        hint = f" Close ones: {', '.join(f'{c.id} ({c.citation})' for c in close)}." if close else ""
        raise CaseInputError(
            f'{text!r} is not a federal court id.{hint} The README\'s "Finding a court id" '
            "lists them all (the CM/ECF id, as in ecf.<id>.uscourts.gov)."
        )
    return court


def docket_or_error(text: str) -> DocketNumber:
    docket = parse_docket_number(text)
    if not docket.valid:
        raise CaseInputError(f"{text!r} is not a docket number: {EXAMPLES}")
    return docket


def read_case(words: Sequence[str], *, courtlistener_hosts: Sequence[str] = ("www.courtlistener.com",)) -> CaseRef:
    """The case named by the command's arguments; CaseInputError says what is wrong and what to write."""
    text = " ".join(w.strip() for w in words if w.strip())
    if not text:
        raise CaseInputError(
            "name the case: COURT DOCKET_NUMBER (ilnd 1:25-cv-01285), a CourtListener docket "
            "address, or a PACER docket address"
        )
    if _looks_like_url(text):
        return _from_url(text, courtlistener_hosts)
    court_text, _, number_text = text.rpartition(" ")
    if not court_text:
        if parse_docket_number(text).valid:
            raise CaseInputError(f"which court is {text} in? Give COURT DOCKET_NUMBER, like ilnd {text}")
        raise CaseInputError(
            f"cannot read {text!r} as a case: give COURT DOCKET_NUMBER (ilnd 1:25-cv-01285), "
            "a CourtListener docket address or a PACER docket address"
        )
    court = court_or_error(court_text)
    return CaseRef(text, court=court, docket=docket_or_error(number_text))


def _looks_like_url(text: str) -> bool:
    return (
        "://" in text
        or text.lower().startswith(("www.", "courtlistener.com", "storage.courtlistener.com"))
        or ".uscourts.gov/" in text.lower()
    )


def _from_url(url: str, courtlistener_hosts: Sequence[str]) -> CaseRef:
    parts = urlsplit(url if "://" in url else "https://" + url)
    host = (parts.hostname or "").lower()
    cl_hosts = {h.lower() for h in courtlistener_hosts} | {"courtlistener.com", "www.courtlistener.com"}
    recap = _RECAP_FILE.search(parts.path)
    if recap and (host in cl_hosts or host.endswith("courtlistener.com")):
        return CaseRef(url, court=court_or_error(recap.group("court")), pacer_case_id=recap.group("case"))
    if host in cl_hosts or host.endswith(".courtlistener.com"):
        match = _CL_DOCKET_PATH.match(parts.path) or _CL_API_PATH.match(parts.path)
        if match:
            return CaseRef(url, docket_id=int(match.group("id")))
        raise CaseInputError(
            f"cannot read {url}: a CourtListener address names a case as /docket/<id>/..., "
            "like https://www.courtlistener.com/docket/69645013/united-states-v-illinois/"
        )
    pacer = _PACER_HOST.match(host)
    if pacer:
        return _from_pacer(url, court_or_error(pacer.group("court")), parts.query)
    raise CaseInputError(
        f"cannot read {url}: give a CourtListener docket address "
        "(https://www.courtlistener.com/docket/<id>/...) or a PACER docket address "
        "(https://ecf.<court>.uscourts.gov/cgi-bin/DktRpt.pl?<case id>), or COURT DOCKET_NUMBER"
    )


def _from_pacer(url: str, court: Court, query: str) -> CaseRef:
    params = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
    for key in _NUMBER_KEYS:  # appellate pages: TransportRoom?servlet=CaseSummary.jsp&caseNum=25-1234
        if params.get(key):
            return CaseRef(url, court=court, docket=docket_or_error(params[key]))
    for key in _CASE_ID_KEYS:  # document links: /doc1/<doc id>?caseid=<case id>
        if params.get(key, "").isdigit():
            return CaseRef(url, court=court, pacer_case_id=params[key])
    # reports: DktRpt.pl?434215 or DktRpt.pl?434215-L_1_0-1 (the case id, then report options)
    first = re.match(r"(\d+)(?:[-&]|$)", query)
    if first:
        return CaseRef(url, court=court, pacer_case_id=first.group(1))
    raise CaseInputError(
        f"cannot read {url}: this PACER address names no case (expected DktRpt.pl?<case id>, "
        f"caseid=<case id> or caseNum=<docket number>); give COURT DOCKET_NUMBER instead, "
        f"like {court.id} 1:25-cv-01285"
    )
