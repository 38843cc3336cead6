"""The ``segformer-clothes evaluate`` subcommand: score a predictions folder against annotations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..errors import SettingError
from ..evaluation import (
    EvaluationReport,
    FilePair,
    Pairing,
    evaluate,
    load_label_map,
    pair_folders,
    photo_for,
    photos_in,
    plot_comparison,
)
from ._options import Flag, default_of, usage_error

__all__ = ["add_parser", "run"]


_USAGE_ERROR = 2
_FAILED = 1

# The options that set a keyword of evaluate(): its default, and its rule when it has one.
FLAGS = {"ignore_index": Flag("--ignore-index")}

DESCRIPTION = """\
Score predicted label maps against annotations, pooled over the dataset: IoU, Dice,
precision and recall per class, mean IoU, mean Dice and pixel accuracy, and the worst images.

Files of the two folders pair by stem (look.png / look.json), else by the number their
stems end in (pred_12.png / mask_12.json). A file is a label map (an image of mode L or P
whose pixel values are class ids, e.g. the labels/ folder `segformer-clothes segment`
writes) or an annotation in the API's JSON format (mask_12.json). Other files are skipped
and listed.
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
        help="folder (or file) of predicted label maps",
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
    parser.set_defaults(handler=run)
    return parser


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"segformer-clothes evaluate: error: {message}\n")
    return code


def _pairing(predictions: Path, annotations: Path) -> Pairing:
    if predictions.is_file() and annotations.is_file():
        return Pairing(pairs=(FilePair(annotations.stem, predictions, annotations),))
    return pair_folders(predictions, annotations)


def _write(text: str, destination: str) -> None:
    if destination == "-":
        sys.stdout.write(text)
    else:
        Path(destination).write_text(text, encoding="utf-8")


def _tell_unpaired(pairing: Pairing, stream: TextIO) -> None:
    for skipped in pairing.skipped:
        stream.write(f"skipped {skipped.path}: {skipped.reason}\n")
    for path in pairing.unmatched_predictions:
        stream.write(f"no annotation for the prediction {path}\n")
    for path in pairing.unmatched_annotations:
        stream.write(f"no prediction for the annotation {path}\n")


def run(args: argparse.Namespace) -> int:
    """Run ``evaluate`` with parsed arguments; returns the exit code (0, 1 or 2)."""
    # --panels is the command's own option (no setting of the library), so its rule is here.
    if args.panels < 0:
        return _fail(f"--panels must be a whole number, 0 or more, got {args.panels}", _USAGE_ERROR)
    for role, path in (("PREDICTIONS", args.predictions), ("ANNOTATIONS", args.annotations)):
        if not path.exists():
            return _fail(f"{role} {path} does not exist", _USAGE_ERROR)
    if args.predictions.is_dir() != args.annotations.is_dir():
        return _fail("PREDICTIONS and ANNOTATIONS must be two folders (or two files)", _USAGE_ERROR)
    if args.images is not None and not args.images.is_dir():
        return _fail(f"--images {args.images} is not a folder", _USAGE_ERROR)
    if args.plots is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return _fail(
                '--plots needs matplotlib: pip install "segformer-clothes[plot]"', _USAGE_ERROR
            )
    try:
        pairing = _pairing(args.predictions, args.annotations)
    except (ValueError, OSError) as error:
        return _fail(str(error), _USAGE_ERROR)
    # Whatever goes to stdout as '-' must stay clean: the readable table then goes to stderr.
    screen = sys.stderr if "-" in (args.json, args.markdown) else sys.stdout
    _tell_unpaired(pairing, sys.stderr)
    if not pairing.pairs:
        return _fail(
            f"no prediction in {args.predictions} pairs with an annotation in "
            f"{args.annotations}; files pair by stem, or by the number their stems end in",
            _USAGE_ERROR,
        )
    try:
        report = evaluate(
            [pair.prediction for pair in pairing.pairs],
            [pair.annotation for pair in pairing.pairs],
            ignore_index=args.ignore_index,
            merge_sides=args.merge_sides,
        )
    except SettingError as error:
        return _fail(usage_error(error, FLAGS), _USAGE_ERROR)
    except (ValueError, TypeError, OSError) as error:
        return _fail(str(error), _FAILED)
    screen.write(report.to_markdown())
    try:
        if args.json:
            _write(report.to_json() + "\n", args.json)
        if args.markdown:
            _write(report.to_markdown(), args.markdown)
        if args.plots is not None:
            written = _write_plots(report, pairing, args)
            screen.write(f"\nwrote {written} pictures to {args.plots}\n")
    except (ValueError, OSError) as error:
        return _fail(str(error), _FAILED)
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
            load_label_map(pair.prediction),
            load_label_map(pair.annotation),
            image=photo_for(pair, photos),
            ignore_index=args.ignore_index,
            title=name,
        )
        figure.savefig(folder / "images" / f"{name}.png", dpi=100)
        written += 1
    return written
