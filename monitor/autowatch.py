"""Watches the monitor created at run time (the appeal of a followed case ...), joined to the file's watches.

They live in the state database (`auto_watches`, `monitor/store/moves.py`), each with its full watch
config. Whenever a configuration is loaded for checking — `monitor check`, `monitor run` (at start, at
a reload, and when a check creates one), `monitor status` — `join` adds them to the file's watches:

- each is validated by its watcher's own config model, exactly like a watch of the file; one that no
  longer validates (a newer version refusing an old key) is left out with a warning, never a crash;
- it is checked only while the watch that found it (its parent) is configured: removing a case from
  the file also stops following its appeal (the record stays; it comes back with the case);
- it sends to its parent's notifiers, whatever they are now; it takes its parent's `follow_appeals` (a
  `pacer_rss` watch reads the feed mirror it names, if any), and a `courtlistener` watch its
  courtlistener parent's address, token and budget: none of them is stored, so secrets stay out of
  the database;
- a file watch with the same id wins.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from monitor.config import Config
from monitor.store.moves import AutoWatch
from watchers import WATCHERS, WatchConfig

if TYPE_CHECKING:
    from watchers.pacer_rss import PacerRssConfig

log = logging.getLogger(__name__)

# keys a created watch takes from its parent's settings when both are courtlistener watches
_FROM_PARENT = ("token", "daily_budget", "per_minute", "base_url")


def file_watches(config: Config) -> list[WatchConfig]:
    """The watches of the configuration file alone."""
    return [w for w in config.watches if w.id not in config.auto]


def _resolved(data: dict[str, Any], parent: WatchConfig, config: Config) -> WatchConfig:
    plugin = WATCHERS[cast(str, data.get("type"))]  # none: a KeyError, as for an unknown type
    watch = plugin.Config.model_validate({**data, "notify": list(parent.notify or [])})
    update: dict[str, Any] = {}
    follow = getattr(parent, "follow_appeals", None)
    if follow is not None and hasattr(watch, "follow_appeals"):
        update["follow_appeals"] = follow
        if watch.type == "pacer_rss" and follow.feed_url:
            update["url"] = follow.feed_url.format(court=cast("PacerRssConfig", watch).court)
    if watch.type == parent.type == "courtlistener":
        update.update({key: getattr(parent, key) for key in _FROM_PARENT})
    zone = watch.timezone or parent.timezone or config.defaults.timezone
    update["timezone"] = zone
    update["every"] = (watch.every or parent.every or config.defaults.every).in_zone(zone)
    return watch.model_copy(update=update)


def join(config: Config, autos: Sequence[AutoWatch]) -> Config:
    """`config` with the created watches added (after the file's, in the order they were created)."""
    watches = file_watches(config)
    by_id = {w.id: w for w in watches}
    joined: dict[str, AutoWatch] = {}
    for auto in autos:  # oldest first, so a parent that is itself created comes before its children
        if auto.id in by_id or auto.removed_at is not None:
            continue
        parent = by_id.get(auto.parent)
        if parent is None:
            log.debug("created watch %s waits: its parent %s is not configured", auto.id, auto.parent)
            continue
        data = {**auto.config, "id": auto.id}
        try:
            watch = _resolved(data, parent, config)
        except (ValidationError, KeyError, ValueError) as exc:
            log.warning(
                "the watch %s, created for %s, is not valid any more and is not checked (%s); "
                "`monitor unfollow %s` removes it",
                auto.id,
                auto.parent,
                str(exc).splitlines()[0],
                auto.id,
            )
            continue
        watches.append(watch)
        by_id[watch.id] = watch
        joined[watch.id] = auto
    return dataclasses.replace(config, watches=watches, auto=joined)


def join_store(config: Config, store: Any) -> Config:
    """`join` with the created watches read from `store` (a `monitor.store.Store`)."""
    return join(config, store.auto_watches())


async def join_async(config: Config, store: Any) -> Config:
    """`join_store` for async code: the read runs off the event loop."""
    return join(config, await store.aio.auto_watches())


def origin_text(auto: AutoWatch) -> str:
    """ "appeal of sf-v-trump-rss (entry #45, 2025-04-30)": where a created watch came from."""
    trigger = auto.move.trigger or {}
    entry = f"entry #{trigger['entry_number']}" if trigger.get("entry_number") else "an unnumbered entry"
    when = str(trigger.get("date") or auto.created_at.date().isoformat())[:10]
    return f"{auto.move.kind} of {auto.parent} ({entry}, {when})"
