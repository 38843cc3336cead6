"""The ``segformer-clothes`` command: ``segment`` photos into label maps, ``evaluate`` them.

The options that set a setting of the library take their defaults from it
(`ClientSettings` for the client, `LocalSegmenter`'s own signature for ``--local``) and are
checked by it before any work; a bad value ends the command with exit code 2 and one line
naming the option, such as
``segformer-clothes segment: error: --max-retries must be a whole number, 0 or more, got -1``.

Example:
    >>> from segformer_clothes.cli import main
    >>> main(["segment", "look.jpg", "--out", "segmented", "--max-retries", "-1"])
    2
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from .._version import __version__
from . import _evaluate as evaluate_command
from . import _export as export_command
from . import _garments as garments_command
from . import _report as report_command
from . import _segment as segment_command
from . import _serve as serve_command

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser, with its ``segment`` and ``evaluate`` subcommands."""
    parser = argparse.ArgumentParser(
        prog="segformer-clothes",
        description="Segment clothes in photos with SegFormer and evaluate the segmentation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Each subcommand lives in its own module: add_parser() sets `handler` to its run().
    segment_command.add_parser(subparsers)
    evaluate_command.add_parser(subparsers)
    serve_command.add_parser(subparsers)
    garments_command.add_parser(subparsers)
    export_command.add_parser(subparsers)
    report_command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
