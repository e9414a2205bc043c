"""Court RSS feeds for the demo: recorded ones, as served a little earlier, or with a constructed item on top.

Every feed the demo serves is a recorded CM/ECF feed (`monitor/demo_data/`). A step makes a filing
"appear" either by serving the recorded file after an earlier state of it (`feed_before`: the newest
item of a case and everything listed above it held back), or by adding an item written for the demo in
the recorded markup (`with_items`, `sdny_item`), which `monitor/demo_data/SOURCES.md` lists as
constructed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

FEED_PATH = "/cgi-bin/rss_outside.pl"  # a district or bankruptcy court's feed, below its ecf.<court> host
FEED_CONTENT_TYPE = "text/xml"  # the feeds declare their own encoding (ISO-8859-1) in their XML prolog

# An item of S.D.N.Y.'s feed, in the markup of the recorded sdny_1.xml (its first item, values replaced).
_SDNY_ITEM = """<item>
<title>{docket} {caption}</title>
<link>https://ecf.nysd.uscourts.gov/cgi-bin/DktRpt.pl?{case_id}</link>
<description>[{short}] (&#x3C;a href=&#x22;https://ecf.nysd.uscourts.gov/doc1/{doc_id}?caseid={case_id}&#x26;de_seq_num={seq}&#x22; &#x3E;{entry}&#x3C;/a&#x3E;)</description>
<guid isPermaLink="true">https://ecf.nysd.uscourts.gov/cgi-bin/DktRpt.pl?{case_id}&#x26;{seq}</guid>
<pubDate>{when}</pubDate>
</item>
"""  # noqa: E501 - the recorded markup, one line per element


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One filing as S.D.N.Y.'s feed lists it."""

    docket: str  # as the feed writes it: 1:18-cv-03472
    caption: str
    case_id: int  # PACER's case id
    short: str  # the short docket text, "[...]" in the feed
    entry: int
    seq: int  # PACER's de_seq_num
    doc_id: str  # the doc1 link's document id
    when: str  # pubDate, RFC 822

    def xml(self) -> bytes:
        return _SDNY_ITEM.format(
            docket=self.docket,
            caption=self.caption,
            case_id=self.case_id,
            short=self.short,
            entry=self.entry,
            seq=self.seq,
            doc_id=self.doc_id,
            when=self.when,
        ).encode("iso-8859-1")


def _built_when(feed: bytes, date: bytes) -> bytes:
    built = b"<lastBuildDate>" + date + b"</lastBuildDate>"
    return re.sub(rb"<lastBuildDate>.*?</lastBuildDate>", built, feed, count=1)


def feed_before(feed: bytes, docket: str) -> bytes:
    """The feed as the court served it a little earlier: without the case's newest item and the items listed
    above it (a court feed lists the newest first), built when the item that then comes first was."""
    items = list(re.finditer(rb"<item>.*?</item>\s*", feed, re.S))
    newest = next(m for m in items if docket.encode() in m.group())
    first = items[0].start()
    earlier = feed[:first] + feed[newest.end() :]
    next_date = re.search(rb"<pubDate>(.*?)</pubDate>", earlier[first:])
    return _built_when(earlier, next_date.group(1)) if next_date else earlier


def with_items(feed: bytes, items: Sequence[FeedItem]) -> bytes:
    """The feed with these items on top (newest first), built when the first of them was published."""
    if not items:
        return feed
    first = feed.index(b"<item>")
    return _built_when(feed[:first] + b"".join(i.xml() for i in items) + feed[first:], items[0].when.encode())
