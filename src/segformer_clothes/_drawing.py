"""The pixel work behind a result's pictures: painting labels, blending, legends and cut-outs."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

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


def _scale(picture: Image.Image) -> int:
    """How many times larger than on a 500-pixel photo lines and text are drawn."""
    return max(1, round(max(picture.size) / 500))


def with_legend(picture: Image.Image, present: Sequence[str], labels: LabelSet) -> Image.Image:
    """``picture`` with a white strip on its right naming the colour of each label present
    (Background left out unless it is all there is), its text scaled with the picture."""
    names = [name for name in present if labels.id(name) != 0] or list(present)
    scale = _scale(picture)
    font = ImageFont.load_default(size=11 * scale)
    row, swatch = 16 * scale, 11 * scale
    width = 6 * scale + max(int(font.getlength(n)) for n in names) + swatch + 16 * scale
    canvas = Image.new(
        "RGB", (picture.width + width, max(picture.height, row * len(names) + 8 * scale)), "white"
    )
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for index, name in enumerate(names):
        top = 4 * scale + index * row
        left = picture.width + 6 * scale
        draw.rectangle(
            (left, top, left + swatch, top + swatch), fill=labels.color(name), outline="black"
        )
        draw.text((left + swatch + 5 * scale, top), name, fill="black", font=font)
    return canvas


def outlined(picture: Image.Image, label_map: np.ndarray, labels: LabelSet) -> Image.Image:
    """A new image: ``picture`` with the edge of every label but Background drawn in the label's
    colour, about 2 pixels wide on a 500-pixel photo and wider on larger ones."""
    edge = np.zeros(label_map.shape, dtype=bool)
    edge[:, 1:] |= label_map[:, 1:] != label_map[:, :-1]
    edge[:, :-1] |= label_map[:, :-1] != label_map[:, 1:]
    edge[1:, :] |= label_map[1:, :] != label_map[:-1, :]
    edge[:-1, :] |= label_map[:-1, :] != label_map[1:, :]
    ids = Image.fromarray(np.where(edge, label_map, 0).astype(np.uint8))
    width = 2 * _scale(picture)
    if width > 1:  # thicken: each pixel takes the largest label id near it
        ids = ids.filter(ImageFilter.MaxFilter(2 * (width // 2) + 1))
    lines = np.asarray(ids)
    colours = np.asarray(colorize(lines, labels))
    out = np.where((lines != 0)[:, :, None], colours, np.asarray(picture.convert("RGB")))
    return Image.fromarray(out.astype(np.uint8))


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
