"""Reading where a case goes from docket text (monitor/casemoves.py), the courts it names, and whose parties match.

Real texts come from recorded dockets (tests/data/core/*_docket.json, juriscraper's PACER fixtures); the
notice-of-appeal and USCA forms are the ones court-data.md ("Appeals") records from public dockets.
"""

from __future__ import annotations

import json

import pytest

from monitor.appeals import same_parties
from monitor.casemoves import Move, read_move
from tests.conftest import DATA
from watchers.courts import COURTS, appeals_court, named_in
from watchers.dockets import parse_docket_number

SF = parse_docket_number("3:25-cv-01350")


def entries(name: str) -> list[tuple[str, str, str]]:
    """(court, docket number, text) of every entry of a recorded docket."""
    docket = json.loads((DATA / "core" / name).read_text())
    return [(docket["court_id"], docket["docket_number"], e["description"]) for e in docket["docket_entries"]]


def read(text: str, court: str = "cand", docket: str = "3:25-cv-01350") -> Move | None:
    return read_move(text, court=court, docket=parse_docket_number(docket))


@pytest.mark.parametrize(
    "text, expected",
    [
        # the notice starts the appeal; the court of appeals is the district's circuit unless named
        (
            "NOTICE OF APPEAL to the 9th Circuit Court of Appeals filed by Donald J. Trump. "
            "(Appeal fee of $605 receipt number ACANDC-20155555 paid.)",
            Move("appeal", "ca9", None, True),
        ),
        ("Notice of Appeal to the 9th Circuit", Move("appeal", "ca9", None, True)),  # as the RSS feed says it
        ("AMENDED NOTICE OF APPEAL as to 94 Judgment by UNITED STATES", Move("appeal", "ca9", None, True)),
        ("NOTICE OF INTERLOCUTORY APPEAL by Donald J. Trump re 112 Order", Move("appeal", "ca9", None, True)),
        ("NOTICE OF APPEAL to the Federal Circuit by Acme", Move("appeal", "cafc", None, True)),
        # the number, once the circuit has opened the case; which notice it is for
        (
            "USCA Case Number 25-1234 Ninth Circuit for 45 Notice of Appeal to the 9th Circuit, "
            "filed by Donald J. Trump.",
            Move("appeal", "ca9", "25-1234", False, "45"),
        ),
        (
            "USCA Case Number 26-5243 for 113 Notice of Appeal filed by United States",
            Move("appeal", "ca9", "26-5243", False, "113"),
        ),
        ("USCA Case Number", Move("appeal", "ca9", None, False)),  # the RSS feed's short text: no number yet
        (
            "ORDER of USCA as to 45 Notice of Appeal: the motion for a stay is DENIED. (USCA No. 25-1234)",
            Move("appeal", "ca9", "25-1234", False, "45"),
        ),
        # mentions of a notice of appeal that start nothing: the appeal is over, or the entry is about it
        ("MANDATE of USCA as to 72 Notice of Appeal to the 9th Circuit, USCA No. 25-1234", None),
        ("OPINION/JUDGMENT of USCA as to 45 Notice of Appeal (USCA No. 25-1234)", None),
        ("TRANSCRIPT DESIGNATION AND ORDERING FORM re 45 Notice of Appeal", None),
        ("Appeal Fee Payment", None),  # S.D.N.Y.'s RSS feed (sdny_1.xml)
        ("Transmission of Notice of Appeal and Docket Sheet to US Court of Appeals re 45 Notice of Appeal", None),
        # transfers: only entries that transfer, only to another federal court named in the text
        (
            "ORDER TRANSFERRING CASE to the Northern District of Illinois. Signed by Judge William H. Orrick.",
            Move("transfer", "ilnd", None, True),
        ),
        (
            "Case transferred to District of Oregon; new case number 3:25-cv-00456",
            Move("transfer", "ord", "3:25-cv-00456", True),
        ),
        ("MOTION to Transfer Case to the Northern District of Illinois filed by Donald J. Trump", None),
        ("Case transferred in from District of Oregon; Case Number 3:25-cv-00123. Original file received.", None),
        ("REMANDED to Superior Court of California, County of San Francisco", None),  # a state court
        (
            "ORDER REMANDING CASE to the United States Bankruptcy Court for the Northern District of California",
            Move("remand", "canb", None, True),
        ),
        ("", None),
    ],
)
def test_what_an_entry_says(text: str, expected: Move | None):
    """Notices of appeal start appeals, USCA entries give numbers, mandates and motions start nothing."""
    assert read(text) == expected


def test_recorded_transfers_are_read_only_when_they_leave_the_court():
    """Real dockets: S.D. Tex.'s order granting the transfer, the interdistrict transfer and the entry with the new
    number ("New Case # assigned: 4:19cv366") are a transfer to N.D. Tex.; the motion asking for it is not;
    a division transfer (D. Mass.) and MDL transfer orders docketed by the receiving court (N.D. Cal.,
    S.D.N.Y.) are no move at all."""
    found = [
        (court, text, read(text, court, number))
        for name in ("txsd_docket.json", "mad_193254_docket.json", "cand_263146_docket.json", "nysd_1_docket.json")
        for court, number, text in entries(name)
    ]
    moves = [(court, text.split(" to ")[0], move) for court, text, move in found if move is not None]
    assert moves == [
        ("txsd", "ORDER Granting 2 Unopposed MOTION", Move("transfer", "txnd", None, True)),
        ("txsd", "Interdistrict transfer", Move("transfer", "txnd", None, True)),
        ("txsd", "Transfer of case", Move("transfer", "txnd", "4:19-cv-00366", True)),
    ]
    texts = [text for _, text, _ in found]
    assert any(t.startswith("Unopposed MOTION to Transfer Case") for t in texts)  # read, and no move
    assert any(t.startswith("Case transferred to Western Division") for t in texts)


def test_appeals_from_a_bankruptcy_court_go_to_its_district_court_unless_a_circuit_is_named():
    """S.D.N.Y. Bankruptcy's RSS text "Notice, Appeal (fee)" (nysb_1.xml) is an appeal to S.D.N.Y."""
    assert read("Notice, Appeal (fee)", "nysb", "1:18-ap-01473") == Move("appeal", "nysd", None, True)
    assert read("Notice of Direct Appeal to the 2d Circuit", "nysb", "16-10992") == Move("appeal", "ca2", None, True)


def test_every_district_and_bankruptcy_court_has_a_court_of_appeals():
    """The circuit table covers every state and territory (28 U.S.C. § 41); national courts go to the Federal
    Circuit; a court of appeals has none here."""
    for court in COURTS.values():
        if court.kind in ("district", "bankruptcy"):
            assert appeals_court(court.id) is not None, court

    def circuit(court_id: str) -> str:
        court = appeals_court(court_id)
        assert court is not None, court_id
        return court.id

    assert [circuit(c) for c in ("cand", "ilnd", "dcd", "nysb", "prd", "gud", "vid", "cit")] == [
        "ca9",
        "ca7",
        "cadc",
        "ca2",
        "ca1",
        "ca9",
        "ca3",
        "cafc",
    ]
    assert appeals_court("ca9") is None


@pytest.mark.parametrize(
    "text, court",
    [
        ("to the 9th Circuit", "ca9"),
        ("Ninth Circuit", "ca9"),
        ("2d Cir.", "ca2"),
        ("the D.C. Circuit", "cadc"),
        ("TO DC CIRCUIT COURT", "cadc"),
        ("the District of Columbia Circuit", "cadc"),
        ("Federal Circuit", "cafc"),
        ("the Northern District of Texas, Fort Worth Division", "txnd"),
        ("District of Columbia", "dcd"),
        ("the Southern District of West Virginia", "wvsd"),
        ("the District of the Virgin Islands", "vid"),
        ("Bankruptcy Court for the District of Delaware", "deb"),
        ("Western Division (Springfield)", None),
        ("Superior Court of California", None),
        ("the 12th Circuit", None),
    ],
)
def test_courts_named_in_text(text: str, court: str | None):
    """Circuits by number, word or name; districts and bankruptcy courts by their full names."""
    found = named_in(text)
    assert (found.id if found else None) == court


@pytest.mark.parametrize(
    "followed, other, same",
    [
        (
            "City and County of San Francisco v. Trump",
            "City & County of San Francisco, et al. v. Donald J. Trump, et al.",
            True,
        ),
        ("City and County of San Francisco v. Trump", "Donald J. Trump v. City and County of San Francisco", True),
        ("United States v. Illinois", "USA v. State of Illinois", True),
        ("United States v. Illinois", "United States v. California", False),
        ("United States v. City of Chicago", "United States v. City of Evanston", False),
        ("City and County of San Francisco v. Trump", "City of Chicago v. Trump", False),
        ("United States v. Illinois", "Doe v. Illinois", False),
        (
            "IN RE: LITHIUM ION BATTERIES ANTITRUST LITIGATION",
            "In re: Lithium Ion Batteries Antitrust Litigation",
            True,
        ),
        ("US v. James Squire", "United States v. Squire", True),  # ca4_1.xml's caption, harmonised
    ],
)
def test_same_parties(followed: str, other: str, same: bool):
    """Captions match on the distinctive words of each side, in either order; generic words do not count."""
    assert same_parties(followed, other) is same
