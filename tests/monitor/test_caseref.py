"""Reading what `monitor follow` is given: every accepted form, and a clear error for the rest."""

from __future__ import annotations

import pytest

from monitor.caseref import CaseInputError, read_case


@pytest.mark.parametrize(
    "words, court, number",
    [
        (["ilnd", "1:25-cv-01285"], "ilnd", "1:25-cv-01285"),
        (["ilnd 1:25-cv-01285"], "ilnd", "1:25-cv-01285"),
        (["ILND", "1:25-cv-01285-JHL"], "ilnd", "1:25-cv-01285"),  # judge initials are not part of the case
        (["N.D. Ill.", "25-cv-1285"], "ilnd", "25-cv-01285"),
        (["cand", "3:25-cv-01350"], "cand", "3:25-cv-01350"),
        (["ca9", "25-1234"], "ca9", "25-1234"),
        (["nysb", "25-10001"], "nysb", "25-10001"),
        (["arb", "2:25-bk-00001"], "azb", "2:25-bk-00001"),  # CourtListener's id for Arizona bankruptcy
    ],
)
def test_court_and_docket_number(words, court, number):
    ref = read_case(words)
    assert ref.court is not None and ref.court.id == court
    assert ref.docket is not None and ref.docket.canonical == number
    assert ref.docket_id is None and ref.pacer_case_id is None


@pytest.mark.parametrize(
    "url, docket_id",
    [
        ("https://www.courtlistener.com/docket/69645013/united-states-v-illinois/", 69645013),
        ("https://www.courtlistener.com/docket/69645013/12/united-states-v-illinois/", 69645013),  # an entry's page
        ("courtlistener.com/docket/69645013/", 69645013),
        ("https://www.courtlistener.com/api/rest/v4/dockets/69645013/", 69645013),
        ("http://127.0.0.1:8123/docket/42/x/", 42),  # the configured --base-url's host
    ],
)
def test_courtlistener_addresses(url, docket_id):
    ref = read_case([url], courtlistener_hosts=["127.0.0.1"])
    assert ref.docket_id == docket_id and ref.court is None


@pytest.mark.parametrize(
    "url, court, case_id, number",
    [
        ("https://ecf.cand.uscourts.gov/cgi-bin/DktRpt.pl?434215", "cand", "434215", None),
        ("https://ecf.cand.uscourts.gov/cgi-bin/DktRpt.pl?434215-L_1_0-1", "cand", "434215", None),
        ("https://ecf.ilnd.uscourts.gov/cgi-bin/iquery.pl?470123", "ilnd", "470123", None),
        ("https://ecf.nysd.uscourts.gov/doc1/127122264358?caseid=492165&de_seq_num=10", "nysd", "492165", None),
        ("ecf.nysd.uscourts.gov/cgi-bin/DktRpt.pl?492165", "nysd", "492165", None),
        (
            "https://ecf.ca9.uscourts.gov/n/beam/servlet/TransportRoom?servlet=CaseSummary.jsp&caseNum=25-1234",
            "ca9",
            None,
            "25-1234",
        ),
        (
            "https://storage.courtlistener.com/recap/gov.uscourts.cand.434215/gov.uscourts.cand.434215.1.0.pdf",
            "cand",
            "434215",
            None,
        ),
    ],
)
def test_pacer_and_recap_addresses(url, court, case_id, number):
    ref = read_case([url])
    assert ref.court is not None and ref.court.id == court
    assert ref.pacer_case_id == case_id
    assert (ref.docket.canonical if ref.docket else None) == number


@pytest.mark.parametrize(
    "words, message",
    [
        (["ilnx", "1:25-cv-01285"], "'ilnx' is not a federal court id. Close ones: ilnd (N.D. Ill.)"),
        (["ilnd", "banana"], "'banana' is not a docket number: write it like 1:25-cv-01285"),
        (["1:25-cv-01285"], "which court is 1:25-cv-01285 in? Give COURT DOCKET_NUMBER, like ilnd 1:25-cv-01285"),
        (
            ["https://example.org/docket/1/"],
            "cannot read https://example.org/docket/1/: give a CourtListener docket address",
        ),
        (["https://www.courtlistener.com/opinion/123/x/"], "a CourtListener address names a case as /docket/<id>/"),
        (["https://ecf.cand.uscourts.gov/cgi-bin/login.pl"], "this PACER address names no case"),
        (["https://ecf.zzzz.uscourts.gov/cgi-bin/DktRpt.pl?1"], "'zzzz' is not a federal court id"),
        ([""], "name the case: COURT DOCKET_NUMBER"),
    ],
)
def test_what_cannot_be_read_says_what_to_write(words, message):
    with pytest.raises(CaseInputError) as caught:
        read_case(words)
    assert message in str(caught.value)
