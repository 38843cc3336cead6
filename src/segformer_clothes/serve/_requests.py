"""One inference request, checked and read: its type, its size, its bytes, its photo."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import AsyncIterator

from PIL import Image

from ..errors import InvalidImageError
from ..images import load_image
from ._settings import ACCEPTED_TYPES

__all__ = ["Refusal", "authorised", "decode_photo", "media_type", "read_body"]


class Refusal(Exception):
    """A request answered with an error status and ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def authorised(header: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries the token (always, when none is set).

    The comparison takes the same time wherever the two differ, so that a caller cannot guess
    the token a character at a time.
    """
    if token is None:
        return True
    scheme, _, given = (header or "").partition(" ")
    expected = token.encode("utf-8")
    # compare_digest on bytes: any character is allowed, and a wrong scheme still costs a
    # comparison.
    matches = hmac.compare_digest(given.strip().encode("utf-8"), expected)
    return matches and scheme.lower() == "bearer"


def media_type(header: str | None) -> str:
    """The request's media type, lower case without parameters; a `Refusal` when it has none
    (400) or one the server does not take (415)."""
    kind = (header or "").split(";", 1)[0].strip().lower()
    if not kind:
        raise Refusal(
            400,
            "the request has no Content-Type; send the image's type, such as "
            "'Content-Type: image/jpeg'",
        )
    if kind == "image/jpg":  # a common misspelling, meant as JPEG
        kind = "image/jpeg"
    if kind not in ACCEPTED_TYPES:
        raise Refusal(
            415,
            f"Content-Type {kind!r} is not accepted; send the raw bytes of a photo as one of "
            + ", ".join(ACCEPTED_TYPES),
        )
    return kind


def too_large(limit: int) -> Refusal:
    return Refusal(
        413,
        f"the request body is larger than this server accepts ({limit} bytes); send the photo "
        "downscaled, or start the server with a larger --max-body-mb",
    )


async def read_body(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it is known to exceed ``limit`` bytes: from
    its ``Content-Length`` before any byte is read, or while reading a body that has none."""
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise Refusal(400, f"Content-Length {declared!r} is not a number") from None
        if length > limit:
            raise too_large(limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def _json_inputs(body: bytes) -> bytes:
    """The image of a ``{"inputs": "<base64>"}`` body."""
    try:
        payload = json.loads(body)
        encoded = payload["inputs"]
        if not isinstance(encoded, str):
            raise TypeError("inputs is not a string")
        return base64.b64decode(encoded.split(",", 1)[-1], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        raise Refusal(
            400,
            'a JSON body must be {"inputs": "<the image, base64-encoded>"}; or send the raw '
            "image bytes with the image's Content-Type",
        ) from None


def decode_photo(body: bytes, kind: str) -> Image.Image:
    """The upright RGB photo a body holds (EXIF orientation applied); a `Refusal` (400)
    saying what is wrong with it otherwise. Runs in a worker thread."""
    data = _json_inputs(body) if kind == "application/json" else body
    try:
        return load_image(data)
    except InvalidImageError as error:
        raise Refusal(400, f"the body is not a usable image: {error.message}") from None
