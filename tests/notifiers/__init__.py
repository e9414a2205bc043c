"""Notifier tests, and the small helpers they share: filings and press releases as the watchers build
them, and an outbox (a real Store and Dispatcher) to put changes through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from monitor.config import Config, loads
from monitor.dispatch import Dispatcher, DispatchReport, build_notifiers
from monitor.models import Change, Item, utcnow
from monitor.store import CheckWrite, Store, new_uid, schema
from watchers.dockets import entry_item, parse_docket_number
from watchers.feed import with_agency

SLACK_TOKEN = "xoxb-test-token"
SF = "City and County of San Francisco v. Trump"


def filing(
    number: int,
    *,
    text: str | None = None,
    description: str | None = None,
    case: str = SF,
    docket: str = "3:25-cv-01350-WHO",
    court: str = "cand",
    source: str = "courtlistener",
) -> Item:
    """A docket entry exactly as the court watchers build it."""
    return entry_item(
        court=court,
        docket=parse_docket_number(docket),
        case_name=case,
        entry_number=number,
        short_description=text or f"Filing number {number}",
        description=description or f"DOCUMENT {number} filed by City and County of San Francisco.",
        date_filed="2025-04-24",
        date_entered="2025-04-25",
        document_url=f"https://ecf.cand.uscourts.gov/doc1/0351258{number:05d}",
        docket_url="https://ecf.cand.uscourts.gov/cgi-bin/DktRpt.pl?449755",
        source=source,
    )


def release(
    title: str,
    *,
    summary: str = "The Justice Department announced ...",
    url: str | None = None,
    agency: str | None = "DOJ Office of Public Affairs",
) -> Item:
    """A press release as the feed watcher builds it, with the agency (and its group) a watch's `agency` sets."""
    link = url or "https://www.justice.gov/opa/pr/" + "-".join(title.lower().split())[:60]
    item = Item(
        key="url:" + link,
        title=title,
        url=link,
        summary=summary,
        published="2025-02-06",
        fields={"categories": ["Civil Rights"]},
    )
    return with_agency(item, agency)


def added(watch: str, item: Item, at: datetime | None = None) -> Change:
    return Change(watch, "added", item, detected_at=at or utcnow(), uid=new_uid())


def updated(watch: str, before: Item, after: Item, fields: Sequence[str]) -> Change:
    return Change(watch, "updated", after, before=before, changed_fields=tuple(fields), uid=new_uid())


def config(tmp_path: Path, notifiers: str, *, watches: str | None = None, env: dict[str, str] | None = None) -> Config:
    """A validated config: the given `notifiers:` block, two watches, state in tmp_path."""
    watches = (
        watches
        or """
  - {id: sf-v-trump, type: feed, url: "http://127.0.0.1:9/unused", name: SF v. Trump}
  - {id: doj-news, type: feed, url: "http://127.0.0.1:9/unused", name: DOJ news}
"""
    )
    text = f"state: sqlite:///{tmp_path / 'state.db'}\nnotifiers:\n{notifiers}\nwatches:\n{watches}"
    return loads(text, env={"SLACK_BOT_TOKEN": SLACK_TOKEN, **(env or {})})


@dataclass
class Outbox:
    """A real Store and Dispatcher: changes go in as the engine records them, deliveries come out."""

    config: Config
    store: Store

    @classmethod
    def open(cls, config: Config) -> Outbox:
        return cls(config, Store.open(config.state_url))

    def record(
        self, changes: Sequence[Change], notifiers: Sequence[str] | None = None, *, at: datetime | None = None
    ) -> None:
        """One check's changes, committed with their delivery rows (grouped per watch, like the engine)."""
        names = list(notifiers if notifiers is not None else self.config.notifiers)
        by_watch: dict[str, list[Change]] = {}
        for change in changes:
            by_watch.setdefault(change.watch_id, []).append(change)
        for watch_id, batch in by_watch.items():
            self.store.commit_check(
                CheckWrite(
                    watch_id=watch_id,
                    fingerprint="test",
                    plugin_state={},
                    info=None,
                    upserts=[c.item for c in batch],
                    seen=[],
                    gone=[],
                    changes=batch,
                    routes={c.uid: names for c in batch},
                    item_count=len(batch),
                    at=at or utcnow(),
                )
            )

    async def deliver(self, now: datetime | None = None) -> DispatchReport:
        dispatcher = Dispatcher(self.config, self.store, build_notifiers(self.config, self.store), owner="test")
        try:
            return await dispatcher.deliver_due(now)
        finally:
            await dispatcher.aclose()

    def rows(self) -> list[dict]:
        """Every delivery row as stored (status, attempts, last_error, result, next_attempt_at)."""
        d = schema.deliveries.c
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(schema.deliveries).order_by(d.id))]

    def close(self) -> None:
        self.store.close()


def deliver(box: Outbox, *changes: Change, now: datetime | None = None) -> DispatchReport:
    """Record `changes` (if any) in the outbox, then run one real delivery pass."""
    import asyncio

    if changes:
        box.record(changes)
    return asyncio.run(box.deliver(now))
