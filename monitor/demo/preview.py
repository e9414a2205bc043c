"""The demo's document preview: a filing whose PDF is free is read after its alert, and a preview follows.

*United States v. Google LLC* (D.D.C. 1:20-cv-03010) is followed through CourtListener (the demo's
stand-in: the docket and its entries are built in CourtListener's recorded shapes from the recorded PACER
docket, `monitor/demo_data/SOURCES.md`). CourtListener lists the Minute Order of 2021-08-19 with a
RECAP copy of it, served by this demo's server where RECAP's storage would be
(`minute_order_dcd_1-20-cv-03010_2021-08-19.pdf`, the order's text typeset as a two-page court order).
The configuration's `previews.hosts` names that server, so the monitor may fetch from it, as it may from
storage.courtlistener.com; it never fetches from PACER.

One check shows it: the filing's alert, then, after the alert went out, its preview ("[Preview] ...":
the page count, the first lines, the free PDF), read by PDFium in a child process. The first page's
picture is kept in the state database; the step writes it to the demo's folder for the reader to open.
"""

from __future__ import annotations

import json

from monitor.demo.courtlistener import NO_LIMITS, TOKEN
from monitor.demo.scene import Scene
from monitor.demo.sources import STORAGE_HOST, DemoSources, Watches, demo_data
from monitor.previews import is_preview

DOCKET_ID = 900003010  # the id in monitor/demo_data/courtlistener_dcd_docket.json (made up)
MINUTE_ENTRY_ID = 3003010002  # the minute order's entry (a minute entry has no number)
WATCH = "dcd-1-20-cv-03010"  # the id `monitor follow dcd 1:20-cv-03010` gives its CourtListener watch
CASE = "United States v. Google LLC"
PDF = "minute_order_dcd_1-20-cv-03010_2021-08-19.pdf"


def setup_preview(sources: DemoSources) -> Watches:
    docket = json.loads(demo_data("courtlistener_dcd_docket.json"))
    entries = json.loads(demo_data("courtlistener_dcd_entries.json"))
    sources.courtlistener.add_docket(docket, entries, held_back=[MINUTE_ENTRY_ID])
    for entry in entries:  # RECAP's copies, where the entries say they are
        for document in entry["recap_documents"]:
            if document["filepath_local"]:
                sources.publish(STORAGE_HOST, "/" + document["filepath_local"], demo_data(PDF), "application/pdf")
    return [
        {
            "id": WATCH,
            "name": f"{CASE} (D.D.C.)",
            "type": "courtlistener",
            "court": "dcd",
            "docket_number": docket["docket_number"],
            "docket_id": docket["id"],
            "base_url": sources.courtlistener_url,
            "every": "15m",
            "token": TOKEN,
            "budget": NO_LIMITS,
        }
    ]


def document_preview(scene: Scene) -> None:
    scene.heading(f"A filing with a free PDF in {CASE}: the alert, then a preview of the document.")
    scene.sources.courtlistener.publish_entry(DOCKET_ID, MINUTE_ENTRY_ID)
    scene.say(
        "CourtListener lists the Minute Order of 19 August 2021, word for word from the court's docket, with "
        "a RECAP copy of the order: free, unlike PACER, which charges per page and is never fetched. The "
        "alert goes out first; then the monitor reads the PDF in a child process of its own and follows the "
        "alert with a preview:"
    )
    round_ = scene.check()
    alert, preview = Scene.expect_changes(
        round_, [(WATCH, "added", None), (WATCH, "updated", None)], "the filing's alert, then its preview"
    )
    fields = preview.item.fields
    Scene.expect(
        is_preview(preview) and preview.key == alert.key and bool(fields.get("preview_thumbnail")),
        f"the update of {alert.key} to be its preview with a thumbnail, got {preview.changed_fields}",
    )
    picture = scene.save_thumbnail(str(fields["preview_thumbnail"]))
    scene.say(
        f'Two messages, in that order: the filing ("{Scene.channel_title(round_, alert)}") and its preview '
        f'("{Scene.channel_title(round_, preview)}": {fields.get("preview_pages")} pages and the first '
        "lines). Slack uploads the first page into the case's thread and email shows it inline; here it is "
        f"written to {picture}."
    )
