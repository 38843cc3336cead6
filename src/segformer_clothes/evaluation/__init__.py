"""Measure how accurate a segmentation is: pooled IoU, Dice, precision and recall.

`evaluate` scores predicted label maps (arrays, `SegmentationResult` objects, label-map
files or API-format JSON files, or two folders paired by name) against annotations and
returns an `EvaluationReport`. `ConfusionMatrix` accumulates the counts one image at a time,
and parts counted apart can be merged. Scores are pooled over the dataset, as HF evaluate's
mean_iou, mmsegmentation and torchmetrics do: the confusion matrix is summed over all images
first, a class absent from both annotations and predictions has NaN scores, and the means
leave NaN out.

Example:
    >>> import numpy as np
    >>> from segformer_clothes.evaluation import evaluate
    >>> target = np.array([[0, 4], [4, 4]], dtype=np.uint8)
    >>> report = evaluate([target.copy()], [target])
    >>> report.mean_iou, report.per_class["Upper-clothes"].target_pixels
    (1.0, 3)
"""

from __future__ import annotations

# The private modules form layers, bottom first; each imports only those listed before it:
# _label_maps (reading and checking label maps), _pairing (files paired by name), _sides,
# _counting (one image's counts), _scores, _figures, _report, _confusion (ConfusionMatrix),
# _evaluate, _plots, and the command on top (_cli).
from ._confusion import ConfusionMatrix
from ._evaluate import evaluate, log_pairing
from ._label_maps import load_label_map
from ._pairing import (
    FilePair,
    NameIndex,
    Pairing,
    SkippedFile,
    pair_folders,
    photo_for,
    photos_in,
    segment_labels_folder,
    swapped_folders_warning,
)
from ._plots import plot_class_iou, plot_comparison, plot_confusion
from ._report import ClassScores, EvaluationReport, ImageScores
from ._sides import merge_sides

__all__ = [
    "ClassScores",
    "ConfusionMatrix",
    "EvaluationReport",
    "FilePair",
    "ImageScores",
    "NameIndex",
    "Pairing",
    "SkippedFile",
    "evaluate",
    "load_label_map",
    "log_pairing",
    "merge_sides",
    "pair_folders",
    "photo_for",
    "photos_in",
    "plot_class_iou",
    "plot_comparison",
    "plot_confusion",
    "segment_labels_folder",
    "swapped_folders_warning",
]
