"""The garments of one photo: what is worn, where, how much of the person it covers, in which
colours, with its mask as COCO RLE and flags that say when not to trust it.

`find_garments` (and `SegmentationResult.garments`, which calls it) returns one `Garment` per
garment present, in class-id order. The person is every pixel that is not Background.

How the dominant colours are found:

1. The garment's mask is eroded by 5% of the square root of its area (1 to 5 pixels;
   ``scipy.ndimage.binary_erosion``), so that skin and background at its edges do not leak
   in. Where that would leave less than a quarter of it, it is eroded by 1 pixel; a garment
   too thin for that keeps its whole mask.
2. At most `MAX_SAMPLES` of its pixels are sampled, with a fixed seed.
3. They are converted to CIELAB (scikit-image) and clustered into ``colours`` groups by k-means
   (``scipy.cluster.vq.kmeans2``, k-means++ start, fixed seed). Clusters whose centres are
   closer than `SAME_COLOUR` (CIEDE2000) are merged: a plain garment under uneven light is
   one colour, not three shades of it.
4. Each colour is the mean of its cluster, with its share of the sampled pixels, its sRGB hex
   and the nearest name of `segformer_clothes.analysis.colours.COLOUR_NAMES`.

The same label map and photo always give the same colours.

Quality flags (`Garment.flags`), with their thresholds:

- ``small_person``: the person covers less than `SMALL_PERSON_SHARE` (5%) of the photo;
- ``small_garment``: the garment has fewer than `SMALL_GARMENT_PIXELS` (500) pixels, or less
  than `SMALL_GARMENT_PERSON_SHARE` (0.5%) of the person's;
- ``no_person``: the photo has no pixel but Background (so it has no garment either: this flag
  is a photo's, see `photo_flags`, and shows in the table's row for a photo without garments).

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> label_map = np.zeros((60, 40), dtype=np.uint8)
    >>> label_map[10:50, 5:35] = 4  # Upper-clothes
    >>> photo = Image.new("RGB", (40, 60), (31, 42, 68))
    >>> (shirt,) = find_garments(label_map, photo)
    >>> shirt.label, shirt.pixels, shirt.bbox, shirt.colours[0].name, shirt.colours[0].share
    ('Upper-clothes', 1200, (5, 10, 35, 50), 'navy', 1.0)
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import attrs
import numpy as np

from ..formats.coco import encode_rles
from ..images import ImageInput, load_image
from ..labels import CLOTHES_LABELS, LabelSet
from . import colours as colour_names
from ._requires import require

__all__ = [
    "MAX_SAMPLES",
    "NO_PERSON",
    "SAME_COLOUR",
    "SMALL_GARMENT",
    "SMALL_GARMENT_PERSON_SHARE",
    "SMALL_GARMENT_PIXELS",
    "SMALL_PERSON",
    "SMALL_PERSON_SHARE",
    "Colour",
    "Garment",
    "find_garments",
    "photo_flags",
]

NO_PERSON = "no_person"
SMALL_PERSON = "small_person"
SMALL_GARMENT = "small_garment"

SMALL_PERSON_SHARE = 0.05
"""A person covering less of the photo than this is ``small_person``."""
SMALL_GARMENT_PIXELS = 500
"""A garment with fewer pixels than this is ``small_garment``."""
SMALL_GARMENT_PERSON_SHARE = 0.005
"""A garment covering less of the person than this is ``small_garment``."""
MAX_SAMPLES = 5_000
"""The most pixels of one garment its colours are computed from."""
SAME_COLOUR = 10.0
"""Clusters whose centres differ by less than this (CIEDE2000) are one colour."""
SEED = 0


@attrs.frozen
class Colour:
    """One dominant colour of a garment.

    Attributes:
        hex: the colour as sRGB ``#rrggbb``.
        lab: the colour in CIELAB ``(L, a, b)``, L from 0 to 100.
        name: the nearest name of the vocabulary (`segformer_clothes.analysis.colours`).
        share: the fraction of the garment's pixels in this colour, 0 to 1.
    """

    hex: str
    lab: tuple[float, float, float]
    name: str
    share: float


@attrs.frozen
class Garment:
    """One garment of a photo.

    Attributes:
        label: the class name (``shoes`` for left and right shoes merged).
        pixels: how many pixels it covers.
        photo_share: ``pixels`` / the photo's pixels.
        person_share: ``pixels`` / the person's pixels (every pixel but Background).
        bbox: ``(left, top, right, bottom)``, right and bottom exclusive, as
            `SegmentationResult.bbox` gives it.
        centroid: ``(x, y)``, the mean pixel position, in pixels.
        colours: its dominant colours, largest share first (empty when not asked for).
        rle: its mask as COCO RLE, ``{"size": [height, width], "counts": str}``
            (`segformer_clothes.formats.coco.decode_rle` reads it back); None when not asked.
        flags: quality flags of the garment and its photo (see the module's docstring).
    """

    label: str
    pixels: int
    photo_share: float
    person_share: float
    bbox: tuple[int, int, int, int]
    centroid: tuple[float, float]
    colours: tuple[Colour, ...]
    rle: dict[str, Any] | None = attrs.field(hash=False, repr=False)
    flags: tuple[str, ...]


def photo_flags(label_map: np.ndarray) -> tuple[str, ...]:
    """The flags of a photo itself: ``no_person`` or ``small_person`` (or none).

    Example:
        >>> import numpy as np
        >>> photo_flags(np.zeros((4, 4), dtype=np.uint8)), photo_flags(np.ones((4, 4), np.uint8))
        (('no_person',), ())
    """
    person = int(np.count_nonzero(label_map))
    if person == 0:
        return (NO_PERSON,)
    return (SMALL_PERSON,) if person < SMALL_PERSON_SHARE * label_map.size else ()


def _wanted(labels: LabelSet, body: bool, merge_shoes: bool) -> list[tuple[str, tuple[int, ...]]]:
    """(label, class ids) of each garment to look for, in class-id order."""
    garment_ids = labels.groups.get("garments", tuple(range(1, len(labels))))
    ids = sorted(set(garment_ids) | (set(labels.groups.get("body", ())) if body else set()))
    shoes = labels.groups.get("shoes", ()) if merge_shoes else ()
    wanted: list[tuple[str, tuple[int, ...]]] = []
    for class_id in ids:
        if class_id in shoes:
            if class_id == min(shoes):
                wanted.append(("shoes", tuple(shoes)))
            continue
        wanted.append((labels.names[class_id], (class_id,)))
    return wanted


def find_garments(
    label_map: np.ndarray,
    photo: ImageInput | None = None,
    *,
    labels: LabelSet = CLOTHES_LABELS,
    colours: int = 3,
    body: bool = False,
    merge_shoes: bool = False,
    rle: bool = True,
) -> tuple[Garment, ...]:
    """One `Garment` per garment present in a label map, in class-id order.

    Args:
        label_map: H×W class ids.
        photo: the photo (path, bytes, PIL image or array), needed for the colours.
        labels: the classes of the ids; the garments are its ``garments`` group (every class
            but Background for a label set without one).
        colours: how many dominant colours to find at most (0: none, and no photo needed).
        body: also give the body parts (the ``body`` group: hair, face, arms, legs).
        merge_shoes: give left and right shoes as one garment labelled ``shoes``.
        rle: also encode each mask as COCO RLE (pycocotools).

    Raises:
        ValueError: ``colours`` is negative, no photo was given while colours are asked for,
            or the photo's size is not the label map's.
        ImportError: the ``analysis`` extra is not installed; the message gives the command.
    """
    if colours < 0:
        raise ValueError(f"colours must be 0 or more, got {colours}")
    ndimage = require("scipy.ndimage", "finding garments")
    height, width = label_map.shape
    pixels_of = np.bincount(label_map.ravel(), minlength=len(labels))
    person = int(label_map.size - pixels_of[0])
    found = [
        (name, ids)
        for name, ids in _wanted(labels, body, merge_shoes)
        if pixels_of[list(ids)].any()
    ]
    if not found:
        return ()
    rgb = _photo_pixels(photo, width, height) if colours else None
    boxes = ndimage.find_objects(label_map, max_label=len(labels) - 1)
    fortran = np.asfortranarray(label_map) if rle else None
    stack = np.empty((height, width, len(found)), dtype=np.uint8, order="F") if rle else None
    shown = photo_flags(label_map)
    garments = []
    for index, (name, ids) in enumerate(found):
        rows, columns = _union(boxes[i - 1] for i in ids if boxes[i - 1] is not None)
        window = label_map[rows, columns]
        mask = window == ids[0] if len(ids) == 1 else np.isin(window, ids)
        count = int(pixels_of[list(ids)].sum())
        if fortran is not None and stack is not None:
            stack[:, :, index] = fortran == ids[0] if len(ids) == 1 else np.isin(fortran, ids)
        ys = np.arange(rows.start, rows.stop, dtype=np.float64)
        xs = np.arange(columns.start, columns.stop, dtype=np.float64)
        centroid = (float(mask.sum(axis=0) @ xs) / count, float(mask.sum(axis=1) @ ys) / count)
        flags = list(shown)
        if count < SMALL_GARMENT_PIXELS or count < SMALL_GARMENT_PERSON_SHARE * person:
            flags.append(SMALL_GARMENT)
        found_colours = () if rgb is None else _colours(rgb[rows, columns], mask, colours, ndimage)
        garments.append(
            Garment(
                label=name,
                pixels=count,
                photo_share=count / label_map.size,
                person_share=count / person,
                bbox=(columns.start, rows.start, columns.stop, rows.stop),
                centroid=centroid,
                colours=found_colours,
                rle=None,
                flags=tuple(flags),
            )
        )
    if stack is not None:
        encoded = encode_rles(stack)
        garments = [attrs.evolve(g, rle=r) for g, r in zip(garments, encoded, strict=True)]
    return tuple(garments)


def _union(boxes: Any) -> tuple[slice, slice]:
    boxes = list(boxes)
    return (
        slice(min(b[0].start for b in boxes), max(b[0].stop for b in boxes)),
        slice(min(b[1].start for b in boxes), max(b[1].stop for b in boxes)),
    )


def _photo_pixels(photo: ImageInput | None, width: int, height: int) -> np.ndarray:
    if photo is None:
        raise ValueError(
            "the garments' colours need the photo; pass image=... (a path, bytes, PIL image or "
            "array), or colours=0 for garments without colours"
        )
    picture = load_image(photo)
    if picture.size != (width, height):
        raise ValueError(
            f"the photo is {picture.width}x{picture.height} but the label map is "
            f"{width}x{height}; pass the photo the label map was made from"
        )
    return np.asarray(picture.convert("RGB"))


def _colours(window: np.ndarray, mask: np.ndarray, k: int, ndimage: Any) -> tuple[Colour, ...]:
    """The dominant colours of the pixels of ``window`` (H×W×3) under ``mask``."""
    count = int(mask.sum())
    inner = mask
    for radius in (int(np.clip(np.ceil(0.05 * np.sqrt(count)), 1, 5)), 1):
        inner = ndimage.binary_erosion(mask, iterations=radius)
        if inner.sum() >= max(20, count // 4):
            break
    else:
        inner = mask  # too thin to erode: keep every pixel
    inner_count = int(inner.sum())
    positions = np.flatnonzero(inner)
    rng = np.random.default_rng(SEED)
    if inner_count > MAX_SAMPLES:
        positions = positions[rng.integers(0, inner_count, MAX_SAMPLES)]
    pixels = window.reshape(-1, 3)[positions]
    wide = pixels.astype(np.int64)
    packed = (wide[:, 0] << 16) | (wide[:, 1] << 8) | wide[:, 2]
    unique, inverse = np.unique(packed, return_inverse=True)
    if len(unique) <= k:
        # As many distinct values as clusters or fewer: they are the clusters.
        lab = colour_names.rgb_to_lab(pixels[np.unique(inverse, return_index=True)[1]])
        assignment = inverse.ravel()
    else:
        lab_pixels = colour_names.rgb_to_lab(pixels)
        lab, assignment = _kmeans(lab_pixels, k, rng)
    sizes = np.bincount(assignment, minlength=len(lab)).astype(np.float64)
    centres, sizes = _merge_close(lab[sizes > 0], sizes[sizes > 0])
    order = np.argsort(-sizes, kind="stable")
    centres, shares = centres[order], sizes[order] / sizes.sum()
    rgb = colour_names.lab_to_rgb(centres)
    names = colour_names.nearest_colour_names(centres)
    return tuple(
        Colour(
            hex=colour_names.rgb_to_hex(rgb[i]),
            lab=(float(centres[i, 0]), float(centres[i, 1]), float(centres[i, 2])),
            name=names[i],
            share=float(shares[i]),
        )
        for i in range(len(centres))
    )


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    vq = require("scipy.cluster.vq", "clustering colours")
    generator = _generator_keyword(vq.kmeans2)
    for clusters in range(k, 0, -1):
        try:
            centres, assignment = vq.kmeans2(
                points, clusters, iter=10, minit="++", missing="raise", check_finite=False,
                **{generator: rng},
            )  # fmt: skip
        except vq.ClusterError:  # a cluster ran empty: try with one fewer
            continue
        # The centres as the means of their members, in the samples' own precision.
        sizes = np.bincount(assignment, minlength=clusters)
        sums = np.stack([np.bincount(assignment, points[:, c], clusters) for c in range(3)], 1)
        centres = np.where(sizes[:, None] > 0, sums / np.maximum(sizes, 1)[:, None], centres)
        return centres, assignment
    raise AssertionError("k-means with one cluster cannot fail")  # pragma: no cover


@functools.cache
def _generator_keyword(kmeans2: Any) -> str:
    # Newer scipy names the generator `rng`, older ones `seed`: the same fixed start either way.
    return "rng" if "rng" in inspect.signature(kmeans2).parameters else "seed"


def _merge_close(centres: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge the two closest clusters while they are closer than SAME_COLOUR."""
    centres, sizes = centres.copy(), sizes.copy()
    while len(centres) > 1:
        differences = colour_names.colour_difference(centres[:, None, :], centres[None, :, :])
        np.fill_diagonal(differences, np.inf)
        first, second = np.unravel_index(int(differences.argmin()), differences.shape)
        if differences[first, second] >= SAME_COLOUR:
            break
        total = sizes[first] + sizes[second]
        centres[first] = (centres[first] * sizes[first] + centres[second] * sizes[second]) / total
        sizes[first] = total
        centres, sizes = np.delete(centres, second, 0), np.delete(sizes, second)
    return centres, sizes
