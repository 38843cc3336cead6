"""A segmentation as roboflow supervision's `Detections`, both ways, for pipelines built on it
(annotators, trackers, dataset tools). Needs the ``supervision`` package, imported only when a
conversion runs; `SegmentationResult.to_supervision` calls this module.

One detection per label present (Background left out): its boolean mask, its box (as
supervision computes boxes from masks), its class id and, in ``data["class_name"]``, its name.

Example:
    >>> import numpy as np
    >>> label_map = np.zeros((4, 6), dtype=np.uint8)
    >>> label_map[1:3, 2:5] = 4  # Upper-clothes
    >>> detections = to_detections(label_map)
    >>> detections.class_id.tolist(), detections.data["class_name"].tolist()
    ([4], ['Upper-clothes'])
    >>> detections.xyxy.tolist()
    [[2.0, 1.0, 4.0, 2.0]]
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import numpy as np

from ..labels import CLOTHES_LABELS, LabelSet

__all__ = ["from_detections", "to_detections"]

INSTALL_COMMAND = 'pip install "segformer-clothes[supervision]"'


def _supervision() -> Any:
    try:
        with warnings.catch_warnings():
            # It says it falls back to NumPy without OpenCV: nothing this module needs.
            warnings.filterwarnings("ignore", message=".*OpenCV.*", category=UserWarning)
            return importlib.import_module("supervision")
    except ImportError as error:
        raise ImportError(
            f"converting to supervision's Detections needs the supervision package, which is "
            f"not installed. Install it with: {INSTALL_COMMAND} (from a clone of the "
            'repository: pip install ".[supervision]")'
        ) from error


def to_detections(label_map: np.ndarray, labels: LabelSet = CLOTHES_LABELS) -> Any:
    """`supervision.Detections` of a label map, one per label present but Background, in
    class-id order.

    Raises:
        ImportError: supervision is not installed; the message gives the install command.
    """
    sv = _supervision()
    ids = [int(i) for i in np.unique(label_map) if i != 0]
    height, width = label_map.shape
    masks = (
        np.stack([label_map == class_id for class_id in ids])
        if ids
        else np.zeros((0, height, width), dtype=bool)
    )
    return sv.Detections(
        xyxy=sv.mask_to_xyxy(masks).astype(np.float64) if ids else np.zeros((0, 4)),
        mask=masks,
        class_id=np.array(ids, dtype=int),
        data={"class_name": np.array([labels.name(i) for i in ids], dtype=str)},
    )


def from_detections(detections: Any) -> np.ndarray:
    """The label map of detections with masks and class ids (as `to_detections` gives, or a
    segmentation model of the same labels does): where masks overlap the highest class id
    wins; pixels no mask covers are Background. Wrap it in `SegmentationResult` with its labels.

    Raises:
        ValueError: the detections carry no masks or no class ids.
    """
    if detections.mask is None or detections.class_id is None:
        raise ValueError("the detections need masks and class ids to make a label map")
    masks = np.asarray(detections.mask, dtype=bool)
    label_map = np.zeros(masks.shape[1:], dtype=np.uint8)
    for index in np.argsort(detections.class_id, kind="stable"):
        label_map[masks[index]] = int(detections.class_id[index])
    return label_map
