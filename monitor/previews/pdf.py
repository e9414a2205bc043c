"""Reading a PDF for a preview: page count, the first lines of text, a first-page thumbnail.

The work is done by PDFium (through pypdfium2) in a child process started for each document, never in
the monitor's own process, because the file comes from outside and PDFium is C++:
- a crash of the reader on a malformed or hostile file (a segfault, an abort on a failed allocation)
  ends the child, not the daemon;
- the child runs under hard limits the kernel enforces: address space (`MEMORY_LIMIT`), CPU seconds,
  and a wall-clock timeout after which it is killed; a thread could be neither bounded nor stopped;
- the child gets an empty environment (no tokens) and nothing but the file on its standard input;
- one child at a time per process: PDFium is not thread-safe, and two renders
  would only compete for the same two cores.

Before rendering, the child refuses what no court filing looks like, each with a reason that becomes
the warning "preview skipped: ...": a password (encrypted files), more than `MAX_PAGE_COUNT` pages, a
first page over `MAX_PAGE_SIDE` points on a side, an image on the first page of more than
`MAX_IMAGE_PIXELS` pixels (decompression bombs: a few KB that inflate to gigabytes). Anything else
that goes wrong (not a PDF, a truncated download, a damaged file, a time or memory limit reached) is
one reason too. The thumbnail is `THUMBNAIL_WIDTH` pixels wide (at most `THUMBNAIL_MAX_HEIGHT` high),
encoded as PNG here with zlib (grayscale when the page has no colour: half the size).

Started as `python -m monitor.previews.pdf --max-pages N`; it writes one JSON line, then the PNG.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import struct
import sys
import time
import weakref
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEMORY_LIMIT = 1 << 30  # bytes of address space for the child
MAX_PAGE_COUNT = 5_000  # no filing under the size cap has more; a page tree that big is a crafted file
MAX_PAGE_SIDE = 7_200.0  # points (100 inches); letter is 612 x 792, the largest court exhibits 36 x 48 in
MAX_IMAGE_PIXELS = 150_000_000  # a letter page scanned at 1,200 dpi is 135 million
THUMBNAIL_WIDTH = 600
THUMBNAIL_MAX_HEIGHT = 1200
EXCERPT_CHARS = 500
_HERE = Path(__file__).resolve().parents[2]  # the directory holding the `monitor` package, for the child
_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Document:
    """What a preview shows of a PDF."""

    pages: int
    excerpt: str  # the first EXCERPT_CHARS characters of text, whitespace squashed ("" for a scan)
    png: bytes  # the first page, THUMBNAIL_WIDTH pixels wide
    width: int
    height: int
    render_seconds: float  # PDFium's time in the child: open, text, render, encode


class Unreadable(Exception):
    """The file cannot be previewed; the message says why, for "preview skipped: <message>"."""


def not_a_pdf(body: bytes) -> str | None:
    """Why `body` is not a PDF at all (an HTML error page, an empty answer), or None if it may be one."""
    head = body[:1024]
    if b"%PDF-" in head:  # readers accept a little junk before the header, as the spec's implementations do
        return None
    if not body:
        return "the server sent an empty answer, not a PDF"
    sample = head.lstrip().lower()
    if sample.startswith((b"<!doctype html", b"<html")) or b"<body" in sample:
        return "the server sent an HTML page, not a PDF (an error or login page?)"
    shown = head[:16].decode("latin-1").encode("unicode_escape").decode()
    return f"not a PDF (it starts with {shown!r})"


# `timeout` is not a plain wait: it also caps the child's CPU time and kills the child when it runs out, which a
# caller's `asyncio.timeout()` could do neither of
async def read_pdf(body: bytes, *, max_pages: int = 2, timeout: float = 20.0) -> Document:  # noqa: ASYNC109
    """Page count, excerpt and thumbnail of a PDF, read in a child process; raises Unreadable."""
    reason = not_a_pdf(body)
    if reason:
        raise Unreadable(reason)
    loop = asyncio.get_running_loop()
    slot = _SLOTS.get(loop)
    if slot is None:
        slot = _SLOTS[loop] = asyncio.Semaphore(1)  # one child at a time per event loop (per process)
    async with slot:
        return await _run_child(body, max_pages, timeout)


async def _run_child(body: bytes, max_pages: int, limit: float) -> Document:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(_HERE), "LANG": "C.UTF-8"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "monitor.previews.pdf",
        "--max-pages",
        str(max_pages),
        "--cpu",
        str(max(1, int(limit))),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
    )  # a Ctrl-C to the monitor's terminal is the monitor's to handle, not the child's
    try:
        out, err = await asyncio.wait_for(process.communicate(body), limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise Unreadable(
            f"reading it took longer than {limit:g} s (a decompression bomb, or a page far too "
            "complex to draw); raise previews.timeout if your filings are really like that"
        ) from None
    except BaseException:  # cancelled (shutdown): the child must not outlive us
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    head, _, png = out.partition(b"\n")
    if process.returncode != 0 or not head:
        raise Unreadable(_died(process.returncode, err))
    try:
        answer = json.loads(head)
    except ValueError:
        raise Unreadable(
            "the PDF reader answered something unreadable: " + err.decode(errors="replace")[-200:]
        ) from None
    if answer.get("limited") is False:
        _warn_unlimited()
    if not answer.get("ok"):
        raise Unreadable(str(answer.get("reason") or "the PDF reader gave no reason"))
    if len(png) != answer["png_bytes"]:
        raise Unreadable("the PDF reader's thumbnail arrived incomplete")
    return Document(
        pages=int(answer["pages"]),
        excerpt=str(answer["excerpt"]),
        png=png,
        width=int(answer["width"]),
        height=int(answer["height"]),
        render_seconds=float(answer["seconds"]),
    )


_WARNED: list[bool] = []


def _warn_unlimited() -> None:
    if not _WARNED:
        _WARNED.append(True)
        logging.getLogger(__name__).warning(
            "the PDF reader could not limit its memory and CPU time (setrlimit refused: a system call filter?); "
            "previews are still stopped at previews.timeout. Allow setrlimit and prlimit64 (see deploy/monitor.service)"
        )


def _died(code: int | None, err: bytes) -> str:
    if code is not None and code < 0:
        sig = -code
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            return "reading it used up its CPU time (a decompression bomb, or a page far too complex to draw)"
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
        return (
            f"the PDF reader crashed on it ({name}): a damaged or hostile file, or one needing more than "
            f"{MEMORY_LIMIT >> 20} MB of memory"
        )
    text = err.decode(errors="replace").strip().splitlines()
    last = text[-1] if text else f"exit status {code}"
    if "MemoryError" in last:
        return f"reading it needs more than {MEMORY_LIMIT >> 20} MB of memory (a decompression bomb?)"
    if "No module named" in last and "pypdfium2" in last:
        return "pypdfium2 is not installed (pip install pypdfium2, or reinstall the monitor)"
    return f"the PDF reader failed: {last[-300:]}"


# ---------------------------------------------------------------- in the child


def _limit(cpu_seconds: int) -> bool:
    """Cap this process's memory and CPU time; False if the system refuses (a seccomp filter that blocks
    setrlimit): the wall-clock timeout still holds, and the monitor says once that memory is unbounded."""
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file behind
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    except (OSError, ValueError):
        return False
    return True


def excerpt_of(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Whitespace squashed, control characters dropped, cut at a word before `limit` characters."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def png_bytes(buffer: Any, width: int, height: int, stride: int, channels: int) -> bytes:
    """An 8-bit RGB (or grayscale, when every pixel is gray) PNG of a packed RGB buffer."""
    rows = memoryview(buffer)
    line = width * channels
    pixels = b"".join(bytes(rows[y * stride : y * stride + line]) for y in range(height))
    if channels == 3 and pixels[0::3] == pixels[1::3] == pixels[2::3]:
        pixels, channels, line = pixels[0::3], 1, width
    raw = b"".join(b"\x00" + pixels[y * line : (y + 1) * line] for y in range(height))  # filter: none

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    color_type = 2 if channels == 3 else 0
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def inspect(body: bytes, max_pages: int) -> tuple[dict[str, Any], bytes]:
    """The child's work: (facts, PNG). Raises Unreadable with the reason."""
    import pypdfium2 as pdfium

    started = time.perf_counter()
    try:
        document = pdfium.PdfDocument(body)
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower():
            raise Unreadable("the PDF is encrypted (it needs a password)") from None
        if "format" in text.lower():
            raise Unreadable("the file is damaged or cut short (PDFium: data format error)") from None
        raise Unreadable(f"PDFium cannot open it: {text}") from None
    pages = len(document)
    if pages < 1:
        raise Unreadable("the PDF has no pages")
    if pages > MAX_PAGE_COUNT:
        raise Unreadable(f"the PDF claims {pages:,} pages, more than the {MAX_PAGE_COUNT:,} a preview reads")
    first = document[0]
    width_pt, height_pt = first.get_size()
    if max(width_pt, height_pt) > MAX_PAGE_SIDE or min(width_pt, height_pt) < 1:
        raise Unreadable(f"its first page is {width_pt / 72:g} x {height_pt / 72:g} inches: no paper is that size")
    for obj in first.get_objects(max_depth=4):
        if isinstance(obj, pdfium.PdfImage):
            w, h = obj.get_px_size()
            if w * h > MAX_IMAGE_PIXELS:
                raise Unreadable(f"its first page draws an image of {w:,} x {h:,} pixels (a decompression bomb?)")
    texts: list[str] = []
    for index in range(min(max_pages, pages)):
        page = first if index == 0 else document[index]
        texts.append(page.get_textpage().get_text_bounded())
        if sum(len(t) for t in texts) > EXCERPT_CHARS * 2:
            break
    scale = min(THUMBNAIL_WIDTH / width_pt, THUMBNAIL_MAX_HEIGHT / height_pt)
    bitmap = first.render(scale=scale, rev_byteorder=True, fill_color=(255, 255, 255, 255), draw_annots=True)
    if bitmap.n_channels not in (3, 4):
        raise Unreadable(f"PDFium drew the page in an unexpected pixel format ({bitmap.mode})")
    png = (
        png_bytes(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, bitmap.n_channels)
        if bitmap.n_channels == 3
        else png_bytes(_drop_alpha(bitmap), bitmap.width, bitmap.height, bitmap.width * 3, 3)
    )
    facts = {
        "ok": True,
        "pages": pages,
        "excerpt": excerpt_of(" ".join(texts)),
        "width": bitmap.width,
        "height": bitmap.height,
        "png_bytes": len(png),
        "seconds": round(time.perf_counter() - started, 4),
    }
    return facts, png


def _drop_alpha(bitmap: Any) -> bytes:
    rows = memoryview(bitmap.buffer)
    packed = b"".join(
        bytes(rows[y * bitmap.stride : y * bitmap.stride + bitmap.width * 4]) for y in range(bitmap.height)
    )
    out = bytearray(len(packed) // 4 * 3)
    out[0::3], out[1::3], out[2::3] = packed[0::4], packed[1::4], packed[2::4]
    return bytes(out)


def _main() -> int:
    parser = argparse.ArgumentParser(description="read a PDF from standard input for a preview (internal)")
    parser.add_argument("--max-pages", type=int, default=2)
    parser.add_argument("--cpu", type=int, default=20)
    args = parser.parse_args()
    limited = _limit(args.cpu)
    body = sys.stdin.buffer.read()
    out = sys.stdout.buffer
    try:
        facts, png = inspect(body, args.max_pages)
    except Unreadable as exc:
        out.write(json.dumps({"ok": False, "reason": str(exc), "limited": limited}).encode() + b"\n")
        return 0
    except MemoryError:
        out.write(
            json.dumps(
                {
                    "ok": False,
                    "reason": f"reading it needs more than {MEMORY_LIMIT >> 20} MB of memory (a decompression bomb?)",
                }
            ).encode()
            + b"\n"
        )
        return 0
    out.write(json.dumps({**facts, "limited": limited}, ensure_ascii=False).encode() + b"\n" + png)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
