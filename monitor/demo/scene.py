"""The stage the demo's steps play on: its folder, its configuration, one check cycle at a time, narration.

A step (see `monitor/demo/steps.py`) changes a source, calls `check()` (the same cycle as `monitor
check`: every watch checked, then every alert delivered by the console notifier) and says what
happened and why with `heading` and `say`. `expect` turns a promise of the narration into a check:
if the cycle did not do what the demo says it does, the demo stops with `DemoFailed` (exit 1) instead
of narrating something untrue.
"""

from __future__ import annotations

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
# What a demo leaves in its folder (SQLite's companions included): replaced by the next demo there.
DEMO_FILES = (CONFIG_NAME, DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm", f"{DATABASE_NAME}.leases")


class DemoFailed(Exception):
    """The demo did not show what it says it shows: a bug in the monitor or the demo, not the user's doing."""


@dataclass(frozen=True, slots=True)
class Round:
    """One check cycle: each watch's result and what the dispatcher delivered."""

    results: Mapping[str, WatchResult]
    report: DispatchReport

    def changes(self, watch_id: str | None = None) -> list[Change]:
        """Every change recorded (items and the watch's own status: gaps, source down), of one watch or all."""
        return [c for r in self.results.values() if watch_id in (None, r.watch_id) for c in (*r.changes, *r.status_changes)]

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
        print(textwrap.fill(" ".join(text.split()), WIDTH, initial_indent="   ", subsequent_indent="   "),
              file=self.out)

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
        """The demo's configuration: its own database, the console notifier, the steps' watches."""
        document = {"state": f"sqlite:///{self.workdir / DATABASE_NAME}",
                    "notifiers": {"terminal": {"type": "console"}},
                    "watches": watches}
        text = ("# Written by `monitor demo`: every source is a local stand-in on 127.0.0.1, gone when the demo\n"
                "# ends, so later checks of these watches fail; `monitor history --config <this file>` still works.\n"
                + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120))
        self.config_path.write_text(text, encoding="utf-8")
        # env={}: the demo never reads the user's environment (MONITOR_STATE, tokens): it is the same for everyone
        self.config = loads(text, source=str(self.config_path), env={}, path=self.config_path)

    def check(self) -> Round:
        """One check cycle over every watch, then delivery of what it found (alerts print as they go)."""
        from monitor.app import runtime

        if self.config is None:
            raise DemoFailed("no configuration written before the first check")
        config = self.config

        async def cycle() -> Round:
            async with runtime(config) as rt:
                results = await rt.engine.run_cycle()
                report = await rt.dispatcher.deliver_due()
            return Round({r.watch_id: r for r in results}, report)

        self.flush()
        round_ = asyncio.run(cycle())
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
    def expect(condition: bool, promise: str) -> None:
        if not condition:
            raise DemoFailed(f"expected {promise}")
