"""Writes minute_order_dcd_1-20-cv-03010_2021-08-19.pdf: a real court order, typeset as a two-page filing.

The text is the MINUTE ORDER of 2021-08-19 in United States v. Google LLC (D.D.C. 1:20-cv-03010, Judge
Amit P. Mehta), word for word as PACER's docket report gives it (/work/shared/fixtures/pacer_docket/
dcd_3.json, juriscraper's expected parse of the recorded docket dcd_3.html; see SOURCES.md). A minute
order is a text-only docket entry, so there is no court PDF of it: this script sets the caption, the
order and the signature block the way a court order is laid out. US court records are in the public domain.

Needs fpdf2 (not a dependency of the project: `pip install fpdf2`), run from this folder:
    python make_minute_order_pdf.py
The tests only read the committed PDF.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF

FIXTURE = Path("/work/shared/fixtures/pacer_docket/dcd_3.json")
OUT = Path(__file__).with_name("minute_order_dcd_1-20-cv-03010_2021-08-19.pdf")


def order_text() -> str:
    docket = json.loads(FIXTURE.read_text())
    for entry in docket["docket_entries"]:
        if entry["date_filed"] == "2021-08-19" and entry["document_number"] is None:
            return entry["description"]
    sys.exit("the minute order of 2021-08-19 is not in " + str(FIXTURE))


def main() -> None:
    text = order_text()
    body, _, tail = text.partition(" Signed by Judge")
    pdf = FPDF(format="letter", unit="pt")
    pdf.set_creation_date(datetime(2021, 8, 19, 12, 0, tzinfo=timezone.utc))  # the same bytes on every run
    pdf.set_title("Minute Order, United States v. Google LLC, 1:20-cv-03010 (D.D.C. Aug. 19, 2021)")
    pdf.set_margins(72, 72, 72)
    pdf.set_auto_page_break(True, margin=72)
    pdf.add_page()
    pdf.set_font("Times", "B", 13)
    pdf.multi_cell(0, 18, "UNITED STATES DISTRICT COURT\nFOR THE DISTRICT OF COLUMBIA", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(18)
    pdf.set_font("Times", "", 12)
    left = "UNITED STATES OF AMERICA, et al.,\n\n          Plaintiffs,\n\n     v.\n\nGOOGLE LLC,\n\n          Defendant."
    y = pdf.get_y()
    pdf.multi_cell(260, 16, left)
    bottom = pdf.get_y()
    pdf.set_xy(360, y + 64)
    pdf.multi_cell(0, 16, "Case No. 1:20-cv-03010 (APM)")
    pdf.set_y(bottom + 24)
    pdf.set_font("Times", "B", 12)
    pdf.cell(0, 16, "MINUTE ORDER", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)
    pdf.set_font("Times", "", 12)
    paragraphs = body.replace("MINUTE ORDER. ", "", 1).replace(" (1) ", "\n(1) ").replace(" (2) ", "\n(2) ") \
        .replace(" (3) ", "\n(3) ").replace(" (4) ", "\n(4) ")
    for paragraph in paragraphs.split("\n"):
        pdf.multi_cell(0, 24, paragraph, align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
    pdf.add_page()
    pdf.set_font("Times", "", 12)
    pdf.multi_cell(0, 24, "SO ORDERED.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(36)
    pdf.set_x(324)
    pdf.multi_cell(0, 16, "Amit P. Mehta\nUnited States District Judge\n\nDate: August 19, 2021")
    pdf.set_auto_page_break(False)
    pdf.set_y(-72)
    pdf.set_font("Times", "I", 9)
    pdf.cell(0, 12, "Text of the docket entry: Signed by Judge" + tail.split(" (lcapm2)")[0], align="C")
    pdf.output(str(OUT))
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
