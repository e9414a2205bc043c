"""Reloading the daemon's configuration, and the replicas' heartbeat that notices a changed file.

`Reloading` is that part of `monitor.daemon.Daemon` (a mixin: the daemon holds the state).
- `reload` (SIGHUP, or the configuration file changed): a valid file replaces the engine, the notifiers
  and the watches' jobs (added, removed, rescheduled); an invalid one is rejected with every problem
  logged, and the running configuration stays. `state`, `http` and `daemon.listen` need a restart.
- `_replica_beat` (every `REPLICA_BEAT` seconds): records this replica's heartbeat and configuration
  digest in the database, warns when another replica runs a different configuration, and re-reads the
  file every `daemon.config_poll`, reloading when it changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import logs
from monitor.autowatch import join_async
from monitor.config import load
from monitor.dispatch import Dispatcher, build_notifiers
from monitor.engine import Engine
from monitor.errors import ConfigError
from monitor.models import aware as _aware
from monitor.models import utcnow

if TYPE_CHECKING:
    from monitor.app import Runtime
    from monitor.config import Config
    from monitor.jobs import _Job
    from monitor.metrics import Metrics

log = logging.getLogger("monitor.daemon")  # the daemon's lines keep one logger name

REPLICA_BEAT = 10.0  # seconds between replica heartbeats in the database


class Reloading:
    """The daemon's configuration reloads, and its heartbeat as one of several replicas."""

    if TYPE_CHECKING:  # the daemon's state this part uses (set in `Daemon.__init__`)
        config: Config
        config_path: Path | None
        config_digest: str
        rt: Runtime | None
        engine: Engine | None
        dispatcher: Dispatcher | None
        metrics: Metrics
        verbose: int
        secret_filter: logs.SecretFilter | None
        _jobs: dict[str, _Job]
        _wake: asyncio.Event
        _stopping: bool
        _dispatch_lock: asyncio.Lock
        _reload_lock: asyncio.Lock
        _file_digest: str
        _warned_digests: set[str]
        _config_checked: float
        _created_digest: str

        @property
        def owner(self) -> str: ...

        async def _sync_jobs(self) -> tuple[list[str], list[str], list[str]]: ...

    async def _replica_beat(self) -> None:
        """Heartbeat in the database; reload when the configuration file changed; warn on drift."""
        try:
            await self._replica_beat_once()
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # the scheduler cancels a beat still waiting on the database at shutdown: nothing to say

    async def _replica_beat_once(self) -> None:
        if self.rt is None or self._stopping:
            return
        from monitor import __version__

        try:
            now = utcnow()
            await self.rt.store.aio.heartbeat(self.owner, now, config_digest=self.config_digest, version=__version__)
            live = [
                r
                for r in await self.rt.store.aio.replicas()
                if (now - _aware(r["last_seen"])).total_seconds() < 3 * REPLICA_BEAT
            ]
        except Exception as exc:  # noqa: BLE001 - the store is down: /readyz says so
            log.debug("replica heartbeat failed: %s", exc)
            return
        others = {r["config_digest"] for r in live if r["owner"] != self.owner} - {self.config_digest, ""}
        for digest in others - self._warned_digests:
            log.warning(
                "another replica runs a different configuration (%s, this one %s): make every replica "
                "read the same file",
                digest[:12],
                self.config_digest[:12],
            )
        self._warned_digests |= others
        if time.monotonic() - self._config_checked >= self.config.daemon.config_poll:
            self._config_checked = time.monotonic()
            await self.sync_created_watches()  # created or removed by another process (a replica, unfollow)
            digest = file_digest(self.config_path)
            if digest and digest != self._file_digest:
                self._file_digest = digest
                log.info("the configuration file changed")
                await self.reload()

    async def reload(self) -> bool:
        """Load the configuration file again; apply it if valid, else log why and keep the old one."""
        async with self._reload_lock:
            assert self.rt is not None
            path = self.config_path
            log.info("reloading the configuration from %s", path)
            digest = file_digest(path)
            self._file_digest = digest
            try:
                new = await join_async(load(path), self.rt.store)
                engine = Engine(new, self.rt.store, self.rt.http, respect_backoff=True)
                dispatcher = Dispatcher(
                    new,
                    self.rt.store,
                    build_notifiers(new, self.rt.store, self.rt.http),
                    owner=self.rt.dispatcher.owner,
                )
            except ConfigError as exc:
                self.metrics.reloads.labels("error").inc()
                log.error(
                    "configuration rejected, the running one stays (%d problem%s):",
                    len(exc.problems),
                    "" if len(exc.problems) == 1 else "s",
                )
                for problem in exc.problems:
                    log.error("  %s", problem)
                return False
            except Exception as exc:  # noqa: BLE001 - a plugin failing to start: same outcome
                self.metrics.reloads.labels("error").inc()
                log.error("configuration rejected, the running one stays: %s", exc)
                return False
            old = self.config
            if new.state_url != old.state_url:
                log.warning(
                    "`state` changed: the daemon keeps using %s until it is restarted", self.rt.store.display_url
                )
            if new.http != old.http:
                log.warning("`http` settings changed: they apply after a restart")
            if new.daemon.listen != old.daemon.listen:
                log.warning("`daemon.listen` changed: it applies after a restart")
            secrets = (self.secret_filter.secrets if self.secret_filter else set()) | logs.all_secrets(new)
            self.rt.store.secrets = set(self.rt.store.secrets) | secrets
            if new.daemon.log_format != old.daemon.log_format:
                self.secret_filter = logs.setup(self.verbose, new.daemon.log_format, secrets)
            elif self.secret_filter is not None:
                self.secret_filter.update(secrets)
            async with self._dispatch_lock:  # never swap notifiers under a running delivery
                previous, self.dispatcher = self.dispatcher, dispatcher
            self.engine, self.config = engine, new
            if previous is not None and previous is not self.rt.dispatcher:
                await previous.aclose()
            added, removed, changed = await self._sync_jobs()
            self.config_digest = digest
            self.metrics.reloads.labels("ok").inc()
            log.info(
                "configuration reloaded: %d watches (added: %s; removed: %s; rescheduled: %s), notifiers: %s",
                len(self._jobs),
                ", ".join(added) or "none",
                ", ".join(removed) or "none",
                ", ".join(changed) or "none",
                ", ".join(sorted(dispatcher.notifiers)) or "none",
            )
            self._wake.set()
            return True

    async def sync_created_watches(self) -> None:
        """Schedule the watches the monitor created since (an appeal of a followed case: monitor/appeals.py)
        and drop those removed (`monitor unfollow`), without a restart: one small query when nothing changed."""
        if self.rt is None or self._stopping:
            return
        try:
            digest = await self.rt.store.aio.auto_watches_digest()
            if digest == self._created_digest:
                return
            async with self._reload_lock:
                new = await join_async(self.config, self.rt.store)
                self._created_digest = digest
                self.engine = Engine(new, self.rt.store, self.rt.http, respect_backoff=True)
                self.config = new
                if self.dispatcher is not None:
                    self.dispatcher.add_names(new)
                added, removed, _ = await self._sync_jobs()
        except Exception as exc:  # noqa: BLE001 - the store is down: the next poll tries again
            log.warning("could not schedule the watches the monitor created (tried again at the next poll): %s", exc)
            return
        if added or removed:
            log.info(
                "watches created by the monitor: scheduled %s; stopped %s",
                ", ".join(added) or "none",
                ", ".join(removed) or "none",
            )


def file_digest(path: Path | None) -> str:
    """sha256 of the configuration file, to tell replicas' configurations apart ("" if unreadable)."""
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else ""
    except OSError:
        return ""
