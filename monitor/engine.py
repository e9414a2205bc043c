"""One check cycle: fetch, parse, filter, diff, record; the watches of a cycle run concurrently.

One failing watch never stops the rest: each watch's failure is caught, recorded with its reason and
reported. A failure is never a change (DESIGN invariant 3): the snapshot is only touched by a
successful check, and a source that suddenly lists nothing is treated as failing.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from monitor.config import Config, mask
from monitor.diff import changed_fields, diff, suspicious_empty
from monitor.errors import FetchError, MonitorError, ParseError
from monitor.fusion import merge_known
from monitor.http import CycleFetcher, HttpClient
from monitor.models import Change, Fetched, Item, utcnow
from monitor.store import CheckWrite, Store, WatchState, new_uid
from watchers import WATCHERS, Watcher, WatchConfig

log = logging.getLogger(__name__)

SHARED_RESPONSE_TTL = 30.0

# Config keys that do not change what a watch lists: editing them keeps its snapshot as it is.
_NEUTRAL_KEYS = {"every", "notify", "name", "enabled", "notify_baseline", "alert_removals", "allow_empty"}


def fingerprint(watch: WatchConfig) -> str:
    """A digest of the config keys that decide what a watch lists; when it changes, the watch re-baselines."""
    plugin = WATCHERS.get(watch.type)
    neutral = _NEUTRAL_KEYS | (plugin.neutral_keys if plugin else frozenset())
    data = {k: v for k, v in watch.model_dump(mode="json").items() if k not in neutral}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def build_watchers(config: Config) -> dict[str, Watcher]:
    return {w.id: WATCHERS[w.type](w) for w in config.watches}


@dataclass
class WatchResult:
    watch_id: str
    ok: bool
    changes: list[Change] = field(default_factory=list)
    unchanged: bool = False
    baseline: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    item_count: int = 0
    seconds: float = 0.0
    status_changes: list[Change] = field(default_factory=list)  # source down / recovered

    def alerting(self) -> list[Change]:
        return [c for c in self.changes if c.kind != "removed"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "watch": self.watch_id,
            "ok": self.ok,
            "error": self.error,
            "unchanged": self.unchanged,
            "baseline": self.baseline,
            "items": self.item_count,
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
            "changes": [c.to_dict() for c in self.changes],
            "status_changes": [c.to_dict() for c in self.status_changes],
        }


class _Context:
    """The CheckContext handed to a watcher: its previous state and the cycle's shared fetcher."""

    def __init__(self, watch_id: str, state: Mapping[str, Any], fetcher: CycleFetcher, store: Store):
        self.watch_id = watch_id
        self.state = state
        self._fetcher = fetcher
        self._store = store

    def get_shared(self, key: str) -> Any:
        return self._store.get_notifier_state("_shared", key)

    def set_shared(self, key: str, value: Any) -> None:
        # Kept even in a dry run: it counts real API calls made (a daily budget), not findings.
        self._store.set_notifier_state("_shared", key, value)

    async def fetch(self, url: str, *, headers: Mapping[str, str] | None = None, etag: str | None = None,
                    last_modified: str | None = None) -> Fetched:
        return await self._fetcher.fetch(url, headers=headers, etag=etag, last_modified=last_modified)


def strip_transient(item: Item) -> Item:
    """Fields named `_x` are for filters only (a page body): they are not stored or diffed."""
    if any(name.startswith("_") for name in item.fields):
        return replace(item, fields={k: v for k, v in item.fields.items() if not k.startswith("_")})
    return item


class Engine:
    def __init__(self, config: Config, store: Store, http: HttpClient, *, dry_run: bool = False,
                 notify_baseline: bool = False, respect_backoff: bool = False):
        self.config = config
        self.store = store
        self.http = http
        self.dry_run = dry_run
        self.notify_baseline = notify_baseline
        self.respect_backoff = respect_backoff
        self.watchers = build_watchers(config)
        self.filters = {w.id: w.keywords.compile() for w in config.watches if w.keywords}
        self._by_id = {w.id: w for w in config.watches}
        # The daemon checks watches one by one at jittered moments: watches sharing a URL (many cases in
        # one court feed) still share one request if they fire within this many seconds of each other.
        self._shared_fetcher = CycleFetcher(http, ttl=SHARED_RESPONSE_TTL)

    def routes_for(self, watch: WatchConfig) -> list[str]:
        return list(watch.notify or [])

    async def run_cycle(self, watch_ids: Sequence[str] | None = None) -> list[WatchResult]:
        """Check the given watches (default: all enabled ones) once, concurrently.

        When daemons are running against the same database, each watch is leased first, so a manual
        check never runs at the same moment as a daemon's check of that watch (which could alert twice).
        """
        watches = [w for w in self.config.watches if (w.id in watch_ids if watch_ids else w.enabled)]
        states = self.store.load_states([w.id for w in watches])
        # how many watches fetch each URL, so the cycle can drop a body once all of them have it
        expected = Counter(url for w in watches for url in self.watchers[w.id].fetch_urls())
        fetcher = CycleFetcher(self.http, expected=expected)
        unchanged: list[tuple[str, str, Mapping[str, Any], Mapping[str, Any] | None]] = []
        owner = self._lease_owner() if not self.dry_run else None
        results = await asyncio.gather(*(self._leased_check(w, states.get(w.id), fetcher, unchanged, owner)
                                         for w in watches))
        if unchanged and not self.dry_run:
            self.store.record_unchanged(unchanged, utcnow())
        return list(results)

    def _lease_owner(self) -> str | None:
        """This process's lease owner name if daemons share the database (heartbeat within a minute)."""
        from monitor.dispatch import default_owner

        now = utcnow()
        alive = [r for r in self.store.replicas() if (now - r["last_seen"]).total_seconds() < 60]
        return f"check:{default_owner()}" if alive else None

    async def _leased_check(self, watch: WatchConfig, state: WatchState | None, fetcher: CycleFetcher,
                            unchanged: list, owner: str | None) -> WatchResult:
        if owner is None:
            return await self._check(watch, state, fetcher, unchanged)
        hold = timedelta(seconds=self.config.daemon.lease)
        if not self.store.try_lease(watch.id, owner, utcnow(), hold=hold, min_interval=timedelta(0)):
            result = WatchResult(watch.id, ok=True, unchanged=True, item_count=state.item_count if state else 0)
            result.warnings.append("skipped: a running daemon is checking this watch right now")
            return result
        try:
            return await self._check(watch, state, fetcher, unchanged)
        finally:
            self.store.release_lease(watch.id, owner)

    async def check_one(self, watch: WatchConfig) -> WatchResult:
        """One watch, outside a cycle (the daemon's scheduled job)."""
        states = self.store.load_states([watch.id])
        unchanged: list = []
        result = await self._check(watch, states.get(watch.id), self._fetcher_for(watch), unchanged)
        if unchanged and not self.dry_run:
            self.store.record_unchanged(unchanged, utcnow())
        return result

    def _fetcher_for(self, watch: WatchConfig) -> CycleFetcher:
        """The shared fetcher, unless the watch comes round within the sharing window itself: it would be
        handed its own previous response instead of the source's current one."""
        every = watch.every
        if every is not None and every.nominal_seconds() <= SHARED_RESPONSE_TTL:
            return CycleFetcher(self.http)
        return self._shared_fetcher

    async def _check(self, watch: WatchConfig, state: WatchState | None, fetcher: CycleFetcher,
                     unchanged: list) -> WatchResult:
        started = time.perf_counter()
        now = utcnow()
        never_checked = state is None  # no state row, so no items either: they are written together
        state = state or WatchState(watch.id)
        result = WatchResult(watch.id, ok=False)
        if self.respect_backoff and state.not_before and state.not_before > now:
            result.ok, result.unchanged = True, True
            result.warnings.append(f"skipped: the source asked to wait until {state.not_before.isoformat()}")
            return result
        fp = fingerprint(watch)
        config_changed = bool(state.fingerprint) and state.fingerprint != fp
        plugin_state = {} if state.fingerprint != fp else dict(state.plugin_state or {})  # new or changed: afresh
        try:
            outcome = await self.watchers[watch.id].check(_Context(watch.id, plugin_state, fetcher, self.store))
            result.warnings.extend(outcome.warnings)
            if outcome.items is None:
                result.ok, result.unchanged, result.item_count = True, True, state.item_count
                unchanged.append((watch.id, fp, outcome.state, outcome.info or None))
                self._recovered(watch, state, result, now)
                return result
            previous = {} if never_checked else self.store.load_items(watch.id)
            listed = outcome.source_count if outcome.source_count is not None else len(outcome.items)
            missing = 0 if watch.allow_empty else suspicious_empty(previous, listed)
            if missing:
                raise ParseError(f"the source lists no items now, but had {missing}: treated as a failure "
                                 "(error page or changed layout?), nothing removed. Set allow_empty: true "
                                 "if this source can really be empty.")
            items = outcome.items
            flt = self.filters.get(watch.id)
            if flt is not None:
                items = flt.apply(items)
            items = [strip_transient(i) for i in items]
            baseline = not state.baseline_done or config_changed
            found = diff(watch.id, previous, items, now=now, baseline=baseline, complete=not outcome.incomplete,
                         notify_baseline=self.notify_baseline or watch.notify_baseline)
            if found.duplicates:
                result.warnings.append(f"{len(found.duplicates)} items listed twice by the source; kept one version "
                                       "of each (the one already recorded, if listed)")
            changes = [replace(c, uid=new_uid()) for c in found.changes]
            changes, routes = self._fuse(watch, changes)
            result.ok, result.baseline, result.changes, result.item_count = True, baseline, changes, len(items)
            if config_changed:
                result.warnings.append("configuration changed: items re-recorded as a new baseline, no alerts")
            if not self.dry_run:
                self.store.commit_check(CheckWrite(
                    watch_id=watch.id, fingerprint=fp, plugin_state=outcome.state, info=outcome.info or None,
                    upserts=found.upserts, seen=found.seen, gone=found.gone, changes=changes, routes=routes,
                    item_count=len(items), at=now, known=frozenset(previous)))
            self._recovered(watch, state, result, now)
        except (MonitorError, ValueError) as exc:
            self._failed(watch, state, result, exc, now)
        except Exception as exc:  # a bug in a watcher must not stop the other watches
            log.exception("watch %s: unexpected error", watch.id)
            self._failed(watch, state, result, exc, now, unexpected=True)
        finally:
            result.seconds = time.perf_counter() - started
        return result

    def _routes(self, watch: WatchConfig, changes: Iterable[Change]) -> dict[str, list[str]]:
        notifiers = self.routes_for(watch)
        return {c.uid: ([] if c.kind == "removed" and not watch.alert_removals else notifiers) for c in changes}

    def _fuse(self, watch: WatchConfig, changes: list[Change]) -> tuple[list[Change], dict[str, list[str]]]:
        """Items another watch already knows: an update (or nothing) for the notifiers it serves."""
        routes = self._routes(watch, changes)
        mine = self.routes_for(watch)
        fused: list[Change] = []
        for change in changes:
            if change.kind != "added":
                fused.append(change)
                continue
            covered: set[str] = set()
            known: Item | None = None
            for other_id, stored in self.store.find_items(change.key, exclude_watch=watch.id):
                other = self._by_id.get(other_id)
                if other is None:
                    continue
                covered |= set(mine) & set(self.routes_for(other))
                known = known or stored.item
            if not covered or known is None:
                fused.append(change)
                continue
            uncovered = [n for n in routes[change.uid] if n not in covered]
            if uncovered:  # notifiers only this watch serves: it is news to them
                routes[change.uid] = uncovered
                fused.append(change)
            merged = merge_known(known, change.item)
            if merged is not None:
                update = Change(watch.id, "updated", merged, before=known, changed_fields=changed_fields(known, merged),
                                detected_at=change.detected_at, uid=new_uid())
                routes[update.uid] = [n for n in mine if n in covered]
                fused.append(update)
        return fused, routes

    # ---------------------------------------------------------------- failures

    def _failed(self, watch: WatchConfig, state: WatchState, result: WatchResult, exc: BaseException,
                now: datetime, *, unexpected: bool = False) -> None:
        message = f"{type(exc).__name__}: {exc}" if unexpected else str(exc)
        message = mask(message, self.config.secrets)  # a URL may carry a token: never stored or alerted
        result.ok, result.error = False, message
        log.warning("watch %s: check failed: %s", watch.id, message, extra={"watch": watch.id})
        if self.dry_run:
            return
        not_before = None
        if isinstance(exc, FetchError) and exc.retry_after:
            not_before = now + timedelta(seconds=min(exc.retry_after, 24 * 3600))
        new_state = self.store.record_failure(watch.id, message, now, not_before=not_before)
        down_after = self.config.daemon.down_after
        if (new_state.failing_since and not new_state.down_alerted
                and (now - new_state.failing_since).total_seconds() >= down_after):
            item = Item(key=f"status:{watch.id}", title=f"{watch.display_name()} has been failing since "
                        f"{new_state.failing_since:%Y-%m-%d %H:%M} UTC",
                        summary=message, fields={"failures": new_state.consecutive_failures})
            change = Change(watch.id, "source_down", item, detected_at=now, uid=new_uid())
            self.store.record_status_change(change, self.routes_for(watch), down_alerted=True)
            result.status_changes.append(change)

    def _recovered(self, watch: WatchConfig, state: WatchState, result: WatchResult, now: datetime) -> None:
        if self.dry_run or not state.down_alerted:
            return
        since = state.failing_since.strftime("%Y-%m-%d %H:%M") if state.failing_since else "earlier"
        item = Item(key=f"status:{watch.id}", title=f"{watch.display_name()} is working again (failing since {since} UTC)")
        change = Change(watch.id, "source_recovered", item, detected_at=now, uid=new_uid())
        self.store.record_status_change(change, self.routes_for(watch), down_alerted=False)
        result.status_changes.append(change)
