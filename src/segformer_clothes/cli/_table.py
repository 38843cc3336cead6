"""``segment --table``: the garment table a run writes into its output folder as photos finish
(``garments.csv``; with ``--table parquet`` also ``garments.parquet`` at the end)."""

from __future__ import annotations

import csv
import importlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..analysis import INSTALL_COMMAND
from ..analysis.table import CSV_NAME, PARQUET_NAME, TABLE_COLUMNS
from ..catalogue import read_records
from ..errors import SegformerClothesError
from ..result import SegmentationResult

__all__ = ["RunTable", "add_table_option", "done_records", "record_rows", "table_problem"]

logger = logging.getLogger("segformer_clothes")

_NEEDED = {"csv": ("scipy.ndimage", "skimage.color"), "parquet": ("pyarrow.parquet",)}


def add_table_option(parser: Any) -> None:
    """Add ``--table [csv|parquet]`` to a subcommand's parser."""
    parser.add_argument(
        "--table",
        nargs="?",
        const="csv",
        choices=("csv", "parquet"),
        help="also write the garment table DIR/garments.csv, one row per photo and garment, as "
        "photos finish (photos done before are added too); `--table parquet` also writes "
        "DIR/garments.parquet at the end (needs the analysis extra: "
        'pip install "segformer-clothes[analysis]")',
    )


def done_records(out: Path) -> Iterator[dict[str, Any]]:
    """The records of the photos done (status ok) in an output folder's results.jsonl."""
    for record in read_records(out / "results.jsonl").values():
        if record.get("status") == "ok":
            yield record


def record_rows(out: Path, record: dict[str, Any]) -> list[Any]:
    """The table rows of a photo done, from its label map in ``out`` and its photo.

    Raises:
        FileNotFoundError: the label map or the photo is not there.
        ValueError, OSError, SegformerClothesError: one of them cannot be read, or they do
            not match.
    """
    from ..analysis.table import table_rows

    name, photo = str(record["name"]), str(record["input"])
    if not Path(photo).exists():
        raise FileNotFoundError(2, "the photo is not there", photo)
    result = SegmentationResult.load(out / "labels" / f"{name}.png")
    return table_rows(result, name=name, input=photo, image=Path(photo))


def table_problem(kind: str | None, out: Path, *, existing: bool = True) -> str | None:
    """What stops ``--table`` before any work (the extra missing; with ``existing``, a table
    file of other columns that would be appended to), in the command's words; None when
    nothing does."""
    if kind is None:
        return None
    modules = _NEEDED["csv"] + (_NEEDED["parquet"] if kind == "parquet" else ())
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            return (
                f"--table needs the analysis extra ({module.split('.')[0]} is not installed): "
                f"{INSTALL_COMMAND}"
            )
    table = out / CSV_NAME
    if existing and table.exists() and table.stat().st_size:
        with table.open("r", encoding="utf-8", newline="") as lines:
            header = tuple(next(csv.reader(lines), []))
        if header != TABLE_COLUMNS:
            return (
                f"{table} is not a garment table of this version (its columns differ); move "
                "it away or delete it, then run again"
            )
    return None


class RunTable:
    """The garment table of one ``segment`` run, or nothing when ``--table`` is not given.

    Call `add` for each photo done, once its files are written and before its record is logged
    (so that a run killed in between redoes the photo, and its rows are replaced), `finish`
    after the last photo, and `close` in any case. The rows come from the label map written and
    the photo, so a photo segmented on a cluster is tabled like one segmented here.
    """

    def __init__(self, out: Path, kind: str | None) -> None:
        self.kind = kind
        self.out = out
        self._writer: Any = None
        if kind is not None:
            from ..analysis.table import TableWriter

            self._writer = TableWriter(out / CSV_NAME)

    @classmethod
    def for_run(cls, args: Any) -> RunTable:
        """The table the options of a run ask for (none without ``--table``)."""
        return cls(Path(args.out), getattr(args, "table", None))

    def add(self, record: dict[str, Any]) -> None:
        """Append the rows of a photo done now, from its label map in the output folder and
        its photo (nothing for a photo that failed)."""
        if self._writer is None or record.get("status") != "ok":
            return
        try:
            rows = record_rows(self.out, record)
        except (OSError, ValueError, SegformerClothesError) as error:
            logger.warning(
                "%s is left out of the garment table (%s); `segformer-clothes garments %s` "
                "rebuilds the table from the label maps",
                record["input"],
                error,
                self.out,
            )
            return
        self._writer.write(str(record["name"]), rows)

    def finish(self) -> None:
        """After the last photo: add the photos done before that the table lacks (a folder
        segmented without ``--table``), close the table and, with ``--table parquet``, write it
        as Parquet (atomically)."""
        if self._writer is None:
            return
        lacking = [r for r in done_records(self.out) if not self._writer.has(str(r["name"]))]
        if lacking:
            logger.warning("adding %d photos done before to the garment table", len(lacking))
        for record in lacking:
            try:
                self._writer.write(str(record["name"]), record_rows(self.out, record))
            except (OSError, ValueError, SegformerClothesError) as error:
                logger.warning("%s is left out of the garment table: %s", record["input"], error)
        self.close()
        if self.kind == "parquet":
            from ..analysis.table import write_parquet

            write_parquet(self.out / CSV_NAME, self.out / PARQUET_NAME)

    def close(self) -> None:
        """Close the CSV (its replaced rows dropped); safe to call twice."""
        if self._writer is not None:
            self._writer.close()
