"""Reading a PDF for a preview (`monitor.previews.pdf`): a real court order gives its page count, first
lines and a first-page thumbnail; every kind of hostile or broken file is refused with a reason, in a
child process the monitor survives whatever the file does."""

from __future__ import annotations

import asyncio
import struct
import zlib
from pathlib import Path

import pytest

from monitor.previews import pdf
from monitor.previews.pdf import Unreadable, excerpt_of, not_a_pdf, png_bytes, read_pdf
from tests.conftest import DATA
from tests.support import pdfs

ORDER = (DATA / "previews" / "minute_order_dcd_1-20-cv-03010_2021-08-19.pdf").read_bytes()


def read(body: bytes, **kwargs) -> pdf.Document:
    return asyncio.run(read_pdf(body, **kwargs))


def refused(body: bytes, **kwargs) -> str:
    with pytest.raises(Unreadable) as info:
        read(body, **kwargs)
    return str(info.value)


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, channels, raw scanlines) of a PNG, read by hand: the thumbnail is a real PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, color, *_ = header
    channels = {0: 1, 2: 3}[color]
    raw = zlib.decompress(idat)
    assert depth == 8 and len(raw) == height * (1 + width * channels)
    return width, height, channels, raw


# ---------------------------------------------------------------- a real document


def test_a_real_court_order_gives_pages_excerpt_and_thumbnail():
    """The committed minute order (2 pages, D.D.C.) reads as 2 pages, its caption first, a 600-pixel-wide page."""
    document = read(ORDER)
    assert document.pages == 2
    assert document.excerpt.startswith(
        "UNITED STATES DISTRICT COURT FOR THE DISTRICT OF COLUMBIA UNITED STATES OF "
        "AMERICA, et al., Plaintiffs, v. GOOGLE LLC"
    )
    assert "MINUTE ORDER Pursuant to the discovery hearing held on August 19, 2021" in document.excerpt
    assert len(document.excerpt) <= 500 and document.excerpt.endswith("…")
    assert "  " not in document.excerpt and "\r" not in document.excerpt and "\n" not in document.excerpt
    width, height, channels, raw = decode_png(document.png)
    assert width == document.width == 600 and height == document.height
    assert abs(height - 600 * 792 / 612) <= 1  # letter proportions kept
    assert channels == 1  # black text on white: stored as grayscale, half the size
    rows = [raw[y * (width + 1) + 1 : (y + 1) * (width + 1)] for y in range(height)]
    assert rows[0] == b"\xff" * width  # the margin is white ...
    assert any(min(row) < 64 for row in rows[50:120])  # ... and the caption is drawn in black near the top
    assert document.render_seconds >= 0


def test_text_of_later_pages_fills_the_excerpt_up_to_max_pages():
    """A short first page: the excerpt goes on with the next page, but never past `max_pages`."""
    body = pdfs.text_pdf([["ORDER"], ["Signed by the judge."], ["Third page."]])
    assert read(body).excerpt == "ORDER Signed by the judge."
    assert read(body, max_pages=1).excerpt == "ORDER"
    assert read(body, max_pages=3).excerpt == "ORDER Signed by the judge. Third page."


def test_a_scanned_page_has_no_text_but_still_a_thumbnail():
    """A page without a text layer (a scan): an empty excerpt, the page count and the thumbnail all the same."""
    body = pdfs.text_pdf([[]])
    document = read(body)
    assert document.pages == 1 and document.excerpt == "" and decode_png(document.png)[0] == 600


def test_a_landscape_or_long_page_stays_within_the_thumbnail_box():
    """Whatever the page's shape, the thumbnail is at most 600 wide and 1,200 high, proportions kept."""
    tall = read(pdfs.text_pdf([["A long receipt."]], media=(200, 2000)))
    assert tall.height == 1200 and tall.width == 120
    wide = read(pdfs.text_pdf([["A chart."]], media=(1224, 792)))
    assert wide.width == 600 and abs(wide.height - 600 * 792 / 1224) <= 1


# ---------------------------------------------------------------- hostile and broken files


@pytest.mark.parametrize(
    "body, reason",
    [
        (pdfs.HTML_ERROR_PAGE, "the server sent an HTML page, not a PDF"),
        (b"", "an empty answer"),
        (b"PK\x03\x04 a zip file", "not a PDF (it starts with"),
    ],
    ids=["html-error-page", "empty", "zip"],
)
def test_what_is_not_a_pdf_is_refused_before_any_reader_runs(body, reason):
    """An error page, an empty body or another kind of file is refused from its first bytes."""
    problem = not_a_pdf(body)
    assert problem is not None and reason in problem
    assert reason in refused(body)


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: pdfs.truncated(ORDER), "damaged or cut short"),
        (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 40, "damaged or cut short"),
        (pdfs.encrypted_pdf, "encrypted (it needs a password)"),
        (lambda: pdfs.many_pages_pdf(10_000), "claims 10,000 pages, more than the 5,000"),
        (pdfs.huge_page_pdf, "200 x 200 inches"),
        (pdfs.bomb_pdf, "an image of 40,000 x 40,000 pixels (a decompression bomb?)"),
    ],
    ids=["truncated", "garbage-after-header", "encrypted", "10000-pages", "huge-page", "decompression-bomb"],
)
def test_hostile_or_broken_pdfs_are_refused_with_the_reason(make, reason):
    """Each hostile or broken file is one clear reason (the warning "preview skipped: ..."), never a crash."""
    body = make()
    assert len(body) < 2_000_000  # every one of them is small: size caps do not catch them
    assert reason in refused(body)


def test_a_page_that_takes_too_long_is_killed_at_the_timeout():
    """A content-stream bomb (20 million strokes in 1.4 KB) is stopped at `timeout`, and the next file reads fine."""
    reason = refused(pdfs.slow_page_pdf(), timeout=2.0)
    assert "took longer than 2 s" in reason or "CPU time" in reason or "memory" in reason
    assert read(ORDER).pages == 2  # the reader is not left broken: the child was killed, not the monitor


def test_the_child_runs_with_no_secrets_and_hard_limits(monkeypatch):
    """The reader's process gets none of the monitor's environment (tokens) and a memory limit."""
    monkeypatch.setenv("COURTLISTENER_TOKEN", "secret-token-value")
    seen: dict = {}
    original = asyncio.create_subprocess_exec

    async def spy(*args, **kwargs):
        seen.update(kwargs)
        return await original(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    assert read(ORDER).pages == 2
    assert "COURTLISTENER_TOKEN" not in seen["env"] and set(seen["env"]) <= {"PATH", "PYTHONPATH", "LANG"}
    assert seen["start_new_session"] is True  # Ctrl-C in the terminal is the monitor's, not the child's


def test_a_crashed_or_killed_reader_is_a_reason_not_an_exception():
    """How the child died becomes the reason: a signal, the CPU limit, a missing library."""
    import signal

    assert "crashed on it (SIGSEGV)" in pdf._died(-signal.SIGSEGV, b"")
    assert "CPU time" in pdf._died(-signal.SIGXCPU, b"")
    assert "pypdfium2 is not installed" in pdf._died(1, b"ModuleNotFoundError: No module named 'pypdfium2'")
    assert "memory" in pdf._died(1, b"Traceback ...\nMemoryError")


# ---------------------------------------------------------------- pieces


def test_excerpt_squashes_whitespace_drops_control_characters_and_cuts_at_a_word():
    assert excerpt_of("ORDER\r\n\tgranting\x02 motion\ufffe ") == "ORDER granting motion"
    text = "word " * 200
    cut = excerpt_of(text, 50)
    assert len(cut) <= 50 and cut.endswith("word…")


def test_png_of_a_colour_page_keeps_its_colour():
    """A page with colour (a red stamp) stays RGB; an all-gray one becomes grayscale."""
    red = bytes([255, 0, 0]) * 4
    width, height, channels, raw = decode_png(png_bytes(red * 2, 4, 2, 12, 3))
    assert (width, height, channels) == (4, 2, 3) and raw[1:4] == b"\xff\x00\x00"
    gray = bytes([128, 128, 128]) * 4
    assert decode_png(png_bytes(gray * 2, 4, 2, 12, 3))[2] == 1


def test_fixture_is_the_committed_file():
    """The real PDF the tests read is the one SOURCES.md describes (regenerating it gives the same bytes)."""
    import hashlib

    sources = (DATA / "previews" / "SOURCES.md").read_text()
    assert hashlib.sha256(ORDER).hexdigest() in sources
    assert Path(DATA / "previews" / "make_minute_order_pdf.py").exists()


def test_a_system_that_refuses_the_limits_still_gets_previews_and_says_so():
    """Where setrlimit is refused (a seccomp filter; here a hard limit below ours), the PDF is still read,
    stopped by the timeout alone, and one warning says how to restore the limits."""
    import resource
    import subprocess
    import sys

    def lower_hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (pdf.MEMORY_LIMIT - (64 << 20), pdf.MEMORY_LIMIT - (64 << 20)))

    script = (
        "import asyncio, logging, sys; logging.basicConfig(); from monitor.previews.pdf import read_pdf;"
        "body = open(sys.argv[1], 'rb').read(); print([asyncio.run(read_pdf(body)).pages for _ in range(2)])"
    )
    path = DATA / "previews" / "minute_order_dcd_1-20-cv-03010_2021-08-19.pdf"
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        preexec_fn=lower_hard_limit,
    )
    assert result.stdout.strip() == "[2, 2]", result.stderr
    assert result.stderr.count("could not limit its memory and CPU time") == 1
    assert "prlimit64" in result.stderr
