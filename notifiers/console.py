"""`console`: print alerts to the terminal (standard output, or standard error).

The default when no notifier is configured. Useful for trying a configuration with `monitor check`, and
in a container whose logs are collected.

Keys: `stream` (`stdout` or `stderr`, default `stdout`); `previews` (default true): also print document
previews (`monitor.previews`: the page count and first lines of a filing's free PDF, after its alert).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from monitor.render import change_text
from notifiers.base import Alert, Notifier, NotifierConfig


class ConsoleConfig(NotifierConfig):
    stream: Literal["stdout", "stderr"] = "stdout"


class ConsoleNotifier(Notifier):
    kind: ClassVar[str] = "console"
    Config: ClassVar[type[NotifierConfig]] = ConsoleConfig
    force_stream: ClassVar[str | None] = None  # `check --json` sends console alerts to stderr

    def _stream(self):
        name = self.force_stream or getattr(self.config, "stream", "stdout")
        return sys.stderr if name == "stderr" else sys.stdout

    async def send(self, alert: Alert) -> Mapping[str, Any] | None:
        stream = self._stream()
        for change in alert.changes:
            print(change_text(change, alert.watch_name), file=stream)
        stream.flush()
        return None

    async def send_test(self) -> None:
        print(f"Test message from the court-filing monitor (notifier {self.name!r}).", file=self._stream())
