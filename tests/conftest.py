"""Shared fixtures: a replay server, a config in a temp dir, and the CLI run in-process."""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.http_server import ReplayServer

DATA = Path(__file__).parent / "data"


@pytest.fixture
def server():
    srv = ReplayServer().start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's config or state by accident."""
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    monkeypatch.delenv("MONITOR_STATE", raising=False)
    monkeypatch.chdir(tmp_path)
    from notifiers.console import ConsoleNotifier

    ConsoleNotifier.force_stream = None


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*args: str) -> CliResult:
    """Run `monitor ARGS` in-process, capturing output."""
    from monitor.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def write_config(tmp_path):
    """Write a YAML config (with a state DB in the temp dir unless given) and return its path."""

    def write(text: str, name: str = "watches.yaml") -> Path:
        if "state:" not in text:
            text = f"state: sqlite:///{tmp_path / 'state.db'}\n" + text
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
