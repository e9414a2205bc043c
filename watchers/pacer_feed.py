"""The PACER CM/ECF RSS format, parsed: bytes in, channel facts and docket entries out. Pure, no I/O.

The output reproduces juriscraper's `PacerRssFeed` (the parser CourtListener runs on every court feed,
https://github.com/freelawproject/juriscraper/blob/main/juriscraper/pacer/rss_feeds.py) field for field,
so an entry seen here and the same entry seen through CourtListener carry the same docket number, case
name, document number and PACER ids. `tests/data/pacer_rss/*.json` are juriscraper's own expected
outputs; the tests hold this module to them. Where this parser knowingly differs it says so below.

Court quirks are commented where they are handled.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from lxml import etree

from monitor.errors import ParseError
from watchers.dates import Where, aware
from watchers.dockets import normalize_pacer_doc_id
from watchers.feed import channel_info, entries, feed_kind
from watchers.listing import Problems, label, read_each
from watchers.textutil import clean_url, squash
from watchers.xmlsafe import parse_xml, text_of

Coverage = Literal["all", "partial", "unknown"]

# Docket numbers as juriscraper finds them in an item title (the judge initials are left out).
_DISTRICT_DN = re.compile(r"(?<!\d)((?:\d{1,2}:)?\d\d-[a-zA-Z]{1,4}-\d{1,10})")
# Bankruptcy numbers have no case type: `16-10992-smb` -> `16-10992`.
_BANKRUPTCY_DN = re.compile(r"((?:\d-)?\d\d-\d*)")
_APPELLATE_DN = re.compile(r"(\d\d-\d+)")
_APPELLATE_COURTS = {"cadc", "cafc", "cavc"}

_SHORT_DESCRIPTION = re.compile(r"\[(.*?)\]", re.S)
_ANCHOR = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*(["'])(?P<href>.*?)\1[^>]*>(?P<text>.*?)</a\s*>""", re.I | re.S)
# Bankruptcy descriptions start with case facts before the short description:
#   `Type: bk Office: 7 Chapter: 7 Trustee: Magaliff, Howard P. [Notice, ...] (<a ...>7</a>)`
_BANKRUPTCY_FACTS = re.compile(
    r"^\s*Type:(?P<type>.*?)Office:(?P<office>.*?)Chapter:(?P<chapter>.*?)(?:Trustee:(?P<trustee>.*?))?\[", re.S
)
# The guid of a district item is `DktRpt.pl?<case id>&<de_seq_num>`; bankruptcy writes `-<de_seq_num>`.
_GUID_SEQ = re.compile(r"DktRpt\.pl\?(?P<case>\d+)[&-](?P<seq>\d+)\s*$")


@dataclass(frozen=True, slots=True)
class FeedChannel:
    """What a court says about its feed: which entry types it carries and when it was last rebuilt."""

    title: str
    link: str
    description: str
    last_build: datetime | None
    last_build_text: str
    coverage: Coverage
    entry_types: tuple[str, ...]  # the CM/ECF event categories of a partial feed; () when "all"


@dataclass(frozen=True, slots=True)
class Bankruptcy:
    type: str
    office: str
    chapter: str
    trustee: str


@dataclass(frozen=True, slots=True)
class RssEntry:
    """One docket entry (one or more RSS items: one per CM/ECF event of the same entry).

    `docket_number` is juriscraper's (None when the title holds no recognisable number);
    `title_docket` is the title's first word exactly as the court wrote it, judge initials and all.
    `document_number` is juriscraper's (the PACER document id for appellate links without a number);
    `entry_number` is only ever the number the court printed.
    """

    title_docket: str
    docket_number: str | None
    case_name: str  # harmonised like juriscraper's
    raw_case_name: str  # as the court wrote it, entities decoded
    pacer_case_id: str | None
    docket_url: str | None
    events: tuple[str, ...]  # the short description of each CM/ECF event of this entry
    entry_number: str | None
    document_number: str | None
    document_url: str | None
    pacer_doc_id: str | None
    pacer_seq_no: str | None  # de_seq_num of the document link
    guid_seq: str | None  # de_seq_num of the guid (also present on text-only entries)
    date_entered: datetime | None
    bankruptcy: Bankruptcy | None = None

    @property
    def short_description(self) -> str:
        """The bracketed text, verbatim (juriscraper keeps its stray spaces); for a multi-event entry,
        the events' texts trimmed and joined with " AND " in alphabetical order, as juriscraper does."""
        if len(self.events) == 1:
            return self.events[0]
        return " AND ".join(sorted(event.strip() for event in self.events))

    def same_entry(self, other: RssEntry) -> bool:
        """True for two RSS items that are events of one CM/ECF entry."""
        # juriscraper's test: same docket number, case id, time and document id. We also require the
        # same printed number and the same guid sequence number, so two different text-only entries
        # entered in the same second (no document id, so juriscraper merges them) stay two entries.
        return (
            (self.docket_number or self.title_docket) == (other.docket_number or other.title_docket)
            and self.pacer_case_id == other.pacer_case_id
            and self.date_entered == other.date_entered
            and self.pacer_doc_id == other.pacer_doc_id
            and self.entry_number == other.entry_number
            and self.guid_seq == other.guid_seq
        )


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    channel: FeedChannel
    entries: list[RssEntry]
    item_count: int  # RSS items before multi-event items were merged
    # a repaired feed, items that could not be read, dates left out: each named, for the user
    warnings: tuple[str, ...] = ()
    skipped: int = 0  # items that could not be read


# ---------------------------------------------------------------- court kinds


def is_appellate(court: str) -> bool:
    return court[-1:].isdigit() or court in _APPELLATE_COURTS


def is_bankruptcy(court: str) -> bool:
    return court.endswith("b")


# ---------------------------------------------------------------- channel


def coverage_of(description: str) -> tuple[Coverage, tuple[str, ...]]:
    """All entries or only some types, from the channel description (as CourtListener reads it)."""
    text = squash(description).rstrip(".")
    found = re.search(r"entries of type:\s*(.+)", text, re.I)
    if found:
        types = tuple(t.strip().lower() for t in found.group(1).split(",") if t.strip())
        return ("all", ()) if types == ("all",) else ("partial", types)
    # E.D. Ark.'s rss_outside4.pl says "All Docket Entries." (cl/recap_rss/tasks.py::update_entry_types).
    if text.lower() == "all docket entries":
        return "all", ()
    # E.D.N.Y.'s readyDockets.pl: "Public filings in the last 24 hours" is everything, but in 2018 it
    # said "Public Complaints, Orders and Judgments in the last 24 Hours" (nyed_1.xml): three types.
    found = re.match(r"public (.+?) in the last 24 hours$", text, re.I)
    if found:
        kinds = tuple(k.strip().lower() for k in re.split(r",|\band\b", found.group(1)) if k.strip())
        return ("all", ()) if kinds == ("filings",) else ("partial", kinds)
    return "unknown", ()


def _channel(root: etree._Element, warnings: list[str] | None = None) -> FeedChannel:
    info = channel_info(root)  # `updated` is lastBuildDate, or pubDate (N.D. Ill. bankruptcy uses that)
    channel = root.find("channel")
    link = squash(channel.findtext("link")) if channel is not None else ""
    description = info.get("description", "")
    coverage, types = coverage_of(description)
    last_build_text = info.get("updated", "")
    return FeedChannel(
        title=info.get("title", ""),
        link=link,
        description=description,
        last_build=parse_pub_date(last_build_text, warnings, "the feed's lastBuildDate"),
        last_build_text=last_build_text,
        coverage=coverage,
        entry_types=types,
    )


# ---------------------------------------------------------------- dates


def parse_pub_date(text: str | None, warnings: list[str] | None = None, where: Where = "the feed") -> datetime | None:
    """An RSS date as an aware datetime (naive times are taken as UTC); None if absent or unreadable
    (with a warning naming `where` in `warnings`).

    Appellate courts stamp local time with a zone abbreviation ("EST", "MST"). Like juriscraper
    (`parse_datetime_for_us_timezone`), an abbreviation names the court's region and the offset comes
    from that region's calendar, so "EST" in July reads as EDT. District feeds use GMT.
    """
    return aware(text, warnings, where, regional=True)


# ---------------------------------------------------------------- case names
# juriscraper "harmonizes" case names (juriscraper/lib/string_utils.py: harmonize, clean_string) and
# CourtListener stores them so: "et al" dropped, "USA" -> "United States", "vs" -> "v.", party-role
# words dropped, stray punctuation trimmed.

_UNITED_STATES = re.compile(
    r"^(?:USA|U\.S\.A\.|U\.S\.?|U\. S\.?|(?:The )?United States of America|The United States)[,.]?$", re.I
)
_ROLE_WORD = re.compile(
    r"^(?:appell(?:ee|ant)s?|claimants?|complainants?|defendants?|defendants?(?:--?|/)appell(?:ee|ant)s?"
    r"|devisee|executor|executrix|pet(?:\.|itioner)s?|petitioners?(?:--?|/)appell(?:ee|ant)s?"
    r"|petitioners?(?:--?|/)defendants?|plaintiffs?|plaintiffs?(?:--?|/)appell(?:ee|ant)s?|respond[ea]nts?"
    r"|respond[ea]nts?(?:--?|/)appell(?:ee|ant)s?|cross(?:--?|/)respondents?|crosss?(?:--?|/)petitioners?"
    r"|cross(?:--?|/)appell(?:ees|ant)s?|deceased)[,.]?$",
    re.I,
)
_ET_AL = re.compile(r",?\set\.?\sal\.?", re.I)
_ENDS = re.compile(r"^[-–_/;,\s]+|[-–_/;,\s]+$")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "*": None, "#": None, ";": None})


def _tidy(name: str) -> str:
    # smart quotes straightened, `*#;` dropped, each side of " v. " trimmed of `-–_/;,` and spaces
    name = name.translate(_QUOTES)
    name = " v. ".join(_ENDS.sub("", part) for part in name.split(" v. "))
    return " ".join(name.split())


def harmonize_case_name(raw: str) -> str:
    name = re.sub(r"\svs\.?\s", " v. ", raw, flags=re.I)
    name = re.sub(r"\sv\.?\s", " v. ", name)
    name = " ".join("" if _ROLE_WORD.match(word) else word for word in name.split())
    parties = []
    for party in (p.strip() for p in name.split(" v. ")):
        if _UNITED_STATES.match(party) or party == "US":
            party = "United States"
        elif party.lower() == "the state":
            party = "State"
        parties.append(party)
    name = _ET_AL.sub("", " v. ".join(parties))
    name = re.sub(r"^Nos?\.\s+", "", name)
    return re.sub(r"\s+,", ",", _tidy(_tidy(name)))


# ---------------------------------------------------------------- items


def _child_text(item: etree._Element, name: str) -> str:
    for child in item:
        if isinstance(child.tag, str) and etree.QName(child.tag).localname.lower() == name:
            return text_of(child)
    return ""


def _docket_number(token: str, court: str) -> str | None:
    if is_appellate(court):
        patterns = [_APPELLATE_DN]
    elif is_bankruptcy(court):
        # bankruptcy courts sometimes use district-style numbers (adversary proceedings: `1:18-ap-01473`)
        patterns = [_DISTRICT_DN, _BANKRUPTCY_DN]
    else:
        patterns = [_DISTRICT_DN]
    for pattern in patterns:
        found = pattern.search(token)
        if found:
            return found.group(1)
    # a malformed number (W.D. Va.'s `5:18-~gr-00001`, in juriscraper's wvsd.xml) gives None: the entry
    # is kept, matched on `title_docket`, never dropped silently
    return None


def _pacer_case_id(link: str) -> str | None:
    # `.../DktRpt.pl?492165`; iquery links end in the case id: `iquery.pl?6253...-L_9999_1-0-663150`
    if "?" not in link:
        return None
    param = link.split("?", 1)[1].strip()
    if "L" in param:
        param = param.rsplit("-", 1)[-1]
    return param or None


def item_name(position: int, item: etree._Element) -> str:
    """How warnings name an RSS item: its title (docket number and case name), else its place."""
    return label(position, squash(html.unescape(_child_text(item, "title"))), squash(_child_text(item, "link")))


def parse_entry(item: etree._Element, court: str, warnings: list[str] | None = None, position: int = 0) -> RssEntry:
    """One RSS item as a docket entry (of one event). A date that cannot be read is left out, with a
    warning naming the item (by `position`) in `warnings`."""
    title = squash(_child_text(item, "title"))
    docket_link = clean_url(squash(_child_text(item, "link")) or None)
    description = _child_text(item, "description")
    guid = squash(_child_text(item, "guid"))

    title_docket, _, rest = title.partition(" ")
    # Titles are entity-escaped once more than XML needs: D.C. Cir. writes `Food &amp;amp; Water
    # Watch`, E.D.N.Y. `Ben&#039;s` inside CDATA.
    raw_case_name = squash(html.unescape(rest))
    # juriscraper's placeholder when the title is a bare number (D. Md. bankruptcy `18-90003 `)
    case_name = harmonize_case_name(raw_case_name) if rest.strip() else "Unknown Case Title"

    short = _SHORT_DESCRIPTION.search(description)
    event = html.unescape(short.group(1)) if short else ""

    entry_number = document_url = pacer_doc_id = pacer_seq_no = None
    anchor = _ANCHOR.search(description)
    if anchor:
        document_url = clean_url(html.unescape(anchor.group("href")).strip() or None)
        text = squash(re.sub(r"<[^>]+>", "", anchor.group("text")))
        entry_number = text if text.isdigit() else None
        path = (document_url or "").split("?")[0]
        if "/doc1/" in path or "/docs1/" in path:
            # doc1 (district, bankruptcy) and docs1 (appellate) ids: the 4th digit is PACER's
            # "show receipt" flag, not part of the id (juriscraper sets it to 0)
            pacer_doc_id = normalize_pacer_doc_id(path.rstrip("/").rsplit("/", 1)[-1])
            if "/doc1/" in path:
                seq = re.search(r"de_seq_num=(\d+)", document_url or "")
                pacer_seq_no = seq.group(1) if seq else None
        # E.D.N.Y. links `show_case_doc?<docno>,<caseid>,,,` instead of doc1 (juriscraper #218): no
        # document id to be had, but the link text is still the entry number.

    document_number = entry_number
    if is_appellate(court) and not document_number and pacer_doc_id:
        # appellate links often read "Document" (D.C. Cir.): juriscraper uses the doc id as the number
        document_number = pacer_doc_id

    pacer_case_id = None if is_appellate(court) or not docket_link else _pacer_case_id(docket_link)
    guid_match = _GUID_SEQ.search(guid)
    guid_seq = guid_match.group("seq") if guid_match and guid_match.group("case") == pacer_case_id else None

    facts = _BANKRUPTCY_FACTS.search(description)
    bankruptcy = (
        Bankruptcy(*(squash(facts.group(k)) for k in ("type", "office", "chapter", "trustee"))) if facts else None
    )

    return RssEntry(
        title_docket=title_docket,
        docket_number=_docket_number(title_docket, court),
        case_name=case_name,
        raw_case_name=raw_case_name,
        pacer_case_id=pacer_case_id,
        docket_url=docket_link,
        events=(event,),
        entry_number=entry_number,
        document_number=document_number,
        document_url=document_url,
        pacer_doc_id=pacer_doc_id,
        pacer_seq_no=pacer_seq_no,
        guid_seq=guid_seq,
        # pubDate is when the entry was *entered* on the docket, not the date filed (courtlistener#6872)
        date_entered=parse_pub_date(_child_text(item, "pubdate"), warnings, lambda: item_name(position, item)),
        bankruptcy=bankruptcy,
    )


def merge_events(parsed: list[RssEntry]) -> list[RssEntry]:
    """One entry per CM/ECF entry: a multi-event entry (a motion filed as "Compel" and "Discovery")
    comes as several identical items, one per event; merge them, keeping the first one's place."""
    merged: list[RssEntry] = []
    for entry in parsed:
        for index, earlier in enumerate(merged):
            if earlier.same_entry(entry):
                merged[index] = replace(earlier, events=earlier.events + entry.events)
                break
        else:
            merged.append(entry)
    return merged


def parse_feed(body: bytes, url: str, *, court: str) -> ParsedFeed:
    """The channel and the docket entries of a PACER RSS feed. ParseError if it is not one.

    A malformed item (or one this parser cannot read) is skipped with a warning naming it, and an
    unreadable date is left out of its entry; a feed whose every item fails is a ParseError.
    """
    # parse_xml honours the declared encoding (PACER feeds are ISO-8859-1), refuses entity
    # declarations, turns an HTML error or login page served with status 200 into a ParseError, and
    # repairs what real feeds break (a bare `&` in a case name), saying so in `warnings`.
    warnings = Problems()
    root = parse_xml(body, url, warnings)
    if feed_kind(root) != "rss" or root.find("channel") is None:
        raise ParseError(f"{url}: not a PACER RSS feed (no RSS <channel>); check the `url` or `court`")
    items = entries(root)
    parsed = read_each(
        items,
        lambda position, item: parse_entry(item, court, warnings, position),
        name=item_name,
        warnings=warnings,
        url=url,
    )
    channel = _channel(root, warnings)
    return ParsedFeed(channel, merge_events(parsed), len(items), tuple(warnings), warnings.skipped)
