"""Federal court ids: every court a case can be followed in, with its name and citation form.

The id is the CM/ECF id, the host name of the court's PACER server (`ecf.<id>.uscourts.gov`): `cand`,
`ilnd`, `nysb`, `ca9`. It is the `court:` of `pacer_rss` and `courtlistener` watches and the court in
every docket entry's key, so both watches of a case must use the same one.

- Districts (94): state or territory code + district letter (n, s, e, w, m, c; none for a one-district
  state) + `d`: `ilnd` (N.D. Ill.), `mad` (D. Mass.), `dcd` (D.D.C.).
- Bankruptcy courts (94): the same with `b`: `ilnb` (Bankr. N.D. Ill.). Arkansas's two bankruptcy
  courts share one clerk but keep two CM/ECF ids, `areb` and `arwb`.
- Courts of appeals: `ca1` ... `ca11`, `cadc`, `cafc`.
- Other national courts: `cit` (Court of International Trade), `cofc` (Court of Federal Claims),
  `jpml` (multidistrict litigation panel), `cavc` (Veterans Claims); and courts CourtListener has
  dockets of but PACER has no feed for: `scotus`, the bankruptcy appellate panels `bap1` ... `bap10`.

CourtListener uses the same ids except for three courts, mapped here (bigcases2
`utils/courtlistener.py`, `pacer_to_cl_ids`): Arizona bankruptcy `azb` is `arb` there, the Court of
Federal Claims `cofc` is `uscfc`, Nebraska bankruptcy `neb` is `nebraskab`. Either spelling is
accepted wherever a court id is read (`find`).

`rss` says whether PACER's court list (https://pacer.uscourts.gov/file-case/court-cmecf-lookup/data.json,
as of 2023-01-01) names an RSS feed for the court. It agrees with CourtListener's `pacer_has_rss_feed`
for every court recorded in the test data. Two courts publish a feed the list omits (juriscraper has
samples of both): E.D.N.Y. (`readyDockets.pl`) and Bankr. S.D.N.Y.

Where a case goes next (`monitor/appeals.py`): `appeals_court(id)` is the court of appeals that hears a
court's appeals (a district's regional circuit, 28 U.S.C. § 41 and § 1294; the Federal Circuit for the
national trial courts, § 1295), and `named_in(text)` finds the federal court a docket text names
("transferred to the Northern District of Illinois", "Notice of Appeal to the 9th Circuit").

`python -m watchers.courts` prints the README's table of court ids.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["district", "bankruptcy", "appellate", "national"]

# code -> (name, abbreviation in citations, districts: "" for one district, else the district letters)
_STATES: dict[str, tuple[str, str, str]] = {
    "al": ("Alabama", "Ala.", "mns"),
    "ak": ("Alaska", "Alaska", ""),
    "az": ("Arizona", "Ariz.", ""),
    "ar": ("Arkansas", "Ark.", "ew"),
    "ca": ("California", "Cal.", "cens"),
    "co": ("Colorado", "Colo.", ""),
    "ct": ("Connecticut", "Conn.", ""),
    "de": ("Delaware", "Del.", ""),
    "dc": ("District of Columbia", "D.C.", ""),
    "fl": ("Florida", "Fla.", "mns"),
    "ga": ("Georgia", "Ga.", "mns"),
    "gu": ("Guam", "Guam", ""),
    "hi": ("Hawaii", "Haw.", ""),
    "id": ("Idaho", "Idaho", ""),
    "il": ("Illinois", "Ill.", "cns"),
    "in": ("Indiana", "Ind.", "ns"),
    "ia": ("Iowa", "Iowa", "ns"),
    "ks": ("Kansas", "Kan.", ""),
    "ky": ("Kentucky", "Ky.", "ew"),
    "la": ("Louisiana", "La.", "emw"),
    "me": ("Maine", "Me.", ""),
    "md": ("Maryland", "Md.", ""),
    "ma": ("Massachusetts", "Mass.", ""),
    "mi": ("Michigan", "Mich.", "ew"),
    "mn": ("Minnesota", "Minn.", ""),
    "ms": ("Mississippi", "Miss.", "ns"),
    "mo": ("Missouri", "Mo.", "ew"),
    "mt": ("Montana", "Mont.", ""),
    "ne": ("Nebraska", "Neb.", ""),
    "nv": ("Nevada", "Nev.", ""),
    "nh": ("New Hampshire", "N.H.", ""),
    "nj": ("New Jersey", "N.J.", ""),
    "nm": ("New Mexico", "N.M.", ""),
    "ny": ("New York", "N.Y.", "ensw"),
    "nc": ("North Carolina", "N.C.", "emw"),
    "nd": ("North Dakota", "N.D.", ""),
    "nmi": ("Northern Mariana Islands", "N. Mar. I.", ""),
    "oh": ("Ohio", "Ohio", "ns"),
    "ok": ("Oklahoma", "Okla.", "enw"),
    "or": ("Oregon", "Or.", ""),
    "pa": ("Pennsylvania", "Pa.", "emw"),
    "pr": ("Puerto Rico", "P.R.", ""),
    "ri": ("Rhode Island", "R.I.", ""),
    "sc": ("South Carolina", "S.C.", ""),
    "sd": ("South Dakota", "S.D.", ""),
    "tn": ("Tennessee", "Tenn.", "emw"),
    "tx": ("Texas", "Tex.", "ensw"),
    "ut": ("Utah", "Utah", ""),
    "vt": ("Vermont", "Vt.", ""),
    "vi": ("Virgin Islands", "V.I.", ""),
    "va": ("Virginia", "Va.", "ew"),
    "wa": ("Washington", "Wash.", "ew"),
    "wv": ("West Virginia", "W. Va.", "ns"),
    "wi": ("Wisconsin", "Wis.", "ew"),
    "wy": ("Wyoming", "Wyo.", ""),
}
_DISTRICT_WORD = {"n": "Northern", "s": "Southern", "e": "Eastern", "w": "Western", "m": "Middle", "c": "Central"}
_ORDINAL = {
    1: "First",
    2: "Second",
    3: "Third",
    4: "Fourth",
    5: "Fifth",
    6: "Sixth",
    7: "Seventh",
    8: "Eighth",
    9: "Ninth",
    10: "Tenth",
    11: "Eleventh",
}
# Courts whose row in PACER's court list has no rss_url (2023-01-01), less the two known to have a feed.
_NO_LISTED_FEED = frozenset(
    [
        "ca1",
        "ca3",
        "ca5",
        "ca7",
        "ca8",
        "ca9",
        "alnb",
        "alnd",
        "cob",
        "flnd",
        "gand",
        "gasd",
        "kyed",
        "mdd",
        "miwb",
        "msnd",
        "nceb",
        "ndd",
        "nywd",
        "oked",
        "oknd",
        "pamb",
        "pamd",
        "sdd",
        "vaed",
        "jpml",
    ]
)
# PACER (CM/ECF) id -> CourtListener id, where they differ
_COURTLISTENER_IDS = {"azb": "arb", "cofc": "uscfc", "neb": "nebraskab"}


@dataclass(frozen=True, slots=True)
class Court:
    id: str  # CM/ECF id; the `court:` of watches
    name: str  # "U.S. District Court for the Northern District of Illinois"
    citation: str  # "N.D. Ill."
    kind: Kind
    state: str | None = None  # for districts and bankruptcy courts
    rss: bool = True  # PACER's court list names an RSS feed
    pacer: bool = True  # has a CM/ECF server of its own (scotus and the BAPs do not)

    @property
    def courtlistener_id(self) -> str:
        return _COURTLISTENER_IDS.get(self.id, self.id)

    def __str__(self) -> str:
        return f"{self.citation} ({self.id})"


def _cite(letter: str, abbreviation: str) -> str:
    # Bluebook: no space between "D." and an abbreviation made only of initials (D.D.C., E.D.N.Y.)
    joiner = "" if re.fullmatch(r"(?:[A-Z]\.)+", abbreviation) else " "
    return f"{letter.upper()}.D." + joiner + abbreviation if letter else "D." + joiner + abbreviation


def _build() -> dict[str, Court]:
    courts: dict[str, Court] = {}
    for code, (state, abbreviation, letters) in _STATES.items():
        district_of = f"the {state}" if state.startswith("District of") else f"the District of {state}"
        if state in ("Virgin Islands", "Northern Mariana Islands"):
            district_of = f"the District of the {state}"
        for letter in letters or [""]:
            where = f"the {_DISTRICT_WORD[letter]} District of {state}" if letter else district_of
            citation = _cite(letter, abbreviation)
            for suffix, kind, label, prefix in (
                ("d", "district", "District", ""),
                ("b", "bankruptcy", "Bankruptcy", "Bankr. "),
            ):
                court_id = f"{code}{letter}{suffix}"
                courts[court_id] = Court(
                    court_id,
                    f"U.S. {label} Court for {where}",
                    prefix + citation,
                    kind,  # type: ignore[arg-type]
                    state,
                    court_id not in _NO_LISTED_FEED,
                )
    circuits = [
        (f"ca{n}", f"the {_ORDINAL[n]} Circuit", f"{n}{'d' if n in (2, 3) else 'st' if n == 1 else 'th'} Cir.")
        for n in range(1, 12)
    ]
    circuits += [
        ("cadc", "the District of Columbia Circuit", "D.C. Cir."),
        ("cafc", "the Federal Circuit", "Fed. Cir."),
    ]
    for court_id, which, citation in circuits:
        courts[court_id] = Court(
            court_id, f"U.S. Court of Appeals for {which}", citation, "appellate", rss=court_id not in _NO_LISTED_FEED
        )
    for number in (1, 6, 8, 9, 10):
        ordinal = f"{number}{'st' if number == 1 else 'th'}"
        courts[f"bap{number}"] = Court(
            f"bap{number}",
            f"Bankruptcy Appellate Panel of the {_ORDINAL[number]} Circuit",
            f"B.A.P. {ordinal} Cir.",
            "appellate",
            rss=False,
            pacer=False,
        )
    for court_id, name, citation, kind, rss, pacer in (
        ("cavc", "U.S. Court of Appeals for Veterans Claims", "Vet. App.", "appellate", False, True),
        ("cit", "U.S. Court of International Trade", "Ct. Int'l Trade", "national", True, True),
        ("cofc", "U.S. Court of Federal Claims", "Fed. Cl.", "national", True, True),
        ("jpml", "Judicial Panel on Multidistrict Litigation", "J.P.M.L.", "national", False, True),
        ("scotus", "Supreme Court of the United States", "SCOTUS", "national", False, False),
    ):
        courts[court_id] = Court(court_id, name, citation, kind, rss=rss, pacer=pacer)  # type: ignore[arg-type]
    return courts


COURTS: dict[str, Court] = _build()
_BY_COURTLISTENER_ID = {c.courtlistener_id: c for c in COURTS.values()}


def _squash(text: str) -> str:
    return re.sub(r"[\s.']+", "", text).lower()


_BY_CITATION = {_squash(c.citation): c for c in COURTS.values()}


def lookup(text: str) -> Court | None:
    """The court named by a CM/ECF id, a CourtListener id or a citation ("N.D. Ill."), any case; else None."""
    key = text.strip().lower()
    return COURTS.get(key) or _BY_COURTLISTENER_ID.get(key) or _BY_CITATION.get(_squash(text))


def by_courtlistener_id(court_id: str) -> Court | None:
    return _BY_COURTLISTENER_ID.get(court_id.strip().lower())


# ---------------------------------------------------------------- courts named in prose


@dataclass(frozen=True, slots=True)
class CourtMention:
    """A court named in running text: "N.D. Ill.", "Northern District of Illinois", "9th Cir.", "Ninth Circuit"."""

    court: str  # CM/ECF id
    start: int
    end: int


def _phrases() -> dict[str, str]:
    """Every way prose names a court (citation and name forms) -> court id, keyed by `_squash`."""
    phrases: dict[str, str] = {}
    for court in COURTS.values():
        if court.id != "scotus":
            phrases[court.citation] = court.id
        if court.kind in ("district", "bankruptcy"):
            where = court.name.split(" for the ", 1)[1]  # "Northern District of Illinois"
            if where == "District of Columbia":  # bare, it names the city or D.C.'s own courts
                if court.kind == "district":
                    phrases["District Court for the District of Columbia"] = court.id
                else:
                    phrases["Bankruptcy Court for the District of Columbia"] = court.id
                continue
            phrases[("Bankruptcy Court for the " if court.kind == "bankruptcy" else "") + where] = court.id
    for number, word in _ORDINAL.items():
        suffix = "d" if number in (2, 3) else "st" if number == 1 else "th"
        for name in (word, f"{number}{suffix}", f"{number}{'nd' if number == 2 else 'rd' if number == 3 else suffix}"):
            phrases[f"{name} Circuit"] = f"ca{number}"
            if f"bap{number}" in COURTS:
                phrases[f"Bankruptcy Appellate Panel of the {name} Circuit"] = f"bap{number}"
                phrases[f"{name} Circuit Bankruptcy Appellate Panel"] = f"bap{number}"
    phrases |= {
        "D.C. Circuit": "cadc",
        "Federal Circuit": "cafc",
        "Court of Federal Claims": "cofc",
        "Court of International Trade": "cit",
        "Supreme Court of the United States": "scotus",
        "U.S. Supreme Court": "scotus",
        "United States Supreme Court": "scotus",
        "Judicial Panel on Multidistrict Litigation": "jpml",
    }
    return phrases


def _phrase_pattern(phrase: str) -> str:
    # "N.D. Ill." also as "N. D. Ill" ; words separated by any whitespace; a final period optional
    parts = []
    for word in phrase.split():
        parts.append(r"\.\s?".join(re.escape(piece) for piece in word.split(".")))
    pattern = r"\s+".join(parts)
    if pattern.endswith(r"\.\s?"):
        pattern = pattern[: -len(r"\.\s?")] + r"\.?"
    return pattern.replace("'", "['’]")


_NAMED = _phrases()
_PHRASES = {_squash(p): court for p, court in _NAMED.items()}


@functools.cache
def _mention() -> re.Pattern[str]:
    """One alternation, longest first ("Bankr. N.D. Ill." before "N.D. Ill."), case-sensitive as courts are
    written (three times faster than ignoring case). Compiled on first use: ~20 ms that a process which
    never reads prose for courts (most `monitor check` runs) does not pay."""
    return re.compile(
        r"(?<![A-Za-z])(?:"
        + "|".join(_phrase_pattern(p) for p in sorted(_NAMED, key=len, reverse=True))
        + r")(?![A-Za-z])"
    )


def find_courts(text: str) -> list[CourtMention]:
    """The federal courts `text` names, in order: citations ("N.D. Ill.", "9th Cir.") and names ("the
    Northern District of Illinois", "the Ninth Circuit", "Bankruptcy Court for the District of Delaware").
    A bare "District of Columbia" is not a court (the city, or D.C.'s own Superior Court)."""
    found = []
    for match in _mention().finditer(text):
        court = _PHRASES.get(_squash(match.group().replace("’", "'")))
        if court:
            found.append(CourtMention(court, match.start(), match.end()))
    return found


# The regional circuits (28 U.S.C. § 41): state or territory code -> court of appeals.
_CIRCUITS = {
    "ca1": "me ma nh ri pr",
    "ca2": "ct ny vt",
    "ca3": "de nj pa vi",
    "ca4": "md nc sc va wv",
    "ca5": "la ms tx",
    "ca6": "ky mi oh tn",
    "ca7": "il in wi",
    "ca8": "ar ia mn mo ne nd sd",
    "ca9": "ak az ca hi id mt nv or wa gu nmi",
    "ca10": "co ks nm ok ut wy",
    "ca11": "al fl ga",
    "cadc": "dc",
}
_CIRCUIT_OF_STATE = {code: circuit for circuit, codes in _CIRCUITS.items() for code in codes.split()}
_STATE_CODE = {name: code for code, (name, _, _) in _STATES.items()}
# "the District of Columbia" reads as "district of" + a place, like "the District of Oregon"
_PLACE_CODE = _STATE_CODE | {"Columbia": "dc"}


def appeals_court(court_id: str) -> Court | None:
    """The court of appeals that hears appeals from `court_id`: a district's (or its bankruptcy court's)
    regional circuit, the Federal Circuit for the Court of International Trade, the Court of Federal
    Claims and the Court of Appeals for Veterans Claims; None for a court of appeals itself."""
    court = lookup(court_id)
    if court is None:
        return None
    if court.id in ("cit", "cofc", "cavc"):
        return COURTS["cafc"]
    if court.state is None:
        return None
    code = _STATE_CODE[court.state]
    return COURTS[_CIRCUIT_OF_STATE[code]]


_ORDINAL_NUMBER = {word.lower(): n for n, word in _ORDINAL.items()}
_STATE_NAMES = "|".join(re.escape(name) for name in sorted(_PLACE_CODE, key=len, reverse=True))


@functools.cache
def _named_court() -> re.Pattern[str]:
    """Compiled on first use, as `_mention`."""
    return re.compile(_NAMED_COURT, re.IGNORECASE)


_NAMED_COURT = (
    r"(?P<circuit>(?:(?P<nth>\d{1,2})\s*(?:st|nd|rd|th|d)|(?P<word>first|second|third|fourth|fifth|sixth|seventh|"
    r"eighth|ninth|tenth|eleventh)|(?P<dc>d\.\s?c\.|dc|district\s+of\s+columbia)|(?P<fed>federal))\s+cir(?:cuit\b|\.))"
    r"|(?P<bankruptcy>bankruptcy\s+court\s+for\s+)?(?:the\s+)?(?:(?P<letter>northern|southern|eastern|western|middle|"
    r"central)\s+)?district\s+of\s+(?:the\s+)?(?P<state>" + _STATE_NAMES + r")\b(?!\s+cir(?:cuit|\.))"
)


def named_in(text: str) -> Court | None:
    """The first federal court that `text` names: a circuit ("the 9th Circuit", "Ninth Circuit", "D.C. Cir.",
    "Federal Circuit"), or a district or bankruptcy court by its name ("the Northern District of
    Illinois", "District of Columbia", "Bankruptcy Court for the District of Delaware"); None if none
    (a state court, "Western Division", "the district court")."""
    for found in _named_court().finditer(text or ""):
        if found.group("circuit"):
            if found.group("dc"):
                return COURTS["cadc"]
            if found.group("fed"):
                return COURTS["cafc"]
            n = int(found.group("nth")) if found.group("nth") else _ORDINAL_NUMBER[found.group("word").lower()]
            if 1 <= n <= 11:
                return COURTS[f"ca{n}"]
            continue
        code = next(c for name, c in _PLACE_CODE.items() if name.lower() == found.group("state").lower())
        letter = (found.group("letter") or "")[:1].lower()
        court_id = f"{code}{letter}{'b' if found.group('bankruptcy') else 'd'}"
        if court_id in COURTS:
            return COURTS[court_id]
    return None


def close_to(text: str, limit: int = 5) -> list[Court]:
    """Courts whose id or citation look like `text`, closest first (for "did you mean")."""
    key = text.strip().lower()
    names = {c.id: c for c in COURTS.values()} | {c.courtlistener_id: c for c in COURTS.values()}
    found = [names[n] for n in difflib.get_close_matches(key, list(names), n=limit, cutoff=0.6)]
    found += [
        _BY_CITATION[n] for n in difflib.get_close_matches(_squash(text), list(_BY_CITATION), n=limit, cutoff=0.75)
    ]
    unique = list(dict.fromkeys(found))
    return unique[:limit]


def cite(court_id: str) -> str:
    """ "N.D. Ill." for `ilnd`; an unknown id as it is."""
    court = lookup(court_id)
    return court.citation if court else court_id


def readme_table() -> str:
    """The README's "Finding a court id" table, one row per state or territory, then the other courts."""
    rows = ["| state or territory | district courts | bankruptcy courts |", "|---|---|---|"]
    for state, _, _ in sorted(_STATES.values(), key=lambda v: v[0]):
        districts = [c for c in COURTS.values() if c.state == state and c.kind == "district"]
        bankruptcy = [c for c in COURTS.values() if c.state == state and c.kind == "bankruptcy"]
        rows.append(f"| {state} | {_cells(districts)} | {_cells(bankruptcy)} |")
    rows += ["", "| court | id |", "|---|---|"]
    for court in COURTS.values():
        if court.state is None:
            rows.append(f"| {court.name} ({court.citation}){_notes(court)} | `{court.id}` |")
    return "\n".join(rows)


def _cells(courts: list[Court]) -> str:
    return ", ".join(f"`{c.id}` {c.citation}{_notes(c)}" for c in courts)


def _notes(court: Court) -> str:
    notes = []
    if court.courtlistener_id != court.id:
        notes.append(f"CourtListener: `{court.courtlistener_id}`")
    if not court.pacer:
        notes.append("CourtListener only")
    elif not court.rss:
        notes.append("no RSS feed listed")
    return f" ({'; '.join(notes)})" if notes else ""


if __name__ == "__main__":
    print(readme_table())
