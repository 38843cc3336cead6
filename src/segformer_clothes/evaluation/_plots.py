"""The public plots: a report's IoU bars and confusion heatmap, and one image's comparison panel.

matplotlib (the ``plot`` extra) is imported only when drawing; figures are made without
pyplot, so they need no GUI and keep no global state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..images import ImageInput, load_image
from ..labels import CLOTHES_LABELS, LabelSet
from ._figures import new_axes, rgb
from ._label_maps import as_label_map
from ._report import EvaluationReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_class_iou", "plot_comparison", "plot_confusion"]

_IGNORED_GREY = (160, 160, 160)
_RIGHT = (46, 160, 67)
_WRONG = (214, 39, 40)


def plot_class_iou(report: EvaluationReport, *, ax: Axes | None = None) -> Figure:
    """A horizontal bar chart of each class's IoU, in id order, with the mean IoU marked.

    Classes with no pixel at all (NaN) are written ``n/a`` instead of a bar. The same as
    ``report.plot("iou", ax=ax)``.

    Raises:
        ImportError: matplotlib is missing; ``pip install "segformer-clothes[plot]"``.
    """
    return report.plot("iou", ax=ax)


def plot_confusion(report: EvaluationReport, *, ax: Axes | None = None) -> Figure:
    """The confusion matrix as a heatmap, each row divided by its annotated pixels.

    Row ``t`` shows where the pixels annotated ``t`` went: the diagonal is each class's
    recall. Rows of classes never annotated are left blank. The same as
    ``report.plot("confusion", ax=ax)``.

    Raises:
        ImportError: matplotlib is missing; ``pip install "segformer-clothes[plot]"``.
    """
    return report.plot("confusion", ax=ax)


def _colourise(label_map: np.ndarray, labels: LabelSet, ignored: np.ndarray) -> np.ndarray:
    palette = np.array(labels.palette_array(), dtype=np.uint8).reshape(256, 3)
    painted: np.ndarray = palette[np.clip(label_map, 0, 255).astype(np.intp)]
    painted[ignored] = _IGNORED_GREY
    return painted


def plot_comparison(
    prediction: Any,
    target: Any,
    image: ImageInput | None = None,
    *,
    labels: LabelSet = CLOTHES_LABELS,
    ignore_index: int | None = 255,
    title: str | None = None,
) -> Figure:
    """One image side by side: photo | annotation | prediction | errors.

    The errors panel shows right pixels in green, wrong ones in red and ignored ones in
    grey, over the dimmed photo when there is one. Without a photo the panel has three
    pictures.

    Args:
        prediction: the predicted label map (array or `SegmentationResult`).
        target: the annotated label map.
        image: the photo (path, bytes, PIL image or array); defaults to the photo a
            `SegmentationResult` prediction keeps, if any.
        labels: the classes, for colours and the legend.
        ignore_index: annotation value of pixels not scored.
        title: a title above the panel (the image's name, for example).

    Raises:
        ImportError: matplotlib is missing; ``pip install "segformer-clothes[plot]"``.
        ValueError: the label maps (or the photo) have different sizes.
    """
    if image is None:
        image = getattr(prediction, "image", None)
    predicted = as_label_map(prediction, "prediction")
    annotated = as_label_map(target, "annotation")
    if predicted.shape != annotated.shape:
        raise ValueError(
            f"the prediction is {predicted.shape} but the annotation is {annotated.shape}"
        )
    ignored = (
        annotated == ignore_index if ignore_index is not None else np.zeros(annotated.shape, bool)
    )
    photo = None
    if image is not None:
        photo = np.asarray(load_image(image))
        if photo.shape[:2] != annotated.shape:
            raise ValueError(
                f"the photo is {photo.shape[1]}x{photo.shape[0]} but the label maps are "
                f"{annotated.shape[1]}x{annotated.shape[0]}"
            )
    errors = np.where((predicted == annotated)[:, :, None], _RIGHT, _WRONG).astype(np.float64)
    if photo is not None:
        errors = 0.55 * errors + 0.45 * photo
    errors[ignored] = _IGNORED_GREY
    pictures: list[tuple[str, np.ndarray]] = []
    if photo is not None:
        pictures.append(("photo", photo))
    pictures += [
        ("annotation", _colourise(annotated, labels, ignored)),
        ("prediction", _colourise(predicted, labels, np.zeros(ignored.shape, bool))),
        ("errors (green right, red wrong)", errors.astype(np.uint8)),
    ]
    height, width = annotated.shape
    panel_width = 3.2
    figure, _ = new_axes(None, (panel_width * len(pictures), panel_width * height / width + 1.2))
    figure.clear()
    axes_row = figure.subplots(1, len(pictures))
    for axes, (caption, picture) in zip(axes_row, pictures, strict=True):
        axes.imshow(picture, interpolation="nearest")
        axes.set_title(caption, fontsize=9)
        axes.set_axis_off()
    from matplotlib.patches import Patch

    present = sorted(
        {int(i) for i in np.unique(annotated[~ignored])} | {int(i) for i in np.unique(predicted)}
    )
    handles = [
        Patch(facecolor=rgb(labels.color(i)), edgecolor="black", label=labels.names[i])
        for i in present
        if 0 <= i < len(labels)
    ]
    figure.legend(
        handles=handles, loc="outside lower center", ncol=min(6, max(1, len(handles))), fontsize=8
    )
    if title:
        figure.suptitle(title)
    return figure
