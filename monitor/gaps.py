"""Blind spots said out loud: a gap opens once, closes once, and both travel through the outbox.

A monitor is judged by what it silently missed. Some of what it cannot see, it knows about:
- `coverage`: a court's RSS feed publishes only some entry types (reported by `pacer_rss`), so filings
  of other types in a followed case go unseen, unless another watch (CourtListener) covers the case;
- `budget`: an API budget is spent, so a case goes unchecked until a given time (`courtlistener`);
- `stale`: a source has not changed for far longer than it usually does (found here, from the times
  its content changed): it may have stopped publishing, moved, or be serving a stale copy.
(A source refusing access, HTTP 401/403, is a `source_down` alert at once: see `Engine._failed`.)

Each is a `gap_opened` change when it opens and a `gap_closed` change when it closes, kept in the watch's
state (`watch_state.gaps`), so it is said once, not at every check, and survives restarts. Pure
functions here; the engine records what they decide.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from watchers.base import Gap

ACTIVITY_KEPT = 30  # content-change times remembered per watch, to learn its usual rhythm
MIN_HISTORY = 6  # changes seen before "usual" means anything
STALE_FLOOR = 24 * 3600.0  # never stale after less than a day unless `stale_after` says so
ENGINE_KINDS = frozenset({"stale"})


@dataclass
class GapState:
    """What `watch_state.gaps` holds: the open gaps and when the source's content last changed."""

    open: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> {"message", "since"}
    activity: list[str] = field(default_factory=list)  # ISO times of checks that found new content

    @classmethod
    def load(cls, raw: Mapping[str, Any] | None) -> GapState:
        raw = raw or {}
        return cls(
            open={k: dict(v) for k, v in (raw.get("open") or {}).items()}, activity=list(raw.get("activity") or [])
        )

    def dump(self) -> dict[str, Any]:
        return {"open": self.open, "activity": self.activity[-ACTIVITY_KEPT:]}


@dataclass(frozen=True, slots=True)
class Transition:
    kind: str
    opened: bool
    message: str  # for an opening gap: what is not seen and what to do; for a closing one: what it was
    since: str  # when it opened (ISO)


def human(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds / size
            text = f"{count:.0f}" if count >= 10 or count == int(count) else f"{count:.1f}"
            return f"{text} {unit}{'' if text == '1' else 's'}"
    return f"{seconds:.0f} seconds"


def usual_gap(activity: Iterable[str]) -> tuple[float, float] | None:
    """(median, longest) seconds between content changes, once enough have been seen; else None."""
    times = sorted(datetime.fromisoformat(t) for t in activity)
    if len(times) < MIN_HISTORY:
        return None
    gaps = sorted((b - a).total_seconds() for a, b in itertools.pairwise(times))
    return gaps[len(gaps) // 2], gaps[-1]


def stale_threshold(stale_after: float | None, activity: list[str]) -> float | None:
    """Seconds without a change after which a source counts as stale; None when it cannot (yet) be said.

    `stale_after` (a watch's setting) wins; `0` turns the check off. Otherwise it is learned: a wide
    margin over the usual rhythm (8 times the median gap, 3 times the longest seen, at least a day), so a
    court feed's quiet weekend or an agency's holiday week is not a false alarm.
    """
    if stale_after is not None:
        return stale_after or None
    usual = usual_gap(activity)
    if usual is None:
        return None
    median, longest = usual
    return max(8 * median, 3 * longest, STALE_FLOOR)


def evaluate(
    state: GapState,
    *,
    name: str,
    now: datetime,
    content_changed: bool,
    reported: tuple[Gap, ...] | None,
    stale_after: float | None,
) -> tuple[GapState, list[Transition]]:
    """The watch's gaps after a successful check, and what opened or closed.

    `reported` is the watcher's complete set of open gaps, or None when it could not tell (kinds it
    reported before stay open). `content_changed`: the check found the source's content changed.
    """
    new = GapState(open={k: dict(v) for k, v in state.open.items()}, activity=list(state.activity))
    stamp = now.isoformat()
    transitions: list[Transition] = []

    def open_gap(kind: str, message: str) -> None:
        new.open[kind] = {"message": message, "since": stamp}
        transitions.append(Transition(kind, True, message, stamp))

    def close_gap(kind: str) -> None:
        was = new.open.pop(kind)
        transitions.append(Transition(kind, False, was.get("message", ""), was.get("since", stamp)))

    if reported is not None:
        wanted = {gap.kind: gap.message for gap in reported}
        for kind in [k for k in new.open if k not in ENGINE_KINDS and k not in wanted]:
            close_gap(kind)
        for kind, message in wanted.items():
            if kind not in new.open:
                open_gap(kind, message)
            else:
                new.open[kind]["message"] = message  # the latest wording (a new "next check" time)

    if content_changed:
        new.activity = [*new.activity, stamp][-ACTIVITY_KEPT:]
        if "stale" in new.open:
            close_gap("stale")
    elif "stale" not in new.open and new.activity:
        threshold = stale_threshold(stale_after, new.activity)
        last = datetime.fromisoformat(new.activity[-1])
        quiet = (now - last).total_seconds()
        if threshold is not None and quiet > threshold:
            usual = usual_gap(new.activity)
            rhythm = f"; it usually changes every {human(usual[0])}" if usual else ""
            open_gap(
                "stale",
                f"{name} has not changed since {last:%Y-%m-%d %H:%M} UTC ({human(quiet)}){rhythm}. "
                "The source may have stopped publishing, moved, or be serving a stale copy: check it "
                "by hand. (For a source that is legitimately quiet, set `stale_after: off`.)",
            )
    return new, transitions


def since_text(since: str) -> str:
    try:
        return f"{datetime.fromisoformat(since):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        return since


def closing_title(name: str, kind: str, since: str, now: datetime) -> str:
    what = {
        "coverage": "the court feed covers every entry type again",
        "budget": "checks are running again (the API budget has room)",
        "stale": "the source is changing again",
        "setup": "it can reach its source now",
    }.get(kind, f"the {kind} gap has closed")
    opened = datetime.fromisoformat(since) if since else now
    return f"{name}: {what} (gap open since {since_text(since)}, {human((now - opened).total_seconds())})"


def parse_stale_after(value: Any) -> float | None:
    """`auto` (learned) -> None; `off`/`false`/0 -> 0.0; a duration -> seconds."""
    from monitor.schedule import parse_duration

    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "false", "no", "never")):
        return 0.0
    return parse_duration(value)
