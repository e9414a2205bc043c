"""Watcher kinds: one module per source kind, registered in this one explicit table;
imported on first use, so a configuration of feeds never loads slack_sdk or aiosmtplib."""

from monitor.registry import LazyRegistry
from watchers.base import CheckContext, CheckOutcome, FollowAppeals, Gap, UrlWatcher, WatchConfig, Watcher

WATCHERS: LazyRegistry[Watcher] = LazyRegistry(
    {
        "feed": "watchers.feed:FeedWatcher",
        "html": "watchers.html:HtmlWatcher",
        "pacer_rss": "watchers.pacer_rss:PacerRssWatcher",
        "courtlistener": "watchers.courtlistener:CourtListenerWatcher",
        "doj": "watchers.doj:DojWatcher",
        "wordpress": "watchers.wordpress:WordPressWatcher",
        "whitehouse": "watchers.whitehouse:WhiteHouseWatcher",
        "federal_register": "watchers.federal_register:FederalRegisterWatcher",
    }
)

__all__ = ["WATCHERS", "CheckContext", "CheckOutcome", "FollowAppeals", "Gap", "UrlWatcher", "WatchConfig", "Watcher"]
