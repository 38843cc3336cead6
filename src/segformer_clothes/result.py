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

import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from PIL import Image

from . import _drawing
from ._label_arrays import read_only_label_map, same_label_map
from ._result_garments import GarmentsOfResult
from .formats import supervision
from .formats.answer import decode_answer, encode_answer
from .formats.label_map_png import read_label_map_png, write_label_map_png
from .images import ImageInput, image_size, load_image
from .labels import CLOTHES_LABELS, LabelSet

__all__ = ["SegmentationResult"]

Box = tuple[int, int, int, int]


@attrs.frozen(slots=False)
class SegmentationResult(GarmentsOfResult):
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
        converter=read_only_label_map, eq=attrs.cmp_using(eq=same_label_map), repr=False
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
        if size is None and image is not None:
            size = image_size(image)
        if source is None and isinstance(image, (str, os.PathLike)):
            source = image
        label_map = decode_answer(payload, labels=labels, size=size)
        return cls(label_map, labels=labels, source=source, image=image)

    def to_response(self) -> list[dict[str, Any]]:
        """The result in the API's JSON format: one ``{"score", "label", "mask"}`` item per
        label present, in id order, each mask a base64 mode-L PNG of 0 and 255.

        `from_response` reads it back exactly; `segformer_clothes.formats.answer` does the
        same for bare label maps.

        Example:
            >>> import numpy as np
            >>> items = SegmentationResult(np.array([[0, 6]], dtype=np.uint8)).to_response()
            >>> [(item["label"], item["score"]) for item in items]
            [('Background', 1.0), ('Pants', 1.0)]
        """
        # Zlib's default level: smaller masks for answers that travel or are stored.
        return encode_answer(self.label_map, labels=self.labels, score=1.0, compress_level=6)

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

        Example:
            >>> import numpy as np
            >>> result = SegmentationResult(np.array([[9, 10, 4]], dtype=np.uint8))
            >>> result.mask("shoes").tolist(), result.mask(4).tolist()
            ([[True, True, False]], [[False, False, True]])
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
        return _drawing.box(self.mask(label))

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

    def _repr_png_(self) -> bytes:
        """What a notebook shows for a bare ``result``: the overlay with its legend (the painted
        label map where the photo is not at hand), at most 512 pixels on its longer side."""
        try:
            picture = self.overlay(legend=True)
        except (ValueError, OSError):  # no photo kept, or it moved
            picture = self.colorize()
        return _drawing.small_png(picture, max_side=512)

    def to_supervision(self) -> Any:
        """The labels present but Background as `supervision.Detections` (masks, boxes, class
        ids, names); needs the ``supervision`` package. See `segformer_clothes.formats.supervision`.
        """
        return supervision.to_detections(self.label_map, self.labels)

    def colorize(self) -> Image.Image:
        """The label map painted with the label set's palette, as an RGB image."""
        return _drawing.colorize(self.label_map, self.labels)

    def overlay(
        self,
        image: ImageInput | None = None,
        alpha: float = 0.5,
        legend: bool = False,
        *,
        include_background: bool = False,
        outline: bool = False,
    ) -> Image.Image:
        """Paint the labels over the photo and return a new RGB image.

        Args:
            image: the photo; defaults to the one the result keeps. The caller's image is
                never changed.
            alpha: opacity of the colours, from 0 (photo only) to 1 (colours only).
            legend: add a strip on the right naming the colour of each label present.
            include_background: also tint Background pixels (left as they are by default).
            outline: also draw each label's edge in its colour, a line that scales with the
                photo, so that a garment close to its colour still stands out.

        Raises:
            ValueError: no photo, a photo of another size, or ``alpha`` outside 0..1.

        Example:
            >>> import numpy as np
            >>> from PIL import Image
            >>> result = SegmentationResult(np.array([[0, 6]], dtype=np.uint8))
            >>> picture = result.overlay(Image.new("RGB", (2, 1), "white"), alpha=1.0)
            >>> picture.getpixel((0, 0)), picture.getpixel((1, 0)) == result.labels.color(6)
            ((255, 255, 255), True)
        """
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
        picture = _drawing.blend(
            self._photo(image),
            self.label_map,
            self.labels,
            alpha,
            include_background=include_background,
        )
        if outline:
            picture = _drawing.outlined(picture, self.label_map, self.labels)
        return (
            _drawing.with_legend(picture, self.labels_present, self.labels) if legend else picture
        )

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

        Example:
            >>> import numpy as np
            >>> from PIL import Image
            >>> label_map = np.zeros((4, 6), dtype=np.uint8)
            >>> label_map[1:3, 2:5] = 4
            >>> result = SegmentationResult(label_map, image=Image.new("RGB", (6, 4)))
            >>> result.crop("upper-clothes").size, result.crop("hat")
            ((3, 2), None)
        """
        _drawing.check_padding(padding)
        mask = self.mask(label)
        if not mask.any():
            return None  # absent: no need to decode the photo
        return _drawing.cut(self._photo(image), mask, padding)

    def crops(
        self,
        image: ImageInput | None = None,
        padding: int = 0,
        labels: Iterable[str | int] | str = "garments",
    ) -> dict[str, Image.Image]:
        """Label name -> cut-out, for the labels present among ``labels`` (a group name or a
        list of names/ids; the garments by default). The photo is decoded once.

        Example:
            >>> import numpy as np
            >>> from PIL import Image
            >>> result = SegmentationResult(np.array([[2, 4, 6]], dtype=np.uint8))
            >>> sorted(result.crops(Image.new("RGB", (3, 1))))  # Hair is not a garment
            ['Pants', 'Upper-clothes']
        """
        wanted = (
            self.labels.ids(labels)
            if isinstance(labels, str)
            else tuple(self.labels.id(x) for x in labels)
        )
        _drawing.check_padding(padding)
        present = [i for i in wanted if self._pixel_counts[i]]
        if not present:
            return {}
        photo = self._photo(image)
        return {
            self.labels.names[class_id]: _drawing.cut(photo, self.label_map == class_id, padding)
            for class_id in present
        }

    # ----------------------------------------------------------------- files

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the label map as one PNG (palette mode: the pixel values are the class ids,
        and image viewers show the label colours), carrying the labels and the source.

        Returns the path written. `SegmentationResult.load` reads it back exactly; the file
        is the one `segformer_clothes.formats.label_map_png` writes and reads.

        Example:
            >>> import tempfile
            >>> import numpy as np
            >>> result = SegmentationResult(np.eye(3, dtype=np.uint8) * 4, source="look.jpg")
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     again = SegmentationResult.load(result.save(Path(folder) / "look.png"))
            >>> again == result, again.source
            (True, 'look.jpg')
        """
        return write_label_map_png(path, self.label_map, labels=self.labels, source=self.source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SegmentationResult:
        """Read a result written by `save` (or any mode L/P PNG of class ids, taken as clothes
        labels).

        Raises:
            ValueError: the file is not a single-channel label map.
        """
        stored = read_label_map_png(path)
        return cls(stored.label_map, labels=stored.labels, source=stored.source)


def _rebuild(
    label_map: np.ndarray, labels: LabelSet, source: Any, image: Any
) -> SegmentationResult:
    return SegmentationResult(label_map, labels=labels, source=source, image=image)
