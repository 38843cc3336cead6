"""``segformer-clothes export --coco OUT/ coco.json``: an output folder as a COCO file, for
annotation tools and other libraries."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..catalogue import write_atomically
from ..errors import SegformerClothesError
from ..formats.coco import INSTALL_COMMAND, write_coco
from ..formats.label_map_png import read_label_map_png
from ..labels import LabelSet
from ._errors import fail, left_out, segment_folder_problem
from ._table import done_records

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Write the label maps of an output folder of `segformer-clothes segment` (DIR/labels/, the
photos done in DIR/results.jsonl) as one COCO file: `images` (the photo's path as the run saw
it as `file_name`, its width and height), `categories` (every class but Background, id = class
id) and `annotations` (one per label present, its mask as compressed COCO RLE, its area and
box; iscrowd 0). pycocotools and annotation tools that import COCO read it. The file is
written to a temporary name and renamed into place. Needs pycocotools (the analysis extra:
pip install "segformer-clothes[analysis]").

Exit codes: 0 every photo exported; 1 some label maps are missing (segment again, then rerun);
2 usage error, before any work; 3 the only failures are label maps that cannot be read."""


def add_parser(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="write an output folder's label maps in another format (COCO)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--coco", action="store_true", required=True, help="write a COCO file (RLE masks)"
    )
    parser.add_argument("out", type=Path, metavar="DIR", help="an output folder of segment")
    parser.add_argument("destination", type=Path, metavar="FILE", help="the COCO file to write")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``export``; returns the exit code."""
    out: Path = args.out
    problem = segment_folder_problem(out)
    if problem is not None:
        return fail("export", problem)
    try:
        importlib.import_module("pycocotools.mask")
    except ImportError:
        return fail(
            "export",
            f"the COCO export needs pycocotools, which is not installed: {INSTALL_COMMAND}",
        )
    records = list(done_records(out))
    missing: list[str] = []
    unreadable: list[str] = []
    labels: list[LabelSet] = []

    def images() -> Iterator[tuple[str, np.ndarray]]:
        show = not args.quiet and sys.stderr.isatty()
        for record in tqdm(records, disable=not show, unit="photo"):
            name = str(record["name"])
            try:
                stored = read_label_map_png(out / "labels" / f"{name}.png")
            except FileNotFoundError:
                missing.append(name)
                continue
            except (OSError, ValueError, SegformerClothesError) as error:
                unreadable.append(f"{name}: {getattr(error, 'message', error)}")
                continue
            if stored.labels != labels[0]:
                unreadable.append(f"{name}: its labels are not those of the other label maps")
                continue
            yield str(record["input"]), stored.label_map

    labels.append(_first_labels(out, records))
    try:
        write_atomically(
            args.destination, lambda path: write_coco(path, images(), labels=labels[0])
        )
    except KeyboardInterrupt:
        print("\nInterrupted; nothing was written.", file=sys.stderr)
        return 130
    except OSError as error:
        return fail("export", f"cannot write {args.destination}: {error}")
    exported = len(records) - len(missing) - len(unreadable)
    print(f"COCO file {args.destination}: {exported} photos")
    return left_out("label maps", missing, unreadable)


def _first_labels(out: Path, records: list[dict[str, Any]]) -> LabelSet:
    """The label set of the first readable label map (the clothes labels if none is)."""
    from ..labels import CLOTHES_LABELS

    for record in records:
        try:
            return read_label_map_png(out / "labels" / f"{record['name']}.png").labels
        except (OSError, ValueError, SegformerClothesError):
            continue
    return CLOTHES_LABELS
