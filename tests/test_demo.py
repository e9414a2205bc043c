"""`monitor demo` end to end: a court filing alerts once, CourtListener's fuller text is one update of it; a
filing with a free PDF is followed by its preview; a press release names a followed case; an appeal is
followed by itself, announced once, and its next filing alerts."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.demo import appeal, preview, run_demo
from monitor.demo.scene import THUMBNAIL_NAME
from monitor.demo.steps import CL_WATCH, DOJ_WATCH, ENTRY_KEY, RELATED_CASE, RSS_WATCH, STEPS
from tests.conftest import DATA

REPO = Path(__file__).resolve().parents[1]
DEMO_DATA = REPO / "monitor" / "demo_data"
ENTRY_ALERT = "Chau v. Donovan: #3 Notice of Appearance"
MINUTE_ORDER = "[New] United States v. Google LLC (D.D.C.): United States v. Google LLC: Minute entry MINUTE ORDER"
NOTICE = (
    "[New] Grabis v. Navient Solutions (Bankr. S.D.N.Y.): Grabis v. Navient Solutions, LLC: #149 Notice, Appeal (fee)"
)
APPEAL_FILING = (
    "[New] Grabis v. Navient Solutions (Bankr. S.D.N.Y.): appeal, S.D.N.Y. 1:18-cv-03472: "
    "Grabis v. Navient Solutions, LLC: #2 Scheduling Order"
)

pytestmark = pytest.mark.slow


def demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m monitor demo ARGS` in its own process, as a user runs it (no tokens in its environment)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN") and not k.startswith("MONITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "demo", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def history(config: Path, cwd: Path) -> list[dict]:
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "history", "--all", "--json", "--config", str(config)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@dataclass(frozen=True)
class Demo:
    run: subprocess.CompletedProcess[str]
    keep: Path  # the --keep folder
    cwd: Path


@pytest.fixture(scope="module")
def played(tmp_path_factory) -> Demo:
    """One whole demo, played once for the tests of its steps."""
    cwd = tmp_path_factory.mktemp("demo")
    keep = cwd / "kept"
    run = demo("--keep", str(keep), cwd=cwd)
    assert run.returncode == 0, run.stdout + run.stderr
    return Demo(run, keep, cwd)


def alert(out: str, headline: str) -> str:
    """The console alert that starts with `headline` (up to the next blank line or alert)."""
    block = out.split(headline, 1)[1]
    return re.split(r"\n\n|\n\[", block, maxsplit=1)[0]


def test_demo_alerts_a_filing_once_then_updates_it_from_courtlistener(played):
    """The demo runs offline with no tokens: a silent baseline, exactly one "new filing #3" alert from the
    court's feed, exactly one update of that entry from CourtListener (never a second new filing), the
    other steps' alerts each once, nothing twice; its narration says so, and the recorded history agrees."""
    run, keep = played.run, played.keep
    out = run.stdout
    assert run.stderr == ""  # no warning, no traceback: the demo's output is clean

    # the console notifier's alerts: one new filing, one update of the same entry, then the other steps' alerts
    assert out.count(f"[New] Chau v. Donovan (S.D.N.Y.): {ENTRY_ALERT}") == 1
    assert out.count(f"[Updated] Chau v. Donovan (S.D.N.Y.): {ENTRY_ALERT}") == 1
    assert len(re.findall(r"^\[New\] ", out, re.M)) == 5 and len(re.findall(r"^\[Updated\] ", out, re.M)) == 1
    assert "[Source down]" not in out
    update = out.split("[Updated] ", 1)[1].split("\n\n", 1)[0]
    assert "docket text: (none) -> NOTICE OF APPEARANCE" in update  # before -> after
    assert "Source: courtlistener, pacer_rss" in update

    # the narration, in order, saying what happened and why
    promises = [
        "1. First check of every watch: a silent baseline.",
        "0 alerts.",
        "2. The court's RSS feed publishes a new filing in Chau v. Donovan: entry #3.",
        'One filing, one alert. Slack and email title it "New filing #3 in Chau v. Donovan"',
        "3. CourtListener lists the same entry, with its full docket text.",
        'One update ("Updated: filing #3 in Chau v. Donovan"), never a second "new filing"',
        "4. A filing with a free PDF in United States v. Google LLC",
        "Two messages, in that order",
        "5. DOJ publishes a press release about a followed case",
        f'which says "Related case: {RELATED_CASE}"',
        "6. A notice of appeal in Grabis v. Navient Solutions",
        "Three alerts",
        "7. The appeal's next filing, in S.D.N.Y.'s feed.",
        "The announcement is not repeated.",
        "8. Checking everything once more.",
        "0 changes, 0 alerts: nothing is ever sent twice.",
        "and 1 the monitor created, 9 alerts.",
    ]
    flat = " ".join(out.split())
    positions = [flat.find(" ".join(p.split())) for p in promises]
    assert -1 not in positions, [p for p, at in zip(promises, positions, strict=True) if at == -1]
    assert positions == sorted(positions)

    # what the database recorded: the same entry, added by the feed's watch, then updated by CourtListener's
    recorded = [(c["watch"], c["kind"], c["key"]) for c in reversed(history(keep / "watches.yaml", played.cwd))]
    assert recorded[:2] == [(RSS_WATCH, "added", ENTRY_KEY), (CL_WATCH, "updated", ENTRY_KEY)]
    assert [kind for _, kind, _ in recorded] == [
        "added",
        "updated",
        "added",
        "updated",
        "added",
        "added",
        "following",
        "gap_opened",
        "added",
    ]


def test_demo_previews_a_free_pdf_after_its_alert_and_keeps_the_first_page(played):
    """The minute order's alert comes once, then its preview once (2 pages, the order's first words, the free
    PDF on the demo's stand-in for RECAP's storage); the first page is a PNG in the kept folder, as the
    narration says."""
    out, keep = played.run.stdout, played.keep
    headline = MINUTE_ORDER.replace("[New]", "[Preview]")
    assert out.count(MINUTE_ORDER) == 1 and out.count(headline) == 1 and out.count("[Preview] ") == 1
    assert out.index(MINUTE_ORDER) < out.index(headline)  # the alert first, the preview after
    shown = alert(out, headline)
    assert "Pages: 2" in shown
    assert "Text: UNITED STATES DISTRICT COURT FOR THE DISTRICT OF COLUMBIA" in shown
    assert re.search(r"Free PDF: http://127\.0\.0\.1:\d+/recap/gov\.uscourts\.dcd\.223205/", shown)
    picture = keep / THUMBNAIL_NAME
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"here it is written to {picture}." in " ".join(out.split())


def test_demo_links_the_press_release_to_the_followed_case(played):
    """The DOJ release names "United States v. Illinois, 1:25-cv-01285", a case the demo follows: its one alert
    says "Related case: U.S. v. Illinois (N.D. Ill. 1:25-cv-01285)" once, and no "Not followed" line."""
    out = played.run.stdout
    release = (
        "[New] DOJ press releases: Justice Department Sues Illinois, Chicago and Cook County Over Sanctuary Policies"
    )
    assert out.count(release) == 1
    shown = alert(out, release)
    assert out.count(f"Related case: {RELATED_CASE}") == 1 and f"Related case: {RELATED_CASE}" in shown
    assert "Not followed:" not in out
    assert DOJ_WATCH in out


def test_demo_follows_the_appeal_by_itself_announces_it_once_and_alerts_its_next_filing(played):
    """The bankruptcy court's recorded notice of appeal alerts once; the monitor finds the appeal in the district
    court's feed (the watch's follow_appeals feed_url: the demo's server), creates its watch, announces
    "Now following the appeal: ..." once, and the appeal's next filing alerts once from the created watch."""
    out, keep = played.run.stdout, played.keep
    assert out.count(NOTICE) == 1
    assert out.count(appeal.ANNOUNCED) == 1 and out.count("[Following] ") == 1
    assert out.index(NOTICE) < out.index(appeal.ANNOUNCED) < out.index(APPEAL_FILING)
    assert out.count(APPEAL_FILING) == 1
    created = "nysb-15-01420-appeal-nysd-1-18-cv-03472-rss"
    assert f"Watches added: {created}." in alert(out, appeal.ANNOUNCED)
    # the created watch's baseline says once what S.D.N.Y.'s partial feed cannot show
    assert (
        len(re.findall(r"^\[Coverage gap\] [^\n]*appeal, S\.D\.N\.Y\. 1:18-cv-03472: ", out, re.M)) == 1
    )  # by its name
    assert "[Coverage gap]" not in out.split(appeal.ANNOUNCED)[0]  # none before: every other case is covered

    status = subprocess.run(
        [sys.executable, "-m", "monitor", "status", "--config", str(keep / "watches.yaml")],
        cwd=played.cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert created in status.stdout and "followed automatically: appeal of nysb-15-01420-rss" in status.stdout


def test_demo_again_in_the_same_folder_starts_afresh_and_refuses_other_files(tmp_path):
    """`--keep DIR` replaces an earlier demo's files (its state would spoil the baseline) and nothing else:
    a folder holding anything else is refused with exit 2 and left as it was."""
    keep = tmp_path / "kept"
    assert demo("--keep", str(keep), cwd=tmp_path).returncode == 0
    again = demo("--keep", str(keep), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count(f"[New] Chau v. Donovan (S.D.N.Y.): {ENTRY_ALERT}") == 1

    (keep / "notes.txt").write_text("mine")
    refused = demo("--keep", str(keep), cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "not an earlier demo's (notes.txt)" in refused.stderr and "Traceback" not in refused.stderr
    assert (keep / "notes.txt").read_text() == "mine" and (keep / "demo.db").exists()


def test_a_step_whose_promise_fails_stops_the_demo_with_exit_1(tmp_path, capsys):
    """The narration never claims what did not happen: without the baseline step, the court feed's first
    check is a silent baseline, so the "new filing" step's promise fails and the demo says which step."""
    steps = [step for step in STEPS if step.name != "baseline"]
    out = io.StringIO()
    code = run_demo(str(tmp_path / "kept"), out=out, steps=steps)
    assert code == 1
    err = capsys.readouterr().err
    assert "demo failed at step 'court-filing': expected a new filing #3 from the court feed" in err
    assert "One filing, one alert" not in out.getvalue()


def test_demo_data_is_the_recorded_data_of_the_tests():
    """The feeds the demo ships are byte for byte the recorded files whose provenance tests/data records."""
    assert (DEMO_DATA / "sdny_1.xml").read_bytes() == (DATA / "pacer_rss" / "sdny_1.xml").read_bytes()
    assert (DEMO_DATA / "nysb_1.xml").read_bytes() == (DATA / "pacer_rss" / "nysb_1.xml").read_bytes()
    assert (DEMO_DATA / preview.PDF).read_bytes() == (DATA / "previews" / preview.PDF).read_bytes()
    assert (DEMO_DATA / "doj_news.xml").read_bytes() == (DATA / "core" / "doj_news.xml").read_bytes()
    sources = (DEMO_DATA / "SOURCES.md").read_text()
    for path in DEMO_DATA.iterdir():
        if path.name != "SOURCES.md":
            assert f"`{path.name}`" in sources, f"{path.name} has no provenance in monitor/demo_data/SOURCES.md"


def test_demo_courtlistener_data_has_the_recorded_shapes():
    """The constructed CourtListener docket and entries have exactly the keys of CourtListener's v4 schema
    (the recorded OPTIONS answer), so the demo's watch reads what the real API would give it."""
    schema = json.loads((DATA / "courtlistener" / "options_v4_fields.json").read_text())
    for case in ("", "_dcd"):
        docket = json.loads((DEMO_DATA / f"courtlistener{case}_docket.json").read_text())
        entries = json.loads((DEMO_DATA / f"courtlistener{case}_entries.json").read_text())
        assert list(docket) == schema["dockets"]["fields"]
        for entry in entries:
            assert list(entry) == schema["docket-entries"]["fields"]
            for document in entry["recap_documents"]:
                assert list(document) == schema["docket-entries"]["nested_recap_documents_fields"]
