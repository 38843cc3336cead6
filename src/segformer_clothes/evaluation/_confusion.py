"""`ConfusionMatrix`: pixel counts of (annotated class, predicted class), pooled over images."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..labels import CLOTHES_LABELS, LabelSet
from ._label_maps import as_label_map
from ._report import EvaluationReport, ImageScores, image_scores
from ._sides import merge_sides as _merge_sides

__all__ = ["ConfusionMatrix"]

# Pixels counted per np.bincount call on the uint8 path: bounds the scratch buffer (8 MiB)
# whatever the image size, so memory stays flat.
_CHUNK = 1 << 20
_LITTLE_ENDIAN = sys.byteorder == "little"
# Below this many pixels the 65,536-bin histogram of the uint8 path costs more than it saves.
_SMALL = 1 << 16


class ConfusionMatrix:
    """Pixel counts of (annotated class, predicted class), summed over every image given.

    ``matrix[t, p]`` counts the pixels annotated ``t`` and predicted ``p`` (int64, so that
    millions of photos do not overflow). Pixels whose annotation is ``ignore_index`` are
    counted nowhere. Scores follow the pooled definitions of HF evaluate's mean_iou,
    mmsegmentation and torchmetrics: sum first, then divide.

    Args:
        num_classes: the number of classes N (ids 0..N-1); defaults to ``len(labels)``, 18 for
            the clothes labels.
        ignore_index: the annotation value that marks pixels not to score (None: no such value).
        labels: the class names (the 18 clothes classes by default).
        merge_sides: count Left-shoe and Right-shoe as one class ``Shoes`` (and likewise
            ``Legs`` and ``Arms``), so that left/right swaps are not errors.
        per_image: also keep a small score record per image (pixel accuracy and mean IoU), for
            finding the worst images.

    A matrix is not shared between threads (it keeps a scratch buffer): count in one matrix
    per thread or process, then `merge` them.

    Example:
        >>> import numpy as np
        >>> matrix = ConfusionMatrix(num_classes=3)
        >>> _ = matrix.update(np.array([[0, 1], [2, 2]]), np.array([[0, 1], [1, 255]]))
        >>> matrix.matrix.tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
        >>> round(matrix.report().mean_iou, 3)
        0.5
    """

    def __init__(
        self,
        num_classes: int | None = None,
        ignore_index: int | None = 255,
        *,
        labels: LabelSet | None = None,
        merge_sides: bool = False,
        per_image: bool = True,
    ) -> None:
        if labels is None:
            if num_classes is None or num_classes == len(CLOTHES_LABELS):
                labels = CLOTHES_LABELS
            else:
                if not 1 <= num_classes <= 256:
                    raise ValueError(f"num_classes must be 1..256, got {num_classes}")
                labels = LabelSet([f"class {i}" for i in range(num_classes)])
        if num_classes is None:
            num_classes = len(labels)
        if num_classes != len(labels):
            raise ValueError(
                f"num_classes={num_classes} but the label set has {len(labels)} classes; "
                "pass one of the two"
            )
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, type(None))):
            raise TypeError(f"ignore_index must be an int or None, got {ignore_index!r}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.input_labels = labels
        self.merge_sides = merge_sides
        self.per_image = per_image
        self._lookup: np.ndarray | None = None
        self.labels = labels
        if merge_sides:
            self.labels, self._lookup = _merge_sides(labels)
        size = len(self.labels)
        self._matrix = np.zeros((size, size), dtype=np.int64)
        self._images: list[ImageScores] = []
        self._scratch: np.ndarray | None = None

    def __repr__(self) -> str:
        return (
            f"ConfusionMatrix(num_classes={self.num_classes}, ignore_index={self.ignore_index}, "
            f"merge_sides={self.merge_sides}, pixels={self.total_pixels}, "
            f"images={self.num_images})"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_scratch"] = None  # a cache, not data: do not pickle megabytes of zeros
        # A LabelSet holds read-only mappings, which pickle refuses: send its parts.
        for key in ("labels", "input_labels"):
            labels: LabelSet = state[key]
            state[key] = (labels.names, dict(labels.groups), labels.palette)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key in ("labels", "input_labels"):
            names, groups, palette = state[key]
            state[key] = (
                CLOTHES_LABELS
                if names == CLOTHES_LABELS.names
                else LabelSet(names, groups=groups, palette=palette)
            )
        self.__dict__.update(state)

    @property
    def matrix(self) -> np.ndarray:
        """Read-only ``(classes, classes)`` int64 counts; rows are annotations, columns
        predictions (after merging sides, when asked)."""
        view: np.ndarray = self._matrix.view()
        view.flags.writeable = False
        return view

    @property
    def total_pixels(self) -> int:
        """Pixels counted so far (ignored pixels excluded)."""
        return int(self._matrix.sum())

    @property
    def num_images(self) -> int:
        """Images counted so far (per-image records kept)."""
        return len(self._images)

    # ------------------------------------------------------------------ counting

    def update(self, prediction: Any, target: Any, *, name: str | None = None) -> np.ndarray:
        """Count one image: a predicted label map against its annotation.

        Args:
            prediction: an H×W integer array of class ids, or a `SegmentationResult`.
            target: the annotation, the same way (it may hold ``ignore_index``).
            name: the image's name in the per-image records (defaults to its position).

        Returns:
            This image's own confusion matrix (already added to the total).

        Raises:
            ValueError: the shapes differ, or a prediction (or an annotation other than
                ``ignore_index``) lies outside 0..N-1. Nothing is counted then.
            TypeError: an input that is not integer class ids.
        """
        predicted = as_label_map(prediction, "prediction")
        annotated = as_label_map(target, "annotation")
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
            counts = self._count_uint8(predicted, annotated)
        else:
            counts = self._count_any(predicted, annotated)
        if self._lookup is not None:
            counts = _fold(counts, self._lookup, len(self.labels))
        self._matrix += counts
        if self.per_image:
            accuracy, mean_iou = image_scores(counts)
            self._images.append(
                ImageScores(
                    name=str(len(self._images)) if name is None else name,
                    pixel_accuracy=accuracy,
                    mean_iou=mean_iou,
                )
            )
        return counts

    def _count_uint8(self, predicted: np.ndarray, annotated: np.ndarray) -> np.ndarray:
        # Write each pixel's pair as the two low bytes of an int64 (annotation * 256 +
        # prediction): no arithmetic, no temporary arrays, and the full 256 x 256 histogram
        # checks every value's range for free.
        pixels = predicted.size
        chunk = min(pixels, _CHUNK)
        if self._scratch is None or self._scratch.size < chunk:
            self._scratch = np.zeros(chunk, dtype=np.int64)
        scratch = self._scratch[:chunk]
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
        n = self.num_classes
        # Every pixel is either scored (both ids < n) or ignored with a valid prediction:
        # two small sums check the range of all values without another pass over the image.
        in_range = int(table[:n, :n].sum())
        if self.ignore_index is not None and 0 <= self.ignore_index <= 255:
            in_range += int(table[self.ignore_index, :n].sum()) if self.ignore_index >= n else 0
        if in_range != pixels:
            # Rare path: let the general check say exactly what is wrong.
            self._check_range(predicted, annotated)
        counts: np.ndarray = table[:n, :n].copy()
        if self.ignore_index is not None and 0 <= self.ignore_index < n:
            counts[self.ignore_index] = 0
        return counts

    def _count_any(self, predicted: np.ndarray, annotated: np.ndarray) -> np.ndarray:
        self._check_range(predicted, annotated)
        n = self.num_classes
        if self.ignore_index is not None:
            keep = annotated != self.ignore_index
            if not keep.all():
                predicted, annotated = predicted[keep], annotated[keep]
        keys = annotated.astype(np.int64).reshape(-1) * n + predicted.reshape(-1)
        return np.bincount(keys, minlength=n * n).reshape(n, n)

    def _check_range(self, predicted: np.ndarray, annotated: np.ndarray) -> None:
        n = self.num_classes
        wrong = _outside(predicted, n)
        if wrong is not None:
            raise ValueError(
                f"the prediction holds class id {wrong}, outside 0..{n - 1}; predictions "
                "must be class ids of the label set (pass labels=... for another model)"
            )
        if self.ignore_index is not None:
            annotated = annotated[annotated != self.ignore_index]
        wrong = _outside(annotated, n)
        if wrong is not None:
            raise ValueError(
                f"the annotation holds class id {wrong}, outside 0..{n - 1} and not "
                f"ignore_index ({self.ignore_index}); check the annotation file or pass "
                "ignore_index=..."
            )

    # ------------------------------------------------------------------ combining

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """A new matrix holding the counts (and per-image records) of both.

        Parts of a dataset counted apart (in other processes, on other machines) add up to
        the matrix of the whole. Neither input is changed.

        Raises:
            ValueError: the two count different classes or another ``ignore_index``.

        Example:
            >>> import numpy as np
            >>> first, second = ConfusionMatrix(), ConfusionMatrix()
            >>> _ = first.update(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))
            >>> first.merge(second).total_pixels
            4
        """
        if not isinstance(other, ConfusionMatrix):
            raise TypeError(f"can merge only another ConfusionMatrix, got {type(other).__name__}")
        mine = (self.input_labels.names, self.ignore_index, self.merge_sides)
        theirs = (other.input_labels.names, other.ignore_index, other.merge_sides)
        if mine != theirs:
            raise ValueError(
                "cannot merge confusion matrices of different set-ups (labels, ignore_index, "
                f"merge_sides): {self!r} and {other!r}"
            )
        merged = ConfusionMatrix(
            self.num_classes,
            self.ignore_index,
            labels=self.input_labels,
            merge_sides=self.merge_sides,
            per_image=self.per_image,
        )
        merged._matrix = self._matrix + other._matrix
        merged._images = [*self._images, *other._images]
        return merged

    def __add__(self, other: ConfusionMatrix) -> ConfusionMatrix:
        return self.merge(other)

    def report(self) -> EvaluationReport:
        """The scores of everything counted so far (see `EvaluationReport`)."""
        return EvaluationReport.from_matrix(
            self._matrix, labels=self.labels, per_image=self._images
        )


def _outside(label_map: np.ndarray, num_classes: int) -> int | None:
    """A value of the label map outside 0..num_classes-1, or None."""
    if not label_map.size:
        return None
    low, high = int(label_map.min()), int(label_map.max())
    if low < 0:
        return low
    return high if high >= num_classes else None


def _fold(counts: np.ndarray, lookup: np.ndarray, size: int) -> np.ndarray:
    """Sum rows and columns of classes that map to the same merged class."""
    folded = np.zeros((size, counts.shape[1]), dtype=np.int64)
    np.add.at(folded, lookup, counts)
    result = np.zeros((size, size), dtype=np.int64)
    np.add.at(result.T, lookup, folded.T)
    return result
