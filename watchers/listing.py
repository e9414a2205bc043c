"""Reading a listing item by item: one bad item never blinds a watch.

A parser hands `read_each` the things a source lists (XML items, JSON results, HTML rows) and a
function that reads one. A thing whose reading raises (a link no URL parser accepts, a field of an
unexpected type, a quirk nobody has seen yet) is skipped with a warning naming it by title, link or
position, and the others are read. When every one of them fails, that is a ParseError: a source whose
items are all unreadable is broken, and must not look like a source that lists nothing.

The warnings go to a `Problems` list, which also counts the items skipped: a listing with skipped
items is incomplete (`Parsed.incomplete`), so what it lacks is not taken as removed - the source may
still list it. Warnings are capped (`capped`), so a source broken everywhere gives a few lines, not
hundreds; and `without_repeats` merges items a source lists twice word for word (a page shifted
between two requests), leaving to `monitor.diff` only the real conflicts: one key, two contents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from monitor.errors import ParseError
from monitor.models import Item

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MAX_NAMED = 5  # skipped items named in one warning
MAX_WARNINGS = 12  # warnings of one check spelled out


class Problems(list[str]):
    """The warnings of one parse, and how many listed items had to be skipped as unreadable."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped = 0


def note_skipped(warnings: list[str] | None, count: int) -> None:
    """Count skipped items, when the warnings go to a `Problems` list (a plain list only warns)."""
    if isinstance(warnings, Problems):
        warnings.skipped += count


def label(position: int, title: str | None = None, link: str | None = None, *, kind: str = "item") -> str:
    """How a warning names a listed thing: `item 7 "Smith & Jones sentenced"`, else its link or position."""
    title = " ".join((title or "").split())
    if title:
        return f'{kind} {position} "{title if len(title) <= 80 else title[:77] + "..."}"'
    return f"{kind} {position} ({link})" if link else f"{kind} {position}"


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_each(
    things: Sequence[T],
    read: Callable[[int, T], R | None],
    *,
    name: Callable[[int, T], str],
    warnings: list[str],
    url: str,
    what: str = "item",
) -> list[R]:
    """`read(position, thing)` for each thing, in order (positions count from 1), leaving out None
    results. A thing whose reading raises is skipped and named (`name(position, thing)`) in one
    warning; ParseError when all of them raised."""
    results: list[R] = []
    failed: list[str] = []
    for position, thing in enumerate(things, 1):
        try:
            result = read(position, thing)
        except Exception as exc:
            log.debug("%s: %s %d unreadable", url, what, position, exc_info=True)
            try:
                named = name(position, thing)
            except Exception:  # noqa: BLE001 - a thing too broken to be named is named by its place
                named = f"{what} {position}"
            failed.append(f"{named}: {_reason(exc)}")
            continue
        if result is not None:
            results.append(result)
    if failed and len(failed) == len(things):
        raise ParseError(
            f"{url}: none of the {len(things)} {what}s of the source could be read "
            f"(the first: {failed[0]}); is this still the source it was?"
        )
    if failed:
        count = len(failed)
        note_skipped(warnings, count)
        named = "; ".join(failed[:MAX_NAMED]) + (f"; and {count - MAX_NAMED} more" if count > MAX_NAMED else "")
        warnings.append(
            f"{count} {what}{'s' if count > 1 else ''} of {len(things)} could not be read and "
            f"{'were' if count > 1 else 'was'} skipped (the others were read): {named}"
        )
    return results


def capped(warnings: Iterable[str]) -> tuple[str, ...]:
    """The warnings of one check, each once, at most MAX_WARNINGS of them spelled out."""
    unique = list(dict.fromkeys(warnings))
    if len(unique) <= MAX_WARNINGS:
        return tuple(unique)
    return (*unique[: MAX_WARNINGS - 1], f"... and {len(unique) - MAX_WARNINGS + 1} more warnings like these")


def without_repeats(items: Iterable[Item]) -> list[Item]:
    """The items with exact repeats (same key, same content) left out; items sharing a key with a
    different content are all kept, for `monitor.diff` to choose among them independently of order."""
    seen: set[tuple[str, str]] = set()
    out: list[Item] = []
    for item in items:
        identity = (item.key, item.content_hash)
        if identity not in seen:
            seen.add(identity)
            out.append(item)
    return out
