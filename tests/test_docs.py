"""The README's configuration examples are valid configurations, so the docs cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from monitor.config import loads

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", README, flags=re.S)
ENV = {name: "x" * 8 for name in ("SLACK_BOT_TOKEN", "SMTP_USER", "SMTP_PASSWORD", "COURTLISTENER_TOKEN",
                                  "ALERT_HOOK_TOKEN", "PGPASSWORD", "NTFY_TOPIC", "DISCORD_WEBHOOK_ID",
                                  "DISCORD_WEBHOOK_TOKEN")}
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
