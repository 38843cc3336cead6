"""The pixel work behind a result's pictures: painting labels, blending, legends and cut-outs."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .labels import LabelSet

Box = tuple[int, int, int, int]


def colorize(label_map: np.ndarray, labels: LabelSet) -> Image.Image:
    """The label map painted with the label set's palette, as an RGB image."""
    painted = Image.fromarray(label_map).convert("P")
    painted.putpalette(labels.palette_array())
    return painted.convert("RGB")


def blend(
    photo: Image.Image,
    label_map: np.ndarray,
    labels: LabelSet,
    alpha: float,
    *,
    include_background: bool,
) -> Image.Image:
    """A new RGB image: the label colours over ``photo`` (of the label map's size) at ``alpha``,
    Background pixels left as they are unless ``include_background``."""
    pixels = np.asarray(photo, dtype=np.float32)
    colours = np.asarray(colorize(label_map, labels), dtype=np.float32)
    blended = pixels * (1.0 - alpha) + colours * alpha
    tinted = label_map != 0 if not include_background else np.ones(label_map.shape, bool)
    out = np.where(tinted[:, :, None], blended, pixels)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))


def with_legend(picture: Image.Image, names: Sequence[str], labels: LabelSet) -> Image.Image:
    """``picture`` with a white strip on its right naming the colour of each of ``names``."""
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
        draw.rectangle((left, top, left + 11, top + 11), fill=labels.color(name), outline="black")
        draw.text((left + 16, top), name, fill="black")
    return canvas


def box(mask: np.ndarray) -> Box | None:
    """``(left, top, right, bottom)`` of a boolean mask, right and bottom exclusive; None when
    it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def check_padding(padding: int) -> None:
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")


def cut(photo: Image.Image, mask: np.ndarray, padding: int) -> Image.Image:
    """The RGBA cut-out of ``mask`` (not empty) from ``photo``, its box grown by ``padding``."""
    found = box(mask)
    assert found is not None
    left, top, right, bottom = found
    height, width = mask.shape
    left, top = max(0, left - padding), max(0, top - padding)
    right, bottom = min(width, right + padding), min(height, bottom + padding)
    cutout = photo.crop((left, top, right, bottom)).convert("RGBA")
    alpha = np.where(mask[top:bottom, left:right], np.uint8(255), np.uint8(0))
    cutout.putalpha(Image.fromarray(alpha))
    return cutout


def small_png(picture: Image.Image, *, max_side: int) -> bytes:
    """``picture`` as PNG bytes, shrunk to at most ``max_side`` pixels on its longer side."""
    small = picture.copy()
    small.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return buffer.getvalue()
