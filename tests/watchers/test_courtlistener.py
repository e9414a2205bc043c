"""The `courtlistener` watcher against a local CourtListener on 127.0.0.1: docket lookup, the cheap gate,
entries through docket-entries / search / the Atom feed, the shared call budget, Retry-After, docket-level
alerts, and one filing seen by two sources being one alert then one update."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import watchers
import watchers.courtlistener_budget as budget_mod
import watchers.courtlistener_ledger as ledger_mod
from monitor.config import loads
from monitor.models import Item
from monitor.store import Store
from tests.conftest import run_cli
from tests.support.courtlistener_server import TOKEN, CourtListenerServer, options_fields, recorded
from watchers.base import CheckContext, CheckOutcome, WatchConfig, Watcher
from watchers.courtlistener import CourtListenerConfig
from watchers.dockets import entry_item, parse_docket_number

RECORDED_ID = 4214664  # NVLSP v. United States, D.D.C. 1:16-cv-00745 (recorded docs example + webhook entry 140)
RECORDED_KEY = "entry:dcd:1:16-cv-00745:140"

# Constructed (not recorded): the shipped example cases, with made-up CourtListener ids.
SF_V_TRUMP = {
    "id": 900001350,
    "court_id": "cand",
    "docket_number": "3:25-cv-01350",
    "docket_number_core": "2501350",
    "case_name": "City and County of San Francisco v. Trump",
    "slug": "city-and-county-of-san-francisco-v-trump",
    "absolute_url": "/docket/900001350/city-and-county-of-san-francisco-v-trump/",
    "date_filed": "2025-02-07",
    "date_last_filing": "2025-02-07",
    "date_terminated": None,
    "assigned_to": None,
    "assigned_to_str": "William H. Orrick",
    "pacer_case_id": "",
    "cause": "",
    "nature_of_suit": "",
    "jurisdiction_type": "",
    "filepath_ia": "",
    "filepath_ia_json": "",
    "tags": [],
}


def stub_entry(number: int, short: str, date: str = "2025-03-03", **fields: Any) -> dict[str, Any]:
    """A constructed entry as CourtListener holds one that came from a court RSS feed: no long text yet."""
    return {
        "entry_number": number,
        "date_filed": date,
        "description": "",
        "pacer_sequence_number": None,
        "recap_documents": [
            {
                "document_type": 1,
                "document_number": str(number),
                "attachment_number": None,
                "description": short,
                "pacer_doc_id": f"0351{number:07d}",
                "is_available": False,
                "filepath_local": None,
                "absolute_url": f"/docket/900001350/{number}/city-and-county-of-san-francisco-v-trump/",
                "sha1": "",
                "page_count": None,
                "file_size": None,
                "is_sealed": None,
                "thumbnail": None,
                "ocr_status": None,
                "date_upload": None,
                "filepath_ia": "",
                "is_free_on_pacer": None,
                "thumbnail_status": 0,
                "ia_upload_failure_count": None,
            }
        ],
        **fields,
    }


# ------------------------------------------------------------------ fixtures and helpers


class Clock:
    """The budget's clock, moved by hand; waiting for the per-minute limit moves it too."""

    def __init__(self) -> None:
        self.t = datetime(2025, 3, 3, 17, 0, tzinfo=UTC).timestamp()

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    monkeypatch.delenv("COURTLISTENER_TOKEN", raising=False)
    c = Clock()
    monkeypatch.setattr(ledger_mod, "now", c.now)
    monkeypatch.setattr(budget_mod, "sleep", c.sleep)
    return c


@pytest.fixture
def token(monkeypatch) -> str:
    """The account's token, given the default way: $COURTLISTENER_TOKEN."""
    monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
    return TOKEN


def watch_yaml(watch_id: str, cl: CourtListenerServer, **keys: Any) -> str:
    keys = {"type": "courtlistener", "base_url": cl.base_url, **keys}
    return f"  - id: {watch_id}\n" + "".join(f"    {k}: {json.dumps(v)}\n" for k, v in keys.items())


def check(path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("check", "--config", str(path), "--json", *extra)
    assert not re.search(r'File ".*/(monitor|watchers)/', result.err), result.err  # no crash in our code
    return result.code, json.loads(result.out)


def watch_result(report: dict[str, Any], watch_id: str) -> dict[str, Any]:
    return next(w for w in report["watches"] if w["watch"] == watch_id)


def kinds(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["kind"], c["key"]) for c in result["changes"]]


def store_of(path: Path) -> Store:
    return Store.open(loads(path.read_text()).state_url)


def stored_items(path: Path, watch_id: str) -> dict[str, Item]:
    store = store_of(path)
    try:
        return {k: s.item for k, s in store.load_items(watch_id).items() if s.present}
    finally:
        store.close()


# ------------------------------------------------------------------ the stand-in server


def test_stand_in_answers_with_courtlistener_field_names(cl, token):
    """The local server's dockets, entries and nested RECAP documents have exactly the v4 schema's fields."""
    cl.load_recorded()
    schema = options_fields()
    auth = {"Authorization": f"Token {TOKEN}"}
    docket = httpx.get(f"{cl.base_url}/api/rest/v4/dockets/{RECORDED_ID}/", headers=auth).json()
    assert list(docket) == schema["dockets"]["fields"]
    page = httpx.get(f"{cl.base_url}/api/rest/v4/docket-entries/?docket={RECORDED_ID}", headers=auth).json()
    [entry] = page["results"]
    assert list(entry) == schema["docket-entries"]["fields"]
    nested = schema["docket-entries"]["nested_recap_documents_fields"]
    assert [list(d) for d in entry["recap_documents"]] == [nested, nested]
    assert set(schema["docket-entries"]["nested_recap_documents_fields"]) == set(schema["recap-documents"]["fields"])
    # the recorded values come through as recorded
    webhook_entry = recorded("docket_alert_v2.json")["payload"]["results"][0]
    assert entry["description"] == webhook_entry["description"]
    assert entry["recap_documents"][0]["filepath_local"] == webhook_entry["recap_documents"][0]["filepath_local"]
    assert httpx.get(f"{cl.base_url}/api/rest/v4/dockets/{RECORDED_ID}/").status_code == 401


# ------------------------------------------------------------------ configuration


def test_config_names_the_case_and_keeps_the_token_secret(monkeypatch):
    """A watch needs court+docket_number or docket_id; the token defaults to $COURTLISTENER_TOKEN and never prints."""

    def read(**raw: Any) -> CourtListenerConfig:  # raw values, as from the YAML file
        return CourtListenerConfig.model_validate({"id": "w", "type": "courtlistener", **raw})

    with pytest.raises(ValueError, match="name the case"):
        read(court="cand")
    with pytest.raises(ValueError, match="not a docket number"):
        read(court="cand", docket_number="sanctuary")
    with pytest.raises(ValueError, match="entries_via"):
        read(docket_id=1, entries_via="rss")
    monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
    config = read(court="CAND", docket_number="3:25-cv-01350")
    assert config.court == "cand" and config.token and config.token.get_secret_value() == TOKEN
    assert TOKEN not in repr(config) and TOKEN not in json.dumps(config.model_dump(mode="json"))
    explicit = read(docket_id=1, token="Token abc123")
    assert explicit.token and explicit.token.get_secret_value() == "abc123"  # pasted with the header's prefix
    assert read(docket_id=1, token="").token is None


# ------------------------------------------------------------------ with a token


def test_docket_id_is_looked_up_once(cl, token, write_config):
    """The docket id is looked up by court and docket_number_core on the first check only, and kept."""
    cl.add_docket(**SF_V_TRUMP)
    cl.add_docket(**{**SF_V_TRUMP, "id": 900009999, "court_id": "cacd", "absolute_url": "/docket/900009999/x/"})
    cl.add_entry(900001350, stub_entry(1, "Complaint"))
    path = write_config("watches:\n" + watch_yaml("sf", cl, court="cand", docket_number="25-cv-1350"))

    code, report = check(path)
    assert code == 0, report
    [lookup] = [r for r in cl.api_requests() if r.path.endswith("/dockets/")]
    assert lookup.query["court"] == "cand" and lookup.query["docket_number_core"] == "2501350"
    assert "date_modified" in lookup.query["fields"]  # the lookup doubles as the first gate
    assert [r.path for r in cl.api_requests()] == ["/api/rest/v4/dockets/", "/api/rest/v4/docket-entries/"]
    assert watch_result(report, "sf")["baseline"]

    cl.add_entry(900001350, stub_entry(2, "Motion for Preliminary Injunction"))
    code, report = check(path)
    assert code == 0
    assert [r.path for r in cl.api_requests()][2:] == [
        "/api/rest/v4/dockets/900001350/",
        "/api/rest/v4/docket-entries/",
    ]
    assert sum(r.path.endswith("/dockets/") for r in cl.api_requests()) == 1
    assert kinds(watch_result(report, "sf")) == [("added", "entry:cand:3:25-cv-01350:2")]


def test_ambiguous_lookup_picks_the_same_number_and_warns(cl, token, write_config):
    """When several dockets share the number, the one written the same is used, and the others are named."""
    cl.add_docket(
        **{**SF_V_TRUMP, "id": 900000001, "docket_number": "3:25-cv-01350-WHO", "absolute_url": "/docket/900000001/x/"}
    )
    cl.add_docket(**SF_V_TRUMP)
    path = write_config("watches:\n" + watch_yaml("sf", cl, court="cand", docket_number="3:25-cv-01350"))
    code, report = check(path)
    assert code == 0
    [warning] = watch_result(report, "sf")["warnings"]
    assert "several CourtListener dockets" in warning and "using 900001350" in warning and "900000001" in warning
    assert cl.api_requests()[-1].query["docket"] == "900001350"


def test_unknown_case_fails_with_advice(cl, token, write_config):
    """A court and number CourtListener does not know fail the check, saying what to check or set."""
    cl.add_docket(**SF_V_TRUMP)
    path = write_config("watches:\n" + watch_yaml("il", cl, court="ilnd", docket_number="1:25-cv-01285"))
    code, report = check(path)
    result = watch_result(report, "il")
    assert code == 1 and "has no docket 1:25-cv-01285 in court ilnd" in result["error"]
    assert "docket_number_core=2501285" in result["error"] and "set docket_id" in result["error"]


def test_a_docket_gone_from_courtlistener_is_looked_up_again(cl, token, write_config):
    """When the looked-up docket disappears (CourtListener merged duplicates), the case is looked up again."""
    cl.add_docket(**SF_V_TRUMP)
    path = write_config("watches:\n" + watch_yaml("sf", cl, court="cand", docket_number="3:25-cv-01350"))
    assert check(path)[0] == 0
    del cl.dockets[900001350]
    cl.add_docket(**{**SF_V_TRUMP, "id": 900001351, "absolute_url": "/docket/900001351/sf-v-trump/"})
    code, report = check(path)
    assert code == 0 and "is gone (HTTP 404)" in watch_result(report, "sf")["warnings"][0]
    assert cl.api_requests()[-1].query["docket"] == "900001351"


def test_unchanged_docket_costs_exactly_one_call(cl, token, write_config):
    """When the docket's date_modified is unchanged, the check makes one small request and reads no entries."""
    docket_id = cl.load_recorded()
    path = write_config("watches:\n" + watch_yaml("nvlsp", cl, docket_id=docket_id))
    assert check(path)[0] == 0
    before = len(cl.requests)

    code, report = check(path)
    assert code == 0 and watch_result(report, "nvlsp")["unchanged"]
    [gate] = cl.requests[before:]
    assert gate.path == f"/api/rest/v4/dockets/{docket_id}/"
    assert set(gate.query["fields"].split(",")) >= {"date_modified", "date_terminated", "assigned_to_str", "case_name"}
    assert gate.authorization == f"Token {TOKEN}"


def test_entries_become_docket_entry_items(cl, token, write_config):
    """A recorded docket entry becomes the shared entry shape: long text, short text, PDF, attachments, ids."""
    docket_id = cl.load_recorded()
    path = write_config("watches:\n" + watch_yaml("nvlsp", cl, docket_id=docket_id, court="dcd"))
    code, report = check(path)
    assert code == 0, report

    [entries_call] = cl.api_requests("/docket-entries/")
    assert entries_call.query == {
        "docket": str(docket_id),
        "order_by": "-recap_sequence_number,-entry_number",
        "omit": "recap_documents__plain_text",
    }
    assert all(r.authorization == f"Token {TOKEN}" for r in cl.api_requests())
    items = stored_items(path, "nvlsp")
    entry = items[RECORDED_KEY]
    assert entry.fields["description"].startswith("MOTION for Settlement Preliminary Approval by ALLIANCE FOR JUSTICE")
    assert entry.fields["short_description"] == "Motion for Settlement"
    assert entry.fields["document_url"] == (
        "https://storage.courtlistener.com/recap/gov.uscourts.dcd.178502/gov.uscourts.dcd.178502.140.0.pdf"
    )
    docket_page = f"{cl.base_url}/docket/4214664/national-veterans-legal-services-program-v-united-states/"
    assert entry.fields["docket_url"] == docket_page
    assert entry.fields["pacer_doc_id"] == "04509519006"
    assert entry.fields["date_filed"] == "2022-10-11" and entry.fields["source"] == "courtlistener"
    assert entry.fields["attachments"] == [
        {
            "number": 1,
            "description": "Text of Proposed Order Proposed Order",
            "url": f"{cl.base_url}/docket/4214664/140/1/national-veterans-legal-services-program-v-united-states/",
        }
    ]
    assert entry.title == ("NATIONAL VETERANS LEGAL SERVICES PROGRAM v. United States: #140 Motion for Settlement")
    assert entry.group == "case:dcd:1:16-cv-00745"
    docket = items["docket:dcd:1:16-cv-00745"]
    assert docket.fields["assigned_to"] == "Paul L. Friedman" and "date_terminated" not in docket.fields
    assert watch_result(report, "nvlsp")["items"] == 2

    status = json.loads(run_cli("status", "--config", str(path), "--json").out)
    info = status["watches"][0]["info"]
    assert info["entries_via"] == "docket-entries" and info["recap_api_access"] is True
    assert info["budget"]["windows"] == [
        {"window": "5/min", "used": 2},
        {"window": "50/hour", "used": 2},
        {"window": "125/day", "used": 2},
    ]
    assert info["budget"]["left"] == 3 and info["budget"]["account"] == "token"  # the tightest window: 5/min


def test_stub_filled_in_later_is_one_update(cl, token, write_config):
    """An entry first known by its short text only, later given docket text and PDF, is one update, not a new one."""
    cl.add_docket(**SF_V_TRUMP)
    cl.add_entry(900001350, stub_entry(1, "Complaint", date="2025-02-07"))
    path = write_config("watches:\n" + watch_yaml("sf", cl, court="cand", docket_number="3:25-cv-01350"))
    assert check(path)[0] == 0

    cl.add_entry(900001350, stub_entry(2, "Motion for Preliminary Injunction"))
    code, report = check(path)
    assert kinds(watch_result(report, "sf")) == [("added", "entry:cand:3:25-cv-01350:2")]

    long_text = (
        "MOTION for Preliminary Injunction filed by City and County of San Francisco. "
        "(Attachments: # 1 Proposed Order)(Entered: 03/03/2025)"
    )
    doc = stub_entry(2, "Motion for Preliminary Injunction")["recap_documents"][0]
    cl.update_entry(
        900001350,
        2,
        description=long_text,
        documents=[
            {**doc, "is_available": True, "filepath_local": "recap/gov.uscourts.cand.0/gov.uscourts.cand.0.2.0.pdf"},
            {**doc, "document_type": 2, "attachment_number": 1, "description": "Proposed Order", "pacer_doc_id": ""},
        ],
    )
    code, report = check(path)
    result = watch_result(report, "sf")
    assert code == 0 and kinds(result) == [("updated", "entry:cand:3:25-cv-01350:2")]
    changed = result["changes"][0]["changed"]
    assert changed["fields.description"] == {"before": None, "after": long_text}
    assert changed["fields.document_url"]["after"].startswith("https://storage.courtlistener.com/recap/")
    assert changed["fields.attachments"]["after"][0]["description"] == "Proposed Order"
    assert "title" not in changed  # the title comes from the short description, which did not change

    history = json.loads(run_cli("history", "--config", str(path), "--json").out)
    assert sorted(c["kind"] for c in history if c["key"].endswith(":2")) == ["added", "updated"]


def test_no_recap_api_access_falls_back_to_search(cl, token, write_config):
    """A 403 from docket-entries is remembered and the search API is read instead, now and on later checks."""
    cl.recap_api_access = False
    docket_id = cl.load_recorded()
    path = write_config("watches:\n" + watch_yaml("nvlsp", cl, docket_id=docket_id))
    code, report = check(path)
    assert code == 0, report
    assert [r.path.rsplit("/", 2)[-2] for r in cl.api_requests()] == [str(docket_id), "docket-entries", "search"]
    search = cl.api_requests("/search/")[0]
    assert search.query == {"type": "rd", "q": f"docket_id:{docket_id}", "order_by": "entry_date_filed desc"}
    assert any("search API" in w for w in watch_result(report, "nvlsp")["warnings"])
    entry = stored_items(path, "nvlsp")[RECORDED_KEY]
    assert entry.fields["short_description"] == "Motion for Settlement"
    assert entry.fields["description"].startswith("MOTION for Settlement Preliminary Approval")
    assert entry.fields["document_url"].endswith("gov.uscourts.dcd.178502.140.0.pdf")
    assert entry.fields["attachments"][0]["number"] == 1

    cl.update_docket(docket_id, assigned_to_str="Paul L. Friedman")  # a docket change: entries are read again
    before = len(cl.api_requests())
    assert check(path)[0] == 0
    assert [r.path.rsplit("/", 2)[-2] for r in cl.api_requests()[before:]] == [str(docket_id), "search"]


def test_the_same_entry_reads_the_same_from_docket_entries_and_search(cl, token, write_config, tmp_path):
    """Switching between the two API sources does not make every entry look changed."""
    docket_id = cl.load_recorded()
    by_entries = write_config("watches:\n" + watch_yaml("a", cl, docket_id=docket_id, entries_via="docket-entries"))
    by_search = write_config(
        f"state: sqlite:///{tmp_path / 'b.db'}\nwatches:\n"
        + watch_yaml("b", cl, docket_id=docket_id, entries_via="search"),
        name="b.yaml",
    )
    assert check(by_entries)[0] == 0 and check(by_search)[0] == 0
    a, b = stored_items(by_entries, "a")[RECORDED_KEY], stored_items(by_search, "b")[RECORDED_KEY]
    assert a.content() == b.content()


def test_without_a_token_only_the_atom_feed_is_read(cl, write_config):
    """With no token the watch reads the public per-docket feed, calls no API and sends no Authorization header."""
    docket_id = cl.load_recorded()
    cl.add_entry(
        docket_id,
        {
            "entry_number": None,
            "date_filed": "2022-10-12",
            "description": "MINUTE ORDER granting leave to file. Signed by Judge Paul L. Friedman on 10/12/2022.",
            "recap_documents": [],
        },
    )
    path = write_config("watches:\n" + watch_yaml("nvlsp", cl, docket_id=docket_id, court="dcd"))
    code, report = check(path)
    assert code == 0, report
    assert cl.api_requests() == [] and [r.path for r in cl.requests] == [f"/docket/{docket_id}/feed/"]
    assert all(r.authorization is None for r in cl.requests)

    items = stored_items(path, "nvlsp")
    entry = items[RECORDED_KEY]
    assert entry.fields["description"].startswith("MOTION for Settlement Preliminary Approval")
    assert entry.fields["document_url"].endswith("gov.uscourts.dcd.178502.140.0.pdf")
    assert entry.fields["date_filed"] == "2022-10-11"
    minute_id = cl.entries[docket_id][-1]["id"]
    minute = items[f"entry:dcd:1:16-cv-00745:text:cl-{minute_id}"]
    assert minute.title.startswith("NATIONAL VETERANS LEGAL SERVICES PROGRAM v. United States: Minute entry MINUTE")
    assert (
        items["docket:dcd:1:16-cv-00745"].fields["case_name"]
        == "NATIONAL VETERANS LEGAL SERVICES PROGRAM v. United States"
    )

    code, report = check(path)  # the same feed again: unchanged, still no API call
    assert code == 0 and watch_result(report, "nvlsp")["unchanged"] and cl.api_requests() == []


def test_without_a_token_the_case_is_found_by_search_and_followed_by_its_feed(cl, write_config):
    """No token, only court and number: the docket id is found through the search API (the one CourtListener
    answers anonymously), kept, and the public feed is followed; a new filing is alerted."""
    cl.add_docket(**SF_V_TRUMP)
    cl.add_docket(**{**SF_V_TRUMP, "id": 900007777, "court_id": "cacd", "absolute_url": "/docket/900007777/x/"})
    cl.add_entry(900001350, stub_entry(1, "Complaint", date="2025-02-07"))
    path = write_config(
        "notifiers:\n  out: {type: console}\nwatches:\n"
        + watch_yaml("sf", cl, court="cand", docket_number="25-cv-1350")
    )
    code, report = check(path)
    assert code == 0, report
    [search, feed] = cl.requests
    assert search.path == "/api/rest/v4/search/" and search.authorization is None
    assert search.query == {"type": "r", "court": "cand", "docket_number": "25-cv-01350"}
    assert feed.path == "/docket/900001350/feed/" and feed.authorization is None
    assert watch_result(report, "sf")["baseline"]
    assert cl.api_requests("/dockets/") == []  # what answers 401 without a token is never asked

    cl.add_entry(900001350, stub_entry(2, "Motion for Preliminary Injunction"))
    result = run_cli("check", "--config", str(path))
    assert result.code == 0, result.out + result.err
    assert [r.path for r in cl.requests[2:]] == ["/docket/900001350/feed/"]  # the id was kept: no second lookup
    assert "Motion for Preliminary Injunction" in result.out  # the console notifier's alert
    history = json.loads(run_cli("history", "--config", str(path), "--json").out)
    assert [(c["kind"], c["key"]) for c in history] == [("added", "entry:cand:3:25-cv-01350:2")]
    status = json.loads(run_cli("status", "--config", str(path), "--json").out)
    info = status["watches"][0]["info"]
    assert info["docket_id"] == 900001350 and info["entries_via"] == "feed"


def test_without_a_token_a_refused_lookup_is_one_status_not_a_failure_each_cycle(cl, write_config, monkeypatch):
    """If CourtListener refuses anonymous lookups, the check says once what to do (token or docket_id), fails no
    cycle, calls nothing more until a day later, and works as soon as a token is set."""
    cl.anonymous_search = False
    cl.add_docket(**SF_V_TRUMP)
    path = write_config("watches:\n" + watch_yaml("sf", cl, court="cand", docket_number="3:25-cv-01350"))
    code, report = check(path)
    result = watch_result(report, "sf")
    assert code == 0 and result["ok"] and result["unchanged"]
    [warning] = result["warnings"]
    assert (
        "needs COURTLISTENER_TOKEN or docket_id" in warning
        and "https://www.courtlistener.com/profile/api-token/" in warning
    )
    assert len(cl.requests) == 1 and cl.requests[0].status == 401

    for _ in range(3):
        code, report = check(path)
        result = watch_result(report, "sf")
        assert code == 0 and result["ok"] and result["warnings"] == []
    assert len(cl.requests) == 1  # not asked again every cycle

    monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
    code, report = check(path)
    assert code == 0 and watch_result(report, "sf")["items"] == 1  # the docket item: found with the token


def test_429_is_a_failure_that_says_how_long_to_wait(cl, token, write_config):
    """HTTP 429 fails the check with the wait in the message, records not_before, and pauses the next check."""
    docket_id = cl.load_recorded()
    path = write_config("watches:\n" + watch_yaml("nvlsp", cl, docket_id=docket_id))
    cl.rate_limit(retry_after=600)
    code, report = check(path)
    result = watch_result(report, "nvlsp")
    assert code == 1 and not result["ok"]
    assert "HTTP 429" in result["error"] and "wait 10 min" in result["error"]
    store = store_of(path)
    try:
        state = store.load_states()["nvlsp"]
    finally:
        store.close()
    assert state.not_before is not None
    wait = (state.not_before - datetime.now(UTC)).total_seconds()
    assert 590 < wait <= 600

    before = len(cl.requests)
    code, report = check(path)  # within the wait: skipped without a call, not another failure
    result = watch_result(report, "nvlsp")
    assert code == 0 and result["unchanged"] and "asked to wait" in result["warnings"][0]
    assert len(cl.requests) == before


def test_budget_is_never_exceeded_across_many_checks(cl, token, write_config, clock):
    """Two busy watches checked every 15 minutes for a day and a half never exceed the budget in any 24 hours
    (given with the old key `daily_budget`, still read)."""
    cl.add_docket(**SF_V_TRUMP)
    cl.load_recorded()
    path = write_config(
        "watches:\n"
        + watch_yaml("sf", cl, court="cand", docket_number="3:25-cv-01350", daily_budget=16)
        + watch_yaml("nvlsp", cl, docket_id=RECORDED_ID, daily_budget=16)
    )
    call_times: list[float] = []
    skipped = 0
    for n in range(36 * 4):
        cl.add_entry(900001350, stub_entry(1000 + n, f"Filing {n}"))  # both dockets change before every check
        cl.update_docket(RECORDED_ID, date_last_filing=f"2025-03-{3 + n // 96:02d}")
        before = len(cl.api_requests())
        code, report = check(path)
        assert code == 0, report
        call_times += [clock.now()] * (len(cl.api_requests()) - before)
        skipped += sum(any("CourtListener budget" in w for w in r["warnings"]) for r in report["watches"])
        clock.advance(900)
    assert all(sum(1 for u in call_times if t - 86400 < u <= t) <= 16 for t in call_times)
    assert len(call_times) >= 20  # the budget was used, spread, not starved
    assert skipped >= 2 * 36 * 4 - len(call_times)  # every check without a call said why
    per_watch = [
        sum(1 for r in cl.api_requests() if str(docket) in json.dumps(r.query) + r.path)
        for docket in (900001350, RECORDED_ID)
    ]
    assert min(per_watch) >= 0.35 * sum(per_watch), per_watch  # shared fairly
    status = json.loads(run_cli("status", "--config", str(path), "--json").out)
    budget = status["watches"][0]["info"]["budget"]
    day = budget["windows"][-1]
    assert day["window"] == "16/day" and day["used"] <= 16 and budget["watches"] == 2  # daily_budget still read


def test_docket_termination_reassignment_and_caption_are_updates(cl, token, write_config, clock):
    """A case terminated, reassigned to another judge, renamed: each is one `updated` alert of the docket item."""
    docket_id = cl.load_recorded()
    path = write_config("watches:\n" + watch_yaml("nvlsp", cl, docket_id=docket_id))
    assert check(path)[0] == 0

    clock.advance(900)
    cl.update_docket(docket_id, date_terminated="2024-06-01")
    code, report = check(path)
    result = watch_result(report, "nvlsp")
    assert code == 0 and kinds(result) == [("updated", "docket:dcd:1:16-cv-00745")]
    assert result["changes"][0]["changed"]["fields.date_terminated"] == {"before": None, "after": "2024-06-01"}

    clock.advance(900)
    cl.update_docket(docket_id, assigned_to_str="Beryl A. Howell")
    code, report = check(path)
    result = watch_result(report, "nvlsp")
    assert kinds(result) == [("updated", "docket:dcd:1:16-cv-00745")]
    assert result["changes"][0]["changed"] == {
        "fields.assigned_to": {"before": "Paul L. Friedman", "after": "Beryl A. Howell"}
    }

    clock.advance(900)
    cl.update_docket(
        docket_id,
        case_name="National Veterans Legal Services Program v. United States",
        absolute_url="/docket/4214664/national-veterans-legal-services-program-v-united-states-2/",
    )
    code, report = check(path)  # a caption edit: the docket item, not every entry
    result = watch_result(report, "nvlsp")
    assert kinds(result) == [("updated", "docket:dcd:1:16-cv-00745")]
    assert (
        result["changes"][0]["changed"]["fields.case_name"]["after"]
        == "National Veterans Legal Services Program v. United States"
    )


def test_token_is_never_printed_or_stored(cl, write_config, monkeypatch):
    """A refused token fails the check with advice, and the token is nowhere in the output or the database."""
    monkeypatch.setenv("COURTLISTENER_TOKEN", "f" * 40)
    docket_id = cl.load_recorded()
    path = write_config("watches:\n" + watch_yaml("nvlsp", cl, docket_id=docket_id))
    result = run_cli("check", "--config", str(path))
    assert result.code == 1 and "refused the API token (HTTP 401)" in result.out
    assert cl.requests[0].authorization == "Token " + "f" * 40
    status = run_cli("status", "--config", str(path))
    database = (path.parent / "state.db").read_bytes()
    for text in (result.out, result.err, status.out, status.err):
        assert "f" * 40 not in text
    assert b"f" * 40 not in database


# ------------------------------------------------------------------ one filing, two sources


DCD_RSS = """<?xml version="1.0" encoding="ISO-8859-1"?>
<rss version="2.0">
<channel>
<title>District of Columbia - Recent Entries</title>
<link>https://ecf.dcd.uscourts.gov</link>
<description>Docket entries of type: all</description>
<lastBuildDate>Tue, 11 Oct 2022 21:30:01 GMT</lastBuildDate>
{items}
</channel>
</rss>
"""
ENTRY_140_RSS = (
    "<item>\n"
    "<title>1:16-cv-00745 NATIONAL VETERANS LEGAL SERVICES PROGRAM et al v. USA</title>\n"
    "<link>https://ecf.dcd.uscourts.gov/cgi-bin/DktRpt.pl?178502</link>\n"
    "<description>[Motion for Settlement] (&#x3C;a href=&#x22;https://ecf.dcd.uscourts.gov/doc1/04509519006"
    "?caseid=178502&#x26;de_seq_num=584&#x22; &#x3E;140&#x3C;/a&#x3E;)</description>\n"
    '<guid isPermaLink="true">https://ecf.dcd.uscourts.gov/cgi-bin/DktRpt.pl?178502&#x26;584</guid>\n'
    "<pubDate>Tue, 11 Oct 2022 21:21:40 GMT</pubDate>\n"
    "</item>"
)


def test_rss_then_courtlistener_is_one_alert_then_one_update(cl, token, write_config, server):
    """The same filing from the court's RSS feed and then from CourtListener: one `added`, then one `updated`."""
    if "pacer_rss" not in watchers.WATCHERS:
        pytest.skip("watchers/pacer_rss.py is not registered yet; the engine-level tests below cover fusion")
    docket = recorded("docket_detail_4214664.json")
    cl.add_docket(**docket)  # the docket, without entry 140 yet
    server.set("/cgi-bin/rss_outside.pl", DCD_RSS.format(items=""))
    path = write_config(
        "watches:\n"
        "  - id: nvlsp-rss\n    type: pacer_rss\n    court: dcd\n    cases: ['1:16-cv-00745']\n"
        f"    url: {server.url('/cgi-bin/rss_outside.pl')}\n" + watch_yaml("nvlsp-cl", cl, docket_id=RECORDED_ID)
    )
    code, report = check(path)
    assert code == 0, report

    server.set("/cgi-bin/rss_outside.pl", DCD_RSS.format(items=ENTRY_140_RSS))
    code, report = check(path)
    assert kinds(watch_result(report, "nvlsp-rss")) == [("added", RECORDED_KEY)]
    assert kinds(watch_result(report, "nvlsp-cl")) == []

    [entry] = recorded("docket_alert_v2.json")["payload"]["results"]
    cl.add_entry(RECORDED_ID, entry)
    code, report = check(path)
    assert kinds(watch_result(report, "nvlsp-rss")) == []
    result = watch_result(report, "nvlsp-cl")
    assert kinds(result) == [("updated", RECORDED_KEY)]
    changed = result["changes"][0]["changed"]
    assert changed["fields.description"]["after"].startswith("MOTION for Settlement Preliminary Approval")
    history = json.loads(run_cli("history", "--config", str(path), "--json").out)
    assert sorted(c["kind"] for c in history if c["key"] == RECORDED_KEY) == ["added", "updated"]


class StubRss(Watcher):
    """A test-only watcher standing in for a court RSS feed: it lists whatever the test put in `listing`."""

    kind: ClassVar[str] = "stub_rss"
    Config: ClassVar[type[WatchConfig]] = WatchConfig
    listing: ClassVar[dict[str, list[Item]]] = {}

    async def check(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome(items=list(self.listing.get(self.id, [])))


def rss_stub_item(source: str, **more: Any) -> Item:
    return entry_item(
        court="cand",
        docket=parse_docket_number("3:25-cv-01350"),
        case_name="City and County of San Francisco et al v. Trump et al",
        entry_number=2,
        short_description="Motion for Preliminary Injunction",
        date_entered="2025-03-03T18:02:11+00:00",
        document_url="https://ecf.cand.uscourts.gov/doc1/035123456789",
        source=source,
        **more,
    )


@pytest.fixture
def stub_watcher(monkeypatch):
    monkeypatch.setitem(watchers.WATCHERS, StubRss.kind, StubRss)
    monkeypatch.setattr(StubRss, "listing", {})
    return StubRss


def test_engine_two_sources_same_key_one_added_then_one_updated(write_config, stub_watcher):
    """Two watches (no CourtListener involved) listing one key: the first alerts `added`, the second `updated`."""
    path = write_config("watches:\n  - {id: first, type: stub_rss}\n  - {id: second, type: stub_rss}\n")
    stub_watcher.listing = {"first": [], "second": []}
    assert check(path)[0] == 0  # baselines
    stub_watcher.listing["first"] = [rss_stub_item("pacer_rss")]
    _, report = check(path)
    assert kinds(watch_result(report, "first")) == [("added", "entry:cand:3:25-cv-01350:2")]
    stub_watcher.listing["second"] = [
        rss_stub_item(
            "other", description="MOTION for Preliminary Injunction filed by City and County of San Francisco."
        )
    ]
    _, report = check(path)
    assert kinds(watch_result(report, "first")) == []
    assert kinds(watch_result(report, "second")) == [("updated", "entry:cand:3:25-cv-01350:2")]


def test_engine_rss_stub_then_courtlistener_is_one_update(cl, token, write_config, stub_watcher):
    """A filing seen first by an RSS-like watch and then by CourtListener: one `added`, then one `updated`."""
    cl.add_docket(**SF_V_TRUMP)
    path = write_config(
        "watches:\n  - {id: rss, type: stub_rss}\n" + watch_yaml("sf", cl, court="cand", docket_number="3:25-cv-01350")
    )
    stub_watcher.listing = {"rss": []}
    assert check(path)[0] == 0
    stub_watcher.listing["rss"] = [rss_stub_item("pacer_rss")]
    _, report = check(path)
    assert kinds(watch_result(report, "rss")) == [("added", "entry:cand:3:25-cv-01350:2")]
    assert kinds(watch_result(report, "sf")) == []  # CourtListener has nothing new yet: one gate call

    cl.add_entry(
        900001350,
        stub_entry(
            2,
            "Motion for Preliminary Injunction",
            description="MOTION for Preliminary Injunction filed by City and County of "
            "San Francisco. (Entered: 03/03/2025)",
        ),
    )
    _, report = check(path)
    result = watch_result(report, "sf")
    assert kinds(watch_result(report, "rss")) == [] and kinds(result) == [("updated", "entry:cand:3:25-cv-01350:2")]
    assert result["changes"][0]["changed"]["fields.description"]["before"] is None
    assert result["changes"][0]["item"]["fields"]["sources"] == ["courtlistener", "pacer_rss"]
