"""Watcher kinds: one module per source kind, registered in this one explicit table."""

from watchers.base import CheckContext, CheckOutcome, UrlWatcher, Watcher, WatchConfig
from watchers.feed import FeedWatcher
from watchers.html import HtmlWatcher

WATCHERS: dict[str, type[Watcher]] = {
    FeedWatcher.kind: FeedWatcher,
    HtmlWatcher.kind: HtmlWatcher,
}

__all__ = ["CheckContext", "CheckOutcome", "UrlWatcher", "Watcher", "WatchConfig", "WATCHERS"]
