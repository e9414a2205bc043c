"""Notifier kinds: one module per channel, registered in this one explicit table."""

from notifiers.base import Alert, Notifier, NotifierConfig
from notifiers.console import ConsoleNotifier

NOTIFIERS: dict[str, type[Notifier]] = {
    ConsoleNotifier.kind: ConsoleNotifier,
}

__all__ = ["Alert", "Notifier", "NotifierConfig", "NOTIFIERS"]
