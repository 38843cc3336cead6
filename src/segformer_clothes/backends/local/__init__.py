"""The local backend: `LocalSegmenter`, the SegFormer model run in this process (the ``local``
extra: torch and transformers). Importing this package does not import torch.

- `segformer_clothes.backends.local.segmenter`: `LocalSegmenter`.
- `segformer_clothes.backends.local.decode_head`: the faster, folded form of SegFormer's decode
  head that `LocalSegmenter` runs.

Example:
    >>> from segformer_clothes.backends.local import LocalSegmenter
    >>> LocalSegmenter.__name__
    'LocalSegmenter'
"""

from __future__ import annotations

from .segmenter import LocalSegmenter

__all__ = ["LocalSegmenter"]
