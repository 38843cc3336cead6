"""The ``segformer-clothes report`` subcommand: a garment table -> the trend report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..analysis.report import FORMATS, trend_report
from ._errors import fail

__all__ = ["add_parser", "run"]

_FAILED = 1

DESCRIPTION = """\
Write the trend report of a garment table: the share of the photos with each garment
(every photo of the table counts, those without a garment too), the garments found
together, the colours of each garment as swatches, how much of the photo and of the
person each covers, and the quality flags. With --by COLUMN, the same for each value of a
column you added to the table (a date, a source, a season), to show how it changes.

TABLE is a garments.csv or garments.parquet table (Parquet needs pyarrow:
pip install "segformer-clothes[analysis]"), or an output folder holding garments.csv.
The report is report.html (one self-contained page, its charts inside it) and report.md
with its PNG charts beside it; the charts need matplotlib:
pip install "segformer-clothes[plot]".
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``report`` to the command's subparsers (``run`` is set as its handler)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write the trend report of a garment table",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "table",
        metavar="TABLE",
        type=Path,
        help="garments.csv or garments.parquet, or an output folder holding garments.csv",
    )
    parser.add_argument(
        "--out", metavar="REPORT", type=Path, required=True, help="folder to write the report to"
    )
    parser.add_argument(
        "--by",
        metavar="COLUMN",
        help="split the report by this column of the table (a date, a source, a season)",
    )
    parser.add_argument(
        "--format",
        metavar="FORMATS",
        default=",".join(FORMATS),
        help="which of html and md to write, comma-separated (default %(default)s)",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``report`` with parsed arguments; returns the exit code (0, 1 or 2)."""
    formats = [part.strip().lower() for part in args.format.split(",") if part.strip()]
    unknown = [part for part in formats if part not in FORMATS]
    if unknown or not formats:
        return fail(
            "report",
            f"--format must name {' and/or '.join(FORMATS)}, comma-separated, got {args.format!r}",
        )
    if args.out.exists() and not args.out.is_dir():
        return fail("report", f"--out {args.out} is a file, not a folder")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return fail("report", 'the charts need matplotlib: pip install "segformer-clothes[plot]"')
    # A table that is missing, not a table or lacks a column, and a --by column it does not
    # have, are all a TABLE or --by that cannot be used: usage errors.
    try:
        report = trend_report(args.table, by=args.by)
    except (OSError, ValueError, ImportError) as error:
        return fail("report", str(error))
    try:
        written = report.write(args.out, formats=formats)
    except OSError as error:
        return fail("report", f"cannot write the report to {args.out}: {error}", _FAILED)
    garments = ", ".join(f"{label} {share:.0%}" for label, share in report.frequency.items())
    sys.stdout.write(
        f"{report.photos} photos; garments: {garments or 'none'}\n"
        f"wrote {len(written)} files to {args.out}: "
        f"{', '.join(path.name for path in written if path.suffix != '.png')}"
        f"{' and the PNG charts' if any(p.suffix == '.png' for p in written) else ''}\n"
    )
    return 0
