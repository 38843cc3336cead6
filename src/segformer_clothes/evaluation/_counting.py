"""Counting one image: the (annotated class, predicted class) pixel counts of two label maps.

Two ways give the same counts: large uint8 label maps go through one 256 × 256 histogram
(fast, and it checks every value's range for free); everything else through a general
`np.bincount` of ``annotation * N + prediction``.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["count_image"]

# Pixels counted per np.bincount call on the uint8 path: bounds the scratch buffer (8 MiB)
# whatever the image size, so memory stays flat.
_CHUNK = 1 << 20
_LITTLE_ENDIAN = sys.byteorder == "little"
# Below this many pixels the 65,536-bin histogram of the uint8 path costs more than it saves.
_SMALL = 1 << 16


def count_image(
    predicted: np.ndarray,
    annotated: np.ndarray,
    num_classes: int,
    ignore_index: int | None,
    scratch: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Count the pixels of one image by (annotated class, predicted class).

    Args:
        predicted: the H×W predicted class ids.
        annotated: the H×W annotated class ids, the same size; pixels equal to
            ``ignore_index`` are counted nowhere.
        num_classes: N, the classes being ids 0..N-1.
        ignore_index: the annotation value not to count, or None.
        scratch: the buffer the previous call returned, reused to save allocations.

    Returns:
        The N×N int64 counts (rows: annotations, columns: predictions), and the scratch
        buffer to pass to the next call.

    Raises:
        ValueError: the shapes differ, or a prediction (or an annotation other than
            ``ignore_index``) lies outside 0..N-1; the message says which.

    Example:
        >>> import numpy as np
        >>> counts, _ = count_image(np.array([[0, 1]]), np.array([[1, 1]]), 2, None)
        >>> counts.tolist()
        [[0, 0], [1, 1]]
    """
    if predicted.shape != annotated.shape:
        raise ValueError(
            f"the prediction is {predicted.shape[1]}x{predicted.shape[0]} (width x height) "
            f"but the annotation is {annotated.shape[1]}x{annotated.shape[0]}; "
            "they must be label maps of the same photo at the same size"
        )
    if (
        predicted.dtype == np.uint8
        and annotated.dtype == np.uint8
        and predicted.size >= _SMALL
        and _LITTLE_ENDIAN
    ):
        chunk = min(predicted.size, _CHUNK)
        if scratch is None or scratch.size < chunk:
            scratch = np.zeros(chunk, dtype=np.int64)
        counts = _count_uint8(predicted, annotated, num_classes, ignore_index, scratch[:chunk])
        return counts, scratch
    return _count_any(predicted, annotated, num_classes, ignore_index), scratch


def _count_uint8(
    predicted: np.ndarray,
    annotated: np.ndarray,
    num_classes: int,
    ignore_index: int | None,
    scratch: np.ndarray,
) -> np.ndarray:
    # Write each pixel's pair as the two low bytes of an int64 (annotation * 256 +
    # prediction): no arithmetic, no temporary arrays, and the full 256 x 256 histogram
    # checks every value's range for free.
    pixels = predicted.size
    chunk = scratch.size
    byte_view = scratch.view(np.uint8).reshape(chunk, 8)
    flat_predicted = predicted.reshape(-1)
    flat_annotated = annotated.reshape(-1)
    histogram: np.ndarray | None = None
    for start in range(0, pixels, chunk):
        stop = min(start + chunk, pixels)
        size = stop - start
        byte_view[:size, 0] = flat_predicted[start:stop]
        byte_view[:size, 1] = flat_annotated[start:stop]
        part = np.bincount(scratch[:size], minlength=65536)
        histogram = part if histogram is None else histogram + part
    assert histogram is not None
    table = histogram.reshape(256, 256)
    n = num_classes
    # Every pixel is either scored (both ids < n) or ignored with a valid prediction:
    # two small sums check the range of all values without another pass over the image.
    in_range = int(table[:n, :n].sum())
    if ignore_index is not None and 0 <= ignore_index <= 255:
        in_range += int(table[ignore_index, :n].sum()) if ignore_index >= n else 0
    if in_range != pixels:
        # Rare path: let the general check say exactly what is wrong.
        _check_range(predicted, annotated, n, ignore_index)
    counts: np.ndarray = table[:n, :n].copy()
    if ignore_index is not None and 0 <= ignore_index < n:
        counts[ignore_index] = 0
    return counts


def _count_any(
    predicted: np.ndarray, annotated: np.ndarray, num_classes: int, ignore_index: int | None
) -> np.ndarray:
    _check_range(predicted, annotated, num_classes, ignore_index)
    n = num_classes
    if ignore_index is not None:
        keep = annotated != ignore_index
        if not keep.all():
            predicted, annotated = predicted[keep], annotated[keep]
    keys = annotated.astype(np.int64).reshape(-1) * n + predicted.reshape(-1)
    return np.bincount(keys, minlength=n * n).reshape(n, n)


def _check_range(
    predicted: np.ndarray, annotated: np.ndarray, num_classes: int, ignore_index: int | None
) -> None:
    n = num_classes
    wrong = _outside(predicted, n)
    if wrong is not None:
        raise ValueError(
            f"the prediction holds class id {wrong}, outside 0..{n - 1}; predictions "
            "must be class ids of the label set (pass labels=... for another model)"
        )
    if ignore_index is not None:
        annotated = annotated[annotated != ignore_index]
    wrong = _outside(annotated, n)
    if wrong is not None:
        raise ValueError(
            f"the annotation holds class id {wrong}, outside 0..{n - 1} and not "
            f"ignore_index ({ignore_index}); check the annotation file or pass "
            "ignore_index=..."
        )


def _outside(label_map: np.ndarray, num_classes: int) -> int | None:
    """A value of the label map outside 0..num_classes-1, or None."""
    if not label_map.size:
        return None
    low, high = int(label_map.min()), int(label_map.max())
    if low < 0:
        return low
    return high if high >= num_classes else None
