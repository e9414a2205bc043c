"""Watcher kinds: one module per source kind, registered in this one explicit table."""

from watchers.base import CheckContext, CheckOutcome, UrlWatcher, Watcher, WatchConfig
from watchers.feed import FeedWatcher
from watchers.html import HtmlWatcher
from watchers.pacer_rss import PacerRssWatcher

WATCHERS: dict[str, type[Watcher]] = {
    FeedWatcher.kind: FeedWatcher,
    HtmlWatcher.kind: HtmlWatcher,
    PacerRssWatcher.kind: PacerRssWatcher,
}

__all__ = ["CheckContext", "CheckOutcome", "UrlWatcher", "Watcher", "WatchConfig", "WATCHERS"]
