"""Files paired by name: predictions with annotations, and photos with those pairs.

Two files belong together when they have the same stem (``look.png`` / ``look.json``), else
when their stems end in the same number after different prefixes (``pred_12.png`` /
``mask_12.json`` / ``image_12.jpg``). Both the pairing of two folders and the search for the
photo of a pair follow that one rule, written here once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from ..images import PHOTO_SUFFIXES
from ..result import SegmentationResult
from ._label_maps import not_a_label_map_reason

__all__ = [
    "FilePair",
    "NameIndex",
    "Pairing",
    "SkippedFile",
    "group_by_number",
    "pair_folders",
    "photo_for",
    "photos_in",
    "trailing_number",
]

_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def trailing_number(stem: str) -> int | None:
    """The number a file stem ends in, or None.

    Example:
        >>> trailing_number("mask_012"), trailing_number("look")
        (12, None)
    """
    match = _TRAILING_NUMBER.match(stem)
    return int(match.group(2)) if match else None


def _natural(name: str) -> tuple[str, int]:
    match = _TRAILING_NUMBER.match(name)
    return (match.group(1), int(match.group(2))) if match else (name, -1)


def group_by_number(paths: Iterable[Path]) -> dict[int, list[Path]]:
    """The paths whose stem ends in a number, grouped by that number, in the order given.

    Example:
        >>> from pathlib import Path
        >>> group_by_number([Path("a_1.png"), Path("b.png"), Path("c_01.png")])
        {1: [PosixPath('a_1.png'), PosixPath('c_01.png')]}
    """
    numbered: dict[int, list[Path]] = {}
    for path in paths:
        number = trailing_number(path.stem)
        if number is not None:
            numbered.setdefault(number, []).append(path)
    return numbered


@attrs.frozen
class NameIndex:
    """Files looked up by stem, else by the number their stem ends in.

    Attributes:
        by_stem: stem -> file (of several files with one stem, the last given).
        by_number: trailing number -> the files whose stem ends in it, in the order given.

    Example:
        >>> from pathlib import Path
        >>> photos = NameIndex.of([Path("image_7.jpg"), Path("look.jpg")])
        >>> photos.find("pred_7"), photos.find("look"), photos.find("other")
        (PosixPath('image_7.jpg'), PosixPath('look.jpg'), None)
    """

    by_stem: Mapping[str, Path]
    by_number: Mapping[int, list[Path]]

    @classmethod
    def of(cls, paths: Iterable[Path]) -> NameIndex:
        """Index these files."""
        listed = list(paths)
        return cls({path.stem: path for path in listed}, group_by_number(listed))

    def find(self, *stems: str) -> Path | None:
        """The file of the first of ``stems`` found: the same stem, else the first file whose
        stem ends in the same number; None when none is found."""
        for stem in stems:
            if stem in self.by_stem:
                return self.by_stem[stem]
            number = trailing_number(stem)
            if number is not None and number in self.by_number:
                return self.by_number[number][0]
        return None


@attrs.frozen
class FilePair:
    """A prediction file and the annotation file of the same photo.

    Attributes:
        name: the annotation's file stem, used in the per-image scores.
        prediction: the predicted label map (or JSON answer).
        annotation: the annotated label map (or JSON annotation).
    """

    name: str
    prediction: Path
    annotation: Path


@attrs.frozen
class SkippedFile:
    """A file of a folder that is not a label map, and why."""

    path: Path
    reason: str


@attrs.frozen
class Pairing:
    """The files of a predictions folder and an annotations folder, paired.

    Attributes:
        pairs: the pairs found, in the annotations' name order (numbers in natural order).
        unmatched_predictions: prediction files with no annotation.
        unmatched_annotations: annotation files with no prediction.
        skipped: files that are not label maps (a colourised mask, a note), with the reason.
    """

    pairs: tuple[FilePair, ...]
    unmatched_predictions: tuple[Path, ...] = ()
    unmatched_annotations: tuple[Path, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()


def _candidates(folder: Path, role: str) -> tuple[dict[str, Path], list[SkippedFile]]:
    if not folder.is_dir():
        raise NotADirectoryError(f"the {role} folder {folder} does not exist or is not a folder")
    by_stem: dict[str, Path] = {}
    skipped: list[SkippedFile] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        reason = not_a_label_map_reason(path)
        if reason is not None:
            skipped.append(SkippedFile(path, reason))
            continue
        if path.stem in by_stem:
            raise ValueError(
                f"two {role} files for the same image: {by_stem[path.stem].name} and "
                f"{path.name} in {folder}; keep one"
            )
        by_stem[path.stem] = path
    return by_stem, skipped


def pair_folders(
    predictions: str | os.PathLike[str], annotations: str | os.PathLike[str]
) -> Pairing:
    """Pair the files of a predictions folder with those of an annotations folder.

    Files pair when they have the same stem (``look.png`` / ``look.json``), else when their
    stems end in the same number after different prefixes (``pred_12.png`` /
    ``mask_12.json``, or the ``image_12.png`` that ``segformer-clothes segment`` writes for
    ``image_12.jpg``). Only the top level of each folder is read; hidden files are ignored.

    Returns:
        A `Pairing`: the pairs, the files left unmatched on each side, and the files that
        are not label maps (skipped, with the reason).

    Raises:
        ValueError: a pairing is ambiguous (two files of one folder fit one file of the
            other); the message names them.
        NotADirectoryError: a folder does not exist.

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for folder, name in [("pred", "pred_3.png"), ("gt", "mask_3.png")]:
        ...     (root / folder).mkdir()
        ...     Image.new("L", (2, 2)).save(root / folder / name)
        >>> [(p.prediction.name, p.annotation.name) for p in pair_folders(root / "pred",
        ...     root / "gt").pairs]
        [('pred_3.png', 'mask_3.png')]
    """
    predicted, skipped_predictions = _candidates(Path(predictions), "prediction")
    annotated, skipped_annotations = _candidates(Path(annotations), "annotation")
    pairs = [
        FilePair(stem, predicted[stem], annotated[stem]) for stem in annotated if stem in predicted
    ]
    left_predicted = [path for stem, path in predicted.items() if stem not in annotated]
    left_annotated = [path for stem, path in annotated.items() if stem not in predicted]
    by_number_predicted = group_by_number(left_predicted)
    for number, annotation_paths in group_by_number(left_annotated).items():
        prediction_paths = by_number_predicted.get(number, [])
        if not prediction_paths:
            continue
        if len(annotation_paths) > 1 or len(prediction_paths) > 1:
            names = ", ".join(p.name for p in [*prediction_paths, *annotation_paths])
            raise ValueError(
                f"ambiguous pairing for number {number}: {names}; rename the files so that "
                "each prediction has the stem (or the number) of exactly one annotation"
            )
        pairs.append(FilePair(annotation_paths[0].stem, prediction_paths[0], annotation_paths[0]))
    paired = {p.prediction for p in pairs} | {p.annotation for p in pairs}
    pairs.sort(key=lambda pair: _natural(pair.name))
    return Pairing(
        pairs=tuple(pairs),
        unmatched_predictions=tuple(p for p in left_predicted if p not in paired),
        unmatched_annotations=tuple(p for p in left_annotated if p not in paired),
        skipped=(*skipped_predictions, *skipped_annotations),
    )


def photos_in(folder: Path | None) -> NameIndex:
    """The photos at the top level of a folder (by suffix), indexed by name; none for None."""
    if folder is None:
        return NameIndex.of(())
    return NameIndex.of(
        path
        for path in sorted(folder.iterdir())
        if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES
    )


def photo_for(pair: FilePair, photos: NameIndex) -> Path | None:
    """The photo of a pair: found by the prediction's name, else the annotation's, else the
    photo a label map written by ``segformer-clothes segment`` remembers; None if none is.

    Example:
        >>> from pathlib import Path
        >>> pair = FilePair("mask_7", Path("pred_7.png"), Path("mask_7.json"))
        >>> photo_for(pair, NameIndex.of([Path("photos/image_7.jfif")]))
        PosixPath('photos/image_7.jfif')
    """
    found = photos.find(pair.prediction.stem, pair.annotation.stem)
    if found is not None:
        return found
    if pair.prediction.suffix.lower() == ".png":
        try:
            source = SegmentationResult.load(pair.prediction).source
        except (ValueError, OSError):
            return None
        if source is not None and Path(source).is_file():
            return Path(source)
    return None
