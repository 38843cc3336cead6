"""A whole job on the cluster: photos read as bytes, an actor pool, each photo back once."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

from ..backends.protocol import Segmenter
from ..errors import SegformerClothesError
from ._actors import FinishedPhoto, SegmentPhotos, portable
from ._backends import ClientBackend, LocalBackend
from ._session import import_ray

__all__ = ["segment_catalogue"]


def _cause(error: BaseException) -> SegformerClothesError | None:
    """The library error behind one that Ray raised for it, if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, SegformerClothesError):
            return current
        seen.add(id(current))
        current = getattr(current, "cause", None) or current.__cause__
    return None


def segment_catalogue(
    paths: Iterable[str | os.PathLike[str]],
    make_segmenter: Callable[[], Segmenter],
    *,
    actors: int = 2,
    batch_size: int = 4,
    encoding: Mapping[str, Any] | None = None,
    num_cpus: float = 1,
    num_gpus: float | None = None,
) -> Generator[FinishedPhoto, None, None]:
    """Segment the photos at ``paths`` on the Ray cluster this process is connected to.

    The photos are read as bytes (``read_binary_files``: local paths, ``file://`` URIs and
    whatever else pyarrow's filesystems read), segmented by a pool of ``actors`` actors
    (``ActorPoolStrategy``) that each build their backend once, and streamed back in the
    order they finish. Each photo comes back once: an actor that dies is restarted and its
    batch retried by Ray, a photo that comes back twice is given once, and a photo that
    never came back is given at the end with an error, so that a rerun retries it.

    Args:
        paths: the photos, local paths (made absolute here) or URIs.
        make_segmenter: a picklable callable building the backend on each actor; a
            `ClientBackend` gets its share of the rate limit (`ClientBackend.for_actors`).
        actors: the size of the actor pool.
        batch_size: photos per batch handed to an actor.
        encoding: the keywords of `encode_outputs`: ``overlay``, ``crops``,
            ``overlay_style``.
        num_cpus: CPUs each actor reserves.
        num_gpus: GPUs each actor reserves; for a `LocalBackend` its ``num_gpus`` when
            left out, else 0.

    Raises:
        SegformerClothesError: the backend could not be built on the actors (a bad setting,
            missing weights): the library's error, not Ray's wrapping of it.
        ImportError: Ray Data is not installed.
    """
    ray = import_ray()
    if isinstance(make_segmenter, ClientBackend):
        make_segmenter = make_segmenter.for_actors(actors)
    if num_gpus is None:
        num_gpus = make_segmenter.num_gpus if isinstance(make_segmenter, LocalBackend) else 0
    # Ray gives each path back in its own spelling: the photos not back yet, by that spelling.
    left = {_ray_spelling(path): _ray_input(path) for path in paths}
    if not left:
        return
    dataset = ray.data.read_binary_files(list(left.values()), include_paths=True).map_batches(
        _bound(make_segmenter, encoding),
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        # Ray Data's defaults for a pool's actors: a dead actor is restarted (max_restarts
        # -1) and the batch it held is run again (max_task_retries -1).
    )
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for i in range(len(batch["path"])):
                finished = FinishedPhoto.from_row({k: column[i] for k, column in batch.items()})
                if finished.backend_failed and isinstance(finished.outcome, Exception):
                    raise finished.outcome
                if finished.path in left:
                    del left[finished.path]
                    yield finished
    except SegformerClothesError:
        raise
    except Exception as error:
        cause = _cause(error)
        if cause is None:
            raise
        raise cause from None
    for path in left:
        lost = SegformerClothesError("the cluster gave no result for this photo; rerun to retry it")
        yield FinishedPhoto(path, portable(lost, path), 0.0)


def _bound(
    make_segmenter: Callable[[], Segmenter], encoding: Mapping[str, Any] | None
) -> type[SegmentPhotos]:
    """`SegmentPhotos` with its arguments built in: the class travels to the actors whole,
    so that a restarted actor never depends on constructor arguments kept elsewhere."""

    class Bound(SegmentPhotos):
        def __init__(self) -> None:
            super().__init__(make_segmenter, encoding)

    Bound.__name__ = Bound.__qualname__ = "SegmentPhotos"
    return Bound


def _ray_spelling(path: str | os.PathLike[str]) -> str:
    """A path as Ray reads it and gives it back: absolute, a ``file://`` URI as its path."""
    text = os.fspath(path)
    if text.startswith("file://"):
        return text[len("file://") :]
    if "://" in text:
        return text.split("://", 1)[1]  # Ray gives bucket/key back, without the scheme
    return os.path.abspath(text)


def _ray_input(path: str | os.PathLike[str]) -> str:
    """How a path is handed to ``read_binary_files``: URIs as they are, paths absolute."""
    text = os.fspath(path)
    return text if "://" in text else os.path.abspath(text)
