"""Where `segformer-clothes segment` finds photos, names its outputs, and records what is done.

Inputs are streamed: folders are walked lazily, so 500,000 photos are never all held at once.
Each photo gets a stable output name (its path relative to the folder it was found in, without
the extension), the same on every rerun. ``results.jsonl`` gets one line per photo, appended and
flushed line by line; when read back a torn last line is skipped and the last line of an input wins.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from .images import PHOTO_SUFFIXES
from .outputs import temporary_path

logger = logging.getLogger("segformer_clothes")

_GLOB_CHARS = frozenset("*?[")


@attrs.frozen
class Photo:
    """One input photo and the name its outputs get (a relative POSIX path, no extension)."""

    path: Path
    name: str


def _names_in(folder: Path, files: Sequence[Path]) -> Iterator[Photo]:
    """Name the photos of one folder: by stem, or by file name where two share a stem."""
    stems: dict[str, int] = {}
    for file in files:
        stems[file.stem] = stems.get(file.stem, 0) + 1
    for file in files:
        shown = file.stem if stems[file.stem] == 1 else file.name
        yield Photo(file, (file.parent / shown).relative_to(folder).as_posix())


def _walk(root: Path, prefix: str) -> Iterator[Photo]:
    """Photos under ``root``, recursively, in a stable order, named relative to ``root``."""
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        here = Path(folder)
        photos = sorted(here / f for f in files if Path(f).suffix.lower() in PHOTO_SUFFIXES)
        for photo in _names_in(root, photos):
            yield Photo(photo.path, f"{prefix}{photo.name}")


def _glob_root(pattern: str) -> Path:
    """The fixed folder a glob pattern starts from (names are made relative to it)."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def find_photos(inputs: Sequence[str]) -> Iterator[Photo]:
    """Stream the photos named by files, folders (recursive) and glob patterns.

    With several inputs, each folder's own name prefixes its photos' names, so that two folders
    holding files of the same name never collide.

    Raises:
        FileNotFoundError: an input is neither a file, a folder, nor a pattern matching a file.
    """
    prefix_folders = len(inputs) > 1
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            prefix = f"{path.resolve().name}/" if prefix_folders else ""
            yield from _walk(path, prefix)
        elif path.is_file():
            yield Photo(path, path.stem)
        elif _GLOB_CHARS & set(given):
            root = _glob_root(given)
            matches = sorted(
                Path(m) for m in glob.iglob(given, recursive=True) if Path(m).is_file()
            )
            if not matches:
                raise FileNotFoundError(f"no file matches the pattern {given!r}")
            by_folder: dict[Path, list[Path]] = {}
            for match in matches:
                by_folder.setdefault(match.parent, []).append(match)
            for folder in sorted(by_folder):
                yield from _names_in(root, by_folder[folder])
        else:
            raise FileNotFoundError(f"{given!r} is not a file, a folder or a glob pattern")


def check_inputs(inputs: Sequence[str]) -> None:
    """Fail early, before any work, when an input names nothing."""
    for given in inputs:
        path = Path(given)
        if path.exists():
            continue
        if not (_GLOB_CHARS & set(given)):
            raise FileNotFoundError(f"{given!r} does not exist")
        if next(glob.iglob(given, recursive=True), None) is None:
            raise FileNotFoundError(f"no file matches the pattern {given!r}")


def read_records(path: Path) -> dict[str, dict[str, Any]]:
    """The last record of each input in a ``results.jsonl`` (torn or broken lines skipped)."""
    records: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return records
    with path.open("r", encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
                records[str(record["input"])] = record
            except (ValueError, KeyError, TypeError):
                logger.warning("skipping unreadable line %d of %s", number, path)
    return records


class RecordLog:
    """Appends one JSON line per photo to ``results.jsonl``, flushed as it goes."""

    def __init__(self, path: Path) -> None:
        self._ensure_line_start(path)
        self._file: IO[str] = path.open("a", encoding="utf-8")

    @staticmethod
    def _ensure_line_start(path: Path) -> None:
        # A run killed mid-line leaves a torn last line: start ours on a fresh line.
        if path.exists() and path.stat().st_size:
            with path.open("rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    with path.open("a", encoding="utf-8") as appending:
                        appending.write("\n")

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def write_atomically(path: Path, write: Any) -> None:
    """Call ``write(temporary_path)``, then rename it over ``path``: no torn file is ever left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)  # swept by the next run if this one is killed
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
