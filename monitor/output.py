"""What the one-shot commands print: through one masking boundary, with times that say their zone.

- **Secrets**: while a command runs, standard output and standard error are `MaskedStream`s. Every
  line written to them — the command's own output, any library's log lines (httpx logs each request's
  URL at `-vv`, and a URL may carry `?token=`), warnings, tracebacks — has every secret value replaced
  by `***` before it leaves the process. The secret set is `monitor.logs.all_secrets`, the daemon's too.
- **Times** are UTC everywhere: `2025-02-07 18:04:05 UTC` in text, ISO 8601 with `+00:00` in JSON
  (`monitor status`, `history`, `deliveries`). A stored time without a zone (SQLite keeps none) is UTC.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import quote, quote_plus

from monitor.config import mask


class MaskedStream(io.TextIOBase):
    """A text stream that masks secrets in whole lines before passing them on to `target`.

    Text is held until its line ends (or until `flush`), so a secret written in pieces on one line (as
    `print(a, b)` and the traceback module do) is still seen whole."""

    def __init__(self, target: TextIO, secrets: Iterable[str] = ()):
        super().__init__()
        self.target = target
        self.secrets: set[str] = set()
        self._pending = ""
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            self.secrets |= spellings(secret)

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, _, self._pending = self._pending.rpartition("\n")
            self.target.write(mask(complete + "\n", self.secrets))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.target.write(mask(self._pending, self.secrets))
            self._pending = ""
        self.target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(getattr(self.target, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"


def spellings(secret: str) -> set[str]:
    """`secret` as it may be written out: as is, escaped inside JSON, and percent-encoded in a URL (httpx
    logs the URL it sent, where a token with a space or a quote is `%20`, `%22`)."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret, safe="/:@!$&'()*+,;="),
        quote_plus(secret),
    }
    return {form for form in forms if form}


@contextmanager
def masked_output(secrets: Iterable[str] = ()) -> Iterator[tuple[MaskedStream, MaskedStream]]:
    """Standard output and error masked for the duration; yields both, to add secrets as they are known."""
    out, err = MaskedStream(sys.stdout, secrets), MaskedStream(sys.stderr, secrets)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        for stream in (out, err):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be said there
                stream.flush()
        sys.stdout, sys.stderr = saved


# ---------------------------------------------------------------- times


def utc(value: datetime) -> datetime:
    """`value` in UTC; a time without a zone is taken to be UTC already (how the store writes them)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def when(value: datetime | None) -> str:
    """A time for people: `2025-02-07 18:04:05 UTC`, or `-`."""
    return utc(value).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def iso(value: datetime | None) -> str | None:
    """A time for JSON: `2025-02-07T18:04:05.123456+00:00`, or None."""
    return utc(value).isoformat() if value else None
