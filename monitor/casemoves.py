"""Where a followed case goes next, read from one docket entry's text: an appeal, a transfer, a remand.

Pure: text in, a `Move` (or None) out. `monitor/appeals.py` acts on it. What is read, and why:

- **A notice of appeal starts an appeal**: the entry's text *begins* with it ("NOTICE OF APPEAL to the
  9th Circuit ...", "AMENDED NOTICE OF APPEAL", "NOTICE OF INTERLOCUTORY APPEAL", "Notice of Appeal
  (fee)" or "Notice, Appeal (fee)" as a court's RSS feed says it). Later entries that merely mention one
  ("MANDATE of USCA as to 72 Notice of Appeal", "TRANSCRIPT ORDER re 45 Notice of Appeal") do not start an
  appeal.
- **The appellate number**: district clerks docket it once the circuit opens the case: "USCA Case
  Number 25-1234 Ninth Circuit for 45 Notice of Appeal ...". Also read: "USCA No.", "USCA #",
  "Appeal No.", "Court of Appeals Case No.", "C.A. No.", "9th Cir. No.". A court's RSS feed says only
  "USCA Case Number" (the number is in the long docket text, which CourtListener brings): that entry
  is still an appeal signal, its number found later. "ORDER of USCA ..." is one too (an appeal is open).
- **Over, not new**: a MANDATE, an OPINION or JUDGMENT of the court of appeals ends an appeal; such
  entries never start following anything (court-data.md, "Appeals").
- **Which court of appeals**: the one the text names ("to the Federal Circuit"), else the circuit of
  the court the case is in (`watchers.courts.appeals_court`). From a bankruptcy court an appeal goes
  to the district court (or a bankruptcy appellate panel) unless the text names a circuit.
- **Transfers and remands** are read only from entries that *do* them (an order transferring the case,
  "Interdistrict transfer to ...", "Case transferred to ...", "REMANDED to ..."), never from a motion
  asking for one, and only to a federal court the text names ("the Northern District of Texas"): a
  transfer to another division of the same court ("Western Division (Springfield)"), to the court the
  case is already in (an MDL transfer order docketed by the receiving court) or a remand to a state
  court is not a move this monitor can follow. "Case transferred in from ..." names where a case came
  from: that docket is closed, so it is not followed. A new docket number is read when the text gives
  one ("new case number 1:25-cv-02345", "New Case # assigned: 4:19cv366").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from watchers.courts import COURTS, Court, appeals_court, lookup, named_in
from watchers.dockets import DocketNumber, parse_docket_number

MoveKind = Literal["appeal", "transfer", "remand"]


@dataclass(frozen=True, slots=True)
class Move:
    """A case going to another court, as one entry tells it."""

    kind: MoveKind
    court: str  # the CM/ECF id of the court the case goes to
    number: str | None  # its docket number there (canonical), when the text gives it
    starts: bool  # this entry starts the move (a notice of appeal, a transfer order), not only names it
    refers_to: str | None = None  # the entry number of the notice of appeal it is about ("for 45 Notice of Appeal")

    def describe(self) -> str:
        """ "the appeal: No. 25-1234, 9th Cir." / "the transfer: N.D. Ill. (number not known yet)"."""
        court = COURTS[self.court].citation if self.court in COURTS else self.court
        number = f"No. {self.number}, {court}" if self.number else f"{court} (number not known yet)"
        return f"the {self.kind}: {number}"


_I = re.IGNORECASE
_LEAD = r"^\W*"  # docket text may open with brackets, quotes or a stray space
_NOTICE_OF_APPEAL = re.compile(
    _LEAD + r"(?:(?:first|second|third|amended|joint|corrected|supplemental|protective)\s+)*notice\s*(?:of|,)\s*"
    r"(?:(?:interlocutory|cross|limited|direct)[-\s]*)*appeal\b",
    _I,
)
_OVER = re.compile(
    _LEAD + r"(?:certified\s+(?:true\s+)?)?(?:copy\s+of\s+)?(?:the\s+)?(?:mandate|opinion|judgment)\b", _I
)
_ORDER_OF_USCA = re.compile(
    _LEAD + r"(?:certified\s+(?:true\s+)?)?(?:copy\s+of\s+)?order\s+(?:of|from)\s+(?:the\s+)?(?:usca|u\.s\.c\.a\.|"
    r"(?:u\.\s?s\.\s+)?court\s+of\s+appeals)\b",
    _I,
)
_USCA_NUMBER_EVENT = re.compile(_LEAD + r"usca\s+case\s+number\b", _I)
_APPELLATE_NUMBER = re.compile(
    r"(?:usca\d{0,2}|u\.s\.c\.a\.|court\s+of\s+appeals|appeals?|appellate|c\.\s?a\.|cir(?:cuit\b|\.))\s*"
    r"(?:case\s+|docket\s+)?(?:number|no\.?|#)\s*:?\s*(?P<number>\d{2}-\d{1,6})(?![\d-])",
    _I,
)
_NOA_REFERENCE = re.compile(
    r"\b(?:for|re:?|as\s+to|regarding)\s+\[?(?P<entry>\d{1,5})\]?\s+(?:\w+\s+){0,3}?notice\s+of\s+"
    r"(?:(?:interlocutory|cross)[-\s]*)?appeal",
    _I,
)
_TRANSFER = re.compile(
    _LEAD + r"(?:interdistrict\s+transfer|transfer\s+of\s+case\s+to|"
    r"(?:case\s+)?(?:electronically\s+)?transferred\s+(?:out\s+)?to|"
    r"(?:order\s+)?transferring\s+case|(?:case\s+)?transfer\s+order|order\s+(?:of\s+)?transfer\b|"
    r"order\s+granting\s+\[?\d*\]?\s*(?:\w+\s+){0,3}?motion\s+to\s+transfer)",
    _I,
)
_TRANSFERRED_IN = re.compile(r"transferred\s+in\s+from", _I)
_REMAND = re.compile(_LEAD + r"(?:(?:case|action)\s+(?:is\s+)?)?(?:remanded\s+to|order\s+remanding)", _I)
_TO_COURT = re.compile(r"\bto\s+(?:the\s+)?", _I)
# "new case number 1:25-cv-02345", "New Case # assigned: 4:19cv366" (S.D. Tex., txsd_docket.json)
_NEW_NUMBER = re.compile(
    r"(?:new\s+)?(?:case|docket)\s*(?:number|no\.?|#)\s*(?:assigned)?\s*:?\s*"
    r"(?P<number>(?:\d{1,2}:)?\d{2}-?[a-z]{1,5}-?\d{1,6})(?![\w-])",
    _I,
)


def read_move(text: str, *, court: str, docket: DocketNumber) -> Move | None:
    """The move the entry of `docket` in `court` tells of, or None. `text` is the entry's docket text
    (short description and long text, as the sources give them)."""
    text = " ".join((text or "").split())
    if not text:
        return None
    if _NOTICE_OF_APPEAL.search(text) or _USCA_NUMBER_EVENT.search(text) or _ORDER_OF_USCA.search(text):
        return _appeal(text, court, starts=bool(_NOTICE_OF_APPEAL.search(text)))
    if _OVER.search(text):
        return None
    number = _APPELLATE_NUMBER.search(text)
    if number and not _TRANSFER.search(text) and not _REMAND.search(text):
        return _appeal(text, court, starts=False)
    if _TRANSFERRED_IN.search(text):
        return None
    if _TRANSFER.search(text):
        return _elsewhere("transfer", text, court, docket)
    if _REMAND.search(text):
        return _elsewhere("remand", text, court, docket)
    return None


def _appeal(text: str, court: str, *, starts: bool) -> Move | None:
    here = lookup(court)
    named = named_in(text)
    if named is not None and named.kind == "appellate":
        target: Court | None = named
    elif here is not None and here.kind == "bankruptcy":
        # from a bankruptcy court to its district court (or a BAP, which has no CM/ECF of its own)
        target = COURTS.get(here.id[:-1] + "d")
    else:
        target = appeals_court(court)
    if target is None or target.id == court:
        return None
    found = _APPELLATE_NUMBER.search(text) if target.kind == "appellate" else _NEW_NUMBER.search(text)
    number = parse_docket_number(found.group("number")).canonical if found else None
    reference = _NOA_REFERENCE.search(text)
    return Move("appeal", target.id, number, starts, reference.group("entry") if reference else None)


def _elsewhere(kind: MoveKind, text: str, court: str, docket: DocketNumber) -> Move | None:
    """A transfer or remand to the federal court the text names after "to", if not this one."""
    target = None
    for to in _TO_COURT.finditer(text):
        target = named_in(text[to.end() : to.end() + 160])
        if target is not None:
            break
    if target is None or target.id == court:
        return None
    number = None
    for found in _NEW_NUMBER.finditer(text):
        candidate = parse_docket_number(found.group("number"))
        if candidate.valid and not candidate.same_case(docket):
            number = candidate.canonical
            break
    return Move(kind, target.id, number, starts=True)
