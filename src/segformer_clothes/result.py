"""`SegmentationResult`: one photo's segmentation, as a label map with everything derived from it.

A result stores a single H×W uint8 label map (class ids) and derives boolean masks, coverage,
boxes, overlays and garment cut-outs from it when asked, so that thousands of results stay
small. It keeps the photo lazily (the path, bytes or PIL image it was given) and decodes it only
for `SegmentationResult.overlay` and `SegmentationResult.crop`.

Example:
    >>> import numpy as np
    >>> label_map = np.zeros((4, 6), dtype=np.uint8)
    >>> label_map[1:3, 2:5] = 4  # Upper-clothes
    >>> result = SegmentationResult(label_map)
    >>> result.labels_present
    ('Background', 'Upper-clothes')
    >>> result.bbox("upper-clothes")
    (2, 1, 5, 3)
    >>> round(result.coverage()["Upper-clothes"], 2)
    0.25
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from PIL import Image, ImageDraw, PngImagePlugin, UnidentifiedImageError

from .errors import ResponseFormatError
from .images import ImageInput, image_size, load_image
from .labels import CLOTHES_LABELS, LabelSet

__all__ = ["SegmentationResult"]

Box = tuple[int, int, int, int]
_PNG_KEY = "segformer_clothes"
_MASK_MODES = ("L", "1")


def _as_label_map(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"a label map holds integer class ids, got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ValueError("a label map holds class ids in 0..255")
        array = array.astype(np.uint8)
    elif array.flags.writeable:
        array = array.copy()
    array.flags.writeable = False
    return array


def _array_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


@attrs.frozen(slots=False)
class SegmentationResult:
    """The segmentation of one photo.

    Attributes:
        label_map: read-only H×W uint8 array of class ids, at the photo's size as people see
            it (EXIF orientation applied).
        labels: the classes the ids stand for (the 18 clothes classes by default).
        source: the input the result came from (a path, or a short description), or None.
        image: the photo itself, kept as it was given (path, bytes, PIL image or array) and
            decoded only by `overlay` and `crop`; None when unknown.

    Raises:
        ValueError: the label map is not 2-D or holds an id the label set does not have.

    Example:
        >>> import numpy as np
        >>> result = SegmentationResult(np.full((2, 2), 6, dtype=np.uint8), source="look.jpg")
        >>> result.labels_present, result.mask("pants").all()
        (('Pants',), np.True_)
    """

    label_map: np.ndarray = attrs.field(
        converter=_as_label_map, eq=attrs.cmp_using(eq=_array_equal), repr=False
    )
    labels: LabelSet = attrs.field(default=CLOTHES_LABELS, kw_only=True)
    source: Any = attrs.field(default=None, kw_only=True)
    image: Any = attrs.field(default=None, kw_only=True, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.label_map.ndim != 2:
            raise ValueError(
                f"a label map is 2-D (height, width), got shape {self.label_map.shape}"
            )
        if self.label_map.size and int(self.label_map.max()) >= len(self.labels):
            raise ValueError(
                f"the label map holds class id {int(self.label_map.max())}, but the label set has "
                f"only {len(self.labels)} classes (0..{len(self.labels) - 1})"
            )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Through the constructor, so an unpickled label map is read-only again.
        return (_rebuild, (self.label_map, self.labels, self.source, self.image))

    def __repr__(self) -> str:
        height, width = self.label_map.shape
        return (
            f"SegmentationResult({width}x{height}, labels_present={list(self.labels_present)!r}, "
            f"source={self.source!r})"
        )

    # ----------------------------------------------------------------- parsing

    @classmethod
    def from_response(
        cls,
        payload: Sequence[Mapping[str, Any]] | bytes | bytearray | str,
        *,
        image: ImageInput | None = None,
        size: tuple[int, int] | None = None,
        labels: LabelSet | None = None,
        source: Any = None,
    ) -> SegmentationResult:
        """Parse an answer of the Hugging Face image-segmentation API.

        Args:
            payload: the JSON answer: a list of ``{"label", "mask", "score"}`` items, or its
                bytes or text.
            image: the photo the answer is for, kept for `overlay` and `crop`; also gives the
                size when ``size`` is not given.
            size: ``(width, height)`` of the photo; masks of another size are resized with
                nearest neighbour. Inferred from ``image``, else from the masks.
            labels: the model's labels, when they are not the 18 clothes classes.
            source: what the result is about (defaults to the path of ``image``).

        A mask pixel is set when its value is >= 128; where masks overlap the highest class id
        wins; pixels no mask covers are Background (0).

        Raises:
            ResponseFormatError: the answer is not the documented format; the message says how.

        Example:
            >>> import numpy as np
            >>> original = SegmentationResult(np.eye(3, dtype=np.uint8) * 4)
            >>> SegmentationResult.from_response(original.to_response()) == original
            True
        """
        labels = CLOTHES_LABELS if labels is None else labels
        items = _parse_items(payload)
        if size is None and image is not None:
            size = image_size(image)
        if source is None and isinstance(image, (str, os.PathLike)):
            source = image
        label_map = _combine_masks(items, labels, size)
        return cls(label_map, labels=labels, source=source, image=image)

    def to_response(self) -> list[dict[str, Any]]:
        """The result in the API's JSON format: one ``{"score", "label", "mask"}`` item per
        label present, in id order, each mask a base64 mode-L PNG of 0 and 255."""
        items = []
        for class_id in self._present_ids:
            mask = np.where(self.label_map == class_id, np.uint8(255), np.uint8(0))
            buffer = io.BytesIO()
            Image.fromarray(mask).save(buffer, format="PNG")
            items.append(
                {
                    "score": 1.0,
                    "label": self.labels.names[class_id],
                    "mask": base64.b64encode(buffer.getvalue()).decode("ascii"),
                }
            )
        return items

    # ----------------------------------------------------------------- masks

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the label map, as PIL sizes are."""
        height, width = self.label_map.shape
        return width, height

    @cached_property
    def _pixel_counts(self) -> np.ndarray:
        return np.bincount(self.label_map.ravel(), minlength=len(self.labels))

    @property
    def _present_ids(self) -> list[int]:
        return [int(i) for i in np.flatnonzero(self._pixel_counts)]

    @property
    def labels_present(self) -> tuple[str, ...]:
        """Names of the labels with at least one pixel, in id order."""
        return tuple(self.labels.names[i] for i in self._present_ids)

    def mask(self, label: str | int) -> np.ndarray:
        """Boolean H×W mask of a label name (case-insensitive), class id or group
        (``shoes``, ``arms``, ``legs``, ``garments``, ``body``).

        Raises:
            KeyError: unknown name or id; the message lists the valid ones.
        """
        ids = self.labels.ids(label)
        if len(ids) == 1:
            equal: np.ndarray = self.label_map == ids[0]
            return equal
        return np.isin(self.label_map, ids)

    @property
    def masks(self) -> dict[str, np.ndarray]:
        """Label name -> boolean mask, for the labels present."""
        return {self.labels.names[i]: self.label_map == i for i in self._present_ids}

    def coverage(self) -> dict[str, float]:
        """Label name -> fraction of the photo's pixels, for the labels present."""
        total = self.label_map.size
        return {
            self.labels.names[i]: float(self._pixel_counts[i]) / total for i in self._present_ids
        }

    def bbox(self, label: str | int) -> Box | None:
        """``(left, top, right, bottom)`` of a label or group, right and bottom exclusive as in
        PIL boxes; None when it is absent."""
        return _box(self.mask(label))

    # ----------------------------------------------------------------- pictures

    def _photo(self, image: ImageInput | None) -> Image.Image:
        photo_input = self.image if image is None else image
        if photo_input is None:
            raise ValueError(
                "this result keeps no photo; pass image=... (a path, bytes, PIL image or array)"
            )
        photo = load_image(photo_input)
        if photo.size != self.size:
            raise ValueError(
                f"the photo is {photo.width}x{photo.height} but the label map is "
                f"{self.size[0]}x{self.size[1]}; pass the photo this result was made from"
            )
        return photo

    def colorize(self) -> Image.Image:
        """The label map painted with the label set's palette, as an RGB image."""
        painted = Image.fromarray(self.label_map).convert("P")
        painted.putpalette(self.labels.palette_array())
        return painted.convert("RGB")

    def overlay(
        self,
        image: ImageInput | None = None,
        alpha: float = 0.5,
        legend: bool = False,
        *,
        include_background: bool = False,
    ) -> Image.Image:
        """Paint the labels over the photo and return a new RGB image.

        Args:
            image: the photo; defaults to the one the result keeps. The caller's image is
                never changed.
            alpha: opacity of the colours, from 0 (photo only) to 1 (colours only).
            legend: add a strip on the right naming the colour of each label present.
            include_background: also tint Background pixels (left as they are by default).

        Raises:
            ValueError: no photo, a photo of another size, or ``alpha`` outside 0..1.
        """
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
        photo = np.asarray(self._photo(image), dtype=np.float32)
        colours = np.asarray(self.colorize(), dtype=np.float32)
        blended = photo * (1.0 - alpha) + colours * alpha
        tinted = (
            self.label_map != 0 if not include_background else np.ones(self.label_map.shape, bool)
        )
        out = np.where(tinted[:, :, None], blended, photo)
        picture = Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))
        return self._with_legend(picture) if legend else picture

    def _with_legend(self, picture: Image.Image) -> Image.Image:
        names = [n for n in self.labels_present if self.labels.id(n) != 0] or list(
            self.labels_present
        )
        row = 16
        width = 12 + 6 * max(len(n) for n in names) + 24
        canvas = Image.new(
            "RGB", (picture.width + width, max(picture.height, row * len(names) + 8)), "white"
        )
        canvas.paste(picture, (0, 0))
        draw = ImageDraw.Draw(canvas)
        for index, name in enumerate(names):
            top = 4 + index * row
            left = picture.width + 6
            draw.rectangle(
                (left, top, left + 11, top + 11), fill=self.labels.color(name), outline="black"
            )
            draw.text((left + 16, top), name, fill="black")
        return canvas

    def crop(
        self, label: str | int, image: ImageInput | None = None, padding: int = 0
    ) -> Image.Image | None:
        """Cut a garment (or any label or group) out of the photo.

        Args:
            label: a label name, class id or group.
            image: the photo; defaults to the one the result keeps.
            padding: pixels added around the garment's box (clipped to the photo).

        Returns:
            An RGBA image of the box around the label, transparent outside it, or None when
            the label is absent.
        """
        _check_padding(padding)
        mask = self.mask(label)
        if not mask.any():
            return None  # absent: no need to decode the photo
        return _cut(self._photo(image), mask, padding)

    def crops(
        self,
        image: ImageInput | None = None,
        padding: int = 0,
        labels: Iterable[str | int] | str = "garments",
    ) -> dict[str, Image.Image]:
        """Label name -> cut-out, for the labels present among ``labels`` (a group name or a
        list of names/ids; the garments by default). The photo is decoded once."""
        wanted = (
            self.labels.ids(labels)
            if isinstance(labels, str)
            else tuple(self.labels.id(x) for x in labels)
        )
        _check_padding(padding)
        present = [i for i in wanted if self._pixel_counts[i]]
        if not present:
            return {}
        photo = self._photo(image)
        return {
            self.labels.names[class_id]: _cut(photo, self.label_map == class_id, padding)
            for class_id in present
        }

    # ----------------------------------------------------------------- files

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the label map as one PNG (palette mode: the pixel values are the class ids,
        and image viewers show the label colours), carrying the labels and the source.

        Returns the path written. `SegmentationResult.load` reads it back exactly.
        """
        path = Path(path)
        picture = Image.fromarray(self.label_map).convert("P")
        picture.putpalette(self.labels.palette_array())
        info = PngImagePlugin.PngInfo()
        info.add_itxt(_PNG_KEY, json.dumps(self._metadata()))
        picture.save(path, format="PNG", pnginfo=info)
        return path

    def _metadata(self) -> dict[str, Any]:
        source: Any = self.source
        kind = "path" if isinstance(source, Path) else "str"
        if source is not None and not isinstance(source, str):
            source = os.fspath(source) if isinstance(source, os.PathLike) else str(source)
        return {
            "labels": list(self.labels.names),
            "groups": {k: list(v) for k, v in self.labels.groups.items()},
            "palette": [list(rgb) for rgb in self.labels.palette],
            "source": source,
            "source_type": kind,
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SegmentationResult:
        """Read a result written by `save` (or any mode L/P PNG of class ids, taken as clothes
        labels).

        Raises:
            ValueError: the file is not a single-channel label map.
        """
        with Image.open(path) as picture:
            picture.load()
            if picture.mode not in ("L", "P"):
                raise ValueError(
                    f"{os.fspath(path)} is a {picture.mode} image, not a label map "
                    "(mode L or P holding class ids)"
                )
            label_map = np.array(picture, dtype=np.uint8)
            raw = picture.info.get(_PNG_KEY)
        if raw is None:
            return cls(label_map, source=None)
        meta = json.loads(raw)
        names = tuple(meta["labels"])
        if names == CLOTHES_LABELS.names:
            labels = CLOTHES_LABELS
        else:
            groups = {k: tuple(v) for k, v in meta.get("groups", {}).items()}
            labels = LabelSet(names, groups=groups, palette=[tuple(c) for c in meta["palette"]])
        source = meta.get("source")
        if source is not None and meta.get("source_type") == "path":
            source = Path(source)
        return cls(label_map, labels=labels, source=source)


def _box(mask: np.ndarray) -> Box | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _check_padding(padding: int) -> None:
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")


def _cut(photo: Image.Image, mask: np.ndarray, padding: int) -> Image.Image:
    """The RGBA cut-out of ``mask`` (not empty) from ``photo``, its box grown by ``padding``."""
    box = _box(mask)
    assert box is not None
    left, top, right, bottom = box
    height, width = mask.shape
    left, top = max(0, left - padding), max(0, top - padding)
    right, bottom = min(width, right + padding), min(height, bottom + padding)
    cutout = photo.crop((left, top, right, bottom)).convert("RGBA")
    alpha = np.where(mask[top:bottom, left:right], np.uint8(255), np.uint8(0))
    cutout.putalpha(Image.fromarray(alpha))
    return cutout


def _rebuild(
    label_map: np.ndarray, labels: LabelSet, source: Any, image: Any
) -> SegmentationResult:
    return SegmentationResult(label_map, labels=labels, source=source, image=image)


# ---------------------------------------------------------------------- parsing helpers


def _parse_items(
    payload: Sequence[Mapping[str, Any]] | bytes | bytearray | str,
) -> list[tuple[str, bytes]]:
    """Check the answer's shape and return (label, decoded PNG bytes) pairs."""
    decoded: Any = payload
    if isinstance(payload, (bytes, bytearray, str)):
        try:
            decoded = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as error:
            raise ResponseFormatError(f"the answer is not JSON: {error}") from error
    if isinstance(decoded, Mapping):
        detail = f": {decoded['error']}" if "error" in decoded else f" with keys {sorted(decoded)}"
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
            raise ResponseFormatError(
                f"item {index} ({label}): 'score' is {score!r}, expected a number or null"
            )
        try:
            data = base64.b64decode(mask, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ResponseFormatError(
                f"item {index} ({label}): the mask is not valid base64: {error}"
            ) from error
        items.append((label, data))
    return items


def _open_mask(label: str, data: bytes) -> Image.Image:
    """The mask's PNG with its header read and checked; its pixels are not decoded yet."""
    try:
        picture = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ResponseFormatError(
            f"the mask of {label!r} is not a readable image: {error}"
        ) from error
    if picture.mode not in _MASK_MODES:
        raise ResponseFormatError(
            f"the mask of {label!r} is a mode {picture.mode} image; "
            "expected 8-bit grayscale (mode L)"
        )
    return picture


def _decode_mask(label: str, picture: Image.Image) -> np.ndarray:
    try:
        picture.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ResponseFormatError(
            f"the mask of {label!r} is not a readable image: {error}"
        ) from error
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
    for (label, data), class_id in sorted(zip(items, ids, strict=True), key=lambda pair: pair[1]):
        picture = _open_mask(label, data)
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
