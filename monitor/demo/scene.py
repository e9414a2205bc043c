"""The stage the demo's steps play on: its folder, its configuration, one check cycle at a time, narration.

A step (see `monitor/demo/steps.py`) changes a source, calls `check()` (the same cycle as `monitor
check`: every watch checked, then every alert delivered by the console notifier) and says what
happened and why with `heading` and `say`. `expect` turns a promise of the narration into a check:
if the cycle did not do what the demo says it does, the demo stops with `DemoFailed` (exit 1) instead
of narrating something untrue.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from monitor.config import Config, loads
from monitor.demo.sources import DemoSources
from monitor.dispatch import DispatchReport
from monitor.engine import WatchResult
from monitor.models import Change

WIDTH = 100
CONFIG_NAME = "watches.yaml"
DATABASE_NAME = "demo.db"
THUMBNAIL_NAME = "preview-first-page.png"  # a document preview's picture of the first page, for the reader to open
# What a demo leaves in its folder (SQLite's companions included): replaced by the next demo there.
DEMO_FILES = (
    CONFIG_NAME,
    DATABASE_NAME,
    f"{DATABASE_NAME}-wal",
    f"{DATABASE_NAME}-shm",
    f"{DATABASE_NAME}.leases",
    THUMBNAIL_NAME,
)


class DemoFailed(Exception):
    """The demo did not show what it says it shows: a bug in the monitor or the demo, not the user's doing."""


@dataclass(frozen=True, slots=True)
class Round:
    """One check cycle: each watch's result and what the dispatcher delivered."""

    results: Mapping[str, WatchResult]
    report: DispatchReport
    names: Mapping[str, str]  # watch id -> its display name, the watches the monitor created included

    def changes(self, watch_id: str | None = None) -> list[Change]:
        """Every change recorded (items and the watch's own status: gaps, source down), of one watch or all."""
        return [
            c for r in self.results.values() if watch_id in (None, r.watch_id) for c in (*r.changes, *r.status_changes)
        ]

    def failures(self) -> list[str]:
        return [f"{r.watch_id}: {r.error}" for r in self.results.values() if not r.ok]


class Scene:
    def __init__(self, workdir: Path, sources: DemoSources, out: TextIO | None = None) -> None:
        self.workdir = workdir
        self.sources = sources
        self.out = out or sys.stdout
        self.config: Config | None = None
        self.rounds: list[Round] = []
        self._steps = 0

    # ------------------------------------------------------------ narration

    def heading(self, text: str) -> None:
        self._steps += 1
        print(f"\n{self._steps}. {text}", file=self.out)

    def say(self, text: str) -> None:
        """A paragraph of narration, wrapped and indented under the step's heading."""
        print(
            textwrap.fill(" ".join(text.split()), WIDTH, initial_indent="   ", subsequent_indent="   "), file=self.out
        )

    def show(self, lines: Iterable[str]) -> None:
        """Lines shown as they are (a config excerpt, a list), indented like the narration."""
        for line in lines:
            print(f"   {line}", file=self.out)

    def flush(self) -> None:
        self.out.flush()

    # ------------------------------------------------------------ the monitor

    @property
    def config_path(self) -> Path:
        return self.workdir / CONFIG_NAME

    def write_config(self, watches: list[dict[str, Any]]) -> None:
        """The demo's configuration: its own database, the console notifier, document previews read from
        the demo's server (its stand-in for RECAP's storage), the steps' watches."""
        document = {
            "state": f"sqlite:///{self.workdir / DATABASE_NAME}",
            "previews": {"hosts": [self.sources.storage_host]},
            "notifiers": {"terminal": {"type": "console"}},
            "watches": watches,
        }
        text = (
            "# Written by `monitor demo`: every source is a local stand-in on 127.0.0.1, gone when the demo\n"
            "# ends, so later checks of these watches fail; `monitor history --config <this file>` still works.\n"
            + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
        )
        self.config_path.write_text(text, encoding="utf-8")
        # env={}: the demo never reads the user's environment (MONITOR_STATE, tokens): it is the same for everyone
        self.config = loads(text, source=str(self.config_path), env={}, path=self.config_path)

    def check(self) -> Round:
        """One check cycle over every watch, then delivery of what it found (alerts print as they go).

        It is `monitor check`'s own cycle (`monitor.commands._check`), so the demo shows what a user's
        check does: the watches the monitor creates (an appeal) get their baseline at once, and document
        previews are read and sent after the alerts."""
        from monitor.commands import _check

        if self.config is None:
            raise DemoFailed("no configuration written before the first check")
        # `monitor check` with no arguments; --force: the demo's sources never fail, nothing is backed off
        args = argparse.Namespace(watches=[], dry_run=False, notify_baseline=False, force=True)
        self.flush()
        results, report, names = asyncio.run(_check(self.config, args))
        round_ = Round({r.watch_id: r for r in results}, report, names)
        if round_.report.sent:
            print(file=self.out)  # a blank line between the alerts and the narration that follows
        self.flush()
        self.rounds.append(round_)
        failures = round_.failures()
        if failures:
            raise DemoFailed("a check failed: " + "; ".join(failures))
        if round_.report.failed or round_.report.retrying:
            raise DemoFailed("an alert was not delivered: " + "; ".join(round_.report.errors))
        return round_

    @staticmethod
    def expect_changes(round_: Round, wanted: Iterable[tuple[str | None, str, str | None]], what: str) -> list[Change]:
        """The changes of this check cycle, which must be exactly `wanted`: (watch id, kind, key) each, None
        for any watch or key, in any order, each delivered as one alert. Returned in the order of `wanted`."""
        wanted = list(wanted)
        changes = round_.changes()
        left = list(changes)
        found: list[Change] = []
        for watch_id, kind, key in wanted:
            match = next(
                (c for c in left if c.kind == kind and watch_id in (None, c.watch_id) and key in (None, c.key)), None
            )
            if match is None:
                break
            left.remove(match)
            found.append(match)
        Scene.expect(
            len(found) == len(wanted) and not left,
            f"{what}: {[(w or '*', k, key or '*') for w, k, key in wanted]}, "
            f"got {[(c.watch_id, c.kind, c.key) for c in changes]}",
        )
        Scene.expect(round_.report.sent == len(wanted), f"{len(wanted)} alerts delivered, got {round_.report.sent}")
        return found

    @staticmethod
    def channel_title(round_: Round, change: Change) -> str:
        """How Slack, email, webhooks and Apprise title this alert."""
        from notifiers.format import headline

        return headline(change, round_.names.get(change.watch_id, change.watch_id))

    def save_thumbnail(self, ref: str) -> Path:
        """Write a preview's first-page picture (kept in the state database) to the demo's folder."""
        from monitor.store import Store

        assert self.config is not None
        store = Store.open(self.config.state_url)
        try:
            png = store.preview_image(ref)
        finally:
            store.close()
        if png is None:
            raise DemoFailed(f"the preview's picture {ref} to be in the state database")
        path = self.workdir / THUMBNAIL_NAME
        path.write_bytes(png)
        return path

    @staticmethod
    def expect(condition: bool, promise: str) -> None:
        if not condition:
            raise DemoFailed(f"expected {promise}")
