"""XML from the wild: parsed strictly and safely first; a broken feed is repaired, and the user told.

Every XML reader of the monitor (`feed`, `pacer_rss`, `wordpress`/`whitehouse`, `courtlistener`'s docket
feed) calls `parse_xml`. A well-formed document is parsed once, strictly, exactly as before; only when
that fails are the repairs below tried, each one only where the strict parser's rules were broken, and
the result is parsed strictly again. What was repaired is reported in a warning ("the source's XML
was malformed (bare '&' at line 12); repaired: 3 bare '&' escaped (first at line 12)"), the items left
out in another, and both reach `monitor check`, `--json` and the logs through the watch's warnings.

Safety, before and after any repair: an empty body, an HTML page (an error or login page served with
status 200) and a document declaring XML entities (entity-expansion "billion laughs" attacks, external
entities) are refused, never repaired; no DTD is loaded and nothing is read from the network. A
document cut short (its root element never ends: a download broken off) is refused too: its last item
would be half a text, and the items after it would look removed.

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
  own, strictly; a broken one is skipped with a warning naming it (title, position, line), the others
  are kept; when every item is broken, that is an error (never an empty feed);
- a document broken outside its items (a mismatched tag in the channel's title): that part only is
  read in lxml's recovery mode, and the warning says so. Recovery mode never reads an item: it loses
  text even far from the damage (an `&amp;` that starts a text), which would alter items.
If nothing helps, the error is the strict parser's first one, with its line. The text-level repairs
are in `watchers/xmlrepair.py`; every parse, before and after them, uses the same hardened parser.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import cast

from lxml import etree

from monitor.errors import ParseError
from watchers.listing import note_skipped
from watchers.xmlrepair import MARK, Repair, line_of, name_item, repaired_text, split_items

log = logging.getLogger(__name__)

FEED_ROOTS = frozenset({"rss", "feed", "rdf"})  # local names of RSS 2.0, Atom and RSS 1.0 roots
_ITEM_PARENTS = frozenset({"channel", "feed", "rdf"})  # where feed readers look for items


def _parser(*, recover: bool = False) -> etree.XMLParser:
    # resolve_entities=False + no_network + no DTD: nothing outside the document is ever read.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        load_dtd=False,
        dtd_validation=False,
        recover=recover,
    )


def text_of(element: etree._Element) -> str:
    """All the text inside `element`. lxml gives str for a parsed document; its stubs say str or bytes."""
    return "".join(cast("Iterator[str]", element.itertext()))


def _strict(data: bytes) -> etree._Element:
    return etree.fromstring(data, _parser())


def _refuse(text: str, url: str) -> None:
    """ParseError for a document declaring entities, or an HTML page (`text`: its start, lower-case)."""
    if "<!entity" in text:
        raise ParseError(f"{url}: refused: the document declares XML entities (a possible entity-expansion attack)")
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith(("<!doctype html", "<html")):
        raise ParseError(f"{url}: got an HTML page where a feed was expected (an error or login page?)")


def parse_xml(body: bytes, url: str, warnings: list[str] | None = None) -> etree._Element:
    """The document root, parsed safely; repaired if it is broken in a way real feeds are broken.

    ParseError for empty, hostile, HTML or irreparable documents. What was repaired, and which items
    were left out, is appended to `warnings`; without a list it is logged, so a repair is never silent.
    """
    if not body.strip():
        raise ParseError(f"{url}: the response is empty, not a feed")
    _refuse(body[:65536].lower().decode("latin-1"), url)
    try:
        root = _strict(body)
    except etree.XMLSyntaxError as exc:
        first = exc
    else:
        if root is None:
            raise ParseError(f"{url}: no XML document in the response")
        return root
    root, repair = _repaired(body, url, first)
    note_skipped(warnings, len(repair.skipped))
    for message in repair.messages(_describe(first)):
        if warnings is None:
            log.warning("%s: %s", url, message)
        else:
            warnings.append(message)
    return root


# libxml2's messages -> words for people (its error codes are shared by several causes)
_ERROR_KINDS = (
    ("EntityRef", "bare '&'"),
    ("StartTag: invalid element name", "bare '<'"),
    ("not defined", "an HTML entity XML does not know"),
    ("Char", "a character XML does not allow"),
    ("Extra content at the end", "text after the end of the root element"),
    ("XML declaration allowed only at the start", "text before the XML declaration"),
    ("Opening and ending tag mismatch", "mismatched tags"),
    ("Premature end of data", "a tag left open"),
    ("encoding", "bytes not valid in the declared encoding"),
)


def _short_error(exc: etree.XMLSyntaxError) -> str:
    return re.sub(r",? line \d+, column \d+$", "", (exc.msg or str(exc)).strip())


def _describe(exc: etree.XMLSyntaxError) -> str:
    message = _short_error(exc)
    what = next((words for clue, words in _ERROR_KINDS if clue in message), message)
    line = exc.position[0] if exc.position else None
    return f"{what} at line {line}" if line else what


def _repaired(body: bytes, url: str, first: etree.XMLSyntaxError) -> tuple[etree._Element, Repair]:
    repair = Repair()
    text, complete = repaired_text(body, repair)
    _refuse(text[:65536].lower(), url)  # again, decoded: a UTF-16 document hides nothing
    failed = f"{url}: not well-formed XML ({_describe(first)}: {_short_error(first)})"
    if not complete:
        raise ParseError(
            f"{failed}: the document ends before its root element does (cut short in transit, or not XML at all)"
        ) from first
    root: etree._Element | None
    try:
        root = _strict(text.encode("utf-8"))
    except etree.XMLSyntaxError:
        try:
            root = _by_item(text, repair)
        except ParseError as exc:
            raise ParseError(f"{failed}; {exc}") from first
    if root is None:
        raise ParseError(f"{failed}; repairs were tried and did not help") from first
    if _local(root) == "html":
        raise ParseError(f"{url}: got an HTML page where a feed was expected (an error or login page?)")
    return root, repair


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname.lower()


def _by_item(text: str, repair: Repair) -> etree._Element | None:
    """Each item parsed on its own, strictly (inside its ancestors' start tags, for their namespaces),
    and put back into the document without its items; a broken item is left out and named. None when
    the document has no items, or cannot be read outside them even in lxml's recovery mode."""
    split = split_items(text)
    if split is None:
        return None
    skeleton = split.skeleton.encode("utf-8")
    try:
        document = _strict(skeleton)
    except etree.XMLSyntaxError:
        # Broken outside the items (the channel's title, say): lxml's recovery mode, for that part only.
        # It is lossy even far from the damage (it drops an `&amp;` that starts a text), so it never
        # reads an item; and the items must land where a feed reader looks for them.
        document = etree.fromstring(skeleton, _parser(recover=True))
        if document is None or _local(document) not in FEED_ROOTS:
            return None
        repair.done.append(
            "the feed's header (outside its items) read in lxml's recovery mode: some of its text may be missing"
        )
    instructions = document.iter(etree.ProcessingInstruction)
    mark = next((pi for pi in instructions if isinstance(pi, etree._ProcessingInstruction) and pi.target == MARK), None)
    parent = mark.getparent() if mark is not None else None
    if mark is None or parent is None or _local(parent) not in _ITEM_PARENTS:
        return None
    index = parent.index(mark)
    parent.remove(mark)
    kept = 0
    for position, (offset, chunk, closed) in enumerate(split.chunks, 1):
        try:
            if not closed:
                raise ValueError("its end tag is missing")
            node = _strict(split.wrapped(chunk))
            for _ in range(split.depth - 1):
                node = node[0]
            item = node[0]
        except (etree.XMLSyntaxError, ValueError, IndexError) as exc:
            # lxml's own line numbers count within the item alone: left out, the item's line is given
            reason = re.sub(r" line \d+", "", _short_error(exc)) if isinstance(exc, etree.XMLSyntaxError) else str(exc)
            repair.skipped.append(f"{name_item(chunk, position)} at line {line_of(text, offset)} ({reason})")
            continue
        parent.insert(index + kept, item)
        kept += 1
    if not kept:
        raise ParseError(f"none of its {len(split.chunks)} items is well-formed XML (the first: {repair.skipped[0]})")
    return document
