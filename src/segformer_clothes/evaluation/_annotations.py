"""Reading annotations and predictions from files, and pairing the files of two folders."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import attrs
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ResponseFormatError
from ..labels import CLOTHES_LABELS, LabelSet
from ..result import SegmentationResult

__all__ = ["FilePair", "Pairing", "SkippedFile", "load_label_map", "pair_folders"]

_LABEL_MAP_MODES = ("L", "P", "I", "I;16")
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def _not_a_label_map(path: Path, mode: str) -> str:
    hint = ""
    if mode in ("RGB", "RGBA", "LA", "CMYK", "YCbCr", "HSV", "LAB", "PA", "RGBX"):
        hint = (
            f"; it looks like a colourised mask (mode {mode}): colours are not class ids. "
            "Save the class ids themselves, e.g. SegmentationResult.save(), or a mode L/P PNG"
        )
    return (
        f"{path} is a mode {mode} image, not a label map (a single-channel image, mode L or P, "
        f"whose pixel values are class ids){hint}"
    )


def _gray_palette(picture: Image.Image) -> bool:
    palette = picture.getpalette()
    if not palette:
        return False
    colours = np.array(palette, dtype=np.int32).reshape(-1, 3)
    return bool((colours[:, 0] == colours[:, 1]).all() and (colours[:, 1] == colours[:, 2]).all())


def load_label_map(
    path: str | os.PathLike[str], *, labels: LabelSet = CLOTHES_LABELS
) -> np.ndarray:
    """Read one label map from a file.

    Two kinds of file are read:

    - a label-map image: single channel (mode L or P, or 16-bit grayscale), in any lossless
      format Pillow reads, whose pixel values are the class ids (what
      `SegmentationResult.save` writes; in a palette image whose colours are all grey, the
      grey levels are taken as the ids);
    - an annotation in the API's JSON format (``.json``): a list of
      ``{"label", "mask"}`` items with base64 PNG masks, such as the seed's ``mask_12.json``.

    Args:
        path: the file.
        labels: the class names the JSON labels are looked up in.

    Returns:
        An H×W integer array of class ids (uint8 for 8-bit files).

    Raises:
        ValueError: the file is not a label map (a colourised RGB mask, a note, a JSON file
            of another shape); the message names the file and says why.
        FileNotFoundError: no such file.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from segformer_clothes import SegmentationResult
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> path = SegmentationResult(np.eye(2, dtype=np.uint8) * 4).save(folder / "a.png")
        >>> load_label_map(path).tolist()
        [[4, 0], [0, 4]]
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            result = SegmentationResult.from_response(path.read_bytes(), labels=labels)
        except ResponseFormatError as error:
            raise ValueError(
                f"{path} is not an annotation in the API's JSON format "
                f"(a list of label/mask items): {error.message}"
            ) from error
        return result.label_map
    try:
        with Image.open(path) as picture:
            if picture.mode not in _LABEL_MAP_MODES:
                raise ValueError(_not_a_label_map(path, picture.mode))
            picture.load()
            if picture.mode == "P" and _gray_palette(picture):
                # A grey image saved with a palette (GIF does this, reordering the entries):
                # the grey levels are the class ids, not the palette indices.
                picture = picture.convert("L")
            array = np.array(picture)
    except UnidentifiedImageError as error:
        raise ValueError(
            f"{path} is neither an image Pillow can read nor a JSON annotation (.json)"
        ) from error
    if array.dtype != np.uint8:
        array = array.astype(np.int64)
    return array


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


def _classify(path: Path) -> str | None:
    """None when the file may be a label map, else why it is not."""
    if path.suffix.lower() == ".json":
        with path.open("rb") as handle:
            start = handle.read(64).lstrip()
        if start.startswith(b"["):
            return None
        return "a JSON file that is not a list of label/mask items"
    try:
        with Image.open(path) as picture:
            mode = picture.mode
    except (UnidentifiedImageError, OSError):
        return "not an image nor a JSON annotation"
    if mode in _LABEL_MAP_MODES:
        return None
    return f"a mode {mode} image, not a label map of class ids (mode L or P)"


def _candidates(folder: Path, role: str) -> tuple[dict[str, Path], list[SkippedFile]]:
    if not folder.is_dir():
        raise NotADirectoryError(f"the {role} folder {folder} does not exist or is not a folder")
    by_stem: dict[str, Path] = {}
    skipped: list[SkippedFile] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        reason = _classify(path)
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


def _natural(name: str) -> tuple[str, int]:
    match = _TRAILING_NUMBER.match(name)
    return (match.group(1), int(match.group(2))) if match else (name, -1)


def _by_number(paths: Iterable[Path]) -> dict[int, list[Path]]:
    numbered: dict[int, list[Path]] = {}
    for path in paths:
        match = _TRAILING_NUMBER.match(path.stem)
        if match:
            numbered.setdefault(int(match.group(2)), []).append(path)
    return numbered


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
    by_number_predicted = _by_number(left_predicted)
    by_number_annotated = _by_number(left_annotated)
    for number, annotation_paths in by_number_annotated.items():
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
