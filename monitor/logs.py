"""Logging for `monitor run`: readable text on a terminal, JSON lines for a log collector.

- Format: `daemon.log_format` is `text`, `json`, or `auto` (the default): text when standard error is a
  terminal, JSON lines when it is not (a container, systemd's journal, a file).
- The watch id is on every line that has one: code that knows it passes `extra={"watch": id}`, and
  everything logged while the daemon checks a watch (the fetch, the parser, a library) gets it from the
  `current_watch` context variable, which the daemon sets for the duration of each check.
- Secrets never reach the output: a filter on the handler replaces every configured secret value (the
  `${VAR}` substitutions of the config) with `***` in the message, its arguments and any traceback,
  whichever logger the line comes from (httpx logs full URLs, and a URL may carry a token).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from monitor.config import mask

if TYPE_CHECKING:
    from monitor.config import Config

current_watch: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_watch", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into JSON lines.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "watch"}

# Libraries that are chatty at INFO (httpx logs every request, APScheduler every job run): heard with -vv.
_QUIET = ("httpx", "apscheduler")
# ... and those that stay at WARNING even then (SQL echo, connection-level detail).
_SILENT = ("httpcore", "sqlalchemy", "asyncio")


# Environment variables whose values are masked even when the config never references them (a watcher
# may read COURTLISTENER_TOKEN itself): defence in depth on top of the config's `${VAR}` substitutions.
_SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|API_?KEY|PRIVATE_KEY", re.IGNORECASE)


def environment_secrets(env: Mapping[str, str] | None = None) -> set[str]:
    """Values of environment variables named like secrets (`*_TOKEN`, `*_PASSWORD`, ...), 6+ characters."""
    env = os.environ if env is None else env
    return {value for name, value in env.items() if _SECRET_NAME.search(name) and len(value) >= 6}


def all_secrets(config: Config) -> set[str]:
    """Everything to mask wherever text enters storage or output: the config's `${VAR}` values and secret
    fields, secret-named environment variables, and the state database's password. The daemon's log
    filter, the one-shot commands' output streams (`monitor.output`) and the store all mask this set."""
    from sqlalchemy.engine import make_url

    secrets = set(config.secrets) | environment_secrets()
    try:
        password = make_url(config.state_url).password
    except Exception:  # noqa: BLE001 - an unparseable URL is reported by the store
        password = None
    if password and len(str(password)) >= 4:
        secrets.add(str(password))
    return secrets


@contextmanager
def watch_context(watch_id: str) -> Iterator[None]:
    """Everything logged inside this block (in this task) carries `watch_id`."""
    token = current_watch.set(watch_id)
    try:
        yield
    finally:
        current_watch.reset(token)


class WatchFilter(logging.Filter):
    """Sets `record.watch`: from `extra={"watch": ...}` if given, else from the current check, else None."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "watch", None) is None:
            record.watch = current_watch.get()
        return True


class SecretFilter(logging.Filter):
    """Masks secret values in the message, its arguments and the traceback of every record it sees."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets: set[str] = set(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        """New secrets after a configuration reload."""
        self.secrets = set(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = mask(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = mask(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = mask(record.stack_info, self.secrets)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, mask(value, self.secrets))
        return True


class TextFormatter(logging.Formatter):
    """`2025-02-07 18:04:05 WARNING  monitor.engine [sf-v-trump]: check failed: ...`"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(watch_part)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        watch = getattr(record, "watch", None)
        record.watch_part = f" [{watch}]" if watch else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, watch (when known), extras, exc (when any)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        watch = getattr(record, "watch", None)
        if watch:
            out["watch"] = watch
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "watch_part" and key not in out:
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, ensure_ascii=False, default=str)


def use_json(log_format: str, stream: TextIO) -> bool:
    """JSON lines for `json`, text for `text`; for `auto`, text only when `stream` is a terminal."""
    if log_format == "json":
        return True
    if log_format == "text":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return not (isatty and isatty())
    except ValueError:  # a closed stream
        return True


def setup(
    verbose: int = 0, log_format: str = "auto", secrets: Iterable[str] = (), *, stream: TextIO | None = None
) -> SecretFilter:
    """Configure the root logger for the daemon; returns the secret filter, to update on reload.

    Level: INFO by default (start, reload, failures, deliveries), DEBUG with `-v`; `-vv` adds each HTTP
    request (httpx) and each job run (APScheduler). SQLAlchemy, httpcore and asyncio stay at WARNING.
    """
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if use_json(log_format, stream) else TextFormatter())
    handler.addFilter(WatchFilter())
    secret_filter = SecretFilter(secrets)
    handler.addFilter(secret_filter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    _library_levels(verbose)
    # APScheduler warns once per missed or overlapping run; a busy replica would log thousands of lines a
    # minute. Those runs are counted in the metrics (`court_monitor_scheduler_runs_total`), so its warnings
    # need -vv to show.
    if verbose < 2:
        logging.getLogger("apscheduler.executors").setLevel(logging.ERROR)
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    logging.captureWarnings(True)
    return secret_filter


def _library_levels(verbose: int) -> None:
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose >= 2 else logging.WARNING)
    for name in _SILENT:
        logging.getLogger(name).setLevel(logging.WARNING)


_COMMAND_HANDLER = "monitor-command"


def setup_command(verbose: int = 0, *, stream: TextIO | None = None) -> None:
    """Logging for the one-shot commands, on standard error: warnings by default, `-v` information,
    `-vv` debugging and each HTTP request (httpx) too. Masking is the output stream's job
    (`monitor.output`); other handlers on the root logger (a test's log capture) are left alone."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_COMMAND_HANDLER)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _COMMAND_HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG)
    _library_levels(verbose)
    logging.captureWarnings(True)
