"""The stage that starts a preview: after a check records a filing, the preview worker is woken.

It adds nothing to the changes and writes nothing: the worker finds its work in the recorded changes
themselves (`monitor.previews.worker`), so the alert goes out as fast as ever, and a crash right
after the check loses no preview.
"""

from __future__ import annotations

from typing import ClassVar

from monitor.models import Change
from monitor.stages import Stage, StageRun


class PreviewStage(Stage):
    name: ClassVar[str] = "previews"

    async def after_commit(self, run: StageRun, changes: list[Change]) -> None:
        if run.config.previews.enabled and any(
            c.kind in ("added", "updated") and c.key.startswith("entry:") for c in changes
        ):
            from monitor.previews.worker import wake_workers

            wake_workers()
