"""Label maps from files and from values, checked: class ids in a single-channel integer array."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ResponseFormatError
from ..labels import CLOTHES_LABELS, LabelSet
from ..result import SegmentationResult

__all__ = ["as_label_map", "load_label_map", "not_a_label_map_reason"]

_LABEL_MAP_MODES = ("L", "P", "I", "I;16")
_COLOUR_MODES = ("RGB", "RGBA", "LA", "CMYK", "YCbCr", "HSV", "LAB", "PA", "RGBX")


def _not_a_label_map(path: Path, mode: str) -> str:
    hint = ""
    if mode in _COLOUR_MODES:
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
      ``{"label", "mask"}`` items with base64 PNG masks, the form the API answers in
      (an annotation such as ``mask_12.json``).

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


def not_a_label_map_reason(path: Path) -> str | None:
    """None when the file may be a label map, else why it is not (without decoding pixels).

    Example:
        >>> import tempfile, pathlib
        >>> note = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
        >>> _ = note.write_text("drawn by hand")
        >>> not_a_label_map_reason(note)
        'not an image nor a JSON annotation'
    """
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


def as_label_map(value: Any, role: str) -> np.ndarray:
    """A 2-D integer array of class ids from an array or a `SegmentationResult`.

    Args:
        value: an H×W integer (or boolean) array, or a `SegmentationResult`.
        role: what the value is (``"prediction"``, ``"annotation"``), named in errors.

    Raises:
        TypeError: the array does not hold integers.
        ValueError: the array is not 2-D.

    Example:
        >>> import numpy as np
        >>> as_label_map(np.array([[True, False]]), "prediction").tolist()
        [[1, 0]]
    """
    if isinstance(value, SegmentationResult):
        return value.label_map
    array = np.asarray(value)
    if array.dtype == np.bool_:
        return array.view(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"the {role} must hold integer class ids, got dtype {array.dtype}; "
            "convert it with .astype(np.uint8) if its values are whole class ids"
        )
    if array.ndim != 2:
        raise ValueError(f"the {role} must be a 2-D label map (height, width), got {array.shape}")
    return array
