"""`whitehouse`: White House presidential actions (executive orders, proclamations, memoranda, nominations).

The `wordpress` kind with the public default `url` https://www.whitehouse.gov/presidential-actions/feed/
(observed in a recorded response: WordPress RSS 2.0 whose `atom:link rel=self` names that URL) and the
agency "The White House". Every key of `wordpress` applies: `url`, `categories`, `agency`,
`include_body`, plus the keys every watch has.

Each post carries two categories: "Presidential Actions" and one of "Executive Orders",
"Proclamations", "Presidential Memoranda", "Nominations & Appointments" (as seen in the recorded feed
and its navigation menu). `categories: [Executive Orders]` keeps executive orders only. The per-category
feed https://www.whitehouse.gov/presidential-actions/executive-orders/feed/ would do the same
server-side; it follows the WordPress convention and has not been verified live.

The feed has no executive-order number: the `federal_register` kind gives it once the order is
published there (typically days later). The recorded feed was about 578 KB, because every item carries
the full page HTML; the feed is hourly (`sy:updatePeriod`), so `every: 30m` or more is enough.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from watchers.base import WatchConfig
from watchers.wordpress import WordPressConfig, WordPressWatcher

DEFAULT_URL = "https://www.whitehouse.gov/presidential-actions/feed/"


class WhiteHouseConfig(WordPressConfig):
    # optional here, unlike on a WordPress watch: the watcher has a default; both read it as `UrlWatcher.url`
    url: str | None = Field(None, description=f"the feed URL (default {DEFAULT_URL})")  # type: ignore[assignment]


class WhiteHouseWatcher(WordPressWatcher):
    """White House presidential actions: the WordPress watcher with the public feed as default."""

    kind: ClassVar[str] = "whitehouse"
    Config: ClassVar[type[WatchConfig]] = WhiteHouseConfig
    default_url: ClassVar[str | None] = DEFAULT_URL
    default_agency: ClassVar[str | None] = "The White House"
    example: ClassVar[dict[str, Any]] = {"url": "{base}/presidential-actions/feed/", "categories": ["Executive Orders"]}
