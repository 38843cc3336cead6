"""`BaseSegmenter`: the batch semantics every backend shares, written once.

A backend implements a single hook, ``_asegment_chunk`` (segment a few photos at once, each
failure in its photo's place), and inherits everything else users rely on: `segment_many` and
`asegment_many` in input order with bounded read-ahead, ``return_exceptions``, progress counts,
``source`` on every result and error, cancellation on an early break, `segment_batch`, and the
context managers. A backend that computes a batch at once (the local model) also overrides
`segment_batch` with its native form.

Example:
    >>> import numpy as np
    >>> from segformer_clothes import SegmentationResult
    >>> class Blank(BaseSegmenter):
    ...     async def _asegment_chunk(self, images):
    ...         return [SegmentationResult(np.zeros((2, 3), np.uint8)) for _ in images]
    >>> [(result.size, result.source) for result in Blank().segment_batch(["a.jpg", "b.jpg"])]
    [((3, 2), 'a.jpg'), ((3, 2), 'b.jpg')]
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from types import TracebackType
from typing import Literal, TypeVar, overload

from ..images import ImageInput
from ..result import SegmentationResult
from ._batching import (
    ChunkWorker,
    DeliveredOutcomes,
    Delivery,
    Outcomes,
    SyncBatch,
    chunked,
    one,
    raise_or_return,
    with_source,
)
from .ordered import OrderedMap
from .protocol import Outcome

__all__ = ["BaseSegmenter", "ChunkWorker"]


_Self = TypeVar("_Self")


class BaseSegmenter:
    """The batch semantics every backend shares; a backend implements ``_asegment_chunk``.

    Subclasses set ``_chunk_size`` (photos per call of ``_asegment_chunk``: 1 for a backend
    that sends photos one by one, the batch size for one that computes batches),
    ``_concurrency`` (calls in flight at once) and ``_read_ahead`` (chunks read from the input
    at most, twice the concurrency unless overridden). They may override `segment` (a faster way for
    one photo), `segment_batch` (a native batch), `close` / `aclose`, ``_worker`` (the hook
    bound to the caller's event loop) and ``_own_loop_worker`` (the hook a sync batch uses on
    its own short-lived event loop).

    Example:
        >>> import numpy as np
        >>> class Blank(BaseSegmenter):
        ...     async def _asegment_chunk(self, images):
        ...         return [SegmentationResult(np.zeros((2, 3), np.uint8)) for _ in images]
        >>> [result.size for result in Blank().segment_many(["a.jpg", "b.jpg"])]
        [(3, 2), (3, 2)]
    """

    _chunk_size: int = 1
    _concurrency: int = 1

    @property
    def _read_ahead(self) -> int:
        """Chunks taken from the input at most, the ones in flight included."""
        return 2 * self._concurrency

    async def _asegment_chunk(self, images: list[ImageInput]) -> list[Outcome]:
        """Segment a few photos; a photo that fails gets its error in its place."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _asegment_chunk")

    def _worker(self) -> ChunkWorker:
        """The chunk hook for the caller's running event loop."""
        return self._asegment_chunk

    @contextlib.asynccontextmanager
    async def _own_loop_worker(self) -> AsyncIterator[ChunkWorker]:
        """The chunk hook for a sync batch, which runs on an event loop of its own."""
        yield self._worker()

    # ----------------------------------------------------------------- one photo

    def segment(self, image: ImageInput) -> SegmentationResult:
        """Segment one photo.

        Raises:
            SegformerClothesError: the photo failed (a subclass says how), with ``source``.
        """
        return raise_or_return(self.segment_batch([image])[0])

    async def asegment(self, image: ImageInput) -> SegmentationResult:
        """Segment one photo without blocking the event loop (asyncio or trio).

        Raises:
            SegformerClothesError: as `segment` does.
        """
        outcomes = await self._worker()([image])
        return raise_or_return(with_source(one(outcomes), image))

    # ----------------------------------------------------------------- batches

    def segment_batch(self, images: Sequence[ImageInput]) -> list[Outcome]:
        """Segment a batch of photos, giving each photo's result or error in input order.

        Never raises for one photo's failure: that photo's `SegformerClothesError` takes its
        place. Ray's ``map_batches`` and the server's dynamic batching call this.

        Example:
            >>> import numpy as np
            >>> from segformer_clothes.testing import FakeInferenceServer
            >>> from segformer_clothes import SegformerClothesClient
            >>> with FakeInferenceServer() as server, SegformerClothesClient(
            ...     endpoint_url=server.url
            ... ) as client:
            ...     outcomes = client.segment_batch([np.zeros((4, 4, 3), np.uint8), b""])
            >>> [type(outcome).__name__ for outcome in outcomes]
            ['SegmentationResult', 'InvalidImageError']
        """
        return list(self.segment_many(images, return_exceptions=True))

    @overload
    def segment_many(
        self,
        images: Iterable[ImageInput],
        *,
        return_exceptions: Literal[False] = False,
        progress: Callable[[int], object] | None = None,
    ) -> Iterator[SegmentationResult]: ...

    @overload
    def segment_many(
        self,
        images: Iterable[ImageInput],
        *,
        return_exceptions: Literal[True],
        progress: Callable[[int], object] | None = None,
    ) -> Iterator[Outcome]: ...

    def segment_many(
        self,
        images: Iterable[ImageInput],
        *,
        return_exceptions: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> Iterator[Outcome]:
        """Segment many photos, yielding results in input order.

        ``images`` may be any iterable, a generator over millions of paths included: it is
        read only a little ahead of the photos in flight, so memory stays flat. The work runs
        on a short-lived event loop in a worker thread that ends with the loop, so this works
        in a plain script and inside a running event loop (a Jupyter cell) alike. Breaking
        out of the loop cancels what is in flight and leaves nothing running.

        Args:
            images: the photos (paths, bytes, files, PIL images, arrays).
            return_exceptions: False raises the first failed photo's error at its place in
                the order; True yields that error in its place and goes on. Every result and
                error carries ``source``.
            progress: called in the caller's thread with the number of photos done so far
                (successes and failures alike), once per photo, before it is yielded or raised.

        Example:
            >>> from PIL import Image
            >>> from segformer_clothes.testing import FakeInferenceServer
            >>> from segformer_clothes import SegformerClothesClient
            >>> photos = [Image.new("RGB", (30, 40), "red"), Image.new("RGB", (50, 20), "blue")]
            >>> with FakeInferenceServer() as server, SegformerClothesClient(
            ...     endpoint_url=server.url
            ... ) as client:
            ...     [result.size for result in client.segment_many(photos)]
            [(30, 40), (50, 20)]
        """
        delivery = Delivery(return_exceptions, progress)
        batch = SyncBatch(self._own_loop_worker, lambda worker: self._outcomes(images, worker))
        consumer = threading.get_ident()
        try:
            while (outcome := batch.next()) is not None:
                yield delivery.hand_over(outcome)
                consumer = threading.get_ident()
        finally:
            # An iterator dropped in a reference cycle is finalised by the garbage collector in
            # whatever thread runs it, possibly a worker of this very batch: waiting there for
            # the batch to stop would wait for itself, so the waiting moves to its own thread.
            batch.close(wait=threading.get_ident() == consumer)

    @overload
    def asegment_many(
        self,
        images: Iterable[ImageInput] | AsyncIterable[ImageInput],
        *,
        return_exceptions: Literal[False] = False,
        progress: Callable[[int], object] | None = None,
    ) -> AsyncIterator[SegmentationResult]: ...

    @overload
    def asegment_many(
        self,
        images: Iterable[ImageInput] | AsyncIterable[ImageInput],
        *,
        return_exceptions: Literal[True],
        progress: Callable[[int], object] | None = None,
    ) -> AsyncIterator[Outcome]: ...

    def asegment_many(
        self,
        images: Iterable[ImageInput] | AsyncIterable[ImageInput],
        *,
        return_exceptions: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> AsyncIterator[Outcome]:
        """Like `segment_many`, for ``async for`` (asyncio or trio).

        ``images`` may also be an async iterable. Breaking out of the loop cancels what is in
        flight; the iterator is also an async context manager, and ``aclose()`` waits until
        everything has stopped.

        Example:
            >>> import anyio
            >>> from PIL import Image
            >>> from segformer_clothes.testing import FakeInferenceServer
            >>> from segformer_clothes import SegformerClothesClient
            >>> async def main(url):
            ...     photos = [Image.new("RGB", (size, size)) for size in (10, 20, 30)]
            ...     async with SegformerClothesClient(endpoint_url=url) as client:
            ...         return [r.size async for r in client.asegment_many(photos)]
            >>> with FakeInferenceServer() as server:
            ...     anyio.run(main, server.url)
            [(10, 10), (20, 20), (30, 30)]
        """
        outcomes = self._outcomes(images, self._worker())
        return DeliveredOutcomes(outcomes, Delivery(return_exceptions, progress))

    def _outcomes(
        self, images: Iterable[ImageInput] | AsyncIterable[ImageInput], worker: ChunkWorker
    ) -> Outcomes:
        # Read a little ahead of the chunks in flight so that a slow one does not idle the
        # others, but never more: memory stays flat over any number of photos.
        chunks = OrderedMap(
            chunked(images, self._chunk_size),
            worker,
            window=self._read_ahead,
            concurrency=self._concurrency,
        )
        return Outcomes(chunks)

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Release what this backend holds; it does nothing unless a backend needs it."""

    async def aclose(self) -> None:
        """Release what this backend holds, from async code."""
        self.close()

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
