"""`Segmenter`: the contract every backend keeps, whatever runs the model.

A backend is anything that turns photos into `SegmentationResult` objects: the HTTP client,
the in-process model, a Ray worker, the served model. Code written against a `Segmenter` runs
unchanged on any of them.

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

import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Literal, Protocol, TypeAlias, TypeVar, overload, runtime_checkable

from ..errors import SegformerClothesError
from ..images import ImageInput, describe
from ..result import SegmentationResult

__all__ = ["Outcome", "Segmenter", "source_of"]

Outcome: TypeAlias = SegmentationResult | SegformerClothesError
"""What a batch gives for one photo: its result, or the error that photo failed with."""

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
