"""Reading one answer's body within bounds: its decoded size under a cap, its time under the
exchange's deadline, and its content encoding decoded here, a bounded piece at a time.

The body is decoded here rather than by httpx so that a gzip bomb never expands past the cap
(each piece is inflated at most up to the room left), and so that a refused body stops the
read without leaving httpx's stream half-iterated: the drivers stop reading when `Body.add`
says so (the async one by cancelling the read, which unwinds the stream from inside).
"""

from __future__ import annotations

import time
import zlib

import httpx

__all__ = ["ACCEPTED_ENCODINGS", "AnswerTooLarge", "Body"]

ACCEPTED_ENCODINGS = "gzip, deflate"
"""The ``Accept-Encoding`` the client sends: the encodings `Body` decodes."""

_WINDOW_BITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


class AnswerTooLarge(Exception):
    """The answer is larger than the cap (by its ``Content-Length``, or as it was read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class Body:
    """An answer's body as it is read. `add` each raw piece; `content` gives the decoded body,
    or raises why it was refused (`AnswerTooLarge`, `TimeoutError`, `httpx.DecodingError`).

    Example:
        >>> response = httpx.Response(200, headers={"content-encoding": "gzip"})
        >>> body = Body(response, max_bytes=10, deadline=time.monotonic() + 5)
        >>> body.add(b"plain text, not gzip")
        False
        >>> body.content()
        Traceback (most recent call last):
        ...
        httpx.DecodingError: the body is not gzip: ...
    """

    def __init__(self, response: httpx.Response, *, max_bytes: int, deadline: float) -> None:
        self._limit = max_bytes
        self._deadline = deadline
        self._chunks: list[bytes] = []
        self._size = 0
        self.failure: Exception | None = None
        encoding = response.headers.get("content-encoding", "").strip().lower()
        self._encoding = encoding
        self._decoder = None
        if encoding in _WINDOW_BITS:
            self._decoder = zlib.decompressobj(_WINDOW_BITS[encoding])
        elif encoding not in ("", "identity"):
            self.failure = httpx.DecodingError(
                f"the content encoding {encoding!r} is not one the client asked for "
                f"({ACCEPTED_ENCODINGS})"
            )
        declared = response.headers.get("content-length", "")
        if self._decoder is None and declared.isdigit() and int(declared) > self._limit:
            self.failure = AnswerTooLarge(self._limit)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise AnswerTooLarge(self._limit)
        if data:
            self._chunks.append(data)

    def _inflate(self, raw: bytes) -> None:
        assert self._decoder is not None
        room = self._limit - self._size
        try:
            data = self._decoder.decompress(raw, room + 1)
        except zlib.error as error:
            raise httpx.DecodingError(f"the body is not {self._encoding}: {error}") from None
        if self._decoder.unconsumed_tail:  # it would expand past the room left
            raise AnswerTooLarge(self._limit)
        self._keep(data)

    def add(self, raw: bytes) -> bool:
        """Take one raw piece of the body; False once the body is refused (stop reading)."""
        if self.failure is not None:
            return False
        try:
            if time.monotonic() > self._deadline:
                raise TimeoutError("the whole answer took longer than the timeout")
            if self._decoder is None:
                self._keep(raw)
            else:
                self._inflate(raw)
        except (AnswerTooLarge, TimeoutError, httpx.DecodingError) as error:
            self.failure = error
            self._chunks.clear()
        return self.failure is None

    def add_decoded(self, data: bytes) -> None:
        """Take a body already read and decoded (an `httpx.Response` built in memory, as a
        mock transport gives): only the size cap applies."""
        self._decoder = None
        try:
            self._keep(data)
        except AnswerTooLarge as error:
            self.failure = error
            self._chunks.clear()

    def content(self) -> bytes:
        """The decoded body; raises why it was refused, if it was."""
        if self.failure is None and self._decoder is not None:
            try:
                self._keep(self._decoder.flush())
            except (zlib.error, AnswerTooLarge) as error:
                self.failure = (
                    error
                    if isinstance(error, AnswerTooLarge)
                    else httpx.DecodingError(f"the body is not {self._encoding}: {error}")
                )
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        body = b"".join(self._chunks)
        self._chunks.clear()
        return body
