"""Pictures of an evaluation with matplotlib (the ``plot`` extra), imported only when drawing.

Figures are made with `matplotlib.figure.Figure`, not pyplot: no global state, no GUI
backend needed, safe in scripts, servers and notebooks alike.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..images import ImageInput, load_image
from ..labels import CLOTHES_LABELS, LabelSet
from ._label_maps import as_label_map

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._report import EvaluationReport

__all__ = ["plot_class_iou", "plot_comparison", "plot_confusion"]

_IGNORED_GREY = (160, 160, 160)
_RIGHT = (46, 160, 67)
_WRONG = (214, 39, 40)


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            'plots need matplotlib, which is not installed: pip install "segformer-clothes[plot]"'
        ) from error
    if ax is not None:
        return ax.get_figure(), ax  # type: ignore[return-value]  # an Axes' figure is a Figure
    figure = Figure(figsize=figsize, layout="constrained")
    return figure, figure.add_subplot()


def _rgb(color: tuple[int, int, int]) -> tuple[float, float, float]:
    return color[0] / 255, color[1] / 255, color[2] / 255


def plot_class_iou(report: EvaluationReport, *, ax: Axes | None = None) -> Figure:
    """A horizontal bar chart of each class's IoU, in id order, with the mean IoU marked.

    Classes with no pixel at all (NaN) are written ``n/a`` instead of a bar.

    Raises:
        ImportError: matplotlib is missing; ``pip install "segformer-clothes[plot]"``.
    """
    names = list(report.per_class)
    figure, axes = _new_axes(ax, (7.0, 0.32 * len(names) + 1.5))
    values = np.array([report.per_class[n].iou for n in names], dtype=np.float64)
    positions = np.arange(len(names))
    colours = [_rgb(report.labels.color(n)) for n in names]
    axes.barh(positions, np.nan_to_num(values), color=colours, edgecolor="black", linewidth=0.5)
    for position, value in enumerate(values.tolist()):
        label = "n/a" if math.isnan(value) else f"{value:.2f}"
        left = 0.01 if math.isnan(value) else value + 0.01
        axes.text(left, position, label, va="center", fontsize=8)
    if not np.isnan(report.mean_iou):
        axes.axvline(report.mean_iou, color="black", linestyle="--", linewidth=1)
    axes.set_yticks(positions, names)
    axes.invert_yaxis()
    axes.set_xlim(0, 1.1)  # room for the value written after a full bar
    axes.set_xticks(np.linspace(0, 1, 6))
    axes.set_xlabel("IoU (pooled over the dataset)")
    axes.set_title(f"IoU per class - mean IoU {report.mean_iou:.3f} (dashed)")
    return figure


def plot_confusion(report: EvaluationReport, *, ax: Axes | None = None) -> Figure:
    """The confusion matrix as a heatmap, each row divided by its annotated pixels.

    Row ``t`` shows where the pixels annotated ``t`` went: the diagonal is each class's
    recall. Rows of classes never annotated are left blank.

    Raises:
        ImportError: matplotlib is missing; ``pip install "segformer-clothes[plot]"``.
    """
    names = list(report.labels.names)
    side = 0.38 * len(names) + 2.5
    figure, axes = _new_axes(ax, (side + 1.5, side))
    counts = report.confusion_matrix.astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.full(counts.shape, np.nan)
    np.divide(counts, totals, out=shares, where=totals > 0)
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the row")
    if len(names) <= 30:
        for (row, column), share in np.ndenumerate(shares):
            if share >= 0.005:
                colour = "white" if share > 0.6 else "black"
                axes.text(
                    column, row, f"{share:.2f}", ha="center", va="center", fontsize=6, color=colour
                )
    ticks = np.arange(len(names))
    axes.set_xticks(ticks, names, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(ticks, names, fontsize=8)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("annotated class")
    axes.set_title("Confusion matrix (rows sum to 1)")
    return figure


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
    figure, _ = _new_axes(None, (panel_width * len(pictures), panel_width * height / width + 1.2))
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
        Patch(facecolor=_rgb(labels.color(i)), edgecolor="black", label=labels.names[i])
        for i in present
        if 0 <= i < len(labels)
    ]
    figure.legend(
        handles=handles, loc="outside lower center", ncol=min(6, max(1, len(handles))), fontsize=8
    )
    if title:
        figure.suptitle(title)
    return figure
