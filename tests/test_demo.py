"""`monitor demo` end to end: a court filing alerts once, CourtListener's fuller text is one update of it."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.demo import run_demo
from monitor.demo.steps import CL_WATCH, ENTRY_KEY, RSS_WATCH, STEPS
from tests.conftest import DATA

REPO = Path(__file__).resolve().parents[1]
DEMO_DATA = REPO / "monitor" / "demo_data"
ENTRY_ALERT = "Chau v. Donovan: #3 Notice of Appearance"

pytestmark = pytest.mark.slow


def demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m monitor demo ARGS` in its own process, as a user runs it (no tokens in its environment)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN") and not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor", "demo", *args], cwd=cwd, capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(REPO)}, timeout=120)


def history(config: Path, cwd: Path) -> list[dict]:
    run = subprocess.run([sys.executable, "-m", "monitor", "history", "--all", "--json", "--config", str(config)],
                         cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                         timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_demo_alerts_a_filing_once_then_updates_it_from_courtlistener(tmp_path):
    """The demo runs offline with no tokens: a silent baseline, exactly one "new filing #3" alert from the
    court's feed, exactly one update of that entry from CourtListener (never a second new filing), the
    DOJ release, nothing twice; its narration says so, and the recorded history agrees."""
    keep = tmp_path / "kept"
    run = demo("--keep", str(keep), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert run.stderr == ""  # no warning, no traceback: the demo's output is clean

    # the console notifier's alerts: one new filing, one update of the same entry, one press release
    assert out.count(f"[New] Chau v. Donovan (S.D.N.Y.): {ENTRY_ALERT}") == 1
    assert out.count(f"[Updated] Chau v. Donovan (S.D.N.Y.): {ENTRY_ALERT}") == 1
    assert len(re.findall(r"^\[New\] ", out, re.M)) == 2 and len(re.findall(r"^\[Updated\] ", out, re.M)) == 1
    assert "[Coverage gap]" not in out and "[Source down]" not in out
    update = out.split("[Updated] ", 1)[1].split("\n\n", 1)[0]
    assert "docket text: (none) -> NOTICE OF APPEARANCE" in update  # before -> after
    assert "Source: courtlistener, pacer_rss" in update

    # the narration, in order, saying what happened and why
    promises = ["1. First check of every watch: a silent baseline.", "0 alerts.",
                "2. The court's RSS feed publishes a new filing in Chau v. Donovan: entry #3.",
                'One filing, one alert. Slack and email title it "New filing #3 in Chau v. Donovan"',
                "3. CourtListener lists the same entry, with its full docket text.",
                'One update ("Updated: filing #3 in Chau v. Donovan"), never a second "new filing"',
                "4. DOJ publishes a press release", "5. Checking everything once more.",
                "0 changes, 0 alerts: nothing is ever sent twice.", "3 alerts."]
    flat = " ".join(out.split())
    positions = [flat.find(" ".join(p.split())) for p in promises]
    assert -1 not in positions, [p for p, at in zip(promises, positions) if at == -1]
    assert positions == sorted(positions)

    # what the database recorded: the same entry, added by the feed's watch, then updated by CourtListener's
    recorded = [(c["watch"], c["kind"], c["key"]) for c in reversed(history(keep / "watches.yaml", tmp_path))]
    assert recorded[:2] == [(RSS_WATCH, "added", ENTRY_KEY), (CL_WATCH, "updated", ENTRY_KEY)]
    assert [kind for _, kind, _ in recorded] == ["added", "updated", "added"]


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
    assert "demo failed at step 'court-filing': expected exactly one change" in err
    assert "One filing, one alert" not in out.getvalue()


def test_demo_data_is_the_recorded_data_of_the_tests():
    """The feeds the demo ships are byte for byte the recorded files whose provenance tests/data records."""
    assert (DEMO_DATA / "sdny_1.xml").read_bytes() == (DATA / "pacer_rss" / "sdny_1.xml").read_bytes()
    assert (DEMO_DATA / "doj_news.xml").read_bytes() == (DATA / "core" / "doj_news.xml").read_bytes()
    sources = (DEMO_DATA / "SOURCES.md").read_text()
    for path in DEMO_DATA.iterdir():
        if path.name != "SOURCES.md":
            assert f"`{path.name}`" in sources, f"{path.name} has no provenance in monitor/demo_data/SOURCES.md"


def test_demo_courtlistener_data_has_the_recorded_shapes():
    """The constructed CourtListener docket and entries have exactly the keys of CourtListener's v4 schema
    (the recorded OPTIONS answer), so the demo's watch reads what the real API would give it."""
    schema = json.loads((DATA / "courtlistener" / "options_v4_fields.json").read_text())
    docket = json.loads((DEMO_DATA / "courtlistener_docket.json").read_text())
    entries = json.loads((DEMO_DATA / "courtlistener_entries.json").read_text())
    assert list(docket) == schema["dockets"]["fields"]
    for entry in entries:
        assert list(entry) == schema["docket-entries"]["fields"]
        for document in entry["recap_documents"]:
            assert list(document) == schema["docket-entries"]["nested_recap_documents_fields"]
