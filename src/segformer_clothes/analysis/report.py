"""The trend report of a garment table: what a catalogue's photos wear, with what, in which
colours, how much of the photo each garment takes, and how that changes from group to group.

`trend_report` reads the table (the ``garments.csv`` or ``garments.parquet`` of an output
folder, or rows); `TrendReport.write` writes a self-contained ``report.html`` (its charts
inside it, nothing fetched from the network), and ``report.md`` with its PNG charts beside
it. Drawing needs matplotlib (``pip install "segformer-clothes[plot]"``); reading Parquet
needs pyarrow (``pip install "segformer-clothes[analysis]"``).

Example:
    >>> from segformer_clothes.analysis.report import trend_report
    >>> rows = [
    ...     {"name": "a", "label": "Upper-clothes", "photo_share": 0.3, "person_share": 0.5,
    ...      "colour_1": "#1b2a4a", "colour_1_name": "navy", "colour_1_share": 1.0},
    ...     {"name": "a", "label": "Pants", "photo_share": 0.2, "person_share": 0.3},
    ...     {"name": "b", "label": "Upper-clothes", "photo_share": 0.4, "person_share": 0.6,
    ...      "colour_1": "#f4f4f0", "colour_1_name": "white", "colour_1_share": 0.75,
    ...      "colour_2": "#1b2a4a", "colour_2_name": "navy", "colour_2_share": 0.25},
    ...     {"name": "c", "label": ""},
    ... ]
    >>> columns = {"colour_2": "", "colour_2_name": "", "colour_2_share": "",
    ...            "colour_3": "", "colour_3_name": "", "colour_3_share": "", "flags": ""}
    >>> report = trend_report([{**columns, **row} for row in rows])
    >>> report.photos, report.frequency
    (3, {'Upper-clothes': 0.666667, 'Pants': 0.333333})
    >>> report.colours["Upper-clothes"]
    {'navy': 0.625, 'white': 0.375}
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ..catalogue import write_atomically
from . import _charts, _pages
from ._reading import REQUIRED_COLUMNS, TableInput, read
from ._trends import BLANK_GROUP, Distribution, Tally, group_order
from .colours import COLOUR_NAMES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "Distribution", "TableInput", "TrendReport", "trend_report"]

FORMATS = ("html", "md")
"""The formats `TrendReport.write` can write: ``report.html`` and ``report.md``."""

_GREY = "#9e9e9e"


@attrs.frozen(eq=False)
class TrendReport:
    """The trends of a garment table. Make it with `trend_report`.

    Garments come most frequent first in every mapping. ``groups`` holds the same report for
    each value of the ``by`` column (each over its own photos), in the order described at
    `trend_report`; it is empty without ``by``.
    """

    source: str
    """Where the table came from (its path, or "the rows given")."""
    photos: int
    """How many photos the table has, those without any garment included."""
    photos_with: Mapping[str, int]
    """Garment -> how many photos have it."""
    co_occurrence: Mapping[str, Mapping[str, int]]
    """Garment A -> garment B -> how many photos have both (A -> A: the photos with A)."""
    colours: Mapping[str, Mapping[str, float]]
    """Garment -> colour name -> share: each garment counts once, split among its colours."""
    swatches: Mapping[str, str]
    """Colour name -> the sRGB colour (#rrggbb) its swatch is drawn in."""
    photo_share: Mapping[str, Distribution]
    """Garment -> the distribution of its share of the photo's pixels."""
    person_share: Mapping[str, Distribution]
    """Garment -> the distribution of its share of the person (photos with a person only)."""
    flags: Mapping[str, int]
    """Quality flag -> how many photos carry it (on the photo or one of its garments)."""
    by: str | None = None
    """The column the report is split by, or None."""
    groups: Mapping[str, TrendReport] = attrs.field(factory=dict)
    """Value of the ``by`` column -> the report of its photos."""

    @property
    def garments(self) -> tuple[str, ...]:
        """The garments found, the most frequent first."""
        return tuple(self.photos_with)

    @property
    def frequency(self) -> dict[str, float]:
        """Garment -> the share of the photos that have it (of every photo in the table)."""
        return {label: round(n / self.photos, 6) for label, n in self.photos_with.items()}

    def figures(self) -> dict[str, Figure]:
        """The charts, by the file name `write` gives them; a chart with nothing to show
        (no garment in the table) is left out.

        Raises:
            ImportError: matplotlib is missing; ``pip install "segformer-clothes[plot]"``.
        """
        order = self.garments
        if not order:
            return {}
        figures = {
            "frequency.png": _charts.frequency_figure(order, self.photos_with, self.photos),
            "co_occurrence.png": _charts.co_occurrence_figure(order, self.co_occurrence),
        }
        coloured = [label for label in order if self.colours[label]]
        if coloured:
            figures["colours.png"] = _charts.colours_figure(coloured, self.colours, self.swatches)
        figures["coverage.png"] = _charts.coverage_figure(
            order, self.photo_share, self.person_share
        )
        if self.by is not None and self.groups:
            groups = list(self.groups)
            shares = {
                label: [self.groups[g].frequency.get(label, 0.0) for g in groups] for label in order
            }
            figures["frequency_by_group.png"] = _charts.frequency_by_group_figure(
                self.by, groups, order, shares
            )
            if coloured:
                figures["colours_by_group.png"] = _charts.colours_by_group_figure(
                    self.by,
                    groups,
                    coloured[: _pages.MOST_GARMENTS_BY_GROUP],
                    {group: report.colours for group, report in self.groups.items()},
                    self.swatches,
                )
        return figures

    def to_markdown(self, charts: Iterable[str] = ()) -> str:
        """The report as Markdown; ``charts`` are the PNG file names to link (beside it)."""
        return _pages.markdown(self, list(charts))

    def to_html(self) -> str:
        """The report as one self-contained HTML page, its charts embedded as data: URIs.

        Raises:
            ImportError: matplotlib is missing; ``pip install "segformer-clothes[plot]"``.
        """
        pictures = {name: _charts.png(figure) for name, figure in self.figures().items()}
        return _pages.html(self, pictures)

    def write(self, folder: str | os.PathLike[str], formats: Sequence[str] = FORMATS) -> list[Path]:
        """Write ``report.html`` and/or ``report.md`` with its PNG charts into ``folder``
        (made if missing; files already there are replaced, each atomically).

        Returns:
            The paths written.

        Raises:
            ValueError: an unknown format (they are ``html`` and ``md``).
            ImportError: matplotlib is missing; ``pip install "segformer-clothes[plot]"``.
        """
        unknown = [name for name in formats if name not in FORMATS]
        if unknown or not formats:
            raise ValueError(
                f"unknown report format {', '.join(map(repr, unknown)) or '(none given)'}: "
                f"choose among {', '.join(FORMATS)}"
            )
        out = Path(folder)
        pictures = {name: _charts.png(figure) for name, figure in self.figures().items()}
        written: list[Path] = []

        def save(path: Path, data: bytes) -> None:
            write_atomically(path, lambda temporary: temporary.write_bytes(data))
            written.append(path)

        if "md" in formats:
            for name, data in pictures.items():
                save(out / name, data)
            save(out / "report.md", _pages.markdown(self, list(pictures)).encode("utf-8"))
        if "html" in formats:
            save(out / "report.html", _pages.html(self, pictures).encode("utf-8"))
        return written


def trend_report(table: TableInput, by: str | None = None) -> TrendReport:
    """The trends of a garment table.

    Args:
        table: a ``.csv`` or ``.parquet`` garment table, an output folder holding
            ``garments.csv`` (else ``garments.parquet``), or rows (mappings of column to
            value) with the table's columns.
        by: a column of the table to split the report by (a date, a source, a season, any
            column you added). Its groups come in order: by number when every value is a
            number, else sorted as text (so ISO dates ``2024-05-01`` come in time order),
            with the photos whose cell is empty last, as ``(blank)``.

    Raises:
        FileNotFoundError: the table does not exist.
        ImportError: a Parquet table without pyarrow; the message says what to install.
        ValueError: not a garment table, a missing column, a bad cell (the message names the
            file, the line and the column), or a ``by`` column the table does not have or
            whose value differs between the rows of one photo.
    """
    checked = read(table, keep=() if by is None else (by,))
    if by is not None and by not in checked.columns:
        raise ValueError(
            f"{checked.source} has no column {by!r} to split the report by "
            f"(its columns: {', '.join(checked.columns)})"
        )
    if by is not None and by in REQUIRED_COLUMNS:
        raise ValueError(
            f"cannot split the report by {by!r}: it is a column of the garment table itself; "
            "split by a column you added for the photo (a date, a source, a season)"
        )
    overall = Tally()
    groups: dict[str, Tally] = {}
    group_of: dict[str, str] = {}  # photo -> its value in the `by` column
    for row in checked.rows:
        overall.add(row)
        if by is None:
            continue
        value = row.extra[by]
        known = group_of.setdefault(row.photo, value)
        if known != value:
            raise ValueError(
                f"{checked.source}: the rows of photo {row.photo!r} disagree on {by} "
                f"({known!r} and {value!r}); a photo has one value in the column it is split by"
            )
        groups.setdefault(value or BLANK_GROUP, Tally()).add(row)
    swatches = _swatches(overall)
    report = _report(checked.source, overall, swatches)
    if by is None:
        return report
    return attrs.evolve(
        report,
        by=by,
        groups={
            value: _report(checked.source, groups[value], swatches) for value in group_order(groups)
        },
    )


def _report(source: str, tally: Tally, swatches: dict[str, str]) -> TrendReport:
    photos_with = tally.photos_with()
    photo_share, person_share = tally.coverage(photos_with)
    return TrendReport(
        source=source,
        photos=tally.photos,
        photos_with=photos_with,
        co_occurrence=tally.co_occurrence(photos_with),
        colours=tally.colours(photos_with),
        swatches=swatches,
        photo_share=photo_share,
        person_share=person_share,
        flags=tally.flag_counts(),
    )


def _swatches(tally: Tally) -> dict[str, str]:
    """Colour name -> the colour to draw it in: its reference colour in `COLOUR_NAMES`, else
    (a name from elsewhere) the mean of the colours the table gives it, else grey."""
    observed = tally.observed_hex()
    return {
        name: COLOUR_NAMES.get(name) or observed.get(name) or _GREY
        for name in sorted(tally.colour_names())
    }
