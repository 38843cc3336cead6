"""Label maps from files and from values, checked: class ids in a single-channel integer array."""

from __future__ import annotations

import io
import json
import os
import stat
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InvalidImageError, ResponseFormatError
from ..images import decoding_errors, read_image_bytes
from ..labels import CLOTHES_LABELS, LabelSet
from ..result import SegmentationResult

__all__ = ["as_label_map", "load_label_map", "not_a_label_map_reason"]

_LABEL_MAP_MODES = ("1", "L", "P", "I", "I;16", "I;16B", "I;16L", "I;16N")
_COLOUR_MODES = ("RGB", "RGBA", "LA", "CMYK", "YCbCr", "HSV", "LAB", "PA", "RGBX")
_LOSSY_SUFFIXES = (".jpg", ".jpeg", ".jfif", ".jpe")
_LOSSY_FORMATS = ("JPEG", "MPO")
_LOSSY = (
    "a JPEG, and a label map must be lossless: JPEG changes the class ids along every edge. "
    "Save the class ids as PNG (SegmentationResult.save writes one)"
)
_BOM = b"\xef\xbb\xbf"


def _not_a_label_map(mode: str) -> str:
    hint = ""
    if mode in _COLOUR_MODES:
        hint = (
            f"; it looks like a colourised mask (mode {mode}): colours are not class ids. "
            "Save the class ids themselves, e.g. SegmentationResult.save(), or a mode L/P PNG, "
            "or decode its colours with palette=True (--palette)"
        )
    return (
        f"a mode {mode} image, not a label map (a single-channel image, mode L or P, "
        f"whose pixel values are class ids){hint}"
    )


def _gray_palette(picture: Image.Image) -> bool:
    palette = picture.getpalette()
    if not palette:
        return False
    colours = np.array(palette, dtype=np.int32).reshape(-1, 3)
    return bool((colours[:, 0] == colours[:, 1]).all() and (colours[:, 1] == colours[:, 2]).all())


def load_label_map(
    path: str | os.PathLike[str], *, labels: LabelSet = CLOTHES_LABELS, palette: bool = False
) -> np.ndarray:
    """Read one label map from a file.

    Two kinds of file are read:

    - a label-map image: single channel (mode L or P, 16-bit grayscale, or a 1-bit mask read
      as 0 and 1), in any lossless format Pillow reads, whose pixel values are the class ids
      (what `SegmentationResult.save` writes; in a palette image whose colours are all grey,
      the grey levels are taken as the ids);
    - an annotation in the API's JSON format (``.json``, UTF-8 with or without a byte-order
      mark): a list of ``{"label", "mask"}`` items with base64 PNG masks, the form the API
      answers in (an annotation such as ``mask_12.json``).

    With ``palette=True``, a colourised mask (an RGB or RGBA image, as
    `SegmentationResult.colorize` draws one) is read too: each colour is decoded to the class
    of ``labels`` it is the colour of. A colour that is no class's colour is an error naming
    the file (it is not taken as "ignore"), as is a palette with one colour for two classes.

    JPEG files are refused: JPEG is lossy, and changes the class ids along every edge.

    Args:
        path: the file.
        labels: the class names the JSON labels are looked up in, and the colours
            ``palette=True`` decodes.
        palette: also read colourised RGB(A) masks, by the colours of ``labels``.

    Returns:
        An H×W integer array of class ids (uint8 for 8-bit and 1-bit files).

    Raises:
        InvalidImageError: (a ValueError) the file is not a label map: a colourised RGB mask, a
            JPEG, a note, a damaged or truncated image, a decompression bomb, a folder, FIFO or
            device, JSON that is invalid, nested too deeply or of another shape. Its
            ``source`` is the file and its message says why.
        FileNotFoundError: no such file.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from segformer_clothes import SegmentationResult
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> path = SegmentationResult(np.eye(2, dtype=np.uint8) * 4).save(folder / "a.png")
        >>> load_label_map(path).tolist()
        [[4, 0], [0, 4]]
        >>> colours = SegmentationResult(np.eye(2, dtype=np.uint8) * 4).colorize()
        >>> colours.save(folder / "colours.png")
        >>> load_label_map(folder / "colours.png", palette=True).tolist()
        [[4, 0], [0, 4]]
    """
    path = Path(path)
    source = str(path)
    if path.suffix.lower() in _LOSSY_SUFFIXES:
        raise InvalidImageError(f"is {_LOSSY}", source=source)
    try:
        os.stat(path)
    except FileNotFoundError as error:
        raise FileNotFoundError(error.errno, "no such label-map file", source) from None
    except (OSError, ValueError):
        pass  # read_image_bytes says what is wrong with the path
    data = read_image_bytes(path)  # refuses folders, FIFOs and devices without blocking
    if path.suffix.lower() == ".json":
        return _from_json(data, source, labels)
    return _from_image(data, source, labels if palette else None)


def _decode_colours(picture: Image.Image, source: str, labels: LabelSet) -> np.ndarray:
    """The class ids of a colourised mask, by the colours of ``labels``."""
    rgb = np.asarray(picture.convert("RGB"), dtype=np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    by_colour: dict[int, int] = {}
    for class_id in range(len(labels)):
        r, g, b = labels.color(class_id)
        key = (r << 16) | (g << 8) | b
        if key in by_colour:
            raise InvalidImageError(
                f"cannot decode colours: classes {labels.name(by_colour[key])} and "
                f"{labels.name(class_id)} share the colour {(r, g, b)}",
                source=source,
            )
        by_colour[key] = class_id
    colours, inverse = np.unique(packed, return_inverse=True)
    unknown = [int(c) for c in colours if int(c) not in by_colour]
    if unknown:
        first = unknown[0]
        raise InvalidImageError(
            f"{len(unknown)} colour(s) of this colourised mask are no class's colour, e.g. "
            f"{(first >> 16, (first >> 8) & 255, first & 255)}; decode only masks drawn with "
            "the label colours, losslessly (PNG), or save the class ids themselves",
            source=source,
        )
    ids = np.array([by_colour[int(c)] for c in colours], dtype=np.int64)
    decoded: np.ndarray = ids[inverse.reshape(packed.shape)]
    return decoded.astype(np.uint8) if len(labels) <= 256 else decoded


def _from_json(data: bytes, source: str, labels: LabelSet) -> np.ndarray:
    wrong = "not an annotation in the API's JSON format (a list of label/mask items)"
    try:
        payload = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise InvalidImageError(f"{wrong}: not UTF-8 text ({error})", source=source) from error
    except json.JSONDecodeError as error:
        raise InvalidImageError(f"{wrong}: invalid JSON ({error})", source=source) from error
    except RecursionError as error:
        raise InvalidImageError(f"{wrong}: JSON nested too deeply", source=source) from error
    if not isinstance(payload, list):
        kind = "an object" if isinstance(payload, dict) else f"a JSON {type(payload).__name__}"
        raise InvalidImageError(f"{wrong}: it holds {kind}", source=source)
    try:
        return SegmentationResult.from_response(payload, labels=labels).label_map
    except ResponseFormatError as error:
        raise InvalidImageError(f"{wrong}: {error.message}", source=source) from error


def _from_image(data: bytes, source: str, palette: LabelSet | None) -> np.ndarray:
    if not data:
        raise InvalidImageError("the file is empty (0 bytes)", source=source)
    unreadable = "neither an image Pillow can read nor a JSON annotation (.json)"
    with decoding_errors(source, what="label map", unreadable=unreadable):
        picture: Image.Image = Image.open(io.BytesIO(data))
        if picture.format in _LOSSY_FORMATS:
            raise InvalidImageError(f"is {_LOSSY}", source=source)
        if palette is not None and picture.mode in ("RGB", "RGBA"):
            picture.load()
            return _decode_colours(picture, source, palette)
        if picture.mode not in _LABEL_MAP_MODES:
            raise InvalidImageError(_not_a_label_map(picture.mode), source=source)
        picture.load()
        if picture.mode == "P" and _gray_palette(picture):
            # A grey image saved with a palette (GIF does this, reordering the entries):
            # the grey levels are the class ids, not the palette indices.
            picture = picture.convert("L")
        array: np.ndarray = np.array(picture)
    if array.dtype == np.bool_:  # a 1-bit mask: 0 and 1, as boolean label maps are read
        array = (array != 0).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = array.astype(np.int64)
    return array


def not_a_label_map_reason(path: Path, *, palette: bool = False) -> str | None:
    """None when the file may be a label map, else why it is not (without decoding pixels).

    With ``palette=True`` an RGB(A) image may be one too (a colourised mask to decode).

    Example:
        >>> import tempfile, pathlib
        >>> note = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
        >>> _ = note.write_text("drawn by hand")
        >>> not_a_label_map_reason(note)
        'not an image nor a JSON annotation'
    """
    if path.suffix.lower() in _LOSSY_SUFFIXES:
        return _LOSSY
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "not a regular file"
        if path.suffix.lower() == ".json":
            with path.open("rb") as handle:
                start = handle.read(64).removeprefix(_BOM).lstrip()
            if start.startswith(b"["):
                return None
            return "a JSON file that is not a list of label/mask items"
        with warnings.catch_warnings():
            # A decompression bomb may be a label map: load_label_map says why it is refused.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                mode, fmt = picture.mode, picture.format
    except Image.DecompressionBombError:
        return None
    except (UnidentifiedImageError, OSError, ValueError):
        return "not an image nor a JSON annotation"
    if fmt in _LOSSY_FORMATS:
        return _LOSSY
    if mode in _LABEL_MAP_MODES or (palette and mode in ("RGB", "RGBA")):
        return None
    if mode in _COLOUR_MODES:
        return (
            f"a mode {mode} image, not a label map of class ids (mode L or P); "
            "a colourised mask is read with --palette (palette=True)"
        )
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
