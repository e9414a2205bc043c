"""urlwatch 2.29 on the same workload as the monitor, in the same run: the reference the targets are set against.

`run.py --peer` (and `--all`) installs urlwatch into its own virtual environment the first time
(`bench/.venv-urlwatch`, git-ignored; `pip install urlwatch==2.29` from PyPI), writes its job list for
the same 1,000 sources on the same local server, and runs its three cycles beside the monitor's,
measured the same way (bench/launcher.py, `os.wait4`: CPU of the process tree, peak RSS).

The jobs, and why they are the fair equivalent of the monitor's watches:

- a feed: `url` + `xpath: {path: //item, method: xml}`: urlwatch parses the feed with lxml and keeps
  the 20 `<item>` elements, which is what the monitor's feed watcher reads (title, link,
  description, date of each item) and nothing of the channel around them;
- a page: `url` + `css: div.view-content article.news-teaser` + `html2text: re`: the same 20 teasers
  the monitor's `type: html` watch selects with the same CSS selector, reduced to their text as
  urlwatch's documentation suggests for listings, so that its report shows the new teaser's text.

Plain `url` jobs without filters would do less work than the monitor (no parsing at all) and report a
whole-page diff; filtered jobs are how urlwatch is meant to watch a listing. If anything this favours
urlwatch: one C-level XPath/CSS query per body against the monitor's five field selectors per item.
urlwatch keeps its own defaults otherwise: `requests` without a session (a new connection per job),
10 worker threads, its minidb SQLite cache (a new snapshot row per changed job), ETag + If-None-Match
(the server answers 304 exactly as it does for the monitor).

Correctness is checked from urlwatch's own text report on standard output: `first` must report NEW
for every job, `unchanged` nothing at all (and the server must have answered 304 to every job),
`changed` CHANGED for exactly the expected 10% of the jobs, each diff adding that job's new item,
and nothing else.
"""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import content
from harness import BENCH, Measure

VERSION = "2.29"
VENV = BENCH / ".venv-urlwatch"
FEED_FILTER = [{"xpath": {"path": "//item", "method": "xml"}}]
PAGE_FILTER = [{"css": content.PAGE_ITEM}, {"html2text": "re"}]
CONFIG = {
    "display": {"new": True, "error": True, "unchanged": False, "empty-diff": False},
    "report": {
        "text": {"line_length": 75, "details": True, "footer": False, "minimal": False, "separate": False},
        "stdout": {"enabled": True, "color": False},
    },
}


def ensure_urlwatch(base_python: str, venv: Path = VENV) -> list[str]:
    """The argv prefix that runs urlwatch 2.29 from its own virtual environment, made on first use."""
    python = venv / "bin" / "python"
    stamp = venv / f".installed-urlwatch-{VERSION}"
    if not stamp.exists():
        print(f"installing urlwatch {VERSION} into {venv} (first run only) ...", flush=True)
        subprocess.run([base_python, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"urlwatch=={VERSION}"],
            check=True,
        )
        stamp.write_text(VERSION + "\n")
    return [str(python), str(venv / "bin" / "urlwatch")]


def jobs(total: int, base_url: str) -> list[dict]:
    """urlwatch's job list for the sources the monitor watches (same names as the monitor's watch ids)."""
    out: list[dict] = []
    for watch in content.watches(total, base_url):
        job_filter = FEED_FILTER if watch["type"] == "feed" else PAGE_FILTER
        out.append({"name": watch["id"], "url": watch["url"], "filter": job_filter})
    return out


def write_files(directory: Path, total: int, base_url: str) -> list[str]:
    """urls.yaml and urlwatch.yaml in `directory`; the arguments that point urlwatch at them (and its cache)."""
    import yaml

    urls, config = directory / "urls.yaml", directory / "urlwatch.yaml"
    urls.write_text(
        yaml.safe_dump_all(jobs(total, base_url), sort_keys=False, default_flow_style=False), encoding="utf-8"
    )
    config.write_text(yaml.safe_dump(CONFIG, sort_keys=False), encoding="utf-8")
    return [
        "--urls",
        str(urls),
        "--config",
        str(config),
        "--hooks",
        str(directory / "hooks.py"),
        "--cache",
        str(directory / "cache.db"),
    ]


_SUMMARY = re.compile(r"^\d+\. (NEW|CHANGED|UNCHANGED|ERROR): (\S+)$")
_DETAIL = re.compile(r"^(NEW|CHANGED|UNCHANGED|ERROR): (\S+) \( .* \)$")


def parse_report(stdout: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """urlwatch's text report: job name -> verb (from the summary), job name -> its detail lines (the diff)."""
    verbs: dict[str, str] = {}
    details: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        m = _SUMMARY.match(line)
        if m:
            verbs[m.group(2)] = m.group(1)
            continue
        m = _DETAIL.match(line)
        if m:
            current = details.setdefault(m.group(2), [])
            continue
        if current is not None:
            current.append(line)
    return verbs, details


def validate(scenario: str, sources: int, measure: Measure, stdout: str, server: dict) -> list[str]:
    """What must be true of one urlwatch cycle for its figures to count."""
    problems = []
    if measure.exit_code != 0:
        problems.append(f"exit status {measure.exit_code}")
    verbs, details = parse_report(stdout)
    errors = sorted(name for name, verb in verbs.items() if verb == "ERROR")
    if errors:
        problems.append(f"{len(errors)} jobs reported ERROR (first: {errors[0]})")
    expected = content.expected_new_titles(sources)
    if scenario == "first":
        new = sum(1 for verb in verbs.values() if verb == "NEW")
        if new != sources:
            problems.append(f"{new} jobs reported NEW, expected {sources}")
        if server.get("ok") != sources:
            problems.append(f"server sent {server.get('ok')} bodies, expected {sources}")
    elif scenario == "unchanged":
        if verbs:
            problems.append(f"{len(verbs)} jobs reported, expected none (first: {next(iter(verbs.items()))})")
        if server.get("not_modified") != sources:
            problems.append(f"server answered {server.get('not_modified')} times 304, expected {sources}")
    else:
        changed = {name for name, verb in verbs.items() if verb == "CHANGED"}
        if changed != set(expected) or len(verbs) != len(expected):
            problems.append(
                f"{len(changed)} jobs CHANGED ({len(changed - set(expected))} not expected, "
                f"{len(set(expected) - changed)} missed) and {len(verbs) - len(changed)} other reports; "
                f"expected exactly {len(expected)} CHANGED"
            )
        missing = [
            name for name, title in expected.items() if name in changed and not _adds(details.get(name, []), title)
        ]
        if missing:
            problems.append(f"{len(missing)} diffs do not add the new item (first: {missing[0]})")
        if server.get("ok") != len(expected) or server.get("not_modified") != sources - len(expected):
            problems.append(
                f"server: {server.get('ok')} bodies and {server.get('not_modified')} 304s, expected "
                f"{len(expected)} and {sources - len(expected)}"
            )
    return problems


def _adds(diff: list[str], title: str) -> bool:
    forms = (title, html.escape(title, quote=False), html.escape(title))
    return any(line.startswith("+") and not line.startswith("+++") and any(f in line for f in forms) for line in diff)
