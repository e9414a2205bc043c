"""Compression bombs, built in a fraction of a second: zeros compress to about a thousandth of their size.

Compressing a gigabyte of zeros takes seconds; instead one mebibyte is compressed with a full flush
(which restarts the compressor, so every later mebibyte compresses to the same bytes) and that block is
repeated. The results are valid streams that decode to exactly `mib` MiB of zeros (gzip's CRC excepted:
computing it would cost what this saves, and a capped reader never reaches it).
"""

from __future__ import annotations

import functools
import gzip
import struct
import zlib

_MIB = 1 << 20
_FINAL_EMPTY_BLOCK = b"\x03\x00"  # deflate: a last, empty, fixed-Huffman block


@functools.cache
def _zeros_block() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(bytes(_MIB)) + packer.flush(zlib.Z_FULL_FLUSH)


def raw_deflate_zeros(mib: int) -> bytes:
    return _zeros_block() * mib + _FINAL_EMPTY_BLOCK


def zlib_zeros(mib: int) -> bytes:
    """`deflate` as RFC 9110 means it: zlib-wrapped. Adler-32 of n zeros is (n mod 65521) << 16 | 1."""
    return b"\x78\xda" + raw_deflate_zeros(mib) + struct.pack(">I", ((mib * _MIB) % 65521) << 16 | 1)


def gzip_zeros(mib: int) -> bytes:
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + raw_deflate_zeros(mib) + struct.pack("<II", 0, (mib * _MIB) & 0xFFFFFFFF)


def gzip_of(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def empty_gzip_members(count: int) -> bytes:
    """`count` empty gzip members, gzip-compressed again: 1,000,000 of them are about 50 KB on the wire
    and decode to nothing, slowly (a member at a time): a body that keeps a decoder busy."""
    member = gzip.compress(b"", mtime=0)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    batch = member * 65536
    parts = [packer.compress(batch) for _ in range(count // 65536)]
    parts.append(packer.compress(member * (count % 65536)))
    return b"".join(parts) + packer.flush()
