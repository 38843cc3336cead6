"""The ``segformer-clothes`` command."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from .._version import __version__
from . import _evaluate as evaluate_command
from . import _segment as segment_command

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segformer-clothes",
        description="Segment clothes in photos with SegFormer and evaluate the segmentation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Each subcommand lives in its own module: add_parser() sets `handler` to its run().
    segment_command.add_parser(subparsers)
    evaluate_command.add_parser(subparsers)
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
