"""Reading a garment table (a CSV or Parquet file, a folder holding one, or rows) into
checked rows: the columns the trend report needs, each cell parsed or a clear error."""

from __future__ import annotations

import csv
import math
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

__all__ = ["COLOURS_PER_GARMENT", "REQUIRED_COLUMNS", "GarmentRow", "Table", "TableInput", "read"]

COLOURS_PER_GARMENT = 3
REQUIRED_COLUMNS: tuple[str, ...] = (
    "name",
    "label",
    "photo_share",
    "person_share",
    *(
        f"colour_{rank}{part}"
        for rank in range(1, COLOURS_PER_GARMENT + 1)
        for part in ("", "_name", "_share")
    ),
    "flags",
)
"""The columns of the garment table the report reads; any other column is kept for ``by``."""

TableInput = str | Path | Iterable[Mapping[str, Any]]
"""A garment table: a ``.csv`` or ``.parquet`` path, a folder holding ``garments.csv`` (or
``garments.parquet``), or rows as mappings of column name to value."""

_CSV_SUFFIXES = {".csv"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


@attrs.frozen
class GarmentRow:
    """One row of the table: a garment of a photo, or (label "") a photo with none."""

    photo: str
    label: str
    photo_share: float
    person_share: float
    colours: tuple[tuple[str, str, float], ...]  # (hex, name, share) of each named colour
    flags: tuple[str, ...]
    extra: Mapping[str, str]  # the columns asked for with ``keep``, as text


@attrs.frozen
class Table:
    """A table being read: where it comes from, its columns in order, and its rows, read
    and checked as they are taken (a bad cell raises then)."""

    source: str
    columns: tuple[str, ...]
    rows: Iterator[GarmentRow]


def read(table: TableInput, keep: Sequence[str] = ()) -> Table:
    """Open a garment table and check its columns; its rows are read and checked one by one
    as they are taken (the file is never held whole). ``keep``: other columns to give each
    row, as text, in its ``extra``.

    Raises:
        FileNotFoundError: the path does not exist, or the folder holds no table.
        ImportError: a Parquet file without pyarrow; the message says what to install.
        ValueError: not a table, a missing column, or a cell that is not what its column
            holds; the message names the file, the line (or row) and the column.
    """
    if isinstance(table, (str, Path)):
        path = _table_file(Path(table))
        if path.suffix.lower() in _PARQUET_SUFFIXES:
            return _read_parquet(path, keep)
        return _read_csv(path, keep)
    if isinstance(table, Mapping):
        raise TypeError("table must be a path or an iterable of rows (mappings), not one mapping")
    rows = [dict(row) for row in table]
    seen: list[str] = []
    for row in rows:
        seen += [str(column) for column in row if str(column) not in seen]
    numbered = ((f"row {n}", row) for n, row in enumerate(rows, 1))
    return _checked("the rows given", seen, numbered, keep)


def _table_file(path: Path) -> Path:
    if path.is_dir():
        for name in ("garments.csv", "garments.parquet"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path} holds no garments.csv or garments.parquet")
    if not path.exists():
        raise FileNotFoundError(f"the table {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in _CSV_SUFFIXES | _PARQUET_SUFFIXES:
        raise ValueError(
            f"{path} is not a garment table: give a .csv or .parquet file, or a folder "
            "holding garments.csv"
        )
    return path


def _read_csv(path: Path, keep: Sequence[str]) -> Table:
    def lines() -> Generator[list[str], None, None]:
        # utf-8-sig: a table saved again by a spreadsheet often starts with a byte-order mark.
        try:
            with path.open(encoding="utf-8-sig", newline="") as file:
                yield from csv.reader(file)
        except UnicodeDecodeError as error:
            raise ValueError(f"{path} is not a CSV text file (UTF-8): {error}") from None
        except csv.Error as error:
            raise ValueError(f"{path} is not a readable CSV file: {error}") from None

    header_lines = lines()
    header = next(header_lines, None)
    header_lines.close()
    if not header:
        raise ValueError(f"{path} is empty: a garment table starts with its header line")

    def records() -> Iterator[tuple[str, dict[str, Any]]]:
        body = lines()
        next(body)  # the header
        for number, line in enumerate(body, start=2):
            if not line:
                continue  # a blank line
            if len(line) != len(header):
                raise ValueError(
                    f"{path}, line {number}: {len(line)} fields where the header has {len(header)}"
                )
            yield f"line {number}", dict(zip(header, line, strict=True))

    return _checked(str(path), header, records(), keep)


def _read_parquet(path: Path, keep: Sequence[str]) -> Table:
    try:
        import pyarrow.parquet as parquet
    except ImportError as error:
        raise ImportError(
            "reading a Parquet table needs pyarrow, which is not installed: "
            'pip install "segformer-clothes[analysis]" (or give the garments.csv table)'
        ) from error
    try:
        file = parquet.ParquetFile(path)
    except Exception as error:  # pyarrow raises its own ArrowInvalid, OSError and others
        raise ValueError(f"{path} is not a readable Parquet file: {error}") from None
    columns = list(file.schema_arrow.names)

    def records() -> Iterator[tuple[str, dict[str, Any]]]:
        number = 0
        with file:
            for batch in file.iter_batches(batch_size=4096):
                for record in batch.to_pylist():
                    number += 1
                    yield f"row {number}", record

    return _checked(str(path), columns, records(), keep)


def _checked(
    source: str,
    columns: Sequence[str],
    records: Iterator[tuple[str, dict[str, Any]]],
    keep: Sequence[str],
) -> Table:
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise ValueError(
            f"{source} is not a garment table: it has no column {', '.join(missing)} "
            f"(its columns: {', '.join(columns) or 'none'})"
        )
    extra_columns = [column for column in keep if column in columns]

    def rows() -> Iterator[GarmentRow]:
        count = 0
        for where, record in records:
            count += 1
            yield _row(record, extra_columns, f"{source}, {where}")
        if not count:
            raise ValueError(
                f"{source} has no rows: a garment table has at least one row per photo"
            )

    return Table(source, tuple(columns), rows())


def _text(value: Any) -> str:
    """A cell as text: empty for a missing value (an empty CSV cell, a Parquet null)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _share(record: Mapping[str, Any], column: str, where: str, required: bool) -> float:
    value = record.get(column)
    text = _text(value)
    if not text:
        if required:
            raise ValueError(f"{where}: column {column} is empty; a garment needs a share")
        return 0.0
    try:
        share = float(value) if isinstance(value, (int, float)) else float(text)
    except ValueError:
        raise ValueError(f"{where}: column {column} holds {text!r}, not a number") from None
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{where}: column {column} holds {text}, not a share between 0 and 1")
    return share


def _row(record: Mapping[str, Any], extra_columns: list[str], where: str) -> GarmentRow:
    photo = _text(record.get("name"))
    if not photo:
        raise ValueError(f"{where}: column name is empty; every row names its photo")
    label = _text(record.get("label"))
    garment = bool(label)
    colours = []
    for rank in range(1, COLOURS_PER_GARMENT + 1):
        name = _text(record.get(f"colour_{rank}_name")).lower()
        if not name:
            continue
        share = _share(record, f"colour_{rank}_share", where, required=True)
        hex_code = _text(record.get(f"colour_{rank}")).lower()
        if hex_code and not _is_hex(hex_code):
            raise ValueError(
                f"{where}: column colour_{rank} holds {hex_code!r}, not an sRGB colour #rrggbb"
            )
        colours.append((hex_code, name, share))
    flags = tuple(flag for flag in _text(record.get("flags")).split(";") if flag.strip())
    return GarmentRow(
        photo=photo,
        label=label,
        photo_share=_share(record, "photo_share", where, required=garment),
        person_share=_share(record, "person_share", where, required=garment),
        colours=tuple(colours),
        flags=tuple(flag.strip() for flag in flags),
        extra={column: _text(record.get(column)) for column in extra_columns},
    )


def _is_hex(text: str) -> bool:
    return (
        len(text) == 7
        and text.startswith("#")
        and all(character in "0123456789abcdef" for character in text[1:])
    )
