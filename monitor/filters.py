"""Keyword rules usable on any watch: any-of, all-of, exclude.

Terms match case-insensitively as whole words or phrases ("ICE" does not match "police"; "8 U.S.C.
1373" matches with any run of spaces). Rules look at the title and summary, and at any item field
named in `fields` (a watcher may put a press release's body there). The terms that matched travel
with the item so that an alert can say why it was sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from monitor.models import Item


def _term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in term.replace("§", " ").split()]
    # Lookarounds instead of \b so that terms ending in punctuation ("U.S.C.") still match whole;
    # a section sign between words is skipped, so "8 U.S.C. 1373" matches "8 U.S.C. § 1373".
    return re.compile(r"(?<!\w)" + r"(?:\s|§)+".join(words) + r"(?!\w)", re.IGNORECASE)


class KeywordRules(BaseModel):
    """`any`: at least one must appear; `all`: every one must appear; `exclude`: none may appear."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any: list[str] = Field(default_factory=list)
    all: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=lambda: ["title", "summary", "body"])

    def compile(self) -> KeywordFilter:
        return KeywordFilter(self)


class KeywordFilter:
    def __init__(self, rules: KeywordRules):
        self.rules = rules
        self._any = [(t, _term_pattern(t)) for t in rules.any if t.strip()]
        self._all = [(t, _term_pattern(t)) for t in rules.all if t.strip()]
        self._exclude = [(t, _term_pattern(t)) for t in rules.exclude if t.strip()]

    def _text(self, item: Item) -> str:
        parts: list[str] = []
        for name in self.rules.fields:
            if name == "title":
                parts.append(item.title or "")
            elif name == "summary":
                parts.append(item.summary or "")
            else:
                value = item.fields.get(name)
                if value is None and not name.startswith("_"):
                    value = item.fields.get("_" + name)  # a body kept for filters only (`_body`)
                if isinstance(value, str):
                    parts.append(value)
                elif isinstance(value, (list, tuple)):
                    parts.extend(str(v) for v in value)
        return "\n".join(parts)

    def match(self, item: Item) -> tuple[str, ...] | None:
        """The matched terms if the item passes, else None."""
        text = self._text(item)
        if any(p.search(text) for _, p in self._exclude):
            return None
        matched = [t for t, p in self._all if p.search(text)]
        if len(matched) < len(self._all):
            return None
        if self._any:
            hits = [t for t, p in self._any if p.search(text)]
            if not hits:
                return None
            matched.extend(hits)
        return tuple(dict.fromkeys(matched))

    def apply(self, items: Iterable[Item]) -> list[Item]:
        kept = []
        for item in items:
            terms = self.match(item)
            if terms is not None:
                kept.append(item.with_matched(terms) if terms else item)
        return kept
