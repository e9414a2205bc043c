"""One thing seen by two sources is one thing: an item that another watch already knows is not new.

When a watch finds an item whose key another watch already holds (a filing seen in the court's RSS
feed and then through CourtListener; a press release in DOJ's feed and in its API), the notifiers
that the other watch serves have already heard of it. For them the sighting is an `updated` change,
if the new source adds something of substance (the long docket text replacing an RSS stub, a
document link, attachments), or nothing at all. Notifiers that only this watch serves still get it
as new.
"""

from __future__ import annotations

from dataclasses import replace

from monitor.models import Item

# Filling only these in adds nothing a reader needs to be told about.
MINOR_FIELDS = frozenset(
    {"date_entered", "pacer_case_id", "pacer_doc_id", "docket_url", "source", "sources", "author", "guid"}
)


def _empty(value: object) -> bool:
    return value in (None, "", [], {}, ())


def merge_known(known: Item, new: Item) -> Item | None:
    """`known` completed with what `new` adds, or None when it adds nothing of substance.

    The known version wins where both have a value (no flip-flopping between two sources' wording),
    except that a longer summary replaces a shorter one (a stub's short text by the full docket text).
    """
    fields = dict(known.fields)
    substantive = False
    for name, value in new.fields.items():
        if _empty(value) or not _empty(fields.get(name)):
            continue
        fields[name] = value
        substantive = substantive or name not in MINOR_FIELDS
    summary = known.summary
    if new.summary and len(new.summary) > len(known.summary or ""):
        summary, substantive = new.summary, True
    url = known.url or new.url
    if url != known.url:
        substantive = True
    sources = sorted(
        {*(known.fields.get("sources") or [known.fields.get("source")]), new.fields.get("source")} - {None}
    )
    if sources:
        fields["sources"] = sources
    if not substantive:
        return None
    return replace(known, fields=fields, summary=summary, url=url, matched=new.matched or known.matched)
