"""Docket numbers and docket-entry identity, shared by every court watcher (PACER RSS, CourtListener).

One filing seen by two sources must be one entry (DESIGN invariant 2), so both build their items with
`entry_item`, whose key comes from the legal identity of the filing:

    entry:<court>:<case>:<entry number>        numbered entries
    entry:<court>:<case>:seq:<de_seq_num>      unnumbered (minute / text-only) entries, by PACER's
                                               sequence number (CourtListener's pacer_sequence_number)
    entry:<court>:<case>:doc:<pacer_doc_id>    otherwise, by the normalised PACER document id

`<case>` is the canonical docket number without judge initials (`3:25-cv-01350`), so `3:25-cv-01350`,
`3:25-cv-01350-WHO` and `25-cv-1350` are one case. Items of one case share `group` = `case:<court>:<case>`,
which notifiers use to thread and digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from monitor.models import Item

_DISTRICT = re.compile(
    r"""^\s*(?:(?P<office>\d{1,2})\s*:\s*)?      # office (division) code, e.g. 3:
    (?P<year>\d{2})\s*-?\s*                        # two-digit year
    (?P<type>[a-z~]{1,5})\s*-?\s*                  # case type: cv, cr, bk, ap, mc, md, gr ...
    (?P<number>\d{1,6})                            # sequence number
    (?P<rest>(?:\s*-\s*[a-z0-9]{1,6})*)\s*$        # judge initials, defendant number
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Appellate (`21-14262`, `19-8054`) and bankruptcy numbers without a type (`18-00079`, `16-10992-smb`):
# the digits are kept as written (`18-00079` stays padded) and judge initials are a suffix.
_NUMBER_ONLY = re.compile(
    r"^\s*(?:(?P<office>\d{1,2})\s*:\s*)?(?P<year>\d{2})\s*-\s*(?P<number>\d{1,6})"
    r"(?P<rest>(?:\s*-\s*[a-z]{1,6})*)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DocketNumber:
    """A parsed federal docket number. `text` is what the source said, kept as is."""

    text: str
    office: str | None = None
    year: str | None = None
    type: str | None = None
    number: int | None = None
    suffixes: tuple[str, ...] = ()  # judge initials and defendant number, as given
    digits: str | None = None  # the sequence number as written, for number-only forms

    @property
    def valid(self) -> bool:
        return self.year is not None and self.number is not None

    @property
    def canonical(self) -> str:
        """`3:25-cv-01350` (district), `21-14262` (appellate), or the original text if unparseable."""
        if not self.valid:
            return self.text.strip()
        if self.type is None:
            core = f"{self.year}-{self.digits or self.number}"
            return f"{self.office}:{core}" if self.office else core
        core = f"{self.year}-{self.type}-{self.number:05d}"
        return f"{self.office}:{core}" if self.office else core

    @property
    def core(self) -> str | None:
        """CourtListener's `docket_number_core` (`2501350`), for id lookups."""
        if not self.valid:
            return None
        return f"{self.year}{self.number:05d}"

    def same_case(self, other: DocketNumber) -> bool:
        """True when both name the same case, ignoring judge initials, padding and a missing office code."""
        if not (self.valid and other.valid):
            return self.text.strip().lower() == other.text.strip().lower()
        if (self.year, self.type, self.number) != (other.year, other.type, other.number):
            return False
        return self.office is None or other.office is None or self.office == other.office


def parse_docket_number(text: str | None) -> DocketNumber:
    text = (text or "").strip()
    match = _DISTRICT.match(text)
    if match:
        rest = tuple(p.strip() for p in (match.group("rest") or "").split("-") if p.strip())
        office = str(int(match.group("office"))) if match.group("office") else None
        return DocketNumber(
            text, office, match.group("year"), match.group("type").lower(), int(match.group("number")), rest
        )
    match = _NUMBER_ONLY.match(text)
    if match:
        rest = tuple(p.strip() for p in (match.group("rest") or "").split("-") if p.strip())
        office = str(int(match.group("office"))) if match.group("office") else None
        return DocketNumber(
            text, office, match.group("year"), None, int(match.group("number")), rest, digits=match.group("number")
        )
    return DocketNumber(text)


def normalize_pacer_doc_id(doc_id: str | None) -> str | None:
    """PACER document ids carry a "show receipt" flag in their 4th digit; it is not part of the id."""
    if not doc_id:
        return None
    doc_id = doc_id.strip()
    if len(doc_id) >= 4 and doc_id.isdigit():
        return doc_id[:3] + "0" + doc_id[4:]
    return doc_id


def case_group(court: str, docket: DocketNumber) -> str:
    return f"case:{court}:{docket.canonical}"


def entry_key(
    court: str,
    docket: DocketNumber,
    *,
    entry_number: Any = None,
    pacer_seq: Any = None,
    pacer_doc_id: str | None = None,
    fallback: str | None = None,
) -> str:
    base = f"entry:{court}:{docket.canonical}"
    if entry_number not in (None, ""):
        return f"{base}:{entry_number}"
    if pacer_seq not in (None, ""):
        return f"{base}:seq:{pacer_seq}"
    if pacer_doc_id:
        return f"{base}:doc:{normalize_pacer_doc_id(pacer_doc_id)}"
    if fallback:
        return f"{base}:text:{fallback}"
    raise ValueError("a docket entry needs an entry number, a sequence number, a document id or a fallback")


def entry_item(
    *,
    court: str,
    docket: DocketNumber,
    case_name: str,
    entry_number: Any = None,
    short_description: str | None = None,
    description: str | None = None,
    date_filed: str | None = None,
    date_entered: str | None = None,
    document_url: str | None = None,
    docket_url: str | None = None,
    pacer_case_id: str | None = None,
    pacer_doc_id: str | None = None,
    pacer_seq: Any = None,
    source: str,
    fallback_key: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Item:
    """The one shape of a docket entry, whichever source saw it.

    The title is built from the short description when there is one (the same text in RSS and in
    CourtListener's RECAP document), else from the long docket text, so the same filing gets the same
    title from either source. `source` is not part of the content (see
    `monitor.models.NON_CONTENT_FIELDS`), so a second source seeing the same text is not an update.
    """
    number = str(entry_number) if entry_number not in (None, "") else None
    label = f"#{number}" if number else "Minute entry"
    # Squashed, so that every source's spelling of the same text is the same content.
    short_description = " ".join((short_description or "").split()) or None
    description = " ".join((description or "").split()) or None
    text = short_description or (description or "").split(". ")[0][:160] or "(no description)"
    fields: dict[str, Any] = {
        "court": court,
        "docket_number": docket.canonical,
        "case_name": case_name,
        "entry_number": number,
        "short_description": short_description or None,
        "description": description or None,
        "date_filed": date_filed,
        "date_entered": date_entered,
        "document_url": document_url,
        "docket_url": docket_url,
        "pacer_case_id": pacer_case_id,
        "pacer_doc_id": normalize_pacer_doc_id(pacer_doc_id),
        **(extra or {}),
    }
    fields = {k: v for k, v in fields.items() if v not in (None, "", [], {})}
    return Item(
        key=entry_key(
            court, docket, entry_number=number, pacer_seq=pacer_seq, pacer_doc_id=pacer_doc_id, fallback=fallback_key
        ),
        title=f"{case_name}: {label} {text}",
        url=document_url or docket_url,
        summary=description or short_description or None,
        published=date_filed or date_entered,
        group=case_group(court, docket),
        fields={**fields, "source": source},
    )


# ---------------------------------------------------------------- docket numbers in prose
#
# Press releases and agency pages write docket numbers many ways: "No. 1:25-cv-01285", "Case No.
# 25-cv-01350", "3:25-cv-01350-WHO", "25-cv-1350", "Civil Action No. 1:25–cv–01285" (en dashes),
# "2:18-cv-02660-JAM-DB", "2:2018cv02660" (four-digit year), S.D.N.Y.'s "No. 25 Civ. 1350 (JPO)",
# appellate "No. 25-1234 (9th Cir.)" and the Federal Circuit's "No. 2025-1234". A number with a case
# type (cv, cr, mc, bk ...) is distinctive enough on its own. A number without one (appeals, bankruptcy)
# looks like too many other things (a press release number "09-001", a public law "Pub. L. No. 99-603",
# a date, a phone number), so it counts only after a cue that says it is a case ("Case No.", "Docket
# No.", "Appeal No.", ...), or after a bare "No." right before a court ("No. 25-1234 (9th Cir.)") or
# right after a caption ("United States v. Illinois, No. 25-1234").

_D = "[-\u2010-\u2015\u2212]"  # hyphen and the dashes word processors put in its place
_CASE_TYPES = "cv|cr|mc|mj|md|ml|mdl|bk|ap|adv|po|pt|sw|gj|dp|vv|cm|ct|cb"
_PROSE_TYPED = re.compile(
    rf"(?<![\w:/\-\u2010-\u2015])(?:(?P<office>\d{{1,2}}):)?(?P<year>(?:19|20)?\d{{2}}){_D}?"
    rf"(?P<type>(?i:{_CASE_TYPES})){_D}?(?P<number>\d{{1,6}})"
    rf"(?P<rest>(?:{_D}(?:[A-Z]{{1,4}}\d{{0,2}}|\d{{1,3}}))*)(?![A-Za-z0-9])"
)
# S.D.N.Y. and E.D.N.Y. style: "25 Civ. 1350 (JPO)", "24 Cr. 123"
_PROSE_SDNY = re.compile(
    r"(?<![\w:/\-])(?P<year>\d{2}) (?P<type>Civ\.?|CIV\.?|Cr\.?|CR|Crim\.?|Misc\.?|MC|CV) ?"
    r"(?P<number>\d{1,6})(?:\s?\((?P<rest>[A-Z]{2,4})\))?(?![A-Za-z0-9])"
)
_SDNY_TYPES = {"civ": "cv", "cv": "cv", "cr": "cr", "crim": "cr", "misc": "mc", "mc": "mc"}
_CUE = re.compile(
    r"(?P<qualifier>\b(?:Case|Docket|Dkt|Appeal|Civil\s+Action|Civil|Civ|Criminal|Crim|Bankruptcy|Bankr|"
    r"Bk|Adversary\s+Proceeding|Adversary|Adv\.\s?Pro|Adv\.\s?Proc|Adv|Petition|Misc|Miscellaneous)\.?\s+)?"
    r"(?P<word>\b(?:Nos?|Numbers?)\b\.?|#)\s?:?\s?",
    re.IGNORECASE,
)
_NUMBER_ONLY_PROSE = re.compile(
    rf"(?<!\d)(?:(?P<office>\d{{1,2}}):)?(?P<year>(?:19|20)?\d{{2}}){_D}(?P<number>\d{{1,6}})"
    rf"(?P<rest>(?:{_D}[A-Za-z]{{1,4}})*)(?![A-Za-z0-9]|{_D}\d)"
)
_LIST_MORE = re.compile(r"\s?(?:,|&|and|,\s?and)\s?")
# Words before a bare "No." that make it something else: Pub. L. No., H.R. Rep. No., Exec. Order No. ...
_NOT_CASES = frozenset(
    [
        "l",
        "law",
        "laws",
        "rep",
        "doc",
        "order",
        "res",
        "bar",
        "release",
        "file",
        "form",
        "tel",
        "phone",
        "fax",
        "id",
        "reg",
        "registration",
        "serial",
        "account",
        "invoice",
        "contract",
        "grant",
        "award",
        "bill",
        "ordinance",
        "resolution",
        "proclamation",
        "policy",
        "item",
        "claim",
        "patent",
        "license",
        "permit",
        "exhibit",
        "ecf",
        "publication",
        "pub",
    ]
)
_CAPTION_BEFORE = re.compile(r"\s(?:v|vs)\.?\s[^;:\n]{1,120}$")


@dataclass(frozen=True, slots=True)
class DocketMention:
    """A docket number found in running text, with the court named right with it (if any)."""

    docket: DocketNumber  # `text` is the number as written
    start: int
    end: int
    court: str | None = None  # CM/ECF id of the court named with it: "(N.D. Ill.)", "in the Ninth Circuit"
    # True when that court is named right with the number ("1:25-cv-01285 (N.D. Ill.)", "the Northern District
    # of Illinois, Case No. 1:25-cv-01285"), False when only somewhere before it in the same paragraph
    court_close: bool = False


def _year2(year: str) -> str:
    return year[-2:]


def _mention(
    text: str, start: int, end: int, office: str | None, year: str, kind: str | None, number: str, rest: str | None
) -> DocketMention | None:
    suffixes = [p for p in re.split(_D, rest or "") if p]
    normal = (f"{office}:" if office else "") + _year2(year) + (f"-{kind.lower()}" if kind else "") + f"-{number}"
    normal += "".join(f"-{s}" for s in suffixes)
    docket = parse_docket_number(normal)
    if not docket.valid:
        return None
    return DocketMention(replace(docket, text=text[start:end]), start, end)


def _cue_allows(text: str, cue: re.Match[str], end: int) -> bool:
    """Whether numbers without a case type after this cue (ending at `end`) are docket numbers."""
    if cue.group("qualifier"):
        return True
    before = text[max(0, cue.start() - 160) : cue.start()]
    words = re.findall(r"[A-Za-z]+", before[-24:])
    if words and words[-1].lower() in _NOT_CASES:
        return False
    if _court_right_after(text, end) is not None:
        return True
    return bool(_CAPTION_BEFORE.search(before))


# What may stand between a docket number and the court named after it: "1:25-cv-01285 (N.D. Ill.)",
# "No. 25-1234, 9th Cir.", "Case No. 25-cv-01350, filed in the U.S. District Court for the Northern District of
# California", "No. 25-1234 before the Court of Appeals for the Ninth Circuit".
_COURT_GAP = re.compile(
    r"[\s,(]*(?:(?:which\s+(?:is|was)\s+)?(?:pending|filed|docketed|brought|heard)\s+)?(?:(?:in|before|at|by)\s+)?"
    r"(?:the\s+)?(?:(?:U\.\s?S\.|United\s+States)\s+)?(?:(?:District|Bankruptcy)\s+Court\s+for\s+the\s+|"
    r"Court\s+of\s+Appeals\s+for\s+the\s+)?",
    re.IGNORECASE,
)


def _court_right_after(text: str, end: int, courts: list[Any] | None = None) -> str | None:
    from watchers.courts import find_courts

    if courts is None:
        courts = [replace(c, start=c.start + end, end=c.end + end) for c in find_courts(text[end : end + 120])]
    for court in courts:
        if court.start >= end:
            gap = text[end : court.start]
            return court.court if len(gap) <= 90 and _COURT_GAP.fullmatch(gap) else None
    return None


def find_docket_numbers(text: str, courts: list[Any] | None = None) -> list[DocketMention]:
    """Every federal docket number written in `text`, in order, each once per place it is written, with
    the court named with it when the text names one right there (see `nearby_court`). `courts`: the
    text's `watchers.courts.find_courts`, when the caller has them already."""
    from watchers.courts import find_courts

    found: list[DocketMention] = []
    taken: list[tuple[int, int]] = []

    def add(mention: DocketMention | None) -> None:
        if mention is None or any(s < mention.end and mention.start < e for s, e in taken):
            return
        found.append(mention)
        taken.append((mention.start, mention.end))

    for m in _PROSE_TYPED.finditer(text):
        add(
            _mention(
                text,
                m.start(),
                m.end(),
                m.group("office"),
                m.group("year"),
                m.group("type"),
                m.group("number"),
                m.group("rest"),
            )
        )
    for m in _PROSE_SDNY.finditer(text):
        kind = _SDNY_TYPES[m.group("type").rstrip(".").lower()]
        add(_mention(text, m.start(), m.end(), None, m.group("year"), kind, m.group("number"), m.group("rest")))
    for cue in _CUE.finditer(text):
        numbers: list[re.Match[str]] = []
        number = _NUMBER_ONLY_PROSE.match(text, cue.end())
        while number is not None:  # "Nos. 25-1234, 25-1235 and 25-1236"
            numbers.append(number)
            plural = cue.group("word").lower().startswith(("nos", "numbers"))
            more = _LIST_MORE.match(text, number.end()) if plural else None
            number = _NUMBER_ONLY_PROSE.match(text, more.end()) if more else None
        if numbers and _cue_allows(text, cue, numbers[-1].end()):
            for number in numbers:
                add(
                    _mention(
                        text,
                        number.start(),
                        number.end(),
                        number.group("office"),
                        number.group("year"),
                        None,
                        number.group("number"),
                        number.group("rest"),
                    )
                )
    found.sort(key=lambda m: m.start)
    courts = find_courts(text) if courts is None else courts
    placed: list[DocketMention] = []
    for mention in found:
        court, close = nearby_court(text, mention, courts)
        placed.append(replace(mention, court=court, court_close=close))
    for i in range(len(placed) - 2, -1, -1):  # "Nos. 25-1234 and 25-1235 (9th Cir.)": the court is the list's
        this, following = placed[i], placed[i + 1]
        if following.court and not this.court_close and _LIST_MORE.fullmatch(text[this.end : following.start]):
            placed[i] = replace(this, court=following.court, court_close=following.court_close)
    return placed


def nearby_court(text: str, mention: DocketMention, courts: list[Any]) -> tuple[str | None, bool]:
    """The court named with a docket number, and whether it is named right with it: right after it
    ("1:25-cv-01285 (N.D. Ill.)", "Case No. 25-cv-01350, filed in the Northern District of California") or
    just before it ("the Northern District of Illinois, Case No. 1:25-cv-01285"); else the nearest court
    named before it in the same paragraph (not close); (None, False) when none is."""
    after = _court_right_after(text, mention.end, courts)
    if after is not None:
        return after, True
    before = [
        c
        for c in courts
        if c.end <= mention.start and mention.start - c.end <= 200 and "\n\n" not in text[c.end : mention.start]
    ]
    if not before:
        return None, False
    gap = text[before[-1].end : mention.start]
    return before[-1].court, len(gap) <= 40 and _CLOSE_BEFORE.fullmatch(gap) is not None


_CLOSE_BEFORE = re.compile(
    r"[\s,:;()]*(?:(?:in|under|as)\s+)?(?:(?:Case|Civil\s+Action|Docket|Appeal)\s+)?"
    r"(?:(?:No|Nos|Number)\.?\s?:?\s?|#)?",
    re.IGNORECASE,
)
