"""`ConfusionMatrix`: pixel counts of (annotated class, predicted class), pooled over images.

It counts image by image, merges counts made apart, and scores the total as a report.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..labels import CLOTHES_LABELS, LabelSet
from ._counting import count_image
from ._label_maps import as_label_map
from ._report import EvaluationReport, ImageScores
from ._scores import image_scores
from ._sides import fold_counts
from ._sides import merge_sides as _merge_sides

__all__ = ["ConfusionMatrix"]


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
        counts, self._scratch = count_image(
            predicted, annotated, self.num_classes, self.ignore_index, self._scratch
        )
        if self._lookup is not None:
            counts = fold_counts(counts, self._lookup, len(self.labels))
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
