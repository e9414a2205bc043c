"""One check cycle: fetch, parse, filter, diff, record; the watches of a cycle run concurrently.

One failing watch never stops the rest: each watch's failure is caught, recorded with its reason and
reported. A failure is never a change (DESIGN invariant 3): the snapshot is only touched by a
successful check, and a source that suddenly lists nothing is treated as failing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from monitor.config import Config, mask
from monitor.diff import changed_fields, diff, suspicious_empty
from monitor.errors import FetchError, MonitorError, ParseError, StoreError
from monitor.fusion import merge_known
from monitor.gaps import GapState, closing_title, evaluate
from monitor.http import CycleFetcher, HttpClient
from monitor.models import Change, ChangeKind, Fetched, Item, utcnow
from monitor.stages import STAGES, StageRun, run_after_commit, run_before_commit
from monitor.store import CheckWrite, Store, WatchState, new_uid
from watchers import WATCHERS, CheckOutcome, WatchConfig, Watcher

log = logging.getLogger(__name__)

SHARED_RESPONSE_TTL = 30.0
# Where a gap message's first sentence may end: a full stop, a space and a capital ...
_SENTENCE_END = re.compile(r"\. (?=[A-Z])")
# ... unless the full stop ends an abbreviation ("U.S. v. Illinois", "No. 25", "S.D.N.Y. court feed")
_ABBREVIATIONS = frozenset(
    {
        "v",
        "vs",
        "no",
        "nos",
        "inc",
        "co",
        "corp",
        "ltd",
        "st",
        "cir",
        "dist",
        "ct",
        "al",
        "jr",
        "sr",
        "dr",
        "mr",
        "ms",
        "mrs",
        "gen",
        "dept",
        "ass'n",
        "u.s",
        "n.d",
        "s.d",
        "e.d",
        "w.d",
        "m.d",
        "c.d",
        "d.c",
        "bankr",
    }
)


def first_sentence(text: str) -> str:
    """A message's first sentence, as an alert's headline."""
    for match in _SENTENCE_END.finditer(text):
        before = text[: match.start()]
        word = before.rsplit(None, 1)[-1].lower().lstrip("([{\"'") if before.strip() else ""
        if word in _ABBREVIATIONS or len(word.rstrip(".").split(".")[-1]) <= 1 or "." in word:
            continue  # an initial ("J."), an abbreviation, or a dotted one ("S.D.N.Y")
        return text[: match.start()]
    return text


# Config keys that do not change what a watch lists: editing them keeps its snapshot as it is.
_NEUTRAL_KEYS = {
    "every",
    "timezone",
    "notify",
    "name",
    "enabled",
    "notify_baseline",
    "alert_removals",
    "allow_empty",
    "stale_after",
    "min_delay",
    "follow_appeals",
}


def fingerprint(watch: WatchConfig) -> str:
    """A digest of the config keys that decide what a watch lists; when it changes, the watch re-baselines."""
    plugin = WATCHERS.get(watch.type)
    neutral = _NEUTRAL_KEYS | (plugin.neutral_keys if plugin else frozenset())
    data = {k: v for k, v in watch.model_dump(mode="json").items() if k not in neutral}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _host_of(urls: Sequence[str]) -> str | None:
    """`host:port` of the first URL a watch fetches (the queue it waits in), None if it names none."""
    if not urls:
        return None
    try:
        parts = urlsplit(urls[0])
        return f"{(parts.hostname or '').lower()}:{parts.port or ''}"
    except ValueError:  # a malformed port: the check itself reports the URL
        return None


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

    def __init__(
        self, watch_id: str, state: Mapping[str, Any], fetcher: CycleFetcher, store: Store, min_delay: float = 0.0
    ):
        self.watch_id = watch_id
        self.state = state
        self._fetcher = fetcher
        self._store = store
        self._min_delay = min_delay  # the watch's own politeness delay (http.min_delay is the client's)

    def get_shared(self, key: str) -> Any:
        return self._store.get_notifier_state("_shared", key)

    def set_shared(self, key: str, value: Any) -> None:
        # Kept even in a dry run: it counts real API calls made (a daily budget), not findings.
        self._store.set_notifier_state("_shared", key, value)

    async def update_shared(self, key: str, change: Callable[[Any], tuple[Any, Any]]) -> Any:
        # Atomic across processes and replicas (a row lock); kept in a dry run too, like set_shared.
        return await self._store.aio.update_shared_value("_shared", key, change)

    async def fetch(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        return await self._fetcher.fetch(
            url, headers=headers, etag=etag, last_modified=last_modified, min_delay=self._min_delay
        )


def strip_transient(item: Item) -> Item:
    """Fields named `_x` are for filters only (a page body): they are not stored or diffed."""
    if any(name.startswith("_") for name in item.fields):
        return replace(item, fields={k: v for k, v in item.fields.items() if not k.startswith("_")})
    return item


# How long `monitor check` holds the watches it checks: past any one watch's longest check, so that a
# daemon or another `check` never checks them at the same time. A crashed `check` on this host is freed
# at once (its pid is gone); elsewhere its leases expire after this.
MANUAL_LEASE = 900.0


def mask_item(item: Item, secrets: set[str]) -> Item:
    """The item with every secret value in its text replaced by ***: a link joined to a URL that carries a
    token, a page that echoes a credential. Done once, where items enter the pipeline, so the stored
    snapshot, the diff and every alert agree (masking only on output would make every check an update)."""

    def has(value: Any) -> bool:
        if isinstance(value, str):
            return any(secret in value for secret in secrets)
        if isinstance(value, Mapping):
            return any(has(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return any(has(v) for v in value)
        return False

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return mask(value, secrets)
        if isinstance(value, Mapping):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(clean(v) for v in value)
        return value

    if not (
        has(item.key)
        or has(item.title)
        or has(item.url)
        or has(item.summary)
        or has(item.published)
        or has(item.group)
        or has(item.fields)
    ):
        return item
    return replace(
        item,
        key=clean(item.key),
        title=clean(item.title),
        url=clean(item.url),
        summary=clean(item.summary),
        published=clean(item.published),
        group=clean(item.group),
        fields=clean(dict(item.fields)),
    )


class Engine:
    def __init__(
        self,
        config: Config,
        store: Store,
        http: HttpClient,
        *,
        dry_run: bool = False,
        notify_baseline: bool = False,
        respect_backoff: bool = False,
    ):
        self.config = config
        self.store = store
        self.db = store.aio  # every store call from here runs off the event loop
        self.http = http
        self.dry_run = dry_run
        self.notify_baseline = notify_baseline
        self.respect_backoff = respect_backoff
        self.log_failures = True  # the daemon's log is where failures are seen; `check` reports them itself
        self.watchers = build_watchers(config)
        self.filters = {w.id: w.keywords.compile() for w in config.watches if w.keywords}
        self._by_id = {w.id: w for w in config.watches}
        # cases followed by a watch that sees whole dockets (CourtListener): no coverage gap for them
        self._complete_cases = [
            case
            for w in config.watches
            if w.enabled and self.watchers[w.id].complete_dockets
            for case in self.watchers[w.id].cases()
        ]
        # The daemon checks watches one by one at jittered moments: watches sharing a URL (many cases in
        # one court feed) still share one request if they fire within this many seconds of each other.
        self._shared_fetcher = CycleFetcher(http, ttl=SHARED_RESPONSE_TTL)

    def routes_for(self, watch: WatchConfig) -> list[str]:
        return list(watch.notify or [])

    async def run_cycle(self, watch_ids: Sequence[str] | None = None) -> list[WatchResult]:
        """Check the given watches (default: all enabled ones) once, concurrently.

        Each watch is leased first, whether or not a daemon is running: a watch that another process (a
        daemon, another `monitor check`) is checking right now is skipped, never checked at the same
        moment from the same old snapshot (which would alert twice). A dry run records nothing and
        leases nothing.
        """
        from monitor.dispatch import default_owner, release_dead_local_owners

        watches = [w for w in self.config.watches if (w.id in watch_ids if watch_ids else w.enabled)]
        ids = [w.id for w in watches]
        owner = None if self.dry_run else f"check:{default_owner()}"
        held = set(ids)
        if owner is not None and ids:
            now = utcnow()
            await self.db.call(release_dead_local_owners, self.store, now)
            hold = timedelta(seconds=max(self.config.daemon.lease, MANUAL_LEASE))
            held = await self.db.lease_many(ids, owner, now, hold=hold)
        try:
            states = await self.db.load_states(ids)
            # how many watches fetch each URL, so the cycle can drop a body once all of them have it
            expected = Counter(url for w in watches if w.id in held for url in self.watchers[w.id].fetch_urls())
            fetcher = CycleFetcher(self.http, expected=expected)
            unchanged: list[tuple[str, str, Mapping[str, Any], Mapping[str, Any] | None, Mapping[str, Any] | None]] = []
            results = await self._run_per_host(watches, held, states, fetcher, unchanged)
            if unchanged and not self.dry_run:
                await self.db.record_unchanged(unchanged, utcnow())
        finally:
            if owner is not None and held:
                try:
                    await self.db.release_many(sorted(held), owner)
                except Exception as exc:  # noqa: BLE001 - they expire, and a dead pid's are freed at once
                    log.warning("could not hand back the leases of this check: %s", exc)
        return list(results)

    async def _run_per_host(
        self,
        watches: Sequence[WatchConfig],
        held: set[str],
        states: Mapping[str, WatchState],
        fetcher: CycleFetcher,
        unchanged: list,
    ) -> list[WatchResult]:
        """The held watches checked by `http.per_host` workers per host; results in the watches' order.

        Not one task per watch: 10,000 watches started at once are 10,000 suspended coroutine stacks (and
        a fetch task each) queueing on the per-host limit, which lets `per_host` through at a time anyway
        (~35 MiB at 10,000 sources). One queue per host (of the first URL the watch fetches), so that a
        slow host never holds the workers another host's watches need; a watch that announces no URL
        runs on its own, as before. Cancelling the cycle cancels every worker and the check it runs.
        """
        results: list[WatchResult | None] = [None] * len(watches)
        queues: dict[str, deque[int]] = {}
        alone: list[int] = []
        for index, w in enumerate(watches):
            if w.id not in held:
                results[index] = self._skipped(w, states.get(w.id))
                continue
            host = _host_of(self.watchers[w.id].fetch_urls())
            if host is None:
                alone.append(index)
            else:
                queues.setdefault(host, deque()).append(index)

        async def check(index: int) -> None:
            w = watches[index]
            results[index] = await self._check(w, states.get(w.id), fetcher, unchanged)

        async def worker(queue: deque[int]) -> None:
            while queue:
                await check(queue.popleft())

        settings = getattr(self.http, "settings", None)
        per_host = max(1, getattr(settings, "per_host", 4))
        await asyncio.gather(
            *(worker(queue) for queue in queues.values() for _ in range(min(per_host, len(queue)))),
            *(check(index) for index in alone),
        )
        done = [r for r in results if r is not None]
        assert len(done) == len(results), "a watch of the cycle was left without a result"
        return done

    def _skipped(self, watch: WatchConfig, state: WatchState | None) -> WatchResult:
        result = WatchResult(watch.id, ok=True, unchanged=True, item_count=state.item_count if state else 0)
        result.warnings.append(
            "skipped: another process is checking this watch right now (a running daemon or "
            "another `monitor check`); its alerts come from there"
        )
        return result

    async def check_one(self, watch: WatchConfig) -> WatchResult:
        """One watch, outside a cycle (the daemon's scheduled job, which holds the watch's lease)."""
        states = await self.db.load_states([watch.id])
        unchanged: list = []
        result = await self._check(watch, states.get(watch.id), self._fetcher_for(watch), unchanged)
        if unchanged and not self.dry_run:
            await self.db.record_unchanged(unchanged, utcnow())
        return result

    def _fetcher_for(self, watch: WatchConfig) -> CycleFetcher:
        """The shared fetcher, unless the watch comes round within the sharing window itself: it would be
        handed its own previous response instead of the source's current one."""
        every = watch.every
        if every is not None and every.nominal_seconds() <= SHARED_RESPONSE_TTL:
            return CycleFetcher(self.http)
        return self._shared_fetcher

    async def _check(
        self, watch: WatchConfig, state: WatchState | None, fetcher: CycleFetcher, unchanged: list
    ) -> WatchResult:
        started = time.perf_counter()
        now = utcnow()
        never_checked = state is None or not state.last_check_at  # no items either: written together
        state = state or WatchState(watch.id)
        result = WatchResult(watch.id, ok=False)
        if state.not_before and state.not_before > now:
            until = state.not_before.strftime("%Y-%m-%d %H:%M:%S UTC")
            if self.respect_backoff:
                result.ok, result.unchanged, result.item_count = True, True, state.item_count
                result.warnings.append(
                    f"skipped: the source asked to wait until {until} (Retry-After); "
                    "`monitor check --force` checks it anyway"
                )
                return result
            result.warnings.append(f"checked although the source asked to wait until {until} (--force)")
        fp = fingerprint(watch)
        config_changed = bool(state.fingerprint) and state.fingerprint != fp
        plugin_state = {} if state.fingerprint != fp else dict(state.plugin_state or {})  # new or changed: afresh
        try:
            outcome = await self.watchers[watch.id].check(
                _Context(watch.id, plugin_state, fetcher, self.store, watch.min_delay)
            )
            result.warnings.extend(outcome.warnings)
            if outcome.items is None:
                result.ok, result.unchanged, result.item_count = True, True, state.item_count
                gaps, gap_changes = self._gaps(watch, state, outcome, now)
                if gap_changes and not self.dry_run:
                    await self.db.record_gap_changes(watch.id, gaps, gap_changes, self.routes_for(watch))
                    gaps = None
                result.status_changes.extend(gap_changes)
                unchanged.append(
                    (watch.id, fp, self._masked_state(outcome.state), self._masked_state(outcome.info) or None, gaps)
                )
                await self._recovered(watch, state, result, now)
                if STAGES and not self.dry_run:  # pending work of a stage (an appeal's number) comes round
                    run = StageRun(watch, self.config, self.store, self.http, self.watchers, self.dry_run)
                    await run_after_commit(run, [])
                    result.warnings.extend(run.warnings)
                    result.status_changes.extend(run.status_changes)
                return result
            previous = {} if never_checked else await self.db.load_items(watch.id)
            listed = outcome.source_count if outcome.source_count is not None else len(outcome.items)
            missing = 0 if watch.allow_empty else suspicious_empty(previous, listed)
            if missing:
                raise ParseError(
                    f"the source lists no items now, but had {missing}: treated as a failure "
                    "(error page or changed layout?), nothing removed. Set allow_empty: true "
                    "if this source can really be empty."
                )
            items = outcome.items
            secrets = self.store.secrets
            if secrets:  # secrets stop here: nothing stored, diffed or alerted carries one
                items = [mask_item(i, secrets) for i in items]
            flt = self.filters.get(watch.id)
            if flt is not None:
                items = flt.apply(items)
            # the transient fields (a page body) are for the filter and the stages only: kept aside, by reference
            texts = {i.key: i.fields for i in items if any(name.startswith("_") for name in i.fields)}
            items = [strip_transient(i) for i in items]
            baseline = not state.baseline_done or config_changed
            found = diff(
                watch.id,
                previous,
                items,
                now=now,
                baseline=baseline,
                complete=not outcome.incomplete,
                notify_baseline=self.notify_baseline or watch.notify_baseline,
            )
            if found.duplicates:
                result.warnings.append(
                    f"{len(found.duplicates)} items listed twice by the source; kept one version "
                    "of each (the one already recorded, if listed)"
                )
            changes = [replace(c, uid=new_uid()) for c in found.changes]
            changes, routes = await self._fuse(watch, changes)
            run = StageRun(
                watch, self.config, self.store, self.http, self.watchers, self.dry_run, texts=texts, baseline=baseline
            )
            if changes and STAGES:
                changes = await run_before_commit(run, changes)
                for change in changes:  # a stage's own changes go where the watch's alerts go
                    routes.setdefault(change.uid, self.routes_for(watch))
            gaps, gap_changes = self._gaps(watch, state, outcome, now)
            routes.update({c.uid: self.routes_for(watch) for c in gap_changes})
            result.ok, result.baseline, result.changes, result.item_count = True, baseline, changes, len(items)
            result.status_changes.extend(gap_changes)
            if config_changed:
                result.warnings.append("configuration changed: items re-recorded as a new baseline, no alerts")
            if not self.dry_run:
                await self.db.commit_check(
                    CheckWrite(
                        watch_id=watch.id,
                        fingerprint=fp,
                        plugin_state=self._masked_state(outcome.state),
                        info=self._masked_state(outcome.info) or None,
                        upserts=found.upserts,
                        seen=found.seen,
                        gone=found.gone,
                        changes=changes + gap_changes,
                        routes=routes,
                        item_count=len(items),
                        at=now,
                        known=frozenset(previous),
                        gaps=gaps,
                    )
                )
                if STAGES:
                    await run_after_commit(run, changes)
            result.warnings.extend(run.warnings)
            result.status_changes.extend(run.status_changes)
            await self._recovered(watch, state, result, now)
        except (MonitorError, ValueError) as exc:
            result.changes, result.status_changes = [], []
            await self._failed(watch, state, result, exc, now)
        except Exception as exc:  # a bug in a watcher must not stop the other watches
            log.exception("watch %s: unexpected error", watch.id)
            result.changes, result.status_changes = [], []
            await self._failed(watch, state, result, exc, now, unexpected=True)
        finally:
            result.seconds = time.perf_counter() - started
        return result

    def _gaps(
        self, watch: WatchConfig, state: WatchState, outcome: CheckOutcome, now: datetime
    ) -> tuple[dict[str, Any] | None, list[Change]]:
        """The watch's gap state after this check (None if unchanged) and the gaps that opened or closed."""
        before = GapState.load(state.gaps)
        reported = outcome.gaps
        if reported and any(g.kind == "coverage" for g in reported) and self._covered_elsewhere(watch):
            reported = tuple(g for g in reported if g.kind != "coverage")
        after, transitions = evaluate(
            before,
            name=watch.display_name(),
            now=now,
            content_changed=outcome.items is not None,
            reported=reported,
            stale_after=watch.stale_after,
        )
        dumped = after.dump()
        if dumped == before.dump():
            return None, []
        changes = []
        kind: ChangeKind
        for t in transitions:
            if t.opened:  # the first sentence as the headline ("S.D.N.Y. court feed" is not one), the whole as text
                first = first_sentence(t.message)
                item = Item(key=f"gap:{watch.id}:{t.kind}", title=first, summary=t.message, fields={"gap": t.kind})
                kind = "gap_opened"
            else:
                item = Item(
                    key=f"gap:{watch.id}:{t.kind}",
                    title=closing_title(watch.display_name(), t.kind, t.since, now),
                    summary=t.message,
                    fields={"gap": t.kind},
                )
                kind = "gap_closed"
            changes.append(Change(watch.id, kind, item, detected_at=now, uid=new_uid()))
        return dumped, changes

    def _covered_elsewhere(self, watch: WatchConfig) -> bool:
        """Every case this watch follows is also followed by a watch that sees whole dockets."""
        mine = self.watchers[watch.id].cases()
        return bool(mine) and all(
            any(court == c and docket.same_case(d) for c, d in self._complete_cases) for court, docket in mine
        )

    def _masked_state(self, value: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """A watcher's state or status facts, with any secret masked (a URL with a token in it)."""
        if not value:
            return value or {}
        secrets = self.store.secrets
        if not secrets:
            return value
        text = json.dumps(value, default=str)
        if not any(secret in text for secret in secrets):
            return value
        return json.loads(mask(text, secrets))

    def _routes(self, watch: WatchConfig, changes: Iterable[Change]) -> dict[str, list[str]]:
        notifiers = self.routes_for(watch)
        return {c.uid: ([] if c.kind == "removed" and not watch.alert_removals else notifiers) for c in changes}

    async def _fuse(self, watch: WatchConfig, changes: list[Change]) -> tuple[list[Change], dict[str, list[str]]]:
        """Items another watch already knows: an update (or nothing) for the notifiers it serves."""
        routes = self._routes(watch, changes)
        mine = self.routes_for(watch)
        added = [c.key for c in changes if c.kind == "added"]
        elsewhere = await self.db.find_items_many(added, exclude_watch=watch.id) if added else {}
        fused: list[Change] = []
        for change in changes:
            if change.kind != "added":
                fused.append(change)
                continue
            covered: set[str] = set()
            known: Item | None = None
            for other_id, stored in elsewhere.get(change.key, ()):
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
                update = Change(
                    watch.id,
                    "updated",
                    merged,
                    before=known,
                    changed_fields=changed_fields(known, merged),
                    detected_at=change.detected_at,
                    uid=new_uid(),
                )
                routes[update.uid] = [n for n in mine if n in covered]
                fused.append(update)
        return fused, routes

    # ---------------------------------------------------------------- failures

    async def _failed(
        self,
        watch: WatchConfig,
        state: WatchState,
        result: WatchResult,
        exc: BaseException,
        now: datetime,
        *,
        unexpected: bool = False,
    ) -> None:
        message = f"{type(exc).__name__}: {exc}" if unexpected else str(exc)
        message = mask(message, self.store.secrets | self.config.secrets)  # a URL may carry a token
        result.ok, result.error = False, message
        # `monitor check` prints its own FAILED line for the watch: the log line would say it twice
        (log.warning if self.log_failures else log.debug)(
            "watch %s: check failed: %s", watch.id, message, extra={"watch": watch.id}
        )
        if self.dry_run:
            return
        not_before = None
        if isinstance(exc, FetchError) and exc.retry_after:
            not_before = now + timedelta(seconds=min(exc.retry_after, 24 * 3600))
        # A source refusing us (a revoked token, a site that now blocks us) will not heal by waiting:
        # say so at once, not after `down_after`.
        refused = isinstance(exc, FetchError) and exc.status in (401, 403)
        try:
            new_state = await self.db.record_failure(watch.id, message, now, not_before=not_before)
            down_after = 0.0 if refused else self.config.daemon.down_after
            if (
                new_state.failing_since
                and not new_state.down_alerted
                and (now - new_state.failing_since).total_seconds() >= down_after
            ):
                what = (
                    f"refuses access (HTTP {exc.status})"
                    if refused and isinstance(exc, FetchError)
                    else "has been failing"
                )
                item = Item(
                    key=f"status:{watch.id}",
                    title=f"{watch.display_name()} {what} since {new_state.failing_since:%Y-%m-%d %H:%M} UTC",
                    summary=message,
                    fields={"failures": new_state.consecutive_failures},
                )
                change = Change(watch.id, "source_down", item, detected_at=now, uid=new_uid())
                await self.db.record_status_change(change, self.routes_for(watch), down_alerted=True)
                result.status_changes.append(change)
        except StoreError as store_exc:  # the failure itself cannot be recorded (the database is the problem)
            if str(store_exc) not in message:
                result.error = f"{message}; and it could not be recorded: {store_exc}"
            log.error("watch %s: %s", watch.id, store_exc, extra={"watch": watch.id})

    async def _recovered(self, watch: WatchConfig, state: WatchState, result: WatchResult, now: datetime) -> None:
        if self.dry_run or not state.down_alerted:
            return
        since = state.failing_since.strftime("%Y-%m-%d %H:%M") if state.failing_since else "earlier"
        item = Item(
            key=f"status:{watch.id}", title=f"{watch.display_name()} is working again (failing since {since} UTC)"
        )
        change = Change(watch.id, "source_recovered", item, detected_at=now, uid=new_uid())
        await self.db.record_status_change(change, self.routes_for(watch), down_alerted=False)
        result.status_changes.append(change)
