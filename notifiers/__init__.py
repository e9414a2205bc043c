"""Notifier kinds: one module per channel, registered in this one explicit table;
imported on first use, so a configuration of feeds never loads slack_sdk, aiosmtplib or apprise."""

from monitor.registry import LazyRegistry
from notifiers.base import Alert, Notifier, NotifierConfig

NOTIFIERS: LazyRegistry[Notifier] = LazyRegistry(
    {
        "console": "notifiers.console:ConsoleNotifier",
        "slack": "notifiers.slack:SlackNotifier",
        "email": "notifiers.email:EmailNotifier",
        "webhook": "notifiers.webhook:WebhookNotifier",
        "apprise": "notifiers.apprise:AppriseNotifier",
    }
)

__all__ = ["NOTIFIERS", "Alert", "Notifier", "NotifierConfig"]
