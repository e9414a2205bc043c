"""A real headless Chromium for the browser tests: Debian's `chromium`, driven by Playwright.

Never a downloaded browser build (`playwright install` cannot reach its download host here): the
tests launch the executable named by `$MONITOR_TEST_CHROMIUM`, else `chromium` on the PATH. When none
can be had the browser tests are skipped with the reason, except under CI (`CI=true`), where that is a
failure: `bin/test` installs Debian's chromium when it is missing and apt-get is usable.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _no_browser(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}")
    pytest.skip(f"no browser for the browser tests: {reason}")


def chromium_path() -> str | None:
    wanted = os.environ.get("MONITOR_TEST_CHROMIUM")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module; each test opens its own context (no shared cookies). Not
    one per session: while Playwright's sync API runs, `asyncio.run` cannot be called in this thread, and
    other modules' tests call it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright package is not installed (it is in the dev extra: bin/test installs it)")
    executable = chromium_path()
    if executable is None:
        _no_browser("no chromium executable (apt-get install chromium, or set MONITOR_TEST_CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
        except Exception as exc:  # noqa: BLE001 - a broken install: say which and why
            _no_browser(f"{executable} did not start: {str(exc).splitlines()[0]}")
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(site: Any, browser: Any) -> Iterator[Any]:
    """A signed-in tab (HTTP basic auth: any user name, the token as the password) on the test module's
    `site` (a running daemon whose `token` the dashboard asks for)."""
    context = browser.new_context(
        http_credentials={"username": "reader", "password": site.token}, viewport={"width": 1280, "height": 900}
    )
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
