"""``segformer-clothes garments OUT/``: the garment table of an output folder, built from the
label maps already there and the photos they came from."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..analysis.table import CSV_NAME, PARQUET_NAME, TableWriter, write_parquet
from ..errors import InvalidImageError, OutputLockedError, SegformerClothesError
from ..outputs import OutputLock, sweep_temporary_files, temporary_path
from ._errors import fail, left_out, segment_folder_problem
from ._run import EXIT_CODES
from ._table import done_records, record_rows, table_problem

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Build the garment table of an output folder of `segformer-clothes segment` from the label maps
in DIR/labels/ and the photos they came from (the `input` of each photo's line in
DIR/results.jsonl): DIR/garments.csv, one row per photo and garment, the same table as
`segment --table` writes. The table is written to a temporary file and renamed into place at
the end, so an interrupted run leaves the previous table as it was. Needs the analysis extra:
pip install "segformer-clothes[analysis]".

Exit codes: {codes}."""
_CODES = {code: EXIT_CODES[code] for code in (0, 2, 4, 130)} | {
    1: "some photos or label maps are missing (restore them, or segment again, and rerun)",
    3: "the only failures are photos or label maps that cannot be read, or do not match",
}


def add_parser(subparsers: Any) -> None:
    """Add the ``garments`` subcommand."""
    codes = "; ".join(f"{code} {meaning}" for code, meaning in sorted(_CODES.items()))
    parser = subparsers.add_parser(
        "garments",
        help="build the garment table of an output folder from its label maps and photos",
        description=DESCRIPTION.format(codes=codes),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", type=Path, metavar="DIR", help="an output folder of segment")
    parser.add_argument(
        "--table",
        choices=("csv", "parquet"),
        default="csv",
        help="csv: DIR/garments.csv; parquet: also DIR/garments.parquet (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``garments``; returns the exit code."""
    out: Path = args.out
    problem = segment_folder_problem(out)
    if problem is not None:
        return fail("garments", problem)
    problem = table_problem(args.table, out, existing=False)
    if problem is not None:
        return fail("garments", problem.replace("--table needs", "the garment table needs"))
    lock = OutputLock(out)
    try:
        lock.acquire()
    except OutputLockedError as error:
        return fail("garments", error.message, 4)
    try:
        sweep_temporary_files(out)
        return _build(args, out)
    except KeyboardInterrupt:
        print("\nInterrupted; the previous table is left as it was.", file=sys.stderr)
        return 130
    finally:
        lock.release()


def _build(args: argparse.Namespace, out: Path) -> int:
    records = list(done_records(out))
    show_progress = not args.quiet and sys.stderr.isatty()
    missing: list[str] = []
    unreadable: list[str] = []
    rows = 0
    final = out / CSV_NAME
    temporary = temporary_path(final)
    try:
        with TableWriter(temporary) as table:
            for record in tqdm(records, disable=not show_progress, unit="photo"):
                name = str(record["name"])
                try:
                    found = record_rows(out, record)
                except FileNotFoundError as error:
                    missing.append(f"{name}: {error.filename or error}")
                    continue
                except (OSError, ValueError, InvalidImageError, SegformerClothesError) as error:
                    unreadable.append(f"{name}: {getattr(error, 'message', error)}")
                    continue
                table.write(name, found)
                rows += len(found)
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    if args.table == "parquet":
        write_parquet(final, out / PARQUET_NAME)
    done = len(records) - len(missing) - len(unreadable)
    print(f"garment table {final}: {done} photos, {rows} rows", end="")
    print(f"; also {out / PARQUET_NAME}" if args.table == "parquet" else "")
    return left_out("photos", missing, unreadable)
