"""The Hugging Face image-segmentation API's answer, read into a label map and written from one.

An answer is a JSON list with one item per label present in the photo:
``{"score": 1 | null | float, "label": "Upper-clothes", "mask": "<base64 PNG>"}``, each mask
an 8-bit grayscale PNG of 0 and 255 at the size of the photo. `decode_answer` turns such an
answer (the list, or its JSON bytes or text) into an H×W uint8 label map of class ids, checking
every part of it; `encode_answer` writes a label map as the API would answer it.

Example:
    >>> import numpy as np
    >>> label_map = np.array([[0, 4], [6, 6]], dtype=np.uint8)
    >>> answer = encode_answer(label_map)
    >>> [item["label"] for item in answer]
    ['Background', 'Upper-clothes', 'Pants']
    >>> np.array_equal(decode_answer(answer), label_map)
    True
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ResponseFormatError
from ..labels import CLOTHES_LABELS, LabelSet
from ._label_map import checked_label_map

__all__ = ["MAX_MASK_PIXELS", "decode_answer", "encode_answer"]

_MASK_MODES = ("L", "1")

MAX_MASK_PIXELS = 2**26
"""The most pixels a mask may have (67 million, an 8192x8192 photo; under Pillow's own
decompression-bomb limit): a mask PNG is tiny whatever size its header claims, so the size is
checked before any pixel is decoded."""

# A mask may be larger than the photo it is for (a server that upscaled), but not this many
# times its pixels: beyond, decoding it would cost memory out of all proportion to the photo.
_MAX_MASK_SCALE = 16
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SHOWN = 200  # characters of the answer's own text an error repeats


def _shown(value: object) -> str:
    """A value as an error shows it: a string as is, else its repr, cut short (it may be huge,
    or nested absurdly)."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except (RecursionError, ValueError):
        return f"a {type(value).__name__} too large or too deep to show"
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def encode_answer(
    label_map: np.ndarray,
    *,
    labels: LabelSet = CLOTHES_LABELS,
    score: float | None = None,
    compress_level: int = 1,
) -> list[dict[str, Any]]:
    """Write a label map as the API answers it.

    Args:
        label_map: H×W array of class ids (any integer dtype, ids in ``labels``).
        labels: the names the ids stand for (the 18 clothes classes by default).
        score: the ``score`` of every item; the service sends null or 1.
        compress_level: the zlib level of the mask PNGs, from 0 (none) to 9 (smallest); the
            default, 1, is the fastest that still compresses.

    Returns:
        One ``{"score", "label", "mask"}`` item per label present, in id order, each mask a
        base64 full-size mode-L PNG of 0 and 255. `decode_answer` reads it back exactly.

    Raises:
        ValueError: the label map is not 2-D, not integer, or holds an id ``labels`` lacks.

    Example:
        >>> import numpy as np
        >>> [item["label"] for item in encode_answer(np.array([[0, 4]], dtype=np.uint8))]
        ['Background', 'Upper-clothes']
    """
    array = checked_label_map(label_map, labels)
    items = []
    for class_id in np.flatnonzero(np.bincount(array.ravel(), minlength=len(labels))):
        mask = np.where(array == class_id, np.uint8(255), np.uint8(0))
        buffer = io.BytesIO()
        Image.fromarray(mask).save(buffer, format="PNG", compress_level=compress_level)
        items.append(
            {
                "score": score,
                "label": labels.names[class_id],
                "mask": base64.b64encode(buffer.getvalue()).decode("ascii"),
            }
        )
    return items


def decode_answer(
    payload: Sequence[Mapping[str, Any]] | bytes | bytearray | str,
    *,
    labels: LabelSet = CLOTHES_LABELS,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read an answer into a label map.

    A mask pixel is set when its value is >= 128; where masks overlap the highest class id
    wins; pixels no mask covers are Background (0). Masks of another size than ``size`` are
    resized with nearest neighbour.

    Args:
        payload: the answer: a list of ``{"label", "mask", "score"}`` items, or its JSON
            bytes or text. ``score`` may be a number, null or absent.
        labels: the model's labels, when they are not the 18 clothes classes.
        size: ``(width, height)`` of the label map wanted; the masks' own size when None.

    Returns:
        A new H×W uint8 array of class ids.

    Raises:
        ResponseFormatError: the answer is not the documented format (not JSON, an object
            instead of a list, an empty list, a missing field, a mask that is not a base64
            grayscale PNG, masks of different sizes, a label ``labels`` does not have); the
            message says which item and how. So is a hostile answer: JSON nested too deep or
            numbers too long to read, a mask whose header claims more than `MAX_MASK_PIXELS`
            pixels or more than 16 times the pixels of ``size``. No other exception escapes,
            and the memory used is bounded by the answer's size and ``size``.

    Example:
        >>> import numpy as np
        >>> answer = encode_answer(np.full((2, 3), 6, dtype=np.uint8))
        >>> decode_answer(answer, size=(6, 4)).shape  # (height, width), as arrays are
        (4, 6)
        >>> decode_answer(b"[]")
        Traceback (most recent call last):
        ...
        segformer_clothes.errors.ResponseFormatError: the answer is an empty list: ...
    """
    items = _parse_items(payload)
    return _combine_masks(items, labels, size)


def _parse_items(
    payload: Sequence[Mapping[str, Any]] | bytes | bytearray | str,
) -> list[tuple[str, bytes]]:
    """Check the answer's shape and return (label, decoded PNG bytes) pairs."""
    decoded: Any = payload
    if isinstance(payload, (bytes, bytearray, str)):
        try:
            decoded = json.loads(payload)
        except RecursionError:
            raise ResponseFormatError("the answer is JSON nested too deep to read") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise ResponseFormatError(f"the answer is not JSON: {str(error)[:_SHOWN]}") from None
    if isinstance(decoded, Mapping):
        keys = [str(key) for key in list(decoded)[:10]]
        detail = (
            f": {_shown(decoded['error'])}" if "error" in decoded else f" with keys {sorted(keys)}"
        )
        raise ResponseFormatError(
            f"expected a JSON list of label/mask items, got an object{detail}"
        )
    payload = decoded
    if not isinstance(payload, Sequence) or isinstance(payload, (str, bytes)):
        raise ResponseFormatError(
            f"expected a JSON list of label/mask items, got {type(payload).__name__}"
        )
    if len(payload) == 0:
        raise ResponseFormatError(
            "the answer is an empty list: no mask at all, not even Background"
        )
    items = []
    for index, item in enumerate(payload):
        if not isinstance(item, Mapping):
            raise ResponseFormatError(
                f"item {index} is a {type(item).__name__}, expected an object"
            )
        missing = [key for key in ("label", "mask") if key not in item]
        if missing:
            raise ResponseFormatError(
                f"item {index} has no {' or '.join(repr(k) for k in missing)} field"
            )
        label, mask = item["label"], item["mask"]
        if isinstance(label, str) and len(label) > _SHOWN:
            label = label[:_SHOWN] + "..."  # no known label is this long; keep messages short
        if not isinstance(label, str):
            raise ResponseFormatError(
                f"item {index}: 'label' is {type(label).__name__}, expected a string"
            )
        if not isinstance(mask, str):
            raise ResponseFormatError(
                f"item {index} ({label}): 'mask' is {type(mask).__name__}, expected base64"
            )
        score = item.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            shown = repr(score[:_SHOWN]) if isinstance(score, str) else _shown(score)
            raise ResponseFormatError(
                f"item {index} ({label}): 'score' is {shown}, expected a number or null"
            )
        try:
            data = base64.b64decode(mask, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ResponseFormatError(
                f"item {index} ({label}): the mask is not valid base64: {error}"
            ) from None
        items.append((label, data))
    return items


def _check_mask_size(label: str, width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise ResponseFormatError(
            f"the mask of {label!r} claims {width}x{height} pixels, more than the "
            f"{limit} a mask may have for this photo; the answer is not for this photo"
        )


def _open_mask(label: str, data: bytes, limit: int) -> Image.Image:
    """The mask's PNG with its header read and checked; its pixels are not decoded yet."""
    if data.startswith(_PNG_SIGNATURE) and data[12:16] == b"IHDR" and len(data) >= 24:
        # Read the size before Pillow does: a size past its own bomb limit is an exception
        # (or a warning) from Pillow, not our error.
        width, height = struct.unpack(">II", data[16:24])
        _check_mask_size(label, width, height, limit)
    try:
        picture = Image.open(io.BytesIO(data))
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as error:
        raise ResponseFormatError(
            f"the mask of {label!r} is not a readable image: {error}"
        ) from None
    _check_mask_size(label, *picture.size, limit)
    if picture.mode not in _MASK_MODES:
        raise ResponseFormatError(
            f"the mask of {label!r} is a mode {picture.mode} image; "
            "expected 8-bit grayscale (mode L)"
        )
    return picture


def _decode_mask(label: str, picture: Image.Image) -> np.ndarray:
    try:
        picture.load()
    except (OSError, SyntaxError, ValueError, MemoryError) as error:
        raise ResponseFormatError(
            f"the mask of {label!r} is not a readable image: {error}"
        ) from None
    return np.asarray(picture.convert("L") if picture.mode == "1" else picture)


def _combine_masks(
    items: list[tuple[str, bytes]], labels: LabelSet, size: tuple[int, int] | None
) -> np.ndarray:
    ids = []
    for label, _ in items:
        if label not in labels:
            raise ResponseFormatError(
                f"the answer has the unknown label {label!r}; "
                f"known labels: {', '.join(labels.names)}. "
                "For a model with other labels pass labels=LabelSet(...)"
            )
        ids.append(labels.id(label))
    label_map: np.ndarray | None = None
    mask_size: tuple[int, int] | None = None
    scratch: np.ndarray | None = None
    # Ascending id order, combined with a running maximum: where masks overlap, the highest id wins.
    # Background adds nothing to a label map that starts at 0: its pixels are decoded only when
    # it is the one mask (a twelfth of the work on a typical answer); its header is checked.
    background_only = all(class_id == 0 for class_id in ids)
    limit = MAX_MASK_PIXELS
    if size is not None:
        limit = min(limit, max(_MAX_MASK_SCALE * int(size[0]) * int(size[1]), 4096))
    for (label, data), class_id in sorted(zip(items, ids, strict=True), key=lambda pair: pair[1]):
        picture = _open_mask(label, data, limit)
        this_size = picture.size
        if mask_size is None:
            mask_size = this_size
        elif this_size != mask_size:
            raise ResponseFormatError(
                f"masks of different sizes: {label!r} is {this_size[0]}x{this_size[1]}, "
                f"earlier masks are {mask_size[0]}x{mask_size[1]}"
            )
        if label_map is None:
            label_map = np.zeros((this_size[1], this_size[0]), dtype=np.uint8)
            scratch = np.empty_like(label_map)
        assert scratch is not None
        if class_id == 0:
            if background_only:
                _decode_mask(label, picture)
            continue
        mask = _decode_mask(label, picture)
        # value >= 128 exactly when the top bit is set: a shift gives 0/1 without a bool array.
        np.right_shift(mask, 7, out=scratch)
        np.multiply(scratch, np.uint8(class_id), out=scratch)
        np.maximum(label_map, scratch, out=label_map)
    assert label_map is not None
    assert mask_size is not None
    if size is not None and tuple(size) != mask_size:
        width, height = size
        label_map = np.asarray(
            Image.fromarray(label_map).resize((width, height), Image.Resampling.NEAREST)
        )
    return label_map
