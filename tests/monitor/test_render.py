"""The plain-text alert (console, `monitor check`, `monitor history`): an update says each change once."""

from __future__ import annotations

from monitor.diff import changed_fields
from monitor.fusion import merge_known
from monitor.models import Change, Item
from monitor.render import change_text, field_change_lines
from watchers.dockets import entry_item, parse_docket_number

CASE = parse_docket_number("1:18-cv-03365")


def rss_stub():
    return entry_item(
        court="nysd",
        docket=CASE,
        case_name="Chau v. Donovan",
        entry_number=3,
        short_description="Notice of Appearance",
        date_entered="2018-04-18T00:09:55+00:00",
        document_url="https://ecf.nysd.uscourts.gov/doc1/127122264358",
        source="pacer_rss",
    )


def courtlistener_entry():
    return entry_item(
        court="nysd",
        docket=CASE,
        case_name="Chau v. Donovan",
        entry_number=3,
        short_description="Notice of Appearance",
        date_filed="2018-04-17",
        description="NOTICE OF APPEARANCE by counsel on behalf of Chau. (Entered: 04/17/2018)",
        source="courtlistener",
    )


def fused_update() -> Change:
    """The RSS stub completed by CourtListener's entry, as the engine records it."""
    known = rss_stub()
    merged = merge_known(known, courtlistener_entry())
    assert merged is not None
    return Change("cl", "updated", merged, before=known, changed_fields=changed_fields(known, merged))


def test_an_update_says_the_new_docket_text_once_with_labels_and_none_for_missing():
    """The entry's summary is its docket text: when both change to the same text, one line says it,
    labelled "docket text", and a value that was missing reads "(none)", not "None"."""
    change = fused_update()
    assert {"summary", "fields.description"} <= set(change.changed_fields)  # both changed underneath
    lines = field_change_lines(change)
    assert lines == [
        "docket text: (none) -> NOTICE OF APPEARANCE by counsel on behalf of Chau. (Entered: 04/17/2018)",
        "date filed: (none) -> 2018-04-17",
    ]


def test_a_fused_entry_names_both_sources_and_no_date_twice():
    """After fusion the alert names every source that saw the entry, and the item's date is not repeated
    as "Date" when it is already shown as the date filed or entered."""
    text = change_text(fused_update(), "Chau v. Donovan (S.D.N.Y.)")
    assert "  Source: courtlistener, pacer_rss" in text
    assert "  Date:" not in text and "  Entered: 2018-04-18T00:09:55+00:00" in text
    first = change_text(Change("rss", "added", rss_stub()), "Chau v. Donovan (S.D.N.Y.)")
    assert "  Source: pacer_rss" in first and "  Date:" not in first


def test_a_summary_change_of_its_own_is_still_shown():
    """A summary that changed to something no other field says (a press release's new teaser) keeps its line."""
    before = Item(key="doj:1", title="Release", summary="Old teaser")
    after = Item(key="doj:1", title="Release", summary="New teaser")
    change = Change("doj", "updated", after, before=before, changed_fields=changed_fields(before, after))
    assert field_change_lines(change) == ["summary: Old teaser -> New teaser"]
