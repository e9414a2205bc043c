"""XML from the wild: parsed strictly and safely first; a broken feed is repaired, and the user told.

Every XML reader of the monitor (`feed`, `pacer_rss`, `wordpress`/`whitehouse`, `courtlistener`'s docket
feed) calls `parse_xml`. A well-formed document is parsed once, strictly, exactly as before; only when
that fails are the repairs below tried, each one only where the strict parser's rules were broken, and
the result is parsed strictly again. What was repaired is reported in one warning ("the source's XML
was malformed (bare '&' at line 12); repaired: 3 bare '&' escaped"), which reaches `monitor check`,
`--json`, the logs and status through the watch's warnings.

Safety, before and after any repair: an empty body, an HTML page (an error or login page served with
status 200) and a document declaring XML entities (entity-expansion "billion laughs" attacks, external
entities) are refused, never repaired; no DTD is loaded and nothing is read from the network.

Repairs, for breakage seen in real feeds:
- the encoding: a byte-order mark; bytes that are not valid in the declared encoding (a UTF-8 feed with
  Windows-1252 quotes pasted in) are read as Windows-1252;
- the prolog: whitespace or junk (a PHP notice) before the XML declaration;
- bare `&` in text and attributes ("H&M HENNES & MAURITZ", `?a=1&b=2` in an Atom href), escaped;
  HTML entities XML does not know (`&nbsp;`, `&eacute;`) turned into the characters they name;
- characters XML 1.0 forbids (control characters, `&#11;`), removed;
- a bare `<` in text ("a < b"), escaped;
- anything after the root element's end (a PHP warning, a second copy of the feed), dropped;
- a malformed item or entry (a mismatched tag inside one `<item>`): each item is then parsed on its
  own; a broken one is skipped with a warning naming it (title, position, line), the others are kept;
- last, lxml's recovery mode, only when the items cannot be separated; it is named in the warning, and
  the result is refused when it lost half the items or more (it is not a way to turn a broken feed
  into an empty one).
If nothing helps, the error is the strict parser's first one, with its line.
"""

from __future__ import annotations

import codecs
import html.entities
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from monitor.errors import ParseError

log = logging.getLogger(__name__)

FEED_ROOTS = frozenset({"rss", "feed", "rdf"})  # local names of RSS 2.0, Atom and RSS 1.0 roots
_ITEM_NAMES = ("item", "entry")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_MARK = "monitor-items"  # processing instruction marking where salvaged items go back


def _parser(*, recover: bool = False) -> etree.XMLParser:
    # resolve_entities=False + no_network + no DTD: nothing outside the document is ever read.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
                           load_dtd=False, dtd_validation=False, recover=recover)


def _strict(data: bytes) -> etree._Element:
    return etree.fromstring(data, _parser())


def _refuse(head: str, declares_entities: bool, url: str) -> None:
    if declares_entities:
        raise ParseError(f"{url}: refused: the document declares XML entities (a possible entity-expansion attack)")
    if head.startswith("<!doctype html") or head.startswith("<html"):
        raise ParseError(f"{url}: got an HTML page where a feed was expected (an error or login page?)")


def parse_xml(body: bytes, url: str, warnings: list[str] | None = None) -> etree._Element:
    """The document root, parsed safely; repaired if it is broken in a way real feeds are broken.

    ParseError for empty, hostile, HTML or irreparable documents. What was repaired is appended to
    `warnings` (one message); without a list it is logged, so a repair is never silent.
    """
    if not body.strip():
        raise ParseError(f"{url}: the response is empty, not a feed")
    _refuse(body[:2048].lstrip().lower().decode("latin-1"), b"<!entity" in body[:65536].lower(), url)
    try:
        root = _strict(body)
    except etree.XMLSyntaxError as exc:
        first = exc
    else:
        if root is None:
            raise ParseError(f"{url}: no XML document in the response")
        return root
    root, repair = _repair(body, url, first)
    for message in repair.messages(_describe(first)):
        if warnings is None:
            log.warning("%s: %s", url, message)
        else:
            warnings.append(message)
    return root


# ---------------------------------------------------------------- describing errors

# libxml2's messages -> words for people (its error codes are shared by several causes)
_ERROR_KINDS = (
    ("EntityRef", "bare '&'"), ("xmlParseEntityRef", "bare '&'"), ("StartTag: invalid element name", "bare '<'"),
    ("not defined", "an HTML entity XML does not know"), ("Char", "a character XML does not allow"),
    ("Extra content at the end", "text after the end of the root element"),
    ("XML declaration allowed only at the start", "text before the XML declaration"),
    ("Opening and ending tag mismatch", "mismatched tags"), ("Premature end of data", "a tag left open"),
    ("encoding", "bytes not valid in the declared encoding"),
)


def _describe(exc: etree.XMLSyntaxError) -> str:
    message = _short_error(exc)
    what = next((words for clue, words in _ERROR_KINDS if clue in message), message)
    line = exc.position[0] if exc.position else None
    return f"{what} at line {line}" if line else what


def _short_error(exc: etree.XMLSyntaxError) -> str:
    return re.sub(r",? line \d+, column \d+$", "", (exc.msg or str(exc)).strip())


# ---------------------------------------------------------------- the repairs

@dataclass
class _Repair:
    """What was changed, in words, with the line of the first place of each kind."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # items left out, each named
    recovered: bool = False

    def messages(self, problem: str) -> list[str]:
        """The warnings: what was repaired, then the items left out (the first few named)."""
        out = []
        if self.done or not self.skipped:
            out.append(f"the source's XML was malformed ({problem}); repaired: " + "; ".join(self.done or ["-"]))
        if self.skipped:
            count = len(self.skipped)
            named = "; ".join(self.skipped[:5]) + (f"; and {count - 5} more" if count > 5 else "")
            out.append(f"{count} malformed item{'s' if count > 1 else ''} of the source skipped "
                       f"(the others were read): {named}")
        return out


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode-error handler: undecodable bytes read as Windows-1252 (else Latin-1), the usual culprit."""
    assert isinstance(exc, UnicodeDecodeError)
    chunk = exc.object[exc.start:exc.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in chunk), exc.end


codecs.register_error("monitor-cp1252", _cp1252_fallback)

_DECLARED = re.compile(rb"<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._:-]*)[\"']")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _decode(body: bytes, repair: _Repair) -> str:
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


def _prolog(text: str, repair: _Repair) -> str:
    """Drop the XML declaration (the text is re-encoded as UTF-8) and anything before it or before the
    first tag, keeping line numbers: what goes is replaced by its newlines."""
    text = text.lstrip("\ufeff")
    declaration = _XML_DECLARATION.search(text, 0, 65536)
    if declaration:
        before = text[:declaration.start()]
        if before.strip("\ufeff \t\r\n"):
            repair.done.append("text before the XML declaration dropped")
        elif before:
            repair.done.append("whitespace before the XML declaration dropped")
        return "\n" * before.count("\n") + text[declaration.end():]
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
            self.first = _line(text, offset)
        self.count += 1

    def report(self, repair: _Repair) -> None:
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


def _clean(text: str, repair: _Repair) -> str:
    """Forbidden characters removed everywhere; references and bare `<` fixed outside CDATA, comments
    and processing instructions (where `&` and `<` are literal text)."""
    counters = {"forbidden": _Counter("characters XML does not allow removed"),
                "amp": _Counter("bare '&' escaped"), "html": _Counter("HTML entities replaced by their characters"),
                "lt": _Counter("bare '<' escaped")}
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
        out.append(markup(text[position:opaque.start()], position))
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


def _cut_after_root(text: str, repair: _Repair) -> tuple[str, bool]:
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
                repair.done.append(f"text after the end of the root element (from line {_line(text, junk)}) dropped")
                return text[:end] + "\n" * text.count("\n", end), True
            return text, True
    return text, False


# ---------------------------------------------------------------- items one by one

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
            closing = r"\s*".join(rf"</{re.escape(t.group(2))}\s*>"
                                   for t in reversed(_open_elements(masked, start.start())))
            container = re.compile(closing + r"\s*$").search(masked, start.end()) if closing else None
            limit = container.start() if container else limit
        spans.append((start.start(), end.end() if end else limit, end is not None))
    return spans


def _name_item(chunk: str, position: int) -> str:
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


def _salvage(text: str, repair: _Repair) -> etree._Element | None:
    """Each item parsed on its own, inside its ancestors' start tags (for their namespaces), and the
    document without its items; None when that document is itself broken."""
    masked = _mask(text)
    root = next((t for t in _TAG.finditer(masked) if not t.group(1)), None)
    if root is None or root.group(3):
        return None
    prefix = root.group(2).split(":", 1)[0] if ":" in root.group(2) else None
    spans = _item_spans(masked, prefix)
    ancestors = _open_elements(masked, spans[0][0]) if spans else []
    if not ancestors:
        return None
    skeleton = [text[:spans[0][0]], f"<?{_MARK}?>"]
    for (_, end, _), following in zip(spans, [*spans[1:], (len(text), 0, True)]):
        skeleton.append(text[end:following[0]])
    try:
        document = _strict("".join(skeleton).encode("utf-8"))
    except etree.XMLSyntaxError:
        return None
    mark = next((pi for pi in document.iter(etree.ProcessingInstruction) if pi.target == _MARK), None)
    parent = mark.getparent() if mark is not None else None
    if mark is None or parent is None:
        return None
    index = parent.index(mark)
    parent.remove(mark)
    opening = "".join(tag.group() for tag in ancestors)
    closing = "".join(f"</{tag.group(2)}>" for tag in reversed(ancestors))
    kept = 0
    for position, (start, end, closed) in enumerate(spans, 1):
        chunk = text[start:end]
        try:
            if not closed:
                raise ValueError("its end tag is missing")
            node = _strict((opening + chunk + closing).encode("utf-8"))
            for _ in ancestors[1:]:
                node = node[0]
            item = node[0]
        except (etree.XMLSyntaxError, ValueError, IndexError) as exc:
            reason = _short_error(exc) if isinstance(exc, etree.XMLSyntaxError) else str(exc)
            repair.skipped.append(f"{_name_item(chunk, position)} at line {_line(text, start)} ({reason})")
            continue
        parent.insert(index + kept, item)
        kept += 1
    if not kept:
        raise ParseError(f"none of its {len(spans)} items is well-formed XML (first: {repair.skipped[0]})")
    return document


def _recover(data: bytes, text: str, repair: _Repair) -> etree._Element | None:
    """lxml's recovery mode, accepted only for a feed that kept more than half of its items."""
    try:
        root = etree.fromstring(data, _parser(recover=True))
    except etree.XMLSyntaxError:
        return None
    if root is None or etree.QName(root).localname.lower() not in FEED_ROOTS:
        return None
    expected = len(_item_spans(_mask(text), None))
    found = sum(1 for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname.lower() in _ITEM_NAMES)
    if expected and found * 2 <= expected:
        return None
    repair.recovered = True
    repair.done.append("read in lxml's recovery mode: text near the damage may be missing")
    if found < expected:
        repair.done.append(f"{expected - found} of {expected} items lost")
    return root


def _attempt(steps: list[Callable[[], etree._Element | None]]) -> etree._Element | None:
    for step in steps:
        root = step()
        if root is not None:
            return root
    return None


def _repair(body: bytes, url: str, first: etree.XMLSyntaxError) -> tuple[etree._Element, _Repair]:
    repair = _Repair()
    text = _decode(body, repair)
    head = text[:2048].lstrip("\ufeff \t\r\n").lower()
    _refuse(head, "<!entity" in text[:65536].lower(), url)
    text, complete = _cut_after_root(_prolog(text, repair), repair)
    if not complete:
        raise ParseError(f"{url}: not well-formed XML ({_describe(first)}): the document ends before its root "
                         "element does (cut short in transit, or not XML at all)") from first
    text = _clean(text, repair)
    data = text.encode("utf-8")

    def again() -> etree._Element | None:
        try:
            return _strict(data)
        except etree.XMLSyntaxError:
            return None

    try:
        root = _attempt([again, lambda: _salvage(text, repair), lambda: _recover(data, text, repair)])
    except ParseError as exc:
        raise ParseError(f"{url}: not well-formed XML ({_describe(first)}: {_short_error(first)}); {exc}") from first
    if root is None:
        raise ParseError(f"{url}: not well-formed XML ({_describe(first)}: {_short_error(first)}); repairs were "
                         "tried and did not help") from first
    if etree.QName(root).localname.lower() == "html":
        raise ParseError(f"{url}: got an HTML page where a feed was expected (an error or login page?)")
    return root, repair
