"""Fixtures shared by the `monitor check` end-to-end tests in this directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATA

DOJ = (DATA / "core" / "doj_news.xml").read_bytes()


@pytest.fixture
def doj_config(server, write_config) -> Path:
    """A config with one feed watch on the recorded DOJ news feed, served by the replay server."""
    server.set("/news/rss", DOJ)
    return write_config(f"""
watches:
  - id: doj-news
    type: feed
    url: {server.url("/news/rss")}
""")
