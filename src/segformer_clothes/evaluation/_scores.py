"""The scores of a confusion matrix: IoU, Dice, precision, recall and pixel accuracy.

Rows of the matrix are annotated classes, columns predicted ones. A ratio of 0/0 is NaN, and
the means leave NaN out, as HF evaluate's mean_iou, mmsegmentation and torchmetrics do.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

__all__ = ["Scores", "image_scores", "scores_from_matrix"]


@attrs.frozen
class Scores:
    """Every score of one confusion matrix, per class (arrays in id order) and overall."""

    iou: np.ndarray
    dice: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    target_pixels: np.ndarray
    predicted_pixels: np.ndarray
    pixel_accuracy: float
    mean_iou: float
    mean_dice: float


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _nanmean(values: np.ndarray) -> float:
    present = values[~np.isnan(values)]
    return float(present.mean()) if present.size else math.nan


def scores_from_matrix(matrix: np.ndarray) -> Scores:
    """Every score of a confusion matrix (rows: annotations, columns: predictions).

    Example:
        >>> import numpy as np
        >>> scores = scores_from_matrix(np.array([[2, 1], [0, 0]]))
        >>> scores.iou.tolist(), scores.mean_iou, round(scores.pixel_accuracy, 3)
        ([0.6666666666666666, 0.0], 0.3333333333333333, 0.667)
    """
    true_positive = np.diagonal(matrix).astype(np.float64)
    target_pixels = matrix.sum(axis=1)
    predicted_pixels = matrix.sum(axis=0)
    union = target_pixels + predicted_pixels - true_positive
    iou = _ratio(true_positive, union)
    dice = _ratio(2 * true_positive, (target_pixels + predicted_pixels).astype(np.float64))
    total = int(target_pixels.sum())
    return Scores(
        iou=iou,
        dice=dice,
        precision=_ratio(true_positive, predicted_pixels.astype(np.float64)),
        recall=_ratio(true_positive, target_pixels.astype(np.float64)),
        target_pixels=target_pixels,
        predicted_pixels=predicted_pixels,
        pixel_accuracy=float(true_positive.sum() / total) if total else math.nan,
        mean_iou=_nanmean(iou),
        mean_dice=_nanmean(dice),
    )


def image_scores(matrix: np.ndarray) -> tuple[float, float]:
    """Pixel accuracy and mean IoU of one image's matrix: the same definitions as
    `scores_from_matrix`, with only what a per-image record needs (it runs per image).

    Example:
        >>> import numpy as np
        >>> image_scores(np.array([[1, 0], [1, 2]]))
        (0.75, 0.5833333333333333)
    """
    true_positive = np.diagonal(matrix)
    total = int(matrix.sum())
    if total == 0:
        return math.nan, math.nan
    union = matrix.sum(axis=1) + matrix.sum(axis=0) - true_positive
    present = union > 0
    mean_iou = float((true_positive[present] / union[present]).mean())
    return int(true_positive.sum()) / total, mean_iou
