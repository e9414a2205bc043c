"""Repairs of broken XML, on its text: what real feeds get wrong, put right and written down.

Used by `watchers.xmlsafe.parse_xml` (read its docstring first) only after a strict parse failed. Each
function here works on the document's text, never parses it, and notes what it changed in a `Repair`,
with the line of the first place of each kind, so the user can be told exactly what was wrong.
"""

from __future__ import annotations

import codecs
import html.entities
import re
from dataclasses import dataclass, field

_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
MARK = "monitor-items"  # the processing instruction marking where the items were, in a split document


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


@dataclass
class Repair:
    """What was changed, in words, with the line of the first place of each kind."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # items left out, each named

    def messages(self, problem: str) -> list[str]:
        """The warnings: what was repaired, then the items left out (the first few named)."""
        out = []
        if self.done or not self.skipped:
            out.append(
                f"the source's XML was malformed ({problem}); repaired"
                + (": " if self.done else "")
                + "; ".join(self.done)
            )
        if self.skipped:
            count = len(self.skipped)
            named = "; ".join(self.skipped[:5]) + (f"; and {count - 5} more" if count > 5 else "")
            out.append(
                f"{count} malformed item{'s' if count > 1 else ''} of the source skipped "
                f"(the others were read): {named}"
            )
        return out


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode-error handler: undecodable bytes read as Windows-1252 (else Latin-1), the usual culprit."""
    assert isinstance(exc, UnicodeDecodeError)
    chunk = exc.object[exc.start : exc.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in chunk), exc.end


codecs.register_error("monitor-cp1252", _cp1252_fallback)

_DECLARED = re.compile(rb"<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._:-]*)[\"']")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(body: bytes, repair: Repair) -> str:
    """The document as text: by its byte-order mark, else its declared encoding, else UTF-8."""
    encoding = next((name for bom, name in _BOMS if body.startswith(bom)), None)
    if encoding is None:
        declared = _DECLARED.search(body[:4096])
        encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
        try:
            codecs.lookup(encoding)
        except LookupError:
            repair.done.append(f"unknown encoding {encoding!r} read as UTF-8")
            encoding = "utf-8"
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        text = body.decode(encoding, errors="monitor-cp1252")
        line = body.count(b"\n", 0, exc.start) + 1
        repair.done.append(f"bytes not valid in {encoding} (from line {line}) read as Windows-1252")
        return text


_XML_DECLARATION = re.compile(r"<\?xml\s[^>]*\?>")


def _prolog(text: str, repair: Repair) -> str:
    """Drop the XML declaration (the text is re-encoded as UTF-8) and anything before it or before the
    first tag, keeping line numbers: what goes is replaced by its newlines."""
    text = text.lstrip("\ufeff")
    declaration = _XML_DECLARATION.search(text, 0, 65536)
    if declaration:
        before = text[: declaration.start()]
        if before.strip("\ufeff \t\r\n"):
            repair.done.append("text before the XML declaration dropped")
        elif before:
            repair.done.append("whitespace before the XML declaration dropped")
        return "\n" * before.count("\n") + text[declaration.end() :]
    start = text.find("<")
    if start > 0 and text[:start].strip("\ufeff \t\r\n"):
        repair.done.append("text before the document dropped")
        return "\n" * text.count("\n", 0, start) + text[start:]
    return text


# CDATA sections, comments and processing instructions: their text is not markup and is left alone.
_OPAQUE = re.compile(r"<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)", re.S)
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_REFERENCE = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9A-Fa-f]{1,8})|([A-Za-z_][\w.-]*))?(;?)")
_BARE_LT = re.compile(r"<(?![^\W\d]|[/!?:])")


def _allowed(code: int) -> bool:
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


class _Counter:
    """How many of one repair, and the line of the first."""

    def __init__(self, words: str):
        self.words, self.count, self.first = words, 0, 0

    def hit(self, text: str, offset: int) -> None:
        if not self.count:
            self.first = line_of(text, offset)
        self.count += 1

    def report(self, repair: Repair) -> None:
        if self.count:
            repair.done.append(f"{self.count} {self.words} (first at line {self.first})")


def _fix_references(segment: str, whole: str, offset: int, counters: dict[str, _Counter]) -> str:
    def fix(found: re.Match[str]) -> str:
        decimal, hexadecimal, name, semicolon = found.groups()
        where = offset + found.start()
        if semicolon and (decimal or hexadecimal):
            if _allowed(int(decimal or hexadecimal, 10 if decimal else 16)):
                return found.group()
            counters["forbidden"].hit(whole, where)
            return ""
        if semicolon and name:
            if name in _XML_ENTITIES:
                return found.group()
            expansion = html.entities.html5.get(name + ";")
            if expansion is not None:
                counters["html"].hit(whole, where)
                return "".join(f"&#{ord(c)};" for c in expansion)
        counters["amp"].hit(whole, where)
        return "&amp;" + found.group()[1:]

    return _REFERENCE.sub(fix, segment)


def _clean(text: str, repair: Repair) -> str:
    """Forbidden characters removed everywhere; references and bare `<` fixed outside CDATA, comments
    and processing instructions (where `&` and `<` are literal text)."""
    counters = {
        "forbidden": _Counter("characters XML does not allow removed"),
        "amp": _Counter("bare '&' escaped"),
        "html": _Counter("HTML entities replaced by their characters"),
        "lt": _Counter("bare '<' escaped"),
    }
    for found in _FORBIDDEN.finditer(text):
        counters["forbidden"].hit(text, found.start())
    text = _FORBIDDEN.sub("", text)
    out: list[str] = []
    position = 0

    def markup(segment: str, offset: int) -> str:
        if "&" in segment:
            segment = _fix_references(segment, text, offset, counters)
        if "<" in segment and _BARE_LT.search(segment):
            for found in _BARE_LT.finditer(segment):
                counters["lt"].hit(text, offset + found.start())
            segment = _BARE_LT.sub("&lt;", segment)
        return segment

    for opaque in _OPAQUE.finditer(text):
        out.append(markup(text[position : opaque.start()], position))
        out.append(opaque.group())
        position = opaque.end()
    out.append(markup(text[position:], position))
    for counter in counters.values():
        counter.report(repair)
    return "".join(out)


def _mask(text: str) -> str:
    """The text with CDATA, comments and PIs blanked out (same length): tags found in it are real tags."""
    return _OPAQUE.sub(lambda m: " " * len(m.group()), text)


_TAG = re.compile(r"<(/?)([^\W\d][\w.-]*(?::[^\W\d][\w.-]*)?)(?:\s[^<>]*?)?(/?)>")


def _open_elements(masked: str, end: int) -> list[re.Match[str]]:
    """The start tags of the elements open at `end`, outermost first (tolerating mismatched tags)."""
    stack: list[re.Match[str]] = []
    for tag in _TAG.finditer(masked, 0, end):
        if tag.group(3):
            continue
        if not tag.group(1):
            stack.append(tag)
            continue
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth].group(2) == tag.group(2):
                del stack[depth:]
                break
    return stack


def _cut_after_root(text: str, repair: Repair) -> tuple[str, bool]:
    """Drop whatever follows the end of the root element (balanced over same-named elements); and
    whether the root element ends at all (a document cut short is not repaired: its end is lost)."""
    masked = _mask(text)
    root = next((t for t in _TAG.finditer(masked) if not t.group(1)), None)
    if root is None or root.group(3):
        return text, root is not None
    depth = 0
    same_name = re.compile(rf"<(/?){re.escape(root.group(2))}(?:\s[^<>]*?)?(/?)>")
    for tag in same_name.finditer(masked, root.start()):
        if tag.group(2):
            continue
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            end = tag.end()
            if _OPAQUE.sub("", text[end:]).strip():
                junk = end + len(text[end:]) - len(text[end:].lstrip())
                repair.done.append(f"text after the end of the root element (from line {line_of(text, junk)}) dropped")
                return text[:end] + "\n" * text.count("\n", end), True
            return text, True
    return text, False


def _item_spans(masked: str, prefix: str | None) -> list[tuple[int, int, bool]]:
    """(start, end, closed) of each `<item>`/`<entry>`: up to its end tag, else up to the next item
    (or, for the last one, up to its containers' end tags)."""
    qualified = rf"(?:{re.escape(prefix)}:)?" if prefix else ""
    starts = [m for m in re.finditer(rf"<({qualified}(?:item|entry))(?:\s[^<>]*?)?(/?)>", masked) if not m.group(2)]
    spans = []
    for index, start in enumerate(starts):
        limit = starts[index + 1].start() if index + 1 < len(starts) else len(masked)
        end = re.compile(rf"</{re.escape(start.group(1))}\s*>").search(masked, start.end(), limit)
        if end is None and index + 1 == len(starts):
            closing = r"\s*".join(
                rf"</{re.escape(t.group(2))}\s*>" for t in reversed(_open_elements(masked, start.start()))
            )
            container = re.compile(closing + r"\s*$").search(masked, start.end()) if closing else None
            limit = container.start() if container else limit
        spans.append((start.start(), end.end() if end else limit, end is not None))
    return spans


def name_item(chunk: str, position: int) -> str:
    """How a warning names an item it could not parse: `item 7 "its title"`, else its link or place."""

    def first(pattern: str) -> str:
        found = re.search(pattern, chunk, re.S | re.I)
        if not found:
            return ""
        value = re.sub(r"<!\[CDATA\[|\]\]>|<[^>]*>", "", found.group(1))
        value = " ".join(html.unescape(value).split())
        return value if len(value) <= 80 else value[:77] + "..."

    title = first(r"<title\b[^>]*>(.*?)</title\s*>") or first(r"<title\b[^>]*>(?:<!\[CDATA\[)?([^<\]]*)")
    link = first(r"<link\b[^>]*>(.*?)</link\s*>") or first(r"<link\b[^>]*\bhref=[\"']([^\"']*)")
    return f'item {position} "{title}"' if title else (f"item {position} ({link})" if link else f"item {position}")


def repaired_text(body: bytes, repair: Repair) -> tuple[str, bool]:
    """The document's text with every repair applied, and whether its root element ends at all (a
    document cut short in transit is not repairable: its end is lost). The XML declaration is dropped:
    the text is to be parsed as UTF-8."""
    text, complete = _cut_after_root(_prolog(decode(body, repair), repair), repair)
    return (_clean(text, repair) if complete else text), complete


@dataclass(frozen=True, slots=True)
class ItemSplit:
    """A document taken apart at its `<item>`/`<entry>` elements, to parse each on its own."""

    skeleton: str  # the document without its items; a `<?monitor-items?>` PI where the first one was
    chunks: list[tuple[int, str, bool]]  # (offset, text, closed) of each item
    opening: str  # the start tags of the items' ancestors (root first), for their namespaces
    closing: str
    depth: int  # how many ancestors

    def wrapped(self, chunk: str) -> bytes:
        return (self.opening + chunk + self.closing).encode("utf-8")


def split_items(text: str) -> ItemSplit | None:
    """The items of a document and the document without them; None when it has no items to split."""
    masked = _mask(text)
    root = next((t for t in _TAG.finditer(masked) if not t.group(1)), None)
    if root is None or root.group(3):
        return None
    prefix = root.group(2).split(":", 1)[0] if ":" in root.group(2) else None
    spans = _item_spans(masked, prefix)
    ancestors = _open_elements(masked, spans[0][0]) if spans else []
    if not ancestors:
        return None
    skeleton = [text[: spans[0][0]], f"<?{MARK}?>"]
    for (_, end, _), following in zip(spans, [*spans[1:], (len(text), 0, True)], strict=True):
        skeleton.append(text[end : following[0]])
    return ItemSplit(
        skeleton="".join(skeleton),
        chunks=[(start, text[start:end], closed) for start, end, closed in spans],
        opening="".join(tag.group() for tag in ancestors),
        closing="".join(f"</{tag.group(2)}>" for tag in reversed(ancestors)),
        depth=len(ancestors),
    )
