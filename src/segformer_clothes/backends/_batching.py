"""The machinery behind `BaseSegmenter`: handing outcomes over, flattening chunks, and running
a batch for a sync caller on an event loop of its own."""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, TypeAlias

import anyio.from_thread
import attrs

from ..errors import EndpointUnreachableError, SegformerClothesError
from ..images import ImageInput
from ..result import SegmentationResult
from .ordered import OrderedMap
from .protocol import Outcome, source_of

ChunkWorker: TypeAlias = Callable[[list[ImageInput]], Awaitable[list[Outcome]]]
"""What segments one chunk of photos: their outcomes, in order."""


def raise_or_return(outcome: Outcome) -> SegmentationResult:
    if isinstance(outcome, SegformerClothesError):
        raise outcome
    return outcome


def one(outcomes: list[Outcome]) -> Outcome:
    if len(outcomes) != 1:
        raise RuntimeError(f"a backend gave {len(outcomes)} outcomes for 1 photo")
    return outcomes[0]


def with_source(outcome: Outcome, image: ImageInput) -> Outcome:
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


class SyncBatch:
    """A batch run on a short-lived event loop in a worker thread, for a sync caller."""

    def __init__(
        self,
        own_loop_worker: Callable[[], AbstractAsyncContextManager[ChunkWorker]],
        outcomes_of: Callable[[ChunkWorker], Outcomes],
    ) -> None:
        self._cleanup = contextlib.ExitStack()
        try:
            portal = self._cleanup.enter_context(anyio.from_thread.start_blocking_portal())
            worker = self._cleanup.enter_context(
                portal.wrap_async_context_manager(own_loop_worker())
            )
            self._outcomes = outcomes_of(worker)
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
class Delivery:
    """The one rule for handing outcomes to the caller: count each photo, then give a result,
    give an error in its place (``return_exceptions``) or raise it."""

    return_exceptions: bool
    progress: Callable[[int], object] | None
    done: int = 0

    def hand_over(self, outcome: Outcome) -> Outcome:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done)
        if isinstance(outcome, SegformerClothesError) and (
            not self.return_exceptions or isinstance(outcome, EndpointUnreachableError)
        ):
            raise outcome  # an unreachable endpoint ends the batch: the rest would fail alike
        return outcome


class Outcomes(AsyncIterator[Outcome]):
    """Every photo's outcome, in input order, from the outcomes of its chunk."""

    def __init__(self, chunks: OrderedMap[list[ImageInput], list[Outcome]]) -> None:
        self._chunks = chunks
        self._ready: deque[Outcome] = deque()

    def __aiter__(self) -> Outcomes:
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
            self._ready.extend(map(with_source, chunk.value, chunk.item))
        return self._ready.popleft()

    async def aclose(self) -> None:
        """Cancel what is still in flight and wait until it has stopped."""
        self._ready.clear()
        await self._chunks.aclose()


class DeliveredOutcomes(AsyncIterator[Outcome]):
    """The results of `BaseSegmenter.asegment_many`; an async iterator and context manager."""

    def __init__(self, outcomes: Outcomes, delivery: Delivery) -> None:
        self._outcomes = outcomes
        self._delivery = delivery

    def __aiter__(self) -> DeliveredOutcomes:
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

    async def __aenter__(self) -> DeliveredOutcomes:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def chunked(
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
