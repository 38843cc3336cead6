"""Matplotlib figures of scores (IoU bars, a confusion heatmap), drawn from plain arrays.

matplotlib (the ``plot`` extra) is imported only when a figure is drawn. Figures are made
with `matplotlib.figure.Figure`, not pyplot: no global state, no GUI backend needed, safe in
scripts, servers and notebooks alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["class_iou_figure", "confusion_figure", "new_axes", "rgb"]


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The figure of ``ax``, or a new figure of this size with one axes.

    Raises:
        ImportError: matplotlib is missing; the message says what to install.
    """
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


def rgb(color: tuple[int, int, int]) -> tuple[float, float, float]:
    """A 0..255 RGB colour as matplotlib's 0..1 floats.

    Example:
        >>> rgb((255, 0, 51))
        (1.0, 0.0, 0.2)
    """
    return color[0] / 255, color[1] / 255, color[2] / 255


def class_iou_figure(
    names: Sequence[str],
    ious: Sequence[float],
    colours: Sequence[tuple[int, int, int]],
    mean_iou: float,
    ax: Axes | None,
) -> Figure:
    """A horizontal bar chart of each class's IoU, in the order given, the mean dashed.

    Classes with no score (NaN) are written ``n/a`` instead of a bar.
    """
    figure, axes = new_axes(ax, (7.0, 0.32 * len(names) + 1.5))
    values = np.array(ious, dtype=np.float64)
    positions = np.arange(len(names))
    axes.barh(
        positions,
        np.nan_to_num(values),
        color=[rgb(colour) for colour in colours],
        edgecolor="black",
        linewidth=0.5,
    )
    for position, value in enumerate(values.tolist()):
        label = "n/a" if math.isnan(value) else f"{value:.2f}"
        left = 0.01 if math.isnan(value) else value + 0.01
        axes.text(left, position, label, va="center", fontsize=8)
    if not np.isnan(mean_iou):
        axes.axvline(mean_iou, color="black", linestyle="--", linewidth=1)
    axes.set_yticks(positions, list(names))
    axes.invert_yaxis()
    axes.set_xlim(0, 1.1)  # room for the value written after a full bar
    axes.set_xticks(np.linspace(0, 1, 6))
    axes.set_xlabel("IoU (pooled over the dataset)")
    axes.set_title(f"IoU per class - mean IoU {mean_iou:.3f} (dashed)")
    return figure


def confusion_figure(matrix: np.ndarray, names: Sequence[str], ax: Axes | None) -> Figure:
    """A confusion matrix as a heatmap, each row divided by its annotated pixels.

    Row ``t`` shows where the pixels annotated ``t`` went: the diagonal is each class's
    recall. Rows of classes never annotated are left blank.
    """
    side = 0.38 * len(names) + 2.5
    figure, axes = new_axes(ax, (side + 1.5, side))
    counts = matrix.astype(np.float64)
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
    axes.set_xticks(ticks, list(names), rotation=60, ha="right", fontsize=8)
    axes.set_yticks(ticks, list(names), fontsize=8)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("annotated class")
    axes.set_title("Confusion matrix (rows sum to 1)")
    return figure
