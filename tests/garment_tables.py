"""Garment tables written by hand for the report's tests, in the table's columns."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

TABLE_COLUMNS = (
    "name",
    "input",
    "width",
    "height",
    "label",
    "pixels",
    "photo_share",
    "person_share",
    "left",
    "top",
    "right",
    "bottom",
    "centroid_x",
    "centroid_y",
    "colour_1",
    "colour_1_name",
    "colour_1_share",
    "colour_2",
    "colour_2_name",
    "colour_2_share",
    "colour_3",
    "colour_3_name",
    "colour_3_share",
    "flags",
)


def row(
    name: str,
    label: str = "",
    photo_share: float | None = None,
    person_share: float | None = None,
    colours: Sequence[tuple[str, str, float]] = (),
    flags: str = "",
    **extra: str,
) -> dict[str, Any]:
    """One row: a garment of photo ``name`` (or, without a label, a photo with none);
    ``colours`` are (#rrggbb, name, share) each."""
    size = 100 * 200
    values: dict[str, Any] = dict.fromkeys(TABLE_COLUMNS, "")
    values.update(name=name, input=f"photos/{name}.jpg", width=100, height=200, flags=flags)
    if label:
        share = 0.1 if photo_share is None else photo_share
        values.update(
            label=label,
            pixels=round(share * size),
            photo_share=share,
            person_share=0.2 if person_share is None else person_share,
            left=10,
            top=20,
            right=60,
            bottom=90,
            centroid_x=35.0,
            centroid_y=55.0,
        )
    for rank, (hex_code, colour, colour_share) in enumerate(colours, start=1):
        values[f"colour_{rank}"] = hex_code
        values[f"colour_{rank}_name"] = colour
        values[f"colour_{rank}_share"] = colour_share
    values.update(extra)
    return values


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write rows as a CSV table; their columns in order, extra ones after the table's."""
    rows = list(rows)
    columns = list(TABLE_COLUMNS)
    for values in rows:
        columns += [column for column in values if column not in columns]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


NAVY, WHITE, BEIGE = "#1c2b4d", "#f2f1ec", "#d8c6a5"


def catalogue_rows() -> list[dict[str, Any]]:
    """Five photos over two seasons: four with garments, one with none."""
    return [
        row("look_1", "Upper-clothes", 0.30, 0.50, [(NAVY, "navy", 0.8), (WHITE, "white", 0.2)],
            season="2024-spring"),
        row("look_1", "Pants", 0.20, 0.35, [(BEIGE, "beige", 1.0)], season="2024-spring"),
        row("look_2", "Upper-clothes", 0.40, 0.60, [(WHITE, "white", 1.0)], season="2024-spring"),
        row("look_2", "Skirt", 0.10, 0.15, [(NAVY, "navy", 0.5), (WHITE, "white", 0.5)],
            flags="small_garment", season="2024-spring"),
        row("look_3", "Upper-clothes", 0.20, 0.40, [(NAVY, "navy", 1.0)], season="2024-summer"),
        row("look_3", "Pants", 0.25, 0.45, [(NAVY, "navy", 0.6), (BEIGE, "beige", 0.4)],
            season="2024-summer"),
        row("look_4", "Pants", 0.05, 0.0, [(BEIGE, "beige", 1.0)], flags="no_person",
            season="2024-summer"),
        row("look_5", flags="no_person", season=""),
    ]  # fmt: skip
