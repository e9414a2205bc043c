"""The outbox dispatcher: claims, crashed owners, unknown notifiers, backoff."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

from monitor.config import Config, loads
from monitor.dispatch import Dispatcher, build_notifiers
from monitor.models import Change, Item, utcnow
from monitor.store import CheckWrite, Store, new_uid


def _store_with_pending(tmp_path, notifiers=("console",)) -> tuple[Store, Config]:
    config = loads(f"state: sqlite:///{tmp_path / 's.db'}\nwatches: []\n", env={})
    store = Store.open(config.state_url)
    item = Item(key="k", title="A new filing")
    change = Change("w", "added", item, uid=new_uid())
    store.commit_check(
        CheckWrite("w", "fp", {}, None, [item], [], [], [change], {change.uid: list(notifiers)}, 1, utcnow())
    )
    return store, config


def test_claim_of_a_crashed_local_process_is_freed_at_once(tmp_path, capsys):
    """Deliveries claimed by a process of this host that has died are sent by the next run without waiting."""
    store, config = _store_with_pending(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = f"{socket.gethostname()}:{dead.stdout.strip()}"
    assert store.claim_deliveries(utcnow(), owner), "the dead process had claimed the delivery"
    dispatcher = Dispatcher(config, store, build_notifiers(config, store))
    report = asyncio.run(dispatcher.deliver_due())
    assert report.sent == 1 and "A new filing" in capsys.readouterr().out


def test_claim_of_a_live_other_owner_is_respected(tmp_path):
    """A delivery claimed by a live owner (another replica) is not sent twice."""
    store, config = _store_with_pending(tmp_path)
    assert store.claim_deliveries(utcnow(), "other-host:1")
    report = asyncio.run(Dispatcher(config, store, build_notifiers(config, store)).deliver_due())
    assert report.sent == 0 and store.pending_deliveries()[0].notifier == "console"


def test_delivery_for_a_removed_notifier_fails_with_the_reason(tmp_path):
    """A pending delivery whose notifier was removed from the config is marked failed, saying so."""
    store, config = _store_with_pending(tmp_path, notifiers=("gone",))
    report = asyncio.run(Dispatcher(config, store, build_notifiers(config, store)).deliver_due())
    failed = store.failed_deliveries()[0]
    assert report.failed == 1 and failed.last_error is not None
    assert "no longer configured" in failed.last_error


def test_backoff_doubles_and_is_capped(tmp_path):
    """Retry delays double from `delivery.backoff` up to `backoff_max`, and a longer Retry-After wins."""
    store, config = _store_with_pending(tmp_path)
    d = Dispatcher(config, store, {})
    assert [d.backoff(n, None) for n in (1, 2, 3)] == [30, 60, 120]
    assert d.backoff(20, None) == 3600 and d.backoff(1, 90) == 90


def test_a_notifier_error_quoting_a_secret_is_stored_and_reported_masked(tmp_path):
    """Whatever a notifier's error says, a configured secret in it never reaches the stored delivery or the report."""
    from monitor.errors import NotifyError
    from notifiers.base import Notifier

    class Echo(Notifier):  # a careless channel that quotes its token
        kind = "echo"

        async def send(self, alert):
            raise NotifyError(f"refused token {self.config.type}:{secret}")

    secret = "s3cret-token-value"
    config = loads(
        f"state: sqlite:///{tmp_path / 's.db'}\nnotifiers:\n  loud: {{type: console}}\nwatches: []\n", env={}
    )
    config.secrets.add(secret)
    store, _ = _store_with_pending(tmp_path, notifiers=("loud",))
    report = asyncio.run(Dispatcher(config, store, {"loud": Echo("loud", config.notifiers["loud"])}).deliver_due())
    [row] = store.pending_deliveries()
    assert report.retrying == 1 and row.last_error is not None
    assert "refused token console:***" in row.last_error
    assert secret not in row.last_error and secret not in " ".join(report.errors)
