"""The `federal_register` watcher on recorded Federal Register API answers, replayed from 127.0.0.1.

Derived answers are made here from the recordings by the functions below; each step is also written
down in tests/data/federal_register/SOURCES.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.errors import ParseError
from monitor.models import Fetched
from tests.conftest import DATA, check_json, run_cli
from watchers.federal_register import FederalRegisterConfig, FederalRegisterWatcher

SINCE = DATA / "federal_register" / "presidential_documents_since_2026-09-25.json"
NEWEST3 = DATA / "federal_register" / "documents_newest_per_page3_2026-10-02.json"
WH = DATA / "press" / "whitehouse" / "presidential_actions_feed_2026-10-02_first_item.xml"
PATH = "/api/v1/documents.json"
NEXT = urlsplit(json.loads(NEWEST3.read_bytes())["next_page_url"])
NEXT_PATH = f"{NEXT.path}?{NEXT.query}"  # /api/v1/documents?format=json&order=newest&page=2&...


def second_page() -> bytes:
    """Page 2 after NEWEST3: the SINCE recording with its results cut to the three after NEWEST3's (3:6)."""
    data = json.loads(SINCE.read_bytes())
    data["results"] = data["results"][3:6]
    return json.dumps(data).encode()


def edited(title_from: str, title_to: str) -> bytes:
    """The SINCE recording with one title replaced (a correction published on the same document)."""
    data = json.loads(SINCE.read_bytes())
    for doc in data["results"]:
        if doc["title"] == title_from:
            doc["title"] = title_to
    return json.dumps(data).encode()


def only(numbers: list[str]) -> bytes:
    """The SINCE recording keeping only the documents with these document numbers."""
    data = json.loads(SINCE.read_bytes())
    data["results"] = [d for d in data["results"] if d["document_number"] in numbers]
    return json.dumps(data).encode()


def without_results() -> bytes:
    """The SINCE recording with its `results` key deleted (its `count` still says 6)."""
    data = json.loads(SINCE.read_bytes())
    del data["results"]
    return json.dumps(data).encode()


def parse(body: bytes, **config) -> list:
    watcher = FederalRegisterWatcher(FederalRegisterConfig(id="fr", type="federal_register", **config))
    return watcher.parse(Fetched(url="https://www.federalregister.gov" + PATH, status=200, headers={}, body=body))


def check(path: Path, *extra: str) -> dict:
    return check_json(path, *extra)


@pytest.fixture
def fr_watch(server, write_config):
    def make(extra: str = "") -> Path:
        return write_config(f"""
watches:
  - id: fr-eos
    type: federal_register
    url: {server.url(PATH)}
{extra}""")

    return make


# ---------------------------------------------------------------- parsing


def test_executive_order_fields():
    """Executive orders carry their EO number, signing and publication dates, links, subtype and agency."""
    items = parse(SINCE.read_bytes())
    assert [i.key for i in items] == ["fr:2026-20321", "fr:2026-20320", "fr:2026-20319"]
    eo = items[0]
    assert eo.title == "Inaugurating the Era of Super Intelligence"
    assert eo.url == (
        "https://www.federalregister.gov/documents/2026/10/02/2026-20321/inaugurating-the-era-of-super-intelligence"
    )
    assert eo.published == "2026-10-02"
    assert eo.summary == "Executive Order 14434, signed 2026-09-29, published 2026-10-02, FR Doc. 2026-20321"
    assert eo.fields == {
        "agency": "Executive Office of the President",
        "agencies": ["Executive Office of the President"],
        "document_number": "2026-20321",
        "executive_order_number": "14434",
        "subtype": "Executive Order",
        "signing_date": "2026-09-29",
        "publication_date": "2026-10-02",
        "html_url": eo.url,
        "pdf_url": "https://www.govinfo.gov/content/pkg/FR-2026-10-02/pdf/2026-20321.pdf",
    }
    assert [i.fields["executive_order_number"] for i in items] == ["14434", "14433", "14432"]


def test_every_presidential_document_when_asked():
    """`presidential_document_type: []` keeps notices, determinations and proclamations, without EO numbers."""
    items = parse(SINCE.read_bytes(), presidential_document_type=[])
    assert [i.fields["subtype"] for i in items] == [
        "Notice",
        "Executive Order",
        "Executive Order",
        "Executive Order",
        "Determination",
        "Proclamation",
    ]
    notice = items[0]
    assert "executive_order_number" not in notice.fields
    assert notice.summary == "Notice, signed 2026-09-30, published 2026-10-02, FR Doc. 2026-20322"


def test_proclamations_only():
    """`presidential_document_type: proclamation` keeps the proclamation only."""
    assert [i.title for i in parse(SINCE.read_bytes(), presidential_document_type="proclamation")] == [
        "Gold Star Mother's and Family's Day, 2026"
    ]


def test_since_is_checked_on_each_document():
    """`since` drops documents published before it, even if the answer holds them."""
    items = parse(SINCE.read_bytes(), presidential_document_type=[], since="2026-10-01")
    assert "fr:2026-20093" not in [i.key for i in items] and len(items) == 5


def test_default_fields_without_subtype_are_kept():
    """Documents listed with the API's default fields (no subtype) are not dropped by the subtype check."""
    items = parse(NEWEST3.read_bytes())
    assert [i.key for i in items] == ["fr:2026-20322", "fr:2026-20321", "fr:2026-20320"]
    assert "executive_order_number" not in items[0].fields and items[0].summary.startswith(
        "Document, published 2026-10-02"
    )


def test_first_url_has_conditions_fields_and_keeps_own_parameters():
    """The request carries the conditions, newest-first order and field list; parameters in `url` win."""
    watcher = FederalRegisterWatcher(
        FederalRegisterConfig.model_validate(
            {
                "id": "fr",
                "type": "federal_register",
                "agencies": ["justice-department"],
                "since": "2025-01-20",
                "url": "https://www.federalregister.gov/api/v1/documents.json?per_page=100",
            }
        )
    )
    query = parse_qs(urlsplit(watcher.first_url()).query)
    assert query["per_page"] == ["100"]
    assert query["order"] == ["newest"]
    assert query["conditions[type][]"] == ["PRESDOCU"]
    assert query["conditions[presidential_document_type][]"] == ["executive_order"]
    assert query["conditions[agencies][]"] == ["justice-department"]
    assert query["conditions[publication_date][gte]"] == ["2025-01-20"]
    assert {"executive_order_number", "signing_date", "subtype", "pdf_url"} <= set(query["fields[]"])


def test_other_document_types_have_no_presidential_default():
    """With `document_type: [RULE]` no presidential-document condition is sent."""
    config = FederalRegisterConfig.model_validate({"id": "fr", "type": "federal_register", "document_type": "RULE"})
    watcher = FederalRegisterWatcher(config)
    query = parse_qs(urlsplit(watcher.first_url()).query)
    assert query["conditions[type][]"] == ["RULE"] and "conditions[presidential_document_type][]" not in query


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "empty"),
        (WH.read_bytes(), "got XML"),
        (SINCE.read_bytes()[:3000], "not valid JSON"),
        (without_results(), r"no `results` list .* \(keys: count, description, total_pages\)"),
        (json.dumps(json.loads(SINCE.read_bytes())["results"]).encode(), "answered a list, not an object"),
    ],
    ids=["empty", "xml", "truncated", "no-results", "bare-array"],
)
def test_malformed_answers_are_parse_errors(body, message):
    """Empty, XML, truncated, result-less and non-object answers are ParseErrors saying what came."""
    with pytest.raises(ParseError, match=message):
        parse(body)


def test_count_zero_without_results_is_an_empty_answer():
    """An answer with `count: 0` and no `results` (the API's way to say none) is an empty list, not an error."""
    data = json.loads(SINCE.read_bytes())
    del data["results"]
    data.update(count=0, total_pages=0)
    assert parse(json.dumps(data).encode()) == []


# ---------------------------------------------------------------- end to end through the CLI


def test_executive_orders_through_the_cli(server, fr_watch):
    """A check alerts the three executive orders with their EO numbers and says the rest was left out."""
    server.set(PATH, SINCE, content_type="application/json")
    report = check(fr_watch(), "--notify-baseline")
    assert report["exit"] == 0
    changes = report["watch"]["changes"]
    assert [(c["kind"], c["item"]["fields"]["executive_order_number"]) for c in changes] == [
        ("added", "14434"),
        ("added", "14433"),
        ("added", "14432"),
    ]
    assert changes[0]["item"]["fields"]["signing_date"] == "2026-09-29"
    assert report["watch"]["warnings"] == [
        "3 documents in the answer did not meet the configured conditions and were left out"
    ]
    [request] = server.requests
    query = parse_qs(urlsplit(request.path).query)
    assert query["conditions[presidential_document_type][]"] == ["executive_order"]


def test_follows_next_page_url_on_the_configured_host(server, fr_watch):
    """With `pages: 2` the recorded `next_page_url` is followed, on 127.0.0.1 rather than federalregister.gov."""
    server.set(PATH, NEWEST3, content_type="application/json")
    server.set(NEXT.path, second_page(), content_type="application/json")
    report = check(fr_watch("    pages: 2\n    presidential_document_type: []\n"))
    assert report["exit"] == 0 and report["watch"]["items"] == 6
    assert [r.path for r in server.requests][1] == NEXT_PATH
    assert "search_after_cursor=WzE3OTA4OTkyMDAwMDAsIjIwMjYtMjAzMjAiXQ" in NEXT_PATH


def test_one_page_by_default(server, fr_watch):
    """Without `pages`, only the first page is read even when the answer names a next page."""
    server.set(PATH, NEWEST3, content_type="application/json")
    assert check(fr_watch())["watch"]["items"] == 3 and len(server.requests) == 1


def test_edited_title_is_one_update(server, fr_watch):
    """A title corrected on the same document number is one `updated` change."""
    config = fr_watch()
    server.set(PATH, SINCE, content_type="application/json")
    check(config)
    server.set(
        PATH,
        edited("Inaugurating the Era of Super Intelligence", "Inaugurating the Era of Superintelligence"),
        content_type="application/json",
    )
    [change] = check(config)["watch"]["changes"]
    assert (change["kind"], change["key"], list(change["changed"])) == ("updated", "fr:2026-20321", ["title"])


def test_document_that_drops_off_and_returns_is_not_new(server, fr_watch):
    """An executive order that leaves the answer and comes back is neither added nor updated."""
    config = fr_watch()
    server.set(PATH, SINCE, content_type="application/json")
    check(config)
    server.set(PATH, only(["2026-20321", "2026-20320"]), content_type="application/json")
    assert [c["kind"] for c in check(config)["watch"]["changes"]] == ["removed"]
    server.set(PATH, SINCE, content_type="application/json")
    back = check(config)
    assert back["watch"]["changes"] == [] and back["deliveries"]["sent"] == 0


def test_html_answer_fails_the_check_and_records_nothing(server, fr_watch):
    """An HTML page served with status 200 fails the check (exit 1); the snapshot and history are untouched."""
    config = fr_watch()
    server.set(PATH, SINCE, content_type="application/json")
    check(config)
    from lxml import etree

    encoded = etree.fromstring(WH.read_bytes()).find(".//{http://purl.org/rss/1.0/modules/content/}encoded")
    assert encoded is not None and encoded.text is not None
    server.set(PATH, encoded.text.encode(), content_type="text/html")
    report = check(config)
    assert report["exit"] == 1 and "got an HTML page" in report["watch"]["error"]
    assert json.loads(run_cli("history", "--config", str(config), "--json", "--all").out) == []
    server.set(PATH, SINCE, content_type="application/json")
    assert check(config)["watch"]["changes"] == []


def test_config_errors(write_config):
    """A bad `since` date and an unknown key are configuration errors (exit 2) naming the key."""
    path = write_config("""
watches:
  - id: fr-eos
    type: federal_register
    since: last tuesday
    president: donald-trump
""")
    result = run_cli("validate", "--config", str(path))
    assert result.code == 2 and "since" in result.err and "unknown key 'president'" in result.err
