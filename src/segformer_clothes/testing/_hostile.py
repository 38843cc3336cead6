"""The bodies of `FakeInferenceServer`'s hostile answers: what a broken or malicious server, or
a proxy on the way, might send, for testing that a client stays safe and bounded."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Iterator

__all__ = ["HOSTILE_FAULTS", "bomb_chunks", "deep_json", "huge_integer", "mask_bomb"]

HOSTILE_FAULTS = (
    "trickle",
    "trickle_headers",
    "gzip_lie",
    "echo",
    "deep_json",
    "huge_int",
    "bomb",
    "huge",
    "mask_bomb",
    "empty",
    "no_content",
    "no_location",
)
"""The hostile faults, also in `FAULTS`; `FakeInferenceServer` documents each."""

_DEPTH = 100_000
_PAD = b" " * 2**20


def deep_json() -> bytes:
    """A 200 body of lists nested far deeper than any JSON decoder's recursion allows."""
    return b"[" * _DEPTH + b"]" * _DEPTH


def huge_integer() -> bytes:
    """A 200 body holding one integer of 100,000 digits (Python refuses to read it)."""
    return b"[" + b"9" * _DEPTH + b"]"


def bomb_chunks(answer: bytes, size: int, *, compress: bool) -> Iterator[bytes]:
    """``answer`` padded with spaces to ``size`` bytes (still valid JSON), gzip-compressed when
    ``compress`` (a thousand to one: a small body that expands to ``size``), in pieces, so that
    the server never holds it whole."""
    encoder = zlib.compressobj(9, zlib.DEFLATED, 31) if compress else None
    for piece in _padded(answer, size):
        if encoder is None:
            yield piece
        else:
            out = encoder.compress(piece)
            if out:
                yield out
    if encoder is not None:
        yield encoder.flush()


def _padded(answer: bytes, size: int) -> Iterator[bytes]:
    yield answer
    left = max(size - len(answer), 0)
    while left > 0:
        piece = _PAD[: min(left, len(_PAD))]
        left -= len(piece)
        yield piece


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def mask_bomb(side: int = 100_000) -> bytes:
    """A 200 answer whose one mask is a tiny PNG whose header claims ``side`` x ``side``
    pixels (ten billion by default): decoding it as it says would take gigabytes."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _chunk(b"IEND", b"")
    )
    item = {"score": None, "label": "Pants", "mask": base64.b64encode(png).decode("ascii")}
    return json.dumps([item]).encode()
