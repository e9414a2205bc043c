"""Docket numbers and courts found in running text (press releases, agency pages): `find_docket_numbers`
and `find_courts`, on the forms people write and on the numbers that only look like docket numbers."""

from __future__ import annotations

import pytest

from tests.conftest import DATA
from watchers.courts import find_courts
from watchers.dockets import find_docket_numbers, parse_docket_number
from watchers.pacer_feed import parse_feed
from watchers.textutil import html_to_text


def found(text: str) -> list[tuple[str, str | None]]:
    return [(m.docket.canonical, m.court) for m in find_docket_numbers(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        # district numbers, with and without office code, padding, judge initials, dashes of every kind
        ("The case is United States v. Illinois, No. 1:25-cv-01285 (N.D. Ill.).", [("1:25-cv-01285", "ilnd")]),
        (
            "Case No. 25-cv-01350, filed in the U.S. District Court for the Northern District of California.",
            [("25-cv-01350", "cand")],
        ),
        ("The order in 3:25-cv-01350-WHO was entered today.", [("3:25-cv-01350", None)]),
        ("See 25-cv-1350.", [("25-cv-01350", None)]),
        ("Civil Action No. 1:25\u2013cv\u201301285", [("1:25-cv-01285", None)]),
        ("Civil Action No. 1:25\u2014cv\u201401285-RRP", [("1:25-cv-01285", None)]),
        ("Case 2:18-cv-02660-JAM-DB Document 1 Filed 09/30/18 Page 1 of 12", [("2:18-cv-02660", None)]),
        ("docketed as 2:2018cv02660 in the Eastern District of California", [("2:18-cv-02660", "caed")]),
        ("No. 1:25-CV-01285", [("1:25-cv-01285", None)]),
        ("an indictment, Case No. 1:26-cr-00123-2, charges", [("1:26-cr-00123", None)]),
        ("Misc. No. 25-mc-00042 (D.D.C.)", [("25-mc-00042", "dcd")]),
        # S.D.N.Y. style
        ("Smith v. Jones, No. 25 Civ. 1350 (JPO) (S.D.N.Y.)", [("25-cv-01350", "nysd")]),
        ("United States v. Doe, 24 Cr. 123 (S.D.N.Y.)", [("24-cr-00123", "nysd")]),
        # appellate and bankruptcy numbers (no case type): only with a cue that says they are cases
        ("The government appealed, No. 25-1234 (9th Cir.).", [("25-1234", "ca9")]),
        ("United States v. Illinois, No. 25-2001, is pending.", [("25-2001", None)]),
        ("Appeal No. 25-1234", [("25-1234", None)]),
        ("Docket No. 25-1234 before the Court of Appeals for the Seventh Circuit", [("25-1234", "ca7")]),
        ("Nos. 25-1234, 25-1235 and 25-1236 (9th Cir.)", [("25-1234", "ca9"), ("25-1235", "ca9"), ("25-1236", "ca9")]),
        ("Federal Circuit appeal No. 2025-1234 (Fed. Cir.)", [("25-1234", "cafc")]),
        ("In re Debtor, Bankr. Case No. 25-10001-smb (Bankr. S.D.N.Y.)", [("25-10001", "nysb")]),
        # a court named before the number, in the same passage
        ("In the Northern District of Illinois, Case No. 1:25-cv-01285, the court ruled.", [("1:25-cv-01285", "ilnd")]),
    ],
)
def test_docket_numbers_are_found_as_people_write_them(text, expected):
    """Every common way of writing a federal docket number in prose is found, with the court written with it."""
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Call the Office of Public Affairs at (202) 514-2007 or 202-514-2007.",
        "On 2025-02-06 the department acted; see also 02/06/2025.",
        "Executive Order 14159, Executive Order No. 14159 and EO 14287.",
        "It violates 8 U.S.C. 1373 and 8 U.S.C. \u00a7 1644, and 28 U.S.C. \u00a7\u00a7 2201 and 2202.",
        "Pub. L. 118-5 and Pub. L. No. 99-603, H.R. Rep. No. 104-828.",
        "Press release number 25-101; release 09-001.",
        "Federal Register document 2025-02006; FR Doc. 2025-02006.",
        "Rockville, MD 20850; Form 10-K; COVID-19; Va. Bar No. 85519.",
        "No. 25-1234. The Ninth Circuit later heard another matter.",  # a bare "No." with nothing saying it is a case
        "The vote was 25-12 in favor.",
    ],
)
def test_numbers_that_only_look_like_docket_numbers_are_not_found(text):
    """Phone numbers, dates, executive-order numbers, statute and public-law cites, release numbers: none found."""
    assert found(text) == []


def test_a_court_named_far_off_is_a_hint_not_a_fact():
    """A court named earlier in the paragraph is the number's court, but not a close one; a new paragraph is
    another passage."""
    [near] = find_docket_numbers(
        "The Northern District of Illinois held a hearing on many things. Later, in No. 25-cv-1285, it ruled."
    )
    assert near.court == "ilnd" and near.court_close is False
    [close] = find_docket_numbers("The case, 1:25-cv-01285 (N.D. Ill.), is pending.")
    assert close.court == "ilnd" and close.court_close is True
    [apart] = find_docket_numbers("Northern District of Illinois\n\nIn No. 25-cv-1285 the court ruled.")
    assert apart.court is None


def test_the_number_is_kept_as_written_and_read_like_the_parser():
    """The mention keeps the text as written; its canonical form is the one `parse_docket_number` gives, so it
    compares with followed cases by `same_case`."""
    [m] = find_docket_numbers("See No. 3:25\u2013cv\u20131350-WHO.")
    assert m.docket.text == "3:25\u2013cv\u20131350-WHO"
    assert m.docket.same_case(parse_docket_number("25-cv-01350")) and m.docket.canonical == "3:25-cv-01350"


@pytest.mark.parametrize(
    "text, court",
    [
        ("N.D. Ill.", "ilnd"),
        ("N. D. Ill", "ilnd"),
        ("Northern District of Illinois", "ilnd"),
        ("D. Mass.", "mad"),
        ("District of Massachusetts", "mad"),
        ("D.D.C.", "dcd"),
        ("District Court for the District of Columbia", "dcd"),
        ("9th Cir.", "ca9"),
        ("Ninth Circuit", "ca9"),
        ("2d Cir.", "ca2"),
        ("2nd Circuit", "ca2"),
        ("D.C. Cir.", "cadc"),
        ("D.C. Circuit", "cadc"),
        ("Federal Circuit", "cafc"),
        ("Bankr. S.D.N.Y.", "nysb"),
        ("Bankruptcy Court for the District of Delaware", "deb"),
        ("Court of Federal Claims", "cofc"),
        ("Ct. Int\u2019l Trade", "cit"),
        ("Eastern District of New York", "nyed"),
        ("Supreme Court of the United States", "scotus"),
    ],
)
def test_courts_are_found_by_citation_and_by_name(text, court):
    """Every court is found by its citation and its name, spacing and apostrophes aside."""
    assert [c.court for c in find_courts(f"filed in the {text} today")] == [court]


def test_district_of_columbia_alone_is_not_a_court():
    """ "Superior Court for the District of Columbia" and "Washington, District of Columbia" name no federal court."""
    assert (
        find_courts("sentenced in the Superior Court for the District of Columbia, Washington, District of Columbia")
        == []
    )


def test_every_docket_number_of_the_recorded_court_feeds_is_found():
    """Real numbers from recorded CM/ECF feeds (district, bankruptcy with judge initials, appellate): each is found
    when a release writes "Case No. <number>", and a typed district number is found bare too."""
    checked = 0
    for path in sorted((DATA / "pacer_rss").glob("*.xml")):
        court = path.stem.split("_")[0]
        for entry in parse_feed(path.read_bytes(), "https://ecf.example/rss", court=court).entries:
            number = entry.docket_number or entry.title_docket
            expected = parse_docket_number(number)
            [mention] = find_docket_numbers(f"The court ruled in Case No. {number} today.")
            assert mention.docket.same_case(expected) and mention.docket.canonical == expected.canonical, number
            if expected.type:
                assert [m.docket.canonical for m in find_docket_numbers(f"ruled in {number} today")] == [
                    expected.canonical
                ]
            checked += 1
    assert checked > 800


def test_recorded_agency_text_names_no_docket_number():
    """The recorded DOJ, White House and Federal Register texts name no docket number: nothing is invented from
    their dates, release numbers, document numbers or phone numbers."""
    texts = [
        html_to_text((DATA / name).read_text(encoding="utf-8"))
        for name in (
            "core/doj_news.xml",
            "core/whitehouse_actions.xml",
            "press/doj/api_v1_press_releases_pagesize20_truncated_to_2.json",
            "federal_register/documents_newest_per_page3_2026-10-02.json",
            "federal_register/presidential_documents_since_2026-09-25.json",
        )
    ]
    assert all(len(t) > 2000 for t in texts)
    assert [m.docket.text for t in texts for m in find_docket_numbers(t)] == []
    # the recorded PACER docket page names its own case, and its court
    docket = html_to_text((DATA / "core" / "mad_193254_docket.html").read_text(encoding="utf-8"))
    assert {(m.docket.canonical, m.court) for m in find_docket_numbers(docket)} >= {("3:17-cv-12090", "mad")}
