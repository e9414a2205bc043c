"""The list of federal court ids: complete, consistent with CourtListener's records, and in the README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from watchers.courts import COURTS, by_courtlistener_id, cite, close_to, lookup, readme_table
from watchers.pacer_feed import is_appellate, is_bankruptcy
from watchers.pacer_rss import PacerRssConfig, default_feed_url

DATA = Path(__file__).parent.parent / "data" / "courtlistener" / "courts"
README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_district_bankruptcy_and_circuit_court_is_listed():
    """94 districts, 94 bankruptcy courts, 13 courts of appeals, with the ids PACER uses."""
    kinds = [c.kind for c in COURTS.values()]
    assert kinds.count("district") == 94 and kinds.count("bankruptcy") == 94
    circuits = {c.id for c in COURTS.values() if re.fullmatch(r"ca(\d+|dc|fc)", c.id)}
    assert circuits == {f"ca{n}" for n in range(1, 12)} | {"cadc", "cafc"}
    for court_id in (
        "almd",
        "almb",
        "wyd",
        "wyb",
        "ilnd",
        "cand",
        "nysb",
        "dcd",
        "prd",
        "gud",
        "vid",
        "nmid",
        "areb",
        "arwb",
        "cit",
        "cofc",
        "jpml",
        "scotus",
    ):
        assert court_id in COURTS


@pytest.mark.parametrize("court_id", sorted(COURTS))
def test_each_court_works_in_a_pacer_rss_watch(court_id):
    """Every PACER court id is accepted by pacer_rss, has a feed address, and is classified like its feed."""
    court = COURTS[court_id]
    if not court.pacer:
        return
    PacerRssConfig.model_validate({"id": "w", "type": "pacer_rss", "court": court_id, "cases": ["1:25-cv-00001"]})
    assert default_feed_url(court_id).startswith(f"https://ecf.{court_id}.uscourts.gov/")
    assert is_bankruptcy(court_id) == (court.kind == "bankruptcy")
    assert is_appellate(court_id) == (court.kind == "appellate")


@pytest.mark.parametrize("record", sorted(DATA.glob("*.json")), ids=lambda p: p.stem)
def test_courtlistener_records_agree(record: Path):
    """CourtListener's own court records (recorded) give the same citation and the same RSS-feed fact."""
    data = json.loads(record.read_text())
    court = by_courtlistener_id(data["id"])
    assert court is not None
    assert court.citation == data["citation_string"]
    assert court.rss == data["pacer_has_rss_feed"]


def test_courtlistener_ids_that_differ_are_mapped_both_ways():
    """azb/arb, cofc/uscfc, neb/nebraskab: either spelling finds the court; watches use the PACER id."""
    for pacer, listener in (("azb", "arb"), ("cofc", "uscfc"), ("neb", "nebraskab")):
        assert COURTS[pacer].courtlistener_id == listener
        assert lookup(listener) is COURTS[pacer] and by_courtlistener_id(listener) is COURTS[pacer]
    assert COURTS["cand"].courtlistener_id == "cand"


def test_citations_names_and_lookup_by_citation():
    """Courts are named as lawyers cite them, and a citation finds its court."""
    assert [cite(i) for i in ("ilnd", "cand", "dcd", "nysd", "mad", "ilnb", "ca7", "ca2", "cadc", "wvsd")] == [
        "N.D. Ill.",
        "N.D. Cal.",
        "D.D.C.",
        "S.D.N.Y.",
        "D. Mass.",
        "Bankr. N.D. Ill.",
        "7th Cir.",
        "2d Cir.",
        "D.C. Cir.",
        "S.D. W. Va.",
    ]
    assert COURTS["ilnd"].name == "U.S. District Court for the Northern District of Illinois"
    assert COURTS["dcd"].name == "U.S. District Court for the District of Columbia"
    assert (
        lookup("N.D. Ill.") is COURTS["ilnd"]
        and lookup("nd ill") is COURTS["ilnd"]
        and lookup("ILND") is COURTS["ilnd"]
    )
    assert lookup("xyz") is None
    assert len({c.citation for c in COURTS.values()}) == len(COURTS)  # no citation names two courts


@pytest.mark.parametrize("typo, expected", [("ilnx", "ilnd"), ("cnd", "cand"), ("nysdd", "nysd"), ("ND Ill", "ilnd")])
def test_close_ids_are_suggested(typo, expected):
    assert expected in [c.id for c in close_to(typo)]


def test_readme_lists_every_court_as_the_module_does():
    """The README's "Finding a court id" table is the module's (regenerate: python -m watchers.courts)."""
    text = README.read_text()
    found = re.search(r"<!-- courts:start -->\n(.*?)\n<!-- courts:end -->", text, re.S)
    assert found, "README.md lacks the court list between <!-- courts:start --> and <!-- courts:end -->"
    assert found.group(1).strip() == readme_table().strip()
    for court_id in COURTS:
        assert f"`{court_id}`" in found.group(1)
