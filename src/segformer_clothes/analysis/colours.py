"""The colour vocabulary garments are named in, and the conversions between sRGB, CIELAB and
those names.

`COLOUR_NAMES` holds 32 fashion colour names, each with the sRGB colour it stands for. A colour
gets the name whose reference colour is nearest to it by CIEDE2000, the colour difference that
follows how people see (a difference of about 1 is just noticeable, 10 is a clearly different
shade). The names are lower-case single words, so that they read well in a table and a report.

Conversions use scikit-image (``rgb2lab``, ``lab2rgb``, ``deltaE_ciede2000``: sRGB with the D65
white point, as photos are encoded), from the ``analysis`` extra; `COLOUR_NAMES`, `hex_to_rgb`
and `rgb_to_hex` need nothing beyond the core install.

Example:
    >>> COLOUR_NAMES["navy"]
    '#1f2a44'
    >>> name_colour("#20304a")
    'navy'
    >>> name_colour((250, 250, 245))
    'white'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._requires import require

__all__ = [
    "COLOUR_NAMES",
    "colour_difference",
    "hex_to_rgb",
    "lab_to_rgb",
    "name_colour",
    "nearest_colour_names",
    "rgb_to_hex",
    "rgb_to_lab",
]

RGB = tuple[int, int, int]

COLOUR_NAMES: dict[str, str] = {
    "black": "#141414",
    "charcoal": "#3b3d42",
    "grey": "#808080",
    "silver": "#c4c4c4",
    "white": "#f7f7f5",
    "cream": "#f3e9c6",
    "beige": "#d6c3a0",
    "camel": "#b88a55",
    "khaki": "#a89f70",
    "brown": "#6b4630",
    "chocolate": "#3d2519",
    "rust": "#b04a1c",
    "olive": "#5f6132",
    "green": "#2e7d3a",
    "mint": "#a6e3c3",
    "teal": "#10777a",
    "turquoise": "#3fc9c3",
    "navy": "#1f2a44",
    "blue": "#2a56c0",
    "denim": "#557099",
    "sky": "#93c4e8",
    "lavender": "#b7a5d8",
    "purple": "#6b2f8f",
    "plum": "#5a2345",
    "burgundy": "#7a1b2e",
    "red": "#c8102e",
    "coral": "#f5795d",
    "pink": "#f2a7c0",
    "fuchsia": "#c8287e",
    "orange": "#ef8a1f",
    "mustard": "#cf9f1c",
    "yellow": "#f4dc2c",
}
"""Colour name -> its reference sRGB colour as ``#rrggbb``, from dark neutrals to brights."""

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def hex_to_rgb(colour: str) -> RGB:
    """``(red, green, blue)``, 0-255, of a ``#rrggbb`` colour (the ``#`` is optional).

    Raises:
        ValueError: not six hex digits.

    Example:
        >>> hex_to_rgb("#1f2a44")
        (31, 42, 68)
    """
    match = _HEX.fullmatch(colour.strip())
    if match is None:
        raise ValueError(f"a colour is written #rrggbb (six hex digits), got {colour!r}")
    value = int(match.group(1), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def rgb_to_hex(colour: Sequence[float]) -> str:
    """``#rrggbb`` of an sRGB colour given as three numbers 0-255 (rounded, clipped).

    Example:
        >>> rgb_to_hex((31, 42, 68.4))
        '#1f2a44'
    """
    red, green, blue = (int(np.clip(round(float(c)), 0, 255)) for c in colour)
    return f"#{red:02x}{green:02x}{blue:02x}"


def _color() -> Any:
    return require("skimage.color", "converting colours")


def rgb_to_lab(rgb: Any) -> np.ndarray:
    """CIELAB (L 0-100, a, b) of sRGB colours: an array of shape (..., 3) of uint8 or of numbers
    0-255, or one ``#rrggbb`` string. Returns float64 of the same shape.

    Example:
        >>> rgb_to_lab("#1f2a44").round(1).tolist()
        [17.3, 3.9, -17.8]
        >>> rgb_to_lab([[255, 0, 0], [0, 0, 0]]).round(1).tolist()
        [[53.2, 80.1, 67.2], [0.0, 0.0, 0.0]]
    """
    if isinstance(rgb, str):
        rgb = hex_to_rgb(rgb)
    array = np.asarray(rgb)
    scaled = array / 255.0 if array.dtype != np.uint8 else array
    lab: np.ndarray = _color().rgb2lab(scaled)
    return lab.astype(np.float64)


def lab_to_rgb(lab: Any) -> np.ndarray:
    """sRGB (uint8, 0-255) of CIELAB colours of shape (..., 3); colours outside the sRGB gamut
    are clipped to it.

    Example:
        >>> lab_to_rgb([53.24, 80.09, 67.2]).tolist()
        [255, 0, 0]
    """
    array = np.asarray(lab, dtype=np.float64)
    rgb = np.asarray(_color().lab2rgb(array), dtype=np.float64)
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


def colour_difference(lab_1: Any, lab_2: Any) -> np.ndarray:
    """CIEDE2000 colour difference between CIELAB colours (arrays of shape (..., 3) that
    broadcast against each other).

    Example:
        >>> float(colour_difference([50.0, 0.0, 0.0], [50.0, 0.0, 0.0]))
        0.0
    """
    first, second = np.broadcast_arrays(
        np.asarray(lab_1, dtype=np.float64), np.asarray(lab_2, dtype=np.float64)
    )
    difference = np.asarray(_color().deltaE_ciede2000(first, second, channel_axis=-1))
    return difference


_reference_lab: np.ndarray | None = None


def _references() -> np.ndarray:
    global _reference_lab
    if _reference_lab is None:
        _reference_lab = rgb_to_lab(np.array([hex_to_rgb(h) for h in COLOUR_NAMES.values()]))
    return _reference_lab


def nearest_colour_names(lab: Any) -> list[str]:
    """The vocabulary name nearest (by CIEDE2000) to each CIELAB colour of an (N, 3) array.

    Example:
        >>> nearest_colour_names([[20.0, 0.0, 0.0], [95.0, 0.0, 2.0]])
        ['charcoal', 'white']
    """
    colours = np.asarray(lab, dtype=np.float64).reshape(-1, 3)
    if not len(colours):
        return []
    differences = colour_difference(colours[:, None, :], _references()[None, :, :])
    names = list(COLOUR_NAMES)
    return [names[int(i)] for i in differences.argmin(axis=1)]


def name_colour(colour: str | Sequence[float]) -> str:
    """The vocabulary name of one sRGB colour, given as ``#rrggbb`` or three numbers 0-255.

    Example:
        >>> name_colour("#7b1c30"), name_colour((200, 140, 90))
        ('burgundy', 'camel')
    """
    rgb = hex_to_rgb(colour) if isinstance(colour, str) else tuple(colour)
    return nearest_colour_names(rgb_to_lab(np.asarray([rgb], dtype=np.float64)))[0]
