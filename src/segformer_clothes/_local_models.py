"""The old private home of the random-weight SegFormer builder, kept until the last callers move.

Use `segformer_clothes.testing.save_random_segformer` and its size presets instead.
"""

from __future__ import annotations

from .testing import B3_SEGFORMER_SIZES as B3_SIZES
from .testing import TINY_SEGFORMER_SIZES as TINY_SIZES
from .testing import save_random_segformer

__all__ = ["B3_SIZES", "TINY_SIZES", "save_random_segformer"]
