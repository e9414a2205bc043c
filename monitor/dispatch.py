"""The outbox dispatcher: sends pending deliveries, retries with exponential backoff, records outcomes.

At-least-once with a stable idempotency key per (change, notifier): a delivery is marked sent right
after its channel accepts it, so the only window for a duplicate is between the two (DESIGN
invariant 1). A permanent error (bad token, unknown channel) marks the delivery failed with the reason
at once; other errors are retried until `delivery.max_attempts`. One notifier failing never holds up
another: notifiers are served concurrently, each in its own task.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.config import Config, mask
from monitor.errors import NotifyError
from monitor.models import Delivery, utcnow
from monitor.store import Store
from notifiers import NOTIFIERS, Notifier
from notifiers.console import ConsoleConfig

log = logging.getLogger(__name__)

DEFAULT_NOTIFIER = "console"
DELIVERY_BATCH = 50


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.errors.extend(other.errors)

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed, "errors": self.errors}


class _Services:
    def __init__(self, store: Store, http: Any = None):
        self.store = store
        self.http = http

    def remember(self, notifier: str, key: str, value: Any) -> None:
        self.store.set_notifier_state(notifier, key, value)

    def recall(self, notifier: str, key: str) -> Any:
        return self.store.get_notifier_state(notifier, key)

    def preview_image(self, ref: str) -> bytes | None:
        return self.store.preview_image(ref)


def build_notifiers(config: Config, store: Store, http: Any = None) -> dict[str, Notifier]:
    services = _Services(store, http)
    configured = dict(config.notifiers) or {DEFAULT_NOTIFIER: ConsoleConfig(type="console")}
    return {name: NOTIFIERS[cfg.type](name, cfg, services) for name, cfg in configured.items()}


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def release_dead_local_owners(store: Store, now: datetime) -> list[str]:
    """Claims and leases held by processes of this host that no longer exist are freed at once.

    Without this, a `monitor check` or daemon restarted after a crash (with a new pid) would wait for
    the dead process's claims to expire before resending its deliveries. Owners on other hosts are left
    to expire: only their own host can tell whether they are alive.
    """
    host = socket.gethostname()
    freed = []
    for owner in store.claim_owners(now):
        name, _, pid = owner.rpartition(":")
        if name == host and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            store.release_owner(owner)
            freed.append(owner)
    if freed:
        log.info("freed claims of dead processes: %s", ", ".join(freed))
    return freed


class Dispatcher:
    def __init__(self, config: Config, store: Store, notifiers: Mapping[str, Notifier], *, owner: str | None = None):
        self.config = config
        self.store = store
        self.notifiers = dict(notifiers)
        self.owner = owner or default_owner()
        self._names = {w.id: w.display_name() for w in config.watches}

    def add_names(self, config: Config) -> None:
        """Know the names of watches added since (ones the monitor created: an appeal), for their alerts."""
        self._names.update({w.id: w.display_name() for w in config.watches})

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        policy = self.config.delivery
        delay = min(policy.backoff * (2 ** max(0, attempts - 1)), policy.backoff_max)
        return max(delay, retry_after or 0.0)

    async def deliver_due(self, now: datetime | None = None, *, drain: bool = False) -> DispatchReport:
        """Send what is due now: one batch (the daemon's loop comes back for the next), or with `drain`
        batch after batch until nothing due is left (`monitor check`, which runs once). Returns what
        happened; never raises for a channel's failure."""
        now = now or utcnow()
        db = self.store.aio  # every store call from here runs off the event loop
        await db.call(release_dead_local_owners, self.store, now)
        # A modest batch, so that sending it (Slack paces one message a second) ends within the claim, and
        # a claim as long as a watch lease: a replica that dies holds its deliveries no longer than that.
        hold = timedelta(seconds=max(60.0, self.config.daemon.lease))
        report = DispatchReport()
        seen: set[int] = set()
        while True:
            due = [
                d
                for d in await db.claim_deliveries(now, self.owner, hold=hold, limit=DELIVERY_BATCH)
                if d.id not in seen
            ]
            if not due:
                return report
            seen.update(d.id for d in due)
            report.add(await self._deliver(due, now))
            if not drain:
                return report

    async def _deliver(self, due: list[Delivery], now: datetime) -> DispatchReport:
        groups: dict[str, dict[str, list[Delivery]]] = defaultdict(lambda: defaultdict(list))
        report = DispatchReport()
        for delivery in due:
            notifier = self.notifiers.get(delivery.notifier)
            if notifier is None:
                reason = f"notifier {delivery.notifier!r} is no longer configured"
                await self.store.aio.mark_failed([delivery.id], reason)
                report.failed += 1
                report.errors.append(f"delivery {delivery.id}: {reason}")
                continue
            hold_until = notifier.due_at(delivery)
            if hold_until > now:
                await self.store.aio.postpone([delivery.id], hold_until)
                continue
            groups[delivery.notifier][delivery.change.watch_id].append(delivery)
        results = await asyncio.gather(
            *(self._serve(self.notifiers[name], by_watch) for name, by_watch in groups.items())
        )
        for result in results:
            report.add(result)
        return report

    async def _serve(self, notifier: Notifier, by_watch: Mapping[str, list[Delivery]]) -> DispatchReport:
        report = DispatchReport()
        due = {watch_id: (self._names.get(watch_id, watch_id), deliveries) for watch_id, deliveries in by_watch.items()}
        for alert in notifier.plan_all(due):
            ids = [d.id for d in alert.deliveries]
            try:
                result = await notifier.send(alert)
            except NotifyError as exc:
                await self._on_error(alert.deliveries, str(exc), exc.permanent, exc.retry_after, notifier, report)
            except Exception as exc:  # a bug or an unexpected library error: retry, and say so
                log.exception("notifier %s: unexpected error", notifier.name)
                await self._on_error(
                    alert.deliveries, f"unexpected {type(exc).__name__}: {exc}", False, None, notifier, report
                )
            else:
                await self.store.aio.mark_sent(ids, utcnow(), result)
                report.sent += len(ids)
        return report

    async def _on_error(
        self,
        deliveries: tuple[Delivery, ...],
        error: str,
        permanent: bool,
        retry_after: float | None,
        notifier: Notifier,
        report: DispatchReport,
    ) -> None:
        # a receiver's error page may echo our credentials: never stored, logged or reported
        error = mask(self.store.mask(error) or "", self.config.secrets)
        ids = [d.id for d in deliveries]
        attempts = max(d.attempts for d in deliveries) + 1
        if permanent or attempts >= self.config.delivery.max_attempts:
            why = error if permanent else f"{error} (gave up after {attempts} attempts)"
            await self.store.aio.mark_failed(ids, why)
            report.failed += len(ids)
            report.errors.append(f"notifier {notifier.name}: failed: {why}")
            log.error("notifier %s: delivery failed: %s", notifier.name, why)
        else:
            delay = self.backoff(attempts, retry_after)
            await self.store.aio.mark_retry(ids, error, utcnow() + timedelta(seconds=delay))
            report.retrying += len(ids)
            report.errors.append(f"notifier {notifier.name}: {error} (will retry in {delay:.0f}s)")
            log.warning("notifier %s: %s; retrying in %.0fs", notifier.name, error, delay)

    async def aclose(self) -> None:
        for notifier in self.notifiers.values():
            try:
                await notifier.aclose()
            except Exception:
                log.debug("closing notifier %s failed", notifier.name, exc_info=True)
