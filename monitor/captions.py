"""Case names ("captions") in running text: `United States v. Illinois` found as people write it.

A caption is two parties and a "v.": `U.S. v. State of Illinois`, `United States of America vs. Illinois`,
`City and County of San Francisco versus Trump` (or `In re <name>`). Both the caption looked for and
the text are read into the same normal form before comparing, so these are one name:

- "v." / "v" / "vs." / "versus"; "U.S." / "U.S.A." / "USA" / "United States" / "United States of
  America"; "State of Illinois" / "Commonwealth of Virginia" / "Illinois"; "&" / "and";
  "et al." and "the" are left out; case, punctuation and spacing do not count.
- Whole names only: the caption must be all there, "v." and both parties, and must not run on into a
  longer name: `United States v. Illinois Central Railroad` is not `United States v. Illinois`, nor is
  `South San Francisco v. Trump` `San Francisco v. Trump`. A bare party ("Illinois") never matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# An initialism written with periods (U.S., U.S.A., N.D.) or a word (with an apostrophe: People's).
_TOKEN = re.compile(r"U\.\s?S\.(?:\s?A\.)?|(?:[A-Za-z]\.){2,}|[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)*|&")
_SEPARATORS = {"v", "vs", "versus"}
_DROPPED = {"the"}
_PREFIXES = (("state", "of"), ("commonwealth", "of"))  # "State of Illinois" is "Illinois"
# Capitalised words that may follow or precede a caption without being part of a party's name.
_FREE_WORDS = {
    "in",
    "on",
    "at",
    "the",
    "this",
    "that",
    "these",
    "it",
    "its",
    "a",
    "an",
    "and",
    "or",
    "but",
    "as",
    "see",
    "when",
    "after",
    "before",
    "while",
    "if",
    "since",
    "with",
    "from",
    "by",
    "for",
    "to",
    "of",
    "he",
    "she",
    "they",
    "we",
    "i",
    "today",
    "yesterday",
    "no",
    "nos",
    "case",
    "civil",
    "civ",
    "docket",
    "dkt",
    "appeal",
    "judge",
}


@dataclass(frozen=True, slots=True)
class _Token:
    norm: str
    start: int
    end: int
    capital: bool


def _tokens(text: str) -> list[_Token]:
    raw = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    out: list[_Token] = []
    i = 0
    while i < len(raw):
        word, start, end = raw[i]
        low = re.sub(r"[.\s]", "", word.lower()).replace("\u2019", "'")
        words = [w[0].lower() for w in raw[i : i + 4]]
        if words[:4] == ["united", "states", "of", "america"]:
            out.append(_Token("us", start, raw[i + 3][2], True))
            i += 4
            continue
        if words[:2] == ["united", "states"]:
            out.append(_Token("us", start, raw[i + 1][2], True))
            i += 2
            continue
        if words[:2] == ["et", "al"]:
            i += 2
            continue
        if tuple(words[:2]) in _PREFIXES and i + 2 < len(raw):
            i += 2  # "State of Illinois" reads "Illinois"
            continue
        if low in ("usa", "us") and (word.isupper() or "." in word):
            low = "us"
        elif low in _SEPARATORS:
            low = "v"
        elif low == "&":
            low = "and"
        if low not in _DROPPED:
            out.append(_Token(low, start, end, word[:1].isupper()))
        i += 1
    return out


@lru_cache(maxsize=4096)  # the names of the followed cases, read again for every item
def caption_words(name: str) -> tuple[str, ...] | None:
    """The normal form of a case name, or None when it is not a caption (no "v." between two parties,
    and no "In re")."""
    words = tuple(t.norm for t in _tokens(name))
    if len(words) >= 3 and "v" in words[1:-1]:
        return words
    if len(words) >= 3 and words[:2] == ("in", "re"):
        return words
    return None


def is_caption(name: str) -> bool:
    return caption_words(name) is not None


def short_name(name: str) -> str:
    """A watch's display name without the court it adds in parentheses: `U.S. v. Illinois (N.D. Ill.)`."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", name.strip()).strip()


@dataclass(frozen=True, slots=True)
class CaptionMatch:
    name: str  # the caption looked for
    start: int
    end: int
    text: str  # as written in the text


def find_captions(text: str, names: Sequence[str]) -> list[CaptionMatch]:
    """Where the text names one of these cases, each name at most once (its first whole mention)."""
    tokens = _tokens(text)
    norms = [t.norm for t in tokens]
    starts: dict[str, list[int]] = {}  # where each word stands: a name is tried only where its first word is
    for i, norm in enumerate(norms):
        starts.setdefault(norm, []).append(i)
    found: list[CaptionMatch] = []
    for name in names:
        words = caption_words(name)
        if words is None:
            continue
        n = len(words)
        for i in starts.get(words[0], ()):
            if norms[i : i + n] == list(words) and _whole(text, tokens, i, i + n):
                start, end = tokens[i].start, tokens[i + n - 1].end
                if text[end : end + 1] == "." and len(text[tokens[i + n - 1].start : end]) <= 3:
                    end += 1  # "Inc." "Co."
                found.append(CaptionMatch(name, start, end, text[start:end]))
                break
    return found


def _whole(text: str, tokens: list[_Token], first: int, after: int) -> bool:
    """The caption is not the tail or the head of a longer name: a capitalised word joined to it by a space
    alone (no punctuation) continues the party's name, unless it is a word that cannot be a name."""
    if after < len(tokens):
        nxt = tokens[after]
        gap = text[tokens[after - 1].end : nxt.start]
        if gap.strip() == "" and nxt.capital and nxt.norm not in _FREE_WORDS:
            return False
    if first > 0:
        prev = tokens[first - 1]
        gap = text[prev.end : tokens[first].start]
        if gap.strip() == "" and prev.capital and prev.norm not in _FREE_WORDS:
            return False
    return True
