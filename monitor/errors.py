"""The few error types the monitor raises.

Every message names the watch or notifier, says what failed and what to try; the cause is chained.
The runner catches these per watch and per notifier and keeps going.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class: an expected failure with a message meant for the user."""


class ConfigError(MonitorError):
    """The configuration is invalid. `problems` lists every problem found, each with its location."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FetchError(MonitorError):
    """A source could not be fetched (network, HTTP status, size or time cap)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class ParseError(MonitorError):
    """A fetched body is not what the watcher expects (error page, malformed feed or JSON)."""


class NotifyError(MonitorError):
    """A notifier could not deliver.

    `permanent` means retrying cannot help (bad token, unknown channel): the delivery is marked failed
    at once. Otherwise the dispatcher retries with backoff, or after `retry_after` seconds if the
    channel said so.
    """

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(message)


class StoreError(MonitorError):
    """The state database cannot be used (unreachable, or written by a newer version)."""
