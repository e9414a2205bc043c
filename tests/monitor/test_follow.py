"""`monitor follow`, `unfollow` and `find` end to end: the local CourtListener stand-in, a replayed court
feed, a temp config full of comments, and the real state database."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import loads
from monitor.store import Store
from tests.conftest import DATA, run_cli
from tests.monitor.test_configedit import only_inserted
from tests.support.courtlistener_server import TOKEN, CourtListenerServer
from tests.support.http_server import ReplayServer
from watchers.dockets import parse_docket_number

SDNY_FEED = (DATA / "pacer_rss" / "sdny_1.xml").read_bytes()  # has three entries of Chau v. Donovan


def docket(docket_id: int, court: str, number: str, name: str, **fields: Any) -> dict[str, Any]:
    """A constructed docket (ids made up; see tests/data/courtlistener/SOURCES.md)."""
    slug = "-".join(name.lower().replace(".", "").split())
    return {
        "id": docket_id,
        "court_id": court,
        "docket_number": number,
        "docket_number_core": parse_docket_number(number).core,
        "case_name": name,
        "slug": slug,
        "absolute_url": f"/docket/{docket_id}/{slug}/",
        "date_filed": "2025-02-07",
        "date_terminated": None,
        "pacer_case_id": "",
        **fields,
    }


CHAU = docket(900003365, "nysd", "1:18-cv-03365", "Chau v. Donovan", pacer_case_id="492165", date_filed="2018-04-17")
SF = docket(900001350, "cand", "3:25-cv-01350", "City and County of San Francisco v. Trump")
ILLINOIS = docket(900001285, "ilnd", "1:25-cv-01285", "United States v. Illinois", date_filed="2025-02-06")
ARIZONA_BK = docket(900000007, "arb", "2:25-bk-00007", "In re Desert Holdings LLC")  # CourtListener's id for azb
ALABAMA = docket(900000042, "alnd", "2:25-cv-00042", "Doe v. Birmingham")  # a court without a listed RSS feed

CONFIG = """\
# Our monitor: every comment here must survive `monitor follow`.
state: sqlite:///{state}

defaults:
  every: 10m          # default interval
  notify: [terminal]

notifiers:
  terminal: {{type: console}}     # alerts on the terminal

watches:
    # ---- agencies (items indented four spaces, to see the layout matched)
    -   id: doj-news                    # DOJ press releases
        type: feed
        url: "http://127.0.0.1:9/news/rss"
        keywords:
          any: [sanctuary,
                "Cook County"]

# (end of file)
"""


@pytest.fixture
def cl() -> Iterator[CourtListenerServer]:
    server = CourtListenerServer().start()
    for case in (CHAU, SF, ILLINOIS, ARIZONA_BK, ALABAMA):
        server.add_docket(**case)
    server.add_entry(
        CHAU["id"],
        {
            "entry_number": 1,
            "date_filed": "2018-04-17",
            "description": "COMPLAINT against Donovan. Filed by Chau.",
            "recap_documents": [],
        },
    )
    yield server
    server.stop()


@pytest.fixture
def feed() -> Iterator[ReplayServer]:
    server = ReplayServer().start()
    server.set("/rss", SDNY_FEED)
    yield server
    server.stop()


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("COURTLISTENER_TOKEN", raising=False)
    monkeypatch.delenv("COURTLISTENER_BASE_URL", raising=False)
    path = tmp_path / "watches.yaml"
    path.write_text(CONFIG.format(state=tmp_path / "state.db"))
    return path


def follow(config: Path, cl: CourtListenerServer, *args: str):
    return run_cli("follow", *args, "--config", str(config), "--base-url", cl.base_url)


def added_watches(before: str, config: Path) -> list[dict[str, Any]]:
    """The watches the command added: the only change to the file, one block, after the last watch."""
    block = only_inserted(before, config.read_text())
    return yaml.safe_load("watches:\n" + "".join(line for line in block if line.strip()))["watches"]


def states(config: Path) -> dict[str, Any]:
    store = Store.open(loads(config.read_text()).state_url)
    try:
        return store.load_states()
    finally:
        store.close()


# ------------------------------------------------------------------ follow


def test_follow_court_and_number_adds_the_pair_and_records_a_silent_baseline(config, cl, feed):
    """`monitor follow nysd 18-cv-3365`: the case is looked up, both watches are written under a comment
    naming the case (nothing else in the file changes), and their first check is a silent baseline."""
    before = config.read_text()
    result = follow(config, cl, "nysd", "18-cv-3365", "--rss-url", feed.url("/rss"))
    assert result.code == 0, result.err
    rss, listener = added_watches(before, config)
    assert rss == {
        "id": "nysd-1-18-cv-03365-rss",
        "name": "Chau v. Donovan (S.D.N.Y.)",
        "type": "pacer_rss",
        "court": "nysd",
        "cases": ["1:18-cv-03365"],
        "url": feed.url("/rss"),
        "every": "5m",
    }
    assert listener == {
        "id": "nysd-1-18-cv-03365",
        "name": "Chau v. Donovan (S.D.N.Y.)",
        "type": "courtlistener",
        "court": "nysd",
        "docket_number": "1:18-cv-03365",
        "docket_id": CHAU["id"],
        "base_url": cl.base_url,
        "every": "15m",
    }
    assert "    # Chau v. Donovan (S.D.N.Y. 1:18-cv-03365) (added by monitor follow on " in config.read_text()
    # the feed has three entries of the case; CourtListener the docket itself and its one entry
    assert "nysd-1-18-cv-03365-rss: baseline recorded: 3 items" in result.out
    assert "nysd-1-18-cv-03365: baseline recorded: 2 items" in result.out
    recorded = states(config)
    assert recorded["nysd-1-18-cv-03365-rss"].item_count == 3 and recorded["nysd-1-18-cv-03365"].item_count == 2
    assert "doj-news" not in recorded  # only the new watches were checked
    again = run_cli("check", "nysd-1-18-cv-03365-rss", "nysd-1-18-cv-03365", "--config", str(config), "--json")
    report = json.loads(again.out)
    assert again.code == 0 and all(w["changes"] == [] for w in report["watches"]), report
    assert report["deliveries"]["sent"] == 0  # the baseline alerted nobody


@pytest.mark.parametrize(
    "what",
    [
        ["nysd", "1:18-cv-03365"],
        ["nysd 1:18-cv-03365-AJN"],
        ["S.D.N.Y.", "18-cv-3365"],
        ["{cl}/docket/900003365/chau-v-donovan/"],
        ["https://ecf.nysd.uscourts.gov/cgi-bin/DktRpt.pl?492165"],
        ["https://ecf.nysd.uscourts.gov/doc1/127122264358?caseid=492165&de_seq_num=10"],
        ["https://storage.courtlistener.com/recap/gov.uscourts.nysd.492165/gov.uscourts.nysd.492165.3.0.pdf"],
    ],
)
def test_every_input_form_names_the_same_case(config, cl, what):
    """A court and number, a CourtListener address, a PACER address or a RECAP file: the same two watches."""
    before = config.read_text()
    result = follow(config, cl, *[w.format(cl=cl.base_url) for w in what], "--dry-run")
    assert result.code == 0, result.err
    assert config.read_text() == before  # a dry run writes nothing
    printed = yaml.safe_load("watches:\n" + result.out.split(":\n", 1)[1])["watches"]
    assert [(w["id"], w["court"], w.get("cases"), w.get("docket_id")) for w in printed] == [
        ("nysd-1-18-cv-03365-rss", "nysd", ["1:18-cv-03365"], None),
        ("nysd-1-18-cv-03365", "nysd", None, CHAU["id"]),
    ]


def test_token_is_used_when_set_and_never_written(config, monkeypatch, feed):
    """With $COURTLISTENER_TOKEN the lookup and the watch's first check send it; the file never holds it."""
    monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
    server = CourtListenerServer().start()  # answers only with the token
    try:
        server.add_docket(**CHAU)
        result = follow(config, server, "nysd", "1:18-cv-03365", "--rss-url", feed.url("/rss"))
        assert result.code == 0, result.err
        searches = [r for r in server.api_requests("/search/") if r.query.get("type") == "r"]
        assert searches and all(r.authorization == f"Token {TOKEN}" for r in searches)
        assert server.api_requests("/dockets/900003365/")  # the baseline used the API, with the token
        assert TOKEN not in config.read_text()
    finally:
        server.stop()


def test_already_followed_case_changes_nothing(config, cl, feed):
    assert follow(config, cl, "nysd", "1:18-cv-03365", "--rss-url", feed.url("/rss"), "--no-check").code == 0
    before = config.read_text()
    result = follow(config, cl, f"{cl.base_url}/docket/{CHAU['id']}/", "--rss-url", feed.url("/rss"))
    assert result.code == 0
    assert "is already followed by nysd-1-18-cv-03365-rss, nysd-1-18-cv-03365; nothing changed" in result.out
    assert config.read_text() == before


def test_half_followed_case_gets_the_missing_watch_only(config, cl):
    """A case an older RSS watch already covers (among other cases) gets just the CourtListener watch."""
    config.write_text(
        config.read_text().replace(
            "# (end of file)",
            """\
    -   id: sdny-feed
        type: pacer_rss
        court: nysd
        cases: ["1:17-cv-09141", "1:18-cv-03365"]
# (end of file)""",
        )
    )
    before = config.read_text()
    result = follow(config, cl, "nysd", "1:18-cv-03365", "--no-check")
    assert result.code == 0, result.err
    assert [w["id"] for w in added_watches(before, config)] == ["nysd-1-18-cv-03365"]
    assert "the court's RSS feed already covers it: sdny-feed" in result.err


def test_an_id_in_use_is_never_clobbered(config, cl):
    config.write_text(config.read_text().replace("id: doj-news", "id: nysd-1-18-cv-03365"))
    before = config.read_text()
    result = follow(config, cl, "nysd", "1:18-cv-03365", "--no-check")
    assert result.code == 0, result.err
    assert [w["id"] for w in added_watches(before, config)] == ["nysd-1-18-cv-03365-2-rss", "nysd-1-18-cv-03365-2"]


def test_options_shape_the_watches(config, cl):
    before = config.read_text()
    result = follow(
        config,
        cl,
        "cand",
        "3:25-cv-01350",
        "--id",
        "sf",
        "--name",
        "SF v. Trump",
        "--every",
        "2m",
        "--notify",
        "terminal",
        "--no-check",
    )
    assert result.code == 0, result.err
    rss, listener = added_watches(before, config)
    assert (rss["id"], listener["id"]) == ("sf-rss", "sf")
    assert rss["name"] == listener["name"] == "SF v. Trump"
    assert rss["every"] == listener["every"] == "2m" and rss["notify"] == listener["notify"] == ["terminal"]
    assert "url" not in rss  # the court's own feed by default


def test_no_rss_and_no_courtlistener(config, cl):
    before = config.read_text()
    assert follow(config, cl, "ilnd", "1:25-cv-01285", "--no-rss", "--no-check").code == 0
    assert [w["type"] for w in added_watches(before, config)] == ["courtlistener"]
    before = config.read_text()
    assert follow(config, cl, "cand", "3:25-cv-01350", "--no-courtlistener", "--no-check").code == 0
    assert [w["type"] for w in added_watches(before, config)] == ["pacer_rss"]
    assert not [r for r in cl.api_requests("/search/") if r.query.get("court") == "cand"]  # not even asked


def test_courtlistener_id_that_differs_is_translated(config, cl):
    """Arizona bankruptcy is `arb` on CourtListener and `azb` in PACER: the watches use azb, with the docket id."""
    before = config.read_text()
    result = follow(config, cl, "azb", "2:25-bk-00007", "--no-check")
    assert result.code == 0, result.err
    assert {(w["court"], w.get("docket_id")) for w in added_watches(before, config)} == {
        ("azb", None),
        ("azb", ARIZONA_BK["id"]),
    }
    assert [r.query["court"] for r in cl.api_requests("/search/")] == ["arb"]


def test_court_without_a_listed_feed_is_followed_through_courtlistener(config, cl):
    before = config.read_text()
    result = follow(config, cl, "alnd", "2:25-cv-00042", "--no-check")
    assert result.code == 0, result.err
    assert [w["type"] for w in added_watches(before, config)] == ["courtlistener"]
    assert "PACER's court list names no RSS feed for N.D. Ala." in result.err


def test_case_not_on_courtlistener_is_followed_through_the_court_feed(config, cl):
    before = config.read_text()
    result = follow(config, cl, "ilnd", "1:25-cv-09999", "--no-check")
    assert result.code == 0, result.err
    assert [w["type"] for w in added_watches(before, config)] == ["pacer_rss"]
    assert "CourtListener has no docket 1:25-cv-09999 in N.D. Ill. (ilnd) yet" in result.err


def test_courtlistener_unreachable_writes_the_feed_watch_and_a_rerun_completes_it(config, cl):
    """CourtListener down: the RSS watch is written, exit 1 says so; the same command later adds the rest."""
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    before = config.read_text()
    down = run_cli("follow", "nysd", "1:18-cv-03365", "--config", str(config), "--base-url", dead, "--no-check")
    assert down.code == 1
    assert "could not search CourtListener" in down.err and "run the same command again later" in down.err
    assert [w["type"] for w in added_watches(before, config)] == ["pacer_rss"]
    before = config.read_text()
    up = follow(config, cl, "nysd", "1:18-cv-03365", "--no-check")
    assert up.code == 0, up.err
    assert [w["id"] for w in added_watches(before, config)] == ["nysd-1-18-cv-03365"]


def test_first_check_failing_keeps_the_watches(config, cl, server):
    """The court feed answering 500: the watches stay written, and the message says when the baseline comes."""
    server.set("/rss", b"busy", status=500)
    before = config.read_text()
    result = follow(config, cl, "nysd", "1:18-cv-03365", "--rss-url", server.url("/rss"))
    assert result.code == 0
    assert len(added_watches(before, config)) == 2
    assert "nysd-1-18-cv-03365-rss: first check failed:" in result.err
    assert "records its baseline at its first successful check" in result.err
    assert "nysd-1-18-cv-03365: baseline recorded: 2 items" in result.out


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "what, code, message",
    [
        (["ilnx", "1:25-cv-01285"], 2, "error: 'ilnx' is not a federal court id. Close ones: ilnd (N.D. Ill.)"),
        (["ilnd", "1:25-xx"], 2, "error: '1:25-xx' is not a docket number: write it like 1:25-cv-01285"),
        (["https://example.org/cases/1"], 2, "error: cannot read https://example.org/cases/1: give a CourtListener"),
        (
            ["https://ecf.cand.uscourts.gov/cgi-bin/DktRpt.pl?999999"],
            1,
            "error: CourtListener does not know PACER case 999999 of N.D. Cal. (cand), so its docket number is unknown",
        ),
        (["{cl}/docket/123/"], 1, "error: CourtListener has no docket 123"),
    ],
)
def test_bad_input_is_one_clear_line_and_changes_nothing(config, cl, what, code, message):
    before = config.read_text()
    result = follow(config, cl, *[w.format(cl=cl.base_url) for w in what])
    assert result.code == code
    assert result.err.startswith(message), result.err
    assert "Traceback" not in result.err and config.read_text() == before


@pytest.mark.parametrize(
    "option, problem",
    [
        (["--every", "often"], "'often' is not a duration"),
        (["--notify", "newsrom"], "no notifier named 'newsrom' (known: terminal)"),
        (["--id", "my case"], "'my case' is not a usable id"),
    ],
)
def test_watches_that_would_not_validate_are_not_written(config, cl, option, problem):
    """The file is validated with the new watches before it is written: a bad option writes nothing."""
    before = config.read_text()
    result = follow(config, cl, "cand", "3:25-cv-01350", *option)
    assert result.code == 2
    assert result.err.startswith(f"error: the new watches would not validate, so {config} is unchanged:\n")
    assert problem in result.err
    assert config.read_text() == before


def test_config_it_may_not_write(cl, tmp_path):
    """A directory the user may not write to: the error says why and prints the watches to add by hand."""
    folder = Path(tempfile.mkdtemp(prefix="follow-ro-"))
    try:
        folder.chmod(0o755)
        path = folder / "watches.yaml"
        path.write_text(CONFIG.format(state=folder / "state.db"))
        path.chmod(0o644)
        assert follow(path, cl, "cand", "3:25-cv-01350", "--dry-run").code == 0  # (imports done as root)
        with _unprivileged(folder):
            result = follow(path, cl, "cand", "3:25-cv-01350", "--no-check")
        assert result.code == 1
        assert f"error: cannot write {path}: permission denied" in result.err
        assert "  - id: cand-3-25-cv-01350-rss" in result.err  # what to add by hand
        assert path.read_text() == CONFIG.format(state=folder / "state.db")
        assert sorted(p.name for p in folder.iterdir()) == ["watches.yaml"]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


@contextlib.contextmanager
def _unprivileged(folder: Path) -> Iterator[None]:
    """Make `folder` unwritable for this process: by permissions, or (as root, whom permissions do not stop)
    by running as `nobody` for the duration."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


# ------------------------------------------------------------------ unfollow


def test_unfollow_removes_the_pair_and_leaves_the_rest_byte_for_byte(config, cl, feed):
    original = config.read_text()
    assert follow(config, cl, "nysd", "1:18-cv-03365", "--rss-url", feed.url("/rss")).code == 0
    result = run_cli("unfollow", "nysd-1-18-cv-03365", "--config", str(config))
    assert result.code == 0, result.err
    assert "removed from" in result.out and "nysd-1-18-cv-03365, nysd-1-18-cv-03365-rss" in result.out
    assert "their state and change history stay in the database" in result.out
    assert config.read_text() == original
    assert set(states(config)) == {"nysd-1-18-cv-03365", "nysd-1-18-cv-03365-rss"}  # state kept


def test_unfollow_only_and_forget(config, cl, feed):
    assert follow(config, cl, "nysd", "1:18-cv-03365", "--rss-url", feed.url("/rss")).code == 0
    only = run_cli("unfollow", "nysd-1-18-cv-03365-rss", "--only", "--forget", "--config", str(config))
    assert only.code == 0, only.err
    assert [w.id for w in loads(config.read_text()).watches] == ["doj-news", "nysd-1-18-cv-03365"]
    assert set(states(config)) == {"nysd-1-18-cv-03365"}  # the removed watch's state is gone


def test_unfollow_unknown_id_names_close_ones(config):
    before = config.read_text()
    result = run_cli("unfollow", "doj-new", "--config", str(config))
    assert result.code == 2
    assert result.err.startswith(f"error: no watch 'doj-new' in {config}; close ones: doj-news")
    assert config.read_text() == before


# ------------------------------------------------------------------ find


def test_find_prints_candidates_with_the_command_that_follows_each(config, cl):
    result = run_cli("find", "San Francisco v. Trump", "--config", str(config), "--base-url", cl.base_url)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "1. City and County of San Francisco v. Trump",
        "   N.D. Cal. 3:25-cv-01350 · filed 2025-02-07",
        f"   {cl.base_url}/docket/900001350/city-and-county-of-san-francisco-v-trump/",
        f"   monitor follow cand 3:25-cv-01350 --base-url {cl.base_url} --config {config}",
    ]
    command = result.out.splitlines()[-1].split()[1:]  # the printed command works as printed
    followed = run_cli(*command, "--dry-run")
    assert followed.code == 0 and "  - id: cand-3-25-cv-01350\n" in followed.out


def test_find_by_court_and_its_errors(config, cl):
    assert run_cli(
        "find", "v.", "--court", "N.D. Ill.", "--config", str(config), "--base-url", cl.base_url
    ).out.startswith("1. United States v. Illinois\n   N.D. Ill. 1:25-cv-01285 · filed 2025-02-06")
    none = run_cli("find", "Trump", "--court", "ilnd", "--config", str(config), "--base-url", cl.base_url)
    assert none.code == 1 and "no case on CourtListener matches 'Trump' in N.D. Ill. (ilnd)" in none.out
    bad = run_cli("find", "Trump", "--court", "ilnx", "--config", str(config), "--base-url", cl.base_url)
    assert bad.code == 2 and "Close ones: ilnd" in bad.err
    assert [r.query.get("court") for r in cl.api_requests("/search/")] == ["ilnd", "ilnd"]
    zero = run_cli("find", "Trump", "-n", "0", "--config", str(config), "--base-url", cl.base_url)
    assert zero.code == 2 and zero.err == "error: --limit 0: give a number of results, 1 or more\n"


def test_find_without_courtlistener_says_so(config, cl):
    cl.rate_limit(retry_after=30)
    result = run_cli("find", "Trump", "--config", str(config), "--base-url", cl.base_url)
    assert result.code == 1
    assert result.err == "error: CourtListener is rate limiting these requests (HTTP 429): try again in 30 s\n"
