"""The garment table of a catalogue: one row per photo and garment, as CSV and Parquet.

The columns are `TABLE_COLUMNS`, in that order (`COLUMN_TYPES` gives each one's type):

| column | meaning |
|---|---|
| ``name``, ``input`` | the photo's output name, its path as the run saw it |
| ``width``, ``height`` | the photo's size in pixels |
| ``label`` | the garment (``shoes``: left and right merged); empty: no garment |
| ``pixels`` | the garment's pixels |
| ``photo_share``, ``person_share`` | their share of the photo, of the person |
| ``left``, ``top``, ``right``, ``bottom`` | its box, right and bottom exclusive |
| ``centroid_x``, ``centroid_y`` | its centroid, in pixels |
| ``colour_N``, ``colour_N_name`` | its N-th dominant colour (N = 1, 2, 3): hex, name |
| ``colour_N_share`` | that colour's share of the garment's pixels |
| ``flags`` | quality flags of the garment and its photo, ``;``-joined |

Every photo has at least one row: a photo without garments gets one with an empty label, 0
pixels, no box, no colours, and its photo flags (``no_person``, ``small_person``), so that the
share of photos with a garment has the right denominator. Empty cells are empty strings in CSV
and nulls in Parquet; floats have 6 decimals at most.

`TableWriter` appends each photo's rows as it finishes, and a photo written again replaces its
earlier rows: the last rows written for a name win, also across runs and after a run that was
killed (its leftovers are cleaned when the table is next opened). `write_parquet` turns the CSV
into Parquet, streaming, and atomically.

Example:
    >>> import tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from segformer_clothes import SegmentationResult
    >>> label_map = np.zeros((60, 40), dtype=np.uint8)
    >>> label_map[10:50, 5:35] = 4
    >>> result = SegmentationResult(label_map, image=Image.new("RGB", (40, 60), (31, 42, 68)))
    >>> rows = table_rows(result, name="look", input="photos/look.jpg")
    >>> [(row["label"], row["colour_1_name"], row["flags"]) for row in rows]
    [('Upper-clothes', 'navy', None)]
    >>> csv_path = Path(tempfile.mkdtemp()) / "garments.csv"
    >>> with TableWriter(csv_path) as table:
    ...     table.write("look", rows)
    ...     table.write("look", rows)  # redone: replaces its rows
    >>> [row["name"] for row in read_table(csv_path)]
    ['look']
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ..catalogue import write_atomically
from ..images import ImageInput
from ..labels import CLOTHES_LABELS, LabelSet
from . import _csv_lines
from ._name_index import NameIndex
from ._requires import require
from .garments import Garment, find_garments, photo_flags

__all__ = [
    "COLUMN_TYPES",
    "CSV_NAME",
    "PARQUET_NAME",
    "TABLE_COLUMNS",
    "Row",
    "TableWriter",
    "garment_rows",
    "read_table",
    "table_rows",
    "write_parquet",
]

CSV_NAME = "garments.csv"
"""The table's file name in an output folder."""
PARQUET_NAME = "garments.parquet"
"""The Parquet copy's file name in an output folder."""

_COLOURS = 3
COLUMN_TYPES: dict[str, type] = {
    "name": str,
    "input": str,
    "width": int,
    "height": int,
    "label": str,
    "pixels": int,
    "photo_share": float,
    "person_share": float,
    "left": int,
    "top": int,
    "right": int,
    "bottom": int,
    "centroid_x": float,
    "centroid_y": float,
    **{
        column: kind
        for n in range(1, _COLOURS + 1)
        for column, kind in (
            (f"colour_{n}", str),
            (f"colour_{n}_name", str),
            (f"colour_{n}_share", float),
        )
    },
    "flags": str,
}
"""Each column's type (``str``, ``int`` or ``float``), in table order."""
TABLE_COLUMNS: tuple[str, ...] = tuple(COLUMN_TYPES)
"""The table's columns, in order: the CSV header."""

Row = dict[str, "str | int | float | None"]
"""One row: column -> value, None for an empty cell."""


def garment_rows(
    garments: Sequence[Garment],
    *,
    name: str,
    input: str,
    size: tuple[int, int],
    flags: Sequence[str] = (),
) -> list[Row]:
    """The rows of one photo from its garments; ``size`` is ``(width, height)`` and ``flags``
    the photo's own flags (`segformer_clothes.analysis.garments.photo_flags`), used for the
    row of a photo without garments."""
    width, height = size
    photo: Row = {"name": name, "input": input, "width": width, "height": height}
    if not garments:
        row: Row = dict.fromkeys(TABLE_COLUMNS)
        row.update(photo)
        row.update(label=None, pixels=0, photo_share=0.0, person_share=0.0)
        row["flags"] = ";".join(flags) or None
        return [row]
    rows = []
    for garment in garments:
        left, top, right, bottom = garment.bbox
        row = dict.fromkeys(TABLE_COLUMNS)
        row.update(photo)
        row.update(
            label=garment.label,
            pixels=garment.pixels,
            photo_share=garment.photo_share,
            person_share=garment.person_share,
            left=left,
            top=top,
            right=right,
            bottom=bottom,
            centroid_x=garment.centroid[0],
            centroid_y=garment.centroid[1],
            flags=";".join(garment.flags) or None,
        )
        for n, colour in enumerate(garment.colours[:_COLOURS], start=1):
            row[f"colour_{n}"] = colour.hex
            row[f"colour_{n}_name"] = colour.name
            row[f"colour_{n}_share"] = colour.share
        rows.append(row)
    return rows


def table_rows(
    result: Any,
    *,
    name: str | None = None,
    input: str | None = None,
    image: ImageInput | None = None,
    labels: LabelSet | None = None,
    merge_shoes: bool = True,
) -> list[Row]:
    """The rows of one `SegmentationResult` (or anything with ``label_map``, ``labels`` and
    ``image``): its garments with 3 colours, left and right shoes merged into ``shoes``
    unless ``merge_shoes=False``.

    Args:
        result: the segmentation.
        name: the photo's name (default: the stem of its source).
        input: the photo's path as given (default: its source).
        image: the photo, when the result does not keep it.
        labels: the classes of the label map (default: the result's).
        merge_shoes: one ``shoes`` row for left and right shoes.

    Raises:
        ValueError: no photo (given or kept), or one of another size.
    """
    label_map = result.label_map
    source = getattr(result, "source", None)
    photo = image if image is not None else getattr(result, "image", None)
    garments = find_garments(
        label_map,
        photo,
        labels=labels if labels is not None else getattr(result, "labels", CLOTHES_LABELS),
        colours=_COLOURS,
        merge_shoes=merge_shoes,
        rle=False,
    )
    height, width = label_map.shape
    return garment_rows(
        garments,
        name=name if name is not None else Path(str(source)).stem,
        input=input if input is not None else str(source),
        size=(width, height),
        flags=photo_flags(label_map),
    )


class TableWriter:
    """The CSV garment table, appended photo by photo; the last rows written for a name win.

    Opening it creates the file with its header, or reopens an existing one: a torn last line
    (a run killed while writing) is cut, and the older rows of a photo that was written again
    after them are dropped. `write` appends one photo's rows and flushes them; `close` drops
    the older rows of the photos written again in this run (rewriting the file once, atomically).

    Args:
        path: the CSV file (``OUT/garments.csv``).

    Raises:
        ValueError: the file's header is not `TABLE_COLUMNS`; the message says what to do.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._names = NameIndex()  # flat in memory: about 8 bytes a photo
        self._replaced: set[str] = set()  # names written again: their older rows to drop
        self._last_name: str | None = None
        self._last_offset = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists() or self.path.stat().st_size == 0:
            self.path.write_text(_csv_lines.line(TABLE_COLUMNS), encoding="utf-8")
        else:
            self._reopen()
        self._file = self.path.open("a", encoding="utf-8", newline="")

    def _reopen(self) -> None:
        with self.path.open("rb+") as existing:
            data_end = existing.seek(0, os.SEEK_END)
            existing.seek(max(0, data_end - 1))
            if existing.read(1) != b"\n":  # a torn last line: cut it
                existing.seek(0)
                content = existing.read()
                existing.truncate(content.rfind(b"\n") + 1)
        header, duplicated = self._scan()
        if tuple(header) != TABLE_COLUMNS:
            raise ValueError(
                f"{self.path} is not a garment table of this version: its columns are "
                f"{', '.join(header)[:200]}. Move it away (or delete it) and run again"
            )
        if duplicated:
            self._compact(duplicated)
            self._scan()

    def _scan(self) -> tuple[list[str], set[str]]:
        """Read the names, and where the last photo's rows begin; returns the header and the
        names that may have rows in two places (a photo written again by a run that did not
        close the table)."""
        self._names.clear()
        self._last_name, self._last_offset = None, 0
        duplicated: set[str] = set()
        with self.path.open("rb") as lines:
            header = lines.readline().decode("utf-8").rstrip("\r\n").split(",")
            offset = lines.tell()
            for line in lines:
                name = next(csv.reader([line.decode("utf-8")]))[0]
                if name != self._last_name:
                    if name in self._names:
                        duplicated.add(name)
                    self._names.add(name)
                    self._last_name, self._last_offset = name, offset
                offset += len(line)
        return header, duplicated

    def has(self, name: str) -> bool:
        """Whether the table has rows for the photo ``name`` (a false True is possible, about
        once in 10^8 photos for a million; a false False is not)."""
        return name in self._names

    def write(self, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append one photo's rows (replacing the rows it had before)."""
        if name == self._last_name:  # the same photo again, right after itself: cut its rows
            self._file.truncate(self._last_offset)
            self._file.seek(self._last_offset)
        elif name in self._names:
            self._replaced.add(name)
        self._names.add(name)
        self._last_name, self._last_offset = name, self._file.tell()
        cells = _csv_lines.cell
        text = "".join(_csv_lines.line(cells(row.get(c)) for c in TABLE_COLUMNS) for row in rows)
        self._file.write(text)
        self._file.flush()

    def close(self) -> None:
        """Close the file, after dropping the older rows of photos written again."""
        if self._file.closed:
            return
        self._file.close()
        if self._replaced:
            self._compact(self._replaced)
            self._replaced = set()

    def _compact(self, names: set[str]) -> None:
        """Keep only the last block of rows of each of ``names`` (streaming, written
        atomically); the rows of other names stay as they are."""
        last_block: dict[str, int] = {}
        for block, name, _ in _csv_lines.blocks(self.path):
            if name in names:
                last_block[name] = block

        def write(temporary: Path) -> None:
            with temporary.open("w", encoding="utf-8", newline="") as out:
                out.write(_csv_lines.line(TABLE_COLUMNS))
                for block, name, line in _csv_lines.blocks(self.path):
                    if last_block.get(name, block) == block:
                        out.write(line)

        write_atomically(self.path, write)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_table(path: str | os.PathLike[str]) -> Iterator[Row]:
    """The rows of a garment table, CSV or Parquet (by the file's suffix), as typed values:
    ``int`` and ``float`` for the numeric columns, None for empty cells. Columns a user added
    are kept, as strings in CSV. Streams: the table is never held at once.

    Raises:
        ImportError: a Parquet file without pyarrow; the message gives the install command.
    """
    path = Path(path)
    if path.suffix == ".parquet":
        parquet = require("pyarrow.parquet", "reading a Parquet table")
        for batch in parquet.ParquetFile(path).iter_batches(batch_size=4096):
            yield from batch.to_pylist()
        return
    with path.open("r", encoding="utf-8", newline="") as lines:
        for row in csv.DictReader(lines):
            yield {
                column: _csv_lines.parse(text or "", COLUMN_TYPES.get(column, str))
                for column, text in row.items()
            }


def write_parquet(csv_path: str | os.PathLike[str], parquet_path: str | os.PathLike[str]) -> int:
    """Write the CSV table as Parquet, typed as `COLUMN_TYPES` (empty cells as nulls), batch by
    batch, to a temporary file renamed into place at the end. Returns the number of rows.

    Raises:
        ImportError: pyarrow is not installed; the message gives the install command.
    """
    pa_csv = require("pyarrow.csv", "writing a Parquet table")
    pa = require("pyarrow", "writing a Parquet table")
    parquet = require("pyarrow.parquet", "writing a Parquet table")
    arrow_types = {str: pa.string(), int: pa.int64(), float: pa.float64()}
    convert = pa_csv.ConvertOptions(
        column_types={c: arrow_types[kind] for c, kind in COLUMN_TYPES.items()},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    written = 0

    def write(temporary: Path) -> None:
        nonlocal written
        reader = pa_csv.open_csv(Path(csv_path), convert_options=convert)
        with parquet.ParquetWriter(temporary, reader.schema) as out:
            for batch in reader:
                out.write_batch(batch)
                written += batch.num_rows

    write_atomically(Path(parquet_path), write)
    return written
