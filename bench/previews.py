"""How long a document preview takes: `python bench/previews.py [PDF ...] [--runs N]`.

For each PDF (default: the court order in tests/data/previews), reads it N times (default 10) the way
the preview worker does (`monitor.previews.pdf.read_pdf`: a child process, PDFium, PNG encoding) and
prints the median of the time PDFium's work takes in the child (open, text of the first pages, first
page drawn at 600 px, PNG) and of the whole call (starting the child, importing pypdfium2, the work,
reading the answer), plus the thumbnail's size. Numbers depend on the machine; see README "Document
previews" for this project's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.previews.pdf import read_pdf

DEFAULT = Path(__file__).resolve().parents[1] / "tests/data/previews/minute_order_dcd_1-20-cv-03010_2021-08-19.pdf"


async def measure(body: bytes, runs: int) -> tuple[float, float, int, int]:
    work, wall = [], []
    size = pages = 0
    for _ in range(runs):
        started = time.perf_counter()
        document = await read_pdf(body)
        wall.append(time.perf_counter() - started)
        work.append(document.render_seconds)
        size, pages = len(document.png), document.pages
    return statistics.median(work), statistics.median(wall), size, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdfs", nargs="*", type=Path, default=[DEFAULT])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(f"{'file':<50} {'pages':>5} {'PDFium ms':>10} {'call ms':>8} {'PNG bytes':>10}")
    for path in args.pdfs:
        work, wall, size, pages = asyncio.run(measure(path.read_bytes(), args.runs))
        print(f"{path.name[:50]:<50} {pages:>5} {work * 1000:>10.0f} {wall * 1000:>8.0f} {size:>10,}")


if __name__ == "__main__":
    main()
