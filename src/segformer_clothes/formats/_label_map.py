"""The one check every writer of a label map makes before it writes."""

from __future__ import annotations

import numpy as np

from ..labels import LabelSet


def checked_label_map(label_map: np.ndarray, labels: LabelSet) -> np.ndarray:
    """``label_map`` as an array, once checked to be 2-D and to hold only ids of ``labels``.

    Raises:
        ValueError: it is not; the message says how.
    """
    array = np.asarray(label_map)
    if array.ndim != 2:
        raise ValueError(f"a label map is 2-D (height, width), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"a label map holds integer class ids, got dtype {array.dtype}")
    if array.size and (int(array.min()) < 0 or int(array.max()) >= len(labels)):
        raise ValueError(
            f"the label map holds ids {int(array.min())}..{int(array.max())}, but the label set "
            f"has only {len(labels)} classes (0..{len(labels) - 1})"
        )
    return array
