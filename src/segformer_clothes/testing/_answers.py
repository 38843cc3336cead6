"""The answers `FakeInferenceServer` gives unless told otherwise: a person drawn from the pixels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["Answer", "pixel_labels"]

Answer = Callable[[Image.Image], "np.ndarray | list[dict[str, Any]]"]
"""What the server's ``answer`` function returns for an upright photo: a label map or a ready
answer list."""


def pixel_labels(image: Image.Image) -> np.ndarray:
    """The default answer: a plausible person-shaped label map, a function of the pixels.

    A central column of the photo is a person, in bands from the top: Hair, Face,
    Upper-clothes, Pants, then Left-shoe and Right-shoe; near-white pixels (all channels above
    240) and everything outside the column are Background. The same photo always gives the
    same label map.

    Example:
        >>> from PIL import Image
        >>> sorted(set(pixel_labels(Image.new("RGB", (20, 20), "black")).ravel().tolist()))
        [0, 2, 4, 6, 9, 10, 11]
    """
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    rows = (np.arange(height) + 0.5)[:, None] / height
    columns = (np.arange(width) + 0.5)[None, :] / width
    band = np.select(
        [rows < 0.12, rows < 0.25, rows < 0.55, rows < 0.9, columns < 0.5],
        [2, 11, 4, 6, 9],
        default=10,
    ).astype(np.uint8)
    person = np.abs(columns - 0.5) < 0.3
    white = (rgb > 240).all(axis=2)
    return np.where(person & ~white, band, np.uint8(0)).astype(np.uint8)
