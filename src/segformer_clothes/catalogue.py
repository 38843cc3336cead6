"""Where a catalogue run finds its photos, what it names their outputs, and what it records.

Inputs are streamed: folders are walked lazily, so 500,000 photos are never all held at once.
A photo's output name depends only on its own input, never on what else is given: for a photo
found in a folder, its path relative to that folder without the extension (the file name where
two photos of one folder share a stem); for a file or a glob match, the same, relative to the
file's folder or the pattern's fixed part. So the name is the same on every rerun, however the
input is spelled, and two photos of one run that would share a name are refused up front
(`check_unique_names`). ``results.jsonl`` gets one line per photo, appended and flushed line by
line; read back, records are keyed by name, a torn last line is skipped and the last line wins.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("look.jpg", "sub/other.png", "notes.txt"):
    ...     (folder / name).parent.mkdir(parents=True, exist_ok=True)
    ...     _ = (folder / name).write_bytes(b"")
    >>> [photo.name for photo in find_photos([str(folder)])]
    ['look', 'sub/other']
"""

from __future__ import annotations

import glob
import io
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from .errors import DuplicateNameError
from .formats.label_map_png import encode_label_map_png
from .images import PHOTO_SUFFIXES, ImageInput, load_image
from .outputs import temporary_path
from .result import SegmentationResult

__all__ = [
    "EncodedOutputs",
    "Photo",
    "RecordLog",
    "check_inputs",
    "check_unique_names",
    "encode_outputs",
    "find_photos",
    "read_records",
    "write_atomically",
]

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


def _walk(root: Path) -> Iterator[Photo]:
    """Photos under ``root``, recursively, in a stable order, named relative to ``root``."""
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        here = Path(folder)
        photos = sorted(here / f for f in files if Path(f).suffix.lower() in PHOTO_SUFFIXES)
        yield from _names_in(root, photos)


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

    Each photo's name depends only on its own input (see the module's docstring); use
    `check_unique_names` to refuse two photos that would share one.

    Raises:
        FileNotFoundError: an input is neither a file, a folder, nor a pattern matching a file.
    """
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            yield from _walk(path)
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


def check_unique_names(photos: Iterable[Photo]) -> int:
    """Refuse two photos that would get the same output name; returns how many photos there are.

    Keeps one entry per name (about a hundred bytes a photo), so a catalogue of 500,000 photos
    is checked in a few tens of megabytes.

    Raises:
        DuplicateNameError: two photos share a name; the message names both and what to do.

    Example:
        >>> check_unique_names([Photo(Path("a/look.jpg"), "look"), Photo(Path("b/x.jpg"), "x")])
        2
    """
    seen: dict[str, str] = {}
    for photo in photos:
        first = seen.setdefault(photo.name, str(photo.path))
        if first != str(photo.path):
            raise DuplicateNameError(photo.name, first, str(photo.path))
    return len(seen)


def read_records(path: Path) -> dict[str, dict[str, Any]]:
    """The last record of each photo in a ``results.jsonl``, keyed by output name (torn or broken
    lines skipped), so that resuming does not depend on how an input was spelled."""
    records: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return records
    with path.open("r", encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
                records[str(record["name"])] = record
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


@attrs.frozen
class EncodedOutputs:
    """Every file of one photo, encoded and ready to write, with what its record says.

    Made where the photo is segmented (in this process, or on a worker of a cluster) and
    written by the one process that owns the output folder, so that each file and each record
    is written once, in one place.

    Attributes:
        label_map: the label-map PNG (`SegmentationResult.save`'s bytes).
        overlay: the overlay JPEG, or None when none was asked for.
        crops: garment name -> cut-out PNG, in id order; empty when none were asked for.
        width: the photo's width in pixels.
        height: the photo's height in pixels.
        labels: the names of the labels present, in id order.
        coverage: label name -> share of the photo's pixels, rounded to 6 decimals.
    """

    label_map: bytes = attrs.field(repr=False)
    overlay: bytes | None = attrs.field(repr=False)
    crops: dict[str, bytes] = attrs.field(repr=False)
    width: int
    height: int
    labels: tuple[str, ...]
    coverage: dict[str, float]


def _png(save: Any) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()


def encode_outputs(
    result: SegmentationResult,
    photo: ImageInput | None = None,
    *,
    overlay: bool = False,
    crops: bool = False,
    overlay_style: dict[str, Any] | None = None,
) -> EncodedOutputs:
    """Encode the files a catalogue run writes for one photo: the label map, and the overlay
    and garment cut-outs when asked for (drawn on ``photo``, decoded only then).

    Raises:
        InvalidImageError: the photo cannot be decoded for the overlay or the cut-outs.
        ValueError: the label map holds an id its labels lack.

    Example:
        >>> import numpy as np
        >>> result = SegmentationResult(np.eye(4, dtype=np.uint8) * 4, source="look.jpg")
        >>> encoded = encode_outputs(result, np.zeros((4, 4, 3), np.uint8), crops=True)
        >>> encoded.labels, sorted(encoded.crops), encoded.label_map[:4]
        (('Background', 'Upper-clothes'), ['Upper-clothes'], b'\\x89PNG')
    """
    label_map = encode_label_map_png(result.label_map, labels=result.labels, source=result.source)
    encoded_crops: dict[str, bytes] = {}
    encoded_overlay = None
    if overlay or crops:
        picture = load_image(photo if photo is not None else result.source)
        if crops:
            for label, cutout in result.crops(picture).items():
                encoded_crops[label] = _png(lambda f, c=cutout: c.save(f, format="PNG"))
        if overlay:
            drawn = result.overlay(picture, **(overlay_style or {}))
            encoded_overlay = _png(lambda f: drawn.save(f, format="JPEG", quality=90))
    width, height = result.size
    return EncodedOutputs(
        label_map=label_map,
        overlay=encoded_overlay,
        crops=encoded_crops,
        width=width,
        height=height,
        labels=result.labels_present,
        coverage={k: round(v, 6) for k, v in result.coverage().items()},
    )
