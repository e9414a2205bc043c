"""What every notifier is: a typed config model, and `send`, which raises `NotifyError` on failure.

The dispatcher hands a notifier `Alert`s: the pending deliveries of one watch, planned into messages by
`plan` (one message per change by default; a notifier can digest a burst into one). `send` returns
an optional small mapping kept with the delivery (a Slack message `ts`), and raises on failure:
`NotifyError(permanent=True)` for errors retrying cannot fix, anything else is retried with backoff.

Every notifier has the key `previews` (default true): whether it gets the document preview that follows
an alert about a filing with a free PDF (`monitor.previews`). A preview is an `updated` change of the
filing whose changed fields are `preview_*`; `notifiers.format.describe` gives it a `Preview`, and
`Notifier.preview_image(ref)` returns its thumbnail's PNG bytes (kept in the state database).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from monitor.models import Change, Delivery, utcnow


class NotifierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="the notifier kind")
    previews: bool = Field(True, description="also send document previews (monitor.previews) after alerts")


@dataclass(frozen=True, slots=True)
class Alert:
    """One message to send: one or more changes of one watch, for one notifier.

    A digest across watches (`Notifier.plan_all`) carries the display name of each watch in
    `watch_names`; `name_of` finds a change's watch name either way.
    """

    notifier: str
    watch_id: str
    watch_name: str
    deliveries: tuple[Delivery, ...]
    watch_names: Mapping[str, str] = field(default_factory=dict)

    def name_of(self, watch_id: str) -> str:
        if watch_id in self.watch_names:
            return self.watch_names[watch_id]
        return self.watch_name if watch_id == self.watch_id else watch_id

    @property
    def changes(self) -> list[Change]:
        return [d.change for d in self.deliveries]

    @property
    def idempotency_key(self) -> str:
        """Stable for the same set of deliveries, across retries and restarts."""
        return "+".join(d.idempotency_key for d in self.deliveries)


class NotifierServices(Protocol):
    """What the core lends notifiers: the shared HTTP client, a small persistent memory, thumbnails."""

    def remember(self, notifier: str, key: str, value: Any) -> None: ...
    def recall(self, notifier: str, key: str) -> Any: ...
    def preview_image(self, ref: str) -> bytes | None: ...


class Notifier:
    kind: ClassVar[str]
    Config: ClassVar[type[NotifierConfig]] = NotifierConfig

    def __init__(self, name: str, config: NotifierConfig, services: NotifierServices | None = None):
        self.name = name
        self.config = config
        self.services = services
        self._memory: dict[str, Any] = {}  # when no store is lent (a notifier built outside the core)

    def plan(self, watch_id: str, watch_name: str, deliveries: Sequence[Delivery]) -> list[Alert]:
        """Split one watch's due deliveries into messages. Default: one message per change."""
        return [Alert(self.name, watch_id, watch_name, (d,)) for d in deliveries]

    def plan_all(self, due: Mapping[str, tuple[str, Sequence[Delivery]]]) -> list[Alert]:
        """Split all of this notifier's due deliveries (watch id -> (watch name, deliveries)) into messages.

        Default: `plan` each watch on its own. A notifier that digests across watches (an hourly email)
        overrides this.
        """
        return [
            alert
            for watch_id, (watch_name, deliveries) in due.items()
            for alert in self.plan(watch_id, watch_name, deliveries)
        ]

    def due_at(self, delivery: Delivery) -> datetime:
        """When a pending delivery should go out (a digest notifier holds them back). Default: now."""
        return delivery.next_attempt_at

    async def recall(self, key: str) -> Any:
        """A value this notifier remembered (a Slack thread's ts); the store is read off the event loop."""
        if self.services is None:
            return self._memory.get(key)
        return await asyncio.to_thread(self.services.recall, self.name, key)

    async def remember(self, key: str, value: Any) -> None:
        """Keep a small JSON value for this notifier, across restarts when a store is lent."""
        if self.services is None:
            self._memory[key] = value
        else:
            await asyncio.to_thread(self.services.remember, self.name, key, value)

    async def preview_image(self, ref: str | None) -> bytes | None:
        """The PNG of a preview's thumbnail (`fields.preview_thumbnail`), or None if it is gone (kept
        `previews.keep`) or no store is lent; read off the event loop."""
        if not ref or self.services is None or not hasattr(self.services, "preview_image"):
            return None
        return await asyncio.to_thread(self.services.preview_image, ref)

    async def send(self, alert: Alert) -> Mapping[str, Any] | None:
        raise NotImplementedError

    async def send_test(self) -> None:
        """Send a harmless test message, to check the settings."""
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def now() -> datetime:
    return utcnow()
