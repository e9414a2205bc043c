"""Watcher kinds: one module per source kind, registered in this one explicit table."""

from watchers.base import CheckContext, CheckOutcome, UrlWatcher, Watcher, WatchConfig
from watchers.courtlistener import CourtListenerWatcher
from watchers.doj import DojWatcher
from watchers.federal_register import FederalRegisterWatcher
from watchers.feed import FeedWatcher
from watchers.html import HtmlWatcher
from watchers.pacer_rss import PacerRssWatcher
from watchers.whitehouse import WhiteHouseWatcher
from watchers.wordpress import WordPressWatcher

WATCHERS: dict[str, type[Watcher]] = {
    FeedWatcher.kind: FeedWatcher,
    HtmlWatcher.kind: HtmlWatcher,
    PacerRssWatcher.kind: PacerRssWatcher,
    CourtListenerWatcher.kind: CourtListenerWatcher,
    DojWatcher.kind: DojWatcher,
    WordPressWatcher.kind: WordPressWatcher,
    WhiteHouseWatcher.kind: WhiteHouseWatcher,
    FederalRegisterWatcher.kind: FederalRegisterWatcher,
}

__all__ = ["CheckContext", "CheckOutcome", "UrlWatcher", "Watcher", "WatchConfig", "WATCHERS"]
