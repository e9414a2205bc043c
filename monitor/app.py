"""Wiring: configuration -> store, shared HTTP client, engine, notifiers and dispatcher.

The configuration used is the file's plus the watches the monitor created at run time
(`monitor.autowatch`): `Runtime.config` has both.

Used by `monitor check`, `monitor run` and the tests, so all three run the same code path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from monitor import logs
from monitor.autowatch import join_async
from monitor.config import Config
from monitor.dispatch import Dispatcher, build_notifiers
from monitor.engine import Engine
from monitor.http import HttpClient
from monitor.store import Store


@dataclass
class Runtime:
    config: Config
    store: Store
    http: HttpClient
    engine: Engine
    dispatcher: Dispatcher


@asynccontextmanager
async def runtime(
    config: Config,
    *,
    store: Store | None = None,
    dry_run: bool = False,
    notify_baseline: bool = False,
    respect_backoff: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    owner: str | None = None,
) -> AsyncIterator[Runtime]:
    own_store = store is None
    store = store or Store.open(config.state_url)
    store.secrets = logs.all_secrets(config)  # masked in every text the store writes
    try:
        config = await join_async(config, store)  # the watches the monitor created (an appeal) join the file's
    except BaseException:
        if own_store:
            store.close()
        raise
    http = HttpClient(config.http, transport=transport)
    engine = Engine(
        config, store, http, dry_run=dry_run, notify_baseline=notify_baseline, respect_backoff=respect_backoff
    )
    dispatcher = Dispatcher(config, store, build_notifiers(config, store, http), owner=owner)
    try:
        yield Runtime(config, store, http, engine, dispatcher)
    finally:
        await dispatcher.aclose()
        await http.aclose()
        if own_store:
            store.close()
