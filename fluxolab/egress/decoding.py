"""Decode a response body (``Content-Encoding``) under the size cap, a bounded piece at a time.

httpx decodes each raw chunk at once: one 64 KiB chunk of a gzip bomb inflates to some 64 MiB
before any cap can look at it, and every further encoding layer (``gzip, gzip``) multiplies
that again. Here every decompression call yields at most ``PIECE_BYTES``, each layer stops
once it has produced more than the cap, and at most ``MAX_ENCODINGS`` layers are accepted, so
what a body inflates to in memory is bounded by the cap whatever it came compressed as.

The codings are httpx's own: ``gzip``, ``deflate`` (zlib-wrapped, or raw as some servers send
it) and ``identity``; a coding httpx does not know leaves the body as it came.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence

from fluxolab.egress.errors import EgressError

PIECE_BYTES = 64 * 1024
MAX_ENCODINGS = 4
DECODED = ("gzip", "deflate")


def codings(values: Sequence[str]) -> list[str]:
    """Return the codings to undo, in decoding order, from the ``Content-Encoding`` values.

    Raises EgressError for more than ``MAX_ENCODINGS`` of them.
    """
    applied = [part.strip().lower() for value in values for part in value.split(",")]
    known = [coding for coding in applied if coding in DECODED]
    if len(known) > MAX_ENCODINGS:
        raise EgressError(f"Response has more than {MAX_ENCODINGS} content encodings")
    return list(reversed(known))


class _Layer:
    """Undoes one coding; its output in pieces of at most ``PIECE_BYTES``."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._first = True
        wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Yield the decoded pieces of ``data``; data after the end of the stream is ignored."""
        while data and not self._inflate.eof:
            try:
                piece = self._inflate.decompress(data, PIECE_BYTES)
            except zlib.error as exc:
                if not (self._first and self._coding == "deflate"):
                    raise EgressError(f"Response body could not be decoded ({exc})") from exc
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate
                self._first = False
                continue
            self._first = False
            data = self._inflate.unconsumed_tail
            if piece:
                yield piece

    def finish(self) -> Iterator[bytes]:
        """Yield what the decompressor still holds at the end of the body."""
        while not self._inflate.eof:
            try:
                piece = self._inflate.decompress(b"", PIECE_BYTES)
            except zlib.error as exc:
                raise EgressError(f"Response body could not be decoded ({exc})") from exc
            if not piece:
                return
            yield piece


def decoded(raw: Iterable[bytes], order: Sequence[str], max_bytes: int) -> bytes:
    """Return the body of ``raw`` chunks with the codings ``order`` undone, at most ``max_bytes``.

    Raises EgressError when the body, or any intermediate layer, grows past ``max_bytes``, or
    when it is not what its coding says.
    """
    layers = [_Layer(coding) for coding in order]
    produced = [0] * len(layers)
    out: list[bytes] = []
    size = 0

    def push(index: int, data: bytes) -> None:
        nonlocal size
        if index == len(layers):
            size += len(data)
            if size > max_bytes:
                raise EgressError(f"Response is larger than {max_bytes} bytes")
            out.append(data)
            return
        for piece in layers[index].feed(data):
            _count(produced, index, len(piece), max_bytes)
            push(index + 1, piece)

    for chunk in raw:
        push(0, chunk)
    for index, layer in enumerate(layers):
        for piece in layer.finish():
            _count(produced, index, len(piece), max_bytes)
            push(index + 1, piece)
    return b"".join(out)


def _count(produced: list[int], index: int, size: int, max_bytes: int) -> None:
    """Add ``size`` to what layer ``index`` produced; EgressError past ``max_bytes``."""
    produced[index] += size
    if produced[index] > max_bytes:
        raise EgressError(f"Response is larger than {max_bytes} bytes")
