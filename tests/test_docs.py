"""The README's configuration examples are valid configurations, so the docs cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from monitor.config import loads

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", README, flags=re.S)
ENV = dict.fromkeys(
    (
        "SLACK_BOT_TOKEN",
        "SMTP_USER",
        "SMTP_PASSWORD",
        "COURTLISTENER_TOKEN",
        "ALERT_HOOK_TOKEN",
        "PGPASSWORD",
        "NTFY_TOPIC",
        "DISCORD_WEBHOOK_ID",
        "DISCORD_WEBHOOK_TOKEN",
    ),
    "x" * 8,
)
# Apprise URLs are checked against each service's own token forms: a Telegram bot token is <digits>:<key>.
ENV["TELEGRAM_BOT_TOKEN"] = "123456789:" + "x" * 35
ENV["MONITOR_DASHBOARD_TOKEN"] = "x" * 16  # the dashboard's token must be 12 characters or more


def as_config(block: str) -> str:
    """Wrap a README fragment (a watch, a notifier, keyword rules, a full file) into a whole config."""
    data = yaml.safe_load(block)
    if isinstance(data, list):  # watches
        return "watches:\n" + "\n".join("  " + line for line in block.splitlines())
    if isinstance(data, dict) and "keywords" in data and len(data) == 1:
        indented = "\n".join("    " + line for line in block.splitlines())
        return f"watches:\n  - id: k\n    type: feed\n    url: https://example.org/feed\n{indented}"
    if isinstance(data, dict) and all(isinstance(v, dict) and "type" in v for v in data.values()):
        return "notifiers:\n" + "\n".join("  " + line for line in block.splitlines())
    return block


def test_readme_has_examples():
    """The README documents the configuration with examples (and this test sees them)."""
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=[b.strip().splitlines()[0][:40] for b in BLOCKS])
def test_readme_yaml_example_is_valid(block):
    """Every ```yaml block in the README loads as (part of) a valid configuration."""
    loads(as_config(block), source="README.md", env=ENV)


# ---------------------------------------------------------------- the table of contents

TOC_START, TOC_END = "<!-- toc:start -->", "<!-- toc:end -->"


def headings(markdown: str) -> list[tuple[int, str]]:
    """(level, text) of every `#`-heading outside code blocks, in order."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"(#{1,6}) (.+?)\s*$", line)):
            found.append((len(match.group(1)), match.group(2)))
    return found


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (`_` and `-` kept), spaces to `-`."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def toc_block(markdown: str) -> str:
    """The contents the README should open with: one line per `##` section, its `###` sections after it."""
    sections: list[list[str]] = []
    for level, text in headings(markdown):
        link = f"[{re.sub(r'[`*]', '', text)}](#{anchor(text)})"
        if level == 2:
            sections.append([link])
        elif level == 3 and sections:
            sections[-1].append(link)
    lines = [f"- {first}" + (": " + " · ".join(rest) if rest else "") for first, *rest in sections]
    return "\n".join([TOC_START, *lines, TOC_END])


def test_readme_table_of_contents_lists_every_section_in_order():
    """The README opens with a table of contents that lists its `##` and `###` headings in order, each
    linked to the heading's anchor: a section added, renamed or moved without its line here fails."""
    assert TOC_START in README and TOC_END in README, "README.md has no table of contents between toc markers"
    current = README[README.index(TOC_START) : README.index(TOC_END) + len(TOC_END)]
    expected = toc_block(README)
    assert current == expected, f"the README's table of contents is out of date; replace it with:\n\n{expected}\n"
    assert README.index(TOC_END) < README.index("\n## "), "the table of contents comes before the first section"


def test_readme_links_to_its_own_sections_resolve():
    """Every `(#anchor)` link in the README names a heading that exists (sections are linked by their text)."""
    anchors = {anchor(text) for _, text in headings(README)}
    broken = sorted({target for target in re.findall(r"\]\(#([^)]+)\)", README) if target not in anchors})
    assert not broken, f"links to no heading: {broken}"
