"""The ``segformer-clothes evaluate`` subcommand: score a predictions folder against annotations."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import SettingError
from ..evaluation import (
    EvaluationReport,
    FilePair,
    Pairing,
    evaluate,
    load_label_map,
    log_pairing,
    pair_folders,
    photo_for,
    photos_in,
    plot_comparison,
)
from ._errors import fail
from ._options import Flag, default_of, usage_error

__all__ = ["add_parser", "run"]


_FAILED = 1

# The options that set a keyword of evaluate(): its default, and its rule when it has one.
FLAGS = {"ignore_index": Flag("--ignore-index")}

DESCRIPTION = """\
Score predicted label maps against annotations, pooled over the dataset: IoU, Dice,
precision and recall per class, mean IoU, mean Dice and pixel accuracy, and the worst images.

Files of the two folders pair by stem (look.png / look.json), else by the number their
stems end in (pred_12.png / mask_12.json); in subfolders, by their path relative to the
folder (sub/look.png / sub/look.json). An output folder of `segformer-clothes segment`
(holding labels/ and results.jsonl) can be given as PREDICTIONS as is: its labels/ is read.
A file is a label map (an image of mode L or P whose pixel values are class ids, e.g. what
`segformer-clothes segment` writes), a colourised RGB mask with --palette, or an annotation
in the API's JSON format (mask_12.json). Other files are skipped. One line counts the files
left out; --json lists them (under "pairing") and -v prints each.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``evaluate`` to the command's subparsers (``run`` is set as its handler)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "evaluate",
        help="score predictions against annotated masks",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "predictions",
        metavar="PREDICTIONS",
        type=Path,
        help="folder (or file) of predicted label maps, or an output folder of segment",
    )
    parser.add_argument(
        "annotations",
        metavar="ANNOTATIONS",
        type=Path,
        help="folder (or file) of annotations: label maps or API-format JSON",
    )
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON ('-': stdout)")
    parser.add_argument(
        "--markdown", metavar="PATH", help="write the report as Markdown ('-': stdout)"
    )
    parser.add_argument(
        "--plots",
        metavar="DIR",
        type=Path,
        help="write class_iou.png, confusion.png and panels of the worst images "
        '(needs matplotlib: pip install "segformer-clothes[plot]")',
    )
    parser.add_argument(
        "--panels",
        metavar="N",
        type=int,
        default=10,
        help="how many of the worst images get a panel in --plots (default %(default)s)",
    )
    parser.add_argument(
        "--images",
        metavar="DIR",
        type=Path,
        help="folder of the photos, shown in the panels (paired like the masks)",
    )
    parser.add_argument(
        "--merge-sides",
        action="store_true",
        help="score Left/Right shoe, leg and arm as Shoes, Legs and Arms",
    )
    parser.add_argument(
        "--ignore-index",
        metavar="ID",
        type=int,
        default=default_of(evaluate, "ignore_index"),
        help="annotation value of pixels not to score (default %(default)s)",
    )
    parser.add_argument(
        "--palette",
        action="store_true",
        help="read colourised RGB masks by the label colours (a colour of no class is an error)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="list every file left out of the pairing, and why",
    )
    parser.set_defaults(handler=run)
    return parser


def _pairing(predictions: Path, annotations: Path, palette: bool) -> Pairing:
    if predictions.is_file() and annotations.is_file():
        return Pairing(pairs=(FilePair(annotations.stem, predictions, annotations),))
    return pair_folders(predictions, annotations, palette=palette)


def _write(text: str, destination: str) -> None:
    if destination == "-":
        sys.stdout.write(text)
    else:
        Path(destination).write_text(text, encoding="utf-8")


class _Lines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        warning = "warning: " if record.levelno >= logging.WARNING else ""
        return f"segformer-clothes evaluate: {warning}{record.getMessage()}"


@contextmanager
def _library_log_to_stderr(verbose: bool) -> Iterator[None]:
    """The library's log records as lines on stderr while the command runs: warnings, and
    with -v the debug records too (each file left out of the pairing)."""
    library_log = logging.getLogger("segformer_clothes")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Lines())
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    level = library_log.level
    library_log.addHandler(handler)
    if verbose:
        library_log.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        library_log.removeHandler(handler)
        library_log.setLevel(level)


def _report_json(report: EvaluationReport, pairing: Pairing) -> str:
    data = json.loads(report.to_json())
    data["pairing"] = pairing.to_dict()
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def run(args: argparse.Namespace) -> int:
    """Run ``evaluate`` with parsed arguments; returns the exit code (0, 1 or 2)."""
    with _library_log_to_stderr(args.verbose):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    # --panels is the command's own option (no setting of the library), so its rule is here.
    if args.panels < 0:
        return fail("evaluate", f"--panels must be a whole number, 0 or more, got {args.panels}")
    for role, path in (("PREDICTIONS", args.predictions), ("ANNOTATIONS", args.annotations)):
        if not path.exists():
            return fail("evaluate", f"{role} {path} does not exist")
    if args.predictions.is_dir() != args.annotations.is_dir():
        return fail("evaluate", "PREDICTIONS and ANNOTATIONS must be two folders (or two files)")
    if args.images is not None and not args.images.is_dir():
        return fail("evaluate", f"--images {args.images} is not a folder")
    if args.plots is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return fail(
                "evaluate", '--plots needs matplotlib: pip install "segformer-clothes[plot]"'
            )
    try:
        pairing = _pairing(args.predictions, args.annotations, args.palette)
    except (ValueError, OSError) as error:
        return fail("evaluate", str(error))
    # Whatever goes to stdout as '-' must stay clean: the readable table then goes to stderr.
    screen = sys.stderr if "-" in (args.json, args.markdown) else sys.stdout
    log_pairing(pairing, args.annotations, hint="see --json or run with -v")
    if not pairing.pairs:
        return fail(
            "evaluate",
            f"no prediction in {args.predictions} pairs with an annotation in "
            f"{args.annotations}; files pair by stem, or by the number their stems end in",
        )
    try:
        report = evaluate(
            [pair.prediction for pair in pairing.pairs],
            [pair.annotation for pair in pairing.pairs],
            ignore_index=args.ignore_index,
            merge_sides=args.merge_sides,
            palette=args.palette,
            names=[pair.name for pair in pairing.pairs],
        )
    except SettingError as error:
        return fail("evaluate", usage_error(error, FLAGS))
    except (ValueError, TypeError, OSError) as error:
        return fail("evaluate", str(error), _FAILED)
    screen.write(report.to_markdown())
    try:
        if args.json:
            _write(_report_json(report, pairing), args.json)
        if args.markdown:
            _write(report.to_markdown(), args.markdown)
        if args.plots is not None:
            written = _write_plots(report, pairing, args)
            screen.write(f"\nwrote {written} pictures to {args.plots}\n")
    except (ValueError, OSError) as error:
        return fail("evaluate", str(error), _FAILED)
    return 0


def _write_plots(report: EvaluationReport, pairing: Pairing, args: argparse.Namespace) -> int:
    folder: Path = args.plots
    folder.mkdir(parents=True, exist_ok=True)
    report.plot("iou").savefig(folder / "class_iou.png", dpi=110)
    report.plot("confusion").savefig(folder / "confusion.png", dpi=110)
    written = 2
    by_name = {pair.name: pair for pair in pairing.pairs}
    photos = photos_in(args.images)
    worst: Sequence[str] = [image.name for image in report.per_image[: args.panels]]
    if worst:
        (folder / "images").mkdir(exist_ok=True)
    for name in worst:
        pair = by_name[name]
        figure = plot_comparison(
            load_label_map(pair.prediction, palette=args.palette),
            load_label_map(pair.annotation, palette=args.palette),
            image=photo_for(pair, photos),
            ignore_index=args.ignore_index,
            title=name,
        )
        picture = folder / "images" / f"{name}.png"
        picture.parent.mkdir(parents=True, exist_ok=True)  # a pair in a subfolder: sub/look
        figure.savefig(picture, dpi=100)
        written += 1
    return written
