"""The lines of the garment table's CSV: a row's cells as text and back, and the runs of rows
("blocks") that belong to one photo."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def cell(value: Any) -> str:
    """A value as CSV text: empty for None, at most 6 decimals for a float."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    return str(value)


def parse(text: str, kind: type) -> Any:
    """A cell's text as ``kind`` (str, int or float); None for an empty cell."""
    if text == "":
        return None
    return kind(text)


def line(cells: Any) -> str:
    """One CSV line of ``cells`` (text), with its newline."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(list(cells))
    return buffer.getvalue()


def blocks(path: Path) -> Iterator[tuple[int, str, str]]:
    """(block number, name, raw line) of each row; a block is a run of rows of one name."""
    block, previous = -1, None
    with path.open("r", encoding="utf-8", newline="") as lines:
        lines.readline()
        for text in lines:
            name = next(csv.reader([text]))[0]
            if name != previous:
                block, previous = block + 1, name
            yield block, name, text
