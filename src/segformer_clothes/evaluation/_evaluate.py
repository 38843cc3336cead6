"""`evaluate`: score predictions against annotations, from arrays, results, files or folders."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidImageError
from ..labels import CLOTHES_LABELS, LabelSet
from ..result import SegmentationResult
from ._confusion import ConfusionMatrix
from ._label_maps import load_label_map
from ._pairing import Pairing, pair_folders, swapped_folders_warning
from ._report import EvaluationReport

__all__ = ["evaluate", "log_pairing"]

logger = logging.getLogger("segformer_clothes")


def _is_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike))


def _as_items(value: Any, role: str) -> Iterable[Any]:
    """One image, or an iterable of images, as an iterable (consumed lazily)."""
    if _is_path(value) or isinstance(value, SegmentationResult):
        return [value]
    if isinstance(value, np.ndarray):
        if value.ndim == 2:
            return [value]
        if value.ndim == 3:
            return iter(value)
        raise ValueError(
            f"{role} as an array must be one label map (H, W) or a stack (N, H, W), "
            f"got shape {value.shape}"
        )
    if isinstance(value, Iterable):
        return value
    raise TypeError(
        f"{role} must be label maps, SegmentationResults, file paths or a folder, "
        f"got {type(value).__name__}"
    )


def _stem(value: Any) -> str | None:
    if isinstance(value, SegmentationResult):
        value = value.source
    if _is_path(value):
        return Path(value).stem
    return None


def _label_map(value: Any, labels: LabelSet, palette: bool) -> Any:
    return load_label_map(value, labels=labels, palette=palette) if _is_path(value) else value


def log_pairing(
    pairing: Pairing,
    annotations: str | os.PathLike[str],
    *,
    hint: str = "the files are listed at DEBUG level",
) -> None:
    """Log what pairing two folders left out: one warning line counting the files, ending in
    ``hint`` (each file is logged at DEBUG), and a warning when the folders seem given the
    wrong way round (see `swapped_folders_warning`).

    Example:
        >>> import logging, sys
        >>> from pathlib import Path
        >>> from segformer_clothes.evaluation import Pairing
        >>> to_stdout = logging.StreamHandler(sys.stdout)
        >>> logging.getLogger("segformer_clothes").addHandler(to_stdout)
        >>> log_pairing(Pairing((), unmatched_annotations=(Path("a.png"),)), "annotations")
        1 annotation has no prediction; the files are listed at DEBUG level
        >>> logging.getLogger("segformer_clothes").removeHandler(to_stdout)
    """
    swapped = swapped_folders_warning(pairing, annotations)
    if swapped is not None:
        logger.warning("%s", swapped)
    summary = pairing.summary()
    if summary is None:
        return
    logger.warning("%s; %s", summary, hint)
    for skipped in pairing.skipped:
        logger.debug("skipped %s: %s", skipped.path, skipped.reason)
    for path in pairing.unmatched_predictions:
        logger.debug("no annotation for the prediction %s", path)
    for path in pairing.unmatched_annotations:
        logger.debug("no prediction for the annotation %s", path)


def _pairs(predictions: Any, targets: Any, palette: bool) -> Iterator[tuple[Any, Any, str | None]]:
    folders = [_is_path(x) and Path(x).is_dir() for x in (predictions, targets)]
    if all(folders):
        pairing = pair_folders(predictions, targets, palette=palette)
        log_pairing(pairing, targets)
        if not pairing.pairs:
            raise ValueError(
                f"no prediction in {predictions} pairs with an annotation in {targets}: files "
                "pair by the same stem, or by the same number after a prefix (pred_3 / mask_3)"
            )
        for pair in pairing.pairs:
            yield pair.prediction, pair.annotation, pair.name
        return
    if any(folders):
        raise ValueError(
            "give two folders, or two lists of label maps; got a folder and "
            f"{'a file' if _is_path(predictions) or _is_path(targets) else 'images'}"
        )
    predicted = iter(_as_items(predictions, "predictions"))
    annotated = iter(_as_items(targets, "targets"))
    count = 0
    for count, prediction in enumerate(predicted, start=1):
        try:
            target = next(annotated)
        except StopIteration:
            raise ValueError(
                f"more predictions than targets: {count} predictions, {count - 1} targets"
            ) from None
        yield prediction, target, _stem(target) or _stem(prediction)
    if next(annotated, None) is not None:
        raise ValueError(f"more targets than predictions: {count} predictions and more targets")


def evaluate(
    predictions: Any,
    targets: Any,
    *,
    labels: LabelSet | None = None,
    ignore_index: int | None = 255,
    merge_sides: bool = False,
    palette: bool = False,
    names: Iterable[str] | None = None,
) -> EvaluationReport:
    """Score predicted label maps against annotations, pooled over the dataset.

    Args:
        predictions: the predictions, as a folder, or one or an iterable of: H×W label maps
            (uint8 or any integer arrays), `SegmentationResult` objects, or paths to
            label-map images or API-format JSON files. An (N, H, W) array is N images.
            Iterables are read one image at a time, so memory does not grow with the dataset.
        targets: the annotations, the same way and in the same order (or a folder, paired
            with the predictions folder by `pair_folders`). They may hold ``ignore_index``.
        labels: the classes; defaults to those of the first `SegmentationResult` given,
            else the 18 clothes classes.
        ignore_index: annotation value of pixels not to score.
        merge_sides: score Left-/Right-shoe as ``Shoes``, the legs as ``Legs`` and the arms
            as ``Arms``, so that left/right swaps do not count as errors.
        palette: read colourised RGB(A) mask files by the colours of ``labels`` (see
            `load_label_map`); a colour that is no class's colour is an error.
        names: the images' names in ``per_image``, in order (as the ``name`` of the
            `FilePair` objects of a `Pairing`), instead of the names found.

    Returns:
        An `EvaluationReport`: ``mean_iou``, ``mean_dice``, ``pixel_accuracy``, ``per_class``
        and ``per_image`` (worst first, named after the annotation file's stem, else the
        image's position).

    Raises:
        ValueError: shapes that differ, a class id outside the label set, unequal numbers of
            predictions and targets, a file that is not a label map, or two folders with no
            pair; the message names the image.

    Example:
        >>> import numpy as np
        >>> target = np.zeros((4, 4), dtype=np.uint8)
        >>> target[:2] = 4  # Upper-clothes on the top half
        >>> prediction = np.zeros((4, 4), dtype=np.uint8)
        >>> prediction[:3] = 4  # one row too many
        >>> report = evaluate([prediction], [target])
        >>> report.pixel_accuracy, round(report.per_class["Upper-clothes"].iou, 3)
        (0.75, 0.667)
    """
    matrix: ConfusionMatrix | None = None
    given_names = None if names is None else iter(names)
    for index, (prediction, target, stem) in enumerate(_pairs(predictions, targets, palette)):
        name = stem or str(index)
        if given_names is not None:
            name = next(given_names, name)
        if matrix is None:
            if labels is None:
                first = prediction if isinstance(prediction, SegmentationResult) else target
                labels = first.labels if isinstance(first, SegmentationResult) else CLOTHES_LABELS
            matrix = ConfusionMatrix(
                ignore_index=ignore_index, labels=labels, merge_sides=merge_sides
            )
        assert labels is not None
        try:
            matrix.update(
                _label_map(prediction, labels, palette),
                _label_map(target, labels, palette),
                name=name,
            )
        except InvalidImageError as error:
            # The same error, still naming its file in ``source``, now naming the image too.
            raise InvalidImageError(
                f"image {name}: {error.message}", source=error.source
            ) from error
        except (ValueError, TypeError) as error:
            raise type(error)(f"image {name}: {error}") from error
    if matrix is None:
        raise ValueError("no image to evaluate: predictions and targets are empty")
    return matrix.report()
