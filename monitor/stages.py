"""Stages a watch's changes pass through after the diff: the seam for case-aware behaviour.

`Engine._check` runs fetch -> parse -> filter -> diff -> fuse, then hands the changes to each stage in
`STAGES`, in order, before they are recorded (`before_commit`: add facts to a change, add a change of
its own), and again once they are recorded (`after_commit`: work that must not delay the alert, or that
starts something new, such as following an appeal). A stage is one module with one job, so new
behaviour joins the flow by name instead of as branches inside `_check` (STYLE.md).

Contract:
- `before_commit` returns the changes to record (the same list, changed copies, or more). It runs for
  real checks and dry runs alike (a dry run shows what would be recorded); it must not write.
- `after_commit` runs after every successful check (never in a dry run), once its changes are recorded
  (often none: a stage with work pending, such as an appeal whose number is not known
  yet, comes back to it then; keep the no-change path cheap). It may write and fetch; a status-like
  change it records itself (through the store, with its outbox rows) goes in `status_changes`, so the
  check's report and the daemon see it.
- A stage that fails logs a warning on the watch's result and lets the changes through unchanged: an
  enrichment is never worth losing an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.models import Change

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.http import HttpClient
    from monitor.store import Store
    from watchers import WatchConfig, Watcher

log = logging.getLogger(__name__)


@dataclass
class StageRun:
    """What a stage may see for one check of one watch."""

    watch: WatchConfig
    config: Config
    store: Store  # use `store.aio` from async code
    http: HttpClient
    watchers: Mapping[str, Watcher]  # every watch of the configuration, by id
    dry_run: bool
    # The fields of this check's items as the watcher gave them, by item key, for the items that had
    # transient ones (`_body`: a page's whole text): the engine strips those before the diff and never
    # stores them, so this is the one place a stage can read them. Read-only; never store them.
    texts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    baseline: bool = False  # the watch's first check (or its first after a config change): nothing in it is news
    warnings: list[str] = field(default_factory=list)  # shown with the watch's result
    status_changes: list[Change] = field(default_factory=list)  # recorded by an after_commit stage itself
    notes: dict[str, Any] = field(default_factory=dict)  # shared between stages of one check


class Stage:
    """Base class: override one or both hooks."""

    name: ClassVar[str] = "stage"

    async def before_commit(self, run: StageRun, changes: list[Change]) -> list[Change]:
        return changes

    async def after_commit(self, run: StageRun, changes: list[Change]) -> None:
        return None


def _stages() -> list[Stage]:
    """The stages, in order. Each is stateless across checks (state lives in the store)."""
    from monitor.appeals import FollowMoves
    from monitor.previews.stage import PreviewStage
    from monitor.related import RelatedCases

    # link to followed cases; follow a case's appeal, transfer or remand; preview free documents
    return [RelatedCases(), FollowMoves(), PreviewStage()]


def registered() -> list[Stage]:
    """`STAGES`, built on first use rather than at import: each stage's module imports `Stage` from here,
    so building the table while this module loads would be a circular import for whichever loads first."""
    table = globals().get("STAGES")
    if table is None:
        table = globals()["STAGES"] = _stages()
    return table


def __getattr__(name: str) -> Any:  # `from monitor.stages import STAGES` works as before
    if name == "STAGES":
        return registered()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def run_before_commit(run: StageRun, changes: list[Change]) -> list[Change]:
    for stage in registered():
        try:
            changes = await stage.before_commit(run, changes)
        except Exception as exc:
            log.warning("stage %s failed before recording: %s", stage.name, exc, exc_info=True)
            run.warnings.append(f"{stage.name}: {type(exc).__name__}: {exc}")
    return changes


async def run_after_commit(run: StageRun, changes: list[Change]) -> None:
    for stage in registered():
        try:
            await stage.after_commit(run, changes)
        except Exception as exc:
            log.warning("stage %s failed after recording: %s", stage.name, exc, exc_info=True)
            run.warnings.append(f"{stage.name}: {type(exc).__name__}: {exc}")
