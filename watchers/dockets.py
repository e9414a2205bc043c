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
from dataclasses import dataclass
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
_NUMBER_ONLY = re.compile(r"^\s*(?:(?P<office>\d{1,2})\s*:\s*)?(?P<year>\d{2})\s*-\s*(?P<number>\d{1,6})"
                          r"(?P<rest>(?:\s*-\s*[a-z]{1,6})*)\s*$", re.IGNORECASE)


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
        return DocketNumber(text, office, match.group("year"), match.group("type").lower(),
                            int(match.group("number")), rest)
    match = _NUMBER_ONLY.match(text)
    if match:
        rest = tuple(p.strip() for p in (match.group("rest") or "").split("-") if p.strip())
        office = str(int(match.group("office"))) if match.group("office") else None
        return DocketNumber(text, office, match.group("year"), None, int(match.group("number")), rest,
                            digits=match.group("number"))
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


def entry_key(court: str, docket: DocketNumber, *, entry_number: Any = None, pacer_seq: Any = None,
              pacer_doc_id: str | None = None, fallback: str | None = None) -> str:
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
        key=entry_key(court, docket, entry_number=number, pacer_seq=pacer_seq, pacer_doc_id=pacer_doc_id,
                      fallback=fallback_key),
        title=f"{case_name}: {label} {text}",
        url=document_url or docket_url,
        summary=description or short_description or None,
        published=date_filed or date_entered,
        group=case_group(court, docket),
        fields={**fields, "source": source},
    )
