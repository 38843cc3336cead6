"""The callable class an actor of the pool runs, and the rows it gives back."""

from __future__ import annotations

import contextlib
import pickle
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from ..backends.protocol import Segmenter
from ..catalogue import EncodedOutputs, encode_outputs
from ..errors import SegformerClothesError
from ..result import SegmentationResult

__all__ = ["FinishedPhoto", "SegmentPhotos", "portable"]


def portable(error: BaseException, path: str | None) -> BaseException:
    """The error as it can travel back to the driver: picklable, its source the path."""
    if isinstance(error, SegformerClothesError) and path is not None:
        error.source = path
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # an error class whose constructor pickle cannot call again
        return SegformerClothesError(str(error), source=path)
    return error


@attrs.frozen
class FinishedPhoto:
    """One photo back from the cluster.

    Attributes:
        path: the path (or URI) it was read from, as Ray spells it: absolute, no scheme.
        outcome: its encoded files, or the error it failed with.
        seconds: the time its batch took on the worker.
        backend_failed: the actor could not build its backend: ``outcome`` says why, and no
            photo can be segmented there.
    """

    path: str
    outcome: EncodedOutputs | BaseException
    seconds: float
    backend_failed: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> FinishedPhoto:
        """Read one row `SegmentPhotos` wrote."""
        return cls(
            str(row["path"]),
            pickle.loads(row["outcome"]),
            float(row["seconds"]),
            bool(row.get("backend_failed", False)),
        )


class SegmentPhotos:
    """The callable class for ``Dataset.map_batches``, run in an actor pool.

    Each actor builds its backend once (``make_segmenter``), then takes batches of rows
    with a ``bytes`` column (the photo as read) and a ``path`` column, and gives back one row
    per photo: ``path``, ``outcome`` (the pickled `EncodedOutputs`, or the pickled error the
    photo failed with, its source the path), ``seconds`` and ``backend_failed``. An actor
    whose backend cannot be built (a bad setting, weights missing) gives that error for every
    photo with ``backend_failed`` set, rather than dying: Ray would restart it forever.

    Args:
        make_segmenter: a picklable callable returning a `Segmenter`: `LocalBackend`,
            `ClientBackend`, or your own.
        encoding: the keywords of `encode_outputs` (``overlay``, ``crops``,
            ``overlay_style``); only the label map when left out.
    """

    def __init__(
        self,
        make_segmenter: Callable[[], Segmenter],
        encoding: Mapping[str, Any] | None = None,
    ) -> None:
        self._encoding = dict(encoding or {})
        self._segmenter: Segmenter | None = None
        self._failure: BaseException | None = None
        try:
            self._segmenter = make_segmenter()
        except (SegformerClothesError, ImportError, ValueError) as error:
            self._failure = error

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        paths = [str(path) for path in batch["path"]]
        photos = [bytes(photo) for photo in batch["bytes"]]
        began = time.perf_counter()
        if self._segmenter is None:
            outcomes: list[Any] = [self._failure] * len(paths)
        else:
            outcomes = list(self._segmenter.segment_batch(photos))
        rows = [self._encode(*photo) for photo in zip(paths, photos, outcomes, strict=True)]
        seconds = time.perf_counter() - began  # each photo took its batch's time
        return {
            "path": np.array(paths, dtype=object),
            "outcome": np.array(rows, dtype=object),
            "seconds": np.full(len(paths), seconds),
            "backend_failed": np.full(len(paths), self._segmenter is None),
        }

    def _encode(self, path: str, photo: bytes, outcome: Any) -> bytes:
        if isinstance(outcome, SegmentationResult):
            result = SegmentationResult(
                outcome.label_map, labels=outcome.labels, source=path, image=photo
            )
            try:
                outcome = encode_outputs(result, photo, **self._encoding)
            except (OSError, ValueError, SegformerClothesError) as error:
                outcome = error
        if isinstance(outcome, BaseException):
            # The backend's failure is the actor's, not this photo's: no source.
            outcome = portable(outcome, None if outcome is self._failure else path)
        return pickle.dumps(outcome)

    def __del__(self) -> None:
        if self._segmenter is not None:
            with contextlib.suppress(Exception):
                self._segmenter.close()
