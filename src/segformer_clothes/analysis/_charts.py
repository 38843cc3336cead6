"""The trend report's charts, drawn with matplotlib from plain numbers, and their PNG bytes.

matplotlib (the ``plot`` extra) is imported only when a chart is drawn. Figures are made
with `matplotlib.figure.Figure`, never pyplot: no GUI backend, no global state.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._trends import Distribution

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "co_occurrence_figure",
    "colours_by_group_figure",
    "colours_figure",
    "coverage_figure",
    "frequency_by_group_figure",
    "frequency_figure",
    "png",
]

_BAR = "#e0703a"
_LABEL_SHARE = 0.07  # a colour segment at least this wide gets its name written on it


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "the trend report's charts need matplotlib, which is not installed: "
            'pip install "segformer-clothes[plot]"'
        ) from error
    return Figure(figsize=(width, height), layout="constrained")


def png(figure: Figure, dpi: int = 100) -> bytes:
    """A figure as PNG bytes (no timestamp or software version in them)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _height(rows: int) -> float:
    return 0.34 * rows + 1.4


def frequency_figure(order: Sequence[str], photos_with: Mapping[str, int], photos: int) -> Figure:
    """Horizontal bars: the share of the photos with each garment."""
    figure = _figure(7.0, _height(len(order)))
    axes = figure.add_subplot()
    shares = [photos_with[label] / photos for label in order]
    positions = np.arange(len(order))
    axes.barh(positions, shares, color=_BAR, edgecolor="black", linewidth=0.5)
    for position, (label, share) in enumerate(zip(order, shares, strict=True)):
        axes.text(share + 0.01, position, f"{share:.0%} ({photos_with[label]})", va="center")
    axes.set_yticks(positions, list(order))
    axes.invert_yaxis()
    axes.set_xlim(0, 1.18)  # room for the text after a full bar
    axes.set_xticks(np.linspace(0, 1, 6), [f"{x:.0%}" for x in np.linspace(0, 1, 6)])
    axes.set_xlabel(f"share of the {photos} photos")
    axes.set_title("Garment frequency")
    return figure


def co_occurrence_figure(order: Sequence[str], together: Mapping[str, Mapping[str, int]]) -> Figure:
    """A heatmap: of the photos with the row's garment, the share that also have the column's.
    The diagonal gives the row's number of photos."""
    side = 0.5 * len(order) + 2.6
    figure = _figure(side + 1.4, side)
    axes = figure.add_subplot()
    counts = np.array([[together[a][b] for b in order] for a in order], dtype=np.float64)
    shares = counts / np.maximum(np.diag(counts)[:, None], 1)
    np.fill_diagonal(shares, np.nan)
    image = axes.imshow(shares, cmap="Oranges", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the row's photos")
    for (row, column), share in np.ndenumerate(shares):
        if row == column:
            axes.text(
                column,
                row,
                f"n={int(counts[row, row])}",
                ha="center",
                va="center",
                fontsize=7,
                color="dimgrey",
            )
        elif share > 0:
            colour = "white" if share > 0.6 else "black"
            axes.text(
                column, row, f"{share:.0%}", ha="center", va="center", fontsize=7, color=colour
            )
    positions = np.arange(len(order))
    axes.set_xticks(positions, list(order), rotation=45, ha="right")
    axes.set_yticks(positions, list(order))
    axes.set_xlabel("also wearing")
    axes.set_ylabel("photos with")
    axes.set_title("Co-occurrence of garments")
    return figure


def _text_colour(hex_code: str) -> str:
    red, green, blue = (int(hex_code[i : i + 2], 16) for i in (1, 3, 5))
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 140 else "white"


def _swatch_bar(
    axes: Axes,
    position: float,
    shares: Mapping[str, float],
    swatches: Mapping[str, str],
) -> None:
    """One stacked bar of colour swatches, each as wide as its share, named when it fits."""
    left = 0.0
    for name, share in shares.items():
        hex_code = swatches[name]
        axes.barh(position, share, left=left, color=hex_code, edgecolor="black", linewidth=0.5)
        if share >= _LABEL_SHARE:
            axes.text(
                left + share / 2,
                position,
                name,
                ha="center",
                va="center",
                fontsize=7,
                color=_text_colour(hex_code),
            )
        left += share


def colours_figure(
    order: Sequence[str],
    colours: Mapping[str, Mapping[str, float]],
    swatches: Mapping[str, str],
) -> Figure:
    """One bar of swatches per garment: its colours, each as wide as its share."""
    figure = _figure(8.0, _height(len(order)))
    axes = figure.add_subplot()
    for position, label in enumerate(order):
        _swatch_bar(axes, position, colours[label], swatches)
    axes.set_yticks(np.arange(len(order)), list(order))
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xticks(np.linspace(0, 1, 6), [f"{x:.0%}" for x in np.linspace(0, 1, 6)])
    axes.set_xlabel("share of the garments (each garment split among its colours)")
    axes.set_title("Colours of each garment")
    return figure


def coverage_figure(
    order: Sequence[str],
    photo_share: Mapping[str, Distribution],
    person_share: Mapping[str, Distribution],
) -> Figure:
    """Two box plots side by side: each garment's share of the photo, and of the person."""
    figure = _figure(9.0, _height(len(order)) + 0.3)
    panels = figure.subplots(1, 2, sharey=True)
    for axes, (title, spread) in zip(
        panels,
        (("share of the photo", photo_share), ("share of the person", person_share)),
        strict=True,
    ):
        present = [position for position, label in enumerate(order) if spread[label].count]
        axes.boxplot(
            [list(spread[order[position]].values) for position in present],
            positions=present,
            orientation="horizontal",
            widths=0.6,
            patch_artist=True,
            boxprops={"facecolor": _BAR, "alpha": 0.8},
            medianprops={"color": "black"},
        )
        axes.set_xlim(0, 1)
        axes.set_xticks(np.linspace(0, 1, 6), [f"{x:.0%}" for x in np.linspace(0, 1, 6)])
        axes.set_xlabel(title)
    panels[0].set_yticks(np.arange(len(order)), list(order))
    panels[0].set_ylim(len(order) - 0.5, -0.5)
    figure.suptitle("Coverage: how much of the photo and of the person each garment takes")
    return figure


def frequency_by_group_figure(
    column: str,
    groups: Sequence[str],
    order: Sequence[str],
    shares: Mapping[str, Sequence[float]],
) -> Figure:
    """One line per garment: its share of each group's photos, the groups in order."""
    figure = _figure(max(6.0, 0.9 * len(groups) + 3.5), 4.6)
    axes = figure.add_subplot()
    positions = np.arange(len(groups))
    for label in order:
        axes.plot(positions, shares[label], marker="o", label=label)
    axes.set_xticks(positions, list(groups), rotation=30 if len(groups) > 6 else 0)
    axes.set_ylim(0, 1.05)
    axes.set_yticks(np.linspace(0, 1, 6), [f"{y:.0%}" for y in np.linspace(0, 1, 6)])
    axes.set_xlabel(column)
    axes.set_ylabel("share of the photos")
    axes.set_title(f"Garment frequency by {column}")
    figure.legend(loc="outside right upper", fontsize=8)
    return figure


def colours_by_group_figure(
    column: str,
    groups: Sequence[str],
    order: Sequence[str],
    colours: Mapping[str, Mapping[str, Mapping[str, float]]],
    swatches: Mapping[str, str],
) -> Figure:
    """For each garment, one bar of swatches per group: how its colours change."""
    figure = _figure(8.0, len(order) * (0.3 * len(groups) + 0.9) + 0.8)
    panels = np.atleast_1d(figure.subplots(len(order), 1, squeeze=False)[:, 0])
    for axes, label in zip(panels, order, strict=True):
        for position, group in enumerate(groups):
            _swatch_bar(axes, position, colours[group].get(label, {}), swatches)
        axes.set_yticks(np.arange(len(groups)), list(groups))
        axes.set_ylim(len(groups) - 0.5, -0.5)
        axes.set_xlim(0, 1)
        axes.set_xticks(np.linspace(0, 1, 6), [f"{x:.0%}" for x in np.linspace(0, 1, 6)])
        axes.set_title(label, fontsize=9, loc="left")
    figure.suptitle(f"Colours of each garment by {column}")
    return figure
