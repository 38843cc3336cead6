"""`Segmenter`, the contract every backend keeps, and `BaseSegmenter`, its batch semantics
written once.

A backend is anything that turns photos into `SegmentationResult` objects: the HTTP client,
the in-process model, a Ray worker, the served model. Each one implements a single hook,
``_asegment_chunk`` (segment a few photos at once, each failure in its photo's place), and
inherits from `BaseSegmenter` everything else users rely on: `segment_many` and
`asegment_many` in input order with bounded read-ahead, ``return_exceptions``, progress
counts, ``source`` on every result and error, cancellation on an early break, `segment_batch`,
and the context managers. A backend that computes a batch at once (the local model) also
overrides `segment_batch` with its native form.

Example:
    >>> from PIL import Image
    >>> from segformer_clothes import SegformerClothesClient, Segmenter
    >>> from segformer_clothes.testing import FakeInferenceServer
    >>> def sizes(segmenter: Segmenter) -> list:
    ...     photos = [Image.new("RGB", (30, 40)), b"not an image"]
    ...     return [getattr(item, "size", type(item).__name__)
    ...             for item in segmenter.segment_batch(photos)]
    >>> with FakeInferenceServer() as server:
    ...     with SegformerClothesClient(endpoint_url=server.url) as client:
    ...         sizes(client)
    [(30, 40), 'InvalidImageError']
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from types import TracebackType
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, overload, runtime_checkable

import anyio.from_thread
import attrs

from .._batch import OrderedMap
from ..errors import SegformerClothesError
from ..images import ImageInput, describe
from ..result import SegmentationResult

__all__ = ["BaseSegmenter", "Outcome", "Segmenter", "source_of"]

Outcome: TypeAlias = SegmentationResult | SegformerClothesError
"""What a batch gives for one photo: its result, or the error that photo failed with."""

ChunkWorker: TypeAlias = Callable[[list[ImageInput]], Awaitable[list[Outcome]]]

_Self = TypeVar("_Self")


def source_of(image: object) -> object:
    """What ``source`` says about an input: a path as it was given, else a short description.

    Example:
        >>> from pathlib import Path
        >>> source_of(Path("look.jpg")), source_of(b"abc")
        (PosixPath('look.jpg'), '<3 bytes>')
    """
    return image if isinstance(image, (str, os.PathLike)) else describe(image)


@runtime_checkable
class Segmenter(Protocol):
    """What every backend offers: `SegformerClothesClient`, `LocalSegmenter`, and any other.

    Code written against a `Segmenter` runs unchanged on the HTTP API, a dedicated endpoint,
    the model in this process, or a cluster. All of them give results in input order; a
    failed photo raises its `SegformerClothesError` (or, with ``return_exceptions=True`` and
    in `segment_batch`, takes its place); every result and error carries ``source``.

    Example:
        >>> from segformer_clothes import SegformerClothesClient, Segmenter
        >>> isinstance(SegformerClothesClient(endpoint_url="http://127.0.0.1:9/"), Segmenter)
        True
    """

    def segment(self, image: ImageInput) -> SegmentationResult:
        """Segment one photo; raises its error."""
        ...

    async def asegment(self, image: ImageInput) -> SegmentationResult:
        """Segment one photo without blocking the event loop (asyncio or trio)."""
        ...

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
        """Segment many photos, yielding results in input order."""
        ...

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
        """Segment many photos for ``async for``, yielding results in input order."""
        ...

    def segment_batch(self, images: Sequence[ImageInput]) -> list[Outcome]:
        """Segment a batch; never raises for one photo's failure: its error takes its place."""
        ...

    def close(self) -> None:
        """Release what the backend holds (connections, the model's memory is kept)."""
        ...

    def __enter__(self: _Self) -> _Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def __aenter__(self: _Self) -> _Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


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
        return _raise_or_return(self.segment_batch([image])[0])

    async def asegment(self, image: ImageInput) -> SegmentationResult:
        """Segment one photo without blocking the event loop (asyncio or trio).

        Raises:
            SegformerClothesError: as `segment` does.
        """
        outcomes = await self._worker()([image])
        return _raise_or_return(_with_source(_one(outcomes), image))

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
        delivery = _Delivery(return_exceptions, progress)
        batch = _SyncBatch(self, images)
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
        return _DeliveredOutcomes(outcomes, _Delivery(return_exceptions, progress))

    def _outcomes(
        self, images: Iterable[ImageInput] | AsyncIterable[ImageInput], worker: ChunkWorker
    ) -> _Outcomes:
        # Read a little ahead of the chunks in flight so that a slow one does not idle the
        # others, but never more: memory stays flat over any number of photos.
        chunks = OrderedMap(
            _chunked(images, self._chunk_size),
            worker,
            window=self._read_ahead,
            concurrency=self._concurrency,
        )
        return _Outcomes(chunks)

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


# --------------------------------------------------------------------------- helpers


def _raise_or_return(outcome: Outcome) -> SegmentationResult:
    if isinstance(outcome, SegformerClothesError):
        raise outcome
    return outcome


def _one(outcomes: list[Outcome]) -> Outcome:
    if len(outcomes) != 1:
        raise RuntimeError(f"a backend gave {len(outcomes)} outcomes for 1 photo")
    return outcomes[0]


def _with_source(outcome: Outcome, image: ImageInput) -> Outcome:
    """The outcome, saying which input it is about."""
    if isinstance(outcome, SegformerClothesError):
        if outcome.source is None:
            outcome.source = source_of(image)
        return outcome
    if outcome.source is None:
        return attrs.evolve(outcome, source=source_of(image))
    return outcome


async def _next(iterator: AsyncIterator[Any]) -> Any:
    return await anext(iterator)


class _SyncBatch:
    """A batch run on a short-lived event loop in a worker thread, for a sync caller."""

    def __init__(
        self, segmenter: BaseSegmenter, images: Iterable[ImageInput] | AsyncIterable[ImageInput]
    ) -> None:
        self._cleanup = contextlib.ExitStack()
        try:
            portal = self._cleanup.enter_context(anyio.from_thread.start_blocking_portal())
            worker = self._cleanup.enter_context(
                portal.wrap_async_context_manager(segmenter._own_loop_worker())
            )
            self._outcomes = segmenter._outcomes(images, worker)
            self._cleanup.callback(portal.call, self._outcomes.aclose)
        except BaseException:
            self._cleanup.close()
            raise
        self._portal = portal

    def next(self) -> Outcome | None:
        """The next photo's outcome, or None at the end."""
        try:
            return self._portal.call(_next, self._outcomes)  # type: ignore[no-any-return]
        except StopAsyncIteration:
            return None

    def close(self, *, wait: bool) -> None:
        """Cancel what is in flight and stop the loop, waiting for it or not."""
        if wait:
            self._cleanup.close()
        else:
            threading.Thread(target=self._cleanup.close, name="segment_many-cleanup").start()


@attrs.define
class _Delivery:
    """The one rule for handing outcomes to the caller: count each photo, then give a result,
    give an error in its place (``return_exceptions``) or raise it."""

    return_exceptions: bool
    progress: Callable[[int], object] | None
    done: int = 0

    def hand_over(self, outcome: Outcome) -> Outcome:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done)
        if isinstance(outcome, SegformerClothesError) and not self.return_exceptions:
            raise outcome
        return outcome


class _Outcomes(AsyncIterator[Outcome]):
    """Every photo's outcome, in input order, from the outcomes of its chunk."""

    def __init__(self, chunks: OrderedMap[list[ImageInput], list[Outcome]]) -> None:
        self._chunks = chunks
        self._ready: deque[Outcome] = deque()

    def __aiter__(self) -> _Outcomes:
        return self

    async def __anext__(self) -> Outcome:
        while not self._ready:
            chunk = await self._chunks.__anext__()
            if chunk.error is not None:  # not a photo's failure: a bug, or the input failed
                await self.aclose()
                raise chunk.error
            assert chunk.value is not None
            if len(chunk.value) != len(chunk.item):
                raise RuntimeError(
                    f"a backend gave {len(chunk.value)} outcomes for {len(chunk.item)} photos"
                )
            self._ready.extend(map(_with_source, chunk.value, chunk.item))
        return self._ready.popleft()

    async def aclose(self) -> None:
        """Cancel what is still in flight and wait until it has stopped."""
        self._ready.clear()
        await self._chunks.aclose()


class _DeliveredOutcomes(AsyncIterator[Outcome]):
    """The results of `BaseSegmenter.asegment_many`; an async iterator and context manager."""

    def __init__(self, outcomes: _Outcomes, delivery: _Delivery) -> None:
        self._outcomes = outcomes
        self._delivery = delivery

    def __aiter__(self) -> _DeliveredOutcomes:
        return self

    async def __anext__(self) -> Outcome:
        outcome = await self._outcomes.__anext__()
        try:
            return self._delivery.hand_over(outcome)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Cancel what is still in flight and wait until it has stopped."""
        await self._outcomes.aclose()

    async def __aenter__(self) -> _DeliveredOutcomes:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _chunked(
    images: Iterable[ImageInput] | AsyncIterable[ImageInput], size: int
) -> Iterator[list[ImageInput]] | AsyncIterator[list[ImageInput]]:
    """The photos in lists of ``size`` (the last may be shorter), read lazily."""
    if isinstance(images, AsyncIterable):
        return _AsyncChunks(aiter(images), size)
    return _chunks(iter(images), size)


def _chunks(images: Iterator[ImageInput], size: int) -> Iterator[list[ImageInput]]:
    chunk: list[ImageInput] = []
    for image in images:
        chunk.append(image)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _AsyncChunks(AsyncIterator[list[ImageInput]]):
    """`_chunks` for an async iterable; a class, so that no async generator is left for the
    event loop to finalise after an early break."""

    def __init__(self, images: AsyncIterator[ImageInput], size: int) -> None:
        self._images = images
        self._size = size
        self._exhausted = False

    async def __anext__(self) -> list[ImageInput]:
        chunk: list[ImageInput] = []
        while not self._exhausted and len(chunk) < self._size:
            try:
                chunk.append(await anext(self._images))
            except StopAsyncIteration:
                self._exhausted = True
        if not chunk:
            raise StopAsyncIteration
        return chunk
