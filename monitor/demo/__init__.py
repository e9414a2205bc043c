"""`monitor demo`: the monitor at work in seconds, offline, with no tokens and nothing to configure.

Servers on 127.0.0.1 (`monitor/demo/sources.py`) stand in for federal courts' RSS feeds (S.D.N.Y.'s and
its bankruptcy court's real feeds), CourtListener (`monitor/demo/courtlistener.py`), RECAP's storage of
free PDFs and DOJ's press-release feed (recorded). The demo writes a configuration with a `pacer_rss`
and a `courtlistener` watch of one case (the pair `monitor follow` writes), a `courtlistener` watch of
a second case, a court-feed watch of a third, a DOJ watch, and a fourth case followed by a disabled
watch, then plays the steps of `monitor/demo/steps.py`: a silent baseline; a filing appears in the
court's feed (one "new filing" alert); CourtListener lists the same entry with its full text (one update
of that alert, never a second "new filing"); a filing with a free PDF (its alert, then a preview of the
document: pages, first lines, the first page written to the demo's folder); DOJ publishes a release
about a followed case (one alert, "Related case: ..."); a notice of appeal (its alert, the monitor
following the appeal by itself, announced once); the appeal's next filing (one alert); one more check
(nothing sent twice). Every check is the real cycle of `monitor check`, delivered by the console
notifier; narration between the steps says what happened and why. `--keep DIR` keeps the configuration,
database and preview picture in DIR (default: a new temporary folder).

Exit status: 0 when every step showed what it says; 1 when one did not (a bug: the message names the
step); 2 when DIR holds files other than an earlier demo's.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

from monitor.demo.scene import DEMO_FILES, DemoFailed, Scene
from monitor.demo.sources import DemoSources
from monitor.demo.steps import STEPS, Step

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _UnusableFolder(Exception):
    """--keep names a folder the demo must not or cannot use."""


def _workdir(keep: str | None) -> Path:
    """The demo's folder: a fresh temporary one, or DIR emptied of an earlier demo's files (and only those)."""
    if not keep:
        return Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    workdir = Path(keep).expanduser()
    if workdir.exists() and not workdir.is_dir():
        raise _UnusableFolder(f"--keep {keep}: this is a file, not a folder; name a new or empty folder")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _UnusableFolder(f"--keep {keep}: cannot create the folder ({exc.strerror or exc})") from exc
    others = sorted(p.name for p in workdir.iterdir() if p.name not in DEMO_FILES)
    if others:
        raise _UnusableFolder(
            f"--keep {keep}: the folder holds files that are not an earlier demo's "
            f"({', '.join(others[:5])}{', ...' if len(others) > 5 else ''}); name a new or empty folder"
        )
    for name in DEMO_FILES:  # an earlier demo's state would turn this demo's baseline into old news
        (workdir / name).unlink(missing_ok=True)
    return workdir


def _introduce(scene: Scene, watches: list[dict], steps: list[Step]) -> None:
    print(
        "The court-filing monitor, offline: recorded sources served on 127.0.0.1; no network, no tokens.",
        file=scene.out,
    )
    print(f"Its watches ({scene.config_path}):", file=scene.out)
    scene.show(f"{w['id']:<24} {w['type']:<14} {w.get('name', '')}" for w in watches)


def run_demo(keep: str | None = None, *, out: TextIO | None = None, steps: list[Step] | None = None) -> int:
    steps = STEPS if steps is None else steps
    try:
        workdir = _workdir(keep)
    except _UnusableFolder as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with DemoSources() as sources:
        scene = Scene(workdir, sources, out or sys.stdout)
        watches = [watch for step in steps if step.setup for watch in step.setup(sources)]
        scene.write_config(watches)
        _introduce(scene, watches, steps)
        current = steps[0].name if steps else ""
        try:
            for step in steps:
                current = step.name
                step.run(scene)
        except DemoFailed as exc:
            scene.flush()
            print(
                f"\ndemo failed at step {current!r}: {exc}. This is a bug; please report it with this output.",
                file=sys.stderr,
            )
            return EXIT_FAILED
    sent = sum(r.report.sent for r in scene.rounds)
    created = {w for r in scene.rounds for w in r.results} - {w["id"] for w in watches}
    also = f" and {len(created)} the monitor created" if created else ""
    print(
        f"\nWhat you saw: {len(scene.rounds)} check cycles of {len(watches)} watches{also}, {sent} alerts.",
        file=scene.out,
    )
    print(f"The demo's configuration and database are in {workdir}; its changes, newest first:", file=scene.out)
    print(f"  monitor history --config {scene.config_path}", file=scene.out)
    print("Next, follow a real case: `monitor follow COURT DOCKET_NUMBER` (README.md, Quick start).", file=scene.out)
    return EXIT_OK
