"""The photos listed in a text file, or in a column of a Parquet or CSV table."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

__all__ = ["read_path_list"]


def read_path_list(path: str | os.PathLike[str], column: str = "path") -> list[str]:
    """The photos listed in a file: one a line in a text file (blank lines and ``#``
    comments skipped), or the ``column`` of a ``.parquet`` or ``.csv`` table.

    Relative paths are taken from the list's folder. Parquet needs pyarrow (the ``ray``
    extra installs it).

    Raises:
        ValueError: the table has no such column.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "photos.txt").write_text("a.jpg\\n# old\\n\\nfile:///b.jpg\\n")
        >>> [Path(p).name for p in read_path_list(folder / "photos.txt")]
        ['a.jpg', 'b.jpg']
    """
    listing = Path(path)
    suffix = listing.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as parquet

        table = parquet.read_table(listing)
        if column not in table.column_names:
            raise ValueError(f"{listing} has no column {column!r}: it has {table.column_names}")
        given = [str(value) for value in table.column(column).to_pylist()]
    elif suffix == ".csv":
        with listing.open(newline="", encoding="utf-8") as table_file:
            reader = csv.DictReader(table_file)
            if column not in (reader.fieldnames or []):
                raise ValueError(f"{listing} has no column {column!r}: it has {reader.fieldnames}")
            given = [row[column] for row in reader]
    else:
        lines = io.StringIO(listing.read_text(encoding="utf-8"))
        given = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [_from_list(entry, listing.parent) for entry in given]


def _from_list(entry: str, folder: Path) -> str:
    if entry.startswith("file://"):
        return entry[len("file://") :]
    if "://" in entry or os.path.isabs(entry):
        return entry
    return os.path.normpath(folder / entry)
