"""Notifier kinds: one module per channel, registered in this one explicit table."""

from notifiers.base import Alert, Notifier, NotifierConfig
from notifiers.console import ConsoleNotifier
from notifiers.email import EmailNotifier
from notifiers.slack import SlackNotifier
from notifiers.webhook import WebhookNotifier

NOTIFIERS: dict[str, type[Notifier]] = {
    ConsoleNotifier.kind: ConsoleNotifier,
    SlackNotifier.kind: SlackNotifier,
    EmailNotifier.kind: EmailNotifier,
    WebhookNotifier.kind: WebhookNotifier,
}

__all__ = ["Alert", "Notifier", "NotifierConfig", "NOTIFIERS"]
