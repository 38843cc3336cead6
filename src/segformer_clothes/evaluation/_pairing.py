"""Files paired by name: predictions with annotations, and photos with those pairs.

Two files belong together when they have the same stem (``look.png`` / ``look.json``), else
when their stems end in the same number after different prefixes (``pred_12.png`` /
``mask_12.json`` / ``image_12.jpg``). Both the pairing of two folders and the search for the
photo of a pair follow that one rule, written here once. In subfolders, files pair by their
path relative to the folder (``sub/look.png`` / ``sub/look.json``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
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
    "segment_labels_folder",
    "swapped_folders_warning",
    "trailing_number",
]

_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")
# Stems that name annotations (mask_3, gt_3, annotation-3, label3, ground_truth_3).
_ANNOTATION_STEM = re.compile(
    r"^(masks?|annotations?|annots?|gts?|ground[_-]?truths?|labels?)(?=$|[\d_\-. ])", re.I
)


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

    def summary(self) -> str | None:
        """One line counting the files left out, or None when every file is paired.

        Example:
            >>> from pathlib import Path
            >>> Pairing((), unmatched_annotations=(Path("a.png"), Path("b.png"))).summary()
            '2 annotations have no prediction'
        """
        parts = []
        if self.unmatched_annotations:
            count = len(self.unmatched_annotations)
            parts.append(f"{count} annotation{'s have' if count != 1 else ' has'} no prediction")
        if self.unmatched_predictions:
            count = len(self.unmatched_predictions)
            parts.append(f"{count} prediction{'s have' if count != 1 else ' has'} no annotation")
        if self.skipped:
            count = len(self.skipped)
            parts.append(f"{count} file{'s' if count != 1 else ''} skipped (not label maps)")
        return ", ".join(parts) if parts else None

    def to_dict(self) -> dict[str, object]:
        """The files left out, as JSON-ready lists of paths (and reasons for skipped files).

        Example:
            >>> from pathlib import Path
            >>> Pairing((), skipped=(SkippedFile(Path("n.txt"), "a note"),)).to_dict()["skipped"]
            [{'path': 'n.txt', 'reason': 'a note'}]
        """
        return {
            "pairs": len(self.pairs),
            "unmatched_predictions": [str(path) for path in self.unmatched_predictions],
            "unmatched_annotations": [str(path) for path in self.unmatched_annotations],
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
        }


def segment_labels_folder(folder: str | os.PathLike[str]) -> Path | None:
    """The ``labels/`` folder of an output folder of ``segformer-clothes segment`` (one that
    holds ``labels/`` and ``results.jsonl``), or None when the folder is not one.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp())
        >>> (out / "labels").mkdir()
        >>> segment_labels_folder(out) is None
        True
        >>> _ = (out / "results.jsonl").write_text("")
        >>> segment_labels_folder(out) == out / "labels"
        True
    """
    folder = Path(folder)
    labels = folder / "labels"
    if labels.is_dir() and (folder / "results.jsonl").is_file():
        return labels
    return None


def _walk(folder: Path) -> Iterator[Path]:
    """The files under a folder, in name order, hidden files and folders left out."""
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def _key(path: Path, folder: Path) -> str:
    """A file's path relative to the folder, without its suffix: ``sub/look``."""
    return path.relative_to(folder).with_suffix("").as_posix()


def _candidates(
    folder: Path, role: str, palette: bool
) -> tuple[dict[str, Path], list[SkippedFile]]:
    if not folder.is_dir():
        raise NotADirectoryError(f"the {role} folder {folder} does not exist or is not a folder")
    by_key: dict[str, Path] = {}
    skipped: list[SkippedFile] = []
    for path in _walk(folder):
        reason = not_a_label_map_reason(path, palette=palette)
        if reason is not None:
            skipped.append(SkippedFile(path, reason))
            continue
        key = _key(path, folder)
        if key in by_key:
            raise ValueError(
                f"two {role} files for the same image: {by_key[key].name} and "
                f"{path.name} in {path.parent}; keep one"
            )
        by_key[key] = path
    return by_key, skipped


def _by_number(paths: Iterable[Path]) -> dict[tuple[Path, int], list[Path]]:
    """Paths grouped by their folder and the number their stem ends in."""
    grouped: dict[tuple[Path, int], list[Path]] = {}
    for path in paths:
        number = trailing_number(path.stem)
        if number is not None:
            grouped.setdefault((path.parent, number), []).append(path)
    return grouped


def pair_folders(
    predictions: str | os.PathLike[str],
    annotations: str | os.PathLike[str],
    *,
    palette: bool = False,
) -> Pairing:
    """Pair the files of a predictions folder with those of an annotations folder.

    Files pair when they have the same stem (``look.png`` / ``look.json``), else when their
    stems end in the same number after different prefixes (``pred_12.png`` /
    ``mask_12.json``, or the ``image_12.png`` that ``segformer-clothes segment`` writes for
    ``image_12.jpg``). Subfolders are read too: there files pair by their path relative to
    the folder (``sub/look.png`` / ``sub/look.json``), else by number within the same
    subfolder. An output folder of ``segformer-clothes segment`` (holding ``labels/`` and
    ``results.jsonl``) given as predictions stands for its ``labels/``. Hidden files and
    folders are ignored.

    Args:
        predictions: the folder of predicted label maps (or a segment output folder).
        annotations: the folder of annotations.
        palette: take RGB(A) images as colourised masks to decode (see `load_label_map`)
            instead of skipping them.

    Returns:
        A `Pairing`: the pairs (named by the annotation's relative path without suffix), the
        files left unmatched on each side, and the files that are not label maps (skipped,
        with the reason).

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
    predictions = Path(predictions)
    predictions = segment_labels_folder(predictions) or predictions
    predicted, skipped_predictions = _candidates(predictions, "prediction", palette)
    annotated, skipped_annotations = _candidates(Path(annotations), "annotation", palette)
    pairs = [FilePair(key, predicted[key], annotated[key]) for key in annotated if key in predicted]
    left_predicted = {path: key for key, path in predicted.items() if key not in annotated}
    left_annotated = {path: key for key, path in annotated.items() if key not in predicted}
    by_number_predicted = {
        (folder.relative_to(predictions), number): paths
        for (folder, number), paths in _by_number(left_predicted).items()
    }
    for (folder, number), annotation_paths in _by_number(left_annotated).items():
        where = folder.relative_to(Path(annotations))
        prediction_paths = by_number_predicted.get((where, number), [])
        if not prediction_paths:
            continue
        if len(annotation_paths) > 1 or len(prediction_paths) > 1:
            names = ", ".join(p.name for p in [*prediction_paths, *annotation_paths])
            raise ValueError(
                f"ambiguous pairing for number {number}: {names}; rename the files so that "
                "each prediction has the stem (or the number) of exactly one annotation"
            )
        annotation = annotation_paths[0]
        pairs.append(FilePair(left_annotated[annotation], prediction_paths[0], annotation))
    paired = {p.prediction for p in pairs} | {p.annotation for p in pairs}
    pairs.sort(key=lambda pair: _natural(pair.name))
    return Pairing(
        pairs=tuple(pairs),
        unmatched_predictions=tuple(p for p in left_predicted if p not in paired),
        unmatched_annotations=tuple(p for p in left_annotated if p not in paired),
        skipped=(*skipped_predictions, *skipped_annotations),
    )


def swapped_folders_warning(pairing: Pairing, annotations: str | os.PathLike[str]) -> str | None:
    """A warning when the predictions and annotations seem given the wrong way round, else
    None: the annotations folder is an output folder of ``segformer-clothes segment`` (it
    holds ``results.jsonl``), or most prediction files are named like annotations
    (``mask_*``, ``gt_*``, ``annotation*``, ``label*``) while the annotation files are not.

    Example:
        >>> from pathlib import Path
        >>> pair = FilePair("image_1", Path("gt/mask_1.png"), Path("out/image_1.png"))
        >>> print(swapped_folders_warning(Pairing((pair,)), "out"))  # doctest: +ELLIPSIS
        the predictions are named like annotations (mask_1.png); are PREDICTIONS and ...
    """
    question = "are PREDICTIONS and ANNOTATIONS the wrong way round?"
    if (Path(annotations) / "results.jsonl").is_file():
        return (
            f"the annotations folder {annotations} holds results.jsonl, as an output folder of "
            f"segformer-clothes segment does; {question}"
        )
    predicted = [p.prediction for p in pairing.pairs] + list(pairing.unmatched_predictions)
    annotated = [p.annotation for p in pairing.pairs] + list(pairing.unmatched_annotations)
    like = [path for path in predicted if _ANNOTATION_STEM.match(path.stem)]
    alike = sum(bool(_ANNOTATION_STEM.match(path.stem)) for path in annotated)
    if predicted and 2 * len(like) > len(predicted) and 2 * alike <= len(annotated):
        return f"the predictions are named like annotations ({like[0].name}); {question}"
    return None


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
