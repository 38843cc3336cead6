"""The label-map array a `SegmentationResult` holds: made read-only uint8 once, compared
by shape and value."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["read_only_label_map", "same_label_map"]


def read_only_label_map(value: Any) -> np.ndarray:
    """A read-only uint8 copy of ``value`` (no copy when it already is one)."""
    array = np.asarray(value)
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"a label map holds integer class ids, got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ValueError("a label map holds class ids in 0..255")
        array = array.astype(np.uint8)
    elif array.flags.writeable:
        array = array.copy()
    array.flags.writeable = False
    return array


def same_label_map(a: np.ndarray, b: np.ndarray) -> bool:
    """True when both label maps have the same shape and class ids."""
    return a.shape == b.shape and bool(np.array_equal(a, b))
