"""The backends that turn photos into results, and the contract they all keep.

`Segmenter` is the protocol (`segformer_clothes.backends.protocol`); `BaseSegmenter`
(`segformer_clothes.backends.base`) holds the batch semantics every backend shares: order,
read-ahead, ``return_exceptions``, progress, ``source``, cancellation. The backends are
`segformer_clothes.backends.remote` (`SegformerClothesClient`, an HTTP inference API) and
`segformer_clothes.backends.local` (`LocalSegmenter`, the model in this process).

Example:
    >>> from segformer_clothes.backends import Segmenter
    >>> Segmenter.__name__
    'Segmenter'
"""

from __future__ import annotations

from .base import BaseSegmenter, ChunkWorker
from .protocol import Outcome, Segmenter, source_of

__all__ = ["BaseSegmenter", "ChunkWorker", "Outcome", "Segmenter", "source_of"]
