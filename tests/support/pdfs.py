"""PDF files built by hand for the preview tests: well-formed ones and each kind of hostile one.

A PDF is a header, numbered objects, a cross-reference table giving each object's byte offset, and a
trailer naming the catalog (ISO 32000-1, 7.5). `build_pdf` writes exactly that from a list of object
bodies, so each hostile variant below is the smallest honest file that shows its one problem:

- `text_pdf`: pages of text in a standard font (no embedded font: every reader has Helvetica);
- `many_pages_pdf`: a page tree of n pages that all share one content stream (10,000 pages in ~400 KB);
- `huge_page_pdf`: one page of 200 x 200 inches (beyond the 14,400-point limit of the spec);
- `bomb_pdf`: one page drawing an image whose stream is a few KB and inflates to gigabytes (deflate
  blocks of zeros, repeated, deflated again: built in a fraction of a second, never held inflated);
- `encrypted_pdf`: `text_pdf` under a user password (RC4, through pypdf);
- `truncated`: the first part of a file, as a download cut short gives it.
"""

from __future__ import annotations

import io
import zlib

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def build_pdf(objects: list[bytes], *, root: int = 1) -> bytes:
    """Objects numbered 1..n in order; `root` is the catalog's number."""
    out = bytearray(HEADER)
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _escape(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1", "replace")


def _text_content(lines: list[str], size: int = 12) -> bytes:
    ops = [b"BT /F1 %d Tf %d TL 72 720 Td" % (size, size + 4)]
    ops += [b"(" + _escape(line) + b") Tj T*" for line in lines]
    ops.append(b"ET")
    return b"\n".join(ops)


def text_pdf(pages: list[list[str]], *, media: tuple[float, float] = (612, 792)) -> bytes:
    """One page per list of lines, letter size by default."""
    n = len(pages)
    # 1 catalog, 2 page tree, 3 font, then (page, content) pairs
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    box = b"[0 0 %g %g]" % media
    for i, lines in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox " + box + b" /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(_stream(_text_content(lines)))
    return build_pdf(objects)


def many_pages_pdf(count: int) -> bytes:
    """`count` pages sharing one content stream: a small file with a huge page count."""
    first = 5
    kids = b" ".join(b"%d 0 R" % (first + i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        _stream(_text_content(["One of many pages."])),
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 4 0 R >>"
    )
    objects += [page] * count
    return build_pdf(objects)


def huge_page_pdf(width_in: float = 200, height_in: float = 200) -> bytes:
    return text_pdf([["A page the size of a room."]], media=(width_in * 72, height_in * 72))


def _repeated_deflate(block: bytes, times: int, *, zeros: bool = False) -> bytes:
    """A zlib stream that inflates to `block * times`, built from one deflate block repeated (the
    dictionary is emptied after each, so every copy is the same bytes): fast for any size."""
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    once = raw.compress(block) + raw.flush(zlib.Z_FULL_FLUSH)
    if zeros:  # Adler-32 of n zero bytes: a = 1, b = n (mod 65521)
        check = ((len(block) * times % 65521) << 16) | 1
    else:
        check = 1
        for _ in range(times):
            check = zlib.adler32(block, check)
    return b"\x78\xda" + once * times + raw.flush(zlib.Z_FINISH) + check.to_bytes(4, "big")


def bomb_pdf(width: int = 40_000, height: int = 40_000) -> bytes:
    """One page drawing a width x height RGB image (40,000 x 40,000: 4.8 GB inflated) in a file of a few KB:
    the image is deflated twice (`/Filter [/FlateDecode /FlateDecode]`), as real bombs do."""
    data = zlib.compress(_repeated_deflate(bytes(width * 3), height, zeros=True), 9)  # row by row
    image = _stream(
        data,
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter [/FlateDecode /FlateDecode] " % (width, height),
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        image,
        _stream(b"q 612 0 0 792 0 0 cm /Im1 Do Q"),
    ]
    return build_pdf(objects)


def encrypted_pdf(password: str = "sealed") -> bytes:
    """A text PDF that opens only with a password (the RC4 standard security handler; pypdf needs no
    cryptography package for it)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([["Under seal."]]))))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated(pdf: bytes, keep: float = 0.5) -> bytes:
    return pdf[: int(len(pdf) * keep)]


HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
    b"<p>The requested URL was not found on this server.</p></body></html>"
)


def slow_page_pdf(repeats: int = 20_000_000) -> bytes:
    """One page whose content stream (a few KB deflated twice) draws `repeats` tiny lines: minutes of work
    for any reader, the shape of a content-stream bomb."""
    block = b"0 0 m 1 1 l S\n" * 100_000
    content = zlib.compress(_repeated_deflate(block, max(1, repeats // 100_000)), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        _stream(content, b"/Filter [/FlateDecode /FlateDecode] "),
    ]
    return build_pdf(objects)
