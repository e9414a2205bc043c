"""Content-Encoding, undone in bounded steps, so a compression bomb costs no more than the size cap.

httpx can decode a body itself, but it inflates each network chunk in one step: 16 KB of
`Content-Encoding: gzip, gzip` become gigabytes in memory, in one call that holds the event loop for
many seconds, before any size check sees a byte. Here the raw, still encoded bytes (from
`httpx.Response.aiter_raw()`, whatever the transport) are decoded layer by layer, and no decompression
call returns more than `STEP` bytes (zlib's `max_length` and `unconsumed_tail`), so:

- the size cap is counted on the decoded bytes, for every encoding and every stacking, and decoding
  stops as soon as it is passed: memory held is about the cap, never the bomb;
- the caller gets control back after every bounded step (an empty piece when a step produced nothing),
  so `read_decoded` hands the event loop over between steps: other tasks run, and a time cap
  (`asyncio.timeout`) fires even in the middle of decoding.

Encodings understood: `identity`; `gzip` and `x-gzip` (several members one after the other, as RFC 1952
allows); `deflate`, in the zlib wrapping RFC 9110 specifies and in the raw form some old servers send
(told apart by the zlib header); `br` when the `brotli` module is installed in a version that can bound
its output (1.2 or later); `zstd` when `compression.zstd` (Python 3.14) or `backports.zstd` is
installed. The client asks only for gzip and deflate; the others are decoded when a server sends them
unasked. Anything else is an `UndecodableBody` error naming the encoding. Stacked encodings
(`Content-Encoding: gzip, br`: gzip applied first) are undone in reverse order, at most `MAX_LAYERS`.
A compressed stream that stops before its end marker is an error, not a shorter body: a feed cut short
would read as items removed.
"""

from __future__ import annotations

import asyncio
import functools
import zlib
from collections.abc import AsyncIterable, Callable, Iterator, Sequence
from typing import Any, Protocol

STEP = 64 * 1024  # the most one decompression call may return
MAX_LAYERS = 4  # real servers stack at most two; a long stack is an attack, or a broken proxy chain


class UndecodableBody(ValueError):
    """The body cannot be decoded: an unknown encoding, corrupt or truncated compressed data."""


class BodyTooLarge(ValueError):
    """The body passed the size cap: `decoded` bytes so far, from `wire` bytes received."""

    def __init__(self, cap: int, decoded: int, wire: int, encodings: Sequence[str]):
        self.cap, self.decoded, self.wire, self.encodings = cap, decoded, wire, tuple(encodings)
        super().__init__(f"over the {cap:,}-byte cap")


class _Layer(Protocol):
    name: str

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of at most STEP bytes each; b"" for a step that produced nothing."""

    def end(self) -> Iterator[bytes]:
        """What is left once the input is over; raises UndecodableBody if the stream is incomplete."""


class _Inflate:
    """gzip (`gzip=True`, any number of members) or deflate (zlib-wrapped or raw) through zlib."""

    def __init__(self, name: str, *, gzip: bool):
        self.name = name
        self._gzip = gzip
        self._z: Any = None  # the current stream or gzip member; None before it starts
        self._head = b""  # deflate: the first bytes, until the zlib header can be told from raw deflate
        self._members = 0  # gzip members read to their end
        self._fresh = True  # the current stream has produced no output yet
        self._over = False  # the data ended; anything after it is ignored, as zlib and browsers do

    def _open(self, data: bytes) -> bytes:
        """Start a stream (or the next gzip member); returns the input to give it, b"" until known."""
        self._fresh = True
        if self._gzip:
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            return data
        self._head += data
        if len(self._head) < 2:
            return b""
        data, self._head = self._head, b""
        # RFC 1950 header: compression method 8, and the first two bytes a multiple of 31
        wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        self._z = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return data

    def _junk_after_end(self) -> bool:
        """Bytes after a complete gzip member that are no member (padding, junk): ignored, as gzip does."""
        return self._members > 0 and self._fresh

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = False  # a full step may leave output inside zlib with no input left to give
        while not self._over and (data or pending):
            if self._z is None:
                data = self._open(data)
                if self._z is None:
                    return
            try:
                out = self._z.decompress(data, STEP)
            except zlib.error as exc:
                if self._junk_after_end():
                    self._over = True
                    return
                raise UndecodableBody(f"the body is not valid {self.name} data ({exc})") from None
            data, pending = self._z.unconsumed_tail, len(out) == STEP
            self._fresh = self._fresh and not out
            yield out
            if self._z.eof:
                data, pending = self._z.unused_data + data, False
                if self._gzip:
                    self._z, self._members = None, self._members + 1  # another member may follow
                else:
                    self._over = True

    def end(self) -> Iterator[bytes]:
        if self._head or (self._z is not None and not self._over and not self._junk_after_end()):
            raise UndecodableBody(f"the {self.name} data ends before its end marker (truncated body?)")
        return iter(())


class _Brotli:
    """br, through the `brotli` module's bounded `process(..., output_buffer_limit=)` (brotli 1.2+)."""

    name = "br"

    def __init__(self, module: Any):
        self._module = module
        self._d = module.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            while not self._d.is_finished():  # bytes after the end are ignored
                out = self._d.process(data, output_buffer_limit=STEP)
                data = b""
                yield out
                if len(out) < STEP and self._d.can_accept_more_data():
                    return
        except self._module.error as exc:
            raise UndecodableBody(f"the body is not valid br data ({exc})") from None

    def end(self) -> Iterator[bytes]:
        # brotli may keep decoded bytes back until asked again with no input: drain them, bounded
        yield from self.feed(b"")
        if not self._d.is_finished():
            raise UndecodableBody("the br data ends before its end (truncated body?)")


class _Zstd:
    """zstd, through `compression.zstd` / `backports.zstd`, whose `decompress` takes a `max_length`."""

    name = "zstd"

    def __init__(self, module: Any):
        self._module = module
        self._d: Any = None  # one decompressor per frame; several frames may follow one another

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            while data or (self._d is not None and not self._d.needs_input and not self._d.eof):
                if self._d is None:
                    self._d = self._module.ZstdDecompressor()
                out = self._d.decompress(data, STEP)
                data = b""
                yield out
                if self._d.eof:
                    data, self._d = self._d.unused_data, None
        except self._module.ZstdError as exc:
            raise UndecodableBody(f"the body is not valid zstd data ({exc})") from None

    def end(self) -> Iterator[bytes]:
        if self._d is not None and not self._d.eof:
            raise UndecodableBody("the zstd data ends before its end (truncated body?)")
        return iter(())


def _brotli_module() -> Any:
    try:
        import brotli
    except ImportError:
        return None
    try:
        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except TypeError:
        return None  # an older brotli: its output cannot be bounded, so it is not used
    return brotli


def _zstd_module() -> Any:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14
    except ImportError:
        try:
            from backports import zstd
        except ImportError:
            return None
    return zstd


_BUILT_IN: dict[str, Callable[[], _Layer]] = {
    "gzip": lambda: _Inflate("gzip", gzip=True),
    "x-gzip": lambda: _Inflate("gzip", gzip=True),
    "deflate": lambda: _Inflate("deflate", gzip=False),
}


@functools.cache
def _optional() -> dict[str, Callable[[], _Layer]]:
    """br and zstd, if their modules are installed: looked up the first time a server sends one."""
    found: dict[str, Callable[[], _Layer]] = {}
    if (brotli := _brotli_module()) is not None:
        found["br"] = lambda: _Brotli(brotli)
    if (zstd := _zstd_module()) is not None:
        found["zstd"] = lambda: _Zstd(zstd)
    return found


def supported_encodings() -> list[str]:
    return ["identity", *_BUILT_IN, *_optional()]


def parse_encodings(values: Sequence[str]) -> list[str]:
    """`Content-Encoding` header values (one or several lines) -> the encodings in the order applied."""
    names = [part.strip().lower() for value in values for part in value.split(",")]
    return [name for name in names if name and name != "identity"]


def _layers(encodings: Sequence[str]) -> list[_Layer]:
    if len(encodings) > MAX_LAYERS:
        raise UndecodableBody(
            f"{len(encodings)} content encodings stacked ({', '.join(encodings)}); at most {MAX_LAYERS} are undone"
        )
    factories = [_BUILT_IN.get(name) or _optional().get(name) for name in encodings]
    if None in factories:
        unknown = encodings[factories.index(None)]
        raise UndecodableBody(
            f"unsupported content encoding {unknown!r} (supported: {', '.join(supported_encodings())})"
        )
    return [factory() for factory in reversed(factories)]  # type: ignore[misc]  # the last applied, undone first


def _through(layers: Sequence[_Layer], data: bytes) -> Iterator[bytes]:
    """`data` decoded by every layer in turn, a bounded step at a time."""
    if not layers:
        yield data
        return
    for piece in layers[0].feed(data):
        if piece:
            yield from _through(layers[1:], piece)
        else:
            yield b""


def _finish(layers: Sequence[_Layer]) -> Iterator[bytes]:
    """The end of the input, told to every layer in turn (what a layer still holds goes through the rest)."""
    for index, layer in enumerate(layers):
        for piece in layer.end():
            yield from _through(layers[index + 1 :], piece)


async def read_decoded(raw: AsyncIterable[bytes], encodings: Sequence[str], *, max_bytes: int) -> bytes:
    """The decoded body from raw chunks. Raises BodyTooLarge past `max_bytes` (counted on the bytes
    received and on the decoded bytes), UndecodableBody for an unknown encoding or broken data."""
    layers = _layers(encodings)
    chunks: list[bytes] = []
    size = wire = 0

    async def take(pieces: Iterator[bytes]) -> None:
        nonlocal size
        for piece in pieces:
            size += len(piece)
            if size > max_bytes:
                raise BodyTooLarge(max_bytes, size, wire, encodings)
            if piece:
                chunks.append(piece)
            if layers:
                await asyncio.sleep(0)  # one bounded step done: let the loop run (and a timeout fire)

    async for data in raw:
        wire += len(data)
        if wire > max_bytes:  # an endless body that decodes to nothing is still a body too large
            raise BodyTooLarge(max_bytes, size, wire, encodings)
        await take(_through(layers, data))
    await take(_finish(layers))
    return b"".join(chunks)
