"""How a subcommand ends on an error: one line on stderr, then its exit code."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["USAGE_ERROR", "fail", "left_out", "segment_folder_problem"]

USAGE_ERROR = 2
"""The exit code of a command that was given something it cannot use."""


def fail(command: str, message: str, code: int = USAGE_ERROR) -> int:
    """Print ``segformer-clothes COMMAND: error: MESSAGE`` to stderr; returns ``code``."""
    print(f"segformer-clothes {command}: error: {message}", file=sys.stderr)
    return code


def segment_folder_problem(out: Path) -> str | None:
    """Why ``out`` is not an output folder of ``segment``, or None when it is one."""
    if (out / "results.jsonl").is_file():
        return None
    return f"{out} is not an output folder of segment: it has no results.jsonl"


def left_out(what: str, missing: list[str], unreadable: list[str]) -> int:
    """Say on stderr which ``what`` (photos, label maps) were left out and why, the first
    three of each kind; returns the exit code: 1 if some were missing (a rerun after
    restoring them can finish), else 3 if some could not be read, else 0."""
    for kind, failures in (("missing", missing), ("unreadable", unreadable)):
        if failures:
            print(f"{len(failures)} {what} left out, {kind}:", file=sys.stderr)
            for failure in failures[:3]:
                print(f"  {failure}", file=sys.stderr)
    if missing:
        return 1
    return 3 if unreadable else 0
